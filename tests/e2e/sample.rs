//! The bundled sample, `samples/invoice-4471.eml` (built by `tests/src/sample.rs`), and the
//! README's first command on it: the committed file is what its script builds, every layer
//! of it is opened under `-R yara` and flagged where it should be, and the tree the README
//! shows is the tree `stoq` prints.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stoq_tests::{errors, json, sample, stderr, stoq};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_owned()
}

/// The address the sample's macro, PDF and shortcut point at.
const PORTAL: &str = "https://portal.example.net/invoice/4471/view";

fn sample_path() -> String {
    repository().join(sample::PATH).display().to_string()
}

#[test]
fn the_committed_sample_is_what_its_script_builds() {
    let committed = std::fs::read(repository().join(sample::PATH)).expect("the sample exists");
    assert!(
        committed == sample::phishing_email(),
        "{} differs from what tests/src/sample.rs builds: run `cargo xtask samples`, review the change and commit it",
        sample::PATH
    );
}

/// The payload named `name` (its file name or path as extracted).
fn named<'r>(response: &'r Value, name: &str) -> &'r Value {
    response["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| {
            let extra = &r["payload_meta"]["extra_data"];
            extra["filename"] == name || extra["path"] == name
        })
        .unwrap_or_else(|| panic!("no payload named {name} in {response:#}"))
}

fn text(value: &Value) -> String {
    value.to_string()
}

#[test]
fn every_layer_of_the_sample_is_opened_and_flagged_under_dispatch_by_type() {
    let path = sample_path();
    let response = json(&[
        "scan",
        &path,
        "-a",
        "hash",
        "mimetype",
        "-R",
        "yara",
        "--deterministic",
    ]);
    assert_eq!(errors(&response), Vec::<String>::new());
    let root = &response["results"][0];
    assert_eq!(root["workers"]["mimetype"]["mimetype"], "message/rfc822");
    assert!(root["workers"]["smtp"].is_object(), "smtp opened the email");

    let zip = named(&response, "Invoice_4471.zip");
    assert_eq!(zip["extracted_by"][0], "smtp");
    assert_eq!(zip["workers"]["mimetype"]["mimetype"], "application/zip");

    let docm = named(&response, "Invoice_4471.docm");
    assert_eq!(docm["extracted_by"][0], "decompress");
    let ole = text(&docm["workers"]["ole"]);
    assert!(
        ole.contains("vbaProject.bin"),
        "ole lists the macro project: {ole}"
    );

    // The package's vbaProject.bin comes out of the zip (decompress) and as the package's
    // macro project (ole): one payload, both extractors named.
    let project = named(&response, "word/vbaProject.bin");
    assert_eq!(project["extracted_by"], json!(["decompress", "ole"]));
    let flags = &project["workers"]["ole"]["flags"];
    assert_eq!(flags["autoexec"], true, "{flags}");
    assert_eq!(flags["matches"]["autoexec"], "Document_Open", "{flags}");
    assert_eq!(flags["matches"]["execute"], "FollowHyperlink", "{flags}");
    assert_eq!(flags["mraptor"], "A-X", "{flags}");
    let keywords = &project["workers"]["ole"]["keywords"];
    assert!(
        keywords
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["type"] == "IOC" && k["keyword"] == PORTAL),
        "the macro's URL is an IOC: {keywords}"
    );

    // Paths are written as `bytes_to_string` writes them: each backslash doubled.
    let lnk = &named(&response, "Scan_4471.lnk")["workers"]["lnk"];
    assert_eq!(lnk["target_path"], r"C:\\Windows\\System32\\cmd.exe");
    let shortcut = text(lnk);
    assert!(shortcut.contains(PORTAL), "the arguments: {shortcut}");
    assert!(
        shortcut.contains("desktop-4471"),
        "the machine id: {shortcut}"
    );
    assert!(!lnk["suspicious"].as_array().unwrap().is_empty(), "{lnk}");

    let pdf = named(&response, "Remittance_4471.pdf");
    assert_eq!(pdf["extracted_by"], json!(["smtp"]));
    let found = &pdf["workers"]["pdf"];
    assert_eq!(found["uris"], json!([PORTAL]));
    assert_eq!(found["actions"][0]["trigger"], "OpenAction", "{found}");
    assert_eq!(found["actions"][0]["type"], "JavaScript", "{found}");
    let script = named(&response, "obj8.js");
    assert_eq!(script["extracted_by"], json!(["pdf"]));
    assert_eq!(script["extracted_from"], json!([pdf["payload_id"]]));
    assert_eq!(script["size"], 97);
}

/// The code block of README.md that follows `marker`.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"))
        .1;
    let body = after
        .split_once("```text\n")
        .expect("a ```text block after the marker")
        .1;
    body.split_once("```").expect("the block ends").0.to_owned()
}

#[test]
fn the_readme_shows_the_tree_its_first_command_prints() {
    // As the README runs it: from the repository's root, with the path as written there.
    let output = stoq()
        .current_dir(repository())
        .args(["scan", sample::PATH, "-a", "hash", "mimetype", "-R", "yara"])
        .args(["--format", "tree", "--deterministic"])
        .output()
        .expect("stoq runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let shown = readme_block("<!-- the tree of samples/invoice-4471.eml -->");
    assert!(
        shown == printed,
        "README.md's tree of the sample is not what `stoq scan {} -a hash mimetype -R yara --format tree --deterministic` prints; update it to:\n{printed}",
        sample::PATH
    );
}
