//! Extracted payloads: deduplication by SHA-256 within the request (every edge kept), the
//! extraction limits, and scheduling the new payload (SPEC §2.9, §2.10).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use stoq_loader::Extracted;

use super::state::State;
use super::{Request, Task};

impl Request {
    /// Records a limit breach once per request.
    fn limit(state: &mut State, name: &'static str, message: String, worker: &str, parent: usize) {
        if state.limits_reported.insert(name) {
            state.error(message, Some(worker), Some(parent));
        }
    }

    /// Adds the `n`th payload `worker` extracted from `parent` (or, for content already in the
    /// request, one more edge to it), within the limits, and schedules it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_extracted(
        self: &Arc<Self>,
        state: &mut State,
        parent: usize,
        worker: &Arc<str>,
        n: usize,
        extracted: Extracted,
        digest: [u8; 32],
        tasks: &mut Vec<Task>,
    ) {
        if state.by_sha256.is_none() {
            // The first extraction in this request: index the payloads so far.
            let mut index = HashMap::new();
            for (i, p) in state.payloads.iter_mut().enumerate() {
                let sha = *p
                    .sha256
                    .get_or_insert_with(|| Sha256::digest(&p.content).into());
                index.entry(sha).or_insert(i);
            }
            state.by_sha256 = Some(index);
        }
        let parent_id = state.payloads[parent].results.payload_id.clone();
        let extra = extracted.payload_meta.extra_data.clone();
        if let Some(&existing) = state.by_sha256.as_ref().and_then(|m| m.get(&digest)) {
            let results = &mut state.payloads[existing].results;
            results.extracted_from.push(parent_id);
            results.extracted_by.push(worker.to_string());
            results.extracted_extra_data.push(extra);
            return;
        }
        let limits = &self.settings().limits;
        let size = extracted.content.len() as u64;
        if size > limits.max_payload_size {
            let message = format!(
                "limit max_payload_size ({}) exceeded: an extracted payload of {size} bytes was dropped",
                limits.max_payload_size
            );
            state.error(message, Some(worker), Some(parent));
            return;
        }
        if state.extracted_count >= limits.max_extracted_payloads {
            let message = format!(
                "limit max_extracted_payloads ({}) reached: further extracted payloads are dropped",
                limits.max_extracted_payloads
            );
            Self::limit(state, "max_extracted_payloads", message, worker, parent);
            return;
        }
        if state.extracted_bytes + size > limits.max_extracted_bytes {
            let message = format!(
                "limit max_extracted_bytes ({}) reached: further extracted payloads are dropped",
                limits.max_extracted_bytes
            );
            Self::limit(state, "max_extracted_bytes", message, worker, parent);
            return;
        }
        state.extracted_count += 1;
        state.extracted_bytes += size;
        let depth = state.payloads[parent].results.depth + 1;
        let mut sort_key = state.payloads[parent].sort_key.clone();
        sort_key.push((0, worker.to_string(), n));
        let idx = state.push_payload(
            self.settings(),
            extracted.content,
            Some(digest),
            extracted.payload_meta,
            depth,
            sort_key,
        );
        if let Some(index) = state.by_sha256.as_mut() {
            index.insert(digest, idx);
        }
        let results = &mut state.payloads[idx].results;
        results.extracted_from.push(parent_id);
        results.extracted_by.push(worker.to_string());
        results.extracted_extra_data.push(extra);
        self.schedule_new(state, idx, &[], tasks);
    }
}
