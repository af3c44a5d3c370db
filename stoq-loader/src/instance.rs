//! Calling a configured plugin: one method per role, with Rust types in and out.

use std::fmt;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RRef;
use abi_stable::std_types::{RResult, RStr, RString, RVec};
use serde_json::Value;
use stoq_plugin_abi::ffi::{
    self, HostContext, HostContext_TO, PayloadInput, PluginBox, PluginError, ProviderSink_TO,
};
use stoq_plugin_abi::wire::{ItemEnvelope, ProviderStart, WorkerEnvelope};
use stoq_plugin_abi::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, ItemOutcome, PayloadMeta, RequestMeta,
};

/// How a call into a plugin failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallErrorKind {
    /// The plugin returned an error.
    Failed,
    /// The plugin panicked (caught inside the plugin).
    Panicked,
    /// The config hook rejected the options.
    Config,
    /// The plugin does not have that role.
    Unsupported,
    /// The process running the plugin died (isolated plugins).
    Crashed,
    /// The call ran past its timeout and was stopped (isolated plugins).
    TimedOut,
}

/// A failed call into a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// What kind of failure.
    pub kind: CallErrorKind,
    /// The plugin's message.
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}

impl From<PluginError> for CallError {
    fn from(e: PluginError) -> Self {
        let kind = match e.kind {
            ffi::ERROR_PANIC => CallErrorKind::Panicked,
            ffi::ERROR_CONFIG => CallErrorKind::Config,
            ffi::ERROR_UNSUPPORTED => CallErrorKind::Unsupported,
            _ => CallErrorKind::Failed,
        };
        Self {
            kind,
            message: e.message.into(),
        }
    }
}

pub(crate) fn into_result<T>(r: RResult<T, PluginError>) -> Result<T, CallError> {
    r.into_result().map_err(CallError::from)
}

fn parse<T: serde::de::DeserializeOwned + Default>(
    json: RString,
    what: &str,
) -> Result<T, CallError> {
    if json.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json.as_str()).map_err(|e| CallError {
        kind: CallErrorKind::Failed,
        message: format!("the plugin returned an invalid {what}: {e}"),
    })
}

/// The host's answers to a plugin's lazy questions about the payload and request
/// (keys: the `CONTEXT_*` constants of [`ffi`]).
pub trait QueryContext {
    /// The JSON answer for `key`, or `None` if unknown.
    fn query(&self, key: &str) -> Option<String>;
}

struct ContextAdapter<'a>(&'a dyn QueryContext);

impl HostContext for ContextAdapter<'_> {
    fn query(&self, key: RStr<'_>) -> abi_stable::std_types::ROption<RString> {
        self.0.query(key.as_str()).map(RString::from).into()
    }
}

/// One payload a worker extracted; the bytes are the plugin's buffer, not a copy.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The bytes.
    pub content: bytes::Bytes,
    /// Its metadata.
    pub payload_meta: PayloadMeta,
}

/// A worker's response, decoded.
#[derive(Debug, Clone, Default)]
pub struct WorkerOutput {
    /// `None` when the worker returned no results.
    pub results: Option<Value>,
    /// Error messages the worker reported.
    pub errors: Vec<String>,
    /// Workers to run next on the same payload.
    pub dispatch_to: Vec<String>,
    /// Extracted payloads.
    pub extracted: Vec<Extracted>,
}

impl WorkerOutput {
    /// A worker's decoded response: its JSON envelope and its extracted payloads.
    pub fn from_envelope(envelope: WorkerEnvelope, extracted: Vec<Extracted>) -> Self {
        Self {
            results: envelope.results,
            errors: envelope
                .errors
                .iter()
                .map(|e| e.message().to_owned())
                .collect(),
            dispatch_to: envelope.dispatch_to,
            extracted,
        }
    }
}

/// One item a provider put, decoded.
#[derive(Debug, Clone)]
pub struct ProvidedItem {
    /// The provider's id for it (`None` for a provider that put a bare payload or task).
    pub id: Option<String>,
    /// The payload bytes (empty for a task), the provider's buffer, not a copy.
    pub content: bytes::Bytes,
    /// A source-archiver task (`{archiver_name: task}`), instead of bytes.
    pub task: Option<Value>,
    /// The payload's metadata.
    pub payload_meta: PayloadMeta,
    /// The request metadata the provider chose, if any.
    pub request_meta: Option<RequestMeta>,
    /// The scan id the provider chose, if any.
    pub scan_id: Option<String>,
}

/// Where the host takes a provider's items. `put` gets the decoded item, or why it could not
/// be decoded; it returns `false` when the provider should stop.
pub trait ItemSink: Send + Sync {
    /// Takes one item (blocking while full); `false`: shutting down, the item was not taken.
    fn put(&self, item: Result<ProvidedItem, CallError>) -> bool;
}

struct SinkAdapter<'a>(&'a dyn ItemSink);

impl ffi::ProviderSink for SinkAdapter<'_> {
    fn put(&self, item: ffi::ProviderItem) -> bool {
        self.0.put(decode_item(item))
    }
}

fn decode_item(item: ffi::ProviderItem) -> Result<ProvidedItem, CallError> {
    let invalid = |what: &str, e: serde_json::Error| CallError {
        kind: CallErrorKind::Failed,
        message: format!("the provider put an invalid {what}: {e}"),
    };
    let content = bytes::Bytes::from_owner(item.content);
    let mut decoded = ProvidedItem {
        id: None,
        content,
        task: None,
        payload_meta: PayloadMeta::default(),
        request_meta: None,
        scan_id: None,
    };
    match item.kind {
        ffi::ITEM_PAYLOAD => {
            if !item.json.is_empty() {
                decoded.payload_meta = serde_json::from_str(item.json.as_str())
                    .map_err(|e| invalid("payload metadata", e))?;
            }
        }
        ffi::ITEM_TASK => {
            decoded.task =
                Some(serde_json::from_str(item.json.as_str()).map_err(|e| invalid("task", e))?);
        }
        ffi::ITEM_ENVELOPE => {
            let envelope: ItemEnvelope =
                serde_json::from_str(item.json.as_str()).map_err(|e| invalid("item", e))?;
            decoded.id = envelope.id;
            decoded.task = envelope.task;
            decoded.payload_meta = envelope.payload_meta;
            decoded.request_meta = envelope.request_meta;
            decoded.scan_id = envelope.scan_id;
        }
        other => {
            return Err(CallError {
                kind: CallErrorKind::Failed,
                message: format!("the provider put an item of unknown kind {other}"),
            });
        }
    }
    if let Some(task) = &decoded.task
        && !task.is_object()
    {
        return Err(CallError {
            kind: CallErrorKind::Failed,
            message: format!(
                "the provider put a task that is not an object of archiver names: {task}"
            ),
        });
    }
    Ok(decoded)
}

/// An instantiated plugin, shareable between threads.
pub struct Instance {
    object: PluginBox,
    /// The workers that must run before this one on a payload (after the config hook).
    pub required_workers: Vec<String>,
    /// Options that were set but never read by the plugin.
    pub unused_options: Vec<String>,
}

impl Instance {
    pub(crate) fn new(
        object: PluginBox,
        required_workers: Vec<String>,
        unused_options: Vec<String>,
    ) -> Self {
        Self {
            object,
            required_workers,
            unused_options,
        }
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("required_workers", &self.required_workers)
            .finish_non_exhaustive()
    }
}

fn with_input<R>(
    content: &[u8],
    payload_id: &str,
    context: &dyn QueryContext,
    f: impl FnOnce(PayloadInput<'_>) -> R,
) -> R {
    let adapter = ContextAdapter(context);
    let input = PayloadInput {
        content: content.into(),
        payload_id: payload_id.into(),
        context: HostContext_TO::from_ptr(RRef::new(&adapter), TD_Opaque),
    };
    f(input)
}

fn decode_extracted(e: ffi::ExtractedFfi) -> Result<Extracted, CallError> {
    let payload_meta = parse(e.payload_meta, "extracted payload metadata")?;
    Ok(Extracted {
        content: bytes::Bytes::from_owner(e.content),
        payload_meta,
    })
}

impl Instance {
    /// Worker role: scans one payload.
    pub fn scan(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        let output = with_input(content, payload_id, context, |input| {
            into_result(self.object.scan(input))
        })?;
        if output.response.is_empty() && output.extracted.is_empty() {
            return Ok(None);
        }
        let envelope: WorkerEnvelope = parse(output.response, "worker response")?;
        let extracted = output
            .extracted
            .into_iter()
            .map(decode_extracted)
            .collect::<Result<_, _>>()?;
        Ok(Some(WorkerOutput::from_envelope(envelope, extracted)))
    }

    /// Dispatcher role: names workers for one payload.
    pub fn get_dispatches(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        let json = with_input(content, payload_id, context, |input| {
            into_result(self.object.get_dispatches(input))
        })?;
        parse(json, "dispatcher response")
    }

    /// Archiver role: saves one payload.
    pub fn archive(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<ArchiverResponse, CallError> {
        let json = with_input(content, payload_id, context, |input| {
            into_result(self.object.archive(input))
        })?;
        parse(json, "archiver response")
    }

    /// Archiver role: fetches the payload a task names.
    pub fn get(&self, task: &Value) -> Result<Option<Extracted>, CallError> {
        let task = task.to_string();
        let found = into_result(self.object.get(RStr::from(task.as_str())))?;
        found.into_option().map(decode_extracted).transpose()
    }

    /// Provider role: tells the provider the host's facts (before [`Instance::ingest`]).
    /// A provider that does not know the method is not an error.
    pub fn provider_start(&self, max_in_flight: usize) -> Result<(), CallError> {
        let input = serde_json::to_vec(&ProviderStart::new(max_in_flight)).unwrap_or_default();
        match self.call(ffi::CALL_PROVIDER_START, &input) {
            Err(e) if e.kind == CallErrorKind::Unsupported => Ok(()),
            other => other.map(drop),
        }
    }

    /// Provider role: feeds items to `sink` until the provider returns.
    pub fn ingest(&self, sink: &dyn ItemSink) -> Result<(), CallError> {
        let adapter = SinkAdapter(sink);
        into_result(
            self.object
                .ingest(ProviderSink_TO::from_ptr(RRef::new(&adapter), TD_Opaque)),
        )
    }

    /// Provider role: the outcome of one item. `Ok(false)`: the provider does not take outcomes
    /// and wants no more of them.
    pub fn provider_outcome(&self, outcome: &ItemOutcome) -> Result<bool, CallError> {
        let input = serde_json::to_vec(outcome).unwrap_or_default();
        match self.call(ffi::CALL_PROVIDER_OUTCOME, &input) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == CallErrorKind::Unsupported => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Provider role: the last outcome was delivered; the provider finishes what it started.
    /// A provider that does not know the method is not an error.
    pub fn provider_stop(&self) -> Result<(), CallError> {
        match self.call(ffi::CALL_PROVIDER_STOP, &[]) {
            Err(e) if e.kind == CallErrorKind::Unsupported => Ok(()),
            other => other.map(drop),
        }
    }

    /// The extension hook: calls `method` with `input`.
    pub fn call(&self, method: &str, input: &[u8]) -> Result<Vec<u8>, CallError> {
        into_result(self.object.call(method.into(), input.into())).map(RVec::into_vec)
    }

    /// Connector role: saves one finished response.
    pub fn save(&self, response_json: &str) -> Result<(), CallError> {
        into_result(self.object.save(response_json.into())).map(drop)
    }

    /// Decorator role: summarises one finished response.
    pub fn decorate(&self, response_json: &str) -> Result<DecoratorResponse, CallError> {
        let json = into_result(self.object.decorate(response_json.into()))?;
        parse(json, "decorator response")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use abi_stable::sabi_trait::TD_Opaque;
    use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};

    use stoq_plugin_abi::ffi::{self, PayloadInput, PluginError, PluginInstance_TO};

    /// A provider written against the bare FFI: items without envelopes, and a `call` hook
    /// that knows no method at all.
    struct BareProvider;

    fn unsupported<T>() -> RResult<T, PluginError> {
        RResult::RErr(PluginError {
            kind: ffi::ERROR_UNSUPPORTED,
            message: "unsupported".into(),
        })
    }

    impl ffi::PluginInstance for BareProvider {
        fn scan(&self, _: PayloadInput<'_>) -> RResult<ffi::WorkerOutput, PluginError> {
            unsupported()
        }
        fn get_dispatches(&self, _: PayloadInput<'_>) -> RResult<RString, PluginError> {
            unsupported()
        }
        fn archive(&self, _: PayloadInput<'_>) -> RResult<RString, PluginError> {
            unsupported()
        }
        fn get(&self, _: RStr<'_>) -> RResult<ROption<ffi::ExtractedFfi>, PluginError> {
            unsupported()
        }
        fn save(&self, _: RStr<'_>) -> RResult<RString, PluginError> {
            unsupported()
        }
        fn decorate(&self, _: RStr<'_>) -> RResult<RString, PluginError> {
            unsupported()
        }
        fn ingest(&self, sink: ffi::ProviderSinkRef<'_>) -> RResult<(), PluginError> {
            let payload = ffi::ProviderItem {
                kind: ffi::ITEM_PAYLOAD,
                content: RVec::from(b"Important stuff".to_vec()),
                json: r#"{"extra_data": {"filename": "a.txt"}}"#.into(),
            };
            let task = ffi::ProviderItem {
                kind: ffi::ITEM_TASK,
                content: RVec::new(),
                json: r#"{"simple_archiver": {"task": "t"}}"#.into(),
            };
            let bad = ffi::ProviderItem {
                kind: 9,
                content: RVec::new(),
                json: RString::new(),
            };
            for item in [payload, task, bad] {
                ffi::ProviderSink::put(&sink, item);
            }
            RResult::ROk(())
        }
        fn call(&self, method: RStr<'_>, _: RSlice<'_, u8>) -> RResult<RVec<u8>, PluginError> {
            RResult::RErr(PluginError {
                kind: ffi::ERROR_UNSUPPORTED,
                message: format!("unknown method `{method}`").into(),
            })
        }
    }

    struct Collect(Mutex<Vec<Result<super::ProvidedItem, super::CallError>>>);

    impl super::ItemSink for Collect {
        fn put(&self, item: Result<super::ProvidedItem, super::CallError>) -> bool {
            self.0.lock().unwrap().push(item);
            true
        }
    }

    #[test]
    fn a_provider_without_envelopes_or_outcome_hooks_still_works() {
        let instance = super::Instance {
            object: PluginInstance_TO::from_value(BareProvider, TD_Opaque),
            required_workers: Vec::new(),
            unused_options: Vec::new(),
        };
        // The provider hooks are unknown to it: not an error, and outcomes stop.
        instance.provider_start(8).expect("start is optional");
        instance.provider_stop().expect("stop is optional");
        let outcome = stoq_plugin_abi::ItemOutcome::new("p:0", stoq_plugin_abi::ItemStatus::Done);
        assert_eq!(instance.provider_outcome(&outcome), Ok(false));
        let sink = Collect(Mutex::new(Vec::new()));
        instance.ingest(&sink).expect("ingest");
        let items = sink.0.into_inner().unwrap();
        let payload = items[0].as_ref().expect("a bare payload item decodes");
        assert_eq!(payload.id, None, "the host names it");
        assert_eq!(&payload.content[..], b"Important stuff");
        assert_eq!(payload.payload_meta.extra_data["filename"], "a.txt");
        assert!(payload.request_meta.is_none() && payload.task.is_none());
        let task = items[1].as_ref().expect("a bare task item decodes");
        assert_eq!(task.task.as_ref().unwrap()["simple_archiver"]["task"], "t");
        let err = items[2].as_ref().expect_err("an unknown kind is refused");
        assert!(err.message.contains("unknown kind 9"), "{}", err.message);
    }

    #[test]
    fn envelope_items_carry_id_request_meta_and_scan_id() {
        let envelope = serde_json::json!({
            "id": "e-1",
            "scan_id": "task-1",
            "payload_meta": {"extra_data": {"filename": "x.bin"}},
            "request_meta": {"source": "queue"},
        });
        let decoded = super::decode_item(ffi::ProviderItem {
            kind: ffi::ITEM_ENVELOPE,
            content: RVec::from(b"x".to_vec()),
            json: envelope.to_string().into(),
        })
        .unwrap();
        assert_eq!(decoded.id.as_deref(), Some("e-1"));
        assert_eq!(decoded.scan_id.as_deref(), Some("task-1"));
        assert_eq!(&decoded.content[..], b"x");
        assert_eq!(decoded.payload_meta.extra_data["filename"], "x.bin");
        assert_eq!(
            decoded.request_meta.unwrap().source.as_deref(),
            Some("queue")
        );
        let not_an_object = super::decode_item(ffi::ProviderItem {
            kind: ffi::ITEM_TASK,
            content: RVec::new(),
            json: r#""just a string""#.into(),
        });
        assert!(
            not_an_object.is_err(),
            "stoQ's str task hang is an error here"
        );
    }

    #[test]
    fn extracted_bytes_cross_without_a_copy() {
        let content = vec![7u8; 64 * 1024];
        let allocation = content.as_ptr();
        // The plugin's Vec becomes the FFI buffer (abi_stable takes the allocation over), and
        // the host turns that buffer into `Bytes` without copying it.
        let ffi = ffi::ExtractedFfi {
            content: RVec::from(content),
            payload_meta: "{}".into(),
        };
        let extracted = super::decode_extracted(ffi).expect("decodes");
        assert_eq!(extracted.content.as_ptr(), allocation);
        assert_eq!(extracted.content.len(), 64 * 1024);
    }
}
