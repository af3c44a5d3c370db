//! A small valid PE32+ DLL for tests, written with object's PE writer plus hand-built import,
//! export and resource tables: imports KERNEL32.dll!ExitProcess, GetProcAddress and
//! USER32.dll!MessageBoxA, exports DoThing, and holds one RCDATA resource ([`RESOURCE`]).

use object::pe;
use object::write::pe::{NtHeaders, Writer};

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// The import directory for `dlls`, placed at `rva` (its size does not depend on `rva`).
fn idata(rva: u32, dlls: &[(&str, &[&str])]) -> Vec<u8> {
    let descriptors = (dlls.len() + 1) * 20;
    let thunks: usize = dlls.iter().map(|(_, f)| (f.len() + 1) * 8).sum();
    let mut names = Vec::new(); // hint/name entries, then DLL names
    let mut name_rvas = Vec::new();
    let names_start = rva as usize + descriptors + 2 * thunks;
    for (_, functions) in dlls {
        let mut rvas = Vec::new();
        for f in *functions {
            rvas.push((names_start + names.len()) as u64);
            names.extend_from_slice(&u16le(0));
            names.extend_from_slice(f.as_bytes());
            names.push(0);
            if names.len() % 2 == 1 {
                names.push(0);
            }
        }
        name_rvas.push(rvas);
    }
    let mut dll_name_rvas = Vec::new();
    for (dll, _) in dlls {
        dll_name_rvas.push((names_start + names.len()) as u32);
        names.extend_from_slice(dll.as_bytes());
        names.push(0);
    }
    let mut out = Vec::new();
    let mut ilt_rva = rva as usize + descriptors;
    let mut iat_rva = ilt_rva + thunks;
    for (i, (_, functions)) in dlls.iter().enumerate() {
        out.extend_from_slice(&u32le(ilt_rva as u32));
        out.extend_from_slice(&u32le(0));
        out.extend_from_slice(&u32le(0));
        out.extend_from_slice(&u32le(dll_name_rvas[i]));
        out.extend_from_slice(&u32le(iat_rva as u32));
        ilt_rva += (functions.len() + 1) * 8;
        iat_rva += (functions.len() + 1) * 8;
    }
    out.extend_from_slice(&[0; 20]);
    for _table in 0..2 {
        for rvas in &name_rvas {
            for r in rvas {
                out.extend_from_slice(&r.to_le_bytes());
            }
            out.extend_from_slice(&0u64.to_le_bytes());
        }
    }
    out.extend_from_slice(&names);
    out
}

/// An export directory naming `functions`, all pointing at `target`.
fn edata(rva: u32, dll: &str, functions: &[&str], target: u32) -> Vec<u8> {
    let n = functions.len() as u32;
    let functions_rva = rva + 40;
    let names_rva = functions_rva + 4 * n;
    let ordinals_rva = names_rva + 4 * n;
    let strings_rva = ordinals_rva + 2 * n;
    let mut strings = Vec::new();
    let dll_rva = strings_rva;
    strings.extend_from_slice(dll.as_bytes());
    strings.push(0);
    let mut name_rvas = Vec::new();
    for f in functions {
        name_rvas.push(strings_rva + strings.len() as u32);
        strings.extend_from_slice(f.as_bytes());
        strings.push(0);
    }
    let mut out = Vec::new();
    for v in [
        0,
        0,
        0,
        dll_rva,
        1,
        n,
        n,
        functions_rva,
        names_rva,
        ordinals_rva,
    ] {
        out.extend_from_slice(&u32le(v));
    }
    for _ in 0..n {
        out.extend_from_slice(&u32le(target));
    }
    for r in name_rvas {
        out.extend_from_slice(&u32le(r));
    }
    for i in 0..n {
        out.extend_from_slice(&u16le(i as u16));
    }
    out.extend_from_slice(&strings);
    out
}

/// A resource tree holding one RCDATA resource (id 1, language 1033) with `data`.
fn rsrc(rva: u32, data: &[u8]) -> Vec<u8> {
    let dir = |entries: u16| {
        let mut d = vec![0u8; 12];
        d.extend_from_slice(&u16le(0));
        d.extend_from_slice(&u16le(entries));
        d
    };
    let mut out = Vec::new();
    out.extend(dir(1)); // root: 0..16
    out.extend_from_slice(&u32le(10)); // RT_RCDATA
    out.extend_from_slice(&u32le(0x8000_0000 | 24));
    out.extend(dir(1)); // type directory: 24..40
    out.extend_from_slice(&u32le(1));
    out.extend_from_slice(&u32le(0x8000_0000 | 48));
    out.extend(dir(1)); // name directory: 48..64
    out.extend_from_slice(&u32le(1033));
    out.extend_from_slice(&u32le(72)); // data entry
    out.extend_from_slice(&u32le(rva + 88));
    out.extend_from_slice(&u32le(data.len() as u32));
    out.extend_from_slice(&u32le(0));
    out.extend_from_slice(&u32le(0));
    out.extend_from_slice(data);
    out
}

/// The bytes of the PE's one resource (RCDATA/1/1033).
pub const RESOURCE: &[u8] = b"embedded resource payload";

/// The PE file.
pub fn build_pe() -> Vec<u8> {
    let dlls: &[(&str, &[&str])] = &[
        ("KERNEL32.dll", &["ExitProcess", "GetProcAddress"]),
        ("USER32.dll", &["MessageBoxA"]),
    ];
    let text = vec![0xc3u8; 64];
    let mut out = Vec::new();
    let mut w = Writer::new(true, 0x1000, 0x200, &mut out);
    w.reserve_dos_header_and_stub();
    w.reserve_nt_headers(16);
    w.reserve_section_headers(4);
    let text_range = w.reserve_text_section(text.len() as u32);
    let idata_range = w.reserve_idata_section(idata(0, dlls).len() as u32);
    let edata_range = w.reserve_edata_section(edata(0, "sample.dll", &["DoThing"], 0).len() as u32);
    let rsrc_range = w.reserve_rsrc_section(rsrc(0, RESOURCE).len() as u32);
    w.write_dos_header_and_stub().expect("dos header");
    w.write_nt_headers(NtHeaders {
        machine: pe::IMAGE_FILE_MACHINE_AMD64,
        time_date_stamp: 1_700_000_000,
        characteristics: pe::IMAGE_FILE_EXECUTABLE_IMAGE
            | pe::IMAGE_FILE_LARGE_ADDRESS_AWARE
            | pe::IMAGE_FILE_DLL,
        major_linker_version: 14,
        minor_linker_version: 0,
        address_of_entry_point: text_range.virtual_address,
        image_base: 0x1_8000_0000,
        major_operating_system_version: 6,
        minor_operating_system_version: 0,
        major_image_version: 0,
        minor_image_version: 0,
        major_subsystem_version: 6,
        minor_subsystem_version: 0,
        subsystem: pe::IMAGE_SUBSYSTEM_WINDOWS_GUI,
        dll_characteristics: 0,
        size_of_stack_reserve: 0x10_0000,
        size_of_stack_commit: 0x1000,
        size_of_heap_reserve: 0x10_0000,
        size_of_heap_commit: 0x1000,
    });
    w.write_section_headers();
    w.write_section(text_range.file_offset, &text);
    w.write_section(
        idata_range.file_offset,
        &idata(idata_range.virtual_address, dlls),
    );
    w.write_section(
        edata_range.file_offset,
        &edata(
            edata_range.virtual_address,
            "sample.dll",
            &["DoThing"],
            text_range.virtual_address,
        ),
    );
    w.write_section(
        rsrc_range.file_offset,
        &rsrc(rsrc_range.virtual_address, RESOURCE),
    );
    out
}
