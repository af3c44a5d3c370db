//! The 1.0 author API as users see it: declared options checked layer by layer (naming the
//! file or flag of a bad value), shown by `stoq list`; several plugins in one library;
//! `min_stoq_version`.

use stoq_tests::{
    bundled_plugin, env, fox, json, library_name, plugin_dir, run, stderr, test_plugin,
};

fn hash_dir() -> tempfile::TempDir {
    plugin_dir(&[&bundled_plugin("stoq_plugin_hash")])
}

#[test]
fn stoq_list_shows_declared_options_with_type_default_and_doc() {
    let dir = hash_dir();
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        dir.path().to_str().unwrap(),
    ]);
    let hash = listing["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "hash"))
        .expect("hash listed");
    let sha512 = hash["options"]
        .as_array()
        .expect("options")
        .iter()
        .find(|o| o["name"] == "sha512")
        .expect("sha512 is declared");
    assert_eq!(sha512["type"], "bool");
    assert_eq!(sha512["default"], false);
    assert!(
        !sha512["doc"].as_str().unwrap_or_default().is_empty(),
        "{sha512}"
    );
    let text = run(&["list", "--plugin-dir", dir.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("sha512"))
        .unwrap_or_else(|| panic!("no sha512 line in:\n{text}"));
    assert!(
        line.contains("bool") && line.contains("default false"),
        "{line}"
    );
}

#[test]
fn a_bad_value_names_the_file_it_came_from() {
    let sample = fox();
    let dir = hash_dir();
    let config = dir.path().join("stoq.toml");
    std::fs::write(&config, "[hash]\nsha512 = \"sometimes\"\n").expect("write");
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "--config-file",
        config.to_str().unwrap(),
        "-s",
        "hash",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let expected = format!(
        "plugin `hash`: option `sha512` (from {}): expected a boolean, got \"sometimes\"",
        config.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));

    // The TOML file beside the library is named too.
    let beside = dir
        .path()
        .join(library_name("stoq_plugin_hash"))
        .with_extension("toml");
    std::fs::write(&beside, "[options]\nsha512 = 3\n").expect("write");
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "hash",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let expected = format!(
        "plugin `hash`: option `sha512` (from {}): expected a boolean, got 3",
        beside.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn two_plugins_of_one_library_load_with_their_own_options() {
    let dir = plugin_dir(&[&test_plugin("stoq_test_two_workers")]);
    let plugins = dir.path().to_str().unwrap();
    let listing = json(&["list", "--json", "--plugin-dir", plugins]);
    let entries: Vec<&serde_json::Value> = listing["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("worker_")))
        .collect();
    let names: Vec<&str> = entries.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["worker_a", "worker_b"]);
    assert_eq!(entries[0]["path"], entries[1]["path"], "one library");
    assert_eq!(entries[1]["same_library"], serde_json::json!(["worker_a"]));

    let sample = fox();
    let file = sample.path.to_str().unwrap();
    // worker_b requires worker_a, which runs first although nothing named it.
    let response = json(&["scan", file, "--plugin-dir", plugins, "-s", "worker_b"]);
    let workers = &response["results"][0]["workers"];
    assert_eq!(workers["worker_a"]["said"], "hello");
    assert_eq!(
        workers["worker_b"]["repeated"],
        serde_json::json!(["HELLO", "HELLO"])
    );

    let response = json(&[
        "scan",
        file,
        "--plugin-dir",
        plugins,
        "-s",
        "worker_b",
        "--plugin-opts",
        "worker_a:greeting=hi",
        "worker_b:times=3",
    ]);
    let workers = &response["results"][0]["workers"];
    assert_eq!(
        workers["worker_b"]["repeated"],
        serde_json::json!(["HI", "HI", "HI"])
    );
}

#[test]
fn a_plugin_that_needs_a_newer_stoq_is_refused_naming_both_versions() {
    let dir = plugin_dir(&[&env().future_worker, &bundled_plugin("stoq_plugin_hash")]);
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        dir.path().to_str().unwrap(),
    ]);
    let error = listing["load_errors"][0]["error"]
        .as_str()
        .unwrap_or_default();
    let version = String::from_utf8(run(&["--version"]).stdout).expect("UTF-8");
    let version = version.split_whitespace().last().expect("a version");
    assert_eq!(
        error,
        format!("plugin `future_worker` needs stoq 999.0.0 or newer; this is stoq {version}")
    );
    let names: Vec<&str> = listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"hash"), "the others load: {names:?}");
    assert!(!names.contains(&"future_worker"));
}

#[test]
fn stoqs_min_stoq_version_option_warns_and_loads_as_stoq_does() {
    let sample = fox();
    let dir = hash_dir();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "hash",
        "--plugin-opts",
        "hash:min_stoq_version=9999.9999",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "plugin `hash`: option `min_stoq_version` (from --plugin-opts) asks for stoq 9999.9999"
        ),
        "{}",
        stderr(&output)
    );
}
