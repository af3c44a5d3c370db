//! A worker that needs a stoq newer than any: every host must refuse it, naming both versions.

use stoq_plugin_abi::prelude::*;

/// Never runs.
pub struct FutureWorker;

impl Plugin for FutureWorker {
    const INFO: PluginInfo =
        PluginInfo::new("future_worker", env!("CARGO_PKG_VERSION")).min_stoq_version("999.0.0");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

impl Worker for FutureWorker {
    fn scan(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::new("from the future"))
    }
}

stoq_plugin_abi::export_plugin!(FutureWorker => worker);
