//! Windows shortcut parsing on arbitrary bytes, as is and behind a valid ShellLinkHeader's
//! size and CLSID (so every input reaches the parser's insides).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stoq_plugin_lnk::inspect(data);
    let mut input = Vec::with_capacity(20 + data.len());
    input.extend_from_slice(&0x4cu32.to_le_bytes());
    input.extend_from_slice(&stoq_plugin_lnk::LINK_CLSID);
    input.extend_from_slice(data);
    let _ = stoq_plugin_lnk::inspect(&input);
});
