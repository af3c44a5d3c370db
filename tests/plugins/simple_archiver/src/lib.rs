//! stoQ's `simple_archiver` test plugin: `archive` answers `{"file_save_id": 12345}` (or
//! nothing with `return_nothing = true`); `get` (as a source archiver) returns `payload`
//! (default `This is a payload from the archiver`) with the task as its `extra_data` (or
//! nothing with `return_nothing = true`). Knobs: `raise_exception` (both fail),
//! `return_errors`, `return_nothing`, `payload`.

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The archiver.
pub struct SimpleArchiver {
    raise_exception: bool,
    return_errors: bool,
    return_nothing: bool,
    payload: String,
}

impl Plugin for SimpleArchiver {
    const INFO: PluginInfo = PluginInfo::new("simple_archiver", env!("CARGO_PKG_VERSION"))
        .description("Pretends to save payloads, and fetches one for any task");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            return_errors: config.get_bool("return_errors")?.unwrap_or(false),
            return_nothing: config.get_bool("return_nothing")?.unwrap_or(false),
            payload: config
                .get_str("payload")?
                .unwrap_or_else(|| "This is a payload from the archiver".into()),
        })
    }
}

impl Archiver for SimpleArchiver {
    fn archive(&self, _payload: &Payload<'_>, _request: &Request<'_>) -> Result<ArchiverResponse> {
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        if self.return_nothing {
            return Ok(ArchiverResponse::empty());
        }
        let mut response = ArchiverResponse::new(json!({"file_save_id": 12345}));
        if self.return_errors {
            response.errors.push(Error::msg("Test error please ignore"));
        }
        Ok(response)
    }

    fn get(&self, task: &Value) -> Result<Option<ExtractedPayload>> {
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        if self.return_nothing {
            return Ok(None);
        }
        let meta =
            PayloadMeta::new().with_extra_data(task.as_object().cloned().unwrap_or_default());
        Ok(Some(
            ExtractedPayload::new(self.payload.clone().into_bytes()).with_meta(meta),
        ))
    }
}

stoq_plugin_abi::export_plugin!(SimpleArchiver => archiver);
