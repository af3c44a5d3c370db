//! A pre-flight check of ELF files before `dlopen`.
//!
//! glibc's `dlopen` maps each loadable segment at its file offset and then touches it. When a
//! library is truncated, a segment lies past the end of the file and that first touch kills the
//! whole host with `SIGBUS`. Reading the program headers first turns that into an error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;

struct Reader {
    little: bool,
    wide: bool,
}

impl Reader {
    fn u16(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if self.little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        }))
    }

    fn u32(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if self.little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }))
    }

    fn u64(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.little {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        })
    }

    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, b: &[u8], at64: usize, at32: usize) -> Option<u64> {
        if self.wide {
            self.u64(b, at64)
        } else {
            self.u32(b, at32)
        }
    }
}

/// `Ok` when `path` is not ELF (the loader reports that itself) or when every segment the
/// loader maps lies inside the file; otherwise why it would crash the loader.
pub(super) fn check(path: &Path) -> Result<(), String> {
    let Ok(mut file) = File::open(path) else {
        return Ok(()); // The loader reports why it cannot open the file.
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut header = [0u8; 64];
    let read = file.read(&mut header).unwrap_or(0);
    if read < 16 || &header[..4] != b"\x7fELF" {
        return Ok(());
    }
    let corrupt = |what: &str| Err(format!("truncated or corrupt ELF file: {what}"));
    let reader = Reader {
        wide: header[4] == 2,
        little: header[5] != 2,
    };
    let fields = (
        reader.word(&header[..read], 0x20, 0x1c),
        reader.u16(&header[..read], if reader.wide { 0x36 } else { 0x2a }),
        reader.u16(&header[..read], if reader.wide { 0x38 } else { 0x2c }),
    );
    let (Some(phoff), Some(phentsize), Some(phnum)) = fields else {
        return corrupt("the ELF header is cut short");
    };
    let table_len = phentsize.saturating_mul(phnum);
    if phentsize < if reader.wide { 56 } else { 32 } || phoff.saturating_add(table_len) > len {
        return corrupt("the program header table lies outside the file");
    }
    let mut table = vec![0u8; table_len as usize];
    if file.seek(SeekFrom::Start(phoff)).is_err() || file.read_exact(&mut table).is_err() {
        return corrupt("the program header table cannot be read");
    }
    for (index, entry) in table.chunks_exact(phentsize as usize).enumerate() {
        let kind = reader.u32(entry, 0).unwrap_or(0) as u32;
        if kind != PT_LOAD && kind != PT_DYNAMIC {
            continue;
        }
        let offset = reader.word(entry, 0x08, 0x04).unwrap_or(u64::MAX);
        let size = reader.word(entry, 0x20, 0x10).unwrap_or(u64::MAX);
        if offset.saturating_add(size) > len {
            return Err(format!(
                "truncated or corrupt ELF file: segment {index} needs bytes up to {} but the file has {len}",
                offset.saturating_add(size)
            ));
        }
    }
    Ok(())
}
