//! stoQ's `request_provider` test plugin: puts one payload, `Dummy payload`, carrying its own
//! request metadata `{"extra_data": {"dummy": "1"}}` (stoQ's provider `Request`); with
//! `specify_request_meta = false` it carries none, and the request gets `stoq run`'s.

use stoq_plugin_abi::prelude::*;

/// The provider.
pub struct RequestProvider {
    specify_request_meta: bool,
}

impl Plugin for RequestProvider {
    const INFO: PluginInfo = PluginInfo::new("request_provider", env!("CARGO_PKG_VERSION"))
        .author("stoq tests")
        .description("Provides one payload with its own request metadata");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            specify_request_meta: config.get_bool("specify_request_meta")?.unwrap_or(true),
        })
    }
}

impl Provider for RequestProvider {
    fn ingest(&self, sink: &Sink<'_>) -> Result<()> {
        let mut item = IngestItem::payload(b"Dummy payload".to_vec());
        if self.specify_request_meta {
            let mut meta = RequestMeta::default();
            meta.extra_data.insert("dummy".into(), json!("1"));
            item = item.with_request_meta(meta);
        }
        sink.put(item);
        Ok(())
    }
}

stoq_plugin_abi::export_plugin!(RequestProvider => provider);
