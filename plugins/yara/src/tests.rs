//! The bundled routing, rule errors, matches and the `save` convention, run through
//! [`PluginTest`] as the host runs the plugin.

use stoq_plugin_abi::testing::{PluginTest, TestError};

use super::*;

/// The plugin with `rules` as its worker and dispatch rules, and the folder holding them.
fn with_rules(rules: &str) -> (PluginTest<Yara>, tempfile_free::Dir) {
    let dir = tempfile_free::Dir::new();
    let path = dir.write("rules.yar", rules);
    let test = PluginTest::<Yara>::new()
        .option("dispatch_rules", path.as_str())
        .option("worker_rules", path.as_str());
    (test, dir)
}

fn dispatch(yara: &PluginTest<Yara>, data: &[u8]) -> DispatcherResponse {
    yara.dispatch(data).expect("dispatches")
}

/// The plugin with the bundled rules, started (its rules compiled).
fn bundled() -> PluginTest<Yara> {
    let test = PluginTest::<Yara>::new();
    test.start().expect("bundled rules compile");
    test
}

/// A temporary directory without a dev-dependency.
mod tempfile_free {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "stoq-yara-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Self(dir)
        }

        pub fn path(&self) -> String {
            self.0.to_string_lossy().into_owned()
        }

        pub fn write(&self, name: &str, text: &str) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, text).expect("write");
            path.to_string_lossy().into_owned()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn bundled_rules_route_each_format() {
    let yara = bundled();
    let mut pe = vec![0u8; 256];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let b64 = "QUJD".repeat(40);
    let cases: Vec<(&[u8], &str)> = vec![
        (b"PK\x03\x04rest", "decompress"),
        (&[0x1f, 0x8b, 8, 0], "decompress"),
        (b"BZh91AY&SY", "decompress"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0, 0], "decompress"),
        (&[0x28, 0xb5, 0x2f, 0xfd, 0], "decompress"),
        (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4], "decompress"),
        (&pe, "peinfo"),
        (
            b"From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nhi",
            "smtp",
        ),
        (b64.as_bytes(), "b64decode"),
    ];
    for (data, plugin) in cases {
        let answer = dispatch(&yara, data);
        assert_eq!(
            answer.plugin_names,
            [plugin],
            "{:?}",
            String::from_utf8_lossy(&data[..data.len().min(16)])
        );
    }
    assert!(
        dispatch(&yara, b"The quick brown fox")
            .plugin_names
            .is_empty()
    );
    assert!(
        dispatch(&yara, b"From: only one header\n\nbody")
            .plugin_names
            .is_empty()
    );
}

#[test]
fn a_syntax_error_names_the_option_the_file_and_the_line() {
    let dir = tempfile_free::Dir::new();
    let path = dir.write(
        "broken.yar",
        "rule ok { condition: true }\nrule broken { condition: }\n",
    );
    let Err(err) = compile(std::slice::from_ref(&path)) else {
        panic!("a syntax error must be refused");
    };
    let text = err.to_string();
    assert!(text.contains(&path) && text.contains(":2:"), "{text}");
    // The plugin does not start, and says which option named the file.
    for key in ["worker_rules", "dispatch_rules"] {
        let err = PluginTest::<Yara>::new()
            .option(key, path.as_str())
            .start()
            .unwrap_err();
        let TestError::Config(message) = &err else {
            panic!("expected a rejected option, got {err:?}")
        };
        assert!(
            message.starts_with(&format!("option `{key}`: rule syntax error:")),
            "{message}"
        );
        assert!(
            message.contains(&path) && message.contains(":2:"),
            "{message}"
        );
    }
}

#[test]
fn rule_folders_are_read_in_order_and_missing_files_are_config_errors() {
    let dir = tempfile_free::Dir::new();
    dir.write("b.yar", "rule from_b { condition: true }");
    dir.write("a.yara", "rule from_a { condition: true }");
    dir.write("notes.txt", "not rules");
    let folder = dir.path();
    let test = PluginTest::<Yara>::new()
        .option("worker_rules", folder.as_str())
        .option("dispatch_rules", folder.as_str());
    let response = test.scan(b"anything").expect("scans");
    let rules: Vec<&Value> = response.results.as_ref().expect("matches")["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["rule"])
        .collect();
    assert_eq!(rules, [&json!("from_a"), &json!("from_b")]);

    let missing = format!("{folder}/none.yar");
    let err = PluginTest::<Yara>::new()
        .option("dispatch_rules", missing.as_str())
        .start()
        .unwrap_err();
    let TestError::Config(message) = &err else {
        panic!("expected a rejected option, got {err:?}")
    };
    assert!(
        message.starts_with(&format!(
            "option `dispatch_rules`: cannot read rule file {missing}: "
        )),
        "{message}"
    );
}

#[test]
fn matches_report_rule_tags_meta_and_strings() {
    let (yara, _dir) = with_rules(
        "rule fox : animal { meta: plugin = \"hash, entropy\" xorkey = \"0x41\" save = \"false\"\n\
         strings: $a = \"fox\" condition: $a }",
    );
    let data = b"The quick brown fox, fox, fox";
    let results = yara.scan(data).expect("scans").results.expect("matches");
    let m = &results["matches"][0];
    assert_eq!(m["rule"], "fox");
    assert_eq!(m["namespace"], "default");
    assert_eq!(m["tags"], json!(["animal"]));
    assert_eq!(m["meta"]["xorkey"], "0x41");
    assert_eq!(
        m["strings"][0],
        json!({"identifier": "$a", "offset": 16, "data": "fox"})
    );
    assert_eq!(m["strings"].as_array().unwrap().len(), 3);

    let answer = dispatch(&yara, data);
    assert_eq!(answer.plugin_names, ["hash", "entropy"]);
    assert_eq!(answer.meta["fox"]["xorkey"], "0x41");
    assert_eq!(answer.should_archive, Some(false));

    // Nothing matches: nothing to report, and nowhere to route.
    assert!(yara.scan(b"a lazy dog").expect("scans").is_empty());
    assert_eq!(dispatch(&yara, b"a lazy dog"), DispatcherResponse::empty());
}

#[test]
fn strings_limit_caps_the_strings_reported_per_pattern() {
    let rules = "rule fox { strings: $a = \"fox\" $b = \"dog\" condition: $a or $b }";
    let data = b"fox fox fox fox dog dog dog";
    let count = |limit: Option<&str>| {
        let (mut yara, _dir) = with_rules(rules);
        if let Some(limit) = limit {
            yara = yara.option("strings_limit", limit);
        }
        let results = yara.scan(data).expect("scans").results.expect("matches");
        results["matches"][0]["strings"].as_array().unwrap().len()
    };
    assert_eq!(count(None), 7, "the default, 10, keeps all");
    assert_eq!(count(Some("2")), 4, "two of each pattern");
    assert_eq!(count(Some("0")), 0);
}

#[test]
fn options_are_declared_and_read() {
    let declared: Vec<(&str, OptionKind, Option<Value>)> = Yara::INFO
        .options
        .iter()
        .map(|o| (o.name, o.kind, o.default_value()))
        .collect();
    assert_eq!(
        declared,
        [
            ("worker_rules", OptionKind::List, Some(json!([]))),
            ("dispatch_rules", OptionKind::List, Some(json!([]))),
            ("strings_limit", OptionKind::Int, Some(json!(10))),
        ]
    );
    assert!(Yara::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let test = PluginTest::<Yara>::new()
        .option("strings_limit", 3)
        .option("worker_rules", "")
        .option("dispatch_rules", "");
    assert_eq!(test.unused_options(), Ok(vec![]));
}

#[test]
fn a_bad_option_value_is_a_config_error_naming_the_key() {
    let cases = [
        (
            "strings_limit",
            json!("ten"),
            "plugin `yara`: option `strings_limit`: expected an integer, got \"ten\"",
        ),
        (
            "strings_limit",
            json!(-1),
            "option `strings_limit` must be >= 0, got -1",
        ),
        (
            "worker_rules",
            json!({"path": "a.yar"}),
            "plugin `yara`: option `worker_rules`: expected a list, got {\"path\":\"a.yar\"}",
        ),
    ];
    for (key, value, message) in cases {
        let test = PluginTest::<Yara>::new().option(key, value.clone());
        assert_eq!(
            test.start().unwrap_err(),
            TestError::Config(message.to_owned()),
            "{key} = {value}"
        );
    }
}

/// Standard base64 with padding (the test needs no encoder crate).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Wraps text in lines of `width` characters, each ending in `eol`.
fn wrap(text: &str, width: usize, eol: &str) -> String {
    text.as_bytes()
        .chunks(width)
        .map(|line| format!("{}{eol}", String::from_utf8_lossy(line)))
        .collect()
}

#[test]
fn bundled_base64_rule_keeps_its_meaning() {
    let yara = bundled();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let text = base64(&bytes);
    let routed = |data: &[u8]| dispatch(&yara, data).plugin_names == ["b64decode"];
    // Wrapped lines of 60-76 characters from offset 0, "\n" or "\r\n".
    for width in [60, 64, 76] {
        assert!(routed(wrap(&text, width, "\n").as_bytes()), "{width}");
        assert!(routed(wrap(&text, width, "\r\n").as_bytes()), "{width}");
    }
    // One run to the end, with padding and a final line break or not.
    for tail in ["", "\n", "\r\n"] {
        for run in [
            base64(&bytes[..100]),
            base64(&bytes[..101]),
            base64(&bytes[..102]),
        ] {
            assert!(run.len() >= 64);
            assert!(routed(format!("{run}{tail}").as_bytes()), "{run:?}{tail:?}");
        }
    }
    assert!(routed("A".repeat(64).as_bytes()));
    // Not base64 text.
    let not = |data: &[u8]| dispatch(&yara, data).plugin_names.is_empty();
    assert!(not("A".repeat(63).as_bytes()), "too short");
    assert!(not(wrap(&text, 59, "\n").as_bytes()), "lines too short");
    assert!(not(wrap(&text, 77, "\n").as_bytes()), "lines too long");
    let mut broken = "A".repeat(5000);
    broken.replace_range(4000..4001, "!");
    assert!(not(broken.as_bytes()), "a foreign byte in the run");
    assert!(
        not(format!("{}===", "A".repeat(100)).as_bytes()),
        "three `=`"
    );
    assert!(
        not(format!(" {}", "A".repeat(100)).as_bytes()),
        "not from offset 0"
    );
    assert!(
        not(format!("{}\n{}", "A".repeat(100), "A".repeat(10)).as_bytes()),
        "two runs"
    );
}

/// Adversarial inputs for the bundled rules, `len` bytes each (a repeated pattern).
fn adversarial(len: usize) -> Vec<(&'static str, Vec<u8>)> {
    let repeat = |unit: &[u8]| unit.iter().copied().cycle().take(len).collect::<Vec<u8>>();
    let line76 = format!("{}\n", base64(&[0x5a; 57]));
    let mut foreign_at_end = vec![b'A'; len];
    foreign_at_end[len - 1] = b'!';
    vec![
        ("A", repeat(b"A")),
        ("A\\n", repeat(b"A\n")),
        ("A\\r\\n", repeat(b"A\r\n")),
        ("76-char lines", repeat(line76.as_bytes())),
        (
            "77-char lines",
            repeat(format!("{}\n", "A".repeat(77)).as_bytes()),
        ),
        ("A.. then !", foreign_at_end),
        ("=", repeat(b"=")),
        ("From:", repeat(b"From:")),
        ("From ", repeat(b"From ")),
        ("Received:", repeat(b"Received:")),
        ("To:", repeat(b"To:")),
        (
            "headers",
            repeat(b"From: a\r\nReceived: b\r\nTo: c\r\nDate: d\r\n"),
        ),
    ]
}

/// The fastest of `runs` calls of `f`, in seconds.
fn fastest(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// The bundled rules scan in time linear in the input: on multi-megabyte adversarial inputs,
/// as the dispatcher and as the worker, a scan takes at most 200 times as long as hashing the
/// same bytes with SHA-256, and 4 MiB takes at most 8 times as long as 1 MiB (plus the time
/// to hash 1 MiB, so that scans of a few microseconds are not compared with noise). Times are
/// the fastest of a few runs; a failing case is measured again before the test fails.
#[test]
fn bundled_rules_scan_adversarial_inputs_in_linear_time() {
    use sha2::Digest as _;
    const SMALL: usize = 1 << 20;
    const LARGE: usize = 4 << 20;
    const RUNS: usize = 3;
    let yara = bundled();
    let small = adversarial(SMALL);
    let large = adversarial(LARGE);
    // The expected routing, which also shows the rules are evaluated to the end.
    let routes = |name: &str| match name {
        "A" | "76-char lines" => vec!["b64decode"],
        "headers" => vec!["smtp"],
        _ => vec![],
    };
    let scan = |data: &[u8], worker: bool| {
        if worker {
            std::hint::black_box(yara.scan(data).expect("scans"));
        } else {
            std::hint::black_box(yara.dispatch(data).expect("dispatches"));
        }
    };
    for ((name, small), (_, large)) in small.iter().zip(&large) {
        let answer = dispatch(&yara, large);
        assert_eq!(answer.plugin_names, routes(name), "{name}");
        for worker in [false, true] {
            let mode = if worker { "worker" } else { "dispatcher" };
            let mut report = String::new();
            let mut ok = false;
            for _attempt in 0..3 {
                let hash_small = fastest(RUNS, || {
                    std::hint::black_box(sha2::Sha256::digest(small));
                });
                let hash_large = fastest(RUNS, || {
                    std::hint::black_box(sha2::Sha256::digest(large));
                });
                let scan_small = fastest(RUNS, || scan(small, worker));
                let scan_large = fastest(RUNS, || scan(large, worker));
                let vs_hash = scan_large / hash_large;
                let scaling = scan_large / (scan_small + hash_small);
                report = format!(
                    "{name:?} ({mode}): 1 MiB {:.2} ms, 4 MiB {:.2} ms, sha256 4 MiB {:.2} ms; \
                     {vs_hash:.1}x sha256, 4 MiB / 1 MiB {:.2} (with slack {scaling:.2})",
                    scan_small * 1e3,
                    scan_large * 1e3,
                    hash_large * 1e3,
                    scan_large / scan_small,
                );
                if vs_hash < 200.0 && scaling < 8.0 {
                    ok = true;
                    break;
                }
            }
            eprintln!("{report}");
            assert!(ok, "not linear: {report}");
        }
    }
}
