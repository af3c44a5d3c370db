//! The `peinfo` worker: what a Windows PE file says about itself.
//!
//! Results: `machine`, `timestamp` (and `compile_time`, RFC 3339), `entry_point`,
//! `image_base`, `subsystem`, `characteristics`, `is_dll`, `sections` (name, virtual
//! address and size, raw size, and the entropy of the raw data, as pefile's
//! `get_entropy()`), `imports` (by DLL), `imphash`, `exports`, `signed`
//! (a security directory is present), `version_info` (the file version and the first string
//! table of a `VERSION` resource), and `resources` (type/name/language path and size of
//! each).
//!
//! Each resource is extracted as a payload with its path in `extra_data.resource`, within two
//! options: `max_resources` (most resources extracted, default 1,000) and
//! `max_resource_bytes` (most bytes of resource data extracted from one PE, default 64 MiB).
//! What either trims is said in the response's errors (`limit max_resources (..) reached`,
//! `limit max_resource_bytes (..) reached`). Resources whose entries point at the same bytes
//! of the file (same offset and size) are extracted once: the later ones are listed with
//! `same_data_as` (the path of the first) and cost nothing. The resource tree is walked
//! without copying: data is copied only for the resources extracted, so memory stays about
//! the file's size plus `max_resource_bytes` whatever the tree holds. The walk itself is
//! bounded too (at most 100,000 resources listed, 1,000,000 directory entries visited, names
//! cut at 64 characters), because a small tree whose tables point at each other describes
//! billions of paths.
//!
//! A truncated or malformed PE is an error, never a panic: every table is read with the
//! `object` crate's bounds-checked, alignment-free views (a parser that dereferences
//! misaligned pointers on corrupt RVAs was tried and rejected).

mod ordinals;

use std::collections::HashMap;

use md5::{Digest, Md5};
use object::LittleEndian as LE;
use object::pe;
use object::read::pe::{
    ImageNtHeaders, ImageOptionalHeader, Import, PeFile, ResourceDirectory,
    ResourceDirectoryEntryData, ResourceDirectoryTable, ResourceNameOrId, SectionTable,
};
use stoq_plugin_abi::prelude::*;

/// The default of `max_resources`, declared once for the option and [`Limits::default`].
const DEFAULT_MAX_RESOURCES: i64 = 1000;

/// The default of `max_resource_bytes` (64 MiB), declared once for the option and
/// [`Limits::default`].
const DEFAULT_MAX_RESOURCE_BYTES: i64 = 64 << 20;

/// What `peinfo` extracts at most from one PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most resources extracted (`max_resources`).
    pub max_resources: usize,
    /// Most bytes of resource data extracted, all resources together (`max_resource_bytes`).
    pub max_resource_bytes: u64,
}

/// The options' declared defaults.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_resources: DEFAULT_MAX_RESOURCES as usize,
            max_resource_bytes: DEFAULT_MAX_RESOURCE_BYTES as u64,
        }
    }
}

/// The PE inspector.
pub struct PeInfo {
    limits: Limits,
}

impl Plugin for PeInfo {
    const INFO: PluginInfo = PluginInfo::new("peinfo", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "PE headers, imports, exports, sections, imphash, version info; resources extracted",
        )
        .options(&[
            OptionSpec::int("max_resources", DEFAULT_MAX_RESOURCES)
                .doc("Most resources extracted from one PE (the rest are listed, not extracted)"),
            OptionSpec::int("max_resource_bytes", DEFAULT_MAX_RESOURCE_BYTES)
                .doc("Most bytes of resource data extracted from one PE, all resources together"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max = config.int("max_resources")?;
        let bytes = config.int("max_resource_bytes")?;
        Ok(Self {
            limits: Limits {
                max_resources: usize::try_from(max).map_err(|_| {
                    Error::msg(format!("option `max_resources` must be >= 0, got {max}"))
                })?,
                max_resource_bytes: u64::try_from(bytes).map_err(|_| {
                    Error::msg(format!(
                        "option `max_resource_bytes` must be >= 0, got {bytes}"
                    ))
                })?,
            },
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

/// Shannon entropy in bits per byte (0.0, never -0.0, for data of one byte value).
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
            let c = c as f64;
            // p * log2(1/p): each term is >= +0.0.
            c / len * (len / c).log2()
        })
        .sum()
}

/// A section's raw data as pefile (and the Windows loader) reads it: `SizeOfRawData` bytes
/// at `PointerToRawData`, rounded down to 512 when the file alignment is at least 512, cut at
/// the end of the file. Its entropy is pefile's `get_entropy()`. The second value is the
/// error when the file ends before the section's raw data does.
fn raw_data<'data>(
    data: &'data [u8],
    section: &pe::ImageSectionHeader,
    file_alignment: u32,
    name: &str,
) -> (&'data [u8], Option<Error>) {
    let mut offset = section.pointer_to_raw_data.get(LE);
    if file_alignment >= 0x200 {
        offset &= !0x1ff;
    }
    let size = section.size_of_raw_data.get(LE) as usize;
    let rest = data.get(offset as usize..).unwrap_or_default();
    let bytes = &rest[..size.min(rest.len())];
    let error = (bytes.len() < size).then(|| {
        Error::msg(format!(
            "section {name}: its raw data ({size} bytes at offset 0x{offset:x}) runs past the end of the file; {} bytes present",
            bytes.len()
        ))
    });
    (bytes, error)
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

/// One resource found in the tree: its path, where its data lies in the file, and the data
/// (borrowed from the file, not copied).
struct Found<'data> {
    path: String,
    offset: u32,
    bytes: &'data [u8],
}

/// What `inspect` reads out of the resource tree.
struct Walk<'a, 'data> {
    file: &'data [u8],
    sections: &'a SectionTable<'data>,
    directory: ResourceDirectory<'data>,
    found: Vec<Found<'data>>,
    /// Directory entries visited (tables, data and broken ones alike).
    visited: usize,
    /// The walk ended early at one of the `MAX_*` bounds.
    cut: Option<String>,
    errors: Vec<Error>,
    /// Broken entries met (only the first [`MAX_ENTRY_ERRORS`] are listed).
    broken: usize,
}

impl<'data> Walk<'_, 'data> {
    fn broken_entry(&mut self, message: String) {
        self.broken += 1;
        if self.broken <= MAX_ENTRY_ERRORS {
            self.errors.push(Error::msg(message));
        }
    }

    /// A resource name, cut at [`MAX_NAME_UNITS`] UTF-16 units.
    fn name(&self, name: object::read::pe::ResourceName) -> String {
        let Ok(units) = name.data(self.directory) else {
            return "?".into();
        };
        let mut out: String =
            char::decode_utf16(units.iter().take(MAX_NAME_UNITS).map(|u| u.get(LE)))
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
        if units.len() > MAX_NAME_UNITS {
            out.push('…');
        }
        out
    }

    /// Walks the tree (type / name / language), depth-limited against loops and bounded in
    /// entries visited and resources found (tables may point at each other).
    fn table(&mut self, table: &ResourceDirectoryTable<'_>, path: &mut Vec<String>) {
        if path.len() >= 3 {
            return;
        }
        for entry in table.entries {
            if self.cut.is_some() {
                return;
            }
            if self.found.len() >= MAX_RESOURCES_WALKED {
                self.cut = Some(format!("more than {MAX_RESOURCES_WALKED} resources"));
                return;
            }
            if self.visited >= MAX_ENTRIES_VISITED {
                self.cut = Some(format!("more than {MAX_ENTRIES_VISITED} directory entries"));
                return;
            }
            self.visited += 1;
            let name = match entry.name_or_id() {
                ResourceNameOrId::Id(id) if path.is_empty() => type_name(id),
                ResourceNameOrId::Id(id) => id.to_string(),
                ResourceNameOrId::Name(name) => self.name(name),
            };
            path.push(name);
            match entry.data(self.directory) {
                Ok(ResourceDirectoryEntryData::Table(sub)) => self.table(&sub, path),
                Ok(ResourceDirectoryEntryData::Data(data)) => {
                    let rva = data.offset_to_data.get(LE);
                    let size = data.size.get(LE);
                    let place = self
                        .sections
                        .pe_file_range_at(rva)
                        .filter(|&(_, available)| size <= available)
                        .and_then(|(offset, _)| {
                            let start = offset as usize;
                            Some((
                                offset,
                                self.file.get(start..start.checked_add(size as usize)?)?,
                            ))
                        });
                    match place {
                        Some((offset, bytes)) => self.found.push(Found {
                            path: path.join("/"),
                            offset,
                            bytes,
                        }),
                        None => self.broken_entry(format!(
                            "resource {}: its {size} bytes at RVA 0x{rva:x} lie outside the file",
                            path.join("/")
                        )),
                    }
                }
                Err(e) => self.broken_entry(format!("resource {}: {e}", path.join("/"))),
            }
            path.pop();
        }
    }

    /// The problems met, the bounds reached included.
    fn finish(mut self) -> (Vec<Found<'data>>, Vec<Error>) {
        if self.broken > MAX_ENTRY_ERRORS {
            self.errors.push(Error::msg(format!(
                "resource directory: {} more broken entries not listed",
                self.broken - MAX_ENTRY_ERRORS
            )));
        }
        if let Some(cut) = self.cut {
            self.errors.push(Error::msg(format!(
                "resource directory: {cut}; the rest is not walked"
            )));
        }
        (self.found, self.errors)
    }
}

/// Chooses the resources to extract within `limits` and copies only their data. A block of
/// the file (offset, size) is extracted once, whatever number of entries point at it.
/// Returns the listing for the results, the extracted resources, and what the limits trimmed.
fn choose(found: &[Found<'_>], limits: &Limits) -> (Vec<Value>, Resources, Vec<Error>) {
    let mut listing = Vec::with_capacity(found.len());
    let mut extracted = Vec::new();
    let mut first_of: HashMap<(u32, usize), usize> = HashMap::new();
    let mut bytes = 0u64;
    let (mut over_count, mut over_bytes, mut over_bytes_size) = (0usize, 0usize, 0u64);
    for (i, resource) in found.iter().enumerate() {
        let size = resource.bytes.len();
        let mut entry = json!({"path": resource.path, "size": size});
        match first_of.entry((resource.offset, size)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                entry["same_data_as"] = json!(found[*first.get()].path);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(i);
                if extracted.len() >= limits.max_resources {
                    over_count += 1;
                } else if bytes.saturating_add(size as u64) > limits.max_resource_bytes {
                    over_bytes += 1;
                    over_bytes_size += size as u64;
                } else {
                    bytes += size as u64;
                    extracted.push((resource.path.clone(), resource.bytes.to_vec()));
                }
            }
        }
        listing.push(entry);
    }
    let mut errors = Vec::new();
    if over_count > 0 {
        errors.push(Error::msg(format!(
            "limit max_resources ({}) reached: {over_count} resources not extracted",
            limits.max_resources
        )));
    }
    if over_bytes > 0 {
        errors.push(Error::msg(format!(
            "limit max_resource_bytes ({}) reached: {over_bytes} resources ({over_bytes_size} bytes) not extracted",
            limits.max_resource_bytes
        )));
    }
    (listing, extracted, errors)
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

/// Resources listed at most (the `max_resources` option trims what is extracted).
const MAX_RESOURCES_WALKED: usize = 100_000;

/// Resource directory entries visited at most: tables that point at each other describe far
/// more paths than the file has bytes.
const MAX_ENTRIES_VISITED: usize = 1_000_000;

/// Broken resource entries listed one by one at most (the rest are counted).
const MAX_ENTRY_ERRORS: usize = 100;

/// Longest resource name kept, in UTF-16 units (a name may be 65,535 units, and many entries
/// may share it).
const MAX_NAME_UNITS: usize = 64;

/// What [`inspect`] finds: the results, the resources to extract (path, bytes), and problems
/// met on the way (limits reached included).
pub type Inspection = (Value, Resources, Vec<Error>);

/// Resources to extract: path and bytes.
pub type Resources = Vec<(String, Vec<u8>)>;

fn text(bytes: &[u8]) -> String {
    stoq_plugin_abi::bytes_to_string(bytes)
}

fn inspect_as<Pe: ImageNtHeaders>(data: &[u8], limits: &Limits) -> Result<Inspection> {
    let file =
        PeFile::<Pe>::parse(data).map_err(|e| Error::msg(format!("not a valid PE file: {e}")))?;
    let headers = file.nt_headers();
    let header = headers.file_header();
    let optional = headers.optional_header();
    let sections = file.section_table();
    let mut errors = Vec::new();

    let mut section_list = Vec::new();
    for s in sections.iter() {
        let name = text(s.name.split(|b| *b == 0).next().unwrap_or(&[]));
        let (bytes, cut) = raw_data(data, s, optional.file_alignment(), &name);
        errors.extend(cut);
        section_list.push(json!({
            "name": name,
            "virtual_address": s.virtual_address.get(LE),
            "virtual_size": s.virtual_size.get(LE),
            "raw_size": s.size_of_raw_data.get(LE),
            "entropy": entropy(bytes),
        }));
    }

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
                let mut imphash_names = Vec::new();
                match table.thunks(first) {
                    Ok(mut thunks) => loop {
                        match thunks.next::<Pe>() {
                            Ok(Some(thunk)) => match table.import::<Pe>(thunk) {
                                Ok(Import::Name(_, name)) => {
                                    functions.push(text(name));
                                    imphash_names.push(text(name));
                                }
                                Ok(Import::Ordinal(ordinal)) => {
                                    functions.push(format!("ord{ordinal}"));
                                    // pefile names the ordinals of ws2_32, wsock32 and oleaut32
                                    // in the imphash, as YARA does.
                                    imphash_names.push(
                                        ordinals::imphash_name(&dll.to_ascii_lowercase(), ordinal)
                                            .map_or_else(|| format!("ord{ordinal}"), str::to_owned),
                                    );
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
                pairs.extend(imphash_names.into_iter().map(|f| (dll.clone(), f)));
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

    let mut found = Vec::new();
    match file.data_directories().resource_directory(data, &sections) {
        Ok(Some(directory)) => match directory.root() {
            Ok(root) => {
                let mut walk = Walk {
                    file: data,
                    sections: &sections,
                    directory,
                    found: Vec::new(),
                    visited: 0,
                    cut: None,
                    errors: Vec::new(),
                    broken: 0,
                };
                walk.table(&root, &mut Vec::new());
                let (walked, walk_errors) = walk.finish();
                found = walked;
                errors.extend(walk_errors);
            }
            Err(e) => errors.push(Error::msg(format!("resource directory: {e}"))),
        },
        Ok(None) => {}
        Err(e) => errors.push(Error::msg(format!("resource directory: {e}"))),
    }

    let version = found
        .iter()
        .find(|r| r.path.starts_with("VERSION/"))
        .and_then(|r| version_info(r.bytes));
    let (listing, resources, trimmed) = choose(&found, limits);
    errors.extend(trimmed);
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
        "resources": listing,
    });
    Ok((results, resources, errors))
}

/// Inspects `data` within the default [`Limits`]: results, resources (path, bytes) and
/// problems found on the way.
pub fn inspect(data: &[u8]) -> Result<Inspection> {
    inspect_with(data, &Limits::default())
}

/// Inspects `data`: results, the resources to extract within `limits` (path, bytes), and
/// problems found on the way, what the limits trimmed included.
pub fn inspect_with(data: &[u8], limits: &Limits) -> Result<Inspection> {
    match object::read::pe::optional_header_magic(data) {
        Ok(pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC) => inspect_as::<pe::ImageNtHeaders32>(data, limits),
        Ok(pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC) => inspect_as::<pe::ImageNtHeaders64>(data, limits),
        Ok(other) => Err(Error::msg(format!(
            "not a valid PE file: unknown optional header magic 0x{other:x}"
        ))),
        Err(e) => Err(Error::msg(format!("not a valid PE file: {e}"))),
    }
}

impl Worker for PeInfo {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let (results, resources, errors) = inspect_with(payload.content(), &self.limits)?;
        let extracted = resources
            .into_iter()
            .map(|(path, bytes)| ExtractedPayload::new(bytes).with_extra("resource", path));
        let mut response = WorkerResponse::new(results).with_extracted(extracted);
        response.errors = errors;
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(PeInfo => worker);

#[cfg(test)]
mod tests;
