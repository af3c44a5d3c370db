//! `stoq run` with the bundled storage plugins: a folder in, one response file per input, and
//! a content-addressed archive.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use stoq_tests::service::wait_exit;
use stoq_tests::{stderr, stoq};

fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn filedir_in_filedir_out_and_an_archive_of_distinct_payloads() {
    let work = tempfile::tempdir().unwrap();
    let (source, results, archive) = (
        work.path().join("in"),
        work.path().join("results"),
        work.path().join("archive"),
    );
    std::fs::create_dir_all(source.join("sub")).unwrap();
    for i in 0..8 {
        std::fs::write(source.join(format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
    // Two more files with content already seen: the archive keeps each payload once.
    std::fs::write(source.join("sub").join("copy.txt"), "file 3").unwrap();
    std::fs::write(source.join("sub").join("copy2.txt"), "file 5").unwrap();
    let mut child = stoq()
        .args([
            "run", "-P", "filedir", "-C", "filedir", "-A", "filedir", "-a", "hash",
        ])
        .arg("--plugin-opts")
        .arg(format!("filedir:source_dir={}", source.display()))
        .arg(format!("filedir:results_dir={}", results.display()))
        .arg(format!("filedir:archive_dir={}", archive.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(120), "stoq run -P filedir");
    let output = child.wait_with_output().unwrap();
    assert!(status.success(), "{status}: {}", stderr(&output));
    assert!(
        output.stdout.is_empty(),
        "with a connector nothing is printed"
    );

    let responses: Vec<Value> = files_below(&results)
        .iter()
        .map(|p| {
            assert_eq!(
                p.extension().and_then(|e| e.to_str()),
                Some("json"),
                "{p:?}"
            );
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(responses.len(), 10, "one response file per input file");
    let mut paths = HashSet::new();
    for response in &responses {
        let root = &response["results"][0];
        paths.insert(
            root["payload_meta"]["extra_data"]["path"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let sha256 = root["workers"]["hash"]["sha256"].as_str().unwrap();
        assert_eq!(root["archivers"]["filedir"]["sha256"], sha256);
    }
    assert!(
        paths.contains("sub/copy.txt") && paths.contains("f0.txt"),
        "{paths:?}"
    );
    let archived = files_below(&archive);
    assert_eq!(
        archived.len(),
        8,
        "each distinct payload once: {archived:?}"
    );
    for path in archived {
        let content = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let expected = stoq_tests::sha256_hex(&content);
        assert_eq!(name, expected, "named by its SHA-256");
    }
}

#[test]
fn stdout_connector_prints_one_line_per_response() {
    let work = tempfile::tempdir().unwrap();
    for i in 0..3 {
        std::fs::write(work.path().join(format!("f{i}")), format!("{i}")).unwrap();
    }
    let output = stoq()
        .args(["run", "-P", "filedir", "-C", "stdout", "-a", "hash"])
        .arg("--plugin-opts")
        .arg(format!("filedir:source_dir={}", work.path().display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|r| r["results"][0]["workers"]["hash"].is_object())
    );
}
