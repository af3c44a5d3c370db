//! The `hash` worker: hex digests of each payload, like stoQ's hash plugin.
//!
//! Results: `{"md5": .., "sha1": .., "sha256": ..}`, plus `"sha512"` with the option
//! `sha512 = true`.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json;

/// Bytes fed to every digest in turn, so a large payload is read from memory once per chunk
/// while it is still in cache.
const CHUNK: usize = 64 * 1024;

/// The hash worker.
pub struct Hash {
    sha512: bool,
}

impl Plugin for Hash {
    const INFO: PluginInfo = PluginInfo::new("hash", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("md5, sha1 and sha256 of each payload (sha512 optional)")
        .default_options("sha512 = false");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            sha512: config.get_bool("sha512")?.unwrap_or(false),
        })
    }
}

/// The digests of `content`, as lower-case hex, in stoQ's key order.
pub fn digests(content: &[u8], sha512: bool) -> serde_json::Map<String, serde_json::Value> {
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut sha256 = Sha256::new();
    let mut sha512_state = sha512.then(Sha512::new);
    for chunk in content.chunks(CHUNK) {
        md5.update(chunk);
        sha1.update(chunk);
        sha256.update(chunk);
        if let Some(state) = sha512_state.as_mut() {
            state.update(chunk);
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("md5".into(), hex::encode(md5.finalize()).into());
    out.insert("sha1".into(), hex::encode(sha1.finalize()).into());
    out.insert("sha256".into(), hex::encode(sha256.finalize()).into());
    if let Some(state) = sha512_state {
        out.insert("sha512".into(), hex::encode(state.finalize()).into());
    }
    out
}

impl Worker for Hash {
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        Ok(Some(WorkerResponse::new(digests(
            payload.content(),
            self.sha512,
        ))))
    }
}

stoq_plugin_abi::export_plugin!(Hash => worker);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_stoq_test_vectors() {
        let d = digests(b"The quick brown fox", true);
        assert_eq!(d["md5"], "a2004f37730b9445670a738fa0fc9ee5");
        assert_eq!(d["sha1"], "c519c1a06cdbeb2bc499e22137fb48683858b345");
        assert_eq!(
            d["sha256"],
            "5cac4f980fedc3d3f1f99b4be3472c9b30d56523e632d151237ec9309048bda9"
        );
        assert!(
            d["sha512"]
                .as_str()
                .is_some_and(|s| s.starts_with("015e6d23") && s.ends_with("c24f77e0"))
        );
    }

    #[test]
    fn chunking_does_not_change_digests() {
        let data: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        let d = digests(&data, false);
        assert_eq!(d["sha256"], hex::encode(Sha256::digest(&data)));
        assert_eq!(d["md5"], hex::encode(Md5::digest(&data)));
    }
}
