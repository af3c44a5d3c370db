//! Option precedence: --plugin-opts > global config [NAME] > TOML beside the library > built-in
//! defaults.

use serde_json::Value;
use stoq_tests::{bundled_plugin, fox, json, library_name, plugin_dir, run, stderr};

fn sha512_present(args: &[&str]) -> bool {
    let response: Value = json(args);
    response["results"][0]["workers"]["hash"]
        .get("sha512")
        .is_some()
}

#[test]
fn each_layer_overrides_the_one_below() {
    let sample = fox();
    let dir = plugin_dir(&[&bundled_plugin("stoq_plugin_hash")]);
    let file = sample.path.to_str().unwrap();
    let plugins = dir.path().to_str().unwrap();
    let base = ["scan", file, "--plugin-dir", plugins, "-s", "hash"];

    // Built-in default: sha512 = false.
    assert!(!sha512_present(&base));

    // The TOML beside the library turns it on.
    let toml = dir
        .path()
        .join(library_name("stoq_plugin_hash"))
        .with_extension("toml");
    std::fs::write(&toml, "[options]\nsha512 = true\n").expect("write");
    assert!(sha512_present(&base));

    // The global config file turns it off again.
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(&config, "[hash]\nsha512 = false\n").expect("write");
    let with_config = [&base[..], &["--config-file", config.to_str().unwrap()]].concat();
    assert!(!sha512_present(&with_config));

    // The command line wins over everything.
    let with_cli = [&with_config[..], &["--plugin-opts", "hash:sha512=yes"]].concat();
    assert!(sha512_present(&with_cli));
}

#[test]
fn a_broken_options_file_is_a_load_error_naming_file_and_line() {
    let dir = plugin_dir(&[&bundled_plugin("stoq_plugin_hash")]);
    let toml = dir
        .path()
        .join(library_name("stoq_plugin_hash"))
        .with_extension("toml");
    std::fs::write(&toml, "[options]\nsha512 = tru\n").expect("write");
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        dir.path().to_str().unwrap(),
    ]);
    let errors = listing["load_errors"].as_array().unwrap();
    let err = errors
        .iter()
        .find_map(|e| {
            e["error"]
                .as_str()
                .filter(|m| m.contains("invalid options file"))
        })
        .expect("reported");
    assert!(err.contains(toml.to_str().unwrap()), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_config_file_sets_core_settings_and_plugin_dirs() {
    let sample = fox();
    let plugins = plugin_dir(&[&bundled_plugin("stoq_plugin_hash")]);
    std::fs::copy(
        stoq_tests::test_plugin("stoq_test_extract_payload"),
        plugins
            .path()
            .join(library_name("stoq_test_extract_payload")),
    )
    .expect("copy");
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(
        &config,
        format!(
            "[core]\nplugin_dirs = [{:?}]\nalways_dispatch = [\"extract_payload\"]\nmax_recursion = 2\n",
            plugins.path()
        ),
    )
    .expect("write");
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--config-file",
        config.to_str().unwrap(),
    ]);
    assert_eq!(response["results"].as_array().unwrap().len(), 3);
}

#[test]
fn a_bad_config_file_exits_2_naming_it() {
    let sample = fox();
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(&config, "[core]\nmax_recursion = \"ten\"\n").expect("write");
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--config-file",
        config.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(config.to_str().unwrap()) && err.contains("max_recursion"),
        "{err}"
    );
    let missing = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--config-file",
        "/nonexistent/stoq.toml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/stoq.toml"));
}
