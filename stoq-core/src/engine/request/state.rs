//! What a request knows: its payloads and what ran on them, its errors, its limits' counters.
//! Everything here is read and written under the request's lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use stoq_loader::Extracted;
use stoq_plugin_abi::{PayloadMeta, RequestMeta};

use super::Reply;
use crate::engine::Settings;
use crate::model::{ErrorRecord, PayloadResults, PluginsRun, StoqResponse};

/// Where a request is once its payloads are scanned (SPEC §2.12: archivers, then decorators,
/// then connectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    Scanning,
    Archiving,
    Decorating,
    Connecting,
}

/// How a worker's run on a payload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// It ran and returned.
    Ran,
    /// It failed, panicked, timed out or could not run; dependents do not run.
    Failed,
    /// A dependency cycle or depth limit stopped the chain; reported once already.
    Aborted,
}

/// Where one worker is on one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WorkerState {
    /// Waiting for this many required workers.
    Waiting(usize),
    /// Queued or running.
    Queued,
    Done(Done),
}

/// One payload of the request.
pub(super) struct PayloadState {
    pub content: Bytes,
    /// A root too large to be read: listed with its size, never scanned or archived.
    pub unread: bool,
    pub sha256: Option<[u8; 32]>,
    pub results: PayloadResults,
    pub dispatch_meta: Map<String, Value>,
    pub workers: HashMap<Arc<str>, WorkerState>,
    /// Workers waiting for a worker, by the worker they wait for.
    pub dependents: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// The request generation when dispatchers were last asked about this payload.
    pub dispatched_at: Option<u64>,
    /// Dispatch tasks queued or running for this payload.
    pub dispatching: u32,
    /// Where it sits in the tree, for the deterministic order: (parent's key, worker, index).
    pub sort_key: Vec<(usize, String, usize)>,
}

/// Effects held back in deterministic mode until the request is quiet, then applied in tree
/// order, so that which extraction of a duplicate counts as "first" (its depth, its metadata)
/// and what dispatchers see never depend on thread timing.
pub(super) enum Deferred {
    Extract {
        parent: usize,
        worker: Arc<str>,
        n: usize,
        extracted: Extracted,
        digest: [u8; 32],
    },
    Want {
        payload: usize,
        worker: Arc<str>,
    },
}

/// A finished response on its way out, delivered once the lock is released.
pub(super) struct Outbox {
    pub response: StoqResponse,
    pub reply: Reply,
    pub connector_errors: Vec<ErrorRecord>,
}

impl Outbox {
    /// Hands the response to whoever waits for it (never under the request's lock).
    pub fn deliver(self) {
        match self.reply {
            // The caller may have stopped waiting; nothing to do then.
            Reply::Channel(reply) => drop(reply.send(self.response)),
            Reply::Batch(completions, index) => completions.deliver(index, Some(self.response)),
            Reply::Callback(callback) => callback(crate::engine::Finished {
                response: self.response,
                connector_errors: self.connector_errors,
            }),
        }
    }
}

/// A request's state, behind its one lock.
pub(crate) struct State {
    pub request_meta: RequestMeta,
    /// The response's scan id, when the caller chose it (a queue's task id).
    pub scan_id: Option<String>,
    /// Connectors that failed to save the response: the request is not safely stored.
    pub connector_errors: Vec<ErrorRecord>,
    pub deferred: Vec<Deferred>,
    pub phase: Phase,
    /// The response, once built (decorators and connectors work on it).
    pub response: Option<StoqResponse>,
    pub payloads: Vec<PayloadState>,
    /// Content digest to payload, filled once the first payload is extracted.
    pub by_sha256: Option<HashMap<[u8; 32], usize>>,
    pub errors: Vec<ErrorRecord>,
    pub unavailable_reported: HashSet<String>,
    pub limits_reported: HashSet<&'static str>,
    pub extracted_count: usize,
    pub extracted_bytes: u64,
    /// Tasks queued or running.
    pub outstanding: usize,
    /// Workers being started for a payload ([`super::TaskKind::Resolve`] tasks).
    pub starting: Vec<(usize, Arc<str>)>,
    /// Archiver (with its payload), decorator and connector tasks queued or running.
    pub after_scan: HashSet<(Option<usize>, Arc<str>)>,
    /// Bumped whenever a worker finishes or a payload is added: dispatchers may answer
    /// differently afterwards.
    pub generation: u64,
    pub finished: bool,
    pub reply: Option<Reply>,
    /// The response, once sent, until the lock is released.
    pub outbox: Option<Outbox>,
}

/// A UUID-shaped text from the first 16 bytes of a digest.
pub(super) fn format_uuid(digest: &[u8]) -> String {
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl State {
    pub fn new(request_meta: RequestMeta, scan_id: Option<String>, reply: Reply) -> Self {
        Self {
            request_meta,
            scan_id,
            connector_errors: Vec::new(),
            deferred: Vec::new(),
            phase: Phase::Scanning,
            response: None,
            payloads: Vec::new(),
            by_sha256: None,
            errors: Vec::new(),
            unavailable_reported: HashSet::new(),
            limits_reported: HashSet::new(),
            extracted_count: 0,
            extracted_bytes: 0,
            outstanding: 0,
            starting: Vec::new(),
            after_scan: HashSet::new(),
            generation: 0,
            finished: false,
            reply: Some(reply),
            outbox: None,
        }
    }

    /// Records an error of the request, of a plugin, of a payload.
    pub fn error(&mut self, error: String, plugin: Option<&str>, payload: Option<usize>) {
        let payload_id = payload.map(|i| self.payloads[i].results.payload_id.clone());
        self.errors.push(ErrorRecord {
            error,
            plugin_name: plugin.map(str::to_owned),
            payload_id,
        });
    }

    /// Adds a payload; returns its index.
    pub fn push_payload(
        &mut self,
        settings: &Settings,
        content: Bytes,
        sha256: Option<[u8; 32]>,
        meta: PayloadMeta,
        depth: u32,
        sort_key: Vec<(usize, String, usize)>,
    ) -> usize {
        let idx = self.payloads.len();
        let payload_id = if settings.deterministic {
            let digest = sha256.unwrap_or_else(|| Sha256::digest(&content).into());
            let mut h = Sha256::new();
            match self.payloads.first() {
                // Extracted payloads are unique by content within a request.
                Some(root) if depth > 0 => h.update(root.results.payload_id.as_bytes()),
                _ => h.update(format!("root:{idx}:").as_bytes()),
            }
            h.update(digest);
            format_uuid(&h.finalize())
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        self.payloads.push(PayloadState {
            results: PayloadResults {
                size: content.len() as u64,
                payload_id,
                payload_meta: meta,
                plugins_run: PluginsRun::default(),
                extracted_from: Vec::new(),
                extracted_by: Vec::new(),
                extracted_extra_data: Vec::new(),
                workers: Map::new(),
                archivers: Map::new(),
                depth,
            },
            content,
            unread: false,
            sha256,
            dispatch_meta: Map::new(),
            workers: HashMap::new(),
            dependents: HashMap::new(),
            dispatched_at: None,
            dispatching: 0,
            sort_key,
        });
        self.generation += 1;
        idx
    }
}
