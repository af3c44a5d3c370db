//! The `mimetype` worker: the type of each payload, from its content (no external tools, no
//! magic database at run time).
//!
//! Results: `{"mimetype": "application/zip", "description": "ZIP", "extension": "zip",
//! "filetype": "zip"}`. Every kind of `stoq-filetype`'s table (archives and compressed
//! streams, OOXML and ODF documents, OLE2, PDF, RTF, LNK, PE, ELF, Mach-O, Java classes,
//! email, base64 text) is reported as that detector names it, with `filetype`, the kind's
//! name, which is also what the `yara` dispatcher's built-in routes go by: the two agree by
//! construction. For the kinds the table keeps whole (any zip, any OLE2 file), the `file-format`
//! crate may give a finer `mimetype`, `description` and `extension` (a jar, an apk, a Word 97
//! document, an MSI package); `filetype` stays the kind. Other payloads (images, media, fonts,
//! HTML, XML, text) are typed by `file-format` alone, without `filetype`.

use file_format::FileFormat;
use stoq_plugin_abi::prelude::*;

/// The mimetype worker.
pub struct Mimetype;

impl Plugin for Mimetype {
    const INFO: PluginInfo = PluginInfo::new("mimetype", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("MIME type and description of each payload, by content");

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

/// A payload's type, as the worker reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// MIME type.
    pub mimetype: String,
    /// Human-readable description.
    pub description: String,
    /// Usual extension, without the dot.
    pub extension: String,
    /// The `stoq-filetype` kind, when the payload is one of its table.
    pub filetype: Option<&'static str>,
}

/// The type of `data`: `stoq-filetype`'s answer for the kinds of its table, `file-format`'s
/// for the rest (and its finer label within a generic kind).
pub fn detect(data: &[u8]) -> Detected {
    let kind = stoq_filetype::detect(data);
    if kind.is_known() {
        if kind.generic {
            let format = FileFormat::from_bytes(data);
            if format.media_type() != kind.mimetype && !is_vague(&format) {
                return Detected {
                    mimetype: format.media_type().to_owned(),
                    description: format.name().to_owned(),
                    extension: format.extension().to_owned(),
                    filetype: Some(kind.name),
                };
            }
        }
        return Detected {
            mimetype: kind.mimetype.to_owned(),
            description: kind.description.to_owned(),
            extension: kind.extension.to_owned(),
            filetype: Some(kind.name),
        };
    }
    let format = FileFormat::from_bytes(data);
    Detected {
        mimetype: format.media_type().to_owned(),
        description: format.name().to_owned(),
        extension: format.extension().to_owned(),
        filetype: None,
    }
}

/// An answer of `file-format` that says less than a generic kind does.
fn is_vague(format: &FileFormat) -> bool {
    matches!(
        format,
        FileFormat::ArbitraryBinaryData | FileFormat::PlainText | FileFormat::Empty
    )
}

impl Worker for Mimetype {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let detected = detect(payload.content());
        let mut results = json!({
            "mimetype": detected.mimetype,
            "description": detected.description,
            "extension": detected.extension,
        });
        if let Some(name) = detected.filetype {
            results["filetype"] = json!(name);
        }
        Ok(WorkerResponse::new(results))
    }
}

stoq_plugin_abi::export_plugin!(Mimetype => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::PluginTest;

    use super::*;

    fn results(data: &[u8]) -> Value {
        let test = PluginTest::<Mimetype>::new();
        let response = test.scan(data).expect("scans");
        assert!(response.errors.is_empty() && response.extracted.is_empty());
        response.results.expect("results")
    }

    #[test]
    fn scan_reports_type_description_extension_and_kind() {
        assert_eq!(
            results(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
            json!({
                "mimetype": "application/pdf",
                "description": "Portable Document Format",
                "extension": "pdf",
                "filetype": "pdf",
            })
        );
        assert_eq!(
            results(b"From: a@b.c\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nhi"),
            json!({
                "mimetype": "message/rfc822",
                "description": "Internet e-mail message",
                "extension": "eml",
                "filetype": "email",
            })
        );
        // Outside the table: file-format's answer, no `filetype`.
        assert_eq!(
            results(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0"),
            json!({
                "mimetype": "image/png",
                "description": "Portable Network Graphics",
                "extension": "png",
            })
        );
        assert_eq!(
            results(b"The quick brown fox"),
            json!({"mimetype": "text/plain", "description": "Plain Text", "extension": "txt"})
        );
    }

    #[test]
    fn email_is_told_apart_from_text_however_it_begins() {
        for message in [
            &b"Subject: hi\nFrom: a@b.example\n\nbody"[..],
            b"Content-Type: text/plain\n\nhello",
            b"From someone Sat Jan  1 00:00:00 2000\nReceived: from x\n\tby y; 1 Jan 2000\n\nbody",
            b"X-Mailer: x\nTo: c@d.example\n\nbody",
        ] {
            let d = detect(message);
            assert_eq!(
                (d.mimetype.as_str(), d.filetype),
                ("message/rfc822", Some("email")),
                "{}",
                String::from_utf8_lossy(message)
            );
        }
        for text in [
            &b"The quick brown fox"[..],
            b"Subject: only one header\n\nbody",
            b"Note: this is prose\nTo: whom it may concern\n",
        ] {
            assert_eq!(detect(text).mimetype, "text/plain");
        }
    }

    /// A minimal zip: one stored member, its central directory entry and the end record.
    fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut z = b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z.extend_from_slice(name.as_bytes());
        z.extend_from_slice(data);
        let cd = z.len() as u32;
        z.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 16]);
        z.extend_from_slice(name.as_bytes());
        let size = z.len() as u32 - cd;
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&cd.to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn generic_kinds_may_take_a_finer_label_but_keep_their_kind() {
        let plain = detect(&zip_of("readme.txt", b"hello"));
        assert_eq!(
            plain,
            Detected {
                mimetype: "application/zip".into(),
                description: "ZIP".into(),
                extension: "zip".into(),
                filetype: Some("zip"),
            }
        );
        let jar = detect(&zip_of("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"));
        assert_eq!(jar.filetype, Some("zip"));
        assert_eq!(jar.mimetype, "application/java-archive");
        // Specific kinds are the detector's own answer.
        let odt = detect(&zip_of(
            "mimetype",
            b"application/vnd.oasis.opendocument.text",
        ));
        assert_eq!(
            (odt.mimetype.as_str(), odt.filetype),
            ("application/vnd.oasis.opendocument.text", Some("odt"))
        );
    }

    /// For every kind of the table, what the worker reports is the detector's kind, and (for
    /// the specific kinds) its mimetype, description and extension: `mimetype` and the yara
    /// dispatcher's built-in routes cannot disagree.
    #[test]
    fn every_kind_of_the_table_is_reported_as_the_detector_names_it() {
        let samples = stoq_filetype::samples::samples();
        assert_eq!(samples.len(), stoq_filetype::KINDS.len());
        for (name, data) in &samples {
            let kind = stoq_filetype::by_name(name).expect("a kind");
            let r = results(data);
            assert_eq!(r["filetype"], *name);
            if !kind.generic {
                assert_eq!(
                    (&r["mimetype"], &r["description"], &r["extension"]),
                    (
                        &json!(kind.mimetype),
                        &json!(kind.description),
                        &json!(kind.extension)
                    ),
                    "{name}"
                );
            }
        }
    }

    /// Detection speed on typical payloads, next to `file-format` alone (what this worker ran
    /// before): `cargo test --release -p stoq-plugin-mimetype -- --ignored bench --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn bench() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/email");
        let email = std::fs::read(corpus.join("messages/spamassassin-nice/mime9")).expect("read");
        let text = std::fs::read(corpus.join("not-email/prose.txt")).expect("read");
        let mut random = vec![0u8; 4 << 20];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for b in &mut random {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let b64 = stoq_filetype::samples::wrap(
            &stoq_filetype::samples::base64(&random[..3 << 20]),
            76,
            "\n",
        );
        let samples = stoq_filetype::samples::samples();
        let docm = &samples.iter().find(|(n, _)| *n == "docm").unwrap().1;
        let cases: Vec<(&str, &[u8])> = vec![
            ("email (28 KB)", &email),
            ("prose (0.3 KB)", &text),
            ("docm", docm),
            ("random 4 MiB", &random),
            ("base64 4 MiB", b64.as_bytes()),
        ];
        let time = |f: &dyn Fn()| {
            let runs = 200;
            let start = std::time::Instant::now();
            for _ in 0..runs {
                f();
            }
            start.elapsed().as_secs_f64() / f64::from(runs)
        };
        for (name, data) in cases {
            let ours = time(&|| {
                std::hint::black_box(stoq_filetype::detect(data));
            });
            let worker = time(&|| {
                std::hint::black_box(detect(data));
            });
            let file_format = time(&|| {
                std::hint::black_box(FileFormat::from_bytes(data));
            });
            eprintln!(
                "{name}: stoq-filetype {:.1} us, mimetype::detect {:.1} us, file-format {:.1} us",
                ours * 1e6,
                worker * 1e6,
                file_format * 1e6
            );
        }
    }
}
