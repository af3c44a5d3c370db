//! The built-in routes (stoq-filetype's table), rule errors, matches, user rules after the
//! built-in routes and the `save` convention, run through [`PluginTest`] as the host runs the
//! plugin. That the routes are found in linear time is the detector's test
//! (`plugins/filetype/src/tests.rs`).

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

/// The plugin with its defaults (built-in routes, no rules), started.
fn builtin() -> PluginTest<Yara> {
    let test = PluginTest::<Yara>::new();
    test.start().expect("starts");
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
fn builtin_routes_route_each_kind_of_the_table() {
    let yara = builtin();
    let samples = stoq_filetype::samples::samples();
    assert_eq!(samples.len(), stoq_filetype::KINDS.len());
    for (name, data) in &samples {
        let kind = stoq_filetype::by_name(name).expect("a kind");
        let answer = dispatch(&yara, data);
        assert_eq!(answer.plugin_names, kind.plugins, "{name}");
        assert_eq!(
            answer.meta["filetype"],
            json!({
                "name": kind.name,
                "mimetype": kind.mimetype,
                "description": kind.description,
                "extension": kind.extension,
                "plugin": kind.plugins.join(", "),
            }),
            "{name}"
        );
        assert_eq!(answer.meta.len(), 1);
        assert_eq!(answer.should_archive, None);
    }
    let email = dispatch(&yara, b"Subject: x\r\nFrom: a@b.example\r\n\r\nhi");
    assert_eq!(email.plugin_names, ["smtp"]);
    for text in [
        &b"The quick brown fox"[..],
        b"From: only one header\n\nbody",
        b"",
    ] {
        assert_eq!(dispatch(&yara, text), DispatcherResponse::empty());
    }
    // The worker has no rules by default: nothing to report.
    assert!(yara.scan(b"PK\x03\x04rest").expect("scans").is_empty());
}

#[test]
fn user_dispatch_rules_come_after_the_builtin_routes() {
    let (yara, _dir) = with_rules(
        "rule zip_too { meta: plugin = \"decompress, hash\" condition: uint32(0) == 0x04034b50 }",
    );
    let zip = b"PK\x03\x04rest";
    let answer = dispatch(&yara, zip);
    assert_eq!(
        answer.plugin_names,
        ["decompress", "hash"],
        "decompress once"
    );
    assert_eq!(answer.meta["filetype"]["name"], "zip");
    assert_eq!(answer.meta["zip_too"]["plugin"], "decompress, hash");

    // Without the built-in routes: only the rules.
    let dir = tempfile_free::Dir::new();
    let path = dir.write(
        "r.yar",
        "rule fox { meta: plugin = \"hash\" strings: $a = \"fox\" condition: $a }",
    );
    let rules_only = PluginTest::<Yara>::new()
        .option("builtin_routes", false)
        .option("dispatch_rules", path.as_str());
    assert_eq!(dispatch(&rules_only, zip), DispatcherResponse::empty());
    assert_eq!(dispatch(&rules_only, b"a fox").plugin_names, ["hash"]);
    // Neither: the dispatcher routes nothing.
    let nothing = PluginTest::<Yara>::new().option("builtin_routes", "no");
    assert_eq!(dispatch(&nothing, zip), DispatcherResponse::empty());
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
            ("builtin_routes", OptionKind::Bool, Some(json!(true))),
            ("strings_limit", OptionKind::Int, Some(json!(10))),
        ]
    );
    assert!(Yara::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let test = PluginTest::<Yara>::new()
        .option("strings_limit", 3)
        .option("worker_rules", "")
        .option("dispatch_rules", "")
        .option("builtin_routes", true);
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
            "builtin_routes",
            json!("sometimes"),
            "plugin `yara`: option `builtin_routes`: expected a boolean, got \"sometimes\"",
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
