//! Every archive format on arbitrary bytes: the first byte picks the format, so each parser
//! sees input that does not start with its magic too. Limits are small to keep runs fast.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stoq_plugin_decompress::{Format, Limits, extract};

const FORMATS: [Format; 7] = [
    Format::Zip,
    Format::Gzip,
    Format::Bzip2,
    Format::Xz,
    Format::Zstd,
    Format::Tar,
    Format::SevenZ,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let limits = Limits {
        max_member_size: 1 << 20,
        max_total_size: 4 << 20,
        max_members: 64,
        max_ratio: 100,
        ..Limits::default()
    };
    let passwords = vec!["infected".to_owned()];
    let _ = extract(FORMATS[usize::from(pick) % FORMATS.len()], rest, &limits, &passwords);
});
