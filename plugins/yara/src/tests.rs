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
