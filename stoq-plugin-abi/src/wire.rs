//! The JSON documents that cross the boundary, defined once for both sides.
//!
//! The binary surface ([`ffi`](crate::ffi)) is frozen; everything that evolves within ABI 1
//! travels as these documents. Readers ignore keys they do not know and fill in missing ones
//! with defaults, so a newer host reads an older plugin's documents and the other way round.
//! Plugin authors never build them: [`export_plugin!`](crate::export_plugin) writes the plugin
//! side, and host-side loaders (the `stoq-loader` crate) read them. Every type is
//! `#[non_exhaustive]`, so a field added in a later 1.x release breaks no build.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::options::DeclaredOption;
use crate::types::{Error, PayloadMeta, RequestMeta};

/// The roles of a plugin (stoQ's plugin classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Scans payloads.
    Worker,
    /// Picks workers for payloads.
    Dispatcher,
    /// Saves and fetches payloads.
    Archiver,
    /// Receives finished responses.
    Connector,
    /// Summarises finished responses.
    Decorator,
    /// Feeds payloads to `stoq run`.
    Provider,
}

impl Role {
    /// Every role, in the order of SPEC §1.
    pub const ALL: [Role; 6] = [
        Role::Worker,
        Role::Dispatcher,
        Role::Archiver,
        Role::Connector,
        Role::Decorator,
        Role::Provider,
    ];

    /// The role's name as written in manifests and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Dispatcher => "dispatcher",
            Self::Archiver => "archiver",
            Self::Connector => "connector",
            Self::Decorator => "decorator",
            Self::Provider => "provider",
        }
    }
}

/// What a library says about itself: the answer of [`PluginModule::manifest`](crate::ffi::PluginModule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// The `stoq-plugin-abi` version the library was built against.
    pub abi_version: String,
    /// The plugins the library holds (one or more).
    pub plugins: Vec<PluginManifest>,
}

impl Manifest {
    /// The manifest of a library holding these plugins, built against this crate's version.
    pub fn new(plugins: Vec<PluginManifest>) -> Self {
        Self {
            abi_version: env!("CARGO_PKG_VERSION").to_owned(),
            plugins,
        }
    }
}

/// What one plugin of a library says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PluginManifest {
    /// The plugin's unique name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Its author.
    #[serde(default)]
    pub author: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Where to read more.
    #[serde(default)]
    pub website: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Its default required workers.
    #[serde(default)]
    pub required_workers: Vec<String>,
    /// The options it declares.
    #[serde(default)]
    pub options: Vec<DeclaredOption>,
    /// The oldest stoq host it works with; empty for any.
    #[serde(default)]
    pub min_stoq_version: String,
}

impl PluginManifest {
    /// A plugin with a name, a version and roles; everything else empty (hosts' tests build
    /// these for fake plugins).
    pub fn new(name: impl Into<String>, version: impl Into<String>, roles: Vec<Role>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            author: String::new(),
            description: String::new(),
            website: String::new(),
            roles,
            required_workers: Vec::new(),
            options: Vec::new(),
            min_stoq_version: String::new(),
        }
    }

    /// Sets the default required workers.
    #[must_use]
    pub fn with_required_workers(mut self, workers: Vec<String>) -> Self {
        self.required_workers = workers;
        self
    }

    /// Sets the declared options.
    #[must_use]
    pub fn with_options(mut self, options: Vec<DeclaredOption>) -> Self {
        self.options = options;
        self
    }
}

/// What the host hands [`PluginModule::instantiate`](crate::ffi::PluginModule): which plugin
/// of the library, with which options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InstanceConfig {
    /// The plugin's name, one of the library's manifest.
    pub plugin_name: String,
    /// Its merged options.
    pub options: Map<String, Value>,
}

impl InstanceConfig {
    /// The configuration of plugin `plugin_name` with `options`.
    pub fn new(plugin_name: impl Into<String>, options: Map<String, Value>) -> Self {
        Self {
            plugin_name: plugin_name.into(),
            options,
        }
    }
}

/// Facts about an instance once its config hook ran ([`NewInstance::info`](crate::ffi::NewInstance)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InstanceFacts {
    /// The workers that must run before it on a payload, as the config hook left them.
    pub required_workers: Vec<String>,
    /// Options that were set but never read.
    pub unused_options: Vec<String>,
}

/// A worker's response without its extracted payloads ([`WorkerOutput::response`](crate::ffi::WorkerOutput)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WorkerEnvelope {
    /// Its results.
    pub results: Option<Value>,
    /// Its errors.
    pub errors: Vec<Error>,
    /// Workers for the same payload.
    pub dispatch_to: Vec<String>,
}

/// A provider item without its bytes (the JSON of an [`ITEM_ENVELOPE`](crate::ffi::ITEM_ENVELOPE)
/// item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ItemEnvelope {
    /// The provider's id for the item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A source-archiver task instead of bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Value>,
    /// The payload's metadata.
    pub payload_meta: PayloadMeta,
    /// The request's metadata, if the provider chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_meta: Option<RequestMeta>,
    /// The response's `scan_id`, if the provider chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
}

/// What the host says before calling `ingest` (the input of
/// [`CALL_PROVIDER_START`](crate::ffi::CALL_PROVIDER_START)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ProviderStart {
    /// How many items the host takes from its providers at once.
    pub max_in_flight: usize,
}

impl ProviderStart {
    /// The facts with this `max_in_flight`.
    pub fn new(max_in_flight: usize) -> Self {
        Self { max_in_flight }
    }
}
