//! A connector that appends each response, as one JSON line, to the file named by `path`.

use std::io::Write;
use std::sync::Mutex;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The connector.
pub struct FileConnector {
    file: Mutex<std::fs::File>,
}

impl Plugin for FileConnector {
    const INFO: PluginInfo = PluginInfo::new("file_connector", env!("CARGO_PKG_VERSION"))
        .description("Appends each response to a file");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let path = config
            .get_str("path")?
            .ok_or_else(|| Error::msg("option `path` is required"))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }
}

impl Connector for FileConnector {
    fn save(&self, response: &Value) -> Result<()> {
        let mut file = self.file.lock().map_err(|_| Error::msg("poisoned"))?;
        writeln!(file, "{response}")?;
        Ok(())
    }
}

stoq_plugin_abi::export_plugin!(FileConnector => connector);
