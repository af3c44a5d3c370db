//! OLE 1.0 structures inside `\objdata`: the `ObjectHeader` of an embedded or linked object
//! (MS-OLEDS 2.2.4) and the native data of an OLE `Package` (the file it carries), read as
//! oletools' `oleobj` reads them, with every length checked against what is there.

/// An OLE 1.0 object: its header and, for an embedded one, its native data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OleObject<'a> {
    /// `OLEVersion`.
    pub version: u32,
    /// `FormatID`: 1 linked, 2 embedded.
    pub format_id: u32,
    /// `ClassName` (`Package`, `Equation.3`, `Word.Document.8`...), without its NUL.
    pub class_name: &'a [u8],
    /// `TopicName`.
    pub topic: &'a [u8],
    /// `ItemName`.
    pub item: &'a [u8],
    /// `NativeDataSize` as declared (embedded objects).
    pub declared_size: Option<u32>,
    /// The native data present (at most the declared size).
    pub native: &'a [u8],
}

/// Why bytes are not an OLE 1.0 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOle(pub String);

fn u32_at(data: &[u8], at: usize, what: &str) -> Result<u32, NotOle> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            NotOle(format!(
                "{what} at byte {at}: past the end ({} bytes)",
                data.len()
            ))
        })
}

/// A `LengthPrefixedAnsiString`: its length (the NUL included), then its bytes.
fn lpas<'a>(data: &'a [u8], at: usize, what: &str) -> Result<(&'a [u8], usize), NotOle> {
    let len = u32_at(data, at, what)? as usize;
    let start = at + 4;
    if len == 0 {
        return Ok((&[], start));
    }
    let bytes = start
        .checked_add(len)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| {
            NotOle(format!(
                "{what} at byte {at}: declared length {len} is past the end ({} bytes)",
                data.len()
            ))
        })?;
    let text = &bytes[..len - 1];
    let text = match text.iter().position(|&b| b == 0) {
        Some(nul) => &text[..nul],
        None => text,
    };
    Ok((text, start + len))
}

/// Reads an OLE 1.0 object at the start of `data`. The native data is what is present of
/// the declared size; the second value says when less is present than declared.
pub fn parse(data: &[u8]) -> Result<(OleObject<'_>, Option<String>), NotOle> {
    let version = u32_at(data, 0, "OLEVersion")?;
    let format_id = u32_at(data, 4, "FormatID")?;
    if format_id != 1 && format_id != 2 {
        return Err(NotOle(format!(
            "FormatID {format_id} is neither 1 (linked) nor 2 (embedded)"
        )));
    }
    let (class_name, at) = lpas(data, 8, "ClassName")?;
    let (topic, at) = lpas(data, at, "TopicName")?;
    let (item, at) = lpas(data, at, "ItemName")?;
    let mut object = OleObject {
        version,
        format_id,
        class_name,
        topic,
        item,
        declared_size: None,
        native: &[],
    };
    let mut short = None;
    if format_id == 2 {
        let size = u32_at(data, at, "NativeDataSize")?;
        let rest = &data[at + 4..];
        object.declared_size = Some(size);
        object.native = &rest[..rest.len().min(size as usize)];
        if (rest.len() as u64) < u64::from(size) {
            short = Some(format!(
                "declared native data size {size} but {} bytes follow",
                rest.len()
            ));
        }
    }
    Ok((object, short))
}

/// The file an OLE `Package` object carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package<'a> {
    /// The label: the file's name.
    pub filename: &'a [u8],
    /// Where the file was when it was embedded.
    pub source_path: &'a [u8],
    /// Where it is written when opened.
    pub temp_path: &'a [u8],
    /// Its declared size.
    pub declared_size: u32,
    /// Its bytes (at most the declared size).
    pub data: &'a [u8],
}

/// Longest NUL-terminated string read, as oleobj (`STR_MAX_LEN`).
const MAX_STRING: usize = 1024;

fn cstring<'a>(data: &'a [u8], at: usize, what: &str) -> Result<(&'a [u8], usize), NotOle> {
    let rest = data.get(at..).unwrap_or_default();
    let window = &rest[..rest.len().min(MAX_STRING)];
    let nul = window.iter().position(|&b| b == 0).ok_or_else(|| {
        NotOle(format!(
            "package {what} at byte {at}: no terminating NUL in {MAX_STRING} bytes"
        ))
    })?;
    Ok((&rest[..nul], at + nul + 1))
}

/// Reads the native data of a `Package` object: a 2-byte type, the label, the source path,
/// 8 bytes (flags and the temporary path's length), the temporary path, the file's size and
/// its bytes.
pub fn package(native: &[u8]) -> Result<(Package<'_>, Option<String>), NotOle> {
    if native.len() < 2 {
        return Err(NotOle("package: shorter than its 2-byte header".into()));
    }
    let (filename, at) = cstring(native, 2, "file name")?;
    let (source_path, at) = cstring(native, at, "source path")?;
    u32_at(native, at + 4, "package flags")?;
    let (temp_path, at) = cstring(native, at + 8, "temporary path")?;
    let declared_size = u32_at(native, at, "package data size")?;
    let rest = &native[at + 4..];
    let data = &rest[..rest.len().min(declared_size as usize)];
    let short = ((rest.len() as u64) < u64::from(declared_size)).then(|| {
        format!(
            "package declares {declared_size} bytes of file data but {} follow",
            rest.len()
        )
    });
    Ok((
        Package {
            filename,
            source_path,
            temp_path,
            declared_size,
            data,
        },
        short,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut data = vec![1, 5, 0, 0, 2, 0, 0, 0];
        data.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            parse(&data)
                .unwrap_err()
                .0
                .contains("declared length 4294967295")
        );
        assert!(package(&[2, 0, b'a']).is_err());
        assert!(parse(&[1, 5, 0, 0, 3, 0, 0, 0]).is_err());
    }
}
