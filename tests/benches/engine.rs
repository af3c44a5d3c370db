//! Scheduler benchmarks (issue 3), each next to a baseline measured in the same run. Run with
//! `cargo xtask bench`; results go in BENCHMARKS.md.
//!
//! (a) no-op worker over 10,000 × 4 KiB payloads, in-process: payload-scans/s, and the cost per
//!     (payload, worker) beyond a direct call of the same worker;
//! (b) hash over 10,000 × 4 KiB and 100 × 1 MiB: MB/s against the same three digests in a bare
//!     loop on the same number of threads;
//! (c) extraction: each root split into 4 children, every payload hashed: all-payloads/s;
//! (d) peak RSS of `stoq scan` on a 1 GiB file with hash, against the file size;
//! (e) wall time of a whole `stoq scan` of one small file with hash, against `stoq --version`.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Map;
use stoq_core::{Engine, Registry};
use stoq_plugin_abi::{Payload, Request, Worker};

const RUNS: usize = 3;

fn var(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run `cargo xtask bench`"))
}

fn registry() -> Arc<Registry> {
    Arc::new(Registry::discover(
        &[var("STOQ_BUNDLED_PLUGIN_DIR"), var("STOQ_TEST_PLUGIN_DIR")],
        Default::default(),
    ))
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Payloads that differ from each other (nothing is deduplicated).
fn payloads(count: usize, size: usize) -> Vec<bytes::Bytes> {
    let pattern: Vec<u8> = (0..size).map(|j| (j % 251) as u8).collect();
    (0..count)
        .map(|i| {
            let mut v = pattern.clone();
            let n = v.len().min(8);
            v[..n].copy_from_slice(&(i as u64).to_le_bytes()[..n]);
            v.into()
        })
        .collect()
}

/// Scans every payload with `Engine::scan_many`; returns the wall time and the number of
/// payloads in all responses.
fn scan_all(engine: &Engine, inputs: &[bytes::Bytes]) -> (Duration, usize) {
    let start = Instant::now();
    let mut total = 0;
    engine.scan_many(
        inputs
            .iter()
            .map(|c| (c.clone(), Default::default(), Default::default())),
        0,
        |_, response| {
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            total += response.results.len();
        },
    );
    (start.elapsed(), total)
}

fn best(runs: impl Fn() -> (Duration, usize)) -> (Duration, usize) {
    (0..RUNS)
        .map(|_| runs())
        .min_by_key(|(d, _)| *d)
        .expect("runs")
}

/// The same work split over `jobs()` plain threads.
fn bare_loop(inputs: &[bytes::Bytes], work: impl Fn(&[u8]) + Sync) -> Duration {
    let chunk = inputs.len().div_ceil(jobs());
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for part in inputs.chunks(chunk) {
                    let work = &work;
                    s.spawn(move || part.iter().for_each(|p| work(p)));
                }
            });
            start.elapsed()
        })
        .min()
        .expect("runs")
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn bench_noop() {
    let inputs = payloads(10_000, 4096);
    let engine = Engine::builder(registry())
        .always_dispatch(["dummy_worker"])
        .build()
        .expect("engine");
    let (elapsed, results) = best(|| scan_all(&engine, &inputs));
    assert_eq!(results, inputs.len());
    let facts = Map::new();
    let direct = stoq_test_dummy_worker::DummyWorker;
    let baseline = bare_loop(&inputs, |p| {
        let payload = Payload::for_test(black_box(p), &facts);
        black_box(
            direct
                .scan(&payload, &Request::for_test(&facts))
                .expect("scan"),
        );
    });
    let rate = per_sec(inputs.len(), elapsed);
    let per_scan_ns = elapsed.as_nanos() as f64 * jobs() as f64 / inputs.len() as f64;
    let direct_ns = baseline.as_nanos() as f64 * jobs() as f64 / inputs.len() as f64;
    println!(
        "\n## (a) no-op worker, 10,000 × 4 KiB, {} threads, best of {RUNS}\n",
        jobs()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| payload-scans/s through the engine | {rate:.0} |");
    println!("| thread-time per (payload, worker), engine | {per_scan_ns:.0} ns |");
    println!("| thread-time per call, direct `Worker::scan` (baseline) | {direct_ns:.0} ns |");
    println!(
        "| **engine cost per (payload, worker) beyond a direct call** | **{:.0} ns** |",
        per_scan_ns - direct_ns
    );
}

fn bench_hash(count: usize, size: usize) {
    let inputs = payloads(count, size);
    let engine = Engine::builder(registry())
        .always_dispatch(["hash"])
        .build()
        .expect("engine");
    let (elapsed, _) = best(|| scan_all(&engine, &inputs));
    let baseline = bare_loop(&inputs, |p| {
        black_box(stoq_plugin_hash::digests(black_box(p), false));
    });
    let bytes = (count * size) as f64;
    let mbps = |d: Duration| bytes / d.as_secs_f64() / 1e6;
    println!(
        "\n### {count} × {} KiB, {} threads, best of {RUNS}\n",
        size / 1024,
        jobs()
    );
    println!("| run | payloads/s | MB/s |");
    println!("|---|---|---|");
    println!(
        "| stoq engine, `-a hash` | {:.0} | {:.0} |",
        per_sec(count, elapsed),
        mbps(elapsed)
    );
    println!(
        "| bare loop, same digests (baseline) | {:.0} | {:.0} |",
        per_sec(count, baseline),
        mbps(baseline)
    );
    println!(
        "| **ratio engine / baseline** | **{:.1}%** | |",
        100.0 * baseline.as_secs_f64() / elapsed.as_secs_f64()
    );
}

fn bench_extract(count: usize, size: usize) {
    let inputs = payloads(count, size);
    let engine = Engine::builder(registry())
        .start_dispatch(["split_worker"])
        .always_dispatch(["hash"])
        .build()
        .expect("engine");
    let (elapsed, results) = best(|| scan_all(&engine, &inputs));
    assert_eq!(results, count * 5, "each root and its 4 children");
    // Baseline: the same bytes hashed (roots and children) in a bare loop.
    let baseline = bare_loop(&inputs, |p| {
        black_box(stoq_plugin_hash::digests(p, false));
        for part in p.chunks(p.len().div_ceil(4)) {
            black_box(stoq_plugin_hash::digests(part, false));
        }
    });
    println!(
        "| {count} × {} KiB roots | {:.0} | {:.0} | {:.1}% |",
        size / 1024,
        per_sec(results, elapsed),
        per_sec(results, baseline),
        100.0 * baseline.as_secs_f64() / elapsed.as_secs_f64()
    );
}

/// Peak resident set of a child process, in KiB, via `/usr/bin/time -f %M`.
fn peak_rss_kib(args: &[&str]) -> Option<u64> {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(var("STOQ_BIN"))
        .args(args)
        .env(
            "STOQ_CACHE_DIR",
            std::env::temp_dir().join("stoq-bench-cache"),
        )
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

fn bench_rss() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("one-gib.bin");
    let size: u64 = 1 << 30;
    let block: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for i in 0..(size >> 20) {
            let mut b = block.clone();
            b[..8].copy_from_slice(&i.to_le_bytes());
            file.write_all(&b).expect("write");
        }
    }
    let file = path.to_str().expect("UTF-8");
    let Some(peak) = peak_rss_kib(&["scan", file, "-s", "hash", "--format", "ndjson"]) else {
        println!("\n## (d) skipped: /usr/bin/time is not available");
        return;
    };
    let baseline = peak_rss_kib(&["scan", "/dev/null", "-s", "hash"]).unwrap_or(0);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("\n## (d) peak RSS, `stoq scan` of a 1 GiB file with hash\n");
    println!("| run | peak RSS |");
    println!("|---|---|");
    println!("| 1 GiB file | {:.0} MiB |", mib(peak));
    println!("| empty input (baseline) | {:.0} MiB |", mib(baseline));
    println!(
        "| **above the file size** | **{:.0} MiB** |",
        mib(peak) - (size >> 20) as f64
    );
}

fn wall(args: &[&str], runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(var("STOQ_BIN"))
                .args(args)
                .env(
                    "STOQ_CACHE_DIR",
                    std::env::temp_dir().join("stoq-bench-cache"),
                )
                .stdout(std::process::Stdio::null())
                .status()
                .expect("runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn bench_process() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("fox.txt");
    std::fs::write(&path, b"The quick brown fox").expect("write");
    let file = path.to_str().expect("UTF-8");
    wall(&["scan", file, "-s", "hash"], 3); // warm the probe cache and page cache
    let scan = wall(&["scan", file, "-s", "hash"], 31);
    let version = wall(&["--version"], 31);
    println!("\n## (e) one `stoq scan` process, one small file, hash (median of 31)\n");
    println!("| run | wall time |");
    println!("|---|---|");
    println!(
        "| `stoq scan fox.txt -s hash` | {:.2} ms |",
        scan.as_secs_f64() * 1e3
    );
    println!(
        "| `stoq --version` (process start baseline) | {:.2} ms |",
        version.as_secs_f64() * 1e3
    );
}

fn main() {
    // `STOQ_BENCH_ONLY=a` runs one benchmark (for profiling); `=de` the two whole-process
    // ones.
    match std::env::var("STOQ_BENCH_ONLY").as_deref() {
        Ok("a") => {
            bench_noop();
            return;
        }
        Ok("de") => {
            bench_rss();
            bench_process();
            return;
        }
        _ => {}
    }
    bench_noop();
    println!("\n## (b) hash worker against a bare loop of the same digests");
    bench_hash(10_000, 4096);
    bench_hash(100, 1 << 20);
    println!(
        "\n## (c) extraction: roots split into 4 children, every payload hashed, best of {RUNS}\n"
    );
    println!("| workload | all-payloads/s, engine | all-payloads/s, bare loop | ratio |");
    println!("|---|---|---|---|");
    bench_extract(10_000, 4096);
    bench_extract(100, 1 << 20);
    bench_rss();
    bench_process();
}
