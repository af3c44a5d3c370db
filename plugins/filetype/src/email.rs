//! Email: an RFC 5322 header block at the start of the payload, however it begins.
//!
//! A header block is consecutive lines from offset 0, each a field (`name: value`, the name
//! one or more printable ASCII characters but `:`, RFC 5322's `ftext`, with the obsolete
//! syntax's spaces before the colon allowed) or a continuation of the field before (a line
//! that begins with a space or a tab), ending at a blank line (the body follows), at the end
//! of the payload (a message of headers only) or at [`HEADER_PREFIX`] bytes. A UTF-8 byte
//! order mark and an mbox `From ` line (`From sender date`) may come first (the `smtp` plugin
//! skips both before parsing). Any well-formed field may open the block:
//! `Received:`, `Subject:`, `Content-Type:`, `X-Anything:`.
//!
//! Being well-formed is not enough (`Note: …`, a YAML file, `INFO: …` log lines are), so the
//! block must also hold evidence of mail, counted in points:
//!
//! - 2 points for a field only mail has, with a value of its shape: `Received` (a `;` or a
//!   digit, as its date has), `Return-Path`, `Delivered-To`, `From`, `To`, `Cc`, `Bcc`,
//!   `Reply-To`, `Sender` and their `Resent-` forms (an `@` or a `<`), `Message-ID`,
//!   `In-Reply-To`, `References`, `Content-ID` (a `<` or an `@`), `MIME-Version` (a digit),
//!   `Content-Type` (a `/`), `DKIM-Signature`, `ARC-*`, `Authentication-Results` (a `;`); and
//!   for a valid mbox `From ` line;
//! - 1 point for a field that mail often has but other text may: `Subject`, `Date` (with a
//!   digit), an address field without an address, `Content-*`, `X-*`, `List-*`, `Thread-*`,
//!   `Resent-*`, `Importance`, `Organization`, `Keywords`, `Comments`, `Precedence`,
//!   `Errors-To`, `Newsgroups`, `Delivery-Date`, `Envelope-To`, `Received-SPF`,
//!   `Disposition-Notification-To`, `Return-Receipt-To`. Not `User-Agent`, `Status`,
//!   `Priority` or `Lines`, which mail has but robots.txt, HTTP dumps and Debian control
//!   files have as well.
//!
//! A block that ends cleanly needs 2 points (one mail-only field, or two common ones; after a
//! `From ` line, at least one field that counts). A block cut short by a line that is neither
//! a field, a continuation nor blank (a header the sender mangled, a forgotten blank line)
//! needs 4. A NUL byte in the block, a first line that is blank or a continuation, or a field
//! name over 128 characters mean not an email.
//!
//! So `The quick brown fox`, `Subject: only one header`, `Note: prose` / `To: whom it may
//! concern`, `version: 2` / `date: 2021-03-04` and `WARNING: …` log lines are not email;
//! `Subject: x` / `Date: 1 May 2024`, a bare `Content-Type: text/plain` entity and
//! `X-Foo: 1` / `X-Bar: 2` are.

/// The longest prefix of a payload read for its header block.
pub const HEADER_PREFIX: usize = 64 * 1024;

const MAX_NAME: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Counts nothing (any other well-formed name).
    None,
    /// 1 point.
    Common,
    /// An address field: 2 points with `@` or `<`, else 1.
    Address,
    /// 2 points with `;` or a digit.
    Received,
    /// 2 points with `<` or `@`.
    Id,
    /// 2 points with a digit, else 0.
    Version,
    /// 2 points with `/`, else 1.
    ContentType,
    /// 2 points with `;`, else 1.
    Signature,
    /// 1 point with a digit, else 0.
    Date,
}

fn classify(name: &[u8]) -> Class {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    let prefix =
        |p: &str| name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if is("received") {
        Class::Received
    } else if [
        "return-path",
        "delivered-to",
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
    ]
    .iter()
    .any(|n| is(n))
        || ["from", "to", "cc", "bcc", "sender", "reply-to"]
            .iter()
            .any(|n| prefix("resent-") && name[7..].eq_ignore_ascii_case(n.as_bytes()))
    {
        Class::Address
    } else if [
        "message-id",
        "in-reply-to",
        "references",
        "content-id",
        "resent-message-id",
    ]
    .iter()
    .any(|n| is(n))
    {
        Class::Id
    } else if is("mime-version") {
        Class::Version
    } else if is("content-type") {
        Class::ContentType
    } else if is("dkim-signature") || is("authentication-results") || prefix("arc-") {
        Class::Signature
    } else if is("date") || is("resent-date") || is("delivery-date") {
        Class::Date
    } else if [
        "subject",
        "importance",
        "organization",
        "keywords",
        "comments",
        "precedence",
        "errors-to",
        "newsgroups",
        "envelope-to",
        "received-spf",
        "disposition-notification-to",
        "return-receipt-to",
    ]
    .iter()
    .any(|n| is(n))
        || ["content-", "x-", "list-", "thread-", "resent-"]
            .iter()
            .any(|p| prefix(p))
    {
        Class::Common
    } else {
        Class::None
    }
}

/// A field being read (its value may continue on the next lines).
struct Field {
    class: Class,
    at: bool,
    angle: bool,
    slash: bool,
    digit: bool,
    semicolon: bool,
}

impl Field {
    fn new(class: Class) -> Self {
        Self {
            class,
            at: false,
            angle: false,
            slash: false,
            digit: false,
            semicolon: false,
        }
    }

    /// Notes what the value holds; false on a NUL byte.
    fn read(&mut self, value: &[u8]) -> bool {
        for &b in value {
            match b {
                0 => return false,
                b'@' => self.at = true,
                b'<' => self.angle = true,
                b'/' => self.slash = true,
                b';' => self.semicolon = true,
                b'0'..=b'9' => self.digit = true,
                _ => {}
            }
        }
        true
    }

    fn points(&self) -> u32 {
        match self.class {
            Class::None => 0,
            Class::Common => 1,
            Class::Address => 1 + u32::from(self.at || self.angle),
            Class::Received => 2 * u32::from(self.semicolon || self.digit),
            Class::Id => 2 * u32::from(self.angle || self.at),
            Class::Version => 2 * u32::from(self.digit),
            Class::ContentType => 1 + u32::from(self.slash),
            Class::Signature => 1 + u32::from(self.semicolon),
            Class::Date => u32::from(self.digit),
        }
    }
}

/// A field line's name and value: the name is `ftext` (printable ASCII but `:`), then
/// optional spaces or tabs, then `:`.
fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().take(MAX_NAME + 16).position(|&b| b == b':')?;
    let name = line[..colon].trim_ascii_end();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.iter().all(|&b| (33..=126).contains(&b))
        && line[name.len()..colon]
            .iter()
            .all(|&b| b == b' ' || b == b'\t');
    ok.then(|| (name, &line[colon + 1..]))
}

/// An mbox `From ` line: `From `, a sender without spaces (not `:`), then a date (something
/// with a digit).
fn mbox_from(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    if rest.starts_with(b":") {
        // `From : …`: the obsolete syntax's `From` header.
        return false;
    }
    let sender_end = rest
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(rest.len());
    sender_end > 0 && rest[sender_end..].iter().any(u8::is_ascii_digit)
}

/// Whether `data` begins with an RFC 5322 header block that holds evidence of mail (see the
/// module documentation): a message, an mbox message or a bare MIME entity.
pub fn is_email(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let head = &data[..data.len().min(HEADER_PREFIX)];
    let mut points = 0u32;
    let mut field_points = 0u32;
    let mut mbox = false;
    let mut current: Option<Field> = None;
    let mut at = 0usize;
    // Why the block ended: a blank line, the end of the payload or prefix (clean), or a line
    // that does not belong to a header block.
    let mut clean = true;
    let mut first = true;
    while at < head.len() {
        let (line, next) = match head[at..].iter().position(|&b| b == b'\n') {
            Some(n) => (&head[at..at + n], at + n + 1),
            None => (&head[at..], head.len()),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at = next;
        if line.is_empty() {
            if first {
                return false;
            }
            break;
        }
        if first && mbox_from(line) {
            first = false;
            mbox = true;
            points += 2;
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // A continuation of the field before; the first line cannot be one.
            match current.as_mut() {
                Some(field) => {
                    if !field.read(line) {
                        return false;
                    }
                    continue;
                }
                None if first => return false,
                // After an mbox `From ` line: not a header block.
                None => {
                    clean = false;
                    break;
                }
            }
        }
        let Some((name, value)) = field(line) else {
            if first || line.contains(&0) {
                return false;
            }
            clean = false;
            break;
        };
        first = false;
        if let Some(done) = current.take() {
            field_points += done.points();
        }
        let mut new = Field::new(classify(name));
        if !new.read(value) {
            return false;
        }
        current = Some(new);
    }
    if let Some(done) = current.take() {
        field_points += done.points();
    }
    points += field_points;
    if mbox && field_points == 0 {
        return false;
    }
    points >= if clean { 2 } else { 4 }
}
