//! stoQ's `dummy_worker` test plugin: returns no response at all.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct DummyWorker;

impl Plugin for DummyWorker {
    const INFO: PluginInfo =
        PluginInfo::new("dummy_worker", env!("CARGO_PKG_VERSION")).description("Returns nothing");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

impl Worker for DummyWorker {
    fn scan(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::empty())
    }
}

stoq_plugin_abi::export_plugin!(DummyWorker => worker);
