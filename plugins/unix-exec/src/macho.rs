//! The `machoinfo` worker: what a Mach-O file says about itself, and the slices of a fat
//! (universal) binary.
//!
//! A thin file's results:
//! - header: `magic` (`MH_MAGIC` or `MH_MAGIC_64`), `endianness` (`little`/`big`),
//!   `cpu_type` (`x86_64`, `arm64`, `i386`, `arm`, `ppc`, …), `cpu_subtype` (number, without the
//!   capability bits), `arch` (`lipo`'s name: `arm64e`, `x86_64h`, `armv7`, …), `file_type`
//!   (`EXECUTE`, `DYLIB`, `OBJECT`, `BUNDLE`, …), `flags` (names: `PIE`, `TWOLEVEL`, …),
//!   `flags_value`;
//! - `load_commands` (`cmd` name and `size` of each), `segments` (`name`, `vmaddr`, `vmsize`,
//!   `fileoff`, `filesize`, `maxprot`/`initprot` as `rwx`, and their `sections`: `name`,
//!   `segment`, `address`, `size`, `offset`, `entropy` in bits per byte over the section's bytes
//!   in the file, `null` for zero-fill sections);
//! - `dylibs` (`name`, `kind`: `load`, `weak`, `reexport`, `lazy`, `upward`, `current_version`,
//!   `compatibility_version`), `id_dylib`, `rpaths`, `dylinker`;
//! - `entry_point` (`{command: "LC_MAIN", entryoff, stacksize}` or
//!   `{command: "LC_UNIXTHREAD", pc}` for x86_64, arm64, i386 and arm thread states), `uuid`,
//!   `code_signature` (`{offset, size}`, or `null`), `encrypted` (an encryption command with a
//!   non-zero `cryptid`), `min_os` (`platform`, `version`, `sdk`, from `LC_BUILD_VERSION` or
//!   `LC_VERSION_MIN_*`);
//! - `imports` (undefined external symbols of the symbol table, each `name` and, in a
//!   two-level namespace, the `library` it is bound to; `weak` for weak references) and
//!   `exports` (defined external symbols not private: `name`, `value`), with `symbol_count`.
//!
//! A fat file (`CAFEBABE`, or `CAFEBABF` with 64-bit offsets) gives `fat: true` and
//! `architectures` (`cpu_type`, `cpu_subtype`, `arch`, `offset`, `size`, `align`), and each
//! slice is extracted with `filename` `arch-<arch>` (a second slice of the same architecture
//! gets `-2`, …) and `cpu_type`, `cpu_subtype`, `offset` in its metadata; the router sends the
//! children back to `machoinfo`. Slices that lie outside the file, overlap the fat header or
//! an earlier slice are listed with an error and not extracted, so the bytes extracted never
//! exceed the file's size; the host's limits (`Request::limits`) are honoured too.
//!
//! Limits (options): `max_load_commands`, `max_sections` (all segments together),
//! `max_symbols`, `max_fat_archs` (a fat header declaring more is refused unread),
//! `max_entropy_bytes`. `CAFEBABE` followed by a count of 45 to 100 is a Java class file (its
//! class version), not a fat binary: an `Err`.

use std::collections::HashSet;

use object::Endianness;
use object::macho;
use object::read::ReadRef;
use object::read::macho::{LoadCommandVariant, MachHeader, Nlist, Section, Segment};
use stoq_plugin_abi::prelude::*;

use crate::{
    DEFAULT_MAX_ENTROPY_BYTES, EntropyBudget, SectionErrors, count_option, cstr, fixed_name,
};

const DEFAULT_MAX_LOAD_COMMANDS: i64 = 10_000;
const DEFAULT_MAX_SECTIONS: i64 = 10_000;
const DEFAULT_MAX_SYMBOLS: i64 = 20_000;
const DEFAULT_MAX_FAT_ARCHS: i64 = 64;

/// What `machoinfo` reads at most from one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachoLimits {
    /// Load commands read (`max_load_commands`).
    pub max_load_commands: usize,
    /// Sections listed, all segments together (`max_sections`).
    pub max_sections: usize,
    /// Symbols read from the symbol table (`max_symbols`).
    pub max_symbols: usize,
    /// Architectures of a fat file (`max_fat_archs`).
    pub max_fat_archs: usize,
    /// Bytes whose entropy is computed, all sections together (`max_entropy_bytes`).
    pub max_entropy_bytes: u64,
}

impl Default for MachoLimits {
    fn default() -> Self {
        Self {
            max_load_commands: DEFAULT_MAX_LOAD_COMMANDS as usize,
            max_sections: DEFAULT_MAX_SECTIONS as usize,
            max_symbols: DEFAULT_MAX_SYMBOLS as usize,
            max_fat_archs: DEFAULT_MAX_FAT_ARCHS as usize,
            max_entropy_bytes: DEFAULT_MAX_ENTROPY_BYTES as u64,
        }
    }
}

/// The Mach-O inspector.
pub struct MachoInfo {
    limits: MachoLimits,
}

impl Plugin for MachoInfo {
    const INFO: PluginInfo = PluginInfo::new("machoinfo", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "Mach-O header, load commands, segments and sections with entropy, dylibs, symbols; fat slices extracted",
        )
        .options(&[
            OptionSpec::int("max_load_commands", DEFAULT_MAX_LOAD_COMMANDS)
                .doc("Most load commands read from one file"),
            OptionSpec::int("max_sections", DEFAULT_MAX_SECTIONS)
                .doc("Most sections listed from one file, all segments together"),
            OptionSpec::int("max_symbols", DEFAULT_MAX_SYMBOLS)
                .doc("Most symbols read from the symbol table"),
            OptionSpec::int("max_fat_archs", DEFAULT_MAX_FAT_ARCHS)
                .doc("Most architectures of a fat file (a header declaring more is refused)"),
            OptionSpec::int("max_entropy_bytes", DEFAULT_MAX_ENTROPY_BYTES)
                .doc("Most bytes whose entropy is computed, all sections together"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        Ok(Self {
            limits: MachoLimits {
                max_load_commands: count_option(config, "max_load_commands")?,
                max_sections: count_option(config, "max_sections")?,
                max_symbols: count_option(config, "max_symbols")?,
                max_fat_archs: count_option(config, "max_fat_archs")?,
                max_entropy_bytes: count_option(config, "max_entropy_bytes")? as u64,
            },
        })
    }
}

/// One architecture of a fat file, to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// `arch-<arch>` (with `-2`, `-3`, … for repeated architectures).
    pub filename: String,
    /// `cputype` of the fat entry.
    pub cpu_type: u32,
    /// `cpusubtype` of the fat entry.
    pub cpu_subtype: u32,
    /// Where the slice starts in the fat file.
    pub offset: u64,
    /// Its length.
    pub size: u64,
}

/// What [`inspect_with`] finds: the results, the fat slices (empty for a thin file) and the
/// problems met.
pub type Inspection = (Value, Vec<Slice>, Vec<Error>);

impl Worker for MachoInfo {
    fn scan(&self, payload: &Payload<'_>, request: &Request<'_>) -> Result<WorkerResponse> {
        let data = payload.content();
        let (results, slices, mut errors) = inspect_with(data, &self.limits)?;
        let limits = request.limits();
        let (mut bytes_left, mut payloads_left) =
            (limits.extracted_bytes_left, limits.extracted_payloads_left);
        let mut extracted = Vec::new();
        for slice in slices {
            if slice.size > limits.max_payload_size {
                errors.push(Error::msg(format!(
                    "{}: {} bytes, over the host's max_payload_size ({}); not extracted",
                    slice.filename, slice.size, limits.max_payload_size
                )));
                continue;
            }
            if slice.size > bytes_left || payloads_left == 0 {
                errors.push(Error::msg(format!(
                    "{}: the request's extraction limits are reached; not extracted",
                    slice.filename
                )));
                continue;
            }
            bytes_left -= slice.size;
            payloads_left -= 1;
            // `inspect_with` checked the range against the file.
            let start = slice.offset as usize;
            let bytes = data[start..start + slice.size as usize].to_vec();
            extracted.push(
                ExtractedPayload::new(bytes)
                    .with_extra("filename", slice.filename)
                    .with_extra("cpu_type", cpu_type(slice.cpu_type))
                    .with_extra("cpu_subtype", slice.cpu_subtype & !macho::CPU_SUBTYPE_MASK)
                    .with_extra("offset", slice.offset),
            );
        }
        let mut response = WorkerResponse::new(results).with_extracted(extracted);
        response.errors = errors;
        Ok(response)
    }
}

/// Inspects `data` within the default [`MachoLimits`].
pub fn inspect(data: &[u8]) -> Result<Inspection> {
    inspect_with(data, &MachoLimits::default())
}

/// Inspects `data`: a thin Mach-O file's description, or a fat file's architectures and its
/// slices to extract. `Err` when `data` is neither.
pub fn inspect_with(data: &[u8], limits: &MachoLimits) -> Result<Inspection> {
    let magic = data
        .get(..4)
        .map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
        .ok_or_else(|| Error::msg("not a Mach-O file: shorter than its magic"))?;
    match magic {
        macho::FAT_MAGIC => fat(data, limits, false),
        macho::FAT_MAGIC_64 => fat(data, limits, true),
        macho::MH_MAGIC | macho::MH_CIGAM => {
            let (results, errors) = thin::<macho::MachHeader32<Endianness>>(data, limits)?;
            Ok((results, Vec::new(), errors))
        }
        macho::MH_MAGIC_64 | macho::MH_CIGAM_64 => {
            let (results, errors) = thin::<macho::MachHeader64<Endianness>>(data, limits)?;
            Ok((results, Vec::new(), errors))
        }
        other => Err(Error::msg(format!(
            "not a Mach-O file: unknown magic 0x{other:08x}"
        ))),
    }
}

/// `cputype` by name.
pub fn cpu_type(t: u32) -> String {
    match t {
        macho::CPU_TYPE_X86 => "i386".into(),
        macho::CPU_TYPE_X86_64 => "x86_64".into(),
        macho::CPU_TYPE_ARM => "arm".into(),
        macho::CPU_TYPE_ARM64 => "arm64".into(),
        macho::CPU_TYPE_ARM64_32 => "arm64_32".into(),
        macho::CPU_TYPE_POWERPC => "ppc".into(),
        macho::CPU_TYPE_POWERPC64 => "ppc64".into(),
        macho::CPU_TYPE_MC680X0 => "m68k".into(),
        macho::CPU_TYPE_SPARC => "sparc".into(),
        macho::CPU_TYPE_MIPS => "mips".into(),
        other => format!("0x{other:08x}"),
    }
}

/// The architecture's name as `lipo` spells it.
pub fn arch_name(t: u32, subtype: u32) -> String {
    let sub = subtype & !macho::CPU_SUBTYPE_MASK;
    match (t, sub) {
        (macho::CPU_TYPE_X86_64, macho::CPU_SUBTYPE_X86_64_H) => "x86_64h".into(),
        (macho::CPU_TYPE_ARM64, macho::CPU_SUBTYPE_ARM64E) => "arm64e".into(),
        (macho::CPU_TYPE_ARM, macho::CPU_SUBTYPE_ARM_V6) => "armv6".into(),
        (macho::CPU_TYPE_ARM, macho::CPU_SUBTYPE_ARM_V7) => "armv7".into(),
        (macho::CPU_TYPE_ARM, macho::CPU_SUBTYPE_ARM_V7S) => "armv7s".into(),
        (macho::CPU_TYPE_ARM, macho::CPU_SUBTYPE_ARM_V7K) => "armv7k".into(),
        _ => cpu_type(t),
    }
}

fn file_type(t: u32) -> String {
    match t {
        macho::MH_OBJECT => "OBJECT".into(),
        macho::MH_EXECUTE => "EXECUTE".into(),
        macho::MH_FVMLIB => "FVMLIB".into(),
        macho::MH_CORE => "CORE".into(),
        macho::MH_PRELOAD => "PRELOAD".into(),
        macho::MH_DYLIB => "DYLIB".into(),
        macho::MH_DYLINKER => "DYLINKER".into(),
        macho::MH_BUNDLE => "BUNDLE".into(),
        macho::MH_DYLIB_STUB => "DYLIB_STUB".into(),
        macho::MH_DSYM => "DSYM".into(),
        macho::MH_KEXT_BUNDLE => "KEXT_BUNDLE".into(),
        macho::MH_FILESET => "FILESET".into(),
        other => format!("{other}"),
    }
}

fn header_flags(f: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 30] = [
        (macho::MH_NOUNDEFS, "NOUNDEFS"),
        (macho::MH_INCRLINK, "INCRLINK"),
        (macho::MH_DYLDLINK, "DYLDLINK"),
        (macho::MH_BINDATLOAD, "BINDATLOAD"),
        (macho::MH_PREBOUND, "PREBOUND"),
        (macho::MH_SPLIT_SEGS, "SPLIT_SEGS"),
        (macho::MH_LAZY_INIT, "LAZY_INIT"),
        (macho::MH_TWOLEVEL, "TWOLEVEL"),
        (macho::MH_FORCE_FLAT, "FORCE_FLAT"),
        (macho::MH_NOMULTIDEFS, "NOMULTIDEFS"),
        (macho::MH_NOFIXPREBINDING, "NOFIXPREBINDING"),
        (macho::MH_PREBINDABLE, "PREBINDABLE"),
        (macho::MH_ALLMODSBOUND, "ALLMODSBOUND"),
        (macho::MH_SUBSECTIONS_VIA_SYMBOLS, "SUBSECTIONS_VIA_SYMBOLS"),
        (macho::MH_CANONICAL, "CANONICAL"),
        (macho::MH_WEAK_DEFINES, "WEAK_DEFINES"),
        (macho::MH_BINDS_TO_WEAK, "BINDS_TO_WEAK"),
        (macho::MH_ALLOW_STACK_EXECUTION, "ALLOW_STACK_EXECUTION"),
        (macho::MH_ROOT_SAFE, "ROOT_SAFE"),
        (macho::MH_SETUID_SAFE, "SETUID_SAFE"),
        (macho::MH_NO_REEXPORTED_DYLIBS, "NO_REEXPORTED_DYLIBS"),
        (macho::MH_PIE, "PIE"),
        (macho::MH_DEAD_STRIPPABLE_DYLIB, "DEAD_STRIPPABLE_DYLIB"),
        (macho::MH_HAS_TLV_DESCRIPTORS, "HAS_TLV_DESCRIPTORS"),
        (macho::MH_NO_HEAP_EXECUTION, "NO_HEAP_EXECUTION"),
        (macho::MH_APP_EXTENSION_SAFE, "APP_EXTENSION_SAFE"),
        (
            macho::MH_NLIST_OUTOFSYNC_WITH_DYLDINFO,
            "NLIST_OUTOFSYNC_WITH_DYLDINFO",
        ),
        (macho::MH_SIM_SUPPORT, "SIM_SUPPORT"),
        (macho::MH_IMPLICIT_PAGEZERO, "IMPLICIT_PAGEZERO"),
        (macho::MH_DYLIB_IN_CACHE, "DYLIB_IN_CACHE"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|&(_, n)| n)
        .collect()
}

fn load_command_name(cmd: u32) -> String {
    let name = match cmd {
        macho::LC_SEGMENT => "LC_SEGMENT",
        macho::LC_SYMTAB => "LC_SYMTAB",
        macho::LC_SYMSEG => "LC_SYMSEG",
        macho::LC_THREAD => "LC_THREAD",
        macho::LC_UNIXTHREAD => "LC_UNIXTHREAD",
        macho::LC_LOADFVMLIB => "LC_LOADFVMLIB",
        macho::LC_IDFVMLIB => "LC_IDFVMLIB",
        macho::LC_IDENT => "LC_IDENT",
        macho::LC_FVMFILE => "LC_FVMFILE",
        macho::LC_PREPAGE => "LC_PREPAGE",
        macho::LC_DYSYMTAB => "LC_DYSYMTAB",
        macho::LC_LOAD_DYLIB => "LC_LOAD_DYLIB",
        macho::LC_ID_DYLIB => "LC_ID_DYLIB",
        macho::LC_LOAD_DYLINKER => "LC_LOAD_DYLINKER",
        macho::LC_ID_DYLINKER => "LC_ID_DYLINKER",
        macho::LC_PREBOUND_DYLIB => "LC_PREBOUND_DYLIB",
        macho::LC_ROUTINES => "LC_ROUTINES",
        macho::LC_SUB_FRAMEWORK => "LC_SUB_FRAMEWORK",
        macho::LC_SUB_UMBRELLA => "LC_SUB_UMBRELLA",
        macho::LC_SUB_CLIENT => "LC_SUB_CLIENT",
        macho::LC_SUB_LIBRARY => "LC_SUB_LIBRARY",
        macho::LC_TWOLEVEL_HINTS => "LC_TWOLEVEL_HINTS",
        macho::LC_PREBIND_CKSUM => "LC_PREBIND_CKSUM",
        macho::LC_LOAD_WEAK_DYLIB => "LC_LOAD_WEAK_DYLIB",
        macho::LC_SEGMENT_64 => "LC_SEGMENT_64",
        macho::LC_ROUTINES_64 => "LC_ROUTINES_64",
        macho::LC_UUID => "LC_UUID",
        macho::LC_RPATH => "LC_RPATH",
        macho::LC_CODE_SIGNATURE => "LC_CODE_SIGNATURE",
        macho::LC_SEGMENT_SPLIT_INFO => "LC_SEGMENT_SPLIT_INFO",
        macho::LC_REEXPORT_DYLIB => "LC_REEXPORT_DYLIB",
        macho::LC_LAZY_LOAD_DYLIB => "LC_LAZY_LOAD_DYLIB",
        macho::LC_ENCRYPTION_INFO => "LC_ENCRYPTION_INFO",
        macho::LC_DYLD_INFO => "LC_DYLD_INFO",
        macho::LC_DYLD_INFO_ONLY => "LC_DYLD_INFO_ONLY",
        macho::LC_LOAD_UPWARD_DYLIB => "LC_LOAD_UPWARD_DYLIB",
        macho::LC_VERSION_MIN_MACOSX => "LC_VERSION_MIN_MACOSX",
        macho::LC_VERSION_MIN_IPHONEOS => "LC_VERSION_MIN_IPHONEOS",
        macho::LC_FUNCTION_STARTS => "LC_FUNCTION_STARTS",
        macho::LC_DYLD_ENVIRONMENT => "LC_DYLD_ENVIRONMENT",
        macho::LC_MAIN => "LC_MAIN",
        macho::LC_DATA_IN_CODE => "LC_DATA_IN_CODE",
        macho::LC_SOURCE_VERSION => "LC_SOURCE_VERSION",
        macho::LC_DYLIB_CODE_SIGN_DRS => "LC_DYLIB_CODE_SIGN_DRS",
        macho::LC_ENCRYPTION_INFO_64 => "LC_ENCRYPTION_INFO_64",
        macho::LC_LINKER_OPTION => "LC_LINKER_OPTION",
        macho::LC_LINKER_OPTIMIZATION_HINT => "LC_LINKER_OPTIMIZATION_HINT",
        macho::LC_VERSION_MIN_TVOS => "LC_VERSION_MIN_TVOS",
        macho::LC_VERSION_MIN_WATCHOS => "LC_VERSION_MIN_WATCHOS",
        macho::LC_NOTE => "LC_NOTE",
        macho::LC_BUILD_VERSION => "LC_BUILD_VERSION",
        macho::LC_DYLD_EXPORTS_TRIE => "LC_DYLD_EXPORTS_TRIE",
        macho::LC_DYLD_CHAINED_FIXUPS => "LC_DYLD_CHAINED_FIXUPS",
        macho::LC_FILESET_ENTRY => "LC_FILESET_ENTRY",
        macho::LC_ATOM_INFO => "LC_ATOM_INFO",
        macho::LC_TARGET_TRIPLE => "LC_TARGET_TRIPLE",
        other => return format!("0x{other:x}"),
    };
    name.into()
}

fn platform(p: u32) -> String {
    match p {
        macho::PLATFORM_MACOS => "macos".into(),
        macho::PLATFORM_IOS => "ios".into(),
        macho::PLATFORM_TVOS => "tvos".into(),
        macho::PLATFORM_WATCHOS => "watchos".into(),
        macho::PLATFORM_BRIDGEOS => "bridgeos".into(),
        macho::PLATFORM_MACCATALYST => "maccatalyst".into(),
        macho::PLATFORM_IOSSIMULATOR => "iossimulator".into(),
        macho::PLATFORM_TVOSSIMULATOR => "tvossimulator".into(),
        macho::PLATFORM_WATCHOSSIMULATOR => "watchossimulator".into(),
        macho::PLATFORM_DRIVERKIT => "driverkit".into(),
        macho::PLATFORM_VISIONOS => "visionos".into(),
        macho::PLATFORM_VISIONOSSIMULATOR => "visionossimulator".into(),
        other => format!("{other}"),
    }
}

/// A `xxxx.yy.zz` version (`10.15`, `11.0`, `13.4.1`), as otool prints `minos`/`sdk`.
fn os_version(v: u32) -> String {
    let (major, minor, patch) = (v >> 16, (v >> 8) & 0xff, v & 0xff);
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

/// A dylib version, always three parts (`1.2.3`), as otool prints it.
fn dylib_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

fn protection(p: u32) -> String {
    [(1, 'r'), (2, 'w'), (4, 'x')]
        .iter()
        .map(|&(bit, c)| if p & bit != 0 { c } else { '-' })
        .collect()
}

fn uuid_string(u: &[u8; 16]) -> String {
    let h = hex::encode_upper(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The program counter of an `LC_UNIXTHREAD`/`LC_THREAD` state, for the flavors we know.
fn thread_pc(cpu: u32, endian: Endianness, state: &[u8]) -> Option<u64> {
    use object::endian::Endian as _;
    let word32 = |at: usize| -> Option<u64> {
        let b = state.get(at..at + 4)?;
        Some(u64::from(endian.read_u32([b[0], b[1], b[2], b[3]])))
    };
    let word64 = |at: usize| -> Option<u64> {
        let b: [u8; 8] = state.get(at..at + 8)?.try_into().ok()?;
        Some(endian.read_u64(b))
    };
    // state: flavor (u32), count (u32), then the registers.
    let flavor = word32(0)?;
    let regs = 8;
    match (cpu, flavor) {
        // x86_THREAD_STATE64: rax..r15 (16), rip.
        (macho::CPU_TYPE_X86_64, 4) => word64(regs + 16 * 8),
        // ARM_THREAD_STATE64: x0..x28, fp, lr, sp, pc.
        (macho::CPU_TYPE_ARM64, 6) => word64(regs + 32 * 8),
        // i386_THREAD_STATE: eax, ebx, ecx, edx, edi, esi, ebp, esp, ss, eflags, eip.
        (macho::CPU_TYPE_X86, 1) => word32(regs + 10 * 4),
        // ARM_THREAD_STATE: r0..r12, sp, lr, pc.
        (macho::CPU_TYPE_ARM, 1) => word32(regs + 15 * 4),
        _ => None,
    }
}

fn file_bytes(data: &[u8], offset: u64, size: u64) -> (&[u8], bool) {
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|o| data.get(o..))
        .unwrap_or_default();
    let want = usize::try_from(size).unwrap_or(usize::MAX);
    let got = &rest[..want.min(rest.len())];
    (got, got.len() < want)
}

fn fat(data: &[u8], limits: &MachoLimits, is_64: bool) -> Result<Inspection> {
    let nfat = data
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| Error::msg("not a fat Mach-O file: its header is cut"))?;
    let mut errors = Vec::new();
    let entry_size: u64 = if is_64 { 32 } else { 20 };
    // A Java class file starts with CAFEBABE too, then its minor and major version: as a
    // count, its major version (45 for Java 1.1, 69 for Java 25).
    if !is_64 && (45..=100).contains(&nfat) {
        return Err(Error::msg(format!(
            "not a fat Mach-O file: CAFEBABE then {nfat} is a Java class file (class version {nfat})"
        )));
    }
    if nfat as usize > limits.max_fat_archs {
        errors.push(Error::msg(format!(
            "fat header: nfat_arch {nfat} is over max_fat_archs ({}); no architecture read",
            limits.max_fat_archs
        )));
        let results = json!({"fat": true, "fat_64": is_64, "nfat_arch": nfat, "architectures": []});
        return Ok((results, Vec::new(), errors));
    }
    let table_end = 8 + u64::from(nfat) * entry_size;
    let mut architectures = Vec::new();
    let mut slices: Vec<Slice> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for i in 0..u64::from(nfat) {
        let at = 8 + i * entry_size;
        let Ok(entry) = data.read_bytes_at(at, entry_size) else {
            errors.push(Error::msg(format!(
                "fat architecture {i}: its entry at offset 0x{at:x} runs past the end of the file"
            )));
            break;
        };
        let u32_at =
            |o: usize| u32::from_be_bytes([entry[o], entry[o + 1], entry[o + 2], entry[o + 3]]);
        let u64_at = |o: usize| (u64::from(u32_at(o)) << 32) | u64::from(u32_at(o + 4));
        let (cputype, cpusubtype) = (u32_at(0), u32_at(4));
        let (offset, size, align) = if is_64 {
            (u64_at(8), u64_at(16), u32_at(24))
        } else {
            (u64::from(u32_at(8)), u64::from(u32_at(12)), u32_at(16))
        };
        let arch = arch_name(cputype, cpusubtype);
        architectures.push(json!({
            "cpu_type": cpu_type(cputype),
            "cpu_subtype": cpusubtype & !macho::CPU_SUBTYPE_MASK,
            "arch": arch,
            "offset": offset,
            "size": size,
            "align": align,
        }));
        let end = offset.checked_add(size);
        let problem = if end.is_none_or(|e| e > data.len() as u64) {
            Some(format!(
                "its {size} bytes at offset 0x{offset:x} lie outside the file ({} bytes)",
                data.len()
            ))
        } else if offset < table_end {
            Some(format!(
                "it starts at offset 0x{offset:x}, inside the fat header (which ends at 0x{table_end:x})"
            ))
        } else if size == 0 {
            Some("it is empty".to_owned())
        } else {
            slices
                .iter()
                .find(|s| offset < s.offset + s.size && s.offset < offset + size)
                .map(|other| {
                    format!(
                        "its bytes 0x{offset:x}..0x{:x} overlap those of {} (0x{:x}..0x{:x})",
                        offset + size,
                        other.filename,
                        other.offset,
                        other.offset + other.size
                    )
                })
        };
        if let Some(problem) = problem {
            errors.push(Error::msg(format!(
                "fat architecture {i} ({arch}): {problem}; not extracted"
            )));
            continue;
        }
        let mut filename = format!("arch-{arch}");
        let mut n = 1;
        while names.contains(&filename) {
            n += 1;
            filename = format!("arch-{arch}-{n}");
        }
        names.insert(filename.clone());
        slices.push(Slice {
            filename,
            cpu_type: cputype,
            cpu_subtype: cpusubtype,
            offset,
            size,
        });
    }
    let results = json!({
        "fat": true,
        "fat_64": is_64,
        "nfat_arch": nfat,
        "architectures": architectures,
    });
    Ok((results, slices, errors))
}

/// The string of a load command at `offset` from its start.
fn lc_string(raw: &[u8], offset: u32) -> String {
    cstr(raw, offset.into())
        .unwrap_or_else(|| format!("<string at 0x{offset:x} outside the command>"))
}

fn thin<Mach: MachHeader<Endian = Endianness>>(
    data: &[u8],
    limits: &MachoLimits,
) -> Result<(Value, Vec<Error>)> {
    let header =
        Mach::parse(data, 0).map_err(|e| Error::msg(format!("not a valid Mach-O file: {e}")))?;
    let endian = header
        .endian()
        .map_err(|e| Error::msg(format!("not a valid Mach-O file: {e}")))?;
    let mut errors = Vec::new();
    let cputype = header.cputype(endian);
    let cpusubtype = header.cpusubtype(endian);
    let flags = header.flags(endian);
    // object reads the magic big-endian: MH_CIGAM* is a little-endian file.
    let magic = if header.is_type_64() {
        "MH_MAGIC_64"
    } else {
        "MH_MAGIC"
    };

    let mut load_commands = Vec::new();
    let mut segments: Vec<Value> = Vec::new();
    let mut dylibs = Vec::new();
    let mut rpaths = Vec::new();
    let (mut id_dylib, mut dylinker, mut entry_point, mut uuid) = (None, None, None, None);
    let (mut code_signature, mut min_os, mut encrypted) = (None, None, false);
    let mut symtab = None;
    let mut section_count = 0usize;
    let mut sections_cut = 0usize;
    let mut budget = EntropyBudget::new(limits.max_entropy_bytes);
    let mut section_errors = SectionErrors::default();
    let ncmds = header.ncmds(endian);
    match header.load_commands(endian, data, 0) {
        Err(e) => errors.push(Error::msg(format!(
            "load commands (ncmds {ncmds}, sizeofcmds {}): {e}",
            header.sizeofcmds(endian)
        ))),
        Ok(mut commands) => loop {
            if load_commands.len() >= limits.max_load_commands {
                if (load_commands.len() as u64) < u64::from(ncmds) {
                    errors.push(Error::msg(format!(
                        "limit max_load_commands ({}) reached: the header declares {ncmds}; the rest are not read",
                        limits.max_load_commands
                    )));
                }
                break;
            }
            let command = match commands.next() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    errors.push(Error::msg(format!(
                        "load command {} (of {ncmds}): {e}",
                        load_commands.len()
                    )));
                    break;
                }
            };
            let cmd = command.cmd();
            load_commands.push(json!({"cmd": load_command_name(cmd), "size": command.cmdsize()}));
            let raw = command.raw_data();
            let variant = match command.variant() {
                Ok(v) => v,
                Err(e) => {
                    errors.push(Error::msg(format!(
                        "load command {} ({}): {e}",
                        load_commands.len() - 1,
                        load_command_name(cmd)
                    )));
                    continue;
                }
            };
            match variant {
                LoadCommandVariant::Segment32(..) | LoadCommandVariant::Segment64(..) => {
                    let Ok(Some((segment, section_data))) = Mach::Segment::from_command(command)
                    else {
                        continue;
                    };
                    let sections = match segment.sections(endian, section_data) {
                        Ok(s) => s,
                        Err(e) => {
                            errors.push(Error::msg(format!(
                                "segment {}: its {} sections: {e}",
                                fixed_name(segment.segname()),
                                segment.nsects(endian)
                            )));
                            &[]
                        }
                    };
                    let (fileoff, filesize): (u64, u64) = (
                        segment.fileoff(endian).into(),
                        segment.filesize(endian).into(),
                    );
                    let name = fixed_name(segment.segname());
                    if file_bytes(data, fileoff, filesize).1 {
                        errors.push(Error::msg(format!(
                            "segment {name}: its {filesize} bytes at offset 0x{fileoff:x} run past the end of the file"
                        )));
                    }
                    let mut section_list = Vec::new();
                    for s in sections {
                        if section_count >= limits.max_sections {
                            sections_cut += 1;
                            continue;
                        }
                        section_count += 1;
                        let sname = fixed_name(s.sectname());
                        let (offset, size): (u64, u64) =
                            (s.offset(endian).into(), s.size(endian).into());
                        let entropy = match s.section_type(endian) {
                            macho::S_ZEROFILL
                            | macho::S_GB_ZEROFILL
                            | macho::S_THREAD_LOCAL_ZEROFILL => None,
                            _ => {
                                let (bytes, cut) = file_bytes(data, offset, size);
                                if cut {
                                    section_errors.push(format!(
                                        "section {name},{sname}: its {size} bytes at offset 0x{offset:x} run past the end of the file; {} bytes present",
                                        bytes.len()
                                    ));
                                }
                                budget.entropy(bytes)
                            }
                        };
                        section_list.push(json!({
                            "name": sname,
                            "segment": fixed_name(s.segname()),
                            "address": s.addr(endian).into(),
                            "size": size,
                            "offset": offset,
                            "entropy": entropy,
                        }));
                    }
                    segments.push(json!({
                        "name": name,
                        "vmaddr": segment.vmaddr(endian).into(),
                        "vmsize": segment.vmsize(endian).into(),
                        "fileoff": fileoff,
                        "filesize": filesize,
                        "maxprot": protection(segment.maxprot(endian)),
                        "initprot": protection(segment.initprot(endian)),
                        "sections": section_list,
                    }));
                }
                LoadCommandVariant::Dylib(d) => {
                    let kind = match cmd {
                        macho::LC_LOAD_WEAK_DYLIB => "weak",
                        macho::LC_REEXPORT_DYLIB => "reexport",
                        macho::LC_LAZY_LOAD_DYLIB => "lazy",
                        macho::LC_LOAD_UPWARD_DYLIB => "upward",
                        _ => "load",
                    };
                    dylibs.push(json!({
                        "name": lc_string(raw, d.dylib.name.offset.get(endian)),
                        "kind": kind,
                        "current_version": dylib_version(d.dylib.current_version.get(endian)),
                        "compatibility_version": dylib_version(d.dylib.compatibility_version.get(endian)),
                    }));
                }
                LoadCommandVariant::IdDylib(d) => {
                    id_dylib = Some(lc_string(raw, d.dylib.name.offset.get(endian)));
                }
                LoadCommandVariant::LoadDylinker(d) => {
                    dylinker = Some(lc_string(raw, d.name.offset.get(endian)));
                }
                LoadCommandVariant::Rpath(r) => {
                    rpaths.push(lc_string(raw, r.path.offset.get(endian)));
                }
                LoadCommandVariant::EntryPoint(e) => {
                    entry_point = Some(json!({
                        "command": "LC_MAIN",
                        "entryoff": e.entryoff.get(endian),
                        "stacksize": e.stacksize.get(endian),
                    }));
                }
                LoadCommandVariant::Thread(_, state)
                    if entry_point.is_none() && cmd == macho::LC_UNIXTHREAD =>
                {
                    entry_point = Some(json!({
                        "command": "LC_UNIXTHREAD",
                        "pc": thread_pc(cputype, endian, state),
                    }));
                }
                LoadCommandVariant::Uuid(u) => uuid = Some(uuid_string(&u.uuid)),
                LoadCommandVariant::LinkeditData(l) if cmd == macho::LC_CODE_SIGNATURE => {
                    let (offset, size) = (l.dataoff.get(endian), l.datasize.get(endian));
                    if file_bytes(data, offset.into(), size.into()).1 {
                        errors.push(Error::msg(format!(
                            "LC_CODE_SIGNATURE: its {size} bytes at offset 0x{offset:x} lie outside the file"
                        )));
                    }
                    code_signature = Some(json!({"offset": offset, "size": size}));
                }
                LoadCommandVariant::EncryptionInfo32(e) => encrypted |= e.cryptid.get(endian) != 0,
                LoadCommandVariant::EncryptionInfo64(e) => encrypted |= e.cryptid.get(endian) != 0,
                LoadCommandVariant::BuildVersion(b) => {
                    min_os = Some(json!({
                        "platform": platform(b.platform.get(endian)),
                        "version": os_version(b.minos.get(endian)),
                        "sdk": os_version(b.sdk.get(endian)),
                    }));
                }
                LoadCommandVariant::VersionMin(v) if min_os.is_none() => {
                    let platform = match cmd {
                        macho::LC_VERSION_MIN_MACOSX => "macos",
                        macho::LC_VERSION_MIN_IPHONEOS => "ios",
                        macho::LC_VERSION_MIN_TVOS => "tvos",
                        _ => "watchos",
                    };
                    min_os = Some(json!({
                        "platform": platform,
                        "version": os_version(v.version.get(endian)),
                        "sdk": os_version(v.sdk.get(endian)),
                    }));
                }
                LoadCommandVariant::Symtab(s) if symtab.is_none() => symtab = Some(*s),
                _ => {}
            }
        },
    }
    errors.extend(section_errors.finish());
    if sections_cut > 0 {
        errors.push(Error::msg(format!(
            "limit max_sections ({}) reached: {sections_cut} sections not listed",
            limits.max_sections
        )));
    }
    errors.extend(budget.error(limits.max_entropy_bytes));

    // Symbols: undefined externals are imports, defined non-private externals exports.
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut symbol_count = 0u32;
    if let Some(s) = symtab {
        let (symoff, nsyms) = (s.symoff.get(endian), s.nsyms.get(endian));
        let (stroff, strsize) = (s.stroff.get(endian), s.strsize.get(endian));
        symbol_count = nsyms;
        let listed = (nsyms as usize).min(limits.max_symbols);
        if listed < nsyms as usize {
            errors.push(Error::msg(format!(
                "limit max_symbols ({}) reached: {} of {nsyms} symbols not read",
                limits.max_symbols,
                nsyms as usize - listed
            )));
        }
        let table_end =
            u64::from(symoff) + u64::from(nsyms) * std::mem::size_of::<Mach::Nlist>() as u64;
        if table_end > data.len() as u64 {
            errors.push(Error::msg(format!(
                "LC_SYMTAB: its {nsyms} symbols at offset 0x{symoff:x} run past the end of the file"
            )));
        }
        let (strings, cut) = file_bytes(data, stroff.into(), strsize.into());
        if cut {
            errors.push(Error::msg(format!(
                "LC_SYMTAB: its string table ({strsize} bytes at offset 0x{stroff:x}) runs past the end of the file"
            )));
        }
        match data.read_slice_at::<Mach::Nlist>(symoff.into(), listed) {
            Err(()) => errors.push(Error::msg(format!(
                "LC_SYMTAB: its {nsyms} symbols at offset 0x{symoff:x} lie outside the file"
            ))),
            Ok(symbols) => {
                let two_level = flags & macho::MH_TWOLEVEL != 0;
                let libraries: Vec<&str> = dylibs
                    .iter()
                    .map(|d| d["name"].as_str().unwrap_or_default())
                    .collect();
                for sym in symbols {
                    let n_type = sym.n_type();
                    if n_type & macho::N_STAB != 0 || n_type & macho::N_EXT == 0 {
                        continue;
                    }
                    let name = cstr(strings, sym.n_strx(endian).into()).unwrap_or_else(|| {
                        format!(
                            "<name at 0x{:x} outside the string table>",
                            sym.n_strx(endian)
                        )
                    });
                    match n_type & macho::N_TYPE {
                        macho::N_UNDF => {
                            let desc = sym.n_desc(endian);
                            let library = two_level
                                .then(|| match sym.library_ordinal(endian) {
                                    macho::SELF_LIBRARY_ORDINAL => Some("<self>".to_owned()),
                                    macho::DYNAMIC_LOOKUP_ORDINAL => {
                                        Some("<dynamic lookup>".to_owned())
                                    }
                                    macho::EXECUTABLE_ORDINAL => Some("<executable>".to_owned()),
                                    n => libraries.get(usize::from(n) - 1).map(|s| (*s).to_owned()),
                                })
                                .flatten();
                            imports.push(json!({
                                "name": name,
                                "library": library,
                                "weak": desc & macho::N_WEAK_REF != 0,
                            }));
                        }
                        macho::N_SECT | macho::N_ABS | macho::N_INDR
                            if n_type & macho::N_PEXT == 0 =>
                        {
                            exports.push(json!({
                                "name": name,
                                "value": sym.n_value(endian).into(),
                            }));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    let results = json!({
        "fat": false,
        "magic": magic,
        "endianness": if header.is_little_endian() { "little" } else { "big" },
        "cpu_type": cpu_type(cputype),
        "cpu_subtype": cpusubtype & !macho::CPU_SUBTYPE_MASK,
        "arch": arch_name(cputype, cpusubtype),
        "file_type": file_type(header.filetype(endian)),
        "flags": header_flags(flags),
        "flags_value": flags,
        "ncmds": ncmds,
        "load_commands": load_commands,
        "segments": segments,
        "dylibs": dylibs,
        "id_dylib": id_dylib,
        "rpaths": rpaths,
        "dylinker": dylinker,
        "entry_point": entry_point,
        "uuid": uuid,
        "code_signature": code_signature,
        "signed": code_signature.is_some(),
        "encrypted": encrypted,
        "min_os": min_os,
        "symbol_count": symbol_count,
        "imports": imports,
        "exports": exports,
    });
    Ok((results, errors))
}
