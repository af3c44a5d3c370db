//! Registries of fake in-process plugins, for the engine's tests.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{PluginEntry, Registry};
use crate::options::Options;

impl Registry {
    /// A registry of in-process fakes (tests): each is started, by `make`, on first use.
    #[cfg(test)]
    pub(crate) fn with_fakes(fakes: Vec<crate::fake::FakeEntry>) -> Self {
        let mut registry = Self::empty();
        for fake in fakes {
            registry.plugins.insert(
                fake.manifest.name.clone(),
                PluginEntry {
                    path: PathBuf::from(format!("fake/{}", fake.manifest.name)),
                    manifest: fake.manifest,
                    library: OnceLock::new(),
                    file_options: fake.options,
                    default_options: Options::new(),
                    instance: OnceLock::new(),
                    fake: Some(fake.make),
                },
            );
        }
        registry
    }
}
