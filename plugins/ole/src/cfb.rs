//! A reader of OLE2 compound files ([MS-CFB]) that trusts nothing in the file.
//!
//! Every structure is checked against the payload before it is used: sector numbers against
//! the sectors the file holds, chains for loops (a sector met twice), directory trees for
//! cycles (an entry reached twice), sizes against the file's length before anything is
//! allocated. The FAT, the miniFAT, the chain lists and the directory are each at most about
//! the file's size; stream data is copied only for the streams a caller reads. Problems that
//! leave the rest readable (a broken chain, a cyclic subtree, a storage too deep) are kept in
//! [`Cfb::problems`]; only a header or directory that cannot be read at all is an `Err`.
//!
//! [MS-CFB]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cfb/

use std::fmt;

/// The 8 bytes every compound file starts with.
pub const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

const MAXREGSECT: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const FATSECT: u32 = 0xFFFF_FFFD;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FREESECT: u32 = 0xFFFF_FFFF;
/// "No entry" in a directory entry's sibling and child fields.
const NOSTREAM: u32 = 0xFFFF_FFFF;

const MINI_SECTOR_SIZE: usize = 64;
const DIR_ENTRY_SIZE: usize = 128;

/// Storages nested deeper than this are listed but not walked into: a path is at most this
/// many names (31 characters each). Real files nest a few levels (`ObjectPool/_1/...`).
pub const MAX_DEPTH: usize = 32;

/// Entries listed at most, and bytes of their paths at most: a small directory of long
/// names nested deep would otherwise describe paths far larger than the file.
pub const MAX_ENTRIES: usize = 100_000;
/// See [`MAX_ENTRIES`].
pub const MAX_PATH_BYTES: usize = 16 << 20;

/// A compound file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfbError(pub String);

impl fmt::Display for CfbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, CfbError> {
    Err(CfbError(message.into()))
}

fn u16_at(data: &[u8], at: usize) -> u16 {
    data.get(at..at + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    data.get(at..at + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    data.get(at..at + 8).map_or(0, |b| {
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    })
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Unallocated (type 0) or of an unknown type.
    Empty,
    /// A storage (a folder).
    Storage,
    /// A stream (a file).
    Stream,
    /// The root storage (entry 0).
    Root,
}

/// One 128-byte directory entry, as the file says it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name (UTF-16 in the file; unpaired surrogates replaced).
    pub name: String,
    /// What it is.
    pub kind: Kind,
    left: u32,
    right: u32,
    child: u32,
    /// Its CLSID (16 bytes, as stored).
    pub clsid: [u8; 16],
    /// Creation time (FILETIME: 100 ns since 1601), 0 when absent.
    pub created: u64,
    /// Modification time (FILETIME), 0 when absent.
    pub modified: u64,
    /// First sector of its data (regular or mini sector, by its size).
    pub start: u32,
    /// Size of its data in bytes (the low 32 bits only in version 3 files, as olefile).
    pub size: u64,
}

/// One entry of the tree, as walked from the root.
#[derive(Debug, Clone)]
pub struct Node {
    /// Index of the directory entry.
    pub id: usize,
    /// Full path from the root, names joined with `/` (`Macros/VBA/ThisDocument`).
    pub path: String,
    /// Nesting depth (1 for children of the root).
    pub depth: usize,
}

/// A parsed compound file: header facts, FAT, miniFAT, directory, and the problems met.
pub struct Cfb<'a> {
    data: &'a [u8],
    /// The header's major version (3 or 4).
    pub major_version: u16,
    /// The header's minor version.
    pub minor_version: u16,
    /// Sector size in bytes (512 or 4096).
    pub sector_size: usize,
    /// Streams smaller than this live in the mini stream (4096).
    pub mini_cutoff: u64,
    /// Sectors the file holds after the header (the last may be partial).
    pub sectors: u32,
    /// FAT sectors the header declares.
    pub fat_sectors_declared: u32,
    fat: Vec<u32>,
    minifat: Vec<u32>,
    /// The directory entries, in file order.
    pub entries: Vec<Entry>,
    /// The regular sectors holding the mini stream, in order.
    mini_chain: Vec<u32>,
    /// Bytes of the mini stream actually present.
    mini_len: u64,
    /// The tree from the root, storages' children sorted by name (as olefile lists them).
    pub tree: Vec<Node>,
    /// Allocated entries (streams, storages) that no path from the root reaches.
    pub unreachable: usize,
    /// Lower-cased path to entry, for [`Cfb::find`].
    by_path: std::collections::HashMap<String, usize>,
    /// What was wrong but left the rest readable.
    pub problems: Vec<String>,
}

/// Why a chain walk stopped before its end.
enum ChainEnd {
    Complete,
    Broken(String),
}

impl<'a> Cfb<'a> {
    /// Parses the header, the FAT (through the DIFAT), the directory and the miniFAT of
    /// `data`, and walks the directory tree. An `Err` when `data` is not a compound file or
    /// its header, FAT or directory cannot be read at all.
    pub fn parse(data: &'a [u8]) -> Result<Self, CfbError> {
        if !data.starts_with(&SIGNATURE) {
            return fail("not an OLE2 compound file (no D0 CF 11 E0 A1 B1 1A E1 header)");
        }
        if data.len() < 512 {
            return fail(format!(
                "header: the file ({} bytes) is shorter than its 512-byte header sector",
                data.len()
            ));
        }
        let minor_version = u16_at(data, 24);
        let major_version = u16_at(data, 26);
        let byte_order = u16_at(data, 28);
        let sector_shift = u16_at(data, 30);
        let mini_shift = u16_at(data, 32);
        let mut problems = Vec::new();
        if byte_order != 0xFFFE {
            problems.push(format!(
                "header: byte order mark 0x{byte_order:04X}, expected 0xFFFE"
            ));
        }
        let sector_size = match sector_shift {
            9 => 512,
            12 => 4096,
            other => {
                return fail(format!(
                    "header: sector shift {other} (sectors of 2^{other} bytes); only 9 (512) and 12 (4096) exist"
                ));
            }
        };
        if !matches!((major_version, sector_size), (3, 512) | (4, 4096)) {
            problems.push(format!(
                "header: major version {major_version} with {sector_size}-byte sectors (version 3 has 512, version 4 has 4096)"
            ));
        }
        if mini_shift != 6 {
            return fail(format!(
                "header: mini sector shift {mini_shift}; only 6 (64-byte mini sectors) exists"
            ));
        }
        if data.len() < sector_size {
            return fail(format!(
                "header: the file ({} bytes) is shorter than its {sector_size}-byte header sector",
                data.len()
            ));
        }
        let sectors = u32::try_from((data.len() - sector_size).div_ceil(sector_size))
            .unwrap_or(u32::MAX)
            .min(MAXREGSECT + 1);
        if !(data.len() - sector_size).is_multiple_of(sector_size) {
            problems.push(format!(
                "the file ({} bytes) ends inside sector {}: its last sector is partial",
                data.len(),
                sectors - 1
            ));
        }
        let fat_sectors_declared = u32_at(data, 44);
        let first_dir = u32_at(data, 48);
        let mini_cutoff = u64::from(u32_at(data, 56));
        let first_minifat = u32_at(data, 60);
        let minifat_sectors = u32_at(data, 64);
        let first_difat = u32_at(data, 68);
        let difat_sectors = u32_at(data, 72);
        if mini_cutoff != 4096 {
            problems.push(format!(
                "header: mini stream cutoff {mini_cutoff}, expected 4096"
            ));
        }
        if fat_sectors_declared > sectors {
            return fail(format!(
                "header: {fat_sectors_declared} FAT sectors declared, but the file holds only {sectors} sectors"
            ));
        }
        let mut cfb = Cfb {
            data,
            major_version,
            minor_version,
            sector_size,
            mini_cutoff,
            sectors,
            fat_sectors_declared,
            fat: Vec::new(),
            minifat: Vec::new(),
            entries: Vec::new(),
            mini_chain: Vec::new(),
            mini_len: 0,
            tree: Vec::new(),
            unreachable: 0,
            by_path: std::collections::HashMap::new(),
            problems,
        };
        cfb.read_fat(first_difat, difat_sectors)?;
        cfb.read_directory(first_dir)?;
        cfb.read_minifat(first_minifat, minifat_sectors);
        cfb.read_mini_stream();
        cfb.walk();
        Ok(cfb)
    }

    /// The bytes of sector `n` (fewer than a sector's size for a partial last sector).
    fn sector(&self, n: u32) -> Option<&'a [u8]> {
        if n >= self.sectors {
            return None;
        }
        let start = (n as usize + 1) * self.sector_size;
        let end = (start + self.sector_size).min(self.data.len());
        self.data.get(start..end)
    }

    /// The FAT: the FAT sectors listed in the header's 109 DIFAT entries, then in the DIFAT
    /// chain, at most as many as the header declares.
    fn read_fat(&mut self, first_difat: u32, difat_sectors: u32) -> Result<(), CfbError> {
        let wanted = self.fat_sectors_declared as usize;
        let mut fat_sectors: Vec<u32> = Vec::with_capacity(wanted.min(109));
        for i in 0..109 {
            if fat_sectors.len() >= wanted {
                break;
            }
            let s = u32_at(self.data, 76 + 4 * i);
            if s == FREESECT || s == ENDOFCHAIN {
                break;
            }
            fat_sectors.push(s);
        }
        let per_difat = self.sector_size / 4 - 1;
        let mut next = first_difat;
        let mut seen = vec![false; self.sectors as usize];
        let mut walked = 0u32;
        while fat_sectors.len() < wanted && next != ENDOFCHAIN && next != FREESECT {
            if walked >= difat_sectors {
                self.problems.push(format!(
                    "DIFAT: the chain goes on past the {difat_sectors} DIFAT sectors the header declares; the rest is ignored"
                ));
                break;
            }
            let Some(sector) = self.sector(next) else {
                self.problems.push(format!(
                    "DIFAT: sector {next} is out of range (the file holds {} sectors)",
                    self.sectors
                ));
                break;
            };
            if std::mem::replace(&mut seen[next as usize], true) {
                self.problems
                    .push(format!("DIFAT: the chain loops back to sector {next}"));
                break;
            }
            walked += 1;
            for i in 0..per_difat {
                if fat_sectors.len() >= wanted {
                    break;
                }
                let s = u32_at(sector, 4 * i);
                if s == FREESECT {
                    continue;
                }
                fat_sectors.push(s);
            }
            next = u32_at(sector, 4 * per_difat);
        }
        if fat_sectors.len() < wanted {
            self.problems.push(format!(
                "FAT: the header declares {wanted} FAT sectors, the DIFAT lists {}",
                fat_sectors.len()
            ));
        }
        let per_sector = self.sector_size / 4;
        self.fat.reserve(fat_sectors.len() * per_sector);
        for (i, &s) in fat_sectors.iter().enumerate() {
            match self.sector(s) {
                Some(sector) => {
                    if sector.len() < self.sector_size {
                        self.problems
                            .push(format!("FAT: FAT sector {s} is cut by the end of the file"));
                    }
                    self.fat
                        .extend((0..per_sector).map(|k| match sector.get(4 * k..4 * k + 4) {
                            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                            None => FREESECT,
                        }));
                }
                None => {
                    self.problems.push(format!(
                        "FAT: FAT sector #{i} is sector {s}, out of range (the file holds {} sectors)",
                        self.sectors
                    ));
                    self.fat.extend(std::iter::repeat_n(FREESECT, per_sector));
                }
            }
        }
        if self.fat.is_empty() {
            return fail("FAT: no FAT sector could be read");
        }
        Ok(())
    }

    /// Follows the FAT chain from `start`, at most `limit` sectors. Each sector is checked
    /// against the file; a sector met twice is a loop.
    fn chain(&self, start: u32, limit: usize, what: &str) -> (Vec<u32>, ChainEnd) {
        let mut out = Vec::new();
        // A bitset over the file's sectors for unbounded walks; a set of the (few) sectors
        // visited for walks bounded by a stream's size.
        let mut seen = vec![
            false;
            if limit == usize::MAX {
                self.sectors as usize
            } else {
                0
            }
        ];
        let mut seen_small = std::collections::HashSet::new();
        let mut s = start;
        while out.len() < limit {
            if s == ENDOFCHAIN {
                return (out, ChainEnd::Complete);
            }
            let reason = match s {
                FREESECT => Some("a free sector (FREESECT)".to_owned()),
                FATSECT | DIFSECT => Some(format!("a FAT or DIFAT sector marker (0x{s:08X})")),
                _ if s >= self.sectors => Some(format!(
                    "sector {s}, out of range (the file holds {} sectors)",
                    self.sectors
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                let problem = format!(
                    "{what}: the sector chain reaches {reason} after {} sectors",
                    out.len()
                );
                return (out, ChainEnd::Broken(problem));
            }
            let looped = if seen.is_empty() {
                !seen_small.insert(s)
            } else {
                std::mem::replace(&mut seen[s as usize], true)
            };
            if looped {
                let problem = format!(
                    "{what}: the sector chain loops back to sector {s} after {} sectors",
                    out.len()
                );
                return (out, ChainEnd::Broken(problem));
            }
            out.push(s);
            s = match self.fat.get(s as usize) {
                Some(&next) => next,
                None => {
                    let problem = format!(
                        "{what}: sector {s} has no FAT entry (the FAT covers {} sectors)",
                        self.fat.len()
                    );
                    return (out, ChainEnd::Broken(problem));
                }
            };
        }
        (out, ChainEnd::Complete)
    }

    fn read_directory(&mut self, first: u32) -> Result<(), CfbError> {
        let (chain, end) = self.chain(first, usize::MAX, "directory");
        if let ChainEnd::Broken(problem) = end {
            if chain.is_empty() {
                return fail(problem);
            }
            self.problems.push(problem);
        }
        let per_sector = self.sector_size / DIR_ENTRY_SIZE;
        let mut entries = Vec::with_capacity(chain.len() * per_sector);
        for &s in &chain {
            let Some(sector) = self.sector(s) else { break };
            for k in 0..per_sector {
                let Some(raw) = sector.get(k * DIR_ENTRY_SIZE..(k + 1) * DIR_ENTRY_SIZE) else {
                    break;
                };
                entries.push(self.entry(raw));
            }
        }
        match entries.first() {
            Some(root) if root.kind == Kind::Root => {}
            Some(_) => return fail("directory: entry 0 is not the root entry (type 5)"),
            None => return fail("directory: no entry could be read"),
        }
        self.entries = entries;
        Ok(())
    }

    fn entry(&self, raw: &[u8]) -> Entry {
        let name_len = usize::from(u16_at(raw, 64)).min(64);
        let units: Vec<u16> = raw[..name_len.saturating_sub(2)]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let name = String::from_utf16_lossy(&units);
        let kind = match raw[66] {
            1 => Kind::Storage,
            2 => Kind::Stream,
            5 => Kind::Root,
            _ => Kind::Empty,
        };
        let mut clsid = [0; 16];
        clsid.copy_from_slice(&raw[80..96]);
        let size = if self.sector_size == 512 {
            u64::from(u32_at(raw, 120))
        } else {
            u64_at(raw, 120)
        };
        Entry {
            name,
            kind,
            left: u32_at(raw, 68),
            right: u32_at(raw, 72),
            child: u32_at(raw, 76),
            clsid,
            created: u64_at(raw, 100),
            modified: u64_at(raw, 108),
            start: u32_at(raw, 116),
            size,
        }
    }

    fn read_minifat(&mut self, first: u32, declared: u32) {
        if first == ENDOFCHAIN || first == FREESECT {
            return;
        }
        let (chain, end) = self.chain(first, usize::MAX, "miniFAT");
        if let ChainEnd::Broken(problem) = end {
            self.problems.push(problem);
        }
        if chain.len() != declared as usize {
            self.problems.push(format!(
                "miniFAT: the header declares {declared} sectors, the chain has {}",
                chain.len()
            ));
        }
        let per_sector = self.sector_size / 4;
        for &s in &chain {
            if let Some(sector) = self.sector(s) {
                self.minifat.extend(
                    sector
                        .chunks_exact(4)
                        .take(per_sector)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
        }
    }

    fn read_mini_stream(&mut self) {
        let root = &self.entries[0];
        if root.size == 0 || root.start == ENDOFCHAIN {
            return;
        }
        let size = root.size;
        let start = root.start;
        if size > self.data.len() as u64 {
            self.problems.push(format!(
                "mini stream: the root entry declares {size} bytes, more than the file's {}",
                self.data.len()
            ));
        }
        let needed = usize::try_from(size.div_ceil(self.sector_size as u64)).unwrap_or(usize::MAX);
        let (chain, end) = self.chain(start, needed.min(self.sectors as usize), "mini stream");
        if let ChainEnd::Broken(problem) = end {
            self.problems.push(problem);
        }
        self.mini_len = size.min(chain.len() as u64 * self.sector_size as u64);
        self.mini_chain = chain;
    }

    /// The children of storage `parent`: its red-black tree flattened, each entry at most
    /// once in the whole walk (`seen`), sorted by name.
    fn children(&mut self, parent: usize, path: &str, seen: &mut [bool]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![self.entries[parent].child];
        while let Some(id) = stack.pop() {
            if id == NOSTREAM {
                continue;
            }
            let where_ = if path.is_empty() { "the root" } else { path };
            let Some(entry) = self.entries.get(id as usize) else {
                self.problems.push(format!(
                    "directory: {where_} refers to entry {id}, out of range ({} entries)",
                    self.entries.len()
                ));
                continue;
            };
            if std::mem::replace(&mut seen[id as usize], true) {
                self.problems.push(format!(
                    "directory: entry {id} is reached twice under {where_} (the tree loops); its second occurrence is skipped"
                ));
                continue;
            }
            if matches!(entry.kind, Kind::Empty | Kind::Root) {
                self.problems.push(format!(
                    "directory: entry {id} under {where_} is {} in the tree; skipped",
                    if entry.kind == Kind::Root {
                        "the root entry again"
                    } else {
                        "unallocated"
                    }
                ));
                continue;
            }
            stack.push(entry.right);
            stack.push(entry.left);
            out.push(id as usize);
        }
        out.sort_by(|&a, &b| self.entries[a].name.cmp(&self.entries[b].name));
        out
    }

    fn walk(&mut self) {
        let mut seen = vec![false; self.entries.len()];
        seen[0] = true;
        // Depth-first, in sorted order: a stack of (entry, depth) pushed in reverse.
        let mut stack: Vec<(usize, String, usize)> = Vec::new();
        for id in self.children(0, "", &mut seen).into_iter().rev() {
            stack.push((id, self.entries[id].name.clone(), 1));
        }
        let mut path_bytes = 0;
        while let Some((id, path, depth)) = stack.pop() {
            path_bytes += path.len();
            if self.tree.len() >= MAX_ENTRIES || path_bytes > MAX_PATH_BYTES {
                self.problems.push(format!(
                    "directory: more than {MAX_ENTRIES} entries or {MAX_PATH_BYTES} bytes of paths; the rest are not listed"
                ));
                break;
            }
            if self.entries[id].kind == Kind::Storage {
                if depth >= MAX_DEPTH {
                    if self.entries[id].child != NOSTREAM {
                        self.problems.push(format!(
                            "directory: storage {path} is nested {depth} deep (at most {MAX_DEPTH}); its contents are not listed"
                        ));
                    }
                } else {
                    for child in self.children(id, &path, &mut seen).into_iter().rev() {
                        let child_path = format!("{path}/{}", self.entries[child].name);
                        stack.push((child, child_path, depth + 1));
                    }
                }
            }
            self.by_path.entry(path.to_lowercase()).or_insert(id);
            self.tree.push(Node { id, path, depth });
        }
        self.unreachable = self
            .entries
            .iter()
            .zip(&seen)
            .filter(|(e, seen)| !**seen && matches!(e.kind, Kind::Storage | Kind::Stream))
            .count();
    }

    /// Whether entry `id`'s data lives in the mini stream.
    pub fn in_mini_stream(&self, id: usize) -> bool {
        id != 0 && self.entries[id].size < self.mini_cutoff
    }

    /// Where entry `id`'s data starts, as a key telling apart streams sharing their data:
    /// (in the mini stream, first sector).
    pub fn data_key(&self, id: usize) -> (bool, u32, u64) {
        let e = &self.entries[id];
        (self.in_mini_stream(id), e.start, e.size)
    }

    /// Whether stream `id`'s declared size fits in the file (or the mini stream): checked
    /// before anything is allocated for it.
    pub fn check_size(&self, id: usize) -> Result<(), String> {
        let size = self.entries[id].size;
        if self.in_mini_stream(id) {
            if size > self.mini_len {
                return Err(format!(
                    "{size} bytes declared, more than the mini stream's {}",
                    self.mini_len
                ));
            }
        } else if size > self.data.len() as u64 {
            return Err(format!(
                "declares {size} bytes, more than the whole file ({} bytes)",
                self.data.len()
            ));
        }
        Ok(())
    }

    /// The bytes of stream `id`. Its size is checked against the file (or the mini stream)
    /// before anything is allocated, and its chain against the FAT (or miniFAT).
    pub fn read(&self, id: usize) -> Result<Vec<u8>, String> {
        let e = &self.entries[id];
        if e.size == 0 {
            return Ok(Vec::new());
        }
        self.check_size(id)?;
        if self.in_mini_stream(id) {
            return self.read_mini(e);
        }
        let size = e.size as usize;
        let needed = size.div_ceil(self.sector_size);
        let (chain, end) = self.chain(e.start, needed, "data");
        if chain.len() < needed {
            let why = match end {
                ChainEnd::Broken(problem) => problem,
                ChainEnd::Complete => {
                    format!("data: the sector chain ends after {} sectors", chain.len())
                }
            };
            return Err(format!(
                "{} bytes declared in {needed} sectors; {why}",
                e.size
            ));
        }
        let mut out = Vec::with_capacity(size);
        for &s in &chain {
            let sector = self.sector(s).unwrap_or_default();
            let take = (size - out.len()).min(sector.len());
            out.extend_from_slice(&sector[..take]);
        }
        if out.len() < size {
            return Err(format!(
                "{} bytes declared; the file ends after {} of them",
                e.size,
                out.len()
            ));
        }
        Ok(out)
    }

    fn read_mini(&self, e: &Entry) -> Result<Vec<u8>, String> {
        let size = e.size as usize; // < mini_cutoff, small
        let needed = size.div_ceil(MINI_SECTOR_SIZE);
        let mut out = Vec::with_capacity(size);
        let mut seen = std::collections::HashSet::new();
        let mut m = e.start;
        for k in 0..needed {
            if m == ENDOFCHAIN || m > MAXREGSECT {
                return Err(format!(
                    "{} bytes declared in {needed} mini sectors; the mini sector chain ends after {k}",
                    e.size
                ));
            }
            if !seen.insert(m) {
                return Err(format!(
                    "the mini sector chain loops back to mini sector {m} after {k} mini sectors"
                ));
            }
            let at = u64::from(m) * MINI_SECTOR_SIZE as u64;
            let take = (size - out.len()).min(MINI_SECTOR_SIZE);
            if at + take as u64 > self.mini_len {
                return Err(format!(
                    "mini sector {m} lies past the end of the mini stream ({} bytes)",
                    self.mini_len
                ));
            }
            let sector = self.mini_chain[(at / self.sector_size as u64) as usize];
            let within = (at % self.sector_size as u64) as usize;
            let bytes = self
                .sector(sector)
                .and_then(|s| s.get(within..within + take))
                .ok_or_else(|| format!("mini sector {m} is cut by the end of the file"))?;
            out.extend_from_slice(bytes);
            m = match self.minifat.get(m as usize) {
                Some(&next) => next,
                None if k + 1 == needed => ENDOFCHAIN,
                None => {
                    return Err(format!(
                        "mini sector {m} has no miniFAT entry (the miniFAT covers {})",
                        self.minifat.len()
                    ));
                }
            };
        }
        Ok(out)
    }

    /// The entry of the stream or storage at `path` (names compared case-insensitively, as
    /// compound files do).
    pub fn find(&self, path: &str) -> Option<usize> {
        self.by_path.get(&path.to_lowercase()).copied()
    }
}

/// A CLSID as olefile prints it (`00020906-0000-0000-C000-000000000046`), `None` when null.
pub fn clsid(raw: &[u8; 16]) -> Option<String> {
    if raw.iter().all(|&b| b == 0) {
        return None;
    }
    let d1 = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let d2 = u16::from_le_bytes([raw[4], raw[5]]);
    let d3 = u16::from_le_bytes([raw[6], raw[7]]);
    let mut out = format!("{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-", raw[8], raw[9]);
    for b in &raw[10..] {
        out.push_str(&format!("{b:02X}"));
    }
    Some(out)
}

/// A FILETIME (100 ns ticks since 1601-01-01) as RFC 3339 UTC, `None` when 0 (absent).
pub fn filetime(ticks: u64) -> Option<String> {
    if ticks == 0 {
        return None;
    }
    // Seconds since 1601, then days from 1970 (may be negative).
    let secs = (ticks / 10_000_000) as i64 - 11_644_473_600;
    let frac = ticks % 10_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out.push('Z');
    Some(out)
}
