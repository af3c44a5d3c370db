//! The data a plugin returns and the metadata it reads, mirroring stoQ's data classes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Metadata of one payload (stoQ's `PayloadMeta`). Build it with [`PayloadMeta::new`] (or
/// [`PayloadMeta::dispatch_to`]) and the `with_*` methods; new fields in later 1.x releases
/// never break a plugin's build.
///
/// ```
/// use stoq_plugin_abi::PayloadMeta;
///
/// let meta = PayloadMeta::dispatch_to(["hash"]).with_extra("filename", "a.exe");
/// assert_eq!(meta.dispatch_to, ["hash"]);
/// assert!(meta.should_scan && meta.should_archive);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PayloadMeta {
    /// Whether destination archivers save this payload.
    pub should_archive: bool,
    /// Whether dispatchers and workers see this payload at all. When `false` the payload is
    /// still listed in the results (and archived), but nothing scans it.
    pub should_scan: bool,
    /// Free-form data about the payload, e.g. `{"filename": "a.exe"}`.
    pub extra_data: Map<String, Value>,
    /// Workers that must scan this payload.
    pub dispatch_to: Vec<String>,
}

impl Default for PayloadMeta {
    fn default() -> Self {
        Self {
            should_archive: true,
            should_scan: true,
            extra_data: Map::new(),
            dispatch_to: Vec::new(),
        }
    }
}

impl PayloadMeta {
    /// Default metadata: scanned, archived, no extra data, no workers named.
    pub fn new() -> Self {
        Self::default()
    }

    /// Metadata that sends the payload to these workers (stoQ's `PayloadMeta(dispatch_to=..)`).
    pub fn dispatch_to<I, S>(workers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            dispatch_to: workers.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets one `extra_data` entry, e.g. `.with_extra("filename", "a.exe")`.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra_data.insert(key.into(), value.into());
        self
    }

    /// Replaces `extra_data`.
    #[must_use]
    pub fn with_extra_data(mut self, extra_data: Map<String, Value>) -> Self {
        self.extra_data = extra_data;
        self
    }

    /// Adds workers that must scan the payload.
    #[must_use]
    pub fn with_dispatch_to<I, S>(mut self, workers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dispatch_to.extend(workers.into_iter().map(Into::into));
        self
    }

    /// Sets whether dispatchers and workers see the payload (`false`: listed, never scanned).
    #[must_use]
    pub fn with_should_scan(mut self, should_scan: bool) -> Self {
        self.should_scan = should_scan;
        self
    }

    /// Sets whether destination archivers save the payload.
    #[must_use]
    pub fn with_should_archive(mut self, should_archive: bool) -> Self {
        self.should_archive = should_archive;
        self
    }
}

/// Metadata of one request (stoQ's `RequestMeta`). Build it with [`RequestMeta::new`] and the
/// `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RequestMeta {
    /// Whether destination archivers run for this request.
    pub archive_payloads: bool,
    /// Where the request came from.
    pub source: Option<String>,
    /// Free-form data about the request.
    pub extra_data: Map<String, Value>,
}

impl Default for RequestMeta {
    fn default() -> Self {
        Self {
            archive_payloads: true,
            source: None,
            extra_data: Map::new(),
        }
    }
}

impl RequestMeta {
    /// Default metadata: payloads archived, no source, no extra data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where the request came from.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets one `extra_data` entry.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra_data.insert(key.into(), value.into());
        self
    }

    /// Replaces `extra_data`.
    #[must_use]
    pub fn with_extra_data(mut self, extra_data: Map<String, Value>) -> Self {
        self.extra_data = extra_data;
        self
    }

    /// Sets whether destination archivers run for the request.
    #[must_use]
    pub fn with_archive_payloads(mut self, archive_payloads: bool) -> Self {
        self.archive_payloads = archive_payloads;
        self
    }
}

/// An error a plugin reports, as a message. The host adds the plugin's name and the payload's
/// id when it records it in the response.
///
/// It converts from any [`std::error::Error`], so `?` works in plugin code.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(err: E) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self { message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.message)
    }
}

impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|message| Self { message })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A payload a worker extracted (stoQ's `ExtractedPayload`). It re-enters the same workflow.
///
/// ```
/// use stoq_plugin_abi::ExtractedPayload;
///
/// let child = ExtractedPayload::new(b"MZ...".to_vec())
///     .with_extra("filename", "a.exe")
///     .with_dispatch_to(["peinfo"]);
/// assert_eq!(child.payload_meta.extra_data["filename"], "a.exe");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExtractedPayload {
    /// The bytes. They are handed to the host without a copy.
    pub content: Vec<u8>,
    /// Its metadata: `dispatch_to`, `should_scan`, `extra_data` (e.g. a filename).
    pub payload_meta: PayloadMeta,
}

impl ExtractedPayload {
    /// An extracted payload with default metadata.
    pub fn new(content: impl Into<Vec<u8>>) -> Self {
        Self {
            content: content.into(),
            payload_meta: PayloadMeta::default(),
        }
    }

    /// Replaces its metadata.
    #[must_use]
    pub fn with_meta(mut self, payload_meta: PayloadMeta) -> Self {
        self.payload_meta = payload_meta;
        self
    }

    /// Sets one `extra_data` entry of its metadata, e.g. `.with_extra("filename", "a.exe")`.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.payload_meta = self.payload_meta.with_extra(key, value);
        self
    }

    /// Adds workers that must scan it.
    #[must_use]
    pub fn with_dispatch_to<I, S>(mut self, workers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.payload_meta = self.payload_meta.with_dispatch_to(workers);
        self
    }
}

/// What a worker returns (stoQ's `WorkerResponse`). [`WorkerResponse::empty`] (the default) is
/// the one way to say "nothing to report": no key under `workers`, though the worker still
/// counts as run.
///
/// ```
/// use stoq_plugin_abi::prelude::*;
///
/// let response = WorkerResponse::new(json!({"matches": 2}))
///     .with_extracted([ExtractedPayload::new(b"child".to_vec())])
///     .with_error("one section could not be read")
///     .with_dispatch_to(["yara"]);
/// assert_eq!(response.errors.len(), 1);
/// assert!(WorkerResponse::empty().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct WorkerResponse {
    /// Results, any JSON value; `None` records no key under `workers` (the worker still counts
    /// as run).
    pub results: Option<Value>,
    /// Payloads to scan next.
    pub extracted: Vec<ExtractedPayload>,
    /// Errors to record in the response; they do not discard `results`.
    pub errors: Vec<Error>,
    /// Workers that must scan the *same* payload next.
    pub dispatch_to: Vec<String>,
}

impl WorkerResponse {
    /// A response carrying these results (stoQ's `WorkerResponse(results)`).
    pub fn new(results: impl Into<Value>) -> Self {
        Self {
            results: Some(results.into()),
            ..Self::default()
        }
    }

    /// Nothing to report (stoQ's `return None`).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A response carrying any serialisable value as its results.
    pub fn from_serialize(results: &impl Serialize) -> Result<Self> {
        Ok(Self::new(serde_json::to_value(results)?))
    }

    /// Whether it reports nothing at all.
    pub fn is_empty(&self) -> bool {
        self.results.is_none()
            && self.extracted.is_empty()
            && self.errors.is_empty()
            && self.dispatch_to.is_empty()
    }

    /// Sets the results.
    #[must_use]
    pub fn with_results(mut self, results: impl Into<Value>) -> Self {
        self.results = Some(results.into());
        self
    }

    /// Adds extracted payloads.
    #[must_use]
    pub fn with_extracted(mut self, extracted: impl IntoIterator<Item = ExtractedPayload>) -> Self {
        self.extracted.extend(extracted);
        self
    }

    /// Adds one error (any message; an [`Error`] or a `std` error prints as its message).
    #[must_use]
    pub fn with_error(mut self, error: impl fmt::Display) -> Self {
        self.errors.push(Error::msg(error));
        self
    }

    /// Adds workers that must scan the same payload next.
    #[must_use]
    pub fn with_dispatch_to<I, S>(mut self, workers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dispatch_to.extend(workers.into_iter().map(Into::into));
        self
    }
}

/// What a dispatcher returns (stoQ's `DispatcherResponse`). [`DispatcherResponse::empty`]
/// (the default) names no worker.
///
/// ```
/// use stoq_plugin_abi::prelude::*;
///
/// let response = DispatcherResponse::new(["peinfo", "yara"])
///     .with_meta("peinfo", json!({"rule": "is_pe"}))
///     .with_should_archive(false);
/// assert_eq!(response.plugin_names, ["peinfo", "yara"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DispatcherResponse {
    /// Workers to schedule on the payload.
    pub plugin_names: Vec<String>,
    /// Metadata kept per payload under this dispatcher's name, visible to workers.
    pub meta: Map<String, Value>,
    /// Errors to record in the response.
    pub errors: Vec<Error>,
    /// When set, the payload's `should_archive` becomes this (stoQ's YARA convention: a rule
    /// with meta `save = "false"` keeps the payload out of archivers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub should_archive: Option<bool>,
}

impl DispatcherResponse {
    /// A response naming these workers.
    pub fn new<I, S>(plugin_names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::empty().with_plugins(plugin_names)
    }

    /// Names no worker.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds workers to schedule.
    #[must_use]
    pub fn with_plugins<I, S>(mut self, plugin_names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.plugin_names
            .extend(plugin_names.into_iter().map(Into::into));
        self
    }

    /// Sets one entry of the dispatch metadata.
    #[must_use]
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// Adds one error.
    #[must_use]
    pub fn with_error(mut self, error: impl fmt::Display) -> Self {
        self.errors.push(Error::msg(error));
        self
    }

    /// Sets the payload's `should_archive`.
    #[must_use]
    pub fn with_should_archive(mut self, should_archive: bool) -> Self {
        self.should_archive = Some(should_archive);
        self
    }
}

/// What an archiver's `archive` returns (stoQ's `ArchiverResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ArchiverResponse {
    /// Results recorded under `archivers.<name>`, e.g. where the bytes were saved.
    pub results: Option<Value>,
    /// Errors to record in the response.
    pub errors: Vec<Error>,
}

impl ArchiverResponse {
    /// A response carrying these results, e.g. `json!({"path": ..})`.
    pub fn new(results: impl Into<Value>) -> Self {
        Self {
            results: Some(results.into()),
            errors: Vec::new(),
        }
    }

    /// Nothing to report.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds one error.
    #[must_use]
    pub fn with_error(mut self, error: impl fmt::Display) -> Self {
        self.errors.push(Error::msg(error));
        self
    }
}

/// What a decorator returns (stoQ's `DecoratorResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DecoratorResponse {
    /// Results recorded under `decorators.<name>`.
    pub results: Option<Value>,
    /// Errors to record in the response.
    pub errors: Vec<Error>,
}

impl DecoratorResponse {
    /// A response carrying these results.
    pub fn new(results: impl Into<Value>) -> Self {
        Self {
            results: Some(results.into()),
            errors: Vec::new(),
        }
    }

    /// Nothing to report.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds one error.
    #[must_use]
    pub fn with_error(mut self, error: impl fmt::Display) -> Self {
        self.errors.push(Error::msg(error));
        self
    }
}

/// Turns bytes into a string for JSON output, the one encoding stoq uses everywhere for bytes
/// that may not be UTF-8 (file names, paths, strings pulled out of payloads):
///
/// - valid UTF-8 is kept as is, except the backslash `\`, which is doubled (`\\`);
/// - each byte that is not part of valid UTF-8 becomes `\xNN`, two lower-case hex digits
///   (Python's `backslashreplace`).
///
/// So every backslash in the output starts an escape, and the mapping is injective: the
/// four-character text `\xff` becomes `\\xff`, while the byte 0xFF becomes `\xff`.
/// [`string_to_bytes`] turns the output back into the bytes.
///
/// ```
/// use stoq_plugin_abi::bytes_to_string;
/// assert_eq!(bytes_to_string(b"caf\xc3\xa9"), "café");
/// assert_eq!(bytes_to_string(b"a\xffb"), r"a\xffb");
/// assert_eq!(bytes_to_string(br"a\xffb"), r"a\\xffb");
/// assert_eq!(bytes_to_string(br"C:\dir\a.exe"), r"C:\\dir\\a.exe");
/// ```
pub fn bytes_to_string(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for (i, part) in chunk.valid().split('\\').enumerate() {
            if i > 0 {
                out.push_str("\\\\");
            }
            out.push_str(part);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The inverse of [`bytes_to_string`]: `\\` becomes a backslash, `\xNN` (two hex digits, either
/// case) the byte 0xNN, and every other character its UTF-8 bytes. `None` when a backslash
/// starts no such escape, so the text is not stoq's encoding of any bytes.
///
/// For all bytes `b`, `string_to_bytes(&bytes_to_string(b)) == Some(b)`.
///
/// ```
/// use stoq_plugin_abi::types::string_to_bytes;
/// assert_eq!(string_to_bytes(r"a\xffb").as_deref(), Some(&b"a\xffb"[..]));
/// assert_eq!(string_to_bytes(r"a\\xffb").as_deref(), Some(&br"a\xffb"[..]));
/// assert_eq!(string_to_bytes(r"a\b"), None);
/// ```
pub fn string_to_bytes(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let escape = &rest.as_bytes()[at + 1..];
        match escape {
            [b'\\', ..] => {
                out.push(b'\\');
                rest = &rest[at + 2..];
            }
            [b'x', hi, lo, ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                out.push(u8::from_str_radix(&rest[at + 2..at + 4], 16).ok()?);
                rest = &rest[at + 4..];
            }
            _ => return None,
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Some(out)
}

#[cfg(test)]
mod bytes_to_string_tests {
    use std::collections::BTreeSet;

    use super::{bytes_to_string, string_to_bytes};

    #[test]
    fn the_encoding_is_reversible_and_unambiguous() {
        // Distinct byte strings: names with `\`, the text `\xff`, the byte 0xFF, bad UTF-8.
        let mut cases: BTreeSet<Vec<u8>> = [
            &b""[..],
            b"invoice.zip",
            "café €.txt".as_bytes(),
            br"C:\dir\a.exe",
            br"\",
            br"\\",
            br"\xff",
            b"\xff",
            b"\\\xff",
            br"\x",
            br"\x4",
            b"\xff\xfe.zip",
            br"\xff\xfe.zip",
            b"a\xc3",
            b"\xc3\xa9\xc3",
            b"\xed\xa0\x80",
            b"\xf0\x9f\x98",
            b"\x00\x7f\x80",
        ]
        .iter()
        .map(|c| c.to_vec())
        .collect();
        cases.extend((0..=255u8).map(|b| vec![b]));
        cases.extend((0..=255u8).map(|b| vec![b'\\', b]));
        cases.extend((0..=255u8).map(|b| vec![b, b'x', b'f', b'f']));
        let mut seen = BTreeSet::new();
        for bytes in &cases {
            let text = bytes_to_string(bytes);
            assert_eq!(
                string_to_bytes(&text).as_deref(),
                Some(&bytes[..]),
                "{bytes:?} -> {text:?}"
            );
            assert!(seen.insert(text.clone()), "two inputs give {text:?}");
        }
        // The literal text `\xff` and the byte 0xFF differ.
        assert_eq!(bytes_to_string(br"\xff"), r"\\xff");
        assert_eq!(bytes_to_string(b"\xff"), r"\xff");
        assert_eq!(bytes_to_string(br"a\b"), r"a\\b");
        assert_eq!(bytes_to_string("é".as_bytes()), "é");
    }

    #[test]
    fn string_to_bytes_refuses_stray_backslashes() {
        for text in [
            r"\", r"a\", r"\q", r"\x", r"\x4", r"\x+f", r"\xg0", "\\xé1", r"\\\",
        ] {
            assert_eq!(string_to_bytes(text), None, "{text:?}");
        }
        assert_eq!(string_to_bytes(r"\x41\xFF").as_deref(), Some(&b"A\xff"[..]));
        assert_eq!(
            string_to_bytes("plain é").as_deref(),
            Some("plain é".as_bytes())
        );
    }
}
