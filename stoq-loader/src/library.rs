//! Opening and checking one plugin library.

use std::fmt;
use std::path::{Path, PathBuf};

use abi_stable::library::{LibraryError, RootModule, lib_header_from_path};
use abi_stable::std_types::RStr;
use serde_json::{Map, Value};
use stoq_plugin_abi::ffi::{self, HostApi, LogRecord, PluginModuleRef};
use stoq_plugin_abi::wire::{InstanceConfig, InstanceFacts, Manifest, PluginManifest};

use crate::elf;
use crate::instance::{CallError, CallErrorKind, Instance, into_result};

/// Why a library could not be loaded as a plugin. The `Display` form is one short line; the
/// full abi_stable report (often hundreds of lines) is in [`LoadError::detail`].
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The library file.
    pub path: PathBuf,
    /// What went wrong, in one line.
    pub reason: String,
    /// Everything abi_stable said, for debug logs.
    pub detail: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// A loaded, checked plugin library: one or more plugins.
pub struct Library {
    path: PathBuf,
    module: PluginModuleRef,
    manifest: Manifest,
}

/// Checks a manifest the library returned: at least one plugin, valid and distinct names.
fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    if manifest.plugins.is_empty() {
        return Err("the library's manifest lists no plugin".to_owned());
    }
    let mut names: Vec<&str> = Vec::new();
    for plugin in &manifest.plugins {
        if !valid_name(&plugin.name) {
            return Err(format!(
                "invalid plugin name {:?}: use letters, digits, `_`, `-` and `.`",
                plugin.name
            ));
        }
        if names.contains(&plugin.name.as_str()) {
            return Err(format!(
                "two plugins of the library are named `{}`",
                plugin.name
            ));
        }
        names.push(&plugin.name);
    }
    Ok(())
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

/// Reduces an abi_stable layout report (often hundreds of lines) to one line: where the first
/// difference is, what it is, and what was expected and found, e.g. ``in
/// `PluginModule.manifest` (return type): mismatched type: expected RString, found RVec``.
fn summarize_layout_error(report: &str) -> String {
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("Error:")) else {
        return lines.first().copied().unwrap_or("").to_owned();
    };
    let what = lines[at].trim_start_matches("Error:").trim();
    // `Expected:`/`Found:` carry their value on the same line or the next one.
    let value = |label: &str| -> Option<String> {
        let i = at + lines[at..].iter().position(|l| l.starts_with(label))?;
        let inline = lines[i].trim_start_matches(label).trim();
        let value = if inline.is_empty() {
            *lines.get(i + 1)?
        } else {
            inline
        };
        Some(value.to_owned())
    };
    // The path to the difference: the field names listed after the last "error(s)inside:"
    // before the error, up to the nested layouts that follow.
    let inside = lines[..at]
        .iter()
        .rposition(|l| l.ends_with("error(s)inside:"))
        .map_or(0, |i| i + 1);
    let mut root = None;
    let mut path = Vec::new();
    let mut returns = false;
    for line in lines[inside..at]
        .iter()
        .take_while(|l| !l.starts_with("Layout of"))
    {
        if let Some(ty) = line.strip_prefix("type:") {
            root.get_or_insert(ty);
        } else if let Some(field) = line.strip_prefix("field_name:") {
            match field {
                "0" => {}
                "__returns" => returns = true,
                field => path.push(field),
            }
        }
    }
    let mut out = String::new();
    if let Some(root) = root {
        out.push_str(&format!(
            "in `{}`",
            std::iter::once(root)
                .chain(path)
                .collect::<Vec<_>>()
                .join(".")
        ));
        if returns {
            out.push_str(" (return type)");
        }
        out.push_str(": ");
    }
    out.push_str(what);
    match (value("Expected:"), value("Found:")) {
        (Some(expected), Some(found)) => {
            out.push_str(&format!(": expected {expected}, found {found}"))
        }
        (Some(expected), None) => out.push_str(&format!(": expected {expected}")),
        _ => {}
    }
    out
}

fn version_major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

impl Library {
    /// Opens `path`, checks that it is a stoq plugin built against ABI major
    /// [`ABI_MAJOR`](stoq_plugin_abi::ABI_MAJOR) with a matching layout, and reads its manifest.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let fail = |reason: String, detail: String| LoadError {
            path: path.to_owned(),
            reason,
            detail,
        };
        elf::check(path).map_err(|reason| fail(reason, String::new()))?;
        let header = lib_header_from_path(path).map_err(|e| {
            let detail = e.to_string();
            let reason = match &e {
                LibraryError::OpenError { err, .. } => {
                    format!("cannot be opened as a dynamic library: {err}")
                }
                LibraryError::GetSymbolError { .. } => {
                    "not a stoq plugin: the library does not export the stoq plugin entry symbol"
                        .to_owned()
                }
                LibraryError::InvalidAbiHeader(_) => {
                    "built with an incompatible version of abi_stable".to_owned()
                }
                _ => summarize_layout_error(&detail),
            };
            fail(reason, detail)
        })?;

        // Check the ABI major ourselves before running any of the plugin's code, for a clearer
        // message than abi_stable's.
        let theirs = header.version_strings().version.as_str();
        let ours = PluginModuleRef::VERSION_STRINGS.version.as_str();
        if version_major(theirs) != version_major(ours) {
            return Err(fail(
                format!(
                    "built against stoq-plugin-abi {} (ABI {}), but this stoq supports ABI {}.x; rebuild the plugin against stoq-plugin-abi {}",
                    theirs,
                    version_major(theirs).map_or("?".to_owned(), |m| m.to_string()),
                    stoq_plugin_abi::ABI_MAJOR,
                    stoq_plugin_abi::ABI_MAJOR,
                ),
                String::new(),
            ));
        }

        let module = header.init_root_module::<PluginModuleRef>().map_err(|e| {
            let detail = e.to_string();
            let reason = match &e {
                LibraryError::AbiInstability(_) => format!(
                    "incompatible plugin ABI (built against stoq-plugin-abi {}): {}",
                    theirs,
                    summarize_layout_error(&detail)
                ),
                LibraryError::IncompatibleVersionNumber {
                    expected_version,
                    actual_version,
                    ..
                } => format!(
                    "built against stoq-plugin-abi {actual_version}, this stoq needs {expected_version}"
                ),
                _ => summarize_layout_error(&detail),
            };
            fail(reason, detail)
        })?;

        let json = (module.manifest())();
        let manifest: Manifest = serde_json::from_str(json.as_str())
            .map_err(|e| fail(format!("invalid plugin manifest: {e}"), json.to_string()))?;
        check_manifest(&manifest).map_err(|reason| fail(reason, json.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            module,
            manifest,
        })
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The library's manifest: its plugins.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest of one of its plugins.
    pub fn plugin(&self, name: &str) -> Option<&PluginManifest> {
        self.manifest.plugins.iter().find(|p| p.name == name)
    }

    /// Runs the config hook of plugin `plugin` of this library with its merged options.
    pub fn instantiate(
        &self,
        plugin: &str,
        options: &Map<String, Value>,
    ) -> Result<Instance, CallError> {
        let config = serde_json::to_string(&InstanceConfig::new(plugin, options.clone()))
            .unwrap_or_default();
        let host = HostApi {
            log: host_log,
            max_level: current_max_level(),
        };
        let created = (self.module.instantiate())(RStr::from(config.as_str()), host);
        let created = into_result(created)?;
        let info: InstanceFacts =
            serde_json::from_str(created.info.as_str()).map_err(|e| CallError {
                kind: CallErrorKind::Failed,
                message: format!("invalid instance facts from the plugin: {e}"),
            })?;
        Ok(Instance::new(
            created.instance,
            info.required_workers,
            info.unused_options,
        ))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn current_max_level() -> u8 {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => ffi::LEVEL_ERROR,
        LevelFilter::WARN => ffi::LEVEL_WARN,
        LevelFilter::INFO => ffi::LEVEL_INFO,
        LevelFilter::DEBUG => ffi::LEVEL_DEBUG,
        _ => ffi::LEVEL_TRACE,
    }
}

/// Re-emits a plugin's log event in the host's `tracing` subscriber, target `stoq::plugin`.
extern "C" fn host_log(record: LogRecord<'_>) {
    let plugin = record.plugin.as_str();
    let target = record.target.as_str();
    let message = record.message.as_str();
    match record.level {
        ffi::LEVEL_ERROR => {
            tracing::error!(target: "stoq::plugin", plugin, plugin_target = target, "{message}")
        }
        ffi::LEVEL_WARN => {
            tracing::warn!(target: "stoq::plugin", plugin, plugin_target = target, "{message}")
        }
        ffi::LEVEL_INFO => {
            tracing::info!(target: "stoq::plugin", plugin, plugin_target = target, "{message}")
        }
        ffi::LEVEL_DEBUG => {
            tracing::debug!(target: "stoq::plugin", plugin, plugin_target = target, "{message}")
        }
        _ => tracing::trace!(target: "stoq::plugin", plugin, plugin_target = target, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn layout_reports_shrink_to_one_line() {
        // Trimmed from a real report: a plugin whose `manifest` returns RVec instead of RString.
        let report = "
1 error(s)inside:
    <other>
    field_name:0
    type:PluginModule
    size:16 align:8
    field_name:manifest
    type:AFunctionPointer
    fn pointer(s):
        fn()->RVec
    field_name:__returns
    type:RVec
Layout of expected type:
    --- Type Layout ---
    type:RString
    field_name:inner
Error:mismatched type
Expected:
    RString
Found:
    RVec
3 error(s)inside:
Error:too many fields
";
        assert_eq!(
            super::summarize_layout_error(report),
            "in `PluginModule.manifest` (return type): mismatched type: expected RString, found RVec"
        );
        assert_eq!(
            super::summarize_layout_error("Error:too many fields\nExpected: 11\nFound: 10"),
            "too many fields: expected 11, found 10"
        );
    }
}
