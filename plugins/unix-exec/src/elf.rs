//! The `elfinfo` worker: what an ELF file says about itself.
//!
//! Results (names as `readelf` prints them where it has one):
//! - header: `class` (`ELF32`/`ELF64`), `endianness` (`little`/`big`), `os_abi`,
//!   `abi_version`, `type` (`REL`, `EXEC`, `DYN`, `CORE`), `machine`, `entry_point`,
//!   `entry_section` (the section holding the entry point, if any), `flags`;
//! - `program_headers`: `type`, `flags` (`R`, `W`, `E` letters), `offset`, `vaddr`, `filesz`,
//!   `memsz`, `align`;
//! - `sections`: `index`, `name`, `type`, `flags` (`readelf`'s letters: `W` write, `A` alloc,
//!   `X` execute, `M` merge, `S` strings, `I` info, `L` link order, `O` OS, `G` group, `T` TLS,
//!   `C` compressed, `E` exclude, `R` retain), `address`, `offset`, `size`, `entropy` (bits per byte over
//!   the section's bytes in the file, as pefile computes a PE section's; `null` for `NOBITS`);
//! - `interpreter` (`PT_INTERP`), `needed` (`DT_NEEDED`), `rpath`, `runpath`, `soname`,
//!   `dynamic_flags` (`DT_FLAGS`), `dynamic_flags_1` (`DT_FLAGS_1`);
//! - `imports` (undefined symbols) and `exports` (defined global/weak symbols of default or
//!   protected visibility), each `name`, `type`, `binding`, `version` (from `.gnu.version`),
//!   exports also `value`; from `.dynsym`, or `.symtab` when there is no `.dynsym`
//!   (`symbols_from` says which), with `dynamic_symbol_count` and `symbol_count`;
//! - `notes` (`owner`, `type`, `size`) and `build_id` (hex of `NT_GNU_BUILD_ID`);
//! - `stripped` (no `.symtab`), `statically_linked` (an executable or library with no
//!   interpreter, no needed library and no soname; `null` for objects and cores), `pie`
//!   (`DYN` with `DF_1_PIE`, or `DYN` with an interpreter and no soname).
//!
//! Limits (options): `max_sections`, `max_segments` (program headers), `max_symbols` (per
//! symbol table listed), `max_entropy_bytes` (bytes whose entropy is computed, all sections
//! together: sections may overlap). Dynamic entries ([`MAX_DYNAMIC`]), notes ([`MAX_NOTES`])
//! and version records ([`MAX_VERSIONS`]) are bounded by constants.

use object::Endianness;
use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader, Sym};
use stoq_plugin_abi::prelude::*;

use crate::{DEFAULT_MAX_ENTROPY_BYTES, EntropyBudget, SectionErrors, bounded, count_option, cstr};

/// Dynamic entries read at most.
pub const MAX_DYNAMIC: usize = 10_000;
/// Notes read at most, all note sections together.
pub const MAX_NOTES: usize = 1_000;
/// Version records (verneed/vernaux/verdef/verdaux) read at most.
pub const MAX_VERSIONS: usize = 10_000;

const DEFAULT_MAX_SECTIONS: i64 = 10_000;
const DEFAULT_MAX_SEGMENTS: i64 = 10_000;
const DEFAULT_MAX_SYMBOLS: i64 = 20_000;

/// What `elfinfo` reads at most from one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfLimits {
    /// Sections listed (`max_sections`).
    pub max_sections: usize,
    /// Program headers listed (`max_segments`).
    pub max_segments: usize,
    /// Symbols read per symbol table (`max_symbols`).
    pub max_symbols: usize,
    /// Bytes whose entropy is computed, all sections together (`max_entropy_bytes`).
    pub max_entropy_bytes: u64,
}

impl Default for ElfLimits {
    fn default() -> Self {
        Self {
            max_sections: DEFAULT_MAX_SECTIONS as usize,
            max_segments: DEFAULT_MAX_SEGMENTS as usize,
            max_symbols: DEFAULT_MAX_SYMBOLS as usize,
            max_entropy_bytes: DEFAULT_MAX_ENTROPY_BYTES as u64,
        }
    }
}

/// The ELF inspector.
pub struct ElfInfo {
    limits: ElfLimits,
}

impl Plugin for ElfInfo {
    const INFO: PluginInfo = PluginInfo::new("elfinfo", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "ELF header, program headers, sections with entropy, interpreter, needed libraries, symbols, build id",
        )
        .options(&[
            OptionSpec::int("max_sections", DEFAULT_MAX_SECTIONS)
                .doc("Most sections listed from one file"),
            OptionSpec::int("max_segments", DEFAULT_MAX_SEGMENTS)
                .doc("Most program headers listed from one file"),
            OptionSpec::int("max_symbols", DEFAULT_MAX_SYMBOLS)
                .doc("Most symbols read from each symbol table"),
            OptionSpec::int("max_entropy_bytes", DEFAULT_MAX_ENTROPY_BYTES)
                .doc("Most bytes whose entropy is computed, all sections together"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            limits: ElfLimits {
                max_sections: count_option(config, "max_sections")?,
                max_segments: count_option(config, "max_segments")?,
                max_symbols: count_option(config, "max_symbols")?,
                max_entropy_bytes: count_option(config, "max_entropy_bytes")? as u64,
            },
        })
    }
}

impl Worker for ElfInfo {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let (results, errors) = inspect_with(payload.content(), &self.limits)?;
        let mut response = WorkerResponse::new(results);
        response.errors = errors;
        Ok(response)
    }
}

/// Inspects `data` within the default [`ElfLimits`].
pub fn inspect(data: &[u8]) -> Result<(Value, Vec<Error>)> {
    inspect_with(data, &ElfLimits::default())
}

/// Inspects `data`: the results and the problems met (limits reached included). `Err` when
/// `data` is not an ELF file at all.
pub fn inspect_with(data: &[u8], limits: &ElfLimits) -> Result<(Value, Vec<Error>)> {
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err(Error::msg("not an ELF file: no \\x7fELF magic"));
    }
    // e_ident[EI_CLASS]
    match data[4] {
        elf::ELFCLASS32 => inspect_as::<elf::FileHeader32<Endianness>>(data, limits),
        elf::ELFCLASS64 => inspect_as::<elf::FileHeader64<Endianness>>(data, limits),
        other => Err(Error::msg(format!(
            "not a valid ELF file: unknown class {other}"
        ))),
    }
}

fn os_abi(v: u8) -> String {
    match v {
        elf::ELFOSABI_SYSV => "SYSV".into(),
        elf::ELFOSABI_HPUX => "HPUX".into(),
        elf::ELFOSABI_NETBSD => "NetBSD".into(),
        elf::ELFOSABI_GNU => "GNU".into(),
        elf::ELFOSABI_SOLARIS => "Solaris".into(),
        elf::ELFOSABI_AIX => "AIX".into(),
        elf::ELFOSABI_IRIX => "IRIX".into(),
        elf::ELFOSABI_FREEBSD => "FreeBSD".into(),
        elf::ELFOSABI_TRU64 => "TRU64".into(),
        elf::ELFOSABI_OPENBSD => "OpenBSD".into(),
        elf::ELFOSABI_ARM => "ARM".into(),
        elf::ELFOSABI_STANDALONE => "standalone".into(),
        other => format!("{other}"),
    }
}

fn file_type(t: u16) -> String {
    match t {
        elf::ET_NONE => "NONE".into(),
        elf::ET_REL => "REL".into(),
        elf::ET_EXEC => "EXEC".into(),
        elf::ET_DYN => "DYN".into(),
        elf::ET_CORE => "CORE".into(),
        other => format!("0x{other:04x}"),
    }
}

fn machine(m: u16) -> String {
    match m {
        elf::EM_386 => "i386".into(),
        elf::EM_X86_64 => "x86_64".into(),
        elf::EM_ARM => "arm".into(),
        elf::EM_AARCH64 => "aarch64".into(),
        elf::EM_MIPS => "mips".into(),
        elf::EM_PPC => "ppc".into(),
        elf::EM_PPC64 => "ppc64".into(),
        elf::EM_RISCV => "riscv".into(),
        elf::EM_S390 => "s390".into(),
        elf::EM_SPARCV9 => "sparcv9".into(),
        elf::EM_SPARC => "sparc".into(),
        elf::EM_LOONGARCH => "loongarch".into(),
        elf::EM_SH => "sh".into(),
        elf::EM_IA_64 => "ia64".into(),
        elf::EM_BPF => "bpf".into(),
        other => format!("0x{other:04x}"),
    }
}

fn segment_type(t: u32) -> String {
    match t {
        elf::PT_NULL => "NULL".into(),
        elf::PT_LOAD => "LOAD".into(),
        elf::PT_DYNAMIC => "DYNAMIC".into(),
        elf::PT_INTERP => "INTERP".into(),
        elf::PT_NOTE => "NOTE".into(),
        elf::PT_SHLIB => "SHLIB".into(),
        elf::PT_PHDR => "PHDR".into(),
        elf::PT_TLS => "TLS".into(),
        elf::PT_GNU_EH_FRAME => "GNU_EH_FRAME".into(),
        elf::PT_GNU_STACK => "GNU_STACK".into(),
        elf::PT_GNU_RELRO => "GNU_RELRO".into(),
        elf::PT_GNU_PROPERTY => "GNU_PROPERTY".into(),
        other => format!("0x{other:08x}"),
    }
}

fn segment_flags(f: u32) -> String {
    let mut s = String::new();
    for (bit, c) in [(elf::PF_R, 'R'), (elf::PF_W, 'W'), (elf::PF_X, 'E')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

fn section_type(t: u32) -> String {
    match t {
        elf::SHT_NULL => "NULL".into(),
        elf::SHT_PROGBITS => "PROGBITS".into(),
        elf::SHT_SYMTAB => "SYMTAB".into(),
        elf::SHT_STRTAB => "STRTAB".into(),
        elf::SHT_RELA => "RELA".into(),
        elf::SHT_HASH => "HASH".into(),
        elf::SHT_DYNAMIC => "DYNAMIC".into(),
        elf::SHT_NOTE => "NOTE".into(),
        elf::SHT_NOBITS => "NOBITS".into(),
        elf::SHT_REL => "REL".into(),
        elf::SHT_SHLIB => "SHLIB".into(),
        elf::SHT_DYNSYM => "DYNSYM".into(),
        elf::SHT_INIT_ARRAY => "INIT_ARRAY".into(),
        elf::SHT_FINI_ARRAY => "FINI_ARRAY".into(),
        elf::SHT_PREINIT_ARRAY => "PREINIT_ARRAY".into(),
        elf::SHT_GROUP => "GROUP".into(),
        elf::SHT_SYMTAB_SHNDX => "SYMTAB SECTION INDICES".into(),
        elf::SHT_RELR => "RELR".into(),
        elf::SHT_GNU_ATTRIBUTES => "GNU_ATTRIBUTES".into(),
        elf::SHT_GNU_HASH => "GNU_HASH".into(),
        elf::SHT_GNU_VERDEF => "VERDEF".into(),
        elf::SHT_GNU_VERNEED => "VERNEED".into(),
        elf::SHT_GNU_VERSYM => "VERSYM".into(),
        0x6fff_4c00 => "LLVM_ODRTAB".into(),
        elf::SHT_X86_64_UNWIND => "X86_64_UNWIND".into(),
        other => format!("0x{other:08x}"),
    }
}

fn section_flags(f: u64) -> String {
    const LETTERS: [(u64, char); 13] = [
        (elf::SHF_WRITE as u64, 'W'),
        (elf::SHF_ALLOC as u64, 'A'),
        (elf::SHF_EXECINSTR as u64, 'X'),
        (elf::SHF_MERGE as u64, 'M'),
        (elf::SHF_STRINGS as u64, 'S'),
        (elf::SHF_INFO_LINK as u64, 'I'),
        (elf::SHF_LINK_ORDER as u64, 'L'),
        (elf::SHF_OS_NONCONFORMING as u64, 'O'),
        (elf::SHF_GROUP as u64, 'G'),
        (elf::SHF_TLS as u64, 'T'),
        (elf::SHF_COMPRESSED as u64, 'C'),
        (elf::SHF_EXCLUDE as u64, 'E'),
        (elf::SHF_GNU_RETAIN as u64, 'R'),
    ];
    LETTERS
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|&(_, c)| c)
        .collect()
}

fn symbol_type(t: u8) -> String {
    match t {
        elf::STT_NOTYPE => "NOTYPE".into(),
        elf::STT_OBJECT => "OBJECT".into(),
        elf::STT_FUNC => "FUNC".into(),
        elf::STT_SECTION => "SECTION".into(),
        elf::STT_FILE => "FILE".into(),
        elf::STT_COMMON => "COMMON".into(),
        elf::STT_TLS => "TLS".into(),
        elf::STT_GNU_IFUNC => "IFUNC".into(),
        other => format!("{other}"),
    }
}

fn symbol_binding(b: u8) -> String {
    match b {
        elf::STB_LOCAL => "LOCAL".into(),
        elf::STB_GLOBAL => "GLOBAL".into(),
        elf::STB_WEAK => "WEAK".into(),
        elf::STB_GNU_UNIQUE => "UNIQUE".into(),
        other => format!("{other}"),
    }
}

/// The bytes of `size` at `offset` in `data`, cut at its end; the second value says whether
/// it was cut.
fn file_bytes(data: &[u8], offset: u64, size: u64) -> (&[u8], bool) {
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|o| data.get(o..))
        .unwrap_or_default();
    let want = usize::try_from(size).unwrap_or(usize::MAX);
    let got = &rest[..want.min(rest.len())];
    (got, got.len() < want)
}

/// A symbol table's entries and its string table, both borrowed from the file.
struct Symbols<'data, Elf: FileHeader> {
    syms: &'data [Elf::Sym],
    strings: &'data [u8],
    /// The section index of the table (versions apply to `.dynsym` only).
    index: usize,
}

/// Symbol version names by version index, read from `.gnu.version_r` and `.gnu.version_d`
/// within [`MAX_VERSIONS`] records.
fn version_names<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &[u8],
    sections: &[Elf::SectionHeader],
    all_sections: &[Elf::SectionHeader],
    errors: &mut Vec<Error>,
) -> Vec<(u16, String)> {
    let mut names = Vec::new();
    let mut budget = MAX_VERSIONS;
    let strings_of = |link: object::SectionIndex| -> &[u8] {
        all_sections
            .get(link.0)
            .and_then(|s| s.data(endian, data).ok())
            .unwrap_or_default()
    };
    for section in sections {
        match section.gnu_verneed(endian, data) {
            Ok(Some((mut verneeds, link))) => {
                let strings = strings_of(link);
                'needs: loop {
                    match verneeds.next() {
                        Ok(Some((_, mut vernauxs))) => loop {
                            if budget == 0 {
                                break 'needs;
                            }
                            budget -= 1;
                            match vernauxs.next() {
                                Ok(Some(aux)) => {
                                    let index = aux.vna_other.get(endian) & elf::VERSYM_VERSION;
                                    if let Some(name) =
                                        cstr(strings, aux.vna_name.get(endian).into())
                                    {
                                        names.push((index, name));
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    errors.push(Error::msg(format!("version needs: {e}")));
                                    break 'needs;
                                }
                            }
                        },
                        Ok(None) => break,
                        Err(e) => {
                            errors.push(Error::msg(format!("version needs: {e}")));
                            break;
                        }
                    }
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(Error::msg(format!("version needs: {e}"))),
        }
        match section.gnu_verdef(endian, data) {
            Ok(Some((mut verdefs, link))) => {
                let strings = strings_of(link);
                loop {
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                    match verdefs.next() {
                        Ok(Some((verdef, mut verdauxs))) => {
                            let index = verdef.vd_ndx.get(endian) & elf::VERSYM_VERSION;
                            if verdef.vd_flags.get(endian) & elf::VER_FLG_BASE != 0 {
                                continue;
                            }
                            if let Ok(Some(aux)) = verdauxs.next()
                                && let Some(name) = cstr(strings, aux.vda_name.get(endian).into())
                            {
                                names.push((index, name));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            errors.push(Error::msg(format!("version definitions: {e}")));
                            break;
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(Error::msg(format!("version definitions: {e}"))),
        }
    }
    if budget == 0 {
        errors.push(Error::msg(format!(
            "more than {MAX_VERSIONS} version records; the rest are not read"
        )));
    }
    names
}

fn inspect_as<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    limits: &ElfLimits,
) -> Result<(Value, Vec<Error>)> {
    let header = Elf::parse(data).map_err(|e| Error::msg(format!("not a valid ELF file: {e}")))?;
    let endian = header
        .endian()
        .map_err(|e| Error::msg(format!("not a valid ELF file: {e}")))?;
    let mut errors = Vec::new();
    let ident = header.e_ident();
    let e_type = header.e_type(endian);

    // Program headers.
    let segments: &[Elf::ProgramHeader] = match header.program_headers(endian, data) {
        Ok(s) => s,
        Err(e) => {
            errors.push(Error::msg(format!(
                "program headers (e_phoff 0x{:x}, e_phnum {}): {e}",
                header.e_phoff(endian).into(),
                header.e_phnum(endian)
            )));
            &[]
        }
    };
    let (listed, cut) = bounded(
        segments,
        limits.max_segments,
        "max_segments",
        "program headers",
    );
    errors.extend(cut);
    let segments = &segments[..listed];
    let program_headers: Vec<Value> = segments
        .iter()
        .map(|p| {
            json!({
                "type": segment_type(p.p_type(endian)),
                "flags": segment_flags(p.p_flags(endian)),
                "offset": p.p_offset(endian).into(),
                "vaddr": p.p_vaddr(endian).into(),
                "filesz": p.p_filesz(endian).into(),
                "memsz": p.p_memsz(endian).into(),
                "align": p.p_align(endian).into(),
            })
        })
        .collect();

    let mut interpreter = None;
    if let Some(p) = segments.iter().find(|p| p.p_type(endian) == elf::PT_INTERP) {
        let (bytes, cut) = file_bytes(data, p.p_offset(endian).into(), p.p_filesz(endian).into());
        if cut {
            errors.push(Error::msg(format!(
                "PT_INTERP: its {} bytes at offset 0x{:x} run past the end of the file",
                p.p_filesz(endian).into(),
                p.p_offset(endian).into()
            )));
        }
        interpreter = cstr(bytes, 0);
    }

    // Sections.
    let sections: &[Elf::SectionHeader] = match header.section_headers(endian, data) {
        Ok(s) => s,
        Err(e) => {
            errors.push(Error::msg(format!(
                "section headers (e_shoff 0x{:x}, e_shnum {}): {e}",
                header.e_shoff(endian).into(),
                header.e_shnum(endian)
            )));
            &[]
        }
    };
    // Section 0 is the null section, never listed.
    let (listed, cut) = bounded(
        sections.get(1..).unwrap_or_default(),
        limits.max_sections,
        "max_sections",
        "sections",
    );
    errors.extend(cut);
    // Only the sections within the limit are walked; names and linked string tables are
    // looked up in the whole table.
    let all_sections = sections;
    let sections = &sections[..sections.len().min(listed + 1)];
    let strings_at = |link: u32| -> &[u8] {
        all_sections
            .get(link as usize)
            .and_then(|s| s.data(endian, data).ok())
            .unwrap_or_default()
    };
    let names: &[u8] = if sections.is_empty() {
        &[]
    } else {
        match header
            .shstrndx(endian, data)
            .ok()
            .and_then(|i| all_sections.get(i as usize))
        {
            Some(s) => match s.data(endian, data) {
                Ok(bytes) => bytes,
                Err(e) => {
                    errors.push(Error::msg(format!("section name table: {e}")));
                    &[]
                }
            },
            None => {
                errors.push(Error::msg(format!(
                    "section name table: e_shstrndx {} names no section",
                    header.e_shstrndx(endian)
                )));
                &[]
            }
        }
    };
    let section_name = |s: &Elf::SectionHeader| cstr(names, s.sh_name(endian).into());
    let mut budget = EntropyBudget::new(limits.max_entropy_bytes);
    let mut section_list = Vec::new();
    let mut section_errors = SectionErrors::default();
    let entry: u64 = header.e_entry(endian).into();
    let mut entry_section = None;
    for (index, s) in sections.iter().enumerate().skip(1) {
        let name = section_name(s).unwrap_or_default();
        let (offset, size): (u64, u64) = (s.sh_offset(endian).into(), s.sh_size(endian).into());
        let flags: u64 = s.sh_flags(endian).into();
        let address: u64 = s.sh_addr(endian).into();
        let entropy = if s.sh_type(endian) == elf::SHT_NOBITS {
            None
        } else {
            let (bytes, cut) = file_bytes(data, offset, size);
            if cut {
                section_errors.push(format!(
                    "section {index} {name}: its {size} bytes at offset 0x{offset:x} run past the end of the file; {} bytes present",
                    bytes.len()
                ));
            }
            budget.entropy(bytes)
        };
        if entry_section.is_none()
            && flags & u64::from(elf::SHF_ALLOC) != 0
            && address <= entry
            && entry < address.saturating_add(size)
        {
            entry_section = Some(name.clone());
        }
        section_list.push(json!({
            "index": index,
            "name": name,
            "type": section_type(s.sh_type(endian)),
            "flags": section_flags(flags),
            "address": address,
            "offset": offset,
            "size": size,
            "entropy": entropy,
        }));
    }
    errors.extend(section_errors.finish());
    errors.extend(budget.error(limits.max_entropy_bytes));

    // The dynamic table: the SHT_DYNAMIC section and its linked strings, or else the
    // PT_DYNAMIC segment and the strings DT_STRTAB points at.
    let mut dynamic: &[Elf::Dyn] = &[];
    let mut dynstr: &[u8] = &[];
    if let Some(s) = sections
        .iter()
        .find(|s| s.sh_type(endian) == elf::SHT_DYNAMIC)
    {
        match s.data_as_array::<Elf::Dyn, _>(endian, data) {
            Ok(d) => dynamic = d,
            Err(e) => errors.push(Error::msg(format!("dynamic section: {e}"))),
        }
        dynstr = strings_at(s.sh_link(endian));
    } else if let Some(p) = segments
        .iter()
        .find(|p| p.p_type(endian) == elf::PT_DYNAMIC)
    {
        match p.data_as_array::<Elf::Dyn, _>(endian, data) {
            Ok(d) => dynamic = d,
            Err(()) => errors.push(Error::msg(format!(
                "dynamic segment: its {} bytes at offset 0x{:x} lie outside the file",
                p.p_filesz(endian).into(),
                p.p_offset(endian).into()
            ))),
        }
        let tag = |t: i64| {
            dynamic
                .iter()
                .take(MAX_DYNAMIC)
                .find(|d| d.tag(endian) == t)
                .map(|d| d.val(endian))
        };
        if let (Some(address), Some(size)) = (tag(elf::DT_STRTAB), tag(elf::DT_STRSZ)) {
            // The string table's address, through the PT_LOAD segment that maps it.
            dynstr = segments
                .iter()
                .filter(|p| p.p_type(endian) == elf::PT_LOAD)
                .find_map(|p| {
                    let vaddr: u64 = p.p_vaddr(endian).into();
                    let filesz: u64 = p.p_filesz(endian).into();
                    let delta = address.checked_sub(vaddr)?;
                    (delta < filesz).then(|| {
                        let offset: u64 = p.p_offset(endian).into();
                        let offset = offset + delta;
                        file_bytes(data, offset, size.min(filesz - delta)).0
                    })
                })
                .unwrap_or_default();
        }
    }
    let mut needed = Vec::new();
    let (mut rpath, mut runpath, mut soname) = (None, None, None);
    let (mut dt_flags, mut dt_flags_1) = (None, None);
    if dynamic.len() > MAX_DYNAMIC {
        errors.push(Error::msg(format!(
            "dynamic table: more than {MAX_DYNAMIC} entries; the rest are not read"
        )));
    }
    for d in dynamic.iter().take(MAX_DYNAMIC) {
        let tag = d.tag(endian);
        let val = d.val(endian);
        if tag == elf::DT_NULL {
            break;
        }
        let string = || {
            cstr(dynstr, val).unwrap_or_else(|| format!("<string at 0x{val:x} outside .dynstr>"))
        };
        match tag {
            elf::DT_NEEDED => needed.push(string()),
            elf::DT_RPATH => rpath = Some(string()),
            elf::DT_RUNPATH => runpath = Some(string()),
            elf::DT_SONAME => soname = Some(string()),
            elf::DT_FLAGS => dt_flags = Some(val),
            elf::DT_FLAGS_1 => dt_flags_1 = Some(val),
            _ => {}
        }
    }

    // Symbols.
    let table = |sh_type: u32| -> Option<Symbols<'_, Elf>> {
        let (index, s) = sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.sh_type(endian) == sh_type)?;
        let syms = match s.data_as_array::<Elf::Sym, _>(endian, data) {
            Ok(syms) => syms,
            Err(_) => &[],
        };
        let strings = strings_at(s.sh_link(endian));
        Some(Symbols {
            syms,
            strings,
            index,
        })
    };
    let dynsym = table(elf::SHT_DYNSYM);
    let symtab = table(elf::SHT_SYMTAB);
    for (t, what) in [(&dynsym, ".dynsym"), (&symtab, ".symtab")] {
        if let Some(t) = t
            && let Some(s) = sections.get(t.index)
            && let Err(e) = s.data(endian, data)
        {
            errors.push(Error::msg(format!("{what}: {e}")));
        }
    }
    let (source, symbols_from) = match (&dynsym, &symtab) {
        (Some(d), _) => (Some(d), Some(".dynsym")),
        (None, Some(s)) => (Some(s), Some(".symtab")),
        (None, None) => (None, None),
    };
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    if let Some(t) = source {
        let versions = if t.index == dynsym.as_ref().map_or(usize::MAX, |d| d.index) {
            let versym: &[elf::Versym<Endianness>] = sections
                .iter()
                .find(|s| s.sh_type(endian) == elf::SHT_GNU_VERSYM)
                .and_then(|s| s.data_as_array(endian, data).ok())
                .unwrap_or_default();
            let names: std::collections::HashMap<u16, String> =
                version_names::<Elf>(endian, data, sections, all_sections, &mut errors)
                    .into_iter()
                    .collect();
            Some((versym, names))
        } else {
            None
        };
        let (listed, cut) = bounded(t.syms, limits.max_symbols, "max_symbols", "symbols");
        errors.extend(cut);
        for (i, sym) in t.syms[..listed].iter().enumerate().skip(1) {
            let Some(name) = cstr(t.strings, sym.st_name(endian).into()) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let version = versions.as_ref().and_then(|(versym, names)| {
                let index = versym.get(i)?.0.get(endian) & elf::VERSYM_VERSION;
                // A version definition's own symbol (`GLIBC_2.2.5`) is not versioned again.
                (index > elf::VER_NDX_GLOBAL)
                    .then(|| names.get(&index).filter(|v| **v != name).cloned())
                    .flatten()
            });
            let mut entry = json!({
                "name": name,
                "type": symbol_type(sym.st_type()),
                "binding": symbol_binding(sym.st_bind()),
                "version": version,
            });
            if sym.st_shndx(endian) == elf::SHN_UNDEF {
                if sym.st_bind() != elf::STB_LOCAL {
                    imports.push(entry);
                }
            } else if matches!(
                sym.st_bind(),
                elf::STB_GLOBAL | elf::STB_WEAK | elf::STB_GNU_UNIQUE
            ) && matches!(sym.st_visibility(), elf::STV_DEFAULT | elf::STV_PROTECTED)
            {
                entry["value"] = json!(sym.st_value(endian).into());
                exports.push(entry);
            }
        }
    }

    // Notes: from the SHT_NOTE sections, or the PT_NOTE segments of a file without sections.
    let mut notes = Vec::new();
    let mut build_id = None;
    let mut note_count = 0usize;
    let mut read_notes =
        |iterator: object::read::Result<Option<object::read::elf::NoteIterator<'_, Elf>>>,
         errors: &mut Vec<Error>| {
            let mut iterator = match iterator {
                Ok(Some(i)) => i,
                Ok(None) => return,
                Err(e) => {
                    errors.push(Error::msg(format!("notes: {e}")));
                    return;
                }
            };
            loop {
                if note_count >= MAX_NOTES {
                    return;
                }
                match iterator.next() {
                    Ok(Some(note)) => {
                        note_count += 1;
                        let owner = crate::fixed_name(note.name());
                        let n_type = note.n_type(endian);
                        if owner == "GNU" && n_type == elf::NT_GNU_BUILD_ID && build_id.is_none() {
                            build_id = Some(hex::encode(note.desc()));
                        }
                        notes.push(json!({
                            "owner": owner,
                            "type": n_type,
                            "size": note.desc().len(),
                        }));
                    }
                    Ok(None) => return,
                    Err(e) => {
                        errors.push(Error::msg(format!("notes: {e}")));
                        return;
                    }
                }
            }
        };
    if sections.is_empty() {
        for p in segments {
            read_notes(p.notes(endian, data), &mut errors);
        }
    } else {
        for s in sections {
            read_notes(s.notes(endian, data), &mut errors);
        }
    }
    if note_count >= MAX_NOTES {
        errors.push(Error::msg(format!(
            "more than {MAX_NOTES} notes; the rest are not read"
        )));
    }

    let linked = matches!(e_type, elf::ET_EXEC | elf::ET_DYN);
    let statically_linked =
        linked.then(|| interpreter.is_none() && needed.is_empty() && soname.is_none());
    let pie = e_type == elf::ET_DYN
        && (dt_flags_1.is_some_and(|f| f & u64::from(elf::DF_1_PIE) != 0)
            || (interpreter.is_some() && soname.is_none()));
    let results = json!({
        "class": if header.is_type_64() { "ELF64" } else { "ELF32" },
        "endianness": if header.is_big_endian() { "big" } else { "little" },
        "os_abi": os_abi(ident.os_abi),
        "abi_version": ident.abi_version,
        "type": file_type(e_type),
        "machine": machine(header.e_machine(endian)),
        "entry_point": entry,
        "entry_section": entry_section,
        "flags": header.e_flags(endian),
        "program_headers": program_headers,
        "sections": section_list,
        "interpreter": interpreter,
        "needed": needed,
        "rpath": rpath,
        "runpath": runpath,
        "soname": soname,
        "dynamic_flags": dt_flags,
        "dynamic_flags_1": dt_flags_1,
        "symbols_from": symbols_from,
        "dynamic_symbol_count": dynsym.as_ref().map_or(0, |t| t.syms.len()),
        "symbol_count": symtab.as_ref().map_or(0, |t| t.syms.len()),
        "imports": imports,
        "exports": exports,
        "notes": notes,
        "build_id": build_id,
        "stripped": symtab.is_none(),
        "statically_linked": statically_linked,
        "pie": pie,
    });
    Ok((results, errors))
}
