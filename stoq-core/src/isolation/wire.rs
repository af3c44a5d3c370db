//! The frames between stoq and a plugin helper process: little-endian lengths, then bytes.

use std::io::{self, Read, Write};

pub const OP_INIT: u8 = 1;
pub const OP_SCAN: u8 = 2;
pub const OP_DISPATCH: u8 = 3;

pub const STATUS_OK: u8 = 0;
pub const STATUS_ERR: u8 = 1;

/// Error kinds on the wire.
pub const KIND_FAILED: u8 = 0;
pub const KIND_PANICKED: u8 = 1;
pub const KIND_CONFIG: u8 = 2;
pub const KIND_UNSUPPORTED: u8 = 3;

/// Frames never carry more than this in one field (protects the reader from a corrupt length).
const MAX_FIELD: u64 = 1 << 40;

pub fn put_u8(w: &mut impl Write, v: u8) -> io::Result<()> {
    w.write_all(&[v])
}

pub fn put_u32(w: &mut impl Write, v: u32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn put_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    w.write_all(&(b.len() as u64).to_le_bytes())?;
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

pub fn get_bytes(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    let len = u64::from_le_bytes(b);
    if len > MAX_FIELD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame field too large",
        ));
    }
    let mut out = vec![0u8; len as usize];
    r.read_exact(&mut out)?;
    Ok(out)
}

pub fn get_str(r: &mut impl Read) -> io::Result<String> {
    String::from_utf8(get_bytes(r)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
