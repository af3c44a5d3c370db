use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::{PluginTest, TestError};

use super::*;

mod inputs;
mod vectors;

use inputs::input;

/// `random_4096`'s hashes, from `ssdeep -b` 2.14.1 and py-tlsh 5.0.0 (see `vectors`).
const R4096_SSDEEP: &str =
    "96:buG+h26rtCgtMV763/UHNJ1DPqK5S+8zrGqnYfK6/hcMjRh5bgKP:bxQAcOw/UtyHHRYiSh3RhnP";
const R4096_TLSH: &str = "T13E816DA3CCD0AE351552AFD42CA03EF3F56412B96923848D4668E033C403B549366ADD";

fn scan(test: PluginTest<Fuzzy>, content: &[u8]) -> WorkerResponse {
    test.scan(content).expect("scans")
}

#[test]
fn scan_reports_ssdeep_and_tlsh() {
    let response = scan(PluginTest::new(), &input("random_4096"));
    assert_eq!(
        response.results,
        Some(json!({"ssdeep": R4096_SSDEEP, "tlsh": R4096_TLSH}))
    );
    assert!(response.errors.is_empty() && response.extracted.is_empty());
}

#[test]
fn a_payload_without_tlsh_says_why() {
    // `ssdeep -b` 2.14.1 prints `3:FJKX:Fs` for these 19 bytes; py-tlsh 5.0.0 `TNULL`.
    let response = scan(PluginTest::new(), b"The quick brown fox");
    assert_eq!(
        response.results,
        Some(json!({
            "ssdeep": "3:FJKX:Fs",
            "tlsh": null,
            "tlsh_null_reason": "TNULL: 19 bytes, TLSH needs at least 50",
        }))
    );
    assert!(response.errors.is_empty());

    let response = scan(PluginTest::new(), &[0; 4096]);
    assert_eq!(
        response.results,
        Some(json!({
            "ssdeep": "3::",
            "tlsh": null,
            "tlsh_null_reason": "TNULL: too little variety, 2 of 128 buckets hit, TLSH needs more than 64",
        }))
    );

    let response = scan(PluginTest::new(), b"");
    assert_eq!(
        response.results,
        Some(json!({
            "ssdeep": "3::",
            "tlsh": null,
            "tlsh_null_reason": "TNULL: 0 bytes, TLSH needs at least 50",
        }))
    );
}

#[test]
fn options_ssdeep_and_tlsh_choose_the_hashes() {
    let data = input("random_4096");
    // As `--plugin-opts fuzzy:tlsh=false` gives it: a string.
    for off in [json!(false), json!("false")] {
        let response = scan(PluginTest::new().option("tlsh", off.clone()), &data);
        assert_eq!(response.results, Some(json!({"ssdeep": R4096_SSDEEP})));
        let response = scan(PluginTest::new().option("ssdeep", off), &data);
        assert_eq!(response.results, Some(json!({"tlsh": R4096_TLSH})));
    }
    // `ssdeep -b` 2.14.1 on these 5 bytes.
    let response = scan(PluginTest::new().option("tlsh", false), b"short");
    assert_eq!(response.results, Some(json!({"ssdeep": "3:Xn:X"})));
}

#[test]
fn bad_option_values_are_rejected_naming_the_key() {
    let rejected = |test: PluginTest<Fuzzy>| match test.start() {
        Err(TestError::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    };
    let message = rejected(PluginTest::new().option("ssdeep", "maybe"));
    assert!(message.contains("`ssdeep`"), "{message}");
    let message = rejected(PluginTest::new().option("tlsh", 3));
    assert!(message.contains("`tlsh`"), "{message}");
    let message = rejected(PluginTest::new().option("max_size", -1));
    assert!(
        message.contains("`max_size`") && message.contains("must be >= 0, got -1"),
        "{message}"
    );
    let message = rejected(PluginTest::new().option("max_size", "big"));
    assert!(message.contains("`max_size`"), "{message}");
    let message = rejected(
        PluginTest::new()
            .option("ssdeep", false)
            .option("tlsh", false),
    );
    assert!(
        message.contains("`ssdeep`") && message.contains("`tlsh`") && message.contains("nothing"),
        "{message}"
    );
}

#[test]
fn a_payload_over_max_size_is_not_hashed_and_the_error_names_the_limit() {
    let data = input("random_4096");
    let response = scan(PluginTest::new().option("max_size", 4095), &data);
    assert_eq!(response.results, None);
    assert_eq!(response.errors.len(), 1);
    assert_eq!(
        response.errors[0].message(),
        "payload of 4096 bytes is over max_size (4095 bytes): not hashed (fuzzy hashes of a prefix would mislead)"
    );
    // At the limit: hashed.
    let response = scan(PluginTest::new().option("max_size", "4096"), &data);
    assert_eq!(
        response.results,
        Some(json!({"ssdeep": R4096_SSDEEP, "tlsh": R4096_TLSH}))
    );
    assert!(response.errors.is_empty());
}

#[test]
fn the_declared_default_of_max_size_is_256_mib() {
    let option = Fuzzy::INFO
        .options
        .iter()
        .find(|o| o.name == "max_size")
        .expect("declared");
    assert_eq!(option.default_value(), Some(json!(256 << 20)));
}

/// Streaming: any split of the input into pieces gives the one-shot hashes.
#[test]
fn hashes_do_not_depend_on_how_the_input_is_split() {
    for name in [
        "random_4096",
        "random_190335",
        "fox_90000",
        "ab_65536",
        "zeros_4096",
    ] {
        let data = input(name);
        let whole = (ssdeep::hash(&data), tlsh::hash(&data));
        for piece in [1, 2, 3, 5, 7, 64, 4095, 65536] {
            let mut s = ssdeep::Ssdeep::new();
            let mut t = tlsh::Tlsh::new();
            for chunk in data.chunks(piece) {
                s.update(chunk);
                t.update(chunk);
            }
            assert_eq!(
                (s.finish(), t.finish()),
                whole,
                "{name} in pieces of {piece}"
            );
        }
        // Uneven pieces, from the data itself, and empty ones.
        let mut s = ssdeep::Ssdeep::new();
        let mut t = tlsh::Tlsh::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = (usize::from(rest[0]) * 13 % 997).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            s.update(chunk);
            t.update(chunk);
            rest = tail;
            if n == 0 {
                let (one, tail) = rest.split_at(1);
                s.update(one);
                t.update(one);
                rest = tail;
            }
        }
        assert_eq!((s.finish(), t.finish()), whole, "{name} in uneven pieces");
    }
}

/// The two-thread path (from `PARALLEL_THRESHOLD`) and the chunked one give the reference
/// values of `random_10m_plus_1` (10 MiB + 1 bytes): `ssdeep -b` 2.14.1 and py-tlsh 5.0.0
/// on the same bytes.
#[test]
fn large_payloads_hashed_on_two_threads_give_the_same_values() {
    let data = input("random_10m_plus_1");
    assert!(data.len() >= PARALLEL_THRESHOLD);
    let want = Hashes {
        ssdeep: Some(Ok(
            "196608:eNB3PtnK4eGWTiKdguiBb7v0KL9gy1yAj7w26Jl7eG04j3M1PCJEr7q+uT:eJLeYXIKLBXwtv0+gPO"
                .into(),
        )),
        tlsh: Some(Ok(
            "T127B6333062FD75EC8EA1EF546820D2191FA8814B40258B4118C976B7BE1F64A4BFBFD7".into(),
        )),
    };
    assert_eq!(hashes(&data, Which::BOTH), want);
    let only_ssdeep = hashes(
        &data,
        Which {
            ssdeep: true,
            tlsh: false,
        },
    );
    assert_eq!(only_ssdeep.ssdeep, want.ssdeep);
    assert_eq!(only_ssdeep.tlsh, None);
}

/// Inputs that keep the slow paths busy (a trigger point at many bytes, every level
/// followed, the last signature character absorbing most of the input) take linear time.
#[test]
fn pathological_inputs_take_linear_time() {
    let patterns: [&[u8]; 5] = [b"\x00", b"\xff", b"ab", b"\x00\x01\x02", b"abcdefg"];
    let started = Instant::now();
    for pattern in patterns {
        let data = pattern.repeat((1 << 20) / pattern.len());
        let s = ssdeep::hash(&data).expect("an ssdeep hash");
        assert!(s.len() <= 6 + 1 + 64 + 1 + 32, "{s}");
        assert!(tlsh::hash(&data).is_err(), "too uniform for TLSH");
    }
    // Unoptimised, on a busy machine: generous.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn ssdeep_refuses_what_no_block_size_covers() {
    assert_eq!(
        ssdeep::Error::TooLong(ssdeep::MAX_LEN + 1).to_string(),
        "ssdeep: 206158430209 bytes is more than the largest block size covers (206158430208 bytes)"
    );
}
