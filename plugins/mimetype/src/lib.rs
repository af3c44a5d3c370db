//! The `mimetype` worker: the MIME type of each payload, from its content (no external
//! tools, no magic database at run time).
//!
//! Results: `{"mimetype": "application/zip", "description": "ZIP", "extension": "zip"}`.
//! Formats come from the `file-format` crate (archives, executables, documents, images, media),
//! plus RFC 5322 email, which it reports as plain text.

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

/// Header names that open an email (RFC 5322 / mbox), compared case-insensitively.
const EMAIL_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "delivered-to",
    "reply-to",
    "cc",
    "x-mailer",
    "content-type",
    "dkim-signature",
];

/// Whether `data` starts like an email: an optional mbox `From ` line, then at least two
/// header lines (at least one of them a sender, date or routing header) before the first
/// blank line.
pub fn looks_like_email(data: &[u8]) -> bool {
    let head = &data[..data.len().min(8192)];
    let Ok(text) =
        std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
    else {
        return false;
    };
    let mut lines = text.lines().peekable();
    if lines.peek().is_some_and(|l| l.starts_with("From ")) {
        lines.next();
    }
    let mut known = 0;
    let mut strong = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue; // folded header
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(' ') {
            return false;
        }
        if EMAIL_HEADERS.contains(&name.as_str()) {
            known += 1;
            strong |= matches!(
                name.as_str(),
                "from" | "received" | "return-path" | "message-id" | "date"
            );
        }
    }
    known >= 2 && strong
}

/// `(mimetype, description, extension)` of `data`.
pub fn detect(data: &[u8]) -> (String, String, String) {
    let format = FileFormat::from_bytes(data);
    if format.media_type() == "text/plain" && looks_like_email(data) {
        return (
            "message/rfc822".into(),
            "Internet e-mail message".into(),
            "eml".into(),
        );
    }
    (
        format.media_type().to_owned(),
        format.name().to_owned(),
        format.extension().to_owned(),
    )
}

impl Worker for Mimetype {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let (mimetype, description, extension) = detect(payload.content());
        Ok(WorkerResponse::new(json!({
            "mimetype": mimetype,
            "description": description,
            "extension": extension,
        })))
    }
}

stoq_plugin_abi::export_plugin!(Mimetype => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::PluginTest;

    use super::*;

    #[test]
    fn scan_reports_type_description_and_extension() {
        let test = PluginTest::<Mimetype>::new();
        let response = test.scan(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").expect("scans");
        assert_eq!(
            response.results,
            Some(json!({
                "mimetype": "application/pdf",
                "description": "Portable Document Format",
                "extension": "pdf",
            }))
        );
        assert!(response.errors.is_empty() && response.extracted.is_empty());
        let response = test
            .scan(b"From: a@b.c\r\nDate: now\r\n\r\nhi")
            .expect("scans");
        assert_eq!(
            response.results,
            Some(json!({
                "mimetype": "message/rfc822",
                "description": "Internet e-mail message",
                "extension": "eml",
            }))
        );
    }

    #[test]
    fn email_is_told_apart_from_text() {
        assert!(looks_like_email(
            b"From: a@b.c\r\nTo: d@e.f\r\nSubject: hi\r\n\r\nbody"
        ));
        assert!(looks_like_email(
            b"From someone Sat Jan  1 00:00:00 2000\nReceived: from x\n\tby y\nDate: now\n\nbody"
        ));
        assert!(!looks_like_email(b"The quick brown fox"));
        assert!(!looks_like_email(b"Subject: only one header\n\nbody"));
        assert!(!looks_like_email(
            b"Note: this is prose\nTo: whom it may concern\n"
        ));
        assert_eq!(detect(b"From: a@b.c\nDate: x\n\nhi").0, "message/rfc822");
        assert_eq!(detect(b"The quick brown fox").0, "text/plain");
    }
}
