//! Declared options: what a plugin accepts, with a type, a default and one line of doc.
//!
//! A plugin lists its options in [`PluginInfo::options`](crate::PluginInfo::options). The
//! host checks every layer of configuration against them at start-up (naming the plugin, the
//! key and where the bad value came from), fills in the defaults, and `stoq list` shows them.
//! The plugin then reads them with [`PluginConfig`](crate::PluginConfig)'s getters, which
//! return the declared default when nothing was set: defaults are written once.
//!
//! ```
//! use stoq_plugin_abi::prelude::*;
//!
//! const OPTIONS: &[OptionSpec] = &[
//!     OptionSpec::bool("sha512", false).doc("Also compute SHA-512"),
//!     OptionSpec::int("max_size", 64 << 20).doc("Largest payload hashed, in bytes"),
//!     OptionSpec::list("skip", &[]).doc("File names never hashed"),
//!     OptionSpec::string("api_key", "").required().doc("The service's key"),
//! ];
//! assert_eq!(OPTIONS[0].kind, OptionKind::Bool);
//! assert_eq!(OPTIONS[1].default_value(), Some(json!(67108864)));
//! assert_eq!(OPTIONS[3].default_value(), None);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The type of a declared option. Values given as strings (as `--plugin-opts` gives them) are
/// converted, like stoQ's `getboolean`/`getint`/`getlist`/`getjson`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OptionKind {
    /// `true`/`false`; also `1/yes/true/on` and `0/no/false/off` (any case), and 0 or 1.
    Bool,
    /// A 64-bit signed integer, or a string holding one.
    Int,
    /// A number, or a string holding one.
    Float,
    /// A string; numbers and booleans are accepted and printed.
    String,
    /// A list of strings: an array, or a comma-separated string (`"a, b,c"`); items are
    /// trimmed and empty items dropped.
    List,
    /// Any JSON value; a string is parsed as JSON when it is valid JSON (stoQ's `getjson`).
    Json,
}

impl OptionKind {
    /// The name used in manifests and by `stoq list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Float => "float",
            Self::String => "string",
            Self::List => "list",
            Self::Json => "json",
        }
    }

    /// Converts `value` to this type's canonical JSON form (`"yes"` → `true`, `"4"` → `4`,
    /// `"a,b"` → `["a", "b"]`), or says what was expected.
    ///
    /// ```
    /// use stoq_plugin_abi::OptionKind;
    /// use stoq_plugin_abi::serde_json::json;
    ///
    /// assert_eq!(OptionKind::Bool.coerce(&json!("Yes")), Ok(json!(true)));
    /// assert_eq!(OptionKind::List.coerce(&json!("a, ,b")), Ok(json!(["a", "b"])));
    /// assert_eq!(OptionKind::Int.coerce(&json!("4x")).unwrap_err(), "expected an integer, got \"4x\"");
    /// ```
    pub fn coerce(self, value: &Value) -> Result<Value, String> {
        let expected = |what: &str| format!("expected {what}, got {value}");
        match self {
            Self::Bool => match value {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::Number(n) if n.as_u64() == Some(0) => Ok(Value::Bool(false)),
                Value::Number(n) if n.as_u64() == Some(1) => Ok(Value::Bool(true)),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "1" | "yes" | "true" | "on" => Ok(Value::Bool(true)),
                    "0" | "no" | "false" | "off" => Ok(Value::Bool(false)),
                    _ => Err(expected("a boolean")),
                },
                _ => Err(expected("a boolean")),
            },
            Self::Int => match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .map(Value::from)
            .ok_or_else(|| expected("an integer")),
            Self::Float => match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .ok_or_else(|| expected("a number")),
            Self::String => match value {
                Value::String(s) => Ok(Value::String(s.clone())),
                Value::Number(_) | Value::Bool(_) => Ok(Value::String(value.to_string())),
                _ => Err(expected("a string")),
            },
            Self::List => match value {
                Value::String(s) => Ok(Value::Array(
                    s.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(|item| Value::String(item.to_owned()))
                        .collect(),
                )),
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(Value::String(s.clone())),
                        Value::Number(_) | Value::Bool(_) => Ok(Value::String(item.to_string())),
                        _ => Err(expected("a list of strings")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Value::Array),
                _ => Err(expected("a list")),
            },
            Self::Json => match value {
                Value::String(s) => Ok(serde_json::from_str(s).unwrap_or_else(|_| value.clone())),
                other => Ok(other.clone()),
            },
        }
    }
}

impl fmt::Display for OptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DefaultValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
    List(&'static [&'static str]),
    Json(&'static str),
}

/// One option a plugin declares: its name, type, default and doc. Build it in a `const` with
/// one constructor per type, then [`doc`](OptionSpec::doc) and, for an option without a
/// default, [`required`](OptionSpec::required) or [`optional`](OptionSpec::optional).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OptionSpec {
    /// The key, as written in config files and `--plugin-opts NAME:KEY=VALUE`.
    pub name: &'static str,
    /// Its type.
    pub kind: OptionKind,
    /// One line on what it does, shown by `stoq list`.
    pub doc: &'static str,
    /// Whether a value must be given (no default). The host refuses to start the plugin
    /// without one, naming the plugin and the key.
    pub required: bool,
    default: DefaultValue,
}

impl OptionSpec {
    const fn with(name: &'static str, kind: OptionKind, default: DefaultValue) -> Self {
        Self {
            name,
            kind,
            doc: "",
            required: false,
            default,
        }
    }

    /// An option of this type without a default: the getters return `None` when it is not
    /// set (add [`required`](Self::required) to make it mandatory). Say in its doc what
    /// happens when it is not set, e.g. a default computed from another option.
    pub const fn new(name: &'static str, kind: OptionKind) -> Self {
        Self::with(name, kind, DefaultValue::None)
    }

    /// A boolean option with this default.
    pub const fn bool(name: &'static str, default: bool) -> Self {
        Self::with(name, OptionKind::Bool, DefaultValue::Bool(default))
    }

    /// An integer option with this default.
    pub const fn int(name: &'static str, default: i64) -> Self {
        Self::with(name, OptionKind::Int, DefaultValue::Int(default))
    }

    /// A floating-point option with this default.
    pub const fn float(name: &'static str, default: f64) -> Self {
        Self::with(name, OptionKind::Float, DefaultValue::Float(default))
    }

    /// A string option with this default.
    pub const fn string(name: &'static str, default: &'static str) -> Self {
        Self::with(name, OptionKind::String, DefaultValue::Str(default))
    }

    /// A list-of-strings option with this default.
    pub const fn list(name: &'static str, default: &'static [&'static str]) -> Self {
        Self::with(name, OptionKind::List, DefaultValue::List(default))
    }

    /// A JSON option whose default is this JSON text (e.g. `"{}"`). Text that is not valid
    /// JSON makes the plugin's manifest invalid, which the host reports when it loads the
    /// library and [`PluginTest`](crate::testing::PluginTest) when a test starts.
    pub const fn json(name: &'static str, default_json: &'static str) -> Self {
        Self::with(name, OptionKind::Json, DefaultValue::Json(default_json))
    }

    /// Sets the one line of doc.
    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// No default: the option must be set, or the plugin does not start.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self.default = DefaultValue::None;
        self
    }

    /// No default and not required: the getters return `None` when it is not set.
    pub const fn optional(mut self) -> Self {
        self.required = false;
        self.default = DefaultValue::None;
        self
    }

    /// The default as JSON; `None` for a required or optional option (and for a JSON default
    /// that is not valid JSON).
    pub fn default_value(&self) -> Option<Value> {
        match self.default {
            DefaultValue::None => None,
            DefaultValue::Bool(b) => Some(Value::Bool(b)),
            DefaultValue::Int(i) => Some(Value::from(i)),
            DefaultValue::Float(f) => serde_json::Number::from_f64(f).map(Value::Number),
            DefaultValue::Str(s) => Some(Value::String(s.to_owned())),
            DefaultValue::List(items) => Some(Value::Array(
                items
                    .iter()
                    .map(|s| Value::String((*s).to_owned()))
                    .collect(),
            )),
            DefaultValue::Json(text) => serde_json::from_str(text).ok(),
        }
    }

    /// The declaration as the manifest carries it. Fails for a JSON default that is not JSON.
    pub fn declare(&self) -> Result<DeclaredOption, String> {
        if let DefaultValue::Json(text) = self.default
            && let Err(e) = serde_json::from_str::<Value>(text)
        {
            return Err(format!(
                "option `{}`: its default {text:?} is not valid JSON: {e}",
                self.name
            ));
        }
        Ok(DeclaredOption {
            name: self.name.to_owned(),
            kind: self.kind,
            default: self.default_value(),
            required: self.required,
            doc: self.doc.to_owned(),
        })
    }
}

/// A declared option as the manifest carries it, and as the host and `stoq list` read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeclaredOption {
    /// The key.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: OptionKind,
    /// Its default (canonical JSON form), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Whether it must be set.
    #[serde(default)]
    pub required: bool,
    /// One line on what it does.
    #[serde(default)]
    pub doc: String,
}

/// Fills in declared defaults and converts every declared option's value to its type. Errors
/// name the key; a required option that is missing is an error. Keys that are not declared
/// are kept as they are.
pub fn resolve(
    declared: &[DeclaredOption],
    options: &mut Map<String, Value>,
) -> Result<(), (String, String)> {
    for option in declared {
        match options.get(&option.name) {
            Some(value) => {
                let typed = option
                    .kind
                    .coerce(value)
                    .map_err(|reason| (option.name.clone(), reason))?;
                options.insert(option.name.clone(), typed);
            }
            None => {
                if let Some(default) = &option.default {
                    options.insert(option.name.clone(), default.clone());
                } else if option.required {
                    return Err((option.name.clone(), "is required and not set".to_owned()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_converts_string_forms_and_rejects_others() {
        let cases = [
            (OptionKind::Bool, json!("off"), Ok(json!(false))),
            (OptionKind::Bool, json!(1), Ok(json!(true))),
            (OptionKind::Bool, json!("maybe"), Err(())),
            (OptionKind::Int, json!(" 42 "), Ok(json!(42))),
            (OptionKind::Int, json!(4.5), Err(())),
            (OptionKind::Float, json!("0.25"), Ok(json!(0.25))),
            (OptionKind::Float, json!("NaN"), Err(())),
            (OptionKind::String, json!(7), Ok(json!("7"))),
            (OptionKind::String, json!(["a"]), Err(())),
            (OptionKind::List, json!(["a", 2]), Ok(json!(["a", "2"]))),
            (OptionKind::List, json!([{"a": 1}]), Err(())),
            (
                OptionKind::Json,
                json!("{\"k\": [1]}"),
                Ok(json!({"k": [1]})),
            ),
            (OptionKind::Json, json!("not json"), Ok(json!("not json"))),
        ];
        for (kind, input, expected) in cases {
            let got = kind.coerce(&input).map_err(drop);
            assert_eq!(got, expected, "{kind} {input}");
        }
    }

    #[test]
    fn resolve_fills_defaults_converts_and_requires() {
        let declared: Vec<DeclaredOption> = [
            OptionSpec::bool("sha512", false),
            OptionSpec::list("skip", &["a.txt"]),
            OptionSpec::json("map", "{\"x\": 1}"),
            OptionSpec::string("key", "").required(),
            OptionSpec::int("limit", 0).optional(),
        ]
        .iter()
        .map(|o| o.declare().expect("valid"))
        .collect();
        let mut options = json!({"sha512": "yes", "key": "k", "other": 3});
        let map = options.as_object_mut().expect("object");
        resolve(&declared, map).expect("valid options");
        assert_eq!(
            options,
            json!({"sha512": true, "skip": ["a.txt"], "map": {"x": 1}, "key": "k", "other": 3})
        );
        let mut missing = Map::new();
        assert_eq!(
            resolve(&declared, &mut missing),
            Err(("key".to_owned(), "is required and not set".to_owned()))
        );
    }

    #[test]
    fn a_json_default_that_is_not_json_is_caught() {
        let err = OptionSpec::json("map", "{oops")
            .declare()
            .expect_err("invalid");
        assert!(
            err.starts_with("option `map`: its default \"{oops\" is not valid JSON"),
            "{err}"
        );
    }
}
