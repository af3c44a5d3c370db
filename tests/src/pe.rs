//! A small valid PE32+ DLL for tests, written with object's PE writer plus hand-built import,
//! export and resource tables: imports KERNEL32.dll!ExitProcess, GetProcAddress and
//! USER32.dll!MessageBoxA, exports DoThing, and holds an RCDATA resource ([`RESOURCE`]) and a
//! VERSION resource ([`version_resource`]).

use object::pe;
use object::write::pe::{NtHeaders, Writer};

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// The import directory for `dlls`, placed at `rva` (its size does not depend on `rva`). A
/// function written `#N` is imported by ordinal N.
fn idata(rva: u32, dlls: &[(&str, &[&str])]) -> Vec<u8> {
    let descriptors = (dlls.len() + 1) * 20;
    let thunks: usize = dlls.iter().map(|(_, f)| (f.len() + 1) * 8).sum();
    let mut names = Vec::new(); // hint/name entries, then DLL names
    let mut name_rvas = Vec::new();
    let names_start = rva as usize + descriptors + 2 * thunks;
    for (_, functions) in dlls {
        let mut rvas = Vec::new();
        for f in *functions {
            if let Some(ordinal) = f.strip_prefix('#') {
                let ordinal: u64 = ordinal.parse().expect("an ordinal");
                rvas.push(0x8000_0000_0000_0000 | ordinal);
                continue;
            }
            rvas.push((names_start + names.len()) as u64);
            names.extend_from_slice(&u16le(0));
            names.extend_from_slice(f.as_bytes());
            names.push(0);
            if !names.len().is_multiple_of(2) {
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

/// A resource tree holding, for each `(type id, data)`, one resource of that type (id 1,
/// language 1033).
fn rsrc(rva: u32, resources: &[(u32, &[u8])]) -> Vec<u8> {
    let dir = |out: &mut Vec<u8>, id: u32, target: u32| {
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&u16le(0));
        out.extend_from_slice(&u16le(1));
        out.extend_from_slice(&u32le(id));
        out.extend_from_slice(&u32le(target));
    };
    let n = resources.len() as u32;
    let blocks = 16 + 8 * n; // after the root directory
    let data_start = blocks + 64 * n;
    let mut out = Vec::new();
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&u16le(0));
    out.extend_from_slice(&u16le(n as u16));
    for (i, (type_id, _)) in resources.iter().enumerate() {
        out.extend_from_slice(&u32le(*type_id));
        out.extend_from_slice(&u32le(0x8000_0000 | (blocks + 64 * i as u32)));
    }
    let mut data_at = data_start;
    for (i, (_, data)) in resources.iter().enumerate() {
        let block = blocks + 64 * i as u32;
        dir(&mut out, 1, 0x8000_0000 | (block + 24));
        dir(&mut out, 1033, block + 48);
        out.extend_from_slice(&u32le(rva + data_at));
        out.extend_from_slice(&u32le(data.len() as u32));
        out.extend_from_slice(&u32le(0));
        out.extend_from_slice(&u32le(0));
        data_at += (data.len() as u32 + 3) & !3;
    }
    for (_, data) in resources {
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    out
}

/// A version-info node: header, UTF-16 key, value, children, each part 4-aligned.
fn version_node(key: &str, value: &[u8], text: bool, children: &[Vec<u8>]) -> Vec<u8> {
    let pad = |v: &mut Vec<u8>| {
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
    };
    let mut body = vec![0u8; 6];
    for unit in key.encode_utf16().chain([0]) {
        body.extend_from_slice(&unit.to_le_bytes());
    }
    pad(&mut body);
    body.extend_from_slice(value);
    for child in children {
        pad(&mut body);
        body.extend_from_slice(child);
    }
    let value_length = if text { value.len() / 2 } else { value.len() };
    let length = body.len() as u16;
    body[0..2].copy_from_slice(&u16le(length));
    body[2..4].copy_from_slice(&u16le(value_length as u16));
    body[4..6].copy_from_slice(&u16le(u16::from(text)));
    body
}

fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A `VS_VERSIONINFO` resource: file version 1.2.3.4, CompanyName and FileDescription.
pub fn version_resource() -> Vec<u8> {
    let mut fixed = Vec::new();
    for v in [0xFEEF_04BDu32, 0x0001_0000, (1 << 16) | 2, (3 << 16) | 4] {
        fixed.extend_from_slice(&u32le(v));
    }
    fixed.resize(52, 0);
    let strings = [
        ("CompanyName", "Stoq Test Corp"),
        ("FileDescription", "A sample"),
    ]
    .iter()
    .map(|(k, v)| version_node(k, &utf16z(v), true, &[]))
    .collect::<Vec<_>>();
    let table = version_node("040904b0", &[], true, &strings);
    let string_file_info = version_node("StringFileInfo", &[], true, &[table]);
    version_node("VS_VERSION_INFO", &fixed, false, &[string_file_info])
}

/// The bytes of the PE's one resource (RCDATA/1/1033).
pub const RESOURCE: &[u8] = b"embedded resource payload";

/// The PE file.
pub fn build_pe() -> Vec<u8> {
    build_pe_importing(&[
        ("KERNEL32.dll", &["ExitProcess", "GetProcAddress"]),
        ("USER32.dll", &["MessageBoxA"]),
    ])
}

/// The same PE file importing `dlls` instead (`#N` imports ordinal N).
pub fn build_pe_importing(dlls: &[(&str, &[&str])]) -> Vec<u8> {
    let text = vec![0xc3u8; 64];
    let mut out = Vec::new();
    let mut w = Writer::new(true, 0x1000, 0x200, &mut out);
    w.reserve_dos_header_and_stub();
    w.reserve_nt_headers(16);
    w.reserve_section_headers(4);
    let text_range = w.reserve_text_section(text.len() as u32);
    let idata_range = w.reserve_idata_section(idata(0, dlls).len() as u32);
    let edata_range = w.reserve_edata_section(edata(0, "sample.dll", &["DoThing"], 0).len() as u32);
    let version = version_resource();
    let resources: &[(u32, &[u8])] = &[(10, RESOURCE), (16, &version)];
    let rsrc_range = w.reserve_rsrc_section(rsrc(0, resources).len() as u32);
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
        &rsrc(rsrc_range.virtual_address, resources),
    );
    out
}
