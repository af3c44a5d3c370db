//! The plugin side of the boundary: [`export_plugin!`](crate::export_plugin) and what it expands
//! to. Every entry point catches panics here, inside the plugin: a panic cannot cross the
//! boundary (the host would abort), so it becomes an error the host records.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};
use serde_json::{Map, Value, json};

use crate::config::{OptionError, PluginConfig};
use crate::ffi::{self, HostApi, NewInstance, PayloadInput, PluginError, PluginInstance_TO};
use crate::options::OptionSpec;
use crate::payload::{Payload, Request};
use crate::plugin::{
    Archiver, Connector, Decorator, Dispatcher, Plugin, PluginInfo, Provider, Sink, Worker,
};
use crate::provider::ItemOutcome;
use crate::types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, Error, ExtractedPayload, Result,
    WorkerResponse,
};
use crate::wire::{InstanceConfig, InstanceFacts, ProviderStart, WorkerEnvelope};

type ScanFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<WorkerResponse>;
type DispatchFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<DispatcherResponse>;
type ArchiveFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<ArchiverResponse>;
type GetFn<T> = fn(&T, &Value) -> Result<Option<ExtractedPayload>>;
type SaveFn<T> = fn(&T, &Value) -> Result<()>;
type DecorateFn<T> = fn(&T, &Value) -> Result<DecoratorResponse>;
type IngestFn<T> = fn(&T, &Sink<'_>) -> Result<()>;
type OutcomeFn<T> = fn(&T, &ItemOutcome);
type StopFn<T> = fn(&T);

/// The roles a plugin type exports, as function pointers filled in by `export_plugin!`.
pub struct Roles<T> {
    names: Vec<&'static str>,
    scan: Option<ScanFn<T>>,
    dispatch: Option<DispatchFn<T>>,
    archive: Option<ArchiveFn<T>>,
    get: Option<GetFn<T>>,
    save: Option<SaveFn<T>>,
    decorate: Option<DecorateFn<T>>,
    ingest: Option<IngestFn<T>>,
    outcome: Option<OutcomeFn<T>>,
    stop: Option<StopFn<T>>,
}

impl<T> Roles<T> {
    /// No roles yet.
    pub fn none() -> Self {
        Self {
            names: Vec::new(),
            scan: None,
            dispatch: None,
            archive: None,
            get: None,
            save: None,
            decorate: None,
            ingest: None,
            outcome: None,
            stop: None,
        }
    }

    /// The role names, as written in the manifest.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

impl<T: Worker> Roles<T> {
    /// Adds the worker role.
    pub fn worker(&mut self) {
        self.names.push("worker");
        self.scan = Some(T::scan);
    }
}
impl<T: Dispatcher> Roles<T> {
    /// Adds the dispatcher role.
    pub fn dispatcher(&mut self) {
        self.names.push("dispatcher");
        self.dispatch = Some(T::get_dispatches);
    }
}
impl<T: Archiver> Roles<T> {
    /// Adds the archiver role.
    pub fn archiver(&mut self) {
        self.names.push("archiver");
        self.archive = Some(T::archive);
        self.get = Some(T::get);
    }
}
impl<T: Connector> Roles<T> {
    /// Adds the connector role.
    pub fn connector(&mut self) {
        self.names.push("connector");
        self.save = Some(T::save);
    }
}
impl<T: Decorator> Roles<T> {
    /// Adds the decorator role.
    pub fn decorator(&mut self) {
        self.names.push("decorator");
        self.decorate = Some(T::decorate);
    }
}
impl<T: Provider> Roles<T> {
    /// Adds the provider role.
    pub fn provider(&mut self) {
        self.names.push("provider");
        self.ingest = Some(T::ingest);
        self.outcome = Some(T::outcome);
        self.stop = Some(T::stop);
    }
}

thread_local! {
    /// Set while a guarded entry point runs on this thread, so the panic hook records instead
    /// of printing.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    /// The message and location of the last panic caught on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The plugin whose entry point runs on this thread (a library may hold several), for
    /// the names on forwarded log events.
    static CURRENT: Cell<&'static str> = const { Cell::new("") };
}

/// The plugin whose entry point runs on this thread, or `""` outside any call.
pub(crate) fn current_plugin() -> &'static str {
    CURRENT.with(Cell::get)
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_CALL.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = panic_message(info.payload());
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            } else {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Runs `f` as plugin `plugin`, turning an error or a panic into a [`PluginError`].
fn guard<R>(
    plugin: &'static str,
    kind_on_error: u32,
    f: impl FnOnce() -> Result<R, PluginError>,
) -> RResult<R, PluginError> {
    install_panic_hook();
    let was_in_call = IN_CALL.with(|c| c.replace(true));
    let was_current = CURRENT.with(|c| c.replace(plugin));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(was_in_call));
    CURRENT.with(|c| c.set(was_current));
    match outcome {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(mut err)) => {
            if err.kind == ffi::ERROR_FAILED {
                err.kind = kind_on_error;
            }
            RResult::RErr(err)
        }
        Err(payload) => {
            let message = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| panic_message(payload.as_ref()));
            RResult::RErr(PluginError {
                kind: ffi::ERROR_PANIC,
                message: message.into(),
            })
        }
    }
}

fn failed(err: Error) -> PluginError {
    PluginError {
        kind: ffi::ERROR_FAILED,
        message: err.message().into(),
    }
}

fn unsupported(role: &str) -> PluginError {
    PluginError {
        kind: ffi::ERROR_UNSUPPORTED,
        message: format!("the plugin is not a {role}").into(),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<RString, PluginError> {
    serde_json::to_string(value)
        .map(RString::from)
        .map_err(|e| failed(e.into()))
}

type Build = Box<dyn Fn(Map<String, Value>, HostApi) -> Result<NewInstance, PluginError>>;

/// One plugin type of a library, type-erased by [`export_plugin!`](crate::export_plugin).
pub struct Exported {
    info: PluginInfo,
    roles: Vec<&'static str>,
    build: Build,
}

impl Exported {
    /// Plugin type `T` with the roles `roles` names.
    pub fn new<T: Plugin>(roles: fn() -> Roles<T>) -> Self {
        Self {
            info: T::INFO,
            roles: roles().names().to_vec(),
            build: Box::new(move |options, host| build::<T>(options, host, roles)),
        }
    }

    /// The plugin's facts.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The manifest entry of this plugin.
    fn manifest(&self) -> Result<Value, String> {
        let info = &self.info;
        let options = info
            .options
            .iter()
            .map(OptionSpec::declare)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("plugin `{}`: {e}", info.name))?;
        Ok(json!({
            "name": info.name,
            "version": info.version,
            "author": info.author,
            "description": info.description,
            "website": info.website,
            "roles": self.roles,
            "required_workers": info.required_workers,
            "options": options,
            "min_stoq_version": info.min_stoq_version,
        }))
    }
}

/// Builds the manifest JSON of a library's plugins: `{"abi_version", "plugins": [..]}`.
pub fn manifest(plugins: fn() -> Vec<Exported>) -> RString {
    let outcome = guard("", ffi::ERROR_FAILED, || {
        let entries = plugins()
            .iter()
            .map(Exported::manifest)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| PluginError {
                kind: ffi::ERROR_FAILED,
                message: message.into(),
            })?;
        let mut names: Vec<&str> = entries.iter().filter_map(|e| e["name"].as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(PluginError {
                kind: ffi::ERROR_FAILED,
                message: format!("two plugins of the library are named `{}`", pair[0]).into(),
            });
        }
        to_json(&json!({
            "abi_version": env!("CARGO_PKG_VERSION"),
            "plugins": entries,
        }))
    });
    // A manifest that cannot be built is reported by the host as invalid JSON.
    outcome.unwrap_or_else(|e| e.message)
}

/// The config hook of a library: picks the plugin the host names and builds an instance of
/// it from its options.
pub fn instantiate(
    config: RStr<'_>,
    host: HostApi,
    plugins: fn() -> Vec<Exported>,
) -> RResult<NewInstance, PluginError> {
    let exported = plugins();
    let first = exported.first().map_or("", |e| e.info.name);
    crate::log::install(host, first);
    let parsed = match serde_json::from_str::<InstanceConfig>(config.as_str()) {
        Ok(parsed) => parsed,
        Err(e) => return RResult::RErr(failed(e.into())),
    };
    let Some(entry) = exported
        .iter()
        .find(|e| e.info.name == parsed.plugin_name)
        .or_else(|| (exported.len() == 1 && parsed.plugin_name.is_empty()).then(|| &exported[0]))
    else {
        return RResult::RErr(PluginError {
            kind: ffi::ERROR_CONFIG,
            message: format!("this library has no plugin named `{}`", parsed.plugin_name).into(),
        });
    };
    (entry.build)(parsed.options, host).into()
}

/// A plugin after its config hook ran, with the facts the host learns about it.
pub(crate) struct Configured<T> {
    pub(crate) inner: T,
    pub(crate) required_workers: Vec<String>,
    pub(crate) unused_options: Vec<String>,
}

/// Checks and completes the options of `T` against its declarations and runs its config hook.
pub(crate) fn configure<T: Plugin>(
    mut options: Map<String, Value>,
) -> Result<Configured<T>, PluginError> {
    let name = T::INFO.name;
    guard(name, ffi::ERROR_CONFIG, || {
        let declared = T::INFO
            .options
            .iter()
            .map(OptionSpec::declare)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failed(Error::msg(e)))?;
        crate::options::resolve(&declared, &mut options).map_err(|(key, reason)| {
            failed(Error::msg(OptionError {
                plugin: name.to_owned(),
                key,
                reason,
            }))
        })?;
        let mut plugin_config = PluginConfig::new(name, options, T::INFO.required_workers)
            .map_err(|e| failed(e.into()))?;
        let inner = T::new(&mut plugin_config).map_err(failed)?;
        Ok(Configured {
            inner,
            required_workers: plugin_config.required_workers().iter().cloned().collect(),
            unused_options: plugin_config.unused_keys(),
        })
    })
    .into_result()
}

/// Configures `T` and wraps the instance for the host.
fn build<T: Plugin>(
    options: Map<String, Value>,
    _host: HostApi,
    roles: fn() -> Roles<T>,
) -> Result<NewInstance, PluginError> {
    let configured = configure::<T>(options)?;
    let info = to_json(&InstanceFacts {
        required_workers: configured.required_workers,
        unused_options: configured.unused_options,
    })?;
    let adapter = Adapter {
        inner: configured.inner,
        roles: roles(),
        max_in_flight: AtomicUsize::new(0),
    };
    Ok(NewInstance {
        instance: PluginInstance_TO::from_value(adapter, TD_Opaque),
        info,
    })
}

/// A plugin instance behind the FFI trait object.
struct Adapter<T> {
    inner: T,
    roles: Roles<T>,
    /// What the host said in [`ffi::CALL_PROVIDER_START`], for [`Sink::max_in_flight`].
    max_in_flight: AtomicUsize,
}

pub(crate) fn encode_extracted(
    extracted: ExtractedPayload,
) -> Result<ffi::ExtractedFfi, PluginError> {
    Ok(ffi::ExtractedFfi {
        payload_meta: to_json(&extracted.payload_meta)?,
        // `RVec::from(Vec)` takes over the allocation: no copy.
        content: extracted.content.into(),
    })
}

fn encode_worker(response: WorkerResponse) -> Result<ffi::WorkerOutput, PluginError> {
    if response.is_empty() {
        return Ok(ffi::WorkerOutput {
            response: RString::new(),
            extracted: RVec::new(),
        });
    }
    let envelope = WorkerEnvelope {
        results: response.results,
        errors: response.errors,
        dispatch_to: response.dispatch_to,
    };
    let extracted = response
        .extracted
        .into_iter()
        .map(encode_extracted)
        .collect::<Result<RVec<_>, _>>()?;
    Ok(ffi::WorkerOutput {
        response: to_json(&envelope)?,
        extracted,
    })
}

fn parse_json(text: RStr<'_>) -> Result<Value, PluginError> {
    serde_json::from_str(text.as_str()).map_err(|e| failed(e.into()))
}

// The role entry points, shared by the FFI adapter and the test harness
// ([`crate::testing`]), so that a plugin's own tests run the code the host runs.

fn with_payload<R>(input: &PayloadInput<'_>, f: impl FnOnce(&Payload<'_>, &Request<'_>) -> R) -> R {
    let payload = Payload::new(
        input.content.as_slice(),
        input.payload_id.as_str(),
        &input.context,
    );
    let request = Request::new(&input.context);
    f(&payload, &request)
}

pub(crate) fn call_scan<T: Plugin>(
    inner: &T,
    scan: ScanFn<T>,
    input: PayloadInput<'_>,
) -> RResult<ffi::WorkerOutput, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let response = with_payload(&input, |p, r| scan(inner, p, r)).map_err(failed)?;
        encode_worker(response)
    })
}

pub(crate) fn call_dispatch<T: Plugin>(
    inner: &T,
    dispatch: DispatchFn<T>,
    input: PayloadInput<'_>,
) -> RResult<RString, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let response = with_payload(&input, |p, r| dispatch(inner, p, r)).map_err(failed)?;
        to_json(&response)
    })
}

pub(crate) fn call_archive<T: Plugin>(
    inner: &T,
    archive: ArchiveFn<T>,
    input: PayloadInput<'_>,
) -> RResult<RString, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let response = with_payload(&input, |p, r| archive(inner, p, r)).map_err(failed)?;
        to_json(&response)
    })
}

pub(crate) fn call_get<T: Plugin>(
    inner: &T,
    get: GetFn<T>,
    task: RStr<'_>,
) -> RResult<ROption<ffi::ExtractedFfi>, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        match get(inner, &parse_json(task)?).map_err(failed)? {
            Some(extracted) => Ok(ROption::RSome(encode_extracted(extracted)?)),
            None => Ok(ROption::RNone),
        }
    })
}

pub(crate) fn call_save<T: Plugin>(
    inner: &T,
    save: SaveFn<T>,
    response: RStr<'_>,
) -> RResult<RString, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        save(inner, &parse_json(response)?).map_err(failed)?;
        Ok(RString::from("{}"))
    })
}

pub(crate) fn call_decorate<T: Plugin>(
    inner: &T,
    decorate: DecorateFn<T>,
    response: RStr<'_>,
) -> RResult<RString, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let result = decorate(inner, &parse_json(response)?).map_err(failed)?;
        to_json(&result)
    })
}

pub(crate) fn call_ingest<T: Plugin>(
    inner: &T,
    ingest: IngestFn<T>,
    sink: ffi::ProviderSinkRef<'_>,
    max_in_flight: usize,
) -> RResult<(), PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let sink = Sink {
            inner: sink,
            max_in_flight,
        };
        ingest(inner, &sink).map_err(failed)
    })
}

pub(crate) fn call_outcome<T: Plugin>(
    inner: &T,
    outcome_fn: OutcomeFn<T>,
    input: &[u8],
) -> RResult<RVec<u8>, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        let outcome: ItemOutcome = serde_json::from_slice(input).map_err(|e| failed(e.into()))?;
        outcome_fn(inner, &outcome);
        Ok(RVec::new())
    })
}

pub(crate) fn call_stop<T: Plugin>(
    inner: &T,
    stop_fn: StopFn<T>,
) -> RResult<RVec<u8>, PluginError> {
    guard(T::INFO.name, ffi::ERROR_FAILED, || {
        stop_fn(inner);
        Ok(RVec::new())
    })
}

fn missing<R>(role: &str) -> RResult<R, PluginError> {
    RResult::RErr(unsupported(role))
}

impl<T: Plugin> ffi::PluginInstance for Adapter<T> {
    fn scan(&self, input: PayloadInput<'_>) -> RResult<ffi::WorkerOutput, PluginError> {
        match self.roles.scan {
            Some(scan) => call_scan(&self.inner, scan, input),
            None => missing("worker"),
        }
    }

    fn get_dispatches(&self, input: PayloadInput<'_>) -> RResult<RString, PluginError> {
        match self.roles.dispatch {
            Some(dispatch) => call_dispatch(&self.inner, dispatch, input),
            None => missing("dispatcher"),
        }
    }

    fn archive(&self, input: PayloadInput<'_>) -> RResult<RString, PluginError> {
        match self.roles.archive {
            Some(archive) => call_archive(&self.inner, archive, input),
            None => missing("archiver"),
        }
    }

    fn get(&self, task: RStr<'_>) -> RResult<ROption<ffi::ExtractedFfi>, PluginError> {
        match self.roles.get {
            Some(get) => call_get(&self.inner, get, task),
            None => missing("archiver"),
        }
    }

    fn save(&self, response: RStr<'_>) -> RResult<RString, PluginError> {
        match self.roles.save {
            Some(save) => call_save(&self.inner, save, response),
            None => missing("connector"),
        }
    }

    fn decorate(&self, response: RStr<'_>) -> RResult<RString, PluginError> {
        match self.roles.decorate {
            Some(decorate) => call_decorate(&self.inner, decorate, response),
            None => missing("decorator"),
        }
    }

    fn ingest(&self, sink: ffi::ProviderSinkRef<'_>) -> RResult<(), PluginError> {
        match self.roles.ingest {
            Some(ingest) => call_ingest(
                &self.inner,
                ingest,
                sink,
                self.max_in_flight.load(Ordering::Relaxed),
            ),
            None => missing("provider"),
        }
    }

    fn call(&self, method: RStr<'_>, input: RSlice<'_, u8>) -> RResult<RVec<u8>, PluginError> {
        match (method.as_str(), self.roles.outcome, self.roles.stop) {
            (ffi::CALL_PROVIDER_START, Some(_), _) => {
                guard(T::INFO.name, ffi::ERROR_FAILED, || {
                    let start: ProviderStart =
                        serde_json::from_slice(input.as_slice()).map_err(|e| failed(e.into()))?;
                    self.max_in_flight
                        .store(start.max_in_flight, Ordering::Relaxed);
                    Ok(RVec::new())
                })
            }
            (ffi::CALL_PROVIDER_OUTCOME, Some(outcome), _) => {
                call_outcome(&self.inner, outcome, input.as_slice())
            }
            (ffi::CALL_PROVIDER_STOP, _, Some(stop)) => call_stop(&self.inner, stop),
            (
                ffi::CALL_PROVIDER_START | ffi::CALL_PROVIDER_OUTCOME | ffi::CALL_PROVIDER_STOP,
                ..,
            ) => missing("provider"),
            (other, ..) => RResult::RErr(PluginError {
                kind: ffi::ERROR_UNSUPPORTED,
                message: format!("unknown method `{other}`").into(),
            }),
        }
    }
}

/// Exports the plugin types of a `cdylib`, each with the roles it implements.
///
/// ```ignore
/// stoq_plugin_abi::export_plugin!(HashWorker => worker);
/// stoq_plugin_abi::export_plugin!(Yara => worker, dispatcher);
/// ```
///
/// Several plugins in one library (stoQ's `WorkerA` and `WorkerB` in one package), each with
/// its own name, options and instance:
///
/// ```
/// use stoq_plugin_abi::prelude::*;
///
/// pub struct WorkerA;
/// pub struct WorkerB;
///
/// impl Plugin for WorkerA {
///     const INFO: PluginInfo = PluginInfo::new("worker_a", "1.0.0");
///     fn new(_config: &mut PluginConfig) -> Result<Self> { Ok(Self) }
/// }
/// impl Worker for WorkerA {
///     fn scan(&self, _: &Payload<'_>, _: &Request<'_>) -> Result<WorkerResponse> {
///         Ok(WorkerResponse::new("a"))
///     }
/// }
/// impl Plugin for WorkerB {
///     const INFO: PluginInfo = PluginInfo::new("worker_b", "1.0.0").required_workers(&["worker_a"]);
///     fn new(_config: &mut PluginConfig) -> Result<Self> { Ok(Self) }
/// }
/// impl Worker for WorkerB {
///     fn scan(&self, payload: &Payload<'_>, _: &Request<'_>) -> Result<WorkerResponse> {
///         Ok(WorkerResponse::new(json!({"a said": payload.worker_results()["worker_a"]})))
///     }
/// }
///
/// stoq_plugin_abi::export_plugin!(WorkerA => worker; WorkerB => worker);
/// # fn main() {}
/// ```
///
/// Roles: `worker`, `dispatcher`, `archiver`, `connector`, `decorator`, `provider`; each needs
/// the matching trait. Use it once per library; every plugin in it needs a name of its own.
/// The library must be built with `panic = "unwind"` (the default): every entry point
/// catches panics and reports them as errors, which is impossible with `panic = "abort"`, so
/// that profile fails to compile.
#[macro_export]
macro_rules! export_plugin {
    ($($plugin:ty => $($role:ident),+);+ $(;)?) => {
        const _: () = ::core::assert!(
            ::core::cfg!(panic = "unwind"),
            "stoq plugins must be built with panic = \"unwind\"",
        );

        fn __stoq_plugins() -> ::std::vec::Vec<$crate::__private::Exported> {
            ::std::vec![$(
                $crate::__private::Exported::new::<$plugin>(|| {
                    let mut roles = $crate::__private::Roles::<$plugin>::none();
                    $( roles.$role(); )+
                    roles
                })
            ),+]
        }

        extern "C" fn __stoq_manifest() -> $crate::abi_stable::std_types::RString {
            $crate::__private::manifest(__stoq_plugins)
        }

        extern "C" fn __stoq_instantiate(
            config: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::ffi::HostApi,
        ) -> $crate::abi_stable::std_types::RResult<$crate::ffi::NewInstance, $crate::ffi::PluginError> {
            $crate::__private::instantiate(config, host, __stoq_plugins)
        }

        fn __stoq_root_module() -> $crate::ffi::PluginModuleRef {
            <$crate::ffi::PluginModule as $crate::abi_stable::prefix_type::PrefixTypeTrait>::leak_into_prefix(
                $crate::ffi::PluginModule {
                    manifest: __stoq_manifest,
                    instantiate: __stoq_instantiate,
                },
            )
        }

        /// The abi_stable library header: the one symbol the host looks up.
        // SAFETY: abi_stable's fixed header symbol; `export_plugin!` is used once per library,
        // so nothing else in it defines this name.
        #[unsafe(no_mangle)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi_stable::library::LibHeader = {
            extern "C" fn __stoq_erased_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(__stoq_root_module)
            }
            // SAFETY: this is what abi_stable's `#[export_root_module]` expands to, written out so
            // plugin crates need not depend on abi_stable by name. The constructor returns the
            // module type named here, and its layout is checked by the host at load time.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::ffi::PluginModuleRef>(
                    __stoq_erased_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}
