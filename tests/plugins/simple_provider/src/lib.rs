//! stoQ's `simple_provider` test plugin: `ingest` puts `count` (default 1) items, the payload
//! `Important stuff` or, with `return_payload = false`, the task
//! `{"simple_archiver": {"task": "This is a task from provider"}}`, then returns.
//!
//! Knobs (options):
//! - `raise_exception`: `ingest` fails with `Test exception, please ignore` before putting
//!   anything;
//! - `with_ids` (default true): the items get the ids `item-0`, `item-1`, …; false puts them
//!   with the id-less `put_payload`/`put_task` (the host makes ids up);
//! - `payload_size`: payloads of that many bytes (`x`) instead of `Important stuff`;
//! - `outcomes_path`: every outcome received is appended to that file as one JSON line
//!   `{"id", "status", "error", "scan_id"}`;
//! - `ready_path`: once every item was put, that (empty) file is created;
//! - `stopped_path`: when the host calls `stop` (after the last outcome), that file is
//!   written with the number of outcomes received by then;
//! - `wait_for_stop`: after putting its items, `ingest` never returns (for signal tests: the
//!   host stops without waiting for it).

use std::io::Write;
use std::time::Duration;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The provider.
pub struct SimpleProvider {
    count: usize,
    return_payload: bool,
    raise_exception: bool,
    with_ids: bool,
    payload_size: Option<usize>,
    outcomes_path: Option<String>,
    ready_path: Option<String>,
    stopped_path: Option<String>,
    outcomes_seen: std::sync::atomic::AtomicUsize,
    wait_for_stop: bool,
}

/// The task put with `return_payload = false`.
fn task() -> Value {
    json!({"simple_archiver": {"task": "This is a task from provider"}})
}

fn size(config: &PluginConfig, key: &str) -> Result<Option<usize>> {
    config
        .get_int(key)?
        .map(|n| {
            usize::try_from(n)
                .map_err(|_| Error::msg(format!("option `{key}` must be >= 0, got {n}")))
        })
        .transpose()
}

impl Plugin for SimpleProvider {
    const INFO: PluginInfo = PluginInfo::new("simple_provider", env!("CARGO_PKG_VERSION"))
        .author("stoq tests")
        .description("Provides `Important stuff`, or a task for simple_archiver");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            count: size(config, "count")?.unwrap_or(1),
            return_payload: config.get_bool("return_payload")?.unwrap_or(true),
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            with_ids: config.get_bool("with_ids")?.unwrap_or(true),
            payload_size: size(config, "payload_size")?,
            outcomes_path: config.get_str("outcomes_path")?,
            ready_path: config.get_str("ready_path")?,
            stopped_path: config.get_str("stopped_path")?,
            outcomes_seen: std::sync::atomic::AtomicUsize::new(0),
            wait_for_stop: config.get_bool("wait_for_stop")?.unwrap_or(false),
        })
    }
}

impl SimpleProvider {
    fn content(&self) -> Vec<u8> {
        match self.payload_size {
            Some(n) => vec![b'x'; n],
            None => b"Important stuff".to_vec(),
        }
    }

    /// Puts item `index`; `false` when the host is stopping.
    fn put(&self, sink: &Sink<'_>, index: usize) -> bool {
        let id = format!("item-{index}");
        match (self.return_payload, self.with_ids) {
            (true, true) => sink.put(IngestItem::payload(self.content()).with_id(id)),
            (true, false) => sink.put_payload(self.content(), &PayloadMeta::default()),
            (false, true) => sink.put(IngestItem::task(task()).with_id(id)),
            (false, false) => sink.put_task(&task()),
        }
    }

    fn record(&self, path: &str, outcome: &ItemOutcome) -> Result<()> {
        let line = json!({
            "id": outcome.id,
            "status": outcome.status,
            "error": outcome.error,
            "scan_id": outcome.scan_id,
        });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "{line}")?;
        file.flush()?;
        Ok(())
    }
}

impl Provider for SimpleProvider {
    fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
        if self.raise_exception {
            return Err(Error::msg("Test exception, please ignore"));
        }
        for index in 0..self.count {
            if !self.put(sink, index) {
                return Ok(());
            }
        }
        if let Some(path) = &self.ready_path {
            std::fs::write(path, b"")?;
        }
        if self.wait_for_stop {
            // The host stops without waiting for `ingest` to return.
            loop {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn stop(&self) {
        if let Some(path) = &self.stopped_path {
            let seen = self.outcomes_seen.load(std::sync::atomic::Ordering::SeqCst);
            if let Err(e) = std::fs::write(path, seen.to_string()) {
                stoq_plugin_abi::tracing::error!("cannot write {path}: {e}");
            }
        }
    }

    fn outcome(&self, outcome: &ItemOutcome) {
        self.outcomes_seen
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(path) = &self.outcomes_path
            && let Err(e) = self.record(path, outcome)
        {
            stoq_plugin_abi::tracing::error!("cannot record the outcome of {}: {e}", outcome.id);
        }
    }
}

stoq_plugin_abi::export_plugin!(SimpleProvider => provider);
