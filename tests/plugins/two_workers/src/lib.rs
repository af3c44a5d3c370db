//! Two workers in one library (stoQ's `WorkerA` and `WorkerB` in one package): `worker_a`
//! greets (option `greeting`), `worker_b` requires `worker_a` and repeats what it said.

use stoq_plugin_abi::prelude::*;

/// Says its greeting.
pub struct WorkerA {
    greeting: String,
}

impl Plugin for WorkerA {
    const INFO: PluginInfo = PluginInfo::new("worker_a", env!("CARGO_PKG_VERSION"))
        .description("Greets every payload")
        .options(&[OptionSpec::string("greeting", "hello").doc("What to say")]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            greeting: config.string("greeting")?,
        })
    }
}

impl Worker for WorkerA {
    fn scan(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::new(json!({ "said": self.greeting })))
    }
}

/// Repeats what `worker_a` said, loudly.
pub struct WorkerB {
    times: i64,
}

impl Plugin for WorkerB {
    const INFO: PluginInfo = PluginInfo::new("worker_b", env!("CARGO_PKG_VERSION"))
        .description("Repeats worker_a")
        .required_workers(&["worker_a"])
        .options(&[OptionSpec::int("times", 2).doc("How many times to repeat")]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            times: config.int("times")?,
        })
    }
}

impl Worker for WorkerB {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let said = payload.worker_results()["worker_a"]["said"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase();
        let times = usize::try_from(self.times).unwrap_or(0);
        Ok(WorkerResponse::new(
            json!({ "repeated": vec![said; times] }),
        ))
    }
}

stoq_plugin_abi::export_plugin!(WorkerA => worker; WorkerB => worker);
