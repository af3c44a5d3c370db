//! Decoding what a helper sends back. A helper is not trusted: every length is bounded
//! before anything is allocated, and anything malformed or undecodable is an
//! `InvalidData` error, which kills that helper and becomes the call's error (never a
//! result quietly dropped or defaulted).

use std::io::{self, Read};

use serde_json::Value;
use stoq_loader::{CallError, CallErrorKind, Extracted, QueryContext, WorkerOutput};
use stoq_plugin_abi::ffi;
use stoq_plugin_abi::wire::WorkerEnvelope;

use super::wire::*;

/// The most extracted payloads one reply may carry.
pub const MAX_EXTRACTED: u32 = 1 << 20;

/// What a helper reports after its config hook ran.
#[derive(serde::Deserialize)]
pub struct Facts {
    pub required_workers: Vec<String>,
}

/// Decodes JSON a helper sent; a helper sending invalid JSON is treated as corrupt.
pub fn decode<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> io::Result<T> {
    serde_json::from_str(json).map_err(|e| invalid(format!("an invalid {what} ({e})")))
}

/// Reads the plugin's error after `STATUS_ERR`.
pub fn read_error(r: &mut impl Read) -> io::Result<CallError> {
    let kind = match get_u8(r)? {
        KIND_FAILED => CallErrorKind::Failed,
        KIND_PANICKED => CallErrorKind::Panicked,
        KIND_CONFIG => CallErrorKind::Config,
        KIND_UNSUPPORTED => CallErrorKind::Unsupported,
        other => return Err(invalid(format!("an error of unknown kind {other}"))),
    };
    Ok(CallError {
        kind,
        message: get_str(r, MAX_FIELD, "an error message")?,
    })
}

/// The bounds of one worker reply, from the request's limits (asked once per call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// The largest extracted payload the request takes (`max_payload_size`).
    pub max_payload: u64,
    /// The most bytes all extracted payloads of one reply may carry together: what the
    /// request can still keep plus one payload (room for duplicates and one refused
    /// payload), at least [`MAX_FIELD`].
    pub max_total: u64,
}

impl ReplyLimits {
    /// The limits the request's context reports ([`ffi::CONTEXT_LIMITS`]); without them,
    /// [`MAX_FIELD`] per payload and in total.
    pub fn of(context: &dyn QueryContext) -> Self {
        let limits = context
            .query(ffi::CONTEXT_LIMITS)
            .and_then(|json| serde_json::from_str::<Value>(&json).ok())
            .unwrap_or(Value::Null);
        let max_payload = limits["max_payload_size"].as_u64().unwrap_or(MAX_FIELD);
        let left = limits["extracted_bytes_left"].as_u64().unwrap_or(0);
        Self {
            max_payload,
            max_total: left.saturating_add(max_payload).max(MAX_FIELD),
        }
    }
}

/// Reads a worker's reply after `STATUS_OK`: `0` (no output), or `1`, the JSON envelope, a
/// count and that many (metadata, bytes) pairs.
pub fn read_worker_reply(
    r: &mut impl Read,
    limits: &ReplyLimits,
) -> io::Result<Option<WorkerOutput>> {
    match get_u8(r)? {
        0 => return Ok(None),
        1 => {}
        other => return Err(invalid(format!("a worker reply marked {other}"))),
    }
    let envelope: WorkerEnvelope = decode(
        &get_str(r, MAX_FIELD, "a worker response")?,
        "worker response",
    )?;
    let count = get_u32(r)?;
    if count > MAX_EXTRACTED {
        return Err(invalid(format!(
            "a worker reply announcing {count} extracted payloads, more than the {MAX_EXTRACTED} allowed"
        )));
    }
    let mut left = limits.max_total;
    let mut extracted = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let payload_meta = decode(
            &get_str(r, MAX_FIELD, "extracted payload metadata")?,
            "extracted payload metadata",
        )?;
        let content = get_bytes(r, limits.max_payload.min(left), "an extracted payload")?;
        left -= content.len() as u64;
        extracted.push(Extracted {
            content: content.into(),
            payload_meta,
        });
    }
    Ok(Some(WorkerOutput::from_envelope(envelope, extracted)))
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
