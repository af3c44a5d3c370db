//! One request in flight: its state, the dispatch rules that decide which (payload, worker)
//! pairs run and when, and what their results do.
//!
//! - [`state`]: what a request knows (payloads, per-pair worker states, errors, limits).
//! - [`schedule`]: the dispatch rules (SPEC §2): start/always dispatch, `dispatch_to`,
//!   `should_scan`, at most once per pair, `required_workers`, `max_recursion`, quiet points.
//! - [`call`]: the plugin calls of a task, made without the lock, and the context plugins query.
//! - [`apply`]: what a finished, failed or abandoned call changes.
//! - [`extract`]: extracted payloads: deduplication by SHA-256, the extraction limits.
//! - [`response`]: archivers, decorators and connectors after scanning, and the response.
//!
//! # Lock discipline
//!
//! A request has one lock, [`Request::lock`] over its [`State`]. Everything that reads or
//! changes the state holds it; nothing else does. While holding it, code may only do
//! bookkeeping on the state and build [`Task`]s; it may **not**
//!
//! - call a plugin (every plugin call is in [`call`], on a pool thread, without the lock);
//! - start a plugin (its config hook or an isolation helper): instances are looked up with
//!   [`Registry::try_instance`](crate::Registry::try_instance), which never runs plugin code, and
//!   one that still has to start becomes a [`TaskKind::Resolve`] task that starts it without
//!   the lock and then schedules the pair again, from scratch;
//! - hand the response to its caller: [`response`] leaves it in the state's outbox, and each
//!   entry point delivers it after releasing the lock ([`Request::release`]);
//! - take any other lock, except in the order below.
//!
//! Lock order: a pool thread holds its watchdog slot's lock (`pool.rs`) while it applies an
//! outcome, so **slot, then request**. The watchdog never holds a slot lock while it takes a
//! request lock, and nothing takes a slot lock or the pool's queue lock while holding a
//! request lock (ready tasks are returned to the pool, which queues them after).

mod abandon;
mod apply;
mod call;
mod extract;
mod response;
mod schedule;
mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use stoq_plugin_abi::{PayloadMeta, RequestMeta};

use state::State;

use super::{Content, Shared};
use crate::model::StoqResponse;
use crate::timeout::TimeoutSource;

/// What a task does.
#[derive(Clone)]
pub(crate) enum TaskKind {
    /// Run one (started) worker on one payload.
    Scan {
        payload: usize,
        worker: Arc<str>,
        instance: Arc<crate::PluginHandle>,
        /// Where the task's timeout came from, for its timeout error.
        timeout: TimeoutSource,
    },
    /// Start worker `worker` and its required workers (config hooks, helpers), then schedule
    /// it on `payload` again.
    Resolve { payload: usize, worker: Arc<str> },
    /// Ask every dispatcher about one payload.
    Dispatch { payload: usize },
    /// Save one payload with one destination archiver.
    Archive { payload: usize, archiver: Arc<str> },
    /// Summarise the response with one decorator.
    Decorate {
        decorator: Arc<str>,
        response: Arc<String>,
    },
    /// Hand the final response to one connector.
    Connect {
        connector: Arc<str>,
        response: Arc<String>,
    },
}

/// A unit of work for the pool.
pub(crate) struct Task {
    pub request: Arc<Request>,
    pub kind: TaskKind,
    /// How long the watchdog lets it run.
    pub timeout: Duration,
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

/// A request to create on a pool thread.
pub(crate) struct Start {
    pub shared: Arc<Shared>,
    pub roots: Vec<(Content, PayloadMeta)>,
    pub request_meta: RequestMeta,
    pub scan_id: Option<String>,
    pub reply: Reply,
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

/// Loads the roots given as [`Content::Load`]; `false` when a loader skipped its input (the
/// reply was told).
fn load_roots(roots: &mut [(Content, PayloadMeta)], reply: &Reply) -> bool {
    for (content, _) in roots {
        if !matches!(content, Content::Load(_)) {
            continue;
        }
        if let Content::Load(loader) = std::mem::replace(content, Content::Unread { size: 0 }) {
            match loader.load() {
                Some(loaded) => *content = loaded,
                None => {
                    match reply {
                        Reply::Batch(completions, index) => completions.deliver(*index, None),
                        Reply::Channel(_) | Reply::Callback(_) => {
                            tracing::error!(
                                "an input given to a single request was skipped by its loader"
                            );
                        }
                    }
                    return false;
                }
            }
        }
    }
    true
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
        if !load_roots(&mut roots, &reply) {
            return None;
        }
        let deadline = shared.settings.request_timeout.map(|t| Instant::now() + t);
        let request = Arc::new(Self {
            shared,
            state: Mutex::new(State::new(request_meta, scan_id, reply)),
            finished: AtomicBool::new(false),
            deadline,
        });
        let mut tasks = Vec::new();
        let mut state = request.lock();
        for (index, (content, meta)) in roots.into_iter().enumerate() {
            let (bytes, unread) = match content {
                Content::Bytes(bytes) => (bytes, None),
                Content::Unread { size } => (Bytes::new(), Some(size)),
                // Loaded above.
                Content::Load(_) => (Bytes::new(), Some(0)),
            };
            let root_key = vec![(index, String::new(), 0)];
            let idx = state.push_payload(request.settings(), bytes, None, meta, 0, root_key);
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
        request.release(state);
        Some((request, tasks))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a bug in this module; the state is still consistent enough to
        // finish the request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Releases the lock, then delivers the response if the request just finished (the
    /// caller's code never runs under the lock).
    fn release(&self, mut state: MutexGuard<'_, State>) {
        let outbox = state.outbox.take();
        drop(state);
        if let Some(outbox) = outbox {
            outbox.deliver();
        }
    }

    /// Whether the response was already sent.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn settings(&self) -> &super::Settings {
        &self.shared.settings
    }

    /// A task of this request, counted as outstanding until it completes.
    fn task(self: &Arc<Self>, state: &mut State, kind: TaskKind, timeout: Duration) -> Task {
        state.outstanding += 1;
        Task {
            request: Arc::clone(self),
            kind,
            timeout,
        }
    }

    /// A task was dropped without running (the request is finished).
    pub fn skip(&self) {
        let mut state = self.lock();
        state.outstanding = state.outstanding.saturating_sub(1);
    }
}
