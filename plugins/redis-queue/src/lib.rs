//! The Redis Streams layout shared by the bundled `redis` plugin (provider, connector) and
//! `stoq submit`: key names, the work entry's fields, the content-addressed blob folder for
//! payloads too large to go inline, and the scripts that make results idempotent.
//!
//! Keys, for a prefix `P` (default `stoq`):
//! - `P:work`: the work stream, read by the consumer group `P` (one consumer per host);
//! - `P:results`: one entry per task: `task`, `response` (stoQ's JSON), `deliveries`;
//! - `P:dead`: tasks delivered too often without finishing: the entry's fields plus `error`,
//!   `response` (an error response) and `deliveries`;
//! - `P:done:<task>`: set (with a time to live) when a task's result was written, so a task
//!   delivered twice yields one result;
//! - `P:error:<task>`: the last reason a delivery of the task did not finish (a connector
//!   that failed, a blob that could not be read), for its dead letter.
//!
//! A work entry: `v` (`1`), `task` (a UUID, the response's `scan_id`), `meta` (the payload's
//! `PayloadMeta` JSON), optionally `request_meta` (JSON), and either `data` (the bytes) or
//! `ref` + `size` (the SHA-256 of bytes stored in the blob folder).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::Value;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The entry format version this crate writes.
pub const ENTRY_VERSION: &str = "1";

/// Entry field names.
pub mod field {
    /// Format version.
    pub const VERSION: &str = "v";
    /// The task id.
    pub const TASK: &str = "task";
    /// The payload's metadata (JSON).
    pub const META: &str = "meta";
    /// The request's metadata (JSON, optional).
    pub const REQUEST_META: &str = "request_meta";
    /// Inline payload bytes.
    pub const DATA: &str = "data";
    /// SHA-256 of the payload bytes in the blob folder.
    pub const REF: &str = "ref";
    /// Size of the referenced bytes.
    pub const SIZE: &str = "size";
    /// A result's or dead letter's response (JSON).
    pub const RESPONSE: &str = "response";
    /// How often the task was delivered.
    pub const DELIVERIES: &str = "deliveries";
    /// Why a task was dead-lettered.
    pub const ERROR: &str = "error";
}

/// The keys of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The work stream.
    pub work: String,
    /// The consumer group reading it.
    pub group: String,
    /// The results stream.
    pub results: String,
    /// The dead-letter stream.
    pub dead: String,
    done_prefix: String,
    error_prefix: String,
}

impl Keys {
    /// The keys under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            work: format!("{prefix}:work"),
            group: prefix.to_owned(),
            results: format!("{prefix}:results"),
            dead: format!("{prefix}:dead"),
            done_prefix: format!("{prefix}:done:"),
            error_prefix: format!("{prefix}:error:"),
        }
    }

    /// The marker key of a finished task.
    pub fn done(&self, task: &str) -> String {
        format!("{}{task}", self.done_prefix)
    }

    /// The key holding a task's last error (why a delivery did not finish), read when the
    /// task is dead-lettered.
    pub fn last_error(&self, task: &str) -> String {
        format!("{}{task}", self.error_prefix)
    }
}

/// Why an entry or a blob could not be read.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A field is missing or malformed.
    #[error("entry {entry}: {problem}")]
    BadEntry {
        /// The stream entry id.
        entry: String,
        /// What is wrong.
        problem: String,
    },
    /// The blob folder could not be read or written.
    #[error("blob {sha256} in {dir}: {source}")]
    Blob {
        /// The blob's hash.
        sha256: String,
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Where a payload's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// In the entry.
    Inline(Vec<u8>),
    /// In the blob folder, by SHA-256.
    Blob {
        /// Lower-case hex SHA-256.
        sha256: String,
        /// Its size in bytes.
        size: u64,
    },
}

/// One work entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The task id (the response's `scan_id`).
    pub task: String,
    /// `PayloadMeta` as JSON.
    pub payload_meta: Json,
    /// `RequestMeta` as JSON, when the submitter set one.
    pub request_meta: Option<Json>,
    /// The bytes, or where they are.
    pub body: Body,
}

impl Entry {
    /// A new entry with a fresh task id.
    pub fn new(payload_meta: Json, request_meta: Option<Json>, body: Body) -> Self {
        Self {
            task: uuid::Uuid::new_v4().to_string(),
            payload_meta,
            request_meta,
            body,
        }
    }

    /// The fields to `XADD`.
    pub fn to_fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut fields = vec![
            (field::VERSION, ENTRY_VERSION.as_bytes().to_vec()),
            (field::TASK, self.task.as_bytes().to_vec()),
            (field::META, self.payload_meta.to_string().into_bytes()),
        ];
        if let Some(meta) = &self.request_meta {
            fields.push((field::REQUEST_META, meta.to_string().into_bytes()));
        }
        match &self.body {
            Body::Inline(data) => fields.push((field::DATA, data.clone())),
            Body::Blob { sha256, size } => {
                fields.push((field::REF, sha256.as_bytes().to_vec()));
                fields.push((field::SIZE, size.to_string().into_bytes()));
            }
        }
        fields
    }

    /// Reads an entry's fields (as `XREADGROUP`/`XCLAIM` return them).
    pub fn from_fields(entry: &str, map: &HashMap<String, Value>) -> Result<Self, QueueError> {
        let bad = |problem: String| QueueError::BadEntry {
            entry: entry.to_owned(),
            problem,
        };
        let text = |name: &str| -> Result<Option<String>, QueueError> {
            match map.get(name) {
                None => Ok(None),
                Some(v) => bytes_of(v)
                    .and_then(|b| String::from_utf8(b).ok())
                    .map(Some)
                    .ok_or_else(|| bad(format!("field `{name}` is not text"))),
            }
        };
        let json = |name: &str| -> Result<Option<Json>, QueueError> {
            text(name)?
                .map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| bad(format!("field `{name}` is not JSON: {e}")))
        };
        match text(field::VERSION)?.as_deref() {
            Some(ENTRY_VERSION) => {}
            other => return Err(bad(format!("unknown entry version {other:?}"))),
        }
        let task = text(field::TASK)?.ok_or_else(|| bad("no `task` field".into()))?;
        let body = match (map.get(field::DATA), text(field::REF)?) {
            (Some(data), None) => {
                Body::Inline(bytes_of(data).ok_or_else(|| bad("field `data` is not bytes".into()))?)
            }
            (None, Some(sha256)) => {
                if !is_sha256(&sha256) {
                    return Err(bad(format!("`ref` is not a SHA-256: {sha256}")));
                }
                let size = text(field::SIZE)?
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("`ref` without a numeric `size`".into()))?;
                Body::Blob { sha256, size }
            }
            _ => return Err(bad("exactly one of `data` and `ref` is needed".into())),
        };
        Ok(Self {
            task,
            payload_meta: json(field::META)?.unwrap_or(Json::Object(Default::default())),
            request_meta: json(field::REQUEST_META)?,
            body,
        })
    }
}

/// The bytes of a bulk string or a simple string reply.
pub fn bytes_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

/// The text of a field, if it is text.
pub fn text_of(map: &HashMap<String, Value>, name: &str) -> Option<String> {
    map.get(name)
        .and_then(bytes_of)
        .and_then(|b| String::from_utf8(b).ok())
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where the blob with this hash lives: `dir/ab/cd/abcd…` (the filedir archiver's layout, so
/// a filedir archive on a shared folder can serve as the blob store).
pub fn blob_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
}

/// Stores `bytes` in the blob folder (temporary file, then rename; kept if already there) and
/// returns its hash.
pub fn write_blob(dir: &Path, bytes: &[u8]) -> Result<String, QueueError> {
    let sha256 = sha256_hex(bytes);
    let path = blob_path(dir, &sha256);
    let err = |source| QueueError::Blob {
        sha256: sha256.clone(),
        dir: dir.to_owned(),
        source,
    };
    if path.exists() {
        return Ok(sha256);
    }
    let parent = path.parent().expect("a blob path has parents");
    std::fs::create_dir_all(parent).map_err(err)?;
    let temp = parent.join(format!(".{sha256}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(err(e));
    }
    Ok(sha256)
}

/// Reads a blob, at most `max` bytes; checks its size and hash.
pub fn read_blob(dir: &Path, sha256: &str, size: u64, max: u64) -> Result<Vec<u8>, QueueError> {
    let err = |source| QueueError::Blob {
        sha256: sha256.to_owned(),
        dir: dir.to_owned(),
        source,
    };
    let invalid = |what: String| err(std::io::Error::new(std::io::ErrorKind::InvalidData, what));
    if size > max {
        return Err(invalid(format!(
            "{size} bytes, more than the limit of {max}"
        )));
    }
    let file = std::fs::File::open(blob_path(dir, sha256)).map_err(err)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(size + 1).read_to_end(&mut bytes).map_err(err)?;
    if bytes.len() as u64 != size || sha256_hex(&bytes) != sha256 {
        return Err(invalid("content does not match its size and hash".into()));
    }
    Ok(bytes)
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The connection settings of every stoq client of a queue: give up connecting after 2 s,
/// wait `response_timeout` for an answer, retry a lost connection twice before the caller's
/// own retries take over.
pub fn connection_config(response_timeout: Duration) -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2))
}

/// Creates the work stream and its consumer group if they do not exist. The group starts at
/// the stream's beginning, so entries submitted before any host started are read.
pub async fn ensure_group(
    con: &mut impl redis::aio::ConnectionLike,
    keys: &Keys,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<Value> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.work)
        .arg(&keys.group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(con)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other.map(drop),
    }
}

/// Writes a task's result once: `KEYS[1]` the done marker, `KEYS[2]` the results stream;
/// `ARGV`: time to live (s), task, response, deliveries. Returns 1 when written, 0 when the
/// task already had a result.
pub const SAVE_RESULT: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'task', ARGV[2], 'response', ARGV[3], 'deliveries', ARGV[4])
  return 1
end
return 0
";

/// Acknowledges and deletes a finished entry: `KEYS[1]` the work stream; `ARGV`: group, id.
pub const FINISH: &str = r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";

/// Renews the entries a consumer still owns (idle time reset, delivery count kept):
/// `KEYS[1]` the work stream; `ARGV`: group, consumer, then the ids. Returns the ids another
/// consumer owns now, or that are gone; they are not touched.
pub const RENEW: &str = r"
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
";

/// Hands an unfinished entry back: it stays pending with its delivery count, but looks
/// abandoned, so any host claims it at its next look (the hand-back counts as a delivery):
/// `KEYS[1]` work; `ARGV`: group, consumer, claim idle (ms), id. Returns 1 when handed back,
/// 0 when this consumer no longer owns it.
pub const HAND_BACK: &str = r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[4], ARGV[4], 1)
if #p == 1 and p[1][2] == ARGV[2] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[4], 'IDLE', ARGV[3], 'JUSTID')
  return 1
end
return 0
";

/// Gives up on an entry that was delivered too often, if this consumer wins it: `KEYS[1]`
/// work, `KEYS[2]` dead, `KEYS[3]` the task's done marker; `ARGV`: group, consumer, min idle
/// (ms), id, error, response, deliveries, marker time to live (s). The entry moves to the
/// dead-letter stream unless its task already has a result (a host died between saving and
/// acknowledging), in which case it is only finished: a task never has both. Returns 1 when
/// dead-lettered, 2 when finished because a result exists, 0 when another host took it or it
/// is gone.
pub const DEAD_LETTER: &str = r"
local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if #claimed == 0 or not claimed[1][2] then
  return 0
end
local outcome = 2
if redis.call('SET', KEYS[3], 'dead', 'NX', 'EX', ARGV[8]) then
  local args = {'XADD', KEYS[2], '*'}
  for _, v in ipairs(claimed[1][2]) do table.insert(args, v) end
  table.insert(args, 'error') table.insert(args, ARGV[5])
  table.insert(args, 'response') table.insert(args, ARGV[6])
  table.insert(args, 'deliveries') table.insert(args, ARGV[7])
  redis.call(unpack(args))
  outcome = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[4])
redis.call('XDEL', KEYS[1], ARGV[4])
return outcome
";

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(entry: &Entry) -> HashMap<String, Value> {
        entry
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::BulkString(v)))
            .collect()
    }

    #[test]
    fn entries_round_trip_inline_and_by_reference() {
        let inline = Entry::new(
            serde_json::json!({"extra_data": {"filename": "a.exe"}}),
            None,
            Body::Inline(b"MZ\x00\xff".to_vec()),
        );
        assert_eq!(Entry::from_fields("1-0", &fields(&inline)).unwrap(), inline);
        let blob = Entry::new(
            serde_json::json!({}),
            Some(serde_json::json!({"source": "gateway"})),
            Body::Blob {
                sha256: sha256_hex(b"x"),
                size: 1,
            },
        );
        assert_eq!(Entry::from_fields("1-1", &fields(&blob)).unwrap(), blob);
    }

    #[test]
    fn malformed_entries_name_the_entry_and_the_problem() {
        let mut map = fields(&Entry::new(
            serde_json::json!({}),
            None,
            Body::Inline(vec![]),
        ));
        map.insert(field::REF.into(), Value::BulkString(b"../../etc".to_vec()));
        let err = Entry::from_fields("7-0", &map).unwrap_err().to_string();
        assert!(err.contains("7-0") && err.contains("exactly one"), "{err}");
        map.remove(field::DATA);
        let err = Entry::from_fields("7-0", &map).unwrap_err().to_string();
        assert!(err.contains("not a SHA-256"), "{err}");
        map.insert(field::VERSION.into(), Value::BulkString(b"9".to_vec()));
        let err = Entry::from_fields("7-0", &map).unwrap_err().to_string();
        assert!(err.contains("version"), "{err}");
    }

    #[test]
    fn blobs_are_content_addressed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let sha = write_blob(dir.path(), b"payload bytes").unwrap();
        assert_eq!(sha, sha256_hex(b"payload bytes"));
        assert!(blob_path(dir.path(), &sha).is_file());
        assert_eq!(write_blob(dir.path(), b"payload bytes").unwrap(), sha);
        assert_eq!(
            read_blob(dir.path(), &sha, 13, 100).unwrap(),
            b"payload bytes"
        );
        assert!(
            read_blob(dir.path(), &sha, 13, 5).is_err(),
            "over the limit"
        );
        assert!(read_blob(dir.path(), &sha, 12, 100).is_err(), "wrong size");
        std::fs::write(blob_path(dir.path(), &sha), b"tampered byte").unwrap();
        assert!(read_blob(dir.path(), &sha, 13, 100).is_err(), "wrong hash");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }
}
