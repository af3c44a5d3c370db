//! File type detection on arbitrary bytes: never panics, and the email and base64 tests agree
//! with the kind the table picks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let kind = stoq_filetype::detect(data);
    if kind.name == "email" {
        assert!(stoq_filetype::is_email(data));
    }
    if kind.name == "base64" {
        assert!(stoq_filetype::is_base64_text(data));
    }
    assert!(kind.is_known() == stoq_filetype::by_name(kind.name).is_some());
});
