//! The host side of the stoq plugin ABI: open a plugin library, check it, read its manifest,
//! instantiate its plugins and call them with Rust types.
//!
//! This crate is the loader of the `stoq` host; plugin authors never depend on it (they use
//! `stoq-plugin-abi` alone). It is a crate of its own so that the host's Rust API can change
//! without touching the ABI crate, whose major version is a promise to every plugin.
//!
//! Loading uses `lib_header_from_path` + `init_root_module` for each file, never abi_stable's
//! `RootModule::load_from_*`, which caches one module per type and would hand back the first
//! plugin for every path. Libraries are never unloaded (abi_stable leaks them by design).
//!
//! - [`Library`]: one checked library and its [`Manifest`] (one or more plugins);
//! - [`Instance`]: one configured plugin, with a method per role;
//! - [`running`]: which plugin each thread is inside of, for timeouts and crash reports;
//! - [`mapped`], [`rlimit`]: the host's own helpers for big inputs and memory limits.

mod elf;
mod instance;
mod library;
pub mod mapped;
#[cfg(unix)]
pub mod rlimit;
pub mod running;

pub use instance::{
    CallError, CallErrorKind, Extracted, Instance, ItemSink, ProvidedItem, QueryContext,
    WorkerOutput,
};
pub use library::{Library, LoadError};
pub use stoq_plugin_abi::wire::{Manifest, PluginManifest, Role};
