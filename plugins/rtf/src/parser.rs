//! A bounded RTF reader that finds `\objdata` as Word (and oletools' rtfobj) reads it.
//!
//! Text goes to the current *destination*; a destination control word (see
//! [`crate::destinations`]) opens a new one for the rest of its group. In `\objdata`, text is
//! hex: whitespace and any other non-hex byte are skipped (malicious files pad with them);
//! `\binN` adds N raw bytes; a `\'hh` drops the last hex digit when an odd number has been
//! read (a bug of Word's reader that exploits use and rtfobj emulates); an odd last digit is
//! dropped. Groups nest without limit in the count, but destinations opened deeper than
//! `max_depth` are ignored (their text stays with the enclosing one), so memory is bounded;
//! control words are at most 250 letters (Word's limit, per rtfobj).

use crate::destinations::DESTINATIONS;

/// Limits of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest group in which a destination is still opened.
    pub max_depth: u64,
    /// Most `\objdata` objects decoded.
    pub max_objects: usize,
    /// Most bytes decoded from one object.
    pub max_object_size: usize,
    /// Most bytes decoded from all objects.
    pub max_total_size: u64,
}

/// Longest control word, in letters.
pub const MAX_CONTROL_WORD: usize = 250;

/// Templates listed at most, and the longest kept (bytes).
const MAX_TEMPLATES: usize = 100;
const MAX_TEMPLATE_LEN: usize = 4096;

/// Errors listed one by one at most.
const MAX_ERRORS: usize = 100;

/// The control words counted.
pub const COUNTED: [&str; 12] = [
    "object",
    "objdata",
    "objclass",
    "objemb",
    "objlink",
    "objautlink",
    "objupdate",
    "objsub",
    "objpub",
    "objicemb",
    "objhtml",
    "objocx",
];

/// One `\objdata`, decoded.
#[derive(Debug, Default)]
pub struct ObjData {
    /// Offset just after the `\objdata` control word (rtfobj's index).
    pub offset: usize,
    /// Offset where its group ends.
    pub end: usize,
    /// The decoded bytes (at most the limits).
    pub bytes: Vec<u8>,
    /// Hex digits read.
    pub hex_digits: u64,
    /// Other bytes skipped (not counting whitespace).
    pub non_hex: u64,
    /// Bytes added by `\bin`.
    pub bin_bytes: u64,
    /// Bytes not kept because of the limits.
    pub cut: u64,
    /// The `\objclass` of the enclosing `\object`, if any.
    pub objclass: Option<Vec<u8>>,
    /// The enclosing `\object`'s kind: `objemb`, `objlink`, `objautlink`, ...
    pub kind: Option<&'static str>,
    pending: Option<u8>,
    limit: usize,
}

impl ObjData {
    fn digit(&mut self, v: u8) {
        self.hex_digits += 1;
        match self.pending.take() {
            Some(h) => {
                if self.bytes.len() < self.limit {
                    self.bytes.push(h << 4 | v);
                } else {
                    self.cut += 1;
                }
            }
            None => self.pending = Some(v),
        }
    }

    fn text(&mut self, text: &[u8]) {
        for &b in text {
            match hex_value(b) {
                Some(v) => self.digit(v),
                None if b.is_ascii_whitespace() || b == 0x0b => {}
                None => self.non_hex += 1,
            }
        }
    }
}

/// An `\object` group being read.
#[derive(Debug, Default)]
struct ObjectGroup {
    objclass: Option<Vec<u8>>,
    kind: Option<&'static str>,
}

#[derive(Debug)]
enum Kind {
    Document,
    ObjData(ObjData),
    ObjClass(Vec<u8>),
    Template(Vec<u8>),
    Object(ObjectGroup),
    Other,
}

#[derive(Debug)]
struct Destination {
    kind: Kind,
    level: i64,
}

/// What the reader found.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The `\objdata` objects, in order.
    pub objects: Vec<ObjData>,
    /// Counts of [`COUNTED`], in order.
    pub counts: [u64; 12],
    /// `\*\template` values.
    pub templates: Vec<Vec<u8>>,
    /// The deepest group level reached.
    pub max_level: i64,
    /// Problems met.
    pub errors: Vec<String>,
    /// Problems not listed.
    pub more_errors: usize,
}

impl Parsed {
    fn error(&mut self, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(message);
        } else {
            self.more_errors += 1;
        }
    }
}

/// The value of a hexadecimal digit.
fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    level: i64,
    stack: Vec<Destination>,
    limits: Limits,
    out: Parsed,
    total: u64,
    objects_refused: usize,
    too_deep: u64,
    first_too_deep: Option<usize>,
    unbalanced: u64,
    first_unbalanced: Option<usize>,
    long_words: u64,
}

impl Reader<'_> {
    fn current(&mut self) -> &mut Destination {
        // The document destination is never popped.
        self.stack.last_mut().expect("the document destination")
    }

    fn close_destination(&mut self) {
        if self.stack.len() <= 1 {
            return;
        }
        let Some(dest) = self.stack.pop() else { return };
        let end = self.at;
        match dest.kind {
            Kind::ObjData(mut obj) => {
                obj.end = end;
                // The enclosing \object gives the class and kind.
                if let Some(group) = self.stack.iter().rev().find_map(|d| match &d.kind {
                    Kind::Object(g) => Some(g),
                    _ => None,
                }) {
                    obj.objclass = group.objclass.clone();
                    obj.kind = group.kind;
                }
                self.total += obj.bytes.len() as u64;
                self.out.objects.push(obj);
            }
            Kind::ObjClass(text) => {
                if let Some(Kind::Object(g)) = self
                    .stack
                    .iter_mut()
                    .rev()
                    .map(|d| &mut d.kind)
                    .find(|k| matches!(k, Kind::Object(_)))
                {
                    g.objclass = Some(text);
                }
            }
            Kind::Template(text) if self.out.templates.len() < MAX_TEMPLATES => {
                self.out.templates.push(text);
            }
            _ => {}
        }
    }

    fn open_destination(&mut self, word: &[u8], start: usize) {
        if self.level > self.limits.max_depth as i64 {
            self.too_deep += 1;
            self.first_too_deep.get_or_insert(start);
            return;
        }
        if self.current().level == self.level {
            self.close_destination();
        }
        let kind = match word {
            b"objdata" => {
                if self.out.objects.len() + self.open_objects() >= self.limits.max_objects {
                    self.objects_refused += 1;
                    Kind::Other
                } else {
                    let left = self.limits.max_total_size.saturating_sub(self.total);
                    Kind::ObjData(ObjData {
                        offset: self.at,
                        limit: (self.limits.max_object_size as u64).min(left) as usize,
                        ..ObjData::default()
                    })
                }
            }
            b"objclass" => Kind::ObjClass(Vec::new()),
            b"template" => Kind::Template(Vec::new()),
            b"object" => Kind::Object(ObjectGroup::default()),
            _ => Kind::Other,
        };
        let level = self.level;
        self.stack.push(Destination { kind, level });
    }

    fn open_objects(&self) -> usize {
        self.stack
            .iter()
            .filter(|d| matches!(d.kind, Kind::ObjData(_)))
            .count()
    }

    fn text(&mut self, text: &[u8]) {
        match &mut self.current().kind {
            Kind::ObjData(obj) => obj.text(text),
            Kind::ObjClass(t) | Kind::Template(t) => {
                let room = MAX_TEMPLATE_LEN.saturating_sub(t.len());
                t.extend_from_slice(&text[..text.len().min(room)]);
            }
            _ => {}
        }
    }

    fn control_word(&mut self, word: &[u8], param: Option<i64>, start: usize) {
        if let Some(i) = COUNTED.iter().position(|c| c.as_bytes() == word) {
            self.out.counts[i] += 1;
        }
        let as_str = std::str::from_utf8(word).unwrap_or("");
        if DESTINATIONS.binary_search(&as_str).is_ok() {
            self.open_destination(word, start);
        }
        if matches!(
            word,
            b"objemb"
                | b"objlink"
                | b"objautlink"
                | b"objsub"
                | b"objpub"
                | b"objicemb"
                | b"objhtml"
                | b"objocx"
        ) && let Some(Kind::Object(g)) = self
            .stack
            .iter_mut()
            .rev()
            .map(|d| &mut d.kind)
            .find(|k| matches!(k, Kind::Object(_)))
        {
            let kind = COUNTED.iter().find(|c| c.as_bytes() == word).copied();
            g.kind = g.kind.or(kind);
        }
        if word == b"bin" {
            let len = param.unwrap_or(0).max(0) as u64;
            if self.data.get(self.at) == Some(&b' ') {
                self.at += 1;
            }
            let available = (self.data.len() - self.at) as u64;
            let take = len.min(available) as usize;
            if (take as u64) < len {
                self.out.error(format!(
                    "\\bin{len} at offset {start}: only {available} bytes follow"
                ));
            }
            let bytes = &self.data[self.at..self.at + take];
            self.at += take;
            if let Kind::ObjData(obj) = &mut self.current().kind {
                obj.bin_bytes += bytes.len() as u64;
                for &b in bytes {
                    obj.digit(b >> 4);
                    obj.digit(b & 15);
                }
            }
        }
    }

    fn run(&mut self) {
        let data = self.data;
        while self.at < data.len() {
            let b = data[self.at];
            match b {
                b'{' => {
                    self.at += 1;
                    self.level += 1;
                    self.out.max_level = self.out.max_level.max(self.level);
                }
                b'}' => {
                    if self.level <= 0 {
                        // A stray closing brace: counted, and the level stays at 0.
                        self.unbalanced += 1;
                        self.first_unbalanced.get_or_insert(self.at);
                    } else {
                        if self.stack.len() > 1 && self.current().level == self.level {
                            self.close_destination();
                        }
                        self.level -= 1;
                    }
                    self.at += 1;
                }
                b'\\' => self.backslash(),
                _ => {
                    let end = data[self.at..]
                        .iter()
                        .position(|&c| matches!(c, b'{' | b'}' | b'\\'))
                        .map_or(data.len(), |p| self.at + p);
                    let text = &data[self.at..end];
                    self.at = end;
                    self.text(text);
                }
            }
        }
        while self.stack.len() > 1 {
            self.close_destination();
        }
    }

    fn backslash(&mut self) {
        let data = self.data;
        let start = self.at;
        self.at += 1;
        let Some(&next) = data.get(self.at) else {
            return;
        };
        if next.is_ascii_alphabetic() {
            let letters_start = self.at;
            while self.at < data.len() && data[self.at].is_ascii_alphabetic() {
                self.at += 1;
            }
            let word = &data[letters_start..self.at];
            let mut param = None;
            let digits_start = self.at;
            let negative = data.get(self.at) == Some(&b'-')
                && data.get(self.at + 1).is_some_and(u8::is_ascii_digit);
            if negative {
                self.at += 1;
            }
            if data.get(self.at).is_some_and(u8::is_ascii_digit) {
                let mut value: i64 = 0;
                while self.at < data.len() && data[self.at].is_ascii_digit() {
                    value = value
                        .saturating_mul(10)
                        .saturating_add(i64::from(data[self.at] - b'0'));
                    self.at += 1;
                }
                param = Some(if negative { -value } else { value });
            } else {
                self.at = digits_start;
            }
            let word_end = self.at;
            // A space ends a control word and belongs to it.
            if data.get(self.at) == Some(&b' ') {
                self.at += 1;
            }
            if word.len() > MAX_CONTROL_WORD {
                self.long_words += 1;
                if self.long_words == 1 {
                    self.out.error(format!(
                        "control word of {} letters at offset {start} (more than {MAX_CONTROL_WORD}): ignored",
                        word.len()
                    ));
                }
                return;
            }
            // rtfobj's offset of a destination: right after the word and its parameter.
            let resume = self.at;
            self.at = word_end;
            self.control_word(word, param, start);
            if word != b"bin" {
                self.at = self.at.max(resume);
            }
            return;
        }
        self.at += 1;
        if next == b'\'' {
            // `\'hh`: the two bytes are taken whatever they are.
            let hh = data.get(self.at..self.at + 2).unwrap_or_default();
            self.at = (self.at + 2).min(data.len());
            match &mut self.current().kind {
                Kind::ObjData(obj) => {
                    // Word drops the last hex digit read if their number is odd.
                    obj.pending = None;
                }
                Kind::Template(t) | Kind::ObjClass(t) => {
                    if let [h, l] = hh
                        && let (Some(h), Some(l)) = (hex_value(*h), hex_value(*l))
                        && t.len() < MAX_TEMPLATE_LEN
                    {
                        t.push(h << 4 | l);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Reads `data` within `limits`.
pub fn parse(data: &[u8], limits: Limits) -> Parsed {
    let mut reader = Reader {
        data,
        at: 0,
        level: 0,
        stack: vec![Destination {
            kind: Kind::Document,
            level: 0,
        }],
        limits,
        out: Parsed::default(),
        total: 0,
        objects_refused: 0,
        too_deep: 0,
        first_too_deep: None,
        unbalanced: 0,
        first_unbalanced: None,
        long_words: 0,
    };
    reader.run();
    let mut out = reader.out;
    if reader.level > 0 {
        out.error(format!(
            "{} groups not closed at the end of the document",
            reader.level
        ));
    }
    if let Some(at) = reader.first_unbalanced {
        out.error(format!(
            "{} closing braces without an open group, the first at offset {at}",
            reader.unbalanced
        ));
    }
    if let Some(at) = reader.first_too_deep {
        out.error(format!(
            "{} destinations in groups deeper than max_depth ({}), the first at offset {at}: ignored",
            reader.too_deep, limits.max_depth
        ));
    }
    if reader.long_words > 1 {
        out.error(format!(
            "{} control words longer than {MAX_CONTROL_WORD} letters in all",
            reader.long_words
        ));
    }
    if reader.objects_refused > 0 {
        out.error(format!(
            "limit max_objects ({}) reached: {} more \\objdata not decoded",
            limits.max_objects, reader.objects_refused
        ));
    }
    for obj in &out.objects {
        if obj.cut > 0 {
            let message = format!(
                "object at offset {}: {} decoded bytes over the limits (max_object_size {}, max_total_size {}) not kept",
                obj.offset, obj.cut, limits.max_object_size, limits.max_total_size
            );
            if out.errors.len() < MAX_ERRORS {
                out.errors.push(message);
            } else {
                out.more_errors += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 100,
            max_objects: 10,
            max_object_size: 1000,
            max_total_size: 10_000,
        }
    }

    #[test]
    fn hex_with_junk_bin_and_the_quote_quirk() {
        let rtf = b"{\\rtf1{\\object\\objemb{\\*\\objclass Pack\\'61ge}{\\*\\objdata 01 0z2\r\n{\\foo 03}\\bin2 \x04\x05 0\\'ff607 8}}}";
        let parsed = parse(rtf, limits());
        assert_eq!(parsed.errors, Vec::<String>::new());
        let obj = &parsed.objects[0];
        // 01 02 03 04 05, then "0" dropped by \'ff, then 60, and the odd 7 8 -> 78.
        assert_eq!(obj.bytes, [1, 2, 3, 4, 5, 0x60, 0x78]);
        assert_eq!(obj.non_hex, 1);
        assert_eq!(obj.objclass.as_deref(), Some(&b"Package"[..]));
        assert_eq!(obj.kind, Some("objemb"));
        assert_eq!(obj.offset, 56);
    }
}
