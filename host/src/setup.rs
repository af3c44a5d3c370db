//! Turning flags, environment and config files into a registry and engine settings.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use stoq_core::{ConfigFile, OptionLayers, Registry};
use tracing_subscriber::EnvFilter;

use crate::cli::PluginSource;

/// Logs go to stderr: warnings by default, more with `-v`; `RUST_LOG` overrides.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The global config file, if one was given.
pub fn config_file(source: &PluginSource) -> Result<ConfigFile> {
    match &source.config_file {
        Some(path) => Ok(ConfigFile::load(path)?),
        None => Ok(ConfigFile::default()),
    }
}

/// Plugin directories in search order (see `stoq --help`), without repeats.
pub fn plugin_dirs(source: &PluginSource, config: &ConfigFile) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = source.plugin_dirs.clone();
    if let Some(env) = std::env::var_os("STOQ_PLUGIN_DIR") {
        dirs.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(config.core.plugin_dirs.iter().cloned());
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent().map(|p| p.join("plugins")))
        && exe_dir.is_dir()
    {
        dirs.push(exe_dir);
    }
    let mut seen = HashSet::new();
    dirs.retain(|dir| seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone())));
    dirs
}

/// Loads every plugin, with options from the config file and `--plugin-opts`.
pub fn registry(source: &PluginSource, config: &ConfigFile) -> Result<Registry> {
    let cli = stoq_core::options::parse_plugin_opts(&source.plugin_opts)?;
    let cli_names: Vec<String> = cli.keys().cloned().collect();
    let layers = OptionLayers {
        config_path: source.config_file.clone(),
        config: config.plugin_options.clone(),
        command_line: cli,
    };
    let dirs = plugin_dirs(source, config);
    tracing::debug!(?dirs, "plugin directories");
    #[cfg(unix)]
    let preflight = crate::preflight::ProcessPreflight::new();
    #[cfg(unix)]
    let preflight = preflight.as_ref().map(|p| p as &dyn stoq_core::Preflight);
    #[cfg(not(unix))]
    let preflight = None;
    let mut registry = Registry::discover_with(&dirs, layers, preflight);
    if let Ok(exe) = std::env::current_exe() {
        registry.set_isolation_helper(exe);
    }
    let known = |name: &str| registry.plugins().any(|(n, _)| n == name);
    for name in config.plugin_options.keys().filter(|n| !known(n)) {
        let file = source
            .config_file
            .as_ref()
            .map_or_else(|| "the config file".to_owned(), |p| p.display().to_string());
        tracing::warn!("{file}: section [{name}] names no loaded plugin; its options are ignored");
    }
    for name in cli_names.iter().filter(|n| !known(n)) {
        tracing::warn!("--plugin-opts {name}:...: no loaded plugin is called `{name}`; ignored");
    }
    Ok(registry)
}

/// Reports what is wrong with the loaded plugins' options: warnings for unknown keys (with
/// the closest declared name), an error naming plugin, key and source for every bad value.
pub fn check_options(registry: &Registry) -> Result<()> {
    let mut errors = Vec::new();
    for problem in registry.option_problems() {
        if problem.is_error() {
            errors.push(problem.to_string());
        } else {
            tracing::warn!("{problem}");
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("\n  "));
    }
    Ok(())
}

/// Parses `--request-extra KEY=VALUE` items.
pub fn request_extra(items: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    items
        .iter()
        .map(|item| {
            let (key, value) = item
                .split_once('=')
                .with_context(|| format!("invalid --request-extra `{item}`: expected KEY=VALUE"))?;
            let value = match value.to_ascii_lowercase().as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                _ => serde_json::Value::String(value.to_owned()),
            };
            Ok((key.to_owned(), value))
        })
        .collect()
}
