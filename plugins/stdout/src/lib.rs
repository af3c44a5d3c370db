//! The `stdout` connector: writes each response to standard output as one line of compact
//! JSON (JSON Lines), like stoQ's `stdout` connector with `compactly`.
//!
//! It has no options. Each response is serialised first, then written in one go while the
//! plugin holds the standard-output lock, and flushed, so lines written by concurrent saves
//! never interleave and a reader of a pipe sees each response as soon as it is saved.
//!
//! Notes:
//!
//! - The lock is the one of the plugin library's own standard library: it keeps this
//!   plugin's lines whole, but the host's own writes to standard output (if any) are not
//!   ordered with it.
//! - With `isolation = "process"` the plugin runs in a helper process whose standard output
//!   is stoq's standard error, so the lines end up there.

use std::io::Write;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{self, Value};

/// The stdout connector.
pub struct Stdout;

impl Plugin for Stdout {
    const INFO: PluginInfo = PluginInfo::new("stdout", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("Writes each response as one line of JSON to standard output");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

/// One response as a line of compact JSON, newline included.
pub fn json_line(response: &Value) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(response)?;
    line.push(b'\n');
    Ok(line)
}

impl Connector for Stdout {
    fn save(&self, response: &Value) -> Result<()> {
        let line = json_line(response)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&line)?;
        out.flush()?;
        Ok(())
    }
}

stoq_plugin_abi::export_plugin!(Stdout => connector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_one_compact_line() {
        let line = json_line(&json!({"results": [{"a": "b\nc"}]})).unwrap();
        assert_eq!(line, b"{\"results\":[{\"a\":\"b\\nc\"}]}\n");
    }
}
