//! Scheduler tests with fake in-process plugins described in a table: each test lists its
//! plugins (name, roles, required workers, what they return), runs one request with CLI-like
//! settings, and checks a compact rendering of the response against a snapshot.
//!
//! Every request runs twice, once with `--deterministic` and once without (two threads), and
//! both renderings must match the snapshot: the rules may not depend on the mode or timing.
//! Update snapshots with `UPDATE_EXPECT=1 cargo test -p stoq-core`.

mod after_scan;
mod errors;
mod extraction;
mod rules;

use std::sync::Arc;
use std::time::Duration;

use expect_test::Expect;
use serde_json::{Map, Value, json};
use stoq_loader::{CallError, CallErrorKind, PluginManifest, Role, WorkerOutput};
use stoq_plugin_abi::{
    ArchiverResponse, DecoratorResponse, DispatcherResponse, PayloadMeta, RequestMeta,
};

use crate::fake::{FakeEntry, FakePlugin, Input};
use crate::model::StoqResponse;
use crate::plugin::Imp;
use crate::{Engine, Registry, Settings};

type Scan = dyn Fn(&Input<'_>) -> Result<Option<WorkerOutput>, CallError> + Send + Sync;

/// One fake plugin of a test's table.
#[derive(Clone)]
pub(super) struct Spec {
    name: String,
    roles: Vec<Role>,
    required: Vec<String>,
    options: Map<String, Value>,
    start_error: Option<String>,
    plugin: FakePlugin,
}

impl Spec {
    fn new(name: &str, roles: Vec<Role>) -> Self {
        Self {
            name: name.to_owned(),
            roles,
            required: Vec::new(),
            options: Map::new(),
            start_error: None,
            plugin: FakePlugin::default(),
        }
    }

    /// Its required workers (set by its config hook).
    pub fn requires(mut self, names: &[&str]) -> Self {
        self.required = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// An option (e.g. `timeout`).
    pub fn option(mut self, key: &str, value: Value) -> Self {
        self.options.insert(key.to_owned(), value);
        self
    }

    /// Its config hook fails with `message`.
    pub fn fails_to_start(mut self, message: &str) -> Self {
        self.start_error = Some(message.to_owned());
        self
    }

    fn entry(self) -> FakeEntry {
        let manifest = PluginManifest::new(self.name.clone(), "0.1.0", self.roles)
            .with_required_workers(self.required.clone());
        let mut plugin = self.plugin;
        plugin.required_workers = self.required;
        let start_error = self.start_error;
        FakeEntry {
            manifest,
            options: self.options,
            make: Box::new(move |_| match &start_error {
                Some(message) => Err(message.clone()),
                None => Ok(Imp::Fake(plugin.clone())),
            }),
        }
    }
}

/// A worker that answers with `scan`.
pub(super) fn worker(
    name: &str,
    scan: impl Fn(&Input<'_>) -> Result<Option<WorkerOutput>, CallError> + Send + Sync + 'static,
) -> Spec {
    let mut spec = Spec::new(name, vec![Role::Worker]);
    spec.plugin.scan = Some(Arc::new(scan) as Arc<Scan>);
    spec
}

/// A worker returning `results` on every payload.
pub(super) fn returns(name: &str, results: Value) -> Spec {
    worker(name, move |_| Out::new().results(results.clone()).done())
}

/// A dispatcher that answers with `dispatch`.
pub(super) fn dispatcher(
    name: &str,
    dispatch: impl Fn(&Input<'_>) -> Result<DispatcherResponse, CallError> + Send + Sync + 'static,
) -> Spec {
    let mut spec = Spec::new(name, vec![Role::Dispatcher]);
    spec.plugin.dispatch = Some(Arc::new(dispatch));
    spec
}

/// An archiver that answers with `archive`.
pub(super) fn archiver(
    name: &str,
    archive: impl Fn(&Input<'_>) -> Result<ArchiverResponse, CallError> + Send + Sync + 'static,
) -> Spec {
    let mut spec = Spec::new(name, vec![Role::Archiver]);
    spec.plugin.archive = Some(Arc::new(archive));
    spec
}

/// A decorator that answers with `decorate` (given the response as JSON).
pub(super) fn decorator(
    name: &str,
    decorate: impl Fn(&str) -> Result<DecoratorResponse, CallError> + Send + Sync + 'static,
) -> Spec {
    let mut spec = Spec::new(name, vec![Role::Decorator]);
    spec.plugin.decorate = Some(Arc::new(decorate));
    spec
}

/// A connector that answers with `save` (given the response as JSON).
pub(super) fn connector(
    name: &str,
    save: impl Fn(&str) -> Result<(), CallError> + Send + Sync + 'static,
) -> Spec {
    let mut spec = Spec::new(name, vec![Role::Connector]);
    spec.plugin.save = Some(Arc::new(save));
    spec
}

/// A dispatcher naming `workers` for every payload.
pub(super) fn names(workers: &[&str]) -> Result<DispatcherResponse, CallError> {
    Ok(DispatcherResponse::new(workers.iter().copied()))
}

/// A failed call.
pub(super) fn fail<T>(kind: CallErrorKind, message: &str) -> Result<T, CallError> {
    Err(CallError {
        kind,
        message: message.to_owned(),
    })
}

/// What a fake worker returns, built up.
pub(super) struct Out(WorkerOutput);

impl Out {
    pub fn new() -> Self {
        Self(WorkerOutput::default())
    }

    pub fn results(mut self, results: Value) -> Self {
        self.0.results = Some(results);
        self
    }

    /// An extracted payload with default metadata (labelled by its content).
    pub fn extract(self, content: &str) -> Self {
        self.extract_with(content, PayloadMeta::default())
    }

    /// An extracted payload with `meta` (labelled by its content).
    pub fn extract_with(mut self, content: &str, mut meta: PayloadMeta) -> Self {
        meta.extra_data
            .insert("label".into(), Value::from(content.to_owned()));
        self.0.extracted.push(stoq_loader::Extracted {
            content: bytes::Bytes::from(content.to_owned()),
            payload_meta: meta,
        });
        self
    }

    pub fn dispatch_to(mut self, workers: &[&str]) -> Self {
        self.0.dispatch_to = workers.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn error(mut self, message: &str) -> Self {
        self.0.errors.push(message.to_owned());
        self
    }

    pub fn done(self) -> Result<Option<WorkerOutput>, CallError> {
        Ok(Some(self.0))
    }
}

/// The payload's content as text.
pub(super) fn text(input: &Input<'_>) -> String {
    String::from_utf8_lossy(input.content).into_owned()
}

/// Settings from CLI-like arguments: `-s`, `-a`, `-R`, `-A`, `-D`, `-C` take names up to the
/// next flag; `--max-recursion N`, `--worker-timeout S`, `--timeout S`,
/// `--max-extracted-payloads N`.
fn settings(args: &str, deterministic: bool) -> Settings {
    let mut s = Settings {
        jobs: 2,
        deterministic,
        ..Settings::default()
    };
    let mut words = args.split_whitespace().peekable();
    while let Some(flag) = words.next() {
        let mut list = || {
            let mut out = Vec::new();
            while let Some(w) = words.next_if(|w| !w.starts_with('-')) {
                out.push(w.to_owned());
            }
            out
        };
        match flag {
            "-s" => s.start_dispatch = list(),
            "-a" => s.always_dispatch = list(),
            "-R" => s.dispatchers = list(),
            "-A" => s.dest_archivers = list(),
            "-D" => s.decorators = list(),
            "-C" => s.connectors = list(),
            other => {
                let value = words.next().expect("a value");
                match other {
                    "--max-recursion" => s.max_recursion = value.parse().unwrap(),
                    "--worker-timeout" => {
                        s.worker_timeout = Duration::from_secs_f64(value.parse().unwrap());
                    }
                    "--timeout" => {
                        s.request_timeout = Some(Duration::from_secs_f64(value.parse().unwrap()));
                    }
                    "--max-extracted-payloads" => {
                        s.limits.max_extracted_payloads = value.parse().unwrap();
                    }
                    _ => panic!("unknown flag {other}"),
                }
            }
        }
    }
    s
}

/// An engine over `plugins` with `args` (start-up problems rendered, not fatal).
pub(super) fn engine(plugins: &[Spec], args: &str, deterministic: bool) -> (Engine, String) {
    let registry = Registry::with_fakes(plugins.iter().cloned().map(Spec::entry).collect());
    let engine = Engine::new(Arc::new(registry), settings(args, deterministic));
    let problems = match engine.check() {
        Ok(()) => String::new(),
        Err(problems) => problems
            .iter()
            .map(|p| format!("start-up: {p}\n"))
            .collect(),
    };
    (engine, problems)
}

fn label(meta: &PayloadMeta) -> String {
    meta.extra_data
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("root")
        .to_owned()
}

/// `value` with every object's keys sorted, whatever serde_json's `preserve_order` (which
/// another crate of a workspace build may turn on).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A compact rendering of a response: one line per payload (sorted by depth, then label)
/// with its lineage, the workers and archivers that ran, their results; then the errors
/// (sorted), payload ids replaced by labels; then decorator results.
pub(super) fn render(response: &StoqResponse) -> String {
    let labels: std::collections::HashMap<&str, String> = response
        .results
        .iter()
        .map(|r| (r.payload_id.as_str(), label(&r.payload_meta)))
        .collect();
    let name = |id: &str| labels.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let mut lines: Vec<(u32, String, String)> = Vec::new();
    for r in &response.results {
        let me = label(&r.payload_meta);
        let mut line = format!("{me} d{}", r.depth);
        let mut edges: Vec<String> = r
            .extracted_from
            .iter()
            .zip(&r.extracted_by)
            .zip(&r.extracted_extra_data)
            .map(|((from, by), extra)| {
                let mut extra = extra.clone();
                extra.remove("label");
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(" {}", sorted(&Value::Object(extra)))
                };
                format!("{} by {by}{extra}", name(from))
            })
            .collect();
        edges.sort();
        if !edges.is_empty() {
            line.push_str(&format!(" <- {}", edges.join(", ")));
        }
        if !r.payload_meta.should_scan {
            line.push_str(" (should_scan=false)");
        }
        let mut run = r.plugins_run.workers.clone();
        run.sort();
        line.push_str(&format!(": run [{}]", run.join(", ")));
        let mut results: Vec<_> = r.workers.iter().collect();
        results.sort_by_key(|(k, _)| k.as_str());
        for (w, v) in results {
            line.push_str(&format!(" {w}={}", sorted(v)));
        }
        if !r.plugins_run.archivers.is_empty() {
            let mut archived = r.plugins_run.archivers.clone();
            archived.sort();
            line.push_str(&format!("; archived [{}]", archived.join(", ")));
            let mut results: Vec<_> = r.archivers.iter().collect();
            results.sort_by_key(|(k, _)| k.as_str());
            for (a, v) in results {
                line.push_str(&format!(" {a}={}", sorted(v)));
            }
        }
        lines.push((r.depth, me, line));
    }
    lines.sort();
    let mut out: String = lines.into_iter().map(|(_, _, l)| l + "\n").collect();
    let mut errors: Vec<String> = response
        .errors
        .iter()
        .map(|e| {
            let mut text = e.error.clone();
            for (id, l) in &labels {
                text = text.replace(id, l);
            }
            format!(
                "error: {} on {}: {text}",
                e.plugin_name.as_deref().unwrap_or("-"),
                e.payload_id.as_deref().map_or("-".to_owned(), name),
            )
        })
        .collect();
    errors.sort();
    for e in errors {
        out.push_str(&e);
        out.push('\n');
    }
    let mut decorators: Vec<_> = response.decorators.iter().collect();
    decorators.sort_by_key(|(k, _)| k.as_str());
    for (d, v) in decorators {
        out.push_str(&format!("decorator {d}={v}\n"));
    }
    out
}

/// Scans `root` with `plugins` and `args`, and renders the start-up problems and response.
pub(super) fn scan_render(
    plugins: &[Spec],
    args: &str,
    root: &str,
    meta: PayloadMeta,
    deterministic: bool,
) -> String {
    let (engine, problems) = engine(plugins, args, deterministic);
    let response = engine.scan(
        bytes::Bytes::from(root.to_owned()),
        meta,
        RequestMeta::default(),
    );
    problems + &render(&response)
}

/// Scans `root` with `plugins` and `args`, in both modes, and checks the rendering.
pub(super) fn check(plugins: &[Spec], args: &str, root: &str, expect: Expect) {
    check_meta(plugins, args, root, PayloadMeta::default(), expect);
}

/// [`check`] with the root's metadata.
pub(super) fn check_meta(
    plugins: &[Spec],
    args: &str,
    root: &str,
    meta: PayloadMeta,
    expect: Expect,
) {
    let deterministic = scan_render(plugins, args, root, meta.clone(), true);
    expect.assert_eq(&deterministic);
    let timed = scan_render(plugins, args, root, meta, false);
    assert_eq!(
        timed, deterministic,
        "without --deterministic the response differs"
    );
}

#[test]
fn the_rendering_shows_lineage_results_and_errors() {
    let plugins = [worker("x", |input| {
        if text(input) == "root" {
            Out::new()
                .results(json!(1))
                .extract("child")
                .error("careful")
                .done()
        } else {
            Ok(None)
        }
    })];
    check(
        &plugins,
        "-a x",
        "root",
        expect_test::expect![[r#"
            root d0: run [x] x=1
            child d1 <- root by x: run [x]
            error: x on root: careful
        "#]],
    );
}
