//! The `entropy` worker: Shannon entropy of each payload, in bits per byte (0 to 8).
//!
//! Results: `{"entropy": 7.99}`. An empty payload has entropy 0.

use stoq_plugin_abi::prelude::*;

/// The entropy worker.
pub struct Entropy;

impl Plugin for Entropy {
    const INFO: PluginInfo = PluginInfo::new("entropy", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("Shannon entropy of each payload, in bits per byte");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

/// Shannon entropy of `data` in bits per byte.
pub fn shannon(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

impl Worker for Entropy {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::new(
            json!({ "entropy": shannon(payload.content()) }),
        ))
    }
}

stoq_plugin_abi::export_plugin!(Entropy => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::PluginTest;

    use super::*;

    #[test]
    fn scan_reports_the_entropy_in_bits_per_byte() {
        let test = PluginTest::<Entropy>::new();
        let response = test.scan(b"abab").expect("scans");
        assert_eq!(response.results, Some(json!({"entropy": 1.0})));
        assert!(response.errors.is_empty() && response.extracted.is_empty());
        // An empty payload still has a result: 0.
        let response = test.scan(b"").expect("scans");
        assert_eq!(response.results, Some(json!({"entropy": 0.0})));
        let all: Vec<u8> = (0..=255).collect();
        let response = test.scan(&all).expect("scans");
        assert_eq!(response.results, Some(json!({"entropy": 8.0})));
    }

    #[test]
    fn known_values() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(&[7u8; 1000]), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((shannon(&all) - 8.0).abs() < 1e-12);
        assert!((shannon(b"abab") - 1.0).abs() < 1e-12);
    }
}
