//! Why a plugin could not be used: the one error type the registry, the dependency check and
//! the engine share (so none of them imports another for it).

/// Why a plugin could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// No plugin of that name was found.
    #[error("no plugin named `{0}` was found in the plugin directories")]
    NotFound(String),
    /// The plugin exists but lacks the role it was asked for.
    #[error("plugin `{name}` is not a {role} (its roles: {roles})")]
    WrongRole {
        /// The plugin.
        name: String,
        /// The role asked for.
        role: &'static str,
        /// The roles it has.
        roles: String,
    },
    /// One of its required workers is not a loaded plugin.
    #[error("plugin `{name}`: required worker `{required}` is not a loaded plugin")]
    MissingRequiredWorker {
        /// The plugin.
        name: String,
        /// The required worker that is missing.
        required: String,
    },
    /// Its required workers form a cycle.
    #[error("plugin `{name}`: circular required workers: {}", .cycle.join(" -> "))]
    CircularRequiredWorkers {
        /// The plugin (the cycle's smallest name).
        name: String,
        /// The cycle, from `name` back to `name`.
        cycle: Vec<String>,
    },
    /// Its config hook rejected the options, or it failed to start.
    #[error("plugin `{name}` failed to start: {message}")]
    Instantiate {
        /// The plugin.
        name: String,
        /// The plugin's message.
        message: String,
    },
}

impl PluginError {
    /// The plugin concerned.
    pub fn plugin(&self) -> &str {
        match self {
            Self::NotFound(name)
            | Self::WrongRole { name, .. }
            | Self::MissingRequiredWorker { name, .. }
            | Self::CircularRequiredWorkers { name, .. }
            | Self::Instantiate { name, .. } => name,
        }
    }
}
