//! The `decompress` worker: extracts the members of an archive or compressed stream, each as
//! a payload, within limits that keep memory and time bounded whatever the input.
//!
//! Formats, told apart by their magic bytes: zip (stored, deflate, deflate64, bzip2, lzma,
//! xz, zstd; ZipCrypto and AES, tried with each of `passwords`), gzip, bzip2, xz, zstd, tar,
//! 7z. Members are never written to disk.
//!
//! Results: `{"format": "zip", "members": 3, "extracted": 2}`. Each extracted payload has
//! `extra_data` `{"filename": .., "path": .., "archive": "zip"}` (the member's name and its
//! path inside the archive). Problems with single members (a wrong password, a member over a
//! limit, corrupt data) are errors in the response; the other members are still extracted.
//!
//! Options: `passwords` (default `infected, password`), `max_member_size` (bytes, default
//! 100 MiB), `max_total_size` (bytes per archive, default 1 GiB), `max_members` (default
//! 10,000), `max_ratio` (largest uncompressed/compressed ratio, default 1,000).

use std::io::{Cursor, Read};

use stoq_plugin_abi::prelude::*;

/// Limits for one archive.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest member kept, in bytes.
    pub max_member_size: u64,
    /// Most bytes extracted from one archive.
    pub max_total_size: u64,
    /// Most members extracted from one archive.
    pub max_members: usize,
    /// Largest uncompressed/compressed ratio of one member.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_member_size: 100 << 20,
            max_total_size: 1 << 30,
            max_members: 10_000,
            max_ratio: 1_000,
        }
    }
}

/// The archive formats handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// zip
    Zip,
    /// gzip
    Gzip,
    /// bzip2
    Bzip2,
    /// xz
    Xz,
    /// zstd
    Zstd,
    /// tar
    Tar,
    /// 7z
    SevenZ,
}

impl Format {
    /// The format of `data`, by its magic bytes.
    pub fn detect(data: &[u8]) -> Option<Self> {
        let starts = |magic: &[u8]| data.starts_with(magic);
        if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if starts(&[0x1f, 0x8b]) {
            Some(Self::Gzip)
        } else if starts(b"BZh") {
            Some(Self::Bzip2)
        } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Self::Xz)
        } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Self::Zstd)
        } else if starts(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
            Some(Self::SevenZ)
        } else if data.get(257..262) == Some(b"ustar") {
            Some(Self::Tar)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Zip => "zip",
            Self::Gzip => "gzip",
            Self::Bzip2 => "bzip2",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
            Self::Tar => "tar",
            Self::SevenZ => "7z",
        }
    }
}

/// What extraction produced.
#[derive(Debug, Default)]
pub struct Extraction {
    /// The members kept.
    pub extracted: Vec<ExtractedPayload>,
    /// Problems, one per member or limit.
    pub errors: Vec<Error>,
    /// Members seen (kept or not).
    pub members: usize,
    total: u64,
    /// A limit on the whole archive was reached: nothing more is read.
    stopped: bool,
}

impl Extraction {
    /// Reads one member from `reader` within the limits; `compressed` is its compressed size
    /// when known (for the ratio limit).
    fn member(
        &mut self,
        limits: &Limits,
        format: Format,
        path: &str,
        compressed: Option<u64>,
        reader: &mut dyn Read,
    ) {
        if self.stopped {
            return;
        }
        let label = if path.is_empty() {
            "the decompressed stream"
        } else {
            path
        };
        self.members += 1;
        if self.extracted.len() >= limits.max_members {
            self.errors.push(Error::msg(format!(
                "limit max_members ({}) reached: the remaining members are not extracted",
                limits.max_members
            )));
            self.stopped = true;
            return;
        }
        let by_ratio = compressed.map_or(u64::MAX, |c| c.max(1).saturating_mul(limits.max_ratio));
        let left = limits.max_total_size.saturating_sub(self.total);
        let cap = limits.max_member_size.min(by_ratio).min(left);
        let mut content = Vec::new();
        if let Err(e) = reader.take(cap.saturating_add(1)).read_to_end(&mut content) {
            self.errors.push(Error::msg(format!("member {label}: {e}")));
            return;
        }
        let size = content.len() as u64;
        if size > cap {
            let (limit, value) = if cap == left && left < limits.max_member_size.min(by_ratio) {
                self.stopped = true;
                ("max_total_size", limits.max_total_size)
            } else if cap == by_ratio && by_ratio < limits.max_member_size {
                ("max_ratio", limits.max_ratio)
            } else {
                ("max_member_size", limits.max_member_size)
            };
            self.errors.push(Error::msg(format!(
                "member {label}: limit {limit} ({value}) exceeded; not extracted"
            )));
            return;
        }
        self.total += size;
        let filename = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let mut meta = PayloadMeta::default().with_extra("archive", format.name());
        if !filename.is_empty() {
            meta = meta.with_extra("filename", filename);
        }
        if !path.is_empty() {
            meta = meta.with_extra("path", path);
        }
        self.extracted
            .push(ExtractedPayload::with_meta(content, meta));
    }
}

fn zip(data: &[u8], limits: &Limits, passwords: &[String], out: &mut Extraction) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| Error::msg(format!("not a readable zip (truncated or corrupt): {e}")))?;
    // Entries whose data overlap are how "overlapping" zip bombs multiply one compressed
    // block into many huge members.
    let mut spans = Vec::new();
    for i in 0..archive.len() {
        let raw = archive
            .by_index_raw(i)
            .map_err(|e| Error::msg(format!("corrupt zip entry {i}: {e}")))?;
        if let Some(start) = raw.data_start() {
            spans.push((start, start + raw.compressed_size(), i));
        }
    }
    spans.sort_unstable();
    if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(Error::msg(format!(
            "zip entries {} and {} share compressed data (an overlapping-entry zip bomb); nothing extracted",
            w[0].2, w[1].2
        )));
    }
    for i in 0..archive.len() {
        if out.stopped {
            break;
        }
        let (name, encrypted, is_dir, compressed) = match archive.by_index_raw(i) {
            Ok(raw) => {
                // Names that are not valid in their declared encoding keep their bytes.
                let name = raw
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| stoq_plugin_abi::bytes_to_string(raw.name_raw()));
                (name, raw.encrypted(), raw.is_dir(), raw.compressed_size())
            }
            Err(e) => {
                out.errors.push(Error::msg(format!("entry {i}: {e}")));
                continue;
            }
        };
        if is_dir {
            continue;
        }
        if !encrypted {
            match archive.by_index(i) {
                Ok(mut file) => out.member(limits, Format::Zip, &name, Some(compressed), &mut file),
                Err(e) => out.errors.push(Error::msg(format!("member {name}: {e}"))),
            }
            continue;
        }
        // Try each password; a wrong one fails the check or the data's checksum.
        let mut opened = false;
        for password in passwords {
            let mut trial = Extraction {
                total: out.total,
                members: out.members,
                ..Extraction::default()
            };
            match archive.by_index_decrypt(i, password.as_bytes()) {
                Ok(mut file) => {
                    trial.member(limits, Format::Zip, &name, Some(compressed), &mut file)
                }
                Err(_) => continue,
            }
            if trial.extracted.is_empty()
                && trial
                    .errors
                    .iter()
                    .any(|e| e.message().contains("Invalid checksum"))
            {
                continue;
            }
            out.extracted.append(&mut trial.extracted);
            out.errors.append(&mut trial.errors);
            out.members = trial.members;
            out.total = trial.total;
            out.stopped |= trial.stopped;
            opened = true;
            break;
        }
        if !opened {
            out.members += 1;
            out.errors.push(Error::msg(format!(
                "member {name}: encrypted, and none of the {} passwords opened it",
                passwords.len()
            )));
        }
    }
    Ok(())
}

fn tar(data: &[u8], limits: &Limits, out: &mut Extraction) -> Result<()> {
    let mut archive = tar::Archive::new(Cursor::new(data));
    let entries = archive
        .entries()
        .map_err(|e| Error::msg(format!("not a readable tar: {e}")))?;
    for entry in entries {
        if out.stopped {
            break;
        }
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                out.errors
                    .push(Error::msg(format!("truncated or corrupt tar: {e}")));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path_bytes()
            .iter()
            .map(|&b| b as char)
            .collect::<String>();
        let path = String::from_utf8(entry.path_bytes().to_vec()).unwrap_or(path);
        out.member(limits, Format::Tar, &path, None, &mut entry);
    }
    Ok(())
}

fn seven_z(data: &[u8], limits: &Limits, passwords: &[String], out: &mut Extraction) -> Result<()> {
    const MEMORY_LIMIT_KB: usize = 512 * 1024;
    let mut last = String::new();
    let candidates = std::iter::once(None).chain(passwords.iter().map(Some));
    for password in candidates {
        let pw = password.map_or_else(sevenz_rust2::Password::empty, |p| {
            sevenz_rust2::Password::from(p.as_str())
        });
        let mut reader = match sevenz_rust2::ArchiveReader::new_with_memory_limit(
            Cursor::new(data),
            pw,
            MEMORY_LIMIT_KB,
        ) {
            Ok(reader) => reader,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let mut trial = Extraction {
            total: out.total,
            ..Extraction::default()
        };
        let walked = reader.for_each_entries(|entry, read| {
            if !entry.is_directory() {
                let compressed = None;
                trial.member(limits, Format::SevenZ, entry.name(), compressed, read);
            }
            Ok(!trial.stopped)
        });
        match walked {
            Err(e) if trial.extracted.is_empty() => {
                last = e.to_string();
            }
            outcome => {
                if let Err(e) = outcome {
                    trial
                        .errors
                        .push(Error::msg(format!("truncated or corrupt 7z: {e}")));
                }
                *out = trial;
                return Ok(());
            }
        }
    }
    Err(Error::msg(format!(
        "cannot open the 7z archive (tried no password and {} passwords): {last}",
        passwords.len()
    )))
}

/// Extracts `data` (of `format`) within `limits`.
pub fn extract(
    format: Format,
    data: &[u8],
    limits: &Limits,
    passwords: &[String],
) -> Result<Extraction> {
    let mut out = Extraction::default();
    let compressed = Some(data.len() as u64);
    match format {
        Format::Zip => zip(data, limits, passwords, &mut out)?,
        Format::Tar => tar(data, limits, &mut out)?,
        Format::SevenZ => seven_z(data, limits, passwords, &mut out)?,
        Format::Gzip => {
            let mut decoder = flate2::read::MultiGzDecoder::new(data);
            let name = decoder
                .header()
                .and_then(|h| h.filename())
                .map(stoq_plugin_abi::bytes_to_string)
                .unwrap_or_default();
            out.member(limits, format, &name, compressed, &mut decoder);
        }
        Format::Bzip2 => {
            out.member(
                limits,
                format,
                "",
                compressed,
                &mut bzip2::read::MultiBzDecoder::new(data),
            );
        }
        Format::Xz => {
            out.member(
                limits,
                format,
                "",
                compressed,
                &mut lzma_rust2::XzReader::new(data, true),
            );
        }
        Format::Zstd => match zstd::stream::read::Decoder::new(data) {
            Ok(mut decoder) => out.member(limits, format, "", compressed, &mut decoder),
            Err(e) => return Err(Error::msg(format!("not a readable zstd stream: {e}"))),
        },
    }
    Ok(out)
}

/// The decompress worker.
pub struct Decompress {
    limits: Limits,
    passwords: Vec<String>,
}

fn positive(config: &PluginConfig, key: &str, default: u64) -> Result<u64> {
    match config.get_int(key)? {
        None => Ok(default),
        Some(v) if v > 0 => Ok(v as u64),
        Some(v) => Err(Error::msg(format!(
            "option `{key}` must be positive, got {v}"
        ))),
    }
}

impl Plugin for Decompress {
    const INFO: PluginInfo = PluginInfo::new("decompress", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("Extracts members of zip, gzip, bzip2, xz, zstd, tar and 7z payloads, within limits")
        .default_options(
            "passwords = [\"infected\", \"password\"]\nmax_member_size = 104857600\nmax_total_size = 1073741824\nmax_members = 10000\nmax_ratio = 1000",
        );

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let defaults = Limits::default();
        Ok(Self {
            limits: Limits {
                max_member_size: positive(config, "max_member_size", defaults.max_member_size)?,
                max_total_size: positive(config, "max_total_size", defaults.max_total_size)?,
                max_members: positive(config, "max_members", defaults.max_members as u64)? as usize,
                max_ratio: positive(config, "max_ratio", defaults.max_ratio)?,
            },
            passwords: config
                .get_list("passwords")?
                .unwrap_or_else(|| vec!["infected".into(), "password".into()]),
        })
    }
}

impl Worker for Decompress {
    fn scan(
        &self,
        payload: &Payload<'_>,
        _request: &Request<'_>,
    ) -> Result<Option<WorkerResponse>> {
        let data = payload.content();
        let format = Format::detect(data).ok_or_else(|| {
            Error::msg("not an archive this plugin handles (zip, gzip, bzip2, xz, zstd, tar, 7z)")
        })?;
        let extraction = extract(format, data, &self.limits, &self.passwords)?;
        let mut response = WorkerResponse::new(json!({
            "format": format.name(),
            "members": extraction.members,
            "extracted": extraction.extracted.len(),
        }));
        response.extracted = extraction.extracted;
        response.errors = extraction.errors;
        Ok(Some(response))
    }
}

stoq_plugin_abi::export_plugin!(Decompress => worker);

#[cfg(test)]
mod tests;
