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

use crate::config::PluginConfig;
use crate::ffi::{self, HostApi, NewInstance, PayloadInput, PluginError, PluginInstance_TO};
use crate::payload::{Payload, Request};
use crate::plugin::{Archiver, Connector, Decorator, Dispatcher, Plugin, Provider, Sink, Worker};
use crate::provider::{ItemOutcome, ProviderStart};
use crate::types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, Error, ExtractedPayload, Result,
    WorkerEnvelope, WorkerResponse,
};

type ScanFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<Option<WorkerResponse>>;
type DispatchFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<Option<DispatcherResponse>>;
type ArchiveFn<T> = fn(&T, &Payload<'_>, &Request<'_>) -> Result<Option<ArchiverResponse>>;
type GetFn<T> = fn(&T, &Value) -> Result<Option<ExtractedPayload>>;
type SaveFn<T> = fn(&T, &Value) -> Result<()>;
type DecorateFn<T> = fn(&T, &Value) -> Result<Option<DecoratorResponse>>;
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

/// Runs `f`, turning an error or a panic into a [`PluginError`].
fn guard<R>(
    kind_on_error: u32,
    f: impl FnOnce() -> Result<R, PluginError>,
) -> RResult<R, PluginError> {
    let was_in_call = IN_CALL.with(|c| c.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(was_in_call));
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

/// Builds the manifest JSON of plugin type `T`.
pub fn manifest<T: Plugin>(roles: fn() -> Roles<T>) -> RString {
    let outcome = guard(ffi::ERROR_FAILED, || {
        let info = T::INFO;
        to_json(&json!({
            "name": info.name,
            "version": info.version,
            "author": info.author,
            "description": info.description,
            "website": info.website,
            "roles": roles().names(),
            "required_workers": info.required_workers,
            "default_options": info.default_options,
            "abi_version": env!("CARGO_PKG_VERSION"),
        }))
    });
    // A manifest that cannot be built is reported by the host as invalid JSON.
    outcome.unwrap_or_else(|e| e.message)
}

#[derive(serde::Deserialize)]
struct InstanceConfig {
    #[serde(default)]
    options: Map<String, Value>,
}

/// The config hook of plugin type `T`: parses the options and builds the instance.
pub fn instantiate<T: Plugin>(
    config: RStr<'_>,
    host: HostApi,
    roles: fn() -> Roles<T>,
) -> RResult<NewInstance, PluginError> {
    install_panic_hook();
    crate::log::install(host, T::INFO.name);
    guard(ffi::ERROR_CONFIG, || {
        let parsed: InstanceConfig =
            serde_json::from_str(config.as_str()).map_err(|e| failed(e.into()))?;
        let mut plugin_config =
            PluginConfig::new(T::INFO.name, parsed.options, T::INFO.required_workers)
                .map_err(|e| failed(e.into()))?;
        let inner = T::new(&mut plugin_config).map_err(failed)?;
        let unused = plugin_config.unused_keys();
        for key in &unused {
            tracing::warn!("option `{key}` is set but the plugin does not use it");
        }
        let info = to_json(&json!({
            "required_workers": plugin_config.required_workers(),
            "unused_options": unused,
        }))?;
        let adapter = Adapter {
            inner,
            roles: roles(),
            max_in_flight: AtomicUsize::new(0),
        };
        Ok(NewInstance {
            instance: PluginInstance_TO::from_value(adapter, TD_Opaque),
            info,
        })
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

fn encode_worker(response: Option<WorkerResponse>) -> Result<ffi::WorkerOutput, PluginError> {
    let Some(response) = response else {
        return Ok(ffi::WorkerOutput {
            response: RString::new(),
            extracted: RVec::new(),
        });
    };
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

impl<T: Plugin> ffi::PluginInstance for Adapter<T> {
    fn scan(&self, input: PayloadInput<'_>) -> RResult<ffi::WorkerOutput, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let scan = self.roles.scan.ok_or_else(|| unsupported("worker"))?;
            let payload = Payload::new(
                input.content.as_slice(),
                input.payload_id.as_str(),
                &input.context,
            );
            let request = Request::new(&input.context);
            encode_worker(scan(&self.inner, &payload, &request).map_err(failed)?)
        })
    }

    fn get_dispatches(&self, input: PayloadInput<'_>) -> RResult<RString, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let dispatch = self
                .roles
                .dispatch
                .ok_or_else(|| unsupported("dispatcher"))?;
            let payload = Payload::new(
                input.content.as_slice(),
                input.payload_id.as_str(),
                &input.context,
            );
            let request = Request::new(&input.context);
            let response = dispatch(&self.inner, &payload, &request).map_err(failed)?;
            to_json(&response.unwrap_or_default())
        })
    }

    fn archive(&self, input: PayloadInput<'_>) -> RResult<RString, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let archive = self.roles.archive.ok_or_else(|| unsupported("archiver"))?;
            let payload = Payload::new(
                input.content.as_slice(),
                input.payload_id.as_str(),
                &input.context,
            );
            let request = Request::new(&input.context);
            let response = archive(&self.inner, &payload, &request).map_err(failed)?;
            to_json(&response.unwrap_or_default())
        })
    }

    fn get(&self, task: RStr<'_>) -> RResult<ROption<ffi::ExtractedFfi>, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let get = self.roles.get.ok_or_else(|| unsupported("archiver"))?;
            match get(&self.inner, &parse_json(task)?).map_err(failed)? {
                Some(extracted) => Ok(ROption::RSome(encode_extracted(extracted)?)),
                None => Ok(ROption::RNone),
            }
        })
    }

    fn save(&self, response: RStr<'_>) -> RResult<RString, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let save = self.roles.save.ok_or_else(|| unsupported("connector"))?;
            save(&self.inner, &parse_json(response)?).map_err(failed)?;
            Ok(RString::from("{}"))
        })
    }

    fn decorate(&self, response: RStr<'_>) -> RResult<RString, PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let decorate = self
                .roles
                .decorate
                .ok_or_else(|| unsupported("decorator"))?;
            let result = decorate(&self.inner, &parse_json(response)?).map_err(failed)?;
            to_json(&result.unwrap_or_default())
        })
    }

    fn ingest(&self, sink: ffi::ProviderSinkRef<'_>) -> RResult<(), PluginError> {
        guard(ffi::ERROR_FAILED, || {
            let ingest = self.roles.ingest.ok_or_else(|| unsupported("provider"))?;
            let sink = Sink {
                inner: sink,
                max_in_flight: self.max_in_flight.load(Ordering::Relaxed),
            };
            ingest(&self.inner, &sink).map_err(failed)
        })
    }

    fn call(&self, method: RStr<'_>, input: RSlice<'_, u8>) -> RResult<RVec<u8>, PluginError> {
        guard(ffi::ERROR_FAILED, || match method.as_str() {
            ffi::CALL_PROVIDER_START if self.roles.ingest.is_some() => {
                let start: ProviderStart =
                    serde_json::from_slice(input.as_slice()).map_err(|e| failed(e.into()))?;
                self.max_in_flight
                    .store(start.max_in_flight, Ordering::Relaxed);
                Ok(RVec::new())
            }
            ffi::CALL_PROVIDER_OUTCOME => {
                let outcome_fn = self.roles.outcome.ok_or_else(|| unsupported("provider"))?;
                let outcome: ItemOutcome =
                    serde_json::from_slice(input.as_slice()).map_err(|e| failed(e.into()))?;
                outcome_fn(&self.inner, &outcome);
                Ok(RVec::new())
            }
            ffi::CALL_PROVIDER_STOP => {
                let stop_fn = self.roles.stop.ok_or_else(|| unsupported("provider"))?;
                stop_fn(&self.inner);
                Ok(RVec::new())
            }
            other => Err(PluginError {
                kind: ffi::ERROR_UNSUPPORTED,
                message: format!("unknown method `{other}`").into(),
            }),
        })
    }
}

/// Exports a plugin type from a `cdylib`, with the roles it implements.
///
/// ```ignore
/// stoq_plugin_abi::export_plugin!(HashWorker => worker);
/// stoq_plugin_abi::export_plugin!(Yara => worker, dispatcher);
/// ```
///
/// Roles: `worker`, `dispatcher`, `archiver`, `connector`, `decorator`, `provider`; each needs
/// the matching trait. Use it once per library. The library must be built with
/// `panic = "unwind"` (the default): every entry point catches panics and reports them as
/// errors, which is impossible with `panic = "abort"`, so that profile fails to compile.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty => $($role:ident),+ $(,)?) => {
        const _: () = ::core::assert!(
            ::core::cfg!(panic = "unwind"),
            "stoq plugins must be built with panic = \"unwind\"",
        );

        fn __stoq_roles() -> $crate::__private::Roles<$plugin> {
            let mut roles = $crate::__private::Roles::<$plugin>::none();
            $( roles.$role(); )+
            roles
        }

        extern "C" fn __stoq_manifest() -> $crate::abi_stable::std_types::RString {
            $crate::__private::manifest::<$plugin>(__stoq_roles)
        }

        extern "C" fn __stoq_instantiate(
            config: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::ffi::HostApi,
        ) -> $crate::abi_stable::std_types::RResult<$crate::ffi::NewInstance, $crate::ffi::PluginError> {
            $crate::__private::instantiate::<$plugin>(config, host, __stoq_roles)
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
