//! Timeouts: a call the watchdog abandoned, and a request past its own deadline. Both are
//! recorded as errors and the request goes on (or, past its deadline, is sent as it is).

use std::sync::Arc;
use std::time::Duration;

use super::state::{Done, State, WorkerState};
use super::{Request, Task, TaskKind};

/// How many unfinished tasks a request-timeout error names.
const NAMED: usize = 10;

impl Request {
    /// A task ran past its timeout: the pool abandons it and this records why. `plugin` is
    /// the plugin the stuck thread was inside of, when known (a dispatch task asks several).
    pub fn abandon(
        self: &Arc<Self>,
        kind: TaskKind,
        timeout: Duration,
        plugin: Option<&str>,
    ) -> Vec<Task> {
        let mut tasks = Vec::new();
        let mut state = self.lock();
        if state.finished {
            return tasks;
        }
        let seconds = timeout.as_secs_f64();
        match kind {
            TaskKind::Scan {
                payload,
                worker,
                timeout: source,
                ..
            } => {
                state.error(
                    format!(
                        "worker:timed out: still running after {seconds} s ({source}); the result is discarded"
                    ),
                    Some(&worker),
                    Some(payload),
                );
                state.payloads[payload]
                    .results
                    .plugins_run
                    .workers
                    .push(worker.to_string());
                state.generation += 1;
                self.finish_worker(&mut state, payload, &worker, Done::Failed, &mut tasks);
            }
            TaskKind::Resolve { payload, worker } => {
                state.starting.retain(|s| *s != (payload, worker.clone()));
                let source = self.shared.timeout_of(&worker).source;
                state.error(
                    format!(
                        "worker:timed out: still starting after {seconds} s ({source}); it does not run on this payload"
                    ),
                    Some(&worker),
                    Some(payload),
                );
                state.payloads[payload]
                    .workers
                    .insert(worker, WorkerState::Done(Done::Failed));
            }
            TaskKind::Dispatch { payload } => {
                let message = match plugin {
                    Some(_) => format!(
                        "dispatcher:timed out: still running after {seconds} s; this payload's remaining dispatchers were not asked"
                    ),
                    None => format!(
                        "dispatcher:timed out: the dispatchers were still running after {seconds} s"
                    ),
                };
                state.error(message, plugin, Some(payload));
                let generation = state.generation;
                let p = &mut state.payloads[payload];
                p.dispatched_at = Some(generation);
                p.dispatching = p.dispatching.saturating_sub(1);
            }
            TaskKind::Archive { payload, archiver } => {
                state.after_scan.remove(&(Some(payload), archiver.clone()));
                state.error(
                    format!(
                        "archiver:timed out: still running after {seconds} s; the result is discarded"
                    ),
                    Some(&archiver),
                    Some(payload),
                );
                state.payloads[payload]
                    .results
                    .plugins_run
                    .archivers
                    .push(archiver.to_string());
            }
            TaskKind::Decorate {
                decorator: name, ..
            }
            | TaskKind::Connect {
                connector: name, ..
            } => {
                state.after_scan.remove(&(None, name.clone()));
                Self::response_error(
                    &mut state,
                    format!("timed out: still running after {seconds} s; the result is discarded"),
                    &name,
                );
            }
        }
        self.task_done(&mut state, &mut tasks);
        self.release(state);
        tasks
    }

    /// The request ran past `--timeout`: record it, naming what had not finished, and send
    /// what is there.
    pub fn expire(&self) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        let timeout = self
            .settings()
            .request_timeout
            .unwrap_or_default()
            .as_secs_f64();
        let pending = state.outstanding;
        let unfinished = unfinished(&state);
        let mut named = unfinished
            .iter()
            .take(NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if unfinished.len() > NAMED {
            named.push_str(&format!(" and {} more", unfinished.len() - NAMED));
        }
        let what = if named.is_empty() {
            String::new()
        } else {
            format!(" ({named})")
        };
        state.error(
            format!(
                "limit request timeout ({timeout} s) reached: {pending} scan tasks did not finish{what}; the response holds what finished"
            ),
            None,
            None,
        );
        let late = std::mem::take(&mut state.errors);
        match state.response.as_mut() {
            Some(response) => response.errors.extend(late),
            None => state.errors = late,
        }
        self.send(&mut state);
        self.release(state);
    }
}

/// What had not finished, sorted: `worker on payload-id` for scans (queued, running, waiting
/// for required workers, being started), dispatchers, archivers, decorators and connectors.
fn unfinished(state: &State) -> Vec<String> {
    let id = |idx: usize| {
        state
            .payloads
            .get(idx)
            .map_or("?", |p| p.results.payload_id.as_str())
    };
    let mut out = Vec::new();
    for p in &state.payloads {
        let payload = &p.results.payload_id;
        for (worker, s) in &p.workers {
            match s {
                WorkerState::Queued => out.push(format!("{worker} on {payload}")),
                WorkerState::Waiting(_) => {
                    out.push(format!(
                        "{worker} on {payload} (waiting for its required workers)"
                    ));
                }
                WorkerState::Done(_) => {}
            }
        }
        if p.dispatching > 0 {
            out.push(format!("the dispatchers on {payload}"));
        }
    }
    for (idx, worker) in &state.starting {
        out.push(format!("{worker} on {} (starting)", id(*idx)));
    }
    for (idx, plugin) in &state.after_scan {
        match idx {
            Some(idx) => out.push(format!("{plugin} on {}", id(*idx))),
            None => out.push(plugin.to_string()),
        }
    }
    out.sort();
    out
}
