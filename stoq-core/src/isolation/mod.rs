//! Plugins with `isolation = "process"`: the same library, run in helper processes.
//!
//! Each helper is `<helper executable> plugin-host LIBRARY` (the `stoq` binary), talking over a
//! Unix socket pair whose other end is the helper's standard input; the helper's standard
//! output goes to stoq's standard error, so nothing a plugin prints can corrupt the frames.
//! A call that runs past the plugin's timeout kills its helper; a helper that dies (a
//! segfault, an abort, running out of memory) fails only the call it was serving. Idle
//! helpers are kept for the next call, so the process start is paid once per concurrent call.

mod serve;
mod wire;

use std::io::{BufReader, BufWriter, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value};
use stoq_plugin_abi::host::{CallError, CallErrorKind, Extracted, QueryContext, WorkerOutput};
use stoq_plugin_abi::{DispatcherResponse, ffi};

pub use serve::serve;
use wire::*;

/// Every key a plugin may ask about, sent along with each call.
const CONTEXT_KEYS: &[&str] = &[
    ffi::CONTEXT_PAYLOAD_META,
    ffi::CONTEXT_REQUEST_META,
    ffi::CONTEXT_DEPTH,
    ffi::CONTEXT_DISPATCH_META,
    ffi::CONTEXT_WORKER_RESULTS,
    ffi::CONTEXT_PLUGINS_RUN,
    ffi::CONTEXT_REQUEST_PAYLOADS,
];

struct Helper {
    child: Child,
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
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
    timeout: Duration,
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
        timeout: Duration,
    ) -> Result<Self, CallError> {
        let mut plugin = Self {
            name: name.to_owned(),
            helper_exe: helper_exe.to_owned(),
            library: library.to_owned(),
            options: Value::Object(options.clone()).to_string(),
            timeout,
            idle: Mutex::new(Vec::new()),
            required_workers: Vec::new(),
        };
        let (helper, info) = plugin.spawn()?;
        plugin.required_workers = serde_json::from_str::<Value>(&info)
            .ok()
            .and_then(|v| serde_json::from_value(v["required_workers"].clone()).ok())
            .unwrap_or_default();
        plugin
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(helper);
        Ok(plugin)
    }

    /// Starts a helper and initialises the plugin in it; returns its instance facts.
    fn spawn(&self) -> Result<(Helper, String), CallError> {
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
        ours.set_read_timeout(Some(self.timeout))
            .map_err(start_error)?;
        let mut helper = Helper {
            child,
            reader: BufReader::new(ours.try_clone().map_err(start_error)?),
            writer: BufWriter::new(ours),
        };
        let sent = (|| {
            put_u8(&mut helper.writer, OP_INIT)?;
            put_str(&mut helper.writer, &self.options)?;
            helper.writer.flush()
        })();
        let info = sent
            .and_then(|()| read_status(&mut helper.reader))
            .and_then(|ok| match ok {
                Ok(()) => get_str(&mut helper.reader).map(Ok),
                Err(e) => Ok(Err(e)),
            });
        match info {
            Ok(Ok(info)) => Ok((helper, info)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(self.died(helper, &e)),
        }
    }

    /// Describes why a helper stopped answering, and reaps it.
    fn died(&self, mut helper: Helper, e: &std::io::Error) -> CallError {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            let _ = helper.child.kill();
            return failed(
                CallErrorKind::TimedOut,
                format!(
                    "still running after {} s (its `timeout` option); its helper process was killed",
                    self.timeout.as_secs_f64()
                ),
            );
        }
        let status = helper.child.wait();
        let how = match status {
            Ok(s) => match s.signal() {
                Some(signal) => format!("was killed by signal {signal}"),
                None => format!("exited with {s}"),
            },
            Err(_) => format!("stopped answering ({e})"),
        };
        failed(
            CallErrorKind::Crashed,
            format!(
                "the helper process running plugin `{}` {how}; a new one serves the next call",
                self.name
            ),
        )
    }

    /// Runs one call on an idle helper (or a new one). A helper that fails is dropped.
    fn call<T>(
        &self,
        op: u8,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
        read: impl FnOnce(&mut BufReader<UnixStream>) -> std::io::Result<T>,
    ) -> Result<T, CallError> {
        let snapshot: std::collections::HashMap<&str, String> = CONTEXT_KEYS
            .iter()
            .filter_map(|k| Some((*k, context.query(k)?)))
            .collect();
        let snapshot = serde_json::to_string(&snapshot).unwrap_or_default();
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut helper = match idle {
            Some(helper) => helper,
            None => self.spawn()?.0,
        };
        let sent = (|| {
            put_u8(&mut helper.writer, op)?;
            put_str(&mut helper.writer, payload_id)?;
            put_str(&mut helper.writer, &snapshot)?;
            put_bytes(&mut helper.writer, content)?;
            helper.writer.flush()
        })();
        let answer = sent
            .and_then(|()| read_status(&mut helper.reader))
            .and_then(|ok| match ok {
                Ok(()) => read(&mut helper.reader).map(Ok),
                Err(e) => Ok(Err(e)),
            });
        match answer {
            Ok(result) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(helper);
                result
            }
            Err(e) => Err(self.died(helper, &e)),
        }
    }

    /// Worker role, in a helper.
    pub fn scan(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        self.call(OP_SCAN, content, payload_id, context, |r| {
            if get_u8(r)? == 0 {
                return Ok(None);
            }
            let envelope: stoq_plugin_abi::types::WorkerEnvelope =
                serde_json::from_str(&get_str(r)?).unwrap_or_default();
            let count = get_u32(r)?;
            let mut extracted = Vec::with_capacity(count.min(1024) as usize);
            for _ in 0..count {
                let payload_meta = serde_json::from_str(&get_str(r)?).unwrap_or_default();
                extracted.push(Extracted {
                    content: get_bytes(r)?.into(),
                    payload_meta,
                });
            }
            Ok(Some(WorkerOutput::from_envelope(envelope, extracted)))
        })?
        .map_or(Ok(None), |o| Ok(Some(o)))
    }

    /// Dispatcher role, in a helper.
    pub fn get_dispatches(
        &self,
        content: &[u8],
        payload_id: &str,
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        self.call(OP_DISPATCH, content, payload_id, context, |r| {
            Ok(serde_json::from_str(&get_str(r)?).unwrap_or_default())
        })
    }
}

/// Reads a reply's status: `Ok(Ok(()))` to read on, `Ok(Err(..))` for the plugin's error.
fn read_status(r: &mut BufReader<UnixStream>) -> std::io::Result<Result<(), CallError>> {
    if get_u8(r)? == STATUS_OK {
        return Ok(Ok(()));
    }
    let kind = match get_u8(r)? {
        KIND_PANICKED => CallErrorKind::Panicked,
        KIND_CONFIG => CallErrorKind::Config,
        KIND_UNSUPPORTED => CallErrorKind::Unsupported,
        _ => CallErrorKind::Failed,
    };
    Ok(Err(failed(kind, get_str(r)?)))
}
