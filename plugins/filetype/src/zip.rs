//! What a zip's member names say about it (OOXML, ODF), read from its central directory (or,
//! when that is missing, its local headers from the start), in time linear in the payload.

/// Which OpenDocument type the `mimetype` member names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Odf {
    Text,
    Spreadsheet,
    Presentation,
    Graphics,
    Other,
}

/// Which Office application's parts an OOXML package holds (the first found).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Office {
    Word,
    Excel,
    PowerPoint,
}

/// What the names of a zip's members say.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// `[Content_Types].xml`: an OPC (OOXML) package.
    pub content_types: bool,
    /// Parts under `word/`, `xl/` or `ppt/`.
    pub office: Option<Office>,
    /// A `vbaProject.bin` member: VBA macros.
    pub vba: bool,
    /// The OpenDocument type.
    pub odf: Option<Odf>,
}

/// Most central directory entries (or local headers) read.
const MAX_ENTRIES: usize = 100_000;
const ODF_PREFIX: &[u8] = b"application/vnd.oasis.opendocument.";

fn u16le(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32le(data: &[u8], at: usize) -> Option<u64> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

fn u64le(data: &[u8], at: usize) -> Option<u64> {
    let b = data.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn starts_with_ignore_case(name: &[u8], prefix: &[u8]) -> bool {
    name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn ends_with_ignore_case(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The ODF type from a `mimetype` member's content.
fn odf_type(content: &[u8]) -> Option<Odf> {
    let sub = content.trim_ascii().strip_prefix(ODF_PREFIX)?;
    Some(if sub.starts_with(b"text") {
        Odf::Text
    } else if sub.starts_with(b"spreadsheet") {
        Odf::Spreadsheet
    } else if sub.starts_with(b"presentation") {
        Odf::Presentation
    } else if sub.starts_with(b"graphics") {
        Odf::Graphics
    } else {
        Odf::Other
    })
}

/// The ODF type, from the first local header: ODF requires a stored `mimetype` member first,
/// with no extra field (ODF 1.2 part 3, 3.3).
fn odf_first_member(data: &[u8]) -> Option<Odf> {
    if !data.starts_with(b"PK\x03\x04") || u16le(data, 8)? != 0 {
        return None;
    }
    let size = usize::try_from(u32le(data, 18)?).ok()?;
    let name_len = u16le(data, 26)?;
    let extra = u16le(data, 28)?;
    if data.get(30..30 + name_len)? != b"mimetype" || size > 256 {
        return None;
    }
    let start = 30 + name_len + extra;
    odf_type(data.get(start..start + size)?)
}

#[derive(Default)]
struct Names {
    summary: Summary,
    manifest: bool,
    content: bool,
}

impl Names {
    fn add(&mut self, name: &[u8]) {
        let s = &mut self.summary;
        if name == b"[Content_Types].xml" {
            s.content_types = true;
        }
        if s.office.is_none() {
            s.office = if starts_with_ignore_case(name, b"word/") {
                Some(Office::Word)
            } else if starts_with_ignore_case(name, b"xl/") {
                Some(Office::Excel)
            } else if starts_with_ignore_case(name, b"ppt/") {
                Some(Office::PowerPoint)
            } else {
                None
            };
        }
        s.vba |= ends_with_ignore_case(name, b"vbaProject.bin");
        self.manifest |= name == b"META-INF/manifest.xml";
        self.content |= name == b"content.xml";
    }

    fn done(&self) -> bool {
        let s = &self.summary;
        s.content_types && s.office.is_some() && s.vba
    }
}

/// Where the central directory starts and ends, from the end of central directory record
/// (searched for in the last 64 KiB + 22 bytes, the most a comment allows) and, for zip64,
/// its locator and record. A zip with data before it (a self-extractor) has offsets relative
/// to the first member: the directory is then found right before the end record.
fn central_directory(data: &[u8]) -> Option<(usize, usize)> {
    let len = data.len();
    if len < 22 {
        return None;
    }
    let low = len.saturating_sub(22 + 0xffff);
    let eocd = (low..=len - 22)
        .rev()
        .find(|&at| data[at..at + 4] == *b"PK\x05\x06")?;
    let mut size = u32le(data, eocd + 12)?;
    let mut offset = u32le(data, eocd + 16)?;
    let mut end = eocd;
    if (size == 0xffff_ffff || offset == 0xffff_ffff) && eocd >= 20 {
        let locator = eocd - 20;
        if data.get(locator..locator + 4) == Some(b"PK\x06\x07") {
            let record = usize::try_from(u64le(data, locator + 8)?).ok()?;
            if data.get(record..record.checked_add(4)?) == Some(b"PK\x06\x06") {
                size = u64le(data, record + 40)?;
                offset = u64le(data, record + 48)?;
                end = record;
            }
        }
    }
    let size = usize::try_from(size).ok()?;
    let offset = usize::try_from(offset).ok()?;
    let directory_at = |start: usize| {
        start.checked_add(4).and_then(|end| data.get(start..end)) == Some(b"PK\x01\x02")
    };
    let start = if offset.checked_add(size).is_some_and(|e| e <= end) && directory_at(offset) {
        offset
    } else {
        end.checked_sub(size).filter(|&s| directory_at(s))?
    };
    Some((start, start + size))
}

/// Member names from the central directory: each entry is at least 46 bytes, so the walk is
/// linear in the directory's size.
fn central_names(data: &[u8], (mut at, end): (usize, usize), names: &mut Names) {
    for _ in 0..MAX_ENTRIES {
        if at + 46 > end || data.get(at..at + 4) != Some(b"PK\x01\x02") {
            return;
        }
        let (Some(name_len), Some(extra), Some(comment)) = (
            u16le(data, at + 28),
            u16le(data, at + 30),
            u16le(data, at + 32),
        ) else {
            return;
        };
        let Some(name) = data.get(at + 46..at + 46 + name_len) else {
            return;
        };
        names.add(name);
        if names.done() {
            return;
        }
        at += 46 + name_len + extra + comment;
    }
}

/// Member names from the local headers, from offset 0, until one whose size is only in a
/// data descriptor (the next header cannot be found without inflating).
fn local_names(data: &[u8], names: &mut Names) {
    let mut at = 0usize;
    for _ in 0..MAX_ENTRIES {
        if data.get(at..at.saturating_add(4)) != Some(b"PK\x03\x04") {
            return;
        }
        let (Some(flags), Some(size), Some(name_len), Some(extra)) = (
            u16le(data, at + 6),
            u32le(data, at + 18),
            u16le(data, at + 26),
            u16le(data, at + 28),
        ) else {
            return;
        };
        let Some(name) = data.get(at + 30..at + 30 + name_len) else {
            return;
        };
        names.add(name);
        if names.done() || (flags & 8 != 0 && size == 0) {
            return;
        }
        let Some(next) = usize::try_from(size)
            .ok()
            .and_then(|size| (at + 30 + name_len + extra).checked_add(size))
        else {
            return;
        };
        at = next;
    }
}

/// What the member names of the zip `data` say.
pub(crate) fn summarize(data: &[u8]) -> Summary {
    let mut names = Names::default();
    match central_directory(data) {
        Some(range) => central_names(data, range, &mut names),
        None => local_names(data, &mut names),
    }
    let mut summary = names.summary;
    summary.odf = odf_first_member(data).or_else(|| {
        (names.manifest && names.content && !summary.content_types).then_some(Odf::Other)
    });
    summary
}
