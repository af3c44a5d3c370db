//! Windows shortcuts ([MS-SHLLINK]): the header, an ID list of shell items, LinkInfo (local
//! path and volume, or a network share), StringData and extra data blocks.

/// `{00021401-0000-0000-C000-000000000046}`, the header's LinkCLSID.
pub const LINK_CLSID: [u8; 16] = [
    0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];
/// The size of ShellLinkHeader.
pub const HEADER_SIZE: usize = 0x4c;
/// LinkFlags: an ID list present.
pub const HAS_ID_LIST: u32 = 1 << 0;
/// LinkFlags: LinkInfo present.
pub const HAS_LINK_INFO: u32 = 1 << 1;
/// LinkFlags: NAME_STRING present.
pub const HAS_NAME: u32 = 1 << 2;
/// LinkFlags: RELATIVE_PATH present.
pub const HAS_RELATIVE_PATH: u32 = 1 << 3;
/// LinkFlags: WORKING_DIR present.
pub const HAS_WORKING_DIR: u32 = 1 << 4;
/// LinkFlags: COMMAND_LINE_ARGUMENTS present.
pub const HAS_ARGUMENTS: u32 = 1 << 5;
/// LinkFlags: ICON_LOCATION present.
pub const HAS_ICON_LOCATION: u32 = 1 << 6;
/// LinkFlags: strings are UTF-16LE.
pub const IS_UNICODE: u32 = 1 << 7;

/// 2024-03-01T12:00:00Z in seconds since 1970.
pub const MARCH_2024: u64 = 1_709_294_400;

/// `unix` seconds as a FILETIME.
pub fn filetime_of(unix: u64) -> u64 {
    (unix + 11_644_473_600) * 10_000_000
}

/// `s` in UTF-16LE with a terminating NUL.
pub fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A GUID in its on-disk (mixed-endian) layout.
pub fn guid_bytes(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> [u8; 16] {
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&data1.to_le_bytes());
    g[4..6].copy_from_slice(&data2.to_le_bytes());
    g[6..8].copy_from_slice(&data3.to_le_bytes());
    g[8..].copy_from_slice(&data4);
    g
}

/// My Computer, {20D04FE0-3AEA-1069-A2D8-08002B30309D}.
pub fn my_computer() -> [u8; 16] {
    guid_bytes(
        0x20d0_4fe0,
        0x3aea,
        0x1069,
        [0xa2, 0xd8, 0x08, 0x00, 0x2b, 0x30, 0x30, 0x9d],
    )
}

/// A version 1 UUID (a tracker droid) made at `unix` seconds on the machine with `mac`.
pub fn uuid_v1(unix: u64, mac: [u8; 6]) -> [u8; 16] {
    let ticks = (unix + 12_219_292_800) * 10_000_000;
    let mut data4 = [0x80, 0x01, 0, 0, 0, 0, 0, 0];
    data4[2..].copy_from_slice(&mac);
    guid_bytes(
        ticks as u32,
        (ticks >> 32) as u16,
        ((ticks >> 48) as u16 & 0x0fff) | 0x1000,
        data4,
    )
}

/// A root shell item naming a folder by CLSID.
pub fn root_item(clsid: [u8; 16]) -> Vec<u8> {
    let mut item = vec![0x14, 0x00, 0x1f, 0x50];
    item.extend_from_slice(&clsid);
    item
}

/// A volume shell item (`C:\\`).
pub fn volume_item(name: &str) -> Vec<u8> {
    let mut item = vec![0x19, 0x00, 0x2f];
    item.extend_from_slice(name.as_bytes());
    item.resize(0x19, 0);
    item
}

/// A file or directory entry with its short name and, in a version 9 extension block, its
/// long name.
pub fn file_item(directory: bool, short: &str, long: &str, size: u32) -> Vec<u8> {
    let mut item = vec![0, 0, if directory { 0x31 } else { 0x32 }, 0];
    item.extend_from_slice(&size.to_le_bytes());
    item.extend_from_slice(&0x5861_6c21u32.to_le_bytes()); // DOS date and time
    item.extend_from_slice(&(if directory { 0x10u16 } else { 0x20 }).to_le_bytes());
    item.extend_from_slice(short.as_bytes());
    item.push(0);
    if item.len() % 2 == 1 {
        item.push(0);
    }
    let ext_start = item.len();
    let mut ext = vec![0, 0, 9, 0];
    ext.extend_from_slice(&0xbeef_0004u32.to_le_bytes());
    ext.extend_from_slice(&[0; 8]); // creation, access
    ext.extend_from_slice(&0x2eu16.to_le_bytes());
    ext.extend_from_slice(&[0; 2 + 8 + 8 + 2 + 4 + 4]);
    ext.extend_from_slice(&utf16z(long));
    ext.extend_from_slice(&(ext_start as u16).to_le_bytes());
    let ext_len = ext.len() as u16;
    ext[..2].copy_from_slice(&ext_len.to_le_bytes());
    item.extend_from_slice(&ext);
    let len = item.len() as u16;
    item[..2].copy_from_slice(&len.to_le_bytes());
    item
}

/// LinkInfo with a VolumeID and local base path (ANSI) and/or a network share.
pub fn link_info(
    local: Option<(&str, &str, u32)>,
    network: Option<(&str, &str)>,
    suffix: &str,
) -> Vec<u8> {
    let header = 0x1c;
    let mut body = Vec::new();
    let (mut volume_offset, mut base_offset, mut network_offset) = (0, 0, 0);
    let mut flags = 0;
    if let Some((path, label, serial)) = local {
        flags |= 1;
        volume_offset = header + body.len();
        let mut volume = Vec::new();
        volume.extend_from_slice(&0u32.to_le_bytes());
        volume.extend_from_slice(&3u32.to_le_bytes()); // DRIVE_FIXED
        volume.extend_from_slice(&serial.to_le_bytes());
        volume.extend_from_slice(&0x10u32.to_le_bytes());
        volume.extend_from_slice(label.as_bytes());
        volume.push(0);
        let len = volume.len() as u32;
        volume[..4].copy_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&volume);
        base_offset = header + body.len();
        body.extend_from_slice(path.as_bytes());
        body.push(0);
    }
    if let Some((share, device)) = network {
        flags |= 2;
        network_offset = header + body.len();
        let mut net = Vec::new();
        net.extend_from_slice(&0u32.to_le_bytes());
        net.extend_from_slice(&3u32.to_le_bytes()); // ValidDevice | ValidNetType
        net.extend_from_slice(&0x14u32.to_le_bytes());
        net.extend_from_slice(&(0x15 + share.len() as u32).to_le_bytes());
        net.extend_from_slice(&0x0002_0000u32.to_le_bytes()); // WNNC_NET_LANMAN
        net.extend_from_slice(share.as_bytes());
        net.push(0);
        net.extend_from_slice(device.as_bytes());
        net.push(0);
        let len = net.len() as u32;
        net[..4].copy_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&net);
    }
    let suffix_offset = header + body.len();
    body.extend_from_slice(suffix.as_bytes());
    body.push(0);
    let mut out = Vec::new();
    let size = (header + body.len()) as u32;
    for v in [
        size,
        header as u32,
        flags,
        volume_offset as u32,
        base_offset as u32,
        network_offset as u32,
        suffix_offset as u32,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// An extra data block: size, signature, body.
pub fn block(signature: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
    out.extend_from_slice(&signature.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// EnvironmentVariableDataBlock with `target` in ANSI and Unicode.
pub fn environment_block(target: &str) -> Vec<u8> {
    let mut body = vec![0u8; 260 + 520];
    body[..target.len()].copy_from_slice(target.as_bytes());
    let wide = utf16z(target);
    body[260..260 + wide.len()].copy_from_slice(&wide);
    block(0xa000_0001, &body)
}

/// TrackerDataBlock: the machine's NetBIOS name and the droids.
pub fn tracker_block(machine: &str, droid_volume: [u8; 16], droid_file: [u8; 16]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x58u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    let mut id = [0u8; 16];
    id[..machine.len()].copy_from_slice(machine.as_bytes());
    body.extend_from_slice(&id);
    for g in [droid_volume, droid_file, droid_volume, droid_file] {
        body.extend_from_slice(&g);
    }
    block(0xa000_0003, &body)
}

/// A shortcut: header fields, an optional ID list and LinkInfo, StringData, extra blocks.
#[derive(Default)]
pub struct Shortcut {
    pub extra_flags: u32,
    pub attributes: u32,
    pub show: u32,
    pub hotkey: u16,
    pub file_size: u32,
    pub id_list: Option<Vec<Vec<u8>>>,
    pub link_info: Option<Vec<u8>>,
    pub unicode: bool,
    pub name: Option<String>,
    pub relative_path: Option<String>,
    pub working_dir: Option<String>,
    pub arguments: Option<String>,
    pub icon_location: Option<String>,
    pub blocks: Vec<Vec<u8>>,
}

impl Shortcut {
    /// The shortcut's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut flags = self.extra_flags;
        let strings = [
            (HAS_NAME, &self.name),
            (HAS_RELATIVE_PATH, &self.relative_path),
            (HAS_WORKING_DIR, &self.working_dir),
            (HAS_ARGUMENTS, &self.arguments),
            (HAS_ICON_LOCATION, &self.icon_location),
        ];
        for (bit, s) in &strings {
            if s.is_some() {
                flags |= bit;
            }
        }
        if self.id_list.is_some() {
            flags |= HAS_ID_LIST;
        }
        if self.link_info.is_some() {
            flags |= HAS_LINK_INFO;
        }
        if self.unicode {
            flags |= IS_UNICODE;
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
        out.extend_from_slice(&LINK_CLSID);
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&self.attributes.to_le_bytes());
        for t in [MARCH_2024, MARCH_2024 + 3600, MARCH_2024 + 7200] {
            out.extend_from_slice(&filetime_of(t).to_le_bytes());
        }
        out.extend_from_slice(&self.file_size.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // icon index
        out.extend_from_slice(&self.show.to_le_bytes());
        out.extend_from_slice(&self.hotkey.to_le_bytes());
        out.extend_from_slice(&[0; 10]);
        if let Some(items) = &self.id_list {
            let size: usize = items.iter().map(Vec::len).sum::<usize>() + 2;
            out.extend_from_slice(&(size as u16).to_le_bytes());
            for item in items {
                out.extend_from_slice(item);
            }
            out.extend_from_slice(&[0, 0]);
        }
        if let Some(info) = &self.link_info {
            out.extend_from_slice(info);
        }
        for (_, s) in strings {
            let Some(s) = s else { continue };
            if self.unicode {
                let units: Vec<u16> = s.encode_utf16().collect();
                out.extend_from_slice(&(units.len() as u16).to_le_bytes());
                out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            } else {
                out.extend_from_slice(&(s.len() as u16).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        for b in &self.blocks {
            out.extend_from_slice(b);
        }
        out.extend_from_slice(&[0; 4]);
        out
    }
}
