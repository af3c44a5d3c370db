//! The `smtp` worker: parses an RFC 5322 / MIME email.
//!
//! Results: `headers` (lower-cased names, each a list of raw values in order), `subject`,
//! `from`, `to`, `cc` (addresses), `date` (RFC 3339), `message_id`, `body` and `body_html`
//! (the first text/plain and text/html body parts, each only when the message has one, cut
//! at `max_body_size` characters; `body_truncated`, `body_html_truncated` when cut), and
//! `attachments` (`filename`, `content_type`, `size` of each). Something that has no header
//! with a valid RFC 5322 field name is not an email (an error).
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

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use stoq_plugin_abi::prelude::*;

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
        .options(&[
            OptionSpec::int("max_body_size", 1_000_000)
                .doc("Longest text and HTML body kept in the results, in characters"),
            OptionSpec::bool("extract_bodies", false)
                .doc("Also extract the text and HTML bodies as payloads (body.txt, body.html)"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max = config.int("max_body_size")?;
        Ok(Self {
            max_body_size: usize::try_from(max).map_err(|_| {
                Error::msg(format!("option `max_body_size` must be >= 0, got {max}"))
            })?,
            extract_bodies: config.bool("extract_bodies")?,
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

/// The first text/plain (or text/html) body part, as the message holds it. mail-parser's
/// `body_text` and `body_html` convert one into the other when the message lacks it (a
/// plain-text email would get an HTML body it does not have).
fn first_body<'m>(message: &'m Message<'_>, html: bool) -> Option<&'m str> {
    let part = |i| {
        if html {
            message.html_part(i)
        } else {
            message.text_part(i)
        }
    };
    (0..)
        .map_while(part)
        .find(|p| match p.body {
            PartType::Html(_) => html,
            PartType::Text(_) => !html,
            _ => false,
        })
        .and_then(|p| p.text_contents())
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
            ("body", first_body(message, false), "body.txt"),
            ("body_html", first_body(message, true), "body.html"),
        ] {
            if let Some(body) = body {
                let (text, truncated) = cut(body, self.max_body_size);
                results[key] = Value::String(text);
                if truncated {
                    results[format!("{key}_truncated")] = Value::Bool(true);
                }
                if self.extract_bodies {
                    extracted
                        .push(ExtractedPayload::new(body.as_bytes()).with_extra("filename", name));
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
            let mut meta = PayloadMeta::new();
            if let Some(name) = &filename {
                meta = meta.with_extra("filename", name.as_str());
            }
            if let Some(ctype) = &ctype {
                meta = meta.with_extra("content_type", ctype.as_str());
            }
            if part.is_message() {
                meta = meta.with_dispatch_to(["smtp"]);
            }
            extracted.push(ExtractedPayload::new(content).with_meta(meta));
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
        // mail-parser takes any first line for a header (`The quick brown fox` becomes a
        // header of that name): an email has at least one header with a valid name.
        let message = MessageParser::default()
            .parse(header_start(data))
            .filter(|m| m.headers().iter().any(|h| is_field_name(h.name.as_str())))
            .ok_or_else(|| Error::msg("not an email: no RFC 5322 headers"))?;
        Ok(self.parse(&message))
    }
}

/// Where the header block of `data` begins: after a UTF-8 byte order mark (a message saved by
/// an editor that writes one) and an mbox `From ` line (`From sender date`), which
/// mail-parser would take for part of the first header's name (a header named
/// `from sender sat jan  1 00`, or a `From` header that is lost).
fn header_start(data: &[u8]) -> &[u8] {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    match data.strip_prefix(b"From ") {
        // Not `From : …`, the obsolete syntax's `From` header.
        Some(rest) if !rest.trim_ascii_start().starts_with(b":") => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data, |end| &rest[end + 1..]),
        _ => data,
    }
}

/// Whether `name` is an RFC 5322 field name: printable ASCII but space and `:`.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

impl Worker for Smtp {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let (results, extracted) = self.parse_bytes(payload.content())?;
        Ok(WorkerResponse::new(results).with_extracted(extracted))
    }
}

stoq_plugin_abi::export_plugin!(Smtp => worker);

#[cfg(test)]
mod tests;
