//! `--format tree`: the payload tree of a response, for people.

use stoq_tests::formats::zip::deflated_zip;
use stoq_tests::run;

#[test]
fn the_tree_shows_each_payload_under_its_parent_with_type_size_and_extractor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bundle.zip");
    let zip = deflated_zip(&[
        (
            "notes/fox.txt",
            b"The quick brown fox visits http://evil.example.com/a",
        ),
        ("readme.txt", b"hello"),
    ]);
    std::fs::write(&path, &zip).expect("write");
    let output = run(&[
        "scan",
        path.to_str().unwrap(),
        "-a",
        "mimetype",
        "iocextract",
        "-s",
        "decompress",
        "--format",
        "tree",
    ]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal: {text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("bundle.zip  application/zip  {} B", zip.len()),
        "{text}"
    );
    let fox = lines
        .iter()
        .position(|l| l.contains("fox.txt  text/plain  52 B  by decompress"))
        .unwrap_or_else(|| panic!("fox.txt under the zip:\n{text}"));
    assert!(
        lines[fox].starts_with("├── ") || lines[fox].starts_with("└── "),
        "{text}"
    );
    assert!(
        lines[fox + 1].ends_with("iocs: 1 domain, 1 url"),
        "its indicators counted under it:\n{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("readme.txt  text/plain  5 B  by decompress")),
        "{text}"
    );
}
