//! Reading a worker's response in a plugin's unit tests, as [`PluginTest`] returns it.
//!
//! [`PluginTest`]: stoq_plugin_abi::testing::PluginTest

use serde_json::Value;
use stoq_plugin_abi::WorkerResponse;

/// The worker's results; panics when it returned none.
pub fn results(response: &WorkerResponse) -> &Value {
    response.results.as_ref().expect("results")
}

/// The messages of the errors the worker reported, in order.
pub fn messages(response: &WorkerResponse) -> Vec<String> {
    response
        .errors
        .iter()
        .map(|e| e.message().to_owned())
        .collect()
}

/// Each extracted payload's `filename` and bytes, in order.
pub fn children(response: &WorkerResponse) -> Vec<(String, Vec<u8>)> {
    response
        .extracted
        .iter()
        .map(|e| {
            (
                e.payload_meta.extra_data["filename"]
                    .as_str()
                    .expect("an extracted payload with a filename")
                    .to_owned(),
                e.content.clone(),
            )
        })
        .collect()
}
