//! The traits a plugin implements: one for the plugin itself (its facts and config hook) and one
//! per role.

use serde_json::Value;

use crate::config::PluginConfig;
use crate::options::OptionSpec;
use crate::payload::{Payload, Request};
use crate::provider::{IngestItem, ItemOutcome};
use crate::types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, ExtractedPayload, PayloadMeta, Result,
    WorkerResponse,
};
use crate::wire::ItemEnvelope;

/// What a plugin says about itself. The library carries it, so a bare library file dropped
/// into a plugin folder is self-describing. Build it in a `const` with [`PluginInfo::new`] and
/// the builder methods.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
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
    /// The options the plugin accepts, each with a type, a default and a line of doc
    /// ([`OptionSpec`]). The host checks every configured value against them before the
    /// config hook runs, and the getters of [`PluginConfig`] return the defaults.
    pub options: &'static [OptionSpec],
    /// The oldest stoq host the plugin works with (e.g. `"0.2.0"`), empty for any. A host
    /// older than this refuses to load the plugin and names both versions.
    pub min_stoq_version: &'static str,
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
            options: &[],
            min_stoq_version: "",
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

    /// Declares the options ([`OptionSpec`]).
    pub const fn options(mut self, options: &'static [OptionSpec]) -> Self {
        self.options = options;
        self
    }

    /// Sets the oldest stoq host the plugin works with.
    pub const fn min_stoq_version(mut self, version: &'static str) -> Self {
        self.min_stoq_version = version;
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
    /// Scans one payload. [`WorkerResponse::empty`] means "nothing to report". An `Err` is
    /// recorded in the response as an error of this plugin on this payload; the scan of
    /// everything else goes on.
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse>;
}

/// A dispatcher names the workers that should scan a payload (stoQ's `DispatcherPlugin`).
///
/// A complete example: send Windows executables to `peinfo`, and archives to `decompress`
/// once `hash` has run on them (a dispatcher is asked again when the request changes).
///
/// ```
/// use stoq_plugin_abi::prelude::*;
///
/// pub struct ByMagic;
///
/// impl Plugin for ByMagic {
///     const INFO: PluginInfo = PluginInfo::new("by_magic", "1.0.0")
///         .description("Routes payloads by their first bytes");
///     fn new(_config: &mut PluginConfig) -> Result<Self> {
///         Ok(Self)
///     }
/// }
///
/// impl Dispatcher for ByMagic {
///     fn get_dispatches(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<DispatcherResponse> {
///         let content = payload.content();
///         if content.starts_with(b"MZ") {
///             return Ok(DispatcherResponse::new(["peinfo"]).with_meta("peinfo", json!({"magic": "MZ"})));
///         }
///         if content.starts_with(b"PK\x03\x04") && payload.plugins_run().iter().any(|p| p == "hash") {
///             return Ok(DispatcherResponse::new(["decompress"]));
///         }
///         Ok(DispatcherResponse::empty())
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(ByMagic => dispatcher);
/// # fn main() {}
/// ```
pub trait Dispatcher: Plugin {
    /// Picks workers for one payload. It may be asked again about the same payload when the
    /// request changes (e.g. after other workers ran).
    fn get_dispatches(
        &self,
        payload: &Payload<'_>,
        request: &Request<'_>,
    ) -> Result<DispatcherResponse>;
}

/// An archiver saves payloads and fetches them back (stoQ's `ArchiverPlugin`).
///
/// A complete example: save each payload in a folder under its SHA-256, and fetch it back for
/// a provider task `{"folder_archiver": {"sha256": ".."}}` (`stoq run -S folder_archiver`).
///
/// ```
/// use std::path::PathBuf;
/// use stoq_plugin_abi::prelude::*;
///
/// pub struct FolderArchiver {
///     folder: PathBuf,
/// }
///
/// impl Plugin for FolderArchiver {
///     const INFO: PluginInfo = PluginInfo::new("folder_archiver", "1.0.0")
///         .options(&[OptionSpec::string("folder", "").required().doc("Where payloads are saved")]);
///     fn new(config: &mut PluginConfig) -> Result<Self> {
///         Ok(Self { folder: config.string("folder")?.into() })
///     }
/// }
///
/// impl Archiver for FolderArchiver {
///     fn archive(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<ArchiverResponse> {
///         // A real archiver names files by a digest; the id keeps the example short.
///         let path = self.folder.join(payload.id());
///         std::fs::write(&path, payload.content())?;
///         Ok(ArchiverResponse::new(json!({"path": path.display().to_string()})))
///     }
///
///     fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>> {
///         let Some(name) = task.get("sha256").and_then(Value::as_str) else {
///             return Err(Error::msg("the task names no `sha256`"));
///         };
///         let content = std::fs::read(self.folder.join(name))?;
///         Ok(Some(ExtractedPayload::new(content).with_extra("sha256", name)))
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(FolderArchiver => archiver);
/// # fn main() {}
/// ```
pub trait Archiver: Plugin {
    /// Saves one payload (destination archiver).
    fn archive(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<ArchiverResponse>;

    /// Fetches the payload a provider task names (source archiver). The default fetches nothing.
    fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>> {
        let _ = task;
        Ok(None)
    }
}

/// A connector receives every finished response (stoQ's `ConnectorPlugin`).
///
/// A complete example: append each response as one JSON line to a file. An `Err` is recorded
/// with the connector's name, and `stoq run` tells the provider the item failed, so nothing
/// is acknowledged that was not saved.
///
/// ```
/// use std::io::Write;
/// use std::sync::Mutex;
/// use stoq_plugin_abi::prelude::*;
///
/// pub struct JsonLines {
///     file: Mutex<std::fs::File>,
/// }
///
/// impl Plugin for JsonLines {
///     const INFO: PluginInfo = PluginInfo::new("json_lines", "1.0.0")
///         .options(&[OptionSpec::string("path", "responses.jsonl").doc("The file appended to")]);
///     fn new(config: &mut PluginConfig) -> Result<Self> {
///         let file = std::fs::OpenOptions::new().create(true).append(true).open(config.string("path")?)?;
///         Ok(Self { file: Mutex::new(file) })
///     }
/// }
///
/// impl Connector for JsonLines {
///     fn save(&self, response: &Value) -> Result<()> {
///         let mut file = self.file.lock().map_err(|_| Error::msg("a writer panicked"))?;
///         writeln!(file, "{response}")?;
///         Ok(())
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(JsonLines => connector);
/// # fn main() {}
/// ```
pub trait Connector: Plugin {
    /// Saves one response (stoQ's JSON shape).
    fn save(&self, response: &Value) -> Result<()>;
}

/// A decorator adds a summary over a whole response (stoQ's `DecoratorPlugin`).
///
/// A complete example: count the payloads and errors of a response; the result appears under
/// `decorators.summary`.
///
/// ```
/// use stoq_plugin_abi::prelude::*;
///
/// pub struct Summary;
///
/// impl Plugin for Summary {
///     const INFO: PluginInfo = PluginInfo::new("summary", "1.0.0");
///     fn new(_config: &mut PluginConfig) -> Result<Self> {
///         Ok(Self)
///     }
/// }
///
/// impl Decorator for Summary {
///     fn decorate(&self, response: &Value) -> Result<DecoratorResponse> {
///         let count = |key: &str| response[key].as_array().map_or(0, Vec::len);
///         Ok(DecoratorResponse::new(json!({"payloads": count("results"), "errors": count("errors")})))
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(Summary => decorator);
/// # fn main() {}
/// ```
pub trait Decorator: Plugin {
    /// Summarises one response.
    fn decorate(&self, response: &Value) -> Result<DecoratorResponse>;
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
///         .description("Scans the files named in a list")
///         .options(&[OptionSpec::string("list", "").required().doc("A file naming one file per line")]);
///     fn new(config: &mut PluginConfig) -> Result<Self> {
///         Ok(Self { list: config.string("list")?, finished: Mutex::new(Vec::new()) })
///     }
/// }
///
/// impl Provider for ListProvider {
///     fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
///         for path in std::fs::read_to_string(&self.list)?.lines() {
///             let meta = PayloadMeta::new().with_extra("filename", path);
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
