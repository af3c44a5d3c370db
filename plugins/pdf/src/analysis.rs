//! What a parsed PDF does: its JavaScript, embedded files, URIs, launch targets and the
//! actions that run them, found by looking at every dictionary of every object (not only
//! those the document's tree reaches: a hostile file hides things off the tree too).

use std::collections::{HashMap, HashSet};

use stoq_plugin_abi::bytes_to_string;
use stoq_plugin_abi::prelude::{Value, json};

use crate::document::Document;
use crate::syntax::{Dict, Obj};

/// Entries listed at most in each of the results' lists.
pub const MAX_LISTED: usize = 1000;

/// Longest string kept in the results (URIs, file names, parameters), in bytes.
const MAX_TEXT: usize = 4096;

/// A piece of JavaScript or an embedded file to extract.
#[derive(Debug)]
pub struct Child {
    /// Its file name.
    pub filename: String,
    /// The object it came from.
    pub object: u32,
    /// `javascript` or `embedded_file`.
    pub kind: &'static str,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// What the walk finds.
#[derive(Debug, Default)]
pub struct Findings {
    /// JavaScript: one entry per piece, with its file name.
    pub javascript: Vec<Value>,
    /// Embedded files.
    pub embedded_files: Vec<Value>,
    /// `/URI` values, in file order, each once.
    pub uris: Vec<String>,
    /// `/Launch` actions.
    pub launch: Vec<Value>,
    /// Actions run by the document: `/OpenAction`, `/AA` entries, the JavaScript name tree.
    pub actions: Vec<Value>,
    /// The filters streams use, with how many streams use each.
    pub filters: std::collections::BTreeMap<String, u64>,
    /// What to extract.
    pub children: Vec<Child>,
}

/// PDFDocEncoding's bytes 0x80 to 0xA0 (PDF 32000-1, annex D); 0x9F is undefined.
const PDF_DOC_HIGH: [char; 33] = [
    '\u{2022}', '\u{2020}', '\u{2021}', '\u{2026}', '\u{2014}', '\u{2013}', '\u{0192}', '\u{2044}',
    '\u{2039}', '\u{203A}', '\u{2212}', '\u{2030}', '\u{201E}', '\u{201C}', '\u{201D}', '\u{2018}',
    '\u{2019}', '\u{201A}', '\u{2122}', '\u{FB01}', '\u{FB02}', '\u{0141}', '\u{0152}', '\u{0160}',
    '\u{0178}', '\u{017D}', '\u{0131}', '\u{0142}', '\u{0153}', '\u{0161}', '\u{017E}', '\u{FFFD}',
    '\u{20AC}',
];

/// A PDF text string: UTF-16BE with its byte order mark, UTF-8 with its mark, else
/// PDFDocEncoding.
pub fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0xa0 => PDF_DOC_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

fn cut(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_TEXT)]
}

/// JavaScript as text: a UTF-16BE string (with its mark) becomes UTF-8; other bytes stay.
fn javascript_bytes(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(&[0xfe, 0xff]) {
        text_string(&bytes).into_bytes()
    } else {
        bytes
    }
}

/// Where a piece of JavaScript is.
#[derive(Debug, Clone)]
enum JsSource {
    /// A string (its bytes), in object `holder`.
    String(usize, Vec<u8>),
    /// A stream object.
    Stream(usize),
}

struct Walk<'d, 'a> {
    doc: &'d Document<'a>,
    /// File names given to JavaScript, by the address of the `/JS` string or by stream
    /// object index.
    js_strings: HashMap<*const Obj, String>,
    js_streams: HashMap<usize, String>,
    /// JavaScript pieces in the order found.
    js: Vec<(JsSource, String)>,
    /// How many string pieces each object holds (for `_2`, `_3` names).
    per_object: HashMap<u32, usize>,
    /// Embedded file streams (object index) and their names, in the order found.
    embedded: Vec<(usize, Option<String>)>,
    embedded_seen: HashSet<usize>,
    uris_seen: HashSet<Vec<u8>>,
    findings: Findings,
    /// Actions to describe once every JavaScript piece has its name: trigger, holder
    /// object, the action's value.
    triggers: Vec<(String, u32, &'d Obj)>,
    cut: HashSet<&'static str>,
}

impl<'d, 'a> Walk<'d, 'a> {
    fn room(&mut self, list: &'static str, len: usize) -> bool {
        if len < MAX_LISTED {
            return true;
        }
        self.cut.insert(list);
        false
    }

    /// Visits `value` of object `holder` and everything inside it.
    fn visit(&mut self, holder: usize, value: &'d Obj) {
        match value {
            Obj::Array(items) => {
                for item in items {
                    self.visit(holder, item);
                }
            }
            Obj::Dict(dict) => {
                self.dict(holder, dict);
                for (_, v) in &dict.0 {
                    self.visit(holder, v);
                }
            }
            _ => {}
        }
    }

    fn dict(&mut self, holder: usize, dict: &'d Dict) {
        let doc = self.doc;
        let holder_num = doc.objects[holder].num;
        if let Some(js) = dict.get(b"JS") {
            self.javascript(holder, js);
        }
        if let Some(uri) = dict.get(b"URI")
            && let Obj::Str(s) = doc.resolve(uri).1
            && self.uris_seen.insert(s.clone())
            && self.room("uris", self.findings.uris.len())
        {
            self.findings.uris.push(bytes_to_string(cut(s)));
        }
        if dict.name(b"S") == Some(b"Launch") && self.room("launch", self.findings.launch.len()) {
            let mut entry = json!({"object": holder_num});
            if let Some(f) = dict.get(b"F").and_then(|f| self.file_name(f)) {
                entry["file"] = json!(f);
            }
            if let Some(win) = dict.get(b"Win").and_then(|w| doc.dict(w)) {
                for (key, name) in [
                    (&b"F"[..], "file"),
                    (b"P", "parameters"),
                    (b"D", "directory"),
                    (b"O", "operation"),
                ] {
                    if let Some(Obj::Str(s)) = win.get(key).map(|v| doc.resolve(v).1) {
                        entry[name] = json!(text_string(cut(s)));
                    }
                }
            }
            self.findings.launch.push(entry);
        }
        if let Some(action) = dict.get(b"OpenAction") {
            self.triggers
                .push(("OpenAction".into(), holder_num, action));
        }
        if let Some(aa) = dict.get(b"AA").and_then(|aa| doc.dict(aa)) {
            for (event, action) in &aa.0 {
                self.triggers.push((
                    format!("AA/{}", bytes_to_string(cut(event))),
                    holder_num,
                    action,
                ));
            }
        }
        if let Some(tree) = dict.get(b"JavaScript").and_then(|t| doc.dict(t))
            && (tree.has(b"Names") || tree.has(b"Kids"))
        {
            let mut leaves = Vec::new();
            name_tree(doc, tree, 0, &mut HashSet::new(), &mut leaves);
            for (name, action) in leaves {
                self.triggers.push((
                    format!("Names/JavaScript/{}", text_string(cut(&name))),
                    holder_num,
                    action,
                ));
            }
        }
        if let Some(ef) = dict.get(b"EF").and_then(|ef| doc.dict(ef)) {
            let name = [&b"UF"[..], b"F", b"Unix", b"DOS", b"Mac"]
                .iter()
                .find_map(|k| match dict.get(k).map(|v| doc.resolve(v).1) {
                    Some(Obj::Str(s)) => Some(text_string(cut(s))),
                    _ => None,
                });
            for key in [&b"UF"[..], b"F", b"Unix", b"DOS", b"Mac"] {
                if let Some(stream) = ef.get(key)
                    && let (Some(i), _) = doc.resolve(stream)
                    && doc.objects[i].stream.is_some()
                    && self.embedded_seen.insert(i)
                {
                    self.embedded.push((i, name.clone()));
                }
            }
        }
    }

    /// A file specification's name: a string, or a dictionary's `/UF`, `/F`, ...
    fn file_name(&self, spec: &Obj) -> Option<String> {
        match self.doc.resolve(spec).1 {
            Obj::Str(s) => Some(text_string(cut(s))),
            Obj::Dict(d) => {
                [&b"UF"[..], b"F", b"Unix", b"DOS", b"Mac"]
                    .iter()
                    .find_map(|k| match d.get(k).map(|v| self.doc.resolve(v).1) {
                        Some(Obj::Str(s)) => Some(text_string(cut(s))),
                        _ => None,
                    })
            }
            _ => None,
        }
    }

    /// Records the JavaScript of a `/JS` value found in object `holder`.
    fn javascript(&mut self, holder: usize, js: &'d Obj) {
        let doc = self.doc;
        let (from, target) = doc.resolve(js);
        let source = match (from, target) {
            (Some(i), _) if doc.objects[i].stream.is_some() => {
                if self.js_streams.contains_key(&i) {
                    return;
                }
                JsSource::Stream(i)
            }
            (from, Obj::Str(s)) => {
                let key: *const Obj = target;
                if self.js_strings.contains_key(&key) {
                    return;
                }
                JsSource::String(from.unwrap_or(holder), s.clone())
            }
            _ => return,
        };
        if !self.room("javascript", self.js.len()) {
            return;
        }
        let name = match &source {
            JsSource::Stream(i) => format!("obj{}.js", doc.objects[*i].num),
            JsSource::String(h, _) => {
                let h = *h;
                let num = doc.objects[h].num;
                let n = self.per_object.entry(num).or_insert(0);
                *n += 1;
                if *n == 1 {
                    format!("obj{num}.js")
                } else {
                    format!("obj{num}_{n}.js")
                }
            }
        };
        match &source {
            JsSource::Stream(i) => self.js_streams.insert(*i, name.clone()),
            JsSource::String(..) => self.js_strings.insert(target, name.clone()),
        };
        self.js.push((source, name));
    }

    /// The file name of the JavaScript an action's `/JS` holds.
    fn js_name(&self, js: &Obj) -> Option<String> {
        let (from, target) = self.doc.resolve(js);
        if let Some(i) = from
            && let Some(name) = self.js_streams.get(&i)
        {
            return Some(name.clone());
        }
        let key: *const Obj = target;
        self.js_strings.get(&key).cloned()
    }

    /// An action as the results show it, its `/Next` actions included (at most 8 deep, each
    /// action once).
    fn describe(&self, action: &Obj, depth: usize, seen: &mut HashSet<*const Obj>) -> Value {
        let doc = self.doc;
        let (from, target) = doc.resolve(action);
        let mut out = json!({});
        if let Some(i) = from {
            out["object"] = json!(doc.objects[i].num);
        }
        let key: *const Obj = target;
        if !seen.insert(key) {
            out["type"] = json!("loop");
            return out;
        }
        match target {
            Obj::Dict(d) => {
                let kind = d.name(b"S").map(bytes_to_string);
                out["type"] = json!(kind.as_deref().unwrap_or("unknown"));
                match d.name(b"S") {
                    Some(b"JavaScript") => {
                        if let Some(name) = d.get(b"JS").and_then(|js| self.js_name(js)) {
                            out["javascript"] = json!(name);
                        }
                    }
                    Some(b"URI") => {
                        if let Some(Obj::Str(s)) = d.get(b"URI").map(|u| doc.resolve(u).1) {
                            out["uri"] = json!(bytes_to_string(cut(s)));
                        }
                    }
                    Some(b"Launch" | b"GoToR" | b"GoToE" | b"ImportData" | b"SubmitForm") => {
                        let file = d.get(b"F").and_then(|f| self.file_name(f)).or_else(|| {
                            d.get(b"Win")
                                .and_then(|w| doc.dict(w))
                                .and_then(|w| w.get(b"F"))
                                .and_then(|f| self.file_name(f))
                        });
                        if let Some(file) = file {
                            out["file"] = json!(file);
                        }
                    }
                    Some(b"Named") => {
                        if let Some(n) = d.name(b"N") {
                            out["name"] = json!(bytes_to_string(n));
                        }
                    }
                    _ => {}
                }
                if let Some(next) = d.get(b"Next") {
                    if depth >= 8 {
                        out["next"] = json!("(deeper than 8 actions, not listed)");
                    } else {
                        let next = match doc.resolve(next).1 {
                            Obj::Array(items) => items
                                .iter()
                                .take(16)
                                .map(|a| self.describe(a, depth + 1, seen))
                                .collect(),
                            _ => vec![self.describe(next, depth + 1, seen)],
                        };
                        out["next"] = json!(next);
                    }
                }
            }
            Obj::Array(_) => out["type"] = json!("destination"),
            Obj::Null => out["type"] = json!("missing"),
            _ => out["type"] = json!("unknown"),
        }
        out
    }
}

/// The leaves (key, value) of a name tree, at most 32 levels and [`MAX_LISTED`] leaves; each
/// node object visited once.
fn name_tree<'d>(
    doc: &'d Document<'_>,
    node: &'d Dict,
    depth: usize,
    seen: &mut HashSet<usize>,
    out: &mut Vec<(Vec<u8>, &'d Obj)>,
) {
    if depth > 32 {
        return;
    }
    if let Some(Obj::Array(names)) = node.get(b"Names").map(|n| doc.resolve(n).1) {
        for pair in names.chunks(2) {
            if out.len() >= MAX_LISTED {
                return;
            }
            if let [key, value] = pair {
                let key = match doc.resolve(key).1 {
                    Obj::Str(s) => s.clone(),
                    _ => Vec::new(),
                };
                out.push((key, value));
            }
        }
    }
    if let Some(Obj::Array(kids)) = node.get(b"Kids").map(|k| doc.resolve(k).1) {
        for kid in kids {
            let (from, target) = doc.resolve(kid);
            if let Some(i) = from
                && !seen.insert(i)
            {
                continue;
            }
            if let Obj::Dict(d) = target {
                name_tree(doc, d, depth + 1, seen, out);
            }
        }
    }
}

/// Finds what `doc` does, decoding the streams it needs (within the document's limits);
/// problems go to the document's errors.
pub fn analyse(doc: &mut Document<'_>) -> Findings {
    let (js, embedded, mut findings, cut_lists) = {
        let doc: &Document<'_> = doc;
        let mut walk = Walk {
            doc,
            js_strings: HashMap::new(),
            js_streams: HashMap::new(),
            js: Vec::new(),
            per_object: HashMap::new(),
            embedded: Vec::new(),
            embedded_seen: HashSet::new(),
            uris_seen: HashSet::new(),
            findings: Findings::default(),
            triggers: Vec::new(),
            cut: HashSet::new(),
        };
        for (i, object) in doc.objects.iter().enumerate() {
            walk.visit(i, &object.value);
            if object.stream.is_some()
                && let Some(d) = object.dict()
            {
                for (name, _) in doc.filter_chain(d) {
                    let name = crate::filters::canonical(&name);
                    *walk
                        .findings
                        .filters
                        .entry(bytes_to_string(cut(name)))
                        .or_insert(0) += 1;
                }
            }
        }
        // Embedded file streams that no file specification names.
        for (i, object) in doc.objects.iter().enumerate() {
            if object.stream.is_some()
                && object.dict().and_then(|d| d.name(b"Type")) == Some(b"EmbeddedFile")
                && walk.embedded_seen.insert(i)
            {
                walk.embedded.push((i, None));
            }
        }
        let mut actions = Vec::new();
        for (trigger, holder, action) in &walk.triggers {
            if actions.len() >= MAX_LISTED {
                walk.cut.insert("actions");
                break;
            }
            let mut entry = json!({"trigger": trigger, "in_object": holder});
            if let Value::Object(fields) = walk.describe(action, 0, &mut HashSet::new()) {
                for (k, v) in fields {
                    entry[k] = v;
                }
            }
            actions.push(entry);
        }
        walk.findings.actions = actions;
        // Owned from here on: the document is decoded next.
        let js: Vec<(JsPiece, String)> = std::mem::take(&mut walk.js)
            .into_iter()
            .map(|(source, name)| {
                let piece = match source {
                    JsSource::Stream(i) => JsPiece::Stream(i),
                    JsSource::String(h, bytes) => JsPiece::String(doc.objects[h].num, bytes),
                };
                (piece, name)
            })
            .collect();
        let mut cut_lists: Vec<&'static str> = walk.cut.iter().copied().collect();
        cut_lists.sort_unstable();
        (js, walk.embedded, walk.findings, cut_lists)
    };
    for list in cut_lists {
        doc.errors.push(format!(
            "more than {MAX_LISTED} entries in {list}; the rest are not listed"
        ));
    }
    for (piece, filename) in js {
        let (object, content) = match piece {
            JsPiece::String(num, bytes) => (num, bytes),
            JsPiece::Stream(i) => {
                let num = doc.objects[i].num;
                let Some(decoded) = doc.decode(i) else {
                    continue;
                };
                if let Some(e) = &decoded.error {
                    doc.errors.push(format!("JavaScript stream {num}: {e}"));
                }
                (num, decoded.data)
            }
        };
        let content = javascript_bytes(content);
        findings.javascript.push(json!({
            "filename": filename,
            "object": object,
            "size": content.len(),
        }));
        findings.children.push(Child {
            filename,
            object,
            kind: "javascript",
            content,
        });
    }
    for (i, name) in embedded {
        let num = doc.objects[i].num;
        let Some(decoded) = doc.decode(i) else {
            continue;
        };
        if let Some(e) = &decoded.error {
            doc.errors.push(format!("embedded file stream {num}: {e}"));
        }
        let filename = name.unwrap_or_else(|| format!("obj{num}.bin"));
        findings.embedded_files.push(json!({
            "filename": filename,
            "object": num,
            "size": decoded.data.len(),
        }));
        findings.children.push(Child {
            filename,
            object: num,
            kind: "embedded_file",
            content: decoded.data,
        });
    }
    findings
}

/// A piece of JavaScript, owned.
enum JsPiece {
    /// A string's bytes and the object holding it.
    String(u32, Vec<u8>),
    /// A stream object, by index.
    Stream(usize),
}
