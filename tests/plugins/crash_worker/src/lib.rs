//! A worker that kills the process it runs in: `how = "abort"` (default, SIGABRT) or
//! `how = "exit"` (exit status 3). Only ever run with `isolation = "process"`.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct CrashWorker {
    exit: bool,
}

impl Plugin for CrashWorker {
    const INFO: PluginInfo = PluginInfo::new("crash_worker", env!("CARGO_PKG_VERSION"))
        .description("Kills its process (test isolation with it)");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let how = config.get_str("how")?.unwrap_or_else(|| "abort".into());
        match how.as_str() {
            "abort" => Ok(Self { exit: false }),
            "exit" => Ok(Self { exit: true }),
            other => Err(Error::msg(format!(
                "option `how`: expected abort or exit, got {other:?}"
            ))),
        }
    }
}

impl Worker for CrashWorker {
    fn scan(
        &self,
        _payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        if self.exit {
            std::process::exit(3);
        }
        std::process::abort();
    }
}

stoq_plugin_abi::export_plugin!(CrashWorker => worker);
