//! A plugin written outside this workspace, against `stoq-plugin-abi` alone.

use stoq_tests::{env, fox, json, plugin_dir, run, stderr};

#[test]
fn the_example_plugin_runs_from_a_dropped_in_library() {
    let dir = plugin_dir(&[&env().example]);
    let sample = fox();
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "byte_stats",
    ]);
    let stats = &response["results"][0]["workers"]["byte_stats"];
    assert_eq!(stats["size"], 19);
    assert_eq!(stats["nul_bytes"], 0);
    assert_eq!(stats["printable_share"], 1.0);
    assert_eq!(stats["is_text"], true);
}

#[test]
fn the_example_built_against_the_packaged_abi_crate_runs() {
    // `cargo xtask test` packages stoq-plugin-abi as crates.io would get it, and builds the
    // example against that package instead of the workspace folder.
    let dir = plugin_dir(&[&env().example_packaged]);
    let sample = fox();
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "byte_stats",
        "--plugin-opts",
        "byte_stats:text_threshold=1",
    ]);
    let stats = &response["results"][0]["workers"]["byte_stats"];
    assert_eq!(stats["size"], 19);
    assert_eq!(stats["is_text"], true);
}

#[test]
fn the_example_validates_its_options() {
    let dir = plugin_dir(&[&env().example]);
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "byte_stats",
        "--plugin-opts",
        "byte_stats:text_threshold=2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("option `text_threshold` must be between 0 and 1, got 2"));
}

#[test]
fn the_example_depends_on_the_abi_crate_alone() {
    let manifest_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/third-party-worker/Cargo.toml"
    );
    let manifest: toml::Table = std::fs::read_to_string(manifest_path)
        .expect("read")
        .parse()
        .expect("TOML");
    let deps = manifest["dependencies"].as_table().expect("dependencies");
    assert_eq!(deps.keys().collect::<Vec<_>>(), ["stoq-plugin-abi"]);
    assert!(
        manifest.contains_key("workspace"),
        "it is its own workspace, not a member of stoq's"
    );
}
