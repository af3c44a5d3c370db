//! The threads that run tasks, and the watchdog that enforces timeouts.
//!
//! Each worker thread keeps the tasks its own completions made ready in a local stack and runs
//! them next, so a chain of cheap workers on one payload never hands work to another thread;
//! it shares extra tasks through the global queue only while some thread is idle.
//!
//! A plugin call cannot be interrupted in-process. When a task runs past its timeout, the
//! watchdog *abandons* it: the request records the timeout and goes on, a new thread replaces
//! the stuck one, and whatever the stuck call eventually returns is dropped (its thread then
//! exits). A hung plugin therefore costs a thread, never the scan: the tasks the stuck thread
//! had taken for later (its local stack) are handed back to the queue at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use stoq_loader::running::{self, ThreadRecord};

use super::request::{Request, Start, Task, TaskKind};

/// How often the watchdog looks at running tasks.
const WATCH_INTERVAL: Duration = Duration::from_millis(5);
/// Abandoned threads that may still be stuck in plugin code before the pool stops replacing
/// them (then capacity shrinks instead of threads piling up).
const MAX_STUCK_PER_JOB: usize = 8;
/// The most tasks a thread takes from the global queue at once.
const GRAB: usize = 16;

struct Running {
    request: Arc<Request>,
    kind: TaskKind,
    timeout: Duration,
    deadline: Instant,
}

/// What one worker thread is doing and holds, visible to the watchdog. The watchdog abandons
/// a task by taking it out of the slot, with the thread's local stack; the thread finds the
/// slot empty when the call returns, drops the result and exits.
struct Slot {
    state: Mutex<SlotState>,
    /// The thread's mark: which plugin it is inside of (set when the thread starts).
    calls: OnceLock<&'static ThreadRecord>,
}

#[derive(Default)]
struct SlotState {
    running: Option<Running>,
    /// Tasks this thread made ready or took from the queue, run next (last in, first out).
    local: Vec<Job>,
}

/// What the pool runs: a task of a request, or the start of a new request (created on a pool
/// thread, so its memory is allocated and freed on the threads that work on it).
pub(crate) enum Job {
    Run(Task),
    Start(Box<Start>),
}

struct Queue {
    tasks: VecDeque<Job>,
    shutdown: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    available: Condvar,
    idle: AtomicUsize,
    slots: Mutex<Vec<Arc<Slot>>>,
    requests: Mutex<Vec<Weak<Request>>>,
    stuck: AtomicUsize,
    jobs: usize,
    watchdog: (Mutex<bool>, Condvar),
}

/// A fixed set of worker threads plus a watchdog.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// Starts `jobs` worker threads and the watchdog.
    pub fn new(jobs: usize) -> Self {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                shutdown: false,
            }),
            available: Condvar::new(),
            idle: AtomicUsize::new(0),
            slots: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            stuck: AtomicUsize::new(0),
            jobs,
            watchdog: (Mutex::new(false), Condvar::new()),
        });
        for _ in 0..jobs {
            Inner::spawn_worker(&inner);
        }
        let watchdog = Arc::clone(&inner);
        std::thread::Builder::new()
            .name("stoq-watchdog".into())
            .spawn(move || watchdog.watch())
            .expect("cannot start the stoq watchdog thread");
        Self { inner }
    }

    /// Queues tasks (from outside the pool).
    pub fn submit(&self, request: &Arc<Request>, tasks: Vec<Task>) {
        self.inner.watch_deadline(request);
        self.inner.push(tasks.into_iter().map(Job::Run));
    }

    /// Queues new requests with one lock of the queue.
    pub fn start_many(&self, starts: impl IntoIterator<Item = Start>) {
        self.inner
            .push(starts.into_iter().map(|s| Job::Start(Box::new(s))));
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.inner.queue).shutdown = true;
        self.inner.available.notify_all();
        *lock(&self.inner.watchdog.0) = true;
        self.inner.watchdog.1.notify_all();
    }
}

impl Inner {
    fn spawn_worker(inner: &Arc<Self>) {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::default()),
            calls: OnceLock::new(),
        });
        lock(&inner.slots).push(Arc::clone(&slot));
        let worker = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("stoq-worker".into())
            .spawn(move || worker.work(&slot));
        if let Err(e) = spawned {
            tracing::error!("cannot start a stoq worker thread: {e}");
        }
    }

    fn watch_deadline(&self, request: &Arc<Request>) {
        if request.deadline.is_some() {
            let mut requests = lock(&self.requests);
            requests.retain(|r| r.strong_count() > 0);
            requests.push(Arc::downgrade(request));
        }
    }

    fn push(&self, tasks: impl IntoIterator<Item = Job>) {
        let mut queue = lock(&self.queue);
        let before = queue.tasks.len();
        queue.tasks.extend(tasks);
        let added = queue.tasks.len() - before;
        // Waiting threads count themselves idle under this lock, so this is exact: a wake-up
        // (a system call) only when a thread sleeps.
        let idle = self.idle.load(Ordering::SeqCst);
        drop(queue);
        match (added, idle) {
            (0, _) | (_, 0) => {}
            (1, _) => self.available.notify_one(),
            _ => self.available.notify_all(),
        }
    }

    /// Moves the next global tasks into `local`, waiting for one; `false` at shutdown. Takes a
    /// share of the queue (up to [`GRAB`]) per lock, so threads do not convoy on it when tasks
    /// are short.
    fn pop_into(&self, local: &mut Vec<Job>) -> bool {
        let mut queue = lock(&self.queue);
        loop {
            if !queue.tasks.is_empty() {
                let share = (queue.tasks.len() / (self.jobs * 2)).clamp(1, GRAB);
                // Reversed, so the local stack pops them in queue order.
                let taken: Vec<Job> = queue.tasks.drain(..share).collect();
                local.extend(taken.into_iter().rev());
                return true;
            }
            if queue.shutdown {
                return false;
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
            queue = self
                .available
                .wait(queue)
                .unwrap_or_else(|e| e.into_inner());
            self.idle.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn work(self: Arc<Self>, slot: &Arc<Slot>) {
        let _ = slot.calls.set(running::this_thread());
        let mut taken = Vec::new();
        loop {
            let mut state = lock(&slot.state);
            if state.local.is_empty() {
                drop(state);
                if !self.pop_into(&mut taken) {
                    return;
                }
                state = lock(&slot.state);
                state.local.append(&mut taken);
            }
            let task = match state.local.pop() {
                Some(Job::Run(task)) => task,
                Some(Job::Start(start)) => {
                    drop(state);
                    let Some((request, tasks)) = Request::start_job(*start) else {
                        continue;
                    };
                    self.watch_deadline(&request);
                    lock(&slot.state)
                        .local
                        .extend(tasks.into_iter().map(Job::Run));
                    continue;
                }
                None => continue,
            };
            if task.request.is_finished() {
                drop(state);
                task.request.skip();
                continue;
            }
            state.running = Some(Running {
                request: Arc::clone(&task.request),
                kind: task.kind.clone(),
                timeout: task.timeout,
                deadline: Instant::now() + task.timeout,
            });
            drop(state);
            let outcome = task.request.execute(&task.kind);
            let mut state = lock(&slot.state);
            if state.running.take().is_none() {
                // The watchdog abandoned this task, took the local stack and replaced this
                // thread.
                drop(state);
                self.stuck.fetch_sub(1, Ordering::SeqCst);
                self.retire(slot);
                return;
            }
            // Lock order: slot, then request (the watchdog never holds both).
            let ready = task.request.complete(outcome);
            state.local.extend(ready.into_iter().map(Job::Run));
            if state.local.len() > 1 && self.idle.load(Ordering::SeqCst) > 0 {
                let keep = state.local.pop();
                let shared: Vec<Job> = state.local.drain(..).collect();
                state.local.extend(keep);
                drop(state);
                self.push(shared);
            }
        }
    }

    fn retire(&self, slot: &Arc<Slot>) {
        lock(&self.slots).retain(|s| !Arc::ptr_eq(s, slot));
    }

    /// Takes the task out of `slot` (so its thread drops the result) with the plugin the
    /// thread is stuck in, queues the thread's local stack for the others, replaces the
    /// thread, and returns the task.
    fn abandon(self: &Arc<Self>, slot: &Arc<Slot>) -> Option<(Running, Option<&'static str>)> {
        let (running, local) = {
            let mut state = lock(&slot.state);
            let running = state.running.take()?;
            (running, std::mem::take(&mut state.local))
        };
        let plugin = slot.calls.get().and_then(|c| c.current());
        self.push(local);
        let stuck = self.stuck.fetch_add(1, Ordering::SeqCst) + 1;
        if stuck <= self.jobs * MAX_STUCK_PER_JOB {
            Self::spawn_worker(self);
        } else {
            tracing::error!(
                stuck,
                "too many plugin calls are stuck past their timeout; not replacing their threads"
            );
        }
        Some((running, plugin))
    }

    fn watch(self: Arc<Self>) {
        loop {
            {
                let stop = lock(&self.watchdog.0);
                let (stop, _) = self
                    .watchdog
                    .1
                    .wait_timeout(stop, WATCH_INTERVAL)
                    .unwrap_or_else(|e| e.into_inner());
                if *stop {
                    return;
                }
            }
            let now = Instant::now();
            let slots: Vec<Arc<Slot>> = lock(&self.slots).clone();

            // Requests past their own deadline: send what they have, abandon their tasks.
            let expired: Vec<Arc<Request>> = {
                let mut requests = lock(&self.requests);
                requests.retain(|r| r.strong_count() > 0);
                requests
                    .iter()
                    .filter_map(Weak::upgrade)
                    .filter(|r| !r.is_finished() && r.deadline.is_some_and(|d| d <= now))
                    .collect()
            };
            for request in &expired {
                request.expire();
                for slot in &slots {
                    let mine = lock(&slot.state)
                        .running
                        .as_ref()
                        .is_some_and(|r| Arc::ptr_eq(&r.request, request));
                    if mine {
                        self.abandon(slot);
                    }
                }
            }

            for slot in &slots {
                let late = lock(&slot.state)
                    .running
                    .as_ref()
                    .is_some_and(|r| r.deadline <= now);
                if !late {
                    continue;
                }
                if let Some((running, plugin)) = self.abandon(slot) {
                    let tasks = running
                        .request
                        .abandon(running.kind, running.timeout, plugin);
                    self.push(tasks.into_iter().map(Job::Run));
                }
            }
        }
    }
}
