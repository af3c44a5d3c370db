//! `byte_stats`: a third-party stoq worker, built outside the stoq workspace.
//!
//! Results: the payload's size, its share of printable ASCII, its NUL bytes and whether it
//! looks like text (printable share at least `text_threshold`, default 0.9).

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct ByteStats {
    text_threshold: f64,
}

impl Plugin for ByteStats {
    const INFO: PluginInfo = PluginInfo::new("byte_stats", env!("CARGO_PKG_VERSION"))
        .author("A. Third-Party")
        .description("Printable share, NUL count and a text guess")
        .default_options("text_threshold = 0.9");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let text_threshold = config.get_float("text_threshold")?.unwrap_or(0.9);
        if !(0.0..=1.0).contains(&text_threshold) {
            return Err(Error::msg(format!(
                "option `text_threshold` must be between 0 and 1, got {text_threshold}"
            )));
        }
        Ok(Self { text_threshold })
    }
}

impl Worker for ByteStats {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<Option<WorkerResponse>> {
        let content = payload.content();
        let printable = content
            .iter()
            .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
            .count();
        let nul = content.iter().filter(|b| **b == 0).count();
        let share = if content.is_empty() {
            1.0
        } else {
            printable as f64 / content.len() as f64
        };
        Ok(Some(WorkerResponse::new(json!({
            "size": content.len(),
            "printable_share": share,
            "nul_bytes": nul,
            "is_text": share >= self.text_threshold,
        }))))
    }
}

stoq_plugin_abi::export_plugin!(ByteStats => worker);
