//! File types end to end, on the corpus in `tests/corpus/email/` (see its README): the real
//! `stoq` binary scans each folder with `-a mimetype -R yara`, and
//!
//! - at least 99% of the messages are opened by `smtp` (it ran on the file and reported, with
//!   no error), per source and overall (the rates are printed: `cargo xtask test --no-lint --
//!   filetype --no-capture`);
//! - none of the non-email samples is opened by `smtp`;
//! - for every payload, the roots and everything extracted from them, the kind `mimetype`
//!   reports (`filetype`) is the kind the yara dispatcher routed by (its dispatch meta, which a
//!   user rule routing every payload to `echo_worker` shows), and `smtp` ran exactly on the
//!   payloads of kind `email` (or that an extractor sent to it with `dispatch_to`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stoq_tests::{env, run, stderr};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/email")
}

/// The number of files under `dir`, recursively.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .map(|p| if p.is_dir() { count_files(&p) } else { 1 })
        .sum()
}

/// `stoq scan DIR -a mimetype -R yara --format ndjson`, plus a dispatch rule that sends every
/// payload to `echo_worker`, which reports the dispatch meta the yara dispatcher gave it: one
/// response per file.
fn scan_folder(dir: &Path) -> Vec<Value> {
    let rules = tempfile::tempdir().expect("temp dir");
    let rule = rules.path().join("echo.yar");
    std::fs::write(
        &rule,
        "rule echo_everything { meta: plugin = \"echo_worker\" condition: true }\n",
    )
    .expect("write rule");
    let rule_opt = format!("yara:dispatch_rules={}", rule.display());
    let output = run(&[
        "scan",
        dir.to_str().expect("UTF-8 path"),
        "--plugin-dir",
        env().test_dir.to_str().expect("UTF-8 path"),
        "-a",
        "mimetype",
        "-R",
        "yara",
        "--format",
        "ndjson",
        "--plugin-opts",
        &rule_opt,
    ]);
    let responses: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON response per line"))
        .collect();
    assert_eq!(
        responses.len(),
        count_files(dir),
        "one response per file: {}",
        stderr(&output)
    );
    responses
}

fn path_of(response: &Value) -> String {
    response["results"][0]["payload_meta"]["extra_data"]["path"]
        .as_str()
        .expect("a path")
        .to_owned()
}

fn ran(result: &Value, worker: &str) -> bool {
    result["plugins_run"]["workers"]
        .as_array()
        .is_some_and(|w| w.iter().any(|n| n == worker))
}

/// The errors of `plugin` on the payload `result`.
fn errors_on(response: &Value, result: &Value, plugin: &str) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| e["plugin_name"] == plugin && e["payload_id"] == result["payload_id"])
                .map(|e| e["error"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `smtp` opened the root payload of `response`: it ran, reported and failed not.
fn opened_by_smtp(response: &Value) -> Result<(), String> {
    let root = &response["results"][0];
    if !ran(root, "smtp") {
        return Err(format!(
            "smtp did not run (mimetype: {})",
            root["workers"]["mimetype"]
        ));
    }
    let errors = errors_on(response, root, "smtp");
    if !errors.is_empty() {
        return Err(format!("smtp failed: {errors:?}"));
    }
    if !root["workers"]["smtp"]["headers"].is_object() {
        return Err("smtp reported no headers".to_owned());
    }
    Ok(())
}

/// For every payload of `response`: the kind mimetype reports is the kind the dispatcher
/// routed by, and smtp ran on exactly the emails (and what was sent to it).
fn check_agreement(response: &Value) {
    let path = path_of(response);
    for result in response["results"].as_array().expect("results") {
        let reported = &result["workers"]["mimetype"]["filetype"];
        let echoed = &result["workers"]["echo_worker"]["dispatch_meta"]["yara"];
        assert!(
            echoed.is_object(),
            "{path}: the dispatcher's meta reached echo_worker: {result:#}"
        );
        let routed = &echoed["filetype"]["name"];
        assert_eq!(
            reported, routed,
            "{path}, payload {}: mimetype and the route agree",
            result["payload_id"]
        );
        let sent = result["payload_meta"]["dispatch_to"]
            .as_array()
            .is_some_and(|d| d.iter().any(|n| n == "smtp"));
        assert_eq!(
            ran(result, "smtp"),
            routed == "email" || sent,
            "{path}, payload {}: smtp runs on the emails: {result:#}",
            result["payload_id"]
        );
    }
}

#[test]
fn smtp_opens_the_corpus_messages_and_mimetype_agrees_with_the_routes() {
    let dir = corpus().join("messages");
    let responses = scan_folder(&dir);
    let mut per_source: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for response in &responses {
        let path = path_of(response);
        let source = path.split('/').next().unwrap_or_default().to_owned();
        let entry = per_source.entry(source).or_default();
        entry.1 += 1;
        match opened_by_smtp(response) {
            Ok(()) => entry.0 += 1,
            Err(why) => misses.push(format!("{path}: {why}")),
        }
        check_agreement(response);
    }
    let (opened, total) = per_source
        .values()
        .fold((0, 0), |(o, t), (so, st)| (o + so, t + st));
    for (source, (o, t)) in &per_source {
        eprintln!("{source}: {o}/{t} opened by smtp");
    }
    let rate = opened as f64 / total as f64;
    eprintln!(
        "all: {opened}/{total} ({:.2}%) opened by smtp under -R yara; missed:\n  {}",
        rate * 100.0,
        misses.join("\n  ")
    );
    assert!(rate >= 0.99, "{opened}/{total}: {misses:#?}");
}

#[test]
fn no_non_email_sample_is_opened_by_smtp() {
    let dir = corpus().join("not-email");
    let responses = scan_folder(&dir);
    assert!(responses.len() >= 10);
    for response in &responses {
        let path = path_of(response);
        let root = &response["results"][0];
        assert!(!ran(root, "smtp"), "{path}: {root:#}");
        assert_ne!(
            root["workers"]["mimetype"]["mimetype"], "message/rfc822",
            "{path}"
        );
        check_agreement(response);
    }
}
