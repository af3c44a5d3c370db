//! RTF pieces: embedded OLE 1.0 objects ([MS-OLEDS] 2.2.4) as `\objdata` carries them, OLE
//! Package native data, and hex written the way malicious documents write it.

/// `bytes` in hex, in lines of 128 digits, as word processors write `\objdata`.
pub fn plain_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + bytes.len() / 32);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push_str("\r\n");
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A `LengthPrefixedAnsiString`.
pub fn lpas(s: &[u8]) -> Vec<u8> {
    let mut out = ((s.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(s);
    out.push(0);
    out
}

/// An embedded OLE 1.0 object (MS-OLEDS 2.2.4 ObjectHeader + native data).
pub fn ole1(class: &[u8], native: &[u8]) -> Vec<u8> {
    let mut out = 0x0000_0501u32.to_le_bytes().to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend(lpas(class));
    out.extend(lpas(b""));
    out.extend(lpas(b""));
    out.extend_from_slice(&(native.len() as u32).to_le_bytes());
    out.extend_from_slice(native);
    out
}

/// The native data of an OLE Package carrying `data` as `filename`.
pub fn package(filename: &[u8], source: &[u8], temp: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = 2u16.to_le_bytes().to_vec();
    out.extend_from_slice(filename);
    out.push(0);
    out.extend_from_slice(source);
    out.push(0);
    out.extend_from_slice(&[0, 0, 3, 0]);
    out.extend_from_slice(&((temp.len() + 1) as u32).to_le_bytes());
    out.extend_from_slice(temp);
    out.push(0);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// `bytes` in hex as malicious RTF writes it: lines of odd lengths, spaces, tabs, bogus
/// letters, an ignored `{\*\bkmkstart ...}` group and `\'` symbols at even positions.
pub fn junk_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        out.push_str(&format!("{b:02x}"));
        match i % 23 {
            3 => out.push_str("\r\n"),
            7 => out.push(' '),
            11 => out.push_str("\tzz"),
            13 => out.push_str("{\\*\\bkmkstart ff00}"),
            17 => out.push_str("\\'41"),
            19 => out.push_str("-_-"),
            _ => {}
        }
    }
    out
}
