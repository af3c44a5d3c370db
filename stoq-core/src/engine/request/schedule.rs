//! The dispatch rules (SPEC §2): which (payload, worker) pairs run and when. Everything here
//! runs under the request's lock and returns the tasks that became ready.

use std::sync::Arc;

use stoq_loader::Role;

use super::state::{Deferred, Done, Phase, State, WorkerState};
use super::{Request, Task, TaskKind};

/// What [`Request::want`] found.
enum Want {
    /// Queued, running or waiting for its required workers.
    Pending,
    /// It ended (or cannot run) on this payload.
    Done(Done),
    /// It, or one of its required workers, still has to be started (without the lock).
    Unresolved,
}

impl Request {
    /// Schedules a payload that just entered the request: `extra` (start dispatch for roots),
    /// always dispatch, its own `dispatch_to`, and a question to the dispatchers. A payload
    /// `max_recursion` or more extractions deep, or larger than `max_payload_size`, is listed
    /// but not scanned.
    pub(super) fn schedule_new(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        extra: &[Arc<str>],
        tasks: &mut Vec<Task>,
    ) {
        let payload = &state.payloads[idx];
        if !payload.results.payload_meta.should_scan {
            return;
        }
        let depth = payload.results.depth;
        let max = self.settings().max_recursion;
        if depth >= max {
            state.error(
                format!(
                    "Final worker round ({max}) reached, unable to process payload: it is {depth} extractions deep and max_recursion is {max}"
                ),
                None,
                Some(idx),
            );
            return;
        }
        let size = payload.results.size;
        let max_size = self.settings().limits.max_payload_size;
        if size > max_size || payload.unread {
            state.error(
                format!(
                    "limit max_payload_size ({max_size}) exceeded: the payload has {size} bytes and is not scanned"
                ),
                None,
                Some(idx),
            );
            return;
        }
        let mut names: Vec<Arc<str>> = extra.to_vec();
        names.extend(self.shared.always_dispatch.iter().cloned());
        names.extend(
            state.payloads[idx]
                .results
                .payload_meta
                .dispatch_to
                .iter()
                .map(|s| Arc::from(s.as_str())),
        );
        for name in names {
            self.schedule(state, idx, &name, tasks);
        }
        // In deterministic mode dispatchers are asked only when the request is quiet.
        if !self.settings().dispatchers.is_empty() && !self.settings().deterministic {
            self.dispatch_task(state, idx, tasks);
        }
    }

    /// A task asking the dispatchers about payload `idx`.
    pub(super) fn dispatch_task(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        tasks: &mut Vec<Task>,
    ) {
        state.payloads[idx].dispatching += 1;
        let timeout = self.settings().worker_timeout;
        let task = self.task(state, TaskKind::Dispatch { payload: idx }, timeout);
        tasks.push(task);
    }

    /// Makes sure worker `name` runs on payload `idx` (SPEC §2.7, §2.8): the entry point of
    /// every dispatch source. When `name` or one of its required workers still has to be
    /// started, a [`TaskKind::Resolve`] task starts them without the lock and calls this
    /// again.
    pub(super) fn schedule(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        tasks: &mut Vec<Task>,
    ) {
        if let Want::Unresolved = self.want(state, idx, name, &mut Vec::new(), tasks) {
            state.starting.push((idx, name.clone()));
            let timeout = self.shared.timeout_of(name).duration;
            let kind = TaskKind::Resolve {
                payload: idx,
                worker: name.clone(),
            };
            let task = self.task(state, kind, timeout);
            tasks.push(task);
        }
    }

    fn report_unavailable(state: &mut State, name: &str, e: &crate::PluginError, idx: usize) {
        if state.unavailable_reported.insert(name.to_owned()) {
            state.error(
                format!("Worker plugin {name} failed to load: {e}"),
                Some(name),
                Some(idx),
            );
        }
    }

    /// Schedules worker `name` on payload `idx` once its required workers have run, and them
    /// with it, unless already done. `chain` is the path of dependents that led here. Changes
    /// nothing for `name` when it returns [`Want::Unresolved`].
    fn want(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        chain: &mut Vec<Arc<str>>,
        tasks: &mut Vec<Task>,
    ) -> Want {
        match state.payloads[idx].workers.get(name) {
            Some(WorkerState::Done(done)) => return Want::Done(*done),
            Some(_) => return Want::Pending,
            None => {}
        }
        let root = chain.first().unwrap_or(name).clone();
        let path = || {
            chain
                .iter()
                .map(|c| &**c)
                .chain(std::iter::once(&**name))
                .collect::<Vec<_>>()
                .join(" -> ")
        };
        if chain.contains(name) {
            let message = format!(
                "Circular required plugin dependency found, unable to process plugin {name} ({})",
                path()
            );
            state.error(message, Some(&root), Some(idx));
            return Want::Done(Done::Aborted);
        }
        let max_depth = self.settings().max_required_worker_depth;
        if chain.len() > max_depth as usize {
            let message = format!(
                "Max required plugin depth {max_depth} reached, unable to generate additional tasks ({})",
                path()
            );
            state.error(message, Some(&root), Some(idx));
            return Want::Done(Done::Aborted);
        }
        let instance = match self.shared.registry.try_instance(name, Role::Worker) {
            None => return Want::Unresolved,
            Some(Ok(instance)) => instance,
            Some(Err(e)) => {
                Self::report_unavailable(state, name, &e, idx);
                let done = WorkerState::Done(Done::Failed);
                state.payloads[idx].workers.insert(name.clone(), done);
                return Want::Done(Done::Failed);
            }
        };

        chain.push(name.clone());
        let mut missing = Vec::new();
        let mut blocked = None;
        let mut unresolved = false;
        for dependency in instance.required_workers() {
            let dependency: Arc<str> = Arc::from(dependency.as_str());
            match self.want(state, idx, &dependency, chain, tasks) {
                Want::Done(Done::Ran) => {}
                Want::Done(done) => {
                    blocked = Some((dependency, done));
                    break;
                }
                Want::Pending => missing.push(dependency),
                Want::Unresolved => {
                    unresolved = true;
                    break;
                }
            }
        }
        chain.pop();

        if unresolved {
            return Want::Unresolved;
        }
        if let Some((dependency, done)) = blocked {
            Self::block(state, idx, name, &dependency, done);
            return Want::Done(done);
        }
        if missing.is_empty() {
            self.scan_task(state, idx, name, instance, tasks);
        } else {
            let payload = &mut state.payloads[idx];
            payload
                .workers
                .insert(name.clone(), WorkerState::Waiting(missing.len()));
            for dependency in missing {
                payload
                    .dependents
                    .entry(dependency)
                    .or_default()
                    .push(name.clone());
            }
        }
        Want::Pending
    }

    /// Queues worker `name` on payload `idx`.
    fn scan_task(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        instance: Arc<crate::PluginHandle>,
        tasks: &mut Vec<Task>,
    ) {
        state.payloads[idx]
            .workers
            .insert(name.clone(), WorkerState::Queued);
        let timeout = self.shared.timeout_of(name);
        let deadline = timeout.duration + instance.timeout_grace();
        let kind = TaskKind::Scan {
            payload: idx,
            worker: name.clone(),
            instance,
            timeout: timeout.source,
        };
        let task = self.task(state, kind, deadline);
        tasks.push(task);
    }

    /// Worker `name` cannot run on `idx` because `dependency` ended with `done`.
    fn block(state: &mut State, idx: usize, name: &Arc<str>, dependency: &str, done: Done) {
        if done == Done::Failed {
            state.error(
                format!("worker:not run: required worker `{dependency}` failed on this payload"),
                Some(name),
                Some(idx),
            );
        }
        state.payloads[idx]
            .workers
            .insert(name.clone(), WorkerState::Done(done));
    }

    /// Records that `name` finished on `idx` and releases or blocks its dependents.
    pub(super) fn finish_worker(
        self: &Arc<Self>,
        state: &mut State,
        idx: usize,
        name: &Arc<str>,
        done: Done,
        tasks: &mut Vec<Task>,
    ) {
        let mut finished = vec![(name.clone(), done)];
        while let Some((name, done)) = finished.pop() {
            let payload = &mut state.payloads[idx];
            payload
                .workers
                .insert(name.clone(), WorkerState::Done(done));
            let dependents = payload.dependents.remove(&name).unwrap_or_default();
            for dependent in dependents {
                let Some(WorkerState::Waiting(missing)) =
                    state.payloads[idx].workers.get(&dependent).copied()
                else {
                    continue;
                };
                if done != Done::Ran {
                    Self::block(state, idx, &dependent, &name, done);
                    finished.push((dependent, done));
                } else if missing > 1 {
                    state.payloads[idx]
                        .workers
                        .insert(dependent, WorkerState::Waiting(missing - 1));
                } else {
                    // A waiting worker was started before it waited.
                    match self.shared.registry.try_instance(&dependent, Role::Worker) {
                        Some(Ok(instance)) => {
                            self.scan_task(state, idx, &dependent, instance, tasks);
                        }
                        _ => {
                            finished.push((dependent, Done::Failed));
                        }
                    }
                }
            }
        }
    }

    /// One task finished: when it was the last, the request is quiet.
    pub(super) fn task_done(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        state.outstanding = state.outstanding.saturating_sub(1);
        if state.outstanding == 0 {
            self.quiesce(state, tasks);
        }
    }

    /// Nothing is running: apply what deterministic mode held back, ask the dispatchers again
    /// about payloads whose request changed since they were last asked (a dispatcher sees the
    /// request's state), or finish.
    pub(super) fn quiesce(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        if state.phase > Phase::Scanning {
            self.next_phase(state, tasks);
            return;
        }
        if !state.deferred.is_empty() {
            self.apply_deferred(state, tasks);
            if state.outstanding > 0 {
                return;
            }
        }
        if !self.settings().dispatchers.is_empty() {
            let generation = state.generation;
            let max = self.settings().max_recursion;
            let max_size = self.settings().limits.max_payload_size;
            let deterministic = self.settings().deterministic;
            let stale: Vec<usize> = state
                .payloads
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.results.payload_meta.should_scan
                        && p.results.depth < max
                        && p.results.size <= max_size
                        && !p.unread
                        && match p.dispatched_at {
                            Some(at) => at < generation,
                            None => deterministic,
                        }
                })
                .map(|(i, _)| i)
                .collect();
            if !stale.is_empty() {
                for idx in stale {
                    self.dispatch_task(state, idx, tasks);
                }
                return;
            }
        }
        self.next_phase(state, tasks);
    }

    /// Applies held-back extractions (then held-back dispatches) in tree order.
    fn apply_deferred(self: &Arc<Self>, state: &mut State, tasks: &mut Vec<Task>) {
        let mut deferred = std::mem::take(&mut state.deferred);
        let key = |state: &State, d: &Deferred| match d {
            Deferred::Extract {
                parent, worker, n, ..
            } => (
                0,
                state.payloads[*parent].sort_key.clone(),
                worker.clone(),
                *n,
            ),
            Deferred::Want { payload, worker } => (
                1,
                state.payloads[*payload].sort_key.clone(),
                worker.clone(),
                0,
            ),
        };
        deferred.sort_by_cached_key(|d| key(state, d));
        for d in deferred {
            match d {
                Deferred::Extract {
                    parent,
                    worker,
                    n,
                    extracted,
                    digest,
                } => self.add_extracted(state, parent, &worker, n, extracted, digest, tasks),
                Deferred::Want { payload, worker } => self.schedule(state, payload, &worker, tasks),
            }
        }
    }
}
