//! File types by content, and the plugins that open each: one table, [`KINDS`], that the
//! `mimetype` worker reports from and the `yara` dispatcher routes by, so the two agree by
//! construction.
//!
//! [`detect`] tries the kinds in table order and returns the first that matches, or
//! [`FileType::UNKNOWN`]. Every test reads a bounded prefix of the payload (magic numbers, the
//! first 1024 bytes for `%PDF-`, the first 64 KiB for an email's header block, a zip's end
//! record and central directory) or counts bytes in one pass (base64 text), so detection takes
//! time linear in the payload's size and never allocates by a field's value; no input panics.
//!
//! | kind | test | plugins |
//! |---|---|---|
//! | `odt`, `ods`, `odp`, `odg`, `odf` | a zip whose first member is `mimetype`, stored, holding `application/vnd.oasis.opendocument.*` (or, for `odf`, one whose central directory names `content.xml` and `META-INF/manifest.xml`) | `ole`, `decompress` |
//! | `docm`, `xlsm`, `pptm` | a zip whose central directory names `[Content_Types].xml`, parts under `word/`, `xl/` or `ppt/`, and a `vbaProject.bin` | `ole`, `decompress` |
//! | `docx`, `xlsx`, `pptx` | the same without `vbaProject.bin` | `decompress` |
//! | `zip` | `PK\3\4` or `PK\5\6` at 0 | `decompress` |
//! | `gzip`, `bzip2`, `xz`, `zstd`, `7z` | their magic numbers at 0 | `decompress` |
//! | `tar` | `ustar` at 257 | `decompress` |
//! | `ole` | `D0 CF 11 E0 A1 B1 1A E1` at 0 (OLE2 compound file: doc, xls, ppt, msi, msg) | `ole` |
//! | `rtf` | `{\rt` at 0 | `rtf` |
//! | `lnk` | header size `0x4C` and the shell link CLSID at 4 | `lnk` |
//! | `elf` | `\x7FELF`, class 1 or 2, data 1 or 2 | `elfinfo` |
//! | `macho` | `FEEDFACE`, `FEEDFACF` in either byte order | `machoinfo` |
//! | `macho-fat` | `CAFEBABE` with 1 to 30 architectures (and room for their table), or `CAFEBABF` | `machoinfo` |
//! | `java-class` | `CAFEBABE` with a larger count (a class file's version) | — |
//! | `dll`, `pe` | `MZ`, `e_lfanew` inside the file, `PE\0\0` there (`dll`: the DLL characteristic) | `peinfo` |
//! | `email` | an RFC 5322 header block from offset 0 ([`is_email`]) | `smtp` |
//! | `pdf` | `%PDF-` in the first 1024 bytes | `pdf` |
//! | `base64` | base64 text ([`is_base64_text`]) | `b64decode` |
//!
//! OOXML and ODF documents are zips, so `decompress` opens them all: every member becomes a
//! payload (the document XML and its relationships for `iocextract`, media, and the members
//! that are OLE2 compound files — `word/vbaProject.bin`, `xl/embeddings/oleObject1.bin`,
//! `ppt/activeX/activeX1.bin` — which this same table types `ole` and routes to `ole`). The
//! documents whose macros `ole` reads as a document go to `ole` as well: the macro-enabled
//! OOXML ones (a `vbaProject.bin`: `ole` reports the package's macros and parts and extracts
//! the VBA project, embedded objects and ActiveX controls), and every ODF document, whose
//! macros are StarBasic modules in XML members (`Basic/Standard/Module1.xml`) that only
//! `ole` reads as macros, and which, unlike OOXML, does not say in its name whether it holds
//! any. A member both plugins extract is the same bytes, which stoq deduplicates by SHA-256
//! within a request: it is analysed once. A `docx`, `xlsx` or `pptx` goes to `decompress`
//! alone: its embedded objects and controls are OLE2 members, which reach `ole` as `ole`
//! payloads anyway.
//!
//! Email comes after every binary kind and before `pdf` (whose `%PDF-` may sit anywhere in
//! the first 1024 bytes, e.g. quoted in a message's first lines) and `base64` (which cannot
//! hold a `:`).

use std::cell::OnceCell;

mod base64;
mod email;
mod zip;

pub use base64::is_base64_text;
pub use email::{HEADER_PREFIX, is_email};

/// A file type: its names and the plugins that open it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileType {
    /// Short name, e.g. `"zip"`, `"email"`, `"docm"`.
    pub name: &'static str,
    /// MIME type, e.g. `"application/zip"`.
    pub mimetype: &'static str,
    /// Human-readable description, e.g. `"ZIP"`.
    pub description: &'static str,
    /// Usual file name extension, without the dot.
    pub extension: &'static str,
    /// The worker plugins that open it (may be empty).
    pub plugins: &'static [&'static str],
    /// A whole family whose members this table does not tell apart (any zip, any OLE2 file):
    /// the route holds for all of them, and a finer label (jar, apk, doc, msi) may come from
    /// another library.
    pub generic: bool,
}

impl FileType {
    /// What [`detect`] returns when no kind of the table matches.
    pub const UNKNOWN: FileType = FileType {
        name: "unknown",
        mimetype: "application/octet-stream",
        description: "unknown",
        extension: "",
        plugins: &[],
        generic: true,
    };

    /// Whether this is a kind of the table (not [`FileType::UNKNOWN`]).
    pub fn is_known(&self) -> bool {
        *self != Self::UNKNOWN
    }
}

/// One row of the table: a file type and its test.
pub struct Kind {
    /// The file type.
    pub file_type: FileType,
    test: fn(&Probe<'_>) -> bool,
}

/// The payload, and what more than one kind's test needs, computed once.
struct Probe<'a> {
    data: &'a [u8],
    zip: OnceCell<zip::Summary>,
}

impl Probe<'_> {
    fn zip(&self) -> &zip::Summary {
        self.zip.get_or_init(|| zip::summarize(self.data))
    }

    fn starts_with(&self, magic: &[u8]) -> bool {
        self.data.starts_with(magic)
    }

    fn u16le(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32le(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32be(&self, at: usize) -> Option<u32> {
        self.u32le(at).map(u32::swap_bytes)
    }
}

const DECOMPRESS: &[&str] = &["decompress"];
/// Documents whose macros `ole` reads, and whose members `decompress` extracts.
const OLE_DECOMPRESS: &[&str] = &["ole", "decompress"];

const fn kind(
    name: &'static str,
    mimetype: &'static str,
    description: &'static str,
    extension: &'static str,
    plugins: &'static [&'static str],
    test: fn(&Probe<'_>) -> bool,
) -> Kind {
    Kind {
        file_type: FileType {
            name,
            mimetype,
            description,
            extension,
            plugins,
            generic: false,
        },
        test,
    }
}

const fn generic(mut kind: Kind) -> Kind {
    kind.file_type.generic = true;
    kind
}

fn is_zip(p: &Probe<'_>) -> bool {
    p.starts_with(b"PK\x03\x04") || p.starts_with(b"PK\x05\x06")
}

fn odf(p: &Probe<'_>, want: zip::Odf) -> bool {
    is_zip(p) && p.zip().odf == Some(want)
}

fn ooxml(p: &Probe<'_>, app: zip::Office, macros: bool) -> bool {
    is_zip(p) && {
        let z = p.zip();
        z.content_types && z.office == Some(app) && (!macros || z.vba)
    }
}

/// `e_lfanew` of a PE file: `MZ`, and `PE\0\0` at the offset stored at 0x3C.
fn pe_header(p: &Probe<'_>) -> Option<usize> {
    if !p.starts_with(b"MZ") || p.data.len() <= 0x40 {
        return None;
    }
    let at = usize::try_from(p.u32le(0x3c)?).ok()?;
    (at < p.data.len() - 4 && p.u32le(at)? == 0x0000_4550).then_some(at)
}

fn is_dll(p: &Probe<'_>) -> bool {
    // COFF characteristics: after the signature (4), machine, sections, timestamp, symbol
    // table, symbol count, optional header size (2 + 2 + 4 + 4 + 4 + 2).
    pe_header(p)
        .and_then(|at| p.u16le(at + 22))
        .is_some_and(|c| c & 0x2000 != 0)
}

/// `CAFEBABE` then a big-endian count: a fat Mach-O's architecture count (a handful), or a
/// Java class file's minor and major version (major 45 and up). Apple's `file` magic and
/// LLVM tell them apart the same way.
const MAX_FAT_ARCHS: u32 = 30;

fn fat_archs(p: &Probe<'_>) -> Option<u32> {
    if !p.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) {
        return None;
    }
    p.u32be(4)
}

fn is_fat_macho(p: &Probe<'_>) -> bool {
    if p.starts_with(&[0xca, 0xfe, 0xba, 0xbf]) {
        return p.u32be(4).is_some_and(|n| (1..=MAX_FAT_ARCHS).contains(&n));
    }
    // Each fat_arch is 20 bytes after the 8-byte header.
    fat_archs(p)
        .is_some_and(|n| (1..=MAX_FAT_ARCHS).contains(&n) && p.data.len() >= 8 + 20 * n as usize)
}

fn is_java_class(p: &Probe<'_>) -> bool {
    fat_archs(p).is_some_and(|n| n > MAX_FAT_ARCHS)
}

const LNK_CLSID: [u8; 16] = [
    0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// The table, in the order [`detect`] tries it.
pub static KINDS: &[Kind] = &[
    // Zip containers first: the specific kinds, then any zip.
    kind(
        "odt",
        "application/vnd.oasis.opendocument.text",
        "OpenDocument Text",
        "odt",
        OLE_DECOMPRESS,
        |p| odf(p, zip::Odf::Text),
    ),
    kind(
        "ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        "OpenDocument Spreadsheet",
        "ods",
        OLE_DECOMPRESS,
        |p| odf(p, zip::Odf::Spreadsheet),
    ),
    kind(
        "odp",
        "application/vnd.oasis.opendocument.presentation",
        "OpenDocument Presentation",
        "odp",
        OLE_DECOMPRESS,
        |p| odf(p, zip::Odf::Presentation),
    ),
    kind(
        "odg",
        "application/vnd.oasis.opendocument.graphics",
        "OpenDocument Graphics",
        "odg",
        OLE_DECOMPRESS,
        |p| odf(p, zip::Odf::Graphics),
    ),
    generic(kind(
        "odf",
        "application/vnd.oasis.opendocument",
        "OpenDocument",
        "odf",
        OLE_DECOMPRESS,
        |p| odf(p, zip::Odf::Other),
    )),
    kind(
        "docm",
        "application/vnd.ms-word.document.macroEnabled.12",
        "Office Open XML Document (macro-enabled)",
        "docm",
        OLE_DECOMPRESS,
        |p| ooxml(p, zip::Office::Word, true),
    ),
    kind(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Office Open XML Document",
        "docx",
        DECOMPRESS,
        |p| ooxml(p, zip::Office::Word, false),
    ),
    kind(
        "xlsm",
        "application/vnd.ms-excel.sheet.macroEnabled.12",
        "Office Open XML Spreadsheet (macro-enabled)",
        "xlsm",
        OLE_DECOMPRESS,
        |p| ooxml(p, zip::Office::Excel, true),
    ),
    kind(
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Office Open XML Spreadsheet",
        "xlsx",
        DECOMPRESS,
        |p| ooxml(p, zip::Office::Excel, false),
    ),
    kind(
        "pptm",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
        "Office Open XML Presentation (macro-enabled)",
        "pptm",
        OLE_DECOMPRESS,
        |p| ooxml(p, zip::Office::PowerPoint, true),
    ),
    kind(
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "Office Open XML Presentation",
        "pptx",
        DECOMPRESS,
        |p| ooxml(p, zip::Office::PowerPoint, false),
    ),
    generic(kind(
        "zip",
        "application/zip",
        "ZIP",
        "zip",
        DECOMPRESS,
        is_zip,
    )),
    kind("gzip", "application/gzip", "gzip", "gz", DECOMPRESS, |p| {
        // Deflate is gzip's only compression method.
        p.starts_with(&[0x1f, 0x8b, 0x08])
    }),
    kind(
        "bzip2",
        "application/x-bzip2",
        "bzip2",
        "bz2",
        DECOMPRESS,
        |p| p.starts_with(b"BZh") && p.data.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)),
    ),
    kind("xz", "application/x-xz", "XZ", "xz", DECOMPRESS, |p| {
        p.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
    }),
    kind(
        "zstd",
        "application/zstd",
        "Zstandard",
        "zst",
        DECOMPRESS,
        |p| p.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
    ),
    kind(
        "7z",
        "application/x-7z-compressed",
        "7-Zip",
        "7z",
        DECOMPRESS,
        |p| p.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]),
    ),
    kind(
        "tar",
        "application/x-tar",
        "Tape Archive",
        "tar",
        DECOMPRESS,
        // POSIX (`ustar\0`) and GNU (`ustar `) headers.
        |p| p.data.len() > 262 && &p.data[257..262] == b"ustar",
    ),
    generic(kind(
        "ole",
        "application/x-cfb",
        "Compound File Binary",
        "cfb",
        &["ole"],
        |p| p.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
    )),
    // Word opens a file that begins `{\rt` whatever follows (oletools' rtfobj tests the same
    // four bytes): `{\rtf1` is only the usual form.
    kind(
        "rtf",
        "application/rtf",
        "Rich Text Format",
        "rtf",
        &["rtf"],
        |p| p.starts_with(b"{\\rt"),
    ),
    kind(
        "lnk",
        "application/x-ms-shortcut",
        "Windows Shortcut",
        "lnk",
        &["lnk"],
        |p| p.u32le(0) == Some(0x4c) && p.data.get(4..20) == Some(&LNK_CLSID[..]),
    ),
    kind(
        "elf",
        "application/x-executable",
        "Executable and Linkable Format",
        "elf",
        &["elfinfo"],
        |p| {
            p.starts_with(b"\x7fELF")
                && matches!(p.data.get(4), Some(1 | 2))
                && matches!(p.data.get(5), Some(1 | 2))
        },
    ),
    kind(
        "macho",
        "application/x-mach-binary",
        "Mach-O",
        "macho",
        &["machoinfo"],
        |p| {
            // 32-bit and 64-bit, big- and little-endian; the smaller header is 28 bytes.
            p.data.len() >= 28
                && matches!(
                    p.u32be(0),
                    Some(0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe)
                )
        },
    ),
    kind(
        "macho-fat",
        "application/x-mach-binary",
        "Mach-O universal binary",
        "macho",
        &["machoinfo"],
        is_fat_macho,
    ),
    kind(
        "java-class",
        "application/java-vm",
        "Java Class",
        "class",
        &[],
        is_java_class,
    ),
    kind(
        "dll",
        "application/vnd.microsoft.portable-executable",
        "Dynamic Link Library",
        "dll",
        &["peinfo"],
        is_dll,
    ),
    kind(
        "pe",
        "application/vnd.microsoft.portable-executable",
        "Portable Executable",
        "exe",
        &["peinfo"],
        |p| pe_header(p).is_some(),
    ),
    kind(
        "email",
        "message/rfc822",
        "Internet e-mail message",
        "eml",
        &["smtp"],
        |p| is_email(p.data),
    ),
    kind(
        "pdf",
        "application/pdf",
        "Portable Document Format",
        "pdf",
        &["pdf"],
        // Readers accept the header anywhere in the first 1024 bytes.
        |p| {
            let head = &p.data[..p.data.len().min(1024 + 4)];
            head.windows(5).any(|w| w == b"%PDF-")
        },
    ),
    kind(
        "base64",
        "text/plain",
        "Base64-encoded data",
        "b64",
        &["b64decode"],
        |p| is_base64_text(p.data),
    ),
];

/// The file type of `data`: the first kind of [`KINDS`] that matches, or
/// [`FileType::UNKNOWN`].
pub fn detect(data: &[u8]) -> FileType {
    let probe = Probe {
        data,
        zip: OnceCell::new(),
    };
    KINDS
        .iter()
        .find(|k| (k.test)(&probe))
        .map_or(FileType::UNKNOWN, |k| k.file_type)
}

/// The file types of the table, in order.
pub fn kinds() -> impl Iterator<Item = &'static FileType> {
    KINDS.iter().map(|k| &k.file_type)
}

/// The kind named `name`, if the table has it.
pub fn by_name(name: &str) -> Option<&'static FileType> {
    kinds().find(|t| t.name == name)
}

#[cfg(any(test, feature = "samples"))]
pub mod samples;
#[cfg(test)]
mod tests;
