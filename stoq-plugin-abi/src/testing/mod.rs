//! A test harness for plugin authors (feature `testing`): run a plugin in a unit test the way
//! the host runs it, without building or loading a library.
//!
//! [`PluginTest`] merges the declared defaults with the options you set, checks them against
//! the declarations, runs the config hook, and calls the role through the same entry points
//! the host calls: panics are caught and become [`TestError::Panicked`], responses are encoded
//! to their wire form and decoded again, and what the plugin asks about the payload and the
//! request is answered from the facts you give.
//!
//! ```
//! use stoq_plugin_abi::prelude::*;
//! use stoq_plugin_abi::testing::PluginTest;
//!
//! struct Length {
//!     unit: String,
//! }
//!
//! impl Plugin for Length {
//!     const INFO: PluginInfo = PluginInfo::new("length", "1.0.0")
//!         .options(&[OptionSpec::string("unit", "bytes").doc("What to call a byte")]);
//!     fn new(config: &mut PluginConfig) -> Result<Self> {
//!         Ok(Self { unit: config.string("unit")? })
//!     }
//! }
//!
//! impl Worker for Length {
//!     fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
//!         Ok(WorkerResponse::new(json!({ &self.unit: payload.content().len() })))
//!     }
//! }
//!
//! let response = PluginTest::<Length>::new().scan(b"four").unwrap();
//! assert_eq!(response.results, Some(json!({"bytes": 4})));
//! let response = PluginTest::<Length>::new().option("unit", "octets").scan(b"four").unwrap();
//! assert_eq!(response.results, Some(json!({"octets": 4})));
//! ```
//!
//! In `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! stoq-plugin-abi = { version = "1", features = ["testing"] }
//! ```

use std::fmt;
use std::sync::{Mutex, OnceLock};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RRef;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::export::{self, Configured};
use crate::ffi::{self, HostContext, HostContext_TO, PayloadInput, PluginError, ProviderSink_TO};
use crate::payload::HostLimits;
use crate::plugin::{Archiver, Connector, Decorator, Dispatcher, Plugin, Provider, Worker};
use crate::provider::{IngestItem, ItemOutcome};
use crate::types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, ExtractedPayload, PayloadMeta,
    RequestMeta, WorkerResponse,
};
use crate::wire::{ItemEnvelope, WorkerEnvelope};

pub mod golden;

/// Why a call through the harness failed, as the host would classify it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestError {
    /// The options were rejected (by their declarations or by the config hook).
    Config(String),
    /// The plugin returned an error.
    Failed(String),
    /// The plugin panicked; the message and location of the panic.
    Panicked(String),
    /// A response did not survive its wire form.
    Invalid(String),
}

impl TestError {
    /// The message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::Config(m) | Self::Failed(m) | Self::Panicked(m) | Self::Invalid(m) => m,
        }
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "rejected options: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
            Self::Panicked(m) => write!(f, "panicked: {m}"),
            Self::Invalid(m) => write!(f, "invalid response: {m}"),
        }
    }
}

impl std::error::Error for TestError {}

impl From<PluginError> for TestError {
    fn from(e: PluginError) -> Self {
        let message = e.message.into_string();
        match e.kind {
            ffi::ERROR_PANIC => Self::Panicked(message),
            ffi::ERROR_CONFIG => Self::Config(message),
            _ => Self::Failed(message),
        }
    }
}

fn result<T>(r: RResult<T, PluginError>) -> Result<T, TestError> {
    r.into_result().map_err(TestError::from)
}

fn decode<T: DeserializeOwned>(json: &str, what: &str) -> Result<T, TestError> {
    serde_json::from_str(json).map_err(|e| TestError::Invalid(format!("{what}: {e}")))
}

/// Answers the plugin's lazy questions from a map of facts.
struct Facts<'a>(&'a Map<String, Value>);

impl HostContext for Facts<'_> {
    fn query(&self, key: RStr<'_>) -> ROption<RString> {
        self.0
            .get(key.as_str())
            .map(|v| RString::from(v.to_string()))
            .into()
    }
}

/// Runs plugin `T` as the host would, in a unit test. Set options and facts with the builder
/// methods, then call the role: [`scan`](Self::scan), [`dispatch`](Self::dispatch),
/// [`archive`](Self::archive), [`get`](Self::get), [`save`](Self::save),
/// [`decorate`](Self::decorate), [`ingest`](Self::ingest), [`outcome`](Self::outcome).
///
/// The config hook runs once, at the first call; options set after it have no effect. A
/// harness is `Sync`: share it between threads to call one role while another runs, as the
/// host does (e.g. `outcome` while `ingest` waits, with `std::thread::scope`).
pub struct PluginTest<T: Plugin> {
    options: Map<String, Value>,
    facts: Map<String, Value>,
    max_in_flight: usize,
    configured: OnceLock<Result<Configured<T>, TestError>>,
}

impl<T: Plugin> Default for PluginTest<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Plugin> PluginTest<T> {
    /// A harness with no options set (the declared defaults apply).
    pub fn new() -> Self {
        Self {
            options: Map::new(),
            facts: Map::new(),
            max_in_flight: 64,
            configured: OnceLock::new(),
        }
    }

    /// Sets one option, as a config file or `--plugin-opts` would (a string is converted to
    /// the declared type, like `--plugin-opts NAME:KEY=VALUE`).
    #[must_use]
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Sets one fact the plugin may ask about, by its context key (the `CONTEXT_*` constants
    /// of [`ffi`]); the typed setters below cover the usual ones.
    #[must_use]
    pub fn fact(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.facts.insert(key.into(), value.into());
        self
    }

    /// The payload's metadata ([`Payload::meta`](crate::Payload::meta)).
    #[must_use]
    pub fn payload_meta(self, meta: PayloadMeta) -> Self {
        let value = serde_json::to_value(meta).unwrap_or_default();
        self.fact(ffi::CONTEXT_PAYLOAD_META, value)
    }

    /// What another worker recorded on the payload ([`Payload::worker_results`](crate::Payload::worker_results)).
    #[must_use]
    pub fn worker_result(mut self, worker: impl Into<String>, results: impl Into<Value>) -> Self {
        let entry = self
            .facts
            .entry(ffi::CONTEXT_WORKER_RESULTS)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(worker.into(), results.into());
        }
        self
    }

    /// A dispatcher's metadata on the payload ([`Payload::dispatch_meta`](crate::Payload::dispatch_meta)).
    #[must_use]
    pub fn dispatch_meta(mut self, dispatcher: impl Into<String>, meta: impl Into<Value>) -> Self {
        let entry = self
            .facts
            .entry(ffi::CONTEXT_DISPATCH_META)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(dispatcher.into(), meta.into());
        }
        self
    }

    /// The payload's extraction depth.
    #[must_use]
    pub fn depth(self, depth: u32) -> Self {
        self.fact(ffi::CONTEXT_DEPTH, depth)
    }

    /// The request's metadata.
    #[must_use]
    pub fn request_meta(self, meta: RequestMeta) -> Self {
        let value = serde_json::to_value(meta).unwrap_or_default();
        self.fact(ffi::CONTEXT_REQUEST_META, value)
    }

    /// The request's limits ([`Request::limits`](crate::Request::limits)).
    #[must_use]
    pub fn limits(self, limits: HostLimits) -> Self {
        let value = serde_json::to_value(limits).unwrap_or_default();
        self.fact(ffi::CONTEXT_LIMITS, value)
    }

    /// What the host says a provider may hold at once ([`Sink::max_in_flight`](crate::Sink::max_in_flight)); 64 unless set.
    #[must_use]
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    fn configured(&self) -> Result<&Configured<T>, TestError> {
        self.configured
            .get_or_init(|| export::configure::<T>(self.options.clone()).map_err(TestError::from))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Runs the config hook (if it has not run yet): `Ok` when the options are accepted.
    pub fn start(&self) -> Result<(), TestError> {
        self.configured().map(drop)
    }

    /// The workers that must run before the plugin, as its config hook left them.
    pub fn required_workers(&self) -> Result<Vec<String>, TestError> {
        Ok(self.configured()?.required_workers.clone())
    }

    /// Options that were set but never read by the config hook (the host warns about them).
    pub fn unused_options(&self) -> Result<Vec<String>, TestError> {
        Ok(self.configured()?.unused_options.clone())
    }

    fn with_input<R>(&self, content: &[u8], f: impl FnOnce(PayloadInput<'_>) -> R) -> R {
        let facts = Facts(&self.facts);
        f(PayloadInput {
            content: content.into(),
            payload_id: "test-payload".into(),
            context: HostContext_TO::from_ptr(RRef::new(&facts), TD_Opaque),
        })
    }
}

fn decode_extracted(e: ffi::ExtractedFfi) -> Result<ExtractedPayload, TestError> {
    let meta: PayloadMeta = decode(e.payload_meta.as_str(), "extracted payload metadata")?;
    Ok(ExtractedPayload::new(e.content.into_vec()).with_meta(meta))
}

impl<T: Worker> PluginTest<T> {
    /// Scans `content` as a worker.
    pub fn scan(&self, content: &[u8]) -> Result<WorkerResponse, TestError> {
        let inner = &self.configured()?.inner;
        let output =
            result(self.with_input(content, |input| export::call_scan(inner, T::scan, input)))?;
        let mut response = WorkerResponse::empty();
        if !output.response.is_empty() {
            let envelope: WorkerEnvelope = decode(output.response.as_str(), "worker response")?;
            response.results = envelope.results;
            response.errors = envelope.errors;
            response.dispatch_to = envelope.dispatch_to;
        }
        response.extracted = output
            .extracted
            .into_iter()
            .map(decode_extracted)
            .collect::<Result<_, _>>()?;
        Ok(response)
    }
}

impl<T: Dispatcher> PluginTest<T> {
    /// Asks the dispatcher about `content`.
    pub fn dispatch(&self, content: &[u8]) -> Result<DispatcherResponse, TestError> {
        let inner = &self.configured()?.inner;
        let json = result(self.with_input(content, |input| {
            export::call_dispatch(inner, T::get_dispatches, input)
        }))?;
        decode(json.as_str(), "dispatcher response")
    }
}

impl<T: Archiver> PluginTest<T> {
    /// Archives `content` (destination archiver).
    pub fn archive(&self, content: &[u8]) -> Result<ArchiverResponse, TestError> {
        let inner = &self.configured()?.inner;
        let json = result(self.with_input(content, |input| {
            export::call_archive(inner, T::archive, input)
        }))?;
        decode(json.as_str(), "archiver response")
    }

    /// Fetches the payload a task names (source archiver).
    pub fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>, TestError> {
        let inner = &self.configured()?.inner;
        let task = task.to_string();
        let found = result(export::call_get(inner, T::get, task.as_str().into()))?;
        found.into_option().map(decode_extracted).transpose()
    }
}

impl<T: Connector> PluginTest<T> {
    /// Saves a response (stoQ's JSON shape).
    pub fn save(&self, response: &Value) -> Result<(), TestError> {
        let inner = &self.configured()?.inner;
        let json = response.to_string();
        result(export::call_save(inner, T::save, json.as_str().into())).map(drop)
    }
}

impl<T: Decorator> PluginTest<T> {
    /// Decorates a response (stoQ's JSON shape).
    pub fn decorate(&self, response: &Value) -> Result<DecoratorResponse, TestError> {
        let inner = &self.configured()?.inner;
        let json = response.to_string();
        let answer = result(export::call_decorate(
            inner,
            T::decorate,
            json.as_str().into(),
        ))?;
        decode(answer.as_str(), "decorator response")
    }
}

/// Collects what a provider puts, answering `false` ("shutting down") after a limit.
struct Collect {
    items: Mutex<Vec<Result<IngestItem, TestError>>>,
    limit: usize,
}

impl ffi::ProviderSink for Collect {
    fn put(&self, item: ffi::ProviderItem) -> bool {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() >= self.limit {
            return false;
        }
        items.push(decode_item(item));
        true
    }
}

fn decode_item(item: ffi::ProviderItem) -> Result<IngestItem, TestError> {
    let content = item.content.into_vec();
    match item.kind {
        ffi::ITEM_PAYLOAD => {
            let meta: PayloadMeta = if item.json.is_empty() {
                PayloadMeta::default()
            } else {
                decode(item.json.as_str(), "payload metadata")?
            };
            Ok(IngestItem::payload(content).with_payload_meta(meta))
        }
        ffi::ITEM_TASK => Ok(IngestItem::task(decode(item.json.as_str(), "task")?)),
        ffi::ITEM_ENVELOPE => {
            let envelope: ItemEnvelope = decode(item.json.as_str(), "item")?;
            let mut decoded = match envelope.task {
                Some(task) => IngestItem::task(task),
                None => IngestItem::payload(content),
            }
            .with_payload_meta(envelope.payload_meta);
            if let Some(id) = envelope.id {
                decoded = decoded.with_id(id);
            }
            if let Some(meta) = envelope.request_meta {
                decoded = decoded.with_request_meta(meta);
            }
            if let Some(scan_id) = envelope.scan_id {
                decoded = decoded.with_scan_id(scan_id);
            }
            Ok(decoded)
        }
        other => Err(TestError::Invalid(format!(
            "an item of unknown kind {other}"
        ))),
    }
}

impl<T: Provider> PluginTest<T> {
    /// Runs `ingest` to its end and returns every item put, in order.
    pub fn ingest(&self) -> Result<Vec<IngestItem>, TestError> {
        self.ingest_at_most(usize::MAX)
    }

    /// Runs `ingest`, taking at most `limit` items: the next `put` answers `false`, as the
    /// host does when it shuts down (for providers that never run out, e.g. queues).
    pub fn ingest_at_most(&self, limit: usize) -> Result<Vec<IngestItem>, TestError> {
        let inner = &self.configured()?.inner;
        let sink = Collect {
            items: Mutex::new(Vec::new()),
            limit,
        };
        result(export::call_ingest(
            inner,
            T::ingest,
            ProviderSink_TO::from_ptr(RRef::new(&sink), TD_Opaque),
            self.max_in_flight,
        ))?;
        sink.items
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .collect()
    }

    /// Tells the provider what became of one item.
    pub fn outcome(&self, outcome: &ItemOutcome) -> Result<(), TestError> {
        let inner = &self.configured()?.inner;
        let input = serde_json::to_vec(outcome).map_err(|e| TestError::Invalid(e.to_string()))?;
        result(export::call_outcome(inner, T::outcome, &input)).map(drop)
    }

    /// Tells the provider the host is about to exit.
    pub fn stop(&self) -> Result<(), TestError> {
        let inner = &self.configured()?.inner;
        result(export::call_stop(inner, T::stop)).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::prelude::*;

    struct Echo {
        prefix: String,
        strict: bool,
    }

    impl Plugin for Echo {
        const INFO: PluginInfo = PluginInfo::new("echo", "1.0.0")
            .required_workers(&["hash"])
            .options(&[
                OptionSpec::string("prefix", "got").doc("Put before the length"),
                OptionSpec::bool("strict", false),
                OptionSpec::int("limit", 0).optional(),
            ]);
        fn new(config: &mut PluginConfig) -> Result<Self> {
            let prefix = config.string("prefix")?;
            if prefix.is_empty() {
                return Err(Error::msg("option `prefix` must not be empty"));
            }
            Ok(Self {
                prefix,
                strict: config.bool("strict")?,
            })
        }
    }

    impl Worker for Echo {
        fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
            if payload.content() == b"panic" {
                panic!("asked to");
            }
            if self.strict && payload.content().is_empty() {
                return Err(Error::msg("empty payload"));
            }
            let hash = payload.worker_results().get("hash").cloned();
            Ok(WorkerResponse::new(json!({
                "text": format!("{} {}", self.prefix, payload.content().len()),
                "hash": hash,
                "depth": payload.depth(),
                "left": request.limits().extracted_bytes_left,
            }))
            .with_extracted([ExtractedPayload::new(b"child".to_vec()).with_extra("filename", "c")])
            .with_error("a note"))
        }
    }

    #[test]
    fn scans_with_declared_defaults_and_given_facts() {
        let test = PluginTest::<Echo>::new()
            .worker_result("hash", json!({"sha256": "ab"}))
            .depth(2)
            .limits(HostLimits::new(10, 20, 30));
        let response = test.scan(b"four").expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"text": "got 4", "hash": {"sha256": "ab"}, "depth": 2, "left": 20}))
        );
        assert_eq!(response.errors, [Error::msg("a note")]);
        assert_eq!(response.extracted[0].content, b"child");
        assert_eq!(
            response.extracted[0].payload_meta.extra_data["filename"],
            "c"
        );
        assert_eq!(test.required_workers().expect("started"), ["hash"]);
    }

    #[test]
    fn options_are_converted_checked_and_reported() {
        let test = PluginTest::<Echo>::new()
            .option("strict", "yes")
            .option("typo", 1);
        assert_eq!(
            test.scan(b"").unwrap_err(),
            TestError::Failed("empty payload".into())
        );
        assert_eq!(test.unused_options().expect("started"), ["typo"]);
        let bad = PluginTest::<Echo>::new().option("strict", "maybe");
        assert_eq!(
            bad.start().unwrap_err(),
            TestError::Config(
                "plugin `echo`: option `strict`: expected a boolean, got \"maybe\"".into()
            )
        );
        let rejected = PluginTest::<Echo>::new().option("prefix", "");
        assert_eq!(
            rejected.scan(b"x").unwrap_err(),
            TestError::Config("option `prefix` must not be empty".into())
        );
    }

    #[test]
    fn a_harness_can_be_shared_between_threads() {
        fn shared<T: Sync>(_: &T) {}
        let test = PluginTest::<Echo>::new();
        shared(&test);
        std::thread::scope(|scope| {
            let a = scope.spawn(|| test.scan(b"a").map(|r| r.results));
            let b = scope.spawn(|| test.scan(b"bb").map(|r| r.results));
            let (a, b) = (a.join().unwrap().unwrap(), b.join().unwrap().unwrap());
            assert_eq!(a.unwrap()["text"], "got 1");
            assert_eq!(b.unwrap()["text"], "got 2");
        });
    }

    #[test]
    fn a_panic_becomes_an_error_naming_it() {
        let err = PluginTest::<Echo>::new().scan(b"panic").unwrap_err();
        let TestError::Panicked(message) = err else {
            panic!("expected a caught panic, got {err:?}")
        };
        assert!(message.starts_with("asked to at "), "{message}");
    }
}
