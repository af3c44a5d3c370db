//! PDF parsing (keyword counts, objects, streams, filters, object streams, the analysis) on
//! arbitrary bytes, with small limits so that each input is quick.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = stoq_plugin_pdf::Limits {
        max_objects: 1000,
        max_stream_size: 1 << 20,
        max_total_decoded: 4 << 20,
        max_depth: 100,
    };
    let _ = stoq_plugin_pdf::inspect_with(data, &limits);
});
