//! File reads bounded in size that never wait on a FIFO, and writes that never leave half a
//! file behind.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// Opening with `O_NONBLOCK` makes opening a FIFO (e.g. one that replaced a regular file
/// after the walk looked at it) return at once instead of waiting for a writer. Regular files
/// ignore the flag.
#[cfg(unix)]
const O_NONBLOCK: i32 = libc::O_NONBLOCK;

/// What [`read_regular`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The whole content.
    Content(Vec<u8>),
    /// The file is larger than the limit (its size, or at least the bytes read).
    TooLarge(u64),
    /// Not a regular file (a FIFO, socket or device): it was not read.
    NotRegular,
}

/// Opens `path` for reading without blocking on a FIFO.
fn open_for_read(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// Reads a regular file (following a symbolic link) of at most `max_size` bytes, reading at
/// most `max_size + 1` bytes whatever the file does meanwhile.
pub fn read_regular(path: &Path, max_size: u64) -> io::Result<ReadOutcome> {
    // Look before opening, so a FIFO or device is not even opened when it can be helped.
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Ok(ReadOutcome::NotRegular);
    }
    if metadata.len() > max_size {
        return Ok(ReadOutcome::TooLarge(metadata.len()));
    }
    let file = open_for_read(path)?;
    // And look again at what was opened, in case the path changed in between.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Ok(ReadOutcome::NotRegular);
    }
    if metadata.len() > max_size {
        return Ok(ReadOutcome::TooLarge(metadata.len()));
    }
    let expected = usize::try_from(metadata.len()).unwrap_or(0);
    let mut content = Vec::with_capacity(expected.saturating_add(1));
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut content)?;
    let read = content.len() as u64;
    if read > max_size {
        return Ok(ReadOutcome::TooLarge(read));
    }
    Ok(ReadOutcome::Content(content))
}

/// Writes `content` to `target` atomically: into a temporary file in `target`'s folder
/// (named `.stoq-tmp-…`), then renamed over `target`, so a crash of the process never leaves
/// half a file. With `durable`, the file and then its folder are synced too, so a power
/// loss cannot either. On any error the temporary file is removed and `target` is untouched.
pub fn write_atomic(target: &Path, content: &[u8], durable: bool) -> io::Result<()> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".stoq-tmp-");
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        // Like a plain `open`: the umask decides.
        std::fs::Permissions::from_mode(0o666)
    };
    #[cfg(unix)]
    builder.permissions(permissions);
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(content)?;
    if durable {
        temp.as_file().sync_all()?;
    }
    temp.persist(target).map_err(|e| e.error)?;
    if durable {
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(
            read_regular(&path, 5).unwrap(),
            ReadOutcome::Content(b"12345".to_vec())
        );
        assert_eq!(read_regular(&path, 4).unwrap(), ReadOutcome::TooLarge(5));
        assert_eq!(
            read_regular(dir.path(), 100).unwrap(),
            ReadOutcome::NotRegular
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_not_read_and_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // No writer ever opens it: a blocking open would hang the test.
        assert_eq!(read_regular(&fifo, 100).unwrap(), ReadOutcome::NotRegular);
        // Opening it anyway (as after a race with the walk) returns at once.
        use std::os::unix::fs::FileTypeExt;
        let opened = open_for_read(&fifo).unwrap();
        assert!(opened.metadata().unwrap().file_type().is_fifo());
    }

    #[test]
    fn atomic_writes_replace_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        write_atomic(&target, b"one", true).unwrap();
        write_atomic(&target, b"two", false).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["out.json"]);
    }
}
