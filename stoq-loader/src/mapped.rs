//! Input files mapped into memory instead of read: a large payload costs no copy, and pages a
//! scan never touches (a file over the size limit, listed but not scanned) cost no memory.

use std::fs::File;
use std::io;

/// Maps the whole of `file` (a regular file) read-only, as shared bytes.
///
/// The mapping is private and read-only. A file that another process *truncates* while it is
/// mapped makes the next read of a lost page raise `SIGBUS`; callers map only files they
/// were asked to scan, and document that such files must not shrink while scanned.
pub fn map_file(file: &File) -> io::Result<bytes::Bytes> {
    // SAFETY: the map is read-only and private; it stays valid for as long as the returned
    // `Bytes` (which owns it) lives. Concurrent modification of the file by another process
    // is the documented caveat above: this process never writes to it.
    let map = unsafe { memmap2::MmapOptions::new().map(file) }?;
    Ok(bytes::Bytes::from_owner(map))
}
