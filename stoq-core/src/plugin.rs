//! A started plugin, in this process or in helper processes.

use std::time::Duration;

use stoq_loader::running::{self, CallGuard, PluginName};
use stoq_loader::{
    CallError, CallErrorKind, Extracted, Instance, ItemSink, QueryContext, WorkerOutput,
};
use stoq_plugin_abi::{ArchiverResponse, DecoratorResponse, DispatcherResponse, ItemOutcome};

#[cfg(unix)]
use crate::isolation::ProcessPlugin;

/// A started plugin. Every call marks its thread as inside the plugin
/// ([`stoq_loader::running`]), so a timeout or a crash names it.
pub struct PluginHandle {
    name: PluginName,
    imp: Imp,
}

/// Where a plugin runs.
pub(crate) enum Imp {
    /// Loaded into this process: nanosecond calls; a crash in it is a crash of stoq.
    InProcess(Instance),
    /// Run in helper processes (`isolation = "process"`): a crash or a timeout kills only the
    /// helper.
    #[cfg(unix)]
    Process(ProcessPlugin),
    /// A Rust object standing in for a plugin library (tests).
    #[cfg(test)]
    Fake(crate::fake::FakePlugin),
}

impl PluginHandle {
    pub(crate) fn new(name: &str, imp: Imp) -> Self {
        Self {
            name: running::intern(name),
            imp,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.name.as_str()
    }

    fn mark(&self) -> CallGuard {
        running::enter(self.name)
    }

    /// The workers that must run on a payload before this one.
    pub fn required_workers(&self) -> &[String] {
        match &self.imp {
            Imp::InProcess(i) => &i.required_workers,
            #[cfg(unix)]
            Imp::Process(p) => &p.required_workers,
            #[cfg(test)]
            Imp::Fake(f) => &f.required_workers,
        }
    }

    /// How much longer than its timeout the watchdog waits before abandoning a call: an
    /// isolated plugin's helper enforces the timeout itself (and is killed), so the watchdog
    /// only backs it up.
    pub fn timeout_grace(&self) -> Duration {
        match &self.imp {
            Imp::InProcess(_) => Duration::ZERO,
            #[cfg(unix)]
            Imp::Process(_) => Duration::from_secs(2),
            #[cfg(test)]
            Imp::Fake(_) => Duration::ZERO,
        }
    }

    /// Worker role.
    pub fn scan(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        let _mark = self.mark();
        match &self.imp {
            Imp::InProcess(i) => i.scan(content, payload_id, context),
            #[cfg(unix)]
            Imp::Process(p) => p.scan(content, payload_id, context),
            #[cfg(test)]
            Imp::Fake(f) => f.scan(content, context),
        }
    }

    /// Dispatcher role.
    pub fn get_dispatches(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        let _mark = self.mark();
        match &self.imp {
            Imp::InProcess(i) => i.get_dispatches(content, payload_id, context),
            #[cfg(unix)]
            Imp::Process(p) => p.get_dispatches(content, payload_id, context),
            #[cfg(test)]
            Imp::Fake(f) => f.get_dispatches(content, context),
        }
    }

    fn in_process(&self, role: &str) -> Result<&Instance, CallError> {
        match &self.imp {
            Imp::InProcess(i) => Ok(i),
            #[cfg(unix)]
            Imp::Process(_) => Err(CallError {
                kind: CallErrorKind::Unsupported,
                message: format!(
                    "isolation = \"process\" is for workers and dispatchers, not for a {role}"
                ),
            }),
            #[cfg(test)]
            Imp::Fake(_) => Err(CallError {
                kind: CallErrorKind::Unsupported,
                message: format!("a fake plugin is not a {role}"),
            }),
        }
    }

    /// Archiver role: saves one payload.
    pub fn archive(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<ArchiverResponse, CallError> {
        let _mark = self.mark();
        #[cfg(test)]
        if let Imp::Fake(f) = &self.imp {
            return f.archive(content, context);
        }
        self.in_process("archiver")?
            .archive(content, payload_id, context)
    }

    /// Decorator role: summarises a finished response (JSON).
    pub fn decorate(&self, response_json: &str) -> Result<DecoratorResponse, CallError> {
        let _mark = self.mark();
        #[cfg(test)]
        if let Imp::Fake(f) = &self.imp {
            return f.decorate(response_json);
        }
        self.in_process("decorator")?.decorate(response_json)
    }

    /// Connector role: saves a finished response (JSON).
    pub fn save(&self, response_json: &str) -> Result<(), CallError> {
        let _mark = self.mark();
        #[cfg(test)]
        if let Imp::Fake(f) = &self.imp {
            return f.save(response_json);
        }
        self.in_process("connector")?.save(response_json)
    }

    /// Source archiver role: fetches the payload a provider task names.
    pub fn get(&self, task: &serde_json::Value) -> Result<Option<Extracted>, CallError> {
        let _mark = self.mark();
        self.in_process("source archiver")?.get(task)
    }

    /// Provider role: tells the provider how many items the host takes at once.
    pub fn provider_start(&self, max_in_flight: usize) -> Result<(), CallError> {
        let _mark = self.mark();
        self.in_process("provider")?.provider_start(max_in_flight)
    }

    /// Provider role: feeds items to `sink` until the provider returns.
    pub fn ingest(&self, sink: &dyn ItemSink) -> Result<(), CallError> {
        let _mark = self.mark();
        self.in_process("provider")?.ingest(sink)
    }

    /// Provider role: the last outcome was delivered.
    pub fn provider_stop(&self) -> Result<(), CallError> {
        let _mark = self.mark();
        self.in_process("provider")?.provider_stop()
    }

    /// Provider role: the outcome of one item; `Ok(false)` when the provider wants none.
    pub fn provider_outcome(&self, outcome: &ItemOutcome) -> Result<bool, CallError> {
        let _mark = self.mark();
        self.in_process("provider")?.provider_outcome(outcome)
    }
}
