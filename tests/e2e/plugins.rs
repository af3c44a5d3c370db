//! The bundled analysis plugins, through the binary, on samples built here.

use stoq_tests::formats::zip::deflated_zip;
use stoq_tests::{errors, scan_bytes, workers_run};

fn md5_hex(data: &[u8]) -> String {
    // The hash plugin's own function is tested against stoQ's vectors; reuse it here.
    stoq_plugin_hash::digests(data, false)["md5"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn entropy_is_shannon_bits_per_byte() {
    let response = scan_bytes(b"abababab", &["-s", "entropy"]);
    assert_eq!(response["results"][0]["workers"]["entropy"]["entropy"], 1.0);
    let all: Vec<u8> = (0..=255).collect();
    let response = scan_bytes(&all, &["-s", "entropy"]);
    assert_eq!(response["results"][0]["workers"]["entropy"]["entropy"], 8.0);
}

#[test]
fn mimetype_recognises_what_the_other_plugins_handle() {
    let mut pe = vec![0u8; 512];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("text/plain", b"The quick brown fox".to_vec()),
        (
            "message/rfc822",
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody".to_vec(),
        ),
        (
            "application/gzip",
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0],
        ),
        (
            "application/x-7z-compressed",
            vec![b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4],
        ),
        ("application/x-xz", vec![0xfd, b'7', b'z', b'X', b'Z', 0]),
        ("application/zstd", vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0]),
        ("application/x-bzip2", b"BZh91AY&SY".to_vec()),
        ("application/pdf", b"%PDF-1.4\n%".to_vec()),
        ("application/vnd.microsoft.portable-executable", pe),
    ];
    for (expected, content) in samples {
        let response = scan_bytes(&content, &["-s", "mimetype"]);
        let result = &response["results"][0]["workers"]["mimetype"];
        assert_eq!(result["mimetype"], expected, "{result}");
        assert!(
            result["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
}

#[test]
fn b64decode_extracts_the_decoded_bytes() {
    let response = scan_bytes(
        b"VGhlIHF1aWNr\nIGJyb3duIGZveA==\n",
        &["-s", "b64decode", "-a", "hash"],
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["workers"]["b64decode"]["decoded_size"], 19);
    assert_eq!(
        results[1]["workers"]["hash"]["md5"],
        md5_hex(b"The quick brown fox")
    );
    assert_eq!(
        results[1]["payload_meta"]["extra_data"]["encoding"],
        "base64"
    );
    let bad = scan_bytes(b"this is not base64!", &["-s", "b64decode"]);
    assert_eq!(bad["results"].as_array().unwrap().len(), 1);
    assert!(
        errors(&bad)[0].starts_with("worker:failed: not base64"),
        "{bad:#}"
    );
}

#[test]
fn xordecode_takes_its_key_from_dispatch_meta_or_its_option() {
    let encoded: Vec<u8> = b"The quick brown fox".iter().map(|b| b ^ 0x41).collect();
    let fox_md5 = md5_hex(b"The quick brown fox");
    let response = scan_bytes(
        &encoded,
        &[
            "-s",
            "xordecode",
            "-a",
            "hash",
            "--plugin-opts",
            "xordecode:xorkey=0x41",
        ],
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(results[0]["workers"]["xordecode"]["source"], "option");
    assert_eq!(results[1]["workers"]["hash"]["md5"], fox_md5);

    let multi: Vec<u8> = b"The quick brown fox"
        .iter()
        .zip([0x13u8, 0x37].iter().cycle())
        .map(|(b, k)| b ^ k)
        .collect();
    let response = scan_bytes(
        &multi,
        &[
            "-R",
            "simple_dispatcher",
            "--plugin-opts",
            "simple_dispatcher:workers=xordecode",
            r#"simple_dispatcher:meta={"xorkey": "0x1337"}"#,
        ],
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(workers_run(&results[0]), ["xordecode"]);
    assert_eq!(
        results[0]["workers"]["xordecode"],
        serde_json::json!({"xorkey": "0x1337", "source": "dispatch_meta"})
    );
    assert_eq!(results[1]["size"], 19);

    let none = scan_bytes(&encoded, &["-s", "xordecode"]);
    assert_eq!(
        errors(&none),
        ["worker:failed: no xorkey: none in the dispatch meta and no `xorkey` option"]
    );
}

#[test]
fn iocextract_finds_defanged_indicators_and_honours_its_allowlist() {
    let text = b"C2 hxxp://203.0.113[.]7/gate.php and https://cdn.example[.]net/a.js\n\
                 contact: ops[@]corp.example.com, ignore notes.txt\n\
                 sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
    let response = scan_bytes(
        text,
        &[
            "-s",
            "iocextract",
            "--plugin-opts",
            "iocextract:allowlist=corp.example.com",
        ],
    );
    let found = &response["results"][0]["workers"]["iocextract"];
    assert_eq!(
        found["url"],
        serde_json::json!([
            "http://203.0.113.7/gate.php",
            "https://cdn.example.net/a.js"
        ])
    );
    assert_eq!(found["ipv4"], serde_json::json!(["203.0.113.7"]));
    assert_eq!(
        found["domain"],
        serde_json::json!(["cdn.example.net"]),
        "allow-listed and file names left out"
    );
    assert_eq!(found["email"], serde_json::json!(["ops@corp.example.com"]));
    assert_eq!(
        found["sha256"],
        serde_json::json!(["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
    );
    let quiet = scan_bytes(b"The quick brown fox", &["-s", "iocextract"]);
    assert!(quiet["results"][0]["workers"].get("iocextract").is_none());
}

#[test]
fn decompress_walks_nested_archives_with_every_node_hashed() {
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new()
        .filename("fox.txt")
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(b"The quick brown fox").unwrap();
    let gz = gz.finish().unwrap();
    let outer = deflated_zip(&[("docs/fox.txt.gz", &gz), ("readme.txt", b"hello")]);
    let response = scan_bytes(&outer, &["-a", "decompress", "hash"]);
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "zip, gz, readme, fox: {response:#}");
    assert_eq!(
        results[0]["workers"]["decompress"],
        serde_json::json!({"format": "zip", "members": 2, "extracted": 2})
    );
    let fox = results
        .iter()
        .find(|r| r["size"] == 19)
        .expect("the innermost file");
    assert_eq!(fox["depth"], 2);
    assert_eq!(fox["payload_meta"]["extra_data"]["filename"], "fox.txt");
    assert_eq!(
        fox["workers"]["hash"]["md5"],
        md5_hex(b"The quick brown fox")
    );
    // Plain files are not archives: decompress reports that, once per such payload.
    assert!(
        errors(&response)
            .iter()
            .all(|e| e.starts_with("worker:failed: not an archive")),
        "{response:#}"
    );
}

#[test]
fn a_nested_zip_bomb_ends_in_errors_with_bounded_work() {
    // 42.zip in small: 16 identical copies per level, 3 levels, 200 MiB of zeros inside.
    let zeros = vec![0u8; 200 << 20];
    let mut level = deflated_zip(&[("zeros.bin", &zeros)]);
    drop(zeros);
    for depth in 0..3 {
        let names: Vec<String> = (0..16).map(|i| format!("l{depth}_{i}.zip")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), level.as_slice()))
            .collect();
        level = deflated_zip(&entries);
    }
    let response = scan_bytes(&level, &["-a", "decompress"]);
    let results = response["results"].as_array().unwrap();
    // Identical copies are one payload each (deduplicated): the root and one per level; the
    // 200 MiB member is never held (reading stops one byte past the limit).
    assert_eq!(
        results.len(),
        4,
        "{}",
        serde_json::to_string(&response["errors"]).unwrap()
    );
    let errs = errors(&response);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("member zeros.bin: limit max_member_size (104857600) exceeded")),
        "{errs:?}"
    );
}

#[test]
fn smtp_parses_the_email_and_extracts_attachments_and_nested_messages() {
    let zip = deflated_zip(&[("fox.txt", b"The quick brown fox")]);
    let zip_b64: String = {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&zip);
        encoded
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
            .collect()
    };
    let email = format!(
        "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: report\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         see attached\r\n--B\r\nContent-Type: application/zip\r\n\
         Content-Disposition: attachment; filename=\"report.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {zip_b64}--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: carol@example.net\r\nSubject: fwd\r\n\r\n\
         forwarded\r\n--B--\r\n"
    );
    let response = scan_bytes(email.as_bytes(), &["-s", "smtp", "-a", "hash"]);
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{response:#}");
    let root = &results[0]["workers"]["smtp"];
    assert_eq!(root["subject"], "report");
    assert_eq!(root["body"], "see attached");
    assert_eq!(root["attachments"][0]["filename"], "report.zip");
    let zip_payload = results
        .iter()
        .find(|r| r["payload_meta"]["extra_data"]["filename"] == "report.zip")
        .unwrap();
    assert_eq!(zip_payload["workers"]["hash"]["md5"], md5_hex(&zip));
    let nested = results
        .iter()
        .find(|r| r["workers"].get("smtp").is_some() && r["depth"] == 1)
        .unwrap();
    assert_eq!(
        nested["workers"]["smtp"]["subject"], "fwd",
        "dispatched back to smtp"
    );
    assert!(errors(&response).is_empty(), "{response:#}");
}

fn email_with_attachment(name: &str, content: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let encoded: String = base64::engine::general_purpose::STANDARD
        .encode(content)
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();
    format!(
        "From: attacker@example.com\r\nTo: victim@example.org\r\nSubject: invoice\r\n\
         Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         Open the attachment.\r\n--B\r\nContent-Type: application/zip\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {encoded}--B--\r\n"
    )
    .into_bytes()
}

#[test]
fn peinfo_describes_a_pe_and_extracts_its_resources() {
    let pe = stoq_tests::pe::build_pe();
    let response = scan_bytes(&pe, &["-s", "peinfo", "-a", "hash"]);
    let results = response["results"].as_array().unwrap();
    let info = &results[0]["workers"]["peinfo"];
    assert_eq!(info["machine"], "amd64");
    assert_eq!(info["exports"], serde_json::json!(["DoThing"]));
    assert_eq!(
        info["imports"]["USER32.dll"],
        serde_json::json!(["MessageBoxA"])
    );
    assert_eq!(info["version_info"]["CompanyName"], "Stoq Test Corp");
    assert_eq!(results.len(), 3, "the PE and its two resources");
    assert_eq!(
        results[1]["payload_meta"]["extra_data"]["resource"],
        "RCDATA/1/1033"
    );
    assert_eq!(
        results[1]["workers"]["hash"]["md5"],
        md5_hex(stoq_tests::pe::RESOURCE)
    );
    let broken = scan_bytes(&pe[..300], &["-s", "peinfo"]);
    assert!(
        errors(&broken)[0].starts_with("worker:failed: not a valid PE file"),
        "{broken:#}"
    );
}

#[test]
fn an_email_carrying_a_zip_carrying_a_pe_unpacks_as_one_tree() {
    let pe = stoq_tests::pe::build_pe();
    let zip = deflated_zip(&[("invoice.exe", &pe)]);
    let email = email_with_attachment("invoice.zip", &zip);
    let response = scan_bytes(&email, &["-a", "hash", "mimetype", "-R", "yara"]);
    let results = response["results"].as_array().unwrap();
    assert!(errors(&response).is_empty(), "{:#}", response["errors"]);
    // email -> invoice.zip -> invoice.exe -> its two resources: every node hashed and typed.
    assert_eq!(results.len(), 5, "{response:#}");
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["workers"]["mimetype"]["mimetype"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds[..3],
        [
            "message/rfc822",
            "application/zip",
            "application/vnd.microsoft.portable-executable"
        ]
    );
    assert!(
        results
            .iter()
            .all(|r| r["workers"]["hash"]["sha256"].is_string())
    );
    assert_eq!(results[0]["workers"]["smtp"]["subject"], "invoice");
    assert_eq!(
        results[1]["payload_meta"]["extra_data"]["filename"],
        "invoice.zip"
    );
    assert_eq!(results[1]["workers"]["decompress"]["extracted"], 1);
    assert_eq!(
        results[2]["payload_meta"]["extra_data"]["filename"],
        "invoice.exe"
    );
    assert_eq!(
        results[2]["workers"]["peinfo"]["exports"],
        serde_json::json!(["DoThing"])
    );
    assert_eq!(
        results[3]["payload_meta"]["extra_data"]["resource"],
        "RCDATA/1/1033"
    );
    for (result, depth) in results.iter().zip([0, 1, 2, 3, 3]) {
        assert_eq!(result["depth"], depth);
    }
}
