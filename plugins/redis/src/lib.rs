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

/// `value` seconds of option `key`, which must be positive.
fn seconds(key: &str, value: f64) -> Result<Duration> {
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
        let claim_idle = seconds("claim_idle", config.float("claim_idle")?)?;
        let heartbeat = config
            .get_float("heartbeat")?
            .unwrap_or(claim_idle.as_secs_f64() / 3.0);
        let heartbeat = seconds("heartbeat", heartbeat)?;
        if heartbeat >= claim_idle {
            return Err(Error::msg(
                "option `heartbeat` must be shorter than `claim_idle`, or live hosts lose their entries",
            ));
        }
        let max_deliveries = config.int("max_deliveries")?;
        let max_deliveries = u64::try_from(max_deliveries)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::msg("option `max_deliveries`: expected at least 1"))?;
        let positive = |key: &str| -> Result<u64> {
            let value = config.int(key)?;
            u64::try_from(value).ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::msg(format!(
                    "option `{key}`: expected a positive number, got {value}"
                ))
            })
        };
        Ok(Self {
            url: config.string("url")?,
            prefix: config.string("prefix")?,
            consumer: config.get_str("consumer")?.unwrap_or_else(default_consumer),
            claim_idle,
            heartbeat,
            max_deliveries,
            blob_dir: config.get_str("blob_dir")?.map(PathBuf::from),
            max_size: positive("max_size")?,
            done_ttl: Duration::from_secs(positive("done_ttl")?),
            block: Duration::from_millis(positive("block")?),
        })
    }
}

impl Plugin for RedisPlugin {
    const INFO: PluginInfo = PluginInfo::new("redis", env!("CARGO_PKG_VERSION"))
        .description("Redis Streams provider and connector: many hosts, one queue, nothing lost")
        .options(&[
            OptionSpec::string("url", "redis://127.0.0.1:6379")
                .doc("The Redis server (redis+unix:///path for a socket)"),
            OptionSpec::string("prefix", "stoq").doc("The prefix of the queue's keys"),
            OptionSpec::string("consumer", "")
                .optional()
                .doc("This host's consumer name (default: host name, process id, random suffix)"),
            OptionSpec::float("claim_idle", 30.0)
                .doc("Seconds after which another host claims an entry (its host died)"),
            OptionSpec::float("heartbeat", 0.0).optional().doc(
                "Seconds between two renewals of this host's entries (default: claim_idle / 3)",
            ),
            OptionSpec::int("max_deliveries", 3)
                .doc("Deliveries after which an entry goes to the dead-letter stream"),
            OptionSpec::string("blob_dir", "")
                .optional()
                .doc("The shared folder of payloads too large to go inline"),
            OptionSpec::int("max_size", 4 << 30).doc("Largest blob read, in bytes"),
            OptionSpec::int("done_ttl", 7 * 24 * 3600)
                .doc("Seconds a task's result marker lives (a redelivery within it saves nothing)"),
            OptionSpec::int("block", 1000).doc("Milliseconds one read waits for new entries"),
        ]);

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

#[cfg(test)]
mod tests {
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use stoq_plugin_abi::serde_json::{self, json};
    use stoq_plugin_abi::testing::{PluginTest, TestError};
    use stoq_redis_queue::{Body, Entry, Keys};

    use super::*;

    /// The plugin with these options.
    fn redis(options: Value) -> PluginTest<RedisPlugin> {
        let Value::Object(map) = options else {
            panic!("options must be an object")
        };
        map.into_iter()
            .fold(PluginTest::new(), |test, (key, value)| {
                test.option(key, value)
            })
    }

    /// The configuration error `options` give.
    fn rejected(options: Value) -> String {
        match redis(options.clone()).start() {
            Err(TestError::Config(message)) => message,
            other => panic!("{options}: expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn bad_options_are_rejected_naming_the_option() {
        // All checked before connecting: no server needed.
        for (options, key) in [
            (json!({"claim_idle": 0}), "claim_idle"),
            (json!({"claim_idle": "soon"}), "claim_idle"),
            (json!({"heartbeat": -1}), "heartbeat"),
            // The default claim_idle is 30 s.
            (json!({"heartbeat": 30}), "heartbeat"),
            (json!({"claim_idle": 3, "heartbeat": "5"}), "heartbeat"),
            (json!({"max_deliveries": 0}), "max_deliveries"),
            (json!({"max_deliveries": "three"}), "max_deliveries"),
            (json!({"max_size": 0}), "max_size"),
            (json!({"done_ttl": -5}), "done_ttl"),
            (json!({"block": 1.5}), "block"),
            (json!({"url": ["a", "b"]}), "url"),
        ] {
            let err = rejected(options.clone());
            assert!(err.contains(&format!("`{key}`")), "{options}: {err}");
        }
    }

    #[test]
    fn an_unreachable_server_is_a_configuration_error_naming_it() {
        let err = rejected(json!({"url": "redis://user:secret@127.0.0.1:1"}));
        assert!(
            err.starts_with("cannot reach Redis at redis://user:***@127.0.0.1:1"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
        let err = rejected(json!({"url": "no scheme"}));
        assert!(err.contains("`url`"), "{err}");
    }

    /// A `redis-server` of the test's own on a unix socket, killed on drop.
    struct Server {
        dir: tempfile::TempDir,
        child: Child,
    }

    impl Server {
        fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let child = Command::new("redis-server")
                .args(["--port", "0", "--unixsocket"])
                .arg(dir.path().join("redis.sock"))
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "redis-server is installed (`apt-get install redis-server`; .ci/run does it)",
                );
            let server = Self { dir, child };
            let start = Instant::now();
            while server.try_connection().is_none() {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "redis-server never answered"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            server
        }

        fn url(&self) -> String {
            format!(
                "redis+unix://{}",
                self.dir.path().join("redis.sock").display()
            )
        }

        fn try_connection(&self) -> Option<redis::Connection> {
            let mut con = redis::Client::open(self.url())
                .ok()?
                .get_connection()
                .ok()?;
            redis::cmd("PING").query::<String>(&mut con).ok()?;
            Some(con)
        }

        fn connection(&self) -> redis::Connection {
            self.try_connection().expect("redis-server answers")
        }

        /// The plugin on this server, queue prefix `t`.
        fn plugin(&self) -> PluginTest<RedisPlugin> {
            redis(json!({"url": self.url(), "prefix": "t", "consumer": "test-host", "block": 100}))
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Submits an inline entry, as `stoq submit` does; returns its stream id and its task.
    fn submit(con: &mut redis::Connection, content: &[u8], filename: &str) -> (String, String) {
        let entry = Entry::new(
            json!({"extra_data": {"filename": filename}}),
            None,
            Body::Inline(content.to_vec()),
        );
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&Keys::new("t").work).arg("*");
        for (name, value) in entry.to_fields() {
            cmd.arg(name).arg(value);
        }
        (cmd.query(con).unwrap(), entry.task)
    }

    /// The item the provider puts for an entry.
    fn item(id: &str, task: &str, content: &[u8], filename: &str, deliveries: u64) -> IngestItem {
        let queue = json!({"entry": id, "deliveries": deliveries, "consumer": "test-host"});
        IngestItem::payload(content.to_vec())
            .with_id(id)
            .with_scan_id(task)
            .with_payload_meta(PayloadMeta::new().with_extra("filename", filename))
            .with_request_meta(RequestMeta::new().with_extra("stoq_queue", queue))
    }

    #[test]
    fn entries_are_put_acknowledged_when_done_and_handed_back_at_shutdown() {
        let server = Server::start();
        let mut con = server.connection();
        let keys = Keys::new("t");
        let (one, one_task) = submit(&mut con, b"one", "1.txt");
        let (two, two_task) = submit(&mut con, b"two", "2.txt");
        let (three, _) = submit(&mut con, b"three", "3.txt");

        // The host takes one item, then shuts down: the others go back.
        let plugin = server.plugin();
        let items = plugin.ingest_at_most(1).unwrap();
        assert_eq!(items, [item(&one, &one_task, b"one", "1.txt", 1)]);
        plugin
            .outcome(&ItemOutcome::new(&one, ItemStatus::Done))
            .unwrap();
        plugin.stop().unwrap();
        let left: Vec<String> = redis::cmd("XRANGE")
            .arg(&keys.work)
            .arg("-")
            .arg("+")
            .query::<redis::streams::StreamRangeReply>(&mut con)
            .unwrap()
            .ids
            .into_iter()
            .map(|entry| entry.id)
            .collect();
        assert_eq!(left, [two.clone(), three]);

        // Handed back: delivered again at once, to any host, counted.
        let plugin = server.plugin();
        let items = plugin.ingest_at_most(1).unwrap();
        assert_eq!(items, [item(&two, &two_task, b"two", "2.txt", 2)]);
        // A failure is noted for the entry's dead letter; the entry stays for another try.
        let failed = ItemOutcome::new(&two, ItemStatus::Failed).with_error("connector down");
        plugin.outcome(&failed).unwrap();
        let noted: Option<String> = redis::cmd("GET")
            .arg(keys.last_error(&two_task))
            .query(&mut con)
            .unwrap();
        assert_eq!(noted.as_deref(), Some("connector down"));
        let length: usize = redis::cmd("XLEN").arg(&keys.work).query(&mut con).unwrap();
        assert_eq!(length, 2);
    }

    #[test]
    fn save_writes_one_result_per_task() {
        let server = Server::start();
        let mut con = server.connection();
        let plugin = server.plugin();
        let response = json!({"scan_id": "task-1", "results": [], "errors": []});
        plugin.save(&response).unwrap();
        // Delivered twice, saved twice: one result.
        plugin.save(&response).unwrap();
        let results: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&Keys::new("t").results)
            .arg("-")
            .arg("+")
            .query(&mut con)
            .unwrap();
        assert_eq!(results.ids.len(), 1);
        let fields = &results.ids[0].map;
        let text = |name: &str| stoq_redis_queue::text_of(fields, name).unwrap_or_default();
        assert_eq!(text("task"), "task-1");
        let saved: Value = serde_json::from_str(&text("response")).unwrap();
        assert_eq!(saved, response);

        let err = plugin.save(&json!({"results": []})).unwrap_err();
        assert!(
            matches!(&err, TestError::Failed(m) if m.contains("scan_id")),
            "{err:?}"
        );
    }
}
