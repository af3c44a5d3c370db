//! SPEC §2 rules 1–8: dispatch sources, `should_scan`, at most once, `required_workers`.

use expect_test::expect;
use serde_json::{Value, json};
use stoq_plugin_abi::PayloadMeta;
use stoq_plugin_abi::ffi;

use super::*;

/// Extracts "child" from the root, nothing from anything else.
fn extractor() -> Spec {
    worker("x", |input| match text(input).as_str() {
        "root" => Out::new().extract("child").done(),
        _ => Ok(None),
    })
}

/// Returns the payload's text.
fn echo(name: &str) -> Spec {
    worker(name, |input| Out::new().results(json!(text(input))).done())
}

#[test]
fn rule_1_start_dispatch_scans_root_payloads_only() {
    check(
        &[extractor(), echo("s")],
        "-s x s",
        "root",
        expect![[r#"
            root d0: run [s, x] s="root"
            child d1 <- root by x: run []
        "#]],
    );
}

#[test]
fn rule_2_always_dispatch_scans_every_payload_that_should_scan() {
    let x = worker("x", |input| match text(input).as_str() {
        "root" => {
            let hidden = PayloadMeta::new().with_should_scan(false);
            Out::new()
                .extract("child")
                .extract_with("hidden", hidden)
                .done()
        }
        _ => Ok(None),
    });
    check(
        &[x, echo("a")],
        "-s x -a a",
        "root",
        expect![[r#"
            root d0: run [a, x] a="root"
            child d1 <- root by x: run [a] a="child"
            hidden d1 <- root by x (should_scan=false): run []
        "#]],
    );
}

#[test]
fn rule_3_dispatchers_union_their_names_and_keep_meta_per_payload_for_workers() {
    let d1 = dispatcher("d1", |_| names(&["a", "b"]));
    let d2 = dispatcher("d2", |_| {
        let mut response = names(&["b", "c"])?;
        response.meta.insert("rule".into(), json!("r1"));
        Ok(response)
    });
    // `a` shows the dispatch meta it sees; meta is not printed otherwise.
    let a = worker("a", |input| {
        Out::new()
            .results(input.query(ffi::CONTEXT_DISPATCH_META))
            .done()
    });
    check(
        &[d1, d2, a, echo("b"), echo("c"), extractor()],
        "-s x -R d1 d2",
        "root",
        expect![[r#"
            root d0: run [a, b, c, x] a={"d1":{},"d2":{"rule":"r1"}} b="root" c="root"
            child d1 <- root by x: run [a, b, c] a={"d1":{},"d2":{"rule":"r1"}} b="child" c="child"
        "#]],
    );
}

#[test]
fn rule_3_a_conditional_dispatcher_fires_after_another_worker_ran() {
    // Names `b` only once `a` has run on the payload: it must be asked again.
    let cond = dispatcher("cond", |input| {
        let run = input.query(ffi::CONTEXT_PLUGINS_RUN);
        let ran_a = run
            .as_array()
            .is_some_and(|r| r.contains(&Value::from("a")));
        names(if ran_a { &["b"] } else { &[] })
    });
    check(
        &[cond, echo("a"), echo("b")],
        "-a a -R cond",
        "root",
        expect![[r#"
            root d0: run [a, b] a="root" b="root"
        "#]],
    );
}

#[test]
fn rule_3_workers_named_at_scan_time_are_started_then_scheduled() {
    // Neither `a` nor its required worker `b` is started before the scan (no -s/-a names
    // them): both start when the dispatcher names `a`, outside the request's lock.
    let a = worker("a", |input| {
        Out::new()
            .results(input.query(ffi::CONTEXT_WORKER_RESULTS))
            .done()
    })
    .requires(&["b"]);
    check(
        &[dispatcher("d", |_| names(&["a"])), a, echo("b")],
        "-R d",
        "root",
        expect![[r#"
            root d0: run [a, b] a={"b":"root"} b="root"
        "#]],
    );
}

#[test]
fn rule_4_payload_meta_dispatch_to_on_extracted_and_root_payloads() {
    let x = worker("x", |input| match text(input).as_str() {
        "root" => {
            let meta = PayloadMeta::new().with_dispatch_to(["t"]);
            Out::new().extract_with("child", meta).done()
        }
        _ => Ok(None),
    });
    let root = PayloadMeta::new().with_dispatch_to(["r"]);
    check_meta(
        &[x, echo("r"), echo("t")],
        "-s x",
        "root",
        root,
        expect![[r#"
            root d0: run [r, x] r="root"
            child d1 <- root by x: run [t] t="child"
        "#]],
    );
}

#[test]
fn rule_5_worker_dispatch_to_runs_on_the_same_payload_only() {
    let a = worker("a", |input| match text(input).as_str() {
        "root" => Out::new().extract("child").dispatch_to(&["b"]).done(),
        _ => Ok(None),
    });
    check(
        &[a, echo("b")],
        "-s a",
        "root",
        expect![[r#"
            root d0: run [a, b] b="root"
            child d1 <- root by a: run []
        "#]],
    );
}

#[test]
fn rule_6_should_scan_false_is_listed_deduplicated_archived_and_never_scanned() {
    let hidden = || PayloadMeta::new().with_should_scan(false);
    let x = worker("x", move |input| match text(input).as_str() {
        "root" => Out::new().extract_with("hidden", hidden()).done(),
        _ => Ok(None),
    });
    let y = worker("y", move |input| match text(input).as_str() {
        "root" => Out::new().extract_with("hidden", hidden()).done(),
        _ => Ok(None),
    });
    // The dispatcher names `d_named` for any payload it is asked about.
    let arc = archiver("arc", |_| {
        Ok(stoq_plugin_abi::ArchiverResponse::new(json!("saved")))
    });
    check(
        &[
            x,
            y,
            echo("a"),
            echo("d_named"),
            dispatcher("d", |_| names(&["d_named"])),
            arc,
        ],
        "-s x y -a a -R d -A arc",
        "root",
        expect![[r#"
            root d0: run [a, d_named, x, y] a="root" d_named="root"; archived [arc] arc="saved"
            hidden d1 <- root by x, root by y (should_scan=false): run []; archived [arc] arc="saved"
        "#]],
    );
}

#[test]
fn rule_7_a_pair_runs_at_most_once_however_many_sources_name_it() {
    let b = worker("b", |_| Out::new().dispatch_to(&["a"]).done());
    let root = PayloadMeta::new().with_dispatch_to(["a"]);
    check_meta(
        &[echo("a"), b, dispatcher("d", |_| names(&["a", "a"]))],
        "-s a b -a a -R d",
        "root",
        root,
        expect![[r#"
            root d0: run [a, b] a="root"
        "#]],
    );
}

#[test]
fn rule_8_required_workers_run_first_and_their_results_are_visible() {
    let seen = |name: &str| {
        worker(name, |input| {
            Out::new()
                .results(input.query(ffi::CONTEXT_WORKER_RESULTS))
                .done()
        })
    };
    check(
        &[
            seen("a").requires(&["b"]),
            seen("b").requires(&["c"]),
            returns("c", json!(3)),
            extractor(),
        ],
        "-s x -a a",
        "root",
        expect![[r#"
            root d0: run [a, b, c, x] a={"b":{"c":3},"c":3} b={"c":3} c=3
            child d1 <- root by x: run [a, b, c] a={"b":{"c":3},"c":3} b={"c":3} c=3
        "#]],
    );
}

#[test]
fn rule_8_a_failed_required_worker_stops_its_dependent_and_says_why() {
    let b = worker("b", |_| fail(CallErrorKind::Failed, "boom"));
    check(
        &[returns("a", json!(1)).requires(&["b"]), b],
        "-a a",
        "root",
        expect![[r#"
            root d0: run [b]
            error: a on root: worker:not run: required worker `b` failed on this payload
            error: b on root: worker:failed: boom
        "#]],
    );
}

#[test]
fn rule_8_a_cycle_is_reported_at_start_up_and_on_the_payload() {
    check(
        &[
            returns("a", json!(1)).requires(&["b"]),
            returns("b", json!(2)).requires(&["a"]),
        ],
        "-a a",
        "root",
        expect![[r#"
            start-up: plugin `a`: circular required workers: a -> b -> a
            root d0: run []
            error: a on root: Circular required plugin dependency found, unable to process plugin a (a -> b -> a)
        "#]],
    );
}

#[test]
fn rule_8_a_missing_required_worker_is_reported_once_per_request() {
    check(
        &[returns("a", json!(1)).requires(&["nope"]), extractor()],
        "-s x -a a",
        "root",
        expect![[r#"
            start-up: no plugin named `nope` was found in the plugin directories
            root d0: run [x]
            child d1 <- root by x: run []
            error: a on child: worker:not run: required worker `nope` failed on this payload
            error: a on root: worker:not run: required worker `nope` failed on this payload
            error: nope on root: Worker plugin nope failed to load: no plugin named `nope` was found in the plugin directories
        "#]],
    );
}

#[test]
fn rule_8_a_chain_deeper_than_the_limit_is_an_error() {
    // w00 -> w01 -> ... -> w11: twelve workers, a chain of 11 required workers.
    let mut chain: Vec<Spec> = (0..12)
        .map(|i| {
            let spec = returns(&format!("w{i:02}"), json!(i));
            if i < 11 {
                spec.requires(&[format!("w{:02}", i + 1).as_str()])
            } else {
                spec
            }
        })
        .collect();
    chain.push(dispatcher("d", |_| names(&["w00"])));
    check(
        &chain,
        "-R d",
        "root",
        expect![[r#"
            root d0: run []
            error: w00 on root: Max required plugin depth 10 reached, unable to generate additional tasks (w00 -> w01 -> w02 -> w03 -> w04 -> w05 -> w06 -> w07 -> w08 -> w09 -> w10 -> w11)
        "#]],
    );
}
