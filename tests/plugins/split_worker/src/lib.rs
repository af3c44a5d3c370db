//! Splits each root payload into `children` (default 4) equal parts, with their offsets in
//! `extra_data`; extracted payloads are not split again. Used by the extraction benchmark.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct SplitWorker {
    children: usize,
}

impl Plugin for SplitWorker {
    const INFO: PluginInfo = PluginInfo::new("split_worker", env!("CARGO_PKG_VERSION"))
        .description("Splits root payloads into equal parts");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let children = config.get_int("children")?.unwrap_or(4);
        let children = usize::try_from(children)
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| Error::msg(format!("option `children` must be > 0, got {children}")))?;
        Ok(Self { children })
    }
}

impl Worker for SplitWorker {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        if payload.depth() > 0 {
            return Ok(WorkerResponse::empty());
        }
        let content = payload.content();
        let size = content.len().div_ceil(self.children).max(1);
        let parts = content.chunks(size).enumerate().map(|(i, part)| {
            ExtractedPayload::new(part)
                .with_meta(PayloadMeta::default().with_extra("offset", i * size))
        });
        Ok(WorkerResponse::empty().with_extracted(parts))
    }
}

stoq_plugin_abi::export_plugin!(SplitWorker => worker);
