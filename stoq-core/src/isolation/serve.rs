//! The helper side: `stoq plugin-host LIBRARY` serves calls for one plugin library on a socket
//! handed over as its standard input. The first frame (`OP_INIT`) carries the plugin's options
//! and the helper's memory limit, which is set before the library is loaded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use stoq_loader::{CallError, CallErrorKind, Instance, Library, QueryContext};
use stoq_plugin_abi::wire::InstanceConfig;

use super::wire::*;

type Reader = BufReader<UnixStream>;
type Writer = BufWriter<UnixStream>;

/// The plugin's context, asked of stoq over the socket while a call runs. Answers are kept
/// for the rest of the call, so a plugin asking twice costs one exchange.
struct Remote<'a> {
    link: RefCell<Link<'a>>,
}

struct Link<'a> {
    reader: &'a mut Reader,
    writer: &'a mut Writer,
    answers: HashMap<String, Option<String>>,
    /// Why the socket failed during the call (the helper then exits after it).
    broken: Option<std::io::Error>,
}

impl Link<'_> {
    fn ask(&mut self, key: &str) -> std::io::Result<Option<String>> {
        put_u8(self.writer, MSG_QUERY)?;
        put_str(self.writer, key)?;
        self.writer.flush()?;
        match get_u8(self.reader)? {
            0 => Ok(None),
            1 => get_str(self.reader, MAX_FROM_HOST, "a context answer").map(Some),
            other => Err(invalid(format!("context answer tag {other}"))),
        }
    }
}

impl QueryContext for Remote<'_> {
    fn query(&self, key: &str) -> Option<String> {
        let mut link = self.link.try_borrow_mut().ok()?;
        if link.broken.is_some() {
            return None;
        }
        if let Some(answer) = link.answers.get(key) {
            return answer.clone();
        }
        match link.ask(key) {
            Ok(answer) => {
                link.answers.insert(key.to_owned(), answer.clone());
                answer
            }
            Err(e) => {
                link.broken = Some(e);
                None
            }
        }
    }
}

fn kind_code(kind: CallErrorKind) -> u8 {
    match kind {
        CallErrorKind::Panicked => KIND_PANICKED,
        CallErrorKind::Config => KIND_CONFIG,
        CallErrorKind::Unsupported => KIND_UNSUPPORTED,
        _ => KIND_FAILED,
    }
}

fn put_error(w: &mut impl Write, e: &CallError) -> std::io::Result<()> {
    put_u8(w, STATUS_ERR)?;
    put_u8(w, kind_code(e.kind))?;
    put_str(w, &e.message)
}

fn failure(message: String) -> CallError {
    CallError {
        kind: CallErrorKind::Failed,
        message,
    }
}

fn to_json(value: &impl serde::Serialize, what: &str) -> Result<String, CallError> {
    serde_json::to_string(value).map_err(|e| failure(format!("cannot encode the {what}: {e}")))
}

/// `OP_INIT`: limits the process's memory, loads the library, runs the config hook.
fn init(
    path: &Path,
    library: &mut Option<Library>,
    options: &str,
    memory_limit: u64,
) -> Result<Instance, CallError> {
    let config: InstanceConfig = serde_json::from_str(options)
        .map_err(|e| failure(format!("invalid options from stoq: {e}")))?;
    if library.is_none() {
        if memory_limit > 0 {
            stoq_loader::rlimit::limit_address_space(memory_limit).map_err(|e| {
                failure(format!(
                    "cannot limit the helper process's memory to {memory_limit} bytes: {e}"
                ))
            })?;
        }
        let loaded = Library::load(path).map_err(|e| {
            let mut message = e.to_string();
            if memory_limit > 0 {
                message.push_str(&format!(
                    " (in a helper process limited to {memory_limit} bytes by `isolation_memory`)"
                ));
            }
            failure(message)
        })?;
        *library = Some(loaded);
    }
    let Some(library) = library.as_ref() else {
        return Err(failure("the library is not loaded".into()));
    };
    library.instantiate(&config.plugin_name, &config.options)
}

/// Runs one scan or dispatch and writes its reply.
fn call(
    op: u8,
    instance: &Instance,
    reader: &mut Reader,
    writer: &mut Writer,
) -> std::io::Result<()> {
    let payload_id = get_str(reader, MAX_FROM_HOST, "a payload id")?;
    let content = get_bytes_from_host(reader, "a payload")?;
    let context = Remote {
        link: RefCell::new(Link {
            reader,
            writer,
            answers: HashMap::new(),
            broken: None,
        }),
    };
    // The reply, encoded before anything is written (the socket is the context's meanwhile).
    let mut reply = Vec::new();
    if op == OP_SCAN {
        let encoded = instance
            .scan(&content, &payload_id, &context)
            .and_then(|output| {
                let Some(output) = output else {
                    return Ok(None);
                };
                let envelope = serde_json::json!({
                    "results": output.results,
                    "errors": output.errors,
                    "dispatch_to": output.dispatch_to,
                })
                .to_string();
                let metas = output
                    .extracted
                    .iter()
                    .map(|e| to_json(&e.payload_meta, "extracted payload metadata"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some((envelope, metas, output.extracted)))
            });
        match encoded {
            Ok(None) => {
                put_u8(&mut reply, STATUS_OK)?;
                put_u8(&mut reply, 0)?;
            }
            Ok(Some((envelope, metas, extracted))) => {
                put_u8(&mut reply, STATUS_OK)?;
                put_u8(&mut reply, 1)?;
                put_str(&mut reply, &envelope)?;
                put_u32(&mut reply, extracted.len() as u32)?;
                let link = context.link.into_inner();
                if let Some(e) = link.broken {
                    return Err(e);
                }
                // Payload bytes go straight to the socket, not through `reply`.
                link.writer.write_all(&reply)?;
                for (meta, e) in metas.iter().zip(&extracted) {
                    put_str(link.writer, meta)?;
                    put_bytes(link.writer, &e.content)?;
                }
                return link.writer.flush();
            }
            Err(e) => put_error(&mut reply, &e)?,
        }
    } else {
        match instance
            .get_dispatches(&content, &payload_id, &context)
            .and_then(|response| to_json(&response, "dispatcher response"))
        {
            Ok(json) => {
                put_u8(&mut reply, STATUS_OK)?;
                put_str(&mut reply, &json)?;
            }
            Err(e) => put_error(&mut reply, &e)?,
        }
    }
    let link = context.link.into_inner();
    if let Some(e) = link.broken {
        return Err(e);
    }
    link.writer.write_all(&reply)?;
    link.writer.flush()
}

/// Serves calls for the plugin in `path` until stoq closes the socket.
pub fn serve(path: &Path) -> Result<(), String> {
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(UnixStream::from)
        .map_err(|e| format!("no socket on standard input: {e}"))?;
    let mut reader =
        BufReader::with_capacity(1 << 16, socket.try_clone().map_err(|e| e.to_string())?);
    let mut writer = BufWriter::with_capacity(1 << 16, socket);
    let mut library: Option<Library> = None;
    let mut instance: Option<Instance> = None;
    loop {
        let op = match get_u8(&mut reader) {
            Ok(op) => op,
            Err(_) => return Ok(()), // stoq closed the socket
        };
        let outcome: std::io::Result<()> = (|| match op {
            OP_INIT => {
                let options = get_str(&mut reader, MAX_FROM_HOST, "options")?;
                let memory_limit = get_u64(&mut reader)?;
                match init(path, &mut library, &options, memory_limit) {
                    Ok(created) => {
                        put_u8(&mut writer, STATUS_OK)?;
                        put_str(
                            &mut writer,
                            &serde_json::json!({"required_workers": created.required_workers})
                                .to_string(),
                        )?;
                        instance = Some(created);
                    }
                    Err(e) => put_error(&mut writer, &e)?,
                }
                writer.flush()
            }
            OP_SCAN | OP_DISPATCH => match instance.as_ref() {
                Some(instance) => call(op, instance, &mut reader, &mut writer),
                None => {
                    let _ = get_str(&mut reader, MAX_FROM_HOST, "a payload id")?;
                    let _ = get_bytes_from_host(&mut reader, "a payload")?;
                    put_error(&mut writer, &failure("not initialised".into()))?;
                    writer.flush()
                }
            },
            other => Err(invalid(format!("unknown operation {other}"))),
        })();
        if let Err(e) = outcome {
            return Err(format!("plugin helper: {e}"));
        }
    }
}
