//! The provider role: walks `source_dir`, puts each regular file, optionally keeps watching,
//! and deletes or moves a file once its item is done.

use std::collections::{HashMap, HashSet};
use std::fs::FileType;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::{MutexGuard, PoisonError};
use std::time::SystemTime;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::tracing::{debug, warn};

use crate::fsio::{self, ReadOutcome};
use crate::{FileDir, PostProcessing, missing, path_string};

/// What a file looked like at one poll: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

/// One regular file found by [`walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    /// The file's path: `source_dir` joined with [`rel`](Self::rel).
    pub path: PathBuf,
    /// The path relative to `source_dir`.
    pub rel: PathBuf,
    /// Its size when the walk looked at it.
    pub size: u64,
    /// Its modification time when the walk looked at it, where the platform has one.
    pub modified: Option<SystemTime>,
}

impl WalkEntry {
    /// The item id: the path as a string.
    pub fn id(&self) -> String {
        path_string(&self.path)
    }

    /// The payload metadata of the file's item: `extra_data` `{"filename", "path"}`.
    pub fn payload_meta(&self) -> PayloadMeta {
        let filename = self
            .rel
            .file_name()
            .map(|name| stoq_plugin_abi::bytes_to_string(name.as_encoded_bytes()))
            .unwrap_or_default();
        PayloadMeta::default()
            .with_extra("filename", filename)
            .with_extra("path", path_string(&self.rel))
    }

    fn stamp(&self) -> Stamp {
        (self.size, self.modified)
    }
}

/// Something [`walk`] passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path.
    pub path: PathBuf,
    /// Why it was skipped (e.g. "a FIFO, not a regular file").
    pub reason: String,
}

/// What [`walk`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// The regular files, in sorted path order.
    pub files: Vec<WalkEntry>,
    /// What was not a regular file, or could not be looked at.
    pub skipped: Vec<Skipped>,
}

/// Walks `root` (into sub-folders when `recursive`) without opening anything: collects its
/// regular files in sorted path order, and symbolic links to regular files; skips symbolic
/// links to folders (not followed) and everything that is not a regular file. An error only
/// when `root` itself cannot be listed.
pub fn walk(root: &Path, recursive: bool) -> io::Result<Walk> {
    walk_excluding(root, recursive, &[])
}

/// [`walk`], not descending into the folders whose canonical paths are in `exclude`.
fn walk_excluding(root: &Path, recursive: bool, exclude: &[PathBuf]) -> io::Result<Walk> {
    let mut found = Walk::default();
    let entries = read_sorted(root)?;
    walk_entries(root, Path::new(""), entries, recursive, exclude, &mut found);
    Ok(found)
}

/// The entries of a folder, sorted by name (so that the walk's order is the paths' order).
fn read_sorted(dir: &Path) -> io::Result<Vec<std::fs::DirEntry>> {
    let mut entries = std::fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries)
}

/// What a file type is, for a warning.
fn describe(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    let _ = file_type;
    "not a file or folder"
}

fn walk_entries(
    dir: &Path,
    rel_dir: &Path,
    entries: Vec<std::fs::DirEntry>,
    recursive: bool,
    exclude: &[PathBuf],
    found: &mut Walk,
) {
    for entry in entries {
        let path = dir.join(entry.file_name());
        let rel = rel_dir.join(entry.file_name());
        let mut skip = |path: PathBuf, reason: String| found.skipped.push(Skipped { path, reason });
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(e) => {
                skip(path, format!("cannot look at it: {e}"));
                continue;
            }
        };
        // `DirEntry::metadata` does not follow a symbolic link; `fs::metadata` does.
        let metadata = if file_type.is_symlink() {
            std::fs::metadata(&path)
        } else {
            entry.metadata()
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(e) => {
                skip(path, format!("cannot look at it: {e}"));
                continue;
            }
        };
        if file_type.is_dir() {
            if !recursive {
                continue;
            }
            if !exclude.is_empty()
                && path
                    .canonicalize()
                    .is_ok_and(|canonical| exclude.contains(&canonical))
            {
                debug!("not walking {}: filedir writes there", path.display());
                continue;
            }
            match read_sorted(&path) {
                Ok(children) => walk_entries(&path, &rel, children, recursive, exclude, found),
                Err(e) => skip(path, format!("cannot list the folder: {e}")),
            }
        } else if metadata.is_file() {
            found.files.push(WalkEntry {
                path,
                rel,
                size: metadata.len(),
                modified: metadata.modified().ok(),
            });
        } else if metadata.is_dir() {
            // Only a symbolic link gets here with a folder.
            debug!(
                "not following {}: a symbolic link to a folder",
                path.display()
            );
        } else {
            let what = describe(&metadata.file_type());
            skip(path, format!("{what}, not a regular file"));
        }
    }
}

/// One item the provider put, until its outcome (or for as long as its file stays, once
/// finished and kept in watch mode).
#[derive(Debug, Clone)]
pub(crate) struct TrackedItem {
    path: PathBuf,
    rel: PathBuf,
    /// Done and kept: not put again while the file is there.
    finished: bool,
}

/// The provider's items, by id.
pub(crate) type Tracked = HashMap<String, TrackedItem>;

/// What the provider remembers from one poll to the next.
#[derive(Debug, Default)]
struct PollState {
    /// Files seen on the last poll and not put yet, with their stamp then.
    pending: HashMap<String, Stamp>,
    /// Files that could not be read (too large, unreadable): not tried again until they change.
    unreadable: HashMap<String, Stamp>,
    /// Paths warned about on the last poll, not to warn about them at every poll.
    warned: HashSet<PathBuf>,
}

/// What became of a finished file.
#[derive(Debug, PartialEq, Eq)]
enum PostProcessed {
    /// Still where it was.
    Kept,
    /// Deleted or moved away.
    Gone,
}

/// Moves `from` to `to` (replacing it), copying across file systems.
fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            let dir = to.parent().unwrap_or(Path::new("."));
            let mut temp = tempfile::Builder::new()
                .prefix(".stoq-tmp-")
                .tempfile_in(dir)?;
            io::copy(&mut std::fs::File::open(from)?, &mut temp)?;
            temp.as_file().sync_all()?;
            temp.persist(to).map_err(|e| e.error)?;
            std::fs::remove_file(from)
        }
        other => other,
    }
}

impl FileDir {
    /// `source_dir`, or the error that names the option.
    fn source_dir(&self) -> Result<&Path> {
        self.source_dir
            .as_deref()
            .ok_or_else(|| missing("source_dir", "provider"))
    }

    fn tracked(&self) -> MutexGuard<'_, Tracked> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers an item about to be put.
    fn track(&self, id: &str, entry: &WalkEntry) {
        self.tracked().insert(
            id.to_owned(),
            TrackedItem {
                path: entry.path.clone(),
                rel: entry.rel.clone(),
                finished: false,
            },
        );
    }

    /// The folders the walk must not enter because this plugin writes there.
    fn excluded_dirs(&self) -> Vec<PathBuf> {
        let move_dir = match self.post_processing {
            PostProcessing::Move => self.move_dir.as_ref(),
            _ => None,
        };
        [
            move_dir,
            self.results_dir.as_ref(),
            self.archive_dir.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|dir| dir.canonicalize().ok())
        .collect()
    }

    /// The files of this walk to put now. Warns about what the walk skipped (once while it
    /// stays). With `settle`, a file not put yet must look the same as at the last poll.
    fn due(&self, state: &mut PollState, found: Walk, settle: bool) -> Vec<WalkEntry> {
        let mut warned = HashSet::new();
        for skipped in found.skipped {
            if !state.warned.contains(&skipped.path) {
                warn!("skipping {}: {}", skipped.path.display(), skipped.reason);
            }
            warned.insert(skipped.path);
        }
        let mut tracked = self.tracked();
        let mut seen = HashSet::new();
        let mut pending = HashMap::new();
        let mut due = Vec::new();
        for entry in found.files {
            let id = entry.id();
            seen.insert(id.clone());
            if let Some(item) = tracked.get(&id) {
                if item.path != entry.path {
                    if !state.warned.contains(&entry.path) {
                        warn!(
                            "skipping {}: its id {id:?} is the id of another file",
                            entry.path.display()
                        );
                    }
                    warned.insert(entry.path);
                }
                continue;
            }
            let stamp = entry.stamp();
            if state.unreadable.get(&id) == Some(&stamp) {
                continue;
            }
            if settle && state.pending.get(&id) != Some(&stamp) {
                pending.insert(id, stamp);
                continue;
            }
            due.push(entry);
        }
        // A finished file that is gone may come back as a new file.
        tracked.retain(|id, item| !item.finished || seen.contains(id));
        state.unreadable.retain(|id, _| seen.contains(id));
        state.pending = pending;
        state.warned = warned;
        due
    }

    /// Reads a file to put, or warns and remembers it as unreadable.
    fn read_entry(&self, entry: &WalkEntry, state: &mut PollState) -> Option<Vec<u8>> {
        let path = entry.path.display();
        let problem = if entry.size > self.max_size {
            format!("{} bytes, more than max_size {}", entry.size, self.max_size)
        } else {
            match fsio::read_regular(&entry.path, self.max_size) {
                Ok(ReadOutcome::Content(content)) => return Some(content),
                Ok(ReadOutcome::TooLarge(size)) => {
                    format!("{size} bytes, more than max_size {}", self.max_size)
                }
                Ok(ReadOutcome::NotRegular) => "no longer a regular file".to_owned(),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    debug!("{path} is gone before it was read");
                    return None;
                }
                Err(e) => format!("cannot read it: {e}"),
            }
        };
        warn!("skipping {path}: {problem}");
        state.unreadable.insert(entry.id(), entry.stamp());
        None
    }

    /// Applies `post_processing` to a file whose item is done.
    fn post_process(&self, item: &TrackedItem) -> Result<PostProcessed> {
        match self.post_processing {
            PostProcessing::Keep => Ok(PostProcessed::Kept),
            PostProcessing::Delete => match std::fs::remove_file(&item.path) {
                Ok(()) => Ok(PostProcessed::Gone),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(PostProcessed::Gone),
                Err(e) => Err(Error::msg(format!(
                    "cannot delete {}: {e}",
                    item.path.display()
                ))),
            },
            PostProcessing::Move => {
                let move_dir = self
                    .move_dir
                    .as_deref()
                    .ok_or_else(|| missing("move_dir", "provider"))?;
                let target = move_dir.join(&item.rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        Error::msg(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                move_file(&item.path, &target).map_err(|e| {
                    Error::msg(format!(
                        "cannot move {} to {}: {e}",
                        item.path.display(),
                        target.display()
                    ))
                })?;
                Ok(PostProcessed::Gone)
            }
        }
    }
}

impl Provider for FileDir {
    fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
        let root = self.source_dir()?;
        if !root.is_dir() {
            return Err(Error::msg(format!(
                "option `source_dir`: {} is not a folder",
                root.display()
            )));
        }
        if let (PostProcessing::Move, Some(move_dir)) = (self.post_processing, &self.move_dir) {
            std::fs::create_dir_all(move_dir).map_err(|e| {
                Error::msg(format!(
                    "cannot create move_dir {}: {e}",
                    move_dir.display()
                ))
            })?;
        }
        let exclude = self.excluded_dirs();
        let mut state = PollState::default();
        let mut first = true;
        loop {
            match walk_excluding(root, self.recursive, &exclude) {
                Ok(found) => {
                    for entry in self.due(&mut state, found, !first) {
                        let Some(content) = self.read_entry(&entry, &mut state) else {
                            continue;
                        };
                        let id = entry.id();
                        let item = IngestItem::payload(content)
                            .with_id(id.clone())
                            .with_payload_meta(entry.payload_meta());
                        // Tracked before the put: the outcome may come before `put` returns.
                        self.track(&id, &entry);
                        if !sink.put(item) {
                            self.tracked().remove(&id);
                            return Ok(());
                        }
                    }
                }
                Err(e) if first => {
                    return Err(Error::msg(format!(
                        "cannot list source_dir {}: {e}",
                        root.display()
                    )));
                }
                Err(e) => warn!("cannot list source_dir {}: {e}", root.display()),
            }
            if !self.watch {
                return Ok(());
            }
            first = false;
            std::thread::sleep(self.poll_interval);
        }
    }

    fn outcome(&self, outcome: &ItemOutcome) {
        let id = &outcome.id;
        let Some(item) = self.tracked().get(id).cloned() else {
            debug!("outcome of {id:?}, which filedir did not put (or no longer tracks)");
            return;
        };
        // The file stays tracked while it is post-processed, so a poll does not put it again.
        let remember = match outcome.status {
            ItemStatus::Done => match self.post_process(&item) {
                Ok(PostProcessed::Kept) => self.watch,
                Ok(PostProcessed::Gone) => false,
                Err(e) => {
                    warn!("{id}: done, but post-processing failed, the file stays: {e}");
                    self.watch
                }
            },
            status => {
                let error = outcome.error.as_deref().unwrap_or("no reason given");
                warn!("{id}: not done ({status:?}: {error}); the file is left in place");
                false
            }
        };
        let mut tracked = self.tracked();
        if remember {
            if let Some(item) = tracked.get_mut(id) {
                item.finished = true;
            }
        } else {
            tracked.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::sync::Once;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use stoq_plugin_abi::serde_json::Value;
    use stoq_plugin_abi::testing::{PluginTest, TestError};
    use stoq_plugin_abi::tracing;

    use super::*;
    use crate::test_support::filedir;

    fn write(path: &Path, content: &[u8]) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }

    fn rels(found: &[WalkEntry]) -> Vec<String> {
        found
            .iter()
            .map(|e| e.rel.to_str().unwrap().to_owned())
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn walk_is_sorted_and_skips_what_is_not_a_regular_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("src");
        write(&root.join("b.txt"), b"b");
        write(&root.join("a").join("z.bin"), b"z");
        write(&root.join("a.txt"), b"a");
        write(&root.join("c").join("d").join("e"), b"e");
        let status = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .unwrap();
        assert!(status.success());
        let outside = tmp.path().join("outside");
        write(&outside.join("hidden.txt"), b"h");
        std::os::unix::fs::symlink(&outside, root.join("link-to-dir")).unwrap();
        std::os::unix::fs::symlink(root.join("b.txt"), root.join("link-to-file")).unwrap();

        let found = walk(&root, true).unwrap();
        assert_eq!(
            rels(&found.files),
            ["a/z.bin", "a.txt", "b.txt", "c/d/e", "link-to-file"]
        );
        assert_eq!(found.skipped.len(), 1);
        assert_eq!(found.skipped[0].path, root.join("pipe"));
        assert!(
            found.skipped[0].reason.contains("FIFO"),
            "{:?}",
            found.skipped
        );

        let entry = &found.files[3];
        assert_eq!(entry.path, root.join("c/d/e"));
        assert_eq!(entry.id(), root.join("c/d/e").to_str().unwrap());
        assert_eq!(entry.size, 1);
        let meta = entry.payload_meta();
        assert_eq!(meta.extra_data["filename"], "e");
        assert_eq!(meta.extra_data["path"], "c/d/e");

        let flat = walk(&root, false).unwrap();
        assert_eq!(rels(&flat.files), ["a.txt", "b.txt", "link-to-file"]);
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        write(&tmp.path().join("sub").join(name), b"x");
        let found = walk(tmp.path(), true).unwrap();
        let meta = found.files[0].payload_meta();
        assert_eq!(meta.extra_data["filename"], "caf\\xe9.txt");
        assert_eq!(meta.extra_data["path"], "sub/caf\\xe9.txt");
        assert!(found.files[0].id().ends_with("/sub/caf\\xe9.txt"));
    }

    #[test]
    fn walk_of_a_missing_folder_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(walk(&tmp.path().join("nothing"), true).is_err());
    }

    /// The item filedir puts for the file `rel` below `root`.
    fn item(root: &Path, rel: &str, content: &[u8]) -> IngestItem {
        let path = root.join(rel);
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        IngestItem::payload(content.to_vec())
            .with_id(path.to_str().unwrap())
            .with_payload_meta(
                PayloadMeta::new()
                    .with_extra("filename", name)
                    .with_extra("path", rel),
            )
    }

    /// The id of the item of `rel` below `root`.
    fn id(root: &Path, rel: &str) -> String {
        root.join(rel).to_str().unwrap().to_owned()
    }

    /// The options of a provider of `root`, with `extra`.
    fn provider(root: &Path, extra: Value) -> PluginTest<FileDir> {
        let mut options = json!({"source_dir": root.to_str().unwrap()});
        if let (Value::Object(options), Value::Object(extra)) = (&mut options, extra) {
            options.extend(extra);
        }
        filedir(options)
    }

    #[test]
    fn ingest_puts_every_file_with_its_id_and_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("b.txt"), b"b");
        write(&root.join("a").join("z.bin"), b"z");
        write(&root.join("c").join("d").join("e"), b"e");
        let items = provider(root, json!({})).ingest().unwrap();
        assert_eq!(
            items,
            [
                item(root, "a/z.bin", b"z"),
                item(root, "b.txt", b"b"),
                item(root, "c/d/e", b"e"),
            ]
        );
        let items = provider(root, json!({"recursive": "false"}))
            .ingest()
            .unwrap();
        assert_eq!(items, [item(root, "b.txt", b"b")]);
        // Once the host stops taking items, ingest returns.
        let items = provider(root, json!({})).ingest_at_most(1).unwrap();
        assert_eq!(items, [item(root, "a/z.bin", b"z")]);
    }

    #[test]
    fn ingest_needs_source_dir_but_other_roles_do_not() {
        let plugin = filedir(json!({}));
        plugin.start().expect("starts without source_dir");
        let err = plugin.ingest().unwrap_err();
        assert!(
            matches!(&err, TestError::Failed(m) if m.contains("source_dir")),
            "{err:?}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let err = provider(&tmp.path().join("nothing"), json!({}))
            .ingest()
            .unwrap_err();
        assert!(
            matches!(&err, TestError::Failed(m) if m.contains("source_dir")),
            "{err:?}"
        );
    }

    #[test]
    fn the_folders_filedir_writes_to_are_not_walked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("in.txt"), b"x");
        write(&root.join("done").join("old.txt"), b"x");
        write(&root.join("results").join("r.json"), b"{}");
        write(
            &root.join("archive").join("ab").join("cd").join("abcd"),
            b"x",
        );
        let plugin = provider(
            root,
            json!({
                "post_processing": "move",
                "move_dir": root.join("done").to_str().unwrap(),
                "results_dir": root.join("results").to_str().unwrap(),
                "archive_dir": root.join("archive").to_str().unwrap(),
            }),
        );
        assert_eq!(plugin.ingest().unwrap(), [item(root, "in.txt", b"x")]);
    }

    #[test]
    fn files_over_max_size_are_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("big"), b"0123456789");
        write(&tmp.path().join("small"), b"0123");
        let plugin = provider(tmp.path(), json!({"max_size": 4}));
        assert_eq!(
            plugin.ingest().unwrap(),
            [item(tmp.path(), "small", b"0123")]
        );
    }

    #[test]
    fn post_processing_happens_only_when_done() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a.txt");
        write(&file, b"a");
        let plugin = provider(tmp.path(), json!({"post_processing": "Delete"}));
        let a = id(tmp.path(), "a.txt");

        assert_eq!(plugin.ingest().unwrap(), [item(tmp.path(), "a.txt", b"a")]);
        let failed = ItemOutcome::new(&a, ItemStatus::Failed).with_error("connector failed");
        plugin.outcome(&failed).unwrap();
        assert!(file.exists());

        // Failed: offered again.
        assert_eq!(plugin.ingest().unwrap().len(), 1);
        let returned = ItemOutcome::new(&a, ItemStatus::Returned).with_error("shutdown");
        plugin.outcome(&returned).unwrap();
        assert!(file.exists());

        // An outcome for an id filedir does not track (any more) touches nothing.
        plugin
            .outcome(&ItemOutcome::new(&a, ItemStatus::Done))
            .unwrap();
        assert!(file.exists());

        assert_eq!(plugin.ingest().unwrap().len(), 1);
        plugin
            .outcome(&ItemOutcome::new(&a, ItemStatus::Done))
            .unwrap();
        assert!(!file.exists());
        assert_eq!(plugin.ingest().unwrap(), []);
    }

    #[test]
    fn move_keeps_the_relative_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        let done = tmp.path().join("done");
        write(&root.join("sub").join("b.txt"), b"b");
        let plugin = provider(
            &root,
            json!({"post_processing": "move", "move_dir": done.to_str().unwrap()}),
        );
        assert_eq!(plugin.ingest().unwrap(), [item(&root, "sub/b.txt", b"b")]);
        let outcome = ItemOutcome::new(id(&root, "sub/b.txt"), ItemStatus::Done);
        plugin.outcome(&outcome).unwrap();
        assert!(!root.join("sub").join("b.txt").exists());
        assert_eq!(std::fs::read(done.join("sub").join("b.txt")).unwrap(), b"b");
    }

    thread_local! {
        /// The warnings logged on this thread while [`capture_warnings`] runs.
        static WARNINGS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    /// The test binary's subscriber: keeps the messages of warnings (and errors) logged on a
    /// thread that is in [`capture_warnings`]. One global subscriber, not one per thread
    /// (`with_default`): `tracing` caches per call site whether anyone listens, which other
    /// tests' threads would otherwise decide.
    struct Capture;

    impl tracing::Subscriber for Capture {
        fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
            *metadata.level() <= tracing::Level::WARN
        }

        fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }

        fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

        fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

        fn event(&self, event: &tracing::Event<'_>) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            WARNINGS.with(|w| {
                if let Some(warnings) = w.borrow_mut().as_mut() {
                    warnings.push(message.0);
                }
            });
        }

        fn enter(&self, _span: &tracing::span::Id) {}

        fn exit(&self, _span: &tracing::span::Id) {}
    }

    /// Runs `f`, returning what it returns and the warnings it logged on this thread.
    fn capture_warnings<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            tracing::subscriber::set_global_default(Capture).expect("the only subscriber");
        });
        WARNINGS.with(|w| *w.borrow_mut() = Some(Vec::new()));
        let outcome = f();
        let warnings = WARNINGS.with(|w| w.borrow_mut().take()).unwrap_or_default();
        (outcome, warnings)
    }

    /// One watching `ingest` (on a thread of its own, as the host runs it): runs `during`
    /// meanwhile, then ends it the only way the host can, by refusing a put. So that
    /// the refusal comes after the items the test waits for, it writes pairs of stop files
    /// (sorted after every other name) until `ingest` returns. Returns the harness, the
    /// items put before the stop files, and the warnings logged.
    fn watch(
        plugin: PluginTest<FileDir>,
        root: &Path,
        expected: usize,
        during: impl FnOnce(),
    ) -> (PluginTest<FileDir>, Vec<IngestItem>, Vec<String>) {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let ingest = std::thread::spawn(move || {
            let (items, warnings) = capture_warnings(|| plugin.ingest_at_most(expected + 1));
            (plugin, items, warnings)
        });
        during();
        let mut stops = Vec::new();
        // The first stop file is taken (item `expected + 1`), the second refused.
        for round in 0..expected + 3 {
            for k in 0..2 {
                let stop = root.join(format!("~stop-{run}-{round}-{k}"));
                write(&stop, b"");
                stops.push(stop);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while !ingest.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if ingest.is_finished() {
                break;
            }
        }
        assert!(ingest.is_finished(), "ingest never returned");
        let (plugin, items, warnings) = ingest.join().unwrap();
        for stop in stops {
            std::fs::remove_file(stop).unwrap();
        }
        let items = items
            .unwrap()
            .into_iter()
            .filter(|item| !item.id().unwrap().contains("~stop-"))
            .collect();
        (plugin, items, warnings)
    }

    #[test]
    fn watching_puts_each_file_once_until_it_comes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("a"), b"a");
        let plugin = provider(root, json!({"watch": true, "poll_interval": 0.05}));

        // The first pass puts what is there at once.
        let (plugin, items, _) = watch(plugin, root, 1, || {});
        assert_eq!(items, [item(root, "a", b"a")]);
        // In flight: not put again.
        let (plugin, items, _) = watch(plugin, root, 0, || {});
        assert_eq!(items, []);

        // Done and kept: never again. Failed: offered again.
        plugin
            .outcome(&ItemOutcome::new(id(root, "a"), ItemStatus::Done))
            .unwrap();
        write(&root.join("b"), b"b");
        let (plugin, items, _) = watch(plugin, root, 1, || {});
        assert_eq!(items, [item(root, "b", b"b")]);
        plugin
            .outcome(&ItemOutcome::new(id(root, "b"), ItemStatus::Failed))
            .unwrap();
        let (plugin, items, _) = watch(plugin, root, 1, || {});
        assert_eq!(items, [item(root, "b", b"b")]);
        plugin
            .outcome(&ItemOutcome::new(id(root, "b"), ItemStatus::Done))
            .unwrap();
        assert!(root.join("a").exists() && root.join("b").exists());

        // A finished file that disappears and comes back is a new file.
        std::fs::remove_file(root.join("a")).unwrap();
        let (plugin, items, _) = watch(plugin, root, 0, || {});
        assert_eq!(items, []);
        write(&root.join("a"), b"a again");
        let (_, items, _) = watch(plugin, root, 1, || {});
        assert_eq!(items, [item(root, "a", b"a again")]);
    }

    #[test]
    fn watching_puts_a_new_file_once_it_stopped_changing() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        let done = tmp.path().join("done");
        std::fs::create_dir(&root).unwrap();
        // `move` only so that the test sees when ingest starts: it creates move_dir first.
        let plugin = provider(
            &root,
            json!({
                "watch": true,
                "poll_interval": 0.2,
                "post_processing": "move",
                "move_dir": done.to_str().unwrap(),
            }),
        );
        let file = root.join("growing");
        let (_, items, _) = watch(plugin, &root, 1, || {
            while !done.exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Past the first pass, which puts what it finds at once.
            std::thread::sleep(Duration::from_millis(100));
            // Still being written (a different size at every poll) for several polls.
            let start = Instant::now();
            let mut content = Vec::new();
            while start.elapsed() < Duration::from_millis(1000) {
                content.push(b'x');
                write(&file, &content);
                std::thread::sleep(Duration::from_millis(2));
            }
            write(&file, b"final content");
        });
        assert_eq!(items, [item(&root, "growing", b"final content")]);
    }

    #[test]
    fn a_file_over_max_size_is_warned_about_once_while_it_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(&root.join("big"), b"0123456789");
        write(&root.join("small"), b"0123");
        let plugin = provider(
            root,
            json!({"watch": true, "poll_interval": 0.02, "max_size": 4}),
        );
        let (_, items, warnings) = watch(plugin, root, 1, || {
            // Some ten polls.
            std::thread::sleep(Duration::from_millis(200));
        });
        assert_eq!(items, [item(root, "small", b"0123")]);
        let about_big: Vec<&String> = warnings.iter().filter(|w| w.contains("big")).collect();
        assert_eq!(about_big.len(), 1, "{warnings:?}");
        assert!(
            about_big[0].contains("more than max_size 4"),
            "{warnings:?}"
        );
    }
}
