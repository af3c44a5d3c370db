//! Snapshot tests: run `stoq scan` on a sample, normalise the response and compare it with a
//! golden file, `tests/e2e/snapshots/<name>.json`. The scenarios are in `tests/e2e/scenarios.rs`.
//!
//! To accept new output, rewrite the golden files and review the change by eye:
//!
//! ```text
//! STOQ_UPDATE_SNAPSHOTS=1 cargo xtask test --no-lint -- scenarios
//! git diff tests/e2e/snapshots
//! ```
//!
//! A run is `stoq scan SAMPLE --plugin-dir TEST_PLUGINS --deterministic ARGS` (see README, "The
//! response": ids from content, sorted lists, `time` null). A [`Scenario::live`] one leaves
//! out `--deterministic`, for facts that are an order of execution (`plugins_run`, `errors`,
//! `extracted_from` in the order things happened), which `--deterministic` sorts away. The
//! golden file is stoq's stdout as printed, with these replacements:
//!
//! - each payload's `payload_id` becomes `<payload N>`, N its index in `results`, wherever it
//!   appears (`extracted_from`, `errors`, a worker's echo of it), so lineage reads at a glance
//!   and random content (e.g. `extract_payload`'s random bytes) gives a stable file;
//! - `scan_id` becomes `<scan_id>`, any other id-shaped string `<id N>`, a non-null `time`
//!   `<time>`;
//! - the sample's temporary directory becomes `<tmp>`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use stoq_plugin_abi::testing::golden::diff;

use crate::{env, stderr, stoq};

/// The environment variable that makes a mismatch rewrite the golden file instead of failing.
pub const UPDATE_VAR: &str = "STOQ_UPDATE_SNAPSHOTS";

/// Where the golden files are.
pub fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e")
        .join("snapshots")
}

/// One `stoq scan` whose response is compared with a golden file.
#[derive(Debug, Clone)]
pub struct Scenario {
    sample_name: &'static str,
    sample: &'static [u8],
    args: Vec<&'static str>,
    live: bool,
    config: Option<&'static str>,
    runs: Vec<Vec<&'static str>>,
}

impl Scenario {
    /// `stoq scan fox.txt ARGS` (`The quick brown fox`, 19 bytes), with `--deterministic`.
    pub fn scan(args: &[&'static str]) -> Self {
        Self {
            sample_name: "fox.txt",
            sample: b"The quick brown fox",
            args: args.to_vec(),
            live: false,
            config: None,
            runs: Vec::new(),
        }
    }

    /// Scans `content` as a file called `name` instead of `fox.txt`.
    pub fn sample(mut self, name: &'static str, content: &'static [u8]) -> Self {
        self.sample_name = name;
        self.sample = content;
        self
    }

    /// Without `--deterministic`: lists in the order things happened. Only for scenarios whose
    /// order is causal (a worker that runs because another one ran or dispatched it), so the
    /// output is the same on every run.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Writes `toml` to a config file next to the sample and passes it with `--config-file`.
    pub fn config(mut self, toml: &'static str) -> Self {
        self.config = Some(toml);
        self
    }

    /// Runs once per entry, with the entry's arguments appended, and asserts that every run
    /// prints byte-identical stdout (before any normalisation); the first is snapshotted.
    pub fn identical_across(mut self, runs: &[&[&'static str]]) -> Self {
        self.runs = runs.iter().map(|r| r.to_vec()).collect();
        self
    }

    /// Runs the scenario and compares its normalised response with `snapshots/<name>.json`
    /// (or rewrites that file when `STOQ_UPDATE_SNAPSHOTS` is set).
    pub fn check(&self, name: &str) {
        assert!(
            !(self.live && self.runs.len() > 1),
            "{name}: a live scenario is not byte-identical across runs"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let sample = dir.path().join(self.sample_name);
        std::fs::write(&sample, self.sample).expect("write sample");
        let mut args: Vec<String> = vec![
            "scan".into(),
            path_str(&sample).into(),
            "--plugin-dir".into(),
            path_str(&env().test_dir).into(),
        ];
        if !self.live {
            args.push("--deterministic".into());
        }
        if let Some(toml) = self.config {
            let config = dir.path().join("stoq.toml");
            std::fs::write(&config, toml).expect("write config");
            args.extend(["--config-file".into(), path_str(&config).into()]);
        }
        args.extend(self.args.iter().map(|a| (*a).to_owned()));
        let runs = if self.runs.is_empty() {
            vec![Vec::new()]
        } else {
            self.runs.clone()
        };
        let mut first: Option<(Vec<&str>, String)> = None;
        for extra in runs {
            let mut all = args.clone();
            all.extend(extra.iter().map(|a| (*a).to_owned()));
            let stdout = run_scan(name, &all);
            match &first {
                None => first = Some((extra, stdout)),
                Some((first_extra, expected)) => assert!(
                    *expected == stdout,
                    "{name}: stdout with {extra:?} differs from the run with {first_extra:?}:\n{}",
                    diff(expected, &stdout, "first run", "this run")
                ),
            }
        }
        let (_, stdout) = first.expect("at least one run");
        let actual = normalise(&stdout, dir.path());
        compare(name, &actual);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Runs `stoq ARGS`, asserting exit status 0 and JSON on stdout; returns stdout.
fn run_scan(name: &str, args: &[String]) -> String {
    let output = stoq().args(args).output().expect("stoq runs");
    assert!(
        output.status.success(),
        "{name}: stoq {args:?} failed with {}:\n{}",
        output.status,
        stderr(&output)
    );
    String::from_utf8(output.stdout)
        .unwrap_or_else(|e| panic!("{name}: stoq {args:?} printed invalid UTF-8: {e}"))
}

/// `stdout` with ids, `time` and the temporary directory replaced (see the module docs).
pub fn normalise(stdout: &str, tmp: &Path) -> String {
    let response: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stoq printed invalid JSON ({e}):\n{stdout}"));
    let mut labels: Vec<(String, String)> = Vec::new();
    for (i, result) in response["results"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(id) = result["payload_id"].as_str() {
            add_label(&mut labels, id, format!("<payload {i}>"));
        }
    }
    if let Some(id) = response["scan_id"].as_str() {
        add_label(&mut labels, id, "<scan_id>".into());
    }
    if let Some(time) = response["time"].as_str() {
        add_label(&mut labels, time, "<time>".into());
    }
    let mut others = Vec::new();
    collect_ids(&response, &mut others);
    let mut n = 0;
    for id in others {
        if add_label(&mut labels, &id, format!("<id {n}>")) {
            n += 1;
        }
    }
    let mut text = stdout.to_owned();
    for (id, name) in &labels {
        text = text.replace(id.as_str(), name);
    }
    // The directory as the kernel names it, and as the temp dir was spelled.
    for dir in [tmp.canonicalize().ok(), Some(tmp.to_path_buf())]
        .into_iter()
        .flatten()
    {
        text = text.replace(path_str(&dir), "<tmp>");
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Adds a replacement of `id` by `name` unless `id` has one; true if it was added.
fn add_label(labels: &mut Vec<(String, String)>, id: &str, name: String) -> bool {
    let new = !id.is_empty() && !labels.iter().any(|(known, _)| known == id);
    if new {
        labels.push((id.to_owned(), name));
    }
    new
}

/// Every string in `value` shaped like a UUID (8-4-4-4-12 hex digits), in document order.
fn collect_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if is_uuid(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| collect_ids(v, out)),
        Value::Object(o) => o.values().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Compares `actual` with the golden file of `name`, or rewrites it in update mode.
fn compare(name: &str, actual: &str) {
    let path = snapshot_dir().join(format!("{name}.json"));
    let expected = std::fs::read_to_string(&path).ok();
    if expected.as_deref() == Some(actual) {
        return;
    }
    if std::env::var_os(UPDATE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::create_dir_all(snapshot_dir()).expect("create the snapshot directory");
        std::fs::write(&path, actual).expect("write the golden file");
        eprintln!("{name}: rewrote {}", path.display());
        return;
    }
    let shown = format!("tests/e2e/snapshots/{name}.json");
    match expected {
        None => panic!(
            "{name}: no golden file {shown}; stoq printed:\n{actual}\n\
             Review it, then write it with {UPDATE_VAR}=1 cargo xtask test --no-lint -- scenarios"
        ),
        Some(expected) => panic!(
            "{name}: the response differs from {shown} (- golden, + now):\n{}\n\
             If the change is intended, rewrite it with {UPDATE_VAR}=1 cargo xtask test --no-lint -- scenarios",
            diff(&expected, actual, &shown, "stoq output")
        ),
    }
}

/// Golden files in the snapshot directory that no name in `names` writes.
pub fn orphans(names: &[&str]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(snapshot_dir()) else {
        return Vec::new();
    };
    let mut orphans: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(str::to_owned))
        .filter(|stem| !names.contains(&stem.as_str()))
        .collect();
    orphans.sort();
    orphans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_time_and_the_temp_dir_are_replaced() {
        let tmp = Path::new("/tmp/.tmpXYZ");
        let stdout = r#"{
    "results": [
        {"payload_id": "a6a963f7-24dc-4bc7-3818-4ab22f21da8a", "extracted_from": []},
        {"payload_id": "84dfa949-b4ce-d567-93c4-6897a6d7027d", "extracted_from": ["a6a963f7-24dc-4bc7-3818-4ab22f21da8a"], "path": "/tmp/.tmpXYZ/x"}
    ],
    "errors": [{"payload_id": "00000000-1111-2222-3333-444444444444"}],
    "time": "2026-01-01T00:00:00Z",
    "scan_id": "f66e3dca-eca9-e635-7d3f-13d745ab1e44"
}"#;
        assert_eq!(
            normalise(stdout, tmp),
            r#"{
    "results": [
        {"payload_id": "<payload 0>", "extracted_from": []},
        {"payload_id": "<payload 1>", "extracted_from": ["<payload 0>"], "path": "<tmp>/x"}
    ],
    "errors": [{"payload_id": "<id 0>"}],
    "time": "<time>",
    "scan_id": "<scan_id>"
}
"#
        );
    }
}
