//! The `yara` plugin: YARA-X rules, as a worker (report matches) and as a dispatcher (route
//! payloads by file type and by rule meta).
//!
//! Options: `worker_rules` and `dispatch_rules`, each a list of rule files or folders (every
//! `.yar`/`.yara` file in them, sorted), empty by default; `builtin_routes` (default true);
//! `strings_limit` (default 10) caps the matched strings reported per pattern. Rules are
//! compiled once, when the plugin starts; a syntax error stops it with the option, the file and
//! the line.
//!
//! Worker results: `{"matches": [{"rule", "namespace", "tags", "meta", "strings": [{"identifier",
//! "offset", "data"}]}]}` (match data as stoq encodes bytes). With no `worker_rules`, nothing
//! matches.
//!
//! Dispatcher: first the built-in routes, then the `dispatch_rules`. The built-in routes are
//! `stoq-filetype`'s table, the one the `mimetype` worker reports from, so `mimetype` and
//! `-R yara` agree by construction: each payload's kind (zip, gzip, bzip2, xz, zstd, tar, 7z,
//! OOXML and ODF documents to `decompress`, macro-enabled OOXML and ODF to `ole` as well;
//! OLE2 to `ole`; PDF to `pdf`; RTF to `rtf`; LNK to `lnk`; PE to `peinfo`; ELF to `elfinfo`;
//! Mach-O to `machoinfo`; email, however its header block begins, to `smtp`; base64 text to
//! `b64decode`), found in time linear in the payload's size, schedules its plugins,
//! and the dispatch meta holds `{"filetype": {"name", "mimetype", "description", "extension",
//! "plugin"}}` (for every kind of the table, routed or not). Then each matching rule's meta
//! `plugin = "a, b"` names more workers; the dispatch meta holds every matching rule's meta
//! under its name (so `xordecode` finds an `xorkey`; a rule named `filetype` replaces the
//! built-in entry); `save = "false"` sets the payload's `should_archive` to false (stoQ's
//! convention). A worker named twice is scheduled once.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use stoq_plugin_abi::prelude::*;
use yara_x::{Compiler, MetaValue, Rules, Scanner, SourceCode};

/// Compiles rule files or folders (no rules when `paths` is empty).
pub fn compile(paths: &[String]) -> Result<Rules> {
    let mut compiler = Compiler::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        let path = Path::new(path);
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    Error::msg(format!("cannot read rule folder {}: {e}", path.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yar" | "yara")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.to_owned());
        }
    }
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::msg(format!("cannot read rule file {}: {e}", file.display())))?;
        let origin = file.display().to_string();
        // The error's display names the file (the origin) and the line.
        compiler
            .add_source(SourceCode::from(text.as_str()).with_origin(origin.as_str()))
            .map_err(|e| Error::msg(format!("rule syntax error:\n{e}")))?;
    }
    Ok(compiler.build())
}

fn meta_json(value: &MetaValue<'_>) -> Value {
    match value {
        MetaValue::Integer(i) => json!(i),
        MetaValue::Float(f) => json!(f),
        MetaValue::Bool(b) => json!(b),
        MetaValue::String(s) => json!(s),
        MetaValue::Bytes(b) => json!(stoq_plugin_abi::bytes_to_string(b)),
    }
}

/// One compiled rule set with a scanner per thread (a YARA-X scanner is not shareable).
struct RuleSet {
    rules: &'static Rules,
    /// Scan in YARA-X's fast mode: a pattern that the conditions only need to find once (`$a`,
    /// `3 of ..`, not `#a`, `@a`, `$a at ..`) is no longer searched after its first match.
    /// Which rules match is the same; only the reported matches are cut, so the dispatcher
    /// (which reports rules, not strings) uses it and the worker does not.
    fast: bool,
}

thread_local! {
    /// Scanners of this thread, by the address of their rule set.
    static SCANNERS: RefCell<Vec<(usize, Scanner<'static>)>> = const { RefCell::new(Vec::new()) };
}

impl RuleSet {
    fn new(rules: Rules, fast: bool) -> Self {
        // The plugin instance lives until the process ends (libraries are never unloaded), so
        // leaking the rules lets each thread keep a scanner that borrows them.
        Self {
            rules: Box::leak(Box::new(rules)),
            fast,
        }
    }

    /// Scans `data` and hands the matching rules to `each`.
    fn scan(&self, data: &[u8], each: &mut dyn FnMut(&yara_x::Rule<'_, '_>)) -> Result<()> {
        let key = std::ptr::from_ref(self.rules) as usize;
        SCANNERS.with(|scanners| {
            let mut scanners = scanners.borrow_mut();
            let at = match scanners.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    let mut scanner = Scanner::new(self.rules);
                    scanner.fast_scan(self.fast);
                    scanners.push((key, scanner));
                    scanners.len() - 1
                }
            };
            let results = scanners[at]
                .1
                .scan(data)
                .map_err(|e| Error::msg(format!("scan failed: {e}")))?;
            for rule in results.matching_rules() {
                each(&rule);
            }
            Ok(())
        })
    }
}

/// The YARA plugin.
pub struct Yara {
    /// `None` without rules: nothing to scan.
    worker: Option<RuleSet>,
    dispatch: Option<RuleSet>,
    builtin_routes: bool,
    strings_limit: usize,
}

impl Plugin for Yara {
    const INFO: PluginInfo = PluginInfo::new("yara", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "YARA-X rules: matches as a worker; routing by file type and rule meta as a dispatcher",
        )
        .options(&[
            OptionSpec::list("worker_rules", &[])
                .doc("Rule files or folders (.yar, .yara) the worker reports; empty: none"),
            OptionSpec::list("dispatch_rules", &[])
                .doc("Rule files or folders whose meta `plugin` routes payloads, after the built-in routes; empty: none"),
            OptionSpec::bool("builtin_routes", true)
                .doc("Route each payload by its file type (stoq-filetype's table, which mimetype reports): zip to decompress, email to smtp, PE to peinfo, ..."),
            OptionSpec::int("strings_limit", 10)
                .doc("Most matched strings the worker reports per pattern"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let limit = config.int("strings_limit")?;
        let strings_limit = usize::try_from(limit)
            .map_err(|_| Error::msg(format!("option `strings_limit` must be >= 0, got {limit}")))?;
        // Compile errors name the option the rules came from.
        let rules = |key: &str, fast: bool| -> Result<Option<RuleSet>> {
            let paths = config.list(key)?;
            if paths.is_empty() {
                return Ok(None);
            }
            let rules = compile(&paths).map_err(|e| Error::msg(format!("option `{key}`: {e}")))?;
            Ok(Some(RuleSet::new(rules, fast)))
        };
        Ok(Self {
            worker: rules("worker_rules", false)?,
            dispatch: rules("dispatch_rules", true)?,
            builtin_routes: config.bool("builtin_routes")?,
            strings_limit,
        })
    }
}

impl Worker for Yara {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let Some(worker) = &self.worker else {
            return Ok(WorkerResponse::empty());
        };
        let data = payload.content();
        let mut matches = Vec::new();
        worker.scan(data, &mut |rule| {
            let meta: Map<String, Value> = rule
                .metadata()
                .map(|(k, v)| (k.to_owned(), meta_json(&v)))
                .collect();
            let mut strings = Vec::new();
            for pattern in rule.patterns() {
                for m in pattern.matches().take(self.strings_limit) {
                    strings.push(json!({
                        "identifier": pattern.identifier(),
                        "offset": m.range().start,
                        "data": stoq_plugin_abi::bytes_to_string(m.data()),
                    }));
                }
            }
            matches.push(json!({
                "rule": rule.identifier(),
                "namespace": rule.namespace(),
                "tags": rule.tags().map(|t| t.identifier().to_owned()).collect::<Vec<_>>(),
                "meta": meta,
                "strings": strings,
            }));
        })?;
        if matches.is_empty() {
            return Ok(WorkerResponse::empty());
        }
        Ok(WorkerResponse::new(json!({ "matches": matches })))
    }
}

impl Dispatcher for Yara {
    fn get_dispatches(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<DispatcherResponse> {
        let mut response = DispatcherResponse::empty();
        let data = payload.content();
        if self.builtin_routes {
            let kind = stoq_filetype::detect(data);
            if kind.is_known() {
                response
                    .plugin_names
                    .extend(kind.plugins.iter().map(|&p| p.to_owned()));
                response.meta.insert(
                    "filetype".to_owned(),
                    json!({
                        "name": kind.name,
                        "mimetype": kind.mimetype,
                        "description": kind.description,
                        "extension": kind.extension,
                        "plugin": kind.plugins.join(", "),
                    }),
                );
            }
        }
        let Some(rules) = &self.dispatch else {
            return Ok(response);
        };
        rules.scan(data, &mut |rule| {
            let mut meta = Map::new();
            for (key, value) in rule.metadata() {
                let value = meta_json(&value);
                match (key, &value) {
                    ("plugin", Value::String(names)) => response.plugin_names.extend(
                        names
                            .split(',')
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned),
                    ),
                    ("save", Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                        response.should_archive = Some(false);
                    }
                    ("save", Value::Bool(false)) => response.should_archive = Some(false),
                    _ => {}
                }
                meta.insert(key.to_owned(), value);
            }
            response
                .meta
                .insert(rule.identifier().to_owned(), Value::Object(meta));
        })?;
        let mut seen = std::collections::HashSet::new();
        response
            .plugin_names
            .retain(|name| seen.insert(name.clone()));
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Yara => worker, dispatcher);

#[cfg(test)]
mod tests;
