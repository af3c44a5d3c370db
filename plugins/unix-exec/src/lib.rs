//! Two workers for Unix executables, in one library:
//!
//! - [`elfinfo`](elf): what an ELF file says about itself (header, program headers, sections with
//!   entropy, interpreter, needed libraries, rpath/runpath, soname, imported and exported
//!   symbols, notes and build id, stripped / static / PIE);
//! - [`machoinfo`](macho): the same for Mach-O (header, load commands, segments and sections
//!   with entropy, linked dylibs, rpaths, entry point, UUID, code signature, minimum OS,
//!   imported and exported symbols); a fat (universal) binary is split and each architecture
//!   extracted as a child payload named `arch-<cpu>`.
//!
//! Both read with the `object` crate's bounds-checked views, which read lazily: nothing is
//! allocated from a count in the file, and every count the workers iterate over (sections,
//! segments, symbols, load commands, fat architectures, dynamic entries, notes, version
//! records) is bounded by a declared option or a documented constant. Strings are read at most
//! [`MAX_NAME_BYTES`] bytes each. A truncated or malformed file gives what could be read and
//! the problems as errors of the response; a file that is not of the format at all is an
//! `Err`. No `unsafe`, no panics.

pub mod elf;
pub mod macho;

pub use elf::{ElfInfo, ElfLimits};
pub use macho::{MachoInfo, MachoLimits};

use stoq_plugin_abi::prelude::*;

/// Longest string read from a string table or load command (longer ones are cut, with `…`).
pub const MAX_NAME_BYTES: usize = 4096;

/// The default of both workers' `max_entropy_bytes` (256 MiB).
const DEFAULT_MAX_ENTROPY_BYTES: i64 = 256 << 20;

/// Shannon entropy in bits per byte over `data` (pefile's `get_entropy()`; 0.0, never -0.0,
/// for empty data or one byte value).
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let c = c as f64;
            c / len * (len / c).log2()
        })
        .sum()
}

/// Entropy computed within a budget of bytes: sections may overlap, so the sum of their sizes
/// is not bounded by the file's.
struct EntropyBudget {
    left: u64,
    skipped: usize,
}

impl EntropyBudget {
    fn new(bytes: u64) -> Self {
        Self {
            left: bytes,
            skipped: 0,
        }
    }

    /// The entropy of `data`, or `None` when the budget is spent.
    fn entropy(&mut self, data: &[u8]) -> Option<f64> {
        let len = data.len() as u64;
        if len > self.left {
            self.skipped += 1;
            return None;
        }
        self.left -= len;
        Some(entropy(data))
    }

    /// The error saying what the budget left out, if anything.
    fn error(&self, limit: u64) -> Option<Error> {
        (self.skipped > 0).then(|| {
            Error::msg(format!(
                "limit max_entropy_bytes ({limit}) reached: the entropy of {} sections not computed",
                self.skipped
            ))
        })
    }
}

/// Problems about single sections listed one by one at most; the rest are counted.
pub const MAX_SECTION_ERRORS: usize = 100;

/// Section problems, the first [`MAX_SECTION_ERRORS`] listed, the rest counted.
#[derive(Default)]
struct SectionErrors {
    listed: Vec<Error>,
    more: usize,
}

impl SectionErrors {
    fn push(&mut self, message: String) {
        if self.listed.len() < MAX_SECTION_ERRORS {
            self.listed.push(Error::msg(message));
        } else {
            self.more += 1;
        }
    }

    fn finish(self) -> Vec<Error> {
        let mut out = self.listed;
        if self.more > 0 {
            out.push(Error::msg(format!(
                "{} more sections run past the end of the file (not listed)",
                self.more
            )));
        }
        out
    }
}

/// The NUL-terminated string at `offset` of `table`, at most [`MAX_NAME_BYTES`] bytes (a
/// longer or unterminated one is cut and ends in `…`). `None` when `offset` is outside.
fn cstr(table: &[u8], offset: u64) -> Option<String> {
    let rest = table.get(usize::try_from(offset).ok()?..)?;
    let window = &rest[..rest.len().min(MAX_NAME_BYTES)];
    match window.iter().position(|&b| b == 0) {
        Some(end) => Some(stoq_plugin_abi::bytes_to_string(&window[..end])),
        None => {
            let mut s = stoq_plugin_abi::bytes_to_string(window);
            s.push('…');
            Some(s)
        }
    }
}

/// `bytes` up to its first NUL, as text (fixed-size name fields).
fn fixed_name(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    stoq_plugin_abi::bytes_to_string(&bytes[..end])
}

/// A count option: an integer of at least 0.
fn count_option(config: &PluginConfig, key: &str) -> Result<usize> {
    let value = config.int(key)?;
    usize::try_from(value).map_err(|_| {
        config
            .reject(key, format!("must be >= 0, got {value}"))
            .into()
    })
}

/// Lists at most `limit` items of `items`, with the error naming the limit when more were
/// there.
fn bounded<T>(items: &[T], limit: usize, option: &str, what: &str) -> (usize, Option<Error>) {
    if items.len() > limit {
        (
            limit,
            Some(Error::msg(format!(
                "limit {option} ({limit}) reached: {} of {} {what} not listed",
                items.len() - limit,
                items.len()
            ))),
        )
    } else {
        (items.len(), None)
    }
}

stoq_plugin_abi::export_plugin!(ElfInfo => worker; MachoInfo => worker);

#[cfg(test)]
mod tests;
