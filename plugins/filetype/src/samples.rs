//! Samples of every kind of the table, built in code (no binary blobs), for this crate's tests
//! and for the plugins that report or route by the table (`features = ["samples"]`).

use crate::LNK_CLSID;

/// A zip of stored members (CRCs left 0: the detector reads names, not data), with its
/// central directory and end record; `prefix` goes before it (a self-extractor's stub).
pub fn zip_with(prefix: &[u8], members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    let mut central = Vec::new();
    for (name, data) in members {
        let offset = (out.len() - prefix.len()) as u32;
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = (out.len() - prefix.len()) as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A zip of stored members (see [`zip_with`]).
pub fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(b"", members)
}

/// An OOXML package of `app` (`word`, `xl`, `ppt`), with a VBA project if `macros`.
pub fn ooxml_document(app: &str, macros: bool) -> Vec<u8> {
    let part = format!("{app}/document.xml");
    let vba = format!("{app}/vbaProject.bin");
    let mut members: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        (&part, b"<document/>"),
    ];
    if macros {
        members.push((&vba, &[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));
    }
    zip_of(&members)
}

/// An OpenDocument package whose `mimetype` member holds `mimetype`.
pub fn odf_document(mimetype: &str) -> Vec<u8> {
    zip_of(&[
        ("mimetype", mimetype.as_bytes()),
        ("content.xml", b"<office:document-content/>"),
        ("META-INF/manifest.xml", b"<manifest/>"),
    ])
}

/// A PE: DOS header, `e_lfanew` = 0x80, the signature and a COFF header whose
/// characteristics are `characteristics`.
pub fn pe(characteristics: u16) -> Vec<u8> {
    let mut pe = vec![0u8; 512];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    pe[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
    pe[0x96..0x98].copy_from_slice(&characteristics.to_le_bytes());
    pe
}

/// A tar archive: one POSIX header.
pub fn tar() -> Vec<u8> {
    let mut tar = vec![0u8; 1024];
    tar[..9].copy_from_slice(b"notes.txt");
    tar[257..263].copy_from_slice(b"ustar\0");
    tar[263..265].copy_from_slice(b"00");
    tar
}

/// A Windows shortcut's header.
pub fn lnk() -> Vec<u8> {
    let mut lnk = vec![0u8; 0x4c];
    lnk[..4].copy_from_slice(&0x4cu32.to_le_bytes());
    lnk[4..20].copy_from_slice(&LNK_CLSID);
    lnk
}

/// An ELF identification and header of the given class and data encoding.
pub fn elf(class: u8, data: u8) -> Vec<u8> {
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = class;
    elf[5] = data;
    elf[6] = 1;
    elf
}

/// A thin Mach-O header with `magic`.
pub fn macho(magic: [u8; 4]) -> Vec<u8> {
    let mut m = vec![0u8; 32];
    m[..4].copy_from_slice(&magic);
    m
}

/// A fat header with `magic` declaring `archs` architectures, and room for them.
pub fn fat(magic: [u8; 4], archs: u32) -> Vec<u8> {
    let mut m = magic.to_vec();
    m.extend_from_slice(&archs.to_be_bytes());
    m.resize(8 + 20 * archs.min(64) as usize + 16, 0);
    m
}

/// The start of a Java class file of that version.
pub fn java_class(minor: u16, major: u16) -> Vec<u8> {
    let mut c = vec![0xca, 0xfe, 0xba, 0xbe];
    c.extend_from_slice(&minor.to_be_bytes());
    c.extend_from_slice(&major.to_be_bytes());
    c.extend_from_slice(&[0, 0x10, 0x0a, 0, 3, 0, 0x0c]);
    c
}

/// An OLE2 compound file header.
pub fn ole() -> Vec<u8> {
    let mut ole = vec![0u8; 1536];
    ole[..8].copy_from_slice(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    ole[0x1c..0x1e].copy_from_slice(&[0xfe, 0xff]);
    ole
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Wraps text in lines of `width` characters, each ending in `eol`.
pub fn wrap(text: &str, width: usize, eol: &str) -> String {
    text.as_bytes()
        .chunks(width)
        .map(|line| format!("{}{eol}", String::from_utf8_lossy(line)))
        .collect()
}

/// One sample of every kind of the table, by kind name.
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let b64 = base64(&(0..=255u8).cycle().take(3000).collect::<Vec<u8>>());
    let mut pdf_late = b"junk before the header\n".repeat(40);
    pdf_late.truncate(1000);
    pdf_late.extend_from_slice(b"%PDF-1.7\n");
    vec![
        (
            "odt",
            odf_document("application/vnd.oasis.opendocument.text"),
        ),
        (
            "ods",
            odf_document("application/vnd.oasis.opendocument.spreadsheet"),
        ),
        (
            "odp",
            odf_document("application/vnd.oasis.opendocument.presentation"),
        ),
        (
            "odg",
            odf_document("application/vnd.oasis.opendocument.graphics"),
        ),
        (
            "odf",
            odf_document("application/vnd.oasis.opendocument.formula"),
        ),
        ("docm", ooxml_document("word", true)),
        ("docx", ooxml_document("word", false)),
        ("xlsm", ooxml_document("xl", true)),
        ("xlsx", ooxml_document("xl", false)),
        ("pptm", ooxml_document("ppt", true)),
        ("pptx", ooxml_document("ppt", false)),
        ("zip", zip_of(&[("readme.txt", b"hello")])),
        ("gzip", vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
        ("bzip2", b"BZh91AY&SY".to_vec()),
        ("xz", vec![0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4]),
        ("zstd", vec![0x28, 0xb5, 0x2f, 0xfd, 0x20, 0]),
        ("7z", vec![b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4]),
        ("tar", tar()),
        ("ole", ole()),
        ("rtf", b"{\\rtf1\\ansi hello}".to_vec()),
        ("lnk", lnk()),
        ("elf", elf(2, 1)),
        ("macho", macho([0xcf, 0xfa, 0xed, 0xfe])),
        ("macho-fat", fat([0xca, 0xfe, 0xba, 0xbe], 2)),
        ("java-class", java_class(0, 52)),
        ("dll", pe(0x2022)),
        ("pe", pe(0x0022)),
        (
            "email",
            b"Subject: hi\r\nFrom: a@b.example\r\n\r\nbody".to_vec(),
        ),
        ("pdf", pdf_late),
        ("base64", wrap(&b64, 76, "\n").into_bytes()),
    ]
}
