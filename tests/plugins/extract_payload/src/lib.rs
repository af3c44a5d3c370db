//! stoQ's `extract_payload` test plugin: no results; extracts `extracted_payload`, or 50 bytes
//! that differ on every call; `count` of them (default 1), named `extracted_filename`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct ExtractPayload {
    fixed: Option<String>,
    count: usize,
    filename: Option<String>,
}

impl Plugin for ExtractPayload {
    const INFO: PluginInfo = PluginInfo::new("extract_payload", env!("CARGO_PKG_VERSION"))
        .description("Extracts fixed or random bytes");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let count = config.get_int("count")?.unwrap_or(1);
        let count =
            usize::try_from(count).map_err(|_| Error::msg("option `count` must be >= 0"))?;
        Ok(Self {
            fixed: config.get_str("extracted_payload")?,
            count,
            filename: config.get_str("extracted_filename")?,
        })
    }
}

/// 50 bytes that differ on every call (no cryptographic quality needed).
fn random_bytes() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = RandomState::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (0..50u64)
        .map(|i| {
            let mut h = seed.build_hasher();
            h.write_u64(n);
            h.write_u64(i);
            h.finish() as u8
        })
        .collect()
}

impl Worker for ExtractPayload {
    fn scan(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let extracted = (0..self.count).map(|_| {
            let mut meta = PayloadMeta::default();
            if let Some(name) = &self.filename {
                meta = meta.with_extra("filename", name.as_str());
            }
            let content = match &self.fixed {
                Some(fixed) => fixed.clone().into_bytes(),
                None => random_bytes(),
            };
            ExtractedPayload::new(content).with_meta(meta)
        });
        Ok(WorkerResponse::empty().with_extracted(extracted))
    }
}

stoq_plugin_abi::export_plugin!(ExtractPayload => worker);
