//! The connector role: one `<scan_id>.json` per response in `results_dir`.

use std::path::PathBuf;

use serde::Serialize;
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{self, Value};

use crate::{FileDir, fsio, missing};

/// Checks that a scan id can name a file in `results_dir` and nothing else.
fn check_scan_id(scan_id: &str) -> Result<()> {
    if scan_id.is_empty() || scan_id.starts_with('.') || scan_id.contains(['/', '\\', '\0']) {
        return Err(Error::msg(format!(
            "scan_id {scan_id:?} cannot name a results file (it is empty, starts with '.', \
             or contains '/', '\\' or NUL)"
        )));
    }
    Ok(())
}

/// The response as stoQ writes it: indented with 4 spaces, or on one line.
fn render(response: &Value, compactly: bool) -> Result<Vec<u8>> {
    let mut out = if compactly {
        serde_json::to_vec(response)?
    } else {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        response.serialize(&mut serializer)?;
        out
    };
    out.push(b'\n');
    Ok(out)
}

impl FileDir {
    /// Where the response with this scan id goes.
    fn results_path(&self, scan_id: &str) -> Result<PathBuf> {
        let dir = self
            .results_dir
            .as_deref()
            .ok_or_else(|| missing("results_dir", "connector"))?;
        check_scan_id(scan_id)?;
        Ok(dir.join(format!("{scan_id}.json")))
    }
}

impl Connector for FileDir {
    fn save(&self, response: &Value) -> Result<()> {
        let scan_id = response
            .get("scan_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::msg("the response has no string `scan_id`"))?;
        let path = self.results_path(scan_id)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::msg(format!("cannot create results_dir {}: {e}", dir.display()))
            })?;
        }
        let content = render(response, self.compactly)?;
        fsio::write_atomic(&path, &content, self.fsync)
            .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::TestError;

    use super::*;
    use crate::test_support::filedir;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// The message of a failed save.
    fn failure(outcome: Result<(), TestError>) -> String {
        match outcome {
            Err(TestError::Failed(message)) => message,
            other => panic!("expected the save to fail, got {other:?}"),
        }
    }

    #[test]
    fn one_file_per_scan_id_and_no_temporary_file_left() {
        let tmp = tempfile::tempdir().unwrap();
        // Created on the first save.
        let results = tmp.path().join("results");
        let plugin = filedir(json!({"results_dir": results.to_str().unwrap()}));
        plugin.save(&json!({"scan_id": "a", "n": 1})).unwrap();
        plugin.save(&json!({"scan_id": "b", "n": 2})).unwrap();
        // The same scan id again replaces the first file (a redelivered task).
        plugin.save(&json!({"scan_id": "a", "n": 3})).unwrap();
        assert_eq!(names(&results), ["a.json", "b.json"]);
        let text = std::fs::read_to_string(results.join("a.json")).unwrap();
        let saved: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(saved, json!({"scan_id": "a", "n": 3}));
        // stoQ's indented form.
        assert!(text.contains("\n    \"n\": 3"), "{text}");
    }

    #[test]
    fn compactly_writes_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = filedir(json!({
            "results_dir": tmp.path().to_str().unwrap(),
            "compactly": "true",
        }));
        plugin
            .save(&json!({"scan_id": "x", "results": [{"a": 1}]}))
            .unwrap();
        let text = std::fs::read_to_string(tmp.path().join("x.json")).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(!text.contains(' '));
    }

    #[test]
    fn unsafe_or_missing_scan_ids_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = filedir(json!({"results_dir": tmp.path().to_str().unwrap()}));
        for bad in ["../up", "a/b", "a\\b", ".hidden", ""] {
            let err = failure(plugin.save(&json!({"scan_id": bad})));
            assert!(err.contains("scan_id"), "{bad}: {err}");
        }
        failure(plugin.save(&json!({"scan_id": 5})));
        failure(plugin.save(&json!({})));
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn saving_without_results_dir_names_the_option() {
        let plugin = filedir(json!({}));
        let err = failure(plugin.save(&json!({"scan_id": "a"})));
        assert!(err.contains("results_dir"), "{err}");
    }
}
