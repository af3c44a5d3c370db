//! Base64 text, checked in one pass over the payload.
//!
//! A payload is base64 text when it is at least 64 bytes, its first 60 bytes are of the
//! standard alphabet (`A-Z a-z 0-9 + /`), not every character is a hex digit (a hash list or
//! a hex dump is hex, not base64), and either:
//!
//! - **wrapped**: lines of one length from 60 to 76 (as MIME, PEM bodies, `base64` and
//!   `openssl base64` write them), each ending in `\n` or `\r\n`, every line that length but
//!   the last, which is 1 to that many characters and may end in one or two `=`; blank lines
//!   may follow it; or
//! - **one run**: the alphabet from offset 0 for at least 64 characters, then at most two `=`
//!   (and line breaks).
//!
//! These are the bundled YARA rule's two forms (which the detector replaces), except that
//! the wrapped form is checked to the end instead of on its first two lines, so base64
//! followed by other text is not taken for base64.

/// Byte classes: 0 not in the alphabet, 1 in it, 2 in it and a hex digit.
static CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        class[b] = if c.is_ascii_hexdigit() {
            2
        } else if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            1
        } else {
            0
        };
        b += 1;
    }
    class
};

/// Whether every byte of `line` is of the alphabet; sets `non_hex` when one is not a hex digit.
fn alphabet(line: &[u8], non_hex: &mut bool) -> bool {
    if !line.iter().all(|&b| CLASS[usize::from(b)] != 0) {
        return false;
    }
    if !*non_hex {
        *non_hex = line.iter().any(|&b| CLASS[usize::from(b)] == 1);
    }
    true
}

/// Whether `data` is base64 text (see the module documentation). One pass over the bytes.
pub fn is_base64_text(data: &[u8]) -> bool {
    if data.len() < 64 || data[..60].iter().any(|&b| CLASS[usize::from(b)] == 0) {
        return false;
    }
    // Without trailing line breaks, then without padding (at most two `=`).
    let body = match data.iter().rposition(|&b| b != b'\n' && b != b'\r') {
        Some(last) => &data[..=last],
        None => return false,
    };
    let pad = body
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    let text = &body[..body.len() - pad];
    let mut width: Option<usize> = None;
    let mut non_hex = false;
    let mut rest = text;
    // Line by line: the last line is what follows the last `\n`.
    let last = loop {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            break rest;
        };
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        let w = *width.get_or_insert(line.len());
        if line.len() != w || !(60..=76).contains(&w) || !alphabet(line, &mut non_hex) {
            return false;
        }
        rest = &rest[end + 1..];
    };
    if !alphabet(last, &mut non_hex) {
        return false;
    }
    let shape = match width {
        // Wrapped: the last line is 1 to `width` characters, padding included.
        Some(w) => !last.is_empty() && (1..=w).contains(&(last.len() + pad)),
        // One run.
        None => last.len() >= 64,
    };
    shape && non_hex
}
