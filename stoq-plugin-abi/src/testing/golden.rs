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
                diff(
                    &expected.replace("\r\n", "\n"),
                    &actual,
                    &path.display().to_string(),
                    "now"
                )
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

/// A unified diff of two texts by lines (3 lines of context), for failure messages.
pub fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len().saturating_mul(b.len()) > 16_000_000 {
        return format!("--- {old_name}\n{old}\n+++ {new_name}\n{new}");
    }
    // Longest common subsequence lengths of the suffixes: lcs[i][j] for a[i..], b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', line in a, line in b).
    let mut ops: Vec<(char, usize, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j));
            i += 1;
            j += 1;
        } else if i < a.len()
            && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
        {
            ops.push(('-', i, j));
            i += 1;
        } else {
            ops.push(('+', i, j));
            j += 1;
        }
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut k = 0;
    while k < changed.len() {
        // A hunk: changes closer than twice the context are merged.
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let old_len = hunk.iter().filter(|op| op.0 != '+').count();
        let new_len = hunk.iter().filter(|op| op.0 != '-').count();
        let (_, i0, j0) = hunk[0];
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            i0 + 1,
            j0 + 1
        ));
        for &(op, i, j) in hunk {
            let line = if op == '+' { b[j] } else { a[i] };
            out.push_str(&format!("{op}{line}\n"));
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let new = old.replace("\n5\n", "\nfive\n").replace("20\n", "20\n21\n");
        assert_eq!(
            diff(&old, &new, "old", "new"),
            "--- old\n+++ new\n\
             @@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n\
             @@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21\n"
        );
        assert_eq!(diff("x\n", "x\n", "old", "new"), "--- old\n+++ new\n");
    }
}
