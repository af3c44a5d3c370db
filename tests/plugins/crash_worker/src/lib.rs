//! A worker that kills the process it runs in: `how = "abort"` (default, SIGABRT) or
//! `how = "exit"` (exit status 42); with `when_contains = "TEXT"`, only on payloads that
//! contain TEXT (a poison payload). Run it with `isolation = "process"`, or on purpose
//! in-process to kill a host.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct CrashWorker {
    exit: bool,
    when_contains: Option<Vec<u8>>,
}

impl Plugin for CrashWorker {
    const INFO: PluginInfo = PluginInfo::new("crash_worker", env!("CARGO_PKG_VERSION"))
        .description("Kills its process (test isolation with it)");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let how = config.get_str("how")?.unwrap_or_else(|| "abort".into());
        let when_contains = config.get_str("when_contains")?.map(String::into_bytes);
        let exit = match how.as_str() {
            "abort" => false,
            "exit" => true,
            other => {
                return Err(Error::msg(format!(
                    "option `how`: expected abort or exit, got {other:?}"
                )));
            }
        };
        Ok(Self {
            exit,
            when_contains,
        })
    }
}

impl Worker for CrashWorker {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        if let Some(marker) = &self.when_contains
            && !payload
                .content()
                .windows(marker.len().max(1))
                .any(|w| w == marker.as_slice())
        {
            return Ok(WorkerResponse::empty());
        }
        if self.exit {
            std::process::exit(42);
        }
        std::process::abort();
    }
}

stoq_plugin_abi::export_plugin!(CrashWorker => worker);
