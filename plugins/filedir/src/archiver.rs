//! The archiver role: payloads stored by SHA-256 below `archive_dir`, and fetched back by hash
//! or by path.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

use crate::fsio::{self, ReadOutcome};
use crate::{FileDir, missing, path_string};

/// Where the payload with this SHA-256 (64 lower-case hex digits) is stored below
/// `archive_dir`: `archive_dir/<h[0..2]>/<h[2..4]>/<h>`.
pub fn blob_path(archive_dir: &Path, sha256: &str) -> PathBuf {
    let first = sha256.get(0..2).unwrap_or_default();
    let second = sha256.get(2..4).unwrap_or_default();
    archive_dir.join(first).join(second).join(sha256)
}

/// A task's `sha256`, checked (exactly 64 hex digits) and lower-cased.
fn normalize_sha256(value: &Value) -> Result<String> {
    let text = value
        .as_str()
        .ok_or_else(|| Error::msg(format!("task `sha256` must be a string, got {value}")))?;
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::msg(format!(
            "task `sha256` {text:?} is not 64 hexadecimal digits"
        )));
    }
    Ok(text.to_ascii_lowercase())
}

impl FileDir {
    fn archive_dir(&self) -> Result<&Path> {
        self.archive_dir
            .as_deref()
            .ok_or_else(|| missing("archive_dir", "archiver"))
    }

    /// Stores `content` below `archive_dir` by its SHA-256 (unless it is there already) and
    /// returns `(sha256, path)`.
    pub fn store(&self, content: &[u8]) -> Result<(String, PathBuf)> {
        let dir = self.archive_dir()?;
        let sha256 = hex::encode(Sha256::digest(content));
        let path = blob_path(dir, &sha256);
        let exists = path
            .try_exists()
            .map_err(|e| Error::msg(format!("cannot look at {}: {e}", path.display())))?;
        if !exists {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::msg(format!("cannot create {}: {e}", parent.display())))?;
            }
            fsio::write_atomic(&path, content, self.fsync)
                .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok((sha256, path))
    }

    /// The file a `{"path": ..}` task names, which must resolve inside `archive_dir`.
    fn resolve_inside(&self, value: &Value) -> Result<PathBuf> {
        let dir = self.archive_dir()?;
        let text = value
            .as_str()
            .ok_or_else(|| Error::msg(format!("task `path` must be a string, got {value}")))?;
        let root = dir.canonicalize().map_err(|e| {
            Error::msg(format!("cannot resolve archive_dir {}: {e}", dir.display()))
        })?;
        let path = Path::new(text).canonicalize().map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::msg(format!("archived payload {text:?} not found")),
            _ => Error::msg(format!("cannot resolve path {text:?}: {e}")),
        })?;
        if !path.starts_with(&root) {
            return Err(Error::msg(format!(
                "path {text:?} is outside archive_dir {}",
                dir.display()
            )));
        }
        Ok(path)
    }

    /// Reads an archived payload, naming `what` (the hash or the path) in errors.
    fn read_archived(&self, path: &Path, what: &str) -> Result<Vec<u8>> {
        match fsio::read_regular(path, self.max_size) {
            Ok(ReadOutcome::Content(content)) => Ok(content),
            Ok(ReadOutcome::TooLarge(size)) => Err(Error::msg(format!(
                "archived payload {what} ({}) is {size} bytes, more than max_size {}",
                path.display(),
                self.max_size
            ))),
            Ok(ReadOutcome::NotRegular) => Err(Error::msg(format!(
                "archived payload {what} ({}) is not a regular file",
                path.display()
            ))),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::msg(format!(
                "archived payload {what} not found ({})",
                path.display()
            ))),
            Err(e) => Err(Error::msg(format!(
                "cannot read archived payload {what} ({}): {e}",
                path.display()
            ))),
        }
    }
}

impl Archiver for FileDir {
    fn archive(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<ArchiverResponse> {
        let (sha256, path) = self.store(payload.content())?;
        Ok(ArchiverResponse::new(
            json!({"sha256": sha256, "path": path_string(&path)}),
        ))
    }

    fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>> {
        let Value::Object(fields) = task else {
            return Err(Error::msg(format!(
                "a filedir task is an object with `sha256` or `path`, got {task}"
            )));
        };
        let content = if let Some(value) = fields.get("sha256") {
            let sha256 = normalize_sha256(value)?;
            let path = blob_path(self.archive_dir()?, &sha256);
            self.read_archived(&path, &sha256)?
        } else if let Some(value) = fields.get("path") {
            let path = self.resolve_inside(value)?;
            self.read_archived(&path, &value.to_string())?
        } else {
            return Err(Error::msg(format!(
                "a filedir task needs `sha256` or `path`, got {task}"
            )));
        };
        let meta = PayloadMeta::new().with_extra_data(fields.clone());
        Ok(Some(ExtractedPayload::new(content).with_meta(meta)))
    }
}

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;
    use crate::test_support::filedir;

    const FOX_SHA256: &str = "5cac4f980fedc3d3f1f99b4be3472c9b30d56523e632d151237ec9309048bda9";

    fn archiver(dir: &Path, extra: Value) -> PluginTest<FileDir> {
        let mut options = json!({"archive_dir": dir.to_str().unwrap()});
        if let (Value::Object(options), Value::Object(extra)) = (&mut options, extra) {
            options.extend(extra);
        }
        filedir(options)
    }

    /// The message of a failed call.
    fn failure<T: std::fmt::Debug>(outcome: Result<T, TestError>) -> String {
        match outcome {
            Err(TestError::Failed(message)) => message,
            other => panic!("expected the plugin to fail, got {other:?}"),
        }
    }

    #[test]
    fn archive_then_get_by_sha256_and_by_path() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = archiver(tmp.path(), json!({}));
        let response = plugin.archive(b"The quick brown fox").unwrap();
        assert!(response.errors.is_empty());
        let results = response.results.unwrap();
        assert_eq!(results["sha256"], FOX_SHA256);
        let path = results["path"].as_str().unwrap().to_owned();
        assert_eq!(
            Path::new(&path),
            tmp.path().join("5c").join("ac").join(FOX_SHA256)
        );
        // Archiving again keeps the one copy.
        assert_eq!(
            plugin.archive(b"The quick brown fox").unwrap().results,
            Some(results)
        );

        let task = json!({"sha256": FOX_SHA256.to_ascii_uppercase(), "source": "queue"});
        let got = plugin.get(&task).unwrap().unwrap();
        assert_eq!(got.content, b"The quick brown fox");
        assert_eq!(Value::Object(got.payload_meta.extra_data), task);

        let got = plugin.get(&json!({"path": path})).unwrap().unwrap();
        assert_eq!(got.content, b"The quick brown fox");

        let files: Vec<_> = std::fs::read_dir(tmp.path().join("5c").join("ac"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, [FOX_SHA256]);
    }

    #[test]
    fn get_rejects_paths_outside_the_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        std::fs::create_dir(&archive).unwrap();
        let outside = tmp.path().join("secret");
        std::fs::write(&outside, b"no").unwrap();
        let plugin = archiver(&archive, json!({}));
        let sneaky = archive.join("..").join("secret");
        for path in [&outside, &sneaky] {
            let err = failure(plugin.get(&json!({"path": path.to_str().unwrap()})));
            assert!(err.contains("outside archive_dir"), "{err}");
            assert!(err.contains(path.to_str().unwrap()), "{err}");
        }
        let missing = archive.join("nothing");
        let err = failure(plugin.get(&json!({"path": missing.to_str().unwrap()})));
        assert!(err.contains("not found"), "{err}");
    }

    #[test]
    fn get_rejects_malformed_and_unknown_hashes() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = archiver(tmp.path(), json!({}));
        for bad in [
            json!("abc"),
            json!(&FOX_SHA256[1..]),
            json!(format!("{}x", &FOX_SHA256[1..])),
            json!(format!("../{}", &FOX_SHA256[3..])),
            json!(12),
        ] {
            let err = failure(plugin.get(&json!({ "sha256": bad })));
            assert!(err.contains("sha256"), "{bad}: {err}");
        }
        let err = failure(plugin.get(&json!({"sha256": FOX_SHA256})));
        assert!(err.contains(FOX_SHA256), "{err}");
        assert!(err.contains("not found"), "{err}");
        failure(plugin.get(&json!({"other": 1})));
        failure(plugin.get(&json!("x")));
    }

    #[test]
    fn get_is_bounded_by_max_size() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = archiver(tmp.path(), json!({"max_size": 4}));
        let results = plugin.archive(b"12345").unwrap().results.unwrap();
        let err = failure(plugin.get(&json!({ "sha256": results["sha256"] })));
        assert!(err.contains("max_size"), "{err}");
        let results = plugin.archive(b"1234").unwrap().results.unwrap();
        let got = plugin.get(&json!({ "sha256": results["sha256"] })).unwrap();
        assert_eq!(got.unwrap().content, b"1234");
    }

    #[test]
    fn archiving_without_archive_dir_names_the_option() {
        let plugin = filedir(json!({}));
        let err = failure(plugin.archive(b"x"));
        assert!(err.contains("archive_dir"), "{err}");
        let err = failure(plugin.get(&json!({"sha256": FOX_SHA256})));
        assert!(err.contains("archive_dir"), "{err}");
    }
}
