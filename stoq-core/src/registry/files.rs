//! Finding library files in plugin directories, and opening one in this process.

use std::fs;
use std::path::{Path, PathBuf};

use stoq_loader::Library;

/// Opens a library file in this process.
pub(super) fn open(path: &Path) -> Result<Library, String> {
    Library::load(path).map_err(|e| {
        if !e.detail.is_empty() {
            tracing::debug!(path = %path.display(), "full loader report:\n{}", e.detail);
        }
        e.reason
    })
}

/// Is `path` a shared library by its file name on this platform?
fn is_library(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some(std::env::consts::DLL_EXTENSION)
}

/// Library files in `dir` and in its immediate subdirectories (a plugin may sit in its own
/// folder with its TOML file), sorted by path.
pub(super) fn library_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if let Ok(inner) = fs::read_dir(&path) {
                files.extend(
                    inner
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file() && is_library(p)),
                );
            }
        } else if is_library(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
