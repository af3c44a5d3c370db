//! A worker that panics: in `scan` by default, or in its config hook with
//! `panic_on_new = true`.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct PanicWorker;

impl Plugin for PanicWorker {
    const INFO: PluginInfo =
        PluginInfo::new("panic_worker", env!("CARGO_PKG_VERSION")).description("Panics");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        if config.get_bool("panic_on_new")?.unwrap_or(false) {
            panic!("panic_worker was told to panic in its config hook");
        }
        Ok(Self)
    }
}

impl Worker for PanicWorker {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        panic!("panic_worker panicked on {} bytes", payload.content().len());
    }
}

stoq_plugin_abi::export_plugin!(PanicWorker => worker);
