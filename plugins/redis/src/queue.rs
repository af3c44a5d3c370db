//! The queue protocol on Redis Streams: reading within the host's in-flight budget,
//! heartbeats, claiming a dead host's entries, dead letters, acknowledgement on outcome, and
//! idempotent results.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::streams::{StreamClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::{RedisError, RedisResult, Script};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{self, Value};
use stoq_plugin_abi::tracing;
use stoq_redis_queue::{Body, Entry, Keys, field, read_blob, redact};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::Settings;

/// An entry this host holds: read or claimed, no outcome yet.
#[derive(Debug, Clone)]
struct Held {
    task: String,
    deliveries: u64,
    /// Delivered often enough to be suspected of killing its hosts: it runs alone, so an
    /// innocent entry never shares its fate.
    alone: bool,
}

/// What one look at abandoned entries found.
enum Claim {
    /// Entries claimed for this host (possibly none).
    Entries(Vec<(StreamId, u64)>),
    /// A suspect entry waits to run alone: take nothing new until this host is empty.
    SuspectWaiting,
}

/// Entries delivered this often are suspects (see [`Held::alone`]).
const SUSPECT_DELIVERIES: u64 = 2;

/// What the heartbeat and the provider share.
struct Inner {
    settings: Settings,
    keys: Keys,
    /// Commands (acknowledgements, results, claims).
    con: ConnectionManager,
    held: Mutex<HashMap<String, Held>>,
    freed: Notify,
    /// Acknowledgements in flight, at most [`ACKS_IN_FLIGHT`].
    acks: Arc<tokio::sync::Semaphore>,
    finish: Script,
    renew: Script,
    hand_back: Script,
    dead_letter: Script,
    save_result: Script,
}

impl Inner {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn address(&self) -> String {
        redact(&self.settings.url)
    }
}

/// A connection to one queue, with its own small tokio runtime (plugin calls come from the
/// host's threads and block on it; the heartbeat runs on it).
pub struct Queue {
    runtime: Runtime,
    inner: Arc<Inner>,
    client: redis::Client,
}

/// Retries `op` while Redis is unreachable, with a growing pause, for up to `budget`.
async fn retry<T, F, Fut>(inner: &Inner, what: &str, budget: Duration, mut op: F) -> RedisResult<T>
where
    F: FnMut(ConnectionManager) -> Fut,
    Fut: std::future::Future<Output = RedisResult<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match op(inner.con.clone()).await {
            Ok(value) => return Ok(value),
            Err(e) if transient(&e) && start.elapsed() < budget => {
                tracing::warn!(
                    "{what}: Redis at {} unreachable ({e}); retrying",
                    inner.address()
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

fn transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(
            e.code(),
            Some("LOADING" | "TRYAGAIN" | "BUSY" | "MASTERDOWN")
        )
}

/// Acknowledgements sent without waiting for each other (pipelined on the connection).
const ACKS_IN_FLIGHT: usize = 64;

/// How long a call waits for Redis to come back before it gives up.
const PATIENCE: Duration = Duration::from_secs(60);

impl Queue {
    /// Connects (a clear error naming the address when Redis is unreachable).
    pub fn connect(settings: Settings) -> Result<Self> {
        let address = redact(&settings.url);
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| Error::msg(format!("option `url`: {address}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("stoq-redis")
            .enable_all()
            .build()?;
        let con = runtime
            .block_on(async {
                let con = tokio::time::timeout(
                    Duration::from_secs(10),
                    ConnectionManager::new_with_config(
                        client.clone(),
                        stoq_redis_queue::connection_config(Duration::from_secs(10)),
                    ),
                )
                .await
                .map_err(|_| "no answer within 10 s".to_owned())?
                .map_err(|e| e.to_string())?;
                let mut ping = con.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut ping)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(con)
            })
            .map_err(|e| Error::msg(format!("cannot reach Redis at {address}: {e}")))?;
        if let Some(dir) = &settings.blob_dir
            && !dir.is_dir()
        {
            return Err(Error::msg(format!(
                "option `blob_dir`: {} is not a readable folder",
                dir.display()
            )));
        }
        let keys = Keys::new(&settings.prefix);
        Ok(Self {
            runtime,
            client,
            inner: Arc::new(Inner {
                settings,
                keys,
                con,
                held: Mutex::new(HashMap::new()),
                freed: Notify::new(),
                acks: Arc::new(tokio::sync::Semaphore::new(ACKS_IN_FLIGHT)),
                finish: Script::new(stoq_redis_queue::FINISH),
                renew: Script::new(stoq_redis_queue::RENEW),
                hand_back: Script::new(stoq_redis_queue::HAND_BACK),
                dead_letter: Script::new(stoq_redis_queue::DEAD_LETTER),
                save_result: Script::new(stoq_redis_queue::SAVE_RESULT),
            }),
        })
    }

    /// The provider loop: read, claim and dead-letter within the host's budget until the host
    /// stops taking items.
    pub fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
        let inner = &self.inner;
        let budget = match sink.max_in_flight() {
            0 => 16,
            n => n,
        };
        let reader = self
            .runtime
            .block_on(async {
                retry(inner, "creating the consumer group", Duration::MAX, |mut c| async move {
                    stoq_redis_queue::ensure_group(&mut c, &inner.keys).await
                })
                .await?;
                ConnectionManager::new_with_config(
                    self.client.clone(),
                    stoq_redis_queue::connection_config(
                        inner.settings.block + Duration::from_secs(10),
                    ),
                )
                .await
            })
            .map_err(|e| Error::msg(format!("Redis at {}: {e}", inner.address())))?;
        self.runtime.spawn(heartbeat(Arc::clone(inner)));
        tracing::info!(
            consumer = inner.settings.consumer.as_str(),
            "reading {} at {}",
            inner.keys.work,
            inner.address()
        );
        // Read in batches: wait until a quarter of the budget is free (one read, not one per
        // finished item).
        let low_water = (budget / 4).max(1);
        let mut last_claim: Option<Instant> = None;
        let mut suspect_waiting = false;
        loop {
            let (held, alone) = {
                let held = inner.held();
                (held.len(), held.values().any(|h| h.alone))
            };
            let claim_due = last_claim.is_none_or(|t| t.elapsed() >= inner.settings.heartbeat)
                || (suspect_waiting && held == 0);
            let mut batch = Vec::new();
            if claim_due && !alone && held < budget {
                last_claim = Some(Instant::now());
                match self
                    .runtime
                    .block_on(claim_abandoned(inner, budget - held, held == 0))
                {
                    Claim::Entries(claimed) => {
                        suspect_waiting = false;
                        batch = claimed;
                    }
                    Claim::SuspectWaiting => suspect_waiting = true,
                }
            }
            if batch.is_empty() {
                if alone || suspect_waiting || held + low_water > budget {
                    self.runtime.block_on(async {
                        let wait = tokio::time::timeout(
                            Duration::from_millis(200),
                            inner.freed.notified(),
                        );
                        let _ = wait.await;
                    });
                    continue;
                }
                batch = self
                    .runtime
                    .block_on(read_new(inner, reader.clone(), budget - held));
            }
            // Held (and heartbeated) from now on, also while waiting for a slot in the host.
            {
                let mut held = inner.held();
                for (entry, deliveries) in &batch {
                    held.insert(
                        entry.id.clone(),
                        Held {
                            task: stoq_redis_queue::text_of(&entry.map, field::TASK)
                                .unwrap_or_default(),
                            deliveries: *deliveries,
                            alone: *deliveries > SUSPECT_DELIVERIES,
                        },
                    );
                }
            }
            let mut entries = batch.into_iter();
            while let Some((entry, deliveries)) = entries.next() {
                let Some(item) = self.item(&entry, deliveries) else {
                    continue;
                };
                if !sink.put(item) {
                    // Shutting down: this entry and the rest of the batch go back.
                    let back: Vec<String> = std::iter::once(entry.id)
                        .chain(entries.map(|(e, _)| e.id))
                        .collect();
                    self.runtime.block_on(hand_back(inner, &back));
                    return Ok(());
                }
            }
        }
    }

    /// The host item for a stream entry, or `None` when the entry cannot become one: a
    /// malformed entry is dead-lettered at once; an entry whose blob cannot be read is let go
    /// (its reason noted for its dead letter), to be delivered again after `claim_idle`.
    fn item(&self, entry: &StreamId, deliveries: u64) -> Option<IngestItem> {
        let inner = &self.inner;
        let parsed = match Entry::from_fields(&entry.id, &entry.map) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!("{} in {}: {e}", entry.id, inner.keys.work);
                inner.held().remove(&entry.id);
                let task = stoq_redis_queue::text_of(&entry.map, field::TASK);
                self.runtime.block_on(dead_letter(
                    inner,
                    &entry.id,
                    task.as_deref(),
                    None,
                    deliveries,
                    &format!("invalid work entry: {e}"),
                    Duration::ZERO,
                ));
                return None;
            }
        };
        let content = match &parsed.body {
            Body::Inline(data) => data.clone(),
            Body::Blob { sha256, size } => {
                let read = inner
                    .settings
                    .blob_dir
                    .as_deref()
                    .ok_or_else(|| "option `blob_dir` is not set".to_owned())
                    .and_then(|dir| {
                        read_blob(dir, sha256, *size, inner.settings.max_size)
                            .map_err(|e| e.to_string())
                    });
                match read {
                    Ok(content) => content,
                    Err(e) => {
                        let reason = format!("cannot read its payload: {e}");
                        tracing::error!("{} (task {}): {reason}", entry.id, parsed.task);
                        inner.held().remove(&entry.id);
                        self.runtime.block_on(async {
                            note_error(inner, &parsed.task, &reason).await;
                            // Not at full speed through a backlog of unreadable entries.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        });
                        inner.freed.notify_one();
                        return None;
                    }
                }
            }
        };
        let payload_meta: PayloadMeta =
            serde_json::from_value(parsed.payload_meta).unwrap_or_default();
        let mut request_meta: RequestMeta = parsed
            .request_meta
            .and_then(|m| serde_json::from_value(m).ok())
            .unwrap_or_default();
        request_meta.extra_data.insert(
            "stoq_queue".into(),
            serde_json::json!({
                "entry": entry.id,
                "deliveries": deliveries,
                "consumer": inner.settings.consumer,
            }),
        );
        Some(
            IngestItem::payload(content)
                .with_id(entry.id.clone())
                .with_scan_id(parsed.task)
                .with_payload_meta(payload_meta)
                .with_request_meta(request_meta),
        )
    }

    /// Acknowledges a finished entry, or hands back an unfinished one.
    pub fn outcome(&self, outcome: &ItemOutcome) {
        let inner = &self.inner;
        let Some(held) = inner.held().remove(&outcome.id) else {
            return;
        };
        inner.freed.notify_one();
        let id = outcome.id.as_str();
        match outcome.status {
            ItemStatus::Done => {
                // Sent in the background, a bounded number at once: the outcome thread does
                // not wait a round trip per item. `stop` waits for the last ones.
                let Ok(permit) = self
                    .runtime
                    .block_on(Arc::clone(&inner.acks).acquire_owned())
                else {
                    return;
                };
                let (inner, id) = (Arc::clone(inner), outcome.id.clone());
                self.runtime.spawn(async move {
                    let _permit = permit;
                    acknowledge(&inner, &id).await;
                });
            }
            ItemStatus::Returned => {
                self.runtime
                    .block_on(hand_back(inner, std::slice::from_ref(&outcome.id)));
            }
            _ => {
                let reason = outcome.error.as_deref().unwrap_or("no reason given");
                tracing::warn!(
                    "{id} failed (delivery {}): {reason}; it will be delivered again after {} s",
                    held.deliveries,
                    inner.settings.claim_idle.as_secs_f64()
                );
                self.runtime.block_on(note_error(inner, &held.task, reason));
            }
        }
    }

    /// Waits (up to 30 s) for the acknowledgements still in flight.
    pub fn stop(&self) {
        let acks = Arc::clone(&self.inner.acks);
        let all = u32::try_from(ACKS_IN_FLIGHT).unwrap_or(u32::MAX);
        let waited = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), acks.acquire_many_owned(all)).await
        });
        if waited.is_err() {
            tracing::warn!(
                "acknowledgements to {} still unanswered at exit; those entries will be delivered again",
                self.inner.address()
            );
        }
    }

    /// Writes a response to the results stream once per task.
    pub fn save(&self, response: &Value) -> Result<()> {
        let inner = &self.inner;
        let task = response["scan_id"]
            .as_str()
            .ok_or_else(|| Error::msg("the response has no scan_id"))?;
        let deliveries = response["request_meta"]["extra_data"]["stoq_queue"]["deliveries"]
            .as_u64()
            .unwrap_or(1);
        let json = response.to_string();
        let done_key = inner.keys.done(task);
        let (json, done_key) = (&json, &done_key);
        self.runtime
            .block_on(retry(
                inner,
                "saving a result",
                PATIENCE,
                |mut c| async move {
                    inner
                        .save_result
                        .key(done_key)
                        .key(&inner.keys.results)
                        .arg(inner.settings.done_ttl.as_secs())
                        .arg(task)
                        .arg(json)
                        .arg(deliveries)
                        .invoke_async::<i64>(&mut c)
                        .await
                },
            ))
            .map(drop)
            .map_err(|e| {
                Error::msg(format!(
                    "cannot save to {} at {}: {e}",
                    inner.keys.results,
                    inner.address()
                ))
            })
    }
}

/// Acknowledges and deletes a finished entry.
async fn acknowledge(inner: &Inner, id: &str) {
    let done = retry(inner, "acknowledging", PATIENCE, |mut c| async move {
        inner
            .finish
            .key(&inner.keys.work)
            .arg(&inner.keys.group)
            .arg(id)
            .invoke_async::<i64>(&mut c)
            .await
    })
    .await;
    if let Err(e) = done {
        // It stays pending: another delivery will find its result already saved.
        tracing::error!(
            "cannot acknowledge {id} in {} at {}: {e}",
            inner.keys.work,
            inner.address()
        );
    }
}

/// Notes why a delivery of `task` did not finish, for its dead letter.
async fn note_error(inner: &Inner, task: &str, reason: &str) {
    if task.is_empty() {
        return;
    }
    let key = inner.keys.last_error(task);
    let noted: RedisResult<()> = redis::cmd("SET")
        .arg(&key)
        .arg(reason)
        .arg("EX")
        .arg(inner.settings.done_ttl.as_secs())
        .query_async(&mut inner.con.clone())
        .await;
    if let Err(e) = noted {
        tracing::warn!(
            "cannot note the error of task {task} at {}: {e}",
            inner.address()
        );
    }
}

/// New entries for this consumer, at most `count`.
async fn read_new(
    inner: &Inner,
    mut reader: ConnectionManager,
    count: usize,
) -> Vec<(StreamId, u64)> {
    let reply: RedisResult<Option<StreamReadReply>> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(&inner.keys.group)
        .arg(&inner.settings.consumer)
        .arg("COUNT")
        .arg(count)
        .arg("BLOCK")
        .arg(inner.settings.block.as_millis() as u64)
        .arg("STREAMS")
        .arg(&inner.keys.work)
        .arg(">")
        .query_async(&mut reader)
        .await;
    match reply {
        Ok(reply) => reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|id| (id, 1))
            .collect(),
        Err(e) => {
            if e.code() == Some("NOGROUP") {
                // The stream was deleted (e.g. Redis lost its data): create it again.
                let mut con = inner.con.clone();
                let _ = stoq_redis_queue::ensure_group(&mut con, &inner.keys).await;
            } else {
                tracing::warn!(
                    "reading {} at {}: {e}; retrying",
                    inner.keys.work,
                    inner.address()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            Vec::new()
        }
    }
}

/// Entries idle past `claim_idle` (their host died, failed them or handed them back): gives
/// up on those delivered `max_deliveries` times, and claims up to `count` of the others.
/// An entry delivered [`SUSPECT_DELIVERIES`] times is claimed alone, and only by a host that
/// holds nothing (`empty`); a busy host stops taking new entries until it is empty.
async fn claim_abandoned(inner: &Inner, count: usize, empty: bool) -> Claim {
    let idle_ms = inner.settings.claim_idle.as_millis() as u64;
    let pending: RedisResult<StreamPendingCountReply> = redis::cmd("XPENDING")
        .arg(&inner.keys.work)
        .arg(&inner.keys.group)
        .arg("IDLE")
        .arg(idle_ms)
        .arg("-")
        .arg("+")
        .arg(count.max(10))
        .query_async(&mut inner.con.clone())
        .await;
    let pending = match pending {
        Ok(p) => p.ids,
        Err(e) => {
            tracing::warn!("XPENDING {} at {}: {e}", inner.keys.work, inner.address());
            return Claim::Entries(Vec::new());
        }
    };
    let mut wanted = Vec::new();
    let mut suspect = None;
    for p in pending {
        if inner.held().contains_key(&p.id) {
            continue;
        }
        let deliveries = p.times_delivered as u64;
        if deliveries >= inner.settings.max_deliveries {
            give_up(inner, &p.id, &p.consumer, deliveries).await;
        } else if deliveries >= SUSPECT_DELIVERIES {
            suspect.get_or_insert((p.id, deliveries + 1));
        } else if wanted.len() < count {
            wanted.push((p.id, deliveries + 1));
        }
    }
    if let Some(suspect) = suspect {
        if !empty {
            return Claim::SuspectWaiting;
        }
        wanted = vec![suspect];
    }
    if wanted.is_empty() {
        return Claim::Entries(Vec::new());
    }
    let mut cmd = redis::cmd("XCLAIM");
    cmd.arg(&inner.keys.work)
        .arg(&inner.keys.group)
        .arg(&inner.settings.consumer)
        .arg(idle_ms);
    for (id, _) in &wanted {
        cmd.arg(id);
    }
    let claimed: RedisResult<StreamClaimReply> = cmd.query_async(&mut inner.con.clone()).await;
    let deliveries: HashMap<String, u64> = wanted.into_iter().collect();
    match claimed {
        Ok(reply) => {
            let claimed: Vec<_> = reply
                .ids
                .into_iter()
                .map(|id| {
                    let n = deliveries.get(&id.id).copied().unwrap_or(2);
                    (id, n)
                })
                .collect();
            if !claimed.is_empty() {
                tracing::info!(
                    "claimed {} abandoned entries of {}",
                    claimed.len(),
                    inner.keys.work
                );
            }
            Claim::Entries(claimed)
        }
        Err(e) => {
            tracing::warn!("XCLAIM {} at {}: {e}", inner.keys.work, inner.address());
            Claim::Entries(Vec::new())
        }
    }
}

/// Dead-letters an entry delivered `max_deliveries` times, with the last error noted for its
/// task, if any.
async fn give_up(inner: &Inner, id: &str, consumer: &str, deliveries: u64) {
    let entry = fetch(inner, id).await;
    let task = entry
        .as_ref()
        .and_then(|e| stoq_redis_queue::text_of(&e.map, field::TASK));
    let request_meta = entry
        .as_ref()
        .and_then(|e| stoq_redis_queue::text_of(&e.map, field::REQUEST_META))
        .and_then(|t| serde_json::from_str(&t).ok());
    let last_error: Option<String> = match &task {
        Some(task) => redis::cmd("GET")
            .arg(inner.keys.last_error(task))
            .query_async(&mut inner.con.clone())
            .await
            .unwrap_or(None),
        None => None,
    };
    let reason = match last_error {
        Some(error) => {
            format!("delivered {deliveries} times without finishing; last error: {error}")
        }
        None => format!(
            "delivered {deliveries} times without finishing (last consumer: {consumer}); the payload may crash or hang its host"
        ),
    };
    dead_letter(
        inner,
        id,
        task.as_deref(),
        request_meta,
        deliveries,
        &reason,
        inner.settings.claim_idle,
    )
    .await;
}

async fn fetch(inner: &Inner, id: &str) -> Option<StreamId> {
    let range: RedisResult<redis::streams::StreamRangeReply> = redis::cmd("XRANGE")
        .arg(&inner.keys.work)
        .arg(id)
        .arg(id)
        .query_async(&mut inner.con.clone())
        .await;
    range.ok()?.ids.into_iter().next()
}

/// Moves an entry to the dead-letter stream with an error response (if this host wins it,
/// and unless its task already has a result).
async fn dead_letter(
    inner: &Inner,
    id: &str,
    task: Option<&str>,
    request_meta: Option<Value>,
    deliveries: u64,
    reason: &str,
    min_idle: Duration,
) {
    let task = task.unwrap_or(id);
    let response = serde_json::json!({
        "results": [],
        "request_meta": request_meta.unwrap_or_else(|| serde_json::to_value(RequestMeta::default()).unwrap_or_default()),
        "errors": [{"error": reason, "plugin_name": "redis", "payload_id": null}],
        "time": null,
        "decorators": {},
        "scan_id": task,
    })
    .to_string();
    let (response, done) = (&response, &inner.keys.done(task));
    let moved = retry(inner, "dead-lettering", PATIENCE, |mut c| async move {
        inner
            .dead_letter
            .key(&inner.keys.work)
            .key(&inner.keys.dead)
            .key(done)
            .arg(&inner.keys.group)
            .arg(&inner.settings.consumer)
            .arg(min_idle.as_millis() as u64)
            .arg(id)
            .arg(reason)
            .arg(response)
            .arg(deliveries)
            .arg(inner.settings.done_ttl.as_secs())
            .invoke_async::<i64>(&mut c)
            .await
    })
    .await;
    match moved {
        Ok(1) => tracing::error!("task {task} ({id}) moved to {}: {reason}", inner.keys.dead),
        Ok(2) => tracing::info!("task {task} ({id}) already had a result; finished it"),
        Ok(_) => {}
        Err(e) => tracing::error!(
            "cannot dead-letter {id} of {} at {}: {e}",
            inner.keys.work,
            inner.address()
        ),
    }
}

/// Hands entries back (shutdown): any host claims them at its next look.
async fn hand_back(inner: &Inner, ids: &[String]) {
    for id in ids {
        inner.held().remove(id);
        let id = id.as_str();
        let back = retry(
            inner,
            "handing back",
            Duration::from_secs(5),
            |mut c| async move {
                inner
                    .hand_back
                    .key(&inner.keys.work)
                    .arg(&inner.keys.group)
                    .arg(&inner.settings.consumer)
                    .arg(inner.settings.claim_idle.as_millis() as u64)
                    .arg(id)
                    .invoke_async::<i64>(&mut c)
                    .await
            },
        )
        .await;
        if let Err(e) = back {
            // Still pending: another host claims it after `claim_idle`.
            tracing::warn!(
                "cannot hand back {id} of {} at {}: {e}",
                inner.keys.work,
                inner.address()
            );
        }
    }
}

/// Keeps this host's entries claimed (idle time reset, delivery count unchanged) while their
/// scans run; entries another host has claimed meanwhile are left to it. Now and then,
/// forgets consumers that hold nothing and were idle for a day (dead hosts' names).
async fn heartbeat(inner: Arc<Inner>) {
    let mut beats: u64 = 0;
    loop {
        tokio::time::sleep(inner.settings.heartbeat).await;
        beats += 1;
        if beats % 360 == 1 {
            forget_idle_consumers(&inner).await;
        }
        let ids: Vec<String> = inner.held().keys().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        let mut invocation = inner.renew.key(&inner.keys.work);
        invocation
            .arg(&inner.keys.group)
            .arg(&inner.settings.consumer);
        for id in &ids {
            invocation.arg(id);
        }
        let lost: RedisResult<Vec<String>> = invocation.invoke_async(&mut inner.con.clone()).await;
        match lost {
            Ok(lost) if !lost.is_empty() => tracing::warn!(
                "{} entries of {} were claimed by other hosts (this host was too slow to renew them)",
                lost.len(),
                inner.keys.work
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("heartbeat at {}: {e}", inner.address()),
        }
    }
}

async fn forget_idle_consumers(inner: &Inner) {
    let reply: RedisResult<redis::streams::StreamInfoConsumersReply> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&inner.keys.work)
        .arg(&inner.keys.group)
        .query_async(&mut inner.con.clone())
        .await;
    let Ok(reply) = reply else {
        return;
    };
    for consumer in reply.consumers {
        if consumer.pending == 0
            && consumer.idle > 24 * 3600 * 1000
            && consumer.name != inner.settings.consumer
        {
            let _: RedisResult<i64> = redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(&inner.keys.work)
                .arg(&inner.keys.group)
                .arg(&consumer.name)
                .query_async(&mut inner.con.clone())
                .await;
        }
    }
}
