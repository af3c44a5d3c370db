//! The `ole` worker: OLE2 compound files (Word/Excel/PowerPoint 97-2003, `vbaProject.bin`,
//! MSI, embedded objects) and the OOXML/ODF packages that carry them.
//!
//! **Compound files** ([`cfb`]): the header (version, sector size, FAT and miniFAT sizes), every
//! stream and storage with its full path (`Macros/VBA/ThisDocument`), size, CLSID and
//! timestamps, and each stream extracted as a payload whose `filename` is its path. An
//! embedded file in an `\x01Ole10Native` stream (the Packager's) is extracted too, named by
//! its own file name.
//!
//! **VBA macros** ([`ovba`], [`scan`]): each VBA project (a `VBA` storage with a `dir` stream)
//! is read as MS-OVBA says: the `dir` stream decompressed and parsed, each module's source
//! decompressed from its stream at its text offset, decoded from the project's code page.
//! Results: per module `{name, stream, filename, type, code, truncated}`, olevba's keyword
//! table (`keywords`: `{type, keyword, description}`) and mraptor's flags (`flags`:
//! `autoexec`, `write`, `execute`, our `download`, `suspicious` = autoexec and (write or
//! execute), the `mraptor` string `AWX` and the text that set each flag).
//!
//! **OOXML and ODF** ([`container`]): the content types (`[Content_Types].xml`), whether the
//! package holds macros, and its `vbaProject.bin` (named in `vba_project_parts`), embedded
//! objects (`*/embeddings/*`, `oleObject*.bin`), ActiveX parts and ODF objects (`Object N`)
//! extracted, each with its part name as `filename` (listed in `objects`). ODF StarBasic
//! modules are scanned like VBA modules (`basic_modules`).
//!
//! Extracted payloads that are compound files (a `vbaProject.bin`, an embedded OLE object) are
//! dispatched to `ole` again, so `-s ole` alone reads the macros of a docm.
//!
//! Options (limits per scanned payload): `max_streams` (payloads extracted, default 1,000),
//! `max_stream_size` (largest stream or part extracted, 64 MiB), `max_total_size` (bytes
//! extracted in all, 256 MiB), `max_code_size` (bytes of macro source kept, all modules
//! together, 4 MiB; the rest is cut and marked `truncated`), `extract_streams` (extract the
//! streams of compound files, default true). The host's `max_payload_size` and what is left
//! of the request's extraction limits cap them further. Streams of one file that name the
//! same data (same first sector and size) are extracted once; the others are listed with
//! `same_data_as`.
//!
//! Nothing in the file is trusted: looping FAT chains, sector numbers out of range, directory
//! trees that loop, sizes larger than the file and corrupt compressed containers are errors
//! in the response naming the stream or structure, and everything else is still read. Work
//! is bounded too: a failed read of a stream counts against `max_total_size` like a
//! successful one, the streams read for macros and Packager objects total at most 256 MiB,
//! at most 64 VBA projects and 1,000 modules each are read, a `dir` stream decompresses to
//! at most 4 MiB, and the listing stops at 100,000 entries or 16 MiB of paths.
//!
//! Compared with oletools 0.60.2 (olevba, mraptor, olefile) on the samples of the tests: the
//! same streams, sizes, CLSIDs and times, the same modules and code, the same keyword table
//! and mraptor flags. Differences: a VBA project needs only its `VBA/dir` stream here (olevba
//! also wants `PROJECT` and `VBA/_VBA_PROJECT`); PowerPoint 97 projects (inside the
//! `PowerPoint Document` stream), UserForm strings, p-code (VBA stomping) and olevba's
//! `--deobf` are not read; keyword word boundaries are ASCII ([`scan`]).

pub mod cfb;
pub mod container;
mod keywords;
pub mod ovba;
pub mod scan;

use std::collections::HashMap;

use stoq_plugin_abi::prelude::*;

use cfb::{Cfb, Kind};

/// The default of `max_streams`.
const DEFAULT_MAX_STREAMS: i64 = 1000;
/// The default of `max_stream_size` (64 MiB).
const DEFAULT_MAX_STREAM_SIZE: i64 = 64 << 20;
/// The default of `max_total_size` (256 MiB).
const DEFAULT_MAX_TOTAL_SIZE: i64 = 256 << 20;
/// The default of `max_code_size` (4 MiB).
const DEFAULT_MAX_CODE_SIZE: i64 = 4 << 20;

/// A decompressed `dir` stream is at most this long (real ones are a few KiB).
const MAX_DIR_SIZE: usize = 4 << 20;

/// Per-item errors listed one by one at most (the rest are counted).
const MAX_ITEM_ERRORS: usize = 100;

/// What `ole` reads and extracts at most from one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most payloads extracted.
    pub max_streams: usize,
    /// Largest stream or part extracted, in bytes.
    pub max_stream_size: u64,
    /// Most bytes extracted in all.
    pub max_total_size: u64,
    /// Most bytes of macro source kept, all modules together.
    pub max_code_size: usize,
    /// Whether the streams of compound files are extracted.
    pub extract_streams: bool,
    /// The names errors give the three extraction limits (the host's when it capped them).
    pub names: [&'static str; 3],
}

/// The options' declared defaults.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_streams: DEFAULT_MAX_STREAMS as usize,
            max_stream_size: DEFAULT_MAX_STREAM_SIZE as u64,
            max_total_size: DEFAULT_MAX_TOTAL_SIZE as u64,
            max_code_size: DEFAULT_MAX_CODE_SIZE as usize,
            extract_streams: true,
            names: ["max_streams", "max_stream_size", "max_total_size"],
        }
    }
}

impl Limits {
    /// These limits, capped by the host's.
    pub fn within(&self, host: HostLimits) -> Self {
        let mut out = self.clone();
        if host.extracted_payloads_left < out.max_streams as u64 {
            out.max_streams = host.extracted_payloads_left as usize;
            out.names[0] = "max_extracted_payloads";
        }
        if host.max_payload_size < out.max_stream_size {
            out.max_stream_size = host.max_payload_size;
            out.names[1] = "max_payload_size";
        }
        if host.extracted_bytes_left < out.max_total_size {
            out.max_total_size = host.extracted_bytes_left;
            out.names[2] = "max_extracted_bytes";
        }
        out
    }
}

/// A payload to extract: its `filename` and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The stream path or part name.
    pub filename: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// Extra `extra_data` keys.
    pub extra: Map<String, Value>,
}

impl Child {
    fn new(filename: String, content: Vec<u8>) -> Self {
        Self {
            filename,
            content,
            extra: Map::new(),
        }
    }

    /// Whether the child is a compound file (then it is dispatched to `ole`).
    pub fn is_ole(&self) -> bool {
        self.content.starts_with(&cfb::SIGNATURE)
    }
}

/// The extraction limits as they are spent.
pub struct Budget<'l> {
    limits: &'l Limits,
    kept: Vec<Child>,
    total: u64,
    over_count: usize,
    over_total: (usize, u64),
    over_size: usize,
    errors: Vec<String>,
}

impl<'l> Budget<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            kept: Vec::new(),
            total: 0,
            over_count: 0,
            over_total: (0, 0),
            over_size: 0,
            errors: Vec::new(),
        }
    }

    /// Whether an item of `size` bytes may be extracted; `Ok` with the most bytes it may
    /// read.
    fn admit(&mut self, name: &str, size: u64) -> Result<u64, ()> {
        let l = self.limits;
        if self.kept.len() >= l.max_streams {
            self.over_count += 1;
            return Err(());
        }
        if size > l.max_stream_size {
            self.refuse_size(name, size);
            return Err(());
        }
        let left = l.max_total_size - self.total;
        if size > left {
            self.over_total.0 += 1;
            self.over_total.1 += size;
            return Err(());
        }
        Ok(l.max_stream_size.min(left))
    }

    fn refuse_size(&mut self, name: &str, size: u64) {
        self.over_size += 1;
        if self.over_size <= MAX_ITEM_ERRORS {
            self.errors.push(format!(
                "{name}: {size} bytes, over {} ({}); not extracted",
                self.limits.names[1], self.limits.max_stream_size
            ));
        }
    }

    /// An item that turned out larger than its cap when read.
    fn refuse_read(&mut self, name: &str, read: u64) {
        if read > self.limits.max_stream_size {
            self.refuse_size(name, read);
        } else {
            self.over_total.0 += 1;
            self.over_total.1 += read;
        }
    }

    /// Counts `size` bytes against the total without keeping them (a read that failed).
    fn spend(&mut self, size: u64) {
        self.total += size;
    }

    fn keep(&mut self, child: Child) {
        self.total += child.content.len() as u64;
        self.kept.push(child);
    }

    fn finish(mut self) -> (Vec<Child>, Vec<String>) {
        let l = self.limits;
        if self.over_size > MAX_ITEM_ERRORS {
            self.errors.push(format!(
                "{} more items over {} not listed",
                self.over_size - MAX_ITEM_ERRORS,
                l.names[1]
            ));
        }
        if self.over_count > 0 {
            self.errors.push(format!(
                "limit {} ({}) reached: {} more not extracted",
                l.names[0], l.max_streams, self.over_count
            ));
        }
        if self.over_total.0 > 0 {
            self.errors.push(format!(
                "limit {} ({}) reached: {} more ({} bytes) not extracted",
                l.names[2], l.max_total_size, self.over_total.0, self.over_total.1
            ));
        }
        (self.kept, self.errors)
    }
}

/// What [`inspect`] finds: the results, the payloads to extract, and the problems met
/// (limits reached included).
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The results.
    pub results: Value,
    /// The payloads to extract.
    pub extracted: Vec<Child>,
    /// What was wrong or cut.
    pub errors: Vec<String>,
}

/// Inspects `data` within the default [`Limits`].
pub fn inspect(data: &[u8]) -> Result<Inspection> {
    inspect_with(data, &Limits::default())
}

/// Inspects a compound file or an OOXML/ODF package within `limits`.
pub fn inspect_with(data: &[u8], limits: &Limits) -> Result<Inspection> {
    if data.starts_with(&cfb::SIGNATURE) {
        inspect_cfb(data, limits)
    } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        inspect_package(data, limits)
    } else {
        Err(Error::msg(
            "neither an OLE2 compound file (D0 CF 11 E0 A1 B1 1A E1) nor an OOXML/ODF zip package",
        ))
    }
}

fn inspect_package(data: &[u8], limits: &Limits) -> Result<Inspection> {
    let mut errors = Vec::new();
    let mut budget = Budget::new(limits);
    let package = container::inspect_zip(data, limits, &mut budget, &mut errors)?;
    let mut results = package.results;
    let mut code = String::new();
    let modules: Vec<Value> = package
        .basic
        .iter()
        .map(|(part, name, text)| {
            code.push_str(text);
            code.push('\n');
            json!({"name": name, "stream": part, "code": text})
        })
        .collect();
    if !modules.is_empty() {
        results.insert("basic_modules".into(), Value::Array(modules));
    }
    let analysis = scan::analyse(&code);
    results.insert("flags".into(), analysis.flags.to_json());
    results.insert("keywords".into(), analysis.keywords_json());
    let (extracted, trimmed) = budget.finish();
    errors.extend(trimmed);
    Ok(Inspection {
        results: Value::Object(results),
        extracted,
        errors,
    })
}

/// The encoding of a Windows code page (MS-OVBA's PROJECTCODEPAGE).
fn encoding(codepage: u16) -> Option<&'static encoding_rs::Encoding> {
    use encoding_rs::*;
    Some(match codepage {
        874 => WINDOWS_874,
        932 => SHIFT_JIS,
        936 => GBK,
        949 | 51949 => EUC_KR,
        950 => BIG5,
        1200 => UTF_16LE,
        1201 => UTF_16BE,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1252 | 28591 => WINDOWS_1252,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        10000 => MACINTOSH,
        10007 => X_MAC_CYRILLIC,
        20866 => KOI8_R,
        21866 => KOI8_U,
        20932 => EUC_JP,
        28592 => ISO_8859_2,
        28593 => ISO_8859_3,
        28594 => ISO_8859_4,
        28595 => ISO_8859_5,
        28596 => ISO_8859_6,
        28597 => ISO_8859_7,
        28598 => ISO_8859_8,
        28603 => ISO_8859_13,
        28605 => ISO_8859_15,
        50220 => ISO_2022_JP,
        54936 => GB18030,
        65001 => UTF_8,
        _ => return None,
    })
}

fn decode(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> String {
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Bytes of streams read for the VBA projects and Packager objects of one file, at most:
/// streams whose directory entries name the same sectors would otherwise be read again and
/// again.
const MAX_ANALYSIS_READ: u64 = 256 << 20;

/// VBA projects read from one file at most (real files have one or two).
const MAX_PROJECTS: usize = 64;

/// Reads the streams the analysis needs, each within `max` bytes, all within `left`.
struct Reader<'c, 'a> {
    cfb: &'c Cfb<'a>,
    max: u64,
    left: u64,
}

impl Reader<'_, '_> {
    /// Stream `id`'s bytes, the error naming `path`.
    fn read(&mut self, id: usize, path: &str) -> Result<Vec<u8>, String> {
        let size = self.cfb.entries[id].size;
        if size > self.max {
            return Err(format!(
                "stream {path}: {size} bytes, over max_stream_size ({})",
                self.max
            ));
        }
        if size > self.left {
            return Err(format!(
                "stream {path}: not read: {MAX_ANALYSIS_READ} bytes of streams were read for macros and packages already"
            ));
        }
        self.left -= size;
        self.cfb.read(id).map_err(|e| format!("stream {path}: {e}"))
    }
}

/// One VBA project of a compound file.
fn vba_project(
    reader: &mut Reader<'_, '_>,
    vba_path: &str,
    limits: &Limits,
    code_left: &mut usize,
    code_all: &mut String,
    errors: &mut Vec<String>,
) -> Option<Value> {
    let cfb = reader.cfb;
    let dir_path = format!("{vba_path}/dir");
    let dir_id = cfb.find(&dir_path)?;
    if cfb.entries[dir_id].kind != Kind::Stream {
        return None;
    }
    let root = vba_path.rsplit_once('/').map_or("", |(root, _)| root);
    let compressed = match reader.read(dir_id, &dir_path) {
        Ok(bytes) => bytes,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let decompressed = ovba::decompress(&compressed, MAX_DIR_SIZE);
    if let Some(e) = &decompressed.error {
        errors.push(format!("stream {dir_path}: {e}"));
    }
    if decompressed.truncated {
        errors.push(format!(
            "stream {dir_path}: decompresses to more than {MAX_DIR_SIZE} bytes; the rest is ignored"
        ));
    }
    let dir = ovba::parse_dir(&decompressed.data);
    errors.extend(dir.problems.iter().map(|p| format!("{dir_path}: {p}")));
    let codepage = dir.codepage.unwrap_or(1252);
    let enc = encoding(codepage).unwrap_or_else(|| {
        errors.push(format!(
            "{dir_path}: code page {codepage} unknown; its text is read as windows-1252"
        ));
        encoding_rs::WINDOWS_1252
    });

    // The PROJECT stream names each module's kind (olevba's file extensions).
    let project_path = if root.is_empty() {
        "PROJECT".to_owned()
    } else {
        format!("{root}/PROJECT")
    };
    let extensions = match cfb.find(&project_path) {
        Some(id) if cfb.entries[id].kind == Kind::Stream => match reader.read(id, &project_path) {
            Ok(bytes) => ovba::project_extensions(&decode(&bytes, enc)),
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        },
        _ => Vec::new(),
    };

    let mut modules = Vec::new();
    for module in &dir.modules {
        let name = decode(&module.name, enc);
        let candidates = [
            module.stream_name.as_deref().map(|b| decode(b, enc)),
            module.stream_name_unicode.as_deref().map(utf16),
            Some(name.clone()),
            module.name_unicode.as_deref().map(utf16),
        ];
        let found = candidates.iter().flatten().find_map(|candidate| {
            let path = format!("{vba_path}/{candidate}");
            cfb.find(&path)
                .filter(|&id| cfb.entries[id].kind == Kind::Stream)
                .map(|id| (id, path))
        });
        let ext = extensions
            .iter()
            .rev()
            .find(|(n, _)| *n == name.to_lowercase())
            .map_or("vba", |(_, ext)| ext);
        let kind = match module.kind {
            Some(0x21) => json!("procedural"),
            Some(0x22) => json!("document"),
            _ => Value::Null,
        };
        let mut entry = json!({
            "name": name,
            "stream": Value::Null,
            "filename": format!("{name}.{ext}"),
            "type": kind,
            "code": "",
            "truncated": false,
        });
        let Some((id, path)) = found else {
            errors.push(format!(
                "{dir_path}: module {name}: no stream {vba_path}/{} holds its code",
                candidates[0].as_deref().unwrap_or(&name)
            ));
            modules.push(entry);
            continue;
        };
        entry["stream"] = json!(path);
        let bytes = match reader.read(id, &path) {
            Ok(bytes) => bytes,
            Err(e) => {
                errors.push(format!("module {name}: {e}"));
                modules.push(entry);
                continue;
            }
        };
        let offset = module.text_offset.unwrap_or(0) as usize;
        let Some(source) = bytes.get(offset..).filter(|s| !s.is_empty()) else {
            errors.push(format!(
                "module {name}: its text offset {offset} is at or past the end of stream {path} ({} bytes)",
                bytes.len()
            ));
            modules.push(entry);
            continue;
        };
        let code = ovba::decompress(source, *code_left);
        if let Some(e) = &code.error {
            errors.push(format!("module {name} (stream {path}): {e}"));
        }
        if code.truncated {
            errors.push(format!(
                "module {name} (stream {path}): macro source over max_code_size ({}); cut",
                limits.max_code_size
            ));
            entry["truncated"] = json!(true);
        }
        *code_left -= code.data.len();
        let text = decode(&code.data, enc);
        code_all.push_str(&text);
        code_all.push('\n');
        entry["code"] = json!(text);
        modules.push(entry);
    }
    Some(json!({
        "storage": root,
        "name": decode(&dir.name, enc),
        "codepage": codepage,
        "modules": modules,
    }))
}

/// The file carried by an `\x01Ole10Native` stream (the Packager's): label, source path,
/// temporary path and data, each length checked against the stream.
pub fn ole10native(stream: &[u8]) -> Option<(String, String, &[u8])> {
    let mut at = 4 + 2; // total size, flags
    let cstring = |at: &mut usize| -> Option<Vec<u8>> {
        let rest = stream.get(*at..)?;
        let end = rest.iter().take(4096).position(|&b| b == 0)?;
        *at += end + 1;
        Some(rest[..end].to_vec())
    };
    let label = cstring(&mut at)?;
    let path = cstring(&mut at)?;
    at += 4; // flags (0x00030000)
    let u32_at = |at: usize| -> Option<usize> {
        stream
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let temp_len = u32_at(at)?;
    at = at.checked_add(4)?.checked_add(temp_len)?;
    let size = u32_at(at)?;
    at += 4;
    let data = stream.get(at..at.checked_add(size)?)?;
    Some((
        stoq_plugin_abi::bytes_to_string(&label),
        stoq_plugin_abi::bytes_to_string(&path),
        data,
    ))
}

fn inspect_cfb(data: &[u8], limits: &Limits) -> Result<Inspection> {
    let cfb = Cfb::parse(data).map_err(|e| Error::msg(format!("not a readable OLE2 file: {e}")))?;
    let mut errors: Vec<String> = cfb.problems.clone();
    let root = &cfb.entries[0];
    let mut entries = Vec::with_capacity(cfb.tree.len());
    let (mut streams, mut storages) = (0, 0);
    for node in &cfb.tree {
        let e = &cfb.entries[node.id];
        let mut entry = Map::new();
        entry.insert("path".into(), json!(node.path));
        if e.kind == Kind::Stream {
            streams += 1;
            entry.insert("type".into(), json!("stream"));
            entry.insert("size".into(), json!(e.size));
        } else {
            storages += 1;
            entry.insert("type".into(), json!("storage"));
        }
        if let Some(clsid) = cfb::clsid(&e.clsid) {
            entry.insert("clsid".into(), json!(clsid));
        }
        if let Some(t) = cfb::filetime(e.created) {
            entry.insert("created".into(), json!(t));
        }
        if let Some(t) = cfb::filetime(e.modified) {
            entry.insert("modified".into(), json!(t));
        }
        entries.push(entry);
    }

    // VBA projects: every storage named VBA holding a dir stream.
    let mut projects = Vec::new();
    let mut code_left = limits.max_code_size;
    let mut code_all = String::new();
    let mut reader = Reader {
        cfb: &cfb,
        max: limits.max_stream_size,
        left: MAX_ANALYSIS_READ,
    };
    for node in &cfb.tree {
        let e = &cfb.entries[node.id];
        if e.kind == Kind::Storage && e.name.eq_ignore_ascii_case("VBA") {
            if projects.len() >= MAX_PROJECTS {
                errors.push(format!(
                    "more than {MAX_PROJECTS} VBA projects; the rest are not read"
                ));
                break;
            }
            projects.extend(vba_project(
                &mut reader,
                &node.path,
                limits,
                &mut code_left,
                &mut code_all,
                &mut errors,
            ));
        }
    }
    let macros = projects
        .iter()
        .any(|p| p["modules"].as_array().is_some_and(|m| !m.is_empty()));

    // Extraction: every stream, data named twice extracted once.
    let mut budget = Budget::new(limits);
    let mut first_of: HashMap<(bool, u32, u64), usize> = HashMap::new();
    let mut read_errors = 0usize;
    for (i, node) in cfb.tree.iter().enumerate() {
        let e = &cfb.entries[node.id];
        if e.kind != Kind::Stream {
            continue;
        }
        let mut bytes = None;
        // A Packager object: the file it carries, named by its own file name.
        if e.name == "\u{1}Ole10Native" {
            match reader.read(node.id, &node.path) {
                Ok(stream) => {
                    match ole10native(&stream) {
                        Some((label, path, data)) => {
                            entries[i].insert(
                                "ole10native".into(),
                                json!({"label": label, "path": path, "size": data.len()}),
                            );
                            let name = format!("embedded file {label} of {}", node.path);
                            if budget.admit(&name, data.len() as u64).is_ok() {
                                let mut child = Child::new(label, data.to_vec());
                                child.extra.insert("ole10native".into(), json!(node.path));
                                child.extra.insert("source_path".into(), json!(path));
                                budget.keep(child);
                            }
                        }
                        None => errors.push(format!(
                            "stream {}: not a readable Ole10Native header",
                            node.path
                        )),
                    }
                    bytes = Some(stream);
                }
                Err(err) => errors.push(err),
            }
        }
        if !limits.extract_streams {
            continue;
        }
        if e.size > 0 {
            match first_of.entry(cfb.data_key(node.id)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    let first = cfb.tree[*first.get()].path.clone();
                    entries[i].insert("same_data_as".into(), json!(first));
                    continue;
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        if let Err(err) = cfb.check_size(node.id) {
            read_errors += 1;
            if read_errors <= MAX_ITEM_ERRORS {
                errors.push(format!("stream {}: {err}", node.path));
            }
            continue;
        }
        if budget
            .admit(&format!("stream {}", node.path), e.size)
            .is_err()
        {
            continue;
        }
        let bytes = match bytes.map_or_else(|| cfb.read(node.id), Ok) {
            Ok(bytes) => bytes,
            Err(err) => {
                // The attempt counts: entries naming broken chains cannot be read for free.
                budget.spend(e.size);
                read_errors += 1;
                if read_errors <= MAX_ITEM_ERRORS {
                    errors.push(format!("stream {}: {err}", node.path));
                }
                continue;
            }
        };
        budget.keep(Child::new(node.path.clone(), bytes));
    }
    if read_errors > MAX_ITEM_ERRORS {
        errors.push(format!(
            "{} more unreadable streams not listed",
            read_errors - MAX_ITEM_ERRORS
        ));
    }
    let (extracted, trimmed) = budget.finish();
    errors.extend(trimmed);

    let analysis = scan::analyse(&code_all);
    let results = json!({
        "format": "ole2",
        "header": {
            "major_version": cfb.major_version,
            "minor_version": cfb.minor_version,
            "sector_size": cfb.sector_size,
            "mini_sector_size": 64,
            "mini_stream_cutoff": cfb.mini_cutoff,
            "sectors": cfb.sectors,
            "fat_sectors": cfb.fat_sectors_declared,
        },
        "root": {
            "clsid": cfb::clsid(&root.clsid),
            "created": cfb::filetime(root.created),
            "modified": cfb::filetime(root.modified),
        },
        "streams": streams,
        "storages": storages,
        "unreachable_entries": cfb.unreachable,
        "entries": entries,
        "macros": macros,
        "vba_projects": projects,
        "flags": analysis.flags.to_json(),
        "keywords": analysis.keywords_json(),
    });
    Ok(Inspection {
        results,
        extracted,
        errors,
    })
}

/// The OLE2 / OOXML / ODF inspector.
pub struct Ole {
    limits: Limits,
}

fn non_negative(config: &PluginConfig, key: &str) -> Result<u64> {
    let value = config.int(key)?;
    u64::try_from(value).map_err(|_| {
        config
            .reject(key, format!("must be >= 0, got {value}"))
            .into()
    })
}

impl Plugin for Ole {
    const INFO: PluginInfo = PluginInfo::new("ole", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "OLE2 compound files: streams and storages, VBA macros with olevba/mraptor-style flags; OOXML/ODF: vbaProject.bin and embedded objects extracted",
        )
        .options(&[
            OptionSpec::int("max_streams", DEFAULT_MAX_STREAMS)
                .doc("Most streams, parts and embedded files extracted from one payload"),
            OptionSpec::int("max_stream_size", DEFAULT_MAX_STREAM_SIZE)
                .doc("Largest stream or part extracted, in bytes (larger ones are listed, not extracted)"),
            OptionSpec::int("max_total_size", DEFAULT_MAX_TOTAL_SIZE)
                .doc("Most bytes extracted from one payload, all streams and parts together"),
            OptionSpec::int("max_code_size", DEFAULT_MAX_CODE_SIZE)
                .doc("Most bytes of macro source kept and scanned per payload, all modules together (the rest is cut)"),
            OptionSpec::bool("extract_streams", true)
                .doc("Extract every stream of a compound file (false: list them only)"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_streams = non_negative(config, "max_streams")?;
        let max_stream_size = non_negative(config, "max_stream_size")?;
        let max_total_size = non_negative(config, "max_total_size")?;
        let max_code_size = non_negative(config, "max_code_size")?;
        Ok(Self {
            limits: Limits {
                max_streams: usize::try_from(max_streams).unwrap_or(usize::MAX),
                max_stream_size,
                max_total_size,
                max_code_size: usize::try_from(max_code_size).unwrap_or(usize::MAX),
                extract_streams: config.bool("extract_streams")?,
                ..Limits::default()
            },
        })
    }
}

impl Worker for Ole {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        let limits = self.limits.within(request.limits());
        let inspection = inspect_with(payload.content(), &limits)?;
        let extracted = inspection.extracted.into_iter().map(|child| {
            let ole = child.is_ole();
            let mut meta = PayloadMeta::new().with_extra("filename", child.filename);
            for (key, value) in child.extra {
                meta = meta.with_extra(key, value);
            }
            if ole {
                meta = meta.with_dispatch_to(["ole"]);
            }
            ExtractedPayload::new(child.content).with_meta(meta)
        });
        let mut response = WorkerResponse::new(inspection.results).with_extracted(extracted);
        response.errors = inspection.errors.into_iter().map(Error::msg).collect();
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Ole => worker);

#[cfg(test)]
mod tests;
