//! The `smtp` worker: parses an RFC 5322 / MIME email.
//!
//! Results: `headers` (lower-cased names, each a list of raw values in order), `subject`,
//! `from`, `to`, `cc` (addresses), `date` (RFC 3339), `message_id`, `body` and `body_html`
//! (the first text and HTML bodies, cut at `max_body_size` characters), and `attachments`
//! (`filename`, `content_type`, `size` of each).
//!
//! Header values and attachment file names are in stoq's encoding of bytes
//! ([`stoq_plugin_abi::bytes_to_string`]): a name that is not valid in its charset (raw 8-bit
//! bytes, RFC 2231 `filename*=UTF-8''%FF%FE.zip`, an RFC 2047 encoded-word) keeps its bytes as
//! `\xNN` instead of becoming U+FFFD, and a `\` is written `\\`.
//!
//! Each attachment is extracted with its `filename` and `content_type` in `extra_data`. A
//! nested `message/rfc822` part is extracted with `dispatch_to = ["smtp"]`, so it is parsed the
//! same way. Options: `max_body_size` (characters, default 1,000,000), `extract_bodies`
//! (also extract the text and HTML bodies as payloads, default false).

use mail_parser::{Message, MessageParser, MimeHeaders};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{Map, Value};

mod filename;
use filename::attachment_filename;

/// The email parser.
pub struct Smtp {
    max_body_size: usize,
    extract_bodies: bool,
}

impl Plugin for Smtp {
    const INFO: PluginInfo = PluginInfo::new("smtp", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("Parses email: headers, bodies; extracts attachments and nested messages")
        .default_options("max_body_size = 1000000\nextract_bodies = false");

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max = config.get_int("max_body_size")?.unwrap_or(1_000_000);
        Ok(Self {
            max_body_size: usize::try_from(max).map_err(|_| {
                Error::msg(format!("option `max_body_size` must be >= 0, got {max}"))
            })?,
            extract_bodies: config.get_bool("extract_bodies")?.unwrap_or(false),
        })
    }
}

fn addresses(list: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    list.map(|l| {
        l.iter()
            .filter_map(|a| a.address.as_deref().map(str::to_owned))
            .collect()
    })
    .unwrap_or_default()
}

fn cut(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (text[..at].to_owned(), true),
        None => (text.to_owned(), false),
    }
}

fn content_type<'a>(part: &impl MimeHeaders<'a>) -> Option<String> {
    part.content_type().map(|ct| match ct.subtype() {
        Some(sub) => format!("{}/{}", ct.ctype(), sub),
        None => ct.ctype().to_owned(),
    })
}

impl Smtp {
    fn parse(&self, message: &Message<'_>) -> (Value, Vec<ExtractedPayload>) {
        let mut headers: Map<String, Value> = Map::new();
        // From the raw bytes, not `headers_raw()`, which drops a value that is not UTF-8.
        let raw = message.raw_message.as_ref();
        for header in message.parts.first().map_or(&[][..], |p| &p.headers) {
            let value = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            let entry = headers
                .entry(header.name.as_str().to_ascii_lowercase())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::String(stoq_plugin_abi::bytes_to_string(
                    value.trim_ascii(),
                )));
            }
        }
        let mut results = json!({
            "headers": headers,
            "subject": message.subject(),
            "from": addresses(message.from()),
            "to": addresses(message.to()),
            "cc": addresses(message.cc()),
            "date": message.date().map(|d| d.to_rfc3339()),
            "message_id": message.message_id(),
        });
        let mut extracted = Vec::new();
        for (key, body, name) in [
            ("body", message.body_text(0), "body.txt"),
            ("body_html", message.body_html(0), "body.html"),
        ] {
            if let Some(body) = body {
                let (text, truncated) = cut(&body, self.max_body_size);
                results[key] = Value::String(text);
                if truncated {
                    results[format!("{key}_truncated")] = Value::Bool(true);
                }
                if self.extract_bodies {
                    extracted.push(ExtractedPayload::with_meta(
                        body.as_bytes().to_vec(),
                        PayloadMeta::default().with_extra("filename", name),
                    ));
                }
            }
        }
        let mut attachments = Vec::new();
        for part in message.attachments() {
            let filename = attachment_filename(part, raw);
            let ctype = content_type(part);
            let content = part.contents().to_vec();
            attachments.push(
                json!({ "filename": filename, "content_type": ctype, "size": content.len() }),
            );
            let mut meta = PayloadMeta::default();
            if let Some(name) = &filename {
                meta = meta.with_extra("filename", name.as_str());
            }
            if let Some(ctype) = &ctype {
                meta = meta.with_extra("content_type", ctype.as_str());
            }
            if part.is_message() {
                meta.dispatch_to.push("smtp".into());
            }
            extracted.push(ExtractedPayload::with_meta(content, meta));
        }
        results["attachments"] = Value::Array(attachments);
        (results, extracted)
    }
}

/// Parses `data` as an email (bodies cut at `max_body_size` characters): the results and the
/// attachments to extract.
pub fn parse_email(data: &[u8], max_body_size: usize) -> Result<(Value, Vec<ExtractedPayload>)> {
    Smtp {
        max_body_size,
        extract_bodies: false,
    }
    .parse_bytes(data)
}

impl Smtp {
    fn parse_bytes(&self, data: &[u8]) -> Result<(Value, Vec<ExtractedPayload>)> {
        let message = MessageParser::default()
            .parse(data)
            .filter(|m| !m.headers().is_empty())
            .ok_or_else(|| Error::msg("not an email: no RFC 5322 headers"))?;
        Ok(self.parse(&message))
    }
}

impl Worker for Smtp {
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        let (results, extracted) = self.parse_bytes(payload.content())?;
        Ok(Some(WorkerResponse::new(results).with_extracted(extracted)))
    }
}

stoq_plugin_abi::export_plugin!(Smtp => worker);

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn headers_bodies_and_attachments() {
        let smtp = Smtp {
            max_body_size: 1000,
            extract_bodies: false,
        };
        let message = MessageParser::default()
            .parse(EMAIL.as_bytes())
            .expect("parses");
        let (results, extracted) = smtp.parse(&message);
        assert_eq!(results["subject"], "Invoice €");
        assert_eq!(results["from"], json!(["alice@example.com"]));
        assert_eq!(
            results["to"],
            json!(["bob@example.org", "carol@example.net"])
        );
        assert_eq!(results["headers"]["received"], json!(["from a", "from b"]));
        assert_eq!(results["date"], "2026-11-28T10:00:00Z");
        assert_eq!(results["body"], "Please pay.");
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
        assert_eq!(extracted[1].payload_meta.dispatch_to, ["smtp"]);
        assert!(String::from_utf8_lossy(&extracted[1].content).contains("inner body"));
    }

    /// A message with one attachment whose part headers are `headers`; the attachment's
    /// `filename` as reported in the results and in the extracted payload's metadata.
    fn attachment_name(headers: &[u8]) -> String {
        let mut message = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n\
X-Raw: caf\xe9 \\ \r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX\r\n"
            .to_vec();
        message.extend_from_slice(headers);
        message.extend_from_slice(
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--XX--\r\n",
        );
        let (results, extracted) = parse_email(&message, 1000).expect("parses");
        assert_eq!(results["headers"]["x-raw"], json!([r"caf\xe9 \\"]));
        assert_eq!(extracted.len(), 1, "{results}");
        let name = &extracted[0].payload_meta.extra_data["filename"];
        assert_eq!(&results["attachments"][0]["filename"], name);
        name.as_str().expect("a name").to_owned()
    }

    #[test]
    fn attachment_names_keep_their_bytes() {
        use stoq_plugin_abi::types::string_to_bytes;
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
            let name = attachment_name(&headers);
            assert_eq!(name, expected, "{}", String::from_utf8_lossy(&param));
            assert!(!name.contains(char::REPLACEMENT_CHARACTER));
        }
        // Content-Type `name` when there is no Content-Disposition.
        assert_eq!(
            attachment_name(b"Content-Type: application/octet-stream; name=\"\xff.bin\""),
            r"\xff.bin"
        );
        // The byte 0xFF and the text `\xff` stay apart, and decode back to their bytes.
        let byte = attachment_name(b"Content-Type: application/zip; name=\"\xff\xfe.zip\"");
        let text = attachment_name(br#"Content-Type: application/zip; name="\\xff\\xfe.zip""#);
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
    }
}
