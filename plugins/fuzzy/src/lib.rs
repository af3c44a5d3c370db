//! The `fuzzy` worker: fuzzy hashes of each payload, for finding similar files.
//!
//! Results: `{"ssdeep": "blocksize:first:second", "tlsh": "T1..."}`, each equal to what the
//! reference tools print for the same bytes (the `ssdeep` command, 2.14; py-tlsh / the TLSH
//! library, 4.x and later). TLSH has no value for fewer than 50 bytes or for too uniform data
//! (the reference's `TNULL`): then `"tlsh": null` and `"tlsh_null_reason"` says why.
//!
//! Options: `ssdeep` and `tlsh` (bools, default `true`) choose the hashes (at least one);
//! `max_size` (bytes, default 256 MiB) is the largest payload hashed. A larger one is not
//! hashed at all, with an error naming the limit: a fuzzy hash of a prefix would look like a
//! hash of the file and match the wrong things.
//!
//! Both hashes are written here from their published descriptions ([`ssdeep`], [`tlsh`]):
//! one pass each, fixed-size state, no allocation beyond the result strings. The payload is
//! fed to both in [`CHUNK`]-sized pieces, so it is read from memory about once; from
//! [`PARALLEL_THRESHOLD`] bytes the two run on two threads.

pub mod ssdeep;
pub mod tlsh;

use std::thread;

use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::{Map, Value};

/// The default of `max_size` (256 MiB).
const DEFAULT_MAX_SIZE: i64 = 256 << 20;

/// Bytes fed to one hasher, then the other, so each piece is still in cache for the second.
pub const CHUNK: usize = 64 * 1024;

/// Payloads at least this large (4 MiB) have their two hashes computed on two threads: a few
/// milliseconds of work each, against ~50 us to start a thread.
pub const PARALLEL_THRESHOLD: usize = 4 << 20;

/// Which hashes to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Which {
    /// ssdeep.
    pub ssdeep: bool,
    /// TLSH.
    pub tlsh: bool,
}

impl Which {
    /// Both hashes.
    pub const BOTH: Self = Self {
        ssdeep: true,
        tlsh: true,
    };
}

/// The fuzzy hashes of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    /// `None`: not asked for.
    pub ssdeep: Option<Result<String, ssdeep::Error>>,
    /// `None`: not asked for.
    pub tlsh: Option<Result<String, tlsh::Null>>,
}

fn ssdeep_of(data: &[u8]) -> Result<String, ssdeep::Error> {
    let mut hasher = ssdeep::Ssdeep::new();
    hasher.update(data);
    hasher.finish()
}

fn tlsh_of(data: &[u8]) -> Result<String, tlsh::Null> {
    let mut hasher = tlsh::Tlsh::new();
    hasher.update(data);
    hasher.finish()
}

/// The hashes `which` of `data`: both fed chunk by chunk on this thread, or, from
/// [`PARALLEL_THRESHOLD`] bytes, each on its own thread (the same results).
pub fn hashes(data: &[u8], which: Which) -> Hashes {
    if which.ssdeep && which.tlsh && data.len() >= PARALLEL_THRESHOLD {
        return thread::scope(|scope| {
            let spawned = thread::Builder::new()
                .name("stoq-fuzzy".into())
                .spawn_scoped(scope, || ssdeep_of(data));
            let tlsh = tlsh_of(data);
            let ssdeep = match spawned.map(|handle| handle.join()) {
                Ok(Ok(ssdeep)) => ssdeep,
                // Could not spawn (a thread limit), or, which cannot happen, it panicked: do it
                // here.
                _ => ssdeep_of(data),
            };
            Hashes {
                ssdeep: Some(ssdeep),
                tlsh: Some(tlsh),
            }
        });
    }
    let mut ssdeep = which.ssdeep.then(ssdeep::Ssdeep::new);
    let mut tlsh = which.tlsh.then(tlsh::Tlsh::new);
    for chunk in data.chunks(CHUNK) {
        if let Some(hasher) = &mut ssdeep {
            hasher.update(chunk);
        }
        if let Some(hasher) = &mut tlsh {
            hasher.update(chunk);
        }
    }
    Hashes {
        ssdeep: ssdeep.map(|h| h.finish()),
        tlsh: tlsh.map(|h| h.finish()),
    }
}

/// The fuzzy hasher.
pub struct Fuzzy {
    which: Which,
    max_size: u64,
}

impl Plugin for Fuzzy {
    const INFO: PluginInfo = PluginInfo::new("fuzzy", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("ssdeep and TLSH fuzzy hashes of each payload")
        .options(&[
            OptionSpec::bool("ssdeep", true).doc("Compute the ssdeep hash"),
            OptionSpec::bool("tlsh", true)
                .doc("Compute the TLSH hash (null, with the reason, under 50 bytes or for too uniform data)"),
            OptionSpec::int("max_size", DEFAULT_MAX_SIZE).doc(
                "Largest payload hashed, in bytes; a larger one is not hashed (an error says so)",
            ),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let which = Which {
            ssdeep: config.bool("ssdeep")?,
            tlsh: config.bool("tlsh")?,
        };
        if !which.ssdeep && !which.tlsh {
            return Err(config
                .reject(
                    "ssdeep",
                    "and option `tlsh` are both false: nothing to compute",
                )
                .into());
        }
        let max_size = config.int("max_size")?;
        let max_size = u64::try_from(max_size)
            .map_err(|_| config.reject("max_size", format!("must be >= 0, got {max_size}")))?;
        Ok(Self { which, max_size })
    }
}

impl Worker for Fuzzy {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let content = payload.content();
        let len = content.len() as u64;
        if len > self.max_size {
            return Ok(WorkerResponse::empty().with_error(format!(
                "payload of {len} bytes is over max_size ({} bytes): not hashed (fuzzy hashes of a prefix would mislead)",
                self.max_size
            )));
        }
        let Hashes { ssdeep, tlsh } = hashes(content, self.which);
        let mut results = Map::new();
        let mut errors = Vec::new();
        match ssdeep {
            Some(Ok(hash)) => {
                results.insert("ssdeep".into(), hash.into());
            }
            Some(Err(e)) => {
                results.insert("ssdeep".into(), Value::Null);
                errors.push(e.to_string());
            }
            None => {}
        }
        match tlsh {
            Some(Ok(hash)) => {
                results.insert("tlsh".into(), hash.into());
            }
            Some(Err(null)) => {
                results.insert("tlsh".into(), Value::Null);
                results.insert("tlsh_null_reason".into(), null.to_string().into());
            }
            None => {}
        }
        let mut response = WorkerResponse::new(results);
        for error in errors {
            response = response.with_error(error);
        }
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Fuzzy => worker);

#[cfg(test)]
mod tests;
