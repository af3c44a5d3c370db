//! The golden files of the bundled plugins' unit tests (`plugins/<name>/tests/golden/`),
//! through the ABI crate's golden-file helper, with extracted payloads named by size and
//! SHA-256. Regenerate with `STOQ_UPDATE_GOLDEN=1 cargo test -p <package> golden` and review
//! the diff.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use stoq_plugin_abi::WorkerResponse;
use stoq_plugin_abi::testing::{TestError, golden};

/// A plugin's answer as a golden file holds it.
pub fn worker_output(outcome: &Result<WorkerResponse, TestError>) -> Value {
    golden::worker_output(outcome, |bytes| hex::encode(Sha256::digest(bytes)))
}

/// Writes a sample's bytes to `$STOQ_GOLDEN_SAMPLES`, when set.
pub fn dump_sample(name: &str, content: &[u8]) {
    golden::dump_sample(name, content);
}

/// Compares every case with its golden file in `<manifest_dir>/tests/golden/`; call it with
/// `env!("CARGO_MANIFEST_DIR")` and `env!("CARGO_PKG_NAME")`.
pub fn check(manifest_dir: &str, package: &str, cases: &[(String, Value)]) {
    golden::check(
        &Path::new(manifest_dir).join("tests/golden"),
        package,
        cases,
    );
}
