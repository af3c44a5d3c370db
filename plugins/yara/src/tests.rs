//! The bundled routing, rule errors, matches and the `save` convention.

use super::*;

fn dispatcher(rules: &str) -> (Yara, tempfile_free::Dir) {
    let dir = tempfile_free::Dir::new();
    let path = dir.write("rules.yar", rules);
    let mut config = PluginConfig::new(
        "yara",
        json!({"dispatch_rules": path, "worker_rules": path})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        &[],
    )
    .expect("config");
    (Yara::new(&mut config).expect("compiles"), dir)
}

fn dispatch(yara: &Yara, data: &[u8]) -> DispatcherResponse {
    let facts = Map::new();
    yara.get_dispatches(&Payload::for_test(data, &facts), &Request::for_test(&facts))
        .expect("dispatches")
        .expect("answers")
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
    let mut config = PluginConfig::new("yara", Map::new(), &[]).expect("config");
    let yara = Yara::new(&mut config).expect("bundled rules compile");
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
fn a_syntax_error_names_the_file_and_line() {
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
}

#[test]
fn matches_report_rule_tags_meta_and_strings() {
    let (yara, _dir) = dispatcher(
        "rule fox : animal { meta: plugin = \"hash, entropy\" xorkey = \"0x41\" save = \"false\"\n\
         strings: $a = \"fox\" condition: $a }",
    );
    let facts = Map::new();
    let data = b"The quick brown fox, fox, fox";
    let results = yara
        .scan(&Payload::for_test(data, &facts), &Request::for_test(&facts))
        .expect("scans")
        .expect("matches")
        .results
        .expect("results");
    let m = &results["matches"][0];
    assert_eq!(m["rule"], "fox");
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

fn bundled() -> Yara {
    let mut config = PluginConfig::new("yara", Map::new(), &[]).expect("config");
    Yara::new(&mut config).expect("bundled rules compile")
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
    let facts = Map::new();
    let small = adversarial(SMALL);
    let large = adversarial(LARGE);
    // The expected routing, which also shows the rules are evaluated to the end.
    let routes = |name: &str| match name {
        "A" | "76-char lines" => vec!["b64decode"],
        "headers" => vec!["smtp"],
        _ => vec![],
    };
    let scan = |data: &[u8], worker: bool| {
        let payload = Payload::for_test(data, &facts);
        let request = Request::for_test(&facts);
        if worker {
            std::hint::black_box(yara.scan(&payload, &request).expect("scans"));
        } else {
            let answer = yara.get_dispatches(&payload, &request).expect("dispatches");
            std::hint::black_box(answer);
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
