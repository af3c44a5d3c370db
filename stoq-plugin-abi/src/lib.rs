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
//!         .default_options("useful = false");
//!
//!     // The config hook: read and validate options here.
//!     fn new(config: &mut PluginConfig) -> Result<Self> {
//!         Ok(Self { useful: config.get_bool("useful")?.unwrap_or(false) })
//!     }
//! }
//!
//! impl Worker for ExampleWorker {
//!     fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<Option<WorkerResponse>> {
//!         let results = json!({ "worker_results": format!("useful: {}", self.useful) });
//!         // Extracted payloads go back into the same workflow.
//!         let lorem = ExtractedPayload::with_meta(b"Lorem ipsum".to_vec(), PayloadMeta::dispatch_to(["hash"]));
//!         Ok(Some(WorkerResponse::new(results).with_extracted([lorem])))
//!     }
//! }
//!
//! stoq_plugin_abi::export_plugin!(ExampleWorker => worker);
//! # fn main() {}
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
//! ```
//!
//! # What you write
//!
//! - [`Plugin`]: the facts the library carries ([`PluginInfo`]: name, version, description,
//!   default `required_workers`, default options) and the config hook [`Plugin::new`], which
//!   reads options through [`PluginConfig`]'s typed getters and rejects bad values.
//! - One trait per role: [`Worker`], [`Dispatcher`], [`Archiver`], [`Connector`],
//!   [`Decorator`], [`Provider`]. One type may have several roles.
//! - [`export_plugin!`] once, naming the roles.
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
//! # Compatibility
//!
//! The crate's major version is the ABI major. Within ABI 1, a plugin built against any 1.x
//! keeps loading in every later 1.x host: the binary surface ([`ffi`]) is frozen, and
//! everything that evolves (responses, metadata, options, context keys) travels as JSON.
//! `abi_stable` checks the layout of every type when the host loads a library, so a plugin
//! built against another major is rejected with a message, not a crash.
#![deny(missing_docs)]
// `#[sabi_trait]` expands to impl blocks the `non_local_definitions` lint flags.
#![allow(non_local_definitions)]

pub mod config;
mod export;
pub mod ffi;
#[cfg(feature = "host")]
pub mod host;
mod log;
pub mod payload;
pub mod plugin;
pub mod provider;
pub mod types;

pub use config::{OptionError, PluginConfig};
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
        ItemStatus, Payload, PayloadMeta, Plugin, PluginConfig, PluginInfo, Provider, Request,
        RequestMeta, Result, Sink, Worker, WorkerResponse,
    };
    pub use serde_json::json;
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::{Roles, instantiate, manifest};
}
