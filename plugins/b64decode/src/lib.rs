//! The `b64decode` worker: decodes a base64 payload (standard or URL-safe alphabet, padding
//! optional, whitespace ignored) and extracts the decoded bytes.
//!
//! Results: `{"decoded_size": n, "alphabet": "standard" | "url-safe"}`. A payload that is not
//! base64 is an error of this plugin on that payload. Option `max_size` (bytes, default
//! 100 MiB) bounds the input it decodes.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use stoq_plugin_abi::prelude::*;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// The base64 decoder.
pub struct B64Decode {
    max_size: usize,
}

impl Plugin for B64Decode {
    const INFO: PluginInfo = PluginInfo::new("b64decode", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("Decodes base64 payloads")
        .options(&[OptionSpec::int("max_size", 100 << 20)
            .doc("Largest payload decoded, in bytes (a larger one is an error)")]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_size = config.int("max_size")?;
        let max_size = usize::try_from(max_size)
            .map_err(|_| Error::msg(format!("option `max_size` must be >= 0, got {max_size}")))?;
        Ok(Self { max_size })
    }
}

/// Decodes `data` as base64, ignoring ASCII whitespace; returns the bytes and the alphabet.
pub fn decode(data: &[u8]) -> Result<(Vec<u8>, &'static str)> {
    let compact: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(Error::msg("the payload is empty or only whitespace"));
    }
    let url_safe = compact.iter().any(|b| matches!(b, b'-' | b'_'));
    let (engine, alphabet) = if url_safe {
        (&URL_SAFE, "url-safe")
    } else {
        (&STANDARD, "standard")
    };
    let decoded = engine
        .decode(&compact)
        .map_err(|e| Error::msg(format!("not base64: {e}")))?;
    Ok((decoded, alphabet))
}

impl Worker for B64Decode {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let content = payload.content();
        if content.len() > self.max_size {
            return Err(Error::msg(format!(
                "the payload has {} bytes, more than max_size ({})",
                content.len(),
                self.max_size
            )));
        }
        let (decoded, alphabet) = decode(content)?;
        let results = json!({ "decoded_size": decoded.len(), "alphabet": alphabet });
        let decoded = ExtractedPayload::new(decoded).with_extra("encoding", "base64");
        Ok(WorkerResponse::new(results).with_extracted([decoded]))
    }
}

stoq_plugin_abi::export_plugin!(B64Decode => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;

    #[test]
    fn scan_extracts_the_decoded_bytes() {
        let response = PluginTest::<B64Decode>::new()
            .scan(b"VGhlIHF1aWNr\n IGJyb3duIGZveA==")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"decoded_size": 19, "alphabet": "standard"}))
        );
        assert!(response.errors.is_empty());
        assert_eq!(response.extracted.len(), 1);
        let child = &response.extracted[0];
        assert_eq!(child.content, b"The quick brown fox");
        assert_eq!(
            child.payload_meta,
            PayloadMeta::new().with_extra("encoding", "base64")
        );

        let response = PluginTest::<B64Decode>::new().scan(b"-_8").expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"decoded_size": 2, "alphabet": "url-safe"}))
        );
        assert_eq!(response.extracted[0].content, [0xfb, 0xff]);
    }

    #[test]
    fn a_payload_that_is_not_base64_is_an_error() {
        let test = PluginTest::<B64Decode>::new();
        let err = test.scan(b"not base64!").expect_err("not base64");
        assert!(
            matches!(&err, TestError::Failed(m) if m.starts_with("not base64")),
            "{err:?}"
        );
        let err = test.scan(b" \n").expect_err("only whitespace");
        assert!(
            matches!(&err, TestError::Failed(m) if m.contains("empty")),
            "{err:?}"
        );
    }

    #[test]
    fn max_size_bounds_the_input() {
        let test = PluginTest::<B64Decode>::new().option("max_size", "4");
        assert_eq!(
            test.scan(b"Zm94").expect("4 bytes fit").extracted[0].content,
            b"fox"
        );
        let err = test.scan(b"Zm94IA==").expect_err("8 bytes do not");
        assert_eq!(
            err,
            TestError::Failed("the payload has 8 bytes, more than max_size (4)".into())
        );
        // The default: 100 MiB (refused before anything is decoded).
        let err = PluginTest::<B64Decode>::new()
            .scan(&vec![b'A'; (100 << 20) + 1])
            .expect_err("over 100 MiB");
        assert_eq!(
            err.message(),
            "the payload has 104857601 bytes, more than max_size (104857600)"
        );
    }

    #[test]
    fn a_bad_max_size_is_rejected_naming_the_option() {
        for bad in [json!(-1), json!("ten"), json!(1.5)] {
            let err = PluginTest::<B64Decode>::new()
                .option("max_size", bad.clone())
                .start()
                .expect_err("rejected");
            assert!(
                matches!(&err, TestError::Config(m) if m.contains("`max_size`")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn decodes_with_whitespace_missing_padding_and_url_alphabet() {
        assert_eq!(
            decode(b"VGhlIHF1aWNr\n IGJyb3duIGZveA==").unwrap().0,
            b"The quick brown fox"
        );
        assert_eq!(
            decode(b"VGhlIHF1aWNrIGJyb3duIGZveA").unwrap().0,
            b"The quick brown fox"
        );
        assert_eq!(decode(b"-_8").unwrap(), (vec![0xfb, 0xff], "url-safe"));
        assert!(decode(b"not base64!").is_err());
        assert!(decode(b" \n").is_err());
    }
}
