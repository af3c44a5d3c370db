//! A root payload's content: bytes, a size only, or a loader run on a pool thread.

use bytes::Bytes;

#[cfg(doc)]
use super::Engine;

/// A root payload's bytes, or only its size when it was too large to read, or how to load it.
#[derive(Debug)]
pub enum Content {
    /// The bytes.
    Bytes(Bytes),
    /// Not read (e.g. a file over `max_payload_size`, checked before reading): the response
    /// lists it with this size and a limit error; it is never scanned or archived.
    Unread {
        /// Its size in bytes.
        size: u64,
    },
    /// Loaded by the pool thread that starts the request (so reading inputs runs on every
    /// core, and only requests that run hold their bytes). With [`Engine::scan_many`], a
    /// loader that returns `None` skips its input: no response (the loader reports why).
    Load(Loader),
}

/// Loads one root payload on a pool thread; see [`Content::Load`].
pub struct Loader(Box<dyn FnOnce() -> Option<Content> + Send>);

impl Loader {
    /// A loader running `load`; it must not return another [`Content::Load`].
    pub fn new(load: impl FnOnce() -> Option<Content> + Send + 'static) -> Self {
        Self(Box::new(load))
    }

    pub(crate) fn load(self) -> Option<Content> {
        match (self.0)() {
            Some(Content::Load(_)) => Some(Content::Unread { size: 0 }),
            other => other,
        }
    }
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loader")
    }
}

impl From<Bytes> for Content {
    fn from(bytes: Bytes) -> Self {
        Self::Bytes(bytes)
    }
}
