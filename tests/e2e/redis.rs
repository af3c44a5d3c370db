//! `stoq run -P redis -C redis` hosts sharing one real redis-server: nothing lost when a host
//! is killed, a poison payload dead-lettered, SIGTERM and a Redis restart survived, and
//! `stoq submit --wait`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use redis::streams::StreamRangeReply;
use serde_json::Value;
use stoq_tests::service::{Host, RedisServer, terminate, wait_exit, wait_until};
use stoq_tests::{stderr, stoq};

const LONG: Duration = Duration::from_secs(180);

/// Writes `count` files into `dir`; every tenth is 8 KiB (above a 4 KiB inline limit).
fn payloads(dir: &Path, count: usize, marker: Option<(usize, &str)>) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let mut content = format!("payload number {i}\n").into_bytes();
        if i % 10 == 0 {
            content.resize(8192, b'x');
        }
        if let Some((at, text)) = marker
            && at == i
        {
            content.extend_from_slice(text.as_bytes());
        }
        std::fs::write(dir.join(format!("p{i:04}.bin")), content).unwrap();
    }
}

/// `stoq submit DIR`: the task ids it printed, by file name.
fn submit(server: &RedisServer, dir: &Path, blobs: &Path) -> HashMap<String, String> {
    let output = stoq()
        .args(["submit", dir.to_str().unwrap(), "--to", &server.url()])
        .args(["--inline-max", "4K", "--blob-dir", blobs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "submit failed: {}",
        stderr(&output)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (task, path) = line.split_once('\t').expect("task<TAB>path");
            let name = Path::new(path).file_name().unwrap().to_str().unwrap();
            (task.to_owned(), name.to_owned())
        })
        .collect()
}

/// The arguments of a host named `name`.
fn host_args(server: &RedisServer, blobs: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-P",
        "redis",
        "-C",
        "redis",
        "--jobs",
        "2",
        "--plugin-opts",
        &format!("redis:url={}", server.url()),
        &format!("redis:consumer={name}"),
        "redis:claim_idle=2",
        "redis:heartbeat=0.5",
        &format!("redis:blob_dir={}", blobs.display()),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// One result or dead letter.
struct Entry {
    task: String,
    deliveries: u64,
    response: Value,
    error: Option<String>,
}

fn entries(server: &RedisServer, stream: &str) -> Vec<Entry> {
    let reply: StreamRangeReply = server.query(&["XRANGE", stream, "-", "+"]);
    reply
        .ids
        .iter()
        .map(|e| {
            let text = |k: &str| e.get::<String>(k);
            Entry {
                task: text("task").expect("task field"),
                deliveries: text("deliveries").and_then(|d| d.parse().ok()).unwrap_or(0),
                response: serde_json::from_str(&text("response").expect("response field"))
                    .expect("response is JSON"),
                error: text("error"),
            }
        })
        .collect()
}

fn pending(server: &RedisServer) -> usize {
    let summary: redis::Value = server.query(&["XPENDING", "stoq:work", "stoq"]);
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        },
        _ => 0,
    }
}

fn pending_of(server: &RedisServer, consumer: &str) -> usize {
    let reply: Vec<redis::Value> =
        server.query(&["XPENDING", "stoq:work", "stoq", "-", "+", "1000", consumer]);
    reply.len()
}

fn xlen(server: &RedisServer, stream: &str) -> usize {
    server.query(&["XLEN", stream])
}

/// Waits until nothing is pending, then checks that every task has exactly one result and
/// nothing was dead-lettered; returns the results.
fn each_task_once(server: &RedisServer, tasks: &HashMap<String, String>) -> Vec<Entry> {
    wait_until(Duration::from_secs(30), "nothing pending", || {
        pending(server) == 0
    });
    let results = entries(server, "stoq:results");
    let done: HashSet<_> = results.iter().map(|r| r.task.clone()).collect();
    assert_eq!(results.len(), tasks.len(), "one result per task");
    assert_eq!(done, tasks.keys().cloned().collect::<HashSet<_>>());
    assert_eq!(xlen(server, "stoq:dead"), 0, "nothing dead-lettered");
    assert_eq!(xlen(server, "stoq:work"), 0, "finished entries are deleted");
    results
}

fn stop_all(hosts: Vec<Host>) {
    for (i, host) in hosts.into_iter().enumerate() {
        stop(host, &format!("host {i}"));
    }
}

fn stop(mut host: Host, what: &str) {
    terminate(&host.child);
    let status = wait_exit(&mut host.child, Duration::from_secs(60), what);
    assert!(
        status.success(),
        "{what} exited with {status}:\n{}",
        host.stderr()
    );
}

#[test]
fn a_killed_host_loses_nothing() {
    let server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 200, None);
    let tasks = submit(&server, &inputs, &blobs);
    assert_eq!(tasks.len(), 200);
    let slow = [
        "-a",
        "slow_worker",
        "--max-in-flight",
        "8",
        "--plugin-opts",
        "slow_worker:seconds=0.05",
    ];
    let start = |i: usize| {
        let name = format!("host{i}");
        Host::start(
            work.path(),
            &name,
            &host_args(&server, &blobs, &name, &slow),
        )
    };
    // host0 first, so that it surely holds entries when it is killed.
    let mut hosts = vec![start(0)];
    wait_until(LONG, "host0 to hold entries", || {
        pending_of(&server, "host0") >= 4
    });
    hosts.extend([start(1), start(2)]);
    let mut victim = hosts.remove(0);
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    wait_until(LONG, "200 results", || xlen(&server, "stoq:results") >= 200);
    let results = each_task_once(&server, &tasks);
    for r in &results {
        assert_eq!(r.response["scan_id"], r.task.as_str());
        let name = &tasks[&r.task];
        assert_eq!(
            r.response["results"][0]["payload_meta"]["extra_data"]["filename"],
            name.as_str()
        );
        if name.ends_with("0.bin") {
            assert_eq!(
                r.response["results"][0]["size"], 8192,
                "{name} went by reference"
            );
        }
    }
    assert!(
        results.iter().any(|r| r.deliveries >= 2),
        "at least one task was delivered again after the kill"
    );
    stop_all(hosts);
}

#[test]
fn a_payload_that_kills_its_host_is_dead_lettered() {
    let server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 30, Some((7, "POISON")));
    let tasks = submit(&server, &inputs, &blobs);
    let poison = tasks
        .iter()
        .find(|(_, name)| name.as_str() == "p0007.bin")
        .map(|(task, _)| task.clone())
        .unwrap();
    let crash = [
        "-a",
        "crash_worker",
        // Innocent entries share the poison's host: suspects run alone, so they survive.
        "--max-in-flight",
        "4",
        "--plugin-opts",
        "crash_worker:when_contains=POISON",
        "redis:max_deliveries=3",
    ];
    let start = |i: usize| {
        let name = format!("host{i}");
        Host::start(
            work.path(),
            &name,
            &host_args(&server, &blobs, &name, &crash),
        )
    };
    let mut hosts: Vec<Host> = (0..2).map(start).collect();
    let mut restarts = 0;
    wait_until(LONG, "29 results and 1 dead letter", || {
        for (i, host) in hosts.iter_mut().enumerate() {
            if host.child.try_wait().unwrap().is_some() {
                restarts += 1;
                *host = start(i);
            }
        }
        xlen(&server, "stoq:results") >= 29 && xlen(&server, "stoq:dead") >= 1
    });
    assert!(
        restarts >= 3,
        "the poison payload killed a host on each of its 3 deliveries"
    );
    let dead = entries(&server, "stoq:dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].task, poison);
    assert_eq!(dead[0].deliveries, 3);
    assert!(
        dead[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("3 times")
    );
    assert_eq!(dead[0].response["scan_id"], poison.as_str());
    assert_eq!(dead[0].response["errors"][0]["plugin_name"], "redis");
    let results = entries(&server, "stoq:results");
    let done: HashSet<_> = results.iter().map(|r| r.task.clone()).collect();
    assert_eq!(done.len(), 29, "every innocent payload completes");
    assert_eq!(results.len(), 29, "one result per task");
    assert!(
        !done.contains(&poison),
        "no task has both a result and a dead letter"
    );
    wait_until(Duration::from_secs(30), "nothing pending", || {
        pending(&server) == 0
    });
    stop_all(hosts);
}

#[test]
fn sigterm_hands_back_what_is_unfinished() {
    let server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 60, None);
    let tasks = submit(&server, &inputs, &blobs);
    let slow = [
        "-a",
        "slow_worker",
        "--max-in-flight",
        "8",
        "--grace-period",
        "0.2",
        "--plugin-opts",
        "slow_worker:seconds=0.3",
    ];
    let first = Host::start(
        work.path(),
        "first",
        &host_args(&server, &blobs, "first", &slow),
    );
    wait_until(LONG, "a few results", || xlen(&server, "stoq:results") >= 4);
    // The grace period is shorter than a scan: some items are handed back unfinished.
    stop(first, "the first host");
    let done_before = xlen(&server, "stoq:results");
    assert!(
        done_before < 60,
        "the first host was stopped before the end"
    );
    let second = Host::start(
        work.path(),
        "second",
        &host_args(&server, &blobs, "second", &slow),
    );
    wait_until(LONG, "60 results", || xlen(&server, "stoq:results") >= 60);
    each_task_once(&server, &tasks);
    stop(second, "the second host");
}

#[test]
fn hosts_ride_out_a_redis_restart() {
    let mut server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 100, None);
    let tasks = submit(&server, &inputs, &blobs);
    let slow = [
        "-a",
        "slow_worker",
        "--max-in-flight",
        "4",
        "--plugin-opts",
        "slow_worker:seconds=0.05",
    ];
    let hosts: Vec<Host> = (0..2)
        .map(|i| {
            let name = format!("host{i}");
            Host::start(
                work.path(),
                &name,
                &host_args(&server, &blobs, &name, &slow),
            )
        })
        .collect();
    wait_until(LONG, "some results", || xlen(&server, "stoq:results") >= 10);
    server.restart();
    wait_until(LONG, "100 results", || xlen(&server, "stoq:results") >= 100);
    each_task_once(&server, &tasks);
    stop_all(hosts);
}

#[test]
fn submit_waits_for_responses() {
    let server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 5, None);
    std::fs::create_dir_all(&blobs).unwrap();
    let host = Host::start(
        work.path(),
        "host",
        &host_args(&server, &blobs, "host", &["-a", "hash"]),
    );
    let output = stoq()
        .args([
            "submit",
            inputs.to_str().unwrap(),
            "--to",
            &server.url(),
            "--wait",
        ])
        .args([
            "--wait-timeout",
            "120",
            "--blob-dir",
            blobs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let responses: Vec<Value> = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(responses.len(), 5);
    let listed = stderr(&output);
    for response in &responses {
        let scan_id = response["scan_id"].as_str().unwrap();
        assert!(listed.contains(scan_id), "the task id was printed");
        assert!(response["results"][0]["workers"]["hash"]["sha256"].is_string());
    }
    stop(host, "the host");
}

#[test]
fn a_missing_blob_folder_is_named_at_start() {
    let server = RedisServer::start();
    let output = stoq()
        .args(["run", "-P", "redis", "--plugin-opts"])
        .arg(format!("redis:url={}", server.url()))
        .arg("redis:blob_dir=/nonexistent/stoq-blobs")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("blob_dir") && text.contains("/nonexistent/stoq-blobs"),
        "{text}"
    );
}

#[test]
fn an_unreachable_redis_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis+unix://{}", dir.path().join("none.sock").display());
    let output = stoq()
        .args([
            "run",
            "-P",
            "redis",
            "--plugin-opts",
            &format!("redis:url={url}"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("cannot reach Redis") && text.contains("none.sock"),
        "{text}"
    );
    let output = stoq()
        .args(["submit", dir.path().to_str().unwrap(), "--to", &url])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("none.sock"));
}

#[test]
fn a_heartbeat_keeps_a_long_scan_from_being_claimed() {
    let server = RedisServer::start();
    let work = tempfile::tempdir().unwrap();
    let (inputs, blobs) = (work.path().join("in"), work.path().join("blobs"));
    payloads(&inputs, 2, None);
    let tasks = submit(&server, &inputs, &blobs);
    // Each scan takes longer than claim_idle (2 s): only the heartbeat keeps it with its host.
    let slow = [
        "-a",
        "slow_worker",
        "--plugin-opts",
        "slow_worker:seconds=3",
    ];
    let first = Host::start(
        work.path(),
        "first",
        &host_args(&server, &blobs, "first", &slow),
    );
    wait_until(LONG, "first to hold both entries", || {
        pending_of(&server, "first") == 2
    });
    let second = Host::start(
        work.path(),
        "second",
        &host_args(&server, &blobs, "second", &slow),
    );
    wait_until(LONG, "2 results", || xlen(&server, "stoq:results") >= 2);
    let results = each_task_once(&server, &tasks);
    assert!(
        results.iter().all(|r| r.deliveries == 1),
        "no entry was taken from its live host"
    );
    stop_all(vec![first, second]);
}
