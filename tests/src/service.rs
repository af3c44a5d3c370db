//! Helpers for the service tests: a real `redis-server` on a unix socket in a temporary
//! folder (append-only persistence, stopped on drop), `stoq run` hosts as child processes, and
//! bounded waits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Waits until `done` holds, polling; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `child` to exit, at most `limit`; kills it and panics otherwise.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM to `child`.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM {} failed", child.id());
}

/// A `redis-server` of the test's own.
pub struct RedisServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
    appendfsync: &'static str,
}

impl RedisServer {
    /// Starts one (append-only file, fsync on every write) and waits until it answers.
    pub fn start() -> Self {
        Self::start_with_fsync("always")
    }

    /// Starts one whose append-only file is synced `always`, `everysec` (Redis's default) or
    /// `no`.
    pub fn start_with_fsync(appendfsync: &'static str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self {
            dir,
            child: None,
            appendfsync,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let dir = self.dir.path();
        let child = Command::new("redis-server")
            .arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir)
            .args(["--appendonly", "yes", "--appendfsync", self.appendfsync])
            .args(["--save", ""])
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (`apt-get install redis-server`; .ci/run does it)");
        self.child = Some(child);
        wait_until(Duration::from_secs(20), "redis-server to answer", || {
            self.try_connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).ok())
                .is_some()
        });
    }

    /// The socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The URL hosts and `stoq submit` use.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn try_connection(&self) -> Option<redis::Connection> {
        redis::Client::open(self.url()).ok()?.get_connection().ok()
    }

    /// A connection for assertions.
    pub fn connection(&self) -> redis::Connection {
        self.try_connection().expect("redis-server answers")
    }

    /// Runs one command and returns its reply as `T`.
    pub fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut self.connection())
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    /// Stops the server cleanly (SIGTERM: it writes what it has) and starts it again on the
    /// same socket and data.
    pub fn restart(&mut self) {
        let mut child = self.child.take().expect("running");
        terminate(&child);
        wait_exit(&mut child, Duration::from_secs(20), "redis-server");
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `stoq run` child whose stderr goes to a file (shown when a test fails).
pub struct Host {
    /// The process.
    pub child: Child,
    /// Its stderr.
    pub log: PathBuf,
}

impl Host {
    /// Starts `stoq run ARGS` with the test plugins available.
    pub fn start(log_dir: &Path, name: &str, args: &[String]) -> Self {
        let log = log_dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = crate::stoq()
            .arg("run")
            .arg("--plugin-dir")
            .arg(&crate::env().test_dir)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("stoq runs");
        Self { child, log }
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
