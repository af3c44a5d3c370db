//! `--format tree`: a response as a payload tree for people. Each payload on one line (its
//! name, type, size and the worker that extracted it), its headline findings below it
//! (matched rules, macro and shortcut flags, PDF actions, indicators counted), its errors in
//! red; then the request's other errors and the decorators. In colour on a terminal (unless
//! `NO_COLOR` is set). The JSON stays the default output and stays stoQ's.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::IsTerminal;

use serde_json::Value;
use stoq_plugin_abi::types::string_to_bytes;

/// Whether the tree is printed in colour: standard output is a terminal and `NO_COLOR` is
/// not set (<https://no-color.org>).
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    fn red(&self, text: &str) -> String {
        self.wrap("31", text)
    }
    fn yellow(&self, text: &str) -> String {
        self.wrap("33", text)
    }
    fn cyan(&self, text: &str) -> String {
        self.wrap("36", text)
    }
}

/// A byte count for people: `19 B`, `1.2 KiB`, `3.0 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get("keyword")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| v.as_bool() == Some(true))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// The headline findings of one worker's results, as short phrases. Workers not listed here
/// show nothing: their results are in the JSON.
fn headlines(worker: &str, results: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match worker {
        "yara" => {
            let rules: Vec<&str> = results["matches"]
                .as_array()
                .map(|m| m.iter().filter_map(|r| r["rule"].as_str()).collect())
                .unwrap_or_default();
            if !rules.is_empty() {
                out.push(format!("yara: {}", rules.join(", ")));
            }
        }
        "iocextract" => {
            let mut counts: Vec<String> = results
                .as_object()
                .map(|kinds| {
                    kinds
                        .iter()
                        .filter_map(|(kind, values)| {
                            values.as_array().map(|v| format!("{} {kind}", v.len()))
                        })
                        .filter(|s| !s.starts_with("0 "))
                        .collect()
                })
                .unwrap_or_default();
            counts.sort_by(|a, b| a.split(' ').nth(1).cmp(&b.split(' ').nth(1)));
            if !counts.is_empty() {
                out.push(format!("iocs: {}", counts.join(", ")));
            }
        }
        "ole" => {
            let flags = strings(&results["flags"]);
            if !flags.is_empty() {
                out.push(format!("macro flags: {}", flags.join(", ")));
            }
            if let Some(verdict) = results["flags"]["mraptor"].as_str() {
                out.push(format!("mraptor: {verdict}"));
            }
            let iocs: Vec<&str> = results["keywords"]
                .as_array()
                .map(|k| {
                    k.iter()
                        .filter(|k| k["type"] == "IOC")
                        .filter_map(|k| k["keyword"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            if !iocs.is_empty() {
                out.push(format!("macro iocs: {}", shortened(&iocs, 3)));
            }
        }
        "pdf" => {
            let risky = [
                "/JS",
                "/JavaScript",
                "/OpenAction",
                "/AA",
                "/Launch",
                "/EmbeddedFile",
                "/URI",
            ];
            let keywords = &results["keywords"];
            let found: Vec<String> = risky
                .iter()
                .filter_map(|k| {
                    let count = keywords[*k]
                        .as_u64()
                        .or_else(|| keywords[*k]["count"].as_u64())?;
                    (count > 0).then(|| format!("{k} {count}"))
                })
                .collect();
            if !found.is_empty() {
                out.push(format!("pdf: {}", found.join(", ")));
            }
            let uris: Vec<&str> = results["uris"]
                .as_array()
                .map(|u| u.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !uris.is_empty() {
                out.push(format!("uris: {}", shortened(&uris, 3)));
            }
        }
        "lnk" | "rtf" | "elfinfo" | "machoinfo" | "peinfo" => {
            let suspicious = strings(&results["suspicious"]);
            if !suspicious.is_empty() {
                out.push(format!("{worker} suspicious: {}", suspicious.join(", ")));
            }
            if worker == "lnk"
                && let Some(target) = results["target"]
                    .as_str()
                    .or(results["target_path"].as_str())
            {
                // Results hold paths as `bytes_to_string` writes them (a backslash doubled,
                // bytes that are not UTF-8 as `\xNN`); people read the path itself.
                let shown = string_to_bytes(target)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_else(|| target.to_owned());
                out.push(format!("target: {shown}"));
            }
        }
        _ => {}
    }
    out
}

/// The first `shown` of `items`, and how many more there are.
fn shortened(items: &[&str], shown: usize) -> String {
    let mut text = items[..items.len().min(shown)].join(", ");
    if items.len() > shown {
        let _ = write!(text, " (and {} more)", items.len() - shown);
    }
    text
}

/// The workers that extracted `payload`, by name (the response lists them in the order they
/// finished, which varies from run to run).
fn extractors(payload: &Value) -> Vec<&str> {
    let mut by: Vec<&str> = payload["extracted_by"]
        .as_array()
        .map(|b| b.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    by.sort_unstable();
    by
}

/// The name shown for a payload: its file name or path, or a short id.
fn display_name(payload: &Value) -> String {
    let extra = &payload["payload_meta"]["extra_data"];
    for key in ["filename", "path"] {
        if let Some(name) = extra[key].as_str() {
            return name.to_owned();
        }
    }
    let id = payload["payload_id"].as_str().unwrap_or("?");
    format!("payload {}", id.get(..8).unwrap_or(id))
}

/// Renders `response` (stoQ's JSON shape) as a tree.
pub fn render(response: &Value, color: bool) -> String {
    let paint = Paint(color);
    let empty = Vec::new();
    let results = response["results"].as_array().unwrap_or(&empty);
    let index: HashMap<&str, usize> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r["payload_id"].as_str().map(|id| (id, i)))
        .collect();
    // Each payload hangs under its first parent; later parents are named on its line.
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (i, payload) in results.iter().enumerate() {
        if payload["depth"].as_u64().unwrap_or(0) == 0 {
            roots.push(i);
            continue;
        }
        match payload["extracted_from"]
            .as_array()
            .and_then(|from| from.first())
            .and_then(Value::as_str)
            .and_then(|id| index.get(id))
        {
            Some(&parent) if parent != i => children.entry(parent).or_default().push(i),
            _ => roots.push(i),
        }
    }
    let mut errors_by_payload: HashMap<&str, Vec<&Value>> = HashMap::new();
    let mut request_errors = Vec::new();
    for error in response["errors"].as_array().unwrap_or(&empty) {
        match error["payload_id"]
            .as_str()
            .filter(|id| index.contains_key(id))
        {
            Some(id) => errors_by_payload.entry(id).or_default().push(error),
            None => request_errors.push(error),
        }
    }

    let mut out = String::new();
    // (payload, prefix of its line, last among its siblings, drawn as a root)
    let mut stack: Vec<(usize, String, bool, bool)> = roots
        .iter()
        .rev()
        .map(|&i| (i, String::new(), true, true))
        .collect();
    let mut seen = vec![false; results.len()];
    // A payload no root leads to (a malformed response) is drawn on its own.
    while let Some((i, prefix, last, root)) = stack.pop().or_else(|| {
        seen.iter()
            .position(|s| !s)
            .map(|i| (i, String::new(), true, true))
    }) {
        let payload = &results[i];
        let branch = if root {
            ""
        } else if last {
            "└── "
        } else {
            "├── "
        };
        let mimetype = payload["workers"]["mimetype"]["mimetype"].as_str();
        let mut line = format!("{prefix}{branch}{}", paint.bold(&display_name(payload)));
        if let Some(mimetype) = mimetype {
            let _ = write!(line, "  {}", paint.cyan(mimetype));
        }
        let _ = write!(
            line,
            "  {}",
            human_size(payload["size"].as_u64().unwrap_or(0))
        );
        let by = extractors(payload);
        if let Some(first) = by.first() {
            let _ = write!(line, "  {}", paint.dim(&format!("by {first}")));
            if by.len() > 1 {
                let _ = write!(
                    line,
                    "{}",
                    paint.dim(&format!(" (and {} more)", by.len() - 1))
                );
            }
        }
        if seen[i] {
            let _ = write!(line, "  {}", paint.dim("(seen above)"));
            out.push_str(&line);
            out.push('\n');
            continue;
        }
        seen[i] = true;
        out.push_str(&line);
        out.push('\n');
        let inner = if root {
            String::new()
        } else {
            format!("{prefix}{}", if last { "    " } else { "│   " })
        };
        let mut kids = children.get(&i).cloned().unwrap_or_default();
        // Workers run in parallel, so two workers' extractions from one payload may come in
        // either order, and a payload two workers extract lists them in the order they
        // finished; each worker's own extractions stay in its order. Grouped by the first of
        // their extractors by name, the tree is the same on every run.
        kids.sort_by_cached_key(|&k| extractors(&results[k]).first().map(|s| s.to_string()));
        let detail_prefix = format!("{inner}{}", if kids.is_empty() { "  " } else { "│ " });
        if let Some(workers) = payload["workers"].as_object() {
            for (worker, results) in workers {
                for headline in headlines(worker, results) {
                    let _ = writeln!(out, "{detail_prefix}{}", paint.yellow(&headline));
                }
            }
        }
        if let Some(id) = payload["payload_id"].as_str() {
            for error in errors_by_payload.get(id).into_iter().flatten() {
                let plugin = error["plugin_name"].as_str().unwrap_or("stoq");
                let text = error["error"].as_str().unwrap_or("");
                let _ = writeln!(
                    out,
                    "{detail_prefix}{}",
                    paint.red(&format!("error ({plugin}): {text}"))
                );
            }
        }
        for (n, &child) in kids.iter().enumerate().rev() {
            stack.push((child, inner.clone(), n + 1 == kids.len(), false));
        }
    }
    for error in request_errors {
        let plugin = error["plugin_name"].as_str().unwrap_or("stoq");
        let text = error["error"].as_str().unwrap_or("");
        let _ = writeln!(out, "{}", paint.red(&format!("error ({plugin}): {text}")));
    }
    if let Some(decorators) = response["decorators"].as_object() {
        for (name, results) in decorators {
            let _ = writeln!(
                out,
                "{} {results}",
                paint.dim(&format!("decorator {name}:"))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(id: &str, name: &str, size: u64, from: &[&str], by: &[&str], depth: u64) -> Value {
        json!({
            "size": size,
            "payload_id": id,
            "payload_meta": {"extra_data": {"filename": name}},
            "extracted_from": from,
            "extracted_by": by,
            "workers": {},
            "depth": depth,
        })
    }

    #[test]
    fn a_response_is_drawn_as_its_payload_tree() {
        let mut root = payload("r", "mail.eml", 2048, &[], &[], 0);
        root["workers"] = json!({
            "mimetype": {"mimetype": "message/rfc822"},
            "yara": {"matches": [{"rule": "email_file"}, {"rule": "has_macro"}]},
        });
        let mut zip = payload("z", "a.zip", 900, &["r"], &["smtp"], 1);
        zip["workers"] = json!({"iocextract": {"url": ["http://x.example"], "domain": ["x.example", "y.example"], "ipv4": []}});
        let doc = payload("d", "invoice.docm", 3_500_000, &["z"], &["decompress"], 2);
        let pdf = payload("p", "terms.pdf", 10, &["r"], &["smtp"], 1);
        let response = json!({
            "results": [root, zip, doc, pdf],
            "errors": [
                {"error": "truncated", "plugin_name": "decompress", "payload_id": "z"},
                {"error": "limit reached", "plugin_name": null, "payload_id": null},
            ],
            "decorators": {},
        });
        assert_eq!(
            render(&response, false),
            "mail.eml  message/rfc822  2.0 KiB\n\
             │ yara: email_file, has_macro\n\
             ├── a.zip  900 B  by smtp\n\
             │   │ iocs: 2 domain, 1 url\n\
             │   │ error (decompress): truncated\n\
             │   └── invoice.docm  3.3 MiB  by decompress\n\
             └── terms.pdf  10 B  by smtp\n\
             error (stoq): limit reached\n"
        );
    }

    #[test]
    fn colour_only_when_asked_and_odd_shapes_do_not_panic() {
        let response = json!({"results": [payload("r", "x", 1, &[], &[], 0)], "errors": []});
        assert!(render(&response, true).contains("\x1b[1mx\x1b[0m"));
        assert!(!render(&response, false).contains('\x1b'));
        for odd in [json!(null), json!({"results": 3}), json!({"results": [{}]})] {
            let _ = render(&odd, true);
        }
        // Payloads that only point at each other (a malformed response) are drawn once, and
        // the loop back is marked instead of followed.
        let looped = json!({"results": [payload("a", "a", 1, &["b"], &["w"], 1), payload("b", "b", 1, &["a"], &["w"], 1)]});
        let text = render(&looped, false);
        assert_eq!(
            text,
            "a  1 B  by w\n└── b  1 B  by w\n    └── a  1 B  by w  (seen above)\n"
        );
    }

    #[test]
    fn the_order_extractors_are_listed_in_does_not_change_the_tree() {
        // `ole` and `decompress` both take vbaProject.bin out of a document; the response
        // lists them in the order they finished. (Where the payload stands among the
        // results varies too: `--deterministic` fixes that.)
        let draw = |project_by: &[&str]| {
            let results = json!([
                payload("d", "a.docm", 10, &[], &[], 0),
                payload("v", "vbaProject.bin", 8, &["d"], project_by, 1),
                payload("x", "document.xml", 5, &["d"], &["decompress"], 1),
                payload("s", "VBA/dir", 3, &["v"], &["ole"], 2),
            ]);
            render(&json!({"results": results, "errors": []}), false)
        };
        let expected = "a.docm  10 B\n\
                        ├── vbaProject.bin  8 B  by decompress (and 1 more)\n\
                        │   └── VBA/dir  3 B  by ole\n\
                        └── document.xml  5 B  by decompress\n";
        assert_eq!(draw(&["decompress", "ole"]), expected);
        assert_eq!(draw(&["ole", "decompress"]), expected);
    }

    #[test]
    fn a_shortcut_target_is_shown_as_the_path_it_encodes() {
        let mut lnk = payload("l", "a.lnk", 1, &[], &[], 0);
        lnk["workers"] = json!({"lnk": {"target_path": r"C:\\Windows\\caf\xe9.exe"}});
        let text = render(&json!({"results": [lnk], "errors": []}), false);
        assert!(
            text.contains("target: C:\\Windows\\caf\u{FFFD}.exe\n"),
            "{text}"
        );
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human_size(19), "19 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
