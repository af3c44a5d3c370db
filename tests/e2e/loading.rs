//! Plugin discovery and every kind of bad file in a plugin folder: each is reported with its
//! path and reason, and never stops the host or the other plugins.

use serde_json::Value;
use stoq_tests::{bundled_plugin, env, fox, json, library_name, plugin_dir, run, stderr, stoq};

fn list(dir: &std::path::Path) -> Value {
    json(&["list", "--json", "--plugin-dir", dir.to_str().unwrap()])
}

fn load_error<'a>(listing: &'a Value, file: &str) -> &'a str {
    listing["load_errors"]
        .as_array()
        .expect("load_errors")
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .and_then(|e| e["error"].as_str())
        .unwrap_or_else(|| panic!("no load error for {file}: {listing:#}"))
}

fn names(listing: &Value) -> Vec<&str> {
    listing["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect()
}

/// A folder with one good plugin and every kind of bad file.
fn bad_folder() -> tempfile::TempDir {
    let dir = plugin_dir(&[&env().example, &env().abi_v2, &env().not_a_plugin]);
    std::fs::write(dir.path().join(library_name("random")), [0x5a; 4096]).expect("write");
    let hash = std::fs::read(bundled_plugin("stoq_plugin_hash")).expect("read hash plugin");
    // Cut inside the loadable segments: dlopen would map them past the end of the file.
    std::fs::write(
        dir.path().join(library_name("truncated")),
        &hash[..64 * 1024],
    )
    .expect("write");
    std::fs::write(dir.path().join(library_name("empty")), b"").expect("write");
    dir
}

#[test]
fn every_bad_file_is_reported_and_the_good_plugin_loads() {
    let dir = bad_folder();
    let listing = list(dir.path());
    assert!(names(&listing).contains(&"byte_stats"), "{listing:#}");
    assert!(
        names(&listing).contains(&"hash"),
        "bundled plugins still load"
    );

    let random = load_error(&listing, &library_name("random"));
    assert!(
        random.starts_with("cannot be opened as a dynamic library"),
        "{random}"
    );
    let truncated = load_error(&listing, &library_name("truncated"));
    assert!(
        truncated.starts_with("truncated or corrupt ELF file: segment"),
        "{truncated}"
    );
    load_error(&listing, &library_name("empty"));
    let no_symbol = load_error(&listing, &library_name("stoq_fixture_not_a_plugin"));
    assert_eq!(
        no_symbol,
        "not a stoq plugin: the library does not export the stoq plugin entry symbol"
    );
    let v2 = load_error(&listing, &library_name("stoq_fixture_abi_v2"));
    assert!(
        v2.starts_with(
            "built against stoq-plugin-abi 2.0.0 (ABI 2), but this stoq supports ABI 1.x"
        ),
        "{v2}"
    );
    assert_eq!(listing["load_errors"].as_array().unwrap().len(), 5);
}

#[test]
fn a_scan_goes_on_beside_bad_files_and_warns_about_them() {
    let dir = bad_folder();
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "byte_stats",
        "hash",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(response["results"][0]["workers"]["byte_stats"]["size"], 19);
    assert!(response["results"][0]["workers"]["hash"].is_object());
    let err = stderr(&output);
    assert!(
        err.contains("stoq_fixture_abi_v2"),
        "the bad file is named in the log: {err}"
    );
    assert!(
        !err.contains("Expected:"),
        "no abi_stable layout dump at the default level"
    );
}

#[test]
fn the_text_listing_shows_failures_with_their_paths() {
    let dir = bad_folder();
    let output = stoq()
        .args(["list", "--plugin-dir", dir.path().to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "byte_stats           v0.2.0      Printable share, NUL count and a text guess"
        ),
        "{text}"
    );
    assert!(text.contains("    roles: worker"));
    assert!(text.contains("failed to load:"));
    let abi_line = text
        .lines()
        .find(|l| l.contains("stoq_fixture_abi_v2"))
        .expect("listed");
    assert!(
        abi_line.contains(dir.path().to_str().unwrap()),
        "{abi_line}"
    );
}

#[test]
fn two_plugins_with_one_name_keep_the_first_and_report_the_second() {
    let dir = tempfile::tempdir().expect("temp");
    let hash = bundled_plugin("stoq_plugin_hash");
    std::fs::copy(&hash, dir.path().join(library_name("hash_a"))).expect("copy");
    std::fs::copy(&hash, dir.path().join(library_name("hash_b"))).expect("copy");
    let listing = list(dir.path());
    let hashes: Vec<&Value> = listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "hash")
        .collect();
    assert_eq!(hashes.len(), 1);
    assert!(
        hashes[0]["path"]
            .as_str()
            .unwrap()
            .ends_with(&library_name("hash_a"))
    );
    let dup = load_error(&listing, &library_name("hash_b"));
    assert!(
        dup.starts_with("duplicate plugin name `hash`: already loaded from"),
        "{dup}"
    );
    assert!(dup.contains(&library_name("hash_a")));
    // The bundled copy next to the binary is searched last, so it is the one reported.
    let bundled = load_error(&listing, "plugins/libstoq_plugin_hash.so");
    assert!(bundled.starts_with("duplicate plugin name `hash`"));
}

#[test]
fn plugin_dir_from_the_environment_and_in_subfolders() {
    let dir = tempfile::tempdir().expect("temp");
    let nested = dir.path().join("byte_stats");
    std::fs::create_dir(&nested).expect("mkdir");
    std::fs::copy(&env().example, nested.join(library_name("byte_stats"))).expect("copy");
    let output = stoq()
        .args(["list", "--json"])
        .env("STOQ_PLUGIN_DIR", dir.path())
        .output()
        .expect("runs");
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(names(&listing).contains(&"byte_stats"), "{listing:#}");
}

#[test]
fn a_missing_plugin_directory_is_reported() {
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        "/nonexistent/stoq-plugins",
    ]);
    let err = load_error(&listing, "/nonexistent/stoq-plugins");
    assert!(err.starts_with("cannot read plugin directory"), "{err}");
    assert!(names(&listing).contains(&"hash"));
}

#[test]
fn list_shows_metadata_from_the_library_itself() {
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        env().test_dir.to_str().unwrap(),
    ]);
    let plugins = listing["plugins"].as_array().unwrap();
    let simple = plugins
        .iter()
        .find(|p| p["name"] == "simple_dispatcher")
        .expect("listed");
    assert_eq!(simple["roles"], serde_json::json!(["dispatcher"]));
    assert_eq!(simple["version"], "0.1.0");
    assert_eq!(simple["abi_version"], "1.0.0");
    let hash = plugins
        .iter()
        .find(|p| p["name"] == "hash")
        .expect("listed");
    assert_eq!(
        hash["description"],
        "md5, sha1 and sha256 of each payload (sha512 optional)"
    );
    assert!(
        listing["load_errors"].as_array().unwrap().is_empty(),
        "{listing:#}"
    );
}

#[test]
fn required_workers_are_listed_with_option_overrides() {
    let listing = json(&[
        "list",
        "--json",
        "--plugin-dir",
        env().test_dir.to_str().unwrap(),
        "--plugin-opts",
        "echo_worker:required_workers=hash, dummy_worker",
    ]);
    let echo = listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "echo_worker")
        .expect("listed");
    assert_eq!(
        echo["required_workers"],
        serde_json::json!(["hash", "dummy_worker"])
    );
}

#[test]
fn a_library_that_kills_the_loader_is_reported_and_the_scan_goes_on() {
    let dir = plugin_dir(&[&env().aborts_on_load, &env().example]);
    let listing = list(dir.path());
    let err = load_error(&listing, &library_name("stoq_fixture_aborts_on_load"));
    assert!(
        err.starts_with("a probe process that opened the library was killed by signal 6"),
        "{err}"
    );
    let sample = fox();
    let response = json(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "-s",
        "byte_stats",
    ]);
    assert_eq!(response["results"][0]["workers"]["byte_stats"]["size"], 19);
}

#[test]
fn a_library_that_hangs_on_load_is_reported_after_the_probe_timeout() {
    let dir = plugin_dir(&[&env().hangs_on_load]);
    let output = stoq()
        .args([
            "list",
            "--json",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("STOQ_PROBE_TIMEOUT_MS", "300")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let err = load_error(&listing, &library_name("stoq_fixture_hangs_on_load"));
    assert!(
        err.starts_with("opening the library did not finish within 300 ms"),
        "{err}"
    );
}

#[test]
fn probe_verdicts_are_cached_by_file_identity() {
    let cache = tempfile::tempdir().expect("temp");
    let dir = plugin_dir(&[&env().example]);
    let lib = dir.path().join(library_name("byte_stats"));
    let list_with_cache = || -> Value {
        let output = stoq()
            .args([
                "list",
                "--json",
                "--plugin-dir",
                dir.path().to_str().unwrap(),
            ])
            .env("STOQ_CACHE_DIR", cache.path())
            .output()
            .expect("runs");
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    // A file changed in the last two seconds is probed but not cached (file times are coarse).
    let cache_file = cache.path().join("plugin-probes-v3.json");
    let key = lib.canonicalize().expect("canonical");
    let cached = |path: &std::path::Path| -> Option<Value> {
        let entries: Value = serde_json::from_slice(&std::fs::read(&cache_file).ok()?).ok()?;
        entries.get(path.to_str()?).cloned()
    };
    assert!(names(&list_with_cache()).contains(&"byte_stats"));
    assert!(cached(&key).is_none(), "a fresh file is not cached");

    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert!(names(&list_with_cache()).contains(&"byte_stats"));
    assert!(cached(&key).expect("cached once settled")["rejected"].is_null());
    let mut entries: Value =
        serde_json::from_slice(&std::fs::read(&cache_file).expect("cache")).expect("JSON");
    let entry = entries
        .get_mut(key.to_str().unwrap())
        .expect("entry for the library");

    // The next run trusts the cached verdict instead of probing again.
    entry["rejected"] = "verdict planted in the cache by the test".into();
    std::fs::write(&cache_file, entries.to_string()).expect("write");
    assert_eq!(
        load_error(&list_with_cache(), &library_name("byte_stats")),
        "verdict planted in the cache by the test"
    );

    // Rewriting the file changes its identity: it is probed again and loads.
    std::fs::copy(&env().example, &lib).expect("rewrite");
    assert!(names(&list_with_cache()).contains(&"byte_stats"));
}

#[test]
fn a_cached_manifest_spares_opening_libraries_a_run_does_not_use() {
    let cache = tempfile::tempdir().expect("temp");
    let dir = plugin_dir(&[&env().example]);
    let lib = dir.path().join(library_name("byte_stats"));
    let with_cache = |args: &[&str]| {
        stoq()
            .args(args)
            .args(["--plugin-dir", dir.path().to_str().unwrap()])
            .env("STOQ_CACHE_DIR", cache.path())
            .output()
            .expect("runs")
    };
    let cache_file = cache.path().join("plugin-probes-v3.json");
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert!(with_cache(&["list"]).status.success());
    let mut entries: Value =
        serde_json::from_slice(&std::fs::read(&cache_file).expect("cache")).expect("JSON");
    let key = lib.canonicalize().expect("canonical");
    let manifest = &mut entries[key.to_str().unwrap()]["found"]["manifest"]["plugins"][0];
    assert_eq!(
        manifest["name"], "byte_stats",
        "the probe read the manifest"
    );

    // A planted description shows that `list` read the cache, not the library.
    manifest["description"] = "planted by the test".into();
    std::fs::write(&cache_file, entries.to_string()).expect("write");
    let listing: Value =
        serde_json::from_slice(&with_cache(&["list", "--json"]).stdout).expect("JSON");
    let listed = listing["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "byte_stats"))
        .expect("byte_stats listed");
    assert_eq!(listed["description"], "planted by the test");

    // Using the plugin opens the library, which checks the manifest it was listed with.
    let sample = fox();
    let output = with_cache(&["scan", sample.path.to_str().unwrap(), "-s", "byte_stats"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("changed since its manifest was read"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_layout_mismatch_within_the_major_is_one_line_and_the_dump_is_debug_only() {
    let dir = plugin_dir(&[&env().abi_v1_layout]);
    let listing = list(dir.path());
    assert_eq!(
        load_error(&listing, &library_name("stoq_fixture_abi_v1_layout")),
        "incompatible plugin ABI (built against stoq-plugin-abi 1.0.0): in `PluginModule.manifest` (return type): mismatched type: expected RString, found RVec"
    );
    let debug = run(&["-vv", "list", "--plugin-dir", dir.path().to_str().unwrap()]);
    let log = stderr(&debug);
    assert!(log.contains("full loader report"), "{log}");
    assert!(
        log.contains("Layout of expected type"),
        "the full abi_stable report at debug level"
    );
}
