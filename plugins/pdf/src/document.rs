//! The objects of a PDF, found by scanning for `N G obj`, never through the cross-reference
//! table (which is only checked: `xref` in the results says whether `startxref` points at one).
//!
//! Every object header is found first (linear scan). Each object's value is then read in its
//! own window, from its header to the next one, so the file is read once however its objects
//! are broken. A stream's data is `/Length` bytes (direct or an indirect object, resolved
//! with a loop check) when `endstream` follows them, else runs to the next `endstream`; object
//! headers inside stream data are not objects of this file. Object streams (`/ObjStm`) are
//! decoded within the limits and their objects join the others.

use std::collections::{HashMap, HashSet};

use stoq_plugin_abi::Error;

use crate::filters::{self, Decoded};
use crate::syntax::{Dict, Obj, Parser, is_regular, is_space};

/// The limits of one document's parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most objects read (object streams' objects included).
    pub max_objects: usize,
    /// Most bytes one stream decodes to.
    pub max_stream_size: u64,
    /// Most bytes decoded from one document, every stream and filter stage together.
    pub max_total_decoded: u64,
    /// Deepest nesting of arrays and dictionaries.
    pub max_depth: usize,
}

/// Values (numbers, names, strings, containers...) read at most from one document: a small
/// file of tiny values would otherwise cost about 30 times its size in memory.
pub const MAX_ELEMENTS: usize = 4_000_000;

/// Problems listed one by one at most; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// One indirect object.
#[derive(Debug)]
pub struct Object {
    /// Its number.
    pub num: u32,
    /// Its generation.
    pub generation: u16,
    /// Offset of its header in the file, or in its object stream's decoded data.
    pub offset: usize,
    /// Its value (a stream's dictionary for a stream).
    pub value: Obj,
    /// A stream's data, as a range of the file.
    pub stream: Option<std::ops::Range<usize>>,
    /// The object stream it was read from, if any.
    pub in_object_stream: Option<u32>,
}

impl Object {
    /// The object's dictionary, if its value is one.
    pub fn dict(&self) -> Option<&Dict> {
        self.value.as_dict()
    }
}

/// What `startxref` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xref {
    /// An `xref` table.
    Table,
    /// A cross-reference stream object.
    Stream,
    /// Something else: the table is wrong (this parser does not need it).
    Broken,
    /// No `startxref`.
    Missing,
}

impl Xref {
    /// Its name in the results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Stream => "stream",
            Self::Broken => "broken",
            Self::Missing => "missing",
        }
    }
}

/// Errors with a bound on how many are listed.
#[derive(Debug, Default)]
pub struct Errors {
    /// The first ones.
    pub list: Vec<Error>,
    /// How many more there were.
    pub more: usize,
}

impl Errors {
    /// Adds one.
    pub fn push(&mut self, message: impl std::fmt::Display) {
        if self.list.len() < MAX_ERRORS {
            self.list.push(Error::msg(message));
        } else {
            self.more += 1;
        }
    }

    /// Every error, the count of those not listed last.
    pub fn finish(mut self) -> Vec<Error> {
        if self.more > 0 {
            self.list.push(Error::msg(format!(
                "{} more problems not listed",
                self.more
            )));
        }
        self.list
    }
}

/// An object header `N G obj`: where it starts, where its value starts.
#[derive(Debug, Clone, Copy)]
struct Marker {
    start: usize,
    body: usize,
    num: u32,
    generation: u16,
}

/// Positions of `needle` in `hay`, in order.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let first = needle[0];
    let mut at = 0;
    while let Some(p) = hay[at..].iter().position(|&b| b == first) {
        let p = at + p;
        if hay[p..].starts_with(needle) {
            out.push(p);
        }
        at = p + 1;
    }
    out
}

/// Digits ending at `end` (at most `max`, more means none), and where they start.
fn digits_before(data: &[u8], end: usize, max: usize) -> Option<(usize, u64)> {
    let mut start = end;
    while start > 0 && data[start - 1].is_ascii_digit() {
        start -= 1;
        if end - start > max {
            return None;
        }
    }
    if start == end {
        return None;
    }
    let value = std::str::from_utf8(&data[start..end]).ok()?.parse().ok()?;
    Some((start, value))
}

/// Whitespace ending at `end` (at most 32 bytes looked at), and where it starts.
fn space_before(data: &[u8], end: usize) -> usize {
    let mut start = end;
    while start > 0 && end - start < 32 && is_space(data[start - 1]) {
        start -= 1;
    }
    start
}

fn markers(data: &[u8]) -> Vec<Marker> {
    let mut out = Vec::new();
    for p in find_all(data, b"obj") {
        if data.get(p + 3).is_some_and(|&b| is_regular(b)) {
            continue;
        }
        let gen_end = space_before(data, p);
        let Some((gen_start, generation)) = digits_before(data, gen_end, 5) else {
            continue;
        };
        let num_end = space_before(data, gen_start);
        if num_end == gen_start {
            continue;
        }
        let Some((num_start, num)) = digits_before(data, num_end, 10) else {
            continue;
        };
        if num_start > 0 && is_regular(data[num_start - 1]) {
            continue;
        }
        let (Ok(num), Ok(generation)) = (u32::try_from(num), u16::try_from(generation)) else {
            continue;
        };
        out.push(Marker {
            start: num_start,
            body: p + 3,
            num,
            generation,
        });
    }
    out
}

/// A parsed PDF.
pub struct Document<'a> {
    /// The file.
    pub data: &'a [u8],
    /// Its objects, in file order, then those of object streams.
    pub objects: Vec<Object>,
    /// Object number to index in `objects` (the last top-level definition wins; an object
    /// stream's object only where no top-level one exists).
    by_num: HashMap<u32, usize>,
    /// Trailer dictionaries (`trailer` and cross-reference streams).
    pub trailers: Vec<Dict>,
    /// What `startxref` points at.
    pub xref: Xref,
    /// Object streams opened.
    pub object_streams: usize,
    /// Object headers found inside other objects' stream data (not objects of this file).
    pub headers_in_streams: usize,
    /// Bytes decoded so far.
    pub decoded_total: u64,
    /// Problems met.
    pub errors: Errors,
    /// The limits.
    pub limits: Limits,
    elements: usize,
    /// The `max_objects` limit was reached.
    objects_cut: bool,
}

impl<'a> Document<'a> {
    /// Finds and reads every object of `data`, object streams included.
    pub fn parse(data: &'a [u8], limits: Limits) -> Self {
        let mut doc = Document {
            data,
            objects: Vec::new(),
            by_num: HashMap::new(),
            trailers: Vec::new(),
            xref: Xref::Missing,
            object_streams: 0,
            headers_in_streams: 0,
            decoded_total: 0,
            errors: Errors::default(),
            limits,
            elements: 0,
            objects_cut: false,
        };
        let markers = markers(data);
        let endstreams = find_all(data, b"endstream");
        let mut last_marker: HashMap<u32, usize> = HashMap::new();
        for (i, m) in markers.iter().enumerate() {
            last_marker.insert(m.num, i);
        }
        let mut lengths = LengthCache {
            markers: &markers,
            last_marker: &last_marker,
            cache: HashMap::new(),
        };
        let mut skip_until = 0;
        for (i, m) in markers.iter().enumerate() {
            if m.start < skip_until {
                doc.headers_in_streams += 1;
                continue;
            }
            if doc.objects.len() >= limits.max_objects {
                let left = markers[i..]
                    .iter()
                    .filter(|m| m.start >= skip_until)
                    .count();
                doc.errors.push(format!(
                    "limit max_objects ({}) reached: {left} more object headers not read",
                    limits.max_objects
                ));
                doc.objects_cut = true;
                break;
            }
            if doc.elements >= MAX_ELEMENTS {
                doc.errors.push(format!(
                    "more than {MAX_ELEMENTS} values in the document: objects from offset {} on are not read",
                    m.start
                ));
                break;
            }
            let window_end = markers.get(i + 1).map_or(data.len(), |n| n.start);
            let mut p = Parser::new(
                &data[..window_end],
                m.body,
                limits.max_depth,
                MAX_ELEMENTS - doc.elements,
            );
            let value = p.value();
            doc.elements += p.elements;
            let mut stream = None;
            if let Some(e) = &p.error {
                doc.errors
                    .push(format!("object {} {}: {e}", m.num, m.generation));
            } else {
                p.skip_space();
                if p.at_keyword(b"stream") {
                    let range =
                        doc.stream_extent(p.pos + 6, value.as_dict(), m, &endstreams, &mut lengths);
                    skip_until = range.end;
                    stream = Some(range);
                }
            }
            doc.objects.push(Object {
                num: m.num,
                generation: m.generation,
                offset: m.start,
                value,
                stream,
                in_object_stream: None,
            });
        }
        for (i, o) in doc.objects.iter().enumerate() {
            doc.by_num.insert(o.num, i);
        }
        doc.open_object_streams();
        doc.read_trailers(&markers);
        doc
    }

    /// The range of a stream's data: `/Length` bytes after the EOL that follows `stream`
    /// when `endstream` comes right after them, else up to the next `endstream`.
    fn stream_extent(
        &mut self,
        after_keyword: usize,
        dict: Option<&Dict>,
        m: &Marker,
        endstreams: &[usize],
        lengths: &mut LengthCache<'_>,
    ) -> std::ops::Range<usize> {
        let data = self.data;
        let mut start = after_keyword;
        if data[start.min(data.len())..].starts_with(b"\r\n") {
            start += 2;
        } else if matches!(data.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        let start = start.min(data.len());
        let declared = dict.and_then(|d| d.get(b"Length"));
        let length = match declared {
            Some(Obj::Int(n)) => u64::try_from(*n).ok(),
            Some(Obj::Ref(num, _)) => lengths.resolve(*num, data, self.limits.max_depth),
            _ => None,
        };
        if let Some(len) = length
            && let Some(end) = usize::try_from(len)
                .ok()
                .and_then(|l| start.checked_add(l))
                .filter(|&e| e <= data.len())
        {
            let mut q = end;
            while q < data.len() && q - end < 64 && is_space(data[q]) {
                q += 1;
            }
            if data[q..].starts_with(b"endstream") {
                return start..end;
            }
        }
        let what = match (declared, length) {
            (None, _) => "no /Length".to_owned(),
            (Some(_), None) => "a /Length that is no usable number".to_owned(),
            (Some(_), Some(len)) => format!("/Length {len} is wrong"),
        };
        let next = endstreams.partition_point(|&e| e < start);
        match endstreams.get(next) {
            Some(&e) => {
                let mut end = e;
                if end > start && data[end - 1] == b'\n' {
                    end -= 1;
                }
                if end > start && data[end - 1] == b'\r' {
                    end -= 1;
                }
                self.errors.push(format!(
                    "object {} {}: {what}; its data is taken up to endstream at offset {e} ({} bytes)",
                    m.num,
                    m.generation,
                    end - start
                ));
                start..end
            }
            None => {
                self.errors.push(format!(
                    "object {} {}: {what} and no endstream follows; its data is taken to the end of the file ({} bytes)",
                    m.num,
                    m.generation,
                    data.len() - start
                ));
                start..data.len()
            }
        }
    }

    /// The object numbered `num` (see `by_num`).
    pub fn get(&self, num: u32) -> Option<(usize, &Object)> {
        let &i = self.by_num.get(&num)?;
        Some((i, &self.objects[i]))
    }

    /// `value`, references followed (at most 32, a loop gives `Null`), and the index of the
    /// object it was last taken from, if a reference was followed.
    pub fn resolve<'b>(&'b self, value: &'b Obj) -> (Option<usize>, &'b Obj) {
        let mut current = value;
        let mut from = None;
        let mut first = None;
        for _ in 0..32 {
            match current {
                Obj::Ref(num, _) => match self.get(*num) {
                    Some((i, o)) => {
                        from = Some(i);
                        first = first.or(from);
                        current = &o.value;
                    }
                    None => return (from, &Obj::Null),
                },
                _ => return (from, current),
            }
        }
        // A loop (or a chain too long): nothing, from the object first referenced.
        (first, &Obj::Null)
    }

    /// `value` resolved, if it is a dictionary.
    pub fn dict<'b>(&'b self, value: &'b Obj) -> Option<&'b Dict> {
        self.resolve(value).1.as_dict()
    }

    /// A stream's data, decoded within the limits (what the limits or a corrupt filter cut
    /// is said in the result's error).
    pub fn decode(&mut self, index: usize) -> Option<Decoded> {
        let object = &self.objects[index];
        let range = object.stream.clone()?;
        let dict = object.dict().cloned().unwrap_or_default();
        let raw = &self.data[range];
        let left = self
            .limits
            .max_total_decoded
            .saturating_sub(self.decoded_total);
        let (limit, what) = if left < self.limits.max_stream_size {
            (left, "max_total_decoded")
        } else {
            (self.limits.max_stream_size, "max_stream_size")
        };
        let chain = self.filter_chain(&dict);
        if chain.is_empty() {
            let mut data = raw.to_vec();
            let mut error = None;
            if data.len() as u64 > limit {
                data.truncate(limit as usize);
                error = Some(filters::FilterError::TooLarge {
                    filter: "stream data".into(),
                    limit,
                    what,
                });
            }
            self.decoded_total += data.len() as u64;
            return Some(Decoded {
                produced: data.len() as u64,
                data,
                error,
            });
        }
        let decoded = filters::decode(raw, &chain, limit, what);
        self.decoded_total += decoded.produced;
        Some(decoded)
    }

    /// The filters of a stream dictionary, with their parameters.
    pub fn filter_chain(&self, dict: &Dict) -> Vec<(Vec<u8>, Option<Dict>)> {
        let names: Vec<Vec<u8>> = match dict.get(b"Filter").map(|f| self.resolve(f).1) {
            Some(Obj::Name(n)) => vec![n.clone()],
            Some(Obj::Array(items)) => items
                .iter()
                .filter_map(|i| match self.resolve(i).1 {
                    Obj::Name(n) => Some(n.clone()),
                    _ => None,
                })
                .take(16)
                .collect(),
            _ => Vec::new(),
        };
        let parms: Vec<Option<Dict>> = match dict.get(b"DecodeParms").map(|p| self.resolve(p).1) {
            Some(Obj::Dict(d)) => vec![Some(d.clone())],
            Some(Obj::Array(items)) => items
                .iter()
                .take(16)
                .map(|i| self.dict(i).cloned())
                .collect(),
            _ => Vec::new(),
        };
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, parms.get(i).cloned().flatten()))
            .collect()
    }

    fn open_object_streams(&mut self) {
        let streams: Vec<usize> = (0..self.objects.len())
            .filter(|&i| {
                let o = &self.objects[i];
                o.stream.is_some() && o.dict().and_then(|d| d.name(b"Type")) == Some(b"ObjStm")
            })
            .collect();
        for index in streams {
            if self.objects.len() >= self.limits.max_objects {
                if !self.objects_cut {
                    self.errors.push(format!(
                        "limit max_objects ({}) reached: object streams not opened",
                        self.limits.max_objects
                    ));
                }
                self.objects_cut = true;
                return;
            }
            self.open_object_stream(index);
        }
    }

    fn open_object_stream(&mut self, index: usize) {
        let num = self.objects[index].num;
        let dict = self.objects[index].dict().cloned().unwrap_or_default();
        let int = |key: &[u8]| match dict.get(key).map(|v| self.resolve(v).1) {
            Some(Obj::Int(n)) => usize::try_from(*n).ok(),
            _ => None,
        };
        let (Some(n), Some(first)) = (int(b"N"), int(b"First")) else {
            self.errors.push(format!(
                "object stream {num}: /N or /First missing or invalid"
            ));
            return;
        };
        let Some(decoded) = self.decode(index) else {
            return;
        };
        self.object_streams += 1;
        if let Some(e) = &decoded.error {
            self.errors.push(format!("object stream {num}: {e}"));
        }
        let data = decoded.data;
        if first > data.len() {
            self.errors.push(format!(
                "object stream {num}: /First {first} is past its decoded data ({} bytes)",
                data.len()
            ));
            return;
        }
        // Each pair takes at least 4 bytes ("1 0 "), so /N is bounded by the header's size.
        let n = n.min(first / 2 + 1);
        let mut header = Parser::new(&data[..first], 0, 1, 2 * n + 2);
        let mut pairs = Vec::new();
        for _ in 0..n {
            let (a, b) = (header.value(), header.value());
            match (a, b) {
                (Obj::Int(num), Obj::Int(off)) => {
                    if let (Ok(num), Ok(off)) = (u32::try_from(num), usize::try_from(off)) {
                        pairs.push((num, off));
                    }
                }
                // `1 0` followed by `R`-less numbers parses as numbers; a reference-looking
                // pair (`12 0 R` cannot occur) or junk ends the header.
                _ => break,
            }
        }
        if pairs.len() < n {
            self.errors.push(format!(
                "object stream {num}: its header lists {} of {n} objects",
                pairs.len()
            ));
        }
        // Each object's window ends where the next one (by offset) starts.
        let mut starts: Vec<usize> = pairs
            .iter()
            .map(|&(_, off)| first.saturating_add(off).min(data.len()))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        for (obj_num, off) in pairs {
            if self.objects.len() >= self.limits.max_objects {
                self.errors.push(format!(
                    "limit max_objects ({}) reached in object stream {num}",
                    self.limits.max_objects
                ));
                self.objects_cut = true;
                return;
            }
            let start = first.saturating_add(off).min(data.len());
            let next = starts.partition_point(|&s| s <= start);
            let end = starts.get(next).copied().unwrap_or(data.len());
            let mut p = Parser::new(
                &data[..end],
                start,
                self.limits.max_depth,
                MAX_ELEMENTS.saturating_sub(self.elements),
            );
            let value = p.value();
            self.elements += p.elements;
            if let Some(e) = &p.error {
                self.errors.push(format!(
                    "object {obj_num} 0 in object stream {num}: {e} (of the decoded stream)"
                ));
            }
            let at = self.objects.len();
            self.objects.push(Object {
                num: obj_num,
                generation: 0,
                offset: start,
                value,
                stream: None,
                in_object_stream: Some(num),
            });
            self.by_num.entry(obj_num).or_insert(at);
        }
    }

    fn read_trailers(&mut self, markers: &[Marker]) {
        let data = self.data;
        // The last 16 `trailer` dictionaries, each read up to the next object header.
        let found = find_all(data, b"trailer");
        for &at in found.iter().rev().take(16).rev() {
            let end = markers
                .get(markers.partition_point(|m| m.start <= at))
                .map_or(data.len(), |m| m.start);
            let mut p = Parser::new(&data[..end], at + 7, self.limits.max_depth, 100_000);
            if let Obj::Dict(d) = p.value() {
                self.trailers.push(d);
            }
        }
        for o in &self.objects {
            if let Some(d) = o.dict()
                && d.name(b"Type") == Some(b"XRef")
            {
                self.trailers.push(d.clone());
            }
        }
        self.xref = match find_all(data, b"startxref").last() {
            None => Xref::Missing,
            Some(&at) => {
                let mut p = Parser::new(data, at + 9, 1, 4);
                match p.value() {
                    Obj::Int(off) => match usize::try_from(off).ok().filter(|&o| o < data.len()) {
                        Some(off) => {
                            let mut q = off;
                            while q < data.len() && is_space(data[q]) {
                                q += 1;
                            }
                            if data[q..].starts_with(b"xref") {
                                Xref::Table
                            } else if let Some(m) = markers.iter().find(|m| m.start == q)
                                && self.objects.iter().any(|o| {
                                    o.offset == m.start
                                        && o.dict().and_then(|d| d.name(b"Type")) == Some(b"XRef")
                                })
                            {
                                Xref::Stream
                            } else {
                                Xref::Broken
                            }
                        }
                        None => Xref::Broken,
                    },
                    _ => Xref::Broken,
                }
            }
        };
    }

    /// Whether a trailer names an encryption dictionary.
    pub fn encrypted(&self) -> bool {
        self.trailers.iter().any(|t| t.has(b"Encrypt"))
    }
}

/// Indirect `/Length` values, each object read once.
struct LengthCache<'m> {
    markers: &'m [Marker],
    last_marker: &'m HashMap<u32, usize>,
    cache: HashMap<usize, Option<u64>>,
}

impl LengthCache<'_> {
    /// The integer object `num` holds, following references (a loop gives `None`).
    fn resolve(&mut self, num: u32, data: &[u8], max_depth: usize) -> Option<u64> {
        let mut seen = HashSet::new();
        let mut num = num;
        loop {
            let &i = self.last_marker.get(&num)?;
            if !seen.insert(i) || seen.len() > 8 {
                return None;
            }
            if let Some(&cached) = self.cache.get(&i) {
                return cached;
            }
            let m = self.markers[i];
            let end = self.markers.get(i + 1).map_or(data.len(), |n| n.start);
            let mut p = Parser::new(&data[..end], m.body, max_depth.min(8), 64);
            match p.value() {
                Obj::Int(n) => {
                    let v = u64::try_from(n).ok();
                    self.cache.insert(i, v);
                    return v;
                }
                Obj::Ref(next, _) => num = next,
                _ => {
                    self.cache.insert(i, None);
                    return None;
                }
            }
        }
    }
}
