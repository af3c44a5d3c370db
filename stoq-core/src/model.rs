//! The response: stoQ v3's JSON shape, field for field, plus `depth`.

use serde::Serialize;
use serde_json::{Map, Value};
use stoq_plugin_abi::{PayloadMeta, RequestMeta};

/// One finished request (stoQ's `StoqResponse`). Serialises with stoQ's key order.
#[derive(Debug, Clone, Serialize)]
pub struct StoqResponse {
    /// One entry per payload: roots first, each extracted payload after its parent.
    pub results: Vec<PayloadResults>,
    /// The request's metadata.
    pub request_meta: RequestMeta,
    /// Every error of the request, as data.
    pub errors: Vec<ErrorRecord>,
    /// When the response was built (UTC, RFC 3339); `null` in deterministic mode.
    pub time: Option<String>,
    /// Decorator results by decorator name.
    pub decorators: Map<String, Value>,
    /// The request's id.
    pub scan_id: String,
}

/// What is known about one payload (stoQ's `PayloadResults`).
#[derive(Debug, Clone, Serialize)]
pub struct PayloadResults {
    /// Its size in bytes.
    pub size: u64,
    /// Its id.
    pub payload_id: String,
    /// Its metadata (for a deduplicated payload: the first extraction's).
    pub payload_meta: PayloadMeta,
    /// The plugins that ran on it, in completion order.
    pub plugins_run: PluginsRun,
    /// Parent payload ids; parallel to `extracted_by`.
    pub extracted_from: Vec<String>,
    /// The workers that extracted it; parallel to `extracted_from`.
    pub extracted_by: Vec<String>,
    /// The `extra_data` each extraction carried (e.g. a file name), parallel to
    /// `extracted_from`: a deduplicated payload keeps every name it was found under.
    pub extracted_extra_data: Vec<Map<String, Value>>,
    /// Worker results by worker name.
    pub workers: Map<String, Value>,
    /// Archiver results by archiver name.
    pub archivers: Map<String, Value>,
    /// Extractions between this payload and its root (0 for roots).
    pub depth: u32,
}

/// The plugins that ran on a payload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PluginsRun {
    /// Workers, in completion order; a worker that failed is listed too.
    pub workers: Vec<String>,
    /// Destination archivers.
    pub archivers: Vec<String>,
}

/// One error of a request (stoQ's `Error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// What happened.
    pub error: String,
    /// The plugin concerned, if any.
    pub plugin_name: Option<String>,
    /// The payload concerned, if any.
    pub payload_id: Option<String>,
}
