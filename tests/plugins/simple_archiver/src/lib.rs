//! stoQ's `simple_archiver` test plugin: `archive` answers `{"file_save_id": 12345}` (or
//! nothing with `return_nothing = true`). Knobs: `raise_exception`, `return_errors`.

use stoq_plugin_abi::prelude::*;

/// The archiver.
pub struct SimpleArchiver {
    raise_exception: bool,
    return_errors: bool,
    return_nothing: bool,
}

impl Plugin for SimpleArchiver {
    const INFO: PluginInfo = PluginInfo::new("simple_archiver", env!("CARGO_PKG_VERSION"))
        .description("Pretends to save payloads");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            return_errors: config.get_bool("return_errors")?.unwrap_or(false),
            return_nothing: config.get_bool("return_nothing")?.unwrap_or(false),
        })
    }
}

impl Archiver for SimpleArchiver {
    fn archive(
        &self,
        _payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<ArchiverResponse>> {
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        if self.return_nothing {
            return Ok(None);
        }
        let mut response = ArchiverResponse {
            results: Some(json!({"file_save_id": 12345})),
            ..ArchiverResponse::default()
        };
        if self.return_errors {
            response.errors.push(Error::msg("Test error please ignore"));
        }
        Ok(Some(response))
    }
}

stoq_plugin_abi::export_plugin!(SimpleArchiver => archiver);
