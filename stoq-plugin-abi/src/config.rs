//! A plugin's options, read through typed getters in its config hook.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::options::OptionKind;

/// Options the host itself reads; they are never reported as unused.
const HOST_KEYS: &[&str] = &[
    "required_workers",
    "timeout",
    "isolation",
    "isolation_memory",
    "min_stoq_version",
];

/// A rejected option: names the plugin, the key and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The plugin's name.
    pub plugin: String,
    /// The option's key.
    pub key: String,
    /// What was expected and what was found.
    pub reason: String,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin `{}`: option `{}`: {}",
            self.plugin, self.key, self.reason
        )
    }
}

impl std::error::Error for OptionError {}

/// The merged options of one plugin, handed to its config hook ([`Plugin::new`]).
///
/// Values come from (highest precedence first) `--plugin-opts NAME:KEY=VALUE`, the `[NAME]`
/// section of the global config file, the TOML file beside the library, and the defaults the
/// plugin declares ([`PluginInfo::options`]). Declared options arrive checked and converted
/// to their type; the getters also accept the string forms of undeclared keys, like stoQ's
/// `getboolean`/`getint`/`getlist`/`getjson`.
///
/// [`Plugin::new`]: crate::Plugin::new
/// [`PluginInfo::options`]: crate::PluginInfo::options
pub struct PluginConfig {
    plugin_name: String,
    options: Map<String, Value>,
    required_workers: BTreeSet<String>,
    read: RefCell<BTreeSet<String>>,
}

impl PluginConfig {
    /// A configuration for `plugin_name` with these options. `required_workers` starts from the
    /// `required_workers` option when present, else from `default_required`.
    pub(crate) fn new(
        plugin_name: impl Into<String>,
        options: Map<String, Value>,
        default_required: &[&str],
    ) -> Result<Self, OptionError> {
        let mut config = Self {
            plugin_name: plugin_name.into(),
            options,
            required_workers: BTreeSet::new(),
            read: RefCell::default(),
        };
        config.required_workers = match config.get_set("required_workers")? {
            Some(set) => set,
            None => default_required.iter().map(|s| (*s).to_owned()).collect(),
        };
        Ok(config)
    }

    /// The plugin's name.
    pub fn plugin_name(&self) -> &str {
        &self.plugin_name
    }

    /// The raw value of an option, if set.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.read.borrow_mut().insert(key.to_owned());
        self.options.get(key)
    }

    /// Every option key that was set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.options.keys().map(String::as_str)
    }

    /// An error rejecting option `key` for `reason`, in the host's form (``plugin `x`: option
    /// `key`: reason``), for checks the declarations cannot express (ranges, files):
    /// `return Err(config.reject("max_size", "must be at least 1").into())`.
    pub fn reject(&self, key: &str, reason: impl Into<String>) -> OptionError {
        self.error(key, reason)
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> OptionError {
        OptionError {
            plugin: self.plugin_name.clone(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    fn typed(&self, key: &str, kind: OptionKind) -> Result<Option<Value>, OptionError> {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        kind.coerce(value)
            .map(Some)
            .map_err(|reason| self.error(key, reason))
    }

    fn present<T>(&self, key: &str, value: Option<T>) -> Result<T, OptionError> {
        value.ok_or_else(|| self.error(key, "is not set and has no default"))
    }

    /// A boolean: `true`/`false`, or a string `1/yes/true/on` or `0/no/false/off` (any case).
    /// `None` when it is not set and has no declared default.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, OptionError> {
        Ok(self.typed(key, OptionKind::Bool)?.and_then(|v| v.as_bool()))
    }

    /// An integer: a number or a string holding one.
    pub fn get_int(&self, key: &str) -> Result<Option<i64>, OptionError> {
        Ok(self.typed(key, OptionKind::Int)?.and_then(|v| v.as_i64()))
    }

    /// A floating-point number: a number or a string holding one.
    pub fn get_float(&self, key: &str) -> Result<Option<f64>, OptionError> {
        Ok(self.typed(key, OptionKind::Float)?.and_then(|v| v.as_f64()))
    }

    /// A string. Numbers and booleans are accepted and printed.
    pub fn get_str(&self, key: &str) -> Result<Option<String>, OptionError> {
        Ok(self
            .typed(key, OptionKind::String)?
            .and_then(|v| v.as_str().map(str::to_owned)))
    }

    /// A list of strings: an array, or a comma-separated string (`"a, b,c"`); items are trimmed
    /// and empty items dropped.
    pub fn get_list(&self, key: &str) -> Result<Option<Vec<String>>, OptionError> {
        Ok(self.typed(key, OptionKind::List)?.map(|v| match v {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }))
    }

    /// A declared boolean option: its value, or its declared default. An error when neither
    /// exists (an option declared [`required`](crate::OptionSpec::required) is checked before
    /// the config hook runs, so this happens only for undeclared or optional keys).
    pub fn bool(&self, key: &str) -> Result<bool, OptionError> {
        let value = self.get_bool(key)?;
        self.present(key, value)
    }

    /// A declared integer option: its value, or its declared default.
    pub fn int(&self, key: &str) -> Result<i64, OptionError> {
        let value = self.get_int(key)?;
        self.present(key, value)
    }

    /// A declared floating-point option: its value, or its declared default.
    pub fn float(&self, key: &str) -> Result<f64, OptionError> {
        let value = self.get_float(key)?;
        self.present(key, value)
    }

    /// A declared string option: its value, or its declared default.
    pub fn string(&self, key: &str) -> Result<String, OptionError> {
        let value = self.get_str(key)?;
        self.present(key, value)
    }

    /// A declared list option: its value, or its declared default.
    pub fn list(&self, key: &str) -> Result<Vec<String>, OptionError> {
        let value = self.get_list(key)?;
        self.present(key, value)
    }

    /// A declared option of any deserialisable type: its value, or its declared default.
    pub fn value<T: DeserializeOwned>(&self, key: &str) -> Result<T, OptionError> {
        let value = self.get(key)?;
        self.present(key, value)
    }

    /// A set of strings, read like [`get_list`](Self::get_list).
    pub fn get_set(&self, key: &str) -> Result<Option<BTreeSet<String>>, OptionError> {
        Ok(self.get_list(key)?.map(|list| list.into_iter().collect()))
    }

    /// Any deserialisable type. A string value is first parsed as JSON (stoQ's `getjson`), and
    /// used as a plain string if that fails.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, OptionError> {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        if let Value::String(s) = value
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
            && let Ok(typed) = serde_json::from_value(parsed)
        {
            return Ok(Some(typed));
        }
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| self.error(key, format!("{e} (got {value})")))
    }

    /// The workers that must run on a payload before this plugin scans it. Starts from the
    /// `required_workers` option, or from [`PluginInfo::required_workers`](crate::PluginInfo::required_workers).
    pub fn required_workers(&self) -> &BTreeSet<String> {
        &self.required_workers
    }

    /// Replaces the required workers (stoQ's `self.required_workers = ..`).
    pub fn set_required_workers<I, S>(&mut self, workers: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_workers = workers.into_iter().map(Into::into).collect();
    }

    /// Adds one required worker (stoQ's `self.required_workers.add(..)`).
    pub fn add_required_worker(&mut self, worker: impl Into<String>) {
        self.required_workers.insert(worker.into());
    }

    /// Option keys that were set but never read by the plugin (likely typos); the host warns
    /// about them.
    pub fn unused_keys(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.options
            .keys()
            .filter(|k| !read.contains(*k) && !HOST_KEYS.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(options: Value) -> PluginConfig {
        let Value::Object(map) = options else {
            panic!("options must be an object")
        };
        PluginConfig::new("demo", map, &["hash"]).expect("valid config")
    }

    #[test]
    fn booleans_accept_typed_and_string_forms() {
        let c = config(json!({"a": true, "b": "Yes", "c": "off", "d": "maybe"}));
        assert_eq!(c.get_bool("a"), Ok(Some(true)));
        assert_eq!(c.get_bool("b"), Ok(Some(true)));
        assert_eq!(c.get_bool("c"), Ok(Some(false)));
        assert_eq!(c.get_bool("missing"), Ok(None));
        let err = c.get_bool("d").expect_err("maybe is not a boolean");
        assert_eq!(
            err.to_string(),
            "plugin `demo`: option `d`: expected a boolean, got \"maybe\""
        );
    }

    #[test]
    fn lists_split_commas_and_drop_empty_items() {
        let c = config(json!({"l": "x, ,y ,", "a": ["p", "q"], "n": 5}));
        assert_eq!(c.get_list("l"), Ok(Some(vec!["x".into(), "y".into()])));
        assert_eq!(c.get_list("a"), Ok(Some(vec!["p".into(), "q".into()])));
        assert!(c.get_list("n").is_err());
    }

    #[test]
    fn integers_and_json_values() {
        let c = config(json!({"i": "42", "j": "{\"k\": [1, 2]}", "bad": "4x2"}));
        assert_eq!(c.get_int("i"), Ok(Some(42)));
        assert!(c.get_int("bad").is_err());
        let v: Option<std::collections::BTreeMap<String, Vec<u8>>> = c.get("j").expect("json");
        assert_eq!(v.expect("present")["k"], vec![1, 2]);
    }

    #[test]
    fn required_workers_come_from_option_or_default() {
        assert_eq!(
            config(json!({})).required_workers(),
            &BTreeSet::from(["hash".to_owned()])
        );
        let c = config(json!({"required_workers": "mimetype, entropy"}));
        assert_eq!(
            c.required_workers(),
            &BTreeSet::from(["entropy".to_owned(), "mimetype".to_owned()])
        );
    }

    #[test]
    fn reject_names_plugin_and_key() {
        let c = config(json!({"max": -1}));
        assert_eq!(
            c.reject("max", "must be at least 0, got -1").to_string(),
            "plugin `demo`: option `max`: must be at least 0, got -1"
        );
    }

    #[test]
    fn unread_options_are_reported_but_host_keys_are_not() {
        let c = config(json!({"used": 1, "typo": 2, "timeout": 3}));
        c.get_int("used").expect("int");
        assert_eq!(c.unused_keys(), vec!["typo".to_owned()]);
    }
}
