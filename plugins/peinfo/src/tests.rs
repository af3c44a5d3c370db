//! A small valid PE32+ DLL (written by `stoq_tests::pe`) and broken variants of it, run
//! through [`PluginTest`] as the host runs the plugin; the golden files (`tests/golden/`, see
//! [`golden`]) hold its whole answer on each sample.

use stoq_plugin_abi::testing::{PluginTest, TestError};
use stoq_tests::pe::{RESOURCE, build_pe, version_resource};

use super::*;
use stoq_tests::response::{messages, results};

/// The imphash pefile computes for [`ordinal_importer`] (pefile 2024.8.26, `get_imphash()`).
const IMPHASH_OF_ORDINAL_IMPORTER: &str = "febcf2a133a62e7713e294f103d7136b";

use stoq_tests::golden;

/// Scans `data` with the default options; panics if the scan fails.
fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<PeInfo>::new().scan(data).expect("scans")
}

/// Each extracted payload's `resource` path.
fn resource_paths(response: &WorkerResponse) -> Vec<&str> {
    response
        .extracted
        .iter()
        .map(|e| {
            e.payload_meta.extra_data["resource"]
                .as_str()
                .expect("a path")
        })
        .collect()
}

fn extracted_bytes(response: &WorkerResponse) -> usize {
    response.extracted.iter().map(|e| e.content.len()).sum()
}

#[test]
fn a_valid_pe_is_described_and_its_resources_extracted() {
    let response = scan(&build_pe());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let results = results(&response);
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
    // pefile's `get_entropy()`: over the raw data, 64 bytes of code and 448 of padding.
    let text_entropy = results["sections"][0]["entropy"].as_f64().unwrap();
    let expected = -(0.125f64 * 0.125f64.log2() + 0.875 * 0.875f64.log2());
    assert!((text_entropy - expected).abs() < 1e-12, "{text_entropy}");
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
        results["version_info"],
        json!({"file_version": "1.2.3.4", "CompanyName": "Stoq Test Corp", "FileDescription": "A sample"})
    );
    // Each resource is extracted with its path, to be scanned like any payload.
    assert_eq!(
        resource_paths(&response),
        ["RCDATA/1/1033", "VERSION/1/1033"]
    );
    assert_eq!(response.extracted[0].content, RESOURCE);
    assert_eq!(response.extracted[1].content, version_resource());
    for extracted in &response.extracted {
        assert!(
            extracted.payload_meta.should_scan && extracted.payload_meta.dispatch_to.is_empty()
        );
    }
}

#[test]
fn truncated_and_corrupted_pes_are_errors_not_panics() {
    let pe = build_pe();
    let test = PluginTest::<PeInfo>::new();
    let no_panic = |data: &[u8]| {
        // Either an error, or a description with the problems listed: never a panic.
        let outcome = test.scan(data);
        assert!(
            !matches!(outcome, Err(TestError::Panicked(_) | TestError::Invalid(_))),
            "{outcome:?}"
        );
        outcome
    };
    for cut in [0, 2, 64, 0x100, 0x200, pe.len() / 2, pe.len() - 1] {
        let _ = no_panic(&pe[..cut]);
    }
    let Err(TestError::Failed(message)) = no_panic(&pe[..64]) else {
        panic!("64 bytes are no PE");
    };
    assert!(message.starts_with("not a valid PE file: "), "{message}");
    for at in (0x80..pe.len()).step_by(7) {
        let mut broken = pe.clone();
        broken[at] ^= 0xff;
        let _ = no_panic(&broken);
    }
    assert!(matches!(
        no_panic(b"MZ not really a PE"),
        Err(TestError::Failed(_))
    ));
}

#[test]
fn entropy_is_in_bits_per_byte_and_never_negative_zero() {
    assert_eq!(entropy(&[7; 100]).to_bits(), 0.0f64.to_bits());
    assert_eq!(entropy(&[]).to_bits(), 0.0f64.to_bits());
    assert_eq!(entropy(&[0, 1]), 1.0);
    assert_eq!(entropy(&(0..=255).collect::<Vec<u8>>()), 8.0);
}

#[test]
fn sections_cut_by_the_end_of_the_file_are_errors() {
    let pe = build_pe();
    let half = &pe[..pe.len() / 2];
    let response = scan(half);
    let cut: Vec<String> = messages(&response)
        .into_iter()
        .filter(|m| m.starts_with("section "))
        .collect();
    assert_eq!(
        cut,
        [
            "section .idata: its raw data (512 bytes at offset 0x600) runs past the end of the file; 0 bytes present",
            "section .edata: its raw data (512 bytes at offset 0x800) runs past the end of the file; 0 bytes present",
            "section .rsrc: its raw data (512 bytes at offset 0xa00) runs past the end of the file; 0 bytes present",
        ]
    );
    // One byte short: the last section is cut, and its entropy is that of what is there.
    let response = scan(&pe[..pe.len() - 1]);
    assert_eq!(
        messages(&response),
        [
            "section .rsrc: its raw data (512 bytes at offset 0xa00) runs past the end of the file; 511 bytes present"
        ]
    );
}

#[test]
fn imphash_follows_pefile() {
    let pairs = [
        ("WS2_32.dll".to_owned(), "ord115".to_owned()), // as the caller names it
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

#[test]
fn entries_aliasing_one_block_extract_it_once() {
    // 5,000 entries, each with its own data entry, all naming the same 64 KiB: before, each
    // was copied (and a 591 KB file of 65,535 such entries cost 4.2 GB).
    let pe = pe_with_windows(5000, 64 << 10, |_| (0, 64 << 10));
    let response = scan(&pe);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(resource_paths(&response), ["RCDATA/0/1033"]);
    assert_eq!(extracted_bytes(&response), 64 << 10);
    let listing = results(&response)["resources"].as_array().unwrap();
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
    let response = PluginTest::<PeInfo>::new()
        .option("max_resource_bytes", 1 << 20)
        .scan(&pe)
        .expect("scans");
    assert_eq!(
        results(&response)["resources"].as_array().unwrap().len(),
        4000
    );
    assert_eq!(response.extracted.len(), 32, "32 x 32 KiB = the 1 MiB cap");
    assert_eq!(extracted_bytes(&response), 1 << 20);
    assert_eq!(
        messages(&response),
        [format!(
            "limit max_resource_bytes (1048576) reached: 3968 resources ({} bytes) not extracted",
            3968u64 * (32 << 10)
        )]
    );

    // As `--plugin-opts peinfo:max_resources=10` gives it: a string.
    let response = PluginTest::<PeInfo>::new()
        .option("max_resources", "10")
        .scan(&pe)
        .expect("scans");
    assert_eq!(response.extracted.len(), 10);
    assert_eq!(
        messages(&response),
        ["limit max_resources (10) reached: 3990 resources not extracted"]
    );
    // The defaults extract the first 1,000, 32 MiB in all: within the 64 MiB default.
    let response = scan(&pe);
    assert_eq!(response.extracted.len(), 1000);
    assert_eq!(
        messages(&response),
        ["limit max_resources (1000) reached: 3000 resources not extracted"]
    );
    // Zero extracts nothing and lists everything.
    let response = PluginTest::<PeInfo>::new()
        .option("max_resources", 0)
        .scan(&pe)
        .expect("scans");
    assert!(response.extracted.is_empty());
    assert_eq!(
        results(&response)["resources"].as_array().unwrap().len(),
        4000
    );
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
    let response = scan(&pe);
    assert!(response.extracted.is_empty());
    assert_eq!(results(&response)["resources"], json!([]));
    assert_eq!(
        messages(&response).last().unwrap(),
        "resource directory: more than 1000000 directory entries; the rest is not walked"
    );
}

#[test]
fn options_are_declared_with_the_defaults_inspect_uses() {
    let declared: Vec<(&str, OptionKind, Option<Value>)> = PeInfo::INFO
        .options
        .iter()
        .map(|o| (o.name, o.kind, o.default_value()))
        .collect();
    assert_eq!(
        declared,
        [
            ("max_resources", OptionKind::Int, Some(json!(1000))),
            ("max_resource_bytes", OptionKind::Int, Some(json!(64 << 20))),
        ]
    );
    assert!(PeInfo::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let defaults = Limits::default();
    assert_eq!(
        (defaults.max_resources, defaults.max_resource_bytes),
        (1000, 64 << 20)
    );
    // Both are read: nothing set is reported unused.
    let test = PluginTest::<PeInfo>::new()
        .option("max_resources", 5)
        .option("max_resource_bytes", 5);
    assert_eq!(test.unused_options(), Ok(vec![]));
}

#[test]
fn a_bad_option_value_is_a_config_error_naming_the_key() {
    let cases = [
        (
            "max_resources",
            json!("lots"),
            "plugin `peinfo`: option `max_resources`: expected an integer, got \"lots\"",
        ),
        (
            "max_resource_bytes",
            json!(1.5),
            "plugin `peinfo`: option `max_resource_bytes`: expected an integer, got 1.5",
        ),
        (
            "max_resources",
            json!(-1),
            "option `max_resources` must be >= 0, got -1",
        ),
        (
            "max_resource_bytes",
            json!("-5"),
            "option `max_resource_bytes` must be >= 0, got -5",
        ),
    ];
    for (key, value, message) in cases {
        let test = PluginTest::<PeInfo>::new().option(key, value.clone());
        assert_eq!(
            test.scan(&build_pe()).unwrap_err(),
            TestError::Config(message.to_owned()),
            "{key} = {value}"
        );
    }
}

/// The samples of the golden files: the DLL of `stoq_tests::pe`, a tree whose entries share
/// data, and the DLL cut in half.
///
/// After an intended change, regenerate them and review the diff:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-peinfo golden`
/// (`STOQ_GOLDEN_SAMPLES=DIR` also writes the samples there, to check them with other tools).
#[test]
fn golden_files() {
    let pe = build_pe();
    // RCDATA/0 and RCDATA/1 name the same 16 bytes, RCDATA/2 eight of them.
    let aliased = pe_with_windows(3, 16, |i| if i < 2 { (0, 16) } else { (4, 8) });
    let samples: [(&str, &[u8]); 3] = [
        ("sample_dll.json", &pe),
        ("aliased_resources.json", &aliased),
        ("truncated_dll.json", &pe[..pe.len() / 2]),
    ];
    let test = PluginTest::<PeInfo>::new();
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            golden::dump_sample(&name.replace(".json", ".dll"), data);
            ((*name).to_owned(), golden::worker_output(&test.scan(data)))
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}

/// A DLL importing by ordinal from the libraries pefile names in the imphash.
fn ordinal_importer() -> Vec<u8> {
    stoq_tests::pe::build_pe_importing(&[
        ("KERNEL32.dll", &["ExitProcess"]),
        ("WS2_32.dll", &["#115", "#3", "#999"]),
        ("wsock32.dll", &["#23"]),
        ("OLEAUT32.dll", &["#2", "SysFreeString"]),
        ("MSVCRT.dll", &["#12"]),
    ])
}

#[test]
fn imphash_names_ordinals_as_pefile_does() {
    let pe = ordinal_importer();
    if let Some(dir) = std::env::var_os("STOQ_GOLDEN_SAMPLES") {
        std::fs::write(std::path::Path::new(&dir).join("ordinals.dll"), &pe).expect("sample");
    }
    let response = scan(&pe);
    let results = results(&response);
    // pefile 2024.8.26 `get_imphash()` on the same bytes.
    assert_eq!(results["imphash"], IMPHASH_OF_ORDINAL_IMPORTER);
    // The listing keeps what the file says: imported by ordinal.
    assert_eq!(
        results["imports"]["WS2_32.dll"],
        json!(["ord115", "ord3", "ord999"])
    );
}
