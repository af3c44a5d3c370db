//! stoQ's `simple_decorator` test plugin: answers `{"simple_decoration": 123, "payloads": n}`,
//! `n` being the number of results in the response it decorates. Knobs: `raise_exception`,
//! `return_errors`.

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The decorator.
pub struct SimpleDecorator {
    raise_exception: bool,
    return_errors: bool,
}

impl Plugin for SimpleDecorator {
    const INFO: PluginInfo = PluginInfo::new("simple_decorator", env!("CARGO_PKG_VERSION"))
        .description("Summarises a response");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            raise_exception: config.get_bool("raise_exception")?.unwrap_or(false),
            return_errors: config.get_bool("return_errors")?.unwrap_or(false),
        })
    }
}

impl Decorator for SimpleDecorator {
    fn decorate(&self, response: &Value) -> Result<DecoratorResponse> {
        if self.raise_exception {
            return Err(Error::msg("Test exception please ignore"));
        }
        let payloads = response["results"].as_array().map_or(0, Vec::len);
        let mut decorated =
            DecoratorResponse::new(json!({"simple_decoration": 123, "payloads": payloads}));
        if self.return_errors {
            decorated
                .errors
                .push(Error::msg("Test error please ignore"));
        }
        Ok(decorated)
    }
}

stoq_plugin_abi::export_plugin!(SimpleDecorator => decorator);
