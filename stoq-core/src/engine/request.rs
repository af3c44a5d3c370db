//! One request's state and the dispatch rules: which (payload, worker) pairs run, when, and what
//! their results do. Everything here runs under the request's lock and returns the tasks that
//! became ready; plugin calls happen outside the lock, in [`Request::execute`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use stoq_loader::{
    CallError, CallErrorKind, Extracted, QueryContext, Role, WorkerOutput,
};
use stoq_plugin_abi::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, PayloadMeta, RequestMeta, ffi,
};

use super::{Content, Limits, Shared};
use crate::model::{ErrorRecord, PayloadResults, PluginsRun, StoqResponse};

/// What a task does.
#[derive(Clone)]
pub(crate) enum TaskKind {
    /// Run one worker on one payload.
    Scan {
        payload: usize,
        worker: Arc<str>,
        instance: Arc<crate::PluginHandle>,
    },
    /// Ask every dispatcher about one payload.
    Dispatch { payload: usize },
    /// Save one payload with one destination archiver.
    Archive {
        payload: usize,
        archiver: Arc<str>,
        instance: Arc<crate::PluginHandle>,
    },
    /// Summarise the response with one decorator.
    Decorate {
        decorator: Arc<str>,
        instance: Arc<crate::PluginHandle>,
        response: Arc<String>,
    },
    /// Hand the final response to one connector.
    Connect {
        connector: Arc<str>,
        instance: Arc<crate::PluginHandle>,
        response: Arc<String>,
    },
}

/// A unit of work for the pool.
pub(crate) struct Task {
    pub request: Arc<Request>,
    pub kind: TaskKind,
    pub timeout: Duration,
}

/// What a task's plugin calls produced (computed without the lock).
pub(crate) enum Outcome {
    Scan(Result<Option<WorkerOutput>, CallError>, Vec<[u8; 32]>),
    Dispatch(u64, Vec<(String, Result<DispatcherResponse, CallError>)>),
    Archive(Result<ArchiverResponse, CallError>),
    Decorate(Result<DecoratorResponse, CallError>),
    Connect(Result<(), CallError>),
}

/// Where a request is once its payloads are scanned (SPEC §2.12: archivers, then decorators,
/// then connectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Scanning,
    Archiving,
    Decorating,
    Connecting,
}

/// How a worker's run on a payload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// It ran and returned.
    Ran,
    /// It failed, panicked, timed out or could not run; dependents do not run.
    Failed,
    /// A dependency cycle or depth limit stopped the chain; reported once already.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerState {
    /// Waiting for this many required workers.
    Waiting(usize),
    /// Queued or running.
    Queued,
    Done(Done),
}

enum Want {
    Pending,
    Done(Done),
}

struct PayloadState {
    content: Bytes,
    /// A root too large to be read: listed with its size, never scanned or archived.
    unread: bool,
    sha256: Option<[u8; 32]>,
    results: PayloadResults,
    dispatch_meta: Map<String, Value>,
    workers: HashMap<Arc<str>, WorkerState>,
    /// Workers waiting for a worker, by the worker they wait for.
    dependents: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// The request generation when dispatchers were last asked about this payload.
    dispatched_at: Option<u64>,
    /// Where it sits in the tree, for the deterministic order: (parent's key, worker, index).
    sort_key: Vec<(usize, String, usize)>,
}

/// Effects held back in deterministic mode until the request is quiet, then applied in tree
/// order, so that which extraction of a duplicate counts as "first" (its depth, its metadata)
/// and what dispatchers see never depend on thread timing.
enum Deferred {
    Extract {
        parent: usize,
        worker: Arc<str>,
        n: usize,
        extracted: Extracted,
        digest: [u8; 32],
    },
    Want {
        payload: usize,
        worker: Arc<str>,
    },
}

pub(crate) struct State {
    request_meta: RequestMeta,
    /// The response's scan id, when the caller chose it (a queue's task id).
    scan_id: Option<String>,
    /// Connectors that failed to save the response: the request is not safely stored.
    connector_errors: Vec<ErrorRecord>,
    deferred: Vec<Deferred>,
    phase: Phase,
    /// The response, once built (decorators and connectors work on it).
    response: Option<StoqResponse>,
    payloads: Vec<PayloadState>,
    /// Content digest to payload, filled once the first payload is extracted.
    by_sha256: Option<HashMap<[u8; 32], usize>>,
    errors: Vec<ErrorRecord>,
    unavailable_reported: HashSet<String>,
    limits_reported: HashSet<&'static str>,
    extracted_count: usize,
    extracted_bytes: u64,
    /// Tasks queued or running.
    outstanding: usize,
    /// Bumped whenever a worker finishes or a payload is added: dispatchers may answer
    /// differently afterwards.
    generation: u64,
    finished: bool,
    reply: Option<Reply>,
}

/// Where a finished response goes.
pub(crate) enum Reply {
    /// To the one caller of [`Engine::submit`](super::Engine::submit).
    Channel(mpsc::Sender<StoqResponse>),
    /// Into a batch of [`Engine::scan_many`](super::Engine::scan_many), at this input index.
    Batch(Arc<dyn super::batch::Deliver>, usize),
    /// To a callback of [`Engine::submit_with`](super::Engine::submit_with); it runs on a pool
    /// thread and must only hand the response on.
    Callback(Box<dyn FnOnce(super::Finished) + Send>),
}

/// One request in flight.
pub(crate) struct Request {
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Set once the response is sent; later results are discarded.
    finished: AtomicBool,
    /// When the whole request must be done.
    pub deadline: Option<Instant>,
}

fn call_error_text(role: &str, e: &CallError) -> String {
    match e.kind {
        CallErrorKind::Panicked => format!("{role}:panicked: {}", e.message),
        CallErrorKind::Crashed => format!("{role}:crashed: {}", e.message),
        CallErrorKind::TimedOut => format!("{role}:timed out: {}", e.message),
        _ => format!("{role}:failed: {}", e.message),
    }
}

fn format_uuid(digest: &[u8]) -> String {
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A request to create on a pool thread.
pub(crate) struct Start {
    pub shared: Arc<Shared>,
    pub roots: Vec<(Content, PayloadMeta)>,
    pub request_meta: RequestMeta,
    pub scan_id: Option<String>,
    pub reply: Reply,
}

impl Request {
    /// Creates the request a [`Start`] describes (loading roots given as
    /// [`Content::Load`] first, on this thread); returns it with its first tasks, or `None`
    /// when a loader skipped its input (the reply is told).
    pub fn start_job(start: Start) -> Option<(Arc<Self>, Vec<Task>)> {
        let Start {
            shared,
            mut roots,
            request_meta,
            scan_id,
            reply,
        } = start;
        for (content, _) in &mut roots {
            if !matches!(content, Content::Load(_)) {
                continue;
            }
            if let Content::Load(loader) = std::mem::replace(content, Content::Unread { size: 0 }) {
                match loader.load() {
                    Some(loaded) => *content = loaded,
                    None => {
                        match reply {
                            Reply::Batch(completions, index) => completions.deliver(index, None),
                            Reply::Channel(_) | Reply::Callback(_) => {
                                tracing::error!(
                                    "an input given to a single request was skipped by its loader"
                                );
                            }
                        }
                        return None;
                    }
                }
            }
        }
        let deadline = shared.settings.request_timeout.map(|t| Instant::now() + t);
        let request = Arc::new(Self {
            shared,
            state: Mutex::new(State {
                request_meta,
                scan_id,
                connector_errors: Vec::new(),
                deferred: Vec::new(),
                phase: Phase::Scanning,
                response: None,
                payloads: Vec::new(),
                by_sha256: None,
                errors: Vec::new(),
                unavailable_reported: HashSet::new(),
                limits_reported: HashSet::new(),
                extracted_count: 0,
                extracted_bytes: 0,
                outstanding: 0,
                generation: 0,
                finished: false,
                reply: Some(reply),
            }),
            finished: AtomicBool::new(false),
            deadline,
        });
        let mut tasks = Vec::new();
        {
            let mut state = request.lock();
            for (index, (content, meta)) in roots.into_iter().enumerate() {
                let (bytes, unread) = match content {
                    Content::Bytes(bytes) => (bytes, None),
                    Content::Unread { size } => (Bytes::new(), Some(size)),
                    // Loaded above.
                    Content::Load(_) => (Bytes::new(), Some(0)),
                };
                let idx = request.push_payload(
                    &mut state,
                    bytes,
                    None,
                    meta,
                    0,
                    vec![(index, String::new(), 0)],
                );
                if let Some(size) = unread {
                    let payload = &mut state.payloads[idx];
                    payload.unread = true;
                    payload.results.size = size;
                }
                let start = &request.shared.start_dispatch;
                request.schedule_new(&mut state, idx, start, &mut tasks);
            }
            if state.outstanding == 0 {
                request.quiesce(&mut state, &mut tasks);
            }
        }
        Some((request, tasks))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a bug in this module; the state is still consistent enough to
        // finish the request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the response was already sent.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn settings(&self) -> &super::Settings {
        &self.shared.settings
    }

    fn limits(&self) -> &Limits {
        &self.shared.settings.limits
    }

    fn task(self: &Arc<Self>, state: &mut State, kind: TaskKind, timeout: Duration) -> Task {
        state.outstanding += 1;
        Task {
            request: Arc::clone(self),
            kind,
            timeout,
        }
    }

    fn error(state: &mut State, error: String, plugin: Option<&str>, payload: Option<usize>) {
        let payload_id = payload.map(|i| state.payloads[i].results.payload_id.clone());
        state.errors.push(ErrorRecord {
            error,
            plugin_name: plugin.map(str::to_owned),
            payload_id,
        });
    }

    fn push_payload(
        &self,
        state: &mut State,
        content: Bytes,
        sha256: Option<[u8; 32]>,
        meta: PayloadMeta,
        depth: u32,
        sort_key: Vec<(usize, String, usize)>,
    ) -> usize {
        let idx = state.payloads.len();
        let payload_id = if self.settings().deterministic {
            let digest = sha256.unwrap_or_else(|| Sha256::digest(&content).into());
            let mut h = Sha256::new();
            match state.payloads.first() {
                // Extracted payloads are unique by content within a request.
                Some(root) if depth > 0 => h.update(root.results.payload_id.as_bytes()),
                _ => h.update(format!("root:{idx}:").as_bytes()),
            }
            h.update(digest);
            format_uuid(&h.finalize())
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        state.payloads.push(PayloadState {
            results: PayloadResults {
                size: content.len() as u64,
                payload_id,
                payload_meta: meta,
                plugins_run: PluginsRun::default(),
                extracted_from: Vec::new(),
                extracted_by: Vec::new(),
                extracted_extra_data: Vec::new(),
                workers: Map::new(),
                archivers: Map::new(),
                depth,
            },
            content,
            unread: false,
            sha256,
            dispatch_meta: Map::new(),
            workers: HashMap::new(),
            dependents: HashMap::new(),
            dispatched_at: None,
            sort_key,
        });
        state.generation += 1;
        idx
    }

    /// Schedules a payload that just entered the request: `extra` (start dispatch for roots),
    /// always dispatch, its own `dispatch_to`, and a question to the dispatchers. A payload
    /// `max_recursion` or more extractions deep, or larger than `max_payload_size`, is listed
    /// but not scanned.
    fn schedule_new(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        extra: &[Arc<str>],
        tasks: &mut Vec<Task>,
    ) {
        let payload = &state.payloads[idx];
        if !payload.results.payload_meta.should_scan {
            return;
        }
        let depth = payload.results.depth;
        let max = self.settings().max_recursion;
        if depth >= max {
            Self::error(
                state,
                format!(
                    "Final worker round ({max}) reached, unable to process payload: it is {depth} extractions deep and max_recursion is {max}"
                ),
                None,
                Some(idx),
            );
            return;
        }
        let size = payload.results.size;
        if size > self.limits().max_payload_size || payload.unread {
            Self::error(
                state,
                format!(
                    "limit max_payload_size ({}) exceeded: the payload has {size} bytes and is not scanned",
                    self.limits().max_payload_size
                ),
                None,
                Some(idx),
            );
            return;
        }
        let mut names: Vec<Arc<str>> = extra.to_vec();
        names.extend(self.shared.always_dispatch.iter().cloned());
        names.extend(
            state.payloads[idx]
                .results
                .payload_meta
                .dispatch_to
                .iter()
                .map(|s| Arc::from(s.as_str())),
        );
        for name in names {
            self.want(state, idx, &name, &mut Vec::new(), tasks);
        }
        // In deterministic mode dispatchers are asked only when the request is quiet.
        if !self.settings().dispatchers.is_empty() && !self.settings().deterministic {
            let timeout = self.settings().worker_timeout;
            let task = self.task(state, TaskKind::Dispatch { payload: idx }, timeout);
            tasks.push(task);
        }
    }

    fn report_unavailable(
        state: &mut State,
        name: &str,
        kind: &str,
        e: &crate::PluginError,
        idx: usize,
    ) {
        if state.unavailable_reported.insert(name.to_owned()) {
            Self::error(
                state,
                format!("{kind} plugin {name} failed to load: {e}"),
                Some(name),
                Some(idx),
            );
        }
    }

    /// Makes sure worker `name` runs on payload `idx` once its required workers have: schedules
    /// it (and them) unless already done. `chain` is the path of dependents that led here.
    fn want(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        chain: &mut Vec<Arc<str>>,
        tasks: &mut Vec<Task>,
    ) -> Want {
        match state.payloads[idx].workers.get(name) {
            Some(WorkerState::Done(done)) => return Want::Done(*done),
            Some(_) => return Want::Pending,
            None => {}
        }
        let root = chain.first().unwrap_or(name).clone();
        let path = || {
            chain
                .iter()
                .map(|c| &**c)
                .chain(std::iter::once(&**name))
                .collect::<Vec<_>>()
                .join(" -> ")
        };
        if chain.contains(name) {
            Self::error(
                state,
                format!(
                    "Circular required plugin dependency found, unable to process plugin {name} ({})",
                    path()
                ),
                Some(&root),
                Some(idx),
            );
            return Want::Done(Done::Aborted);
        }
        let max_depth = self.settings().max_required_worker_depth;
        if chain.len() > max_depth as usize {
            Self::error(
                state,
                format!(
                    "Max required plugin depth {max_depth} reached, unable to generate additional tasks ({})",
                    path()
                ),
                Some(&root),
                Some(idx),
            );
            return Want::Done(Done::Aborted);
        }
        let instance = match self.shared.instance(name, Role::Worker) {
            Ok(instance) => instance,
            Err(e) => {
                Self::report_unavailable(state, name, "Worker", &e, idx);
                state.payloads[idx]
                    .workers
                    .insert(name.clone(), WorkerState::Done(Done::Failed));
                return Want::Done(Done::Failed);
            }
        };

        chain.push(name.clone());
        let mut missing = Vec::new();
        let mut blocked = None;
        for dependency in instance.required_workers() {
            let dependency: Arc<str> = Arc::from(dependency.as_str());
            match self.want(state, idx, &dependency, chain, tasks) {
                Want::Done(Done::Ran) => {}
                Want::Done(done) => {
                    blocked = Some((dependency, done));
                    break;
                }
                Want::Pending => missing.push(dependency),
            }
        }
        chain.pop();

        if let Some((dependency, done)) = blocked {
            self.block(state, idx, name, &dependency, done);
            return Want::Done(done);
        }
        let payload = &mut state.payloads[idx];
        if missing.is_empty() {
            payload.workers.insert(name.clone(), WorkerState::Queued);
            let timeout = self.shared.timeout_of(name) + instance.timeout_grace();
            let task = self.task(
                state,
                TaskKind::Scan {
                    payload: idx,
                    worker: name.clone(),
                    instance,
                },
                timeout,
            );
            tasks.push(task);
        } else {
            payload
                .workers
                .insert(name.clone(), WorkerState::Waiting(missing.len()));
            for dependency in missing {
                payload
                    .dependents
                    .entry(dependency)
                    .or_default()
                    .push(name.clone());
            }
        }
        Want::Pending
    }

    /// Worker `name` cannot run on `idx` because `dependency` ended with `done`.
    fn block(&self, state: &mut State, idx: usize, name: &Arc<str>, dependency: &str, done: Done) {
        if done == Done::Failed {
            Self::error(
                state,
                format!("worker:not run: required worker `{dependency}` failed on this payload"),
                Some(name),
                Some(idx),
            );
        }
        state.payloads[idx]
            .workers
            .insert(name.clone(), WorkerState::Done(done));
    }

    /// Records that `name` finished on `idx` and releases or blocks its dependents.
    fn finish_worker(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        done: Done,
        tasks: &mut Vec<Task>,
    ) {
        let mut finished = vec![(name.clone(), done)];
        while let Some((name, done)) = finished.pop() {
            let payload = &mut state.payloads[idx];
            payload
                .workers
                .insert(name.clone(), WorkerState::Done(done));
            let dependents = payload.dependents.remove(&name).unwrap_or_default();
            for dependent in dependents {
                let Some(WorkerState::Waiting(missing)) =
                    state.payloads[idx].workers.get(&dependent).copied()
                else {
                    continue;
                };
                if done != Done::Ran {
                    self.block(state, idx, &dependent, &name, done);
                    finished.push((dependent, done));
                } else if missing > 1 {
                    state.payloads[idx]
                        .workers
                        .insert(dependent, WorkerState::Waiting(missing - 1));
                } else {
                    state.payloads[idx]
                        .workers
                        .insert(dependent.clone(), WorkerState::Queued);
                    let Ok(instance) = self.shared.instance(&dependent, Role::Worker) else {
                        continue;
                    };
                    let timeout = self.shared.timeout_of(&dependent) + instance.timeout_grace();
                    let task = self.task(
                        state,
                        TaskKind::Scan {
                            payload: idx,
                            worker: dependent,
                            instance,
                        },
                        timeout,
                    );
                    tasks.push(task);
                }
            }
        }
    }

    /// A payload's bytes (shared, not copied) and id, and the request's generation, taken
    /// under the lock so the plugin call can run without it.
    fn payload_handle(&self, idx: usize) -> (Bytes, String, u64) {
        let state = self.lock();
        let p = &state.payloads[idx];
        (
            p.content.clone(),
            p.results.payload_id.clone(),
            state.generation,
        )
    }

    /// Runs a task's plugin calls, without holding the lock.
    pub fn execute(self: &Arc<Self>, kind: &TaskKind) -> Outcome {
        match kind {
            TaskKind::Scan {
                payload,
                worker,
                instance,
            } => {
                let (content, payload_id, _) = self.payload_handle(*payload);
                let context = PayloadContext {
                    request: self,
                    idx: *payload,
                };
                let span =
                    tracing::debug_span!("scan", plugin = &**worker, payload_id = %payload_id);
                let result = span.in_scope(|| instance.scan(&content, &payload_id, &context));
                // Digest extracted payloads here, outside the lock.
                let digests = match &result {
                    Ok(Some(output)) => output
                        .extracted
                        .iter()
                        .map(|e| Sha256::digest(&e.content).into())
                        .collect(),
                    _ => Vec::new(),
                };
                Outcome::Scan(result, digests)
            }
            TaskKind::Dispatch { payload } => {
                let (content, payload_id, generation) = self.payload_handle(*payload);
                let context = PayloadContext {
                    request: self,
                    idx: *payload,
                };
                let answers = self
                    .settings()
                    .dispatchers
                    .iter()
                    .map(|name| {
                        let answer = match self.shared.instance(name, Role::Dispatcher) {
                            Ok(instance) => {
                                instance.get_dispatches(&content, &payload_id, &context)
                            }
                            Err(e) => Err(CallError {
                                kind: CallErrorKind::Failed,
                                message: format!("Dispatcher plugin {name} failed to load: {e}"),
                            }),
                        };
                        (name.clone(), answer)
                    })
                    .collect();
                Outcome::Dispatch(generation, answers)
            }
            TaskKind::Archive {
                payload, instance, ..
            } => {
                let (content, payload_id, _) = self.payload_handle(*payload);
                let context = PayloadContext {
                    request: self,
                    idx: *payload,
                };
                Outcome::Archive(instance.archive(&content, &payload_id, &context))
            }
            TaskKind::Decorate {
                instance, response, ..
            } => Outcome::Decorate(instance.decorate(response)),
            TaskKind::Connect {
                instance, response, ..
            } => Outcome::Connect(instance.save(response)),
        }
    }

    /// Applies a task's outcome; returns the tasks that became ready.
    pub fn complete(self: &Arc<Self>, kind: TaskKind, outcome: Outcome) -> Vec<Task> {
        let mut tasks = Vec::new();
        let mut state = self.lock();
        if state.finished {
            return tasks;
        }
        match (kind, outcome) {
            (
                TaskKind::Scan {
                    payload, worker, ..
                },
                Outcome::Scan(result, digests),
            ) => {
                self.apply_scan(&mut state, payload, &worker, result, digests, &mut tasks);
            }
            (TaskKind::Dispatch { payload }, Outcome::Dispatch(generation, answers)) => {
                self.apply_dispatch(&mut state, payload, generation, answers, &mut tasks);
            }
            (
                TaskKind::Archive {
                    payload, archiver, ..
                },
                Outcome::Archive(answer),
            ) => self.apply_archive(&mut state, payload, &archiver, answer),
            (TaskKind::Decorate { decorator, .. }, Outcome::Decorate(answer)) => {
                Self::apply_decorate(&mut state, &decorator, answer);
            }
            (TaskKind::Connect { connector, .. }, Outcome::Connect(answer)) => {
                if let Err(e) = answer {
                    tracing::error!(connector = &*connector, "connector failed: {}", e.message);
                    let error = call_error_text("connector", &e);
                    state.connector_errors.push(ErrorRecord {
                        error: error.clone(),
                        plugin_name: Some(connector.to_string()),
                        payload_id: None,
                    });
                    Self::response_error(&mut state, error, &connector);
                }
            }
            _ => unreachable!("outcome of another task kind"),
        }
        self.task_done(&mut state, &mut tasks);
        tasks
    }

    /// A task was dropped without running (the request is finished).
    pub fn skip(&self) {
        let mut state = self.lock();
        state.outstanding = state.outstanding.saturating_sub(1);
    }

    /// A task ran past its timeout: the pool abandons it and this records why. `plugin` is
    /// the plugin the stuck thread was inside of, when known (a dispatch task asks several).
    pub fn abandon(
        self: &Arc<Self>,
        kind: TaskKind,
        timeout: Duration,
        plugin: Option<&str>,
    ) -> Vec<Task> {
        let mut tasks = Vec::new();
        let mut state = self.lock();
        if state.finished {
            return tasks;
        }
        let seconds = timeout.as_secs_f64();
        match kind {
            TaskKind::Scan {
                payload, worker, ..
            } => {
                Self::error(
                    &mut state,
                    format!(
                        "worker:timed out: still running after {seconds} s (its `timeout` option); the result is discarded"
                    ),
                    Some(&worker),
                    Some(payload),
                );
                state.payloads[payload]
                    .results
                    .plugins_run
                    .workers
                    .push(worker.to_string());
                state.generation += 1;
                self.finish_worker(&mut state, payload, &worker, Done::Failed, &mut tasks);
            }
            TaskKind::Dispatch { payload } => {
                let message = match plugin {
                    Some(_) => format!(
                        "dispatcher:timed out: still running after {seconds} s; this payload's remaining dispatchers were not asked"
                    ),
                    None => format!(
                        "dispatcher:timed out: the dispatchers were still running after {seconds} s"
                    ),
                };
                Self::error(&mut state, message, plugin, Some(payload));
                let generation = state.generation;
                state.payloads[payload].dispatched_at = Some(generation);
            }
            TaskKind::Archive {
                payload, archiver, ..
            } => {
                Self::error(
                    &mut state,
                    format!(
                        "archiver:timed out: still running after {seconds} s; the result is discarded"
                    ),
                    Some(&archiver),
                    Some(payload),
                );
                state.payloads[payload]
                    .results
                    .plugins_run
                    .archivers
                    .push(archiver.to_string());
            }
            TaskKind::Decorate {
                decorator: name, ..
            }
            | TaskKind::Connect {
                connector: name, ..
            } => {
                Self::response_error(
                    &mut state,
                    format!("timed out: still running after {seconds} s; the result is discarded"),
                    &name,
                );
            }
        }
        self.task_done(&mut state, &mut tasks);
        tasks
    }

    /// The request ran past `--timeout`: record it and send what is there.
    pub fn expire(&self) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        let timeout = self
            .settings()
            .request_timeout
            .unwrap_or_default()
            .as_secs_f64();
        let pending = state.outstanding;
        Self::error(
            &mut state,
            format!(
                "limit request timeout ({timeout} s) reached: {pending} scan tasks did not finish; the response holds what finished"
            ),
            None,
            None,
        );
        let late = std::mem::take(&mut state.errors);
        match state.response.as_mut() {
            Some(response) => response.errors.extend(late),
            None => state.errors = late,
        }
        self.send(&mut state);
    }

    fn apply_scan(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        worker: &Arc<str>,
        result: Result<Option<WorkerOutput>, CallError>,
        digests: Vec<[u8; 32]>,
        tasks: &mut Vec<Task>,
    ) {
        state.payloads[idx]
            .results
            .plugins_run
            .workers
            .push(worker.to_string());
        state.generation += 1;
        let done = match result {
            Ok(None) => Done::Ran,
            Ok(Some(output)) => {
                if let Some(results) = output.results {
                    state.payloads[idx]
                        .results
                        .workers
                        .insert(worker.to_string(), results);
                }
                for message in output.errors {
                    Self::error(state, message, Some(worker), Some(idx));
                }
                for next in output.dispatch_to {
                    self.want(
                        state,
                        idx,
                        &Arc::from(next.as_str()),
                        &mut Vec::new(),
                        tasks,
                    );
                }
                for (n, (extracted, digest)) in
                    output.extracted.into_iter().zip(digests).enumerate()
                {
                    if self.settings().deterministic {
                        state.deferred.push(Deferred::Extract {
                            parent: idx,
                            worker: worker.clone(),
                            n,
                            extracted,
                            digest,
                        });
                    } else {
                        self.add_extracted(state, idx, worker, n, extracted, digest, tasks);
                    }
                }
                Done::Ran
            }
            Err(e) => {
                Self::error(
                    state,
                    call_error_text("worker", &e),
                    Some(worker),
                    Some(idx),
                );
                Done::Failed
            }
        };
        self.finish_worker(state, idx, worker, done, tasks);
    }

    fn apply_dispatch(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        generation: u64,
        answers: Vec<(String, Result<DispatcherResponse, CallError>)>,
        tasks: &mut Vec<Task>,
    ) {
        state.payloads[idx].dispatched_at = Some(generation);
        for (dispatcher, answer) in answers {
            match answer {
                Ok(response) => {
                    for e in &response.errors {
                        Self::error(state, e.message().to_owned(), Some(&dispatcher), Some(idx));
                    }
                    state.payloads[idx]
                        .dispatch_meta
                        .insert(dispatcher.clone(), Value::Object(response.meta));
                    if let Some(archive) = response.should_archive {
                        state.payloads[idx].results.payload_meta.should_archive = archive;
                    }
                    for name in response.plugin_names {
                        let worker: Arc<str> = Arc::from(name.as_str());
                        if self.settings().deterministic {
                            state.deferred.push(Deferred::Want {
                                payload: idx,
                                worker,
                            });
                        } else {
                            self.want(state, idx, &worker, &mut Vec::new(), tasks);
                        }
                    }
                }
                Err(e) if e.message.starts_with("Dispatcher plugin ") => {
                    if state.unavailable_reported.insert(dispatcher.clone()) {
                        Self::error(state, e.message, Some(&dispatcher), Some(idx));
                    }
                }
                Err(e) => {
                    // A dispatcher is asked again when the request changes; a failure it
                    // repeats is recorded once.
                    let error = call_error_text("dispatcher", &e);
                    let id = &state.payloads[idx].results.payload_id;
                    let seen = state.errors.iter().any(|r| {
                        r.error == error
                            && r.plugin_name.as_deref() == Some(dispatcher.as_str())
                            && r.payload_id.as_ref() == Some(id)
                    });
                    if !seen {
                        Self::error(state, error, Some(&dispatcher), Some(idx));
                    }
                }
            }
        }
    }

    fn apply_archive(
        &self,
        state: &mut State,
        idx: usize,
        archiver: &str,
        answer: Result<ArchiverResponse, CallError>,
    ) {
        state.payloads[idx]
            .results
            .plugins_run
            .archivers
            .push(archiver.to_owned());
        match answer {
            Ok(response) => {
                if let Some(results) = response.results {
                    state.payloads[idx]
                        .results
                        .archivers
                        .insert(archiver.to_owned(), results);
                }
                for e in response.errors {
                    Self::error(state, e.message().to_owned(), Some(archiver), Some(idx));
                }
            }
            Err(e) => Self::error(
                state,
                call_error_text("archiver", &e),
                Some(archiver),
                Some(idx),
            ),
        }
    }

    fn apply_decorate(
        state: &mut State,
        decorator: &str,
        answer: Result<DecoratorResponse, CallError>,
    ) {
        match answer {
            Ok(response) => {
                if let Some(results) = response.results
                    && let Some(r) = state.response.as_mut()
                {
                    r.decorators.insert(decorator.to_owned(), results);
                }
                for e in response.errors {
                    Self::response_error(state, e.message().to_owned(), decorator);
                }
            }
            Err(e) => Self::response_error(state, call_error_text("decorator", &e), decorator),
        }
    }

    /// An error of a decorator or connector, recorded in the built response.
    fn response_error(state: &mut State, error: String, plugin: &str) {
        if let Some(r) = state.response.as_mut() {
            r.errors.push(ErrorRecord {
                error,
                plugin_name: Some(plugin.to_owned()),
                payload_id: None,
            });
        }
    }

    /// The request is quiet and scanning is done: move to the next phase of SPEC §2.12 with
    /// work to do (archivers, decorators, connectors), or send the response.
    fn next_phase(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        let settings = self.settings();
        let timeout = settings.worker_timeout;
        while state.outstanding == 0 {
            match state.phase {
                Phase::Scanning => {
                    state.phase = Phase::Archiving;
                    if !state.request_meta.archive_payloads {
                        continue;
                    }
                    for archiver in &settings.dest_archivers {
                        let Ok(instance) = self.shared.instance(archiver, Role::Archiver) else {
                            continue;
                        };
                        let archiver: Arc<str> = Arc::from(archiver.as_str());
                        for idx in 0..state.payloads.len() {
                            let payload = &state.payloads[idx];
                            if payload.results.payload_meta.should_archive && !payload.unread {
                                let kind = TaskKind::Archive {
                                    payload: idx,
                                    archiver: archiver.clone(),
                                    instance: instance.clone(),
                                };
                                let task = self.task(state, kind, timeout);
                                tasks.push(task);
                            }
                        }
                    }
                }
                Phase::Archiving => {
                    state.phase = Phase::Decorating;
                    let response = self.build_response(state);
                    state.response = Some(response);
                    self.spawn_on_response(state, &settings.decorators, Role::Decorator, tasks);
                }
                Phase::Decorating => {
                    state.phase = Phase::Connecting;
                    self.spawn_on_response(state, &settings.connectors, Role::Connector, tasks);
                }
                Phase::Connecting => {
                    self.send(state);
                    return;
                }
            }
        }
    }

    /// One decorator or connector task per name, each with the response as JSON.
    fn spawn_on_response(
        self: &Arc<Self>,
        state: &mut State,
        names: &[String],
        role: Role,
        tasks: &mut Vec<Task>,
    ) {
        if names.is_empty() {
            return;
        }
        let json = Arc::new(serde_json::to_string(&state.response).unwrap_or_default());
        for name in names {
            let Ok(instance) = self.shared.instance(name, role) else {
                continue;
            };
            let name: Arc<str> = Arc::from(name.as_str());
            let kind = match role {
                Role::Decorator => TaskKind::Decorate {
                    decorator: name,
                    instance,
                    response: json.clone(),
                },
                _ => TaskKind::Connect {
                    connector: name,
                    instance,
                    response: json.clone(),
                },
            };
            let task = self.task(state, kind, self.settings().worker_timeout);
            tasks.push(task);
        }
    }

    fn limit(
        &self,
        state: &mut State,
        name: &'static str,
        message: String,
        worker: &str,
        parent: usize,
    ) {
        if state.limits_reported.insert(name) {
            Self::error(state, message, Some(worker), Some(parent));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_extracted(
        self: &Arc<Self>,
        state: &mut State,
        parent: usize,
        worker: &Arc<str>,
        n: usize,
        extracted: Extracted,
        digest: [u8; 32],
        tasks: &mut Vec<Task>,
    ) {
        if state.by_sha256.is_none() {
            // The first extraction in this request: index the payloads so far.
            let mut index = HashMap::new();
            for (i, p) in state.payloads.iter_mut().enumerate() {
                let sha = *p
                    .sha256
                    .get_or_insert_with(|| Sha256::digest(&p.content).into());
                index.entry(sha).or_insert(i);
            }
            state.by_sha256 = Some(index);
        }
        let parent_id = state.payloads[parent].results.payload_id.clone();
        let extra = extracted.payload_meta.extra_data.clone();
        if let Some(&existing) = state.by_sha256.as_ref().and_then(|m| m.get(&digest)) {
            let results = &mut state.payloads[existing].results;
            results.extracted_from.push(parent_id);
            results.extracted_by.push(worker.to_string());
            results.extracted_extra_data.push(extra);
            return;
        }
        let limits = self.limits();
        let size = extracted.content.len() as u64;
        if size > limits.max_payload_size {
            let message = format!(
                "limit max_payload_size ({}) exceeded: an extracted payload of {size} bytes was dropped",
                limits.max_payload_size
            );
            Self::error(state, message, Some(worker), Some(parent));
            return;
        }
        if state.extracted_count >= limits.max_extracted_payloads {
            let message = format!(
                "limit max_extracted_payloads ({}) reached: further extracted payloads are dropped",
                limits.max_extracted_payloads
            );
            self.limit(state, "max_extracted_payloads", message, worker, parent);
            return;
        }
        if state.extracted_bytes + size > limits.max_extracted_bytes {
            let message = format!(
                "limit max_extracted_bytes ({}) reached: further extracted payloads are dropped",
                limits.max_extracted_bytes
            );
            self.limit(state, "max_extracted_bytes", message, worker, parent);
            return;
        }
        state.extracted_count += 1;
        state.extracted_bytes += size;
        let depth = state.payloads[parent].results.depth + 1;
        let mut sort_key = state.payloads[parent].sort_key.clone();
        sort_key.push((0, worker.to_string(), n));
        let idx = self.push_payload(
            state,
            extracted.content,
            Some(digest),
            extracted.payload_meta,
            depth,
            sort_key,
        );
        if let Some(index) = state.by_sha256.as_mut() {
            index.insert(digest, idx);
        }
        let results = &mut state.payloads[idx].results;
        results.extracted_from.push(parent_id);
        results.extracted_by.push(worker.to_string());
        results.extracted_extra_data.push(extra);
        self.schedule_new(state, idx, &[], tasks);
    }

    fn task_done(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        state.outstanding = state.outstanding.saturating_sub(1);
        if state.outstanding == 0 {
            self.quiesce(state, tasks);
        }
    }

    /// Nothing is running: apply what deterministic mode held back, ask the dispatchers again
    /// about payloads whose request changed since they were last asked (a dispatcher sees the
    /// request's state), or finish.
    fn quiesce(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        if state.phase > Phase::Scanning {
            self.next_phase(state, tasks);
            return;
        }
        if !state.deferred.is_empty() {
            self.apply_deferred(state, tasks);
            if state.outstanding > 0 {
                return;
            }
        }
        if !self.settings().dispatchers.is_empty() {
            let generation = state.generation;
            let max = self.settings().max_recursion;
            let max_size = self.limits().max_payload_size;
            let deterministic = self.settings().deterministic;
            let stale: Vec<usize> = state
                .payloads
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.results.payload_meta.should_scan
                        && p.results.depth < max
                        && p.results.size <= max_size
                        && !p.unread
                        && match p.dispatched_at {
                            Some(at) => at < generation,
                            None => deterministic,
                        }
                })
                .map(|(i, _)| i)
                .collect();
            if !stale.is_empty() {
                let timeout = self.settings().worker_timeout;
                for idx in stale {
                    let task = self.task(state, TaskKind::Dispatch { payload: idx }, timeout);
                    tasks.push(task);
                }
                return;
            }
        }
        self.next_phase(state, tasks);
    }

    /// Applies held-back extractions (then held-back dispatches) in tree order.
    fn apply_deferred(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        let mut deferred = std::mem::take(&mut state.deferred);
        let key = |state: &State, d: &Deferred| match d {
            Deferred::Extract {
                parent, worker, n, ..
            } => (
                0,
                state.payloads[*parent].sort_key.clone(),
                worker.clone(),
                *n,
            ),
            Deferred::Want { payload, worker } => (
                1,
                state.payloads[*payload].sort_key.clone(),
                worker.clone(),
                0,
            ),
        };
        deferred.sort_by_cached_key(|d| key(state, d));
        for d in deferred {
            match d {
                Deferred::Extract {
                    parent,
                    worker,
                    n,
                    extracted,
                    digest,
                } => self.add_extracted(state, parent, &worker, n, extracted, digest, tasks),
                Deferred::Want { payload, worker } => {
                    self.want(state, payload, &worker, &mut Vec::new(), tasks);
                }
            }
        }
    }

    /// Builds the response from the payloads (which it consumes).
    fn build_response(&self, state: &mut State) -> StoqResponse {
        let deterministic = self.settings().deterministic;
        let mut payloads = std::mem::take(&mut state.payloads);
        if deterministic {
            payloads.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        }
        let mut results: Vec<PayloadResults> = payloads.into_iter().map(|p| p.results).collect();
        let mut errors = std::mem::take(&mut state.errors);
        if deterministic {
            for r in &mut results {
                r.plugins_run.workers.sort();
                r.plugins_run.archivers.sort();
                // Maps keep insertion (completion) order when serde_json's `preserve_order`
                // is on, which any dependency can turn on.
                r.workers.sort_keys();
                r.archivers.sort_keys();
                let mut edges: Vec<_> = r
                    .extracted_from
                    .drain(..)
                    .zip(r.extracted_by.drain(..))
                    .zip(r.extracted_extra_data.drain(..))
                    .collect();
                edges.sort_by(|a, b| (&a.0.0, &a.0.1).cmp(&(&b.0.0, &b.0.1)));
                for ((from, by), extra) in edges {
                    r.extracted_from.push(from);
                    r.extracted_by.push(by);
                    r.extracted_extra_data.push(extra);
                }
            }
            errors.sort_by(|a, b| {
                (&a.payload_id, &a.plugin_name, &a.error).cmp(&(
                    &b.payload_id,
                    &b.plugin_name,
                    &b.error,
                ))
            });
        }
        let chosen_scan_id = state.scan_id.take();
        let (time, scan_id) = if deterministic {
            let mut h = Sha256::new();
            for r in &results {
                h.update(r.payload_id.as_bytes());
            }
            (None, format_uuid(&h.finalize()))
        } else {
            (
                Some(crate::time::now_rfc3339()),
                uuid::Uuid::new_v4().to_string(),
            )
        };
        StoqResponse {
            results,
            request_meta: std::mem::take(&mut state.request_meta),
            errors,
            time,
            decorators: Map::new(),
            scan_id: chosen_scan_id.unwrap_or(scan_id),
        }
    }

    /// Sends the response (building it if needed); the request is finished.
    fn send(&self, state: &mut State) {
        state.finished = true;
        self.finished.store(true, Ordering::Release);
        let mut response = match state.response.take() {
            Some(response) => response,
            None => self.build_response(state),
        };
        if self.settings().deterministic {
            response.decorators.sort_keys();
            response.errors.sort_by(|a, b| {
                (&a.payload_id, &a.plugin_name, &a.error).cmp(&(
                    &b.payload_id,
                    &b.plugin_name,
                    &b.error,
                ))
            });
        }
        match state.reply.take() {
            // The caller may have stopped waiting; nothing to do then.
            Some(Reply::Channel(reply)) => drop(reply.send(response)),
            Some(Reply::Batch(completions, index)) => completions.deliver(index, Some(response)),
            Some(Reply::Callback(callback)) => callback(super::Finished {
                response,
                connector_errors: std::mem::take(&mut state.connector_errors),
            }),
            None => {}
        }
    }
}

/// Answers a plugin's questions about payload `idx` and the request.
struct PayloadContext<'a> {
    request: &'a Request,
    idx: usize,
}

impl QueryContext for PayloadContext<'_> {
    fn query(&self, key: &str) -> Option<String> {
        let state = self.request.lock();
        let payload = state.payloads.get(self.idx)?;
        let value = match key {
            ffi::CONTEXT_PAYLOAD_META => {
                serde_json::to_value(&payload.results.payload_meta).ok()?
            }
            ffi::CONTEXT_REQUEST_META => serde_json::to_value(&state.request_meta).ok()?,
            ffi::CONTEXT_DEPTH => json!(payload.results.depth),
            ffi::CONTEXT_DISPATCH_META => Value::Object(payload.dispatch_meta.clone()),
            ffi::CONTEXT_WORKER_RESULTS => Value::Object(payload.results.workers.clone()),
            ffi::CONTEXT_PLUGINS_RUN => json!(payload.results.plugins_run.workers),
            ffi::CONTEXT_LIMITS => {
                let limits = &self.request.shared.settings.limits;
                json!({
                    "max_payload_size": limits.max_payload_size,
                    "extracted_bytes_left": limits.max_extracted_bytes.saturating_sub(state.extracted_bytes),
                    "extracted_payloads_left": limits.max_extracted_payloads.saturating_sub(state.extracted_count),
                })
            }
            ffi::CONTEXT_REQUEST_PAYLOADS => Value::Array(
                state
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
