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
    use stoq_plugin_abi::testing::PluginTest;

    use super::*;

    /// Set for the child process of [`save_writes_one_line_per_response`].
    const CHILD: &str = "STOQ_STDOUT_TEST_CHILD";

    /// Run in a child process (the test harness does not capture direct writes to standard
    /// output): saves two responses through the connector's entry point.
    #[test]
    #[ignore = "run by save_writes_one_line_per_response in a child process"]
    fn save_in_a_child_process() {
        if std::env::var_os(CHILD).is_none() {
            return; // Not as a child (e.g. `cargo test -- --include-ignored`): nothing to see.
        }
        let test = PluginTest::<Stdout>::new();
        test.save(&json!({"scan_id": "one", "results": [{"a": "b\nc"}]}))
            .expect("saves");
        test.save(&json!({"scan_id": "two"})).expect("saves");
    }

    #[test]
    fn save_writes_one_line_per_response() {
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "tests::save_in_a_child_process", "--ignored"])
            .args(["--nocapture", "--test-threads=1", "-q"])
            .env(CHILD, "1")
            .output()
            .expect("runs the child");
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
        // Compact lines, compared as JSON (key order follows serde_json's features).
        assert!(lines.iter().all(|l| !l.contains(": ")), "{stdout}");
        let parsed: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
            .collect();
        assert_eq!(
            parsed,
            [
                json!({"scan_id": "one", "results": [{"a": "b\nc"}]}),
                json!({"scan_id": "two"})
            ],
            "{stdout}"
        );
    }

    #[test]
    fn a_response_is_one_compact_line() {
        let line = json_line(&json!({"results": [{"a": "b\nc"}]})).unwrap();
        assert_eq!(line, b"{\"results\":[{\"a\":\"b\\nc\"}]}\n");
    }
}
