//! The scan engine: runs workers on requests' payloads on all cores, with stoQ's dispatch rules.
//!
//! - [`request`]: one request (`state`, `schedule`, `call`, `apply`, `extract`, `abandon`,
//!   `response`): dispatch sources, `required_workers`, extraction, deduplication, limits,
//!   errors as data, the after-scan phases and the response.
//! - [`pool`]: worker threads with local task stacks, and the watchdog for timeouts.
//! - [`batch`]: [`Engine::scan_many`]'s window and batched wake-ups.
//! - `settings`, `content`: what the engine runs, and a root payload's content.
//!
//! There are no rounds: a (payload, worker) task runs as soon as its required workers have
//! finished on that payload. Dispatchers are asked when a payload arrives and again whenever
//! the request goes quiet after its state changed, so a dispatcher that looks at the request
//! (stoQ's conditional dispatcher) sees the work done since.
//!
//! # Locks
//!
//! Each request has one lock over its state (the rules are written out in [`request`]): under
//! it only bookkeeping happens; plugins are called, started (config hooks, isolation helpers)
//! and responses delivered only without it. Lock order: a pool thread's watchdog slot
//! (`pool.rs`), then a request; never a slot or the pool's queue while holding a request.

mod batch;
mod content;
mod pool;
mod request;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use bytes::Bytes;
use stoq_plugin_abi::{PayloadMeta, RequestMeta};

use crate::Role;
use crate::error::PluginError;
use crate::model::StoqResponse;
use crate::registry::Registry;
use crate::timeout::WorkerTimeout;

pub use content::{Content, Loader};
pub use settings::{EngineBuilder, Limits, Settings};

/// What every request of an engine shares.
pub(crate) struct Shared {
    pub registry: Arc<Registry>,
    pub settings: Settings,
    pub always_dispatch: Vec<Arc<str>>,
    pub start_dispatch: Vec<Arc<str>>,
    /// Plugins whose `timeout` option overrides [`Settings::worker_timeout`].
    timeouts: HashMap<String, Duration>,
}

impl Shared {
    /// Plugin `plugin`'s call timeout: its `timeout` option, or the engine's default.
    fn timeout_of(&self, plugin: &str) -> WorkerTimeout {
        WorkerTimeout::resolve(
            self.timeouts.get(plugin).copied(),
            self.settings.worker_timeout,
        )
    }

    /// A started plugin, with this engine's default timeout.
    fn instance(&self, name: &str, role: Role) -> Result<Arc<crate::PluginHandle>, PluginError> {
        self.registry
            .instance_with_timeout(name, role, self.settings.worker_timeout)
    }
}

/// The cores this process may use, asked once (it reads cgroup files).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Scans requests with the plugins of a [`Registry`], on a pool of threads.
///
/// ```no_run
/// use std::sync::Arc;
/// use stoq_core::{Engine, Registry, Settings};
///
/// let registry = Registry::discover(&["plugins".into()], Default::default());
/// let engine = Engine::builder(Arc::new(registry))
///     .always_dispatch(["hash"])
///     .max_recursion(5)
///     .build()
///     .expect("every named plugin starts");
/// let response = engine.scan(b"The quick brown fox".to_vec().into(), Default::default(), Default::default());
/// println!("{}", serde_json::to_string_pretty(&response).unwrap());
/// ```
pub struct Engine {
    shared: Arc<Shared>,
    pool: pool::Pool,
}

/// One root payload for [`Engine::submit_with`].
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The bytes.
    pub content: Bytes,
    /// Its metadata.
    pub payload_meta: PayloadMeta,
    /// The request's metadata.
    pub request_meta: RequestMeta,
    /// The response's `scan_id`; `None` makes a new one.
    pub scan_id: Option<String>,
}

/// A finished request of [`Engine::submit_with`]: its response, after every connector ran.
#[derive(Debug)]
pub struct Finished {
    /// The response (connector errors included in its `errors`).
    pub response: StoqResponse,
    /// The connectors that failed to save it; empty when the response is safely stored.
    pub connector_errors: Vec<crate::model::ErrorRecord>,
}

/// What [`Engine::scan_many_mapped`] hands its caller: what its `map` made of each response,
/// and batch ends.
#[derive(Debug)]
pub enum Delivery<T = StoqResponse> {
    /// The response to the input at this index.
    Response(usize, T),
    /// The responses handed over so far are a batch: flush buffered output now.
    BatchEnd,
}

/// A request submitted with [`Engine::submit`].
pub struct PendingScan {
    reply: mpsc::Receiver<StoqResponse>,
}

impl PendingScan {
    /// Waits for the response.
    pub fn wait(self) -> StoqResponse {
        self.reply
            .recv()
            .expect("a stoq request ended without a response; this is a bug in stoq-core")
    }
}

impl Engine {
    /// An engine over `registry` with `settings`. Plugins with an invalid `timeout` option use
    /// the default; [`Engine::check`] reports them.
    pub fn new(registry: Arc<Registry>, settings: Settings) -> Self {
        let timeouts = registry
            .plugins()
            .filter_map(|(name, _)| Some((name.to_owned(), registry.timeout_option(name).ok()??)))
            .collect();
        let jobs = match settings.jobs {
            0 => cores(),
            n => n,
        };
        let always_dispatch = settings
            .always_dispatch
            .iter()
            .map(|s| Arc::from(s.as_str()))
            .collect();
        let start_dispatch = settings
            .start_dispatch
            .iter()
            .map(|s| Arc::from(s.as_str()))
            .collect();
        Self {
            shared: Arc::new(Shared {
                registry,
                settings,
                always_dispatch,
                start_dispatch,
                timeouts,
            }),
            pool: pool::Pool::new(jobs),
        }
    }

    /// A builder for the settings, starting from the defaults.
    pub fn builder(registry: Arc<Registry>) -> EngineBuilder {
        EngineBuilder {
            registry,
            settings: Settings::default(),
        }
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Starts every plugin the settings name (and their required workers, recursively), so a
    /// missing plugin, a rejected option or a dependency cycle is reported before any scan.
    pub fn check(&self) -> Result<(), Vec<PluginError>> {
        let registry = &self.shared.registry;
        let settings = &self.shared.settings;
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        let mut pending: Vec<String> = settings
            .start_dispatch
            .iter()
            .chain(&settings.always_dispatch)
            .cloned()
            .collect();
        while let Some(name) = pending.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            match self.shared.instance(&name, Role::Worker) {
                Ok(instance) => pending.extend(instance.required_workers().iter().cloned()),
                Err(e) => problems.push(e),
            }
            if let Err(e) = registry.timeout_option(&name) {
                problems.push(e);
            }
        }
        let roles = [
            (&settings.dispatchers, Role::Dispatcher),
            (&settings.dest_archivers, Role::Archiver),
            (&settings.decorators, Role::Decorator),
            (&settings.connectors, Role::Connector),
        ];
        for (names, role) in roles {
            for name in names {
                if let Err(e) = self.shared.instance(name, role) {
                    problems.push(e);
                }
            }
        }
        // Missing workers among `seen` were reported above when they failed to start.
        problems.extend(
            registry
                .dependency_problems(Some(&seen))
                .into_iter()
                .filter(|p| matches!(p, PluginError::CircularRequiredWorkers { .. })),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Starts scanning one root payload and everything extracted from it.
    pub fn submit(
        &self,
        content: Bytes,
        payload_meta: PayloadMeta,
        request_meta: RequestMeta,
    ) -> PendingScan {
        self.submit_content(content.into(), payload_meta, request_meta)
    }

    /// [`Engine::submit`] for a root that may be [`Content::Unread`].
    pub fn submit_content(
        &self,
        content: Content,
        payload_meta: PayloadMeta,
        request_meta: RequestMeta,
    ) -> PendingScan {
        let (tx, rx) = mpsc::channel();
        // A loader runs here; a skipped input scans as empty.
        let content = match content {
            Content::Load(loader) => loader.load().unwrap_or(Content::Bytes(Bytes::new())),
            other => other,
        };
        let Some((request, tasks)) = request::Request::start_job(request::Start {
            shared: Arc::clone(&self.shared),
            roots: vec![(content, payload_meta)],
            request_meta,
            scan_id: None,
            reply: request::Reply::Channel(tx),
        }) else {
            unreachable!("only a Content::Load input can be skipped, and it was loaded above")
        };
        if !tasks.is_empty() {
            self.pool.submit(&request, tasks);
        }
        PendingScan { reply: rx }
    }

    /// Starts a request for `submission` on a pool thread (one hand-off) and calls `on_done`
    /// once every connector has handled its response. `on_done` runs on a pool thread: it
    /// should only pass the result on (e.g. into a channel).
    pub fn submit_with(
        &self,
        submission: Submission,
        on_done: impl FnOnce(Finished) + Send + 'static,
    ) {
        self.pool.start_many([request::Start {
            shared: Arc::clone(&self.shared),
            roots: vec![(submission.content.into(), submission.payload_meta)],
            request_meta: submission.request_meta,
            scan_id: submission.scan_id,
            reply: request::Reply::Callback(Box::new(on_done)),
        }]);
    }

    /// Scans many root payloads, one request each, several at once on the engine's threads,
    /// and hands each response to `on_response` with its input index, in input order. At most
    /// `window` requests run at once (0: 32 per thread), which bounds the payload memory held;
    /// the calling thread sleeps until a batch of responses is ready rather than waking for
    /// each one.
    pub fn scan_many<I, C, F>(&self, inputs: I, window: usize, mut on_response: F)
    where
        I: IntoIterator<Item = (C, PayloadMeta, RequestMeta)>,
        C: Into<Content>,
        F: FnMut(usize, StoqResponse),
    {
        self.scan_many_mapped(
            inputs,
            window,
            |response| response,
            |event| {
                if let Delivery::Response(index, response) = event {
                    on_response(index, response);
                }
            },
        );
    }

    /// [`Engine::scan_many`], with each response turned into a `T` by `map` on the pool thread
    /// that finished it (e.g. serialised, so the caller's thread only writes), and the caller
    /// told when a batch was handed over ([`Delivery::BatchEnd`]): the moment to flush
    /// buffered output, so nothing that finished waits behind a request still running.
    pub fn scan_many_mapped<I, C, T, M, F>(&self, inputs: I, window: usize, map: M, mut on_event: F)
    where
        I: IntoIterator<Item = (C, PayloadMeta, RequestMeta)>,
        C: Into<Content>,
        T: Send + 'static,
        M: Fn(StoqResponse) -> T + Send + Sync + 'static,
        F: FnMut(Delivery<T>),
    {
        let threads = match self.shared.settings.jobs {
            0 => cores(),
            n => n,
        };
        let window = if window == 0 { threads * 32 } else { window };
        let completions = Arc::new(batch::Completions::new(window / 4, Box::new(map)));
        let mut reorder = batch::Reorder::new();
        let mut submitted = 0;
        let mut deliver = |reorder: &mut batch::Reorder<T>, ready| {
            let before = reorder.delivered();
            reorder.push(ready, |index, response| {
                on_event(Delivery::Response(index, response));
            });
            if reorder.delivered() > before {
                on_event(Delivery::BatchEnd);
            }
        };
        // Requests are created on the pool's threads, handed over a few at a time (one queue
        // lock per batch).
        let mut starts: Vec<request::Start> = Vec::new();
        for (content, payload_meta, request_meta) in inputs {
            // Running requests hold their payloads: at most `window` of them. Finished ones
            // waiting for an earlier one hold only their responses: a larger bound.
            let full = |reorder: &batch::Reorder<T>| {
                completions.in_flight() >= window || reorder.held() >= window * 16
            };
            if full(&reorder) {
                self.pool.start_many(starts.drain(..));
                while full(&reorder) {
                    deliver(&mut reorder, completions.collect());
                }
            }
            completions.submitted();
            starts.push(request::Start {
                shared: Arc::clone(&self.shared),
                roots: vec![(content.into(), payload_meta)],
                request_meta,
                scan_id: None,
                reply: request::Reply::Batch(
                    Arc::clone(&completions) as Arc<dyn batch::Deliver>,
                    submitted,
                ),
            });
            submitted += 1;
            if starts.len() >= 8 {
                self.pool.start_many(starts.drain(..));
            }
        }
        self.pool.start_many(starts.drain(..));
        while reorder.delivered() < submitted {
            deliver(&mut reorder, completions.collect());
        }
    }

    /// Scans one root payload and everything extracted from it, and returns the response.
    pub fn scan(
        &self,
        content: Bytes,
        payload_meta: PayloadMeta,
        request_meta: RequestMeta,
    ) -> StoqResponse {
        self.submit(content, payload_meta, request_meta).wait()
    }

    /// [`Engine::scan`] for a root that may be [`Content::Unread`].
    pub fn scan_content(
        &self,
        content: Content,
        payload_meta: PayloadMeta,
        request_meta: RequestMeta,
    ) -> StoqResponse {
        self.submit_content(content, payload_meta, request_meta)
            .wait()
    }
}
