//! Building with cargo and laying out the results.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository root")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed ({status})");
    Ok(())
}

/// One build artifact reported by cargo.
struct Artifact {
    manifest_path: PathBuf,
    kinds: Vec<String>,
    filenames: Vec<PathBuf>,
    executable: Option<PathBuf>,
}

/// Runs `cargo build` with JSON messages and returns the artifacts it reports.
fn build(args: &[&str]) -> Result<Vec<Artifact>> {
    let mut cmd = cargo();
    cmd.arg("build")
        .arg("--message-format=json-render-diagnostics")
        .args(args)
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut artifacts = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let message: Value = serde_json::from_str(&line?).unwrap_or(Value::Null);
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        artifacts.push(Artifact {
            manifest_path: PathBuf::from(message["manifest_path"].as_str().unwrap_or_default()),
            kinds: strings(&message["target"]["kind"]),
            filenames: strings(&message["filenames"])
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            executable: message["executable"].as_str().map(PathBuf::from),
        });
    }
    let status = child.wait()?;
    ensure!(status.success(), "cargo build {} failed", args.join(" "));
    Ok(artifacts)
}

/// The shared libraries among an artifact's files.
fn libraries(artifact: &Artifact) -> impl Iterator<Item = &PathBuf> {
    artifact.filenames.iter().filter(|f| {
        artifact.kinds.iter().any(|k| k == "cdylib")
            && f.extension().and_then(|e| e.to_str()) == Some(std::env::consts::DLL_EXTENSION)
    })
}

/// Copies `files` into a fresh `dir`.
fn lay_out(dir: &Path, files: &[PathBuf]) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    for file in files {
        let name = file.file_name().context("library file name")?;
        std::fs::copy(file, dir.join(name))
            .with_context(|| format!("cannot copy {} to {}", file.display(), dir.display()))?;
    }
    Ok(())
}

/// Workspace members under `plugins/` and `tests/plugins/`, from `cargo metadata`.
fn plugin_packages() -> Result<(Vec<String>, Vec<String>)> {
    let output = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()?;
    ensure!(output.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let (mut bundled, mut test) = (Vec::new(), Vec::new());
    let plugins = root().join("plugins");
    let test_plugins = root().join("tests").join("plugins");
    for package in metadata["packages"].as_array().context("packages")? {
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        if manifest.starts_with(&plugins) {
            bundled.push(name);
        } else if manifest.starts_with(&test_plugins) {
            test.push(name);
        }
    }
    Ok((bundled, test))
}

/// What `build_workspace` produced.
pub struct Built {
    pub stoq: PathBuf,
    pub plugin_dir: PathBuf,
    pub test_plugin_dir: PathBuf,
    /// The test plugin every host refuses, kept out of `test_plugin_dir`.
    pub refused_plugin: Option<PathBuf>,
}

/// Builds `stoq`, the bundled plugins and the test plugins in one cargo invocation, and lays
/// out `plugins/` and `test-plugins/` next to the binary.
pub fn build_workspace(release: bool) -> Result<Built> {
    let (bundled, test) = plugin_packages()?;
    let mut args: Vec<&str> = vec!["-p", "host"];
    for package in bundled.iter().chain(&test) {
        args.extend(["-p", package]);
    }
    if release {
        args.push("--release");
    }
    let artifacts = build(&args)?;
    let stoq = artifacts
        .iter()
        .find_map(|a| {
            a.executable
                .clone()
                .filter(|e| e.file_stem() == Some("stoq".as_ref()))
        })
        .context("cargo did not report the stoq binary")?;
    let bin_dir = stoq.parent().context("stoq's directory")?.to_owned();
    let test_root = root().join("tests").join("plugins");
    let plugin_root = root().join("plugins");
    let (mut user_libs, mut test_libs) = (Vec::new(), Vec::new());
    // Only the plugin packages' own libraries: a dependency may build a cdylib too.
    for artifact in &artifacts {
        if artifact.manifest_path.starts_with(&test_root) {
            test_libs.extend(libraries(artifact).cloned());
        } else if artifact.manifest_path.starts_with(&plugin_root) {
            user_libs.extend(libraries(artifact).cloned());
        }
    }
    ensure!(!user_libs.is_empty(), "no plugin libraries were built");
    // A plugin every host must refuse stays out of the test-plugin folder, which the tests
    // expect to load without errors.
    let (refused, test_libs): (Vec<PathBuf>, Vec<PathBuf>) = test_libs
        .into_iter()
        .partition(|lib| lib.to_string_lossy().contains(REFUSED_TEST_PLUGIN));
    let plugin_dir = bin_dir.join("plugins");
    let test_plugin_dir = bin_dir.join("test-plugins");
    lay_out(&plugin_dir, &user_libs)?;
    lay_out(&test_plugin_dir, &test_libs)?;
    Ok(Built {
        stoq,
        plugin_dir,
        test_plugin_dir,
        refused_plugin: refused.into_iter().next(),
    })
}

/// Builds a project outside the workspace (fixtures, the third-party example) into
/// `target/external` and returns its libraries.
fn build_external(manifest: &str, release: bool) -> Result<Vec<PathBuf>> {
    build_external_into(
        &root().join(manifest),
        &root().join("target").join("external"),
        release,
    )
}

/// Builds the project of `manifest` (`--locked`) into `target` and returns its libraries.
fn build_external_into(manifest: &Path, target: &Path, release: bool) -> Result<Vec<PathBuf>> {
    let mut args = vec![
        "--manifest-path",
        manifest.to_str().context("UTF-8 path")?,
        "--target-dir",
        target.to_str().context("UTF-8 path")?,
        "--locked",
    ];
    if release {
        args.push("--release");
    }
    let artifacts = build(&args)?;
    Ok(artifacts.iter().flat_map(libraries).cloned().collect())
}

fn find(libs: &[PathBuf], stem: &str) -> Result<PathBuf> {
    libs.iter()
        .find(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.trim_start_matches("lib") == stem)
        })
        .cloned()
        .with_context(|| format!("library {stem} was not built"))
}

/// The `stoq-plugin-abi` crate as `cargo package` makes it (verified: it builds on its own),
/// unpacked; the path of its folder.
fn package_abi() -> Result<PathBuf> {
    // The external builds' target folder: abi_stable and serde are built once for all of them.
    let target = root().join("target").join("external");
    run(cargo().args([
        "package",
        "-p",
        "stoq-plugin-abi",
        "--allow-dirty",
        "--locked",
        "--target-dir",
        target.to_str().context("UTF-8 path")?,
    ]))
    .context("`cargo package -p stoq-plugin-abi` failed: the crate is not publishable")?;
    let version = abi_version()?;
    let unpacked = target
        .join("package")
        .join(format!("stoq-plugin-abi-{version}"));
    ensure!(
        unpacked.join("Cargo.toml").is_file(),
        "cargo package left no unpacked crate at {}",
        unpacked.display()
    );
    Ok(unpacked)
}

/// The version of the workspace's `stoq-plugin-abi`.
fn abi_version() -> Result<String> {
    let manifest: toml::Table =
        std::fs::read_to_string(root().join("stoq-plugin-abi").join("Cargo.toml"))?.parse()?;
    manifest["package"]["version"]
        .as_str()
        .map(str::to_owned)
        .context("stoq-plugin-abi has no version")
}

/// Builds the third-party example against the packaged ABI crate (not the workspace path):
/// what an author gets from crates.io. Returns its library.
fn build_example_against_package(release: bool) -> Result<PathBuf> {
    let package = package_abi()?;
    let copy = root()
        .join("target")
        .join("package-check")
        .join("third-party-worker");
    let example = root().join("examples").join("third-party-worker");
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    copy_tree(&example.join("src"), &copy.join("src"))?;
    std::fs::copy(example.join("Cargo.lock"), copy.join("Cargo.lock"))?;
    let manifest = std::fs::read_to_string(example.join("Cargo.toml"))?;
    let packaged = format!("path = {:?}", package.to_str().context("UTF-8 path")?);
    ensure!(
        manifest.contains("path = \"../../stoq-plugin-abi\""),
        "examples/third-party-worker/Cargo.toml no longer names the ABI crate by its path"
    );
    std::fs::write(
        copy.join("Cargo.toml"),
        manifest.replace("path = \"../../stoq-plugin-abi\"", &packaged),
    )?;
    // Its own folder: its library has the same name as the path build's in target/external.
    let target = root().join("target").join("external-packaged");
    let libs = build_external_into(&copy.join("Cargo.toml"), &target, release)?;
    find(&libs, "byte_stats")
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The folder of the frozen copy of a published ABI release, kept as a fixture.
fn frozen_abi_dir(version: &str) -> PathBuf {
    root()
        .join("tests")
        .join("fixtures")
        .join(format!("abi-{version}"))
        .join("stoq-plugin-abi")
}

/// `cargo xtask freeze-abi`: keeps the packaged ABI crate of the current version as a fixture,
/// once, when that version is released. Refuses to touch an existing copy: a released version
/// never changes.
pub fn freeze_abi() -> Result<()> {
    let version = abi_version()?;
    let frozen = frozen_abi_dir(&version);
    ensure!(
        !frozen.exists(),
        "{} exists: stoq-plugin-abi {version} is frozen; bump the version before releasing again",
        frozen.display()
    );
    let package = package_abi()?;
    copy_tree(&package, &frozen)?;
    for generated in [".cargo_vcs_info.json", "Cargo.lock"] {
        let _ = std::fs::remove_file(frozen.join(generated));
    }
    println!("froze stoq-plugin-abi {version} in {}", frozen.display());
    Ok(())
}

/// `cargo xtask samples`: rebuilds the bundled sample from `tests/src/sample.rs`.
pub fn samples() -> Result<()> {
    run(cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "stoq-tests",
            "--bin",
            "make_samples",
            "--",
        ])
        .arg(root()))
}

/// The test plugin that asks for a newer stoq than any (`tests/plugins/future_worker`).
const REFUSED_TEST_PLUGIN: &str = "stoq_test_future_worker";

/// Fixture libraries the tests read, by environment variable.
const FIXTURES: &[(&str, &str)] = &[
    ("STOQ_FIXTURE_ABI_V2", "stoq_fixture_abi_v2"),
    ("STOQ_FIXTURE_ABI_V1_LAYOUT", "stoq_fixture_abi_v1_layout"),
    ("STOQ_FIXTURE_NOT_A_PLUGIN", "stoq_fixture_not_a_plugin"),
    ("STOQ_FIXTURE_ABORTS_ON_LOAD", "stoq_fixture_aborts_on_load"),
    ("STOQ_FIXTURE_HANGS_ON_LOAD", "stoq_fixture_hangs_on_load"),
];

/// Environment the end-to-end tests and benchmarks read.
fn test_env(cmd: &mut Command, built: &Built, release: bool) -> Result<()> {
    let mut fixtures = build_external("tests/fixtures/Cargo.toml", release)?;
    fixtures.extend(build_external(
        "tests/fixtures/abi-v1-layout/Cargo.toml",
        release,
    )?);
    let example = build_external("examples/third-party-worker/Cargo.toml", release)?;
    let packaged_example = build_example_against_package(release)?;
    let abi_1_0_0 = build_external("tests/fixtures/abi-1.0.0/Cargo.toml", release)?;
    for (var, stem) in FIXTURES {
        cmd.env(var, find(&fixtures, stem)?);
    }
    cmd.env("STOQ_BIN", &built.stoq)
        .env("STOQ_BUNDLED_PLUGIN_DIR", &built.plugin_dir)
        .env("STOQ_TEST_PLUGIN_DIR", &built.test_plugin_dir)
        .env("STOQ_EXAMPLE_PLUGIN", find(&example, "byte_stats")?)
        .env("STOQ_EXAMPLE_PACKAGED_PLUGIN", packaged_example)
        .env(
            "STOQ_FIXTURE_ABI_1_0_0",
            find(&abi_1_0_0, "stoq_fixture_abi_1_0_0")?,
        )
        .env("STOQ_CACHE_DIR", root().join("target").join("test-cache"))
        .env(
            "STOQ_FUTURE_PLUGIN",
            built
                .refused_plugin
                .as_ref()
                .context("tests/plugins/future_worker was not built")?,
        )
        .env_remove("STOQ_PLUGIN_DIR")
        .env_remove("STOQ_CONFIG_FILE");
    Ok(())
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn test(lint: bool, args: &[String]) -> Result<()> {
    let passthrough: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    if lint {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
            .context("formatting differs: run `cargo fmt --all`")?;
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    let built = build_workspace(false)?;
    let mut cmd = cargo();
    if has_nextest() {
        cmd.args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]);
    } else {
        cmd.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    cmd.args(passthrough);
    test_env(&mut cmd, &built, false)?;
    run(&mut cmd)?;
    // Doctests (nextest does not run them): the plugin author docs and the embedding example
    // must compile and pass. Only these crates have examples; testing the whole workspace's
    // docs would build heavy plugin dependencies (yara-x) a second time.
    if has_nextest() {
        run(cargo().args([
            "test",
            "--locked",
            "--doc",
            "-p",
            "stoq-plugin-abi",
            "-p",
            "stoq-core",
            "--features",
            "stoq-plugin-abi/testing",
        ]))?;
    }
    // The API docs build without a warning (broken links, missing docs).
    run(cargo()
        .args([
            "doc",
            "--no-deps",
            "--locked",
            "-p",
            "stoq-plugin-abi",
            "-p",
            "stoq-loader",
            "-p",
            "stoq-core",
            "--features",
            "stoq-plugin-abi/testing",
        ])
        .env("RUSTDOCFLAGS", "-D warnings"))
    .context("the API docs have warnings")?;
    Ok(())
}

pub fn bench(only: Option<&str>) -> Result<()> {
    let built = build_workspace(true)?;
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "stoq-tests", "--locked"]);
    if let Some(name) = only {
        cmd.args(["--bench", name]);
    }
    test_env(&mut cmd, &built, true)?;
    run(&mut cmd)?;
    Ok(())
}
