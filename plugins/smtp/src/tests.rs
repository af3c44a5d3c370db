//! Headers, bodies, attachments and their names, run through [`PluginTest`] as the host runs
//! the plugin. The golden files (`tests/golden/`, see [`golden`]) hold its whole answer on
//! each sample message.

use stoq_plugin_abi::testing::{PluginTest, TestError};
use stoq_plugin_abi::types::string_to_bytes;

use super::*;
use stoq_tests::response::results;

use stoq_tests::golden;

/// A multipart message: a text body, a zip attachment and a nested message.
const EMAIL: &str = "From: Alice <alice@example.com>\r\n\
To: bob@example.org, carol@example.net\r\n\
Subject: =?utf-8?q?Invoice_=E2=82=AC?=\r\n\
Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <1@example.com>\r\n\
Received: from a\r\n\
Received: from b\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Please pay.\r\n\
--XX\r\n\
Content-Type: application/zip; name=\"invoice.zip\"\r\n\
Content-Disposition: attachment; filename=\"invoice.zip\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n\
--XX\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: inner@example.com\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--XX--\r\n";

/// A text and an HTML body (multipart/alternative), a Cc, no attachment.
const ALTERNATIVE: &str = "From: news@example.com\r\n\
To: reader@example.org\r\n\
Cc: editor@example.org\r\n\
Subject: Weekly news\r\n\
Date: Mon, 30 Nov 2026 08:30:00 +0100\r\n\
Message-ID: <news-48@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\
\r\n\
--ALT\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello, reader.\r\n\
--ALT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Hello, <b>reader</b>.</p>\r\n\
--ALT--\r\n";

/// A message with one attachment whose part headers are `headers`, and a raw header `X-Raw`
/// holding the byte 0xE9 and a backslash.
fn with_attachment(headers: &[u8]) -> Vec<u8> {
    let mut message = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n\
X-Raw: caf\xe9 \\ \r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX\r\n"
        .to_vec();
    message.extend_from_slice(headers);
    message.extend_from_slice(
        b"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--XX--\r\n",
    );
    message
}

/// Scans `data` with the default options; panics if the scan fails.
fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<Smtp>::new().scan(data).expect("scans")
}

#[test]
fn headers_bodies_and_attachments() {
    let response = PluginTest::<Smtp>::new()
        .option("max_body_size", 1000)
        .scan(EMAIL.as_bytes())
        .expect("scans");
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let results = results(&response);
    assert_eq!(results["subject"], "Invoice €");
    assert_eq!(results["from"], json!(["alice@example.com"]));
    assert_eq!(
        results["to"],
        json!(["bob@example.org", "carol@example.net"])
    );
    assert_eq!(results["headers"]["received"], json!(["from a", "from b"]));
    assert_eq!(results["date"], "2026-11-28T10:00:00Z");
    assert_eq!(results["message_id"], "1@example.com");
    assert_eq!(results["body"], "Please pay.");
    assert!(results.get("body_truncated").is_none());
    // No HTML part: no HTML body (mail-parser would make one up from the text).
    assert!(results.get("body_html").is_none(), "{results}");
    let extracted = &response.extracted;
    assert_eq!(extracted.len(), 2);
    assert_eq!(
        extracted[0].payload_meta.extra_data["filename"],
        "invoice.zip"
    );
    assert_eq!(
        extracted[0].payload_meta.extra_data["content_type"],
        "application/zip"
    );
    assert_eq!(&extracted[0].content[..4], b"PK\x05\x06");
    assert!(extracted[0].payload_meta.dispatch_to.is_empty());
    // The nested message is parsed the same way.
    assert_eq!(extracted[1].payload_meta.dispatch_to, ["smtp"]);
    assert!(String::from_utf8_lossy(&extracted[1].content).contains("inner body"));
    assert_eq!(
        results["attachments"],
        json!([
            {"filename": "invoice.zip", "content_type": "application/zip", "size": 22},
            {"filename": null, "content_type": "message/rfc822", "size": extracted[1].content.len()},
        ])
    );
}

#[test]
fn an_mbox_from_line_and_a_byte_order_mark_come_before_the_headers() {
    let test = PluginTest::<Smtp>::new();
    for (data, from) in [
        (
            &b"From alice@example.com  Mon Jan  1 00:00:00 2024\nFrom: Bob <bob@example.com>\nSubject: s\n\nx"[..],
            "bob@example.com",
        ),
        (b"\xef\xbb\xbfFrom: bob@example.com\nSubject: s\n\nx", "bob@example.com"),
        // The obsolete syntax's `From :` is a header, not an mbox line.
        (b"From : Bob 2nd <bob@example.com>\nSubject: s\n\nx", "bob@example.com"),
    ] {
        let response = test.scan(data).expect("scans");
        let results = results(&response);
        let names: Vec<&String> = results["headers"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["from", "subject"], "{}", String::from_utf8_lossy(data));
        assert_eq!(results["from"], json!([from]));
    }
}

#[test]
fn a_payload_that_is_not_an_email_is_an_error() {
    let test = PluginTest::<Smtp>::new();
    // Text whose first line mail-parser would take for a header name, and bytes.
    for data in [
        &b"The quick brown fox"[..],
        b"The quick brown fox\r\njumps over: the lazy dog\r\n",
        b"",
        b"\x00\x01\x02: x",
        b"MZ\x90\x00\x03\x00\x00\x00",
    ] {
        assert_eq!(
            test.scan(data).unwrap_err(),
            TestError::Failed("not an email: no RFC 5322 headers".into()),
            "{:?}",
            String::from_utf8_lossy(data)
        );
    }
    // One valid header is enough.
    let response = test.scan(b"Subject: hi\r\n\r\nbody").expect("an email");
    assert_eq!(results(&response)["subject"], "hi");
    assert_eq!(results(&response)["body"], "body");
}

/// The `filename` of the one attachment of [`with_attachment`]`(headers)`, as reported in
/// the results and in the extracted payload's metadata.
fn attachment_name(test: &PluginTest<Smtp>, headers: &[u8]) -> String {
    let response = test.scan(&with_attachment(headers)).expect("scans");
    let results = results(&response);
    assert_eq!(results["headers"]["x-raw"], json!([r"caf\xe9 \\"]));
    assert_eq!(response.extracted.len(), 1, "{results}");
    let name = &response.extracted[0].payload_meta.extra_data["filename"];
    assert_eq!(&results["attachments"][0]["filename"], name);
    name.as_str().expect("a name").to_owned()
}

#[test]
fn attachment_names_keep_their_bytes() {
    let test = PluginTest::<Smtp>::new();
    let zip = "Content-Type: application/zip\r\nContent-Disposition: attachment; ";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // Raw 8-bit bytes, RFC 2231 percent-encoded bytes, RFC 2047 B and Q words.
        (b"filename=\"\xff\xfe.zip\"".to_vec(), r"\xff\xfe.zip"),
        (b"filename*=UTF-8''%FF%FE.zip".to_vec(), r"\xff\xfe.zip"),
        (
            b"filename=\"=?utf-8?B?//4uemlw?=\"".to_vec(),
            r"\xff\xfe.zip",
        ),
        (
            b"filename=\"=?utf-8?Q?=FF?= =?utf-8?Q?=FE?=.zip\"".to_vec(),
            r"\xff\xfe.zip",
        ),
        (
            b"filename=\"=?x-unknown?Q?=FF_a.zip?=\"".to_vec(),
            r"\xff a.zip",
        ),
        (
            b"\r\n filename*0*=UTF-8''%FF;\r\n filename*1=\".zip\"".to_vec(),
            r"\xff.zip",
        ),
        // The literal text `\xff` (quoted-pairs on the wire; percent-encoded).
        (br#"filename="\\xff\\xfe.zip""#.to_vec(), r"\\xff\\xfe.zip"),
        (b"filename*=UTF-8''%5Cxff.zip".to_vec(), r"\\xff.zip"),
        (
            b"filename*=UTF-8''C%3A%5Cdir%5Ca.exe".to_vec(),
            r"C:\\dir\\a.exe",
        ),
        // Known charsets decode to text.
        (
            b"filename=\"=?iso-8859-1?Q?caf=E9.txt?=\"".to_vec(),
            "café.txt",
        ),
        (
            b"filename*=windows-1252''caf%E9%80.txt".to_vec(),
            "café€.txt",
        ),
        (b"filename=\"caf\xc3\xa9.txt\"".to_vec(), "café.txt"),
    ];
    for (param, expected) in cases {
        let mut headers = zip.as_bytes().to_vec();
        headers.extend_from_slice(&param);
        let name = attachment_name(&test, &headers);
        assert_eq!(name, expected, "{}", String::from_utf8_lossy(&param));
        assert!(!name.contains(char::REPLACEMENT_CHARACTER));
    }
    // Content-Type `name` when there is no Content-Disposition.
    assert_eq!(
        attachment_name(
            &test,
            b"Content-Type: application/octet-stream; name=\"\xff.bin\""
        ),
        r"\xff.bin"
    );
    // The byte 0xFF and the text `\xff` stay apart, and decode back to their bytes.
    let byte = attachment_name(
        &test,
        b"Content-Type: application/zip; name=\"\xff\xfe.zip\"",
    );
    let text = attachment_name(
        &test,
        br#"Content-Type: application/zip; name="\\xff\\xfe.zip""#,
    );
    assert_ne!(byte, text);
    assert_eq!(
        string_to_bytes(&byte).as_deref(),
        Some(&b"\xff\xfe.zip"[..])
    );
    assert_eq!(
        string_to_bytes(&text).as_deref(),
        Some(&br"\xff\xfe.zip"[..])
    );
}

#[test]
fn long_bodies_are_cut() {
    assert_eq!(cut("héllo", 2), ("hé".to_owned(), true));
    assert_eq!(cut("hi", 5), ("hi".to_owned(), false));
    // Through the option: characters, not bytes, and the cut is said.
    let response = PluginTest::<Smtp>::new()
        .option("max_body_size", "6")
        .scan(ALTERNATIVE.as_bytes())
        .expect("scans");
    let cut_results = results(&response);
    assert_eq!(cut_results["body"], "Hello,");
    assert_eq!(cut_results["body_truncated"], true);
    assert_eq!(cut_results["body_html"], "<p>Hel");
    assert_eq!(cut_results["body_html_truncated"], true);
    let whole = scan(ALTERNATIVE.as_bytes());
    assert_eq!(results(&whole)["body"], "Hello, reader.");
    assert!(results(&whole).get("body_truncated").is_none());
}

#[test]
fn bodies_are_extracted_only_when_asked() {
    assert!(scan(ALTERNATIVE.as_bytes()).extracted.is_empty());
    let response = PluginTest::<Smtp>::new()
        .option("extract_bodies", true)
        .option("max_body_size", 6)
        .scan(ALTERNATIVE.as_bytes())
        .expect("scans");
    let bodies: Vec<(&Value, &[u8])> = response
        .extracted
        .iter()
        .map(|e| (&e.payload_meta.extra_data["filename"], e.content.as_slice()))
        .collect();
    // Whole, whatever `max_body_size` keeps in the results.
    assert_eq!(
        bodies,
        [
            (&json!("body.txt"), b"Hello, reader.".as_slice()),
            (
                &json!("body.html"),
                b"<p>Hello, <b>reader</b>.</p>".as_slice()
            ),
        ]
    );
    // Bodies come first, then the attachments.
    let response = PluginTest::<Smtp>::new()
        .option("extract_bodies", "yes")
        .scan(EMAIL.as_bytes())
        .expect("scans");
    let names: Vec<Option<&Value>> = response
        .extracted
        .iter()
        .map(|e| e.payload_meta.extra_data.get("filename"))
        .collect();
    assert_eq!(
        names,
        [Some(&json!("body.txt")), Some(&json!("invoice.zip")), None]
    );
    // An HTML-only message has an HTML body and no text body.
    let html_only =
        b"From: a@example.com\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>hi</p>";
    let response = PluginTest::<Smtp>::new()
        .option("extract_bodies", true)
        .scan(html_only)
        .expect("scans");
    assert_eq!(results(&response)["body_html"], "<p>hi</p>");
    assert!(results(&response).get("body").is_none());
    assert_eq!(response.extracted.len(), 1);
    assert_eq!(
        response.extracted[0].payload_meta.extra_data["filename"],
        "body.html"
    );
}

#[test]
fn options_are_declared_and_read() {
    let declared: Vec<(&str, OptionKind, Option<Value>)> = Smtp::INFO
        .options
        .iter()
        .map(|o| (o.name, o.kind, o.default_value()))
        .collect();
    assert_eq!(
        declared,
        [
            ("max_body_size", OptionKind::Int, Some(json!(1_000_000))),
            ("extract_bodies", OptionKind::Bool, Some(json!(false))),
        ]
    );
    assert!(Smtp::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let test = PluginTest::<Smtp>::new()
        .option("max_body_size", 1)
        .option("extract_bodies", false);
    assert_eq!(test.unused_options(), Ok(vec![]));
}

#[test]
fn a_bad_option_value_is_a_config_error_naming_the_key() {
    let cases = [
        (
            "extract_bodies",
            json!("maybe"),
            "plugin `smtp`: option `extract_bodies`: expected a boolean, got \"maybe\"",
        ),
        (
            "max_body_size",
            json!("1MB"),
            "plugin `smtp`: option `max_body_size`: expected an integer, got \"1MB\"",
        ),
        (
            "max_body_size",
            json!(-1),
            "option `max_body_size` must be >= 0, got -1",
        ),
    ];
    for (key, value, message) in cases {
        let test = PluginTest::<Smtp>::new().option(key, value.clone());
        assert_eq!(
            test.scan(EMAIL.as_bytes()).unwrap_err(),
            TestError::Config(message.to_owned()),
            "{key} = {value}"
        );
    }
}

/// The samples of the golden files, each scanned with the default options: the multipart
/// invoice, a text and HTML newsletter, an attachment whose name is not UTF-8 (RFC 2231), and
/// a text file of the repository (no email).
///
/// After an intended change, regenerate them and review the diff:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-smtp golden`
/// (`STOQ_GOLDEN_SAMPLES=DIR` also writes the samples there, to check them with other tools).
#[test]
fn golden_files() {
    let fox_txt = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/fox.txt"
    ))
    .expect("samples/fox.txt");
    let samples: [(&str, Vec<u8>); 4] = [
        ("invoice_eml", EMAIL.as_bytes().to_vec()),
        ("alternative_eml", ALTERNATIVE.as_bytes().to_vec()),
        (
            "raw_attachment_name_eml",
            with_attachment(
                b"Content-Type: application/zip\r\nContent-Disposition: attachment; filename*=UTF-8''%FF%FE.zip",
            ),
        ),
        ("fox_txt", fox_txt),
    ];
    let test = PluginTest::<Smtp>::new();
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            golden::dump_sample(name, data);
            (
                format!("{name}.json"),
                golden::worker_output(&test.scan(data)),
            )
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}
