//! Exit codes and messages for bad input, bad flags and bad options.

use stoq_tests::{fox, run, stderr, stoq};

#[test]
fn a_missing_input_file_exits_2_naming_it() {
    let output = run(&["scan", "/nonexistent/sample.bin", "-s", "hash"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read /nonexistent/sample.bin"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn an_unknown_plugin_on_the_command_line_exits_2() {
    let sample = fox();
    let output = run(&["scan", sample.path.to_str().unwrap(), "-s", "hahs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no plugin named `hahs`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_option_value_exits_2_naming_plugin_and_key() {
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "-s",
        "hash",
        "--plugin-opts",
        "hash:sha512=maybe",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(
            "plugin `hash`: option `sha512` (from --plugin-opts): expected a boolean, got \"maybe\""
        ),
        "{err}"
    );
}

#[test]
fn a_malformed_plugin_opt_exits_2() {
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-opts",
        "hash-sha512",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected NAME:KEY=VALUE"));
}

#[test]
fn a_panic_in_the_config_hook_exits_2_with_the_message() {
    let sample = fox();
    let test_dir = stoq_tests::env().test_dir.to_str().unwrap();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        test_dir,
        "-s",
        "panic_worker",
        "--plugin-opts",
        "panic_worker:panic_on_new=true",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("plugin `panic_worker` failed to start: panic_worker was told to panic")
    );
}

#[test]
fn an_unknown_option_is_warned_about_with_the_closest_name() {
    let sample = fox();
    let output = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "-s",
        "hash",
        "--plugin-opts",
        "hash:sha521=true",
    ]);
    assert!(output.status.success());
    assert!(
        stderr(&output).contains(
            "plugin `hash`: option `sha521` (from --plugin-opts) is not an option of the plugin; did you mean `sha512`?"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn plugin_log_events_reach_the_host_log() {
    let sample = fox();
    let test_dir = stoq_tests::env().test_dir.to_str().unwrap();
    let output = run(&[
        "-v",
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        test_dir,
        "-s",
        "simple_worker",
    ]);
    assert!(output.status.success());
    let err = stderr(&output);
    assert!(err.contains("simple_worker scanning size=19"), "{err}");
    assert!(err.contains("plugin=\"simple_worker\""), "{err}");
    // Without -v, info events are not shown.
    let quiet = run(&[
        "scan",
        sample.path.to_str().unwrap(),
        "--plugin-dir",
        test_dir,
        "-s",
        "simple_worker",
    ]);
    assert!(!stderr(&quiet).contains("simple_worker scanning"));
}

#[test]
fn help_documents_exit_codes_and_directory_order() {
    let output = stoq().arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Exit status:"));
    assert!(text.contains("2  usage, configuration or input error"));
    assert!(text.contains("$STOQ_PLUGIN_DIR"));
}
