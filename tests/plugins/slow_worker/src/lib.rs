//! A worker that sleeps `seconds` (default 5) before answering `{"slept": seconds}`.

use std::time::Duration;

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct SlowWorker {
    sleep: Duration,
}

impl Plugin for SlowWorker {
    const INFO: PluginInfo = PluginInfo::new("slow_worker", env!("CARGO_PKG_VERSION"))
        .description("Sleeps, then answers");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let seconds = config.get_float("seconds")?.unwrap_or(5.0);
        let sleep = Duration::try_from_secs_f64(seconds)
            .map_err(|_| Error::msg(format!("option `seconds` must be >= 0, got {seconds}")))?;
        Ok(Self { sleep })
    }
}

impl Worker for SlowWorker {
    fn scan(
        &self,
        _payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        std::thread::sleep(self.sleep);
        Ok(Some(WorkerResponse::new(
            json!({"slept": self.sleep.as_secs_f64()}),
        )))
    }
}

stoq_plugin_abi::export_plugin!(SlowWorker => worker);
