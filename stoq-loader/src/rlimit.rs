//! Resource limits a plugin helper process sets on itself.

use std::io;

/// Limits this process's address space (`RLIMIT_AS`, soft and hard) to `bytes`, or to the
/// current hard limit if that is lower. Allocations past it fail; in Rust code that aborts
/// the process. The hard limit is lowered too, so code loaded later cannot raise it again.
pub fn limit_address_space(bytes: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid, exclusive pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = libc::rlim_t::try_from(bytes).unwrap_or(libc::RLIM_INFINITY);
    let limit = wanted.min(current.rlim_max);
    let new = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &new) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
