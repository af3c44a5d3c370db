//! Internet messages ([RFC 5322], MIME): header fields, text parts, base64 attachments and
//! multiparts, written with CRLF line ends as mail servers store them.

use base64::Engine;

/// A MIME entity: its header fields and its body.
pub struct Part {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Part {
    /// The entity as bytes: header fields, a blank line, the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// `text` with its lines ended by CRLF.
fn crlf(text: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// A text part (`text/plain`, `text/html`) in UTF-8, sent as 7-bit or 8-bit text.
pub fn text(subtype: &str, text: &str) -> Part {
    let encoding = if text.is_ascii() { "7bit" } else { "8bit" };
    Part {
        headers: vec![
            (
                "Content-Type".into(),
                format!("text/{subtype}; charset=\"utf-8\""),
            ),
            ("Content-Transfer-Encoding".into(), encoding.into()),
        ],
        body: crlf(text),
    }
}

/// An attachment: `data` in base64, in lines of 76 characters, named `filename`.
pub fn attachment(content_type: &str, filename: &str, data: &[u8]) -> Part {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut body = Vec::with_capacity(encoded.len() + encoded.len() / 38);
    for line in encoded.as_bytes().chunks(76) {
        body.extend_from_slice(line);
        body.extend_from_slice(b"\r\n");
    }
    Part {
        headers: vec![
            (
                "Content-Type".into(),
                format!("{content_type}; name=\"{filename}\""),
            ),
            (
                "Content-Disposition".into(),
                format!("attachment; filename=\"{filename}\""),
            ),
            ("Content-Transfer-Encoding".into(), "base64".into()),
        ],
        body,
    }
}

/// A `multipart/SUBTYPE` entity of `parts`, separated by `boundary` (which no part may hold).
pub fn multipart(subtype: &str, boundary: &str, parts: &[Part]) -> Part {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(&part.to_bytes());
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Part {
        headers: vec![(
            "Content-Type".into(),
            format!("multipart/{subtype}; boundary=\"{boundary}\""),
        )],
        body,
    }
}

/// A message: `fields` (`Received`, `From`, ...) in order, `MIME-Version`, then `body`'s own
/// header fields and its body.
pub fn message(fields: &[(&str, &str)], body: Part) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    headers.push(("MIME-Version".into(), "1.0".into()));
    headers.extend(body.headers);
    Part {
        headers,
        body: body.body,
    }
    .to_bytes()
}
