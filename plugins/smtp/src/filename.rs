//! Attachment file names with every byte kept.
//!
//! mail-parser decodes a name that is not valid in its charset lossily (each bad byte becomes
//! U+FFFD): raw 8-bit bytes in `filename="..."`, RFC 2231 `filename*=UTF-8''%FF%FE.zip`, RFC
//! 2047 encoded-words whose bytes are not valid in their charset. When its name holds U+FFFD,
//! the name is decoded again from the raw header here, keeping the bytes; every name is then
//! in stoq's encoding of bytes ([`bytes_to_string`]: `\` doubled, each byte that is not UTF-8 as
//! `\xNN`), so the text `\xff` and the byte 0xFF stay apart.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, MessagePart, MimeHeaders};
use stoq_plugin_abi::bytes_to_string;

/// The attachment's file name (Content-Disposition `filename`, else Content-Type `name`, as
/// mail-parser chooses) in stoq's encoding of bytes; `raw` is the message's raw bytes, which
/// the part's header offsets index.
pub fn attachment_filename(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let parsed = part.attachment_name()?;
    if !parsed.contains(char::REPLACEMENT_CHARACTER) {
        return Some(bytes_to_string(parsed.as_bytes()));
    }
    let (header, param) = if part
        .content_disposition()
        .and_then(|cd| cd.attribute("filename"))
        .is_some()
    {
        (HeaderName::ContentDisposition, "filename")
    } else {
        (HeaderName::ContentType, "name")
    };
    // The header mail-parser reads: the last one of that name.
    part.headers
        .iter()
        .rev()
        .find(|h| h.name == header)
        .and_then(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .and_then(|value| raw_parameter(value, param))
        .or_else(|| Some(bytes_to_string(parsed.as_bytes())))
}

/// The parameter `name` of a raw MIME header value (`type; a=b; name="..."`), decoded
/// (RFC 2231 `name*` and continuations `name*0*`, `name*1`, ..; RFC 2047 encoded-words in a
/// plain value) into stoq's encoding of bytes. Bytes whose charset is unknown or that are not
/// valid in it are kept as bytes.
pub fn raw_parameter(value: &[u8], name: &str) -> Option<String> {
    let unfolded: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let mut plain = None;
    // RFC 2231 segments: (number, percent-encoded, value).
    let mut segments: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    for (key, val) in parameters(&unfolded) {
        let key = String::from_utf8_lossy(&key).to_ascii_lowercase();
        let Some(rest) = key.strip_prefix(name) else {
            continue;
        };
        if rest.is_empty() {
            plain.get_or_insert(val);
            continue;
        }
        let Some(rest) = rest.strip_prefix('*') else {
            continue;
        };
        let (number, encoded) = if rest.is_empty() {
            ("0", true)
        } else if let Some(number) = rest.strip_suffix('*') {
            (number, true)
        } else {
            (rest, false)
        };
        if let Ok(number) = number.parse::<u32>() {
            segments.push((number, encoded, val));
        }
    }
    if segments.is_empty() {
        return plain.map(|v| decode_words(&v));
    }
    segments.sort_by_key(|s| s.0);
    let mut charset = None;
    let mut bytes = Vec::new();
    for (i, (_, encoded, val)) in segments.iter().enumerate() {
        let mut val = val.as_slice();
        if *encoded {
            if i == 0 {
                // charset'language'data
                let mut fields = val.splitn(3, |&b| b == b'\'');
                if let (Some(cs), Some(_), Some(data)) =
                    (fields.next(), fields.next(), fields.next())
                {
                    charset = Some(String::from_utf8_lossy(cs).into_owned());
                    val = data;
                }
            }
            bytes.extend(percent_decode(val));
        } else {
            bytes.extend_from_slice(val);
        }
    }
    Some(decode_piece(&bytes, charset.as_deref()))
}

/// `key=value` pairs after the first `;` (quoted strings unquoted, `\` escapes resolved as
/// mail-parser does).
fn parameters(value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut params = Vec::new();
    let Some(start) = value.iter().position(|&b| b == b';') else {
        return params;
    };
    let mut at = start;
    while at < value.len() {
        // At a `;`: the next parameter's name.
        at += 1;
        let name_start = at;
        while at < value.len() && !matches!(value[at], b'=' | b';') {
            at += 1;
        }
        let key = value[name_start..at].trim_ascii().to_vec();
        if at >= value.len() || value[at] == b';' {
            continue;
        }
        at += 1;
        while at < value.len() && value[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut val = Vec::new();
        if value.get(at) == Some(&b'"') {
            at += 1;
            while at < value.len() && value[at] != b'"' {
                if value[at] == b'\\' && at + 1 < value.len() {
                    at += 1;
                }
                val.push(value[at]);
                at += 1;
            }
            // Past the closing quote, to the next `;`.
            while at < value.len() && value[at] != b';' {
                at += 1;
            }
        } else {
            while at < value.len() && value[at] != b';' {
                if value[at] == b'\\' && at + 1 < value.len() {
                    at += 1;
                }
                val.push(value[at]);
                at += 1;
            }
            val.truncate(val.trim_ascii_end().len());
        }
        params.push((key, val));
    }
    params
}

/// `%XX` as the byte 0xXX; every other byte as itself.
fn percent_decode(data: &[u8]) -> Vec<u8> {
    unescape(data, b'%', false)
}

/// `<escape>XX` as the byte 0xXX, `_` as a space when `underscore_is_space` (RFC 2047's Q
/// encoding), every other byte as itself.
fn unescape(data: &[u8], escape: u8, underscore_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut at = 0;
    while at < data.len() {
        match (data[at], hex(data.get(at + 1)), hex(data.get(at + 2))) {
            (b, Some(hi), Some(lo)) if b == escape => {
                out.push(hi << 4 | lo);
                at += 3;
            }
            (b'_', ..) if underscore_is_space => {
                out.push(b' ');
                at += 1;
            }
            (b, ..) => {
                out.push(b);
                at += 1;
            }
        }
    }
    out
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    let digit = char::from(*digit?);
    digit.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// A plain parameter value, with any RFC 2047 encoded-words in it decoded (whitespace between
/// two encoded-words dropped, as RFC 2047 says).
fn decode_words(value: &[u8]) -> String {
    let mut out = String::new();
    let mut literal_start = 0;
    let mut after_word = false;
    let mut at = 0;
    while at < value.len() {
        let Some((len, bytes, charset)) = encoded_word(&value[at..]) else {
            at += 1;
            continue;
        };
        let literal = &value[literal_start..at];
        if !(after_word && literal.iter().all(u8::is_ascii_whitespace)) {
            out.push_str(&bytes_to_string(literal));
        }
        out.push_str(&decode_piece(&bytes, Some(&charset)));
        at += len;
        literal_start = at;
        after_word = true;
    }
    out.push_str(&bytes_to_string(&value[literal_start..]));
    out
}

/// `=?charset?Q|B?data?=` at the start of `text`: its length, bytes and charset.
fn encoded_word(text: &[u8]) -> Option<(usize, Vec<u8>, String)> {
    let rest = text.strip_prefix(b"=?")?;
    let charset_end = rest.iter().position(|&b| b == b'?')?;
    let (charset, rest) = rest.split_at(charset_end);
    let (encoding, rest) = match rest {
        [b'?', e, b'?', rest @ ..] => (e.to_ascii_uppercase(), rest),
        _ => return None,
    };
    let data_end = rest.windows(2).position(|w| w == b"?=")?;
    let data = &rest[..data_end];
    let bytes = match encoding {
        b'B' => base64_decode(data)?,
        b'Q' => unescape(data, b'=', true),
        _ => return None,
    };
    // RFC 2231 allows `charset*language`.
    let charset = charset.split(|&b| b == b'*').next().unwrap_or_default();
    let len = 2 + charset_end + 3 + data_end + 2;
    Some((len, bytes, String::from_utf8_lossy(charset).into_owned()))
}

/// Bytes in `charset`: its text when the charset is known and every byte decodes, else the
/// bytes themselves; in stoq's encoding of bytes either way.
fn decode_piece(bytes: &[u8], charset: Option<&str>) -> String {
    let text = charset
        .and_then(|cs| charset_decoder(cs.as_bytes()))
        .map(|decode| decode(bytes))
        .filter(|text| !text.contains(char::REPLACEMENT_CHARACTER));
    match text {
        Some(text) => bytes_to_string(text.as_bytes()),
        None => bytes_to_string(bytes),
    }
}
