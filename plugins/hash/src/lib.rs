//! The `hash` worker: hex digests of each payload, like stoQ's hash plugin.
//!
//! Results: `{"md5": .., "sha1": .., "sha256": ..}`, plus `"sha512"` with the option
//! `sha512 = true`.
//!
//! A payload of at least [`PARALLEL_THRESHOLD`] bytes has its digests computed on several
//! threads at once (each digest is inherently sequential, so the digests are split between
//! threads, balanced by their cost); smaller payloads, the common case, are hashed on the
//! calling thread, as spawning threads would cost more than it saves and the engine's pool
//! already keeps every core busy with many payloads.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::thread;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json;

/// Bytes fed to every digest of a thread in turn, so a large payload is read from memory once
/// per chunk and per thread while it is still in cache.
const CHUNK: usize = 256 * 1024;

/// Payloads at least this large are hashed on up to [`std::thread::available_parallelism`]
/// threads. Starting a thread (~50 us) is then under 0.5% of the serial time (~14 ms for 4 MiB
/// with SHA-NI), so little is lost when the engine's pool already has every core busy with
/// other payloads; smaller payloads would gain on an idle machine but are the pool's usual
/// load, where extra threads only contend.
pub const PARALLEL_THRESHOLD: usize = 4 * 1024 * 1024;

/// The hash worker.
pub struct Hash {
    sha512: bool,
}

impl Plugin for Hash {
    const INFO: PluginInfo = PluginInfo::new("hash", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("md5, sha1 and sha256 of each payload (sha512 optional)")
        .options(&[OptionSpec::bool("sha512", false).doc("Also compute the SHA-512 digest")]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            sha512: config.bool("sha512")?,
        })
    }
}

/// One of the digests, in stoQ's key order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Algo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Algo {
    fn key(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Sha512 => "sha512",
        }
    }

    /// Rough cost per byte, relative between digests, for balancing them over threads. With
    /// SHA-NI (which `sha1`/`sha2` detect at run time) sha1 and sha256 are ~3x cheaper than md5
    /// and sha512; without it sha256 is the dearest.
    fn cost(self) -> u32 {
        let shani = has_sha_ni();
        match self {
            Algo::Md5 => 10,
            Algo::Sha1 if shani => 3,
            Algo::Sha1 => 6,
            Algo::Sha256 if shani => 3,
            Algo::Sha256 => 14,
            Algo::Sha512 => 10,
        }
    }

    fn state(self) -> State {
        match self {
            Algo::Md5 => State::Md5(Md5::new()),
            Algo::Sha1 => State::Sha1(Sha1::new()),
            Algo::Sha256 => State::Sha256(Sha256::new()),
            Algo::Sha512 => State::Sha512(Sha512::new()),
        }
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn has_sha_ni() -> bool {
    std::arch::is_x86_feature_detected!("sha")
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn has_sha_ni() -> bool {
    false
}

/// A digest in progress.
enum State {
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl State {
    fn update(&mut self, data: &[u8]) {
        match self {
            State::Md5(d) => d.update(data),
            State::Sha1(d) => d.update(data),
            State::Sha256(d) => d.update(data),
            State::Sha512(d) => d.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            State::Md5(d) => hex::encode(d.finalize()),
            State::Sha1(d) => hex::encode(d.finalize()),
            State::Sha256(d) => hex::encode(d.finalize()),
            State::Sha512(d) => hex::encode(d.finalize()),
        }
    }
}

/// Hex digests by [`Algo`] index (`None`: not computed here). A fixed array, so the serial path
/// of a small payload allocates nothing but the hex strings.
type Hexes = [Option<String>; ALL.len()];

/// Every digest, in key order; `ALL[a as usize] == a`.
const ALL: [Algo; 4] = [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Sha512];

/// The digests `algos` of `content` on this thread, walking it once in [`CHUNK`]s.
fn hash_group(content: &[u8], algos: &[Algo]) -> Hexes {
    let mut states: [Option<State>; ALL.len()] = [None, None, None, None];
    for &algo in algos {
        states[algo as usize] = Some(algo.state());
    }
    for chunk in content.chunks(CHUNK) {
        for state in states.iter_mut().flatten() {
            state.update(chunk);
        }
    }
    states.map(|state| state.map(State::finish))
}

/// Fills `into`'s gaps from `from`.
fn merge(into: &mut Hexes, from: Hexes) {
    for (slot, hex) in into.iter_mut().zip(from) {
        if hex.is_some() {
            *slot = hex;
        }
    }
}

/// `algos` split into at most `threads` groups of about equal total cost (longest first, each
/// to the cheapest group so far).
fn partition(algos: &[Algo], threads: usize) -> Vec<Vec<Algo>> {
    let mut by_cost = algos.to_vec();
    by_cost.sort_by_key(|a| std::cmp::Reverse(a.cost()));
    let mut groups: Vec<(u32, Vec<Algo>)> = vec![(0, Vec::new()); threads.clamp(1, algos.len())];
    for algo in by_cost {
        let group = groups
            .iter_mut()
            .min_by_key(|(cost, _)| *cost)
            .expect("at least one group");
        group.0 += algo.cost();
        group.1.push(algo);
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

fn available_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// The digests of `content`, as lower-case hex, in stoQ's key order: on the calling thread
/// below [`PARALLEL_THRESHOLD`] bytes, else on up to `available_parallelism` threads.
pub fn digests(content: &[u8], sha512: bool) -> serde_json::Map<String, serde_json::Value> {
    let threads = if content.len() >= PARALLEL_THRESHOLD {
        available_threads()
    } else {
        1
    };
    digests_on(content, sha512, threads)
}

/// [`digests`] with the digests split over up to `threads` threads (the calling thread and
/// `threads - 1` scoped ones), whatever the size of `content`. Identical results for any
/// `threads`; if a thread cannot be spawned its digests are computed on the calling thread.
pub fn digests_on(
    content: &[u8],
    sha512: bool,
    threads: usize,
) -> serde_json::Map<String, serde_json::Value> {
    let algos = if sha512 { &ALL[..] } else { &ALL[..3] };
    let hexes = if threads <= 1 {
        hash_group(content, algos)
    } else {
        let groups = partition(algos, threads);
        thread::scope(|scope| {
            let (own, others) = groups.split_first().expect("at least one group");
            let spawned: Vec<_> = others
                .iter()
                .map(|group| {
                    let handle = thread::Builder::new()
                        .name("stoq-hash".into())
                        .spawn_scoped(scope, || hash_group(content, group));
                    (group, handle)
                })
                .collect();
            let mut hexes = hash_group(content, own);
            for (group, handle) in spawned {
                let theirs = match handle {
                    Ok(handle) => handle.join().expect("hash thread panicked"),
                    // Could not spawn (e.g. a thread limit): do that group here.
                    Err(_) => hash_group(content, group),
                };
                merge(&mut hexes, theirs);
            }
            hexes
        })
    };
    ALL.iter()
        .zip(hexes)
        .filter_map(|(algo, hex)| Some((algo.key().to_owned(), hex?.into())))
        .collect()
}

impl Worker for Hash {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        Ok(WorkerResponse::new(digests(payload.content(), self.sha512)))
    }
}

stoq_plugin_abi::export_plugin!(Hash => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;

    const FOX_MD5: &str = "a2004f37730b9445670a738fa0fc9ee5";
    const FOX_SHA1: &str = "c519c1a06cdbeb2bc499e22137fb48683858b345";
    const FOX_SHA256: &str = "5cac4f980fedc3d3f1f99b4be3472c9b30d56523e632d151237ec9309048bda9";

    #[test]
    fn scan_reports_md5_sha1_sha256_by_default() {
        let response = PluginTest::<Hash>::new()
            .scan(b"The quick brown fox")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({"md5": FOX_MD5, "sha1": FOX_SHA1, "sha256": FOX_SHA256}))
        );
        assert!(response.errors.is_empty() && response.extracted.is_empty());
    }

    #[test]
    fn option_sha512_adds_the_sha512_digest() {
        // As `--plugin-opts hash:sha512=true` gives it: a string.
        for value in [json!(true), json!("true")] {
            let response = PluginTest::<Hash>::new()
                .option("sha512", value)
                .scan(b"The quick brown fox")
                .expect("scans");
            let results = response.results.expect("results");
            let keys: Vec<&str> = results
                .as_object()
                .expect("an object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["md5", "sha1", "sha256", "sha512"]);
            assert_eq!(
                results["sha512"],
                hex::encode(Sha512::digest(b"The quick brown fox"))
            );
        }
        let response = PluginTest::<Hash>::new()
            .option("sha512", "no")
            .scan(b"The quick brown fox")
            .expect("scans");
        assert!(response.results.expect("results").get("sha512").is_none());
    }

    #[test]
    fn a_sha512_value_that_is_not_a_boolean_is_rejected() {
        let err = PluginTest::<Hash>::new()
            .option("sha512", "maybe")
            .start()
            .expect_err("rejected");
        let TestError::Config(message) = &err else {
            panic!("expected a configuration error, got {err:?}")
        };
        assert!(message.contains("`sha512`"), "{message}");
    }

    #[test]
    fn digests_match_stoq_test_vectors() {
        let d = digests(b"The quick brown fox", true);
        assert_eq!(d["md5"], FOX_MD5);
        assert_eq!(d["sha1"], FOX_SHA1);
        assert_eq!(d["sha256"], FOX_SHA256);
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

    /// The digests straight from the digest crates, in one call each.
    fn reference(data: &[u8], sha512: bool) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        out.insert("md5".into(), hex::encode(Md5::digest(data)).into());
        out.insert("sha1".into(), hex::encode(Sha1::digest(data)).into());
        out.insert("sha256".into(), hex::encode(Sha256::digest(data)).into());
        if sha512 {
            out.insert("sha512".into(), hex::encode(Sha512::digest(data)).into());
        }
        out
    }

    #[test]
    fn large_payload_digests_match_serial() {
        // Not a multiple of the chunk or of any block size; not periodic.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let data: Vec<u8> = (0..PARALLEL_THRESHOLD + CHUNK / 3 + 13)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for sha512 in [false, true] {
            let expected = reference(&data, sha512);
            let d = digests(&data, sha512);
            assert_eq!(d, expected, "sha512={sha512}");
            let keys: Vec<&str> = d.keys().map(String::as_str).collect();
            let want: &[&str] = if sha512 {
                &["md5", "sha1", "sha256", "sha512"]
            } else {
                &["md5", "sha1", "sha256"]
            };
            assert_eq!(keys, want);
            // Whatever the number of cores here, every split gives the same digests.
            for threads in 1..=5 {
                assert_eq!(
                    digests_on(&data, sha512, threads),
                    expected,
                    "{threads} threads"
                );
            }
        }
    }

    #[test]
    fn small_and_empty_payloads_match_reference_on_any_threads() {
        for len in [0, 1, 63, 64, 65, 4096] {
            let data = vec![0xa5_u8; len];
            for threads in [1, 2, 4] {
                assert_eq!(digests_on(&data, true, threads), reference(&data, true));
            }
        }
    }

    #[test]
    fn partition_balances_and_keeps_every_digest() {
        let all = ALL;
        assert!(ALL.iter().enumerate().all(|(i, a)| *a as usize == i));
        for threads in 1..=6 {
            let groups = partition(&all, threads);
            assert_eq!(groups.len(), threads.min(all.len()));
            assert!(groups.iter().all(|g| !g.is_empty()));
            let mut flat: Vec<Algo> = groups.concat();
            flat.sort();
            assert_eq!(flat, all);
        }
        if has_sha_ni() {
            let groups = partition(&all[..3], 2);
            assert_eq!(
                groups,
                vec![vec![Algo::Md5], vec![Algo::Sha1, Algo::Sha256]]
            );
        }
    }
}
