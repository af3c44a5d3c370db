//! Golden files: what a plugin reports on each sample, kept as pretty-printed JSON beside its
//! tests and compared as text, so a change in output shows as a diff to review.
//!
//! Regenerate them after an intended change, then review the diff:
//!
//! ```text
//! STOQ_UPDATE_GOLDEN=1 cargo test -p <package> golden
//! ```
//!
//! `STOQ_GOLDEN_SAMPLES=DIR` makes [`dump_sample`] write each sample's bytes to `DIR`, to check
//! the golden values with reference tools.
//!
//! ```no_run
//! use stoq_plugin_abi::prelude::*;
//! use stoq_plugin_abi::testing::{PluginTest, golden};
//! # struct Length;
//! # impl Plugin for Length {
//! #     const INFO: PluginInfo = PluginInfo::new("length", "1.0.0");
//! #     fn new(_: &mut PluginConfig) -> Result<Self> { Ok(Self) }
//! # }
//! # impl Worker for Length {
//! #     fn scan(&self, p: &Payload<'_>, _: &Request<'_>) -> Result<WorkerResponse> {
//! #         Ok(WorkerResponse::new(p.content().len()))
//! #     }
//! # }
//!
//! let test = PluginTest::<Length>::new();
//! let cases: Vec<(String, Value)> = [("four.json", &b"four"[..]), ("empty.json", b"")]
//!     .iter()
//!     .map(|(name, sample)| (name.to_string(), golden::worker_output(&test.scan(sample), |b| b.len().to_string())))
//!     .collect();
//! golden::check(std::path::Path::new("tests/golden"), "my-plugin", &cases);
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::TestError;
use crate::types::WorkerResponse;

/// The environment variable that rewrites the golden files instead of comparing.
pub const UPDATE: &str = "STOQ_UPDATE_GOLDEN";

/// The environment variable naming a folder to write the samples to.
pub const SAMPLES: &str = "STOQ_GOLDEN_SAMPLES";

/// A worker's whole answer as JSON: results, errors, `dispatch_to`, and each extracted
/// payload's metadata, size and `digest` (e.g. a SHA-256 in hex), not its bytes. A failed
/// scan is its error.
pub fn worker_output(
    outcome: &Result<WorkerResponse, TestError>,
    digest: impl Fn(&[u8]) -> String,
) -> Value {
    let response = match outcome {
        Ok(response) => response,
        Err(e) => return json!({ "scan_failed": e.to_string() }),
    };
    let extracted: Vec<Value> = response
        .extracted
        .iter()
        .map(|e| {
            json!({
                "payload_meta": e.payload_meta,
                "size": e.content.len(),
                "sha256": digest(&e.content),
            })
        })
        .collect();
    json!({
        "results": response.results,
        "errors": response.errors,
        "dispatch_to": response.dispatch_to,
        "extracted": extracted,
    })
}

/// `value` with every object's keys sorted, whatever `serde_json`'s `preserve_order` (which
/// another crate of the same build may turn on).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The text a golden file holds for `value`.
pub fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("JSON prints");
    text.push('\n');
    text
}

/// Writes a sample's bytes to `$STOQ_GOLDEN_SAMPLES/<name>`, when that is set.
pub fn dump_sample(name: &str, content: &[u8]) {
    if let Some(dir) = std::env::var_os(SAMPLES) {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("samples folder");
        std::fs::write(dir.join(name), content).expect("sample written");
    }
}

/// Compares each `(file name, output)` with its golden file in `dir` (or rewrites them all
/// under `STOQ_UPDATE_GOLDEN=1`), and checks the folder holds no other file. Panics with a
/// line diff of every mismatch; `package` names the package in the hint to regenerate.
pub fn check(dir: &Path, package: &str, cases: &[(String, Value)]) {
    let update = std::env::var_os(UPDATE).is_some_and(|v| v != "0" && !v.is_empty());
    let mut failures = Vec::new();
    for (name, value) in cases {
        let path = dir.join(name);
        let actual = render(value);
        if update {
            std::fs::create_dir_all(dir).expect("golden folder");
            std::fs::write(&path, &actual).expect("golden file written");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected.replace("\r\n", "\n") == actual => {}
            Ok(expected) => failures.push(format!(
                "{} differs (- golden, + now):\n{}",
                path.display(),
                diff(&expected.replace("\r\n", "\n"), &actual)
            )),
            Err(e) => failures.push(format!("{} cannot be read: {e}", path.display())),
        }
    }
    let known: Vec<&str> = cases.iter().map(|(name, _)| name.as_str()).collect();
    let stale: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !known.contains(&name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if !stale.is_empty() {
        failures.push(format!(
            "{} holds files no sample produces: {stale:?}",
            dir.display()
        ));
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended, regenerate with `{UPDATE}=1 cargo test -p {package} golden` \
         and review the diff.",
        failures.join("\n\n"),
    );
}

/// A line diff of `old` and `new` (longest common subsequence), each change with up to three
/// lines of context and its line numbers.
pub fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', old line number, new line number, text).
    let mut script = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            script.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            script.push(('-', i, j, a[i]));
            i += 1;
        } else {
            script.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..script.len()).filter(|&k| script[k].0 != ' ').collect();
    let mut out = String::new();
    // Script lines printed so far; a change within reach of them continues their hunk.
    let mut shown_to = None;
    for &k in &changed {
        let start = k.saturating_sub(CONTEXT);
        let end = (k + CONTEXT + 1).min(script.len());
        let from = match shown_to {
            Some(shown) if start <= shown => shown,
            _ => {
                let (_, i, j, _) = script[start];
                let _ = writeln!(
                    out,
                    "@@ line {} of the golden file, {} now @@",
                    i + 1,
                    j + 1
                );
                start
            }
        };
        for &(tag, _, _, text) in &script[from..end.max(from)] {
            let _ = writeln!(out, "{tag} {text}");
        }
        shown_to = Some(end.max(from));
    }
    out
}

#[cfg(test)]
#[test]
fn the_diff_shows_changed_lines_with_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
    let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
    assert_eq!(
        diff(old, new),
        "@@ line 1 of the golden file, 1 now @@\n  a\n  b\n  c\n- d\n+ D\n  e\n  f\n  g\n  h\n+ i\n"
    );
    assert_eq!(diff(old, old), "");
}
