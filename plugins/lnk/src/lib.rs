//! The `lnk` worker: what a Windows shortcut (MS-SHLLINK `.lnk`) says, and what in it a triage
//! analyst looks at first.
//!
//! Results:
//! - `header`: `flags` (names), `file_attributes` (names), `creation_time`, `access_time`,
//!   `write_time` (ISO 8601 UTC, `null` when zero), `file_size`, `icon_index`, `show_command`
//!   (`SW_SHOWNORMAL`, `SW_SHOWMAXIMIZED`, `SW_SHOWMINNOACTIVE`, or the number) and
//!   `show_command_value`, `hotkey` (`CTRL+ALT+K`, or `null`);
//! - `flags`: every LinkFlags bit as a boolean (`has_arguments`, `is_unicode`, …);
//! - `target_id_list`: its shell `items` (`root` with its CLSID and known name, `volume`,
//!   `directory`/`file` with short and long names, size and attributes, `network`, or `unknown`
//!   with the type byte) and the `path` they spell;
//! - `link_info`: `local_base_path`, `common_path_suffix`, `volume` (`drive_type`,
//!   `drive_serial_number` as `XXXX-XXXX`, `volume_label`), `network` (`net_name`,
//!   `device_name`, `provider_type`);
//! - `string_data`: `name`, `relative_path`, `working_dir`, `arguments`, `icon_location`
//!   (UTF-16 or ANSI per `IsUnicode`);
//! - `extra_data`: one entry per block, by `block` name, with its `size`: the
//!   EnvironmentVariable, IconEnvironment and Darwin blocks' `target`, the Tracker block's
//!   `machine_id`, droid GUIDs and the `mac_address` and `droid_time` of the (version 1 UUID)
//!   file droid, KnownFolder (`known_folder_id`, `offset`), SpecialFolder (`special_folder_id`,
//!   `offset`), ConsoleFE (`code_page`), Shim (`layer_name`); PropertyStore and the others are
//!   listed with their size only;
//! - `target_path`: the best target known (ID list path, else LinkInfo's local or network path,
//!   else the environment block's target, else the relative path);
//! - `encoded_command`: the decoded text of a PowerShell `-EncodedCommand` (or a prefix of it,
//!   `-enc`, `-e`, `-ec`) in the arguments;
//! - `suspicious`: what triage cares about (a script host or LOLBin target such as `cmd.exe`,
//!   `powershell.exe`, `mshta.exe`, `wscript.exe`, `rundll32.exe`; arguments over 260
//!   characters, padded with whitespace, with `http`, `-enc`, `FromBase64String` or a hidden
//!   window style; an encoded command holding `http`, `FromBase64String`, `DownloadString`,
//!   `Invoke-Expression` or `iex`; a minimised or hidden show command; a document icon on a
//!   script host).
//!
//! Strings are in stoq's encoding for text from payloads (`bytes_to_string`: a backslash is
//! doubled, an invalid byte is `\\xNN`), ANSI and UTF-16 alike: the path `C:\Windows` is the
//! value `C:\\Windows` (`string_to_bytes` gives the path back).
//!
//! Every length and offset is checked against the structure holding it and the file: a
//! truncated or corrupt shortcut gives what could be read and the problems as errors of the
//! response (a string of 65,535 characters past the end, an ID list item of size 1, a block of
//! size 2^32). Counts are bounded: [`MAX_ID_ITEMS`] shell items, [`MAX_BLOCKS`] extra data
//! blocks, strings cut at [`MAX_STRING_CHARS`] characters in the results. A payload shorter
//! than the header or without the header's size and CLSID is an `Err`.

use stoq_plugin_abi::prelude::*;

/// Shell items read at most from an ID list.
pub const MAX_ID_ITEMS: usize = 1_000;
/// Extra data blocks read at most.
pub const MAX_BLOCKS: usize = 1_000;
/// Longest string kept in the results, in characters (a StringData string may hold 65,535).
pub const MAX_STRING_CHARS: usize = 65_535;

/// The shortcut inspector.
pub struct Lnk;

impl Plugin for Lnk {
    const INFO: PluginInfo = PluginInfo::new("lnk", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description(
            "Windows shortcut (.lnk): header, target path, LinkInfo, strings, extra data, suspicious traits",
        );

    fn new(_config: &mut PluginConfig) -> Result<Self> {
        Ok(Self)
    }
}

impl Worker for Lnk {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let (results, errors) = inspect(payload.content())?;
        let mut response = WorkerResponse::new(results);
        response.errors = errors;
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(Lnk => worker);

/// The shortcut's CLSID, 00021401-0000-0000-C000-000000000046, as stored.
pub const LINK_CLSID: [u8; 16] = [
    0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// The size of ShellLinkHeader.
pub const HEADER_SIZE: usize = 0x4c;

const LINK_FLAGS: [&str; 27] = [
    "has_link_target_id_list",
    "has_link_info",
    "has_name",
    "has_relative_path",
    "has_working_dir",
    "has_arguments",
    "has_icon_location",
    "is_unicode",
    "force_no_link_info",
    "has_exp_string",
    "run_in_separate_process",
    "unused1",
    "has_darwin_id",
    "run_as_user",
    "has_exp_icon",
    "no_pidl_alias",
    "unused2",
    "run_with_shim_layer",
    "force_no_link_track",
    "enable_target_metadata",
    "disable_link_path_tracking",
    "disable_known_folder_tracking",
    "disable_known_folder_alias",
    "allow_link_to_link",
    "unalias_on_save",
    "prefer_environment_path",
    "keep_local_id_list_for_unc_target",
];

const FILE_ATTRIBUTES: [(u32, &str); 15] = [
    (0x1, "READONLY"),
    (0x2, "HIDDEN"),
    (0x4, "SYSTEM"),
    (0x8, "RESERVED1"),
    (0x10, "DIRECTORY"),
    (0x20, "ARCHIVE"),
    (0x40, "RESERVED2"),
    (0x80, "NORMAL"),
    (0x100, "TEMPORARY"),
    (0x200, "SPARSE_FILE"),
    (0x400, "REPARSE_POINT"),
    (0x800, "COMPRESSED"),
    (0x1000, "OFFLINE"),
    (0x2000, "NOT_CONTENT_INDEXED"),
    (0x4000, "ENCRYPTED"),
];

const HAS_ID_LIST: u32 = 1 << 0;
const HAS_LINK_INFO: u32 = 1 << 1;
const HAS_NAME: u32 = 1 << 2;
const HAS_RELATIVE_PATH: u32 = 1 << 3;
const HAS_WORKING_DIR: u32 = 1 << 4;
const HAS_ARGUMENTS: u32 = 1 << 5;
const HAS_ICON_LOCATION: u32 = 1 << 6;
const IS_UNICODE: u32 = 1 << 7;

const SW_SHOWNORMAL: u32 = 1;
const SW_SHOWMAXIMIZED: u32 = 3;
const SW_SHOWMINNOACTIVE: u32 = 7;

/// Targets that run what they are given: script hosts and living-off-the-land binaries.
const RISKY_TARGETS: [&str; 16] = [
    "cmd.exe",
    "powershell.exe",
    "pwsh.exe",
    "powershell_ise.exe",
    "mshta.exe",
    "wscript.exe",
    "cscript.exe",
    "rundll32.exe",
    "regsvr32.exe",
    "certutil.exe",
    "bitsadmin.exe",
    "msiexec.exe",
    "conhost.exe",
    "forfiles.exe",
    "wmic.exe",
    "msbuild.exe",
];

/// Icon files that make a shortcut look like a document.
const DOCUMENT_ICONS: [&str; 10] = [
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".txt", ".jpg", ".png", ".rtf", ".ppt",
];

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = data.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Days since 1970-01-01 to (year, month, day) (proleptic Gregorian).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Seconds and 100 ns ticks since 1970 as ISO 8601 UTC (`2024-05-01T12:00:00Z`, with
/// `.ffffff` microseconds when there are any).
fn iso8601(secs: i64, ticks: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let micros = ticks / 10;
    let frac = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A FILETIME (100 ns since 1601) as ISO 8601 UTC; `None` for 0.
pub fn filetime(ft: u64) -> Option<String> {
    if ft == 0 {
        return None;
    }
    let ticks = (ft % 10_000_000) as i64;
    let secs = (ft / 10_000_000) as i64 - 11_644_473_600;
    Some(iso8601(secs, ticks))
}

/// A GUID stored in Windows' mixed-endian layout, as `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`
/// without braces, upper case.
pub fn guid(b: &[u8; 16]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

fn guid_at(data: &[u8], at: usize) -> Option<[u8; 16]> {
    data.get(at..at.checked_add(16)?)?.try_into().ok()
}

/// The MAC address and time of a version 1 UUID (a tracker droid), if it is one.
fn uuid_v1(b: &[u8; 16]) -> Option<(String, Option<String>)> {
    let time_hi = u16::from_le_bytes([b[6], b[7]]);
    if time_hi >> 12 != 1 {
        return None;
    }
    let mac = b[10..16]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let time_low = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let time_mid = u64::from(u16::from_le_bytes([b[4], b[5]]));
    let ticks = (u64::from(time_hi & 0x0fff) << 48) | (time_mid << 32) | time_low;
    // 100 ns ticks since 1582-10-15; 1970 is 12,219,292,800 seconds later.
    let secs = (ticks / 10_000_000) as i64 - 12_219_292_800;
    Some((mac, Some(iso8601(secs, (ticks % 10_000_000) as i64))))
}

fn known_clsid(clsid: &str) -> Option<&'static str> {
    Some(match clsid {
        "20D04FE0-3AEA-1069-A2D8-08002B30309D" => "My Computer",
        "450D8FBA-AD25-11D0-98A8-0800361B1103" => "My Documents",
        "208D2C60-3AEA-1069-A2D7-08002B30309D" => "My Network Places",
        "F02C1A0D-BE21-4350-88B0-7367FC96EF3C" => "Network",
        "59031A47-3F72-44A7-89C5-5595FE6B30EE" => "User Files",
        "871C5380-42A0-1069-A2EA-08002B30309D" => "Internet Explorer",
        "21EC2020-3AEA-1069-A2DD-08002B30309D" => "Control Panel",
        "26EE0668-A00A-44D7-9371-BEB064C98683" => "Control Panel",
        "645FF040-5081-101B-9F08-00AA002F954E" => "Recycle Bin",
        "031E4825-7B94-4DC3-B131-E946B44C8DD5" => "Libraries",
        "679F85CB-0220-4080-B29B-5540CC05AAB6" => "Quick Access",
        _ => return None,
    })
}

/// ANSI bytes up to the first NUL within `data`, as text (invalid UTF-8 as `\xNN`).
fn ansi_z(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    stoq_plugin_abi::bytes_to_string(&data[..end])
}

/// UTF-16LE units up to the first NUL within `data`, as text; the second value is the bytes
/// read, the terminator included when there is one.
fn utf16_z(data: &[u8]) -> (String, usize) {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let read = (units.len() * 2 + 2).min(data.len() & !1);
    (utf16_text(&units), read)
}

fn utf16(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    utf16_text(&units)
}

/// UTF-16 text in the results' encoding (`bytes_to_string`'s, as ANSI strings: a backslash
/// doubled), an unpaired surrogate as U+FFFD.
fn utf16_text(units: &[u16]) -> String {
    stoq_plugin_abi::bytes_to_string(String::from_utf16_lossy(units).as_bytes())
}

/// The path separator in the results' encoding (a backslash, doubled).
const SEPARATOR: &str = "\\\\";

fn hotkey(value: u16) -> Option<String> {
    if value == 0 {
        return None;
    }
    let (key, modifiers) = ((value & 0xff) as u8, (value >> 8) as u8);
    let mut parts: Vec<String> = Vec::new();
    for (bit, name) in [(2u8, "CTRL"), (4, "ALT"), (1, "SHIFT")] {
        if modifiers & bit != 0 {
            parts.push(name.into());
        }
    }
    parts.push(match key {
        0x30..=0x39 | 0x41..=0x5a => char::from(key).to_string(),
        0x70..=0x87 => format!("F{}", key - 0x6f),
        0x90 => "NUM LOCK".into(),
        0x91 => "SCROLL LOCK".into(),
        other => format!("0x{other:02x}"),
    });
    Some(parts.join("+"))
}

fn show_command(value: u32) -> Value {
    match value {
        SW_SHOWNORMAL => json!("SW_SHOWNORMAL"),
        SW_SHOWMAXIMIZED => json!("SW_SHOWMAXIMIZED"),
        SW_SHOWMINNOACTIVE => json!("SW_SHOWMINNOACTIVE"),
        other => json!(other),
    }
}

/// A NetworkProviderType by name: MS-SHLLINK 2.3.2's table, and `WNNC_NET_LANMAN` (SMB) from
/// `winnetwk.h`, which Windows writes for a share.
fn provider_name(p: u32) -> String {
    const NAMES: [&str; 42] = [
        "AVID",
        "DOCUSPACE",
        "MANGOSOFT",
        "SERNET",
        "RIVERFRONT1",
        "RIVERFRONT2",
        "DECORB",
        "PROTSTOR",
        "FJ_REDIR",
        "DISTINCT",
        "TWINS",
        "RDR2SAMPLE",
        "CSC",
        "3IN1",
        "",
        "EXTENDNET",
        "STAC",
        "FOXBAT",
        "YAHOO",
        "EXIFS",
        "DAV",
        "KNOWARE",
        "OBJECT_DIRE",
        "MASFAX",
        "HOB_NFS",
        "SHIVA",
        "IBMAL",
        "LOCK",
        "TERMSRV",
        "SRT",
        "QUINCY",
        "OPENAFS",
        "AVID1",
        "DFS",
        "KWNP",
        "ZENWORKS",
        "DRIVEONWEB",
        "VMWARE",
        "RSFX",
        "MFILES",
        "MS_NFS",
        "GOOGLE",
    ];
    let name = match (p >> 16, p & 0xffff) {
        (0x02, 0) => Some("LANMAN"),
        (high @ 0x1a..=0x43, 0) => Some(NAMES[(high - 0x1a) as usize]).filter(|n| !n.is_empty()),
        _ => None,
    };
    name.map_or_else(|| format!("0x{p:08x}"), |n| format!("WNNC_NET_{n}"))
}

fn drive_type(t: u32) -> String {
    match t {
        0 => "DRIVE_UNKNOWN".into(),
        1 => "DRIVE_NO_ROOT_DIR".into(),
        2 => "DRIVE_REMOVABLE".into(),
        3 => "DRIVE_FIXED".into(),
        4 => "DRIVE_REMOTE".into(),
        5 => "DRIVE_CDROM".into(),
        6 => "DRIVE_RAMDISK".into(),
        other => format!("{other}"),
    }
}

/// Problems met, each naming where.
struct Problems(Vec<Error>);

impl Problems {
    fn push(&mut self, message: impl std::fmt::Display) {
        self.0.push(Error::msg(message));
    }
}

/// One shell item of an ID list, decoded enough to spell a path.
fn shell_item(item: &[u8]) -> (Value, Option<String>) {
    let kind = item.get(2).copied().unwrap_or(0);
    match kind {
        0x1f => {
            let clsid = guid_at(item, 4).map(|g| guid(&g));
            let name = clsid.as_deref().and_then(known_clsid);
            (json!({"type": "root", "clsid": clsid, "name": name}), None)
        }
        0x20..=0x2f => {
            let name = ansi_z(item.get(3..).unwrap_or_default());
            (json!({"type": "volume", "name": name}), Some(name))
        }
        0x30..=0x3f => {
            let size = u32_at(item, 4);
            let attributes = u16_at(item, 12);
            let unicode = kind & 0x04 != 0;
            let rest = item.get(14..).unwrap_or_default();
            let (short, read) = if unicode {
                utf16_z(rest)
            } else {
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                (ansi_z(rest), end + 1)
            };
            // The extension block (0xBEEF0004) after the padded short name holds the long name.
            let ext = 14 + read + ((14 + read) & 1);
            let long = item.get(ext..).and_then(|e| {
                let ext_size = usize::from(u16_at(e, 0)?);
                let version = u16_at(e, 2)?;
                if u32_at(e, 4)? != 0xbeef_0004 || ext_size > e.len() {
                    return None;
                }
                let at = match version {
                    0..=2 => return None,
                    3..=6 => 20,
                    7 => 38,
                    8 => 42,
                    _ => 46,
                };
                let (name, _) = utf16_z(e.get(at..ext_size)?);
                (!name.is_empty()).then_some(name)
            });
            let name = long.clone().unwrap_or_else(|| short.clone());
            let is_dir = kind & 0x01 != 0 && kind & 0x02 == 0;
            (
                json!({
                    "type": if is_dir { "directory" } else { "file" },
                    "name": name,
                    "short_name": short,
                    "size": size,
                    "attributes": attributes,
                }),
                Some(name),
            )
        }
        0x40..=0x4f => {
            let location = ansi_z(item.get(5..).unwrap_or_default());
            (
                json!({"type": "network", "location": location}),
                Some(location),
            )
        }
        other => (json!({"type": "unknown", "class": other}), None),
    }
}

/// Joins shell item names into a path (`C:\` then `Windows`, `System32`, …).
fn join_path(parts: &[String]) -> Option<String> {
    let mut path = String::new();
    for part in parts {
        if !path.is_empty() && !path.ends_with(SEPARATOR) {
            path.push_str(SEPARATOR);
        }
        path.push_str(part);
    }
    (!path.is_empty()).then_some(path)
}

/// The ID list at `at`: its description and the offset just past it (`None` when the file ends
/// before it does, so nothing after it can be found).
fn id_list(data: &[u8], at: usize, problems: &mut Problems) -> (Value, Option<usize>) {
    let Some(size) = u16_at(data, at) else {
        problems.push(format!(
            "LinkTargetIDList: its size at offset 0x{at:x} is past the end of the file"
        ));
        return (Value::Null, None);
    };
    let start = at + 2;
    let end = start + usize::from(size);
    let Some(list) = data.get(start..end) else {
        problems.push(format!(
            "LinkTargetIDList: its {size} bytes at offset 0x{start:x} run past the end of the file ({} bytes)",
            data.len()
        ));
        return (Value::Null, None);
    };
    let mut items = Vec::new();
    let mut parts = Vec::new();
    let mut pos = 0usize;
    let mut terminated = false;
    while let Some(item_size) = u16_at(list, pos) {
        if item_size == 0 {
            terminated = true;
            break;
        }
        if items.len() >= MAX_ID_ITEMS {
            problems.push(format!(
                "LinkTargetIDList: more than {MAX_ID_ITEMS} items; the rest are not read"
            ));
            break;
        }
        let item_size = usize::from(item_size);
        if item_size < 3 {
            problems.push(format!(
                "LinkTargetIDList: item {} at offset 0x{:x} has size {item_size} (at least 3 needed)",
                items.len(),
                start + pos
            ));
            break;
        }
        let Some(item) = list.get(pos..pos + item_size) else {
            problems.push(format!(
                "LinkTargetIDList: item {} ({item_size} bytes at offset 0x{:x}) runs past the end of the list",
                items.len(),
                start + pos
            ));
            break;
        };
        let (description, part) = shell_item(item);
        items.push(description);
        parts.extend(part);
        pos += item_size;
    }
    if !terminated && pos + 2 > list.len() {
        problems.push("LinkTargetIDList: no terminating empty item");
    }
    (
        json!({"items": items, "path": join_path(&parts)}),
        Some(end),
    )
}

/// A NUL-terminated string at `offset` (relative to `base`) inside the structure `within`,
/// ANSI or UTF-16.
fn struct_string(within: &[u8], offset: u32, unicode: bool) -> Option<String> {
    let rest = within.get(offset as usize..)?;
    Some(if unicode {
        utf16_z(rest).0
    } else {
        ansi_z(rest)
    })
}

fn link_info(data: &[u8], at: usize, problems: &mut Problems) -> (Value, Option<usize>) {
    let Some(size) = u32_at(data, at) else {
        problems.push(format!(
            "LinkInfo: its size at offset 0x{at:x} is past the end of the file"
        ));
        return (Value::Null, None);
    };
    let Some(info) = usize::try_from(size)
        .ok()
        .and_then(|s| data.get(at..at.checked_add(s)?))
    else {
        problems.push(format!(
            "LinkInfo: its {size} bytes at offset 0x{at:x} run past the end of the file ({} bytes)",
            data.len()
        ));
        return (Value::Null, None);
    };
    let end = Some(at + info.len());
    let (Some(header_size), Some(flags)) = (u32_at(info, 4), u32_at(info, 8)) else {
        problems.push(format!("LinkInfo: {size} bytes, too short for its header"));
        return (Value::Null, end);
    };
    if header_size < 0x1c || header_size > size {
        problems.push(format!(
            "LinkInfo: header size {header_size} (0x1C or more, within its {size} bytes, expected)"
        ));
        return (Value::Null, end);
    }
    let field = |i: usize| u32_at(info, 12 + 4 * i).unwrap_or(0);
    let (volume_offset, base_offset, network_offset, suffix_offset) =
        (field(0), field(1), field(2), field(3));
    let unicode = header_size >= 0x24;
    let (base_unicode, suffix_unicode) = if unicode {
        (field(4), field(5))
    } else {
        (0, 0)
    };
    let mut result = json!({"flags": flags});
    let string = |offset: u32, unicode: bool, what: &str, problems: &mut Problems| {
        if offset == 0 {
            return None;
        }
        let s = struct_string(info, offset, unicode);
        if s.is_none() {
            problems.push(format!(
                "LinkInfo: {what} offset 0x{offset:x} is outside its {size} bytes"
            ));
        }
        s
    };
    if flags & 1 != 0 {
        let local = if base_unicode != 0 {
            string(base_unicode, true, "LocalBasePathUnicode", problems)
        } else {
            string(base_offset, false, "LocalBasePath", problems)
        };
        result["local_base_path"] = json!(local);
        match info.get(volume_offset as usize..) {
            Some(volume) if volume_offset != 0 => {
                let vsize = u32_at(volume, 0).unwrap_or(0) as usize;
                let volume = &volume[..vsize.min(volume.len())];
                if vsize < 0x10 || vsize > volume.len() {
                    problems.push(format!(
                        "LinkInfo: VolumeID at 0x{volume_offset:x} has size {vsize} (0x10 or more, within LinkInfo, expected)"
                    ));
                }
                let label_offset = u32_at(volume, 12).unwrap_or(0);
                let label = if label_offset == 0x14 {
                    u32_at(volume, 16).and_then(|o| struct_string(volume, o, true))
                } else {
                    struct_string(volume, label_offset, false)
                };
                result["volume"] = json!({
                    "drive_type": u32_at(volume, 4).map(drive_type),
                    "drive_serial_number": u32_at(volume, 8).map(|s| format!("{:04X}-{:04X}", s >> 16, s & 0xffff)),
                    "volume_label": label,
                });
            }
            _ => problems.push(format!(
                "LinkInfo: VolumeID offset 0x{volume_offset:x} is outside its {size} bytes"
            )),
        }
    }
    if flags & 2 != 0 {
        match info.get(network_offset as usize..) {
            Some(net) if network_offset != 0 => {
                let nsize = u32_at(net, 0).unwrap_or(0) as usize;
                let net = &net[..nsize.min(net.len())];
                if nsize < 0x14 || nsize > net.len() {
                    problems.push(format!(
                        "LinkInfo: CommonNetworkRelativeLink at 0x{network_offset:x} has size {nsize} (0x14 or more, within LinkInfo, expected)"
                    ));
                }
                let net_flags = u32_at(net, 4).unwrap_or(0);
                let (name_offset, device_offset) =
                    (u32_at(net, 8).unwrap_or(0), u32_at(net, 12).unwrap_or(0));
                let wide = name_offset > 0x14;
                let (net_name, device_name) = if wide {
                    (
                        u32_at(net, 20).and_then(|o| struct_string(net, o, true)),
                        u32_at(net, 24)
                            .filter(|&o| o != 0)
                            .and_then(|o| struct_string(net, o, true)),
                    )
                } else {
                    (
                        struct_string(net, name_offset, false),
                        (net_flags & 1 != 0 && device_offset != 0)
                            .then(|| struct_string(net, device_offset, false))
                            .flatten(),
                    )
                };
                let provider = (net_flags & 2 != 0).then(|| u32_at(net, 16)).flatten();
                result["network"] = json!({
                    "net_name": net_name,
                    "device_name": device_name,
                    "provider_type": provider.map(provider_name),
                });
            }
            _ => problems.push(format!(
                "LinkInfo: CommonNetworkRelativeLink offset 0x{network_offset:x} is outside its {size} bytes"
            )),
        }
    }
    let suffix = if suffix_unicode != 0 {
        string(suffix_unicode, true, "CommonPathSuffixUnicode", problems)
    } else {
        string(suffix_offset, false, "CommonPathSuffix", problems)
    };
    result["common_path_suffix"] = json!(suffix);
    (result, end)
}

/// One StringData string at `at`: its text and the offset past it, or `None` when it runs past
/// the end of the file.
fn string_data(
    data: &[u8],
    at: usize,
    unicode: bool,
    what: &str,
    problems: &mut Problems,
) -> Option<(String, usize)> {
    let Some(count) = u16_at(data, at) else {
        problems.push(format!(
            "StringData {what}: its length at offset 0x{at:x} is past the end of the file"
        ));
        return None;
    };
    let bytes = usize::from(count) * if unicode { 2 } else { 1 };
    let Some(raw) = data.get(at + 2..at + 2 + bytes) else {
        problems.push(format!(
            "StringData {what}: {count} characters at offset 0x{:x} run past the end of the file ({} bytes)",
            at + 2,
            data.len()
        ));
        return None;
    };
    let text = if unicode {
        utf16(raw)
    } else {
        stoq_plugin_abi::bytes_to_string(raw)
    };
    let text = if text.chars().count() > MAX_STRING_CHARS {
        text.chars().take(MAX_STRING_CHARS).collect()
    } else {
        text
    };
    Some((text, at + 2 + bytes))
}

fn extra_block(signature: u32, block: &[u8]) -> Value {
    let size = block.len();
    let fixed = |at: usize, len: usize| block.get(at..(at + len).min(size)).unwrap_or_default();
    let target_block = |name: &str| {
        let ansi = ansi_z(fixed(8, 260));
        let (wide, _) = utf16_z(fixed(268, 520));
        json!({
            "block": name,
            "size": size,
            "target": if wide.is_empty() { ansi.clone() } else { wide },
            "target_ansi": ansi,
        })
    };
    match signature {
        0xa000_0001 => target_block("EnvironmentVariableDataBlock"),
        0xa000_0002 => json!({"block": "ConsoleDataBlock", "size": size}),
        0xa000_0003 => {
            let droid = |at: usize| guid_at(block, at);
            let file_droid = droid(48);
            let v1 = file_droid.as_ref().and_then(uuid_v1);
            json!({
                "block": "TrackerDataBlock",
                "size": size,
                "version": u32_at(block, 12),
                "machine_id": ansi_z(fixed(16, 16)),
                "droid_volume_id": droid(32).map(|g| guid(&g)),
                "droid_file_id": file_droid.map(|g| guid(&g)),
                "birth_droid_volume_id": droid(64).map(|g| guid(&g)),
                "birth_droid_file_id": droid(80).map(|g| guid(&g)),
                "mac_address": v1.as_ref().map(|(mac, _)| mac.clone()),
                "droid_time": v1.and_then(|(_, time)| time),
            })
        }
        0xa000_0004 => {
            json!({"block": "ConsoleFEDataBlock", "size": size, "code_page": u32_at(block, 8)})
        }
        0xa000_0005 => json!({
            "block": "SpecialFolderDataBlock",
            "size": size,
            "special_folder_id": u32_at(block, 8),
            "offset": u32_at(block, 12),
        }),
        0xa000_0006 => target_block("DarwinDataBlock"),
        0xa000_0007 => target_block("IconEnvironmentDataBlock"),
        0xa000_0008 => json!({
            "block": "ShimDataBlock",
            "size": size,
            "layer_name": utf16_z(block.get(8..).unwrap_or_default()).0,
        }),
        0xa000_0009 => json!({"block": "PropertyStoreDataBlock", "size": size}),
        0xa000_000b => json!({
            "block": "KnownFolderDataBlock",
            "size": size,
            "known_folder_id": guid_at(block, 8).map(|g| guid(&g)),
            "offset": u32_at(block, 24),
        }),
        0xa000_000c => json!({"block": "VistaAndAboveIDListDataBlock", "size": size}),
        other => json!({"block": format!("0x{other:08x}"), "size": size}),
    }
}

fn extra_data(data: &[u8], mut at: usize, problems: &mut Problems) -> Vec<Value> {
    let mut blocks = Vec::new();
    loop {
        let Some(size) = u32_at(data, at) else {
            if at < data.len() {
                problems.push(format!(
                    "ExtraData: block at offset 0x{at:x} is cut by the end of the file"
                ));
            } else {
                problems.push("ExtraData: no terminal block");
            }
            break;
        };
        if size < 4 {
            break;
        }
        if blocks.len() >= MAX_BLOCKS {
            problems.push(format!(
                "ExtraData: more than {MAX_BLOCKS} blocks; the rest are not read"
            ));
            break;
        }
        if size < 8 {
            problems.push(format!(
                "ExtraData: block at offset 0x{at:x} has size {size} (8 or more needed)"
            ));
            break;
        }
        let Some(block) = usize::try_from(size)
            .ok()
            .and_then(|s| data.get(at..at.checked_add(s)?))
        else {
            problems.push(format!(
                "ExtraData: block at offset 0x{at:x} declares {size} bytes, past the end of the file ({} bytes)",
                data.len()
            ));
            break;
        };
        let signature = u32_at(block, 4).unwrap_or(0);
        blocks.push(extra_block(signature, block));
        at += block.len();
    }
    blocks
}

/// The file name at the end of a Windows path, lower case.
fn base_name(path: &str) -> String {
    path.rsplit(['\\', '/'])
        .next()
        .unwrap_or(path)
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// The command of a PowerShell `-EncodedCommand` (any prefix of it, or `-ec`) in `arguments`:
/// base64 of UTF-16LE text, decoded, at most [`MAX_STRING_CHARS`] characters.
pub fn encoded_command(arguments: &str) -> Option<String> {
    use base64::Engine as _;
    let mut words = arguments.split_whitespace();
    while let Some(word) = words.next() {
        let flag = word.to_ascii_lowercase();
        let flag = flag.trim_start_matches('/');
        let is_flag = flag == "-ec"
            || (flag.len() >= 2 && flag.starts_with("-e") && "-encodedcommand".starts_with(flag));
        if !is_flag {
            continue;
        }
        let token = words.next()?.trim_matches(['"', '\'', ';']);
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let bytes = engine.decode(token.as_bytes()).ok()?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take(MAX_STRING_CHARS)
            .collect();
        return Some(utf16_text(&units));
    }
    None
}

/// What triage cares about, one line each.
fn suspicious(
    targets: &[String],
    arguments: Option<&str>,
    show: u32,
    icon: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let risky = targets
        .iter()
        .map(|t| base_name(t))
        .find(|name| RISKY_TARGETS.contains(&name.as_str()));
    if let Some(name) = &risky {
        out.push(format!("target is a script host or LOLBin: {name}"));
    }
    if let Some(args) = arguments {
        let lower = args.to_ascii_lowercase();
        let chars = args.chars().count();
        if chars > 260 {
            out.push(format!("arguments longer than 260 characters ({chars})"));
        }
        let padding = args
            .as_bytes()
            .windows(32)
            .any(|w| w.iter().all(|&b| b == b' ' || b == b'\t'));
        if padding {
            out.push("arguments padded with whitespace".into());
        }
        if lower.contains("http") {
            out.push("arguments contain http".into());
        }
        if lower.contains("-enc") || lower.contains("-ec ") {
            out.push("arguments contain -enc (encoded command)".into());
        }
        if lower.contains("frombase64string") {
            out.push("arguments contain FromBase64String".into());
        }
        let hidden = ["-w hidden", "-windowstyle hidden", "-win hidden", "-w 1 "]
            .iter()
            .any(|p| lower.contains(p));
        if hidden {
            out.push("arguments ask for a hidden window".into());
        }
        if let Some(command) = encoded_command(args) {
            let lower = command.to_ascii_lowercase();
            for (needle, what) in [
                ("http", "http"),
                ("frombase64string", "FromBase64String"),
                ("downloadstring", "DownloadString"),
                ("invoke-expression", "Invoke-Expression"),
                ("iex", "iex"),
            ] {
                if lower.contains(needle) {
                    out.push(format!("encoded command contains {what}"));
                }
            }
        }
    }
    match show {
        SW_SHOWMINNOACTIVE => {
            out.push("show command SW_SHOWMINNOACTIVE (window minimised, not activated)".into())
        }
        0 => out.push("show command SW_HIDE (0)".into()),
        _ => {}
    }
    if let (Some(_), Some(icon)) = (&risky, icon) {
        let icon = icon.to_ascii_lowercase();
        let icon = icon.split(',').next().unwrap_or_default().trim();
        if DOCUMENT_ICONS.iter().any(|ext| icon.ends_with(ext)) {
            out.push(format!("document icon ({icon}) on a script host target"));
        }
    }
    out
}

/// Inspects a shortcut: the results and the problems met. `Err` when `data` is not one (shorter
/// than its header, or without the header's size 0x4C and CLSID).
pub fn inspect(data: &[u8]) -> Result<(Value, Vec<Error>)> {
    if data.len() < HEADER_SIZE {
        return Err(Error::msg(format!(
            "not a shortcut: {} bytes, shorter than the 76-byte ShellLinkHeader",
            data.len()
        )));
    }
    if u32_at(data, 0) != Some(HEADER_SIZE as u32) || data[4..20] != LINK_CLSID {
        return Err(Error::msg(
            "not a shortcut: no ShellLinkHeader (size 0x4C and CLSID 00021401-0000-0000-C000-000000000046)",
        ));
    }
    let mut problems = Problems(Vec::new());
    let flags = u32_at(data, 20).unwrap_or(0);
    let attributes = u32_at(data, 24).unwrap_or(0);
    let show = u32_at(data, 60).unwrap_or(0);
    let header = json!({
        "flags": LINK_FLAGS.iter().enumerate().filter(|(i, _)| flags & (1 << i) != 0).map(|(_, n)| *n).collect::<Vec<_>>(),
        "flags_value": flags,
        "file_attributes": FILE_ATTRIBUTES.iter().filter(|(bit, _)| attributes & bit != 0).map(|(_, n)| *n).collect::<Vec<_>>(),
        "creation_time": u64_at(data, 28).and_then(filetime),
        "access_time": u64_at(data, 36).and_then(filetime),
        "write_time": u64_at(data, 44).and_then(filetime),
        "file_size": u32_at(data, 52),
        "icon_index": u32_at(data, 56).map(|i| i as i32),
        "show_command": show_command(show),
        "show_command_value": show,
        "hotkey": u16_at(data, 64).and_then(hotkey),
    });
    let mut flag_map = Map::new();
    for (i, name) in LINK_FLAGS.iter().enumerate() {
        flag_map.insert((*name).to_owned(), json!(flags & (1 << i) != 0));
    }

    let mut at = Some(HEADER_SIZE);
    let mut id = Value::Null;
    if flags & HAS_ID_LIST != 0
        && let Some(pos) = at
    {
        (id, at) = id_list(data, pos, &mut problems);
    }
    let mut info = Value::Null;
    if flags & HAS_LINK_INFO != 0
        && let Some(pos) = at
    {
        (info, at) = link_info(data, pos, &mut problems);
    }
    let unicode = flags & IS_UNICODE != 0;
    let mut strings = Map::new();
    for (bit, key) in [
        (HAS_NAME, "name"),
        (HAS_RELATIVE_PATH, "relative_path"),
        (HAS_WORKING_DIR, "working_dir"),
        (HAS_ARGUMENTS, "arguments"),
        (HAS_ICON_LOCATION, "icon_location"),
    ] {
        if flags & bit == 0 {
            continue;
        }
        let Some(pos) = at else { break };
        match string_data(data, pos, unicode, key, &mut problems) {
            Some((text, next)) => {
                strings.insert(key.to_owned(), json!(text));
                at = Some(next);
            }
            None => at = None,
        }
    }
    let blocks = match at {
        Some(pos) => extra_data(data, pos, &mut problems),
        None => Vec::new(),
    };

    // The target: the ID list's path, LinkInfo's, the environment block's, the relative path.
    let mut targets: Vec<String> = Vec::new();
    if let Some(path) = id["path"].as_str() {
        targets.push(path.to_owned());
    }
    if let Some(base) = info["local_base_path"].as_str() {
        let suffix = info["common_path_suffix"].as_str().unwrap_or_default();
        targets.push(format!("{base}{suffix}"));
    }
    if let Some(net) = info["network"]["net_name"].as_str() {
        let suffix = info["common_path_suffix"].as_str().unwrap_or_default();
        targets.push(if suffix.is_empty() {
            net.to_owned()
        } else {
            format!("{net}{SEPARATOR}{suffix}")
        });
    }
    for block in &blocks {
        if block["block"] == "EnvironmentVariableDataBlock"
            && let Some(t) = block["target"].as_str()
        {
            targets.push(t.to_owned());
        }
    }
    if let Some(relative) = strings.get("relative_path").and_then(Value::as_str) {
        targets.push(relative.to_owned());
    }
    let suspicious = suspicious(
        &targets,
        strings.get("arguments").and_then(Value::as_str),
        show,
        strings.get("icon_location").and_then(Value::as_str),
    );
    let decoded = strings
        .get("arguments")
        .and_then(Value::as_str)
        .and_then(encoded_command);
    let results = json!({
        "header": header,
        "flags": flag_map,
        "target_id_list": id,
        "link_info": info,
        "string_data": strings,
        "extra_data": blocks,
        "target_path": targets.first(),
        "encoded_command": decoded,
        "suspicious": suspicious,
    });
    Ok((results, problems.0))
}

#[cfg(test)]
mod tests;
