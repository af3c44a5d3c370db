//! The helper side: `stoq plugin-host LIBRARY` loads one plugin library and serves calls on a
//! socket handed over as its standard input.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::{Map, Value};
use stoq_plugin_abi::host::{CallError, CallErrorKind, Instance, Library, QueryContext};

use super::wire::*;

/// Context answers sent with each call.
struct Snapshot(HashMap<String, String>);

impl QueryContext for Snapshot {
    fn query(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
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

/// Serves calls for the plugin in `library` until stoq closes the socket.
pub fn serve(library: &Path) -> Result<(), String> {
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(UnixStream::from)
        .map_err(|e| format!("no socket on standard input: {e}"))?;
    let mut reader = BufReader::new(socket.try_clone().map_err(|e| e.to_string())?);
    let mut writer = BufWriter::new(socket);
    let library = Library::load(library).map_err(|e| e.to_string())?;
    let mut instance: Option<Instance> = None;
    loop {
        let op = match get_u8(&mut reader) {
            Ok(op) => op,
            Err(_) => return Ok(()), // stoq closed the socket
        };
        let outcome: std::io::Result<()> = (|| {
            match op {
                OP_INIT => {
                    let options: Map<String, Value> =
                        serde_json::from_str(&get_str(&mut reader)?).unwrap_or_default();
                    match library.instantiate(&options) {
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
                }
                OP_SCAN | OP_DISPATCH => {
                    let payload_id = get_str(&mut reader)?;
                    let snapshot: HashMap<String, String> =
                        serde_json::from_str(&get_str(&mut reader)?).unwrap_or_default();
                    let content = get_bytes(&mut reader)?;
                    let Some(instance) = instance.as_ref() else {
                        return put_error(
                            &mut writer,
                            &CallError {
                                kind: CallErrorKind::Failed,
                                message: "not initialised".into(),
                            },
                        );
                    };
                    let context = Snapshot(snapshot);
                    if op == OP_SCAN {
                        match instance.scan(&content, &payload_id, &context) {
                            Ok(None) => {
                                put_u8(&mut writer, STATUS_OK)?;
                                put_u8(&mut writer, 0)?;
                            }
                            Ok(Some(output)) => {
                                put_u8(&mut writer, STATUS_OK)?;
                                put_u8(&mut writer, 1)?;
                                let envelope = serde_json::json!({
                                    "results": output.results,
                                    "errors": output.errors,
                                    "dispatch_to": output.dispatch_to,
                                });
                                put_str(&mut writer, &envelope.to_string())?;
                                put_u32(&mut writer, output.extracted.len() as u32)?;
                                for e in &output.extracted {
                                    put_str(
                                        &mut writer,
                                        &serde_json::to_string(&e.payload_meta).unwrap_or_default(),
                                    )?;
                                    put_bytes(&mut writer, &e.content)?;
                                }
                            }
                            Err(e) => put_error(&mut writer, &e)?,
                        }
                    } else {
                        match instance.get_dispatches(&content, &payload_id, &context) {
                            Ok(response) => {
                                put_u8(&mut writer, STATUS_OK)?;
                                put_str(
                                    &mut writer,
                                    &serde_json::to_string(&response).unwrap_or_default(),
                                )?;
                            }
                            Err(e) => put_error(&mut writer, &e)?,
                        }
                    }
                }
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unknown operation {other}"),
                    ));
                }
            }
            writer.flush()
        })();
        if let Err(e) = outcome {
            return Err(format!("plugin helper: {e}"));
        }
    }
}
