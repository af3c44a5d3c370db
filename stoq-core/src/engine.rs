//! The scan engine: runs workers on a request's payloads, stoQ's dispatch rules.
//!
//! This is the straightforward scheduler of the foundation: one request at a time, on the
//! calling thread, in a work queue with no rounds. It honours start/always dispatch,
//! dispatchers, `dispatch_to` (extracted and root payloads, and a worker's response),
//! `should_scan`, at-most-once per (payload, worker), `required_workers` (run first on the same
//! payload, results visible, cycles and depth limited, a failed dependency stops the
//! dependent), extraction recursion up to `max_recursion`, and SHA-256 deduplication.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use stoq_plugin_abi::host::{CallError, CallErrorKind, Extracted, QueryContext, Role};
use stoq_plugin_abi::{PayloadMeta, RequestMeta, ffi};

use crate::model::{ErrorRecord, PayloadResults, PluginsRun, StoqResponse};
use crate::registry::{PluginError, Registry};

/// What the engine runs and its limits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Workers for root payloads only (`-s`).
    pub start_dispatch: Vec<String>,
    /// Workers for every payload (`-a`).
    pub always_dispatch: Vec<String>,
    /// Dispatcher plugins (`-R`).
    pub dispatchers: Vec<String>,
    /// A payload this many extractions below its root is listed but not scanned.
    pub max_recursion: u32,
    /// The longest allowed `required_workers` chain.
    pub max_required_worker_depth: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            start_dispatch: Vec::new(),
            always_dispatch: Vec::new(),
            dispatchers: Vec::new(),
            max_recursion: 10,
            max_required_worker_depth: 10,
        }
    }
}

/// Scans requests with the plugins of a [`Registry`].
///
/// ```no_run
/// use std::sync::Arc;
/// use stoq_core::{Engine, Registry, Settings};
///
/// let registry = Registry::discover(&["plugins".into()], Default::default());
/// let settings = Settings { always_dispatch: vec!["hash".into()], ..Settings::default() };
/// let engine = Engine::new(Arc::new(registry), settings);
/// engine.check().expect("plugins start");
/// let response = engine.scan(b"The quick brown fox".to_vec().into(), Default::default(), Default::default());
/// println!("{}", serde_json::to_string_pretty(&response).unwrap());
/// ```
pub struct Engine {
    registry: Arc<Registry>,
    settings: Settings,
}

impl Engine {
    /// An engine over `registry` with `settings`.
    pub fn new(registry: Arc<Registry>, settings: Settings) -> Self {
        Self { registry, settings }
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Starts every plugin the settings name (and their required workers), so a missing plugin
    /// or a rejected option is reported before any scan. Returns every problem found.
    pub fn check(&self) -> Result<(), Vec<PluginError>> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        let mut pending: Vec<String> = self
            .settings
            .start_dispatch
            .iter()
            .chain(&self.settings.always_dispatch)
            .cloned()
            .collect();
        while let Some(name) = pending.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            match self.registry.instance(&name, Role::Worker) {
                Ok(instance) => pending.extend(instance.required_workers.iter().cloned()),
                Err(e) => problems.push(e),
            }
        }
        for name in &self.settings.dispatchers {
            if let Err(e) = self.registry.instance(name, Role::Dispatcher) {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Scans one root payload and everything extracted from it.
    pub fn scan(
        &self,
        content: Bytes,
        payload_meta: PayloadMeta,
        request_meta: RequestMeta,
    ) -> StoqResponse {
        let mut request = RequestState::new(self, request_meta);
        request.add_root(content, payload_meta);
        request.drain();
        request.finish()
    }
}

/// How a worker's run on a payload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It ran and returned.
    Ran,
    /// It failed, panicked, or could not run; dependents do not run.
    Failed,
    /// A dependency cycle or depth limit stopped the chain; already reported once.
    Aborted,
}

struct PayloadState {
    content: Bytes,
    results: PayloadResults,
    dispatch_meta: Map<String, Value>,
    outcomes: HashMap<String, Outcome>,
}

struct RequestState<'e> {
    engine: &'e Engine,
    request_meta: RequestMeta,
    payloads: Vec<PayloadState>,
    by_sha256: HashMap<[u8; 32], usize>,
    errors: Vec<ErrorRecord>,
    unavailable_reported: HashSet<String>,
    queue: VecDeque<(usize, String)>,
}

fn call_error_text(role: &str, e: &CallError) -> String {
    match e.kind {
        CallErrorKind::Panicked => format!("{role}:panicked: {}", e.message),
        _ => format!("{role}:failed: {}", e.message),
    }
}

impl<'e> RequestState<'e> {
    fn new(engine: &'e Engine, request_meta: RequestMeta) -> Self {
        Self {
            engine,
            request_meta,
            payloads: Vec::new(),
            by_sha256: HashMap::new(),
            errors: Vec::new(),
            unavailable_reported: HashSet::new(),
            queue: VecDeque::new(),
        }
    }

    fn settings(&self) -> &Settings {
        &self.engine.settings
    }

    fn error(&mut self, error: String, plugin: Option<&str>, payload: Option<usize>) {
        let payload_id = payload.map(|i| self.payloads[i].results.payload_id.clone());
        self.errors.push(ErrorRecord {
            error,
            plugin_name: plugin.map(str::to_owned),
            payload_id,
        });
    }

    fn push_payload(&mut self, content: Bytes, meta: PayloadMeta, depth: u32) -> usize {
        let idx = self.payloads.len();
        self.payloads.push(PayloadState {
            results: PayloadResults {
                size: content.len() as u64,
                payload_id: uuid::Uuid::new_v4().to_string(),
                payload_meta: meta,
                plugins_run: PluginsRun::default(),
                extracted_from: Vec::new(),
                extracted_by: Vec::new(),
                workers: Map::new(),
                archivers: Map::new(),
                depth,
            },
            content,
            dispatch_meta: Map::new(),
            outcomes: HashMap::new(),
        });
        idx
    }

    fn add_root(&mut self, content: Bytes, meta: PayloadMeta) {
        let digest: [u8; 32] = Sha256::digest(&content).into();
        let idx = self.push_payload(content, meta, 0);
        self.by_sha256.entry(digest).or_insert(idx);
        let start = self.settings().start_dispatch.clone();
        self.schedule_new(idx, &start);
    }

    /// Schedules a payload that just entered the request: `extra` (start dispatch for roots),
    /// always dispatch, its own `dispatch_to`, and what the dispatchers name.
    /// A payload `max_recursion` or more extractions deep is listed but not scanned.
    fn schedule_new(&mut self, idx: usize, extra: &[String]) {
        if !self.payloads[idx].results.payload_meta.should_scan {
            return;
        }
        let depth = self.payloads[idx].results.depth;
        let max = self.settings().max_recursion;
        if depth >= max {
            self.error(
                format!("Final worker round ({max}) reached, unable to process payload: it is {depth} extractions deep and max_recursion is {max}"),
                None,
                Some(idx),
            );
            return;
        }
        let mut names: Vec<String> = extra.to_vec();
        names.extend(self.settings().always_dispatch.iter().cloned());
        names.extend(
            self.payloads[idx]
                .results
                .payload_meta
                .dispatch_to
                .iter()
                .cloned(),
        );
        names.extend(self.ask_dispatchers(idx));
        for name in names {
            self.queue.push_back((idx, name));
        }
    }

    fn ask_dispatchers(&mut self, idx: usize) -> Vec<String> {
        let mut names = Vec::new();
        for dispatcher in self.settings().dispatchers.clone() {
            let instance = match self.engine.registry.instance(&dispatcher, Role::Dispatcher) {
                Ok(instance) => instance,
                Err(e) => {
                    self.report_unavailable(&dispatcher, "Dispatcher", &e, idx);
                    continue;
                }
            };
            let payload = &self.payloads[idx];
            let context = PayloadContext { request: self, idx };
            let outcome =
                instance.get_dispatches(&payload.content, &payload.results.payload_id, &context);
            match outcome {
                Ok(response) => {
                    for e in &response.errors {
                        self.error(e.message().to_owned(), Some(&dispatcher), Some(idx));
                    }
                    self.payloads[idx]
                        .dispatch_meta
                        .insert(dispatcher.clone(), Value::Object(response.meta));
                    names.extend(response.plugin_names);
                }
                Err(e) => self.error(
                    call_error_text("dispatcher", &e),
                    Some(&dispatcher),
                    Some(idx),
                ),
            }
        }
        names
    }

    fn report_unavailable(&mut self, name: &str, kind: &str, e: &PluginError, idx: usize) {
        if self.unavailable_reported.insert(name.to_owned()) {
            self.error(
                format!("{kind} plugin {name} failed to load: {e}"),
                Some(name),
                Some(idx),
            );
        }
    }

    fn drain(&mut self) {
        while let Some((idx, name)) = self.queue.pop_front() {
            let mut chain = Vec::new();
            self.run_worker(idx, &name, &mut chain);
        }
    }

    /// Runs `name` on payload `idx` unless it already did, after its required workers.
    fn run_worker(&mut self, idx: usize, name: &str, chain: &mut Vec<String>) -> Outcome {
        if let Some(outcome) = self.payloads[idx].outcomes.get(name) {
            return *outcome;
        }
        let root = chain.first().map_or(name, String::as_str).to_owned();
        if chain.iter().any(|c| c == name) {
            self.error(
                format!("Circular required plugin dependency found, unable to process plugin {name} (chain: {} -> {name})", chain.join(" -> ")),
                Some(&root),
                Some(idx),
            );
            return Outcome::Aborted;
        }
        if chain.len() > self.settings().max_required_worker_depth as usize {
            let max = self.settings().max_required_worker_depth;
            self.error(
                format!("Max required plugin depth {max} reached, unable to generate additional tasks (chain: {} -> {name})", chain.join(" -> ")),
                Some(&root),
                Some(idx),
            );
            return Outcome::Aborted;
        }
        let instance = match self.engine.registry.instance(name, Role::Worker) {
            Ok(instance) => instance,
            Err(e) => {
                self.report_unavailable(name, "Worker", &e, idx);
                self.payloads[idx]
                    .outcomes
                    .insert(name.to_owned(), Outcome::Failed);
                return Outcome::Failed;
            }
        };

        chain.push(name.to_owned());
        let mut blocked = None;
        for dependency in &instance.required_workers {
            match self.run_worker(idx, dependency, chain) {
                Outcome::Ran => {}
                outcome => {
                    blocked = Some((dependency.clone(), outcome));
                    break;
                }
            }
        }
        chain.pop();
        if let Some((dependency, outcome)) = blocked {
            if outcome == Outcome::Failed {
                self.error(
                    format!(
                        "worker:not run: required worker `{dependency}` failed on this payload"
                    ),
                    Some(name),
                    Some(idx),
                );
            }
            self.payloads[idx].outcomes.insert(name.to_owned(), outcome);
            return outcome;
        }

        let payload = &self.payloads[idx];
        let context = PayloadContext { request: self, idx };
        let span =
            tracing::debug_span!("scan", plugin = name, payload_id = %payload.results.payload_id);
        let scanned = span
            .in_scope(|| instance.scan(&payload.content, &payload.results.payload_id, &context));

        let payload = &mut self.payloads[idx];
        payload.results.plugins_run.workers.push(name.to_owned());
        let outcome = match scanned {
            Ok(None) => Outcome::Ran,
            Ok(Some(output)) => {
                if let Some(results) = output.results {
                    payload.results.workers.insert(name.to_owned(), results);
                }
                for message in output.errors {
                    self.error(message, Some(name), Some(idx));
                }
                for next in output.dispatch_to {
                    self.queue.push_back((idx, next));
                }
                for extracted in output.extracted {
                    self.add_extracted(idx, name, extracted);
                }
                Outcome::Ran
            }
            Err(e) => {
                self.error(call_error_text("worker", &e), Some(name), Some(idx));
                Outcome::Failed
            }
        };
        self.payloads[idx].outcomes.insert(name.to_owned(), outcome);
        outcome
    }

    fn add_extracted(&mut self, parent: usize, worker: &str, extracted: Extracted) {
        let digest: [u8; 32] = Sha256::digest(&extracted.content).into();
        let parent_id = self.payloads[parent].results.payload_id.clone();
        if let Some(&existing) = self.by_sha256.get(&digest) {
            let results = &mut self.payloads[existing].results;
            results.extracted_from.push(parent_id);
            results.extracted_by.push(worker.to_owned());
            return;
        }
        let depth = self.payloads[parent].results.depth + 1;
        let idx = self.push_payload(extracted.content, extracted.payload_meta, depth);
        self.by_sha256.insert(digest, idx);
        let results = &mut self.payloads[idx].results;
        results.extracted_from.push(parent_id);
        results.extracted_by.push(worker.to_owned());
        self.schedule_new(idx, &[]);
    }

    fn finish(self) -> StoqResponse {
        StoqResponse {
            results: self.payloads.into_iter().map(|p| p.results).collect(),
            request_meta: self.request_meta,
            errors: self.errors,
            time: crate::time::now_rfc3339(),
            decorators: Map::new(),
            scan_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Answers a plugin's questions about payload `idx` and the request.
struct PayloadContext<'a, 'e> {
    request: &'a RequestState<'e>,
    idx: usize,
}

impl QueryContext for PayloadContext<'_, '_> {
    fn query(&self, key: &str) -> Option<String> {
        let payload = &self.request.payloads[self.idx];
        let value = match key {
            ffi::CONTEXT_PAYLOAD_META => {
                serde_json::to_value(&payload.results.payload_meta).ok()?
            }
            ffi::CONTEXT_REQUEST_META => serde_json::to_value(&self.request.request_meta).ok()?,
            ffi::CONTEXT_DEPTH => json!(payload.results.depth),
            ffi::CONTEXT_DISPATCH_META => Value::Object(payload.dispatch_meta.clone()),
            ffi::CONTEXT_WORKER_RESULTS => Value::Object(payload.results.workers.clone()),
            ffi::CONTEXT_PLUGINS_RUN => json!(payload.results.plugins_run.workers),
            ffi::CONTEXT_REQUEST_PAYLOADS => Value::Array(
                self.request
                    .payloads
                    .iter()
                    .map(|p| {
                        json!({
                            "payload_id": p.results.payload_id,
                            "depth": p.results.depth,
                            "plugins_run": p.results.plugins_run.workers,
                            "payload_meta": p.results.payload_meta,
                        })
                    })
                    .collect(),
            ),
            _ => return None,
        };
        Some(value.to_string())
    }
}
