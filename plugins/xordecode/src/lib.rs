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
        .description("XOR-decodes payloads with a key from the dispatch meta or an option")
        .options(&[OptionSpec::string("xorkey", "").optional().doc(
            "The key when the dispatch meta has none: a byte (65, 0x41) or hex bytes (0x4142)",
        )]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let key = config
            .get_str("xorkey")?
            .map(|key| parse_key(&Value::String(key)))
            .transpose()
            .map_err(|e| Error::msg(format!("option `xorkey`: {e}")))?;
        Ok(Self { key })
    }
}

impl Worker for XorDecode {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
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
        let decoded = ExtractedPayload::new(decoded).with_extra("xorkey", shown.as_str());
        Ok(
            WorkerResponse::new(json!({ "xorkey": shown, "source": source }))
                .with_extracted([decoded]),
        )
    }
}

stoq_plugin_abi::export_plugin!(XorDecode => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;

    #[test]
    fn scan_xors_with_the_key_option() {
        // As `--plugin-opts xordecode:xorkey=0x2020` gives it.
        let response = PluginTest::<XorDecode>::new()
            .option("xorkey", "0x2020")
            .scan(b"hELLO")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"xorkey": "0x2020", "source": "option"}))
        );
        assert_eq!(response.extracted.len(), 1);
        let child = &response.extracted[0];
        assert_eq!(child.content, b"Hello");
        assert_eq!(
            child.payload_meta,
            PayloadMeta::new().with_extra("xorkey", "0x2020")
        );
        // A number, as a TOML file gives it.
        let response = PluginTest::<XorDecode>::new()
            .option("xorkey", 32)
            .scan(b"A")
            .expect("scans");
        assert_eq!(response.extracted[0].content, b"a");
    }

    #[test]
    fn a_key_in_the_dispatch_meta_wins_over_the_option() {
        let response = PluginTest::<XorDecode>::new()
            .option("xorkey", "0x01")
            .dispatch_meta(
                "yara",
                json!({"xor_rule": {"xorkey": 32, "plugin": "xordecode"}}),
            )
            .scan(b"ABC")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"xorkey": "0x20", "source": "dispatch_meta"}))
        );
        assert_eq!(response.extracted[0].content, b"abc");
        // A bad key there is an error on that payload.
        let err = PluginTest::<XorDecode>::new()
            .dispatch_meta("yara", json!({"xorkey": "zz"}))
            .scan(b"ABC")
            .expect_err("a bad key");
        assert!(
            matches!(&err, TestError::Failed(m) if m.contains("invalid xorkey")),
            "{err:?}"
        );
    }

    #[test]
    fn no_key_anywhere_is_an_error() {
        let test = PluginTest::<XorDecode>::new();
        test.start().expect("starts without a key");
        let err = test.scan(b"ABC").expect_err("no key");
        assert_eq!(
            err,
            TestError::Failed("no xorkey: none in the dispatch meta and no `xorkey` option".into())
        );
    }

    #[test]
    fn a_bad_key_option_is_rejected_naming_the_option() {
        for bad in [json!("zz"), json!(""), json!([1])] {
            let err = PluginTest::<XorDecode>::new()
                .option("xorkey", bad.clone())
                .start()
                .expect_err("rejected");
            assert!(
                matches!(&err, TestError::Config(m) if m.contains("`xorkey`")),
                "{bad}: {err:?}"
            );
        }
    }

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
