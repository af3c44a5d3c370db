//! ABI costs, measured against baselines in the same run. Run with `cargo xtask bench`.
//!
//! 1. Plugin load time: `dlopen` + layout check + manifest (`Library::load`) and the config hook
//!    (`instantiate`), per library, each in a fresh process (a library loads once per process).
//! 2. An empty scan (`dummy_worker`, which returns nothing) through the ABI and the host wrapper,
//!    next to the same worker's `scan` called directly.
//! 3. The hash worker on 4 KiB through the ABI (digests plus the JSON envelope both ways), next to
//!    the same digest function called directly.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Map;
use stoq_loader::{Library, QueryContext};
use stoq_plugin_abi::{Payload, Request, Worker};

struct NoContext;

impl QueryContext for NoContext {
    fn query(&self, _key: &str) -> Option<String> {
        None
    }
}

fn libraries() -> Vec<PathBuf> {
    let mut libs = Vec::new();
    for var in ["STOQ_BUNDLED_PLUGIN_DIR", "STOQ_TEST_PLUGIN_DIR"] {
        let dir = std::env::var_os(var)
            .unwrap_or_else(|| panic!("{var} is not set: run `cargo xtask bench`"));
        for entry in std::fs::read_dir(dir).expect("plugin dir") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) == Some(std::env::consts::DLL_EXTENSION) {
                libs.push(path);
            }
        }
    }
    libs.sort();
    libs
}

/// Child mode: load every library once and print `name load_ns instantiate_ns` per line.
fn load_child() {
    for path in libraries() {
        let start = Instant::now();
        let library = Library::load(&path).expect("loads");
        let loaded = start.elapsed();
        let start = Instant::now();
        // Plugins that need options (file_connector's `path`) are timed loading only.
        let name = library.manifest().plugins[0].name.clone();
        if library.instantiate(&name, &Map::new()).is_err() {
            continue;
        }
        let instantiated = start.elapsed();
        println!("{name} {} {}", loaded.as_nanos(), instantiated.as_nanos());
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_load() {
    const RUNS: usize = 15;
    let exe = std::env::current_exe().expect("bench exe");
    let mut load = std::collections::BTreeMap::<String, (Vec<f64>, Vec<f64>)>::new();
    for _ in 0..RUNS {
        let out = Command::new(&exe)
            .env("STOQ_BENCH_CHILD", "load")
            .output()
            .expect("child");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(l), Some(i)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let entry = load.entry(name.to_owned()).or_default();
            entry.0.push(l.parse::<f64>().expect("ns") / 1000.0);
            entry.1.push(i.parse::<f64>().expect("ns") / 1000.0);
        }
    }
    println!("\n## Plugin load time (median of {RUNS} fresh processes, µs)\n");
    println!("| plugin | load (dlopen + checks + manifest) | instantiate (config hook) |");
    println!("|---|---|---|");
    let (mut all_load, mut all_inst) = (Vec::new(), Vec::new());
    for (name, (l, i)) in &load {
        let (l, i) = (median(l.clone()), median(i.clone()));
        all_load.push(l);
        all_inst.push(i);
        println!("| {name} | {l:.0} | {i:.0} |");
    }
    let n = all_load.len() as f64;
    println!(
        "| **mean per plugin** | **{:.0}** | **{:.0}** |",
        all_load.iter().sum::<f64>() / n,
        all_inst.iter().sum::<f64>() / n
    );
}

/// Best of 5 runs of `iters` calls, in ns per call.
fn per_call(iters: u64, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed()
        })
        .min()
        .map_or(0.0, |d: Duration| d.as_nanos() as f64 / iters as f64)
}

fn find(name: &str) -> PathBuf {
    let stem = format!("{}{name}", std::env::consts::DLL_PREFIX);
    libraries()
        .into_iter()
        .find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(stem.as_str()))
        .unwrap_or_else(|| panic!("{name} was not built"))
}

fn bench_calls() {
    let facts = Map::new();
    let content = vec![0x41u8; 4096];

    // Empty scan.
    let dummy_lib = Library::load(&find("stoq_test_dummy_worker")).expect("loads");
    let dummy = dummy_lib
        .instantiate("dummy_worker", &Map::new())
        .expect("instantiates");
    let direct = stoq_test_dummy_worker::DummyWorker;
    let iters = 5_000_000;
    let direct_ns = per_call(iters, || {
        let payload = Payload::for_test(black_box(&content), &facts);
        let request = Request::for_test(&facts);
        black_box(direct.scan(&payload, &request).expect("scan"));
    });
    let abi_ns = per_call(iters, || {
        black_box(
            dummy
                .scan(black_box(&content), "id", &NoContext)
                .expect("scan"),
        );
    });
    println!("\n## Empty scan (dummy_worker, returns nothing), best of 5 x {iters} calls\n");
    println!("| call | ns/call |");
    println!("|---|---|");
    println!("| direct `Worker::scan` (baseline) | {direct_ns:.1} |");
    println!("| through the ABI (`Instance::scan`) | {abi_ns:.1} |");
    println!(
        "| **ABI overhead** | **{:.1} ns ({:.1}x)** |",
        abi_ns - direct_ns,
        abi_ns / direct_ns
    );

    // Hash of 4 KiB.
    let hash_lib = Library::load(&find("stoq_plugin_hash")).expect("loads");
    let hash = hash_lib
        .instantiate("hash", &Map::new())
        .expect("instantiates");
    let iters = 100_000;
    let direct_ns = per_call(iters, || {
        black_box(stoq_plugin_hash::digests(black_box(&content), false));
    });
    let abi_ns = per_call(iters, || {
        black_box(
            hash.scan(black_box(&content), "id", &NoContext)
                .expect("scan"),
        );
    });
    println!("\n## hash worker on 4 KiB (md5 + sha1 + sha256), best of 5 x {iters} calls\n");
    println!("| call | ns/call |");
    println!("|---|---|");
    println!("| direct `digests()` (baseline) | {direct_ns:.0} |");
    println!("| through the ABI, results as JSON both ways | {abi_ns:.0} |");
    println!(
        "| **ABI + JSON overhead** | **{:.0} ns ({:.1}% of the call)** |",
        abi_ns - direct_ns,
        100.0 * (abi_ns - direct_ns) / abi_ns
    );
}

/// An empty scan and a 4 KiB hash through an isolated plugin (a helper process, frames over
/// a socket), next to the same calls in-process.
fn bench_isolated() {
    let helper = std::env::var_os("STOQ_BIN")
        .map(PathBuf::from)
        .expect("STOQ_BIN");
    let content = vec![0x41u8; 4096];
    let timeout = Duration::from_secs(60);
    let mut rows = Vec::new();
    for (stem, name, iters) in [
        ("stoq_test_dummy_worker", "dummy_worker", 20_000u64),
        ("stoq_plugin_hash", "hash", 20_000),
    ] {
        let library = find(stem);
        let isolated = stoq_core::isolation::ProcessPlugin::start(
            name,
            &helper,
            &library,
            &Map::new(),
            timeout,
        )
        .expect("helper starts");
        let in_process = Library::load(&library)
            .expect("loads")
            .instantiate(name, &Map::new())
            .expect("instance");
        let isolated_ns = per_call(iters, || {
            black_box(
                isolated
                    .scan(black_box(&content), "id", &NoContext)
                    .expect("scan"),
            );
        });
        let direct_ns = per_call(iters, || {
            black_box(
                in_process
                    .scan(black_box(&content), "id", &NoContext)
                    .expect("scan"),
            );
        });
        rows.push((name, direct_ns, isolated_ns));
    }
    println!("\n## isolation = \"process\": one call with a 4 KiB payload, best of 5\n");
    println!("| plugin | in-process (baseline) | isolated | cost of isolation |");
    println!("|---|---|---|---|");
    for (name, direct, isolated) in rows {
        println!(
            "| {name} | {:.2} µs | {:.2} µs | {:.2} µs |",
            direct / 1e3,
            isolated / 1e3,
            (isolated - direct) / 1e3
        );
    }
}

fn main() {
    if std::env::var_os("STOQ_BENCH_CHILD").is_some() {
        load_child();
        return;
    }
    bench_load();
    bench_calls();
    bench_isolated();
}
