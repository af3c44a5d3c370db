//! A connector that appends each response, as one JSON line, to the file named by `path`.
//! With `fail = true`, `save` fails with `Test exception, please ignore` and writes nothing.

use std::io::Write;
use std::sync::Mutex;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The connector.
pub struct FileConnector {
    file: Mutex<std::fs::File>,
    fail: bool,
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
            fail: config.get_bool("fail")?.unwrap_or(false),
        })
    }
}

impl Connector for FileConnector {
    fn save(&self, response: &Value) -> Result<()> {
        if self.fail {
            return Err(Error::msg("Test exception, please ignore"));
        }
        let mut file = self.file.lock().map_err(|_| Error::msg("poisoned"))?;
        writeln!(file, "{response}")?;
        Ok(())
    }
}

stoq_plugin_abi::export_plugin!(FileConnector => connector);
