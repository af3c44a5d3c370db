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

/// About the longest a finished response waits for the rest of its batch (at most twice
/// this: one timed wait to see it, one to wait for the rest).
const MAX_HOLD: Duration = Duration::from_millis(20);

/// Where a request of a batch delivers its response (on the pool thread that finished it).
pub(crate) trait Deliver: Send + Sync {
    /// The response of input `index` (`None`: its input was skipped).
    fn deliver(&self, index: usize, response: Option<StoqResponse>);
}

/// Turns a response into what the caller collects, on the pool thread that finished it.
type Map<T> = Box<dyn Fn(StoqResponse) -> T + Send + Sync>;

/// Finished responses waiting for the caller, already mapped.
pub(crate) struct Completions<T> {
    map: Map<T>,
    ready: Mutex<Vec<(usize, Option<T>)>>,
    wake: Condvar,
    batch: usize,
    /// Submitted and not yet collected by the caller (an atomic, so submitting never waits
    /// for the threads delivering).
    in_flight: AtomicUsize,
}

impl<T: Send> Deliver for Completions<T> {
    fn deliver(&self, index: usize, response: Option<StoqResponse>) {
        let mapped = response.map(&self.map);
        let mut ready = self.lock();
        ready.push((index, mapped));
        // Only a whole batch wakes the caller; a partial one is found by its timed wait.
        if ready.len() >= self.wanted() {
            self.wake.notify_one();
        }
    }
}

impl<T: Send> Completions<T> {
    pub fn new(batch: usize, map: Map<T>) -> Self {
        Self {
            map,
            ready: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            batch: batch.max(1),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, Option<T>)>> {
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

    /// Waits for a batch (or for everything in flight), then takes it. Responses that are
    /// ready wait at most [`MAX_HOLD`] for the rest of their batch, so a slow request never
    /// holds back the ones that finished.
    pub fn collect(&self) -> Vec<(usize, Option<T>)> {
        let mut ready = self.lock();
        // When the first response of this batch was seen (by a timed wake-up, so a delivery
        // never has to wake this thread for less than a whole batch).
        let mut since: Option<Instant> = None;
        while self.in_flight.load(Ordering::SeqCst) > 0 && ready.len() < self.wanted() {
            let wait = match since {
                None if ready.is_empty() => MAX_HOLD,
                None => {
                    since = Some(Instant::now());
                    MAX_HOLD
                }
                Some(first) => match MAX_HOLD.checked_sub(first.elapsed()) {
                    Some(left) => left,
                    None => break,
                },
            };
            ready = self
                .wake
                .wait_timeout(ready, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let taken = std::mem::take(&mut *ready);
        self.in_flight.fetch_sub(taken.len(), Ordering::SeqCst);
        taken
    }
}

/// Puts responses back in input order.
pub(crate) struct Reorder<T> {
    next: usize,
    held: BTreeMap<usize, Option<T>>,
}

impl<T> Reorder<T> {
    pub fn new() -> Self {
        Self {
            next: 0,
            held: BTreeMap::new(),
        }
    }

    /// Adds responses and hands over every one whose predecessors were all handed over.
    pub fn push(&mut self, responses: Vec<(usize, Option<T>)>, mut out: impl FnMut(usize, T)) {
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
