//! A small valid PE32+ DLL (written by `stoq_tests::pe`) and broken variants of it.

use stoq_tests::pe::{RESOURCE, build_pe, version_resource};

use super::*;

#[test]
fn a_valid_pe_is_described_and_its_resources_extracted() {
    let (results, resources, errors) = inspect(&build_pe()).expect("parses");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(results["machine"], "amd64");
    assert_eq!(results["timestamp"], 1_700_000_000);
    assert_eq!(results["compile_time"], "2023-11-14T22:13:20Z");
    assert_eq!(results["subsystem"], "windows_gui");
    assert_eq!(results["is_dll"], true);
    assert_eq!(results["signed"], false);
    let sections: Vec<&str> = results["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(sections, [".text", ".idata", ".edata", ".rsrc"]);
    assert_eq!(results["sections"][0]["entropy"], 0.0, "64 identical bytes");
    assert_eq!(
        results["imports"]["KERNEL32.dll"],
        json!(["ExitProcess", "GetProcAddress"])
    );
    assert_eq!(results["imports"]["USER32.dll"], json!(["MessageBoxA"]));
    assert_eq!(
        results["imphash"],
        hex::encode(Md5::digest(
            b"kernel32.exitprocess,kernel32.getprocaddress,user32.messageboxa"
        ))
    );
    assert_eq!(results["exports"], json!(["DoThing"]));
    assert_eq!(
        resources,
        [
            ("RCDATA/1/1033".to_owned(), RESOURCE.to_vec()),
            ("VERSION/1/1033".to_owned(), version_resource())
        ]
    );
    assert_eq!(
        results["version_info"],
        json!({"file_version": "1.2.3.4", "CompanyName": "Stoq Test Corp", "FileDescription": "A sample"})
    );
}

#[test]
fn truncated_and_corrupted_pes_are_errors_not_panics() {
    let pe = build_pe();
    for cut in [0, 2, 64, 0x100, 0x200, pe.len() / 2, pe.len() - 1] {
        // Either an error, or a description with the problems listed: never a panic.
        let _ = inspect(&pe[..cut]);
    }
    assert!(inspect(&pe[..64]).is_err());
    for at in (0x80..pe.len()).step_by(7) {
        let mut broken = pe.clone();
        broken[at] ^= 0xff;
        let _ = inspect(&broken);
    }
    assert!(inspect(b"MZ not really a PE").is_err());
}

#[test]
fn imphash_follows_pefile() {
    let pairs = [
        ("WS2_32.dll".to_owned(), "ord115".to_owned()),
        ("ADVAPI32.DLL".to_owned(), "RegOpenKeyA".to_owned()),
    ];
    assert_eq!(
        imphash(&pairs),
        hex::encode(Md5::digest(b"ws2_32.ord115,advapi32.regopenkeya"))
    );
}

#[test]
fn broken_version_info_is_absent_not_a_panic() {
    let good = version_resource();
    assert!(version_info(&good).is_some());
    for cut in 0..good.len() {
        let _ = version_info(&good[..cut]);
    }
    for at in 0..good.len() {
        let mut broken = good.clone();
        broken[at] ^= 0xff;
        let _ = version_info(&broken);
    }
}

/// A PE32+ whose only section is `.rsrc`, built by `rsrc(section_rva)`.
fn pe_with_rsrc(len: u32, rsrc: impl Fn(u32) -> Vec<u8>) -> Vec<u8> {
    use object::write::pe::{NtHeaders, Writer};
    let mut out = Vec::new();
    let mut w = Writer::new(true, 0x1000, 0x200, &mut out);
    w.reserve_dos_header_and_stub();
    w.reserve_nt_headers(16);
    w.reserve_section_headers(1);
    let range = w.reserve_rsrc_section(len);
    w.write_dos_header_and_stub().expect("dos header");
    w.write_nt_headers(NtHeaders {
        machine: pe::IMAGE_FILE_MACHINE_AMD64,
        time_date_stamp: 0,
        characteristics: pe::IMAGE_FILE_EXECUTABLE_IMAGE | pe::IMAGE_FILE_DLL,
        major_linker_version: 14,
        minor_linker_version: 0,
        address_of_entry_point: 0,
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
    let data = rsrc(range.virtual_address);
    assert_eq!(data.len(), len as usize);
    w.write_section(range.file_offset, &data);
    out
}

/// A directory table header announcing `ids` entries with ids.
fn table_header(out: &mut Vec<u8>, ids: u16) {
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&ids.to_le_bytes());
}

fn dir_entry(out: &mut Vec<u8>, id: u32, target: u32) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&target.to_le_bytes());
}

/// A PE whose resources are RCDATA / 0..n / 1033, resource `i` being `window(i)` = (offset,
/// size) of one `block_len`-byte block at the end of the section.
fn pe_with_windows(n: u32, block_len: u32, window: impl Fn(u32) -> (u32, u32)) -> Vec<u8> {
    let names = 24;
    let langs = names + 16 + 8 * n;
    let data_entries = langs + 24 * n;
    let block = data_entries + 16 * n;
    pe_with_rsrc(block + block_len, |rva| {
        let mut out = Vec::new();
        table_header(&mut out, 1);
        dir_entry(&mut out, 10, 0x8000_0000 | names);
        table_header(&mut out, n as u16);
        for i in 0..n {
            dir_entry(&mut out, i, 0x8000_0000 | (langs + 24 * i));
        }
        for i in 0..n {
            table_header(&mut out, 1);
            dir_entry(&mut out, 1033, data_entries + 16 * i);
        }
        for i in 0..n {
            let (offset, size) = window(i);
            for v in [rva + block + offset, size, 0, 0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out.extend((0..block_len).map(|b| (b % 251) as u8));
        out
    })
}

fn extracted_bytes(resources: &[(String, Vec<u8>)]) -> usize {
    resources.iter().map(|(_, bytes)| bytes.len()).sum()
}

#[test]
fn entries_aliasing_one_block_extract_it_once() {
    // 5,000 entries, each with its own data entry, all naming the same 64 KiB: before, each
    // was copied (and a 591 KB file of 65,535 such entries cost 4.2 GB).
    let pe = pe_with_windows(5000, 64 << 10, |_| (0, 64 << 10));
    let (results, resources, errors) = inspect(&pe).expect("parses");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].0, "RCDATA/0/1033");
    assert_eq!(extracted_bytes(&resources), 64 << 10);
    let listing = results["resources"].as_array().unwrap();
    assert_eq!(listing.len(), 5000, "every entry is still listed");
    assert_eq!(
        listing[4999],
        json!({"path": "RCDATA/4999/1033", "size": 65536, "same_data_as": "RCDATA/0/1033"})
    );
    assert!(listing[0].get("same_data_as").is_none());
}

#[test]
fn overlapping_resources_count_against_max_resource_bytes_and_max_resources() {
    // 4,000 different windows of 32 KiB over one 48 KiB block: nothing aliases exactly, so
    // each extracted copy counts against the byte cap.
    let pe = pe_with_windows(4000, 48 << 10, |i| (4 * i, 32 << 10));
    let limits = Limits {
        max_resources: 1000,
        max_resource_bytes: 1 << 20,
    };
    let (results, resources, errors) = inspect_with(&pe, &limits).expect("parses");
    assert_eq!(results["resources"].as_array().unwrap().len(), 4000);
    assert_eq!(resources.len(), 32, "32 x 32 KiB = the 1 MiB cap");
    assert_eq!(extracted_bytes(&resources), 1 << 20);
    let messages: Vec<String> = errors.iter().map(|e| e.message().to_owned()).collect();
    assert_eq!(
        messages,
        [format!(
            "limit max_resource_bytes (1048576) reached: 3968 resources ({} bytes) not extracted",
            3968u64 * (32 << 10)
        )]
    );

    let by_count = Limits {
        max_resources: 10,
        ..Limits::default()
    };
    let (_, resources, errors) = inspect_with(&pe, &by_count).expect("parses");
    assert_eq!(resources.len(), 10);
    assert_eq!(
        errors[0].message(),
        "limit max_resources (10) reached: 3990 resources not extracted"
    );
    // The defaults extract the first 1,000, 32 MiB in all: within the 64 MiB default.
    let (_, resources, errors) = inspect(&pe).expect("parses");
    assert_eq!(resources.len(), 1000);
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn tables_pointing_at_themselves_are_walked_within_a_bound() {
    // Root -> T, and T's 2,000 entries all point at T: 4 million paths from 16 KB.
    let pe = pe_with_rsrc(24 + 16 + 8 * 2000, |_| {
        let table = 24;
        let mut out = Vec::new();
        table_header(&mut out, 1);
        dir_entry(&mut out, 10, 0x8000_0000 | table);
        table_header(&mut out, 2000);
        for i in 0..2000 {
            dir_entry(&mut out, i, 0x8000_0000 | table);
        }
        out
    });
    let (results, resources, errors) = inspect(&pe).expect("parses");
    assert!(resources.is_empty());
    assert_eq!(results["resources"], json!([]));
    assert_eq!(
        errors.last().unwrap().message(),
        "resource directory: more than 1000000 directory entries; the rest is not walked"
    );
}
