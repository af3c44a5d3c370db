//! Many requests in flight for one caller ([`Engine::scan_many`](super::Engine::scan_many)).
//!
//! Waking the caller for every response costs a context switch per request, more than a cheap
//! scan itself. Here finished responses accumulate and the caller is woken once a batch is
//! ready, or when everything in flight is done.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::model::StoqResponse;

/// The longest a finished response waits for the rest of its batch.
const MAX_HOLD: Duration = Duration::from_millis(20);

/// Finished responses waiting for the caller.
pub(crate) struct Completions {
    ready: Mutex<Vec<(usize, Option<StoqResponse>)>>,
    wake: Condvar,
    batch: usize,
    /// Submitted and not yet collected by the caller (an atomic, so submitting never waits
    /// for the threads delivering).
    in_flight: AtomicUsize,
}

impl Completions {
    pub fn new(batch: usize) -> Self {
        Self {
            ready: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            batch: batch.max(1),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, Option<StoqResponse>)>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wanted(&self) -> usize {
        self.batch.min(self.in_flight.load(Ordering::SeqCst))
    }

    pub fn submitted(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Requests submitted and not collected yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Called by the thread that finished request `index` (`None`: its input was skipped).
    pub fn deliver(&self, index: usize, response: Option<StoqResponse>) {
        let mut ready = self.lock();
        ready.push((index, response));
        // The first response of a batch wakes the caller too: it starts the hold timer.
        if ready.len() == 1 || ready.len() >= self.wanted() {
            self.wake.notify_one();
        }
    }

    /// Waits for a batch (or for everything in flight), then takes it. Responses that are
    /// ready wait at most [`MAX_HOLD`] for the rest of their batch, so a slow request never
    /// holds back the ones that finished.
    pub fn collect(&self) -> Vec<(usize, Option<StoqResponse>)> {
        let mut ready = self.lock();
        let mut since: Option<Instant> = None;
        while self.in_flight.load(Ordering::SeqCst) > 0 && ready.len() < self.wanted() {
            if ready.is_empty() {
                ready = self.wake.wait(ready).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let first = *since.get_or_insert_with(Instant::now);
            let Some(left) = MAX_HOLD.checked_sub(first.elapsed()) else {
                break;
            };
            ready = self
                .wake
                .wait_timeout(ready, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let taken = std::mem::take(&mut *ready);
        self.in_flight.fetch_sub(taken.len(), Ordering::SeqCst);
        taken
    }
}

/// Puts responses back in input order.
pub(crate) struct Reorder {
    next: usize,
    held: BTreeMap<usize, Option<StoqResponse>>,
}

impl Reorder {
    pub fn new() -> Self {
        Self {
            next: 0,
            held: BTreeMap::new(),
        }
    }

    /// Adds responses and hands over every one whose predecessors were all handed over.
    pub fn push(
        &mut self,
        responses: Vec<(usize, Option<StoqResponse>)>,
        mut out: impl FnMut(usize, StoqResponse),
    ) {
        self.held.extend(responses);
        while let Some(response) = self.held.remove(&self.next) {
            if let Some(response) = response {
                out(self.next, response);
            }
            self.next += 1;
        }
    }

    /// How many inputs were dealt with (responses handed over, or skipped).
    pub fn delivered(&self) -> usize {
        self.next
    }

    /// Finished responses waiting for an earlier one.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}
