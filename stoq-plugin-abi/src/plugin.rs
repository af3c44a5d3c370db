//! The traits a plugin implements: one for the plugin itself (its facts and config hook) and one
//! per role.

use serde_json::Value;

use crate::config::PluginConfig;
use crate::payload::{Payload, Request};
use crate::provider::{IngestItem, ItemEnvelope, ItemOutcome};
use crate::types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, ExtractedPayload, PayloadMeta, Result,
    WorkerResponse,
};

/// What a plugin says about itself. The library carries it, so a bare library file dropped
/// into a plugin folder is self-describing. Build it in a `const` with [`PluginInfo::new`] and
/// the builder methods.
#[derive(Debug, Clone, Copy)]
pub struct PluginInfo {
    /// The unique name users dispatch to (`-s NAME`), e.g. `"hash"`.
    pub name: &'static str,
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// Who wrote it.
    pub author: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// Where to read more.
    pub website: &'static str,
    /// Workers that must run on a payload before this one (overridable by the
    /// `required_workers` option, or in [`Plugin::new`] through [`PluginConfig`]).
    pub required_workers: &'static [&'static str],
    /// Default option values, as a TOML table body (e.g. `"sha512 = false"`). The host parses it
    /// when the library is loaded, so a syntax error is reported at load time.
    pub default_options: &'static str,
}

impl PluginInfo {
    /// Facts with a name and a version; everything else empty.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Self {
            name,
            version,
            author: "",
            description: "",
            website: "",
            required_workers: &[],
            default_options: "",
        }
    }

    /// Sets the author.
    pub const fn author(mut self, author: &'static str) -> Self {
        self.author = author;
        self
    }

    /// Sets the description.
    pub const fn description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Sets the website.
    pub const fn website(mut self, website: &'static str) -> Self {
        self.website = website;
        self
    }

    /// Sets the default required workers.
    pub const fn required_workers(mut self, workers: &'static [&'static str]) -> Self {
        self.required_workers = workers;
        self
    }

    /// Sets the default options (a TOML table body).
    pub const fn default_options(mut self, toml: &'static str) -> Self {
        self.default_options = toml;
        self
    }
}

/// A plugin: its facts and its config hook. Implement it, then one trait per role, then export
/// the type with [`export_plugin!`](crate::export_plugin).
///
/// The host creates one instance per plugin name and calls it from many threads at once, hence
/// `Send + Sync`; keep per-call state on the stack.
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The plugin's facts.
    const INFO: PluginInfo;

    /// The config hook: reads and validates options, and may change
    /// [`required_workers`](PluginConfig::set_required_workers). Return an error for a bad
    /// value; the host reports it naming the plugin and the key and does not use the plugin.
    fn new(config: &mut PluginConfig) -> Result<Self>;
}

/// A worker scans a payload and may extract child payloads (stoQ's `WorkerPlugin`).
pub trait Worker: Plugin {
    /// Scans one payload. `Ok(None)` means "nothing to report". An `Err` is recorded in the
    /// response as an error of this plugin on this payload; the scan of everything else goes on.
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<Option<WorkerResponse>>;
}

/// A dispatcher names the workers that should scan a payload (stoQ's `DispatcherPlugin`).
pub trait Dispatcher: Plugin {
    /// Picks workers for one payload. It may be asked again about the same payload when the
    /// request changes (e.g. after other workers ran).
    fn get_dispatches(
        &self,
        payload: &Payload<'_>,
        request: &Request<'_>,
    ) -> Result<Option<DispatcherResponse>>;
}

/// An archiver saves payloads and fetches them back (stoQ's `ArchiverPlugin`).
pub trait Archiver: Plugin {
    /// Saves one payload (destination archiver).
    fn archive(
        &self,
        payload: &Payload<'_>,
        request: &Request<'_>,
    ) -> Result<Option<ArchiverResponse>>;

    /// Fetches the payload a provider task names (source archiver). The default fetches nothing.
    fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>> {
        let _ = task;
        Ok(None)
    }
}

/// A connector receives every finished response (stoQ's `ConnectorPlugin`).
pub trait Connector: Plugin {
    /// Saves one response (stoQ's JSON shape).
    fn save(&self, response: &Value) -> Result<()>;
}

/// A decorator adds a summary over a whole response (stoQ's `DecoratorPlugin`).
pub trait Decorator: Plugin {
    /// Summarises one response.
    fn decorate(&self, response: &Value) -> Result<Option<DecoratorResponse>>;
}

/// A provider feeds payloads or tasks to `stoq run` (stoQ's `ProviderPlugin`).
///
/// `ingest` runs on a thread of its own for the whole run. The host calls
/// [`outcome`](Provider::outcome) from another thread, once per item, after every connector
/// has handled the item's response: acknowledge there, not when the item is put. A complete
/// example, a provider that reads one file per line of a list and reports what became of each:
///
/// ```
/// use std::sync::Mutex;
/// use stoq_plugin_abi::prelude::*;
/// use stoq_plugin_abi::{IngestItem, ItemOutcome, ItemStatus};
///
/// pub struct ListProvider {
///     list: String,
///     finished: Mutex<Vec<String>>,
/// }
///
/// impl Plugin for ListProvider {
///     const INFO: PluginInfo = PluginInfo::new("list_provider", "0.1.0")
///         .description("Scans the files named in a list");
///     fn new(config: &mut PluginConfig) -> Result<Self> {
///         let list = config.get_str("list")?.ok_or_else(|| Error::msg("option `list` is required"))?;
///         Ok(Self { list, finished: Mutex::new(Vec::new()) })
///     }
/// }
///
/// impl Provider for ListProvider {
///     fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
///         for path in std::fs::read_to_string(&self.list)?.lines() {
///             let meta = PayloadMeta::default().with_extra("filename", path);
///             let item = IngestItem::payload(std::fs::read(path)?).with_id(path).with_payload_meta(meta);
///             // `put` blocks while the host is full; `false` means it is shutting down.
///             if !sink.put(item) {
///                 break;
///             }
///         }
///         Ok(())
///     }
///
///     fn outcome(&self, outcome: &ItemOutcome) {
///         match outcome.status {
///             ItemStatus::Done => self.finished.lock().unwrap().push(outcome.id.clone()),
///             // Failed (e.g. a connector could not save) or handed back at shutdown: keep it.
///             _ => tracing::warn!("{} not finished: {:?}", outcome.id, outcome.error),
///         }
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(ListProvider => provider);
/// # fn main() {}
/// ```
pub trait Provider: Plugin {
    /// Sends items to `sink` until there are no more, or until [`Sink::put`] returns `false`
    /// (the host is shutting down). Returning ends this provider; `stoq run` ends when every
    /// provider has returned and every item is finished. An `Err` is logged with the
    /// provider's name and does not stop other providers.
    fn ingest(&self, sink: &Sink<'_>) -> Result<()>;

    /// What became of one item, called once per item put, after every connector handled its
    /// response (or when the item failed, or was handed back at shutdown). The default does
    /// nothing.
    fn outcome(&self, outcome: &ItemOutcome) {
        let _ = outcome;
    }

    /// Called once, after the last outcome, when `stoq run` is about to exit: finish work the
    /// outcomes started in the background (e.g. acknowledgements in flight). The host waits
    /// for it within its grace period. The default does nothing.
    fn stop(&self) {}
}

/// Where a [`Provider`] sends its items.
pub struct Sink<'a> {
    pub(crate) inner: crate::ffi::ProviderSinkRef<'a>,
    pub(crate) max_in_flight: usize,
}

impl Sink<'_> {
    /// Queues one item; blocks while the host already holds as many items as it takes at
    /// once. `false`: the host is shutting down (the item was not taken) and `ingest` should
    /// return.
    pub fn put(&self, item: IngestItem) -> bool {
        let envelope = ItemEnvelope {
            id: item.id,
            task: item.task,
            payload_meta: item.payload_meta,
            request_meta: item.request_meta,
            scan_id: item.scan_id,
        };
        self.put_raw(
            crate::ffi::ITEM_ENVELOPE,
            item.content,
            serde_json::to_string(&envelope),
        )
    }

    /// How many items the host takes from its providers at once (`stoq run --max-in-flight`).
    /// A provider that reads from a queue should hold no more than this many unfinished items
    /// (put, with no outcome yet); it is 0 for a host that does not say.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Queues a payload with no id (the host makes one up); blocks while the host's queue is
    /// full. `false`: stop providing. [`Sink::put`] does the same with an id and request
    /// metadata.
    pub fn put_payload(&self, content: Vec<u8>, meta: &PayloadMeta) -> bool {
        self.put_raw(
            crate::ffi::ITEM_PAYLOAD,
            content,
            serde_json::to_string(meta),
        )
    }

    /// Queues a task for the source archivers (stoQ's `{archiver_name: task_meta}`).
    pub fn put_task(&self, task: &Value) -> bool {
        self.put_raw(
            crate::ffi::ITEM_TASK,
            Vec::new(),
            serde_json::to_string(task),
        )
    }

    fn put_raw(&self, kind: u8, content: Vec<u8>, json: serde_json::Result<String>) -> bool {
        let json = json.unwrap_or_default();
        crate::ffi::ProviderSink::put(
            &self.inner,
            crate::ffi::ProviderItem {
                kind,
                content: content.into(),
                json: json.into(),
            },
        )
    }
}
