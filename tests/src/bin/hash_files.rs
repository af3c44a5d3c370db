//! The bare baseline for `stoq scan DIR -a hash` (BENCHMARKS.md): read every file below the
//! given paths and compute its MD5, SHA-1 and SHA-256 in one pass, with the same digest crates
//! as the `hash` plugin, on `--jobs N` threads (files handed out in order). Prints the number
//! of files and a checksum of the digests, so the work cannot be optimised away.
//!
//! `hash_files [--jobs N] PATH...`

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

fn walk(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("read_dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            walk(&entry, files);
        }
    } else {
        files.push(path.to_owned());
    }
}

/// One pass over the file in 256 KiB chunks, the three digests per chunk.
fn digest(path: &Path, buffer: &mut [u8]) -> u8 {
    let mut file = std::fs::File::open(path).expect("open");
    let (mut md5, mut sha1, mut sha256) = (Md5::new(), Sha1::new(), Sha256::new());
    loop {
        let n = file.read(buffer).expect("read");
        if n == 0 {
            break;
        }
        md5.update(&buffer[..n]);
        sha1.update(&buffer[..n]);
        sha256.update(&buffer[..n]);
    }
    md5.finalize()[0] ^ sha1.finalize()[0] ^ sha256.finalize()[0]
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut jobs = 1;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--jobs" {
            jobs = args.next().and_then(|n| n.parse().ok()).expect("--jobs N");
        } else {
            walk(Path::new(&arg), &mut files);
        }
    }
    let next = AtomicUsize::new(0);
    let checksum = Mutex::new(0u8);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let mut buffer = vec![0u8; 256 << 10];
                let mut mine = 0u8;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    mine ^= digest(path, &mut buffer);
                }
                *checksum.lock().expect("lock") ^= mine;
            });
        }
    });
    println!(
        "{} files, checksum {:02x}",
        files.len(),
        checksum.into_inner().expect("lock")
    );
}
