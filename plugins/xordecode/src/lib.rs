//! The `xordecode` worker: XORs a payload with a key and extracts the result.
//!
//! The key comes from the payload's dispatch metadata (any dispatcher's meta holding an
//! `xorkey`, e.g. a YARA rule's meta), else from the option `xorkey`. A key is a byte (`65`,
//! `"0x41"`) or several bytes in hex (`"0x4142"`), repeated over the payload.
//!
//! Results: `{"xorkey": "0x41", "source": "dispatch_meta" | "option"}`. No key is an error.

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// The XOR decoder.
pub struct XorDecode {
    key: Option<Vec<u8>>,
}

/// Parses a key: an integer 0-255, or hex bytes with or without `0x`.
pub fn parse_key(value: &Value) -> Result<Vec<u8>> {
    let bad = || {
        Error::msg(format!(
            "invalid xorkey {value}: use a byte (65, \"0x41\") or hex bytes (\"0x4142\")"
        ))
    };
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map(|b| vec![b])
            .ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u8>() {
                return Ok(vec![n]);
            }
            let digits = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            let digits = if digits.len() % 2 == 1 {
                format!("0{digits}")
            } else {
                digits.to_owned()
            };
            let key = hex::decode(digits).map_err(|_| bad())?;
            if key.is_empty() { Err(bad()) } else { Ok(key) }
        }
        _ => Err(bad()),
    }
}

/// Finds an `xorkey` anywhere in the dispatch metadata (depth-first, dispatchers in name order).
fn key_in(meta: &Value) -> Option<&Value> {
    match meta {
        Value::Object(map) => map.get("xorkey").or_else(|| map.values().find_map(key_in)),
        Value::Array(items) => items.iter().find_map(key_in),
        _ => None,
    }
}

impl Plugin for XorDecode {
    const INFO: PluginInfo = PluginInfo::new("xordecode", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("XOR-decodes payloads with a key from the dispatch meta or an option");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let key = config.raw("xorkey").map(parse_key).transpose()?;
        Ok(Self { key })
    }
}

impl Worker for XorDecode {
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        let meta = Value::Object(payload.dispatch_meta().clone());
        let (key, source) = match key_in(&meta) {
            Some(found) => (parse_key(found)?, "dispatch_meta"),
            None => (
                self.key.clone().ok_or_else(|| {
                    Error::msg("no xorkey: none in the dispatch meta and no `xorkey` option")
                })?,
                "option",
            ),
        };
        let decoded: Vec<u8> = payload
            .content()
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        let shown = format!("0x{}", hex::encode(&key));
        let meta = PayloadMeta::default().with_extra("xorkey", shown.as_str());
        Ok(Some(
            WorkerResponse::new(json!({ "xorkey": shown, "source": source }))
                .with_extracted([ExtractedPayload::with_meta(decoded, meta)]),
        ))
    }
}

stoq_plugin_abi::export_plugin!(XorDecode => worker);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_every_documented_form() {
        assert_eq!(parse_key(&json!(65)).unwrap(), [0x41]);
        assert_eq!(parse_key(&json!("65")).unwrap(), [65]);
        assert_eq!(parse_key(&json!("0x41")).unwrap(), [0x41]);
        assert_eq!(parse_key(&json!("0x4142")).unwrap(), [0x41, 0x42]);
        assert_eq!(parse_key(&json!("0xA")).unwrap(), [0x0a]);
        assert!(parse_key(&json!(300)).is_err());
        assert!(parse_key(&json!("zz")).is_err());
        assert!(parse_key(&json!("")).is_err());
    }

    #[test]
    fn the_key_is_found_in_nested_dispatch_meta() {
        let meta = json!({"yara": {"xor_rule": {"xorkey": "0x20", "plugin": "xordecode"}}});
        assert_eq!(key_in(&meta), Some(&json!("0x20")));
    }
}
