//! The plugin calls of a task, made on a pool thread **without** the request's lock (only
//! short lock-taking reads: the payload's handle, and the context queries plugins make).

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stoq_loader::{CallError, CallErrorKind, QueryContext, Role, WorkerOutput};
use stoq_plugin_abi::{ArchiverResponse, DecoratorResponse, DispatcherResponse, ffi};

use super::{Request, TaskKind};
use crate::error::PluginError;

/// Why a dispatcher gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DispatchError {
    /// It could not be started; reported once per request.
    #[error("Dispatcher plugin {name} failed to load: {source}")]
    Unavailable {
        name: String,
        #[source]
        source: PluginError,
    },
    /// Its call failed.
    #[error("{0}")]
    Call(CallError),
}

/// What a task's plugin calls produced, with what the task was about.
pub(crate) enum Outcome {
    /// A worker's answer, and the SHA-256 of each payload it extracted.
    Scan {
        payload: usize,
        worker: Arc<str>,
        result: Result<Option<WorkerOutput>, CallError>,
        digests: Vec<[u8; 32]>,
    },
    /// A worker (and its required workers) was started, or failed to start.
    Resolved { payload: usize, worker: Arc<str> },
    /// Each dispatcher's answer, asked at request generation `generation`.
    Dispatch {
        payload: usize,
        generation: u64,
        answers: Vec<(String, Result<DispatcherResponse, DispatchError>)>,
    },
    /// An archiver's answer; `None`: it could not be started (reported at start-up).
    Archive {
        payload: usize,
        archiver: Arc<str>,
        answer: Option<Result<ArchiverResponse, CallError>>,
    },
    /// A decorator's answer; `None`: it could not be started.
    Decorate {
        decorator: Arc<str>,
        answer: Option<Result<DecoratorResponse, CallError>>,
    },
    /// A connector's answer; `None`: it could not be started.
    Connect {
        connector: Arc<str>,
        answer: Option<Result<(), CallError>>,
    },
}

/// The text of a failed call of a plugin with `role`.
pub(super) fn call_error_text(role: &str, e: &CallError) -> String {
    match e.kind {
        CallErrorKind::Panicked => format!("{role}:panicked: {}", e.message),
        CallErrorKind::Crashed => format!("{role}:crashed: {}", e.message),
        CallErrorKind::TimedOut => format!("{role}:timed out: {}", e.message),
        _ => format!("{role}:failed: {}", e.message),
    }
}

impl Request {
    /// A payload's bytes (shared, not copied) and id, and the request's generation, taken
    /// under the lock so the plugin call can run without it.
    fn payload_handle(&self, idx: usize) -> (Bytes, String, u64) {
        let state = self.lock();
        let p = &state.payloads[idx];
        (
            p.content.clone(),
            p.results.payload_id.clone(),
            state.generation,
        )
    }

    /// A started plugin (started now if it was not: never call this under the lock).
    fn instance(&self, name: &str, role: Role) -> Result<Arc<crate::PluginHandle>, PluginError> {
        self.shared.instance(name, role)
    }

    /// Starts worker `name` and, recursively, its required workers.
    fn resolve(&self, name: &str) {
        let mut seen = HashSet::new();
        let mut pending = vec![name.to_owned()];
        while let Some(name) = pending.pop() {
            if seen.insert(name.clone())
                && let Ok(instance) = self.instance(&name, Role::Worker)
            {
                pending.extend(instance.required_workers().iter().cloned());
            }
        }
    }

    /// Runs a task's plugin calls, without holding the lock.
    pub fn execute(self: &Arc<Self>, kind: &TaskKind) -> Outcome {
        match kind {
            TaskKind::Scan {
                payload,
                worker,
                instance,
                ..
            } => {
                let (content, payload_id, _) = self.payload_handle(*payload);
                let context = PayloadContext {
                    request: self,
                    idx: *payload,
                };
                let span =
                    tracing::debug_span!("scan", plugin = &**worker, payload_id = %payload_id);
                let result = span.in_scope(|| instance.scan(&content, &payload_id, &context));
                // Digest extracted payloads here, outside the lock.
                let digests = match &result {
                    Ok(Some(output)) => output
                        .extracted
                        .iter()
                        .map(|e| Sha256::digest(&e.content).into())
                        .collect(),
                    _ => Vec::new(),
                };
                Outcome::Scan {
                    payload: *payload,
                    worker: worker.clone(),
                    result,
                    digests,
                }
            }
            TaskKind::Resolve { payload, worker } => {
                self.resolve(worker);
                Outcome::Resolved {
                    payload: *payload,
                    worker: worker.clone(),
                }
            }
            TaskKind::Dispatch { payload } => {
                let (content, payload_id, generation) = self.payload_handle(*payload);
                let context = PayloadContext {
                    request: self,
                    idx: *payload,
                };
                let answers = self
                    .settings()
                    .dispatchers
                    .iter()
                    .map(|name| {
                        let answer = match self.instance(name, Role::Dispatcher) {
                            Ok(instance) => instance
                                .get_dispatches(&content, &payload_id, &context)
                                .map_err(DispatchError::Call),
                            Err(source) => Err(DispatchError::Unavailable {
                                name: name.clone(),
                                source,
                            }),
                        };
                        (name.clone(), answer)
                    })
                    .collect();
                Outcome::Dispatch {
                    payload: *payload,
                    generation,
                    answers,
                }
            }
            TaskKind::Archive { payload, archiver } => {
                let answer = self
                    .instance(archiver, Role::Archiver)
                    .ok()
                    .map(|instance| {
                        let (content, payload_id, _) = self.payload_handle(*payload);
                        let context = PayloadContext {
                            request: self,
                            idx: *payload,
                        };
                        instance.archive(&content, &payload_id, &context)
                    });
                Outcome::Archive {
                    payload: *payload,
                    archiver: archiver.clone(),
                    answer,
                }
            }
            TaskKind::Decorate {
                decorator,
                response,
            } => Outcome::Decorate {
                decorator: decorator.clone(),
                answer: self
                    .instance(decorator, Role::Decorator)
                    .ok()
                    .map(|instance| instance.decorate(response)),
            },
            TaskKind::Connect {
                connector,
                response,
            } => Outcome::Connect {
                connector: connector.clone(),
                answer: self
                    .instance(connector, Role::Connector)
                    .ok()
                    .map(|instance| instance.save(response)),
            },
        }
    }
}

/// Answers a plugin's questions about payload `idx` and the request.
struct PayloadContext<'a> {
    request: &'a Request,
    idx: usize,
}

impl QueryContext for PayloadContext<'_> {
    fn query(&self, key: &str) -> Option<String> {
        let state = self.request.lock();
        let payload = state.payloads.get(self.idx)?;
        let value = match key {
            ffi::CONTEXT_PAYLOAD_META => {
                serde_json::to_value(&payload.results.payload_meta).ok()?
            }
            ffi::CONTEXT_REQUEST_META => serde_json::to_value(&state.request_meta).ok()?,
            ffi::CONTEXT_DEPTH => json!(payload.results.depth),
            ffi::CONTEXT_DISPATCH_META => Value::Object(payload.dispatch_meta.clone()),
            ffi::CONTEXT_WORKER_RESULTS => Value::Object(payload.results.workers.clone()),
            ffi::CONTEXT_PLUGINS_RUN => json!(payload.results.plugins_run.workers),
            ffi::CONTEXT_LIMITS => {
                let limits = &self.request.shared.settings.limits;
                json!({
                    "max_payload_size": limits.max_payload_size,
                    "extracted_bytes_left": limits.max_extracted_bytes.saturating_sub(state.extracted_bytes),
                    "extracted_payloads_left": limits.max_extracted_payloads.saturating_sub(state.extracted_count),
                })
            }
            ffi::CONTEXT_REQUEST_PAYLOADS => Value::Array(
                state
                    .payloads
                    .iter()
                    .map(|p| {
                        json!({
                            "payload_id": p.results.payload_id,
                            "depth": p.results.depth,
                            "plugins_run": p.results.plugins_run.workers,
                            "payload_meta": p.results.payload_meta,
                        })
                    })
                    .collect(),
            ),
            _ => return None,
        };
        Some(value.to_string())
    }
}
