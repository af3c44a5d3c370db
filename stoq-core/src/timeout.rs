//! How long one plugin call may run, and where that limit came from.

use std::time::Duration;

use serde_json::Value;

use crate::error::PluginError;

/// Where a worker's timeout came from; its timeout error says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutSource {
    /// The plugin's own `timeout` option.
    PluginOption,
    /// The engine's default for plugins without one ([`Settings::worker_timeout`], the
    /// host's `--worker-timeout`).
    ///
    /// [`Settings::worker_timeout`]: crate::Settings::worker_timeout
    EngineDefault,
}

impl std::fmt::Display for TimeoutSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PluginOption => "its `timeout` option",
            Self::EngineDefault => "the default worker timeout, `--worker-timeout`",
        })
    }
}

/// A plugin's call timeout and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerTimeout {
    /// How long one call may run.
    pub duration: Duration,
    /// Where that came from.
    pub source: TimeoutSource,
}

impl WorkerTimeout {
    /// The plugin's `timeout` option when it has one, else the engine's `default`.
    pub fn resolve(option: Option<Duration>, default: Duration) -> Self {
        match option {
            Some(duration) => Self {
                duration,
                source: TimeoutSource::PluginOption,
            },
            None => Self {
                duration: default,
                source: TimeoutSource::EngineDefault,
            },
        }
    }
}

impl From<Duration> for WorkerTimeout {
    /// A timeout the caller chose for the plugin (as its `timeout` option would).
    fn from(duration: Duration) -> Self {
        Self {
            duration,
            source: TimeoutSource::PluginOption,
        }
    }
}

/// Parses plugin `name`'s `timeout` option (seconds, a number or a string holding one).
pub(crate) fn parse_option(name: &str, value: &Value) -> Result<Duration, PluginError> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
        _ => Err(PluginError::Instantiate {
            name: name.to_owned(),
            message: format!(
                "option `timeout`: expected a positive number of seconds, got {value}"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_name_their_source_and_reject_bad_values() {
        let t = WorkerTimeout::resolve(None, Duration::from_secs(3));
        assert_eq!(t.source, TimeoutSource::EngineDefault);
        assert_eq!(
            t.source.to_string(),
            "the default worker timeout, `--worker-timeout`"
        );
        let t = WorkerTimeout::resolve(Some(Duration::from_millis(300)), Duration::from_secs(3));
        assert_eq!(
            (t.duration, t.source),
            (Duration::from_millis(300), TimeoutSource::PluginOption)
        );
        assert_eq!(
            parse_option("p", &Value::from("0.5")),
            Ok(Duration::from_millis(500))
        );
        for bad in [Value::from(0), Value::from("soon"), Value::Bool(true)] {
            let e = parse_option("p", &bad).unwrap_err().to_string();
            assert!(
                e.starts_with("plugin `p` failed to start: option `timeout`: expected a positive number of seconds"),
                "{e}"
            );
        }
    }
}
