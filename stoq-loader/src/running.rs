//! Which plugin each thread is inside of, readable from any thread and from a signal handler.
//!
//! The host marks every call into a plugin with [`enter`]. Two things read the marks:
//!
//! - the engine's watchdog, to name the plugin whose call ran past its timeout (a dispatch
//!   task asks several dispatchers in turn; the mark says which one is stuck);
//! - [`install_crash_report`]: when an in-process plugin crashes the host (a fatal signal) or
//!   calls `exit()`, stderr names the plugin(s) that were running and the host exits with one
//!   documented status, instead of dying silently.
//!
//! Each thread owns a [`ThreadRecord`] from a lock-free, append-only list (records of exited
//! threads are reused, so the list is as long as the most threads alive at once). Plugin names
//! are interned for the life of the process, so a record never points at freed memory.

use std::cell::Cell;
use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

/// A plugin name interned for the life of the process (cheap to copy, safe to read anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginName(&'static &'static str);

impl PluginName {
    /// The name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Interns `name`; the same name always gives the same [`PluginName`].
pub fn intern(name: &str) -> PluginName {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static &'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(found) = names.get(name) {
        return PluginName(found);
    }
    let text: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let interned: &'static &'static str = Box::leak(Box::new(text));
    names.insert(name.to_owned(), interned);
    PluginName(interned)
}

/// One thread's mark: the plugin it is calling, if any.
pub struct ThreadRecord {
    current: AtomicPtr<&'static str>,
    in_use: AtomicBool,
    next: AtomicPtr<ThreadRecord>,
}

impl ThreadRecord {
    /// The plugin this record's thread is inside of now.
    pub fn current(&self) -> Option<&'static str> {
        let name = self.current.load(Ordering::Acquire);
        // SAFETY: `current` only ever holds null or a pointer from `intern`, which is leaked
        // and never freed.
        unsafe { name.as_ref() }.copied()
    }
}

static HEAD: AtomicPtr<ThreadRecord> = AtomicPtr::new(ptr::null_mut());

thread_local! {
    /// This thread's record; a plain pointer, so a signal handler can read it.
    static RECORD: Cell<*const ThreadRecord> = const { Cell::new(ptr::null()) };
    /// Gives the record back when the thread exits.
    static RELEASE: Release = const { Release };
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        // The mark itself is left alone: a thread ends with no mark, except when a plugin
        // calls `exit()`, where glibc runs thread-local destructors *before* the atexit
        // handler that reports the plugin.
        let record = RECORD.with(Cell::get);
        // SAFETY: records are leaked, never freed.
        if let Some(record) = unsafe { record.as_ref() } {
            record.in_use.store(false, Ordering::Release);
        }
    }
}

fn records() -> impl Iterator<Item = &'static ThreadRecord> {
    let mut next = HEAD.load(Ordering::Acquire);
    std::iter::from_fn(move || {
        // SAFETY: records are leaked, never freed, and published fully built.
        let record = unsafe { next.as_ref() }?;
        next = record.next.load(Ordering::Acquire);
        Some(record)
    })
}

/// This thread's record (claimed on first use).
pub fn this_thread() -> &'static ThreadRecord {
    let found = RECORD.with(Cell::get);
    // SAFETY: records are leaked, never freed.
    if let Some(record) = unsafe { found.as_ref() } {
        return record;
    }
    let record = records()
        .find(|r| {
            r.in_use
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
        .unwrap_or_else(|| {
            let record: &'static ThreadRecord = Box::leak(Box::new(ThreadRecord {
                current: AtomicPtr::new(ptr::null_mut()),
                in_use: AtomicBool::new(true),
                next: AtomicPtr::new(ptr::null_mut()),
            }));
            let mut head = HEAD.load(Ordering::Acquire);
            loop {
                record.next.store(head, Ordering::Relaxed);
                let new = ptr::from_ref(record).cast_mut();
                match HEAD.compare_exchange(head, new, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => break record,
                    Err(now) => head = now,
                }
            }
        });
    RECORD.with(|r| r.set(record));
    // Registers the release at thread exit; where the thread-local is already gone (the
    // thread is exiting), the record simply stays claimed.
    let _ = RELEASE.try_with(|_| ());
    record
}

/// Marks this thread as inside `name` until the guard drops (the previous mark comes back,
/// so nested calls are fine).
pub fn enter(name: PluginName) -> CallGuard {
    let record = this_thread();
    let previous = record
        .current
        .swap(ptr::from_ref(name.0).cast_mut(), Ordering::AcqRel);
    CallGuard { record, previous }
}

/// Ends a mark made by [`enter`].
pub struct CallGuard {
    record: &'static ThreadRecord,
    previous: *mut &'static str,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.record.current.store(self.previous, Ordering::Release);
    }
}

/// Every plugin some thread is inside of now (a name once per thread calling it).
pub fn running() -> Vec<&'static str> {
    records().filter_map(ThreadRecord::current).collect()
}

static EXIT_STATUS: AtomicI32 = AtomicI32::new(3);

/// Makes a fatal signal (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGABRT`) raised while a
/// plugin runs in this process, and a plugin's call to `exit()`, end the host with
/// `exit_status` after one line on stderr naming the plugin on the crashing thread and every
/// other plugin that was running. A fatal signal outside plugin code keeps its default
/// behaviour (and Rust's stack-overflow report). A plugin calling `_exit` directly cannot be
/// seen. Call once, early in `main`.
#[cfg(unix)]
pub fn install_crash_report(exit_status: i32) {
    EXIT_STATUS.store(exit_status, Ordering::Relaxed);
    unix::install();
}

/// Does nothing on this platform.
#[cfg(not(unix))]
pub fn install_crash_report(exit_status: i32) {
    EXIT_STATUS.store(exit_status, Ordering::Relaxed);
}

#[cfg(unix)]
mod unix {
    use std::sync::OnceLock;
    use std::sync::atomic::Ordering;

    use super::{EXIT_STATUS, RECORD, ThreadRecord, records};

    const SIGNALS: [(libc::c_int, &str); 5] = [
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGABRT, "SIGABRT"),
    ];

    /// The handlers that were installed before ours (Rust's stack-overflow handler for
    /// `SIGSEGV`/`SIGBUS`), called when the signal did not come from plugin code.
    static PREVIOUS: OnceLock<Vec<(libc::c_int, libc::sigaction)>> = OnceLock::new();

    pub(super) fn install() {
        PREVIOUS.get_or_init(|| {
            let mut previous = Vec::new();
            for (signal, _) in SIGNALS {
                // SAFETY: a zeroed sigaction is a valid "no handler" value; sigaction is
                // called with valid pointers; the handler is async-signal-safe (it reads
                // atomics and thread-locals without initialisation, and calls write/_exit).
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_signal as *const () as usize;
                    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, &action, &mut old) == 0 {
                        previous.push((signal, old));
                    }
                }
            }
            // SAFETY: registering a plain `extern "C" fn()` with atexit.
            unsafe {
                libc::atexit(on_exit);
            }
            previous
        });
    }

    /// Writes `parts` to stderr with no allocation.
    fn say(parts: &[&[u8]]) {
        for part in parts {
            // SAFETY: writing a valid buffer to fd 2; errors are ignored (nothing to do).
            unsafe {
                libc::write(2, part.as_ptr().cast(), part.len());
            }
        }
    }

    fn number(mut n: u32, buffer: &mut [u8; 10]) -> &[u8] {
        let mut i = buffer.len();
        loop {
            i -= 1;
            buffer[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &buffer[i..];
            }
        }
    }

    /// This thread's record, if it has one (no allocation, no lazy initialisation).
    fn my_record() -> Option<&'static ThreadRecord> {
        let record = RECORD.try_with(|r| r.get()).ok()?;
        // SAFETY: records are leaked, never freed.
        unsafe { record.as_ref() }
    }

    /// The plugin on this thread, if any.
    fn mine() -> Option<&'static str> {
        my_record()?.current()
    }

    /// Names every plugin running on another thread, then ends the process.
    fn report_and_exit(what: &[&[u8]]) -> ! {
        say(what);
        let me = my_record().map_or(std::ptr::null(), std::ptr::from_ref);
        let mut others = records()
            .filter(|r| !std::ptr::eq(*r, me))
            .filter_map(|r| r.current())
            .peekable();
        if others.peek().is_some() {
            say(&[b"; also running on other threads:"]);
            for name in others {
                say(&[b" ", name.as_bytes()]);
            }
        }
        say(&[
            b"\nstoq: the host stopped. Run such a plugin with `isolation = \"process\"` to contain it.\n",
        ]);
        // SAFETY: ends the process at once, without running more (possibly broken) code.
        unsafe { libc::_exit(EXIT_STATUS.load(Ordering::Relaxed)) }
    }

    extern "C" fn on_signal(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        if let Some(name) = mine() {
            let label = SIGNALS
                .iter()
                .find(|(s, _)| *s == signal)
                .map_or("a fatal signal", |(_, l)| l);
            let mut buffer = [0; 10];
            report_and_exit(&[
                b"stoq: the in-process plugin `",
                name.as_bytes(),
                b"` crashed the host (signal ",
                number(signal as u32, &mut buffer),
                b", ",
                label.as_bytes(),
                b")",
            ]);
        }
        // Not from plugin code: the previous handler, or the default action.
        // A signal before `install` finished finds no previous handler: the default action.
        let previous = PREVIOUS
            .get()
            .and_then(|p| p.iter().find(|(s, _)| *s == signal).map(|(_, a)| *a));
        // SAFETY: the previous handler is called as it was installed (with or without
        // SA_SIGINFO) with the arguments we received; resetting to the default and raising
        // again is what the kernel would have done without us.
        unsafe {
            match previous {
                Some(old)
                    if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN =>
                {
                    if old.sa_flags & libc::SA_SIGINFO != 0 {
                        let handler: extern "C" fn(
                            libc::c_int,
                            *mut libc::siginfo_t,
                            *mut libc::c_void,
                        ) = std::mem::transmute(old.sa_sigaction);
                        handler(signal, info, context);
                    } else {
                        let handler: extern "C" fn(libc::c_int) =
                            std::mem::transmute(old.sa_sigaction);
                        handler(signal);
                    }
                }
                _ => {
                    libc::signal(signal, libc::SIG_DFL);
                    libc::raise(signal);
                }
            }
        }
    }

    extern "C" fn on_exit() {
        if let Some(name) = mine() {
            report_and_exit(&[
                b"stoq: the in-process plugin `",
                name.as_bytes(),
                b"` called exit() and ended the host",
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_nest_and_are_visible_from_other_threads() {
        let hash = intern("hash");
        assert_eq!(intern("hash"), hash);
        let record = this_thread();
        assert_eq!(record.current(), None);
        {
            let _outer = enter(hash);
            assert_eq!(record.current(), Some("hash"));
            {
                let _inner = enter(intern("yara"));
                assert_eq!(record.current(), Some("yara"));
                let seen = std::thread::spawn(running).join().unwrap();
                assert!(seen.contains(&"yara"), "{seen:?}");
            }
            assert_eq!(record.current(), Some("hash"));
        }
        assert_eq!(record.current(), None);
    }

    #[test]
    fn records_of_exited_threads_are_reused() {
        let before = records().count();
        for _ in 0..50 {
            std::thread::spawn(|| {
                let _mark = enter(intern("worker"));
            })
            .join()
            .unwrap();
        }
        // Every test thread that ran at once may hold one; 50 sequential ones reuse theirs.
        assert!(records().count() <= before + 8, "{}", records().count());
    }
}
