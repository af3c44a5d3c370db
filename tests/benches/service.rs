//! Service benchmarks (issue 7), each against `stoq scan DIR --format ndjson` measured in the
//! same run. Run with `cargo xtask bench`; results go in BENCHMARKS.md.
//!
//! (a) `stoq run -P filedir -C filedir -a hash` against `stoq scan DIR -a hash --format ndjson`
//!     on 10,000 × 4 KiB files: throughput ratio;
//! (b) items/s through Redis (`stoq run -P redis -C redis -a hash`) with 1, 2 and 3 hosts on
//!     this machine against `stoq scan DIR`, and the queue's cost per item on one host in µs;
//! (c) peak RSS of one host facing a backlog of 10,000 and of 100,000 entries (bounded by
//!     `--max-in-flight`, not by the backlog);
//! (d) with the plugin's default `claim_idle` (30 s) and `heartbeat` (10 s): how long after a
//!     `kill -9` the other hosts have finished every entry the killed host held.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stoq_redis_queue::{Body, Entry, Keys};
use stoq_tests::service::{RedisServer, terminate, wait_exit, wait_until};

const FILES: usize = 10_000;
const SIZE: usize = 4096;

fn var(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run `cargo xtask bench`"))
}

fn stoq() -> Command {
    let mut cmd = Command::new(var("STOQ_BIN"));
    cmd.env_remove("STOQ_PLUGIN_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

fn content(i: usize, size: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..size).map(|j| (j % 251) as u8).collect();
    let n = v.len().min(8);
    v[..n].copy_from_slice(&(i as u64).to_le_bytes()[..n]);
    v
}

fn write_files(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..FILES {
        std::fs::write(dir.join(format!("f{i:05}")), content(i, SIZE)).unwrap();
    }
}

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let output = cmd.stdout(Stdio::null()).output().unwrap();
    assert!(
        output.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    start.elapsed()
}

fn scan_dir(dir: &Path) -> Duration {
    timed(stoq().args([
        "scan",
        dir.to_str().unwrap(),
        "-a",
        "hash",
        "--format",
        "ndjson",
    ]))
}

fn per_sec(items: usize, time: Duration) -> f64 {
    items as f64 / time.as_secs_f64()
}

fn xlen(server: &RedisServer, stream: &str) -> usize {
    server.query(&["XLEN", stream])
}

/// XADDs `count` entries of `size` bytes straight to the work stream (pipelined).
fn enqueue(server: &RedisServer, count: usize, size: usize) {
    let keys = Keys::new("stoq");
    let mut con = server.connection();
    let _: redis::Value = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.work)
        .arg(&keys.group)
        .arg("0")
        .arg("MKSTREAM")
        .query(&mut con)
        .unwrap_or(redis::Value::Nil);
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let entry = Entry::new(
                serde_json::json!({"extra_data": {"filename": format!("f{i}")}}),
                None,
                Body::Inline(content(i, size)),
            );
            let cmd = pipe.cmd("XADD").arg(&keys.work).arg("*");
            for (name, value) in entry.to_fields() {
                cmd.arg(name).arg(value);
            }
            cmd.ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    }
}

fn host(server: &RedisServer, name: &str, max_in_flight: &str) -> Child {
    host_with(server, name, max_in_flight, &["-a", "hash"])
}

fn host_with(server: &RedisServer, name: &str, max_in_flight: &str, workers: &[&str]) -> Child {
    stoq()
        .args(["run", "-P", "redis", "-C", "redis"])
        .args(workers)
        .arg("--plugin-dir")
        .arg(var("STOQ_TEST_PLUGIN_DIR"))
        .args(["--max-in-flight", max_in_flight, "--plugin-opts"])
        .arg(format!("redis:url={}", server.url()))
        .arg(format!("redis:consumer={name}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    terminate(&child);
    wait_exit(&mut child, Duration::from_secs(60), "a bench host");
}

/// The peak resident set (VmHWM) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let files = work.path().join("files");
    write_files(&files);
    println!("service benchmarks: {FILES} files of {SIZE} bytes, hash on every payload");

    // (a) filedir in, filedir out, against scan DIR, alternating, best of 3 each. Two more
    // runs split the cost: without a connector (responses printed to /dev/null, like the
    // baseline) and with the results folder on tmpfs (no disk).
    let shm = Path::new("/dev/shm");
    let (mut scan_best, mut run_best, mut print_best, mut tmpfs_best) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let filedir_run = |results: &Path| {
        let time = timed(
            stoq()
                .args(["run", "-P", "filedir", "-C", "filedir", "-a", "hash"])
                .arg("--plugin-opts")
                .arg(format!("filedir:source_dir={}", files.display()))
                .arg(format!("filedir:results_dir={}", results.display())),
        );
        let written = std::fs::read_dir(results).unwrap().count();
        assert_eq!(written, FILES, "one response file per input");
        std::fs::remove_dir_all(results).unwrap();
        time
    };
    for round in 0..3 {
        scan_best = scan_best.min(scan_dir(&files));
        run_best = run_best.min(filedir_run(&work.path().join(format!("results{round}"))));
        print_best = print_best.min(timed(
            stoq()
                .args(["run", "-P", "filedir", "-a", "hash", "--plugin-opts"])
                .arg(format!("filedir:source_dir={}", files.display())),
        ));
        if shm.is_dir() {
            let results = shm.join(format!("stoq-bench-{}-{round}", std::process::id()));
            tmpfs_best = tmpfs_best.min(filedir_run(&results));
        }
    }
    let scan_rate = per_sec(FILES, scan_best);
    let ratio = |t: Duration| 100.0 * scan_best.as_secs_f64() / t.as_secs_f64();
    println!(
        "(a) stoq scan DIR --format ndjson: {scan_rate:.0} files/s; stoq run -P filedir -C filedir: {:.0} files/s = {:.1}% [target >= 90%]",
        per_sec(FILES, run_best),
        ratio(run_best)
    );
    println!(
        "(a) split: stoq run -P filedir (no connector, printed): {:.1}%; -C filedir with results on tmpfs: {}",
        ratio(print_best),
        if tmpfs_best == Duration::MAX {
            "no /dev/shm".to_owned()
        } else {
            format!("{:.1}%", ratio(tmpfs_best))
        }
    );

    // (b) through Redis, 1-3 hosts; the backlog is enqueued first, then the hosts drain it.
    // Redis's default durability (appendfsync everysec), then one host with every write
    // synced (appendfsync always, as the tests run it).
    let mut one_host = None;
    for (hosts, fsync) in [
        (1, "everysec"),
        (2, "everysec"),
        (3, "everysec"),
        (1, "always"),
    ] {
        let server = RedisServer::start_with_fsync(fsync);
        enqueue(&server, FILES, SIZE);
        let start = Instant::now();
        let children: Vec<Child> = (0..hosts)
            .map(|i| host(&server, &format!("bench{i}"), "128"))
            .collect();
        wait_until(Duration::from_secs(600), "the backlog to drain", || {
            xlen(&server, "stoq:results") >= FILES
        });
        let elapsed = start.elapsed();
        children.into_iter().for_each(stop);
        let rate = per_sec(FILES, elapsed);
        if hosts == 1 && fsync == "everysec" {
            one_host = Some(elapsed);
        }
        println!(
            "(b) redis (appendfsync {fsync}), {hosts} host(s): {rate:.0} items/s = {:.1}% of stoq scan DIR",
            100.0 * rate / scan_rate
        );
    }
    if let Some(one) = one_host {
        let cost = (one.as_secs_f64() - scan_best.as_secs_f64()) / FILES as f64 * 1e6;
        println!("(b) queue cost per item on one host (everysec): {cost:.0} µs (wall, 2 cores)");
    }

    // (c) peak RSS against the backlog.
    for backlog in [10_000, 100_000] {
        let server = RedisServer::start();
        enqueue(&server, backlog, 256);
        let child = host(&server, "rss", "128");
        let pid = child.id();
        let target = backlog.min(20_000);
        wait_until(Duration::from_secs(600), "20,000 results", || {
            xlen(&server, "stoq:results") >= target
        });
        let rss = peak_rss_kib(pid);
        stop(child);
        println!(
            "(c) backlog {backlog} entries of 256 bytes, --max-in-flight 128: peak RSS {:.1} MiB after {target} items",
            rss as f64 / 1024.0
        );
    }

    // (d) takeover time after a kill -9, default claim_idle and heartbeat.
    let server = RedisServer::start();
    enqueue(&server, 2_000, 256);
    let slow = [
        "-a",
        "slow_worker",
        "--plugin-opts",
        "slow_worker:seconds=0.02",
    ];
    let mut victim = host_with(&server, "victim", "32", &slow);
    let others: Vec<Child> = (0..2)
        .map(|i| host_with(&server, &format!("other{i}"), "32", &slow))
        .collect();
    let held = |consumer: &str| -> Vec<String> {
        let reply: Vec<(String, String, u64, u64)> =
            server.query(&["XPENDING", "stoq:work", "stoq", "-", "+", "1000", consumer]);
        reply.into_iter().map(|(id, ..)| id).collect()
    };
    wait_until(
        Duration::from_secs(120),
        "the victim to hold entries",
        || held("victim").len() >= 16,
    );
    let orphans = held("victim");
    victim.kill().unwrap();
    let killed = Instant::now();
    victim.wait().unwrap();
    wait_until(
        Duration::from_secs(300),
        "the orphans to be finished",
        || {
            let pending: Vec<(String, String, u64, u64)> =
                server.query(&["XPENDING", "stoq:work", "stoq", "-", "+", "10000"]);
            let still: std::collections::HashSet<String> =
                pending.into_iter().map(|(id, ..)| id).collect();
            let mut con = server.connection();
            orphans.iter().all(|id| {
                let left: Vec<redis::Value> = redis::cmd("XRANGE")
                    .arg("stoq:work")
                    .arg(id)
                    .arg(id)
                    .query(&mut con)
                    .unwrap_or_default();
                left.is_empty() && !still.contains(id)
            })
        },
    );
    println!(
        "(d) kill -9 of a host holding {} entries: all finished by the others {:.1} s later (claim_idle 30 s, heartbeat 10 s)",
        orphans.len(),
        killed.elapsed().as_secs_f64()
    );
    others.into_iter().for_each(stop);
}
