//! The `rtf` worker: the objects an RTF document embeds, for triage.
//!
//! Every `\objdata` is decoded as Word reads it (see [`parser`]: hex with whitespace and
//! junk skipped, `\bin`, Word's `\'hh` quirk, odd lengths) and its OLE 1.0 header read
//! ([`ole`]). Results:
//! - `objects`: for each, `offset` (just after `\objdata`, rtfobj's index), `end`,
//!   `hex_digits`, `non_hex_chars` (junk skipped), `bin_bytes`, `size` (bytes decoded),
//!   `objclass` (of the enclosing `\object`), `object_kind` (`objemb`, `objlink`,
//!   `objautlink`, ...), `ole` (`version`, `format` `embedded`/`linked`, `class_name`,
//!   `topic`, `item`, `declared_size`, `native_size`, `native_format` `ole2` when the native
//!   data is an OLE2 compound file) or `not_ole` (why not), `package` for OLE `Package`
//!   objects (`filename`, `source_path`, `temp_path`, `size`), and `extracted_as`;
//! - `control_words`: counts of `\object`, `\objdata`, `\objclass`, `\objemb`, `\objlink`,
//!   `\objautlink`, `\objupdate` (makes Word update the object on open, a favourite of
//!   exploits), `\objsub`, `\objpub`, `\objicemb`, `\objhtml`, `\objocx`;
//! - `templates`: each `{\*\template ...}` (a remote template is fetched on open);
//! - `max_group_depth`: the deepest group nesting.
//!
//! Extracted: a `Package`'s file (its `filename`), another embedded object's native data
//! (`filename` from the class name, e.g. `Equation.3.bin`), or, when the data is no OLE 1.0
//! object, the decoded bytes (`object_0000012A.raw`, the offset in hex as rtfobj names it);
//! extra data also holds `class_name` and `rtf_offset`.
//!
//! Bounded: `max_depth` (groups deeper than it open no destination), `max_objects`,
//! `max_object_size` and `max_total_size` (decoded bytes), control words of at most 250
//! letters, strings of at most 1,024 bytes in a package; every length field is checked
//! against the bytes present. What a bound cuts, and every problem, is an error.

pub mod destinations;
pub mod ole;
pub mod parser;

use stoq_plugin_abi::bytes_to_string;
use stoq_plugin_abi::prelude::*;

pub use parser::Limits;

const DEFAULT_MAX_DEPTH: i64 = 10_000;
const DEFAULT_MAX_OBJECTS: i64 = 1_000;
/// 64 MiB.
const DEFAULT_MAX_OBJECT_SIZE: i64 = 64 << 20;
/// 256 MiB.
const DEFAULT_MAX_TOTAL_SIZE: i64 = 256 << 20;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH as u64,
            max_objects: DEFAULT_MAX_OBJECTS as usize,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE as usize,
            max_total_size: DEFAULT_MAX_TOTAL_SIZE as u64,
        }
    }
}

/// A payload to extract.
#[derive(Debug)]
pub struct Child {
    /// Its file name.
    pub filename: String,
    /// The OLE class name, if any.
    pub class_name: Option<String>,
    /// The offset of its `\objdata`.
    pub offset: usize,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// What [`inspect`] finds.
pub struct Inspection {
    /// The results.
    pub results: Value,
    /// What to extract.
    pub children: Vec<Child>,
    /// Problems and what the limits cut.
    pub errors: Vec<Error>,
}

/// A class name as a file name: letters, digits, `.`, `-` and `_` kept, others `_`.
fn file_name_of(class: &[u8]) -> String {
    class
        .iter()
        .take(64)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect()
}

const OLE2_MAGIC: &[u8] = &[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/// Inspects `data` within the default [`Limits`].
pub fn inspect(data: &[u8]) -> Inspection {
    inspect_with(data, &Limits::default())
}

/// Inspects `data` within `limits`; never fails.
pub fn inspect_with(data: &[u8], limits: &Limits) -> Inspection {
    let parsed = parser::parse(data, *limits);
    let mut errors: Vec<Error> = parsed.errors.iter().map(Error::msg).collect();
    if parsed.more_errors > 0 {
        errors.push(Error::msg(format!(
            "{} more problems not listed",
            parsed.more_errors
        )));
    }
    if !data.starts_with(b"{\\rt") {
        errors.insert(
            0,
            Error::msg("does not start with {\\rt (read as RTF all the same)"),
        );
    }
    let mut objects = Vec::new();
    let mut children = Vec::new();
    for obj in &parsed.objects {
        let mut entry = json!({
            "offset": obj.offset,
            "end": obj.end,
            "hex_digits": obj.hex_digits,
            "non_hex_chars": obj.non_hex,
            "bin_bytes": obj.bin_bytes,
            "size": obj.bytes.len(),
            "objclass": obj.objclass.as_deref().map(bytes_to_string),
            "object_kind": obj.kind,
        });
        let raw_name = format!("object_{:08X}.raw", obj.offset);
        let child = match ole::parse(&obj.bytes) {
            Err(ole::NotOle(why)) => {
                entry["not_ole"] = json!(why);
                (!obj.bytes.is_empty()).then(|| Child {
                    filename: raw_name,
                    class_name: None,
                    offset: obj.offset,
                    content: obj.bytes.clone(),
                })
            }
            Ok((header, short)) => {
                let class = bytes_to_string(header.class_name);
                if let Some(short) = short {
                    errors.push(Error::msg(format!(
                        "object at offset {} ({class}): {short}",
                        obj.offset
                    )));
                }
                entry["ole"] = json!({
                    "version": header.version,
                    "format": if header.format_id == 2 { "embedded" } else { "linked" },
                    "class_name": class,
                    "topic": bytes_to_string(header.topic),
                    "item": bytes_to_string(header.item),
                    "declared_size": header.declared_size,
                    "native_size": header.native.len(),
                    "native_format": header.native.starts_with(OLE2_MAGIC).then_some("ole2"),
                });
                let is_package = header.class_name.eq_ignore_ascii_case(b"package");
                let package = if is_package {
                    match ole::package(header.native) {
                        Ok((package, short)) => {
                            if let Some(short) = short {
                                errors.push(Error::msg(format!(
                                    "object at offset {} (Package): {short}",
                                    obj.offset
                                )));
                            }
                            entry["package"] = json!({
                                "filename": bytes_to_string(package.filename),
                                "source_path": bytes_to_string(package.source_path),
                                "temp_path": bytes_to_string(package.temp_path),
                                "declared_size": package.declared_size,
                                "size": package.data.len(),
                            });
                            Some(package)
                        }
                        Err(ole::NotOle(why)) => {
                            errors.push(Error::msg(format!(
                                "object at offset {} (Package): {why}",
                                obj.offset
                            )));
                            None
                        }
                    }
                } else {
                    None
                };
                match package {
                    Some(p) => Some(Child {
                        filename: if p.filename.is_empty() {
                            format!("object_{:08X}.bin", obj.offset)
                        } else {
                            bytes_to_string(p.filename)
                        },
                        class_name: Some(class),
                        offset: obj.offset,
                        content: p.data.to_vec(),
                    }),
                    None if !header.native.is_empty() => Some(Child {
                        filename: if header.class_name.is_empty() {
                            format!("object_{:08X}.bin", obj.offset)
                        } else {
                            format!("{}.bin", file_name_of(header.class_name))
                        },
                        class_name: Some(class),
                        offset: obj.offset,
                        content: header.native.to_vec(),
                    }),
                    None => None,
                }
            }
        };
        if let Some(child) = child {
            entry["extracted_as"] = json!(child.filename);
            children.push(child);
        }
        objects.push(entry);
    }
    let mut counts = Map::new();
    for (i, word) in parser::COUNTED.iter().enumerate() {
        counts.insert((*word).into(), json!(parsed.counts[i]));
    }
    let templates: Vec<String> = parsed
        .templates
        .iter()
        .map(|t| bytes_to_string(t.trim_ascii()))
        .collect();
    let results = json!({
        "objects": objects,
        "control_words": counts,
        "templates": templates,
        "max_group_depth": parsed.max_level.max(0),
    });
    Inspection {
        results,
        children,
        errors,
    }
}

/// The RTF inspector.
pub struct Rtf {
    limits: Limits,
}

fn positive(config: &PluginConfig, key: &str) -> Result<i64> {
    match config.int(key)? {
        v if v > 0 => Ok(v),
        v => Err(config
            .reject(key, format!("must be positive, got {v}"))
            .into()),
    }
}

impl Plugin for Rtf {
    const INFO: PluginInfo = PluginInfo::new("rtf", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "RTF embedded objects (\\objdata) decoded: OLE1 headers, OLE Package files and native data extracted; \\objupdate and templates listed",
        )
        .options(&[
            OptionSpec::int("max_depth", DEFAULT_MAX_DEPTH)
                .doc("Deepest group in which a destination (\\objdata, \\objclass...) is still read"),
            OptionSpec::int("max_objects", DEFAULT_MAX_OBJECTS)
                .doc("Most \\objdata objects decoded from one document"),
            OptionSpec::int("max_object_size", DEFAULT_MAX_OBJECT_SIZE)
                .doc("Most bytes decoded from one \\objdata"),
            OptionSpec::int("max_total_size", DEFAULT_MAX_TOTAL_SIZE)
                .doc("Most bytes decoded from one document, all objects together"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            limits: Limits {
                max_depth: positive(config, "max_depth")? as u64,
                max_objects: positive(config, "max_objects")? as usize,
                max_object_size: usize::try_from(positive(config, "max_object_size")?)
                    .unwrap_or(usize::MAX),
                max_total_size: positive(config, "max_total_size")? as u64,
            },
        })
    }
}

impl Worker for Rtf {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        let host = request.limits();
        let mut limits = self.limits;
        limits.max_object_size = (limits.max_object_size as u64)
            .min(host.max_payload_size.max(1))
            .try_into()
            .unwrap_or(usize::MAX);
        let inspection = inspect_with(payload.content(), &limits);
        let mut errors = inspection.errors;
        let (mut bytes_left, mut payloads_left) =
            (host.extracted_bytes_left, host.extracted_payloads_left);
        let mut extracted = Vec::new();
        for child in inspection.children {
            let size = child.content.len() as u64;
            if payloads_left == 0 || size > bytes_left {
                errors.push(Error::msg(format!(
                    "{} (offset {}): not extracted, over what the request may still extract ({payloads_left} payloads, {bytes_left} bytes)",
                    child.filename, child.offset
                )));
                continue;
            }
            bytes_left -= size;
            payloads_left -= 1;
            let mut e = ExtractedPayload::new(child.content)
                .with_extra("filename", child.filename)
                .with_extra("rtf_offset", child.offset);
            if let Some(class) = child.class_name {
                e = e.with_extra("class_name", class);
            }
            extracted.push(e);
        }
        let mut response = WorkerResponse::new(inspection.results).with_extracted(extracted);
        response.errors = errors;
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Rtf => worker);

#[cfg(test)]
mod tests;
