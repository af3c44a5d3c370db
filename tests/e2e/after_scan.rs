//! SPEC §2.12: once scanning is done, destination archivers (each payload with
//! should_archive), then decorators, then connectors. The archiver and decorator scenarios
//! are snapshot tests in `scenarios.rs`; here: connectors (stdout stays empty, the response
//! goes to a file) and `archive_payloads = false` through the library.

use serde_json::Value;
use stoq_tests::{env, fox, run, stderr};

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
