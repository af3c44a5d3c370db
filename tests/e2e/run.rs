//! `stoq run`: providers feed items, each item is one request, and every provider learns what
//! became of its items (stoQ's provider tests, plus outcomes, backpressure and signals).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stoq_tests::{env, errors, stderr, stoq, workers_run};

/// The longest any `stoq run` here may take before the test kills it and fails.
const WAIT: Duration = Duration::from_secs(90);

const IMPORTANT_STUFF_SHA256: &str =
    "ea601f78ddcb1ffa92e32cdea75cae85ff63619d51ce0af2846346c4ff8ab603";
const ARCHIVER_PAYLOAD_SHA256: &str =
    "ed1203fd3d96481f9371cabd16c7ea6282c533b891957aadb8f712b1cbc75fe7";

/// A finished `stoq run`.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A running `stoq run`, killed if the test drops it early.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Running {
    /// Starts `stoq run ARGS` with the test plugins available.
    fn spawn(args: &[&str]) -> Self {
        let mut child = stoq()
            .arg("run")
            .arg("--plugin-dir")
            .arg(&env().test_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stoq starts");
        let mut out = child.stdout.take().expect("stdout");
        let (out_tx, out_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            let _ = out_tx.send(buf);
        });
        let err = child.stderr.take().expect("stderr");
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdout: out_rx,
            stderr: err_rx,
            stderr_seen: Vec::new(),
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal (`TERM`, `INT`) with `kill`.
    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// Reads stderr until a line contains `needle`; panics (killing stoq) after [`WAIT`].
    fn wait_for_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.kill();
        panic!(
            "stoq never logged `{needle}`; stderr:\n{}",
            self.stderr_seen.join("\n")
        );
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for stoq to exit, at most `limit`; kills it and panics after that.
    fn finish_within(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if Instant::now() >= deadline => {
                    self.kill();
                    let stderr = self.drain_stderr();
                    panic!("stoq run did not exit within {limit:?}; stderr:\n{stderr}");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let stdout = self
            .stdout
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        let stderr = self.drain_stderr();
        Finished {
            status,
            stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
            stderr,
        }
    }

    fn finish(self) -> Finished {
        self.finish_within(WAIT)
    }

    /// Everything stoq wrote on stderr (it has exited, or was killed).
    fn drain_stderr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.stderr_seen.push(line),
                Err(_) => break,
            }
        }
        self.stderr_seen.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Runs `stoq run ARGS` to the end.
fn stoq_run(args: &[&str]) -> Finished {
    Running::spawn(args).finish()
}

/// Like [`stoq_run`], asserting exit status 0.
fn stoq_run_ok(args: &[&str]) -> Finished {
    let done = stoq_run(args);
    assert!(
        done.status.success(),
        "stoq run {args:?} failed with {}:\n{}",
        done.status,
        done.stderr
    );
    done
}

/// A temporary directory with the files a run writes.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where `file_connector` saves responses.
    fn responses_path(&self) -> PathBuf {
        self.path("responses.ndjson")
    }

    /// Where `simple_provider` records outcomes.
    fn outcomes_path(&self) -> PathBuf {
        self.path("outcomes.ndjson")
    }

    /// `file_connector:path=…`.
    fn connector_opt(&self) -> String {
        format!("file_connector:path={}", self.responses_path().display())
    }

    /// `simple_provider:outcomes_path=…`.
    fn outcomes_opt(&self) -> String {
        format!(
            "simple_provider:outcomes_path={}",
            self.outcomes_path().display()
        )
    }

    fn responses(&self) -> Vec<Value> {
        ndjson(&self.responses_path())
    }

    fn outcomes(&self) -> Vec<Value> {
        ndjson(&self.outcomes_path())
    }
}

/// The JSON lines of a file; none when it does not exist.
fn ndjson(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{} holds a bad JSON line ({e}): {line}", path.display())
            })
        })
        .collect()
}

fn scan_ids(responses: &[Value]) -> BTreeSet<String> {
    responses
        .iter()
        .map(|r| r["scan_id"].as_str().expect("scan_id").to_owned())
        .collect()
}

fn ids(outcomes: &[Value]) -> BTreeSet<String> {
    outcomes
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect()
}

fn item_ids(count: usize) -> BTreeSet<String> {
    (0..count).map(|i| format!("item-{i}")).collect()
}

// stoQ test 46: a provider feeds one payload, a connector saves its response.
#[test]
fn a_provider_feeds_a_connector() {
    let files = Files::new();
    let connector = files.connector_opt();
    let done = stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-a",
        "hash",
        "-C",
        "file_connector",
        "--plugin-opts",
        &connector,
    ]);
    assert!(
        done.stdout.is_empty(),
        "with a connector nothing is printed"
    );
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let results = responses[0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    let root = &results[0];
    assert_eq!(root["size"], 15);
    assert_eq!(root["workers"]["hash"]["sha256"], IMPORTANT_STUFF_SHA256);
    assert!(errors(&responses[0]).is_empty(), "{:?}", responses[0]);
}

// stoQ test 47.
#[test]
fn no_providers_is_a_usage_error() {
    let done = stoq_run(&["-a", "hash"]);
    assert_eq!(done.status.code(), Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("provider"), "{}", done.stderr);
    assert!(done.stdout.is_empty());
}

#[test]
fn an_unknown_provider_is_reported() {
    let done = stoq_run(&["-P", "no_such_provider"]);
    assert_eq!(done.status.code(), Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("no_such_provider"), "{}", done.stderr);
}

// stoQ test 48.
#[test]
fn two_providers_give_two_responses() {
    let files = Files::new();
    let connector = files.connector_opt();
    stoq_run_ok(&[
        "-P",
        "simple_provider,request_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 2, "{responses:?}");
    let sizes: BTreeSet<u64> = responses
        .iter()
        .map(|r| r["results"][0]["size"].as_u64().expect("size"))
        .collect();
    assert_eq!(
        sizes,
        BTreeSet::from([13, 15]),
        "Dummy payload and Important stuff"
    );
    assert_eq!(scan_ids(&responses).len(), 2, "one request per item");
}

// stoQ test 49: a provider that fails does not stop the others.
#[test]
fn a_failing_provider_is_reported_and_the_others_go_on() {
    let files = Files::new();
    let connector = files.connector_opt();
    let done = stoq_run(&[
        "-P",
        "simple_provider,request_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:raise_exception=true",
        &connector,
    ]);
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(done.stderr.contains("simple_provider"), "{}", done.stderr);
    assert!(
        done.stderr.contains("Test exception, please ignore"),
        "{}",
        done.stderr
    );
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(responses[0]["results"][0]["size"], 13);
    assert_eq!(responses[0]["request_meta"]["extra_data"]["dummy"], "1");
}

// stoQ test 50: a task is fetched by the source archiver it names.
#[test]
fn a_task_is_resolved_by_its_source_archiver() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-S",
        "simple_archiver",
        "-a",
        "hash",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:return_payload=false",
        &outcomes,
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let root = &responses[0]["results"][0];
    assert_eq!(root["size"], 35);
    assert_eq!(root["workers"]["hash"]["sha256"], ARCHIVER_PAYLOAD_SHA256);
    assert_eq!(
        root["payload_meta"]["extra_data"]["task"],
        "This is a task from provider"
    );
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0]["id"], "item-0");
    assert_eq!(outcomes[0]["status"], "done");
    assert_eq!(outcomes[0]["scan_id"], responses[0]["scan_id"]);
}

#[test]
fn a_task_without_its_source_archiver_fails() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    let done = stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:return_payload=false",
        &outcomes,
        &connector,
    ]);
    assert!(files.responses().is_empty(), "nothing was scanned");
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}\n{}", done.stderr);
    assert_eq!(outcomes[0]["id"], "item-0");
    assert_eq!(outcomes[0]["status"], "failed");
    let error = outcomes[0]["error"].as_str().expect("an error");
    assert!(error.contains("simple_archiver"), "{error}");
    assert!(outcomes[0]["scan_id"].is_null(), "no request ran");
}

#[test]
fn a_source_archiver_that_finds_nothing_or_fails_fails_the_item() {
    for (knob, expected) in [
        ("simple_archiver:return_nothing=true", "simple_archiver"),
        (
            "simple_archiver:raise_exception=true",
            "Test exception please ignore",
        ),
    ] {
        let files = Files::new();
        let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
        stoq_run_ok(&[
            "-P",
            "simple_provider",
            "-S",
            "simple_archiver",
            "-C",
            "file_connector",
            "--plugin-opts",
            "simple_provider:return_payload=false",
            knob,
            &outcomes,
            &connector,
        ]);
        assert!(files.responses().is_empty(), "{knob}: nothing was scanned");
        let outcomes = files.outcomes();
        assert_eq!(outcomes.len(), 1, "{knob}: {outcomes:?}");
        assert_eq!(outcomes[0]["status"], "failed", "{knob}");
        let error = outcomes[0]["error"].as_str().expect("an error");
        assert!(error.contains(expected), "{knob}: {error}");
    }
}

// stoQ test 51.
#[test]
fn start_dispatch_runs_on_each_root() {
    let files = Files::new();
    let connector = files.connector_opt();
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-s",
        "simple_worker",
        "-C",
        "file_connector",
        "--plugin-opts",
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let results = responses[0]["results"].as_array().expect("results");
    assert_eq!(workers_run(&results[0]), ["simple_worker"]);
    assert_eq!(
        results[0]["workers"]["simple_worker"]["valuable_insight"],
        "wow"
    );
    assert_eq!(results.len(), 2, "simple_worker extracted Lorem ipsum");
    assert!(
        workers_run(&results[1]).is_empty(),
        "start-dispatch is for the root only"
    );
}

// stoQ test 52: a provider's own request metadata wins over the run's.
#[test]
fn a_providers_request_meta_is_kept() {
    let files = Files::new();
    let connector = files.connector_opt();
    stoq_run_ok(&[
        "-P",
        "request_provider",
        "-C",
        "file_connector",
        "--request-extra",
        "x=y",
        "--plugin-opts",
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let meta = &responses[0]["request_meta"];
    assert_eq!(meta["extra_data"]["dummy"], "1");
    assert!(
        meta["extra_data"].get("x").is_none(),
        "the provider's meta replaces the run's: {meta}"
    );
}

#[test]
fn without_its_own_request_meta_an_item_gets_the_runs() {
    let files = Files::new();
    let connector = files.connector_opt();
    stoq_run_ok(&[
        "-P",
        "request_provider",
        "-C",
        "file_connector",
        "--request-source",
        "the-queue",
        "--request-extra",
        "x=y",
        "--plugin-opts",
        "request_provider:specify_request_meta=false",
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let meta = &responses[0]["request_meta"];
    assert_eq!(meta["source"], "the-queue");
    assert_eq!(meta["extra_data"]["x"], "y");
    assert!(meta["extra_data"].get("dummy").is_none(), "{meta}");
}

#[test]
fn every_item_gets_a_done_outcome_with_its_scan_id() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:count=5",
        &outcomes,
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 5);
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 5, "one outcome per item: {outcomes:?}");
    assert_eq!(ids(&outcomes), item_ids(5));
    let response_ids = scan_ids(&responses);
    assert_eq!(response_ids.len(), 5);
    let outcome_ids: BTreeSet<String> = outcomes
        .iter()
        .map(|o| {
            assert_eq!(o["status"], "done", "{o}");
            assert!(o["error"].is_null(), "{o}");
            o["scan_id"].as_str().expect("scan_id").to_owned()
        })
        .collect();
    assert_eq!(outcome_ids, response_ids, "each outcome names its response");
}

#[test]
fn items_without_ids_get_ids_from_the_host() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:count=3",
        "simple_provider:with_ids=false",
        &outcomes,
        &connector,
    ]);
    assert_eq!(files.responses().len(), 3);
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    let ids = ids(&outcomes);
    assert_eq!(ids.len(), 3, "distinct ids: {ids:?}");
    assert!(
        ids.iter().all(|id| id.starts_with("simple_provider:")),
        "{ids:?}"
    );
    assert!(
        outcomes.iter().all(|o| o["status"] == "done"),
        "{outcomes:?}"
    );
}

#[test]
fn a_failing_connector_fails_the_item() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    let done = stoq_run_ok(&[
        "-P",
        "simple_provider",
        "-C",
        "file_connector",
        "--plugin-opts",
        "file_connector:fail=true",
        &outcomes,
        &connector,
    ]);
    assert!(files.responses().is_empty());
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}\n{}", done.stderr);
    assert_eq!(outcomes[0]["id"], "item-0");
    assert_eq!(outcomes[0]["status"], "failed");
    let error = outcomes[0]["error"].as_str().expect("an error");
    assert!(error.contains("file_connector"), "{error}");
    assert!(error.contains("Test exception, please ignore"), "{error}");
    assert!(
        outcomes[0]["scan_id"].is_string(),
        "the request ran: {}",
        outcomes[0]
    );
}

#[test]
fn without_connectors_each_response_is_one_stdout_line() {
    let done = stoq_run_ok(&[
        "-P",
        "simple_provider",
        "--plugin-opts",
        "simple_provider:count=3",
    ]);
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", done.stdout);
    let responses: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("one JSON response per line"))
        .collect();
    for response in &responses {
        assert_eq!(response["results"][0]["size"], 15);
    }
    assert_eq!(scan_ids(&responses).len(), 3);
}

#[test]
fn a_full_host_blocks_its_provider_and_loses_nothing() {
    let files = Files::new();
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "--max-in-flight",
        "2",
        "--jobs",
        "8",
        "-a",
        "slow_worker",
        "-C",
        "file_connector",
        "--plugin-opts",
        "simple_provider:count=50",
        "simple_provider:payload_size=1000",
        "slow_worker:seconds=0.01",
        &outcomes,
        &connector,
    ]);
    let responses = files.responses();
    assert_eq!(responses.len(), 50);
    for response in &responses {
        let root = &response["results"][0];
        assert_eq!(root["size"], 1000);
        let concurrent = root["workers"]["slow_worker"]["max_concurrent"]
            .as_u64()
            .expect("slow_worker ran");
        assert!(
            concurrent <= 2,
            "at most 2 items in flight, but {concurrent} scans ran at once"
        );
    }
    let outcomes = files.outcomes();
    assert_eq!(ids(&outcomes), item_ids(50));
    assert!(
        outcomes.iter().all(|o| o["status"] == "done"),
        "{outcomes:?}"
    );
}

/// Starts a provider that puts 3 items and never returns, scanned by `slow_worker` for
/// `seconds`; returns once every item was put.
fn start_stuck_run(files: &Files, seconds: &str, extra: &[&str]) -> Running {
    let (connector, outcomes) = (files.connector_opt(), files.outcomes_opt());
    let ready = files.path("ready");
    let ready_opt = format!("simple_provider:ready_path={}", ready.display());
    let slow = format!("slow_worker:seconds={seconds}");
    let mut args = vec![
        "-P",
        "simple_provider",
        "-a",
        "slow_worker",
        "--jobs",
        "4",
        "-C",
        "file_connector",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--plugin-opts",
        "simple_provider:count=3",
        "simple_provider:wait_for_stop=true",
        &ready_opt,
        &slow,
        &outcomes,
        &connector,
    ]);
    let mut running = Running::spawn(&args);
    let deadline = Instant::now() + WAIT;
    while !ready.exists() {
        if Instant::now() >= deadline || matches!(running.child.try_wait(), Ok(Some(_))) {
            running.kill();
            panic!(
                "the provider never put its items; stderr:\n{}",
                running.drain_stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The items were put; let the host reach its signal handling.
    std::thread::sleep(Duration::from_millis(300));
    running
}

#[test]
fn sigterm_finishes_the_items_in_flight_and_exits_0() {
    let files = Files::new();
    let running = start_stuck_run(&files, "1", &[]);
    running.signal("TERM");
    let done = running.finish();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let outcomes = files.outcomes();
    assert_eq!(ids(&outcomes), item_ids(3), "no item lost: {outcomes:?}");
    assert_eq!(outcomes.len(), 3, "one outcome per item: {outcomes:?}");
    let finished = outcomes.iter().filter(|o| o["status"] == "done").count();
    assert!(
        outcomes
            .iter()
            .all(|o| o["status"] == "done" || o["status"] == "returned"),
        "{outcomes:?}"
    );
    assert_eq!(
        files.responses().len(),
        finished,
        "a response was saved for each done item"
    );
}

#[test]
fn sigint_after_the_grace_period_hands_the_items_back() {
    let files = Files::new();
    let running = start_stuck_run(&files, "300", &["--grace-period", "0.5"]);
    running.signal("INT");
    let done = running.finish();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert_eq!(ids(&outcomes), item_ids(3), "no item lost: {outcomes:?}");
    for outcome in &outcomes {
        assert_eq!(outcome["status"], "returned", "{outcome}");
        assert!(outcome["error"].is_string(), "{outcome}");
    }
    assert!(files.responses().is_empty());
}

#[test]
fn a_second_signal_exits_130_at_once() {
    let files = Files::new();
    let mut running = start_stuck_run(&files, "300", &[]);
    running.signal("TERM");
    running.wait_for_stderr("taking no more items");
    running.signal("TERM");
    let done = running.finish();
    assert_eq!(done.status.code(), Some(130), "{}", done.stderr);
    assert!(files.responses().is_empty());
}

#[test]
fn a_response_that_cannot_be_printed_fails_its_item() {
    let files = Files::new();
    let outcomes = files.outcomes_opt();
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = stoq()
        .args(["run", "-P", "simple_provider", "--plugin-dir"])
        .arg(&env().test_dir)
        .args(["--plugin-opts", &outcomes])
        .stdout(full)
        .output()
        .expect("stoq runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let outcomes = files.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes[0]["status"], "failed",
        "nothing was saved anywhere"
    );
    assert!(
        outcomes[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("stdout")
    );
}

#[test]
fn the_provider_is_stopped_after_its_last_outcome() {
    let files = Files::new();
    let stopped = files.path("stopped");
    stoq_run_ok(&[
        "-P",
        "simple_provider",
        "--plugin-opts",
        "simple_provider:count=4",
        &format!("simple_provider:stopped_path={}", stopped.display()),
    ]);
    let seen = std::fs::read_to_string(&stopped).expect("stop was called");
    assert_eq!(seen, "4", "stop comes after every outcome");
}
