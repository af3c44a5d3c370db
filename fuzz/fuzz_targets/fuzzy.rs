//! ssdeep and TLSH on arbitrary bytes: never a panic, and the same hashes however the input
//! is split into pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stoq_plugin_fuzzy::{Which, hashes, ssdeep, tlsh};

fuzz_target!(|data: &[u8]| {
    let whole = hashes(data, Which::BOTH);
    // Split where the first byte says, then in pieces of the second byte's size.
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let step = data.get(1).map_or(1, |&b| usize::from(b).max(1));
    let (head, tail) = data.split_at(cut);
    let mut s = ssdeep::Ssdeep::new();
    let mut t = tlsh::Tlsh::new();
    s.update(head);
    t.update(head);
    for piece in tail.chunks(step) {
        s.update(piece);
        t.update(piece);
    }
    assert_eq!(whole.ssdeep, Some(s.finish()));
    assert_eq!(whole.tlsh, Some(t.finish()));
});
