//! The `pdf` and `rtf` workers through the binary: a PDF and an RTF document written here,
//! each carrying a PE, unpack into one tree with `-R yara` (the built-in routes send `%PDF-`
//! to `pdf` and `{\rt` to `rtf`), and with `-s pdf` / `-s rtf` alone.

use std::io::Write;

use serde_json::{Value, json};
use stoq_tests::{errors, scan_bytes};

fn flate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

const JS: &[u8] = b"app.alert('open the attachment');";

/// A PDF whose `/OpenAction` runs JavaScript (a Flate stream) and which embeds `exe` as
/// `invoice.exe`; no cross-reference table (the plugin does not need one).
fn pdf_with(exe: &[u8]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut obj = |num: u32, dict: &str, stream: Option<&[u8]>| {
        write!(out, "{num} 0 obj\n{dict}\n").unwrap();
        if let Some(data) = stream {
            out.extend_from_slice(b"stream\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream\n");
        }
        out.extend_from_slice(b"endobj\n");
    };
    obj(
        1,
        "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS 4 0 R >>\n   /Names << /EmbeddedFiles << /Names [(invoice.exe) 5 0 R] >> >> >>",
        None,
    );
    obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None);
    obj(
        3,
        "<< /Type /Page /Parent 2 0 R /Annots [<< /Subtype /Link /A << /S /URI /URI (http://example.com/pay) >> >>] >>",
        None,
    );
    let js = flate(JS);
    obj(
        4,
        &format!("<< /Length {} /Filter /FlateDecode >>", js.len()),
        Some(&js),
    );
    obj(
        5,
        "<< /Type /Filespec /F (invoice.exe) /EF << /F 6 0 R >> >>",
        None,
    );
    let packed = flate(exe);
    obj(
        6,
        &format!(
            "<< /Type /EmbeddedFile /Length {} /Filter /FlateDecode >>",
            packed.len()
        ),
        Some(&packed),
    );
    out.extend_from_slice(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    out
}

fn lpas(s: &[u8]) -> Vec<u8> {
    let mut out = ((s.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(s);
    out.push(0);
    out
}

/// An RTF document with an OLE `Package` object carrying `exe` as `invoice.exe`, its hex
/// broken by line ends and junk as malicious documents write it.
fn rtf_with(exe: &[u8]) -> Vec<u8> {
    let mut native = 2u16.to_le_bytes().to_vec();
    native.extend_from_slice(b"invoice.exe\0C:\\Users\\a\\invoice.exe\0\0\0\x03\0");
    let temp = b"C:\\Temp\\invoice.exe";
    native.extend_from_slice(&((temp.len() + 1) as u32).to_le_bytes());
    native.extend_from_slice(temp);
    native.push(0);
    native.extend_from_slice(&(exe.len() as u32).to_le_bytes());
    native.extend_from_slice(exe);
    let mut ole = 0x501u32.to_le_bytes().to_vec();
    ole.extend_from_slice(&2u32.to_le_bytes());
    ole.extend(lpas(b"Package"));
    ole.extend(lpas(b""));
    ole.extend(lpas(b""));
    ole.extend_from_slice(&(native.len() as u32).to_le_bytes());
    ole.extend(native);
    let mut hex = String::new();
    for (i, b) in ole.iter().enumerate() {
        hex.push_str(&format!("{b:02x}"));
        if i % 40 == 39 {
            hex.push_str("\r\n");
        }
        if i % 97 == 5 {
            hex.push_str(" {\\*\\bkmkstart x} ");
        }
    }
    format!(
        "{{\\rtf1\\ansi{{\\*\\template http://example.com/t.dotm}}\\pard See below.\\par\r\n\
         {{\\object\\objemb\\objupdate{{\\*\\objclass Package}}{{\\*\\objdata\r\n{hex}\r\n}}}}}}\r\n"
    )
    .into_bytes()
}

fn filename(result: &Value) -> &str {
    result["payload_meta"]["extra_data"]["filename"]
        .as_str()
        .unwrap_or("")
}

#[test]
fn a_pdf_carrying_javascript_and_a_pe_unpacks_as_one_tree() {
    let pe = stoq_tests::pe::build_pe();
    let pdf = pdf_with(&pe);
    let response = scan_bytes(&pdf, &["-a", "hash", "-R", "yara"]);
    assert!(errors(&response).is_empty(), "{:#}", response["errors"]);
    let results = response["results"].as_array().unwrap();
    let info = &results[0]["workers"]["pdf"];
    assert_eq!(info["version"], "1.7");
    assert_eq!(info["xref"], "missing");
    assert_eq!(info["uris"], json!(["http://example.com/pay"]));
    assert_eq!(
        info["actions"],
        json!([{"trigger": "OpenAction", "in_object": 1, "type": "JavaScript", "javascript": "obj4.js"}])
    );
    assert_eq!(info["keywords"]["/JavaScript"], 1);
    assert_eq!(info["keywords"]["/EmbeddedFile"], 1);
    // The PDF, its JavaScript, the PE and the PE's two resources.
    let names: Vec<&str> = results.iter().map(filename).collect();
    assert_eq!(
        names[..3],
        ["sample.bin", "obj4.js", "invoice.exe"],
        "{response:#}"
    );
    assert_eq!(results.len(), 5, "{response:#}");
    assert_eq!(
        results[1]["workers"]["hash"]["sha256"],
        stoq_tests::sha256_hex(JS)
    );
    assert_eq!(
        results[2]["payload_meta"]["extra_data"]["kind"],
        "embedded_file"
    );
    assert_eq!(
        results[2]["workers"]["hash"]["sha256"],
        stoq_tests::sha256_hex(&pe)
    );
    assert_eq!(
        results[2]["workers"]["peinfo"]["exports"],
        json!(["DoThing"])
    );
    assert_eq!(results[2]["depth"], 1);
    assert_eq!(results[3]["depth"], 2);

    // Named alone, without the dispatcher: the PDF only.
    let response = scan_bytes(&pdf, &["-s", "pdf"]);
    let results = response["results"].as_array().unwrap();
    assert_eq!(
        results[0]["workers"]["pdf"]["embedded_files"][0]["filename"],
        "invoice.exe"
    );
    assert_eq!(results.len(), 3);
}

#[test]
fn an_rtf_carrying_a_package_unpacks_as_one_tree() {
    let pe = stoq_tests::pe::build_pe();
    let rtf = rtf_with(&pe);
    let response = scan_bytes(&rtf, &["-a", "hash", "-R", "yara"]);
    assert!(errors(&response).is_empty(), "{:#}", response["errors"]);
    let results = response["results"].as_array().unwrap();
    let info = &results[0]["workers"]["rtf"];
    assert_eq!(info["objects"][0]["ole"]["class_name"], "Package");
    assert_eq!(info["objects"][0]["package"]["filename"], "invoice.exe");
    assert_eq!(info["control_words"]["objupdate"], 1);
    assert_eq!(info["templates"], json!(["http://example.com/t.dotm"]));
    assert_eq!(
        results.len(),
        4,
        "the RTF, the PE and its two resources: {response:#}"
    );
    assert_eq!(filename(&results[1]), "invoice.exe");
    assert_eq!(
        results[1]["payload_meta"]["extra_data"]["class_name"],
        "Package"
    );
    assert_eq!(
        results[1]["workers"]["hash"]["sha256"],
        stoq_tests::sha256_hex(&pe)
    );
    assert_eq!(
        results[1]["workers"]["peinfo"]["exports"],
        json!(["DoThing"])
    );

    let response = scan_bytes(&rtf, &["-s", "rtf"]);
    assert_eq!(response["results"].as_array().unwrap().len(), 2);
}

#[test]
fn hostile_documents_finish_with_errors() {
    // Arrays a million deep, and a group nesting a million deep around an object.
    let mut pdf = b"%PDF-1.7\n1 0 obj\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'[', 1_000_000));
    let response = scan_bytes(&pdf, &["-R", "yara"]);
    assert_eq!(
        errors(&response),
        ["object 1 0: arrays and dictionaries nested deeper than 100 at offset 117"],
        "{response:#}"
    );
    let mut rtf = b"{\\rtf1".to_vec();
    rtf.extend(std::iter::repeat_n(b'{', 1_000_000));
    rtf.extend_from_slice(b"{\\*\\objdata 0102}");
    let response = scan_bytes(&rtf, &["-R", "yara"]);
    let mut errors = errors(&response);
    errors.sort();
    assert_eq!(
        errors,
        [
            "1 destinations in groups deeper than max_depth (10000), the first at offset 1000009: ignored",
            "1000001 groups not closed at the end of the document",
        ],
        "{response:#}"
    );
}
