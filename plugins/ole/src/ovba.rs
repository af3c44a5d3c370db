//! VBA projects ([MS-OVBA]): the compression of 2.4.1, the `dir` stream of 2.3.4.2 and the
//! `PROJECT` stream of 2.3.1, read without trusting a length or a count.
//!
//! [MS-OVBA]: https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-ovba/

/// What [`decompress`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decompressed {
    /// The bytes decompressed (all of them, or the first `max_out`, or those before an
    /// error).
    pub data: Vec<u8>,
    /// Output stopped at `max_out` with more to come.
    pub truncated: bool,
    /// The container was corrupt here; `data` holds what came before.
    pub error: Option<String>,
}

/// The largest decompressed chunk (MS-OVBA 2.4.1.1.3).
const CHUNK: usize = 4096;

/// Decompresses an MS-OVBA CompressedContainer (2.4.1.3.1), producing at most `max_out`
/// bytes. Time and memory are linear in the output, which is bounded: each chunk yields at
/// most 4,096 bytes, and a copy token may only reach back into its own chunk.
pub fn decompress(input: &[u8], max_out: usize) -> Decompressed {
    let mut out = Vec::new();
    let error = run(input, max_out, &mut out).err();
    let truncated = error.as_deref() == Some(FULL);
    Decompressed {
        data: out,
        truncated,
        error: error.filter(|e| e != FULL),
    }
}

/// Not an error: the output limit was reached.
const FULL: &str = "\0full";

fn run(input: &[u8], max_out: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match input.first() {
        None => return Err("empty compressed container".into()),
        Some(0x01) => {}
        Some(other) => {
            return Err(format!(
                "compressed container: signature byte 0x{other:02X}, expected 0x01"
            ));
        }
    }
    let mut pos = 1;
    while pos < input.len() {
        let Some(h) = input.get(pos..pos + 2) else {
            return Err(format!(
                "compressed container: chunk header cut at offset {pos}"
            ));
        };
        let header = u16::from_le_bytes([h[0], h[1]]);
        let size = usize::from(header & 0x0FFF) + 3;
        if (header >> 12) & 0x07 != 0b011 {
            return Err(format!(
                "compressed container: chunk at offset {pos} has signature {}, expected 3",
                (header >> 12) & 0x07
            ));
        }
        let compressed = header & 0x8000 != 0;
        let end = (pos + size).min(input.len());
        let chunk_start = out.len();
        if !compressed {
            // A RawChunk: 4,096 bytes as they are.
            let raw = &input[(pos + 2).min(input.len())..(pos + 2 + CHUNK).min(input.len())];
            push(out, raw, max_out)?;
            pos += 2 + CHUNK;
            continue;
        }
        let mut p = pos + 2;
        while p < end {
            let flags = input[p];
            p += 1;
            for bit in 0..8 {
                if p >= end {
                    break;
                }
                if flags >> bit & 1 == 0 {
                    push(out, &input[p..p + 1], max_out)?;
                    p += 1;
                    continue;
                }
                let Some(t) = input.get(p..p + 2).filter(|_| p + 2 <= end) else {
                    return Err(format!(
                        "compressed container: copy token cut at offset {p}"
                    ));
                };
                let token = u16::from_le_bytes([t[0], t[1]]);
                p += 2;
                let (offset, length) = unpack(token, out.len() - chunk_start);
                let done = out.len() - chunk_start;
                if offset > done {
                    return Err(format!(
                        "compressed container: copy token at offset {} reaches {offset} bytes back, {done} decompressed in its chunk",
                        p - 2
                    ));
                }
                if done + length > CHUNK {
                    return Err(format!(
                        "compressed container: copy token at offset {} makes its chunk longer than 4096 bytes",
                        p - 2
                    ));
                }
                let from = out.len() - offset;
                for i in 0..length {
                    if out.len() >= max_out {
                        return Err(FULL.into());
                    }
                    let b = out[from + i];
                    out.push(b);
                }
            }
        }
        pos = end;
    }
    Ok(())
}

fn push(out: &mut Vec<u8>, bytes: &[u8], max_out: usize) -> Result<(), String> {
    let room = max_out.saturating_sub(out.len());
    out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    if bytes.len() > room {
        return Err(FULL.into());
    }
    Ok(())
}

/// The bit count of a copy token `done` bytes into its chunk (2.4.1.3.19.1): ceil(log2),
/// at least 4.
pub fn bit_count(done: usize) -> u32 {
    let bits = if done <= 1 {
        0
    } else {
        usize::BITS - (done - 1).leading_zeros()
    };
    bits.max(4)
}

/// (offset, length) of a copy token `done` bytes into its chunk (2.4.1.3.19.2).
fn unpack(token: u16, done: usize) -> (usize, usize) {
    let bits = bit_count(done);
    let length_mask = 0xFFFFu16 >> bits;
    let length = usize::from(token & length_mask) + 3;
    let offset = usize::from((token & !length_mask) >> (16 - bits)) + 1;
    (offset, length)
}

/// One module of the `dir` stream (2.3.4.2.3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// MODULENAME, in the project's code page.
    pub name: Vec<u8>,
    /// MODULENAMEUNICODE (UTF-16LE), when present.
    pub name_unicode: Option<Vec<u8>>,
    /// MODULESTREAMNAME, in the project's code page.
    pub stream_name: Option<Vec<u8>>,
    /// Its UTF-16LE form.
    pub stream_name_unicode: Option<Vec<u8>>,
    /// MODULEOFFSET: where the compressed source starts in the module's stream.
    pub text_offset: Option<u32>,
    /// MODULETYPE: 0x21 procedural, 0x22 document, class or designer.
    pub kind: Option<u16>,
    /// MODULEREADONLY present.
    pub read_only: bool,
    /// MODULEPRIVATE present.
    pub private: bool,
}

/// What the `dir` stream says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dir {
    /// PROJECTSYSKIND.
    pub syskind: Option<u32>,
    /// PROJECTLCID.
    pub lcid: Option<u32>,
    /// PROJECTCODEPAGE.
    pub codepage: Option<u16>,
    /// PROJECTNAME.
    pub name: Vec<u8>,
    /// PROJECTVERSION (major, minor).
    pub version: Option<(u32, u16)>,
    /// The module count PROJECTMODULES declares.
    pub declared_modules: Option<u16>,
    /// The modules, in record order.
    pub modules: Vec<Module>,
    /// REFERENCENAME records (the referenced libraries' names).
    pub references: Vec<Vec<u8>>,
    /// What was wrong (parsing stops at a record that runs past the end).
    pub problems: Vec<String>,
}

/// Modules read from one `dir` stream at most (a record is 6 bytes; a dir stream of a few
/// hundred KiB could otherwise declare tens of thousands).
pub const MAX_MODULES: usize = 1000;

/// References kept at most.
const MAX_REFERENCES: usize = 1000;

/// Parses a decompressed `dir` stream. Records are (id, size, data), but for PROJECTVERSION
/// (0x0009), whose size field (4) does not count its 6 bytes of data. Unknown records are
/// skipped by their size, so future or odd records do not stop the walk.
pub fn parse_dir(data: &[u8]) -> Dir {
    let mut dir = Dir::default();
    let mut pos = 0;
    let mut module: Option<Module> = None;
    let u32_of = |d: &[u8]| {
        d.get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u16_of = |d: &[u8]| d.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    loop {
        let Some(h) = data.get(pos..pos + 6) else {
            if pos < data.len() || module.is_some() || dir.modules.is_empty() {
                dir.problems.push(format!(
                    "dir stream: ends at offset {pos} without its terminator record (0x0010)"
                ));
            }
            break;
        };
        let id = u16::from_le_bytes([h[0], h[1]]);
        let size = u32::from_le_bytes([h[2], h[3], h[4], h[5]]) as usize;
        let len = if id == 0x0009 { 6 } else { size };
        let Some(body) = data.get(pos + 6..(pos + 6).saturating_add(len)) else {
            dir.problems.push(format!(
                "dir stream: record 0x{id:04X} at offset {pos} declares {len} bytes, {} left",
                data.len() - pos - 6
            ));
            break;
        };
        pos += 6 + len;
        match id {
            0x0001 => dir.syskind = u32_of(body),
            0x0002 => dir.lcid = u32_of(body),
            0x0003 => dir.codepage = u16_of(body),
            0x0004 => dir.name = body.to_vec(),
            0x0009 => {
                dir.version = u32_of(body).zip(body.get(4..).and_then(u16_of));
            }
            0x000F => dir.declared_modules = u16_of(body),
            0x0016 => {
                if dir.references.len() < MAX_REFERENCES {
                    dir.references.push(body.to_vec());
                }
            }
            0x0010 => {
                if let Some(m) = module.take() {
                    dir.modules.push(m);
                }
                break;
            }
            0x0019 => {
                if let Some(m) = module.take() {
                    dir.problems.push(format!(
                        "dir stream: module {} has no terminator record (0x002B)",
                        String::from_utf8_lossy(&m.name)
                    ));
                    dir.modules.push(m);
                }
                if dir.modules.len() >= MAX_MODULES {
                    dir.problems.push(format!(
                        "dir stream: more than {MAX_MODULES} modules; the rest are not read"
                    ));
                    break;
                }
                module = Some(Module {
                    name: body.to_vec(),
                    ..Module::default()
                });
            }
            _ => {
                if let Some(m) = module.as_mut() {
                    match id {
                        0x0047 => m.name_unicode = Some(body.to_vec()),
                        0x001A => m.stream_name = Some(body.to_vec()),
                        0x0032 => m.stream_name_unicode = Some(body.to_vec()),
                        0x0031 => m.text_offset = u32_of(body),
                        0x0021 | 0x0022 => m.kind = Some(id),
                        0x0025 => m.read_only = true,
                        0x0028 => m.private = true,
                        0x002B => dir.modules.push(module.take().expect("a module")),
                        _ => {}
                    }
                }
            }
        }
    }
    if let Some(declared) = dir.declared_modules
        && usize::from(declared) != dir.modules.len()
        && dir.modules.len() < MAX_MODULES
    {
        dir.problems.push(format!(
            "dir stream: PROJECTMODULES declares {declared} modules, {} found",
            dir.modules.len()
        ));
    }
    dir
}

/// The module kinds the `PROJECT` stream names (2.3.1): `Document=`, `Module=`, `Class=`,
/// `BaseClass=`, keyed by the lower-cased module name, with the file extension olevba gives
/// each (`cls`, `bas`, `cls`, `frm`).
pub fn project_extensions(project: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for line in project.lines().take(100_000) {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.to_lowercase();
        let (name, ext) = match key {
            "Document" => (value.split('/').next().unwrap_or("").to_owned(), "cls"),
            "Module" => (value, "bas"),
            "Class" => (value, "cls"),
            "BaseClass" => (value, "frm"),
            _ => continue,
        };
        out.push((name, ext));
    }
    out
}
