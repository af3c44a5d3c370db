//! Plugins with `isolation = "process"`: the same library, run in helper processes.
//!
//! Each helper is `<helper executable> plugin-host LIBRARY` (the `stoq` binary), talking over a
//! Unix socket pair whose other end is the helper's standard input; the helper's standard
//! output goes to stoq's standard error, so nothing a plugin prints can corrupt the frames.
//! A call that runs past the plugin's timeout kills its helper; a helper that dies (a
//! segfault, an abort, running out of memory) fails only the call it was serving. Idle
//! helpers are kept for the next call, so the process start is paid once per concurrent call.
//!
//! A call sends the payload's id and bytes; what the plugin asks of its context (payload or
//! request metadata, worker results, the request's payloads...) is asked of stoq over the same
//! socket while the call runs, and only then (see `wire.rs`), so a call costs the same in a
//! request of ten payloads or of ten thousand.
//!
//! Options stoq reads for isolated plugins, besides `timeout`:
//! - `isolation = "process"`: run the plugin in helpers (workers and dispatchers only).
//! - `isolation_memory = BYTES` (an integer, or a string with a `K`, `M`, `G` or `T`
//!   suffix, e.g. `"512M"`): each helper limits its own address space (`RLIMIT_AS`) to that
//!   before loading the library, so a runaway plugin fails its allocation and its helper dies
//!   alone; the call's error says the helper most likely exceeded its memory limit, and a
//!   fresh helper serves the next call. Address space counts mappings, not resident memory:
//!   leave room for the library and its threads' stacks (tens of MiB). Unset: no limit.
//!
//! Everything a helper sends is checked: a field over 1 GiB + 1 MiB (`wire::MAX_FIELD`; for
//! an extracted payload, over the request's `max_payload_size`), a malformed frame or result
//! kills that helper and fails the call with an error naming the plugin.

mod memory;
mod reply;
mod serve;
mod wire;

use std::io::{BufReader, BufWriter, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use stoq_loader::{CallError, CallErrorKind, QueryContext, WorkerOutput};
use stoq_plugin_abi::DispatcherResponse;

use memory::{MEMORY_OPTION, memory_option};
use reply::{decode, read_error};
pub use serve::serve;
use wire::*;

use crate::timeout::WorkerTimeout;

/// Socket buffers: large enough that a payload is not sent in 8 KiB pieces.
const BUFFER: usize = 1 << 16;

struct Helper {
    child: Child,
    reader: BufReader<Timed>,
    writer: BufWriter<Timed>,
}

impl Helper {
    /// Makes every read and write of this exchange fail once `deadline` has passed.
    fn set_deadline(&mut self, deadline: Instant) {
        self.reader.get_mut().deadline = Some(deadline);
        self.writer.get_mut().deadline = Some(deadline);
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plugin served by helper processes.
pub struct ProcessPlugin {
    name: String,
    helper_exe: PathBuf,
    library: PathBuf,
    options: String,
    timeout: WorkerTimeout,
    /// `isolation_memory`, in bytes.
    memory_limit: Option<u64>,
    idle: Mutex<Vec<Helper>>,
    /// The workers this plugin requires (from the first helper's config hook).
    pub required_workers: Vec<String>,
}

fn failed(kind: CallErrorKind, message: String) -> CallError {
    CallError { kind, message }
}

impl ProcessPlugin {
    /// Starts a first helper and runs the plugin's config hook in it.
    pub fn start(
        name: &str,
        helper_exe: &Path,
        library: &Path,
        options: &Map<String, Value>,
        timeout: impl Into<WorkerTimeout>,
    ) -> Result<Self, CallError> {
        let timeout = timeout.into();
        let memory_limit = memory_option(options).map_err(|e| failed(CallErrorKind::Config, e))?;
        // stoq's option, not the plugin's (the plugin would call it unused).
        let mut options = options.clone();
        options.remove(MEMORY_OPTION);
        let mut plugin = Self {
            name: name.to_owned(),
            helper_exe: helper_exe.to_owned(),
            library: library.to_owned(),
            // What the helper hands the library's config hook: which plugin, which options.
            options: serde_json::to_string(&stoq_plugin_abi::wire::InstanceConfig::new(
                name, options,
            ))
            .unwrap_or_default(),
            timeout,
            memory_limit,
            idle: Mutex::new(Vec::new()),
            required_workers: Vec::new(),
        };
        let (helper, required_workers) = plugin.spawn()?;
        plugin.required_workers = required_workers;
        plugin
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(helper);
        Ok(plugin)
    }

    /// Starts a helper and initialises the plugin in it; returns its required workers.
    fn spawn(&self) -> Result<(Helper, Vec<String>), CallError> {
        let start_error = |e: std::io::Error| {
            failed(
                CallErrorKind::Failed,
                format!(
                    "cannot start a helper process for plugin `{}`: {e}",
                    self.name
                ),
            )
        };
        let (ours, theirs) = UnixStream::pair().map_err(start_error)?;
        let stdout: OwnedFd = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(start_error)?;
        let child = Command::new(&self.helper_exe)
            .arg("plugin-host")
            .arg(&self.library)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(start_error)?;
        let timed = |stream| Timed {
            stream,
            deadline: None,
        };
        let mut helper = Helper {
            child,
            reader: BufReader::with_capacity(BUFFER, timed(ours.try_clone().map_err(start_error)?)),
            writer: BufWriter::with_capacity(BUFFER, timed(ours)),
        };
        helper.set_deadline(Instant::now() + self.timeout.duration);
        let answer = (|| {
            put_u8(&mut helper.writer, OP_INIT)?;
            put_str(&mut helper.writer, &self.options)?;
            put_u64(&mut helper.writer, self.memory_limit.unwrap_or(0))?;
            helper.writer.flush()?;
            let r = &mut helper.reader;
            match get_u8(r)? {
                STATUS_OK => {}
                STATUS_ERR => return Ok(Err(read_error(r)?)),
                other => return Err(invalid(format!("a reply starting with byte {other}"))),
            }
            let facts: reply::Facts =
                decode(&get_str(r, MAX_FIELD, "instance facts")?, "instance facts")?;
            let required = facts.required_workers;
            Ok(Ok(required))
        })();
        match answer {
            Ok(Ok(required)) => Ok((helper, required)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(self.lost(helper, &e)),
        }
    }

    /// Describes why a helper stopped answering (a timeout, a bad frame, its death), and
    /// makes sure it is gone.
    fn lost(&self, mut helper: Helper, e: &std::io::Error) -> CallError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                let _ = helper.child.kill();
                return failed(
                    CallErrorKind::TimedOut,
                    format!(
                        "still running after {} s ({}); its helper process was killed",
                        self.timeout.duration.as_secs_f64(),
                        self.timeout.source
                    ),
                );
            }
            std::io::ErrorKind::InvalidData => {
                let _ = helper.child.kill();
                return failed(
                    CallErrorKind::Failed,
                    format!(
                        "the helper process running plugin `{}` sent {e}; it was killed and a new one serves the next call",
                        self.name
                    ),
                );
            }
            _ => {}
        }
        // The socket closed: the helper is dying. Give it a moment to be reaped; one that
        // closed its socket but lives on is killed.
        let give_up = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match helper.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break None,
            }
        };
        let how = match status {
            Some(s) => match s.signal() {
                Some(signal) => {
                    let mut how = format!("was killed by signal {signal}");
                    // Allocation failures abort (SIGABRT); a kernel's or a supervisor's OOM
                    // killer sends SIGKILL.
                    if let Some(limit) = self.memory_limit
                        && matches!(signal, 6 | 9)
                    {
                        how.push_str(&format!(
                            ", most likely because it exceeded its memory limit (`{MEMORY_OPTION}` = {limit} bytes)"
                        ));
                    }
                    how
                }
                None => format!("exited with {s}"),
            },
            None => format!("stopped answering ({e})"),
        };
        failed(
            CallErrorKind::Crashed,
            format!(
                "the helper process running plugin `{}` {how}; a new one serves the next call",
                self.name
            ),
        )
    }

    /// Runs one call on an idle helper (or a new one): sends the payload, answers the
    /// plugin's context queries until the helper replies, then `read`s the reply. A helper
    /// that fails is dropped.
    fn call<T>(
        &self,
        op: u8,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
        read: impl FnOnce(&mut BufReader<Timed>) -> std::io::Result<T>,
    ) -> Result<T, CallError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut helper = match idle {
            Some(helper) => helper,
            None => self.spawn()?.0,
        };
        helper.set_deadline(Instant::now() + self.timeout.duration);
        let mut context_bytes = 0usize;
        let mut queries = 0usize;
        let answer = (|| {
            let w = &mut helper.writer;
            put_u8(w, op)?;
            put_str(w, payload_id)?;
            put_bytes(w, content)?;
            w.flush()?;
            loop {
                match get_u8(&mut helper.reader)? {
                    MSG_QUERY => {
                        let key = get_str(&mut helper.reader, MAX_KEY, "a context key")?;
                        let w = &mut helper.writer;
                        match context.query(&key) {
                            Some(json) => {
                                put_u8(w, 1)?;
                                put_str(w, &json)?;
                                context_bytes += json.len();
                            }
                            None => put_u8(w, 0)?,
                        }
                        w.flush()?;
                        queries += 1;
                    }
                    STATUS_OK => return read(&mut helper.reader).map(Ok),
                    STATUS_ERR => return Ok(Err(read_error(&mut helper.reader)?)),
                    other => {
                        return Err(invalid(format!("a reply starting with byte {other}")));
                    }
                }
            }
        })();
        tracing::debug!(
            target: "stoq::isolation",
            plugin = %self.name,
            content_bytes = content.len(),
            context_bytes,
            queries,
            "isolated call"
        );
        match answer {
            Ok(result) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(helper);
                result
            }
            Err(e) => Err(self.lost(helper, &e)),
        }
    }

    /// Worker role, in a helper.
    pub fn scan(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        let limits = reply::ReplyLimits::of(context);
        self.call(OP_SCAN, content, payload_id, context, |r| {
            reply::read_worker_reply(r, &limits)
        })
    }

    /// Dispatcher role, in a helper.
    pub fn get_dispatches(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        self.call(OP_DISPATCH, content, payload_id, context, |r| {
            decode(
                &get_str(r, MAX_FIELD, "a dispatcher response")?,
                "dispatcher response",
            )
        })
    }
}
