//! The engine as a library, without the CLI, with plugins loaded through the ABI.

use std::sync::Arc;

use stoq_core::{Engine, PayloadMeta, Registry};
use stoq_tests::env;

fn registry() -> Arc<Registry> {
    Arc::new(Registry::discover(
        &[env().test_dir.clone(), env().bundled_dir.clone()],
        Default::default(),
    ))
}

#[test]
fn root_dispatch_to_is_honoured() {
    // Beyond stoQ, which ignores dispatch_to on root payloads.
    let engine = Engine::builder(registry()).build().expect("engine");
    let response = engine.scan(
        b"The quick brown fox".to_vec().into(),
        PayloadMeta::dispatch_to(["hash"]),
        Default::default(),
    );
    assert_eq!(response.results[0].plugins_run.workers, ["hash"]);
    assert_eq!(
        response.results[0].workers["hash"]["md5"],
        "a2004f37730b9445670a738fa0fc9ee5"
    );
}

#[test]
fn the_builder_checks_named_plugins() {
    let problems = match Engine::builder(registry())
        .always_dispatch(["nonexistent"])
        .build()
    {
        Ok(_) => panic!("a missing plugin must be refused"),
        Err(problems) => problems,
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].to_string(),
        "no plugin named `nonexistent` was found in the plugin directories"
    );
}

#[test]
fn many_requests_in_flight_each_get_their_own_response() {
    let engine = Engine::builder(registry())
        .always_dispatch(["hash", "simple_worker"])
        .jobs(2)
        .build()
        .expect("engine");
    let pending: Vec<_> = (0..50u32)
        .map(|i| {
            engine.submit(
                i.to_le_bytes().to_vec().into(),
                Default::default(),
                Default::default(),
            )
        })
        .collect();
    for (i, scan) in pending.into_iter().enumerate() {
        let response = scan.wait();
        assert_eq!(response.results.len(), 2, "root and Lorem ipsum");
        assert_eq!(response.results[0].size, 4);
        let expected = stoq_plugin_hash::digests(&(i as u32).to_le_bytes(), false);
        assert_eq!(response.results[0].workers["hash"]["md5"], expected["md5"]);
    }
}
