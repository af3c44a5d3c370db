//! OLE2 compound files, OOXML/ODF packages and VBA projects on arbitrary bytes: the whole
//! inspection, and the MS-OVBA decompressor, the `dir` stream parser and the macro scanner
//! alone.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stoq_plugin_ole::inspect(data);
    let decompressed = stoq_plugin_ole::ovba::decompress(data, 1 << 20);
    let _ = stoq_plugin_ole::ovba::parse_dir(&decompressed.data);
    let _ = stoq_plugin_ole::scan::analyse(&String::from_utf8_lossy(data));
});
