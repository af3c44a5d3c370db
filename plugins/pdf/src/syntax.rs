//! PDF objects' syntax: the values between `N G obj` and `endobj` (or `stream`).
//!
//! The parser is tolerant and bounded. It reads one value from a window of the file (an
//! object's window ends where the next object header starts, so no object is read twice and
//! the whole file is read in linear time), nests arrays and dictionaries at most `max_depth`
//! deep, and stops at [`Parser::element_limit`] values. On a problem it stops where it is and
//! keeps what it had: a dictionary cut by the end of the file still holds its first entries.

use std::fmt;

/// A PDF value.
#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    /// `null`, and what a broken value reads as.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A name, `#xx` escapes decoded, without the `/`.
    Name(Vec<u8>),
    /// A string (literal or hex), escapes decoded.
    Str(Vec<u8>),
    /// An array.
    Array(Vec<Obj>),
    /// A dictionary.
    Dict(Dict),
    /// An indirect reference `N G R`.
    Ref(u32, u16),
}

/// A dictionary: its entries in file order (a key given twice keeps both; [`Dict::get`]
/// returns the last).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    /// The value of `key` (the last one if given twice).
    pub fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// The name `key` holds directly, if any.
    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Obj::Name(n)) => Some(n),
            _ => None,
        }
    }
}

impl Obj {
    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) => Some(d),
            _ => None,
        }
    }
}

/// Why a value could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The window (the file, or the object's part of it) ended inside a value.
    Truncated(usize),
    /// A literal string's parentheses never balanced.
    UnterminatedString(usize),
    /// Arrays and dictionaries nested deeper than the limit.
    TooDeep(usize, usize),
    /// A token that cannot start a value here.
    Unexpected(usize, String),
    /// More values than the parser may read.
    TooManyElements(usize, usize),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(at) => write!(f, "cut short at offset {at}"),
            Self::UnterminatedString(at) => {
                write!(f, "string at offset {at} is never closed")
            }
            Self::TooDeep(at, depth) => write!(
                f,
                "arrays and dictionaries nested deeper than {depth} at offset {at}"
            ),
            Self::Unexpected(at, token) => write!(f, "unexpected `{token}` at offset {at}"),
            Self::TooManyElements(at, limit) => write!(
                f,
                "more than {limit} values in the document at offset {at}; the rest is not read"
            ),
        }
    }
}

/// PDF whitespace.
pub fn is_space(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// PDF delimiters.
pub fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A byte that continues a name, number or keyword.
pub fn is_regular(b: u8) -> bool {
    !is_space(b) && !is_delimiter(b)
}

/// The value of a hexadecimal digit.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Reads values from `data[..end]`, starting at `pos`; offsets are those of `data`.
pub struct Parser<'a> {
    data: &'a [u8],
    /// Where the next token is read.
    pub pos: usize,
    max_depth: usize,
    /// Values read so far, across every parse with this parser's counter.
    pub elements: usize,
    /// Most values read.
    pub element_limit: usize,
    /// The first problem met; once set, every parse returns at once.
    pub error: Option<ParseError>,
}

impl<'a> Parser<'a> {
    /// A parser over `data` (a window of the file: its end is where reading stops).
    pub fn new(data: &'a [u8], pos: usize, max_depth: usize, element_limit: usize) -> Self {
        Self {
            data,
            pos,
            max_depth,
            elements: 0,
            element_limit,
            error: None,
        }
    }

    fn fail(&mut self, error: ParseError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skips whitespace and comments.
    pub fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_space(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(b) = self.peek() {
                    if b == b'\n' || b == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Whether the keyword `word` is next (followed by a non-regular byte or the end).
    pub fn at_keyword(&self, word: &[u8]) -> bool {
        self.data[self.pos.min(self.data.len())..].starts_with(word)
            && self
                .data
                .get(self.pos + word.len())
                .is_none_or(|&b| !is_regular(b))
    }

    /// Reads one value.
    pub fn value(&mut self) -> Obj {
        self.value_at(0)
    }

    fn count(&mut self) -> bool {
        self.elements += 1;
        if self.elements > self.element_limit {
            self.fail(ParseError::TooManyElements(self.pos, self.element_limit));
            return false;
        }
        true
    }

    fn value_at(&mut self, depth: usize) -> Obj {
        if self.error.is_some() {
            return Obj::Null;
        }
        self.skip_space();
        let Some(b) = self.peek() else {
            self.fail(ParseError::Truncated(self.pos));
            return Obj::Null;
        };
        if !self.count() {
            return Obj::Null;
        }
        match b {
            b'/' => {
                self.pos += 1;
                Obj::Name(self.name())
            }
            b'(' => Obj::Str(self.literal()),
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                if depth >= self.max_depth {
                    self.fail(ParseError::TooDeep(self.pos, self.max_depth));
                    return Obj::Null;
                }
                self.pos += 2;
                Obj::Dict(self.dict(depth + 1))
            }
            b'<' => Obj::Str(self.hex()),
            b'[' => {
                if depth >= self.max_depth {
                    self.fail(ParseError::TooDeep(self.pos, self.max_depth));
                    return Obj::Null;
                }
                self.pos += 1;
                Obj::Array(self.array(depth + 1))
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number(),
            _ => {
                let start = self.pos;
                let word = self.word();
                match word {
                    b"true" => Obj::Bool(true),
                    b"false" => Obj::Bool(false),
                    b"null" => Obj::Null,
                    _ => {
                        self.pos = start;
                        let shown: String = String::from_utf8_lossy(&word[..word.len().min(32)])
                            .chars()
                            .collect();
                        let shown = if shown.is_empty() {
                            (b as char).to_string()
                        } else {
                            shown
                        };
                        self.fail(ParseError::Unexpected(start, shown));
                        Obj::Null
                    }
                }
            }
        }
    }

    /// A run of regular bytes.
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
            if b == b'#'
                && let (Some(h), Some(l)) = (
                    self.peek().and_then(hex_value),
                    self.data.get(self.pos + 1).copied().and_then(hex_value),
                )
            {
                out.push(h << 4 | l);
                self.pos += 2;
                continue;
            }
            out.push(b);
        }
        out
    }

    fn literal(&mut self) -> Vec<u8> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 1usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        return out;
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        // A backslash at the end of a line continues the string.
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
        self.fail(ParseError::UnterminatedString(start));
        out
    }

    fn hex(&mut self) -> Vec<u8> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return out;
            }
            // Whitespace and other bytes are skipped, as readers do.
            if let Some(v) = hex_value(b) {
                match high.take() {
                    Some(h) => out.push(h << 4 | v),
                    None => high = Some(v),
                }
            }
        }
        self.fail(ParseError::Truncated(start));
        out
    }

    fn number(&mut self) -> Obj {
        let text = self.word();
        let integer = text
            .iter()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && (*b == b'+' || *b == b'-')));
        if integer {
            let digits = std::str::from_utf8(text).unwrap_or("0");
            match digits.parse::<i64>() {
                Ok(n) => {
                    if n >= 0
                        && text[0].is_ascii_digit()
                        && let Some(r) = self.reference(n)
                    {
                        return r;
                    }
                    Obj::Int(n)
                }
                // Too many digits for an integer, or a lone sign.
                Err(_) => Obj::Real(digits.parse::<f64>().unwrap_or(0.0)),
            }
        } else {
            // Reals, and the malformed numbers readers accept (`--5`, `1.2.3`): the longest
            // prefix that reads as a number, 0 otherwise.
            let text = std::str::from_utf8(&text[..text.len().min(32)]).unwrap_or("");
            let mut value = 0.0;
            for end in (1..=text.len()).rev() {
                if let Ok(v) = text[..end].trim_start_matches('+').parse::<f64>() {
                    value = v;
                    break;
                }
            }
            Obj::Real(value)
        }
    }

    /// `G R` after an object number, if that is what follows.
    fn reference(&mut self, num: i64) -> Option<Obj> {
        let back = self.pos;
        let parsed = (|| {
            let num = u32::try_from(num).ok()?;
            self.skip_space();
            let gen_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == gen_start || self.pos - gen_start > 5 {
                return None;
            }
            let r#gen: u16 = std::str::from_utf8(&self.data[gen_start..self.pos])
                .ok()?
                .parse()
                .ok()?;
            if self.peek().is_some_and(is_regular) {
                return None;
            }
            self.skip_space();
            if self.peek() == Some(b'R')
                && self.data.get(self.pos + 1).is_none_or(|&b| !is_regular(b))
            {
                self.pos += 1;
                return Some(Obj::Ref(num, r#gen));
            }
            None
        })();
        if parsed.is_none() {
            self.pos = back;
        }
        parsed
    }

    fn array(&mut self, depth: usize) -> Vec<Obj> {
        let mut out = Vec::new();
        loop {
            if self.error.is_some() {
                return out;
            }
            self.skip_space();
            match self.peek() {
                None => {
                    self.fail(ParseError::Truncated(self.pos));
                    return out;
                }
                Some(b']') => {
                    self.pos += 1;
                    return out;
                }
                Some(_) => {
                    let before = self.pos;
                    let v = self.value_at(depth);
                    if self.error.is_none() || self.pos != before {
                        out.push(v);
                    }
                }
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Dict {
        let mut out = Vec::new();
        loop {
            if self.error.is_some() {
                return Dict(out);
            }
            self.skip_space();
            match self.peek() {
                None => {
                    self.fail(ParseError::Truncated(self.pos));
                    return Dict(out);
                }
                Some(b'>') if self.data.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Dict(out);
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name();
                    let value = self.value_at(depth);
                    out.push((key, value));
                }
                Some(_) => {
                    let at = self.pos;
                    let word = self.word();
                    let shown = if word.is_empty() {
                        (self.data[at] as char).to_string()
                    } else {
                        String::from_utf8_lossy(&word[..word.len().min(32)]).into_owned()
                    };
                    self.pos = at;
                    self.fail(ParseError::Unexpected(at, shown));
                    return Dict(out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> (Obj, Option<ParseError>) {
        let mut p = Parser::new(text, 0, 16, 1000);
        let v = p.value();
        (v, p.error)
    }

    #[test]
    fn values() {
        let (v, e) = parse(b"<< /Type /Ca#74alog /Kids [1 0 R 2 0 R] /N -3 /R 1.5 /S (a\\(b\\)\\n\\101) /H <41 4> /B true /Z null >>");
        assert_eq!(e, None);
        let d = v.as_dict().unwrap();
        assert_eq!(d.name(b"Type"), Some(&b"Catalog"[..]));
        assert_eq!(
            d.get(b"Kids"),
            Some(&Obj::Array(vec![Obj::Ref(1, 0), Obj::Ref(2, 0)]))
        );
        assert_eq!(d.get(b"N"), Some(&Obj::Int(-3)));
        assert_eq!(d.get(b"R"), Some(&Obj::Real(1.5)));
        assert_eq!(d.get(b"S"), Some(&Obj::Str(b"a(b)\nA".to_vec())));
        assert_eq!(d.get(b"H"), Some(&Obj::Str(b"A@".to_vec())));
        assert_eq!(d.get(b"B"), Some(&Obj::Bool(true)));
        assert_eq!(d.get(b"Z"), Some(&Obj::Null));
    }

    #[test]
    fn numbers_that_are_not_references() {
        let (v, e) = parse(b"[1 0 2 R 3]");
        assert_eq!(e, None);
        assert_eq!(
            v,
            Obj::Array(vec![Obj::Int(1), Obj::Ref(0, 2), Obj::Int(3)])
        );
    }

    #[test]
    fn problems_keep_what_was_read() {
        let (v, e) = parse(b"<< /JS (app.alert(1)) /S /Java");
        assert_eq!(e, Some(ParseError::Truncated(30)));
        assert_eq!(
            v.as_dict().unwrap().get(b"JS"),
            Some(&Obj::Str(b"app.alert(1)".to_vec()))
        );
        let (_, e) = parse(&[b'['; 100]);
        assert_eq!(e, Some(ParseError::TooDeep(16, 16)));
        let (_, e) = parse(b"(never closed");
        assert_eq!(e, Some(ParseError::UnterminatedString(0)));
        let (_, e) = parse(b"<< /A endobj");
        assert_eq!(e, Some(ParseError::Unexpected(6, "endobj".into())));
    }
}
