//! Dispatch and required workers where the outcome is not a response: dependency cycles
//! refused at start-up, dependency problems listed by `stoq list`. The scan scenarios (start and
//! always dispatch, recursion, dedup, dispatch_to, dispatchers, required workers) are snapshot
//! tests in `scenarios.rs`.

use stoq_tests::fox;

#[test]
fn a_required_worker_cycle_among_named_workers_is_refused_at_start_up() {
    let sample = fox();
    let output = stoq_tests::run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        stoq_tests::env().test_dir.to_str().unwrap(),
        "-s",
        "echo_worker",
        "--plugin-opts",
        "echo_worker:required_workers=dummy_worker",
        "dummy_worker:required_workers=echo_worker",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stoq_tests::stderr(&output).contains(
            "stoq: error: plugin `dummy_worker`: circular required workers: dummy_worker -> echo_worker -> dummy_worker"
        ),
        "{}",
        stoq_tests::stderr(&output)
    );
}

#[test]
fn list_reports_dependency_problems_without_running_plugins() {
    let listing = stoq_tests::json(&[
        "list",
        "--json",
        "--plugin-dir",
        stoq_tests::env().test_dir.to_str().unwrap(),
        "--plugin-opts",
        "echo_worker:required_workers=dummy_worker",
        "dummy_worker:required_workers=echo_worker",
        "simple_worker:required_workers=nonexistent",
    ]);
    assert_eq!(
        listing["dependency_errors"],
        serde_json::json!([
            "plugin `simple_worker`: required worker `nonexistent` is not a loaded plugin",
            "plugin `dummy_worker`: circular required workers: dummy_worker -> echo_worker -> dummy_worker",
        ])
    );
}
