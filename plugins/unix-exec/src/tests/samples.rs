//! Samples built at test time: ELF files with `object::write` (the low-level ELF writer for a
//! dynamically linked PIE with versioned imports, the object writer for relocatable files),
//! Mach-O executables by hand (`object::write` writes only `MH_OBJECT`), and fat binaries by
//! concatenating thin ones behind a fat header.

use object::Endianness;
use object::elf;
use object::macho;
use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Sym, Vernaux, Verneed, Writer};
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, SymbolFlags, SymbolKind, SymbolScope};

pub const INTERP: &[u8] = b"/lib64/ld-linux-x86-64.so.2\0";
pub const BUILD_ID: [u8; 20] = [
    0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xdd, 0xee, 0xff,
];
/// 64 bytes of "code": 16 distinct values, four times each... 4 bits of entropy per byte.
pub fn text() -> Vec<u8> {
    (0..64u8).map(|i| 0x90 + (i % 16)).collect()
}

/// A little-endian x86_64 PIE (`ET_DYN`, `DF_1_PIE`) linked against libc.so.6 and libm.so.6,
/// with a runpath, versioned imports (`puts@GLIBC_2.2.5`, `__libc_start_main@GLIBC_2.34`), a
/// weak `__gmon_start__`, an exported `stoq_exported` and a hidden `stoq_hidden`, a GNU build
/// id note, and a `.symtab` unless `stripped`. Addresses equal file offsets.
pub fn elf_pie(stripped: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer::new(Endianness::Little, true, &mut out);
    let libc = w.add_dynamic_string(b"libc.so.6");
    let libm = w.add_dynamic_string(b"libm.so.6");
    let runpath = w.add_dynamic_string(b"$ORIGIN/../lib");
    let v225 = w.add_dynamic_string(b"GLIBC_2.2.5");
    let v234 = w.add_dynamic_string(b"GLIBC_2.34");
    let s_puts = w.add_dynamic_string(b"puts");
    let s_start = w.add_dynamic_string(b"__libc_start_main");
    let s_gmon = w.add_dynamic_string(b"__gmon_start__");
    let s_exported = w.add_dynamic_string(b"stoq_exported");
    let s_hidden = w.add_dynamic_string(b"stoq_hidden");

    w.reserve_null_section_index();
    let interp_name = w.add_section_name(b".interp");
    let _interp_index = w.reserve_section_index();
    let note_name = w.add_section_name(b".note.gnu.build-id");
    let _note_index = w.reserve_section_index();
    let _dynsym_index = w.reserve_dynsym_section_index();
    let _dynstr_index = w.reserve_dynstr_section_index();
    let _versym_index = w.reserve_gnu_versym_section_index();
    let _verneed_index = w.reserve_gnu_verneed_section_index();
    let text_name = w.add_section_name(b".text");
    let text_index = w.reserve_section_index();
    let _dynamic_index = w.reserve_dynamic_section_index();
    let (mut l_main, mut l_local) = (None, None);
    if !stripped {
        l_main = Some(w.add_string(b"main"));
        l_local = Some(w.add_string(b"local_helper"));
        w.reserve_symtab_section_index();
        w.reserve_strtab_section_index();
    }
    w.reserve_shstrtab_section_index();

    let n_phdr = 6;
    w.reserve_file_header();
    w.reserve_program_headers(n_phdr);
    let interp_off = w.reserve(INTERP.len(), 1);
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes());
    note.extend_from_slice(&20u32.to_le_bytes());
    note.extend_from_slice(&elf::NT_GNU_BUILD_ID.to_le_bytes());
    note.extend_from_slice(b"GNU\0");
    note.extend_from_slice(&BUILD_ID);
    let note_off = w.reserve(note.len(), 4);
    w.reserve_null_dynamic_symbol_index();
    for _ in 0..5 {
        w.reserve_dynamic_symbol_index();
    }
    let dynsym_off = w.reserve_dynsym();
    let versym_off = w.reserve_gnu_versym();
    let verneed_off = w.reserve_gnu_verneed(1, 2);
    let dynstr_off = w.reserve_dynstr();
    let text = text();
    let text_off = w.reserve(text.len(), 16);
    let n_dyn = 12;
    let dynamic_off = w.reserve_dynamic(n_dyn);
    if !stripped {
        w.reserve_null_symbol_index();
        w.reserve_symbol_index(Some(text_index));
        w.reserve_symbol_index(Some(text_index));
        w.reserve_symtab();
        w.reserve_strtab();
    }
    w.reserve_shstrtab();
    let loaded = w.reserved_len();
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_SYSV,
        abi_version: 0,
        e_type: elf::ET_DYN,
        e_machine: elf::EM_X86_64,
        e_entry: text_off as u64,
        e_flags: 0,
    })
    .unwrap();
    w.write_align_program_headers();
    let ph = |p_type, p_flags, offset: usize, size: usize, align| ProgramHeader {
        p_type,
        p_flags,
        p_offset: offset as u64,
        p_vaddr: offset as u64,
        p_paddr: offset as u64,
        p_filesz: size as u64,
        p_memsz: size as u64,
        p_align: align,
    };
    w.write_program_header(&ph(elf::PT_PHDR, elf::PF_R, 64, 56 * n_phdr as usize, 8));
    w.write_program_header(&ph(elf::PT_INTERP, elf::PF_R, interp_off, INTERP.len(), 1));
    w.write_program_header(&ph(elf::PT_LOAD, elf::PF_R | elf::PF_X, 0, loaded, 0x1000));
    w.write_program_header(&ph(
        elf::PT_DYNAMIC,
        elf::PF_R | elf::PF_W,
        dynamic_off,
        n_dyn * 16,
        8,
    ));
    w.write_program_header(&ph(elf::PT_NOTE, elf::PF_R, note_off, note.len(), 4));
    w.write_program_header(&ph(elf::PT_GNU_STACK, elf::PF_R | elf::PF_W, 0, 0, 16));
    w.pad_until(interp_off);
    w.write(INTERP);
    w.pad_until(note_off);
    w.write(&note);

    w.write_null_dynamic_symbol();
    let undefined = |name, kind, bind| Sym {
        name: Some(name),
        section: None,
        st_info: (bind << 4) | kind,
        st_other: elf::STV_DEFAULT,
        st_shndx: elf::SHN_UNDEF,
        st_value: 0,
        st_size: 0,
    };
    w.write_dynamic_symbol(&undefined(s_puts, elf::STT_FUNC, elf::STB_GLOBAL));
    w.write_dynamic_symbol(&undefined(s_start, elf::STT_FUNC, elf::STB_GLOBAL));
    w.write_dynamic_symbol(&undefined(s_gmon, elf::STT_NOTYPE, elf::STB_WEAK));
    let defined = |name, other, value| Sym {
        name: Some(name),
        section: Some(text_index),
        st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
        st_other: other,
        st_shndx: 0,
        st_value: value,
        st_size: 16,
    };
    w.write_dynamic_symbol(&defined(s_exported, elf::STV_DEFAULT, text_off as u64 + 16));
    w.write_dynamic_symbol(&defined(s_hidden, elf::STV_HIDDEN, text_off as u64 + 32));
    w.write_null_gnu_versym();
    for version in [2, 3, 1, 1, 1] {
        w.write_gnu_versym(version);
    }
    w.write_align_gnu_verneed();
    w.write_gnu_verneed(&Verneed {
        version: 1,
        aux_count: 2,
        file: libc,
    });
    w.write_gnu_vernaux(&Vernaux {
        flags: 0,
        index: 2,
        name: v225,
    });
    w.write_gnu_vernaux(&Vernaux {
        flags: 0,
        index: 3,
        name: v234,
    });
    w.write_dynstr();
    w.pad_until(text_off);
    w.write(&text);
    w.write_align_dynamic();
    w.write_dynamic_string(elf::DT_NEEDED, libc).unwrap();
    w.write_dynamic_string(elf::DT_NEEDED, libm).unwrap();
    w.write_dynamic_string(elf::DT_RUNPATH, runpath).unwrap();
    w.write_dynamic(elf::DT_STRTAB, dynstr_off as u64).unwrap();
    let dynstr_len = w.dynstr_len() as u64;
    w.write_dynamic(elf::DT_STRSZ, dynstr_len).unwrap();
    w.write_dynamic(elf::DT_SYMTAB, dynsym_off as u64).unwrap();
    w.write_dynamic(elf::DT_SYMENT, 24).unwrap();
    w.write_dynamic(elf::DT_VERSYM, versym_off as u64).unwrap();
    w.write_dynamic(elf::DT_VERNEED, verneed_off as u64)
        .unwrap();
    w.write_dynamic(elf::DT_VERNEEDNUM, 1).unwrap();
    w.write_dynamic(elf::DT_FLAGS_1, u64::from(elf::DF_1_PIE | elf::DF_1_NOW))
        .unwrap();
    w.write_dynamic(elf::DT_NULL, 0).unwrap();
    if !stripped {
        w.write_null_symbol();
        w.write_symbol(&Sym {
            name: l_local,
            section: Some(text_index),
            st_info: (elf::STB_LOCAL << 4) | elf::STT_FUNC,
            st_other: 0,
            st_shndx: 0,
            st_value: text_off as u64 + 48,
            st_size: 16,
        });
        w.write_symbol(&Sym {
            name: l_main,
            section: Some(text_index),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: 0,
            st_shndx: 0,
            st_value: text_off as u64,
            st_size: 16,
        });
        w.write_strtab();
    }
    w.write_shstrtab();

    w.write_null_section_header();
    w.write_section_header(&SectionHeader {
        name: Some(interp_name),
        sh_type: elf::SHT_PROGBITS,
        sh_flags: elf::SHF_ALLOC.into(),
        sh_addr: interp_off as u64,
        sh_offset: interp_off as u64,
        sh_size: INTERP.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 1,
        sh_entsize: 0,
    });
    w.write_section_header(&SectionHeader {
        name: Some(note_name),
        sh_type: elf::SHT_NOTE,
        sh_flags: elf::SHF_ALLOC.into(),
        sh_addr: note_off as u64,
        sh_offset: note_off as u64,
        sh_size: note.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 4,
        sh_entsize: 0,
    });
    w.write_dynsym_section_header(dynsym_off as u64, 1);
    w.write_dynstr_section_header(dynstr_off as u64);
    w.write_gnu_versym_section_header(versym_off as u64);
    w.write_gnu_verneed_section_header(verneed_off as u64);
    w.write_section_header(&SectionHeader {
        name: Some(text_name),
        sh_type: elf::SHT_PROGBITS,
        sh_flags: (elf::SHF_ALLOC | elf::SHF_EXECINSTR).into(),
        sh_addr: text_off as u64,
        sh_offset: text_off as u64,
        sh_size: text.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 16,
        sh_entsize: 0,
    });
    w.write_dynamic_section_header(dynamic_off as u64);
    if !stripped {
        w.write_symtab_section_header(2);
        w.write_strtab_section_header();
    }
    w.write_shstrtab_section_header();
    drop(w);
    out
}

/// A relocatable object (`ET_REL`) written by `object::write::Object`: `architecture`'s ELF,
/// defining `stoq_function` in `.text` and calling the undefined `printf`.
pub fn elf_object(architecture: Architecture, endian: Endianness) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, architecture, endian);
    let text = obj.section_id(StandardSection::Text);
    let offset = obj.append_section_data(text, &[0xc3; 32], 16);
    obj.add_symbol(Symbol {
        name: b"stoq_function".to_vec(),
        value: offset,
        size: 32,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    obj.add_symbol(Symbol {
        name: b"printf".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    obj.write().unwrap()
}

/// A Mach-O relocatable object (`MH_OBJECT`) written by `object::write::Object`.
pub fn macho_object(architecture: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::MachO, architecture, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    let offset = obj.append_section_data(text, &[0xc3; 16], 16);
    obj.add_symbol(Symbol {
        name: b"_stoq_function".to_vec(),
        value: offset,
        size: 16,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    obj.add_symbol(Symbol {
        name: b"_printf".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    obj.write().unwrap()
}

pub const UUID: [u8; 16] = [
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
];
pub const VMBASE: u64 = 0x1_0000_0000;

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..name.len()].copy_from_slice(name.as_bytes());
    out
}

fn lc_string(cmd: u32, fixed: &[u8], s: &str) -> Vec<u8> {
    // cmd, cmdsize, then `fixed` (starting with the string's offset), then the string.
    let header = 8 + fixed.len();
    let size = (header + s.len() + 1).next_multiple_of(8);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&cmd.to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(fixed);
    out.extend_from_slice(s.as_bytes());
    out.resize(size, 0);
    out
}

fn dylib(cmd: u32, name: &str, current: u32, compat: u32) -> Vec<u8> {
    let mut fixed = Vec::new();
    fixed.extend_from_slice(&24u32.to_le_bytes()); // name offset
    fixed.extend_from_slice(&2u32.to_le_bytes()); // timestamp
    fixed.extend_from_slice(&current.to_le_bytes());
    fixed.extend_from_slice(&compat.to_le_bytes());
    lc_string(cmd, &fixed, name)
}

fn segment(
    name: &str,
    vmaddr: u64,
    vmsize: u64,
    fileoff: u64,
    filesize: u64,
    prot: u32,
    sections: &[(&str, u64, u64, u32, u32)],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&macho::LC_SEGMENT_64.to_le_bytes());
    out.extend_from_slice(&(72 + 80 * sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&name16(name));
    for v in [vmaddr, vmsize, fileoff, filesize] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&prot.to_le_bytes());
    out.extend_from_slice(&prot.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for &(sect, addr, size, offset, flags) in sections {
        out.extend_from_slice(&name16(sect));
        out.extend_from_slice(&name16(name));
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&4u32.to_le_bytes()); // align
        out.extend_from_slice(&[0; 8]); // reloff, nreloc
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&[0; 12]); // reserved1..3
    }
    out
}

/// A thin 64-bit Mach-O executable for `cpu` (`CPU_TYPE_X86_64` with `LC_MAIN`, or
/// `CPU_TYPE_ARM64` with `LC_UNIXTHREAD`): `__PAGEZERO`, `__TEXT` (`__text`, `__cstring`),
/// `__DATA` (`__data`, zero-fill `__bss`), `__LINKEDIT`; dyld; a UUID; macOS 11.0 (SDK 13.1);
/// libSystem, a weak dylib and a re-exported one; an rpath; a symbol table with `_main`
/// exported, `_hidden` private, `_printf` imported from libSystem and `_maybe` weakly from the
/// weak dylib; a code signature blob.
pub fn macho_exe(cpu: u32) -> Vec<u8> {
    let text = text();
    let cstring = b"hello from stoq\0".to_vec();
    let data = vec![0x41u8; 32];
    let mut commands: Vec<Vec<u8>> = Vec::new();
    // Offsets of the content, after header and commands (sized below, fixed at 0x1000).
    let text_off = 0x1000u32;
    let cstring_off = text_off + text.len() as u32;
    let data_off = 0x2000u32;
    let linkedit_off = 0x3000u32;
    commands.push(segment("__PAGEZERO", 0, VMBASE, 0, 0, 0, &[]));
    commands.push(segment(
        "__TEXT",
        VMBASE,
        0x2000,
        0,
        0x2000,
        5,
        &[
            (
                "__text",
                VMBASE + u64::from(text_off),
                text.len() as u64,
                text_off,
                0x8000_0400,
            ),
            (
                "__cstring",
                VMBASE + u64::from(cstring_off),
                cstring.len() as u64,
                cstring_off,
                2,
            ),
        ],
    ));
    commands.push(segment(
        "__DATA",
        VMBASE + 0x2000,
        0x1000,
        u64::from(data_off),
        0x1000,
        3,
        &[
            ("__data", VMBASE + 0x2000, data.len() as u64, data_off, 0),
            ("__bss", VMBASE + 0x2100, 0x400, 0, macho::S_ZEROFILL),
        ],
    ));
    // __LINKEDIT: symbols, strings, signature.
    let strings: &[&str] = &[
        "", "_main", "_hidden", "_printf", "_maybe", "_local", "main.c",
    ];
    let mut strtab = vec![b' ', 0];
    let mut strx = Vec::new();
    for s in strings {
        if s.is_empty() {
            strx.push(1u32);
            continue;
        }
        strx.push(strtab.len() as u32);
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
    }
    strtab.resize(strtab.len().next_multiple_of(8), 0);
    let nlist = |strx: u32, n_type: u8, n_sect: u8, n_desc: u16, value: u64| {
        let mut e = Vec::new();
        e.extend_from_slice(&strx.to_le_bytes());
        e.push(n_type);
        e.push(n_sect);
        e.extend_from_slice(&n_desc.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    let main_addr = VMBASE + u64::from(text_off);
    let symbols = [
        nlist(strx[6], 0x64, 0, 0, 0), // N_SO stab: skipped
        nlist(strx[5], macho::N_SECT, 1, 0, main_addr + 48), // local
        nlist(strx[1], macho::N_SECT | macho::N_EXT, 1, 0, main_addr),
        nlist(
            strx[2],
            macho::N_SECT | macho::N_EXT | macho::N_PEXT,
            1,
            0,
            main_addr + 16,
        ),
        nlist(strx[3], macho::N_UNDF | macho::N_EXT, 0, 1 << 8, 0),
        nlist(
            strx[4],
            macho::N_UNDF | macho::N_EXT,
            0,
            (2 << 8) | macho::N_WEAK_REF,
            0,
        ),
    ];
    let symoff = linkedit_off;
    let nsyms = symbols.len() as u32;
    let stroff = symoff + 16 * nsyms;
    let sigoff = stroff + strtab.len() as u32;
    let signature: Vec<u8> = [0xfa, 0xde, 0x0c, 0xc0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0].to_vec();
    let linkedit_size = sigoff + signature.len() as u32 - linkedit_off;
    commands.push(segment(
        "__LINKEDIT",
        VMBASE + 0x3000,
        0x1000,
        u64::from(linkedit_off),
        u64::from(linkedit_size),
        1,
        &[],
    ));
    commands.push(lc_string(
        macho::LC_LOAD_DYLINKER,
        &12u32.to_le_bytes(),
        "/usr/lib/dyld",
    ));
    let mut uuid = Vec::new();
    uuid.extend_from_slice(&macho::LC_UUID.to_le_bytes());
    uuid.extend_from_slice(&24u32.to_le_bytes());
    uuid.extend_from_slice(&UUID);
    commands.push(uuid);
    let mut build = Vec::new();
    for v in [
        macho::LC_BUILD_VERSION,
        24,
        macho::PLATFORM_MACOS,
        0x000b_0000,
        0x000d_0100,
        0,
    ] {
        build.extend_from_slice(&v.to_le_bytes());
    }
    commands.push(build);
    if cpu == macho::CPU_TYPE_X86_64 {
        let mut main = Vec::new();
        main.extend_from_slice(&macho::LC_MAIN.to_le_bytes());
        main.extend_from_slice(&24u32.to_le_bytes());
        main.extend_from_slice(&u64::from(text_off).to_le_bytes());
        main.extend_from_slice(&0u64.to_le_bytes());
        commands.push(main);
    } else {
        // ARM_THREAD_STATE64 (flavor 6): x0..x28, fp, lr, sp, pc, cpsr, pad: 68 words.
        let mut thread = Vec::new();
        thread.extend_from_slice(&macho::LC_UNIXTHREAD.to_le_bytes());
        thread.extend_from_slice(&(16 + 68 * 4u32).to_le_bytes());
        thread.extend_from_slice(&6u32.to_le_bytes());
        thread.extend_from_slice(&68u32.to_le_bytes());
        let mut regs = [0u64; 33];
        regs[32] = main_addr;
        for r in regs {
            thread.extend_from_slice(&r.to_le_bytes());
        }
        thread.extend_from_slice(&[0; 8]);
        commands.push(thread);
    }
    commands.push(dylib(
        macho::LC_LOAD_DYLIB,
        "/usr/lib/libSystem.B.dylib",
        0x0527_0000,
        0x0001_0000,
    ));
    commands.push(dylib(
        macho::LC_LOAD_WEAK_DYLIB,
        "/usr/local/lib/libweak.dylib",
        0x0001_0203,
        0x0001_0000,
    ));
    commands.push(dylib(
        macho::LC_REEXPORT_DYLIB,
        "@rpath/libre.dylib",
        0x0002_0000,
        0x0001_0000,
    ));
    commands.push(lc_string(
        macho::LC_RPATH,
        &12u32.to_le_bytes(),
        "@executable_path/../Frameworks",
    ));
    let mut symtab = Vec::new();
    for v in [
        macho::LC_SYMTAB,
        24,
        symoff,
        nsyms,
        stroff,
        strtab.len() as u32,
    ] {
        symtab.extend_from_slice(&v.to_le_bytes());
    }
    commands.push(symtab);
    let mut sig = Vec::new();
    for v in [macho::LC_CODE_SIGNATURE, 16, sigoff, signature.len() as u32] {
        sig.extend_from_slice(&v.to_le_bytes());
    }
    commands.push(sig);

    let sizeofcmds: usize = commands.iter().map(Vec::len).sum();
    let mut out = Vec::new();
    let subtype = if cpu == macho::CPU_TYPE_X86_64 {
        macho::CPU_SUBTYPE_X86_64_ALL
    } else {
        macho::CPU_SUBTYPE_ARM64_ALL
    };
    let flags = macho::MH_NOUNDEFS | macho::MH_DYLDLINK | macho::MH_TWOLEVEL | macho::MH_PIE;
    for v in [
        macho::MH_MAGIC_64,
        cpu,
        subtype,
        macho::MH_EXECUTE,
        commands.len() as u32,
        sizeofcmds as u32,
        flags,
        0,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for c in &commands {
        out.extend_from_slice(c);
    }
    assert!(out.len() <= text_off as usize);
    out.resize(text_off as usize, 0);
    out.extend_from_slice(&text);
    out.extend_from_slice(&cstring);
    out.resize(data_off as usize, 0);
    out.extend_from_slice(&data);
    out.resize(linkedit_off as usize, 0);
    for s in &symbols {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&strtab);
    out.extend_from_slice(&signature);
    out
}

/// A fat binary of `thin` slices (cpu type and subtype read from each), each aligned to 4096.
pub fn fat(thin: &[&[u8]], is_64: bool) -> Vec<u8> {
    let entry = if is_64 { 32 } else { 20 };
    let mut out = Vec::new();
    let magic = if is_64 {
        macho::FAT_MAGIC_64
    } else {
        macho::FAT_MAGIC
    };
    out.extend_from_slice(&magic.to_be_bytes());
    out.extend_from_slice(&(thin.len() as u32).to_be_bytes());
    let mut offset = (8 + entry * thin.len()).next_multiple_of(4096);
    let mut offsets = Vec::new();
    for t in thin {
        let cpu = u32::from_le_bytes(t[4..8].try_into().unwrap());
        let sub = u32::from_le_bytes(t[8..12].try_into().unwrap());
        out.extend_from_slice(&cpu.to_be_bytes());
        out.extend_from_slice(&sub.to_be_bytes());
        if is_64 {
            out.extend_from_slice(&(offset as u64).to_be_bytes());
            out.extend_from_slice(&(t.len() as u64).to_be_bytes());
            out.extend_from_slice(&12u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        } else {
            out.extend_from_slice(&(offset as u32).to_be_bytes());
            out.extend_from_slice(&(t.len() as u32).to_be_bytes());
            out.extend_from_slice(&12u32.to_be_bytes());
        }
        offsets.push(offset);
        offset = (offset + t.len()).next_multiple_of(4096);
    }
    for (t, at) in thin.iter().zip(offsets) {
        out.resize(at, 0);
        out.extend_from_slice(t);
    }
    out
}
