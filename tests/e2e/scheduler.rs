//! The scheduler's rules beyond the basics: dispatchers asked again, timeouts, limits,
//! deterministic output, per-edge metadata on deduplication, directory scans.

use std::process::Command;

use serde_json::{Value, json};
use stoq_tests::{env, errors, fox, run, scan, stderr, stoq, workers_run};

#[test]
fn a_conditional_dispatcher_is_asked_again_after_the_request_changes() {
    let sample = fox();
    // Nothing ever runs dummy_worker: the dispatcher never fires.
    let quiet = scan(&sample.path, &["-R", "conditional_dispatcher"]);
    assert!(workers_run(&quiet["results"][0]).is_empty());
    // dummy_worker runs on the root; asked again afterwards, the dispatcher names simple_worker.
    let response = scan(
        &sample.path,
        &["-R", "conditional_dispatcher", "-s", "dummy_worker"],
    );
    let root = &response["results"][0];
    assert_eq!(workers_run(root), ["dummy_worker", "simple_worker"]);
    assert!(errors(&response).is_empty(), "{response:#}");
}

#[test]
fn a_worker_past_its_timeout_is_an_error_and_the_request_completes() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-a",
            "slow_worker",
            "hash",
            "--plugin-opts",
            "slow_worker:seconds=30",
            "slow_worker:timeout=0.3",
        ],
    );
    let root = &response["results"][0];
    assert!(
        root["workers"]["hash"]["md5"].is_string(),
        "other workers finish"
    );
    assert!(root["workers"].get("slow_worker").is_none());
    assert!(workers_run(root).contains(&"slow_worker".to_owned()));
    let errs = response["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["plugin_name"], "slow_worker");
    assert!(
        errs[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("worker:timed out: still running after 0.3 s")
    );
}

#[test]
fn a_request_past_its_timeout_returns_what_finished() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-a",
            "hash",
            "slow_worker",
            "--plugin-opts",
            "slow_worker:seconds=30",
            "--timeout",
            "0.5",
        ],
    );
    let errs = errors(&response);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("limit request timeout (0.5 s) reached"),
        "{errs:?}"
    );
    assert!(response["results"][0]["workers"]["hash"].is_object());
}

#[test]
fn an_invalid_timeout_option_is_refused_at_start_up() {
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "-s",
        "hash",
        "--plugin-opts",
        "hash:timeout=soon",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("option `timeout`: expected a positive number of seconds"));
}

#[test]
fn the_extracted_payload_count_limit_drops_the_rest_with_one_error() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "extract_payload",
            "--plugin-opts",
            "extract_payload:count=5",
            "--max-extracted-payloads",
            "3",
        ],
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 4);
    let errs = errors(&response);
    assert_eq!(
        errs,
        ["limit max_extracted_payloads (3) reached: further extracted payloads are dropped"]
    );
    assert_eq!(response["errors"][0]["plugin_name"], "extract_payload");
}

#[test]
fn the_extracted_bytes_limit_drops_the_rest_with_one_error() {
    let sample = fox();
    // 50 random bytes per payload: 2 fit in 120 bytes.
    let response = scan(
        &sample.path,
        &[
            "-s",
            "extract_payload",
            "--plugin-opts",
            "extract_payload:count=5",
            "--max-extracted-bytes",
            "120",
        ],
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 3);
    assert_eq!(
        errors(&response),
        ["limit max_extracted_bytes (120) reached: further extracted payloads are dropped"]
    );
}

#[test]
fn payloads_over_the_size_limit_are_not_scanned_or_not_kept() {
    let sample = fox();
    // The 19-byte root is listed, not scanned.
    let response = scan(
        &sample.path,
        &["-a", "simple_worker", "--max-payload-size", "15"],
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 1);
    assert!(workers_run(&response["results"][0]).is_empty());
    assert_eq!(
        errors(&response),
        ["limit max_payload_size (15) exceeded: the payload has 19 bytes and is not scanned"]
    );
    // An extracted payload over the limit is dropped.
    let response = scan(
        &sample.path,
        &[
            "-s",
            "extract_payload",
            "--plugin-opts",
            "extract_payload:extracted_payload=0123456789abcdefghij",
            "--max-payload-size",
            "19",
        ],
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        errors(&response),
        ["limit max_payload_size (19) exceeded: an extracted payload of 20 bytes was dropped"]
    );
}

#[test]
fn deterministic_output_is_byte_identical_across_runs_and_job_counts() {
    let sample = fox();
    let args = |jobs: &str| {
        let mut cmd = stoq();
        cmd.args(["scan", sample.path.to_str().unwrap(), "--plugin-dir"])
            .arg(&env().test_dir)
            .args([
                "-a",
                "simple_worker",
                "hash",
                "extract_payload",
                "--deterministic",
                "--jobs",
                jobs,
            ])
            .args([
                "--plugin-opts",
                "extract_payload:extracted_payload=second",
                "extract_payload:count=1",
            ]);
        cmd
    };
    let output = |mut cmd: Command| cmd.output().expect("runs").stdout;
    let first = String::from_utf8(output(args("2"))).expect("UTF-8");
    for jobs in ["2", "1", "2"] {
        let again = String::from_utf8(output(args(jobs))).expect("UTF-8");
        assert!(
            first == again,
            "--jobs {jobs} differs:\n{first}\n---\n{again}"
        );
    }
    let response: Value = serde_json::from_str(&first).expect("JSON");
    assert!(response["time"].is_null());
    // Roots first, then each extracted payload after its parent, in a stable order.
    let results = response["results"].as_array().unwrap();
    // Every later extraction of `second` and `Lorem ipsum` is a duplicate.
    assert_eq!(results.len(), 3, "{response:#}");
    assert_eq!(results[0]["depth"], 0);
    assert_eq!(
        workers_run(&results[0]),
        ["extract_payload", "hash", "simple_worker"]
    );
    // Children in tree order: by the extracting worker's name.
    assert_eq!(results[1]["size"], 6, "`second`, from extract_payload");
    assert_eq!(results[2]["size"], 11, "`Lorem ipsum`, from simple_worker");
}

#[test]
fn a_deduplicated_payload_keeps_every_extraction_s_metadata() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "extract_payload",
            "--deterministic",
            "--plugin-opts",
            "simple_worker:extracted_filename=a.txt",
            "extract_payload:extracted_payload=Lorem ipsum",
            "extract_payload:extracted_filename=b.txt",
        ],
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let lorem = &results[1];
    assert_eq!(
        lorem["extracted_by"],
        json!(["extract_payload", "simple_worker"])
    );
    assert_eq!(
        lorem["extracted_extra_data"],
        json!([{"filename": "b.txt"}, {"filename": "a.txt"}])
    );
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
fn deterministic_mode_holds_with_dispatchers_too() {
    let sample = fox();
    let run_once = || {
        let mut cmd = stoq();
        cmd.args(["scan", sample.path.to_str().unwrap(), "--plugin-dir"])
            .arg(&env().test_dir)
            .args([
                "-R",
                "simple_dispatcher",
                "conditional_dispatcher",
                "-s",
                "dummy_worker",
            ])
            .args([
                "--plugin-opts",
                "simple_dispatcher:workers=simple_worker,hash",
                "--deterministic",
            ]);
        cmd.output().expect("runs").stdout
    };
    let first = run_once();
    for _ in 0..3 {
        assert_eq!(first, run_once());
    }
    let response: Value = serde_json::from_slice(&first).expect("JSON");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        workers_run(&results[0]),
        ["dummy_worker", "hash", "simple_worker"]
    );
    assert_eq!(workers_run(&results[1]), ["hash", "simple_worker"]);
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
