//! The detector on the committed corpus (`tests/corpus/email/`, see its README): every
//! message is detected as email and accepted by the `smtp` plugin's own parser, and no
//! non-email sample is detected as email. `STOQ_EMAIL_CORPUS=DIR` measures another folder of
//! messages (one subfolder per source) instead, e.g. samples that may not be committed.

use std::path::{Path, PathBuf};

use super::super::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/email")
}

/// Every file under `dir`, sorted, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Sources (subfolders) of a messages folder, each with its files.
fn sources(dir: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut out: Vec<(String, Vec<PathBuf>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                files(&p),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn corpus_messages_are_email_and_smtp_parses_them() {
    let dir = std::env::var_os("STOQ_EMAIL_CORPUS")
        .map_or_else(|| corpus_dir().join("messages"), PathBuf::from);
    let mut total = 0usize;
    let mut detected = 0usize;
    let mut misses = Vec::new();
    for (source, paths) in sources(&dir) {
        let mut hit = 0usize;
        for path in &paths {
            let data = std::fs::read(path).expect("read");
            let name = path
                .strip_prefix(&dir)
                .unwrap_or(path)
                .display()
                .to_string();
            let kind = detect(&data);
            // mail-parser panics on some inputs; the host catches a plugin's panic.
            let parsed = std::panic::catch_unwind(|| stoq_plugin_smtp::parse_email(&data, 1000))
                .unwrap_or_else(|_| Err(stoq_plugin_abi::Error::msg("mail-parser panicked")));
            match (kind.name, &parsed) {
                ("email", Ok(_)) => hit += 1,
                ("email", Err(e)) => misses.push(format!("{name}: email, but smtp: {e}")),
                (other, _) => misses.push(format!(
                    "{name}: detected {other}; smtp {}",
                    if parsed.is_ok() {
                        "parses it"
                    } else {
                        "refuses it"
                    }
                )),
            }
        }
        eprintln!("{source}: {hit}/{} detected and parsed", paths.len());
        total += paths.len();
        detected += hit;
    }
    let rate = detected as f64 / total as f64;
    eprintln!(
        "all: {detected}/{total} ({:.2}%); misses:\n  {}",
        rate * 100.0,
        misses.join("\n  ")
    );
    assert!(total > 0);
    assert!(rate >= 0.99, "{detected}/{total}: {misses:#?}");
}

#[test]
fn corpus_non_email_samples_are_not_email() {
    let paths = files(&corpus_dir().join("not-email"));
    assert!(paths.len() >= 10, "{}", paths.len());
    for path in &paths {
        let data = std::fs::read(path).expect("read");
        let kind = detect(&data);
        assert!(
            !kind.plugins.contains(&"smtp"),
            "{}: detected {}",
            path.display(),
            kind.name
        );
        eprintln!(
            "{}: {}",
            path.file_name().unwrap().to_string_lossy(),
            kind.name
        );
    }
}
