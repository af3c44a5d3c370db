//! pdfid's keyword counts, computed as Didier Stevens' pdfid 0.2.10 computes them.
//!
//! pdfid does not parse a PDF: it reads the bytes after the header line and cuts them into
//! *words*, runs of ASCII letters and digits. A word right after `/` is a name; inside a name,
//! `#` and two hex digits stand for that byte (`/J#61vaScript` is `/JavaScript`), and a name
//! written with such an escape counts as *hex-escaped* (pdfid's "obfuscated" count in
//! parentheses). Everything is counted, inside streams and strings too, exactly as pdfid does:
//! a keyword found here but not by the object parser is a fact worth seeing (e.g. `/JS` inside
//! a compressed stream is not counted, and `/JS` in a comment is). `/URI` is counted too, as
//! pdfid counts it when `pdfid.ini` names it.
//!
//! Quirks of pdfid kept on purpose, so the numbers compare: a `#` not followed by two hex
//! digits ends the word and the next letters continue a name (`/A#zzB` counts `/A` and
//! `/zzB`); the header line (`%PDF-1.7`) is not counted; `/Colors > 2^24` counts a number
//! above 2^24 right after a `/Colors` name.

use crate::syntax::hex_value;

/// The keywords pdfid counts, in its order, plus `/URI`.
pub const KEYWORDS: [&str; 21] = [
    "obj",
    "endobj",
    "stream",
    "endstream",
    "xref",
    "trailer",
    "startxref",
    "/Page",
    "/Encrypt",
    "/ObjStm",
    "/JS",
    "/JavaScript",
    "/AA",
    "/OpenAction",
    "/AcroForm",
    "/JBIG2Decode",
    "/RichMedia",
    "/Launch",
    "/EmbeddedFile",
    "/XFA",
    "/URI",
];

/// pdfid's name for its CVE-2009-3459 check.
pub const COLORS: &str = "/Colors > 2^24";

/// What pdfid reports for one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts {
    /// The header line as pdfid shows it (`%PDF-1.7`, at most 10 characters), if any.
    pub header: Option<Vec<u8>>,
    /// Occurrences of each of [`KEYWORDS`], in order.
    pub counts: [u64; 21],
    /// Of those, how many were written with `#xx` escapes.
    pub hex_escaped: [u64; 21],
    /// pdfid's `/Colors > 2^24`.
    pub colors_over_2_24: u64,
}

impl Counts {
    /// The count of `keyword` (one of [`KEYWORDS`]).
    pub fn get(&self, keyword: &str) -> u64 {
        KEYWORDS
            .iter()
            .position(|k| *k == keyword)
            .map_or(0, |i| self.counts[i])
    }
}

/// pdfid's relaxed header search: `%PDF` in the first 1,024 bytes; the header runs to the
/// first CR or LF among the 10 bytes after `%PDF` (else 10 bytes). Returns the header's
/// range and where counting starts (after it).
fn header(data: &[u8]) -> Option<(usize, usize)> {
    let head = &data[..data.len().min(1024)];
    let index = head.windows(4).position(|w| w == b"%PDF")?;
    let mut end = index + 4;
    // pdfid stops at the first CR or LF in range(index + 4, index + 14), else takes the last.
    for at in index + 4..index + 14 {
        end = at;
        match head.get(at) {
            Some(b'\n' | b'\r') => break,
            Some(_) => {}
            // pdfid fails with an IndexError here; the header is taken to the end.
            None => {
                end = head.len();
                break;
            }
        }
    }
    Some((index, end))
}

/// The counting state: pdfid's `word`, `hexcode`, `slash` and `lastName`.
struct State {
    word: Vec<u8>,
    /// The word is longer than [`MAX_WORD`] (it is no keyword).
    too_long: bool,
    /// The word's value as a decimal number, capped above 2^24, while it is all digits.
    number: Option<u64>,
    hexcode: bool,
    slash: bool,
    last_name_is_colors: bool,
    counts: Counts,
}

/// Words longer than this cannot be keywords; only whether they are `Colors` or a number
/// matters after that, so a longer word is kept as its first bytes and a flag.
const MAX_WORD: usize = 64;

impl State {
    fn push(&mut self, b: u8) {
        if self.word.is_empty() && !self.too_long {
            self.number = Some(0);
        }
        self.number = match self.number {
            Some(n) if b.is_ascii_digit() => Some((n * 10 + u64::from(b - b'0')).min(1 << 25)),
            _ => None,
        };
        if self.word.len() < MAX_WORD {
            self.word.push(b);
        } else {
            self.too_long = true;
        }
    }

    /// pdfid's `UpdateWords`.
    fn flush(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let found = (!self.too_long).then_some(()).and_then(|()| {
            KEYWORDS.iter().position(|k| {
                let k = k.as_bytes();
                if self.slash {
                    k.first() == Some(&b'/') && k[1..] == self.word[..]
                } else {
                    k.first() != Some(&b'/') && *k == self.word[..]
                }
            })
        });
        if let Some(i) = found {
            self.counts.counts[i] += 1;
            if self.hexcode {
                self.counts.hex_escaped[i] += 1;
            }
        }
        if self.slash {
            self.last_name_is_colors = !self.too_long && self.word == b"Colors";
        }
        self.word.clear();
        self.too_long = false;
        self.number = None;
        self.hexcode = false;
    }

    /// pdfid's `cCVE_2009_3459.Check`: a number over 2^24 right after `/Colors`.
    fn check_colors(&mut self) {
        if self.last_name_is_colors && self.number.is_some_and(|n| n > 1 << 24) {
            self.counts.colors_over_2_24 += 1;
        }
    }
}

/// Counts pdfid's keywords in `data`.
pub fn count(data: &[u8]) -> Counts {
    let (header, start) = match header(data) {
        Some((index, end)) => (Some(data[index..end.min(index + 10)].to_vec()), end),
        None => (None, 0),
    };
    let mut state = State {
        word: Vec::with_capacity(MAX_WORD),
        too_long: false,
        number: None,
        hexcode: false,
        slash: false,
        last_name_is_colors: false,
        counts: Counts {
            header,
            ..Counts::default()
        },
    };
    let mut i = start;
    while i < data.len() {
        let b = data[i];
        i += 1;
        if b.is_ascii_alphanumeric() {
            state.push(b);
        } else if state.slash && b == b'#' {
            let digit = |at: usize| data.get(at).copied().and_then(hex_value);
            match (digit(i), digit(i + 1)) {
                (Some(high), Some(low)) => {
                    state.push(high << 4 | low);
                    state.hexcode = true;
                    i += 2;
                }
                // The two bytes are read again; the word ends, the name goes on.
                _ => state.flush(),
            }
        } else {
            state.check_colors();
            state.flush();
            state.slash = b == b'/';
        }
    }
    state.flush();
    state.counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_names_and_escapes_count_as_pdfid_counts_them() {
        let c = count(b"%PDF-1.4\n1 0 obj << /J#61vaScript /JS /Pages /Page>> endobj /A#zzJS");
        assert_eq!(c.header.as_deref(), Some(&b"%PDF-1.4"[..]));
        assert_eq!(c.get("obj"), 1);
        assert_eq!(c.get("endobj"), 1);
        assert_eq!(c.get("/JavaScript"), 1);
        assert_eq!(c.hex_escaped[11], 1);
        assert_eq!(c.get("/JS"), 1, "/zzJS is not /JS");
        assert_eq!(c.get("/Page"), 1, "/Pages is not /Page");
    }

    #[test]
    fn colors_over_2_24() {
        let c = count(b"%PDF-1.4\n<< /Colors 16777217 /Colors 16777216 /Colors 000099999999 >>");
        assert_eq!(c.colors_over_2_24, 2);
    }

    #[test]
    fn no_header_counts_from_the_start() {
        let c = count(b"obj endobj");
        assert_eq!(c.header, None);
        assert_eq!(c.get("obj"), 1);
    }
}
