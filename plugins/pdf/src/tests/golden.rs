//! Golden files of this plugin (`tests/golden/`), through the ABI crate's golden-file helper:
//! regenerate with `STOQ_UPDATE_GOLDEN=1 cargo test -p <package> golden` and review the diff.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::testing::{TestError, golden};

/// The folder of this plugin's golden files.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The plugin's answer as a golden file holds it (extracted payloads by size and SHA-256).
pub fn worker_output(outcome: &Result<WorkerResponse, TestError>) -> Value {
    golden::worker_output(outcome, |bytes| {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// Writes a sample's bytes to `$STOQ_GOLDEN_SAMPLES`, when set.
pub fn dump_sample(name: &str, content: &[u8]) {
    golden::dump_sample(name, content);
}

/// Compares every case with its golden file.
pub fn check(cases: &[(String, Value)]) {
    golden::check(&dir(), env!("CARGO_PKG_NAME"), cases);
}
