//! The binary surface of ABI v1: every type that crosses the library boundary.
//!
//! Plugin authors never touch this module: [`export_plugin!`](crate::export_plugin) generates
//! the plugin side and the `host` feature wraps the host side. It is public so that both sides
//! name the same types, and so that the layout is documented.
//!
//! # Evolution rules (read before changing anything here)
//!
//! abi_stable checks the whole type graph below when a library is loaded, and a *newer host*
//! rejects an *older plugin* as soon as any prefix type (root module or trait vtable) has grown
//! ("too many fields"). ABI v1 therefore never changes these layouts. Everything that may evolve
//! travels as data:
//!
//! - the plugin's manifest, its configuration, instance facts, worker/dispatcher/archiver
//!   responses and provider tasks are JSON documents (new keys are ignored by old readers);
//! - what a plugin may ask about the request is a string-keyed [`HostContext::query`];
//! - new hooks go through [`PluginInstance::call`] with a method name.
//!
//! Changing a layout here is an ABI major bump of `stoq-plugin-abi`.

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec},
};

/// The root module a plugin library exports (one per library; the library may hold several
/// plugins, listed in its manifest).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Returns the library's manifest as JSON ([`wire::Manifest`](crate::wire::Manifest)):
    /// the ABI version and each plugin's name, version, author, description, website, roles,
    /// required workers, declared options and `min_stoq_version`. Runs no plugin logic beyond
    /// building that document.
    pub manifest: extern "C" fn() -> RString,
    /// The config hook: builds an instance of one plugin of the library from its merged
    /// options ([`wire::InstanceConfig`](crate::wire::InstanceConfig):
    /// `{"plugin_name": .., "options": {..}}`). The host calls it once per plugin name.
    #[sabi(last_prefix_field)]
    pub instantiate:
        extern "C" fn(config: RStr<'_>, host: HostApi) -> RResult<NewInstance, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "stoq_plugin";
    const NAME: &'static str = "stoq_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// What `instantiate` returns: the instance, and facts about it as JSON
/// (`{"required_workers": [..], "unused_options": [..]}`).
#[repr(C)]
#[derive(StableAbi)]
pub struct NewInstance {
    /// The instance; dropping it runs the plugin's destructor inside the plugin.
    pub instance: PluginBox,
    /// Facts the host needs after the config hook ran, as a JSON object.
    pub info: RString,
}

/// An owned plugin instance behind an FFI-safe trait object.
pub type PluginBox = PluginInstance_TO<'static, RBox<()>>;

/// An error returned across the boundary.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginError {
    /// One of the `ERROR_*` constants; unknown values are treated as [`ERROR_FAILED`].
    pub kind: u32,
    /// Human-readable message.
    pub message: RString,
}

/// The plugin returned an error.
pub const ERROR_FAILED: u32 = 0;
/// The plugin panicked; the panic was caught inside the plugin.
pub const ERROR_PANIC: u32 = 1;
/// The plugin's options were rejected by its config hook.
pub const ERROR_CONFIG: u32 = 2;
/// The plugin does not have the role (or the extension method) that was called.
pub const ERROR_UNSUPPORTED: u32 = 3;

/// Services the host offers a plugin. Frozen for ABI v1.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostApi {
    /// Emits one log event in the host's log.
    pub log: extern "C" fn(record: LogRecord<'_>),
    /// The most verbose level the host records (one of the `LEVEL_*` constants);
    /// the plugin drops more verbose events without formatting them.
    pub max_level: u8,
}

/// One log event forwarded from a plugin.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogRecord<'a> {
    /// One of the `LEVEL_*` constants.
    pub level: u8,
    /// The plugin's name.
    pub plugin: RStr<'a>,
    /// The event's target (usually the plugin's module path).
    pub target: RStr<'a>,
    /// The formatted message and fields.
    pub message: RStr<'a>,
}

/// Log level: error.
pub const LEVEL_ERROR: u8 = 1;
/// Log level: warning.
pub const LEVEL_WARN: u8 = 2;
/// Log level: info.
pub const LEVEL_INFO: u8 = 3;
/// Log level: debug.
pub const LEVEL_DEBUG: u8 = 4;
/// Log level: trace.
pub const LEVEL_TRACE: u8 = 5;

/// A payload handed to a worker, dispatcher or archiver, borrowed for the duration of the call.
#[repr(C)]
#[derive(StableAbi)]
pub struct PayloadInput<'a> {
    /// The payload's bytes, never copied.
    pub content: RSlice<'a, u8>,
    /// The payload's id within the request.
    pub payload_id: RStr<'a>,
    /// Everything else about the payload and the request, asked for lazily.
    pub context: HostContextRef<'a>,
}

/// A borrowed [`HostContext`] trait object.
pub type HostContextRef<'a> = HostContext_TO<'a, abi_stable::sabi_types::RRef<'a, ()>>;

/// The host's view of the request, queried by key. Keys and their JSON answers are listed in
/// the crate's `context` keys (`CONTEXT_*` constants); an unknown key answers `None`, so new
/// keys can be added without changing the ABI.
#[sabi_trait]
pub trait HostContext {
    /// Answers `key` with a JSON document, or `None` when the host does not know the key.
    #[sabi(last_prefix_field)]
    fn query(&self, key: RStr<'_>) -> ROption<RString>;
}

/// The payload's metadata (`PayloadMeta` as JSON).
pub const CONTEXT_PAYLOAD_META: &str = "payload_meta";
/// The request's metadata (`RequestMeta` as JSON).
pub const CONTEXT_REQUEST_META: &str = "request_meta";
/// The payload's extraction depth (a JSON number, 0 for roots).
pub const CONTEXT_DEPTH: &str = "depth";
/// The dispatch metadata of the payload: an object keyed by dispatcher name.
pub const CONTEXT_DISPATCH_META: &str = "dispatch_meta";
/// The worker results recorded so far on this payload: an object keyed by worker name.
pub const CONTEXT_WORKER_RESULTS: &str = "worker_results";
/// The workers that already ran on this payload: a JSON array of names.
pub const CONTEXT_PLUGINS_RUN: &str = "plugins_run";
/// A summary of every payload in the request: an array of
/// `{"payload_id", "depth", "plugins_run": [..], "payload_meta"}`.
pub const CONTEXT_REQUEST_PAYLOADS: &str = "request_payloads";
/// The request's limits as they stand now: `{"max_payload_size",
/// "extracted_bytes_left", "extracted_payloads_left"}`, numbers of bytes or payloads.
pub const CONTEXT_LIMITS: &str = "limits";

/// What a worker's `scan` returns.
#[repr(C)]
#[derive(StableAbi)]
pub struct WorkerOutput {
    /// `{"results": any, "errors": [..], "dispatch_to": [..]}` as JSON; empty for "no response".
    pub response: RString,
    /// Payloads extracted by the worker; their bytes are handed over without a copy.
    pub extracted: RVec<ExtractedFfi>,
}

/// One extracted payload.
#[repr(C)]
#[derive(StableAbi)]
pub struct ExtractedFfi {
    /// The bytes; the host takes ownership (the buffer is freed by the plugin's allocator).
    pub content: RVec<u8>,
    /// The payload's `PayloadMeta` as JSON.
    pub payload_meta: RString,
}

/// One item a provider puts into the host's queue.
#[repr(C)]
#[derive(StableAbi)]
pub struct ProviderItem {
    /// [`ITEM_PAYLOAD`] (`content` + `json` = `PayloadMeta`), [`ITEM_TASK`] (`json` = a
    /// task for a source archiver, `content` empty) or [`ITEM_ENVELOPE`]. Unknown kinds are
    /// rejected by the host.
    pub kind: u8,
    /// The payload bytes, for [`ITEM_PAYLOAD`].
    pub content: RVec<u8>,
    /// JSON that goes with the item.
    pub json: RString,
}

/// A provider item that carries payload bytes.
pub const ITEM_PAYLOAD: u8 = 0;
/// A provider item that names bytes a source archiver fetches.
pub const ITEM_TASK: u8 = 1;
/// A provider item with an envelope: `json` is `{"id", "task", "payload_meta",
/// "request_meta", "scan_id"}` (all optional); with a `task` it is a source-archiver task and
/// `content` is empty, otherwise `content` holds the payload.
pub const ITEM_ENVELOPE: u8 = 2;

/// [`PluginInstance::call`] method, provider role: the host's facts before
/// `ingest`, as JSON `{"max_in_flight": N}`. Answer: empty.
pub const CALL_PROVIDER_START: &str = "provider_start";
/// [`PluginInstance::call`] method, provider role: the outcome of one item, as
/// JSON `{"id", "status": "done"|"failed"|"returned", "error", "scan_id"}`, sent once every
/// connector has handled the item's response. Answer: empty. A plugin that answers
/// [`ERROR_UNSUPPORTED`] receives no further outcomes.
pub const CALL_PROVIDER_OUTCOME: &str = "provider_outcome";
/// [`PluginInstance::call`] method, provider role: the host has delivered its
/// last outcome and is about to exit; finish what the outcomes started (e.g. acknowledgements
/// still in flight). Input and answer: empty.
pub const CALL_PROVIDER_STOP: &str = "provider_stop";

/// Where a provider sends its items.
#[sabi_trait]
pub trait ProviderSink: Send + Sync {
    /// Queues one item; blocks while the host's queue is full. Returns `false` when the host is
    /// shutting down and the provider should return.
    #[sabi(last_prefix_field)]
    fn put(&self, item: ProviderItem) -> bool;
}

/// A borrowed [`ProviderSink`] trait object.
pub type ProviderSinkRef<'a> = ProviderSink_TO<'a, abi_stable::sabi_types::RRef<'a, ()>>;

/// A plugin instance: one method per role of SPEC §1, plus an extension hook. A plugin
/// implements the roles it declares; the others answer [`ERROR_UNSUPPORTED`].
#[sabi_trait]
pub trait PluginInstance: Send + Sync {
    /// Worker: scans one payload.
    fn scan(&self, payload: PayloadInput<'_>) -> RResult<WorkerOutput, PluginError>;
    /// Dispatcher: names workers for a payload. Returns `{"plugin_names", "meta", "errors"}`.
    fn get_dispatches(&self, payload: PayloadInput<'_>) -> RResult<RString, PluginError>;
    /// Archiver: saves a payload. Returns `{"results", "errors"}`.
    fn archive(&self, payload: PayloadInput<'_>) -> RResult<RString, PluginError>;
    /// Archiver: fetches the payload a provider task names (`task` is JSON).
    fn get(&self, task: RStr<'_>) -> RResult<ROption<ExtractedFfi>, PluginError>;
    /// Connector: saves a finished response (JSON). Returns `{"errors"}`.
    fn save(&self, response: RStr<'_>) -> RResult<RString, PluginError>;
    /// Decorator: summarises a finished response (JSON). Returns `{"results", "errors"}`.
    fn decorate(&self, response: RStr<'_>) -> RResult<RString, PluginError>;
    /// Provider: feeds items to the host until done or until `sink.put` returns `false`.
    fn ingest(&self, sink: ProviderSinkRef<'_>) -> RResult<(), PluginError>;
    /// Extension hook for methods added within ABI major 1: `method` names it, `input` and
    /// the output are method-defined bytes. Unknown methods answer [`ERROR_UNSUPPORTED`].
    #[sabi(last_prefix_field)]
    fn call(&self, method: RStr<'_>, input: RSlice<'_, u8>) -> RResult<RVec<u8>, PluginError>;
}
