//! Option values checked against what each plugin declares, layer by layer, before any plugin
//! code runs: a bad value names the plugin, the key and where it came from, and an unknown key
//! is reported with the closest declared name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;
use stoq_plugin_abi::{DeclaredOption, OptionSpec};

use crate::options::Options;

/// Where an option value came from, lowest precedence first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OptionSource {
    /// The default the plugin declares.
    Declared,
    /// The TOML file beside the library.
    PluginFile(PathBuf),
    /// The `[NAME]` section of the global config file (its path when known).
    ConfigFile(Option<PathBuf>),
    /// `--plugin-opts NAME:KEY=VALUE`.
    CommandLine,
}

impl fmt::Display for OptionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Declared => f.write_str("its declared default"),
            Self::PluginFile(path) => write!(f, "{}", path.display()),
            Self::ConfigFile(Some(path)) => write!(f, "{}", path.display()),
            Self::ConfigFile(None) => f.write_str("the config file"),
            Self::CommandLine => f.write_str("--plugin-opts"),
        }
    }
}

/// Options given outside the plugins' own folders: the global config file's `[NAME]`
/// sections and `--plugin-opts`, by plugin name.
#[derive(Debug, Clone, Default)]
pub struct OptionLayers {
    /// The config file, when one was read.
    pub config_path: Option<PathBuf>,
    /// Its `[NAME]` sections.
    pub config: BTreeMap<String, Options>,
    /// `--plugin-opts`.
    pub command_line: BTreeMap<String, Options>,
}

impl From<BTreeMap<String, Options>> for OptionLayers {
    /// Options given on the command line.
    fn from(command_line: BTreeMap<String, Options>) -> Self {
        Self {
            command_line,
            ..Self::default()
        }
    }
}

/// Something wrong with the options of one plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionProblem {
    /// A value does not fit the declared type.
    #[error("plugin `{plugin}`: option `{key}` (from {origin}): {reason}")]
    BadValue {
        /// The plugin.
        plugin: String,
        /// The key.
        key: String,
        /// Where the value came from.
        origin: OptionSource,
        /// What was expected and found.
        reason: String,
    },
    /// A required option is set nowhere.
    #[error("plugin `{plugin}`: option `{key}` is required and not set")]
    Missing {
        /// The plugin.
        plugin: String,
        /// The key.
        key: String,
    },
    /// A key the plugin does not declare (probably a typo).
    #[error("plugin `{plugin}`: option `{key}` (from {origin}) is not an option of the plugin{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        /// The plugin.
        plugin: String,
        /// The key.
        key: String,
        /// Where it was set.
        origin: OptionSource,
        /// The closest declared name, if one is close.
        suggestion: Option<String>,
    },
    /// stoQ's `min_stoq_version` option asks for a newer stoq (stoQ warns and loads anyway).
    #[error(
        "plugin `{plugin}`: option `min_stoq_version` (from {origin}) asks for stoq {wanted}, this is stoq {running}"
    )]
    OlderStoq {
        /// The plugin.
        plugin: String,
        /// The version asked for.
        wanted: String,
        /// This stoq's version.
        running: &'static str,
        /// Where it was set.
        origin: OptionSource,
    },
}

impl OptionProblem {
    /// Whether the plugin cannot start with these options (the others are warnings).
    pub fn is_error(&self) -> bool {
        matches!(self, Self::BadValue { .. } | Self::Missing { .. })
    }
}

/// The options stoq itself reads for every plugin, checked like declared ones.
pub const HOST_OPTIONS: &[OptionSpec] = &[
    OptionSpec::list("required_workers", &[])
        .optional()
        .doc("Workers that must run on a payload before this one"),
    OptionSpec::float("timeout", 0.0)
        .optional()
        .doc("Seconds one call may take (default: --worker-timeout)"),
    OptionSpec::string("isolation", "in-process")
        .doc("\"in-process\", or \"process\" to run the plugin in helper processes"),
    OptionSpec::string("isolation_memory", "")
        .optional()
        .doc("Address-space limit of an isolated plugin's helper, e.g. \"512M\""),
    OptionSpec::string("min_stoq_version", "")
        .optional()
        .doc("stoQ's option: warn when stoq is older than this"),
];

/// Compares dotted versions numerically (`"0.10.0" > "0.9.1"`); a pre-release or build
/// suffix is ignored. `None` when either is not a version.
pub fn compare_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    fn parts(v: &str) -> Option<Vec<u64>> {
        let core = v.trim().split(['-', '+']).next()?;
        let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty() && p.len() <= 4)
    }
    let (mut a, mut b) = (parts(a)?, parts(b)?);
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    Some(a.cmp(&b))
}

/// The edit distance between two keys (Levenshtein, ASCII case-insensitive).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The declared name closest to `key`, if it is close enough to be a typo of it.
pub fn closest<'a>(key: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (key.len() / 3).clamp(1, 3);
    names
        .into_iter()
        .map(|name| (distance(key, name), name))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, name)| name.to_owned())
}

/// The declarations the host checks for one plugin: its own, then stoq's.
pub fn declarations(declared: &[DeclaredOption]) -> Vec<DeclaredOption> {
    let mut all = declared.to_vec();
    all.extend(
        HOST_OPTIONS
            .iter()
            .filter_map(|o| o.declare().ok())
            .filter(|host| !declared.iter().any(|d| d.name == host.name)),
    );
    all
}

/// Checks the layers of one plugin's options (lowest precedence first) against its
/// declarations, and merges them: each declared value converted to its type, declared
/// defaults filled in. Returns the merged options and every problem found.
pub fn check(
    plugin: &str,
    declared: &[DeclaredOption],
    layers: &[(OptionSource, &Options)],
) -> (Options, Vec<OptionProblem>) {
    let all = declarations(declared);
    let mut merged = Options::new();
    let mut problems = Vec::new();
    for option in &all {
        if let Some(default) = &option.default {
            merged.insert(option.name.clone(), default.clone());
        }
    }
    for (source, options) in layers {
        // In key order, whatever serde_json's `preserve_order`: the report reads the same.
        let mut keys: Vec<&String> = options.keys().collect();
        keys.sort();
        for (key, value) in keys.into_iter().map(|k| (k, &options[k])) {
            match all.iter().find(|o| &o.name == key) {
                Some(option) => match option.kind.coerce(value) {
                    Ok(typed) => {
                        merged.insert(key.clone(), typed);
                    }
                    Err(reason) => problems.push(OptionProblem::BadValue {
                        plugin: plugin.to_owned(),
                        key: key.clone(),
                        origin: source.clone(),
                        reason,
                    }),
                },
                None => {
                    // A plugin that declares nothing reads what it likes (its unread keys are
                    // reported after its config hook ran).
                    if !declared.is_empty() {
                        problems.push(OptionProblem::Unknown {
                            plugin: plugin.to_owned(),
                            key: key.clone(),
                            origin: source.clone(),
                            suggestion: closest(key, declared.iter().map(|o| o.name.as_str())),
                        });
                    }
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(Value::String(wanted)) = options.get("min_stoq_version")
            && compare_versions(crate::VERSION, wanted) == Some(std::cmp::Ordering::Less)
        {
            problems.push(OptionProblem::OlderStoq {
                plugin: plugin.to_owned(),
                wanted: wanted.clone(),
                running: crate::VERSION,
                origin: source.clone(),
            });
        }
    }
    for option in &all {
        if option.required && !merged.contains_key(&option.name) {
            problems.push(OptionProblem::Missing {
                plugin: plugin.to_owned(),
                key: option.name.clone(),
            });
        }
    }
    (merged, problems)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn declared() -> Vec<DeclaredOption> {
        [
            OptionSpec::bool("sha512", false),
            OptionSpec::int("max_size", 10),
            OptionSpec::string("key", "").required(),
        ]
        .iter()
        .map(|o| o.declare().expect("valid"))
        .collect()
    }

    fn options(value: Value) -> Options {
        value.as_object().expect("object").clone()
    }

    #[test]
    fn layers_merge_in_order_converted_to_their_types() {
        let file = options(json!({"max_size": 20, "key": "a"}));
        let cli = options(json!({"max_size": "30", "sha512": "yes"}));
        let (merged, problems) = check(
            "hash",
            &declared(),
            &[
                (OptionSource::PluginFile("hash.toml".into()), &file),
                (OptionSource::CommandLine, &cli),
            ],
        );
        assert_eq!(problems, []);
        assert_eq!(merged["max_size"], 30);
        assert_eq!(merged["sha512"], true);
        assert_eq!(merged["key"], "a");
        assert_eq!(merged["isolation"], "in-process", "stoq's own defaults too");
    }

    #[test]
    fn problems_name_plugin_key_and_source() {
        let config = options(json!({"sha512": "maybe", "sha152": true, "timeout": "soon"}));
        let (_, problems) = check(
            "hash",
            &declared(),
            &[(
                OptionSource::ConfigFile(Some("/etc/stoq.toml".into())),
                &config,
            )],
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "plugin `hash`: option `sha152` (from /etc/stoq.toml) is not an option of the plugin; did you mean `sha512`?",
                "plugin `hash`: option `sha512` (from /etc/stoq.toml): expected a boolean, got \"maybe\"",
                "plugin `hash`: option `timeout` (from /etc/stoq.toml): expected a number, got \"soon\"",
                "plugin `hash`: option `key` is required and not set",
            ]
        );
        assert_eq!(
            problems
                .iter()
                .map(OptionProblem::is_error)
                .collect::<Vec<_>>(),
            [false, true, true, true]
        );
    }

    #[test]
    fn a_plugin_that_declares_nothing_gets_no_unknown_key_reports() {
        let cli = options(json!({"anything": 1}));
        let (merged, problems) = check("old", &[], &[(OptionSource::CommandLine, &cli)]);
        assert_eq!(problems, []);
        assert_eq!(merged["anything"], 1);
    }

    #[test]
    fn min_stoq_version_option_warns_as_stoq_does() {
        let cli = options(json!({"min_stoq_version": "9999.9999"}));
        let (_, problems) = check("hash", &[], &[(OptionSource::CommandLine, &cli)]);
        assert!(
            matches!(&problems[..], [OptionProblem::OlderStoq { wanted, .. }] if wanted == "9999.9999")
        );
        assert!(!problems[0].is_error());
    }

    #[test]
    fn versions_compare_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Some(Greater));
        assert_eq!(compare_versions("1.0", "1.0.0"), Some(Equal));
        assert_eq!(compare_versions("1.2.0-rc1", "1.2.0"), Some(Equal));
        assert_eq!(compare_versions("3.0.0", "9999.9999"), Some(Less));
        assert_eq!(compare_versions("x", "1"), None);
    }

    #[test]
    fn closest_names_catch_typos_only() {
        let names = ["sha512", "max_size", "rules"];
        assert_eq!(closest("sha521", names).as_deref(), Some("sha512"));
        assert_eq!(closest("max-size", names).as_deref(), Some("max_size"));
        assert_eq!(closest("Rules", names).as_deref(), Some("rules"));
        assert_eq!(closest("colour", names), None);
    }
}
