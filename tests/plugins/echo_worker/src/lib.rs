//! A worker that reports what it sees: its dispatch meta, the results of the workers that ran
//! before it (its required workers), the payload's depth and metadata, and the request meta.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct EchoWorker;

impl Plugin for EchoWorker {
    const INFO: PluginInfo = PluginInfo::new("echo_worker", env!("CARGO_PKG_VERSION"))
        .description("Echoes its view of the payload and request");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

impl Worker for EchoWorker {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::new(json!({
            "dispatch_meta": payload.dispatch_meta(),
            "worker_results": payload.worker_results(),
            "plugins_run": payload.plugins_run(),
            "depth": payload.depth(),
            "payload_meta": payload.meta(),
            "request_meta": request.meta(),
            "request_payloads": request.payloads().len(),
        })))
    }
}

stoq_plugin_abi::export_plugin!(EchoWorker => worker);
