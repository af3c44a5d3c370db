//! The `peinfo` worker: what a Windows PE file says about itself.
//!
//! Results: `machine`, `timestamp` (and `compile_time`, RFC 3339), `entry_point`,
//! `image_base`, `subsystem`, `characteristics`, `is_dll`, `sections` (name, virtual
//! address and size, raw size, entropy), `imports` (by DLL), `imphash`, `exports`, `signed`
//! (a security directory is present), `version_info` (the file version and the first string
//! table of a `VERSION` resource), and `resources` (type/name/language path and size of
//! each).
//!
//! Each resource is extracted as a payload with its path in `extra_data.resource`, up to
//! `max_resources` (default 1,000). A truncated or malformed PE is an error, never a panic:
//! every table is read with the `object` crate's bounds-checked, alignment-free views (a
//! parser that dereferences misaligned pointers on corrupt RVAs was tried and rejected).

use md5::{Digest, Md5};
use object::LittleEndian as LE;
use object::pe;
use object::read::pe::{
    ImageNtHeaders, ImageOptionalHeader, Import, PeFile, ResourceDirectory,
    ResourceDirectoryEntryData, ResourceDirectoryTable, ResourceNameOrId, SectionTable,
};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{Map, Value};

/// The PE inspector.
pub struct PeInfo {
    max_resources: usize,
}

impl Plugin for PeInfo {
    const INFO: PluginInfo = PluginInfo::new("peinfo", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "PE headers, imports, exports, sections, imphash, version info; resources extracted",
        )
        .default_options("max_resources = 1000");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max = config.get_int("max_resources")?.unwrap_or(1000);
        Ok(Self {
            max_resources: usize::try_from(max).map_err(|_| {
                Error::msg(format!("option `max_resources` must be >= 0, got {max}"))
            })?,
        })
    }
}

fn machine(m: u16) -> String {
    match m {
        0x014c => "i386".into(),
        0x8664 => "amd64".into(),
        0x01c0 => "arm".into(),
        0x01c4 => "armnt".into(),
        0xaa64 => "arm64".into(),
        0x0200 => "ia64".into(),
        other => format!("0x{other:04x}"),
    }
}

fn subsystem(s: u16) -> String {
    match s {
        1 => "native".into(),
        2 => "windows_gui".into(),
        3 => "windows_cui".into(),
        9 => "windows_ce_gui".into(),
        10 => "efi_application".into(),
        other => format!("{other}"),
    }
}

/// Shannon entropy in bits per byte.
fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// Seconds since 1970 as RFC 3339 (UTC).
fn rfc3339(secs: u32) -> String {
    let days = i64::from(secs / 86_400);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The imphash of `(dll, function)` pairs: md5 of `dll.function` (lower case, the DLL without
/// its extension), comma-joined, in import order (pefile's definition).
pub fn imphash(imports: &[(String, String)]) -> String {
    let joined = imports
        .iter()
        .map(|(dll, function)| {
            let dll = dll.to_ascii_lowercase();
            let stem = match dll.rsplit_once('.') {
                Some((stem, "dll" | "ocx" | "sys")) => stem.to_owned(),
                _ => dll,
            };
            format!("{stem}.{}", function.to_ascii_lowercase())
        })
        .collect::<Vec<_>>()
        .join(",");
    hex::encode(Md5::digest(joined.as_bytes()))
}

fn type_name(id: u16) -> String {
    match id {
        1 => "CURSOR".into(),
        2 => "BITMAP".into(),
        3 => "ICON".into(),
        4 => "MENU".into(),
        5 => "DIALOG".into(),
        6 => "STRING".into(),
        10 => "RCDATA".into(),
        14 => "GROUP_ICON".into(),
        16 => "VERSION".into(),
        24 => "MANIFEST".into(),
        other => other.to_string(),
    }
}

/// What `inspect` reads out of the resource tree.
struct Walk<'a, 'data> {
    file: &'data [u8],
    sections: &'a SectionTable<'data>,
    directory: ResourceDirectory<'data>,
    out: Vec<(String, Vec<u8>)>,
    errors: Vec<Error>,
}

impl Walk<'_, '_> {
    /// Walks the tree (type / name / language), depth-limited against loops.
    fn table(&mut self, table: &ResourceDirectoryTable<'_>, path: &mut Vec<String>) {
        if path.len() >= 3 {
            return;
        }
        for entry in table.entries {
            if self.out.len() >= MAX_RESOURCES_WALKED {
                return;
            }
            let name = match entry.name_or_id() {
                ResourceNameOrId::Id(id) if path.is_empty() => type_name(id),
                ResourceNameOrId::Id(id) => id.to_string(),
                ResourceNameOrId::Name(name) => name
                    .to_string_lossy(self.directory)
                    .unwrap_or_else(|_| "?".into()),
            };
            path.push(name);
            match entry.data(self.directory) {
                Ok(ResourceDirectoryEntryData::Table(sub)) => self.table(&sub, path),
                Ok(ResourceDirectoryEntryData::Data(data)) => {
                    let rva = data.offset_to_data.get(LE);
                    let size = data.size.get(LE) as usize;
                    match self
                        .sections
                        .pe_data_at(self.file, rva)
                        .and_then(|d| d.get(..size))
                    {
                        Some(bytes) => self.out.push((path.join("/"), bytes.to_vec())),
                        None => self.errors.push(Error::msg(format!(
                            "resource {}: its {size} bytes at RVA 0x{rva:x} lie outside the file",
                            path.join("/")
                        ))),
                    }
                }
                Err(e) => self
                    .errors
                    .push(Error::msg(format!("resource {}: {e}", path.join("/")))),
            }
            path.pop();
        }
    }
}

/// One node of a `VS_VERSIONINFO` tree: its key, its value bytes and its children.
struct VersionNode<'a> {
    key: String,
    value: &'a [u8],
    is_text: bool,
    children: Vec<VersionNode<'a>>,
}

fn utf16z(data: &[u8]) -> (String, usize) {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let consumed = (units.len() + 1) * 2;
    (String::from_utf16_lossy(&units), consumed)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Parses a version-info node at the start of `data` (lengths bounds-checked, depth-limited).
fn version_node(data: &[u8], depth: usize) -> Option<VersionNode<'_>> {
    if depth > 4 || data.len() < 6 {
        return None;
    }
    let length = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let value_length = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let is_text = u16::from_le_bytes([data[4], data[5]]) == 1;
    let data = data.get(..length.max(6))?;
    let (key, consumed) = utf16z(data.get(6..)?);
    let value_start = align4(6 + consumed);
    // Text values count UTF-16 units, binary values bytes.
    let value_bytes = if is_text {
        value_length * 2
    } else {
        value_length
    };
    let value = data.get(value_start..value_start.checked_add(value_bytes)?.min(data.len()))?;
    let mut children = Vec::new();
    let mut at = align4(value_start + value_bytes);
    while at + 6 <= data.len() {
        let Some(child) = version_node(&data[at..], depth + 1) else {
            break;
        };
        let child_length = usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
        children.push(child);
        if child_length == 0 {
            break;
        }
        at = align4(at + child_length);
    }
    Some(VersionNode {
        key,
        value,
        is_text,
        children,
    })
}

/// The strings of the first string table in a `VS_VERSIONINFO` resource, and the file version
/// from its fixed part.
pub fn version_info(data: &[u8]) -> Option<Map<String, Value>> {
    let root = version_node(data, 0)?;
    if root.key != "VS_VERSION_INFO" {
        return None;
    }
    let mut out = Map::new();
    if root.value.len() >= 16 && root.value[..4] == 0xFEEF_04BDu32.to_le_bytes() {
        let word = |at: usize| {
            u32::from_le_bytes([
                root.value[at],
                root.value[at + 1],
                root.value[at + 2],
                root.value[at + 3],
            ])
        };
        let (ms, ls) = (word(8), word(12));
        out.insert(
            "file_version".into(),
            json!(format!(
                "{}.{}.{}.{}",
                ms >> 16,
                ms & 0xffff,
                ls >> 16,
                ls & 0xffff
            )),
        );
    }
    let table = root
        .children
        .iter()
        .find(|c| c.key == "StringFileInfo")
        .and_then(|sfi| sfi.children.first());
    for string in table.map(|t| t.children.as_slice()).unwrap_or_default() {
        if string.is_text {
            let (value, _) = utf16z(string.value);
            out.insert(string.key.clone(), Value::String(value));
        }
    }
    Some(out)
}

/// Resources walked at most (the `max_resources` option trims what is extracted).
const MAX_RESOURCES_WALKED: usize = 100_000;

/// What [`inspect`] finds: the results, the resources (path, bytes), and problems met on the way.
pub type Inspection = (Value, Vec<(String, Vec<u8>)>, Vec<Error>);

fn text(bytes: &[u8]) -> String {
    stoq_plugin_abi::bytes_to_string(bytes)
}

fn inspect_as<Pe: ImageNtHeaders>(data: &[u8]) -> Result<Inspection> {
    let file =
        PeFile::<Pe>::parse(data).map_err(|e| Error::msg(format!("not a valid PE file: {e}")))?;
    let headers = file.nt_headers();
    let header = headers.file_header();
    let optional = headers.optional_header();
    let sections = file.section_table();
    let mut errors = Vec::new();

    let section_list: Vec<Value> = sections
        .iter()
        .map(|s| {
            let bytes = s.pe_data(data).unwrap_or(&[]);
            json!({
                "name": text(s.name.split(|b| *b == 0).next().unwrap_or(&[])),
                "virtual_address": s.virtual_address.get(LE),
                "virtual_size": s.virtual_size.get(LE),
                "raw_size": s.size_of_raw_data.get(LE),
                "entropy": entropy(bytes),
            })
        })
        .collect();

    let mut imports = Map::new();
    let mut pairs = Vec::new();
    match file.import_table() {
        Ok(Some(table)) => match table.descriptors() {
            Ok(mut descriptors) => loop {
                let descriptor = match descriptors.next() {
                    Ok(Some(d)) => d,
                    Ok(None) => break,
                    Err(e) => {
                        errors.push(Error::msg(format!("import table: {e}")));
                        break;
                    }
                };
                let dll = match table.name(descriptor.name.get(LE)) {
                    Ok(name) => text(name),
                    Err(e) => {
                        errors.push(Error::msg(format!("import DLL name: {e}")));
                        continue;
                    }
                };
                let first = match descriptor.original_first_thunk.get(LE) {
                    0 => descriptor.first_thunk.get(LE),
                    address => address,
                };
                let mut functions = Vec::new();
                match table.thunks(first) {
                    Ok(mut thunks) => loop {
                        match thunks.next::<Pe>() {
                            Ok(Some(thunk)) => match table.import::<Pe>(thunk) {
                                Ok(Import::Name(_, name)) => functions.push(text(name)),
                                Ok(Import::Ordinal(ordinal)) => {
                                    functions.push(format!("ord{ordinal}"))
                                }
                                Err(e) => {
                                    errors.push(Error::msg(format!("import from {dll}: {e}")))
                                }
                            },
                            Ok(None) => break,
                            Err(e) => {
                                errors.push(Error::msg(format!("imports of {dll}: {e}")));
                                break;
                            }
                        }
                        if functions.len() > 100_000 {
                            break;
                        }
                    },
                    Err(e) => errors.push(Error::msg(format!("imports of {dll}: {e}"))),
                }
                pairs.extend(functions.iter().map(|f| (dll.clone(), f.clone())));
                imports.insert(dll, json!(functions));
            },
            Err(e) => errors.push(Error::msg(format!("import table: {e}"))),
        },
        Ok(None) => {}
        Err(e) => errors.push(Error::msg(format!("import table: {e}"))),
    }

    let mut exports = Vec::new();
    match file.export_table() {
        Ok(Some(table)) => match table.exports() {
            Ok(list) => exports.extend(list.iter().filter_map(|e| e.name).map(text)),
            Err(e) => errors.push(Error::msg(format!("export table: {e}"))),
        },
        Ok(None) => {}
        Err(e) => errors.push(Error::msg(format!("export table: {e}"))),
    }

    let mut resources = Vec::new();
    match file.data_directories().resource_directory(data, &sections) {
        Ok(Some(directory)) => match directory.root() {
            Ok(root) => {
                let mut walk = Walk {
                    file: data,
                    sections: &sections,
                    directory,
                    out: Vec::new(),
                    errors: Vec::new(),
                };
                walk.table(&root, &mut Vec::new());
                resources = walk.out;
                errors.extend(walk.errors);
            }
            Err(e) => errors.push(Error::msg(format!("resource directory: {e}"))),
        },
        Ok(None) => {}
        Err(e) => errors.push(Error::msg(format!("resource directory: {e}"))),
    }

    let version = resources
        .iter()
        .find(|(path, _)| path.starts_with("VERSION/"))
        .and_then(|(_, bytes)| version_info(bytes));
    let signed = file
        .data_directory(pe::IMAGE_DIRECTORY_ENTRY_SECURITY)
        .is_some_and(|d| d.size.get(LE) > 0 && d.virtual_address.get(LE) > 0);
    let characteristics = header.characteristics.get(LE);
    let timestamp = header.time_date_stamp.get(LE);
    let results = json!({
        "machine": machine(header.machine.get(LE)),
        "timestamp": timestamp,
        "compile_time": rfc3339(timestamp),
        "entry_point": optional.address_of_entry_point(),
        "image_base": optional.image_base(),
        "subsystem": subsystem(optional.subsystem()),
        "characteristics": characteristics,
        "is_dll": characteristics & pe::IMAGE_FILE_DLL != 0,
        "sections": section_list,
        "imports": imports,
        "imphash": (!pairs.is_empty()).then(|| imphash(&pairs)),
        "exports": exports,
        "version_info": version,
        "signed": signed,
        "resources": resources.iter().map(|(path, bytes)| json!({"path": path, "size": bytes.len()})).collect::<Vec<_>>(),
    });
    Ok((results, resources, errors))
}

/// Inspects `data`: results, resources (path, bytes) and problems found on the way.
pub fn inspect(data: &[u8]) -> Result<Inspection> {
    match object::read::pe::optional_header_magic(data) {
        Ok(pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC) => inspect_as::<pe::ImageNtHeaders32>(data),
        Ok(pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC) => inspect_as::<pe::ImageNtHeaders64>(data),
        Ok(other) => Err(Error::msg(format!(
            "not a valid PE file: unknown optional header magic 0x{other:x}"
        ))),
        Err(e) => Err(Error::msg(format!("not a valid PE file: {e}"))),
    }
}

impl Worker for PeInfo {
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        let (results, resources, mut errors) = inspect(payload.content())?;
        let total = resources.len();
        let extracted = resources
            .into_iter()
            .take(self.max_resources)
            .map(|(path, bytes)| {
                ExtractedPayload::with_meta(
                    bytes,
                    PayloadMeta::default().with_extra("resource", path),
                )
            });
        let mut response = WorkerResponse::new(results).with_extracted(extracted);
        if total > self.max_resources {
            errors.push(Error::msg(format!(
                "limit max_resources ({}) reached: {} resources not extracted",
                self.max_resources,
                total - self.max_resources
            )));
        }
        response.errors = errors;
        Ok(Some(response))
    }
}

stoq_plugin_abi::export_plugin!(PeInfo => worker);

#[cfg(test)]
mod tests;
