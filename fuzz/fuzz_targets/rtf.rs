//! RTF parsing (groups, control words, `\objdata` hex, OLE1 headers, packages) on arbitrary
//! bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stoq_plugin_rtf::inspect(data);
});
