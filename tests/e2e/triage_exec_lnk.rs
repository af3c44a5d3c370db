//! `elfinfo`, `machoinfo` and `lnk` through the binary: an ELF, a fat Mach-O (whose slices come
//! back to `machoinfo` through the router) and a PowerShell shortcut, routed by `-R yara`, and
//! the same workers named with `-s`. The samples are written here byte by byte (the plugins'
//! own tests cover the formats in depth).

use serde_json::json;
use stoq_tests::{errors, scan_bytes};

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn le64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A 64-bit x86_64 executable without section headers: PT_LOAD over the whole file (addresses
/// equal offsets), PT_INTERP, PT_DYNAMIC naming libc.so.6 and libcurl.so.4.
fn elf() -> Vec<u8> {
    let interp = b"/lib64/ld-linux-x86-64.so.2\0";
    let strings = b"\0libc.so.6\0libcurl.so.4\0";
    let (phoff, phnum) = (64u64, 3u64);
    let interp_off = phoff + 56 * phnum;
    let strtab_off = interp_off + interp.len() as u64;
    let dynamic_off = (strtab_off + strings.len() as u64).next_multiple_of(8);
    let dynamic: [(u64, u64); 5] = [
        (1, 1),
        (1, 11),
        (5, strtab_off),
        (10, strings.len() as u64),
        (0, 0),
    ];
    let end = dynamic_off + 16 * dynamic.len() as u64;
    let mut out = b"\x7fELF\x02\x01\x01\x00".to_vec();
    out.resize(16, 0);
    le16(&mut out, 2); // ET_EXEC
    le16(&mut out, 62); // EM_X86_64
    le32(&mut out, 1);
    le64(&mut out, 0x40_1000); // entry
    le64(&mut out, phoff);
    le64(&mut out, 0); // no section headers
    le32(&mut out, 0);
    for v in [64u16, 56, phnum as u16, 64, 0, 0] {
        le16(&mut out, v);
    }
    for (p_type, flags, offset, size) in [
        (1u32, 5u32, 0u64, end),
        (3, 4, interp_off, interp.len() as u64),
        (2, 6, dynamic_off, 16 * dynamic.len() as u64),
    ] {
        le32(&mut out, p_type);
        le32(&mut out, flags);
        for v in [offset, offset, offset, size, size, 8] {
            le64(&mut out, v);
        }
    }
    out.extend_from_slice(interp);
    out.extend_from_slice(strings);
    out.resize(dynamic_off as usize, 0);
    for (tag, val) in dynamic {
        le64(&mut out, tag);
        le64(&mut out, val);
    }
    out
}

/// A thin 64-bit Mach-O dylib for `cpu` linking libSystem, with a UUID.
fn thin_macho(cpu: u32, uuid_byte: u8) -> Vec<u8> {
    let name = b"/usr/lib/libSystem.B.dylib\0";
    let dylib_size = (24 + name.len()).next_multiple_of(8) as u32;
    let mut commands = Vec::new();
    le32(&mut commands, 0xc); // LC_LOAD_DYLIB
    le32(&mut commands, dylib_size);
    for v in [24u32, 2, 0x0527_0000, 0x0001_0000] {
        le32(&mut commands, v);
    }
    commands.extend_from_slice(name);
    commands.resize(dylib_size as usize, 0);
    le32(&mut commands, 0x1b); // LC_UUID
    le32(&mut commands, 24);
    commands.extend_from_slice(&[uuid_byte; 16]);
    let mut out = Vec::new();
    for v in [0xfeed_facfu32, cpu, 0, 6, 2, commands.len() as u32, 0x85, 0] {
        le32(&mut out, v);
    }
    out.extend_from_slice(&commands);
    out
}

/// A fat binary of an x86_64 slice and an arm64 slice, each at a 4096 boundary.
fn fat_macho() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let x86 = thin_macho(0x0100_0007, 0x11);
    let arm = thin_macho(0x0100_000c, 0x22);
    let mut out = Vec::new();
    out.extend_from_slice(&0xcafe_babeu32.to_be_bytes());
    out.extend_from_slice(&2u32.to_be_bytes());
    for (cpu, offset, slice) in [(0x0100_0007u32, 4096u32, &x86), (0x0100_000c, 8192, &arm)] {
        for v in [cpu, 0, offset, slice.len() as u32, 12] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out.resize(4096, 0);
    out.extend_from_slice(&x86);
    out.resize(8192, 0);
    out.extend_from_slice(&arm);
    (out, x86, arm)
}

/// A shortcut to powershell.exe (relative path only) with a hidden window and an encoded
/// command, minimised; Unicode strings.
fn shortcut() -> Vec<u8> {
    let mut out = Vec::new();
    le32(&mut out, 0x4c);
    out.extend_from_slice(&[
        0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x46,
    ]);
    le32(&mut out, 0x08 | 0x20 | 0x80); // HasRelativePath, HasArguments, IsUnicode
    le32(&mut out, 0x20);
    out.resize(60, 0);
    le32(&mut out, 7); // SW_SHOWMINNOACTIVE
    out.resize(0x4c, 0);
    for s in [
        "..\\..\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "-w hidden -enc SQBFAFgA",
    ] {
        let units: Vec<u16> = s.encode_utf16().collect();
        le16(&mut out, units.len() as u16);
        for u in units {
            le16(&mut out, u);
        }
    }
    le32(&mut out, 0);
    out
}

#[test]
fn yara_routes_elf_fat_mach_o_and_shortcuts_to_their_workers() {
    let response = scan_bytes(&elf(), &["-R", "yara"]);
    assert!(errors(&response).is_empty(), "{response:#}");
    let info = &response["results"][0]["workers"]["elfinfo"];
    assert_eq!(info["type"], "EXEC");
    assert_eq!(info["machine"], "x86_64");
    assert_eq!(info["interpreter"], "/lib64/ld-linux-x86-64.so.2");
    assert_eq!(info["needed"], json!(["libc.so.6", "libcurl.so.4"]));
    assert_eq!(info["statically_linked"], false);

    let (fat, x86, arm) = fat_macho();
    let response = scan_bytes(&fat, &["-R", "yara"]);
    assert!(errors(&response).is_empty(), "{response:#}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        3,
        "the fat file and its two slices: {response:#}"
    );
    let root = &results[0]["workers"]["machoinfo"];
    assert_eq!(root["fat"], true);
    assert_eq!(root["architectures"][0]["arch"], "x86_64");
    assert_eq!(root["architectures"][1]["arch"], "arm64");
    // Each slice, extracted with its architecture, is routed back to machoinfo.
    for (result, (name, cpu, size)) in results[1..].iter().zip([
        ("arch-x86_64", "x86_64", x86.len()),
        ("arch-arm64", "arm64", arm.len()),
    ]) {
        assert_eq!(result["payload_meta"]["extra_data"]["filename"], name);
        assert_eq!(result["payload_meta"]["extra_data"]["cpu_type"], cpu);
        assert_eq!(result["size"], size);
        assert_eq!(result["depth"], 1);
        let thin = &result["workers"]["machoinfo"];
        assert_eq!(thin["fat"], false);
        assert_eq!(thin["cpu_type"], cpu);
        assert_eq!(thin["file_type"], "DYLIB");
        assert_eq!(thin["dylibs"][0]["name"], "/usr/lib/libSystem.B.dylib");
    }

    let response = scan_bytes(&shortcut(), &["-R", "yara"]);
    assert!(errors(&response).is_empty(), "{response:#}");
    let lnk = &response["results"][0]["workers"]["lnk"];
    assert_eq!(lnk["flags"]["has_arguments"], true);
    assert_eq!(lnk["string_data"]["arguments"], "-w hidden -enc SQBFAFgA");
    assert_eq!(lnk["encoded_command"], "IEX");
    assert_eq!(
        lnk["suspicious"],
        json!([
            "target is a script host or LOLBin: powershell.exe",
            "arguments contain -enc (encoded command)",
            "arguments ask for a hidden window",
            "encoded command contains iex",
            "show command SW_SHOWMINNOACTIVE (window minimised, not activated)",
        ])
    );
}

#[test]
fn the_workers_run_when_named() {
    let response = scan_bytes(&elf(), &["-s", "elfinfo"]);
    assert_eq!(
        response["results"][0]["workers"]["elfinfo"]["needed"],
        json!(["libc.so.6", "libcurl.so.4"])
    );
    let (fat, _, _) = fat_macho();
    let response = scan_bytes(&fat, &["-s", "machoinfo"]);
    let results = response["results"].as_array().unwrap();
    // `-s` scans the root only: the slices are listed, not scanned.
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["workers"]["machoinfo"]["nfat_arch"], 2);
    assert_eq!(
        results[2]["payload_meta"]["extra_data"]["filename"],
        "arch-arm64"
    );
    let response = scan_bytes(&shortcut(), &["-s", "lnk"]);
    assert_eq!(
        response["results"][0]["workers"]["lnk"]["header"]["show_command"],
        "SW_SHOWMINNOACTIVE"
    );
    // A payload that is not of the format is the worker's error, not the end of the scan.
    let response = scan_bytes(b"not an executable", &["-s", "elfinfo", "machoinfo", "lnk"]);
    let errors = errors(&response);
    assert_eq!(errors.len(), 3, "{response:#}");
    for reason in ["not an ELF file", "not a Mach-O file", "not a shortcut"] {
        assert!(
            errors.iter().any(|e| e.contains(reason)),
            "{reason}: {errors:?}"
        );
    }
}
