//! Stream filters: FlateDecode (with PNG predictors), ASCIIHexDecode, ASCII85Decode,
//! LZWDecode and RunLengthDecode, each bounded in output. Image filters (DCT, JPX, JBIG2,
//! CCITTFax) and Crypt are not decoded: the data stays as the last filter applied left it.

use std::io::Read;

use crate::syntax::{Dict, Obj, hex_value};

/// Why decoding stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The output reached the limit; what was decoded up to it is kept.
    #[error("{filter}: decoded data exceeds {limit} bytes ({what}); cut there")]
    TooLarge {
        /// The filter.
        filter: String,
        /// The limit.
        limit: u64,
        /// Which limit.
        what: &'static str,
    },
    /// Corrupt input; what was decoded before it is kept.
    #[error("{filter}: {message}")]
    Corrupt {
        /// The filter.
        filter: String,
        /// What was wrong.
        message: String,
    },
    /// A filter this plugin does not decode.
    #[error("{0}: not decoded (the data is left encoded)")]
    Unsupported(String),
}

/// A filter's canonical name (the abbreviations of inline images included).
pub fn canonical(name: &[u8]) -> &[u8] {
    match name {
        b"AHx" => b"ASCIIHexDecode",
        b"A85" => b"ASCII85Decode",
        b"LZW" => b"LZWDecode",
        b"Fl" => b"FlateDecode",
        b"RL" => b"RunLengthDecode",
        b"CCF" => b"CCITTFaxDecode",
        b"DCT" => b"DCTDecode",
        other => other,
    }
}

/// What decoding a stream gave.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The data after every filter that could be applied.
    pub data: Vec<u8>,
    /// Bytes produced by all the filters together (each stage's output counts).
    pub produced: u64,
    /// Why decoding stopped early, if it did.
    pub error: Option<FilterError>,
}

/// Applies `filters` (name and parameters, in order) to `raw`, each output at most `limit`
/// bytes (`what` names that limit in errors).
pub fn decode(
    raw: &[u8],
    filters: &[(Vec<u8>, Option<Dict>)],
    limit: u64,
    what: &'static str,
) -> Decoded {
    let mut data = raw.to_vec();
    let mut produced = 0u64;
    for (name, parms) in filters {
        let name = canonical(name);
        let shown = String::from_utf8_lossy(name).into_owned();
        let (out, error) = match name {
            b"FlateDecode" => flate(&data, limit),
            b"ASCIIHexDecode" => (ascii_hex(&data, limit), None),
            b"ASCII85Decode" => ascii85(&data, limit),
            b"LZWDecode" => {
                let early = parms
                    .as_ref()
                    .and_then(|p| match p.get(b"EarlyChange") {
                        Some(Obj::Int(0)) => Some(false),
                        _ => None,
                    })
                    .unwrap_or(true);
                lzw(&data, early, limit)
            }
            b"RunLengthDecode" => run_length(&data, limit),
            _ => {
                return Decoded {
                    data,
                    produced,
                    error: Some(FilterError::Unsupported(shown)),
                };
            }
        };
        let (out, error) = match (error, parms) {
            (None, Some(parms)) if matches!(name, b"FlateDecode" | b"LZWDecode") => {
                match predict(out, parms) {
                    Ok(out) => (out, None),
                    Err((out, message)) => (out, Some(message)),
                }
            }
            (error, _) => (out, error),
        };
        data = out;
        let too_large = data.len() as u64 > limit;
        if too_large {
            data.truncate(limit as usize);
        }
        produced += data.len() as u64;
        let error = if too_large {
            Some(FilterError::TooLarge {
                filter: shown,
                limit,
                what,
            })
        } else {
            error.map(|message| FilterError::Corrupt {
                filter: shown,
                message,
            })
        };
        if error.is_some() {
            return Decoded {
                data,
                produced,
                error,
            };
        }
    }
    Decoded {
        data,
        produced,
        error: None,
    }
}

/// zlib, or raw deflate when the zlib header is missing (as some writers do). Reads at most
/// `limit + 1` bytes, so a bomb costs its limit; corrupt data keeps what came before.
fn flate(data: &[u8], limit: u64) -> (Vec<u8>, Option<String>) {
    let zlib = data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    let mut out = Vec::new();
    let result = if zlib {
        flate2::read::ZlibDecoder::new(data)
            .take(limit + 1)
            .read_to_end(&mut out)
    } else {
        flate2::read::DeflateDecoder::new(data)
            .take(limit + 1)
            .read_to_end(&mut out)
    };
    match result {
        Ok(_) => (out, None),
        Err(e) => {
            let message = format!("corrupt deflate data after {} bytes: {e}", out.len());
            (out, Some(message))
        }
    }
}

/// Hex digits up to `>`; other bytes are skipped; an odd last digit is followed by 0.
fn ascii_hex(data: &[u8], limit: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity((data.len() / 2).min(limit as usize + 1));
    let mut high = None;
    for &b in data {
        if b == b'>' || out.len() as u64 > limit {
            break;
        }
        if let Some(v) = hex_value(b) {
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    out
}

fn ascii85(data: &[u8], limit: u64) -> (Vec<u8>, Option<String>) {
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    let mut out = Vec::with_capacity((data.len() / 5 * 4).min(limit as usize + 1));
    let mut group = [0u8; 5];
    let mut n = 0;
    let emit = |out: &mut Vec<u8>, group: &[u8; 5], n: usize| -> Result<(), String> {
        let mut padded = *group;
        for p in padded.iter_mut().skip(n) {
            *p = b'u';
        }
        let value = padded
            .iter()
            .fold(0u64, |acc, &c| acc * 85 + u64::from(c - b'!'));
        let value = u32::try_from(value).map_err(|_| "a group's value is over 2^32".to_owned())?;
        out.extend_from_slice(&value.to_be_bytes()[..n - 1]);
        Ok(())
    };
    for (at, &b) in data.iter().enumerate() {
        if out.len() as u64 > limit {
            return (out, None);
        }
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = b;
                n += 1;
                if n == 5 {
                    if let Err(e) = emit(&mut out, &group, 5) {
                        return (out, Some(format!("{e} at byte {at}")));
                    }
                    n = 0;
                }
            }
            b if crate::syntax::is_space(b) => {}
            other => {
                return (
                    out,
                    Some(format!("invalid character 0x{other:02x} at byte {at}")),
                );
            }
        }
    }
    match n {
        0 => (out, None),
        1 => (out, Some("a final group of one character".into())),
        n => match emit(&mut out, &group, n) {
            Ok(()) => (out, None),
            Err(e) => (out, Some(e)),
        },
    }
}

/// LZW as PDF and TIFF use it: 9 to 12-bit codes, most significant bit first, 256 clears
/// the table, 257 ends the data; `early` is `/EarlyChange 1` (the default).
pub fn lzw(data: &[u8], early: bool, limit: u64) -> (Vec<u8>, Option<String>) {
    // Each entry: (prefix code, last byte, first byte, length).
    let mut table: Vec<(u16, u8, u8, u32)> = Vec::with_capacity(4096);
    let reset = |table: &mut Vec<(u16, u8, u8, u32)>| {
        table.clear();
        table.extend((0..=255u16).map(|b| (u16::MAX, b as u8, b as u8, 1)));
        // 256 (clear) and 257 (end): never referenced as strings.
        table.push((u16::MAX, 0, 0, 0));
        table.push((u16::MAX, 0, 0, 0));
    };
    reset(&mut table);
    let early = u32::from(early);
    let mut width = 9u32;
    let mut out: Vec<u8> = Vec::new();
    let mut previous: Option<u16> = None;
    let (mut buffer, mut bits, mut at) = (0u32, 0u32, 0usize);
    // Writes entry `code`'s string at the end of `out`.
    let write = |out: &mut Vec<u8>, table: &[(u16, u8, u8, u32)], code: u16| -> bool {
        let len = table[usize::from(code)].3 as usize;
        // A string is at most 4,096 bytes: the caller cuts what passes the limit.
        if out.len() as u64 > limit {
            return false;
        }
        let end = out.len() + len;
        out.resize(end, 0);
        let mut c = code;
        for i in (end - len..end).rev() {
            let (prefix, last, _, _) = table[usize::from(c)];
            out[i] = last;
            c = prefix;
        }
        true
    };
    loop {
        while bits < width {
            let Some(&b) = data.get(at) else {
                // Data without an end code: what was decoded stands.
                return (out, None);
            };
            at += 1;
            buffer = buffer << 8 | u32::from(b);
            bits += 8;
        }
        let code = ((buffer >> (bits - width)) & ((1 << width) - 1)) as u16;
        bits -= width;
        buffer &= (1 << bits) - 1;
        match code {
            256 => {
                reset(&mut table);
                width = 9;
                previous = None;
                continue;
            }
            257 => return (out, None),
            _ => {}
        }
        let next = table.len();
        let first = match previous {
            None => {
                if code > 255 {
                    return (out, Some(format!("code {code} before any string")));
                }
                code as u8
            }
            Some(_) if usize::from(code) < next => table[usize::from(code)].2,
            Some(p) if usize::from(code) == next => table[usize::from(p)].2,
            Some(_) => {
                return (
                    out,
                    Some(format!("code {code} past the table's end ({next})")),
                );
            }
        };
        if let Some(p) = previous
            && next < 4096
        {
            let (_, _, pfirst, plen) = table[usize::from(p)];
            table.push((p, first, pfirst, plen + 1));
        }
        if !write(&mut out, &table, code) {
            return (out, None);
        }
        previous = Some(code);
        if table.len() as u32 + early >= 1 << width && width < 12 {
            width += 1;
        }
    }
}

fn run_length(data: &[u8], limit: u64) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(&length) = data.get(at) {
        if out.len() as u64 > limit {
            break;
        }
        at += 1;
        match length {
            128 => break,
            0..=127 => {
                let n = usize::from(length) + 1;
                let Some(run) = data.get(at..at + n) else {
                    out.extend_from_slice(&data[at..]);
                    return (out, Some("a literal run past the end of the data".into()));
                };
                out.extend_from_slice(run);
                at += n;
            }
            _ => {
                let Some(&b) = data.get(at) else {
                    return (out, Some("a repeat run past the end of the data".into()));
                };
                out.extend(std::iter::repeat_n(b, 257 - usize::from(length)));
                at += 1;
            }
        }
    }
    (out, None)
}

fn int(parms: &Dict, key: &[u8], default: i64) -> i64 {
    match parms.get(key) {
        Some(Obj::Int(n)) => *n,
        _ => default,
    }
}

/// Undoes `/Predictor` 10 to 15 (PNG); `/Predictor 2` (TIFF) is left as is, with an error.
fn predict(data: Vec<u8>, parms: &Dict) -> Result<Vec<u8>, (Vec<u8>, String)> {
    let predictor = int(parms, b"Predictor", 1);
    if predictor < 2 {
        return Ok(data);
    }
    if predictor == 2 {
        return Err((data, "TIFF predictor 2 not undone".into()));
    }
    let colors = int(parms, b"Colors", 1);
    let bpc = int(parms, b"BitsPerComponent", 8);
    let columns = int(parms, b"Columns", 1);
    if !(1..=32).contains(&colors) || ![1, 2, 4, 8, 16].contains(&bpc) || columns < 1 {
        return Err((
            data,
            format!(
                "predictor parameters out of range (Colors {colors}, BitsPerComponent {bpc}, Columns {columns})"
            ),
        ));
    }
    let bits_per_pixel = (colors * bpc) as usize;
    let bpp = bits_per_pixel.div_ceil(8);
    let Some(row) = bits_per_pixel
        .checked_mul(columns as usize)
        .map(|b| b.div_ceil(8))
        .filter(|&r| r < data.len().max(1) * 8 + 8)
    else {
        return Err((data, format!("predictor rows of {columns} columns")));
    };
    let mut out = Vec::with_capacity(data.len());
    let mut prior = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let (kind, line) = (chunk[0], &chunk[1..]);
        let mut current = vec![0u8; row];
        current[..line.len()].copy_from_slice(line);
        for i in 0..row {
            let left = if i >= bpp { current[i - bpp] } else { 0 };
            let up = prior[i];
            let up_left = if i >= bpp { prior[i - bpp] } else { 0 };
            current[i] = match kind {
                0 => current[i],
                1 => current[i].wrapping_add(left),
                2 => current[i].wrapping_add(up),
                3 => current[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => {
                    let p = i16::from(left) + i16::from(up) - i16::from(up_left);
                    let (pa, pb, pc) = (
                        (p - i16::from(left)).abs(),
                        (p - i16::from(up)).abs(),
                        (p - i16::from(up_left)).abs(),
                    );
                    let predicted = if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        up_left
                    };
                    current[i].wrapping_add(predicted)
                }
                other => {
                    out.extend_from_slice(&current[..line.len()]);
                    return Err((out, format!("unknown PNG predictor type {other}")));
                }
            };
        }
        out.extend_from_slice(&current[..line.len()]);
        prior = current;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzw_decodes_the_pdf_reference_example() {
        // PDF 1.7 reference, 3.3.3 (LZWDecode), example: "-----A---B".
        let (out, e) = lzw(
            &[0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01],
            true,
            100,
        );
        assert_eq!(e, None);
        assert_eq!(out, b"-----A---B");
    }

    #[test]
    fn ascii85_and_hex() {
        // "Man " and "sure." in ASCII85.
        let (out, e) = ascii85(b"<~9jqo^F*2M7/c~>", 100);
        assert_eq!(e, None);
        assert_eq!(out, b"Man sure.");
        let (out, e) = ascii85(b"z9jqo^F*2M7/c", 100);
        assert_eq!((out.len(), e), (13, None));
        assert_eq!(ascii_hex(b"41 42\n4>ff", 100), b"AB@");
    }

    #[test]
    fn run_length_and_predictors() {
        let (out, e) = run_length(&[2, b'a', b'b', b'c', 254, b'x', 128, 1, 1], 100);
        assert_eq!(e, None);
        assert_eq!(out, b"abcxxx");
        let mut parms = Dict::default();
        parms.0.push((b"Predictor".to_vec(), Obj::Int(12)));
        parms.0.push((b"Columns".to_vec(), Obj::Int(2)));
        // Two rows, "Up": the second row adds the first.
        let out = predict(vec![0, 1, 2, 2, 1, 1], &parms).unwrap();
        assert_eq!(out, [1, 2, 2, 3]);
    }

    #[test]
    fn flate_output_is_bounded() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 10 << 20]).unwrap();
        let bomb = z.finish().unwrap();
        let d = decode(
            &bomb,
            &[(b"FlateDecode".to_vec(), None)],
            1 << 20,
            "max_stream_size",
        );
        assert_eq!(d.data.len(), 1 << 20);
        assert_eq!(
            d.error.unwrap().to_string(),
            "FlateDecode: decoded data exceeds 1048576 bytes (max_stream_size); cut there"
        );
    }
}
