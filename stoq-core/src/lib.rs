//! The stoq engine, usable without the CLI: find and load plugins ([`Registry`]), scan payloads
//! with them ([`Engine`]), and get stoQ-compatible responses ([`StoqResponse`]).
//!
//! `stoq-core` never writes to stdout and takes bytes, not paths; the `stoq` binary (crate
//! `host`) owns the command line, input files and output formats.

pub mod checked;
mod deps;
mod engine;
mod error;
#[cfg(test)]
mod fake;
#[cfg(unix)]
pub mod isolation;
pub mod model;
pub mod options;
mod plugin;
pub mod registry;
mod time;
mod timeout;

pub use checked::{OptionLayers, OptionProblem, OptionSource};
pub use engine::{
    Content, Delivery, Engine, EngineBuilder, Finished, Limits, Loader, PendingScan, Settings,
    Submission,
};
pub use error::PluginError;
pub use model::{ErrorRecord, PayloadResults, PluginsRun, StoqResponse};
pub use options::{ConfigError, ConfigFile, CoreConfig, Options};
pub use plugin::PluginHandle;
pub use registry::{LoadFailure, PluginEntry, Preflight, Registry, Verdict};
pub use stoq_loader::Role;

/// This stoq's version, which plugins' `min_stoq_version` is compared with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use stoq_plugin_abi::{PayloadMeta, RequestMeta};
pub use timeout::{TimeoutSource, WorkerTimeout};
