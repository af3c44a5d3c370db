//! The frames between stoq and a plugin helper process: little-endian lengths, then bytes.
//!
//! stoq sends `OP_INIT` (options, memory limit) once, then one `OP_SCAN`/`OP_DISPATCH` per
//! call (payload id, content). While a call runs, the helper may send any number of
//! `MSG_QUERY` frames (a context key), each answered at once by stoq (`0`, or `1` and the
//! JSON answer); then it sends the reply, which starts with `STATUS_OK` or `STATUS_ERR`. So a
//! call carries only what the plugin asks for, never a copy of the whole request.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

pub const OP_INIT: u8 = 1;
pub const OP_SCAN: u8 = 2;
pub const OP_DISPATCH: u8 = 3;

pub const STATUS_OK: u8 = 0;
pub const STATUS_ERR: u8 = 1;
/// From the helper, during a call: a context key the plugin asks for.
pub const MSG_QUERY: u8 = 2;

/// Error kinds on the wire.
pub const KIND_FAILED: u8 = 0;
pub const KIND_PANICKED: u8 = 1;
pub const KIND_CONFIG: u8 = 2;
pub const KIND_UNSUPPORTED: u8 = 3;

/// The most a helper may send in one field (JSON, messages), and in a payload's bytes when
/// the request's `max_payload_size` is not known.
pub const MAX_FIELD: u64 = (1 << 30) + (1 << 20);
/// The longest context key a helper may ask for.
pub const MAX_KEY: u64 = 4096;
/// What the helper accepts from stoq in one field (stoq is trusted; payloads can be large).
pub const MAX_FROM_HOST: u64 = 1 << 40;

pub fn put_u8(w: &mut impl Write, v: u8) -> io::Result<()> {
    w.write_all(&[v])
}

pub fn put_u32(w: &mut impl Write, v: u32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn put_u64(w: &mut impl Write, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn put_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    put_u64(w, b.len() as u64)?;
    w.write_all(b)
}

pub fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    put_bytes(w, s.as_bytes())
}

pub fn get_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

pub fn get_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

pub fn get_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// A malformed frame: the peer is not to be trusted any more.
pub fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one length-prefixed field of at most `max` bytes. Memory grows with the bytes that
/// actually arrive (past a first 16 MiB), not with the announced length, so a corrupt length
/// costs little.
pub fn get_bytes(r: &mut impl Read, max: u64, what: &str) -> io::Result<Vec<u8>> {
    read_field(r, max, 16 << 20, what)
}

/// Reads a field from stoq (trusted): allocated at once, however large.
pub fn get_bytes_from_host(r: &mut impl Read, what: &str) -> io::Result<Vec<u8>> {
    read_field(r, MAX_FROM_HOST, MAX_FROM_HOST, what)
}

fn read_field(r: &mut impl Read, max: u64, prealloc: u64, what: &str) -> io::Result<Vec<u8>> {
    let len = get_u64(r)?;
    if len > max {
        return Err(invalid(format!(
            "{what} of {len} bytes, more than the {max} allowed"
        )));
    }
    let mut out = Vec::with_capacity(len.min(prealloc) as usize);
    r.take(len).read_to_end(&mut out)?;
    if out.len() as u64 != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}

pub fn get_str(r: &mut impl Read, max: u64, what: &str) -> io::Result<String> {
    String::from_utf8(get_bytes(r, max, what)?)
        .map_err(|_| invalid(format!("{what} that is not UTF-8")))
}

/// A socket whose reads and writes fail with `TimedOut` once `deadline` has passed, however
/// the time is spread over the calls (a helper that trickles bytes cannot stretch a call).
pub struct Timed {
    pub stream: UnixStream,
    pub deadline: Option<Instant>,
}

impl Timed {
    fn arm(&self, write: bool) -> io::Result<()> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if write {
            self.stream.set_write_timeout(Some(left))
        } else {
            self.stream.set_read_timeout(Some(left))
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm(false)?;
        self.stream.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm(true)?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_lengths_are_bounded() {
        let mut buf = Vec::new();
        put_str(&mut buf, "hello").unwrap();
        assert_eq!(get_str(&mut &buf[..], 5, "a key").unwrap(), "hello");
        let err = get_str(&mut &buf[..], 4, "a key").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "a key of 5 bytes, more than the 4 allowed");
        // A huge announced length with no data: an early end, not a huge allocation.
        let mut lying = Vec::new();
        put_u64(&mut lying, MAX_FIELD).unwrap();
        lying.extend_from_slice(b"abc");
        let err = get_bytes(&mut &lying[..], MAX_FIELD, "a field").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut over = Vec::new();
        put_u64(&mut over, u64::MAX).unwrap();
        let err = get_bytes(&mut &over[..], MAX_FIELD, "a field").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_passed_deadline_times_out() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut timed = Timed {
            stream: a,
            deadline: Some(Instant::now() + std::time::Duration::from_millis(50)),
        };
        let start = Instant::now();
        let err = get_u8(&mut timed).unwrap_err();
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        let err = get_u8(&mut timed).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
