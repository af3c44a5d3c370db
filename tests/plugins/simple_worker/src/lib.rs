//! stoQ's `simple_worker` test plugin. Results `{"valuable_insight": "wow"}`; extracts
//! `extracted_payload` (default `Lorem ipsum`). Knobs (options): `extracted_dispatch_to`,
//! `should_scan`, `additional_dispatch_to`, `raise_exception`, `return_errors`,
//! `extracted_filename`, `extracted_should_archive`.

use stoq_plugin_abi::prelude::*;

/// The worker.
pub struct SimpleWorker {
    extracted_payload: String,
    extracted_dispatch_to: Vec<String>,
    should_scan: bool,
    additional_dispatch_to: Vec<String>,
    raise_exception: bool,
    return_errors: bool,
    extracted_filename: Option<String>,
    extracted_should_archive: bool,
}

impl Plugin for SimpleWorker {
    const INFO: PluginInfo = PluginInfo::new("simple_worker", env!("CARGO_PKG_VERSION"))
        .author("stoq tests")
        .description("Returns a valuable insight and extracts Lorem ipsum");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            extracted_payload: config
                .get_str("extracted_payload")?
                .unwrap_or_else(|| "Lorem ipsum".into()),
            extracted_dispatch_to: config
                .get_list("extracted_dispatch_to")?
                .unwrap_or_default(),
            should_scan: config.get_bool("should_scan")?.unwrap_or(true),
            additional_dispatch_to: config
                .get_list("additional_dispatch_to")?
                .unwrap_or_default(),
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            return_errors: config.get_bool("return_errors")?.unwrap_or(false),
            extracted_filename: config.get_str("extracted_filename")?,
            extracted_should_archive: config.get_bool("extracted_should_archive")?.unwrap_or(true),
        })
    }
}

impl Worker for SimpleWorker {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        stoq_plugin_abi::tracing::info!(size = payload.content().len(), "simple_worker scanning");
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        let mut meta = PayloadMeta::dispatch_to(self.extracted_dispatch_to.clone())
            .with_should_scan(self.should_scan)
            .with_should_archive(self.extracted_should_archive);
        if let Some(name) = &self.extracted_filename {
            meta = meta.with_extra("filename", name.as_str());
        }
        let mut response =
            WorkerResponse::new(json!({"valuable_insight": "wow"})).with_extracted([
                ExtractedPayload::new(self.extracted_payload.clone()).with_meta(meta),
            ]);
        response.dispatch_to = self.additional_dispatch_to.clone();
        if self.return_errors {
            response.errors.push(Error::msg("Test error please ignore"));
        }
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(SimpleWorker => worker);
