//! SPEC §2 rule 11: errors are data; timeouts name their source; the request timeout names
//! what had not finished.

use std::time::Duration;

use expect_test::expect;
use serde_json::json;
use stoq_plugin_abi::PayloadMeta;

use super::*;

fn sleeps(name: &str, seconds: f64) -> Spec {
    worker(name, move |_| {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        Out::new().results(json!("late")).done()
    })
}

#[test]
fn rule_11_failures_panics_and_reported_errors_are_data_and_count_as_run() {
    check(
        &[
            worker("f", |_| fail(CallErrorKind::Failed, "cannot parse")),
            worker("p", |_| {
                fail(CallErrorKind::Panicked, "index out of bounds")
            }),
            worker("e", |_| {
                Out::new().results(json!(1)).error("partial").done()
            }),
            returns("ok", json!(2)),
        ],
        "-a f p e ok",
        "root",
        expect![[r#"
            root d0: run [e, f, ok, p] e=1 ok=2
            error: e on root: partial
            error: f on root: worker:failed: cannot parse
            error: p on root: worker:panicked: index out of bounds
        "#]],
    );
}

#[test]
fn rule_11_a_missing_plugin_is_reported_once_per_request() {
    let x = worker("x", |input| match text(input).as_str() {
        "root" => Out::new().extract("c1").extract("c2").done(),
        _ => Ok(None),
    });
    let plugins = [x, dispatcher("d", |_| names(&["ghost"]))];
    let meta = PayloadMeta::default;
    expect![[r#"
        root d0: run [x]
        c1 d1 <- root by x: run []
        c2 d1 <- root by x: run []
        error: ghost on root: Worker plugin ghost failed to load: no plugin named `ghost` was found in the plugin directories
    "#]]
    .assert_eq(&scan_render(&plugins, "-s x -R d", "root", meta(), true));
    // Without --deterministic, whichever payload's dispatch came back first carries it.
    let timed = scan_render(&plugins, "-s x -R d", "root", meta(), false);
    assert_eq!(
        timed.matches("Worker plugin ghost failed to load").count(),
        1,
        "{timed}"
    );
}

#[test]
fn rule_11_a_plugin_that_fails_to_start_is_an_error_not_a_crash() {
    check(
        &[
            dispatcher("d", |_| names(&["broken"])),
            returns("broken", json!(1)).fails_to_start("option `x`: expected a number"),
            returns("ok", json!(2)),
        ],
        "-a ok -R d",
        "root",
        expect![[r#"
            root d0: run [ok] ok=2
            error: broken on root: Worker plugin broken failed to load: plugin `broken` failed to start: option `x`: expected a number
        "#]],
    );
}

#[test]
fn rule_11_dispatcher_errors_are_reported_once_per_payload() {
    // Asked again after `a` runs, it fails the same way: one error.
    check(
        &[
            dispatcher("d", |_| fail(CallErrorKind::Failed, "bad rules")),
            returns("a", json!(1)),
        ],
        "-a a -R d",
        "root",
        expect![[r#"
            root d0: run [a] a=1
            error: d on root: dispatcher:failed: bad rules
        "#]],
    );
}

#[test]
fn a_worker_timeout_names_the_plugins_timeout_option() {
    check(
        &[
            sleeps("slow", 0.4).option("timeout", json!(0.05)),
            returns("ok", json!(1)),
        ],
        "-a slow ok",
        "root",
        expect![[r#"
            root d0: run [ok, slow] ok=1
            error: slow on root: worker:timed out: still running after 0.05 s (its `timeout` option); the result is discarded
        "#]],
    );
}

#[test]
fn a_worker_timeout_names_the_default_worker_timeout() {
    check(
        &[
            sleeps("slow", 0.4),
            returns("ok", json!(1)).option("timeout", json!(5)),
        ],
        "-a slow ok --worker-timeout 0.05",
        "root",
        expect![[r#"
            root d0: run [ok, slow] ok=1
            error: slow on root: worker:timed out: still running after 0.05 s (the default worker timeout, `--worker-timeout`); the result is discarded
        "#]],
    );
}

#[test]
fn the_request_timeout_names_the_workers_that_had_not_finished() {
    check(
        &[
            sleeps("slow", 1.5),
            returns("after", json!(1)).requires(&["slow"]),
            returns("ok", json!(2)),
        ],
        "-a ok after --timeout 0.2",
        "root",
        expect![[r#"
            root d0: run [ok] ok=2
            error: - on -: limit request timeout (0.2 s) reached: 1 scan tasks did not finish (after on root (waiting for its required workers), slow on root); the response holds what finished
        "#]],
    );
}
