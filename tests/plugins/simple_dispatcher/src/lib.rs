//! stoQ's `simple_dispatcher` test plugin: dispatches every payload to `workers` (default
//! `dummy_worker`) with meta `{"test_key": "Useful metadata info"}`; fails with
//! `raise_exception = true`; `meta` (a JSON object) adds to the meta; `sleep` (seconds) waits
//! before answering.

use stoq_plugin_abi::prelude::*;

/// The dispatcher.
pub struct SimpleDispatcher {
    workers: Vec<String>,
    raise_exception: bool,
    sleep: f64,
    meta: stoq_plugin_abi::serde_json::Map<String, stoq_plugin_abi::serde_json::Value>,
}

impl Plugin for SimpleDispatcher {
    const INFO: PluginInfo = PluginInfo::new("simple_dispatcher", env!("CARGO_PKG_VERSION"))
        .description("Dispatches to the configured workers");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            workers: config
                .get_list("workers")?
                .unwrap_or_else(|| vec!["dummy_worker".into()]),
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            sleep: config.get_float("sleep")?.unwrap_or(0.0).max(0.0),
            meta: config.get("meta")?.unwrap_or_default(),
        })
    }
}

impl Dispatcher for SimpleDispatcher {
    fn get_dispatches(
        &self,
        _payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<DispatcherResponse> {
        if self.sleep > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(self.sleep));
        }
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        let mut response = DispatcherResponse::new(self.workers.clone())
            .with_meta("test_key", "Useful metadata info");
        response.meta.extend(self.meta.clone());
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(SimpleDispatcher => dispatcher);
