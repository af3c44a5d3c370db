//! `stoq submit`: put files on a Redis work stream, print their task ids, and optionally wait
//! for their responses.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use redis::aio::ConnectionManager;
use redis::streams::StreamReadReply;
use stoq_core::{PayloadMeta, RequestMeta};
use stoq_plugin_abi::bytes_to_string;
use stoq_redis_queue::{Body, Entry, Keys, field, redact, text_of, write_blob};

use crate::cli::SubmitArgs;
use crate::commands::walk;
use crate::setup;

/// One file to submit.
struct Input {
    path: PathBuf,
    /// The path shown in the payload's `path`: relative to the directory given, if any.
    relative: PathBuf,
}

/// The files to submit, and how many directories could not be listed.
fn inputs(args: &SubmitArgs) -> (Vec<Input>, usize) {
    let mut inputs = Vec::new();
    let mut unreadable = 0;
    for given in &args.inputs {
        if given.is_dir() {
            let mut files = Vec::new();
            unreadable += walk(given, &mut files);
            inputs.extend(files.into_iter().map(|path| Input {
                relative: path.strip_prefix(given).unwrap_or(&path).to_owned(),
                path,
            }));
        } else {
            inputs.push(Input {
                relative: given.file_name().map(PathBuf::from).unwrap_or_default(),
                path: given.clone(),
            });
        }
    }
    (inputs, unreadable)
}

/// Reads a regular file, at most `max` bytes, never blocking on a special file.
fn read_file(path: &Path, max: u64) -> Result<Vec<u8>> {
    let too_large = || anyhow::anyhow!("more than --max-size {max} bytes");
    match crate::input::read_file(path, max, false) {
        Ok(stoq_core::Content::Bytes(content)) => Ok(content.to_vec()),
        Ok(stoq_core::Content::Unread { .. } | stoq_core::Content::Load(_))
        | Err(crate::input::InputError::TooLarge { .. }) => Err(too_large()),
        Err(e) => Err(e.into()),
    }
}

/// The entry for one file.
fn entry(args: &SubmitArgs, input: &Input, request_meta: &RequestMeta) -> Result<Entry> {
    let content = read_file(&input.path, args.max_size)?;
    let mut meta = PayloadMeta::default();
    if let Some(name) = input.path.file_name() {
        meta.extra_data.insert(
            "filename".into(),
            bytes_to_string(name.as_encoded_bytes()).into(),
        );
    }
    meta.extra_data.insert(
        "path".into(),
        bytes_to_string(input.relative.as_os_str().as_encoded_bytes()).into(),
    );
    let body = if content.len() as u64 <= args.inline_max {
        Body::Inline(content)
    } else {
        let dir = args.blob_dir.as_deref().with_context(|| {
            format!(
                "{} bytes, more than --inline-max {}: give --blob-dir, a folder every host reads (their redis:blob_dir)",
                content.len(),
                args.inline_max
            )
        })?;
        Body::Blob {
            sha256: write_blob(dir, &content)?,
            size: content.len() as u64,
        }
    };
    Ok(Entry::new(
        serde_json::to_value(&meta)?,
        Some(serde_json::to_value(request_meta)?),
        body,
    ))
}

/// The id of the last entry of `stream`, or `0-0`.
async fn last_id(con: &mut ConnectionManager, stream: &str) -> Result<String> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(con)
        .await?;
    Ok(reply
        .ids
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_owned(), |e| e.id))
}

pub fn submit(args: &SubmitArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    runtime.block_on(submit_async(args))
}

async fn submit_async(args: &SubmitArgs) -> Result<ExitCode> {
    let address = redact(&args.to);
    let keys = Keys::new(&args.prefix);
    let mut request_meta =
        RequestMeta::new().with_extra_data(setup::request_extra(&args.request_extra)?);
    request_meta.source = args.request_source.clone();
    let client =
        redis::Client::open(args.to.as_str()).with_context(|| format!("--to {address}"))?;
    let config = stoq_redis_queue::connection_config(Duration::from_secs(10));
    let mut con = tokio::time::timeout(
        Duration::from_secs(10),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer within 10 s"))
    .and_then(|c| Ok(c?))
    .with_context(|| format!("cannot reach Redis at {address}"))?;
    stoq_redis_queue::ensure_group(&mut con, &keys)
        .await
        .with_context(|| format!("Redis at {address}"))?;
    // Responses to wait for arrive after these ids.
    let mut cursors = if args.wait {
        Some([
            last_id(&mut con, &keys.results).await?,
            last_id(&mut con, &keys.dead).await?,
        ])
    } else {
        None
    };

    let mut failed = 0;
    let mut waiting: HashMap<String, PathBuf> = HashMap::new();
    let mut listing: Box<dyn Write> = if args.wait {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let (inputs, unreadable) = inputs(args);
    failed += unreadable;
    for input in inputs {
        let entry = match entry(args, &input, &request_meta) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(path = %input.path.display(), "not submitted: {e:#}");
                failed += 1;
                continue;
            }
        };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&keys.work).arg("*");
        for (name, value) in entry.to_fields() {
            cmd.arg(name).arg(value);
        }
        let _: String = cmd
            .query_async(&mut con)
            .await
            .with_context(|| format!("XADD {} at {address}", keys.work))?;
        writeln!(listing, "{}\t{}", entry.task, input.path.display())?;
        waiting.insert(entry.task, input.path);
    }
    listing.flush()?;
    drop(listing);

    if let Some(cursors) = cursors.as_mut() {
        let deadline = args
            .wait_timeout
            .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
        let dead = wait(&mut con, &keys, cursors, &mut waiting, deadline).await?;
        if !waiting.is_empty() {
            tracing::error!(
                "{} tasks had no response within --wait-timeout",
                waiting.len()
            );
            return Ok(ExitCode::from(1));
        }
        if dead > 0 {
            tracing::error!("{dead} tasks were dead-lettered (their error responses are above)");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the responses of `waiting` tasks as they arrive on the results and dead-letter
/// streams; returns how many were dead-lettered.
async fn wait(
    con: &mut ConnectionManager,
    keys: &Keys,
    cursors: &mut [String; 2],
    waiting: &mut HashMap<String, PathBuf>,
    deadline: Option<Instant>,
) -> Result<usize> {
    let mut out = std::io::stdout();
    let mut dead = 0;
    while !waiting.is_empty() && deadline.is_none_or(|d| Instant::now() < d) {
        let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(500)
            .arg("BLOCK")
            .arg(1000)
            .arg("STREAMS")
            .arg(&keys.results)
            .arg(&keys.dead)
            .arg(&cursors[0])
            .arg(&cursors[1])
            .query_async(con)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!("reading results: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            let is_dead = stream.key == keys.dead;
            for entry in stream.ids {
                cursors[usize::from(is_dead)] = entry.id.clone();
                let Some(task) = text_of(&entry.map, field::TASK) else {
                    continue;
                };
                if waiting.remove(&task).is_none() {
                    continue;
                }
                dead += usize::from(is_dead);
                if let Some(response) = text_of(&entry.map, field::RESPONSE) {
                    let mut lock = out.lock();
                    writeln!(lock, "{response}")?;
                    lock.flush()?;
                }
            }
        }
    }
    out.flush()?;
    Ok(dead)
}
