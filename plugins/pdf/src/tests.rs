//! PDFs written here (by `stoq_tests::formats::pdf`) run through [`PluginTest`] as the host runs the plugin.
//! Keyword counts are compared with pdfid 0.2.10 (Didier Stevens), run on the same files
//! (`STOQ_GOLDEN_SAMPLES=/tmp/pdf cargo test -p stoq-plugin-pdf golden` writes them) with a
//! `pdfid.ini` naming `/URI`; its output is written below as expected values.

use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::{PluginTest, TestError};

use super::*;
use stoq_tests::response::{children, messages, results};

use stoq_tests::formats::pdf::{Writer, flate, utf16_hex};
use stoq_tests::golden;

fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<Pdf>::new().scan(data).expect("scans")
}

/// The keyword counts that are not zero, as pdfid prints them (`name`, count, hex count).
fn nonzero_keywords(response: &WorkerResponse) -> Vec<(String, u64, u64)> {
    let r = results(response);
    let mut out = Vec::new();
    for k in keywords::KEYWORDS.iter().chain([&keywords::COLORS]) {
        let count = r["keywords"][*k].as_u64().unwrap();
        let hex = r["hex_escaped"][*k].as_u64().unwrap_or(0);
        if count > 0 {
            out.push(((*k).to_owned(), count, hex));
        }
    }
    out
}

fn kw(list: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    list.iter()
        .map(|(k, c, h)| ((*k).to_owned(), *c, *h))
        .collect()
}

/// A catalog with a JavaScript `/OpenAction`, a page whose `/AA` prints, and a link
/// annotation with a URI; a correct cross-reference table.
fn js_uri_pdf() -> Vec<u8> {
    let mut w = Writer::new("1.7");
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>")
        .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        .obj(
            3,
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R]\n   /AA << /O << /S /JavaScript /JS (this.print\\({bUI: false}\\);) >> >> >>",
        )
        .obj(
            4,
            "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100]\n   /A << /S /URI /URI (http://example.com/landing?id=1) >> >>",
        )
        .obj(5, "<< /Type /Action /S /JavaScript /JS (app.alert\\('hello'\\);) >>");
    w.finish(1)
}

/// The JavaScript of the OpenAction in a Flate stream, a JavaScript name tree, and no
/// cross-reference table at all.
const STREAM_JS: &[u8] =
    b"var payload = unescape('%u9090%u9090');\nthis.exportDataObject({cName: 'a'});\n";

fn flate_js_pdf() -> Vec<u8> {
    let mut w = Writer::new("1.6");
    w.obj(
        1,
        "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS 6 0 R >> /Names << /JavaScript 7 0 R >> >>",
    )
    .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    .obj(3, "<< /Type /Page /Parent 2 0 R >>")
    .stream(6, "/Filter /FlateDecode", &flate(STREAM_JS))
    .obj(7, "<< /Names [(init) 8 0 R] >>")
    .obj(8, "<< /S /JavaScript /JS (var init = 1;) >>");
    w.finish_without_xref(1)
}

/// The bytes of the embedded file.
const EMBEDDED: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode";

/// An embedded file (Flate-compressed, named by its file specification) and a `/Launch`
/// `/OpenAction`; the cross-reference table's offsets are all wrong.
fn embedded_pdf() -> Vec<u8> {
    let mut w = Writer::new("1.7");
    w.obj(
        1,
        "<< /Type /Catalog /Pages 2 0 R /OpenAction 11 0 R\n   /Names << /EmbeddedFiles << /Names [(invoice.exe) 9 0 R] >> >> >>",
    )
    .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    .obj(3, "<< /Type /Page /Parent 2 0 R >>")
    .obj(
        9,
        &format!(
            "<< /Type /Filespec /F (invoice.exe) /UF {} /EF << /F 10 0 R >> >>",
            utf16_hex("Rechnung_März.exe")
        ),
    )
    .stream(
        10,
        "/Type /EmbeddedFile /Filter /FlateDecode",
        &flate(EMBEDDED),
    )
    .obj(
        11,
        "<< /S /Launch /Win << /F (cmd.exe) /P (/c start invoice.exe) >> /NewWindow true >>",
    );
    w.finish_broken_xref(1)
}

/// Objects 3 (the page) and 5 (a JavaScript action) inside a Flate-compressed object stream;
/// the catalog's `/OpenAction` points into it; broken cross-reference table.
fn objstm_pdf() -> Vec<u8> {
    let obj5 = "<< /S /JavaScript /JS (app.launchURL\\('http://example.org/objstm'\\);) >>";
    let obj3 = "<< /Type /Page /Parent 2 0 R >>";
    let header = format!("5 0 3 {} ", obj5.len() + 1);
    let body = format!("{header}{obj5}\n{obj3}\n");
    let mut w = Writer::new("1.5");
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>")
        .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        .stream(
            4,
            &format!(
                "/Type /ObjStm /N 2 /First {} /Filter /FlateDecode",
                header.len()
            ),
            &flate(body.as_bytes()),
        );
    w.finish_broken_xref(1)
}

/// Names written with `#xx` escapes, as malicious files hide `/JavaScript`.
fn hex_names_pdf() -> Vec<u8> {
    let mut w = Writer::new("1.4");
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R /Open#41ction 4 0 R >>")
        .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        .obj(3, "<< /Type /Page /Parent 2 0 R >>")
        .obj(4, "<< /S /J#61vaScript /#4A#53 (app.alert\\(2\\)) >>");
    w.finish(1)
}

#[test]
fn javascript_actions_and_uris_are_found() {
    let response = scan(&js_uri_pdf());
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(r["header"], "%PDF-1.7");
    assert_eq!(r["version"], "1.7");
    assert_eq!(r["xref"], "table");
    assert_eq!(r["objects"], 5);
    assert_eq!(r["encrypted"], false);
    assert_eq!(r["uris"], json!(["http://example.com/landing?id=1"]));
    assert_eq!(
        r["actions"],
        json!([
            {"trigger": "OpenAction", "in_object": 1, "object": 5, "type": "JavaScript", "javascript": "obj5.js"},
            {"trigger": "AA/O", "in_object": 3, "type": "JavaScript", "javascript": "obj3.js"},
        ])
    );
    assert_eq!(
        children(&response),
        [
            ("obj3.js".to_owned(), b"this.print({bUI: false});".to_vec()),
            ("obj5.js".to_owned(), b"app.alert('hello');".to_vec()),
        ]
    );
    let meta = &response.extracted[1].payload_meta.extra_data;
    assert_eq!(meta["pdf_object"], 5);
    assert_eq!(meta["kind"], "javascript");
    // pdfid 0.2.10 on this file (with /URI in pdfid.ini): obj 5, endobj 5, xref 1, trailer 1,
    // startxref 1, /Page 1, /JS 2, /JavaScript 2, /AA 1, /OpenAction 1, /URI 2.
    assert_eq!(
        nonzero_keywords(&response),
        kw(&[
            ("obj", 5, 0),
            ("endobj", 5, 0),
            ("xref", 1, 0),
            ("trailer", 1, 0),
            ("startxref", 1, 0),
            ("/Page", 1, 0),
            ("/JS", 2, 0),
            ("/JavaScript", 2, 0),
            ("/AA", 1, 0),
            ("/OpenAction", 1, 0),
            ("/URI", 2, 0),
        ])
    );
}

#[test]
fn compressed_javascript_and_name_trees_without_an_xref() {
    let response = scan(&flate_js_pdf());
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(r["xref"], "missing");
    assert_eq!(r["filters"], json!({"FlateDecode": 1}));
    assert_eq!(
        r["actions"],
        json!([
            {"trigger": "OpenAction", "in_object": 1, "type": "JavaScript", "javascript": "obj6.js"},
            {"trigger": "Names/JavaScript/init", "in_object": 1, "object": 8, "type": "JavaScript", "javascript": "obj8.js"},
        ])
    );
    assert_eq!(
        children(&response),
        [
            ("obj6.js".to_owned(), STREAM_JS.to_vec()),
            ("obj8.js".to_owned(), b"var init = 1;".to_vec()),
        ]
    );
    assert_eq!(
        r["javascript"],
        json!([
            {"filename": "obj6.js", "object": 6, "size": STREAM_JS.len()},
            {"filename": "obj8.js", "object": 8, "size": 13},
        ])
    );
    // pdfid 0.2.10: obj 6, endobj 6, stream 1, endstream 1, trailer 1, /Page 1, /JS 2,
    // /JavaScript 3, /OpenAction 1.
    assert_eq!(
        nonzero_keywords(&response),
        kw(&[
            ("obj", 6, 0),
            ("endobj", 6, 0),
            ("stream", 1, 0),
            ("endstream", 1, 0),
            ("trailer", 1, 0),
            ("/Page", 1, 0),
            ("/JS", 2, 0),
            ("/JavaScript", 3, 0),
            ("/OpenAction", 1, 0),
        ])
    );
}

#[test]
fn embedded_files_are_extracted_with_their_names_and_launch_is_listed() {
    let response = scan(&embedded_pdf());
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(r["xref"], "broken");
    assert_eq!(
        r["embedded_files"],
        json!([{"filename": "Rechnung_März.exe", "object": 10, "size": EMBEDDED.len()}])
    );
    assert_eq!(
        children(&response),
        [("Rechnung_März.exe".to_owned(), EMBEDDED.to_vec())]
    );
    assert_eq!(
        response.extracted[0].payload_meta.extra_data["kind"],
        "embedded_file"
    );
    assert_eq!(
        r["launch"],
        json!([{"object": 11, "file": "cmd.exe", "parameters": "/c start invoice.exe"}])
    );
    assert_eq!(
        r["actions"],
        json!([{"trigger": "OpenAction", "in_object": 1, "object": 11, "type": "Launch", "file": "cmd.exe"}])
    );
    // pdfid 0.2.10: obj 6, endobj 6, stream 1, endstream 1, xref 1, trailer 1, startxref 1,
    // /Page 1, /OpenAction 1, /Launch 1, /EmbeddedFile 1 (/EmbeddedFiles is another name).
    assert_eq!(
        nonzero_keywords(&response),
        kw(&[
            ("obj", 6, 0),
            ("endobj", 6, 0),
            ("stream", 1, 0),
            ("endstream", 1, 0),
            ("xref", 1, 0),
            ("trailer", 1, 0),
            ("startxref", 1, 0),
            ("/Page", 1, 0),
            ("/OpenAction", 1, 0),
            ("/Launch", 1, 0),
            ("/EmbeddedFile", 1, 0),
        ])
    );
}

#[test]
fn object_streams_are_opened() {
    let response = scan(&objstm_pdf());
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(r["object_streams"], 1);
    assert_eq!(r["objects"], 5, "1, 2, 4 and the two inside 4");
    assert_eq!(r["uris"], json!([]));
    assert_eq!(
        r["actions"],
        json!([{"trigger": "OpenAction", "in_object": 1, "object": 5, "type": "JavaScript", "javascript": "obj5.js"}])
    );
    assert_eq!(
        children(&response),
        [(
            "obj5.js".to_owned(),
            b"app.launchURL('http://example.org/objstm');".to_vec()
        )]
    );
    // pdfid 0.2.10 sees none of the compressed objects: obj 3, endobj 3, stream 1,
    // endstream 1, xref 1, trailer 1, startxref 1, /ObjStm 1, /OpenAction 1.
    assert_eq!(
        nonzero_keywords(&response),
        kw(&[
            ("obj", 3, 0),
            ("endobj", 3, 0),
            ("stream", 1, 0),
            ("endstream", 1, 0),
            ("xref", 1, 0),
            ("trailer", 1, 0),
            ("startxref", 1, 0),
            ("/ObjStm", 1, 0),
            ("/OpenAction", 1, 0),
        ])
    );
}

#[test]
fn hex_escaped_names_are_normalised_and_reported() {
    let response = scan(&hex_names_pdf());
    assert_eq!(messages(&response), Vec::<String>::new());
    let r = results(&response);
    assert_eq!(
        r["hex_escaped"],
        json!({"/JS": 1, "/JavaScript": 1, "/OpenAction": 1})
    );
    assert_eq!(
        r["actions"],
        json!([{"trigger": "OpenAction", "in_object": 1, "object": 4, "type": "JavaScript", "javascript": "obj4.js"}])
    );
    assert_eq!(
        children(&response),
        [("obj4.js".to_owned(), b"app.alert(2)".to_vec())]
    );
    // pdfid 0.2.10: /JS 1(1), /JavaScript 1(1), /OpenAction 1(1).
    assert_eq!(
        nonzero_keywords(&response),
        kw(&[
            ("obj", 4, 0),
            ("endobj", 4, 0),
            ("xref", 1, 0),
            ("trailer", 1, 0),
            ("startxref", 1, 0),
            ("/Page", 1, 0),
            ("/JS", 1, 1),
            ("/JavaScript", 1, 1),
            ("/OpenAction", 1, 1),
        ])
    );
}

#[test]
fn golden() {
    let test = PluginTest::<Pdf>::new();
    let samples: [(&str, Vec<u8>); 5] = [
        ("js_uri", js_uri_pdf()),
        ("flate_js", flate_js_pdf()),
        ("embedded", embedded_pdf()),
        ("objstm", objstm_pdf()),
        ("hex_names", hex_names_pdf()),
    ];
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            golden::dump_sample(&format!("{name}.pdf"), data);
            (
                format!("{name}.json"),
                golden::worker_output(&test.scan(data)),
            )
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}

/// Runs `data` and requires an answer (never a panic or an invalid response) within `limit`.
fn finishes(test: &PluginTest<Pdf>, data: &[u8], limit: Duration) -> WorkerResponse {
    let start = Instant::now();
    let outcome = test.scan(data);
    assert!(
        start.elapsed() < limit,
        "took {:?} on {} bytes",
        start.elapsed(),
        data.len()
    );
    match outcome {
        Ok(response) => response,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn truncated_and_corrupted_pdfs_are_read_as_far_as_they_go() {
    let test = PluginTest::<Pdf>::new();
    for sample in [js_uri_pdf(), embedded_pdf(), objstm_pdf(), flate_js_pdf()] {
        for cut in 0..sample.len() {
            finishes(&test, &sample[..cut], Duration::from_secs(2));
        }
        for at in (0..sample.len()).step_by(3) {
            let mut broken = sample.clone();
            broken[at] ^= 0x55;
            finishes(&test, &broken, Duration::from_secs(2));
        }
    }
    // Cut inside the OpenAction's JavaScript: what was read is still reported.
    let pdf = js_uri_pdf();
    let at = pdf.windows(5).position(|w| w == b"hello").unwrap();
    let string_at = pdf.windows(10).position(|w| w == b"(app.alert").unwrap();
    let response = finishes(&test, &pdf[..at], Duration::from_secs(2));
    assert_eq!(
        results(&response)["uris"],
        json!(["http://example.com/landing?id=1"])
    );
    assert_eq!(
        messages(&response),
        [format!(
            "object 5 0: string at offset {string_at} is never closed"
        )]
    );
    assert_eq!(
        children(&response),
        [
            ("obj3.js".to_owned(), b"this.print({bUI: false});".to_vec()),
            ("obj5.js".to_owned(), b"app.alert('".to_vec()),
        ]
    );
}

#[test]
fn a_wrong_length_falls_back_to_endstream() {
    let mut w = Writer::new("1.7");
    w.obj(
        1,
        "<< /Type /Catalog /OpenAction << /S /JavaScript /JS 2 0 R >> >>",
    )
    .stream_with_dict(2, "/Length 1000000000000", b"app.alert(3);");
    let response = scan(&w.finish(1));
    assert_eq!(
        children(&response),
        [("obj2.js".to_owned(), b"app.alert(3);".to_vec())]
    );
    let offset = w
        .finish(1)
        .windows(9)
        .position(|x| x == b"endstream")
        .unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "object 2 0: /Length 1000000000000 is wrong; its data is taken up to endstream at offset {offset} (13 bytes)"
        )]
    );
    // An indirect /Length that is right is used as it is, even when the data holds
    // `endstream`.
    let data = b"x = 'endstream';";
    let mut w = Writer::new("1.7");
    w.obj(1, "<< /OpenAction << /S /JavaScript /JS 2 0 R >> >>")
        .stream_with_dict(2, "/Length 3 0 R", data)
        .obj(3, &data.len().to_string());
    let response = scan(&w.finish(1));
    assert_eq!(messages(&response), Vec::<String>::new());
    assert_eq!(children(&response), [("obj2.js".to_owned(), data.to_vec())]);
}

#[test]
fn deep_nesting_is_cut_at_max_depth() {
    let test = PluginTest::<Pdf>::new();
    for open in [&b"["[..], b"<< /A "] {
        let mut pdf = b"%PDF-1.7\n1 0 obj\n".to_vec();
        for _ in 0..1_000_000 {
            pdf.extend_from_slice(open);
        }
        let response = finishes(&test, &pdf, Duration::from_secs(10));
        let depth_at = 17 + 100 * open.len();
        assert_eq!(
            messages(&response),
            [format!(
                "object 1 0: arrays and dictionaries nested deeper than 100 at offset {depth_at}"
            )]
        );
    }
    let response = PluginTest::<Pdf>::new()
        .option("max_depth", 3)
        .scan(b"1 0 obj [[[[1]]]] endobj")
        .unwrap();
    assert_eq!(
        messages(&response)[0],
        "object 1 0: arrays and dictionaries nested deeper than 3 at offset 11"
    );
}

#[test]
fn a_flate_bomb_costs_its_limit() {
    let bomb = flate(&vec![0u8; 32 << 20]);
    let mut w = Writer::new("1.7");
    w.obj(
        1,
        "<< /Type /Catalog /Names << /EmbeddedFiles << /Names [(zeros) 2 0 R] >> >> >>",
    )
    .obj(2, "<< /Type /Filespec /F (zeros.bin) /EF << /F 3 0 R >> >>")
    .stream(3, "/Type /EmbeddedFile /Filter /FlateDecode", &bomb)
    .stream(4, "/Type /EmbeddedFile /Filter /FlateDecode", &bomb);
    let pdf = w.finish(1);
    let test = PluginTest::<Pdf>::new()
        .option("max_stream_size", 1 << 20)
        .option("max_total_decoded", 3 << 19);
    let response = finishes(&test, &pdf, Duration::from_secs(10));
    let sizes: Vec<(String, usize)> = children(&response)
        .into_iter()
        .map(|(n, c)| (n, c.len()))
        .collect();
    assert_eq!(
        sizes,
        [
            ("zeros.bin".to_owned(), 1 << 20),
            ("obj4.bin".to_owned(), 1 << 19)
        ]
    );
    assert_eq!(
        messages(&response),
        [
            "embedded file stream 3: FlateDecode: decoded data exceeds 1048576 bytes (max_stream_size); cut there",
            "embedded file stream 4: FlateDecode: decoded data exceeds 524288 bytes (max_total_decoded); cut there",
        ]
    );
}

#[test]
fn looping_references_end() {
    let mut w = Writer::new("1.7");
    w.obj(
        1,
        "<< /Type /Catalog /OpenAction 5 0 R /AA << /WC 7 0 R >> /Names << /JavaScript 9 0 R >> >>",
    )
    // /Length through a loop of references.
    .stream_with_dict(2, "/Length 3 0 R", b"data")
    .obj(3, "4 0 R")
    .obj(4, "3 0 R")
    // An OpenAction that is a loop of references.
    .obj(5, "6 0 R")
    .obj(6, "5 0 R")
    // Actions whose /Next point at each other.
    .obj(7, "<< /S /JavaScript /JS (a();) /Next 8 0 R >>")
    .obj(8, "<< /S /JavaScript /JS (b();) /Next [7 0 R] >>")
    // A name tree whose kid is itself, and a /JS pointing at itself.
    .obj(9, "<< /Kids [9 0 R 10 0 R] >>")
    .obj(
        10,
        "<< /Kids [9 0 R] /Names [(x) << /S /JavaScript /JS 11 0 R >>] >>",
    )
    .obj(11, "11 0 R");
    let test = PluginTest::<Pdf>::new();
    let response = finishes(&test, &w.finish(1), Duration::from_secs(2));
    let r = results(&response);
    assert_eq!(
        r["actions"],
        json!([
            {"trigger": "OpenAction", "in_object": 1, "type": "missing", "object": 5},
            {"trigger": "AA/WC", "in_object": 1, "object": 7, "type": "JavaScript", "javascript": "obj7.js",
             "next": [{"object": 8, "type": "JavaScript", "javascript": "obj8.js",
                       "next": [{"object": 7, "type": "loop"}]}]},
            {"trigger": "Names/JavaScript/x", "in_object": 1, "type": "JavaScript"},
        ])
    );
    assert_eq!(
        messages(&response),
        [format!(
            "object 2 0: a /Length that is no usable number; its data is taken up to endstream at offset {} (4 bytes)",
            w.finish(1)
                .windows(9)
                .position(|x| x == b"endstream")
                .unwrap()
        )]
    );
}

#[test]
fn many_broken_objects_cost_linear_time() {
    // Unterminated strings and dictionaries, each in front of the next object header.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    for i in 0..50_000 {
        pdf.extend_from_slice(format!("{i} 0 obj\n<< /JS (never closed\n").as_bytes());
    }
    let test = PluginTest::<Pdf>::new();
    let response = finishes(&test, &pdf, Duration::from_secs(10));
    assert_eq!(results(&response)["objects"], 50_000);
    assert_eq!(response.errors.len(), document::MAX_ERRORS + 1);
    // Each object's error, and that the JavaScript list stopped at 1,000 pieces.
    assert_eq!(
        messages(&response).last().unwrap(),
        &format!(
            "{} more problems not listed",
            50_000 + 1 - document::MAX_ERRORS
        )
    );
    assert_eq!(response.extracted.len(), analysis::MAX_LISTED);
    // Many streams with no endstream at all.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    for i in 0..50_000 {
        pdf.extend_from_slice(format!("{i} 0 obj << /Length 99999999 >> stream\nxx\n").as_bytes());
    }
    finishes(&test, &pdf, Duration::from_secs(10));
}

#[test]
fn max_objects_is_a_limit_with_an_error() {
    let response = PluginTest::<Pdf>::new()
        .option("max_objects", 3)
        .scan(&js_uri_pdf())
        .unwrap();
    assert_eq!(results(&response)["objects"], 3);
    assert_eq!(
        messages(&response),
        ["limit max_objects (3) reached: 2 more object headers not read"]
    );
}

#[test]
fn the_host_limits_bound_what_is_extracted() {
    let response = PluginTest::<Pdf>::new()
        .limits(HostLimits::new(u64::MAX, 20, 10))
        .scan(&js_uri_pdf())
        .unwrap();
    assert_eq!(
        children(&response)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["obj5.js"]
    );
    assert_eq!(
        messages(&response),
        [
            "obj3.js (object 3): not extracted, its 25 bytes are over what the request may still extract (20)"
        ]
    );
}

#[test]
fn bad_options_are_rejected_with_their_key() {
    for (key, value, reason) in [
        ("max_depth", json!(0), "must be positive, got 0"),
        ("max_depth", json!(5000), "must be at most 1000, got 5000"),
        ("max_objects", json!(-1), "must be positive, got -1"),
        ("max_stream_size", json!(0), "must be positive, got 0"),
    ] {
        let outcome = PluginTest::<Pdf>::new()
            .option(key, value)
            .scan(b"%PDF-1.7");
        let Err(TestError::Config(message)) = outcome else {
            panic!("{key}: {outcome:?}");
        };
        assert_eq!(message, format!("plugin `pdf`: option `{key}`: {reason}"));
    }
    let outcome = PluginTest::<Pdf>::new()
        .option("max_total_decoded", "lots")
        .scan(b"%PDF-1.7");
    assert!(
        matches!(&outcome, Err(TestError::Config(m)) if m.contains("`max_total_decoded`")),
        "{outcome:?}"
    );
}

#[test]
fn not_a_pdf_is_said_so() {
    let response = scan(b"just some text with obj and /JS in it");
    assert_eq!(results(&response)["header"], Value::Null);
    assert_eq!(results(&response)["keywords"]["/JS"], 1);
    assert_eq!(
        messages(&response),
        ["no %PDF header in the first 1024 bytes (read as a PDF all the same)"]
    );
}

/// Throughput on a typical file: `cargo test --release -p stoq-plugin-pdf -- --ignored bench
/// --nocapture`.
#[test]
#[ignore]
fn bench() {
    // About 4 MiB: 400 pages with content streams, a JavaScript action and an embedded file.
    let mut w = Writer::new("1.7");
    let mut kids = String::new();
    let content: Vec<u8> = (0..2000)
        .flat_map(|i| {
            format!(
                "BT /F1 12 Tf 72 {} Td (Line {i} of the page) Tj ET\n",
                i % 700
            )
            .into_bytes()
        })
        .collect();
    let compressed = flate(&content);
    for p in 0..400u32 {
        let page = 10 + 2 * p;
        kids.push_str(&format!("{page} 0 R "));
        w.obj(page, &format!("<< /Type /Page /Parent 2 0 R /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>", page + 1));
        w.stream(page + 1, "/Filter /FlateDecode", &compressed);
    }
    w.obj(
        1,
        "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>",
    )
    .obj(2, &format!("<< /Type /Pages /Kids [{kids}] /Count 400 >>"))
    .obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    let pdf = w.finish(1);
    std::fs::write("/tmp/pdf_bench.pdf", &pdf).unwrap();
    let test = PluginTest::<Pdf>::new();
    let start = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        test.scan(&pdf).unwrap();
    }
    let each = start.elapsed() / runs;
    println!(
        "pdf: {} bytes in {each:?} per scan ({:.1} MB/s); written to /tmp/pdf_bench.pdf",
        pdf.len(),
        pdf.len() as f64 / each.as_secs_f64() / 1e6
    );
}

/// Prints the keyword counts of every file in `$PDF_KEYWORDS_DIR`, one line each, to
/// compare with pdfid on many files: `PDF_KEYWORDS_DIR=dir cargo test -p stoq-plugin-pdf --
/// --ignored print_keywords --nocapture`.
#[test]
#[ignore]
fn print_keywords() {
    let dir = std::env::var("PDF_KEYWORDS_DIR").expect("PDF_KEYWORDS_DIR");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let data = std::fs::read(&path).unwrap();
        let c = keywords::count(&data);
        let counts: Vec<String> = keywords::KEYWORDS
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k}={}/{}", c.counts[i], c.hex_escaped[i]))
            .collect();
        println!(
            "KW {} {} colors={}",
            path.file_name().unwrap().to_string_lossy(),
            counts.join(" "),
            c.colors_over_2_24
        );
    }
}
