//! `isolation = "process"` at scale and under a memory limit: a call costs the same whatever
//! the request's size (the helper asks for the context it needs, nothing is copied per call),
//! and `isolation_memory` makes a runaway helper die alone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use stoq_tests::{env, errors, fox, output_within, stderr, stoq, stoq_limited};

/// One `isolated call` debug event: its plugin and numeric fields.
struct Call {
    plugin: String,
    fields: BTreeMap<String, u64>,
}

/// The `isolated call` events (target `stoq::isolation`) of a run's stderr.
fn calls(stderr: &str) -> Vec<Call> {
    stderr
        .lines()
        .filter_map(|line| line.split_once("isolated call").map(|(_, rest)| rest))
        .map(|rest| {
            let mut call = Call {
                plugin: String::new(),
                fields: BTreeMap::new(),
            };
            for pair in rest.split_whitespace() {
                let Some((key, value)) = pair.split_once('=') else {
                    continue;
                };
                if key == "plugin" {
                    call.plugin = value.trim_matches('"').to_owned();
                } else if let Ok(n) = value.parse() {
                    call.fields.insert(key.to_owned(), n);
                }
            }
            call
        })
        .collect()
}

/// A root of `n` distinct 64-byte parts (`split_worker` extracts each as a payload).
fn parts(n: usize) -> tempfile::NamedTempFile {
    let mut content = Vec::with_capacity(n * 64);
    for i in 0..n {
        content.extend_from_slice(format!("{i:063}\n").as_bytes());
    }
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), content).expect("write sample");
    file
}

/// `stoq scan` of a file of `n` parts, `split_worker` and `hash` both isolated (or not); the
/// response and the isolated calls it logged.
fn scan_parts(file: &tempfile::NamedTempFile, n: usize, isolation: &str) -> (Value, Vec<Call>) {
    let mut cmd = stoq();
    cmd.env("RUST_LOG", "warn,stoq::isolation=debug").args([
        "scan",
        file.path().to_str().expect("UTF-8 path"),
        "--deterministic",
        "--plugin-dir",
        env().test_dir.to_str().expect("UTF-8 path"),
        "-a",
        "split_worker",
        "hash",
        "--plugin-opts",
        &format!("split_worker:children={n}"),
        &format!("split_worker:isolation={isolation}"),
        &format!("hash:isolation={isolation}"),
    ]);
    let output = output_within(cmd, Duration::from_secs(120), "a scan of many payloads");
    assert!(output.status.success(), "{}", stderr(&output));
    let response = serde_json::from_slice(&output.stdout).expect("JSON response");
    (response, calls(&stderr(&output)))
}

#[test]
fn an_isolated_call_carries_only_its_payload_whatever_the_request_size() {
    let mut per_call = Vec::new();
    for n in [300, 1200] {
        let (response, calls) = scan_parts(&parts(n), n, "process");
        let results = response["results"].as_array().expect("results");
        assert_eq!(results.len(), n + 1, "the root and its {n} parts");
        assert_eq!(errors(&response), Vec::<String>::new());
        assert!(
            results
                .iter()
                .all(|r| r["workers"]["hash"]["sha256"].is_string())
        );
        // One call per payload and worker, each logged.
        for plugin in ["split_worker", "hash"] {
            let count = calls.iter().filter(|c| c.plugin == plugin).count();
            assert_eq!(count, n + 1, "isolated calls of {plugin}");
        }
        // What a call sends beyond the payload: only the answers to the plugin's own
        // questions about its payload (split_worker asks for the depth), never a summary of
        // the request's other payloads (that alone would be tens of kilobytes here).
        let context: Vec<u64> = calls.iter().map(|c| c.fields["context_bytes"]).collect();
        let most = *context.iter().max().expect("calls");
        assert!(most <= 4096, "n = {n}: a call sent {most} bytes of context");
        for call in calls.iter().filter(|c| c.plugin == "split_worker") {
            assert!(
                call.fields["queries"] <= 2,
                "split_worker asks only for the depth"
            );
        }
        per_call.push(context.iter().sum::<u64>() as f64 / context.len() as f64);
    }
    // Four times the payloads, the same context per call (give or take a digit of a number).
    assert!(
        per_call[1] <= per_call[0] * 1.5 + 8.0,
        "context bytes per call grew with the request: {per_call:?}"
    );
}

#[test]
fn isolated_and_in_process_agree_on_a_large_request() {
    let file = parts(300);
    let (isolated, _) = scan_parts(&file, 300, "process");
    let (in_process, _) = scan_parts(&file, 300, "in-process");
    assert_eq!(isolated, in_process);
}

#[test]
fn a_helper_past_its_memory_limit_fails_its_call_alone() {
    let sample = fox();
    // `extract_payload` asks for ~6 GB at once (50 million payloads), over its 256 MiB; the
    // outer limit only protects the test machine should the helper's limit ever be lost.
    let mut cmd = stoq_limited(
        4 << 30,
        &[
            "scan",
            sample.path.to_str().expect("UTF-8 path"),
            "--plugin-dir",
            env().test_dir.to_str().expect("UTF-8 path"),
            "-a",
            "split_worker",
            "extract_payload",
            "hash",
            "--plugin-opts",
            "split_worker:children=2",
            "extract_payload:isolation=process",
            "extract_payload:isolation_memory=256M",
            "extract_payload:count=50000000",
            "extract_payload:extracted_payload=x",
            "hash:isolation=process",
            "hash:isolation_memory=268435456",
        ],
    );
    cmd.env("RUST_BACKTRACE", "0");
    let output = output_within(cmd, Duration::from_secs(60), "a scan with a memory bomb");
    assert!(output.status.success(), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).expect("JSON response");
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "the root and its two parts: {response:#}");
    for result in results {
        // A worker with the same limit but modest needs is not disturbed.
        assert!(
            result["workers"]["hash"]["sha256"].is_string(),
            "{result:#}"
        );
    }
    let errs = response["errors"].as_array().expect("errors");
    assert_eq!(
        errs.len(),
        3,
        "each call died alone and a fresh helper took the next: {errs:?}"
    );
    for err in errs {
        assert_eq!(err["plugin_name"], "extract_payload");
        let text = err["error"].as_str().expect("error text");
        assert!(
            text.starts_with(
                "worker:crashed: the helper process running plugin `extract_payload` was killed by signal 6, most likely because it exceeded its memory limit (`isolation_memory` = 268435456 bytes)"
            ),
            "{text}"
        );
    }
    assert!(
        !stderr(&output).contains("isolation_memory` is set but"),
        "stoq's own option is not reported as unused: {}",
        stderr(&output)
    );
}

/// The helper processes (`plugin-host`) of process `parent`, by pid.
#[cfg(target_os = "linux")]
fn helpers_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after its `)`.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == b"plugin-host"))
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn isolation_memory_limits_the_helpers_address_space() {
    let sample = fox();
    let mut cmd = stoq();
    cmd.args([
        "scan",
        sample.path.to_str().expect("UTF-8 path"),
        "--plugin-dir",
        env().test_dir.to_str().expect("UTF-8 path"),
        "-s",
        "slow_worker",
        "--plugin-opts",
        "slow_worker:isolation=process",
        "slow_worker:isolation_memory=300M",
        "slow_worker:seconds=3",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("stoq starts");
    let start = Instant::now();
    let mut seen = None;
    while seen.is_none() && start.elapsed() < Duration::from_secs(20) {
        for pid in helpers_of(child.id()) {
            let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
            if let Some(line) = limits.lines().find(|l| l.starts_with("Max address space"))
                && !line.contains("unlimited")
            {
                seen = Some(
                    line.split_whitespace()
                        .skip(3)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = stoq_tests::service::wait_exit(&mut child, Duration::from_secs(30), "stoq scan");
    assert!(status.success());
    // Soft and hard limit alike: the plugin cannot raise it again.
    assert_eq!(seen.as_deref(), Some("314572800 314572800"));
}
