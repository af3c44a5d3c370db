//! Both workers on samples built here ([`samples`]), run through [`PluginTest`] as the host
//! runs them. Expected values were checked with reference tools on the same bytes
//! (`STOQ_GOLDEN_SAMPLES=DIR cargo test -p stoq-plugin-unix-exec golden` writes them out):
//! ELF with GNU readelf 2.40 (`readelf -W -h -l -S -d --dyn-syms -s -n -V`), Mach-O with LIEF
//! 1.0.0 (`lief.MachO.parse`).

mod samples;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use object::macho;
use object::{Architecture, Endianness};
use sha2::{Digest, Sha256};
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::testing::{PluginTest, TestError, golden};

use stoq_tests::response::{messages, results};

use crate::{ElfInfo, MachoInfo};

fn elf(data: &[u8]) -> WorkerResponse {
    PluginTest::<ElfInfo>::new()
        .scan(data)
        .expect("elfinfo scans")
}

fn macho(data: &[u8]) -> WorkerResponse {
    PluginTest::<MachoInfo>::new()
        .scan(data)
        .expect("machoinfo scans")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v["name"].as_str().expect("a name"))
        .collect()
}

/// Either a response (with its problems) or a plain failure; never a panic or a broken
/// response, and quickly.
fn survives<T: Plugin + Worker>(
    test: &PluginTest<T>,
    data: &[u8],
) -> Result<WorkerResponse, TestError> {
    let start = Instant::now();
    let outcome = test.scan(data);
    assert!(
        !matches!(outcome, Err(TestError::Panicked(_) | TestError::Invalid(_))),
        "{outcome:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    outcome
}

fn put_u16(data: &mut [u8], at: usize, v: u16) {
    data[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(data: &mut [u8], at: usize, v: u32) {
    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(data: &mut [u8], at: usize, v: u64) {
    data[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

fn get_u64(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap())
}

/// The file offset of section header `index` of a 64-bit little-endian ELF.
fn shdr(data: &[u8], index: usize) -> usize {
    get_u64(data, 0x28) as usize + 64 * index
}

#[test]
fn a_dynamic_pie_is_described_as_readelf_describes_it() {
    let response = elf(&samples::elf_pie(false));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    // readelf -h
    assert_eq!(r["class"], "ELF64");
    assert_eq!(r["endianness"], "little");
    assert_eq!(r["os_abi"], "SYSV");
    assert_eq!(r["type"], "DYN");
    assert_eq!(r["machine"], "x86_64");
    assert_eq!(r["entry_point"], 0x320);
    assert_eq!(r["entry_section"], ".text");
    // readelf -l: type, offset, filesz, flags
    let phdrs: Vec<(&str, u64, u64, &str)> = r["program_headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap(),
                p["offset"].as_u64().unwrap(),
                p["filesz"].as_u64().unwrap(),
                p["flags"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phdrs,
        [
            ("PHDR", 0x40, 0x150, "R"),
            ("INTERP", 0x190, 0x1c, "R"),
            ("LOAD", 0, 0x4ec, "RE"),
            ("DYNAMIC", 0x360, 0xc0, "RW"),
            ("NOTE", 0x1ac, 0x24, "R"),
            ("GNU_STACK", 0, 0, "RW"),
        ]
    );
    // readelf -S: name, type, offset, size, flags
    let sections: Vec<(&str, &str, u64, u64, &str)> = r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["type"].as_str().unwrap(),
                s["offset"].as_u64().unwrap(),
                s["size"].as_u64().unwrap(),
                s["flags"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sections,
        [
            (".interp", "PROGBITS", 0x190, 0x1c, "A"),
            (".note.gnu.build-id", "NOTE", 0x1ac, 0x24, "A"),
            (".dynsym", "DYNSYM", 0x1d0, 0x90, "A"),
            (".dynstr", "STRTAB", 0x29c, 0x7b, "A"),
            (".gnu.version", "VERSYM", 0x260, 0xc, "A"),
            (".gnu.version_r", "VERNEED", 0x26c, 0x30, "A"),
            (".text", "PROGBITS", 0x320, 0x40, "AX"),
            (".dynamic", "DYNAMIC", 0x360, 0xc0, "WA"),
            (".symtab", "SYMTAB", 0x420, 0x48, ""),
            (".strtab", "STRTAB", 0x468, 0x13, ""),
            (".shstrtab", "STRTAB", 0x47b, 0x71, ""),
        ]
    );
    // 16 byte values, 4 times each: 4 bits per byte.
    assert_eq!(r["sections"][6]["entropy"], 4.0);
    // readelf -l ("Requesting program interpreter"), -d, -n
    assert_eq!(r["interpreter"], "/lib64/ld-linux-x86-64.so.2");
    assert_eq!(r["needed"], json!(["libc.so.6", "libm.so.6"]));
    assert_eq!(r["runpath"], "$ORIGIN/../lib");
    assert_eq!(r["rpath"], Value::Null);
    assert_eq!(r["soname"], Value::Null);
    assert_eq!(
        r["dynamic_flags_1"],
        u64::from(object::elf::DF_1_NOW | object::elf::DF_1_PIE)
    );
    assert_eq!(r["build_id"], "deadbeef00112233445566778899aabbccddeeff");
    assert_eq!(r["notes"], json!([{"owner": "GNU", "type": 3, "size": 20}]));
    // readelf --dyn-syms: undefined ones are imports, with their versions; the hidden
    // definition is not exported.
    assert_eq!(r["symbols_from"], ".dynsym");
    assert_eq!(r["dynamic_symbol_count"], 6);
    assert_eq!(r["symbol_count"], 3);
    assert_eq!(
        r["imports"],
        json!([
            {"name": "puts", "type": "FUNC", "binding": "GLOBAL", "version": "GLIBC_2.2.5"},
            {"name": "__libc_start_main", "type": "FUNC", "binding": "GLOBAL", "version": "GLIBC_2.34"},
            {"name": "__gmon_start__", "type": "NOTYPE", "binding": "WEAK", "version": null},
        ])
    );
    assert_eq!(
        r["exports"],
        json!([{"name": "stoq_exported", "type": "FUNC", "binding": "GLOBAL", "version": null, "value": 0x330}])
    );
    assert_eq!(r["stripped"], false);
    assert_eq!(r["statically_linked"], false);
    assert_eq!(r["pie"], true);
}

#[test]
fn a_stripped_pie_says_so() {
    let r = elf(&samples::elf_pie(true));
    let r = results(&r);
    assert_eq!(r["stripped"], true);
    assert_eq!(r["symbol_count"], 0);
    assert_eq!(names(&r["exports"]), ["stoq_exported"]);
    assert_eq!(r["sections"].as_array().unwrap().len(), 9);
}

#[test]
fn a_big_endian_32_bit_object_reads_its_symtab() {
    let response = elf(&samples::elf_object(Architecture::PowerPc, Endianness::Big));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    assert_eq!(r["class"], "ELF32");
    assert_eq!(r["endianness"], "big");
    assert_eq!(r["type"], "REL");
    assert_eq!(r["machine"], "ppc");
    assert_eq!(r["symbols_from"], ".symtab");
    assert_eq!(names(&r["imports"]), ["printf"]);
    assert_eq!(names(&r["exports"]), ["stoq_function"]);
    assert_eq!(r["statically_linked"], Value::Null);
    assert_eq!(r["interpreter"], Value::Null);
    assert_eq!(r["program_headers"], json!([]));
}

#[test]
fn without_section_headers_the_segments_still_give_libraries_and_build_id() {
    let mut pie = samples::elf_pie(false);
    put_u64(&mut pie, 0x28, 0); // e_shoff
    put_u16(&mut pie, 0x3c, 0); // e_shnum
    put_u16(&mut pie, 0x3e, 0); // e_shstrndx
    let response = elf(&pie);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    assert_eq!(r["sections"], json!([]));
    assert_eq!(r["needed"], json!(["libc.so.6", "libm.so.6"]));
    assert_eq!(r["runpath"], "$ORIGIN/../lib");
    assert_eq!(r["build_id"], "deadbeef00112233445566778899aabbccddeeff");
    assert_eq!(r["pie"], true);
}

#[test]
fn truncated_elf_files_are_errors_not_panics() {
    let pie = samples::elf_pie(false);
    let test = PluginTest::<ElfInfo>::new();
    for cut in 0..pie.len() {
        let outcome = survives(&test, &pie[..cut]);
        if cut < 64 {
            assert!(
                matches!(outcome, Err(TestError::Failed(_))),
                "{cut}: {outcome:?}"
            );
        }
    }
    // Cut inside the section headers: the program headers are still read.
    let response = elf(&pie[..pie.len() - 10]);
    let r = results(&response);
    assert_eq!(r["interpreter"], "/lib64/ld-linux-x86-64.so.2");
    assert!(
        messages(&response)[0].starts_with("section headers (e_shoff 0x4f0, e_shnum 12): "),
        "{:?}",
        response.errors
    );
    for bad in [&b"\x7fELF"[..], b"MZ\x90\x00", b""] {
        assert!(
            matches!(survives(&test, bad), Err(TestError::Failed(m)) if m.starts_with("not an ELF file"))
        );
    }
}

#[test]
fn hostile_elf_counts_and_offsets_are_bounded() {
    let pie = samples::elf_pie(false);
    let test = PluginTest::<ElfInfo>::new();
    // 2^32 - 1 sections through the extended count (e_shnum 0, section 0's sh_size).
    let mut huge = pie.clone();
    put_u16(&mut huge, 0x3c, 0);
    let s0 = shdr(&huge, 0);
    put_u64(&mut huge, s0 + 32, u64::from(u32::MAX));
    let response = survives(&test, &huge).unwrap();
    assert!(
        messages(&response)[0].starts_with("section headers (e_shoff 0x4f0, e_shnum 0): "),
        "{:?}",
        response.errors
    );
    assert_eq!(
        results(&response)["needed"],
        json!(["libc.so.6", "libm.so.6"])
    );
    // 65,534 program headers (65,535 means "see section 0").
    let mut many = pie.clone();
    put_u16(&mut many, 0x38, 0xfffe);
    let response = survives(&test, &many).unwrap();
    assert!(messages(&response)[0].starts_with("program headers (e_phoff 0x40, e_phnum 65534): "));
    // A section whose size runs to the end of the address space: cut at the end of the file.
    let mut long = pie.clone();
    let text = shdr(&long, 7);
    put_u64(&mut long, text + 32, u64::MAX);
    let response = survives(&test, &long).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "section 7 .text: its {} bytes at offset 0x320 run past the end of the file; {} bytes present",
            u64::MAX,
            long.len() - 0x320
        )]
    );
    // Version needs that repeat one record 65,535 times per entry: bounded.
    let mut versions = pie.clone();
    put_u16(&mut versions, 0x26c + 2, 0xffff); // vn_cnt
    let response = survives(&test, &versions).unwrap();
    assert_eq!(results(&response)["imports"][0]["version"], "GLIBC_2.2.5");
    // Names pointing outside the string table.
    let mut names = pie.clone();
    let dynsym = 0x1d0;
    put_u32(&mut names, dynsym + 24, u32::MAX);
    let response = survives(&test, &names).unwrap();
    assert_eq!(
        names_of(&results(&response)["imports"]),
        ["__libc_start_main", "__gmon_start__"]
    );
    // Every byte flipped in turn, past the identification bytes.
    for at in 16..pie.len() {
        let mut broken = pie.clone();
        broken[at] ^= 0xff;
        let _ = survives(&test, &broken);
    }
}

fn names_of(list: &Value) -> Vec<&str> {
    names(list)
}

#[test]
fn elf_limits_are_options() {
    let pie = samples::elf_pie(false);
    // Sections past the limit are not walked for anything (here `.dynsym` is the third).
    let response = PluginTest::<ElfInfo>::new()
        .option("max_sections", 2)
        .option("max_entropy_bytes", 30)
        .scan(&pie)
        .unwrap();
    let r = results(&response);
    assert_eq!(names(&r["sections"]), [".interp", ".note.gnu.build-id"]);
    assert_eq!(
        r["sections"][0]["entropy"].as_f64().map(|e| e > 3.9),
        Some(true)
    );
    assert_eq!(r["sections"][1]["entropy"], Value::Null);
    assert_eq!(r["imports"], json!([]));
    assert_eq!(
        messages(&response),
        [
            "limit max_sections (2) reached: 9 of 11 sections not listed",
            "limit max_entropy_bytes (30) reached: the entropy of 1 sections not computed",
        ]
    );
    // Three symbols read: the null one, puts, __libc_start_main.
    let response = PluginTest::<ElfInfo>::new()
        .option("max_symbols", 3)
        .scan(&pie)
        .unwrap();
    assert_eq!(
        names(&results(&response)["imports"]),
        ["puts", "__libc_start_main"]
    );
    assert_eq!(
        messages(&response),
        ["limit max_symbols (3) reached: 3 of 6 symbols not listed"]
    );
    for (key, value, message) in [
        (
            "max_symbols",
            json!(-1),
            "plugin `elfinfo`: option `max_symbols`: must be >= 0, got -1",
        ),
        (
            "max_sections",
            json!("many"),
            "plugin `elfinfo`: option `max_sections`: expected an integer, got \"many\"",
        ),
    ] {
        assert_eq!(
            PluginTest::<ElfInfo>::new()
                .option(key, value)
                .scan(&pie)
                .unwrap_err(),
            TestError::Config(message.to_owned())
        );
    }
}

#[test]
fn a_mach_o_executable_is_described_as_lief_describes_it() {
    let response = macho(&samples::macho_exe(macho::CPU_TYPE_X86_64));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert!(response.extracted.is_empty());
    let r = results(&response);
    assert_eq!(r["fat"], false);
    assert_eq!(r["magic"], "MH_MAGIC_64");
    assert_eq!(r["endianness"], "little");
    assert_eq!(r["cpu_type"], "x86_64");
    assert_eq!(r["cpu_subtype"], 3);
    assert_eq!(r["file_type"], "EXECUTE");
    assert_eq!(
        r["flags"],
        json!(["NOUNDEFS", "DYLDLINK", "TWOLEVEL", "PIE"])
    );
    assert_eq!(r["flags_value"], 0x0020_0085);
    assert_eq!(r["ncmds"], 14);
    let commands: Vec<&str> = r["load_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cmd"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "LC_SEGMENT_64",
            "LC_SEGMENT_64",
            "LC_SEGMENT_64",
            "LC_SEGMENT_64",
            "LC_LOAD_DYLINKER",
            "LC_UUID",
            "LC_BUILD_VERSION",
            "LC_MAIN",
            "LC_LOAD_DYLIB",
            "LC_LOAD_WEAK_DYLIB",
            "LC_REEXPORT_DYLIB",
            "LC_RPATH",
            "LC_SYMTAB",
            "LC_CODE_SIGNATURE",
        ]
    );
    assert_eq!(
        names(&r["segments"]),
        ["__PAGEZERO", "__TEXT", "__DATA", "__LINKEDIT"]
    );
    assert_eq!(r["segments"][1]["initprot"], "r-x");
    let text = &r["segments"][1]["sections"][0];
    assert_eq!(
        (
            &text["name"],
            &text["address"],
            &text["size"],
            &text["offset"],
            &text["entropy"]
        ),
        (
            &json!("__text"),
            &json!(0x1_0000_1000u64),
            &json!(64),
            &json!(0x1000),
            &json!(4.0)
        )
    );
    // 32 bytes of one value; zero-fill has no bytes in the file.
    assert_eq!(r["segments"][2]["sections"][0]["entropy"], 0.0);
    assert_eq!(r["segments"][2]["sections"][1]["entropy"], Value::Null);
    assert_eq!(
        r["dylibs"],
        json!([
            {"name": "/usr/lib/libSystem.B.dylib", "kind": "load", "current_version": "1319.0.0", "compatibility_version": "1.0.0"},
            {"name": "/usr/local/lib/libweak.dylib", "kind": "weak", "current_version": "1.2.3", "compatibility_version": "1.0.0"},
            {"name": "@rpath/libre.dylib", "kind": "reexport", "current_version": "2.0.0", "compatibility_version": "1.0.0"},
        ])
    );
    assert_eq!(r["rpaths"], json!(["@executable_path/../Frameworks"]));
    assert_eq!(r["dylinker"], "/usr/lib/dyld");
    assert_eq!(
        r["entry_point"],
        json!({"command": "LC_MAIN", "entryoff": 0x1000, "stacksize": 0})
    );
    assert_eq!(r["uuid"], "01234567-89AB-CDEF-0123-456789ABCDEF");
    assert_eq!(r["code_signature"], json!({"offset": 0x3090, "size": 16}));
    assert_eq!(r["signed"], true);
    assert_eq!(
        r["min_os"],
        json!({"platform": "macos", "version": "11.0", "sdk": "13.1"})
    );
    assert_eq!(r["symbol_count"], 6);
    assert_eq!(
        r["imports"],
        json!([
            {"name": "_printf", "library": "/usr/lib/libSystem.B.dylib", "weak": false},
            {"name": "_maybe", "library": "/usr/local/lib/libweak.dylib", "weak": true},
        ])
    );
    // `_hidden` is a private external, `_local` not external, `main.c` a debug entry.
    assert_eq!(
        r["exports"],
        json!([{"name": "_main", "value": 0x1_0000_1000u64}])
    );
}

#[test]
fn an_lc_unixthread_entry_point_is_its_pc() {
    let r = macho(&samples::macho_exe(macho::CPU_TYPE_ARM64));
    let r = results(&r);
    assert_eq!(r["cpu_type"], "arm64");
    assert_eq!(r["arch"], "arm64");
    assert_eq!(
        r["entry_point"],
        json!({"command": "LC_UNIXTHREAD", "pc": 0x1_0000_1000u64})
    );
}

#[test]
fn a_mach_o_object_written_by_object_is_read() {
    let response = macho(&samples::macho_object(Architecture::I386));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    assert_eq!(r["magic"], "MH_MAGIC");
    assert_eq!(r["cpu_type"], "i386");
    assert_eq!(r["file_type"], "OBJECT");
    assert_eq!(names(&r["imports"]), ["__printf"]);
    assert_eq!(r["imports"][0]["library"], Value::Null);
    assert_eq!(names(&r["exports"]), ["__stoq_function"]);
}

#[test]
fn a_fat_binary_is_split_into_its_architectures() {
    let x86 = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let arm = samples::macho_exe(macho::CPU_TYPE_ARM64);
    for is_64 in [false, true] {
        let fat = samples::fat(&[&x86, &arm], is_64);
        let response = macho(&fat);
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let r = results(&response);
        assert_eq!(r["fat"], true);
        assert_eq!(r["fat_64"], is_64);
        assert_eq!(
            r["architectures"],
            json!([
                {"cpu_type": "x86_64", "cpu_subtype": 3, "arch": "x86_64", "offset": 4096, "size": x86.len(), "align": 12},
                {"cpu_type": "arm64", "cpu_subtype": 0, "arch": "arm64", "offset": 20480, "size": arm.len(), "align": 12},
            ])
        );
        let children: Vec<(&Value, &Value)> = response
            .extracted
            .iter()
            .map(|e| {
                (
                    &e.payload_meta.extra_data["filename"],
                    &e.payload_meta.extra_data["cpu_type"],
                )
            })
            .collect();
        assert_eq!(
            children,
            [
                (&json!("arch-x86_64"), &json!("x86_64")),
                (&json!("arch-arm64"), &json!("arm64"))
            ]
        );
        assert_eq!(response.extracted[0].content, x86);
        assert_eq!(response.extracted[1].content, arm);
        // Left to the router: no dispatch_to of its own.
        assert!(response.extracted[0].payload_meta.dispatch_to.is_empty());
        // Each child is a thin file machoinfo reads.
        assert_eq!(
            results(&macho(&response.extracted[1].content))["cpu_type"],
            "arm64"
        );
    }
}

/// A fat header whose second entry is rewritten by `edit(entry_offset, data)`.
fn fat_with(edit: impl Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
    let x86 = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let arm = samples::macho_exe(macho::CPU_TYPE_ARM64);
    let mut fat = samples::fat(&[&x86, &arm], false);
    edit(8 + 20, &mut fat);
    fat
}

#[test]
fn hostile_fat_headers_extract_nothing_they_should_not() {
    let test = PluginTest::<MachoInfo>::new();
    // 2^31 architectures: refused unread.
    let mut huge = fat_with(|_, _| {});
    huge[4..8].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    let response = survives(&test, &huge).unwrap();
    assert!(response.extracted.is_empty());
    assert_eq!(
        messages(&response),
        ["fat header: nfat_arch 2147483648 is over max_fat_archs (64); no architecture read"]
    );
    // A Java class file starts with CAFEBABE too.
    let class = [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, 0, 10];
    assert_eq!(
        survives(&test, &class),
        Err(TestError::Failed(
            "not a fat Mach-O file: CAFEBABE then 52 is a Java class file (class version 52)"
                .into()
        ))
    );
    // The second slice overlaps the first.
    let overlap = fat_with(|at, f| f[at + 8..at + 12].copy_from_slice(&4096u32.to_be_bytes()));
    let response = survives(&test, &overlap).unwrap();
    assert_eq!(response.extracted.len(), 1);
    assert_eq!(
        messages(&response),
        [
            "fat architecture 1 (arm64): its bytes 0x1000..0x40a0 overlap those of arch-x86_64 (0x1000..0x40a0); not extracted"
        ]
    );
    // Past the end of the file, and inside the fat header.
    let past = fat_with(|at, f| f[at + 12..at + 16].copy_from_slice(&u32::MAX.to_be_bytes()));
    let response = survives(&test, &past).unwrap();
    assert_eq!(response.extracted.len(), 1);
    assert!(
        messages(&response)[0].contains("lie outside the file"),
        "{:?}",
        response.errors
    );
    let inside = fat_with(|at, f| f[at + 8..at + 12].copy_from_slice(&8u32.to_be_bytes()));
    let response = survives(&test, &inside).unwrap();
    assert!(
        messages(&response)[0].contains("inside the fat header"),
        "{:?}",
        response.errors
    );
    // A fat table cut short.
    let response = survives(&test, &overlap[..30]).unwrap();
    assert_eq!(
        messages(&response),
        [
            "fat architecture 0 (x86_64): its 12448 bytes at offset 0x1000 lie outside the file (30 bytes); not extracted",
            "fat architecture 1: its entry at offset 0x1c runs past the end of the file",
        ]
    );
    // The host's limits: room for one slice only.
    let fat = fat_with(|_, _| {});
    let response = PluginTest::<MachoInfo>::new()
        .limits(HostLimits::new(u64::MAX, 13_000, 100))
        .scan(&fat)
        .unwrap();
    assert_eq!(response.extracted.len(), 1);
    assert_eq!(
        messages(&response),
        ["arch-arm64: the request's extraction limits are reached; not extracted"]
    );
    // Two slices of one architecture get distinct names.
    let x86 = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let response = macho(&samples::fat(&[&x86, &x86], false));
    let names: Vec<&Value> = response
        .extracted
        .iter()
        .map(|e| &e.payload_meta.extra_data["filename"])
        .collect();
    assert_eq!(names, [&json!("arch-x86_64"), &json!("arch-x86_64-2")]);
}

#[test]
fn truncated_and_hostile_mach_o_files_are_errors_not_panics() {
    let exe = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let test = PluginTest::<MachoInfo>::new();
    // Every offset through the load commands, then every 61st byte of the contents (mostly
    // padding) and every offset of the symbol table, strings and signature.
    let cuts = (0..exe.len()).filter(|&c| c < 0x400 || c % 61 == 0 || c >= 0x3000);
    for cut in cuts {
        let outcome = survives(&test, &exe[..cut]);
        if cut < 32 {
            assert!(
                matches!(outcome, Err(TestError::Failed(_))),
                "{cut}: {outcome:?}"
            );
        }
    }
    // The load commands claim more bytes than the file has.
    let mut big = exe.clone();
    put_u32(&mut big, 20, u32::MAX);
    let response = survives(&test, &big).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "load commands (ncmds 14, sizeofcmds {}): Invalid Mach-O load command table size",
            u32::MAX
        )]
    );
    // 2^32 - 1 load commands in the same bytes.
    let mut many = exe.clone();
    put_u32(&mut many, 16, u32::MAX);
    let response = survives(&test, &many).unwrap();
    assert_eq!(
        results(&response)["load_commands"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    assert!(messages(&response)[0].starts_with("load command 14 (of 4294967295): "));
    // Find a load command by its cmd.
    let command = |data: &[u8], cmd: u32| {
        let mut at = 32;
        while get_u32(data, at) != cmd {
            at += get_u32(data, at + 4) as usize;
        }
        at
    };
    // A symbol table and a code signature outside the file, 2^32 symbols.
    let mut outside = exe.clone();
    let symtab = command(&outside, macho::LC_SYMTAB);
    put_u32(&mut outside, symtab + 8, 0x7fff_0000);
    let signature = command(&outside, macho::LC_CODE_SIGNATURE);
    put_u32(&mut outside, signature + 8, 0x7fff_0000);
    let response = survives(&test, &outside).unwrap();
    assert_eq!(
        messages(&response),
        [
            "LC_CODE_SIGNATURE: its 16 bytes at offset 0x7fff0000 lie outside the file",
            "LC_SYMTAB: its 6 symbols at offset 0x7fff0000 run past the end of the file",
            "LC_SYMTAB: its 6 symbols at offset 0x7fff0000 lie outside the file",
        ]
    );
    let mut nsyms = exe.clone();
    put_u32(&mut nsyms, symtab + 12, u32::MAX);
    let response = survives(&test, &nsyms).unwrap();
    assert_eq!(
        messages(&response)[0],
        "limit max_symbols (20000) reached: 4294947295 of 4294967295 symbols not read"
    );
    // A segment claiming 2^32 sections.
    let mut nsects = exe.clone();
    let text_segment = 32 + 72;
    put_u32(&mut nsects, text_segment + 64, u32::MAX);
    let response = survives(&test, &nsects).unwrap();
    assert!(messages(&response)[0].starts_with("segment __TEXT: its 4294967295 sections: "));
    // A string offset outside its load command.
    let mut rpath = exe.clone();
    let at = command(&rpath, macho::LC_RPATH);
    put_u32(&mut rpath, at + 8, 0xffff);
    let response = survives(&test, &rpath).unwrap();
    assert_eq!(
        results(&response)["rpaths"],
        json!(["<string at 0xffff outside the command>"])
    );
    for at in 0..0x400 {
        let mut broken = exe.clone();
        broken[at] ^= 0xff;
        let _ = survives(&test, &broken);
    }
    assert!(
        matches!(survives(&test, b"\x7fELF..."), Err(TestError::Failed(m)) if m.starts_with("not a Mach-O file"))
    );
}

#[test]
fn mach_o_limits_are_options() {
    let exe = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let response = PluginTest::<MachoInfo>::new()
        .option("max_load_commands", 3)
        .option("max_sections", 1)
        .scan(&exe)
        .unwrap();
    assert_eq!(
        messages(&response),
        [
            "limit max_load_commands (3) reached: the header declares 14; the rest are not read",
            "limit max_sections (1) reached: 3 sections not listed",
        ]
    );
    assert_eq!(
        PluginTest::<MachoInfo>::new()
            .option("max_fat_archs", -3)
            .scan(&exe)
            .unwrap_err(),
        TestError::Config(
            "plugin `machoinfo`: option `max_fat_archs`: must be >= 0, got -3".into()
        )
    );
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The whole answer on each sample. After an intended change, regenerate and review:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-unix-exec golden`
/// (`STOQ_GOLDEN_SAMPLES=DIR` also writes the samples there, for readelf and LIEF).
#[test]
fn golden_files() {
    let x86 = samples::macho_exe(macho::CPU_TYPE_X86_64);
    let arm = samples::macho_exe(macho::CPU_TYPE_ARM64);
    let digest = |b: &[u8]| hex::encode(Sha256::digest(b));
    let elf_test = PluginTest::<ElfInfo>::new();
    let macho_test = PluginTest::<MachoInfo>::new();
    let mut cases = Vec::new();
    for (name, data) in [
        ("pie.elf", samples::elf_pie(false)),
        ("pie_stripped.elf", samples::elf_pie(true)),
        (
            "ppc.o",
            samples::elf_object(Architecture::PowerPc, Endianness::Big),
        ),
    ] {
        golden::dump_sample(name, &data);
        cases.push((
            format!("{name}.json"),
            golden::worker_output(&elf_test.scan(&data), digest),
        ));
    }
    for (name, data) in [
        ("x86_64.macho", x86.clone()),
        ("arm64.macho", arm.clone()),
        ("fat.macho", samples::fat(&[&x86, &arm], false)),
        ("i386.o", samples::macho_object(Architecture::I386)),
    ] {
        golden::dump_sample(name, &data);
        cases.push((
            format!("{name}.json"),
            golden::worker_output(&macho_test.scan(&data), digest),
        ));
    }
    golden::check(&golden_dir(), env!("CARGO_PKG_NAME"), &cases);
}
