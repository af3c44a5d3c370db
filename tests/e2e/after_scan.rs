//! SPEC §2.12: once scanning is done, destination archivers (each payload with
//! should_archive), then decorators, then connectors.

use serde_json::Value;
use stoq_tests::{env, errors, fox, run, scan, stderr};

fn archivers_run(result: &Value) -> Vec<&str> {
    result["plugins_run"]["archivers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn archivers_save_every_payload_that_should_be_archived() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-s",
            "simple_worker",
            "-A",
            "simple_archiver",
            "--plugin-opts",
            "simple_worker:extracted_should_archive=false",
        ],
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(archivers_run(&results[0]), ["simple_archiver"]);
    assert_eq!(
        results[0]["archivers"]["simple_archiver"]["file_save_id"],
        12345
    );
    assert!(
        archivers_run(&results[1]).is_empty(),
        "should_archive = false is not archived"
    );
    assert!(errors(&response).is_empty());
}

#[test]
fn archiver_results_errors_and_failures() {
    let sample = fox();
    let nothing = scan(
        &sample.path,
        &[
            "-A",
            "simple_archiver",
            "--plugin-opts",
            "simple_archiver:return_nothing=true",
        ],
    );
    assert_eq!(archivers_run(&nothing["results"][0]), ["simple_archiver"]);
    assert!(
        nothing["results"][0]["archivers"]
            .get("simple_archiver")
            .is_none()
    );

    let errs = scan(
        &sample.path,
        &[
            "-A",
            "simple_archiver",
            "--plugin-opts",
            "simple_archiver:return_errors=true",
        ],
    );
    assert_eq!(
        errs["results"][0]["archivers"]["simple_archiver"]["file_save_id"],
        12345
    );
    assert_eq!(errors(&errs), ["Test error please ignore"]);

    let raised = scan(
        &sample.path,
        &[
            "-A",
            "simple_archiver",
            "--plugin-opts",
            "simple_archiver:raise_exception=true",
        ],
    );
    assert_eq!(archivers_run(&raised["results"][0]), ["simple_archiver"]);
    assert_eq!(
        errors(&raised),
        ["archiver:failed: Test exception please ignore"]
    );
    assert_eq!(raised["errors"][0]["plugin_name"], "simple_archiver");
}

#[test]
fn decorators_summarise_the_whole_response() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &["-a", "simple_worker", "-D", "simple_decorator"],
    );
    assert_eq!(
        response["decorators"]["simple_decorator"]["simple_decoration"],
        123
    );
    assert_eq!(
        response["decorators"]["simple_decorator"]["payloads"], 2,
        "it saw both payloads"
    );
    let failing = scan(
        &sample.path,
        &[
            "-D",
            "simple_decorator",
            "--plugin-opts",
            "simple_decorator:raise_exception=true",
        ],
    );
    assert_eq!(
        errors(&failing),
        ["decorator:failed: Test exception please ignore"]
    );
    assert_eq!(failing["errors"][0]["plugin_name"], "simple_decorator");
    let erring = scan(
        &sample.path,
        &[
            "-D",
            "simple_decorator",
            "--plugin-opts",
            "simple_decorator:return_errors=true",
        ],
    );
    assert_eq!(
        erring["decorators"]["simple_decorator"]["simple_decoration"],
        123
    );
    assert_eq!(errors(&erring), ["Test error please ignore"]);
}

#[test]
fn connectors_get_the_final_response_and_stdout_stays_empty() {
    let sample = fox();
    let sink = sample.dir.path().join("responses.ndjson");
    let opt = format!("file_connector:path={}", sink.display());
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        env().test_dir.to_str().unwrap(),
        "-a",
        "hash",
        "-A",
        "simple_archiver",
        "-D",
        "simple_decorator",
        "-C",
        "file_connector",
        "--plugin-opts",
        &opt,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        output.stdout.is_empty(),
        "with a connector nothing is printed"
    );
    let saved = std::fs::read_to_string(&sink).expect("the connector wrote");
    let lines: Vec<&str> = saved.lines().collect();
    assert_eq!(lines.len(), 1);
    let response: Value = serde_json::from_str(lines[0]).expect("JSON");
    // The connector sees the archivers' and decorators' results: it runs last.
    assert_eq!(
        response["results"][0]["archivers"]["simple_archiver"]["file_save_id"],
        12345
    );
    assert_eq!(response["decorators"]["simple_decorator"]["payloads"], 1);
    assert!(response["results"][0]["workers"]["hash"].is_object());
}

#[test]
fn archive_payloads_false_skips_archivers() {
    use std::sync::Arc;
    let registry = stoq_core::Registry::discover(
        &[env().test_dir.clone(), env().bundled_dir.clone()],
        Default::default(),
    );
    let engine = stoq_core::Engine::builder(Arc::new(registry))
        .dest_archivers(["simple_archiver"])
        .build()
        .expect("engine");
    let request_meta = stoq_core::RequestMeta::new().with_archive_payloads(false);
    let response = engine.scan(b"x".to_vec().into(), Default::default(), request_meta);
    assert!(response.results[0].plugins_run.archivers.is_empty());
    let archived = engine.scan(b"x".to_vec().into(), Default::default(), Default::default());
    assert_eq!(
        archived.results[0].plugins_run.archivers,
        ["simple_archiver"]
    );
}
