//! Zip archives: stored or deflated entries, one central directory, no extras, and fixed
//! dates, so the same entries always give the same bytes.

use std::io::Write;

/// CRC-32 (IEEE), as zip stores it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip of stored (uncompressed) entries, dated 1980-01-01 00:00 (the earliest date zip has).
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip(entries, false, (0, 0x21))
}

/// A zip of deflated entries, as archivers write them by default, dated 2024-03-01 09:30.
pub fn deflated_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip(entries, true, (DOS_TIME, DOS_DATE))
}

/// 09:30:00 in MS-DOS time.
const DOS_TIME: u16 = 9 << 11 | 30 << 5;
/// 2024-03-01 in MS-DOS date.
const DOS_DATE: u16 = (2024 - 1980) << 9 | 3 << 5 | 1;

fn zip(entries: &[(&str, &[u8])], deflate: bool, (time, date): (u16, u16)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let body = if deflate {
            let mut z =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(data).expect("deflate to memory");
            z.finish().expect("deflate to memory")
        } else {
            data.to_vec()
        };
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&(if deflate { 8u16 } else { 0 }).to_le_bytes());
            h.extend_from_slice(&time.to_le_bytes());
            h.extend_from_slice(&date.to_le_bytes());
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(body.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend_from_slice(&header(0x0403_4B50, false));
        out.extend_from_slice(&body);
        central.extend_from_slice(&header(0x0201_4B50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4B50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}
