//! SPEC §2 rules 9 and 10: extraction depth and `max_recursion`, deduplication; the
//! extraction limits.

use expect_test::expect;
use serde_json::json;
use stoq_plugin_abi::PayloadMeta;

use super::*;

/// Always extracts new bytes: its input with one more `+`.
fn generator() -> Spec {
    worker("gen", |input| {
        Out::new().extract(&format!("{}+", text(input))).done()
    })
}

#[test]
fn rule_9_max_recursion_keeps_the_deepest_payload_unscanned() {
    check(
        &[generator()],
        "-a gen --max-recursion 3",
        "r",
        expect![[r#"
            root d0: run [gen]
            r+ d1 <- root by gen: run [gen]
            r++ d2 <- r+ by gen: run [gen]
            r+++ d3 <- r++ by gen: run []
            error: - on r+++: Final worker round (3) reached, unable to process payload: it is 3 extractions deep and max_recursion is 3
        "#]],
    );
}

#[test]
fn rule_9_an_always_dispatched_extractor_yields_max_recursion_plus_one_results() {
    for deterministic in [true, false] {
        let (engine, _) = engine(&[generator()], "-a gen", deterministic);
        let response = engine.scan("r".into(), PayloadMeta::default(), Default::default());
        assert_eq!(response.results.len(), 11, "max_recursion 10 + 1");
        let depths: Vec<u32> = response.results.iter().map(|r| r.depth).collect();
        assert_eq!(depths, (0..=10).collect::<Vec<_>>());
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
    }
}

#[test]
fn rule_10_lorem_ipsum_always_extracted_yields_two_results() {
    let lorem = worker("lorem", |_| Out::new().extract("Lorem ipsum").done());
    check(
        &[lorem],
        "-a lorem",
        "root",
        expect![[r#"
            root d0: run [lorem]
            Lorem ipsum d1 <- Lorem ipsum by lorem, root by lorem: run [lorem]
        "#]],
    );
}

#[test]
fn rule_10_a_duplicate_keeps_every_edge_and_its_extra_data() {
    let named = |worker_name: &str, file: &'static str| {
        worker(worker_name, move |input| match text(input).as_str() {
            "root" => {
                let mut meta = PayloadMeta::default();
                meta.extra_data.insert("filename".into(), json!(file));
                Out::new().extract_with("same", meta).done()
            }
            _ => Ok(None),
        })
    };
    check(
        &[
            named("x", "a.txt"),
            named("y", "b.txt"),
            returns("h", json!("hashed")),
        ],
        "-s x y -a h",
        "root",
        expect![[r#"
            root d0: run [h, x, y] h="hashed"
            same d1 <- root by x {"filename":"a.txt"}, root by y {"filename":"b.txt"}: run [h] h="hashed"
        "#]],
    );
}

#[test]
fn extracted_payloads_past_the_count_limit_are_dropped_with_one_error() {
    let many = worker("many", |input| match text(input).as_str() {
        "root" => (1..=5)
            .fold(Out::new(), |out, i| out.extract(&format!("p{i}")))
            .done(),
        _ => Ok(None),
    });
    check(
        &[many],
        "-s many --max-extracted-payloads 3",
        "root",
        expect![[r#"
            root d0: run [many]
            p1 d1 <- root by many: run []
            p2 d1 <- root by many: run []
            p3 d1 <- root by many: run []
            error: many on root: limit max_extracted_payloads (3) reached: further extracted payloads are dropped
        "#]],
    );
}
