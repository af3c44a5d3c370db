//! The `decompress` worker: extracts the members of an archive or compressed stream, each as
//! a payload, within limits that keep memory and time bounded whatever the input.
//!
//! Formats, told apart by their magic bytes: zip (stored, deflate, deflate64, bzip2, lzma,
//! xz, zstd; ZipCrypto and AES, tried with each of `passwords`), gzip, bzip2, xz, zstd, tar,
//! 7z. Members are never written to disk.
//!
//! Results: `{"format": "zip", "members": 3, "extracted": 2}`: the members looked at (a limit
//! may stop the walk before the last) and those extracted. Each extracted payload has
//! `extra_data` `{"filename": .., "path": .., "archive": "zip"}` (the member's name and its
//! path inside the archive). Problems with single members (a wrong password, a member over a
//! limit, corrupt data) are errors in the response; the other members are still extracted.
//!
//! Options: `passwords` (default `infected, password`), `max_member_size` (bytes, default
//! 100 MiB), `max_total_size` (bytes per archive, default 1 GiB), `max_members` (default
//! 10,000), `max_ratio` (largest uncompressed/compressed ratio, default 1,000).
//!
//! Every member looked at counts against `max_members`: extracted, refused, unreadable, or
//! encrypted with none of the passwords working alike. Refusing a member costs about the
//! limit, not the member: a member whose declared size (zip, tar, 7z) is over its limit is
//! refused unread, and every member is read through a reader that stops one byte past the
//! smallest limit that applies to it (`max_member_size`, `max_ratio` times its compressed
//! size when known, what is left of `max_total_size`); the rest is never decompressed. For
//! gzip, bzip2, xz and zstd (no trusted size) that reader is the bound. Each password tried
//! on an encrypted zip member may read up to that bound again. `max_total_size` counts every
//! byte decompressed from the archive, kept or refused, so one archive never costs more than
//! that much decompression (1 GiB by default), whatever its members claim.
//!
//! 7z: in a solid block, reaching a member means decompressing every member before it, so
//! once a member of a block is refused (over a limit) the rest of that block is not
//! extracted either (an error says how many); the other blocks still are. For the ratio,
//! a 7z member's compressed size is taken as its whole block's packed size. What cannot be
//! bounded here: reading the 7z header (which may itself be compressed) and each decoder's
//! dictionary are limited only by the 7z library's memory limit (512 MiB, set below).

use std::io::{Cursor, Read, Seek};

use stoq_plugin_abi::prelude::*;

/// Limits for one archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest member kept, in bytes.
    pub max_member_size: u64,
    /// Most bytes extracted from one archive.
    pub max_total_size: u64,
    /// Most members looked at in one archive (extracted or not).
    pub max_members: usize,
    /// Largest uncompressed/compressed ratio of one member.
    pub max_ratio: u64,
    /// The name errors give `max_member_size` (the host's `max_payload_size` when that is
    /// what capped it).
    pub member_limit: &'static str,
    /// The name errors give `max_total_size` (the host's `max_extracted_bytes` when that is
    /// what capped it).
    pub total_limit: &'static str,
}

// The options' defaults, written once for [`Decompress`]'s declared options and
// [`Limits::default`].
/// `max_member_size`: 100 MiB.
const DEFAULT_MAX_MEMBER_SIZE: i64 = 100 << 20;
/// `max_total_size`: 1 GiB.
const DEFAULT_MAX_TOTAL_SIZE: i64 = 1 << 30;
/// `max_members`.
const DEFAULT_MAX_MEMBERS: i64 = 10_000;
/// `max_ratio`.
const DEFAULT_MAX_RATIO: i64 = 1_000;

/// The options' declared defaults.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_member_size: DEFAULT_MAX_MEMBER_SIZE as u64,
            max_total_size: DEFAULT_MAX_TOTAL_SIZE as u64,
            max_members: DEFAULT_MAX_MEMBERS as usize,
            max_ratio: DEFAULT_MAX_RATIO as u64,
            member_limit: "max_member_size",
            total_limit: "max_total_size",
        }
    }
}

impl Limits {
    /// These limits with `max_member_size` and `max_total_size` lowered to the given ones,
    /// if smaller (e.g. the host's largest payload and what is left of a request's budget).
    /// `None` keeps the configured value.
    pub fn capped(&self, max_member_size: Option<u64>, max_total_size: Option<u64>) -> Limits {
        Limits {
            max_member_size: max_member_size
                .map_or(self.max_member_size, |m| m.min(self.max_member_size)),
            max_total_size: max_total_size
                .map_or(self.max_total_size, |m| m.min(self.max_total_size)),
            ..self.clone()
        }
    }

    /// These limits lowered to the host's: no member larger than the largest payload the
    /// host keeps, no more bytes than the request has left.
    pub fn within(&self, host: &HostLimits) -> Limits {
        let mut limits = self.capped(Some(host.max_payload_size), Some(host.extracted_bytes_left));
        if host.max_payload_size < self.max_member_size {
            limits.member_limit = "the host's max_payload_size";
        }
        if host.extracted_bytes_left < self.max_total_size {
            limits.total_limit = "the host's max_extracted_bytes (what the request has left)";
        }
        limits
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
    /// Members looked at (kept or not).
    pub members: usize,
    /// Decompressed bytes read, kept or not: at most one byte past each member's limit (the
    /// work a refusal costs).
    pub bytes_read: u64,
    total: u64,
    /// A limit on the whole archive was reached: nothing more is read.
    stopped: bool,
}

/// How much one member may hold: the smallest limit that applies, and which one it is.
#[derive(Debug, Clone, Copy)]
struct Cap {
    bytes: u64,
    limit: &'static str,
    value: u64,
    /// The limit is the archive's (`max_total_size`): nothing more is read after it.
    whole_archive: bool,
}

/// Why a member was not kept.
enum Refusal {
    /// Over its [`Cap`].
    Limit(Cap),
    /// Unreadable (corrupt, truncated, a checksum mismatch).
    Failed(String),
}

impl Cap {
    /// Refuses a member whose declared size (which bounds what its reader yields) is over
    /// the cap, before anything is decompressed.
    fn admits(&self, declared: Option<u64>) -> Result<(), Refusal> {
        match declared {
            Some(size) if size > self.bytes => Err(Refusal::Limit(*self)),
            _ => Ok(()),
        }
    }
}

fn label(path: &str) -> &str {
    if path.is_empty() {
        "the decompressed stream"
    } else {
        path
    }
}

impl Extraction {
    /// Counts one member about to be looked at; `false` (and nothing more is read) once
    /// `max_members` have been.
    fn admit(&mut self, limits: &Limits) -> bool {
        if self.stopped {
            return false;
        }
        if self.members >= limits.max_members {
            self.errors.push(Error::msg(format!(
                "limit max_members ({}) reached: the remaining members are not extracted",
                limits.max_members
            )));
            self.stopped = true;
            return false;
        }
        self.members += 1;
        true
    }

    /// The cap of the next member; `compressed` is its compressed size when known.
    fn cap(&self, limits: &Limits, compressed: Option<u64>) -> Cap {
        let by_ratio = compressed.map_or(u64::MAX, |c| c.max(1).saturating_mul(limits.max_ratio));
        // Work, not only what was kept: refused members' bytes count too.
        let left = limits
            .max_total_size
            .saturating_sub(self.bytes_read.max(self.total));
        let member = limits.max_member_size.min(by_ratio);
        if left < member {
            Cap {
                bytes: left,
                limit: limits.total_limit,
                value: limits.max_total_size,
                whole_archive: true,
            }
        } else if by_ratio < limits.max_member_size {
            Cap {
                bytes: by_ratio,
                limit: "max_ratio",
                value: limits.max_ratio,
                whole_archive: false,
            }
        } else {
            Cap {
                bytes: limits.max_member_size,
                limit: limits.member_limit,
                value: limits.max_member_size,
                whole_archive: false,
            }
        }
    }

    /// Reads a member through a reader that stops one byte past `cap`: what is beyond is
    /// never decompressed.
    fn read(&mut self, cap: &Cap, reader: &mut dyn Read) -> Result<Vec<u8>, Refusal> {
        let mut content = Vec::new();
        let read = reader
            .take(cap.bytes.saturating_add(1))
            .read_to_end(&mut content);
        self.bytes_read += content.len() as u64;
        read.map_err(|e| Refusal::Failed(e.to_string()))?;
        if content.len() as u64 > cap.bytes {
            return Err(Refusal::Limit(*cap));
        }
        Ok(content)
    }

    fn refuse(&mut self, path: &str, refusal: Refusal) {
        let label = label(path);
        let message = match refusal {
            Refusal::Limit(cap) => {
                self.stopped |= cap.whole_archive;
                format!(
                    "member {label}: limit {} ({}) exceeded; not extracted",
                    cap.limit, cap.value
                )
            }
            Refusal::Failed(e) => format!("member {label}: {e}"),
        };
        self.errors.push(Error::msg(message));
    }

    fn keep(&mut self, format: Format, path: &str, content: Vec<u8>) {
        self.total += content.len() as u64;
        // `path` is encoded: a literal backslash (a Windows separator) is `\\`, while `\x`
        // starts the escape of a byte.
        let filename = path.rsplit('/').next().unwrap_or(path);
        let filename = filename.rsplit("\\\\").next().unwrap_or(filename);
        let mut meta = PayloadMeta::new().with_extra("archive", format.name());
        if !filename.is_empty() {
            meta = meta.with_extra("filename", filename);
        }
        if !path.is_empty() {
            meta = meta.with_extra("path", path);
        }
        self.extracted
            .push(ExtractedPayload::new(content).with_meta(meta));
    }

    /// Looks at one member from `reader` within the limits; `compressed` is its compressed
    /// size when known (for the ratio limit), `declared` its uncompressed size when the
    /// format bounds the reader by it.
    fn member(
        &mut self,
        limits: &Limits,
        format: Format,
        path: &str,
        sizes: (Option<u64>, Option<u64>),
        reader: &mut dyn Read,
    ) {
        if !self.admit(limits) {
            return;
        }
        let (compressed, declared) = sizes;
        let cap = self.cap(limits, compressed);
        match cap.admits(declared).and_then(|()| self.read(&cap, reader)) {
            Ok(content) => self.keep(format, path, content),
            Err(refusal) => self.refuse(path, refusal),
        }
    }
}

fn zip<R: Read + Seek>(
    source: R,
    limits: &Limits,
    passwords: &[String],
    out: &mut Extraction,
) -> Result<()> {
    let mut archive = zip::ZipArchive::new(source)
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
        let (name, encrypted, is_dir, compressed, size) = match archive.by_index_raw(i) {
            Ok(raw) => {
                // stoq's one encoding; names that are not valid in their declared encoding
                // keep their bytes.
                let name = raw
                    .name()
                    .map(|n| stoq_plugin_abi::bytes_to_string(n.as_bytes()))
                    .unwrap_or_else(|_| stoq_plugin_abi::bytes_to_string(raw.name_raw()));
                let sizes = (raw.compressed_size(), raw.size());
                (name, raw.encrypted(), raw.is_dir(), sizes.0, sizes.1)
            }
            Err(e) => {
                if out.admit(limits) {
                    out.errors.push(Error::msg(format!("entry {i}: {e}")));
                }
                continue;
            }
        };
        if is_dir {
            continue;
        }
        // Every member counts, encrypted or not, opened or not.
        if !out.admit(limits) {
            break;
        }
        // The zip reader fails past the declared size, so a member declared within its cap
        // never yields more; one declared over it is refused unread.
        let cap = out.cap(limits, Some(compressed));
        if let Err(refusal) = cap.admits(Some(size)) {
            out.refuse(&name, refusal);
            continue;
        }
        if !encrypted {
            let read = match archive.by_index(i) {
                Ok(mut file) => out.read(&cap, &mut file),
                Err(e) => Err(Refusal::Failed(e.to_string())),
            };
            match read {
                Ok(content) => out.keep(Format::Zip, &name, content),
                Err(refusal) => out.refuse(&name, refusal),
            }
            continue;
        }
        // Try each password; a wrong one fails the check or (rarely) yields data that fails
        // to decompress or its checksum. Each try reads at most the cap.
        let mut failure = None;
        let mut opened = false;
        for password in passwords {
            let Ok(mut file) = archive.by_index_decrypt(i, password.as_bytes()) else {
                continue;
            };
            match out.read(&cap, &mut file) {
                Ok(content) => {
                    out.keep(Format::Zip, &name, content);
                    opened = true;
                    break;
                }
                Err(Refusal::Failed(e)) => failure = Some(e),
                Err(refusal @ Refusal::Limit(_)) => {
                    out.refuse(&name, refusal);
                    opened = true;
                    break;
                }
            }
        }
        if !opened {
            let tried = passwords.len();
            out.errors.push(Error::msg(match failure {
                None => format!("member {name}: encrypted, and none of the {tried} passwords opened it"),
                Some(e) => format!(
                    "member {name}: encrypted, and none of the {tried} passwords opened it (last: {e})"
                ),
            }));
        }
    }
    Ok(())
}

fn tar<R: Read>(source: R, limits: &Limits, out: &mut Extraction) -> Result<()> {
    let mut archive = tar::Archive::new(source);
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
        // Names are bytes: stoq's one encoding (`\xNN` for bytes that are not UTF-8).
        let path = stoq_plugin_abi::bytes_to_string(&entry.path_bytes());
        // A tar entry's reader ends at its declared size.
        let declared = Some(entry.size());
        out.member(limits, Format::Tar, &path, (None, declared), &mut entry);
    }
    Ok(())
}

/// The 7z library's limit on each header buffer and decoder dictionary, in KiB.
const SEVEN_Z_MEMORY_LIMIT_KB: usize = 512 * 1024;

fn seven_z<R: Read + Seek>(
    mut source: R,
    limits: &Limits,
    passwords: &[String],
    out: &mut Extraction,
) -> Result<()> {
    let mut last = String::new();
    let candidates = std::iter::once(None).chain(passwords.iter().map(Some));
    for password in candidates {
        let pw = password.map_or_else(sevenz_rust2::Password::empty, |p| {
            sevenz_rust2::Password::from(p.as_str())
        });
        let archive = match sevenz_rust2::Archive::read_with_memory_limit(
            &mut source,
            &pw,
            SEVEN_Z_MEMORY_LIMIT_KB,
        ) {
            Ok(archive) => archive,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let mut trial = Extraction::default();
        match seven_z_blocks(&archive, &pw, &mut source, limits, &mut trial) {
            Err(e) if trial.extracted.is_empty() => last = e,
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

/// Walks a 7z block by block. A member over its limit is refused unread, and the rest of its
/// block is abandoned (reaching it would mean decompressing the refused member); a member
/// that cannot be read ends the walk (an error, which may mean a wrong password).
fn seven_z_blocks<R: Read + Seek>(
    archive: &sevenz_rust2::Archive,
    password: &sevenz_rust2::Password,
    source: &mut R,
    limits: &Limits,
    out: &mut Extraction,
) -> Result<(), String> {
    let firsts = archive.stream_map.block_first_pack_stream_index();
    let pack_sizes = archive.pack_sizes();
    for block in 0..archive.blocks.len() {
        if out.stopped {
            break;
        }
        let packs = firsts.get(block).copied().unwrap_or(pack_sizes.len())
            ..firsts.get(block + 1).copied().unwrap_or(pack_sizes.len());
        let packed: u64 = pack_sizes.get(packs).map_or(0, |s| s.iter().sum());
        let decoder = sevenz_rust2::BlockDecoder::new_with_memory_limit(
            1,
            SEVEN_Z_MEMORY_LIMIT_KB,
            block,
            archive,
            password,
            &mut *source,
        );
        let in_block = decoder.entries().iter().filter(|e| e.has_stream()).count();
        let mut seen = 0;
        let mut abandoned_at = None;
        decoder
            .for_each_entries(&mut |entry, reader| {
                // Entries without data are taken after the blocks.
                if !entry.has_stream() || entry.is_directory() {
                    return Ok(true);
                }
                seen += 1;
                if !out.admit(limits) {
                    return Ok(false);
                }
                let cap = out.cap(limits, (packed > 0).then_some(packed));
                // The library's reader ends at the declared size (`true` continues, which
                // first decompresses what is left of this member: nothing, once read).
                match cap
                    .admits(Some(entry.size()))
                    .and_then(|()| out.read(&cap, reader))
                {
                    Ok(content) => {
                        out.keep(Format::SevenZ, entry.name(), content);
                        Ok(true)
                    }
                    Err(refusal @ Refusal::Limit(_)) => {
                        out.refuse(entry.name(), refusal);
                        abandoned_at = Some(entry.name().to_owned());
                        Ok(false)
                    }
                    Err(Refusal::Failed(e)) => Err(sevenz_rust2::Error::Other(
                        format!("member {}: {e}", entry.name()).into(),
                    )),
                }
            })
            .map_err(|e| e.to_string())?;
        if let Some(name) = abandoned_at
            && !out.stopped
            && in_block > seen
        {
            let (left, them) = match in_block - seen {
                1 => ("1 member".to_owned(), "it"),
                n => (format!("{n} members"), "them"),
            };
            out.errors.push(Error::msg(format!(
                "7z: {left} after {name} in its solid block not extracted (reaching {them} means decompressing {name})"
            )));
        }
    }
    for entry in &archive.files {
        if out.stopped {
            break;
        }
        if !entry.has_stream() && !entry.is_directory() {
            out.member(
                limits,
                Format::SevenZ,
                entry.name(),
                (None, Some(0)),
                &mut std::io::empty(),
            );
        }
    }
    Ok(())
}

/// Extracts `len` bytes of `format` read from `source` within `limits`.
fn extract_from<R: Read + Seek>(
    format: Format,
    source: R,
    len: u64,
    limits: &Limits,
    passwords: &[String],
) -> Result<Extraction> {
    let mut out = Extraction::default();
    // A compressed stream is one member with no size to trust: the capped reader bounds it.
    let sizes = (Some(len), None);
    match format {
        Format::Zip => zip(source, limits, passwords, &mut out)?,
        Format::Tar => tar(source, limits, &mut out)?,
        Format::SevenZ => seven_z(source, limits, passwords, &mut out)?,
        Format::Gzip => {
            let mut decoder = flate2::read::MultiGzDecoder::new(source);
            let name = decoder
                .header()
                .and_then(|h| h.filename())
                .map(stoq_plugin_abi::bytes_to_string)
                .unwrap_or_default();
            out.member(limits, format, &name, sizes, &mut decoder);
        }
        Format::Bzip2 => out.member(
            limits,
            format,
            "",
            sizes,
            &mut bzip2::read::MultiBzDecoder::new(source),
        ),
        Format::Xz => out.member(
            limits,
            format,
            "",
            sizes,
            &mut lzma_rust2::XzReader::new(source, true),
        ),
        Format::Zstd => match zstd::stream::read::Decoder::new(source) {
            Ok(mut decoder) => out.member(limits, format, "", sizes, &mut decoder),
            Err(e) => return Err(Error::msg(format!("not a readable zstd stream: {e}"))),
        },
    }
    Ok(out)
}

/// Extracts `data` (of `format`) within `limits`.
pub fn extract(
    format: Format,
    data: &[u8],
    limits: &Limits,
    passwords: &[String],
) -> Result<Extraction> {
    extract_from(
        format,
        Cursor::new(data),
        data.len() as u64,
        limits,
        passwords,
    )
}

/// The decompress worker.
pub struct Decompress {
    limits: Limits,
    passwords: Vec<String>,
}

/// A declared integer option that must be positive.
fn positive(config: &PluginConfig, key: &str) -> Result<u64> {
    match config.int(key)? {
        v if v > 0 => Ok(v as u64),
        v => Err(Error::msg(format!(
            "option `{key}` must be positive, got {v}"
        ))),
    }
}

impl Plugin for Decompress {
    const INFO: PluginInfo = PluginInfo::new("decompress", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "Extracts members of zip, gzip, bzip2, xz, zstd, tar and 7z payloads, within limits",
        )
        .options(&[
            OptionSpec::list("passwords", &["infected", "password"])
                .doc("Passwords tried, in order, on encrypted zip members and 7z archives"),
            OptionSpec::int("max_member_size", DEFAULT_MAX_MEMBER_SIZE)
                .doc("Largest member extracted, in bytes (larger ones are refused, mostly unread)"),
            OptionSpec::int("max_total_size", DEFAULT_MAX_TOTAL_SIZE)
                .doc("Most bytes decompressed from one archive, kept or refused"),
            OptionSpec::int("max_members", DEFAULT_MAX_MEMBERS)
                .doc("Most members looked at in one archive, extracted or not"),
            OptionSpec::int("max_ratio", DEFAULT_MAX_RATIO)
                .doc("Largest uncompressed/compressed size ratio of one member"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            limits: Limits {
                max_member_size: positive(config, "max_member_size")?,
                max_total_size: positive(config, "max_total_size")?,
                max_members: usize::try_from(positive(config, "max_members")?)
                    .unwrap_or(usize::MAX),
                max_ratio: positive(config, "max_ratio")?,
                ..Limits::default()
            },
            passwords: config.list("passwords")?,
        })
    }
}

impl Worker for Decompress {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        let data = payload.content();
        let format = Format::detect(data).ok_or_else(|| {
            Error::msg("not an archive this plugin handles (zip, gzip, bzip2, xz, zstd, tar, 7z)")
        })?;
        // Nothing is decompressed that the host would drop after holding it.
        let limits = self.limits.within(&request.limits());
        let extraction = extract(format, data, &limits, &self.passwords)?;
        let mut response = WorkerResponse::new(json!({
            "format": format.name(),
            "members": extraction.members,
            "extracted": extraction.extracted.len(),
        }))
        .with_extracted(extraction.extracted);
        response.errors = extraction.errors;
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Decompress => worker);

#[cfg(test)]
mod tests;
