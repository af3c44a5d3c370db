//! What a plugin sees of the payload it scans and of the request around it.
//!
//! The bytes are borrowed from the host (never copied). Everything else is fetched from the host
//! only when asked for, then cached for the rest of the call.

use std::cell::OnceCell;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ffi;
use crate::types::{PayloadMeta, RequestMeta};

/// Where the lazily fetched facts come from: the host, or a fixed set in tests.
pub(crate) trait Context {
    fn query(&self, key: &str) -> Option<String>;
}

impl Context for ffi::HostContextRef<'_> {
    fn query(&self, key: &str) -> Option<String> {
        ffi::HostContext::query(self, key.into())
            .into_option()
            .map(Into::into)
    }
}

/// Facts given directly, for plugins' own unit tests.
impl Context for Map<String, Value> {
    fn query(&self, key: &str) -> Option<String> {
        self.get(key).map(Value::to_string)
    }
}

fn fetch<T: DeserializeOwned>(context: &dyn Context, key: &str) -> Option<T> {
    let json = context.query(key)?;
    match serde_json::from_str(&json) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(key, error = %e, "host answered a context query with unexpected JSON");
            None
        }
    }
}

/// The payload a plugin is asked about (stoQ's `Payload`).
pub struct Payload<'a> {
    content: &'a [u8],
    id: &'a str,
    context: &'a dyn Context,
    meta: OnceCell<PayloadMeta>,
    results: OnceCell<Map<String, Value>>,
    dispatch_meta: OnceCell<Map<String, Value>>,
}

impl<'a> Payload<'a> {
    pub(crate) fn new(content: &'a [u8], id: &'a str, context: &'a dyn Context) -> Self {
        Self {
            content,
            id,
            context,
            meta: OnceCell::new(),
            results: OnceCell::new(),
            dispatch_meta: OnceCell::new(),
        }
    }

    /// A payload for a plugin's own unit tests, outside any host. `facts` answers the lazy
    /// queries by key (`"payload_meta"`, `"worker_results"`, `"dispatch_meta"`, `"depth"`,
    /// `"request_meta"`, `"request_payloads"`), e.g. `json!({"worker_results": {"hash": {..}}})`.
    pub fn for_test(content: &'a [u8], facts: &'a Map<String, Value>) -> Self {
        Self::new(content, "test-payload", facts)
    }

    /// The payload's bytes.
    pub fn content(&self) -> &'a [u8] {
        self.content
    }

    /// The payload's id within the request.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The payload's metadata.
    pub fn meta(&self) -> &PayloadMeta {
        self.meta
            .get_or_init(|| fetch(self.context, ffi::CONTEXT_PAYLOAD_META).unwrap_or_default())
    }

    /// How many extractions separate this payload from its root (0 for a root).
    pub fn depth(&self) -> u32 {
        fetch(self.context, ffi::CONTEXT_DEPTH).unwrap_or(0)
    }

    /// Results that other workers recorded on this payload so far, by worker name. A worker sees
    /// the results of each of its `required_workers` here (stoQ's `payload.results.workers`).
    pub fn worker_results(&self) -> &Map<String, Value> {
        self.results
            .get_or_init(|| fetch(self.context, ffi::CONTEXT_WORKER_RESULTS).unwrap_or_default())
    }

    /// The results one worker recorded on this payload, deserialised.
    pub fn worker_result<T: DeserializeOwned>(&self, worker: &str) -> Option<T> {
        T::deserialize(self.worker_results().get(worker)?).ok()
    }

    /// Dispatch metadata attached to this payload, by dispatcher name (stoQ's
    /// `payload.dispatch_meta`).
    pub fn dispatch_meta(&self) -> &Map<String, Value> {
        self.dispatch_meta
            .get_or_init(|| fetch(self.context, ffi::CONTEXT_DISPATCH_META).unwrap_or_default())
    }

    /// The workers that already ran on this payload.
    pub fn plugins_run(&self) -> Vec<String> {
        fetch(self.context, ffi::CONTEXT_PLUGINS_RUN).unwrap_or_default()
    }
}

/// One payload of the request, as summarised for [`Request::payloads`].
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct PayloadSummary {
    /// The payload's id.
    pub payload_id: String,
    /// Its extraction depth.
    #[serde(default)]
    pub depth: u32,
    /// The workers that already ran on it.
    #[serde(default)]
    pub plugins_run: Vec<String>,
    /// Its metadata.
    #[serde(default)]
    pub payload_meta: PayloadMeta,
}

/// The host's limits for one request, as seen by a plugin ([`Request::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HostLimits {
    /// The largest payload the host keeps, in bytes.
    pub max_payload_size: u64,
    /// Bytes of extracted payloads the request may still add.
    pub extracted_bytes_left: u64,
    /// Extracted payloads the request may still add.
    pub extracted_payloads_left: u64,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_payload_size: u64::MAX,
            extracted_bytes_left: u64::MAX,
            extracted_payloads_left: u64::MAX,
        }
    }
}

impl HostLimits {
    /// Limits with these values (for hosts and for plugins' own tests).
    pub fn new(
        max_payload_size: u64,
        extracted_bytes_left: u64,
        extracted_payloads_left: u64,
    ) -> Self {
        Self {
            max_payload_size,
            extracted_bytes_left,
            extracted_payloads_left,
        }
    }
}

/// The request a payload belongs to (stoQ's `Request`), as far as a plugin may see it.
pub struct Request<'a> {
    context: &'a dyn Context,
    meta: OnceCell<RequestMeta>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(context: &'a dyn Context) -> Self {
        Self {
            context,
            meta: OnceCell::new(),
        }
    }

    /// A request for a plugin's own unit tests; see [`Payload::for_test`].
    pub fn for_test(facts: &'a Map<String, Value>) -> Self {
        Self::new(facts)
    }

    /// The request's metadata.
    pub fn meta(&self) -> &RequestMeta {
        self.meta
            .get_or_init(|| fetch(self.context, ffi::CONTEXT_REQUEST_META).unwrap_or_default())
    }

    /// The request's limits as they stand now. An extracting plugin should stop producing
    /// (decompressing, copying) once a payload would exceed `max_payload_size` or the request
    /// has no bytes left: the host would drop the excess anyway, after it was held. A host
    /// that does not say (e.g. a plugin's own tests without limits) gives `u64::MAX` for
    /// every limit.
    pub fn limits(&self) -> HostLimits {
        fetch(self.context, ffi::CONTEXT_LIMITS).unwrap_or_default()
    }

    /// Every payload in the request so far, with the workers that ran on each (what a
    /// conditional dispatcher looks at).
    pub fn payloads(&self) -> Vec<PayloadSummary> {
        fetch(self.context, ffi::CONTEXT_REQUEST_PAYLOADS).unwrap_or_default()
    }
}
