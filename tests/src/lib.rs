//! Helpers for the end-to-end tests: where `cargo xtask test` put the binary, the plugins and the
//! fixtures, and how to run `stoq` and read its response.

pub mod formats;
pub mod golden;
pub mod pe;
pub mod random;
pub mod response;
pub mod sample;
pub mod service;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Paths prepared by `cargo xtask test`.
pub struct Env {
    /// The `stoq` binary.
    pub stoq: PathBuf,
    /// The bundled plugins (`plugins/` next to the binary).
    pub bundled_dir: PathBuf,
    /// The test plugins.
    pub test_dir: PathBuf,
    /// A plugin built against a fake `stoq-plugin-abi` 2.0.0.
    pub abi_v2: PathBuf,
    /// A plugin built against a fake `stoq-plugin-abi` 1.0.0 with another root module layout.
    pub abi_v1_layout: PathBuf,
    /// A shared library without the stoq entry symbol.
    pub not_a_plugin: PathBuf,
    /// The third-party example plugin, built outside the workspace.
    pub example: PathBuf,
    /// The same example, built against the ABI crate as `cargo package` makes it.
    pub example_packaged: PathBuf,
    /// Plugins built against the frozen copy of stoq-plugin-abi 1.0.0 (the compatibility gate).
    pub abi_1_0_0: PathBuf,
    /// A test plugin that asks for a stoq newer than any (kept out of `test_dir`).
    pub future_worker: PathBuf,
    /// A library whose initialiser aborts the process.
    pub aborts_on_load: PathBuf,
    /// A library whose initialiser never returns.
    pub hangs_on_load: PathBuf,
}

fn var(name: &str) -> PathBuf {
    let value = std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: run the end-to-end tests with `cargo xtask test`, which builds the plugins and fixtures first")
    });
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{name} points to {}, which does not exist",
        path.display()
    );
    path
}

/// The prepared paths.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| Env {
        stoq: var("STOQ_BIN"),
        bundled_dir: var("STOQ_BUNDLED_PLUGIN_DIR"),
        test_dir: var("STOQ_TEST_PLUGIN_DIR"),
        abi_v2: var("STOQ_FIXTURE_ABI_V2"),
        abi_v1_layout: var("STOQ_FIXTURE_ABI_V1_LAYOUT"),
        not_a_plugin: var("STOQ_FIXTURE_NOT_A_PLUGIN"),
        example: var("STOQ_EXAMPLE_PLUGIN"),
        example_packaged: var("STOQ_EXAMPLE_PACKAGED_PLUGIN"),
        abi_1_0_0: var("STOQ_FIXTURE_ABI_1_0_0"),
        future_worker: var("STOQ_FUTURE_PLUGIN"),
        aborts_on_load: var("STOQ_FIXTURE_ABORTS_ON_LOAD"),
        hangs_on_load: var("STOQ_FIXTURE_HANGS_ON_LOAD"),
    })
}

/// The file name a plugin library gets on this platform, e.g. `libx.so`.
pub fn library_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// A `stoq` command with a clean environment (no inherited plugin dir or config file).
pub fn stoq() -> Command {
    let mut cmd = Command::new(&env().stoq);
    cmd.env_remove("STOQ_PLUGIN_DIR")
        .env_remove("STOQ_CONFIG_FILE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs `stoq` with `args`.
pub fn run(args: &[&str]) -> Output {
    stoq().args(args).output().expect("stoq runs")
}

/// The stderr of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `stoq` and parses its stdout as one JSON document, asserting exit status 0.
pub fn json(args: &[&str]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "stoq {args:?} failed with {}:\n{}",
        output.status,
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stoq {args:?} printed invalid JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Runs `stoq scan` with the test plugins available.
pub fn scan(file: &Path, args: &[&str]) -> Value {
    let file = file.to_str().expect("UTF-8 temp path");
    let test_dir = env().test_dir.to_str().expect("UTF-8 path");
    let mut all = vec!["scan", file, "--plugin-dir", test_dir];
    all.extend_from_slice(args);
    json(&all)
}

/// A temporary directory holding `The quick brown fox` as `fox.txt`.
pub struct Sample {
    /// The directory (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The file.
    pub path: PathBuf,
}

/// `The quick brown fox` (19 bytes, no newline) in `fox.txt`.
pub fn fox() -> Sample {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fox.txt");
    std::fs::write(&path, b"The quick brown fox").expect("write sample");
    Sample { dir, path }
}

/// A temporary plugin directory holding copies of `libraries` (under their own names).
pub fn plugin_dir(libraries: &[&Path]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for lib in libraries {
        std::fs::copy(lib, dir.path().join(lib.file_name().expect("file name"))).expect("copy");
    }
    dir
}

/// Writes `content` to a temporary file and scans it with the bundled and test plugins,
/// `--deterministic`, plus `args`.
pub fn scan_bytes(content: &[u8], args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("sample.bin");
    std::fs::write(&path, content).expect("write");
    let mut all = vec![
        "scan",
        path.to_str().unwrap(),
        "--plugin-dir",
        env().test_dir.to_str().unwrap(),
        "--deterministic",
    ];
    all.extend_from_slice(args);
    json(&all)
}

/// A test plugin's library, by crate stem (e.g. `stoq_test_simple_worker`).
pub fn test_plugin(stem: &str) -> PathBuf {
    env().test_dir.join(library_name(stem))
}

/// A bundled plugin's library, by crate stem (e.g. `stoq_plugin_hash`).
pub fn bundled_plugin(stem: &str) -> PathBuf {
    env().bundled_dir.join(library_name(stem))
}

/// The result entry of a payload by index.
pub fn workers_run(result: &Value) -> Vec<String> {
    result["plugins_run"]["workers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `error` texts of a response.
pub fn errors(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["error"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs `cmd` to completion with its output captured, waiting at most `limit` (then it is
/// killed and the test fails: a hang is a failure, never a stuck test run).
pub fn output_within(mut cmd: Command, limit: std::time::Duration, what: &str) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = service::wait_exit(&mut child, limit, what);
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// `stoq ARGS` run with its address space limited to `bytes` (`ulimit -v`), so a run that
/// would hold more memory fails instead of passing. glibc reserves 64 MiB of address space
/// per malloc arena (one per thread, up to 8 per core); `MALLOC_ARENA_MAX=2` keeps those
/// reservations from dominating, so the limit tracks the memory the run really uses.
pub fn stoq_limited(bytes: u64, args: &[&str]) -> Command {
    let cmd = stoq();
    let program = cmd.get_program().to_owned();
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", bytes / 1024))
        .arg(program)
        .args(args)
        .env("MALLOC_ARENA_MAX", "2")
        .env_remove("STOQ_PLUGIN_DIR")
        .env_remove("STOQ_CONFIG_FILE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    shell
}
