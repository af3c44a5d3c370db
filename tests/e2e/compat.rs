//! The compatibility gate of ABI 1: plugins built against the frozen copy of
//! stoq-plugin-abi 1.0.0 (`tests/fixtures/abi-1.0.0/`) load and run in this host. If a change
//! to the ABI crate or the host breaks them, these tests fail: a plugin author's 1.0.0 build
//! must keep working in every 1.x host.

use serde_json::Value;
use stoq_tests::{env, errors, fox, json, plugin_dir};

fn compat_scan(extra: &[&str]) -> Value {
    let dir = plugin_dir(&[&env().abi_1_0_0]);
    let sample = fox();
    let mut args = vec![
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-R",
        "compat_dispatcher",
        "-D",
        "compat_decorator",
        "--request-source",
        "compat-test",
        "--deterministic",
    ];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn a_library_built_against_1_0_0_lists_its_three_plugins() {
    let dir = plugin_dir(&[&env().abi_1_0_0]);
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        dir.path().to_str().unwrap(),
    ]);
    // The bundled plugins next to the binary are listed too; these come from the fixture.
    let plugins: Vec<&Value> = listing["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("compat_")))
        .collect();
    let names: Vec<&str> = plugins.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(
        names,
        ["compat_decorator", "compat_dispatcher", "compat_worker"]
    );
    for plugin in &plugins {
        assert_eq!(plugin["abi_version"], "1.0.0");
    }
    let worker = plugins[2];
    assert_eq!(worker["website"], "https://docs.rs/stoq-plugin-abi/1.0.0");
    let options: Vec<(&str, &str)> = worker["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        options,
        [
            ("greeting", "string"),
            ("repeat", "int"),
            ("upper", "bool"),
            ("ratio", "float"),
            ("tags", "list"),
            ("extra", "json")
        ]
    );
    assert!(
        listing["load_errors"].as_array().unwrap().is_empty(),
        "{listing:#}"
    );
}

#[test]
fn plugins_built_against_1_0_0_scan_extract_dispatch_and_decorate() {
    let response = compat_scan(&[]);
    let root = &response["results"][0];
    let worker = &root["workers"]["compat_worker"];
    assert_eq!(
        worker["said"], "hellohello",
        "declared defaults reach 1.0.0 plugins"
    );
    assert_eq!(worker["ratio"], 0.5);
    assert_eq!(worker["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(worker["extra"], serde_json::json!({"k": [1, 2]}));
    assert_eq!(worker["size"], 19);
    assert_eq!(worker["depth"], 0);
    assert_eq!(worker["source"], "compat-test");
    assert_eq!(worker["room"], true);
    assert_eq!(
        worker["dispatch_meta"],
        serde_json::json!({"compat_dispatcher": {"seen_size": 19}})
    );

    let child = &response["results"][1];
    assert_eq!(child["extracted_by"], serde_json::json!(["compat_worker"]));
    assert_eq!(child["payload_meta"]["extra_data"]["filename"], "child.txt");
    assert_eq!(child["payload_meta"]["should_archive"], false);
    let child_worker = &child["workers"]["compat_worker"];
    assert_eq!(child_worker["depth"], 1);
    assert_eq!(child_worker["filename"], "child.txt");
    assert_eq!(child_worker["size"], "child of 19 bytes".len());

    assert_eq!(response["decorators"]["compat_decorator"]["payloads"], 2);
    assert_eq!(errors(&response), ["a note from 1.0.0"], "{response:#}");
    assert_eq!(response["errors"][0]["plugin_name"], "compat_worker");
}

#[test]
fn options_reach_plugins_built_against_1_0_0_checked_and_converted() {
    let response = compat_scan(&[
        "--plugin-opts",
        "compat_worker:repeat=3",
        "compat_worker:upper=yes",
        "compat_worker:tags=x, y",
        "compat_worker:extra={\"z\": true}",
    ]);
    let worker = &response["results"][0]["workers"]["compat_worker"];
    assert_eq!(worker["said"], "HELLOHELLOHELLO");
    assert_eq!(worker["tags"], serde_json::json!(["x", "y"]));
    assert_eq!(worker["extra"], serde_json::json!({"z": true}));
}
