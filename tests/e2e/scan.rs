//! A scan with the bundled hash worker: stoQ's response shape and digests.

use std::io::Write;
use std::process::Stdio;

use stoq_tests::{errors, fox, json, stoq, workers_run};

const MD5: &str = "a2004f37730b9445670a738fa0fc9ee5";
const SHA1: &str = "c519c1a06cdbeb2bc499e22137fb48683858b345";
const SHA256: &str = "5cac4f980fedc3d3f1f99b4be3472c9b30d56523e632d151237ec9309048bda9";

#[test]
fn hash_from_the_bundled_plugin_folder_without_flags() {
    let sample = fox();
    let response = json(&["scan", sample.path.to_str().unwrap(), "-s", "hash"]);
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    let root = &results[0];
    assert_eq!(root["size"], 19);
    assert_eq!(root["depth"], 0);
    assert_eq!(root["workers"]["hash"]["md5"], MD5);
    assert_eq!(root["workers"]["hash"]["sha1"], SHA1);
    assert_eq!(root["workers"]["hash"]["sha256"], SHA256);
    assert!(
        root["workers"]["hash"].get("sha512").is_none(),
        "sha512 is off by default"
    );
    assert_eq!(workers_run(root), ["hash"]);
    assert_eq!(root["payload_meta"]["extra_data"]["filename"], "fox.txt");
    assert_eq!(root["payload_meta"]["should_scan"], true);
    assert_eq!(root["extracted_from"], serde_json::json!([]));
    assert!(errors(&response).is_empty());
    assert_eq!(response["request_meta"]["archive_payloads"], true);
    assert_eq!(response["scan_id"].as_str().map(str::len), Some(36));
    assert!(response["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn output_keeps_stoq_key_order_and_indentation() {
    let sample = fox();
    let output = stoq()
        .args(["scan", sample.path.to_str().unwrap(), "-s", "hash"])
        .output()
        .expect("runs");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let keys = [
        "\"results\"",
        "\"request_meta\"",
        "\"errors\"",
        "\"time\"",
        "\"decorators\"",
        "\"scan_id\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).expect(k)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "top-level keys out of stoQ's order"
    );
    assert!(
        text.starts_with("{\n    \"results\": ["),
        "indented by 4 like stoQ"
    );
}

#[test]
fn stdin_input_has_no_filename() {
    let mut child = stoq()
        .args(["scan", "-", "-s", "hash", "--format", "ndjson"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"The quick brown fox")
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(text.lines().count(), 1, "ndjson is one line per response");
    let response: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let root = &response["results"][0];
    assert_eq!(root["workers"]["hash"]["sha256"], SHA256);
    assert!(root["payload_meta"]["extra_data"].get("filename").is_none());
}

#[test]
fn sha512_is_an_option() {
    let sample = fox();
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "-s",
        "hash",
        "--plugin-opts",
        "hash:sha512=true",
    ]);
    let sha512 = response["results"][0]["workers"]["hash"]["sha512"]
        .as_str()
        .expect("sha512 present");
    assert!(
        sha512.starts_with("015e6d23") && sha512.ends_with("c24f77e0"),
        "{sha512}"
    );
}

#[test]
fn request_meta_comes_from_flags() {
    let sample = fox();
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--request-source",
        "mailgw",
        "--request-extra",
        "ticket=42",
        "urgent=true",
    ]);
    assert_eq!(response["request_meta"]["source"], "mailgw");
    assert_eq!(response["request_meta"]["extra_data"]["ticket"], "42");
    assert_eq!(response["request_meta"]["extra_data"]["urgent"], true);
    // No workers named: the payload is listed and nothing ran (stoQ's test_scan).
    assert_eq!(response["results"][0]["size"], 19);
    assert!(workers_run(&response["results"][0]).is_empty());
}

#[test]
fn non_utf8_file_names_use_backslash_escapes() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&path, b"x").expect("write");
    let output = stoq().arg("scan").arg(&path).output().expect("runs");
    assert!(output.status.success());
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        response["results"][0]["payload_meta"]["extra_data"]["filename"],
        "caf\\xe9.txt"
    );
}
