//! A started plugin, in this process or in helper processes.

use std::time::Duration;

use stoq_plugin_abi::DispatcherResponse;
use stoq_plugin_abi::host::{CallError, Instance, QueryContext, WorkerOutput};

#[cfg(unix)]
use crate::isolation::ProcessPlugin;

/// A started plugin.
pub enum PluginHandle {
    /// Loaded into this process: nanosecond calls; a crash in it is a crash of stoq.
    InProcess(Instance),
    /// Run in helper processes (`isolation = "process"`): a crash or a timeout kills only the
    /// helper.
    #[cfg(unix)]
    Process(ProcessPlugin),
}

impl PluginHandle {
    /// The workers that must run on a payload before this one.
    pub fn required_workers(&self) -> &[String] {
        match self {
            Self::InProcess(i) => &i.required_workers,
            #[cfg(unix)]
            Self::Process(p) => &p.required_workers,
        }
    }

    /// How much longer than its timeout the watchdog waits before abandoning a call: an
    /// isolated plugin's helper enforces the timeout itself (and is killed), so the watchdog
    /// only backs it up.
    pub fn timeout_grace(&self) -> Duration {
        match self {
            Self::InProcess(_) => Duration::ZERO,
            #[cfg(unix)]
            Self::Process(_) => Duration::from_secs(2),
        }
    }

    /// Worker role.
    pub fn scan(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        match self {
            Self::InProcess(i) => i.scan(content, payload_id, context),
            #[cfg(unix)]
            Self::Process(p) => p.scan(content, payload_id, context),
        }
    }

    /// Dispatcher role.
    pub fn get_dispatches(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        match self {
            Self::InProcess(i) => i.get_dispatches(content, payload_id, context),
            #[cfg(unix)]
            Self::Process(p) => p.get_dispatches(content, payload_id, context),
        }
    }
}
