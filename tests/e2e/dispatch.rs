//! Start/always dispatch, extraction recursion, dedup, dispatch_to, dispatchers and
//! required_workers, through test plugins loaded via the ABI.

use stoq_tests::{errors, fox, scan, workers_run};

#[test]
fn start_dispatch_scans_only_the_root() {
    let sample = fox();
    let response = scan(&sample.path, &["-s", "simple_worker"]);
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(workers_run(&results[0]), ["simple_worker"]);
    assert_eq!(
        results[0]["workers"]["simple_worker"]["valuable_insight"],
        "wow"
    );
    let lorem = &results[1];
    assert_eq!(lorem["size"], 11);
    assert_eq!(lorem["depth"], 1);
    assert!(
        workers_run(lorem).is_empty(),
        "start-dispatched workers skip extracted payloads"
    );
    assert_eq!(lorem["extracted_from"][0], results[0]["payload_id"]);
    assert_eq!(lorem["extracted_by"][0], "simple_worker");
}

#[test]
fn always_dispatch_with_a_fixed_extractor_gives_exactly_two_results() {
    // stoQ's test_dedup: the second `Lorem ipsum` is the same payload, its lineage is merged.
    let sample = fox();
    let response = scan(&sample.path, &["-a", "simple_worker"]);
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    let (root, lorem) = (&results[0], &results[1]);
    assert_eq!(workers_run(root), ["simple_worker"]);
    assert_eq!(workers_run(lorem), ["simple_worker"]);
    assert_eq!(
        lorem["extracted_from"],
        serde_json::json!([root["payload_id"], lorem["payload_id"]])
    );
    assert_eq!(
        lorem["extracted_by"],
        serde_json::json!(["simple_worker", "simple_worker"])
    );
    assert!(errors(&response).is_empty());
}

#[test]
fn max_recursion_keeps_the_last_payload_unscanned_with_an_error() {
    // stoQ's test_max_recursion: an always-dispatched random extractor gives N+1 results.
    let sample = fox();
    for n in [0u32, 3] {
        let response = scan(
            &sample.path,
            &["-a", "extract_payload", "--max-recursion", &n.to_string()],
        );
        let results = response["results"].as_array().expect("results");
        assert_eq!(results.len(), n as usize + 1, "max_recursion {n}");
        for (depth, result) in results.iter().enumerate() {
            assert_eq!(result["depth"], depth);
        }
        let last = results.last().expect("last");
        assert!(
            workers_run(last).is_empty(),
            "the deepest payload is not scanned"
        );
        let errs = response["errors"].as_array().expect("errors");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0]["error"]
                .as_str()
                .unwrap()
                .contains(&format!("Final worker round ({n}) reached"))
        );
        assert_eq!(errs[0]["payload_id"], last["payload_id"]);
        assert!(errs[0]["plugin_name"].is_null());
    }
}

#[test]
fn extracted_dispatch_to_and_worker_dispatch_to() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:extracted_dispatch_to=echo_worker",
            "simple_worker:additional_dispatch_to=dummy_worker",
        ],
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(workers_run(&results[0]), ["simple_worker", "dummy_worker"]);
    assert_eq!(workers_run(&results[1]), ["echo_worker"]);
    assert_eq!(
        results[1]["payload_meta"]["dispatch_to"],
        serde_json::json!(["echo_worker"])
    );
    assert!(
        results[0]["workers"].get("dummy_worker").is_none(),
        "no results, no key"
    );
}

#[test]
fn should_scan_false_lists_the_payload_but_scans_nothing() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-a",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:should_scan=false",
            "simple_worker:extracted_dispatch_to=dummy_worker",
        ],
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["payload_meta"]["should_scan"], false);
    assert!(workers_run(&results[1]).is_empty());
}

#[test]
fn a_pair_runs_once_however_many_sources_name_it() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "dummy_worker",
            "-a",
            "dummy_worker",
            "-R",
            "simple_dispatcher",
        ],
    );
    assert_eq!(workers_run(&response["results"][0]), ["dummy_worker"]);
}

#[test]
fn dispatcher_meta_is_visible_to_the_worker_and_not_printed() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-R",
            "simple_dispatcher",
            "--plugin-opts",
            "simple_dispatcher:workers=echo_worker",
        ],
    );
    let root = &response["results"][0];
    assert_eq!(workers_run(root), ["echo_worker"]);
    assert_eq!(
        root["workers"]["echo_worker"]["dispatch_meta"]["simple_dispatcher"]["test_key"],
        "Useful metadata info"
    );
    assert!(root.get("dispatch_meta").is_none());
}

#[test]
fn required_workers_run_first_and_their_results_are_visible() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "echo_worker",
            "--plugin-opts",
            "echo_worker:required_workers=hash",
        ],
    );
    let root = &response["results"][0];
    assert_eq!(workers_run(root), ["hash", "echo_worker"]);
    assert_eq!(
        root["workers"]["echo_worker"]["worker_results"]["hash"]["md5"],
        "a2004f37730b9445670a738fa0fc9ee5"
    );
    assert_eq!(
        root["workers"]["echo_worker"]["plugins_run"],
        serde_json::json!(["hash"])
    );
}

#[test]
fn a_failed_required_worker_stops_its_dependent() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "echo_worker",
            "--plugin-opts",
            "echo_worker:required_workers=panic_worker",
        ],
    );
    let root = &response["results"][0];
    assert_eq!(workers_run(root), ["panic_worker"]);
    let errs = errors(&response);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].contains("panicked"));
    assert!(
        errs[1].contains("required worker `panic_worker` failed"),
        "{errs:?}"
    );
    assert_eq!(response["errors"][1]["plugin_name"], "echo_worker");
}

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
fn a_required_worker_cycle_reached_during_a_scan_is_one_error_and_nothing_in_it_runs() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:extracted_dispatch_to=echo_worker",
            "echo_worker:required_workers=dummy_worker",
            "dummy_worker:required_workers=echo_worker",
        ],
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(workers_run(&results[0]), ["simple_worker"]);
    assert!(workers_run(&results[1]).is_empty());
    let errs = errors(&response);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("Circular required plugin dependency found, unable to process plugin echo_worker (echo_worker -> dummy_worker -> echo_worker)"), "{errs:?}");
    assert_eq!(response["errors"][0]["plugin_name"], "echo_worker");
    assert_eq!(
        response["errors"][0]["payload_id"],
        results[1]["payload_id"]
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

#[test]
fn the_worker_sees_request_and_payload_metadata() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &["-s", "echo_worker", "--request-source", "unit"],
    );
    let echo = &response["results"][0]["workers"]["echo_worker"];
    assert_eq!(echo["request_meta"]["source"], "unit");
    assert_eq!(echo["payload_meta"]["extra_data"]["filename"], "fox.txt");
    assert_eq!(echo["depth"], 0);
    assert_eq!(echo["request_payloads"], 1);
}

#[test]
fn a_required_worker_chain_deeper_than_the_limit_is_an_error() {
    let sample = fox();
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(&config, "[core]\nmax_required_worker_depth = 1\n").expect("write");
    // echo_worker -> dummy_worker -> hash: two levels of dependencies.
    let response = scan(
        &sample.path,
        &[
            "-R",
            "simple_dispatcher",
            "--config-file",
            config.to_str().unwrap(),
            "--plugin-opts",
            "simple_dispatcher:workers=echo_worker",
            "echo_worker:required_workers=dummy_worker",
            "dummy_worker:required_workers=hash",
        ],
    );
    assert!(workers_run(&response["results"][0]).is_empty());
    let errs = errors(&response);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("Max required plugin depth 1 reached, unable to generate additional tasks (echo_worker -> dummy_worker -> hash)"),
        "{errs:?}"
    );
    assert_eq!(response["errors"][0]["plugin_name"], "echo_worker");
}

#[test]
fn a_failing_dispatcher_is_an_error_and_the_others_still_dispatch() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-R",
            "simple_dispatcher",
            "conditional_dispatcher",
            "-s",
            "dummy_worker",
            "--plugin-opts",
            "simple_dispatcher:raise_exception=true",
        ],
    );
    assert_eq!(
        workers_run(&response["results"][0]),
        ["dummy_worker", "simple_worker"]
    );
    // Asked again after the request changed, it fails again: one error per payload.
    let results = response["results"].as_array().unwrap();
    let errs = response["errors"].as_array().unwrap();
    assert_eq!(errs.len(), results.len(), "{errs:?}");
    for (err, result) in errs.iter().zip(results) {
        assert_eq!(err["plugin_name"], "simple_dispatcher");
        assert_eq!(
            err["error"],
            "dispatcher:failed: Test exception please ignore"
        );
        assert_eq!(err["payload_id"], result["payload_id"]);
    }
}
