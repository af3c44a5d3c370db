//! Times the fuzzy hashes: `cargo run --release -p stoq-plugin-fuzzy --example fuzzy_bench -- FILE`.
//!
//! Prints the best of 5 runs of ssdeep alone, TLSH alone, both as the worker computes them
//! (one thread below `PARALLEL_THRESHOLD`, two from it) and a whole `Fuzzy` scan through
//! `PluginTest` (as the host calls it), in MB/s (10^6 bytes per second); then the rate on
//! 4 KiB and 64 KiB payloads. `bench FILE ssdeep|tlsh|both N` computes only that, N times, to
//! time the process (its CPU time is steadier than wall time on a busy machine).

use std::hint::black_box;
use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::PluginTest;
use stoq_plugin_fuzzy::{Fuzzy, Which, hashes, ssdeep, tlsh};

/// One thing timed.
type Run<'a> = Box<dyn Fn() + 'a>;

fn best_of_5(mut f: impl FnMut()) -> Duration {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("five runs")
}

fn mbps(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e6
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: bench FILE");
    let content = std::fs::read(&path).expect("read FILE");
    let len = content.len();
    // `bench FILE ssdeep|tlsh|both N`: only that, N times (to time the process's CPU time).
    if let Some(which) = std::env::args().nth(2) {
        let n: usize = std::env::args()
            .nth(3)
            .map_or(10, |n| n.parse().expect("N"));
        for _ in 0..n {
            match which.as_str() {
                "ssdeep" => drop(black_box(ssdeep::hash(&content))),
                "tlsh" => drop(black_box(tlsh::hash(&content))),
                _ => drop(black_box(hashes(&content, Which::BOTH))),
            }
        }
        return;
    }
    println!("{path}: {len} bytes");
    println!("ssdeep {}", ssdeep::hash(&content).expect("ssdeep"));
    println!(
        "tlsh   {}",
        tlsh::hash(&content).unwrap_or_else(|e| e.to_string())
    );

    let fuzzy = PluginTest::<Fuzzy>::new();
    fuzzy.start().expect("fuzzy worker");
    let runs: [(&str, Run); 5] = [
        (
            "ssdeep alone",
            Box::new(|| drop(black_box(ssdeep::hash(&content)))),
        ),
        (
            "tlsh alone",
            Box::new(|| drop(black_box(tlsh::hash(&content)))),
        ),
        (
            "both, one thread (chunked)",
            Box::new(|| {
                let mut s = ssdeep::Ssdeep::new();
                let mut t = tlsh::Tlsh::new();
                for chunk in content.chunks(stoq_plugin_fuzzy::CHUNK) {
                    s.update(chunk);
                    t.update(chunk);
                }
                drop(black_box((s.finish(), t.finish())));
            }),
        ),
        (
            "both, as the worker does",
            Box::new(|| drop(black_box(hashes(&content, Which::BOTH)))),
        ),
        (
            "Fuzzy scan",
            Box::new(|| drop(black_box(fuzzy.scan(&content).expect("scan")))),
        ),
    ];
    for (name, run) in &runs {
        let t = best_of_5(run);
        println!(
            "{name}: {:.1} ms, {:.0} MB/s",
            t.as_secs_f64() * 1e3,
            mbps(len, t)
        );
    }

    for size in [4 << 10, 64 << 10] {
        let n = (len / size).max(1);
        let part = &content[..(n * size).min(len)];
        let t = best_of_5(|| {
            for chunk in part.chunks(size) {
                black_box(fuzzy.scan(chunk).expect("scan"));
            }
        });
        println!(
            "{} KiB payloads: {:.1} us each, {:.0} MB/s",
            size >> 10,
            t.as_secs_f64() * 1e6 / n as f64,
            mbps(part.len(), t)
        );
    }
}
