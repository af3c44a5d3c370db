//! Times the hash worker: `cargo run --release -p stoq-plugin-hash --example hash_bench -- FILE`.
//!
//! Prints the min of 3 runs of the former serial digests and of a `Hash` scan on FILE (with and
//! without sha512), each digest's single-thread throughput on FILE, serial against parallel at
//! sizes around the threshold, and the scan rate on 4 KiB and 64 KiB payloads.
//!
//! A scan runs through `PluginTest`, the entry point the host calls: it includes catching
//! panics and encoding the response to its wire form, as a scan by `stoq` does (but not the
//! host's side of the call).

use std::hint::black_box;
use std::time::{Duration, Instant};

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use stoq_plugin_abi::serde_json::{Map, Value};
use stoq_plugin_abi::testing::PluginTest;
use stoq_plugin_hash::Hash;

fn min_of_3(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("three runs")
}

fn worker(sha512: bool) -> PluginTest<Hash> {
    let hash = PluginTest::<Hash>::new().option("sha512", sha512);
    hash.start().expect("hash worker");
    hash
}

fn scan(hash: &PluginTest<Hash>, content: &[u8]) {
    black_box(hash.scan(content).expect("scan"));
}

/// The worker's digests before they were parallelised, for comparison: one thread, every
/// digest fed each 64 KiB chunk in turn.
fn serial_before(content: &[u8], sha512: bool) -> Map<String, Value> {
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut sha256 = Sha256::new();
    let mut sha512_state = sha512.then(Sha512::new);
    for chunk in content.chunks(64 * 1024) {
        md5.update(chunk);
        sha1.update(chunk);
        sha256.update(chunk);
        if let Some(state) = sha512_state.as_mut() {
            state.update(chunk);
        }
    }
    let mut out = Map::new();
    out.insert("md5".into(), hex::encode(md5.finalize()).into());
    out.insert("sha1".into(), hex::encode(sha1.finalize()).into());
    out.insert("sha256".into(), hex::encode(sha256.finalize()).into());
    if let Some(state) = sha512_state {
        out.insert("sha512".into(), hex::encode(state.finalize()).into());
    }
    out
}

fn gbps(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

fn one<D: Digest>(content: &[u8]) {
    black_box(D::digest(content));
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: bench FILE");
    let content = std::fs::read(&path).expect("read FILE");
    if std::env::var_os("SMALL_ONLY").is_some() {
        return small_only(&content);
    }
    let len = content.len();
    println!("{path}: {len} bytes");

    for sha512 in [false, true] {
        let t = min_of_3(|| {
            black_box(serial_before(&content, sha512));
        });
        println!(
            "serial (before) sha512={sha512}: {:.3} s ({:.2} GB/s)",
            t.as_secs_f64(),
            gbps(len, t)
        );
        let hash = worker(sha512);
        let t = min_of_3(|| scan(&hash, &content));
        println!(
            "scan sha512={sha512}: {:.3} s ({:.2} GB/s)",
            t.as_secs_f64(),
            gbps(len, t)
        );
    }

    for (name, f) in [
        ("md5", one::<Md5> as fn(&[u8])),
        ("sha1", one::<Sha1>),
        ("sha256", one::<Sha256>),
        ("sha512", one::<Sha512>),
    ] {
        let t = min_of_3(|| f(&content));
        println!(
            "{name} alone: {:.3} s ({:.2} GB/s)",
            t.as_secs_f64(),
            gbps(len, t)
        );
    }

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for size in [4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20] {
        let part = &content[..size];
        let reps = (64 << 20) / size;
        let time = |threads| {
            min_of_3(|| {
                for _ in 0..reps {
                    black_box(stoq_plugin_hash::digests_on(
                        black_box(part),
                        false,
                        threads,
                    ));
                }
            })
            .as_secs_f64()
                * 1e3
                / reps as f64
        };
        let (serial, parallel) = (time(1), time(threads));
        println!(
            "{} KiB: serial {serial:.3} ms, {threads} threads {parallel:.3} ms",
            size >> 10
        );
    }

    let hash = worker(false);
    for size in [4 * 1024, 64 * 1024] {
        let n = (256 << 20) / size;
        let t = min_of_3(|| {
            for chunk in content[..n * size].chunks(size) {
                scan(&hash, chunk);
            }
        });
        let before = min_of_3(|| {
            for chunk in content[..n * size].chunks(size) {
                black_box(serial_before(black_box(chunk), false));
            }
        });
        println!(
            "{} KiB payloads, serial (before) digests: {:.0}/s ({:.2} us each)",
            size / 1024,
            n as f64 / before.as_secs_f64(),
            before.as_secs_f64() * 1e6 / n as f64
        );
        println!(
            "{} KiB payloads: {:.0}/s ({:.2} us each)",
            size / 1024,
            n as f64 / t.as_secs_f64(),
            t.as_secs_f64() * 1e6 / n as f64
        );
    }
}

/// `SMALL_ONLY=1`: 4 KiB payloads only, the former digests and `digests` alternated 5 times.
fn small_only(content: &[u8]) {
    let size = 4096;
    let part = &content[..64 << 20];
    for _ in 0..5 {
        let before = min_of_3(|| {
            for chunk in part.chunks(size) {
                black_box(serial_before(black_box(chunk), false));
            }
        });
        let after = min_of_3(|| {
            for chunk in part.chunks(size) {
                black_box(stoq_plugin_hash::digests(black_box(chunk), false));
            }
        });
        let n = (part.len() / size) as f64;
        println!(
            "4 KiB: before {:.2} us, after {:.2} us",
            before.as_secs_f64() * 1e6 / n,
            after.as_secs_f64() * 1e6 / n
        );
    }
}
