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
        .default_options("max_size = 104857600");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_size = config.get_int("max_size")?.unwrap_or(100 << 20);
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
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
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
        let meta = PayloadMeta::default().with_extra("encoding", "base64");
        Ok(Some(WorkerResponse::new(results).with_extracted([
            ExtractedPayload::with_meta(decoded, meta),
        ])))
    }
}

stoq_plugin_abi::export_plugin!(B64Decode => worker);

#[cfg(test)]
mod tests {
    use super::decode;

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
