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
        .website("https://example.org/byte-stats")
        .options(&[OptionSpec::float("text_threshold", 0.9)
            .doc("Printable share from which a payload counts as text (0 to 1)")]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let text_threshold = config.float("text_threshold")?;
        if !(0.0..=1.0).contains(&text_threshold) {
            return Err(Error::msg(format!(
                "option `text_threshold` must be between 0 and 1, got {text_threshold}"
            )));
        }
        Ok(Self { text_threshold })
    }
}

impl Worker for ByteStats {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
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
        Ok(WorkerResponse::new(json!({
            "size": content.len(),
            "printable_share": share,
            "nul_bytes": nul,
            "is_text": share >= self.text_threshold,
        })))
    }
}

stoq_plugin_abi::export_plugin!(ByteStats => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;

    #[test]
    fn counts_printable_bytes_and_nuls() {
        let response = PluginTest::<ByteStats>::new()
            .scan(b"ab\0\x01")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"size": 4, "printable_share": 0.5, "nul_bytes": 1, "is_text": false}))
        );
    }

    #[test]
    fn the_threshold_is_an_option_checked_at_start() {
        let lenient = PluginTest::<ByteStats>::new().option("text_threshold", "0.5");
        assert_eq!(lenient.scan(b"ab\0\x01").expect("scans").results.unwrap()["is_text"], true);
        let out_of_range = PluginTest::<ByteStats>::new().option("text_threshold", 2);
        assert_eq!(
            out_of_range.start(),
            Err(TestError::Config(
                "option `text_threshold` must be between 0 and 1, got 2".into()
            ))
        );
        let not_a_number = PluginTest::<ByteStats>::new().option("text_threshold", "high");
        assert!(matches!(not_a_number.start(), Err(TestError::Config(m)) if m.contains("`text_threshold`")));
    }
}
