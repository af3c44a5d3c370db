//! `stoq scan` and `stoq list`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;
use stoq_core::{Content, Delivery, Engine, Limits, Loader, PayloadMeta, RequestMeta, Settings};
use stoq_plugin_abi::bytes_to_string;

use crate::cli::{Format, ListArgs, ScanArgs, ScanSettings};
use crate::input::{self, InputError};
use crate::setup;

pub fn seconds(value: Option<f64>, flag: &str) -> Result<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| format!("{flag}: expected a positive number of seconds, got {s}"))
        })
        .transpose()
}

/// The most worker threads `--jobs` accepts: far more than any machine has cores, few enough
/// that starting them cannot exhaust the process's thread or memory limits.
pub const MAX_JOBS: usize = 1024;

/// Engine settings from the flags, then the config file's `[core]`, then the defaults.
pub fn settings(args: &ScanSettings, core: &stoq_core::CoreConfig) -> Result<Settings> {
    let pick = |cli: &[String], file: &[String]| {
        if cli.is_empty() {
            file.to_vec()
        } else {
            cli.to_vec()
        }
    };
    let defaults = Settings::default();
    let jobs = args.jobs.or(core.jobs).unwrap_or(defaults.jobs);
    if jobs > MAX_JOBS {
        let source = if args.jobs.is_some() {
            "--jobs"
        } else {
            "`jobs` in [core] of the config file"
        };
        bail!("{source}: at most {MAX_JOBS} worker threads, got {jobs} (0 means one per core)");
    }
    let limits = Limits {
        max_payload_size: args
            .max_payload_size
            .or(core.max_payload_size)
            .unwrap_or(defaults.limits.max_payload_size),
        max_extracted_payloads: args
            .max_extracted_payloads
            .or(core.max_extracted_payloads)
            .unwrap_or(defaults.limits.max_extracted_payloads),
        max_extracted_bytes: args
            .max_extracted_bytes
            .or(core.max_extracted_bytes)
            .unwrap_or(defaults.limits.max_extracted_bytes),
    };
    Ok(Settings {
        start_dispatch: args.start_dispatch.clone(),
        always_dispatch: pick(&args.always_dispatch, &core.always_dispatch),
        dispatchers: pick(&args.dispatchers, &core.dispatchers),
        dest_archivers: pick(&args.dest_archivers, &core.dest_archivers),
        decorators: pick(&args.decorators, &core.decorators),
        connectors: pick(&args.connectors, &core.connectors),
        max_recursion: args
            .max_recursion
            .or(core.max_recursion)
            .unwrap_or(defaults.max_recursion),
        max_required_worker_depth: core
            .max_required_worker_depth
            .unwrap_or(defaults.max_required_worker_depth),
        jobs,
        worker_timeout: seconds(
            args.worker_timeout.or(core.worker_timeout),
            "--worker-timeout",
        )?
        .unwrap_or(defaults.worker_timeout),
        request_timeout: seconds(args.timeout.or(core.timeout), "--timeout")?,
        limits,
        deterministic: args.deterministic,
    })
}

/// The registry and a checked engine for `args`: every named plugin started, or every
/// problem in one error.
pub fn engine(args: &ScanSettings) -> Result<(Engine, RequestMeta)> {
    let config = setup::config_file(&args.plugins)?;
    let registry = setup::registry(&args.plugins, &config)?;
    setup::check_options(&registry)?;
    for problem in registry.dependency_problems(None) {
        tracing::warn!("{problem}");
    }
    let engine = Engine::new(Arc::new(registry), settings(args, &config.core)?);
    if let Err(problems) = engine.check() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("{}", lines.join("\n  "));
    }
    let mut request_meta =
        RequestMeta::new().with_extra_data(setup::request_extra(&args.request_extra)?);
    request_meta.source = args.request_source.clone();
    Ok((engine, request_meta))
}

pub fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let (engine, request_meta) = engine(&args.scan)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // With connectors, responses go to them, not to stdout (stoQ's behaviour).
    let print = engine.settings().connectors.is_empty();
    let limit = engine.settings().limits.max_payload_size;
    match args.input.as_deref() {
        Some(dir) if dir.is_dir() => {
            let format = print.then_some(args.format);
            let not_scanned = scan_dir(&engine, dir, &request_meta, format, &mut out)?;
            out.flush()?;
            if not_scanned > 0 {
                tracing::error!(
                    "{not_scanned} files or folders could not be read or were skipped (named above)"
                );
                return Ok(ExitCode::from(1));
            }
        }
        input => {
            let (content, filename) = read_input(input, limit)?;
            let mut payload_meta = PayloadMeta::default();
            if let Some(name) = filename {
                payload_meta
                    .extra_data
                    .insert("filename".into(), name.into());
            }
            let response = engine.scan_content(content, payload_meta, request_meta);
            if print {
                write_json(&mut out, &response, args.format).map_err(unwrap_io)?;
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every entry below `dir` that is not a directory, sorted; symbolic links to directories
/// are not followed (other links are kept: reading decides what they point at). Returns how
/// many directories could not be listed (each is named on stderr).
pub fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> usize {
    walk_typed(dir, &mut |path, _| files.push(path))
}

/// [`walk`], handing each entry with the type the directory listing gave it.
fn walk_typed(dir: &Path, found: &mut dyn FnMut(PathBuf, Option<std::fs::FileType>)) -> usize {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            tracing::error!(path = %dir.display(), "cannot read directory: {e}");
            return 1;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let mut unreadable = 0;
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => unreadable += walk_typed(&path, found),
            Ok(t) if t.is_symlink() && path.is_dir() => {
                tracing::debug!(path = %path.display(), "not following a link to a directory");
            }
            t => found(path, t.ok()),
        }
    }
    unreadable
}

/// Scans every file below `dir`, several at once, printing responses in path order as they
/// complete. Returns how many files or folders were not scanned: unreadable ones, and special
/// files (FIFOs, sockets, devices), which are never opened in a way that blocks.
fn scan_dir(
    engine: &Engine,
    dir: &Path,
    request_meta: &RequestMeta,
    format: Option<Format>,
    out: &mut impl Write,
) -> Result<usize> {
    let mut files = Vec::new();
    let mut not_scanned = walk_typed(dir, &mut |path, kind| files.push((path, kind)));
    let progress =
        ProgressBar::with_draw_target(Some(files.len() as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let limit = engine.settings().limits.max_payload_size;
    let skipped = Arc::new(AtomicUsize::new(0));
    // Files are read by the pool thread that starts their request: reading runs on every
    // core, and only running requests hold their bytes.
    let inputs = files.iter().map(|(path, kind)| {
        let mut meta = PayloadMeta::default();
        if let Some(name) = path.file_name() {
            meta.extra_data.insert(
                "filename".into(),
                bytes_to_string(name.as_encoded_bytes()).into(),
            );
        }
        let relative = path.strip_prefix(dir).unwrap_or(path);
        meta.extra_data.insert(
            "path".into(),
            bytes_to_string(relative.as_os_str().as_encoded_bytes()).into(),
        );
        let (path, kind) = (path.clone(), *kind);
        let (progress, skipped) = (progress.clone(), Arc::clone(&skipped));
        let loader =
            Loader::new(
                move || match input::read_file_of_type(&path, kind, limit, false) {
                    Ok(content) => Some(content),
                    Err(e) => {
                        progress.suspend(|| match e {
                            InputError::Special(_) => {
                                tracing::error!(path = %path.display(), "skipped: {e}");
                            }
                            _ => tracing::error!(path = %path.display(), "cannot read file: {e}"),
                        });
                        skipped.fetch_add(1, Ordering::Relaxed);
                        progress.inc(1);
                        None
                    }
                },
            );
        (Content::Load(loader), meta, request_meta.clone())
    });
    let mut written = Ok(());
    // Responses are flushed after each batch, so a run stopped half-way keeps everything
    // that finished.
    // Responses are serialised on the pool thread that finished them; this thread only
    // writes them, in path order.
    let render = move |response: stoq_core::StoqResponse| {
        let mut bytes = Vec::new();
        match format {
            Some(format) => write_json(&mut bytes, &response, format).map(|()| bytes),
            None => Ok(bytes),
        }
    };
    engine.scan_many_mapped(inputs, 0, render, |event| {
        if written.is_err() {
            return;
        }
        match event {
            Delivery::Response(_, rendered) => {
                progress.inc(1);
                written = rendered.and_then(|bytes| out.write_all(&bytes).map_err(Into::into));
            }
            Delivery::BatchEnd => written = out.flush().map_err(Into::into),
        }
    });
    written?;
    progress.finish_and_clear();
    not_scanned += skipped.load(Ordering::Relaxed);
    Ok(not_scanned)
}

/// Reads the input, returning its bytes and its file name (as stoq encodes bytes). A pipe or
/// device named on the command line is read as a stream; nothing is read past `limit`.
fn read_input(input: Option<&Path>, limit: u64) -> Result<(Content, Option<String>)> {
    match input {
        Some(path) if path.as_os_str() != "-" => {
            let content = input::read_file(path, limit, true)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| bytes_to_string(n.as_encoded_bytes()));
            Ok((content, name))
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("no input: give a FILE, or pipe the payload into `stoq scan -`");
            }
            let content = input::read_stream(stdin.lock(), limit).context("cannot read stdin")?;
            Ok((Content::Bytes(content), None))
        }
    }
}

pub fn write_json(out: &mut impl Write, value: &impl Serialize, format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
            value.serialize(&mut serializer)?;
        }
        Format::Ndjson => serde_json::to_writer(&mut *out, value)?,
        Format::Tree => {
            let value = serde_json::to_value(value)?;
            out.write_all(crate::tree::render(&value, crate::tree::use_color()).as_bytes())?;
        }
    }
    out.write_all(b"\n")?;
    Ok(())
}

/// Lets `main` see a broken pipe hidden inside a serde error.
pub fn unwrap_io(err: anyhow::Error) -> anyhow::Error {
    match err.downcast::<serde_json::Error>() {
        Ok(e) if e.io_error_kind().is_some() => std::io::Error::from(e).into(),
        Ok(e) => e.into(),
        Err(e) => e,
    }
}

pub fn list(args: &ListArgs) -> Result<()> {
    let config = setup::config_file(&args.plugins)?;
    let registry = setup::registry(&args.plugins, &config)?;
    let plugins: Vec<_> = registry
        .plugins()
        .map(|(name, entry)| {
            let manifest = entry.manifest();
            let required = registry.declared_required_workers(name);
            json!({
                "name": name,
                "version": manifest.version,
                "roles": manifest.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "description": manifest.description,
                "author": manifest.author,
                "website": manifest.website,
                "required_workers": required,
                "options": manifest.options,
                "min_stoq_version": manifest.min_stoq_version,
                "abi_version": entry.abi_version(),
                "path": entry.path(),
                "same_library": entry.siblings().collect::<Vec<_>>(),
            })
        })
        .collect();
    let failures: Vec<_> = registry
        .failures()
        .iter()
        .map(|f| json!({"path": f.path, "error": f.reason}))
        .collect();
    let dependency_problems: Vec<String> = registry
        .dependency_problems(None)
        .iter()
        .map(ToString::to_string)
        .collect();
    let option_problems: Vec<String> = registry
        .option_problems()
        .iter()
        .map(ToString::to_string)
        .collect();

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        write_json(
            &mut out,
            &json!({
                "plugins": plugins,
                "load_errors": failures,
                "dependency_errors": dependency_problems,
                "option_errors": option_problems,
            }),
            Format::Json,
        )
        .map_err(unwrap_io)?;
    } else {
        for p in &plugins {
            let field = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            let list = |k: &str| {
                let items: Vec<&str> = p[k]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                if items.is_empty() {
                    "-".to_owned()
                } else {
                    items.join(", ")
                }
            };
            writeln!(
                out,
                "{:<20} v{:<10} {}",
                field("name"),
                field("version"),
                field("description")
            )?;
            writeln!(out, "    roles: {}", list("roles"))?;
            writeln!(out, "    required workers: {}", list("required_workers"))?;
            if !field("website").is_empty() {
                writeln!(out, "    website: {}", field("website"))?;
            }
            writeln!(out, "    path: {}", field("path"))?;
            if !list("same_library").starts_with('-') {
                writeln!(out, "    same library as: {}", list("same_library"))?;
            }
            let options = p["options"].as_array().cloned().unwrap_or_default();
            if !options.is_empty() {
                writeln!(out, "    options:")?;
            }
            for option in &options {
                let default = match (&option["default"], option["required"].as_bool()) {
                    (_, Some(true)) => "required".to_owned(),
                    (serde_json::Value::Null, _) => "no default".to_owned(),
                    (value, _) => format!("default {value}"),
                };
                writeln!(
                    out,
                    "      {:<22} {:<7} {:<24} {}",
                    option["name"].as_str().unwrap_or_default(),
                    option["type"].as_str().unwrap_or_default(),
                    default,
                    option["doc"].as_str().unwrap_or_default(),
                )?;
            }
        }
        if plugins.is_empty() {
            writeln!(out, "no plugins found")?;
        }
        if !dependency_problems.is_empty() {
            writeln!(out, "\nrequired workers:")?;
            for problem in &dependency_problems {
                writeln!(out, "    {problem}")?;
            }
        }
        if !option_problems.is_empty() {
            writeln!(out, "\noptions:")?;
            for problem in &option_problems {
                writeln!(out, "    {problem}")?;
            }
        }
        if !failures.is_empty() {
            writeln!(out, "\nfailed to load:")?;
            for f in registry.failures() {
                writeln!(out, "    {f}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
