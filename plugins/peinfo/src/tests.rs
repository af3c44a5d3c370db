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
