//! Directory scans and one large payload against a bare baseline (issue 8, points 9 and 12).
//! Run with `cargo xtask bench`; results go in BENCHMARKS.md. The baseline is `hash_files`
//! (tests/src/bin): it reads each file and computes MD5, SHA-1 and SHA-256 in one pass with the
//! same digest crates as the `hash` plugin, on N threads, and prints nothing per file.
//!
//! (a) 10,000 × 4 KiB files, `stoq scan DIR -a hash --format ndjson` with `--jobs 1` and
//!     `--jobs 2`, and the baseline with 1 and 2 threads: the speed-up of each, and stoq's
//!     speed as a share of the baseline's;
//! (b) 200 × 1 MiB files: the same, and stoq's peak RSS;
//! (c) one 1 GiB file under `-a hash`: stoq's time against the baseline on one thread (three
//!     digests in one read on one core), and its peak RSS.
//!
//! Every time is the best of RUNS whole-process runs; output goes to /dev/null.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn var(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run `cargo xtask bench`"))
}

fn content(i: usize, size: usize) -> Vec<u8> {
    let mut state = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn folder(root: &Path, name: &str, files: usize, size: usize) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..files {
        std::fs::write(dir.join(format!("f{i:05}")), content(i, size)).unwrap();
    }
    dir
}

/// The best wall time of RUNS runs, and the largest peak RSS (KiB) seen, via `/usr/bin/time`.
fn measure(program: &Path, args: &[&str]) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut rss = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(program)
            .args(args)
            .env_remove("STOQ_PLUGIN_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{program:?} {args:?}: {stderr}");
        let kib: u64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        best = best.min(elapsed);
        rss = rss.max(kib);
    }
    (best, rss)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn compare(label: &str, stoq: &Path, baseline: &Path, dir: &Path, files: usize) {
    let dir = dir.to_str().unwrap();
    let scan = |jobs: &str| {
        measure(
            stoq,
            &[
                "scan", dir, "-a", "hash", "--format", "ndjson", "--jobs", jobs,
            ],
        )
    };
    let bare = |jobs: &str| measure(baseline, &["--jobs", jobs, dir]);
    let (s1, _) = scan("1");
    let (s2, rss) = scan("2");
    let (b1, _) = bare("1");
    let (b2, brss) = bare("2");
    println!("{label}:");
    println!(
        "  stoq --jobs 1 {:.3} s, --jobs 2 {:.3} s: speed-up {:.2}x ({:.0} files/s)",
        secs(s1),
        secs(s2),
        secs(s1) / secs(s2),
        files as f64 / secs(s2)
    );
    println!(
        "  baseline 1 thread {:.3} s, 2 threads {:.3} s: speed-up {:.2}x",
        secs(b1),
        secs(b2),
        secs(b1) / secs(b2)
    );
    println!(
        "  stoq at 2 jobs = {:.1}% of the baseline's speed at 2 threads (1 job vs 1 thread: {:.1}%)",
        100.0 * secs(b2) / secs(s2),
        100.0 * secs(b1) / secs(s1)
    );
    println!(
        "  peak RSS: stoq {:.1} MiB, baseline {:.1} MiB",
        rss as f64 / 1024.0,
        brss as f64 / 1024.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let stoq = var("STOQ_BIN");
    let baseline = PathBuf::from(env!("CARGO_BIN_EXE_hash_files"));
    let root = tempfile::tempdir().unwrap();
    let small = folder(root.path(), "small", 10_000, 4096);
    let large = folder(root.path(), "large", 200, 1 << 20);
    // Warm the page cache and the probe cache.
    measure(
        &baseline,
        &[small.to_str().unwrap(), large.to_str().unwrap()],
    );
    measure(
        &stoq,
        &[
            "scan",
            small.to_str().unwrap(),
            "-a",
            "hash",
            "--format",
            "ndjson",
        ],
    );

    compare("(a) 10,000 x 4 KiB files", &stoq, &baseline, &small, 10_000);
    compare("(b) 200 x 1 MiB files", &stoq, &baseline, &large, 200);

    let big = root.path().join("big");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for i in 0..1024 {
            file.write_all(&content(i, 1 << 20)).unwrap();
        }
    }
    let big = big.to_str().unwrap();
    measure(&baseline, &[big]);
    let (s, rss) = measure(&stoq, &["scan", big, "-a", "hash"]);
    let (b, brss) = measure(&baseline, &["--jobs", "1", big]);
    println!("(c) one 1 GiB file, -a hash:");
    println!(
        "  stoq {:.3} s, baseline (3 digests, one read, one core) {:.3} s: stoq = {:.2}x the baseline's time",
        secs(s),
        secs(b),
        secs(s) / secs(b)
    );
    println!(
        "  peak RSS: stoq {:.1} MiB (file 1024 MiB), baseline {:.1} MiB",
        rss as f64 / 1024.0,
        brss as f64 / 1024.0
    );
}
