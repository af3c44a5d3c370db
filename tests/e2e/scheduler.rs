//! The scheduler's rules that a snapshot cannot hold: options refused at start-up (exit
//! status), directory scans (one response per file, exit status, stderr) and parallelism
//! (measured overlap). The scan scenarios (dispatchers asked again, timeouts, limits,
//! deterministic output, per-edge metadata on deduplication) are in `scenarios.rs`.

use serde_json::Value;
use stoq_tests::{fox, run, scan, stderr};

#[test]
fn an_invalid_timeout_option_is_refused_at_start_up() {
    let sample = fox();
    // Not a number: the declared-options check; not positive: the timeout's own check.
    for (value, message) in [
        (
            "soon",
            "option `timeout` (from --plugin-opts): expected a number, got \"soon\"",
        ),
        (
            "-1",
            "option `timeout`: expected a positive number of seconds",
        ),
    ] {
        let output = run(&[
            "scan",
            sample.path.to_str().unwrap(),
            "-s",
            "hash",
            "--plugin-opts",
            &format!("hash:timeout={value}"),
        ]);
        assert_eq!(output.status.code(), Some(2), "timeout={value}");
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
    }
}

#[test]
fn scanning_a_directory_gives_one_response_per_file_in_path_order() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("b.txt"), b"bravo").expect("write");
    std::fs::write(dir.path().join("a.txt"), b"alpha").expect("write");
    std::fs::write(dir.path().join("sub").join("c.txt"), b"charlie").expect("write");
    std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("broken")).expect("symlink");
    let output = run(&[
        "scan",
        dir.path().to_str().unwrap(),
        "-a",
        "hash",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an unreadable file exits 1: {}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("broken"), "{}", stderr(&output));
    let responses: Vec<Value> = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let paths: Vec<&str> = responses
        .iter()
        .map(|r| {
            r["results"][0]["payload_meta"]["extra_data"]["path"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(paths, ["a.txt", "b.txt", "sub/c.txt"]);
    assert_eq!(
        responses[2]["results"][0]["payload_meta"]["extra_data"]["filename"],
        "c.txt"
    );
    assert!(
        responses
            .iter()
            .all(|r| r["results"][0]["workers"]["hash"]["sha256"].is_string())
    );
}

#[test]
fn independent_tasks_run_in_parallel_up_to_jobs() {
    // Four payloads (the root, and three extracted), each scanned by a worker that sleeps
    // 300 ms and reports how many of its scans overlapped.
    let sample = fox();
    let max_concurrent = |jobs: &str| -> u64 {
        let response = scan(
            &sample.path,
            &[
                "-s",
                "extract_payload",
                "-a",
                "slow_worker",
                "--jobs",
                jobs,
                "--plugin-opts",
                "extract_payload:count=3",
                "slow_worker:seconds=0.3",
            ],
        );
        let results = response["results"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        results
            .iter()
            .map(|r| {
                r["workers"]["slow_worker"]["max_concurrent"]
                    .as_u64()
                    .unwrap()
            })
            .max()
            .unwrap()
    };
    assert_eq!(max_concurrent("1"), 1, "one thread: one scan at a time");
    assert!(max_concurrent("3") >= 2, "three threads: scans overlap");
}
