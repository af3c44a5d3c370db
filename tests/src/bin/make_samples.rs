//! Writes the bundled sample, [`stoq_tests::sample::PATH`], below the given repository root
//! (`cargo xtask samples` runs it). The sample is built by `stoq_tests::sample`; review a
//! change there, regenerate, and commit both.
//!
//! `make_samples [ROOT]`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let path = Path::new(&root).join(stoq_tests::sample::PATH);
    let bytes = stoq_tests::sample::phishing_email();
    match std::fs::write(&path, &bytes) {
        Ok(()) => {
            println!("{} ({} bytes)", path.display(), bytes.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_samples: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
