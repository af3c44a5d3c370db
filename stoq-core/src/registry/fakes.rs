//! Registries of fake in-process plugins, for the engine's tests.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use stoq_loader::Manifest;

use super::{LibraryFile, PluginEntry, Registry};
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
                    file: Arc::new(LibraryFile {
                        path: PathBuf::from(format!("fake/{}", fake.manifest.name)),
                        manifest: Manifest::new(vec![fake.manifest.clone()]),
                        library: OnceLock::new(),
                    }),
                    manifest: fake.manifest,
                    file_options: Options::new(),
                    options: fake.options,
                    instance: OnceLock::new(),
                    fake: Some(fake.make),
                },
            );
        }
        registry
    }
}
