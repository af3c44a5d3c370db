//! Reading inputs without blocking and without holding more than the size limit.
//!
//! - A file is opened non-blocking and checked with `fstat` on the open handle, so a FIFO, a
//!   socket or a device (or a symbolic link to one, or a file swapped for one after the
//!   directory was listed) never blocks the scan.
//! - A regular file's size is known before anything is read: a file over the limit is not
//!   read at all (the engine lists it with its true size and a limit error); large files are
//!   memory-mapped (no copy, and only the pages a scan reads become resident).
//! - A stream (stdin, or a pipe named on the command line) is read up to the limit plus one
//!   byte, never further.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use bytes::Bytes;
use stoq_core::Content;

/// Files at least this large are memory-mapped instead of read.
const MAP_FROM: u64 = 256 << 10;

/// What kind of file is not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Directory,
    Other,
}

impl std::fmt::Display for Special {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Fifo => "a FIFO",
            Self::Socket => "a socket",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Directory => "a directory",
            Self::Other => "not a regular file",
        })
    }
}

/// Why an input was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}, not a regular file")]
    Special(Special),
    #[error("holds more than the size limit ({limit} bytes): not scanned")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn special(file_type: std::fs::FileType) -> Special {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Special::Fifo;
        }
        if file_type.is_socket() {
            return Special::Socket;
        }
        if file_type.is_char_device() {
            return Special::CharDevice;
        }
        if file_type.is_block_device() {
            return Special::BlockDevice;
        }
    }
    if file_type.is_dir() {
        Special::Directory
    } else {
        Special::Other
    }
}

/// Opens `path` for reading without blocking, even when it is a FIFO with no writer.
fn open(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// Reads the regular file at `path`. With `streams`, a FIFO or character device (e.g. a
/// `<(command)` substitution, `/dev/stdin`) is read as a stream instead of refused.
pub fn read_file(path: &Path, limit: u64, streams: bool) -> Result<Content, InputError> {
    read_file_of_type(path, None, limit, streams)
}

/// [`read_file`] when the directory listing already said what `path` is (`file_type`, not
/// following links): a plain regular file skips the first `stat`.
pub fn read_file_of_type(
    path: &Path,
    file_type: Option<std::fs::FileType>,
    limit: u64,
    streams: bool,
) -> Result<Content, InputError> {
    // `stat` first: opening a socket fails, and opening a device may have effects.
    if !file_type.is_some_and(|t| t.is_file()) {
        let kind = std::fs::metadata(path)?.file_type();
        let stream = streams && matches!(special(kind), Special::Fifo | Special::CharDevice);
        if !kind.is_file() && !stream {
            return Err(InputError::Special(special(kind)));
        }
    }
    // Then `fstat` on the open handle: the file may have been swapped since.
    let file = open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() {
        return read_regular(file, meta.len(), limit);
    }
    let kind = special(meta.file_type());
    if streams && matches!(kind, Special::Fifo | Special::CharDevice) {
        // Named on the command line: read it as `cat` would, blocking.
        drop(file);
        return read_stream(File::open(path)?, limit).map(Content::Bytes);
    }
    Err(InputError::Special(kind))
}

fn read_regular(file: File, size: u64, limit: u64) -> Result<Content, InputError> {
    if size > limit {
        return Ok(Content::Unread { size });
    }
    if size >= MAP_FROM {
        return Ok(Content::Bytes(stoq_loader::mapped::map_file(&file)?));
    }
    // The file as `fstat` saw it: exactly `size` bytes (a file that grows meanwhile is read up
    // to that size; one that shrinks gives what is left).
    let mut content = vec![0; size as usize];
    let mut filled = 0;
    let mut file = file;
    while filled < content.len() {
        match file.read(&mut content[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    content.truncate(filled);
    Ok(Content::Bytes(content.into()))
}

/// Reads a stream up to `limit` bytes; more is an error (the rest is left unread).
pub fn read_stream(stream: impl Read, limit: u64) -> Result<Bytes, InputError> {
    let mut content = Vec::new();
    stream
        .take(limit.saturating_add(1))
        .read_to_end(&mut content)?;
    if content.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(content.into())
}
