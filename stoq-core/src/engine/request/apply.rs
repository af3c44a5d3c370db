//! What a finished call changes: results, errors, dispatches, extracted payloads. Runs under
//! the request's lock ([`Request::complete`] takes it) and returns the tasks that became ready.

use std::sync::Arc;

use serde_json::Value;
use stoq_loader::{CallError, WorkerOutput};
use stoq_plugin_abi::{ArchiverResponse, DecoratorResponse, DispatcherResponse};

use super::call::{DispatchError, Outcome, call_error_text};
use super::state::{Deferred, Done, State};
use super::{Request, Task};
use crate::model::ErrorRecord;

impl Request {
    /// Applies a task's outcome; returns the tasks that became ready.
    pub fn complete(self: &Arc<Self>, outcome: Outcome) -> Vec<Task> {
        let mut tasks = Vec::new();
        let mut state = self.lock();
        if state.finished {
            return tasks;
        }
        match outcome {
            Outcome::Scan {
                payload,
                worker,
                result,
                digests,
            } => self.apply_scan(&mut state, payload, &worker, result, digests, &mut tasks),
            Outcome::Resolved { payload, worker } => {
                state.starting.retain(|s| *s != (payload, worker.clone()));
                self.schedule(&mut state, payload, &worker, &mut tasks);
            }
            Outcome::Dispatch {
                payload,
                generation,
                answers,
            } => self.apply_dispatch(&mut state, payload, generation, answers, &mut tasks),
            Outcome::Archive {
                payload,
                archiver,
                answer,
            } => {
                state.after_scan.remove(&(Some(payload), archiver.clone()));
                if let Some(answer) = answer {
                    Self::apply_archive(&mut state, payload, &archiver, answer);
                }
            }
            Outcome::Decorate { decorator, answer } => {
                state.after_scan.remove(&(None, decorator.clone()));
                if let Some(answer) = answer {
                    Self::apply_decorate(&mut state, &decorator, answer);
                }
            }
            Outcome::Connect { connector, answer } => {
                state.after_scan.remove(&(None, connector.clone()));
                if let Some(Err(e)) = answer {
                    Self::apply_connect_error(&mut state, &connector, &e);
                }
            }
        }
        self.task_done(&mut state, &mut tasks);
        self.release(state);
        tasks
    }

    fn apply_scan(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        worker: &Arc<str>,
        result: Result<Option<WorkerOutput>, CallError>,
        digests: Vec<[u8; 32]>,
        tasks: &mut Vec<Task>,
    ) {
        state.payloads[idx]
            .results
            .plugins_run
            .workers
            .push(worker.to_string());
        state.generation += 1;
        let done = match result {
            Ok(None) => Done::Ran,
            Ok(Some(output)) => {
                if let Some(results) = output.results {
                    state.payloads[idx]
                        .results
                        .workers
                        .insert(worker.to_string(), results);
                }
                for message in output.errors {
                    state.error(message, Some(worker), Some(idx));
                }
                for next in output.dispatch_to {
                    self.schedule(state, idx, &Arc::from(next.as_str()), tasks);
                }
                for (n, (extracted, digest)) in
                    output.extracted.into_iter().zip(digests).enumerate()
                {
                    if self.settings().deterministic {
                        state.deferred.push(Deferred::Extract {
                            parent: idx,
                            worker: worker.clone(),
                            n,
                            extracted,
                            digest,
                        });
                    } else {
                        self.add_extracted(state, idx, worker, n, extracted, digest, tasks);
                    }
                }
                Done::Ran
            }
            Err(e) => {
                state.error(call_error_text("worker", &e), Some(worker), Some(idx));
                Done::Failed
            }
        };
        self.finish_worker(state, idx, worker, done, tasks);
    }

    fn apply_dispatch(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        generation: u64,
        answers: Vec<(String, Result<DispatcherResponse, DispatchError>)>,
        tasks: &mut Vec<Task>,
    ) {
        let payload = &mut state.payloads[idx];
        payload.dispatched_at = Some(generation);
        payload.dispatching = payload.dispatching.saturating_sub(1);
        for (dispatcher, answer) in answers {
            match answer {
                Ok(response) => {
                    for e in &response.errors {
                        state.error(e.message().to_owned(), Some(&dispatcher), Some(idx));
                    }
                    state.payloads[idx]
                        .dispatch_meta
                        .insert(dispatcher.clone(), Value::Object(response.meta));
                    if let Some(archive) = response.should_archive {
                        state.payloads[idx].results.payload_meta.should_archive = archive;
                    }
                    for name in response.plugin_names {
                        let worker: Arc<str> = Arc::from(name.as_str());
                        if self.settings().deterministic {
                            state.deferred.push(Deferred::Want {
                                payload: idx,
                                worker,
                            });
                        } else {
                            self.schedule(state, idx, &worker, tasks);
                        }
                    }
                }
                Err(e @ DispatchError::Unavailable { .. }) => {
                    if state.unavailable_reported.insert(dispatcher.clone()) {
                        state.error(e.to_string(), Some(&dispatcher), Some(idx));
                    }
                }
                Err(DispatchError::Call(e)) => {
                    // A dispatcher is asked again when the request changes; a failure it
                    // repeats is recorded once.
                    let error = call_error_text("dispatcher", &e);
                    let id = &state.payloads[idx].results.payload_id;
                    let seen = state.errors.iter().any(|r| {
                        r.error == error
                            && r.plugin_name.as_deref() == Some(dispatcher.as_str())
                            && r.payload_id.as_ref() == Some(id)
                    });
                    if !seen {
                        state.error(error, Some(&dispatcher), Some(idx));
                    }
                }
            }
        }
    }

    fn apply_archive(
        state: &mut State,
        idx: usize,
        archiver: &str,
        answer: Result<ArchiverResponse, CallError>,
    ) {
        state.payloads[idx]
            .results
            .plugins_run
            .archivers
            .push(archiver.to_owned());
        match answer {
            Ok(response) => {
                if let Some(results) = response.results {
                    state.payloads[idx]
                        .results
                        .archivers
                        .insert(archiver.to_owned(), results);
                }
                for e in response.errors {
                    state.error(e.message().to_owned(), Some(archiver), Some(idx));
                }
            }
            Err(e) => state.error(call_error_text("archiver", &e), Some(archiver), Some(idx)),
        }
    }

    fn apply_decorate(
        state: &mut State,
        decorator: &str,
        answer: Result<DecoratorResponse, CallError>,
    ) {
        match answer {
            Ok(response) => {
                if let Some(results) = response.results
                    && let Some(r) = state.response.as_mut()
                {
                    r.decorators.insert(decorator.to_owned(), results);
                }
                for e in response.errors {
                    Self::response_error(state, e.message().to_owned(), decorator);
                }
            }
            Err(e) => Self::response_error(state, call_error_text("decorator", &e), decorator),
        }
    }

    fn apply_connect_error(state: &mut State, connector: &str, e: &CallError) {
        tracing::error!(connector, "connector failed: {}", e.message);
        let error = call_error_text("connector", e);
        state.connector_errors.push(ErrorRecord {
            error: error.clone(),
            plugin_name: Some(connector.to_owned()),
            payload_id: None,
        });
        Self::response_error(state, error, connector);
    }

    /// An error of a decorator or connector, recorded in the built response.
    pub(super) fn response_error(state: &mut State, error: String, plugin: &str) {
        if let Some(r) = state.response.as_mut() {
            r.errors.push(ErrorRecord {
                error,
                plugin_name: Some(plugin.to_owned()),
                payload_id: None,
            });
        }
    }
}
