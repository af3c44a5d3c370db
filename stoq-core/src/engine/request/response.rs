//! After scanning (SPEC §2.12): destination archivers, then decorators, then connectors; and
//! the response, built from the payloads and left in the outbox for delivery after the lock.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Map;
use sha2::{Digest, Sha256};
use stoq_loader::Role;

use super::state::{Outbox, Phase, State, format_uuid};
use super::{Request, Task, TaskKind};
use crate::model::{ErrorRecord, PayloadResults, StoqResponse};

/// The deterministic order of errors: by payload, then plugin, then text.
fn sort_errors(errors: &mut [ErrorRecord]) {
    errors.sort_by(|a, b| {
        (&a.payload_id, &a.plugin_name, &a.error).cmp(&(&b.payload_id, &b.plugin_name, &b.error))
    });
}

impl Request {
    /// Whether plugin `name` with `role` may get tasks: started, or still to start (in the
    /// task); one that failed to start was reported at start-up and is skipped.
    fn usable(&self, name: &str, role: Role) -> bool {
        !matches!(self.shared.registry.try_instance(name, role), Some(Err(_)))
    }

    /// The request is quiet and scanning is done: move to the next phase of SPEC §2.12 with
    /// work to do (archivers, decorators, connectors), or send the response.
    pub(super) fn next_phase(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        let settings = self.settings();
        let timeout = settings.worker_timeout;
        while state.outstanding == 0 {
            match state.phase {
                Phase::Scanning => {
                    state.phase = Phase::Archiving;
                    if !state.request_meta.archive_payloads {
                        continue;
                    }
                    for archiver in &settings.dest_archivers {
                        if !self.usable(archiver, Role::Archiver) {
                            continue;
                        }
                        let archiver: Arc<str> = Arc::from(archiver.as_str());
                        for idx in 0..state.payloads.len() {
                            let payload = &state.payloads[idx];
                            if payload.results.payload_meta.should_archive && !payload.unread {
                                state.after_scan.insert((Some(idx), archiver.clone()));
                                let kind = TaskKind::Archive {
                                    payload: idx,
                                    archiver: archiver.clone(),
                                };
                                let task = self.task(state, kind, timeout);
                                tasks.push(task);
                            }
                        }
                    }
                }
                Phase::Archiving => {
                    state.phase = Phase::Decorating;
                    let response = self.build_response(state);
                    state.response = Some(response);
                    self.spawn_on_response(state, &settings.decorators, Role::Decorator, tasks);
                }
                Phase::Decorating => {
                    state.phase = Phase::Connecting;
                    self.spawn_on_response(state, &settings.connectors, Role::Connector, tasks);
                }
                Phase::Connecting => {
                    self.send(state);
                    return;
                }
            }
        }
    }

    /// One decorator or connector task per name, each with the response as JSON.
    fn spawn_on_response(
        self: &Arc<Self>,
        state: &mut State,
        names: &[String],
        role: Role,
        tasks: &mut Vec<Task>,
    ) {
        if names.is_empty() {
            return;
        }
        let json = Arc::new(serde_json::to_string(&state.response).unwrap_or_default());
        for name in names {
            if !self.usable(name, role) {
                continue;
            }
            let name: Arc<str> = Arc::from(name.as_str());
            state.after_scan.insert((None, name.clone()));
            let response = json.clone();
            let kind = match role {
                Role::Decorator => TaskKind::Decorate {
                    decorator: name,
                    response,
                },
                _ => TaskKind::Connect {
                    connector: name,
                    response,
                },
            };
            let task = self.task(state, kind, self.settings().worker_timeout);
            tasks.push(task);
        }
    }

    /// Builds the response from the payloads (which it consumes).
    fn build_response(&self, state: &mut State) -> StoqResponse {
        let deterministic = self.settings().deterministic;
        let mut payloads = std::mem::take(&mut state.payloads);
        if deterministic {
            payloads.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        }
        let mut results: Vec<PayloadResults> = payloads.into_iter().map(|p| p.results).collect();
        let mut errors = std::mem::take(&mut state.errors);
        if deterministic {
            for r in &mut results {
                r.plugins_run.workers.sort();
                r.plugins_run.archivers.sort();
                // Maps keep insertion (completion) order when serde_json's `preserve_order`
                // is on, which any dependency can turn on.
                r.workers.sort_keys();
                r.archivers.sort_keys();
                let mut edges: Vec<_> = r
                    .extracted_from
                    .drain(..)
                    .zip(r.extracted_by.drain(..))
                    .zip(r.extracted_extra_data.drain(..))
                    .collect();
                edges.sort_by(|a, b| (&a.0.0, &a.0.1).cmp(&(&b.0.0, &b.0.1)));
                for ((from, by), extra) in edges {
                    r.extracted_from.push(from);
                    r.extracted_by.push(by);
                    r.extracted_extra_data.push(extra);
                }
            }
            sort_errors(&mut errors);
        }
        let chosen_scan_id = state.scan_id.take();
        let (time, scan_id) = if deterministic {
            let mut h = Sha256::new();
            for r in &results {
                h.update(r.payload_id.as_bytes());
            }
            (None, format_uuid(&h.finalize()))
        } else {
            (
                Some(crate::time::now_rfc3339()),
                uuid::Uuid::new_v4().to_string(),
            )
        };
        StoqResponse {
            results,
            request_meta: std::mem::take(&mut state.request_meta),
            errors,
            time,
            decorators: Map::new(),
            scan_id: chosen_scan_id.unwrap_or(scan_id),
        }
    }

    /// Finishes the request: builds the response if needed and puts it in the outbox, which
    /// the entry point delivers once it released the lock ([`Request::release`]).
    pub(super) fn send(&self, state: &mut State) {
        state.finished = true;
        self.finished.store(true, Ordering::Release);
        let mut response = match state.response.take() {
            Some(response) => response,
            None => self.build_response(state),
        };
        if self.settings().deterministic {
            response.decorators.sort_keys();
            sort_errors(&mut response.errors);
        }
        if let Some(reply) = state.reply.take() {
            state.outbox = Some(Outbox {
                response,
                reply,
                connector_errors: std::mem::take(&mut state.connector_errors),
            });
        }
    }
}
