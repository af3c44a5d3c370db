//! IOC extraction (refanging and every pattern) on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stoq_plugin_iocextract::extract(&String::from_utf8_lossy(data));
});
