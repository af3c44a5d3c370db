//! `stoq run`: scan what providers feed until every provider is done or a signal arrives.
//!
//! Threads and tasks:
//! - one thread per provider runs its `ingest`; its [`Intake`] sink takes an in-flight slot
//!   (blocking while the host is full), resolves source-archiver tasks, and hands the item to
//!   the engine's pool (one hand-off per item);
//! - the engine calls back on a pool thread when every connector has handled the response;
//!   the callback ends the item there (bookkeeping and a channel send, nothing that blocks),
//!   or hands the response to the printer thread when there are no connectors;
//! - the signals, the grace timer and the bounded drain run on a small tokio runtime;
//! - one thread per provider delivers its items' outcomes (plugin calls never run on tokio's
//!   threads).

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use stoq_core::{Engine, Finished, PluginHandle, RequestMeta, Role, Submission};
use stoq_loader::{CallError, ItemSink, ProvidedItem};
use stoq_plugin_abi::{ItemOutcome, ItemStatus, PayloadMeta};
use tokio::sync::Notify;

use crate::cli::{Format, RunArgs};
use crate::commands::{self, write_json};

/// In-flight slots shared by every provider: `put` blocks while they are all taken.
struct Slots {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
    stopping: AtomicBool,
}

impl Slots {
    /// Takes a slot, waiting while none is free; `false` once the host is stopping.
    fn acquire(&self) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.stopping.load(Ordering::Acquire) {
                return false;
            }
            if *used < self.max {
                *used += 1;
                return true;
            }
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Frees a slot; returns how many are still taken.
    fn release(&self) -> usize {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(1);
        self.freed.notify_one();
        *used
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        let _guard = self.used.lock().unwrap_or_else(|e| e.into_inner());
        self.freed.notify_all();
    }
}

/// A provider of this run.
struct ProviderRun {
    name: String,
    handle: Arc<PluginHandle>,
    /// To its outcome thread; `None` once the run has ended.
    outcomes: Mutex<Option<mpsc::Sender<ItemOutcome>>>,
}

impl ProviderRun {
    fn send(&self, outcome: ItemOutcome) {
        if let Some(tx) = &*self.outcomes.lock().unwrap_or_else(|e| e.into_inner()) {
            // The thread ends only after `close`.
            let _ = tx.send(outcome);
        }
    }

    /// No more outcomes: the outcome thread delivers what it has and ends.
    fn close(&self) {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

/// An item taken from a provider and not finished yet.
struct InFlight {
    provider: usize,
    id: String,
}

/// What every provider thread, the completion callbacks and the main loop share.
struct Shared {
    engine: Engine,
    request_meta: RequestMeta,
    source_archivers: HashMap<String, Arc<PluginHandle>>,
    providers: Vec<ProviderRun>,
    slots: Slots,
    in_flight: Mutex<HashMap<u64, InFlight>>,
    next_seq: AtomicU64,
    /// Providers whose `ingest` has not returned.
    ingesting: AtomicU64,
    /// Without connectors: the printer thread, which prints each response, then ends its item.
    printer: Option<mpsc::Sender<(u64, Finished)>>,
    /// Woken when an item finishes or a provider returns.
    progress: Notify,
}

impl Shared {
    /// No item taken and unfinished. Counted by slots, which a `put` takes before it
    /// records its item, so an item being put is never missed.
    fn idle(&self) -> bool {
        *self.slots.used.lock().unwrap_or_else(|e| e.into_inner()) == 0
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<u64, InFlight>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends item `seq`: frees its slot and tells its provider. Nothing happens when it has
    /// already ended (handed back at shutdown before its scan finished).
    fn end(&self, seq: u64, status: ItemStatus, error: Option<String>, scan_id: Option<String>) {
        let Some(item) = self.lock_in_flight().remove(&seq) else {
            return;
        };
        let still_taken = self.slots.release();
        let mut outcome = ItemOutcome::new(item.id, status);
        outcome.error = error;
        outcome.scan_id = scan_id;
        self.providers[item.provider].send(outcome);
        // The main loop only cares when the host becomes idle.
        if still_taken == 0 {
            self.progress.notify_one();
        }
    }
}

/// The sink one provider puts into.
struct Intake {
    shared: Arc<Shared>,
    provider: usize,
}

impl Intake {
    fn name(&self) -> &str {
        &self.shared.providers[self.provider].name
    }

    /// The payload a source-archiver task names, or why there is none.
    fn resolve(&self, task: &serde_json::Value) -> Result<(bytes::Bytes, PayloadMeta), String> {
        let Some(object) = task.as_object().filter(|o| o.len() == 1) else {
            return Err(format!(
                "a task names exactly one source archiver, as {{\"archiver\": {{..}}}}: {task}"
            ));
        };
        let (archiver, task_meta) = object.iter().next().expect("one entry");
        let Some(handle) = self.shared.source_archivers.get(archiver) else {
            return Err(format!(
                "the task names `{archiver}`, which is not a source archiver of this run (-S)"
            ));
        };
        match handle.get(task_meta) {
            Ok(Some(found)) => Ok((found.content, found.payload_meta)),
            Ok(None) => Err(format!(
                "source archiver `{archiver}` found nothing for the task {task_meta}"
            )),
            Err(e) => {
                tracing::error!(archiver = archiver.as_str(), "source archiver failed: {e}");
                Err(format!("source archiver `{archiver}` failed: {e}"))
            }
        }
    }
}

impl ItemSink for Intake {
    fn put(&self, item: Result<ProvidedItem, CallError>) -> bool {
        let shared = &self.shared;
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                tracing::error!(provider = self.name(), "item rejected: {e}");
                return !shared.slots.stopping.load(Ordering::Acquire);
            }
        };
        if !shared.slots.acquire() {
            return false;
        }
        let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
        let id = item
            .id
            .clone()
            .unwrap_or_else(|| format!("{}:{seq}", self.name()));
        shared.lock_in_flight().insert(
            seq,
            InFlight {
                provider: self.provider,
                id,
            },
        );
        let (content, payload_meta) = match &item.task {
            None => (item.content, item.payload_meta),
            Some(task) => match self.resolve(task) {
                Ok((content, mut meta)) => {
                    // The provider's extra data, under what the archiver found.
                    for (key, value) in item.payload_meta.extra_data {
                        meta.extra_data.entry(key).or_insert(value);
                    }
                    meta.dispatch_to.extend(item.payload_meta.dispatch_to);
                    (content, meta)
                }
                Err(reason) => {
                    tracing::error!(provider = self.name(), "item not scanned: {reason}");
                    shared.end(seq, ItemStatus::Failed, Some(reason), None);
                    return true;
                }
            },
        };
        let submission = Submission {
            content,
            payload_meta,
            request_meta: item
                .request_meta
                .unwrap_or_else(|| shared.request_meta.clone()),
            scan_id: item.scan_id,
        };
        let callback_shared = Arc::clone(&self.shared);
        shared.engine.submit_with(submission, move |done| {
            match &callback_shared.printer {
                // The printer lives as long as the process.
                Some(printer) => drop(printer.send((seq, done))),
                None => finish(&callback_shared, seq, done, None),
            }
        });
        true
    }
}

fn outcome_thread(name: String, handle: Arc<PluginHandle>, outcomes: mpsc::Receiver<ItemOutcome>) {
    let mut wanted = true;
    for outcome in outcomes {
        if !wanted {
            continue;
        }
        match handle.provider_outcome(&outcome) {
            Ok(true) => {}
            // A provider built before outcomes existed: nothing to tell it.
            Ok(false) => {
                tracing::debug!(provider = name.as_str(), "the provider takes no outcomes");
                wanted = false;
            }
            Err(e) => tracing::error!(provider = name.as_str(), "outcome hook failed: {e}"),
        }
    }
    // The run is over and every outcome delivered.
    if let Err(e) = handle.provider_stop() {
        tracing::error!(provider = name.as_str(), "stop hook failed: {e}");
    }
}

/// Ends a finished item: done when every connector (and, without connectors, stdout) took
/// its response, failed otherwise.
fn finish(shared: &Shared, seq: u64, done: Finished, print_error: Option<String>) {
    let mut reasons: Vec<String> = done
        .connector_errors
        .iter()
        .map(|e| match &e.plugin_name {
            Some(name) => format!("{name}: {}", e.error),
            None => e.error.clone(),
        })
        .collect();
    reasons.extend(print_error);
    let (status, error) = if reasons.is_empty() {
        (ItemStatus::Done, None)
    } else {
        (ItemStatus::Failed, Some(reasons.join("; ")))
    };
    shared.end(seq, status, error, Some(done.response.scan_id));
}

/// Without connectors: prints each response as one line, then ends its item (a response
/// that could not be written fails its item). A thread of its own, so a slow reader of
/// stdout never delays the signals.
fn printer(shared: Arc<Shared>, responses: mpsc::Receiver<(u64, Finished)>) {
    let stdout = std::io::stdout();
    for (seq, done) in responses {
        let mut out = stdout.lock();
        let written =
            write_json(&mut out, &done.response, Format::Ndjson).and_then(|()| Ok(out.flush()?));
        drop(out);
        let error = written.err().map(|e| {
            tracing::error!("cannot write a response to stdout: {e:#}");
            format!("cannot write the response to stdout: {e:#}")
        });
        finish(&shared, seq, done, error);
    }
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    if args.providers.is_empty() {
        bail!("stoq run needs at least one provider (-P NAME); `stoq list` shows them");
    }
    let max_in_flight = args.max_in_flight.unwrap_or(128);
    if max_in_flight == 0 {
        bail!("--max-in-flight: expected at least 1");
    }
    let grace =
        commands::seconds(args.grace_period, "--grace-period")?.unwrap_or(Duration::from_secs(30));
    let (engine, request_meta) = commands::engine(&args.scan)?;
    let mut problems = Vec::new();
    let mut start = |name: &str, role: Role| match engine.registry().instance(name, role) {
        Ok(handle) => Some(handle),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let provider_handles: Vec<_> = args
        .providers
        .iter()
        .filter_map(|name| Some((name.clone(), start(name, Role::Provider)?)))
        .collect();
    let source_archivers: HashMap<_, _> = args
        .source_archivers
        .iter()
        .filter_map(|name| Some((name.clone(), start(name, Role::Archiver)?)))
        .collect();
    if !problems.is_empty() {
        bail!("{}", problems.join("\n  "));
    }
    let print = engine.settings().connectors.is_empty();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    let (printer_tx, printer_rx) = mpsc::channel();
    let mut outcome_threads = Vec::new();
    let mut providers = Vec::new();
    for (name, handle) in provider_handles {
        let (tx, rx) = mpsc::channel();
        let (thread_name, thread_handle) = (name.clone(), Arc::clone(&handle));
        outcome_threads.push(
            std::thread::Builder::new()
                .name(format!("outcomes-{name}"))
                .spawn(move || outcome_thread(thread_name, thread_handle, rx))
                .context("cannot start a thread")?,
        );
        providers.push(ProviderRun {
            name,
            handle,
            outcomes: Mutex::new(Some(tx)),
        });
    }
    let shared = Arc::new(Shared {
        engine,
        request_meta,
        source_archivers,
        ingesting: AtomicU64::new(providers.len() as u64),
        providers,
        slots: Slots {
            max: max_in_flight,
            used: Mutex::new(0),
            freed: Condvar::new(),
            stopping: AtomicBool::new(false),
        },
        in_flight: Mutex::new(HashMap::new()),
        next_seq: AtomicU64::new(0),
        printer: print.then_some(printer_tx),
        progress: Notify::new(),
    });
    // Signals are handled from here on, before any item is taken.
    let signals = runtime.block_on(async { Signals::new() })?;
    let provider_failed = Arc::new(AtomicBool::new(false));
    for index in 0..shared.providers.len() {
        let (shared, failed) = (Arc::clone(&shared), Arc::clone(&provider_failed));
        let name = shared.providers[index].name.clone();
        std::thread::Builder::new()
            .name(format!("provider-{name}"))
            .spawn(move || {
                let provider = &shared.providers[index];
                let outcome = provider
                    .handle
                    .provider_start(shared.slots.max)
                    .and_then(|()| {
                        provider.handle.ingest(&Intake {
                            shared: Arc::clone(&shared),
                            provider: index,
                        })
                    });
                if let Err(e) = outcome {
                    tracing::error!(provider = provider.name.as_str(), "provider failed: {e}");
                    failed.store(true, Ordering::Relaxed);
                }
                shared.ingesting.fetch_sub(1, Ordering::AcqRel);
                shared.progress.notify_one();
            })
            .context("cannot start a thread")?;
    }

    if print {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || printer(shared, printer_rx))
            .context("cannot start a thread")?;
    }
    let mut signals = signals;
    runtime.block_on(main_loop(&shared, &mut signals, grace))?;

    // Hand back what is still in flight (after a signal and the grace period).
    let left: Vec<u64> = shared.lock_in_flight().keys().copied().collect();
    if !left.is_empty() {
        tracing::warn!(
            "handing back {} unfinished items to their providers",
            left.len()
        );
    }
    for seq in left {
        shared.end(
            seq,
            ItemStatus::Returned,
            Some("stoq run was stopped before the item finished".into()),
            None,
        );
    }
    // Outcome threads end once their senders are gone; providers still inside `ingest` are
    // not waited for (they were told to stop). Delivering the outcomes left is bounded, and a
    // signal still ends it at once.
    for provider in &shared.providers {
        provider.close();
    }
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("drain".into())
        .spawn(move || {
            for thread in outcome_threads {
                let _ = thread.join();
            }
            let _ = drained_tx.send(());
        })
        .context("cannot start a thread")?;
    runtime.block_on(async {
        tokio::select! {
            _ = drained_rx => {}
            name = signals.next() => {
                tracing::warn!("{name} while delivering outcomes: exiting now");
                let _ = std::io::stdout().flush();
                std::process::exit(130);
            }
            () = tokio::time::sleep(grace.max(Duration::from_secs(5))) => {
                tracing::warn!("providers took too long to take their outcomes; exiting");
            }
        }
    });
    // A failed write was already reported, and failed its item.
    let _ = std::io::stdout().flush();
    Ok(if provider_failed.load(Ordering::Relaxed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The next SIGINT or SIGTERM (Ctrl-C elsewhere), by name.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Waits until every provider returned and every item finished, or for a signal and then
/// the grace period; a second signal exits at once.
async fn main_loop(shared: &Shared, signals: &mut Signals, grace: Duration) -> Result<()> {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let done =
            shared.idle() && (deadline.is_some() || shared.ingesting.load(Ordering::Acquire) == 0);
        if done {
            return Ok(());
        }
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            name = signals.next() => {
                if deadline.is_some() {
                    tracing::warn!("{name} again: exiting now");
                    let _ = std::io::stdout().flush();
                    std::process::exit(130);
                }
                tracing::warn!(
                    "{name}: taking no more items; finishing {} in flight (up to {} s; again to exit now)",
                    shared.lock_in_flight().len(),
                    grace.as_secs_f64()
                );
                shared.slots.stop();
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = expired => return Ok(()),
            () = shared.progress.notified() => {}
            // Items may finish between the check and the wait; look again now and then.
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
