//! stoq's Redis Streams plugin: a provider and a connector, so that many `stoq run` hosts on
//! many machines share one queue and nothing is lost when one of them dies.
//!
//! ```text
//! stoq run -P redis -C redis -a hash --plugin-opts redis:url=redis://queue:6379 redis:blob_dir=/shared/blobs
//! ```
//!
//! Provider: reads the work stream (`<prefix>:work`) in the consumer group `<prefix>`, at most
//! as many entries as the host has free in-flight slots. An entry is acknowledged and deleted
//! only when the host reports its outcome as done (after every connector saved its response).
//! A heartbeat re-claims the entries this host holds, so a long scan keeps them; entries idle
//! longer than `claim_idle` (their host died) are claimed by another host; an entry delivered
//! `max_deliveries` times goes to `<prefix>:dead` with an error response instead of being
//! retried for ever. Entries handed back at shutdown are put back at the end of the stream.
//!
//! Connector: writes each response to `<prefix>:results` once per task (`scan_id`), however
//! often the task was delivered (a marker key `<prefix>:done:<task>` with a time to live).
//!
//! Options: `url` (default `redis://127.0.0.1:6379`; `redis+unix:///path` for a socket),
//! `prefix` (`stoq`), `consumer` (default: host name, process id and a random suffix),
//! `claim_idle` (seconds, 30), `heartbeat` (seconds, a third of `claim_idle`),
//! `max_deliveries` (3), `blob_dir` (the shared folder of payloads too large to go inline),
//! `max_size` (largest blob read, bytes, 4 GiB), `done_ttl` (seconds a result marker lives,
//! 7 days), `block` (milliseconds one read waits, 1000).

mod queue;

use std::path::PathBuf;
use std::time::Duration;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

pub use queue::Queue;

/// The plugin: one connection manager for commands, one for blocking reads.
pub struct RedisPlugin {
    queue: Queue,
}

/// The plugin's settings, from its options.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server.
    pub url: String,
    /// Key prefix.
    pub prefix: String,
    /// This host's consumer name.
    pub consumer: String,
    /// Entries idle this long are claimed by another host.
    pub claim_idle: Duration,
    /// How often this host re-claims the entries it holds.
    pub heartbeat: Duration,
    /// Deliveries after which an entry is dead-lettered.
    pub max_deliveries: u64,
    /// Where payloads too large for an entry are stored.
    pub blob_dir: Option<PathBuf>,
    /// Largest blob read.
    pub max_size: u64,
    /// How long a result marker lives.
    pub done_ttl: Duration,
    /// How long one read waits for new entries.
    pub block: Duration,
}

fn seconds(config: &PluginConfig, key: &str, default: f64) -> Result<Duration> {
    let value = config.get_float(key)?.unwrap_or(default);
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::msg(format!(
                "option `{key}`: expected a positive number of seconds, got {value}"
            ))
        })
}

fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "stoq".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &suffix[..8])
}

impl Settings {
    /// Reads and checks the options.
    pub fn from_config(config: &PluginConfig) -> Result<Self> {
        let claim_idle = seconds(config, "claim_idle", 30.0)?;
        let heartbeat = seconds(config, "heartbeat", claim_idle.as_secs_f64() / 3.0)?;
        if heartbeat >= claim_idle {
            return Err(Error::msg(
                "option `heartbeat` must be shorter than `claim_idle`, or live hosts lose their entries",
            ));
        }
        let max_deliveries = config.get_int("max_deliveries")?.unwrap_or(3);
        let max_deliveries = u64::try_from(max_deliveries)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::msg("option `max_deliveries`: expected at least 1"))?;
        let positive = |key: &str, default: i64| -> Result<u64> {
            let value = config.get_int(key)?.unwrap_or(default);
            u64::try_from(value).ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::msg(format!(
                    "option `{key}`: expected a positive number, got {value}"
                ))
            })
        };
        Ok(Self {
            url: config
                .get_str("url")?
                .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned()),
            prefix: config
                .get_str("prefix")?
                .unwrap_or_else(|| "stoq".to_owned()),
            consumer: config.get_str("consumer")?.unwrap_or_else(default_consumer),
            claim_idle,
            heartbeat,
            max_deliveries,
            blob_dir: config.get_str("blob_dir")?.map(PathBuf::from),
            max_size: positive("max_size", 4 << 30)?,
            done_ttl: Duration::from_secs(positive("done_ttl", 7 * 24 * 3600)?),
            block: Duration::from_millis(positive("block", 1000)?),
        })
    }
}

impl Plugin for RedisPlugin {
    const INFO: PluginInfo = PluginInfo::new("redis", env!("CARGO_PKG_VERSION"))
        .description("Redis Streams provider and connector: many hosts, one queue, nothing lost");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let settings = Settings::from_config(config)?;
        Ok(Self {
            queue: Queue::connect(settings)?,
        })
    }
}

impl Provider for RedisPlugin {
    fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
        self.queue.ingest(sink)
    }

    fn outcome(&self, outcome: &ItemOutcome) {
        self.queue.outcome(outcome);
    }

    fn stop(&self) {
        self.queue.stop();
    }
}

impl Connector for RedisPlugin {
    fn save(&self, response: &Value) -> Result<()> {
        self.queue.save(response)
    }
}

stoq_plugin_abi::export_plugin!(RedisPlugin => provider, connector);
