//! `stoq scan` and `stoq list`.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;
use stoq_core::{Engine, PayloadMeta, RequestMeta, Settings};
use stoq_plugin_abi::bytes_to_string;

use crate::cli::{Format, ListArgs, ScanArgs};
use crate::setup;

pub fn scan(args: &ScanArgs) -> Result<()> {
    let config = setup::config_file(&args.plugins)?;
    let registry = setup::registry(&args.plugins, &config)?;
    let pick = |cli: &[String], file: &[String]| {
        if cli.is_empty() {
            file.to_vec()
        } else {
            cli.to_vec()
        }
    };
    let defaults = Settings::default();
    let settings = Settings {
        start_dispatch: args.start_dispatch.clone(),
        always_dispatch: pick(&args.always_dispatch, &config.core.always_dispatch),
        dispatchers: pick(&args.dispatchers, &config.core.dispatchers),
        max_recursion: args
            .max_recursion
            .or(config.core.max_recursion)
            .unwrap_or(defaults.max_recursion),
        max_required_worker_depth: config
            .core
            .max_required_worker_depth
            .unwrap_or(defaults.max_required_worker_depth),
    };
    let engine = Engine::new(Arc::new(registry), settings);
    if let Err(problems) = engine.check() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("{}", lines.join("\n  "));
    }

    let (content, filename) = read_input(args.input.as_deref())?;
    let mut payload_meta = PayloadMeta::default();
    if let Some(name) = filename {
        payload_meta
            .extra_data
            .insert("filename".into(), name.into());
    }
    let request_meta = RequestMeta {
        source: args.request_source.clone(),
        extra_data: setup::request_extra(&args.request_extra)?,
        ..RequestMeta::default()
    };
    let response = engine.scan(content.into(), payload_meta, request_meta);
    write_response(&response, args.format)
}

/// Reads the input, returning its bytes and its file name (as stoq encodes bytes).
fn read_input(input: Option<&std::path::Path>) -> Result<(Vec<u8>, Option<String>)> {
    match input {
        Some(path) if path.as_os_str() != "-" => {
            let content =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| bytes_to_string(n.as_encoded_bytes()));
            Ok((content, name))
        }
        _ => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("no input: give a FILE, or pipe the payload into `stoq scan -`");
            }
            let mut content = Vec::new();
            stdin
                .read_to_end(&mut content)
                .context("cannot read stdin")?;
            Ok((content, None))
        }
    }
}

fn write_json(out: &mut impl Write, value: &impl Serialize, format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
            value.serialize(&mut serializer)?;
        }
        Format::Ndjson => serde_json::to_writer(&mut *out, value)?,
    }
    out.write_all(b"\n")?;
    Ok(())
}

fn write_response(response: &stoq_core::StoqResponse, format: Format) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write_json(&mut out, response, format).map_err(unwrap_io)?;
    out.flush()?;
    Ok(())
}

/// Lets `main` see a broken pipe hidden inside a serde error.
fn unwrap_io(err: anyhow::Error) -> anyhow::Error {
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
            let required: Vec<String> = registry
                .options(name)
                .and_then(|o| o.get("required_workers").cloned())
                .map(|v| match v {
                    serde_json::Value::String(s) => s
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    other => serde_json::from_value(other).unwrap_or_default(),
                })
                .unwrap_or_else(|| manifest.required_workers.clone());
            json!({
                "name": name,
                "version": manifest.version,
                "roles": manifest.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "description": manifest.description,
                "author": manifest.author,
                "required_workers": required,
                "abi_version": manifest.abi_version,
                "path": entry.path(),
            })
        })
        .collect();
    let failures: Vec<_> = registry
        .failures()
        .iter()
        .map(|f| json!({"path": f.path, "error": f.reason}))
        .collect();

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        write_json(
            &mut out,
            &json!({"plugins": plugins, "load_errors": failures}),
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
            writeln!(out, "    path: {}", field("path"))?;
        }
        if plugins.is_empty() {
            writeln!(out, "no plugins found")?;
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
