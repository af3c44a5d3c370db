//! SPEC §2 rule 12: destination archivers, then decorators, then connectors.

use std::sync::{Arc, Mutex};

use expect_test::expect;
use serde_json::json;
use stoq_plugin_abi::{ArchiverResponse, DecoratorResponse, PayloadMeta, RequestMeta};

use super::*;

fn saving_archiver() -> Spec {
    archiver("arc", |input| {
        Ok(ArchiverResponse::new(json!(format!(
            "saved {}",
            text(input)
        ))))
    })
}

/// Counts the archived payloads it sees in the response.
fn counting_decorator() -> Spec {
    decorator("count", |response| {
        let response: Value = serde_json::from_str(response).unwrap();
        let archived = response["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["archivers"].get("arc").is_some())
            .count();
        Ok(DecoratorResponse::new(json!({ "archived": archived })))
    })
}

#[test]
fn rule_12_archivers_run_on_payloads_to_archive_then_decorators_see_them() {
    let x = worker("x", |input| match text(input).as_str() {
        "root" => {
            let keep_out = PayloadMeta::new().with_should_archive(false);
            Out::new()
                .extract("child")
                .extract_with("secret", keep_out)
                .done()
        }
        _ => Ok(None),
    });
    // A dispatcher may keep a payload out of the archivers (stoQ's YARA `save = "false"`).
    let d = dispatcher("d", |input| {
        let mut response = names(&[])?;
        if text(input) == "child" {
            response.should_archive = Some(false);
        }
        Ok(response)
    });
    check(
        &[x, d, saving_archiver(), counting_decorator()],
        "-s x -R d -A arc -D count",
        "root",
        expect![[r#"
            root d0: run [x]; archived [arc] arc="saved root"
            child d1 <- root by x: run []
            secret d1 <- root by x: run []
            decorator count={"archived":1}
        "#]],
    );
}

#[test]
fn rule_12_archive_payloads_false_skips_the_archivers() {
    for deterministic in [true, false] {
        let (engine, problems) = engine(
            &[
                returns("a", json!(1)),
                saving_archiver(),
                counting_decorator(),
            ],
            "-a a -A arc -D count",
            deterministic,
        );
        assert_eq!(problems, "");
        let request_meta = RequestMeta::new().with_archive_payloads(false);
        let response = engine.scan("root".into(), PayloadMeta::default(), request_meta);
        expect![[r#"
            root d0: run [a] a=1
            decorator count={"archived":0}
        "#]]
        .assert_eq(&render(&response));
    }
}

#[test]
fn rule_12_connectors_get_the_decorated_response_and_their_failures_are_reported() {
    let saved = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&saved);
    let keep = connector("keep", move |response| {
        let response: Value = serde_json::from_str(response).unwrap();
        log.lock().unwrap().push(response["decorators"].to_string());
        Ok(())
    });
    let broken = connector("broken", |_| fail(CallErrorKind::Failed, "disk full"));
    let (engine, problems) = engine(
        &[
            returns("a", json!(1)),
            saving_archiver(),
            counting_decorator(),
            keep,
            broken,
        ],
        "-a a -A arc -D count -C keep broken",
        true,
    );
    assert_eq!(problems, "");
    let (tx, rx) = std::sync::mpsc::channel();
    engine.submit_with(
        crate::Submission {
            content: "root".into(),
            ..Default::default()
        },
        move |finished| tx.send(finished).unwrap(),
    );
    let finished = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let connector_errors: Vec<String> = finished
        .connector_errors
        .iter()
        .map(|e| format!("{:?}: {}", e.plugin_name, e.error))
        .collect();
    expect![[r#"
        (
            [
                "{\"count\":{\"archived\":1}}",
            ],
            [
                "Some(\"broken\"): connector:failed: disk full",
            ],
        )
    "#]]
    .assert_debug_eq(&(saved.lock().unwrap().clone(), connector_errors));
    expect![[r#"
        root d0: run [a] a=1; archived [arc] arc="saved root"
        error: broken on -: connector:failed: disk full
        decorator count={"archived":1}
    "#]]
    .assert_eq(&render(&finished.response));
}
