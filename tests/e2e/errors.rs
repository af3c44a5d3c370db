//! Errors are data: failures, panics and missing plugins end up in the response and the rest of
//! the scan goes on.

use stoq_tests::{errors, fox, scan, workers_run};

#[test]
fn a_panicking_worker_is_an_error_and_other_workers_still_run() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &["-a", "panic_worker", "simple_worker", "hash"],
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "the extracted payload is scanned too");
    for result in results {
        assert!(
            workers_run(result).contains(&"panic_worker".to_owned()),
            "a failed worker counts as run"
        );
        assert!(result["workers"]["hash"]["sha256"].is_string());
        assert!(result["workers"].get("panic_worker").is_none());
    }
    let errs = response["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 2);
    for (err, result) in errs.iter().zip(results) {
        assert_eq!(err["plugin_name"], "panic_worker");
        assert_eq!(err["payload_id"], result["payload_id"]);
        let text = err["error"].as_str().unwrap();
        assert!(
            text.starts_with("worker:panicked: panic_worker panicked on"),
            "{text}"
        );
        assert!(
            text.contains("src/lib.rs"),
            "the panic location is kept: {text}"
        );
    }
}

#[test]
fn a_failing_worker_is_an_error_without_results() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:raise_exception=true",
        ],
    );
    let root = &response["results"][0];
    assert_eq!(workers_run(root), ["simple_worker"]);
    assert!(root["workers"].get("simple_worker").is_none());
    assert_eq!(response["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        errors(&response),
        ["worker:failed: Test exception please ignore"]
    );
}

#[test]
fn errors_a_worker_returns_keep_its_results() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:return_errors=true",
        ],
    );
    assert_eq!(
        response["results"][0]["workers"]["simple_worker"]["valuable_insight"],
        "wow"
    );
    assert_eq!(errors(&response), ["Test error please ignore"]);
    assert_eq!(response["errors"][0]["plugin_name"], "simple_worker");
}

#[test]
fn a_missing_plugin_named_during_the_scan_is_reported_once() {
    let sample = fox();
    // Both the root and the extracted payload name `nonexistent`.
    let response = scan(
        &sample.path,
        &[
            "-a",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:additional_dispatch_to=nonexistent",
        ],
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 2);
    let errs = errors(&response);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0]
            .starts_with("Worker plugin nonexistent failed to load: no plugin named `nonexistent`"),
        "{errs:?}"
    );
    for result in response["results"].as_array().unwrap() {
        assert!(!workers_run(result).contains(&"nonexistent".to_owned()));
    }
}

#[test]
fn a_non_worker_named_as_a_worker_is_an_error_not_a_crash() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:extracted_dispatch_to=simple_dispatcher",
        ],
    );
    let errs = errors(&response);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("`simple_dispatcher` is not a worker"),
        "{errs:?}"
    );
}
