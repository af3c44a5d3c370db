//! The `fuzzy` worker through the binary: ssdeep and TLSH of a sample equal to the reference
//! tools' values, on every payload of a tree, with `max_size` refusing what it does not cover.

use std::io::Write;

use serde_json::{Value, json};
use stoq_tests::random::splitmix64;
use stoq_tests::{errors, scan_bytes};

/// `splitmix64(4096, 4096)`'s hashes: `ssdeep -b` 2.14.1 (Debian 2.14.1+git20180629.57fcfff-3)
/// and `tlsh.hash` of py-tlsh 5.0.0 on the same bytes.
const SAMPLE_SSDEEP: &str =
    "96:buG+h26rtCgtMV763/UHNJ1DPqK5S+8zrGqnYfK6/hcMjRh5bgKP:bxQAcOw/UtyHHRYiSh3RhnP";
const SAMPLE_TLSH: &str =
    "T13E816DA3CCD0AE351552AFD42CA03EF3F56412B96923848D4668E033C403B549366ADD";

#[test]
fn fuzzy_hashes_equal_the_reference_tools() {
    let response = scan_bytes(&splitmix64(4096, 4096), &["-a", "fuzzy"]);
    assert!(errors(&response).is_empty(), "{response:#}");
    assert_eq!(
        response["results"][0]["workers"]["fuzzy"],
        json!({"ssdeep": SAMPLE_SSDEEP, "tlsh": SAMPLE_TLSH})
    );

    // Too short for TLSH (as py-tlsh's `TNULL`), not for ssdeep (`ssdeep -b` prints `3:FJKX:Fs`).
    let response = scan_bytes(b"The quick brown fox", &["-a", "fuzzy"]);
    assert_eq!(
        response["results"][0]["workers"]["fuzzy"],
        json!({
            "ssdeep": "3:FJKX:Fs",
            "tlsh": null,
            "tlsh_null_reason": "TNULL: 19 bytes, TLSH needs at least 50",
        })
    );
}

#[test]
fn fuzzy_hashes_every_payload_of_a_tree() {
    let sample = splitmix64(4096, 4096);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&sample).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let response = scan_bytes(&gz, &["-s", "decompress", "-a", "fuzzy"]);
    assert!(errors(&response).is_empty(), "{response:#}");
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{response:#}");
    let outer = &results[0]["workers"]["fuzzy"];
    assert!(
        outer["ssdeep"]
            .as_str()
            .is_some_and(|s| s.starts_with("96:")),
        "{outer}"
    );
    assert!(
        outer["tlsh"]
            .as_str()
            .is_some_and(|t| t.len() == 72 && t.starts_with("T1")),
        "{outer}"
    );
    assert_eq!(
        results[1]["workers"]["fuzzy"],
        json!({"ssdeep": SAMPLE_SSDEEP, "tlsh": SAMPLE_TLSH})
    );
}

#[test]
fn fuzzy_options_through_the_command_line() {
    let sample = splitmix64(4096, 4096);
    let response = scan_bytes(
        &sample,
        &["-a", "fuzzy", "--plugin-opts", "fuzzy:max_size=4095"],
    );
    assert_eq!(
        errors(&response),
        [
            "payload of 4096 bytes is over max_size (4095 bytes): not hashed (fuzzy hashes of a prefix would mislead)"
        ]
    );
    assert!(
        response["results"][0]["workers"]
            .get("fuzzy")
            .is_none_or(Value::is_null),
        "{response:#}"
    );

    let response = scan_bytes(
        &sample,
        &["-a", "fuzzy", "--plugin-opts", "fuzzy:tlsh=false"],
    );
    assert_eq!(
        response["results"][0]["workers"]["fuzzy"],
        json!({"ssdeep": SAMPLE_SSDEEP})
    );
}
