//! Write stoq plugins: the stable ABI (v1) and the author API.
//!
//! A stoq plugin is a `cdylib` that depends on this crate alone. Drop the built library
//! (`.so`, `.dylib`, `.dll`) into a plugin folder and `stoq` loads it. This is stoQ's
//! `ExampleWorker`, in Rust:
//!
//! ```
//! use stoq_plugin_abi::prelude::*;
//!
//! pub struct ExampleWorker {
//!     useful: bool,
//! }
//!
//! impl Plugin for ExampleWorker {
//!     const INFO: PluginInfo = PluginInfo::new("example", env!("CARGO_PKG_VERSION"))
//!         .description("Says whether it is useful")
//!         .options(&[OptionSpec::bool("useful", false).doc("Whether to say it is useful")]);
//!
//!     // The config hook: options arrive checked against their declarations.
//!     fn new(config: &mut PluginConfig) -> Result<Self> {
//!         Ok(Self { useful: config.bool("useful")? })
//!     }
//! }
//!
//! impl Worker for ExampleWorker {
//!     fn scan(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
//!         // Extracted payloads go back into the same workflow.
//!         let lorem = ExtractedPayload::new(b"Lorem ipsum".to_vec()).with_dispatch_to(["hash"]);
//!         Ok(WorkerResponse::new(json!({"worker_results": format!("useful: {}", self.useful)}))
//!             .with_extracted([lorem]))
//!     }
//! }
//!
//! stoq_plugin_abi::export_plugin!(ExampleWorker => worker);
//! # fn main() {
//! # #[cfg(feature = "testing")] {
//! # use stoq_plugin_abi::testing::PluginTest;
//! # let response = PluginTest::<ExampleWorker>::new().option("useful", "yes").scan(b"x").unwrap();
//! # assert_eq!(response.results, Some(json!({"worker_results": "useful: true"})));
//! # assert_eq!(response.extracted[0].payload_meta.dispatch_to, ["hash"]);
//! # }
//! # }
//! ```
//!
//! Its unit test, run the way the host runs it (feature `testing`, see [`testing`]):
//!
//! ```ignore
//! let response = PluginTest::<ExampleWorker>::new().option("useful", true).scan(b"x")?;
//! assert_eq!(response.results, Some(json!({"worker_results": "useful: true"})));
//! ```
//!
//! With `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # rlib lets your own tests call the plugin directly
//!
//! [dependencies]
//! stoq-plugin-abi = "1"
//!
//! [dev-dependencies]
//! stoq-plugin-abi = { version = "1", features = ["testing"] }
//! ```
//!
//! # What you write
//!
//! - [`Plugin`]: the facts the library carries ([`PluginInfo`]: name, version, description,
//!   default `required_workers`, declared [`OptionSpec`]s, `min_stoq_version`) and the config
//!   hook [`Plugin::new`], which reads options through [`PluginConfig`]'s getters and rejects
//!   bad values.
//! - One trait per role, each with a complete example: [`Worker`] (above), [`Dispatcher`],
//!   [`Archiver`], [`Connector`], [`Decorator`], [`Provider`]. One type may have several roles.
//! - [`export_plugin!`] once per library, naming each plugin type and its roles; one library
//!   may hold several plugins.
//! - Unit tests with [`testing::PluginTest`], which runs the plugin through the host's entry
//!   points without building a library.
//!
//! Every type a plugin builds ([`WorkerResponse`], [`PayloadMeta`], [`ExtractedPayload`],
//! [`DispatcherResponse`], [`ArchiverResponse`], [`DecoratorResponse`], [`PluginInfo`],
//! [`OptionSpec`], …) is built with constructors and `with_*` methods and is
//! `#[non_exhaustive]`, so a field added in a later 1.x release never breaks a plugin's build.
//!
//! # Rules the host relies on
//!
//! - **Dependencies.** A worker whose `required_workers` (from [`PluginInfo::required_workers`],
//!   the `required_workers` option, or [`PluginConfig::set_required_workers`]) names other
//!   workers runs on a payload only after they ran on it, and reads their results with
//!   [`Payload::worker_results`].
//! - **Threads.** One instance serves many threads at once (`Send + Sync`).
//! - **Panics** are caught inside the plugin and reported as errors of that plugin on that
//!   payload; everything else goes on. Do not rely on it for control flow.
//! - **Logging.** Use `tracing` (re-exported as [`tracing`]); events reach the host's log
//!   with the plugin's name.
//! - **Limits.** A plugin that extracts or copies reads [`Request::limits`] and stops at them
//!   (no payload over `max_payload_size`, no more than `extracted_bytes_left`): the host drops
//!   the excess anyway, but only after it was held in memory.
//! - **Names.** File names and other bytes that may not be UTF-8 go into results through
//!   [`bytes_to_string`] (`\xNN` for invalid bytes, `\\` for a backslash; inverse
//!   [`string_to_bytes`]), so every plugin encodes them alike.
//! - **Bytes.** [`Payload::content`] borrows the host's bytes; an
//!   [`ExtractedPayload::content`] `Vec` is handed to the host without a copy.
//!
//! # Options
//!
//! Declare each option with its type, default and doc ([`OptionSpec`]). The host checks every
//! configured value (the TOML file beside the library, the `[NAME]` section of the config
//! file, `--plugin-opts NAME:KEY=VALUE`) against the declarations at start-up, and names the
//! plugin, the key and the source of a bad value; an unknown key is reported with the closest
//! declared name; `stoq list` shows the declarations. The getters ([`PluginConfig::bool`],
//! [`PluginConfig::int`], …) return the declared default when nothing was set.
//!
//! # Versions
//!
//! [`PluginInfo::min_stoq_version`] names the oldest host a plugin works with: an older host
//! refuses to load it and says both versions. stoQ's `min_stoq_version` *option*, set in a
//! config file, keeps stoQ's meaning: a warning, and the plugin still loads.
//!
//! # Compatibility
//!
//! The crate's major version is the ABI major. Within ABI 1, a plugin built against any 1.x
//! keeps loading in every later 1.x host: the binary surface ([`ffi`]) is frozen, and
//! everything that evolves (manifests, responses, metadata, options, context keys) travels as
//! the JSON documents of [`wire`]. `abi_stable` checks the layout of every type when the host
//! loads a library, so a plugin built against another major is rejected with a message, not a
//! crash. The repository keeps a plugin built against the published 1.0.0 crate, and its CI
//! fails the day a host stops loading it.
#![deny(missing_docs)]
// `#[sabi_trait]` expands to impl blocks the `non_local_definitions` lint flags.
#![allow(non_local_definitions)]

pub mod config;
mod export;
pub mod ffi;
mod log;
pub mod options;
pub mod payload;
pub mod plugin;
pub mod provider;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
pub mod wire;

pub use config::{OptionError, PluginConfig};
pub use options::{DeclaredOption, OptionKind, OptionSpec};
pub use payload::{HostLimits, Payload, PayloadSummary, Request};
pub use plugin::{
    Archiver, Connector, Decorator, Dispatcher, Plugin, PluginInfo, Provider, Sink, Worker,
};
pub use provider::{IngestItem, ItemOutcome, ItemStatus};
pub use types::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, Error, ExtractedPayload, PayloadMeta,
    RequestMeta, Result, WorkerResponse, bytes_to_string, string_to_bytes,
};

/// The ABI major version this crate implements.
pub const ABI_MAJOR: u32 = 1;

/// The `abi_stable` crate this ABI is built on. Plugin code never needs it directly; the
/// export macro uses it through this path.
pub use abi_stable;
/// `serde_json`, for building results (`json!`).
pub use serde_json;
/// `tracing`, whose events a plugin's host records.
pub use tracing;

/// Everything a plugin usually needs: `use stoq_plugin_abi::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Archiver, ArchiverResponse, Connector, Decorator, DecoratorResponse, Dispatcher,
        DispatcherResponse, Error, ExtractedPayload, HostLimits, IngestItem, ItemOutcome,
        ItemStatus, OptionKind, OptionSpec, Payload, PayloadMeta, Plugin, PluginConfig, PluginInfo,
        Provider, Request, RequestMeta, Result, Sink, Worker, WorkerResponse,
    };
    pub use serde_json::{Map, Value, json};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::{Exported, Roles, instantiate, manifest};
}
