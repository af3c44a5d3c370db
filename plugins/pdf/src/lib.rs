//! The `pdf` worker: what a PDF holds and does, for triage.
//!
//! Results:
//! - `header` (`%PDF-1.7`, as pdfid shows it) and `version` (`1.7`), `null` without one;
//! - `keywords`: pdfid's keyword counts (`obj`, `endobj`, `stream`, `endstream`, `xref`,
//!   `trailer`, `startxref`, `/Page`, `/Encrypt`, `/ObjStm`, `/JS`, `/JavaScript`, `/AA`,
//!   `/OpenAction`, `/AcroForm`, `/JBIG2Decode`, `/RichMedia`, `/Launch`, `/EmbeddedFile`,
//!   `/XFA`, `/URI`, `/Colors > 2^24`), counted on the raw bytes exactly as pdfid 0.2.10
//!   counts them ([`keywords`]); `hex_escaped`: of those, the ones written with `#xx`
//!   escapes (pdfid's count in parentheses), only where not zero;
//! - `objects`, `streams`, `object_streams` (opened), `xref` (what `startxref` points at:
//!   `table`, `stream`, `broken` or `missing`; never needed), `encrypted` (a trailer names
//!   `/Encrypt`: strings and streams are then encrypted and not readable here);
//! - `javascript`: each piece of JavaScript (a `/JS` string or stream, wherever it is) with
//!   its `filename` (`obj12.js`: the object holding it), `object` and `size`;
//!   `embedded_files`: each embedded file stream with its `filename` (the file
//!   specification's `/UF` or `/F`, else `obj8.bin`), `object` and `size`;
//! - `uris` (each `/URI` once, in file order), `launch` (each `/Launch` action: `file`,
//!   `parameters`, ...), `actions` (what runs: `trigger` `OpenAction`, `AA/<event>` or
//!   `Names/JavaScript/<name>`, `in_object`, the action's `type` and its `javascript` file
//!   name, `uri` or `file`, and `next` actions), `filters` (filter name: streams using it).
//!
//! JavaScript and embedded files are extracted as payloads with `filename`, `pdf_object` and
//! `kind` (`javascript` or `embedded_file`) in their extra data.
//!
//! Objects are found by scanning for `N G obj` (see [`document`]), so a file with a broken or
//! missing cross-reference table reads the same. Everything is bounded: `max_objects`,
//! `max_stream_size` (decoded bytes of one stream), `max_total_decoded` (decoded bytes of one
//! file), `max_depth` (nesting of arrays and dictionaries), plus fixed bounds on values read
//! ([`document::MAX_ELEMENTS`]), reference chains (32), list lengths
//! ([`analysis::MAX_LISTED`]) and errors listed ([`document::MAX_ERRORS`]). What a bound
//! cuts, and every problem of the file, is an error of the response; the rest is reported.

pub mod analysis;
pub mod document;
pub mod filters;
pub mod keywords;
pub mod syntax;

use stoq_plugin_abi::prelude::*;

pub use document::Limits;

/// `max_objects`'s default.
const DEFAULT_MAX_OBJECTS: i64 = 100_000;
/// `max_stream_size`'s default: 64 MiB.
const DEFAULT_MAX_STREAM_SIZE: i64 = 64 << 20;
/// `max_total_decoded`'s default: 256 MiB.
const DEFAULT_MAX_TOTAL_DECODED: i64 = 256 << 20;
/// `max_depth`'s default.
const DEFAULT_MAX_DEPTH: i64 = 100;
/// The largest `max_depth` accepted (the parser recurses once per level).
const MAX_MAX_DEPTH: i64 = 1000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_objects: DEFAULT_MAX_OBJECTS as usize,
            max_stream_size: DEFAULT_MAX_STREAM_SIZE as u64,
            max_total_decoded: DEFAULT_MAX_TOTAL_DECODED as u64,
            max_depth: DEFAULT_MAX_DEPTH as usize,
        }
    }
}

/// What [`inspect`] finds: the results, the payloads to extract, and the problems met.
pub struct Inspection {
    /// The results.
    pub results: Value,
    /// JavaScript and embedded files.
    pub children: Vec<analysis::Child>,
    /// Problems of the file and what the limits cut.
    pub errors: Vec<Error>,
}

/// Inspects `data` within the default [`Limits`].
pub fn inspect(data: &[u8]) -> Inspection {
    inspect_with(data, &Limits::default())
}

/// Inspects `data` within `limits`. Never fails: whatever `data` is, what could be read is
/// reported and the rest is in the errors.
pub fn inspect_with(data: &[u8], limits: &Limits) -> Inspection {
    let counts = keywords::count(data);
    let mut doc = document::Document::parse(data, *limits);
    let findings = analysis::analyse(&mut doc);
    let mut keyword_counts = Map::new();
    let mut hex_escaped = Map::new();
    for (i, k) in keywords::KEYWORDS.iter().enumerate() {
        keyword_counts.insert((*k).into(), json!(counts.counts[i]));
        if counts.hex_escaped[i] > 0 {
            hex_escaped.insert((*k).into(), json!(counts.hex_escaped[i]));
        }
    }
    keyword_counts.insert(keywords::COLORS.into(), json!(counts.colors_over_2_24));
    let header = counts
        .header
        .as_deref()
        .map(stoq_plugin_abi::bytes_to_string);
    let version = counts
        .header
        .as_deref()
        .and_then(|h| h.strip_prefix(b"%PDF-"))
        .map(|v| {
            let end = v
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                .unwrap_or(v.len());
            stoq_plugin_abi::bytes_to_string(&v[..end])
        });
    let results = json!({
        "header": header,
        "version": version,
        "keywords": keyword_counts,
        "hex_escaped": hex_escaped,
        "objects": doc.objects.len(),
        "streams": doc.objects.iter().filter(|o| o.stream.is_some()).count(),
        "object_streams": doc.object_streams,
        "xref": doc.xref.name(),
        "encrypted": doc.encrypted(),
        "javascript": findings.javascript,
        "embedded_files": findings.embedded_files,
        "uris": findings.uris,
        "launch": findings.launch,
        "actions": findings.actions,
        "filters": findings.filters,
    });
    if header.is_none() {
        doc.errors
            .push("no %PDF header in the first 1024 bytes (read as a PDF all the same)");
    }
    Inspection {
        results,
        children: findings.children,
        errors: doc.errors.finish(),
    }
}

/// The PDF inspector.
pub struct Pdf {
    limits: Limits,
}

fn positive(config: &PluginConfig, key: &str, max: i64) -> Result<i64> {
    match config.int(key)? {
        v if v > 0 && v <= max => Ok(v),
        v if v > max => Err(config
            .reject(key, format!("must be at most {max}, got {v}"))
            .into()),
        v => Err(config
            .reject(key, format!("must be positive, got {v}"))
            .into()),
    }
}

impl Plugin for Pdf {
    const INFO: PluginInfo = PluginInfo::new("pdf", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "pdfid keyword counts, PDF objects read without the xref; JavaScript and embedded files extracted, URIs, launch targets and actions listed",
        )
        .options(&[
            OptionSpec::int("max_objects", DEFAULT_MAX_OBJECTS)
                .doc("Most objects read from one PDF, object streams' objects included"),
            OptionSpec::int("max_stream_size", DEFAULT_MAX_STREAM_SIZE)
                .doc("Most bytes one stream decodes to (the rest is cut, with an error)"),
            OptionSpec::int("max_total_decoded", DEFAULT_MAX_TOTAL_DECODED)
                .doc("Most bytes decoded from one PDF, every stream and filter stage together"),
            OptionSpec::int("max_depth", DEFAULT_MAX_DEPTH)
                .doc("Deepest nesting of arrays and dictionaries read (at most 1000)"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            limits: Limits {
                max_objects: positive(config, "max_objects", i64::MAX)? as usize,
                max_stream_size: positive(config, "max_stream_size", i64::MAX)? as u64,
                max_total_decoded: positive(config, "max_total_decoded", i64::MAX)? as u64,
                max_depth: positive(config, "max_depth", MAX_MAX_DEPTH)? as usize,
            },
        })
    }
}

impl Worker for Pdf {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        let host = request.limits();
        let mut limits = self.limits;
        // Nothing is decoded that the host could not keep as a payload anyway.
        limits.max_stream_size = limits.max_stream_size.min(host.max_payload_size.max(1));
        let inspection = inspect_with(payload.content(), &limits);
        let mut errors = inspection.errors;
        let (mut bytes_left, mut payloads_left) =
            (host.extracted_bytes_left, host.extracted_payloads_left);
        let mut extracted = Vec::new();
        for child in inspection.children {
            let size = child.content.len() as u64;
            if payloads_left == 0 {
                errors.push(Error::msg(format!(
                    "{} (object {}): not extracted, the request may extract no more payloads",
                    child.filename, child.object
                )));
                continue;
            }
            if size > bytes_left {
                errors.push(Error::msg(format!(
                    "{} (object {}): not extracted, its {size} bytes are over what the request may still extract ({bytes_left})",
                    child.filename, child.object
                )));
                continue;
            }
            bytes_left -= size;
            payloads_left -= 1;
            extracted.push(
                ExtractedPayload::new(child.content)
                    .with_extra("filename", child.filename)
                    .with_extra("pdf_object", child.object)
                    .with_extra("kind", child.kind),
            );
        }
        let mut response = WorkerResponse::new(inspection.results).with_extracted(extracted);
        response.errors = errors;
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Pdf => worker);

#[cfg(test)]
mod tests;
