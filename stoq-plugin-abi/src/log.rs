//! Forwarding a plugin's `tracing` events to the host.
//!
//! A `cdylib` carries its own copy of `tracing` with its own global dispatcher, so without this
//! a plugin's events vanish. [`export_plugin!`](crate::export_plugin) installs [`Forward`] as the
//! plugin's global subscriber when the plugin is instantiated.

use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, LevelFilter, Metadata, Subscriber};

use crate::ffi::{self, HostApi, LogRecord};

/// A subscriber that hands every event to the host's `log` callback.
pub(crate) struct Forward {
    host: HostApi,
    plugin: &'static str,
}

pub(crate) fn level_to_u8(level: &Level) -> u8 {
    match *level {
        Level::ERROR => ffi::LEVEL_ERROR,
        Level::WARN => ffi::LEVEL_WARN,
        Level::INFO => ffi::LEVEL_INFO,
        Level::DEBUG => ffi::LEVEL_DEBUG,
        _ => ffi::LEVEL_TRACE,
    }
}

/// Installs the forwarder once per library. Later calls (more instances) keep the first. Each
/// event names the plugin whose entry point runs on its thread; `plugin` names events sent
/// from threads a plugin started itself.
pub(crate) fn install(host: HostApi, plugin: &'static str) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Fails only if the plugin installed its own subscriber first; then it keeps that one.
        let _ = tracing::subscriber::set_global_default(Forward { host, plugin });
    });
}

impl Forward {
    /// Sends one message straight to the host (used for caught panics).
    pub(crate) fn send(host: &HostApi, level: u8, plugin: &str, target: &str, message: &str) {
        (host.log)(LogRecord {
            level,
            plugin: plugin.into(),
            target: target.into(),
            message: message.into(),
        });
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Forward {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        level_to_u8(metadata.level()) <= self.host.max_level
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match self.host.max_level {
            0 => LevelFilter::OFF,
            ffi::LEVEL_ERROR => LevelFilter::ERROR,
            ffi::LEVEL_WARN => LevelFilter::WARN,
            ffi::LEVEL_INFO => LevelFilter::INFO,
            ffi::LEVEL_DEBUG => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let meta = event.metadata();
        let current = crate::export::current_plugin();
        Self::send(
            &self.host,
            level_to_u8(meta.level()),
            if current.is_empty() {
                self.plugin
            } else {
                current
            },
            meta.target(),
            &fields.0,
        );
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
