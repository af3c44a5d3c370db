//! stoQ's `conditional_dispatcher` test plugin: dispatches `workers` (default `simple_worker`)
//! only once some payload of the request has run `when` (default `dummy_worker`).

use stoq_plugin_abi::prelude::*;

/// The dispatcher.
pub struct ConditionalDispatcher {
    workers: Vec<String>,
    when: String,
}

impl Plugin for ConditionalDispatcher {
    const INFO: PluginInfo = PluginInfo::new("conditional_dispatcher", env!("CARGO_PKG_VERSION"))
        .description("Dispatches once another worker ran somewhere in the request");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            workers: config
                .get_list("workers")?
                .unwrap_or_else(|| vec!["simple_worker".into()]),
            when: config
                .get_str("when")?
                .unwrap_or_else(|| "dummy_worker".into()),
        })
    }
}

impl Dispatcher for ConditionalDispatcher {
    fn get_dispatches(
        &self,
        _payload: &Payload<'_>,
        request: &Request<'_>,
    ) -> Result<DispatcherResponse> {
        let fired = request
            .payloads()
            .iter()
            .any(|p| p.plugins_run.contains(&self.when));
        let mut response = DispatcherResponse::default();
        if fired {
            response.plugin_names = self.workers.clone();
            response
                .meta
                .insert("test_key".into(), "Useful metadata info".into());
        }
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(ConditionalDispatcher => dispatcher);
