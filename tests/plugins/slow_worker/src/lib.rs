//! A worker that sleeps `seconds` (default 5) before answering
//! `{"slept": seconds, "max_concurrent": n}`, where `n` is the most scans of this plugin that
//! were running at once in this process so far (it shows whether the host runs scans in
//! parallel). With `when_contains = "TEXT"` it sleeps only on payloads holding TEXT and answers
//! at once on the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct SlowWorker {
    sleep: Duration,
    when_contains: Option<Vec<u8>>,
}

impl Plugin for SlowWorker {
    const INFO: PluginInfo = PluginInfo::new("slow_worker", env!("CARGO_PKG_VERSION"))
        .description("Sleeps, then answers");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let seconds = config.get_float("seconds")?.unwrap_or(5.0);
        let sleep = Duration::try_from_secs_f64(seconds)
            .map_err(|_| Error::msg(format!("option `seconds` must be >= 0, got {seconds}")))?;
        let when_contains = config.get_str("when_contains")?.map(String::into_bytes);
        Ok(Self {
            sleep,
            when_contains,
        })
    }
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MAX_RUNNING: AtomicUsize = AtomicUsize::new(0);

impl Worker for SlowWorker {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        if let Some(marker) = &self.when_contains
            && !payload
                .content()
                .windows(marker.len().max(1))
                .any(|w| w == marker.as_slice())
        {
            return Ok(WorkerResponse::new(json!({ "slept": 0 })));
        }
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_RUNNING.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.sleep);
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        Ok(WorkerResponse::new(json!({
            "slept": self.sleep.as_secs_f64(),
            "max_concurrent": MAX_RUNNING.load(Ordering::SeqCst),
        })))
    }
}

stoq_plugin_abi::export_plugin!(SlowWorker => worker);
