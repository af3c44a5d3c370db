//! Finding, loading and configuring plugins.
//!
//! Every library file in the plugin directories is loaded and checked; a file that is not a
//! valid plugin becomes a [`LoadFailure`] naming the file and the reason, and the others load
//! regardless. A plugin is instantiated (its config hook runs) the first time it is needed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use stoq_loader::{Library, Manifest, PluginManifest, Role, running};

#[cfg(test)]
mod fakes;
mod files;

use crate::checked::{self, OptionLayers, OptionProblem, OptionSource};
pub use crate::error::PluginError;
use crate::options::{self, Options};
use crate::plugin::{Imp, PluginHandle};
use crate::timeout::WorkerTimeout;
use files::{library_files, open};

/// A file that was not loaded as a plugin, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The file (or directory) concerned.
    pub path: PathBuf,
    /// Why, in one line.
    pub reason: String,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// A check of library files before they are loaded into this process: opening a library runs
/// its code, and a corrupt or hostile one can crash the process in the system loader, before
/// any check of ours. The `stoq` binary opens each new file in a child process first.
pub trait Preflight {
    /// One verdict per path, in order.
    fn check(&self, paths: &[PathBuf]) -> Vec<Verdict>;
}

/// What a [`Preflight`] says about one library file.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// It may be opened in this process.
    Open,
    /// It may be opened, and this is its manifest (read safely elsewhere, e.g. cached from a
    /// probe): the library is opened only when the plugin is first used, so a run opens only
    /// the plugins it needs.
    Known(Box<Manifest>),
    /// Opening it fails with this reason (known without opening it here).
    Fails(String),
    /// It must not be opened in this process, for this reason.
    Rejected(String),
}

/// One library file, shared by the plugins it holds.
struct LibraryFile {
    path: PathBuf,
    manifest: Manifest,
    /// Opened on first use when the manifest came from a preflight.
    library: OnceLock<Result<Library, String>>,
}

impl LibraryFile {
    fn library(&self) -> Result<&Library, String> {
        self.library
            .get_or_init(|| {
                let library = open(&self.path)?;
                if *library.manifest() != self.manifest {
                    return Err(format!(
                        "{} changed since its manifest was read; run again",
                        self.path.display()
                    ));
                }
                Ok(library)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One discovered plugin.
pub struct PluginEntry {
    manifest: PluginManifest,
    file: Arc<LibraryFile>,
    /// Options from the TOML file beside the library.
    file_options: Options,
    /// Every layer merged, checked against the declarations (set by the registry).
    options: Options,
    instance: OnceLock<Result<Arc<PluginHandle>, PluginError>>,
    /// Starts a fake plugin instead of opening a library (tests).
    #[cfg(test)]
    fake: Option<crate::fake::Make>,
}

impl PluginEntry {
    /// The plugin's manifest.
    pub fn manifest(&self) -> &PluginManifest {
        &self.manifest
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The ABI version the library was built against.
    pub fn abi_version(&self) -> &str {
        &self.file.manifest.abi_version
    }

    /// The other plugins of the same library, if it holds several.
    pub fn siblings(&self) -> impl Iterator<Item = &str> {
        self.file
            .manifest
            .plugins
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| *name != self.manifest.name)
    }

    /// The opened library (opened now, if it was not yet).
    pub fn library(&self) -> Result<&Library, String> {
        self.file.library()
    }

    /// Whether the plugin has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.manifest().roles.contains(&role)
    }
}

/// Every plugin found, by name, plus every file that failed to load.
pub struct Registry {
    plugins: BTreeMap<String, PluginEntry>,
    failures: Vec<LoadFailure>,
    /// Options from the global config file and the command line, by plugin name.
    layers: OptionLayers,
    /// What is wrong with the plugins' options, found when they were loaded.
    option_problems: Vec<OptionProblem>,
    /// The executable that serves `plugin-host` for plugins with `isolation = "process"`.
    isolation_helper: Option<PathBuf>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self {
            plugins: BTreeMap::new(),
            failures: Vec::new(),
            layers: OptionLayers::default(),
            option_problems: Vec::new(),
            isolation_helper: None,
        }
    }

    /// Loads every plugin library found in `dirs`, in order: when two libraries carry the same
    /// plugin name, the first one found wins and the other is reported. `layers` are option
    /// values by plugin name (config file, command line) that take precedence over the
    /// plugin's own TOML file and its declared defaults.
    pub fn discover(dirs: &[PathBuf], layers: OptionLayers) -> Self {
        Self::discover_with(dirs, layers, None)
    }

    /// Like [`discover`](Self::discover), but asks `preflight` about every library file before
    /// loading it into this process; a file it rejects is reported and never opened here.
    pub fn discover_with(
        dirs: &[PathBuf],
        layers: OptionLayers,
        preflight: Option<&dyn Preflight>,
    ) -> Self {
        let mut registry = Self {
            layers,
            ..Self::empty()
        };
        let mut files = Vec::new();
        for dir in dirs {
            match library_files(dir) {
                Ok(found) => files.extend(found),
                Err(e) => registry.failures.push(LoadFailure {
                    path: dir.clone(),
                    reason: format!("cannot read plugin directory: {e}"),
                }),
            }
        }
        let verdicts = match preflight {
            Some(preflight) => preflight.check(&files),
            None => vec![Verdict::Open; files.len()],
        };
        for (file, verdict) in files.iter().zip(verdicts) {
            match verdict {
                Verdict::Open => registry.load_file(file),
                Verdict::Known(manifest) => registry.add(file, *manifest, None),
                Verdict::Fails(reason) | Verdict::Rejected(reason) => {
                    tracing::warn!(path = %file.display(), "plugin not loaded: {reason}");
                    registry.failures.push(LoadFailure {
                        path: file.clone(),
                        reason,
                    });
                }
            }
        }
        registry.check_options();
        registry
    }

    fn fail(&mut self, path: &Path, reason: String) {
        tracing::warn!(path = %path.display(), "plugin not loaded: {reason}");
        self.failures.push(LoadFailure {
            path: path.to_owned(),
            reason,
        });
    }

    /// Loads one library file into the registry, recording a failure if it is not a usable
    /// plugin.
    pub fn load_file(&mut self, path: &Path) {
        match open(path) {
            Ok(library) => {
                let manifest = library.manifest().clone();
                self.add(path, manifest, Some(library));
            }
            Err(reason) => self.fail(path, reason),
        }
    }

    /// Merges and checks the options of every plugin against its declarations.
    fn check_options(&mut self) {
        let mut problems = Vec::new();
        for (name, entry) in &mut self.plugins {
            let mut layers = vec![(
                OptionSource::PluginFile(entry.file.path.with_extension("toml")),
                &entry.file_options,
            )];
            if let Some(config) = self.layers.config.get(name) {
                layers.push((
                    OptionSource::ConfigFile(self.layers.config_path.clone()),
                    config,
                ));
            }
            if let Some(cli) = self.layers.command_line.get(name) {
                layers.push((OptionSource::CommandLine, cli));
            }
            let (merged, found) = checked::check(name, &entry.manifest.options, &layers);
            entry.options = merged;
            problems.extend(found);
        }
        self.option_problems = problems;
    }

    /// What is wrong with the options of the loaded plugins: bad values and missing required
    /// options ([`OptionProblem::is_error`]), unknown keys and stoQ's `min_stoq_version`
    /// warnings. Found without running any plugin code.
    pub fn option_problems(&self) -> &[OptionProblem] {
        &self.option_problems
    }

    /// Adds the plugins of one library by its manifest; `library` is the opened library, or
    /// `None` to open it on first use.
    fn add(&mut self, path: &Path, manifest: Manifest, library: Option<Library>) {
        let toml_path = path.with_extension("toml");
        let names: Vec<&str> = manifest.plugins.iter().map(|p| p.name.as_str()).collect();
        let file_options = if toml_path.is_file() {
            match fs::read_to_string(&toml_path)
                .map_err(|e| format!("cannot read {}: {e}", toml_path.display()))
                .and_then(|text| {
                    options::parse_plugin_file(&text, &names)
                        .map_err(|e| format!("invalid options file {}: {e}", toml_path.display()))
                }) {
                Ok(options) => options,
                Err(reason) => return self.fail(path, reason),
            }
        } else {
            BTreeMap::new()
        };
        let file = Arc::new(LibraryFile {
            path: path.to_owned(),
            manifest: manifest.clone(),
            library: library.map(|l| OnceLock::from(Ok(l))).unwrap_or_default(),
        });
        for plugin in manifest.plugins {
            let name = plugin.name.clone();
            if let Some(existing) = self.plugins.get(&name) {
                let reason = format!(
                    "duplicate plugin name `{name}`: already loaded from {}; this one is ignored",
                    existing.path().display()
                );
                self.fail(path, reason);
                continue;
            }
            if !plugin.min_stoq_version.is_empty() {
                match checked::compare_versions(crate::VERSION, &plugin.min_stoq_version) {
                    Some(std::cmp::Ordering::Less) => {
                        let reason = format!(
                            "plugin `{name}` needs stoq {} or newer; this is stoq {}",
                            plugin.min_stoq_version,
                            crate::VERSION
                        );
                        self.fail(path, reason);
                        continue;
                    }
                    None => {
                        let reason = format!(
                            "plugin `{name}` declares an invalid min_stoq_version {:?}",
                            plugin.min_stoq_version
                        );
                        self.fail(path, reason);
                        continue;
                    }
                    _ => {}
                }
            }
            tracing::debug!(plugin = %name, path = %path.display(), "plugin loaded");
            self.plugins.insert(
                name.clone(),
                PluginEntry {
                    manifest: plugin,
                    file: Arc::clone(&file),
                    file_options: file_options.get(&name).cloned().unwrap_or_default(),
                    options: Options::new(),
                    instance: OnceLock::new(),
                    #[cfg(test)]
                    fake: None,
                },
            );
        }
    }

    /// Sets the executable that runs isolated plugins (`EXE plugin-host LIBRARY`); the `stoq`
    /// binary sets itself. Without one, plugins with `isolation = "process"` fail to start.
    pub fn set_isolation_helper(&mut self, exe: PathBuf) {
        self.isolation_helper = Some(exe);
    }

    /// Every loaded plugin, by name.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &PluginEntry)> {
        self.plugins.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One plugin by name.
    pub fn get(&self, name: &str) -> Option<&PluginEntry> {
        self.plugins.get(name)
    }

    /// Every file that failed to load.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.failures
    }

    /// The merged options of a plugin: command line, then global config, then the TOML file
    /// beside the library, then the declared defaults; declared options converted to their
    /// types.
    pub fn options(&self, name: &str) -> Option<Map<String, Value>> {
        Some(self.plugins.get(name)?.options.clone())
    }

    /// The required workers a plugin declares (its `required_workers` option, or its
    /// built-in default), without running its config hook.
    pub fn declared_required_workers(&self, name: &str) -> Vec<String> {
        let declared = self
            .options(name)
            .and_then(|o| o.get("required_workers").cloned());
        match declared {
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(other) => serde_json::from_value(other).unwrap_or_default(),
            None => self
                .get(name)
                .map(|e| e.manifest().required_workers.clone())
                .unwrap_or_default(),
        }
    }

    /// Missing required workers and cycles among the loaded plugins, from what they declare;
    /// `only`, when given, limits the report to problems of those plugins.
    pub fn dependency_problems(
        &self,
        only: Option<&std::collections::HashSet<String>>,
    ) -> Vec<PluginError> {
        let graph = self
            .plugins
            .keys()
            .map(|name| {
                let deps = match self.plugins[name].instance.get() {
                    // A started plugin may have changed its required workers in code.
                    Some(Ok(instance)) => instance.required_workers().to_vec(),
                    _ => self.declared_required_workers(name),
                };
                (name.clone(), deps)
            })
            .collect();
        crate::deps::problems(&graph)
            .into_iter()
            .filter(|p| only.is_none_or(|only| only.contains(p.plugin())))
            .collect()
    }

    /// The instance of plugin `name` with `role`, created on first use (isolated plugins time
    /// out after 60 s unless their `timeout` option says otherwise).
    pub fn instance(&self, name: &str, role: Role) -> Result<Arc<PluginHandle>, PluginError> {
        self.instance_with_timeout(name, role, std::time::Duration::from_secs(60))
    }

    /// Plugin `name`'s `timeout` option (seconds), if it has one.
    pub(crate) fn timeout_option(
        &self,
        name: &str,
    ) -> Result<Option<std::time::Duration>, PluginError> {
        match self.options(name).as_ref().and_then(|o| o.get("timeout")) {
            Some(value) => crate::timeout::parse_option(name, value).map(Some),
            None => Ok(None),
        }
    }

    /// The entry of plugin `name` if it has `role`.
    fn entry(&self, name: &str, role: Role) -> Result<&PluginEntry, PluginError> {
        let entry = self
            .plugins
            .get(name)
            .ok_or_else(|| PluginError::NotFound(name.to_owned()))?;
        if !entry.has_role(role) {
            return Err(PluginError::WrongRole {
                name: name.to_owned(),
                role: role.as_str(),
                roles: entry
                    .manifest()
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(entry)
    }

    /// The instance of plugin `name` with `role` if that is known without starting it (it
    /// started before, failed to, or cannot be used); `None` when it still has to be started.
    /// Never runs plugin code, so it may be called under any lock.
    pub(crate) fn try_instance(
        &self,
        name: &str,
        role: Role,
    ) -> Option<Result<Arc<PluginHandle>, PluginError>> {
        match self.entry(name, role) {
            Ok(entry) => entry.instance.get().cloned(),
            Err(e) => Some(Err(e)),
        }
    }

    /// Like [`instance`](Self::instance), with the engine's default timeout for isolated
    /// plugins. Starting a plugin runs its config hook (or starts a helper process): never
    /// call this while holding a request's lock.
    pub(crate) fn instance_with_timeout(
        &self,
        name: &str,
        role: Role,
        default_timeout: std::time::Duration,
    ) -> Result<Arc<PluginHandle>, PluginError> {
        let entry = self.entry(name, role)?;
        entry
            .instance
            .get_or_init(|| {
                let options = self.options(name).unwrap_or_default();
                let _span = tracing::debug_span!("instantiate", plugin = name).entered();
                let fail = |message: String| PluginError::Instantiate {
                    name: name.to_owned(),
                    message,
                };
                let _mark = running::enter(running::intern(name));
                #[cfg(test)]
                if let Some(make) = &entry.fake {
                    return make(&options)
                        .map(|imp| Arc::new(PluginHandle::new(name, imp)))
                        .map_err(fail);
                }
                match options.get("isolation").and_then(Value::as_str).unwrap_or("in-process") {
                    "in-process" => entry
                        .library()
                        .map_err(|reason| fail(format!("cannot open the library: {reason}")))?
                        .instantiate(name, &options)
                        .map(|i| Arc::new(PluginHandle::new(name, Imp::InProcess(i))))
                        .map_err(|e| fail(e.message)),
                    #[cfg(unix)]
                    "process" => {
                        let helper = self.isolation_helper.as_deref().ok_or_else(|| {
                            fail("isolation = \"process\" needs a helper executable (Registry::set_isolation_helper)".into())
                        })?;
                        let timeout = WorkerTimeout::resolve(self.timeout_option(name)?, default_timeout);
                        crate::isolation::ProcessPlugin::start(name, helper, entry.path(), &options, timeout)
                            .map(|p| Arc::new(PluginHandle::new(name, Imp::Process(p))))
                            .map_err(|e| fail(e.message))
                    }
                    other => Err(fail(format!(
                        "option `isolation`: expected \"in-process\" or \"process\", got {other:?}"
                    ))),
                }
            })
            .clone()
    }
}
