//! The `filedir` plugin, like stoQ's: a provider that scans the files of a folder, a
//! connector that saves each response as a JSON file, and an archiver that stores payloads in
//! a folder by SHA-256 and fetches them back.
//!
//! One instance may play any of the three roles; each role needs only its own options, so a
//! plugin used as a connector alone needs no `source_dir`.
//!
//! # Provider options
//!
//! - `source_dir` (string, required for the provider role): the folder to scan. Files are
//!   put in sorted path order; symbolic links to files are read, symbolic links to folders
//!   are not followed, and anything that is not a regular file (FIFO, socket, device) is
//!   skipped with a warning, without being opened. Each file becomes an item whose id is its
//!   path and whose payload metadata has `extra_data` `{"filename": <file name>, "path":
//!   <path relative to source_dir>}` (names that are not UTF-8 are written with
//!   [`bytes_to_string`](stoq_plugin_abi::bytes_to_string)).
//! - `recursive` (bool, default `true`): descend into sub-folders.
//! - `max_size` (integer, bytes, default 4 GiB): larger files are skipped with a warning
//!   (the archiver's `get` refuses them too).
//! - `watch` (bool, default `false`): after the first pass, keep polling the folder for new
//!   files until the host shuts down. A new file is put once its size and modification time
//!   stayed the same across two polls; each file is put once (a file that failed, or was
//!   handed back at shutdown, is offered again on a later poll; a finished file that is
//!   removed and later reappears at the same path is a new file). The provider learns that
//!   the host shuts down only when a put is refused, so while no new file comes it keeps
//!   polling.
//! - `poll_interval` (number, seconds, default `1.0`): the time between two polls.
//! - `post_processing` (`"keep"` (default), `"delete"` or `"move"`): what becomes of a file
//!   once its item is done, i.e. after every connector saved its response. A file whose item
//!   failed or was handed back is left where it is.
//! - `move_dir` (string, required with `post_processing = "move"`): where finished files are
//!   moved, keeping their path relative to `source_dir`.
//!
//! # Connector options
//!
//! - `results_dir` (string, required for the connector role): the folder (created if
//!   missing) that receives one `<scan_id>.json` per response. Each file is written under a
//!   temporary name in the same folder and then renamed, so it is never seen half written,
//!   and saving the same response again replaces it.
//! - `fsync` (bool; default `true` when `post_processing` deletes or moves inputs, `false`
//!   otherwise): sync each written response (and archived payload) and its folder before
//!   it counts as saved, so a power loss cannot lose a result whose input is already gone.
//!   Without it a crash of the process still never leaves half a file.
//! - `compactly` (bool, default `false`): one line of JSON instead of stoQ's indented form
//!   (4 spaces).
//!
//! # Archiver options
//!
//! - `archive_dir` (string, required for the archiver role): payloads are stored at
//!   `archive_dir/<h[0..2]>/<h[2..4]>/<h>`, `h` being the SHA-256 of the content in
//!   lower-case hex; `archive` records `{"sha256": h, "path": <that path>}`.
//! - `get` takes a task `{"sha256": "<64 hex digits>"}` or `{"path": "<a file inside
//!   archive_dir>"}` and returns the payload with the task's fields as its `extra_data`.

mod archiver;
mod connector;
mod fsio;
mod provider;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use stoq_plugin_abi::prelude::*;

pub use archiver::blob_path;
pub use provider::{Skipped, Walk, WalkEntry, walk};

/// The default of `max_size`: 4 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 4 * 1024 * 1024 * 1024;

/// What the provider does with a file whose item is done (the `post_processing` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostProcessing {
    /// Leave it in place.
    Keep,
    /// Delete it.
    Delete,
    /// Move it below `move_dir`, keeping its relative path.
    Move,
}

/// The filedir plugin (provider, connector and archiver).
pub struct FileDir {
    source_dir: Option<PathBuf>,
    recursive: bool,
    watch: bool,
    poll_interval: Duration,
    max_size: u64,
    post_processing: PostProcessing,
    move_dir: Option<PathBuf>,
    results_dir: Option<PathBuf>,
    compactly: bool,
    /// Sync written results and archived payloads (and their folders) before reporting them
    /// saved.
    fsync: bool,
    archive_dir: Option<PathBuf>,
    /// The provider's items that are in flight, or finished and kept (watch mode), by id.
    tracked: Mutex<provider::Tracked>,
}

/// A path option: unset or empty means "not given".
fn path_option(config: &PluginConfig, key: &str) -> Result<Option<PathBuf>> {
    Ok(config
        .get_str(key)?
        .filter(|s| !s.is_empty())
        .map(PathBuf::from))
}

/// The error for a role used without its required folder option.
fn missing(option: &str, role: &str) -> Error {
    Error::msg(format!(
        "option `{option}` is required for the {role} role of filedir"
    ))
}

/// A path as a string for ids, metadata and results (see
/// [`bytes_to_string`](stoq_plugin_abi::bytes_to_string)).
fn path_string(path: &Path) -> String {
    stoq_plugin_abi::bytes_to_string(path.as_os_str().as_encoded_bytes())
}

impl Plugin for FileDir {
    const INFO: PluginInfo = PluginInfo::new("filedir", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "Scans the files of a folder, saves results as JSON files, archives payloads by SHA-256",
        )
        .options(&[
            OptionSpec::string("source_dir", "")
                .optional()
                .doc("Provider: the folder whose files are scanned"),
            OptionSpec::bool("recursive", true).doc("Provider: descend into sub-folders"),
            OptionSpec::int("max_size", DEFAULT_MAX_SIZE as i64)
                .doc("Largest file read, in bytes (the provider skips larger files, get refuses them)"),
            OptionSpec::bool("watch", false)
                .doc("Provider: after the first pass, keep polling source_dir for new files"),
            OptionSpec::float("poll_interval", 1.0)
                .doc("Provider: seconds between two polls when watching"),
            OptionSpec::string("post_processing", "keep")
                .doc("Provider: what becomes of a file once done: keep, delete or move"),
            OptionSpec::string("move_dir", "")
                .optional()
                .doc("Provider: where done files go with post_processing = move"),
            OptionSpec::string("results_dir", "")
                .optional()
                .doc("Connector: the folder that receives one <scan_id>.json per response"),
            OptionSpec::bool("fsync", false).optional().doc(
                "Sync saved results and payloads to disk (default: when post_processing is delete or move)",
            ),
            OptionSpec::bool("compactly", false)
                .doc("Connector: one line of JSON instead of the indented form"),
            OptionSpec::string("archive_dir", "")
                .optional()
                .doc("Archiver: the folder payloads are stored in by SHA-256"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_size = config.int("max_size")?;
        let max_size = u64::try_from(max_size).map_err(|_| {
            Error::msg(format!(
                "option `max_size`: must not be negative, got {max_size}"
            ))
        })?;
        let secs = config.float("poll_interval")?;
        let poll_interval = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::msg(format!(
                    "option `poll_interval`: expected a positive number of seconds, got {secs}"
                ))
            })?;
        let value = config.string("post_processing")?;
        let post_processing = match value.trim().to_ascii_lowercase().as_str() {
            "keep" => PostProcessing::Keep,
            "delete" => PostProcessing::Delete,
            "move" => PostProcessing::Move,
            _ => {
                return Err(Error::msg(format!(
                    "option `post_processing`: expected \"keep\", \"delete\" or \"move\", got {value:?}"
                )));
            }
        };
        let move_dir = path_option(config, "move_dir")?;
        if post_processing == PostProcessing::Move && move_dir.is_none() {
            return Err(Error::msg(
                "option `move_dir` is required with post_processing = \"move\"",
            ));
        }
        Ok(Self {
            source_dir: path_option(config, "source_dir")?,
            recursive: config.bool("recursive")?,
            watch: config.bool("watch")?,
            poll_interval,
            max_size,
            post_processing,
            move_dir,
            results_dir: path_option(config, "results_dir")?,
            compactly: config.bool("compactly")?,
            // Inputs deleted or moved once saved: the saves must survive a power loss.
            fsync: config
                .get_bool("fsync")?
                .unwrap_or(post_processing != PostProcessing::Keep),
            archive_dir: path_option(config, "archive_dir")?,
            tracked: Mutex::default(),
        })
    }
}

stoq_plugin_abi::export_plugin!(FileDir => provider, connector, archiver);

#[cfg(test)]
pub(crate) mod test_support {
    use stoq_plugin_abi::serde_json::Value;
    use stoq_plugin_abi::testing::PluginTest;

    use super::FileDir;

    /// The plugin run as the host runs it, with these options.
    pub fn filedir(options: Value) -> PluginTest<FileDir> {
        let Value::Object(map) = options else {
            panic!("options must be an object")
        };
        map.into_iter()
            .fold(PluginTest::new(), |test, (key, value)| {
                test.option(key, value)
            })
    }
}

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::TestError;

    use super::test_support::filedir;
    use super::*;

    #[test]
    fn declares_every_option_with_its_type_and_default() {
        let declared: Vec<(&str, OptionKind, Option<Value>)> = FileDir::INFO
            .options
            .iter()
            .map(|o| (o.name, o.kind, o.default_value()))
            .collect();
        assert_eq!(
            declared,
            [
                ("source_dir", OptionKind::String, None),
                ("recursive", OptionKind::Bool, Some(json!(true))),
                ("max_size", OptionKind::Int, Some(json!(4_294_967_296_u64))),
                ("watch", OptionKind::Bool, Some(json!(false))),
                ("poll_interval", OptionKind::Float, Some(json!(1.0))),
                ("post_processing", OptionKind::String, Some(json!("keep"))),
                ("move_dir", OptionKind::String, None),
                ("results_dir", OptionKind::String, None),
                ("fsync", OptionKind::Bool, None),
                ("compactly", OptionKind::Bool, Some(json!(false))),
                ("archive_dir", OptionKind::String, None),
            ]
        );
        assert_eq!(DEFAULT_MAX_SIZE, 4_294_967_296);
        assert!(
            FileDir::INFO
                .options
                .iter()
                .all(|o| !o.doc.is_empty() && !o.required)
        );
    }

    #[test]
    fn instantiates_without_any_folder() {
        let plugin = filedir(json!({}));
        plugin.start().expect("starts");
        assert!(plugin.unused_options().expect("started").is_empty());
    }

    /// The configuration error `options` give.
    fn rejected(options: Value) -> String {
        match filedir(options.clone()).start() {
            Err(TestError::Config(message)) => message,
            other => panic!("{options}: expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn bad_options_are_rejected_naming_the_option() {
        let err = rejected(json!({"post_processing": "move"}));
        assert!(err.contains("move_dir"), "{err}");
        let err = rejected(json!({"post_processing": "shred"}));
        assert!(err.contains("post_processing"), "{err}");
        for bad in [json!(-1), json!("4G")] {
            let err = rejected(json!({"max_size": bad}));
            assert!(err.contains("max_size"), "{err}");
        }
        for bad in [json!(0), json!(-1.5), json!("soon")] {
            let err = rejected(json!({"poll_interval": bad}));
            assert!(err.contains("poll_interval"), "{err}");
        }
        for key in ["recursive", "watch", "fsync", "compactly"] {
            let err = rejected(json!({ key: "maybe" }));
            assert!(err.contains(&format!("`{key}`")), "{err}");
        }
        let accepted = filedir(json!({"poll_interval": "0.25", "post_processing": "Delete"}));
        accepted.start().expect("valid options");
    }
}
