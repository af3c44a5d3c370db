//! Opening each new plugin library in a child process before opening it in `stoq` itself.
//!
//! `dlopen` runs a library's initialisers and relocates it before any check of ours can look at
//! it: a corrupt file can crash the system loader (SIGSEGV, or an assertion in `ld.so`), and a
//! hostile one can do anything in its constructors. The child (`stoq probe-plugin FILE`) takes
//! that risk instead; a library that kills or hangs it is reported and never opened here.
//!
//! The probe also reads the library's manifest (or why it fails to load). Verdicts and
//! manifests are cached by file identity (path, size, modification and change times, inode) in
//! `$STOQ_CACHE_DIR`, `$XDG_CACHE_HOME/stoq` or `~/.cache/stoq`, so each library file is probed
//! once, not on every run, and a run opens in-process only the libraries of the plugins it
//! uses (the registry opens a known library on first use).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stoq_core::{Preflight, Verdict};
use stoq_loader::Manifest;

/// How many probe processes run at once.
const PARALLEL: usize = 8;
const CACHE_FILE: &str = "plugin-probes-v3.json";

/// Probes library files in child processes of this executable.
pub struct ProcessPreflight {
    exe: PathBuf,
    cache_dir: Option<PathBuf>,
    timeout: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    identity: Identity,
    /// `None`: safe to open; `Some(reason)`: not.
    rejected: Option<String>,
    /// What the probe read, when it opened the library.
    #[serde(default)]
    found: Option<Found>,
}

/// What a probe that survived saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Found {
    Manifest(Box<Manifest>),
    LoadError(String),
}

impl Entry {
    fn verdict(&self) -> Verdict {
        match (&self.rejected, &self.found) {
            (Some(reason), _) => Verdict::Rejected(reason.clone()),
            (None, Some(Found::Manifest(m))) => Verdict::Known(m.clone()),
            (None, Some(Found::LoadError(reason))) => Verdict::Fails(reason.clone()),
            (None, None) => Verdict::Open,
        }
    }
}

fn identity(path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Identity {
        len: meta.len(),
        modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        changed_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        inode: meta.ino(),
    })
}

/// File times come from a coarse kernel clock (milliseconds), so a file rewritten in place at
/// the same size and inode right after being probed can look unchanged. Like git's "racy"
/// index entries, a file modified in the last [`SETTLE`] is probed but its verdict not cached.
const SETTLE: Duration = Duration::from_secs(2);

fn settled(id: &Identity) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    now - id.modified_ns.max(id.changed_ns) > SETTLE.as_nanos() as i128
}

fn default_cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STOQ_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("stoq")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("stoq")))
}

impl ProcessPreflight {
    /// A preflight that runs the current executable's `probe-plugin` command.
    pub fn new() -> Option<Self> {
        let timeout_ms = std::env::var("STOQ_PROBE_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        Some(Self {
            exe: std::env::current_exe().ok()?,
            cache_dir: default_cache_dir(),
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    fn read_cache(&self) -> BTreeMap<PathBuf, Entry> {
        self.cache_dir
            .as_ref()
            .and_then(|dir| std::fs::read(dir.join(CACHE_FILE)).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the cache atomically (temp file + rename); failures only cost a re-probe later.
    fn write_cache(&self, mut cache: BTreeMap<PathBuf, Entry>) {
        let Some(dir) = &self.cache_dir else { return };
        cache.retain(|path, _| path.exists());
        let Ok(json) = serde_json::to_vec(&cache) else {
            return;
        };
        let tmp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, dir.join(CACHE_FILE)));
        if let Err(e) = written {
            tracing::debug!(dir = %dir.display(), "cannot write the plugin probe cache: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn spawn(&self, path: &Path) -> std::io::Result<Child> {
        Command::new(&self.exe)
            .arg("probe-plugin")
            .arg(path)
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// Waits for one probe: why the library must not be opened (or `None`), and what the
    /// probe read.
    fn verdict(
        &self,
        child: std::io::Result<Child>,
        started: Instant,
    ) -> (Option<String>, Option<Found>) {
        use std::os::unix::process::ExitStatusExt;
        let mut child = match child {
            Ok(child) => child,
            // Not the library's fault: fall back to opening it directly.
            Err(e) => {
                tracing::warn!("cannot start a plugin probe process: {e}");
                return (None, None);
            }
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let mut said = String::new();
                    let mut stderr = String::new();
                    if let Some(mut out) = child.stdout.take() {
                        let _ = out.read_to_string(&mut said);
                    }
                    if let Some(mut err) = child.stderr.take() {
                        let _ = err.read_to_string(&mut stderr);
                    }
                    if status.success()
                        && let Some(found) = said.strip_prefix(PASSED)
                    {
                        return (None, serde_json::from_str(found).ok());
                    }
                    let how = match status.signal() {
                        Some(signal) => format!("was killed by signal {signal}"),
                        None => format!("exited with {status}"),
                    };
                    let detail = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    let detail = if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", detail.trim())
                    };
                    let reason = format!(
                        "a probe process that opened the library {how}{detail}; the library is corrupt, not built for this platform, or hostile"
                    );
                    return (Some(reason), None);
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let reason = format!(
                        "opening the library did not finish within {} ms in a probe process (its initialisers hang)",
                        self.timeout.as_millis()
                    );
                    return (Some(reason), None);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => {
                    tracing::warn!("cannot wait for a plugin probe process: {e}");
                    return (None, None);
                }
            }
        }
    }
}

impl Preflight for ProcessPreflight {
    fn check(&self, paths: &[PathBuf]) -> Vec<Verdict> {
        let mut cache = self.read_cache();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; paths.len()];
        let mut pending = Vec::new();
        // Files of one folder share its canonical path: one `realpath` per folder.
        let mut folders: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
        for (i, path) in paths.iter().enumerate() {
            let mut canonical = |path: &PathBuf| {
                let (parent, name) = (path.parent()?, path.file_name()?);
                let folder = folders
                    .entry(parent.to_owned())
                    .or_insert_with(|| parent.canonicalize().ok())
                    .as_ref()?;
                Some(folder.join(name))
            };
            let key = canonical(path).unwrap_or_else(|| path.clone());
            let id = identity(&key);
            match (cache.get(&key), &id) {
                (Some(entry), Some(id)) if entry.identity == *id => {
                    verdicts[i] = Some(entry.verdict());
                }
                _ => pending.push((i, key, id)),
            }
        }
        let probed = !pending.is_empty();
        for batch in pending.chunks(PARALLEL) {
            let started = Instant::now();
            let children: Vec<_> = batch.iter().map(|(_, key, _)| self.spawn(key)).collect();
            for ((i, key, id), child) in batch.iter().zip(children) {
                let (rejected, found) = self.verdict(child, started);
                tracing::debug!(path = %key.display(), ?rejected, "plugin probed");
                let entry = Entry {
                    identity: id.clone().unwrap_or_default(),
                    rejected,
                    found,
                };
                // Probed this run: a rejection applies; otherwise the library is opened here
                // now (a file that just changed may change again before its first use, and
                // a load error gets its full report).
                verdicts[*i] = Some(match entry.verdict() {
                    Verdict::Known(_) | Verdict::Fails(_) => Verdict::Open,
                    other => other,
                });
                if id.as_ref().is_some_and(settled) {
                    cache.insert(key.clone(), entry);
                }
            }
        }
        if probed {
            self.write_cache(cache);
        }
        verdicts
            .into_iter()
            .map(|v| v.unwrap_or(Verdict::Open))
            .collect()
    }
}

/// What a probe prints when it opened the library and survived.
const PASSED: &str = "stoq-probe-passed\n";

/// `stoq probe-plugin FILE`: open the library the way `stoq` does and say so, with its
/// manifest or why it fails to load. A load error is fine (the host reports it without
/// danger); only crashing, hanging or exiting early is not.
pub fn probe(path: &Path) {
    let found = match stoq_loader::Library::load(path) {
        Ok(library) => Found::Manifest(Box::new(library.manifest().clone())),
        Err(e) => Found::LoadError(e.reason),
    };
    let json = serde_json::to_string(&found).unwrap_or_default();
    #[allow(clippy::print_stdout)]
    {
        print!("{PASSED}{json}");
    }
}
