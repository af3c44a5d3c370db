//! What a [`Provider`](crate::Provider) sends to `stoq run`, and what it learns back.
//!
//! A provider puts [`IngestItem`]s into its [`Sink`](crate::Sink): payload bytes, or a task
//! that a source archiver (`-S`) turns into bytes. Each item becomes one request. Once every
//! connector has handled that request's response, the host tells the provider the item's
//! [`ItemOutcome`] through [`Provider::outcome`](crate::Provider::outcome), so a queue provider
//! acknowledges an entry only when its results are safe, and a folder provider deletes or moves
//! a file only then.
//!
//! Within ABI 1 this travels as JSON: items through [`ffi::ITEM_ENVELOPE`](crate::ffi::ITEM_ENVELOPE),
//! the host's facts and outcomes through [`PluginInstance::call`](crate::ffi::PluginInstance)
//! with the methods [`ffi::CALL_PROVIDER_START`](crate::ffi::CALL_PROVIDER_START) and
//! [`ffi::CALL_PROVIDER_OUTCOME`](crate::ffi::CALL_PROVIDER_OUTCOME). A provider built before
//! these existed keeps working: the host gives its items ids itself and its outcomes go nowhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::{PayloadMeta, RequestMeta};

/// One item a provider hands to `stoq run`: payload bytes or a source-archiver task, with an
/// id the provider chooses (echoed in its [`ItemOutcome`]).
///
/// ```
/// use stoq_plugin_abi::{IngestItem, PayloadMeta};
///
/// let item = IngestItem::payload(b"MZ...".to_vec())
///     .with_id("queue-entry-17")
///     .with_payload_meta(PayloadMeta::default().with_extra("filename", "a.exe"));
/// assert_eq!(item.id(), Some("queue-entry-17"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IngestItem {
    pub(crate) id: Option<String>,
    pub(crate) content: Vec<u8>,
    pub(crate) task: Option<Value>,
    pub(crate) payload_meta: PayloadMeta,
    pub(crate) request_meta: Option<RequestMeta>,
    pub(crate) scan_id: Option<String>,
}

impl IngestItem {
    /// An item carrying payload bytes (handed to the host without a copy).
    pub fn payload(content: impl Into<Vec<u8>>) -> Self {
        Self {
            id: None,
            content: content.into(),
            task: None,
            payload_meta: PayloadMeta::default(),
            request_meta: None,
            scan_id: None,
        }
    }

    /// An item naming bytes a source archiver fetches: stoQ's `{archiver_name: task}`, e.g.
    /// `json!({"filedir": {"sha256": "…"}})`. The archiver must be given to `stoq run -S`.
    pub fn task(task: Value) -> Self {
        Self {
            task: Some(task),
            ..Self::payload(Vec::new())
        }
    }

    /// Sets the item's id, echoed in its outcome. Without one the host makes one up
    /// (`"<provider>:<n>"`).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the payload's metadata (for a task, it is merged under what the archiver returns:
    /// the archiver's `extra_data` keys win).
    #[must_use]
    pub fn with_payload_meta(mut self, meta: PayloadMeta) -> Self {
        self.payload_meta = meta;
        self
    }

    /// Gives the request its own metadata (stoQ's provider `Request`). Without it, the request
    /// gets `stoq run`'s `--request-source`/`--request-extra`.
    #[must_use]
    pub fn with_request_meta(mut self, meta: RequestMeta) -> Self {
        self.request_meta = Some(meta);
        self
    }

    /// Sets the response's `scan_id`, e.g. a queue's task id, so that a connector can store
    /// results idempotently when the same task is delivered twice.
    #[must_use]
    pub fn with_scan_id(mut self, scan_id: impl Into<String>) -> Self {
        self.scan_id = Some(scan_id.into());
        self
    }

    /// The id, if set.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The payload bytes (empty for a task).
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The source-archiver task, for an item made with [`IngestItem::task`].
    pub fn task_value(&self) -> Option<&Value> {
        self.task.as_ref()
    }

    /// The payload's metadata.
    pub fn payload_meta(&self) -> &PayloadMeta {
        &self.payload_meta
    }

    /// The request's metadata, if the provider chose it.
    pub fn request_meta(&self) -> Option<&RequestMeta> {
        self.request_meta.as_ref()
    }

    /// The response's `scan_id`, if the provider chose it.
    pub fn scan_id(&self) -> Option<&str> {
        self.scan_id.as_deref()
    }
}

/// What became of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ItemStatus {
    /// Scanned, and every connector saved the response: acknowledge it. Errors of workers are
    /// in the response; they do not make an item fail.
    Done,
    /// Not processed to the end: a source archiver could not fetch it, the item was invalid,
    /// or a connector failed to save its response ([`ItemOutcome::error`] says which). Keep it
    /// for a retry.
    Failed,
    /// Handed back unfinished because the host is shutting down: offer it again later (for a
    /// queue: make it visible to other hosts at once).
    Returned,
}

/// The outcome of one item, reported after every connector handled its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ItemOutcome {
    /// The item's id, as given in [`IngestItem::with_id`] or made up by the host.
    pub id: String,
    /// What became of it.
    pub status: ItemStatus,
    /// Why it failed or was handed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The response's `scan_id`, when a request ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
}

impl ItemOutcome {
    /// An outcome (the host builds these; tests of providers may too).
    pub fn new(id: impl Into<String>, status: ItemStatus) -> Self {
        Self {
            id: id.into(),
            status,
            error: None,
            scan_id: None,
        }
    }

    /// Sets the reason.
    #[must_use]
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Sets the scan id.
    #[must_use]
    pub fn with_scan_id(mut self, scan_id: impl Into<String>) -> Self {
        self.scan_id = Some(scan_id.into());
        self
    }
}
