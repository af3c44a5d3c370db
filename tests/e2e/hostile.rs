//! Hostile and careless inputs (issue 8): no hang (each run is a bounded wait), no memory
//! beyond the limits (runs under an address-space limit), nothing lost without a mark.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use stoq_tests::{
    bundled_plugin, env, errors, output_within, plugin_dir, stderr, stoq, stoq_limited, test_plugin,
};

const LIMIT: Duration = Duration::from_secs(60);

fn ndjson(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn path_of(response: &Value) -> String {
    response["results"][0]["payload_meta"]["extra_data"]["path"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn text(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).expect("write");
}

#[test]
fn a_stuck_call_costs_its_thread_not_the_directory_scan() {
    // One thread, four files, each call stuck for 30 s past a 1 s timeout: the scan ends
    // after about 4 s, every file has its response and its timeout error.
    let dir = tempfile::tempdir().expect("dir");
    for name in ["a", "b", "c", "d"] {
        text(dir.path(), name, name);
    }
    let test_dir = env().test_dir.to_str().expect("path");
    let mut cmd = stoq();
    cmd.args([
        "scan",
        dir.path().to_str().expect("path"),
        "--plugin-dir",
        test_dir,
    ])
    .args([
        "-s",
        "slow_worker",
        "--plugin-opts",
        "slow_worker:seconds=30",
    ])
    .args(["--worker-timeout", "1", "--jobs", "1", "--format", "ndjson"]);
    let output = output_within(cmd, Duration::from_secs(25), "a scan of stuck calls");
    assert!(output.status.success(), "{}", stderr(&output));
    let responses = ndjson(&output.stdout);
    let paths: Vec<String> = responses.iter().map(path_of).collect();
    assert_eq!(paths, ["a", "b", "c", "d"]);
    for response in &responses {
        assert!(
            errors(response)[0].starts_with("worker:timed out"),
            "{response:#}"
        );
        assert_eq!(response["errors"][0]["plugin_name"], "slow_worker");
    }
}

#[test]
fn responses_stream_out_as_they_complete_so_a_killed_scan_keeps_them() {
    // `b` hangs (60 s, the default timeout); `a` finished long before and must be on stdout
    // while `b` still runs, so killing the scan keeps it.
    let dir = tempfile::tempdir().expect("dir");
    text(dir.path(), "a", "fine");
    text(dir.path(), "b", "STUCK");
    let test_dir = env().test_dir.to_str().expect("path");
    let out = tempfile::NamedTempFile::new().expect("out file");
    let mut child = stoq()
        .args([
            "scan",
            dir.path().to_str().expect("path"),
            "--plugin-dir",
            test_dir,
        ])
        .args([
            "-s",
            "slow_worker",
            "--plugin-opts",
            "slow_worker:seconds=60",
        ])
        .args(["slow_worker:when_contains=STUCK", "--format", "ndjson"])
        .stdout(out.reopen().expect("reopen"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("stoq starts");
    let read = || std::fs::read(out.path()).unwrap_or_default();
    stoq_tests::service::wait_until(LIMIT, "the finished response on stdout", || {
        !ndjson(&read()).is_empty()
    });
    let _ = child.kill();
    let _ = child.wait();
    let responses = ndjson(&read());
    assert_eq!(responses.len(), 1, "only `a` finished");
    assert_eq!(path_of(&responses[0]), "a");
}

#[cfg(unix)]
#[test]
fn special_files_in_a_directory_are_skipped_and_named_without_blocking() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    text(root, "a.txt", "The quick brown fox");
    let fifo = root.join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    std::os::unix::fs::symlink(&fifo, root.join("link-to-fifo")).expect("symlink");
    std::os::unix::fs::symlink("/dev/zero", root.join("link-to-zero")).expect("symlink");
    let _socket = std::os::unix::net::UnixListener::bind(root.join("socket")).expect("socket");
    text(root, "z.txt", "jumps over");

    let mut cmd = stoq_limited(
        1 << 30,
        &[
            "scan",
            root.to_str().expect("path"),
            "-s",
            "hash",
            "--format",
            "ndjson",
        ],
    );
    cmd.args([
        "--plugin-dir",
        test_plugin_dir_with_hash().path().to_str().expect("path"),
    ]);
    let output = output_within(cmd, LIMIT, "a scan of special files");
    let log = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "README: 1 when files were skipped\n{log}"
    );
    let paths: Vec<String> = ndjson(&output.stdout).iter().map(path_of).collect();
    assert_eq!(paths, ["a.txt", "z.txt"]);
    for (name, kind) in [
        ("fifo", "a FIFO"),
        ("link-to-fifo", "a FIFO"),
        ("link-to-zero", "a character device"),
        ("socket", "a socket"),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("{}", root.join(name).display())))
            .unwrap_or_else(|| panic!("{name} is not named on stderr:\n{log}"));
        assert!(line.contains(kind), "{line}");
    }
}

/// A plugin folder with only `hash` (no YARA-X: its engine reserves address space).
fn test_plugin_dir_with_hash() -> tempfile::TempDir {
    plugin_dir(&[&bundled_plugin("stoq_plugin_hash")])
}

#[test]
fn a_file_over_the_size_limit_is_listed_without_being_read() {
    // A 6 GiB sparse file under a 1 GiB address-space limit: listed with its true size.
    let dir = tempfile::tempdir().expect("dir");
    let big = dir.path().join("big");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(6 << 30).expect("sparse file");
    let plugins = test_plugin_dir_with_hash();
    let mut cmd = stoq_limited(
        1 << 30,
        &[
            "scan",
            big.to_str().expect("path"),
            "-s",
            "hash",
            "--max-payload-size",
            "1M",
        ],
    );
    cmd.args(["--plugin-dir", plugins.path().to_str().expect("path")]);
    let output = output_within(cmd, LIMIT, "a scan of a 6 GiB file");
    assert!(output.status.success(), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(response["results"][0]["size"], 6u64 << 30);
    assert!(response["results"][0]["workers"]["hash"].is_null());
    assert_eq!(
        errors(&response),
        [
            "limit max_payload_size (1048576) exceeded: the payload has 6442450944 bytes and is not scanned"
        ]
    );
}

#[test]
fn an_endless_stream_is_read_up_to_the_limit_only() {
    let plugins = test_plugin_dir_with_hash();
    for input in ["-", "/dev/zero"] {
        let mut cmd = stoq_limited(
            1 << 30,
            &["scan", input, "-s", "hash", "--max-payload-size", "16M"],
        );
        cmd.args(["--plugin-dir", plugins.path().to_str().expect("path")]);
        cmd.stdin(std::fs::File::open("/dev/zero").expect("/dev/zero"));
        let output = output_within(cmd, LIMIT, "a scan of /dev/zero");
        let log = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{log}");
        assert!(
            log.contains("more than the size limit (16777216 bytes)"),
            "{log}"
        );
        let name = if input == "-" { "stdin" } else { "/dev/zero" };
        assert!(log.contains(&format!("cannot read {name}")), "{log}");
    }
}

#[test]
fn a_folder_that_cannot_be_read_makes_the_exit_status_1() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    text(root, "a.txt", "fox");
    let locked = root.join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    text(&locked, "inside", "x");
    let plugins = test_plugin_dir_with_hash();
    // Root reads any folder: drop to nobody when running as root. Nobody may not reach the
    // build folder (e.g. under a 0700 home), so it runs a copy of the binary kept here.
    let bin = tempfile::tempdir().expect("dir");
    let mut cmd = if is_root() {
        use std::os::unix::fs::PermissionsExt;
        let copy = bin.path().join("stoq");
        std::fs::copy(&env().stoq, &copy).expect("copy stoq");
        for path in [root, plugins.path(), bin.path()] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&copy)
            .env("HOME", "/nonexistent")
            .env("STOQ_CACHE_DIR", "/nonexistent")
            .env_remove("STOQ_PLUGIN_DIR")
            .env_remove("STOQ_CONFIG_FILE")
            .stdin(std::process::Stdio::null());
        cmd
    } else {
        stoq()
    };
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");
    cmd.args([
        "scan",
        root.to_str().expect("path"),
        "-s",
        "hash",
        "--format",
        "ndjson",
    ])
    .args(["--plugin-dir", plugins.path().to_str().expect("path")]);
    let output = output_within(cmd, LIMIT, "a scan with a locked folder");
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("cannot read directory"), "{log}");
    assert!(log.contains(&locked.display().to_string()), "{log}");
    let paths: Vec<String> = ndjson(&output.stdout).iter().map(path_of).collect();
    assert_eq!(paths, ["a.txt"]);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn an_in_process_crash_names_the_plugin_and_exits_3() {
    let dir = tempfile::tempdir().expect("dir");
    text(dir.path(), "a", "fox");
    let file = dir.path().join("a");
    let plugins = plugin_dir(&[&test_plugin("stoq_test_crash_worker")]);
    for how in ["abort", "exit"] {
        let mut cmd = stoq();
        cmd.args(["scan", file.to_str().expect("path"), "-s", "crash_worker"])
            .args(["--plugin-dir", plugins.path().to_str().expect("path")])
            .args(["--plugin-opts", &format!("crash_worker:how={how}")]);
        let output = output_within(cmd, LIMIT, "a crashing scan");
        let log = stderr(&output);
        // The plugin's own `exit(42)` becomes stoq's documented 3.
        assert_eq!(output.status.code(), Some(3), "{how}: {log}");
        let expected = match how {
            "abort" => "the in-process plugin `crash_worker` crashed the host (signal 6, SIGABRT)",
            _ => "the in-process plugin `crash_worker` called exit() and ended the host",
        };
        assert!(log.contains(expected), "{log}");
    }
}

#[test]
fn too_many_jobs_is_a_usage_error_from_the_flag_and_the_config_file() {
    let sample = stoq_tests::fox();
    let path = sample.path.to_str().expect("path");
    let output = stoq_tests::run(&["scan", path, "-s", "hash", "--jobs", "100000"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--jobs: at most 1024 worker threads, got 100000"),
        "{}",
        stderr(&output)
    );
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(&config, "[core]\njobs = 100000\n").expect("config");
    let config = config.to_str().expect("path");
    let output = stoq_tests::run(&["scan", path, "-s", "hash", "--config-file", config]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`jobs` in [core] of the config file: at most 1024"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn options_for_a_plugin_that_is_not_there_are_warned_about() {
    let sample = stoq_tests::fox();
    let path = sample.path.to_str().expect("path");
    let config = sample.dir.path().join("stoq.toml");
    std::fs::write(&config, "[nosuchplugin]\nx = 1\n").expect("config");
    let config = config.to_str().expect("path");
    let output = stoq_tests::run(&[
        "scan",
        path,
        "-s",
        "hash",
        "--config-file",
        config,
        "--plugin-opts",
        "nosuch:x=1",
    ]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("section [nosuchplugin] names no loaded plugin"),
        "{log}"
    );
    assert!(log.contains("no loaded plugin is called `nosuch`"), "{log}");
}

#[test]
fn a_dispatcher_past_its_timeout_is_named() {
    let sample = stoq_tests::fox();
    let response = stoq_tests::scan(
        &sample.path,
        &[
            "-R",
            "simple_dispatcher",
            "--plugin-opts",
            "simple_dispatcher:sleep=30",
            "--worker-timeout",
            "0.5",
        ],
    );
    assert_eq!(response["errors"][0]["plugin_name"], "simple_dispatcher");
    assert!(
        errors(&response)[0].starts_with("dispatcher:timed out"),
        "{response:#}"
    );
}

/// `n` gzip members of 64 MiB of zeros each, concatenated (one gzip stream to a reader).
fn gzip_of_zeros(members: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("compress");
    }
    let member = encoder.finish().expect("gzip");
    member.repeat(members)
}

#[test]
fn extraction_stops_at_the_hosts_payload_limit_even_when_the_plugins_allow_more() {
    // 2 GiB of zeros in a 2 MiB gzip, decompress's own limits raised to 10 GiB: under a 1 GiB
    // address space the scan must still succeed, because decompress stops at the host's
    // 16 MiB payload limit instead of holding 2 GiB for the host to drop.
    let dir = tempfile::tempdir().expect("dir");
    let bomb = dir.path().join("zeros.gz");
    std::fs::write(&bomb, gzip_of_zeros(32)).expect("write");
    let plugins = plugin_dir(&[
        &bundled_plugin("stoq_plugin_decompress"),
        &bundled_plugin("stoq_plugin_hash"),
    ]);
    let mut cmd = stoq_limited(
        1 << 30,
        &[
            "scan",
            bomb.to_str().expect("path"),
            "-s",
            "decompress",
            "-a",
            "hash",
        ],
    );
    cmd.args(["--plugin-dir", plugins.path().to_str().expect("path")])
        .args(["--max-payload-size", "16M", "--plugin-opts"])
        .args([
            "decompress:max_member_size=10737418240",
            "decompress:max_total_size=10737418240",
        ])
        .args(["decompress:max_ratio=100000000"]);
    let output = output_within(cmd, LIMIT, "a scan of a gzip bomb");
    assert!(output.status.success(), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).expect("json");
    let errors = errors(&response);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("the host's max_payload_size (16777216)")),
        "{errors:?}"
    );
    assert_eq!(
        response["results"].as_array().map(Vec::len),
        Some(1),
        "nothing kept"
    );
}

#[test]
fn a_requests_memory_stays_under_its_extracted_bytes_limit_plus_a_constant() {
    // README: peak RSS under root + max_extracted_bytes + 64 MiB; address space (what this
    // limit counts: it includes per-thread reservations) under root + max_extracted_bytes +
    // 224 MiB. 256 MiB of zeros in one gzip member, 32 MiB of extracted bytes allowed.
    let dir = tempfile::tempdir().expect("dir");
    let bomb = dir.path().join("zeros.gz");
    std::fs::write(&bomb, gzip_of_zeros(4)).expect("write");
    let root = std::fs::metadata(&bomb).expect("stat").len();
    let plugins = plugin_dir(&[
        &bundled_plugin("stoq_plugin_decompress"),
        &bundled_plugin("stoq_plugin_hash"),
    ]);
    let mut cmd = stoq_limited(
        root + (32 << 20) + (224 << 20),
        &[
            "scan",
            bomb.to_str().expect("path"),
            "-s",
            "decompress",
            "-a",
            "hash",
        ],
    );
    cmd.args(["--plugin-dir", plugins.path().to_str().expect("path")])
        .args(["--max-extracted-bytes", "32M"]);
    let output = output_within(cmd, LIMIT, "a scan of 256 MiB of zeros");
    assert!(output.status.success(), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).expect("json");
    let errors = errors(&response);
    assert!(
        errors.iter().any(|e| e.contains(
            "limit the host's max_extracted_bytes (what the request has left) (33554432) exceeded"
        )),
        "{errors:?}"
    );
}
