//! Option values and the files and flags they come from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// Option values of one plugin, by key.
pub type Options = Map<String, Value>;

/// A bad configuration file or flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A `--plugin-opts` item is not `NAME:KEY=VALUE`.
    #[error("invalid --plugin-opts `{0}`: expected NAME:KEY=VALUE")]
    PluginOpt(String),
    /// The config file cannot be read or parsed.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line when known.
        message: String,
    },
}

fn toml_to_json(value: toml::Value) -> Value {
    // TOML values always have a JSON form (datetimes become strings).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Parses the TOML file beside a plugin library, by plugin name: an `[options]` table for
/// every plugin of the library, and a `[NAME]` table per plugin (for a library holding
/// several), whose keys win.
pub fn parse_plugin_file(
    text: &str,
    plugins: &[&str],
) -> Result<BTreeMap<String, Options>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let to_options = |key: &str, value: toml::Value| -> Result<Options, String> {
        match value {
            toml::Value::Table(t) => Ok(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
            _ => Err(format!("`{key}` must be a table ([{key}])")),
        }
    };
    let mut shared = Options::new();
    let mut own = BTreeMap::new();
    for (key, value) in table {
        if key == "options" {
            shared = to_options(&key, value)?;
        } else if plugins.contains(&key.as_str()) {
            own.insert(key.clone(), to_options(&key, value)?);
        } else {
            return Err(format!(
                "unknown table `{key}`: expected [options] or a table named after a plugin of the library ({})",
                plugins.join(", ")
            ));
        }
    }
    Ok(plugins
        .iter()
        .map(|name| {
            let mut options = shared.clone();
            options.extend(own.get(*name).cloned().unwrap_or_default());
            ((*name).to_owned(), options)
        })
        .collect())
}

/// Parses `--plugin-opts` items (`NAME:KEY=VALUE`) into options by plugin name. Values stay
/// strings; the plugin's typed getters convert them.
pub fn parse_plugin_opts(items: &[String]) -> Result<BTreeMap<String, Options>, ConfigError> {
    let mut out: BTreeMap<String, Options> = BTreeMap::new();
    for item in items {
        let (name, rest) = item
            .split_once(':')
            .ok_or_else(|| ConfigError::PluginOpt(item.clone()))?;
        let (key, value) = rest
            .split_once('=')
            .ok_or_else(|| ConfigError::PluginOpt(item.clone()))?;
        if name.trim().is_empty() || key.trim().is_empty() {
            return Err(ConfigError::PluginOpt(item.clone()));
        }
        out.entry(name.trim().to_owned())
            .or_default()
            .insert(key.trim().to_owned(), Value::String(value.to_owned()));
    }
    Ok(out)
}

/// The `[core]` section of the global config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreConfig {
    /// Plugin directories, searched after `--plugin-dir` and `STOQ_PLUGIN_DIR`. Relative paths
    /// are relative to the config file.
    pub plugin_dirs: Vec<PathBuf>,
    /// Workers for every payload.
    pub always_dispatch: Vec<String>,
    /// Dispatcher plugins.
    pub dispatchers: Vec<String>,
    /// Destination archivers.
    pub dest_archivers: Vec<String>,
    /// Decorators.
    pub decorators: Vec<String>,
    /// Connectors.
    pub connectors: Vec<String>,
    /// Maximum extraction depth.
    pub max_recursion: Option<u32>,
    /// Maximum depth of a `required_workers` chain.
    pub max_required_worker_depth: Option<u32>,
    /// Worker threads.
    pub jobs: Option<usize>,
    /// Seconds one request may take.
    pub timeout: Option<f64>,
    /// Seconds one plugin call may take by default.
    pub worker_timeout: Option<f64>,
    /// Largest payload scanned or kept, in bytes.
    pub max_payload_size: Option<u64>,
    /// Most extracted payloads per request.
    pub max_extracted_payloads: Option<usize>,
    /// Most extracted bytes per request.
    pub max_extracted_bytes: Option<u64>,
}

/// The global config file: `[core]` settings and one `[NAME]` table of options per plugin.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// The `[core]` section.
    pub core: CoreConfig,
    /// Options by plugin name.
    pub plugin_options: BTreeMap<String, Options>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut config = Self::parse(&text).map_err(err)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for dir in &mut config.core.plugin_dirs {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        Ok(config)
    }

    /// Parses the text of a config file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let core = match table.remove("core") {
            Some(value) => CoreConfig::deserialize(value).map_err(|e| format!("[core]: {e}"))?,
            None => CoreConfig::default(),
        };
        let mut plugin_options = BTreeMap::new();
        for (name, value) in table {
            let toml::Value::Table(options) = value else {
                return Err(format!(
                    "`{name}` must be a table of plugin options ([{name}]), or go in [core]"
                ));
            };
            plugin_options.insert(
                name,
                options
                    .into_iter()
                    .map(|(k, v)| (k, toml_to_json(v)))
                    .collect(),
            );
        }
        Ok(Self {
            core,
            plugin_options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_opts_split_at_first_colon_and_equals() {
        let opts = parse_plugin_opts(&["yara:rules=a:b=c".into(), "hash:sha512=true".into()])
            .expect("valid");
        assert_eq!(opts["yara"]["rules"], "a:b=c");
        assert_eq!(opts["hash"]["sha512"], "true");
        assert!(parse_plugin_opts(&["nokey".into()]).is_err());
        assert!(parse_plugin_opts(&[":k=v".into()]).is_err());
    }

    #[test]
    fn config_file_has_core_and_plugin_sections() {
        let c = ConfigFile::parse(
            "[core]\nmax_recursion = 3\nalways_dispatch = [\"hash\"]\n[hash]\nsha512 = true\n",
        )
        .expect("valid");
        assert_eq!(c.core.max_recursion, Some(3));
        assert_eq!(c.plugin_options["hash"]["sha512"], true);
        let err = ConfigFile::parse("[core]\nmax_recursoin = 3\n").expect_err("typo");
        assert!(err.contains("max_recursoin"), "{err}");
        let err = ConfigFile::parse("[core\n").expect_err("syntax");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn plugin_file_keeps_options_and_rejects_stray_keys() {
        let options = parse_plugin_file("[options]\nsha512 = true\n", &["hash"]).expect("valid");
        assert_eq!(options["hash"]["sha512"], true);
        assert!(parse_plugin_file("sha512 = true\n", &["hash"]).is_err());
        let err = parse_plugin_file("[hsah]\nx = 1\n", &["hash"]).expect_err("unknown table");
        assert!(err.contains("unknown table `hsah`"), "{err}");
    }

    #[test]
    fn a_plugin_file_may_hold_tables_per_plugin() {
        let text = "[options]\nshared = 1\n[worker_b]\nshared = 2\nown = true\n";
        let options = parse_plugin_file(text, &["worker_a", "worker_b"]).expect("valid");
        assert_eq!(
            Value::Object(options["worker_a"].clone()),
            serde_json::json!({"shared": 1})
        );
        assert_eq!(
            Value::Object(options["worker_b"].clone()),
            serde_json::json!({"shared": 2, "own": true})
        );
    }
}
