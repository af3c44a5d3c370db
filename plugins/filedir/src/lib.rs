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
        .default_options(
            "recursive = true\n\
             watch = false\n\
             poll_interval = 1.0\n\
             max_size = 4294967296\n\
             post_processing = \"keep\"\n\
             compactly = false\n",
        );

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_size = match config.get_int("max_size")? {
            None => DEFAULT_MAX_SIZE,
            Some(n) => u64::try_from(n).map_err(|_| {
                Error::msg(format!("option `max_size`: must not be negative, got {n}"))
            })?,
        };
        let poll_interval = match config.get_float("poll_interval")? {
            None => Duration::from_secs(1),
            Some(secs) => Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Error::msg(format!(
                        "option `poll_interval`: expected a positive number of seconds, got {secs}"
                    ))
                })?,
        };
        let post_processing = match config.get_str("post_processing")? {
            None => PostProcessing::Keep,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "keep" => PostProcessing::Keep,
                "delete" => PostProcessing::Delete,
                "move" => PostProcessing::Move,
                _ => {
                    return Err(Error::msg(format!(
                        "option `post_processing`: expected \"keep\", \"delete\" or \"move\", got {value:?}"
                    )));
                }
            },
        };
        let move_dir = path_option(config, "move_dir")?;
        if post_processing == PostProcessing::Move && move_dir.is_none() {
            return Err(Error::msg(
                "option `move_dir` is required with post_processing = \"move\"",
            ));
        }
        Ok(Self {
            source_dir: path_option(config, "source_dir")?,
            recursive: config.get_bool("recursive")?.unwrap_or(true),
            watch: config.get_bool("watch")?.unwrap_or(false),
            poll_interval,
            max_size,
            post_processing,
            move_dir,
            results_dir: path_option(config, "results_dir")?,
            compactly: config.get_bool("compactly")?.unwrap_or(false),
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
    use super::*;
    use stoq_plugin_abi::serde_json::Value;

    /// An instance with these options.
    pub fn filedir(options: Value) -> Result<FileDir> {
        let Value::Object(map) = options else {
            panic!("options must be an object")
        };
        let mut config = PluginConfig::new("filedir", map, &[]).expect("valid config");
        FileDir::new(&mut config)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::filedir;
    use super::*;

    #[test]
    fn instantiates_without_any_folder() {
        let plugin = filedir(json!({})).unwrap();
        assert_eq!(plugin.max_size, DEFAULT_MAX_SIZE);
        assert_eq!(plugin.post_processing, PostProcessing::Keep);
        assert!(plugin.recursive && !plugin.watch && !plugin.compactly);
        assert_eq!(plugin.poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn bad_options_are_rejected_naming_the_option() {
        let err = filedir(json!({"post_processing": "move"})).err().unwrap();
        assert!(err.message().contains("move_dir"), "{err}");
        let err = filedir(json!({"post_processing": "shred"})).err().unwrap();
        assert!(err.message().contains("post_processing"), "{err}");
        let err = filedir(json!({"max_size": -1})).err().unwrap();
        assert!(err.message().contains("max_size"), "{err}");
        for bad in [json!(0), json!(-1.5), json!("soon")] {
            let err = filedir(json!({"poll_interval": bad})).err().unwrap();
            assert!(err.message().contains("poll_interval"), "{err}");
        }
        let plugin =
            filedir(json!({"poll_interval": "0.25", "post_processing": "Delete"})).unwrap();
        assert_eq!(plugin.poll_interval, Duration::from_millis(250));
        assert_eq!(plugin.post_processing, PostProcessing::Delete);
    }

    #[test]
    fn the_declared_default_max_size_is_the_constant() {
        assert!(
            FileDir::INFO
                .default_options
                .contains("max_size = 4294967296")
        );
        assert_eq!(DEFAULT_MAX_SIZE, 4_294_967_296);
    }
}
