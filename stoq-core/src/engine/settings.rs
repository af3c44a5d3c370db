//! What an engine runs and its limits ([`Settings`], [`Limits`]), and [`EngineBuilder`].

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use crate::error::PluginError;
use crate::registry::Registry;

/// Per-request limits; each breach is an error in the response naming the limit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A payload larger than this is not scanned (a root) or not kept (an extracted one).
    pub max_payload_size: u64,
    /// Extracted payloads beyond this many are dropped.
    pub max_extracted_payloads: usize,
    /// Extracted payloads beyond this many bytes in total are dropped.
    pub max_extracted_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload_size: 4 << 30,
            max_extracted_payloads: 100_000,
            max_extracted_bytes: 8 << 30,
        }
    }
}

/// What the engine runs and its limits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Workers for root payloads only (`-s`).
    pub start_dispatch: Vec<String>,
    /// Workers for every payload (`-a`).
    pub always_dispatch: Vec<String>,
    /// Dispatcher plugins (`-R`).
    pub dispatchers: Vec<String>,
    /// Destination archivers (`-A`): run on every payload with `should_archive` once
    /// scanning is done, unless the request's `archive_payloads` is false.
    pub dest_archivers: Vec<String>,
    /// Decorators (`-D`): run on the finished response.
    pub decorators: Vec<String>,
    /// Connectors (`-C`): receive the final response.
    pub connectors: Vec<String>,
    /// A payload this many extractions below its root is listed but not scanned.
    pub max_recursion: u32,
    /// The longest allowed `required_workers` chain.
    pub max_required_worker_depth: u32,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// How long one plugin call may run, unless the plugin's `timeout` option says otherwise.
    pub worker_timeout: Duration,
    /// How long a whole request may run.
    pub request_timeout: Option<Duration>,
    /// Size and count limits per request.
    pub limits: Limits,
    /// Payload ids from content and lineage, stable ordering, no clock: identical input gives
    /// byte-identical responses.
    pub deterministic: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            start_dispatch: Vec::new(),
            always_dispatch: Vec::new(),
            dispatchers: Vec::new(),
            dest_archivers: Vec::new(),
            decorators: Vec::new(),
            connectors: Vec::new(),
            max_recursion: 10,
            max_required_worker_depth: 10,
            jobs: 0,
            worker_timeout: Duration::from_secs(60),
            request_timeout: None,
            limits: Limits::default(),
            deterministic: false,
        }
    }
}

/// Builds an [`Engine`]; see [`Engine::builder`].
pub struct EngineBuilder {
    pub(super) registry: Arc<Registry>,
    pub(super) settings: Settings,
}

fn names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Vec<String> {
    names.into_iter().map(Into::into).collect()
}

impl EngineBuilder {
    /// Workers for root payloads only.
    pub fn start_dispatch<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        workers: I,
    ) -> Self {
        self.settings.start_dispatch = names(workers);
        self
    }

    /// Workers for every payload.
    pub fn always_dispatch<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        workers: I,
    ) -> Self {
        self.settings.always_dispatch = names(workers);
        self
    }

    /// Dispatcher plugins.
    pub fn dispatchers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        dispatchers: I,
    ) -> Self {
        self.settings.dispatchers = names(dispatchers);
        self
    }

    /// Destination archivers.
    pub fn dest_archivers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        archivers: I,
    ) -> Self {
        self.settings.dest_archivers = names(archivers);
        self
    }

    /// Decorators.
    pub fn decorators<I: IntoIterator<Item = S>, S: Into<String>>(mut self, decorators: I) -> Self {
        self.settings.decorators = names(decorators);
        self
    }

    /// Connectors.
    pub fn connectors<I: IntoIterator<Item = S>, S: Into<String>>(mut self, connectors: I) -> Self {
        self.settings.connectors = names(connectors);
        self
    }

    /// The extraction depth at which payloads are listed but not scanned.
    pub fn max_recursion(mut self, depth: u32) -> Self {
        self.settings.max_recursion = depth;
        self
    }

    /// Worker threads (0: one per core).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.settings.jobs = jobs;
        self
    }

    /// The default time one plugin call may take.
    pub fn worker_timeout(mut self, timeout: Duration) -> Self {
        self.settings.worker_timeout = timeout;
        self
    }

    /// The time a whole request may take.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = Some(timeout);
        self
    }

    /// Per-request limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// Byte-identical responses for identical input.
    pub fn deterministic(mut self, on: bool) -> Self {
        self.settings.deterministic = on;
        self
    }

    /// Replaces all settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Builds the engine and checks that every plugin it names starts.
    pub fn build(self) -> Result<Engine, Vec<PluginError>> {
        let engine = Engine::new(self.registry, self.settings);
        engine.check()?;
        Ok(engine)
    }
}
