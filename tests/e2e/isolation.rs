//! `isolation = "process"`: a plugin in helper processes; crashes and hangs cost only the call.

use serde_json::Value;
use stoq_tests::{errors, fox, run, scan, stderr, workers_run};

#[test]
fn a_crashing_isolated_worker_fails_only_its_calls_and_is_restarted() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-a",
            "crash_worker",
            "simple_worker",
            "hash",
            "--plugin-opts",
            "crash_worker:isolation=process",
        ],
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "the extracted payload is scanned too");
    let errs = response["errors"].as_array().expect("errors");
    assert_eq!(
        errs.len(),
        2,
        "one crash per payload: a new helper served the second: {errs:?}"
    );
    for (result, err) in results.iter().zip(errs) {
        assert!(result["workers"]["hash"]["sha256"].is_string());
        assert!(workers_run(result).contains(&"crash_worker".to_owned()));
        assert_eq!(err["plugin_name"], "crash_worker");
        let text = err["error"].as_str().unwrap();
        assert!(
            text.starts_with("worker:crashed: the helper process running plugin `crash_worker` was killed by signal 6"),
            "{text}"
        );
    }
    let exits = scan(
        &sample.path,
        &[
            "-s",
            "crash_worker",
            "--plugin-opts",
            "crash_worker:isolation=process",
            "crash_worker:how=exit",
        ],
    );
    assert!(
        errors(&exits)[0].contains("exited with exit status: 42"),
        "{exits:#}"
    );
}

#[test]
fn an_isolated_worker_past_its_timeout_is_killed() {
    let sample = fox();
    let response = scan(
        &sample.path,
        &[
            "-a",
            "slow_worker",
            "hash",
            "--plugin-opts",
            "slow_worker:isolation=process",
            "slow_worker:timeout=0.3",
            "slow_worker:seconds=30",
        ],
    );
    assert!(response["results"][0]["workers"]["hash"].is_object());
    assert_eq!(
        errors(&response),
        [
            "worker:timed out: still running after 0.3 s (its `timeout` option); its helper process was killed"
        ]
    );
}

#[test]
fn isolated_plugins_give_the_same_results_and_see_the_same_context() {
    let sample = fox();
    let args = |isolation: &str| -> Value {
        let hash = format!("hash:isolation={isolation}");
        let echo = format!("echo_worker:isolation={isolation}");
        let dispatcher = format!("simple_dispatcher:isolation={isolation}");
        scan(
            &sample.path,
            &[
                "-R",
                "simple_dispatcher",
                "--deterministic",
                "--plugin-opts",
                "simple_dispatcher:workers=echo_worker",
                "echo_worker:required_workers=hash",
                &hash,
                &echo,
                &dispatcher,
            ],
        )
    };
    let isolated = args("process");
    assert_eq!(isolated, args("in-process"));
    let echo = &isolated["results"][0]["workers"]["echo_worker"];
    assert_eq!(
        echo["worker_results"]["hash"]["md5"],
        "a2004f37730b9445670a738fa0fc9ee5"
    );
    assert_eq!(
        echo["dispatch_meta"]["simple_dispatcher"]["test_key"],
        "Useful metadata info"
    );
}

#[test]
fn isolation_options_are_checked_at_start_up() {
    let sample = fox();
    let file = sample.path.to_str().unwrap();
    let bad = run(&[
        "scan",
        file,
        "-s",
        "hash",
        "--plugin-opts",
        "hash:isolation=sandbox",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains(
            "option `isolation`: expected \"in-process\" or \"process\", got \"sandbox\""
        )
    );
    // The config hook runs in the helper; its rejection still stops stoq before scanning.
    let rejected = run(&[
        "scan",
        file,
        "-s",
        "hash",
        "--plugin-opts",
        "hash:isolation=process",
        "hash:sha512=maybe",
    ]);
    assert_eq!(rejected.status.code(), Some(2));
    assert!(
        stderr(&rejected).contains("option `sha512` (from --plugin-opts): expected a boolean"),
        "{}",
        stderr(&rejected)
    );
}
