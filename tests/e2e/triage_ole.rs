//! The `ole` worker through the binary: a docm-like package written here (by the writer the
//! plugin's own tests use: a compound file writer, an MS-OVBA compressor, a VBA project) unpacks with
//! `-R yara` into the package, its `vbaProject.bin` (whose macros `ole` reads: autoexec,
//! write, execute, download, suspicious) and its embedded Packager object (whose file comes
//! out by name); and the same with `-s ole` alone, `ole` sending the compound files it
//! extracts back to itself.

use stoq_tests::formats::office as build;

use serde_json::{Value, json};
use stoq_tests::{errors, scan, sha256_hex};

fn scan_bytes(content: &[u8], args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("invoice.docm");
    std::fs::write(&path, content).expect("write");
    let mut all = vec!["--deterministic"];
    all.extend_from_slice(args);
    scan(&path, &all)
}

/// The payload whose SHA-256 (from the hash worker) is that of `content`.
fn by_content<'r>(response: &'r Value, content: &[u8]) -> &'r Value {
    let sha256 = sha256_hex(content);
    response["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["workers"]["hash"]["sha256"] == sha256.as_str())
        .unwrap_or_else(|| panic!("no payload with SHA-256 {sha256}: {response:#}"))
}

/// Every `filename` the payload was extracted under.
fn filenames(result: &Value) -> Vec<&str> {
    result["extracted_extra_data"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|extra| extra["filename"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn workers(result: &Value) -> Vec<&str> {
    result["plugins_run"]["workers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

const BAT: &[u8] = b"@echo off\r\ncalc.exe\r\n";

/// What `ole` says of the dropper's `vbaProject.bin`, as olevba 0.60.2 and mraptor 0.56.2 say
/// it (the plugin's unit tests compare the whole table).
fn assert_dropper(ole: &Value) {
    assert_eq!(ole["format"], "ole2");
    assert_eq!(ole["macros"], true);
    let modules: Vec<(&str, &str)> = ole["vba_projects"][0]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["stream"].as_str().unwrap()))
        .collect();
    assert_eq!(
        modules,
        [
            ("ThisDocument", "VBA/ThisDocument"),
            ("Module1", "VBA/Module1")
        ]
    );
    assert_eq!(
        ole["vba_projects"][0]["modules"][1]["code"],
        build::module("Module1", build::DROPPER)
    );
    assert_eq!(
        ole["flags"],
        json!({
            "autoexec": true, "write": true, "execute": true, "download": true,
            "suspicious": true, "mraptor": "AWX",
            "matches": {
                "autoexec": "AutoOpen",
                "write": "URLDownloadToFile",
                "execute": "Declare PtrSafe Function URLDownloadToFile Lib",
                "download": "URLDownloadToFile",
            },
        })
    );
    let keywords: Vec<&str> = ole["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyword"].as_str().unwrap())
        .collect();
    assert_eq!(
        keywords,
        [
            "AutoOpen",
            "Environ",
            "Shell",
            "vbHide",
            "Lib",
            "URLDownloadToFileA",
            "http://203.0.113.7/payload.exe",
            "203.0.113.7",
            "payload.exe"
        ]
    );
}

#[test]
fn a_docm_with_a_dropper_macro_unpacks_with_the_router() {
    let project = build::dropper_project();
    let docm = build::docm(&project);
    let response = scan_bytes(&docm, &["-a", "hash", "-R", "yara"]);
    assert!(errors(&response).is_empty(), "{:#}", response["errors"]);
    let results = response["results"].as_array().unwrap();

    // The package: routed to ole (and to decompress, which opens every zip member).
    let root = &results[0];
    assert!(workers(root).contains(&"ole"), "{root:#}");
    let package = &root["workers"]["ole"];
    assert_eq!(package["format"], "ooxml");
    assert_eq!(package["macros"], true);
    assert_eq!(package["vba_project_parts"], json!(["word/vbaProject.bin"]));

    // Its vbaProject.bin, extracted by ole under its part name, read by ole again.
    let bin = by_content(&response, &project.bin());
    assert!(
        filenames(bin).contains(&"word/vbaProject.bin"),
        "{:#}",
        bin["extracted_extra_data"]
    );
    assert!(workers(bin).contains(&"ole"), "{bin:#}");
    assert_dropper(&bin["workers"]["ole"]);
    // Its streams come out by path.
    let dir_stream = project
        .streams()
        .into_iter()
        .find(|(path, _)| path == "VBA/dir")
        .unwrap()
        .1;
    assert_eq!(filenames(by_content(&response, &dir_stream)), ["VBA/dir"]);

    // The embedded Packager object and the file it carries.
    let bat = by_content(&response, BAT);
    assert!(filenames(bat).contains(&"run.bat"), "{bat:#}");
}

#[test]
fn a_docm_scanned_with_ole_alone_reads_its_macros() {
    let project = build::dropper_project();
    let docm = build::docm(&project);
    let response = scan_bytes(&docm, &["-s", "ole", "-a", "hash"]);
    assert!(errors(&response).is_empty(), "{:#}", response["errors"]);
    let root = &response["results"][0];
    assert_eq!(root["workers"]["ole"]["format"], "ooxml");
    // ole dispatches the compound files it extracts to itself.
    let bin = by_content(&response, &project.bin());
    assert_eq!(filenames(bin), ["word/vbaProject.bin"]);
    assert_eq!(bin["payload_meta"]["dispatch_to"], json!(["ole"]));
    assert_dropper(&bin["workers"]["ole"]);
    assert_eq!(filenames(by_content(&response, BAT)), ["run.bat"]);
    // The package, its two parts, the project's six streams, the object's stream and file.
    assert_eq!(
        response["results"].as_array().unwrap().len(),
        11,
        "{response:#}"
    );
}

#[test]
fn a_hostile_compound_file_finishes_with_errors() {
    // A Word 97 file whose WordDocument chain loops and whose directory names a stream far
    // larger than the file: both are errors, the macros are still read.
    let project = build::dropper_project();
    let mut file = build::word97(&project);
    let dir = (u32::from_le_bytes(file[48..52].try_into().unwrap()) as usize + 1) * 512;
    let name: Vec<u8> = "WordDocument"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let entry = (dir..file.len())
        .step_by(128)
        .find(|&o| file[o..].starts_with(&name))
        .expect("WordDocument entry");
    file[entry + 120..entry + 124].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let response = scan_bytes(&file, &["-s", "ole"]);
    assert_eq!(
        errors(&response),
        [format!(
            "stream WordDocument: declares 4294967280 bytes, more than the whole file ({} bytes)",
            file.len()
        )],
        "{response:#}"
    );
    assert_eq!(
        response["results"][0]["workers"]["ole"]["flags"]["suspicious"],
        true
    );
}
