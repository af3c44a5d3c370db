//! The scheduler's stoQ scenarios as a table: each entry is one `stoq scan` of `fox.txt` (`The
//! quick brown fox`) with the test plugins, whose response is compared with the golden file
//! `tests/e2e/snapshots/<name>.json` (harness and normalisation: `stoq_tests::snapshot`).
//!
//! After an intended change of output, rewrite the golden files and review the diff by eye:
//!
//! ```text
//! STOQ_UPDATE_SNAPSHOTS=1 cargo xtask test --no-lint -- scenarios
//! git diff tests/e2e/snapshots
//! ```
//!
//! Runs use `--deterministic` (sorted lists) unless marked `.live()`: those are the scenarios
//! whose fact is an order of execution. Each entry's comment says what its golden file shows.
//! What a response cannot show (exit codes, stderr, measured durations, directory scans,
//! connectors) stays in `dispatch.rs`, `scheduler.rs`, `errors.rs` and `after_scan.rs`.

use stoq_tests::snapshot::{self, Scenario};

/// One `#[test]` per entry, named after it, plus the list of names for the orphan check.
macro_rules! scenarios {
    ($($(#[doc = $doc:literal])* $name:ident => $scenario:expr;)*) => {
        $(
            $(#[doc = $doc])*
            #[test]
            fn $name() {
                $scenario.check(stringify!($name));
            }
        )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

#[test]
fn every_golden_file_has_a_scenario() {
    let orphans = snapshot::orphans(NAMES);
    assert!(
        orphans.is_empty(),
        "golden files without a scenario in tests/e2e/scenarios.rs (delete them or add the scenario): {orphans:?}"
    );
}

scenarios! {
    // --- Dispatch: start/always, recursion, dedup, dispatch_to, dispatchers, required workers.

    /// Two results; simple_worker ran on the root only (`wow`); `Lorem ipsum` (11 bytes, depth
    /// 1) is listed unscanned, extracted from the root by simple_worker.
    start_dispatch_scans_only_the_root => Scenario::scan(&["-s", "simple_worker"]);

    /// stoQ's test_dedup: exactly two results; the second extraction of `Lorem ipsum` (from
    /// itself) is merged into its lineage, in order: `extracted_from` root then itself, both
    /// by simple_worker. No errors. Live: the lineage in the order it was found.
    always_dispatch_with_a_fixed_extractor_gives_exactly_two_results =>
        Scenario::scan(&["-a", "simple_worker"]).live();

    /// stoQ's test_max_recursion with 0: the root alone, unscanned, with one error
    /// `Final worker round (0) reached` naming it and no plugin.
    max_recursion_0_keeps_the_root_unscanned_with_an_error =>
        Scenario::scan(&["-a", "extract_payload", "--max-recursion", "0"]);

    /// With 3: four results at depths 0..=3 (random 50-byte payloads), the deepest unscanned,
    /// one error `Final worker round (3) reached` naming it and no plugin.
    max_recursion_3_keeps_the_last_payload_unscanned_with_an_error =>
        Scenario::scan(&["-a", "extract_payload", "--max-recursion", "3"]);

    /// The root runs simple_worker then dummy_worker (named by simple_worker's response; no
    /// results, so no `dummy_worker` key); the extracted payload carries `dispatch_to:
    /// [echo_worker]` and runs echo_worker only. Live: dummy_worker after simple_worker.
    extracted_dispatch_to_and_worker_dispatch_to => Scenario::scan(&[
        "-s",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:extracted_dispatch_to=echo_worker",
        "simple_worker:additional_dispatch_to=dummy_worker",
    ])
    .live();

    /// The extracted payload is listed with `should_scan: false` and nothing ran on it, though
    /// `-a` and its `dispatch_to` name workers.
    should_scan_false_lists_the_payload_but_scans_nothing => Scenario::scan(&[
        "-a",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:should_scan=false",
        "simple_worker:extracted_dispatch_to=dummy_worker",
    ]);

    /// dummy_worker, named by `-s`, `-a` and the dispatcher, is in the root's `plugins_run`
    /// once.
    a_pair_runs_once_however_many_sources_name_it => Scenario::scan(&[
        "-s",
        "dummy_worker",
        "-a",
        "dummy_worker",
        "-R",
        "simple_dispatcher",
    ]);

    /// echo_worker (picked by the dispatcher) sees `dispatch_meta.simple_dispatcher.test_key =
    /// Useful metadata info`; the payload itself has no `dispatch_meta` key.
    dispatcher_meta_is_visible_to_the_worker_and_not_printed => Scenario::scan(&[
        "-R",
        "simple_dispatcher",
        "--plugin-opts",
        "simple_dispatcher:workers=echo_worker",
    ]);

    /// `plugins_run` is hash then echo_worker; echo_worker saw hash's results (md5
    /// a2004f37...) and `plugins_run: [hash]`. Live: the order of execution.
    required_workers_run_first_and_their_results_are_visible => Scenario::scan(&[
        "-s",
        "echo_worker",
        "--plugin-opts",
        "echo_worker:required_workers=hash",
    ])
    .live();

    /// Only panic_worker ran; two errors, in order: its panic, then echo_worker's `required
    /// worker `panic_worker` failed` (plugin_name echo_worker). Live: the order of errors.
    a_failed_required_worker_stops_its_dependent => Scenario::scan(&[
        "-s",
        "echo_worker",
        "--plugin-opts",
        "echo_worker:required_workers=panic_worker",
    ])
    .live();

    /// The cycle is reached on the extracted payload only: the root ran simple_worker, the
    /// child nothing, and one error `Circular required plugin dependency found ... (echo_worker
    /// -> dummy_worker -> echo_worker)` names echo_worker and the child.
    a_required_worker_cycle_reached_during_a_scan_is_one_error_and_nothing_in_it_runs =>
        Scenario::scan(&[
            "-s",
            "simple_worker",
            "--plugin-opts",
            "simple_worker:extracted_dispatch_to=echo_worker",
            "echo_worker:required_workers=dummy_worker",
            "dummy_worker:required_workers=echo_worker",
        ]);

    /// echo_worker's view: `request_meta.source = unit`, `payload_meta.extra_data.filename =
    /// fox.txt`, depth 0, one payload in the request.
    the_worker_sees_request_and_payload_metadata =>
        Scenario::scan(&["-s", "echo_worker", "--request-source", "unit"]);

    /// With `max_required_worker_depth = 1`, echo_worker -> dummy_worker -> hash is two levels:
    /// nothing runs and one error `Max required plugin depth 1 reached ... (echo_worker ->
    /// dummy_worker -> hash)` names echo_worker.
    a_required_worker_chain_deeper_than_the_limit_is_an_error => Scenario::scan(&[
        "-R",
        "simple_dispatcher",
        "--plugin-opts",
        "simple_dispatcher:workers=echo_worker",
        "echo_worker:required_workers=dummy_worker",
        "dummy_worker:required_workers=hash",
    ])
    .config("[core]\nmax_required_worker_depth = 1\n");

    /// simple_dispatcher fails; conditional_dispatcher still dispatches simple_worker once
    /// dummy_worker ran (root: dummy_worker, simple_worker). Asked again after the request
    /// changed, simple_dispatcher fails again: one error per payload, `dispatcher:failed: Test
    /// exception please ignore`, each naming simple_dispatcher and its payload.
    a_failing_dispatcher_is_an_error_and_the_others_still_dispatch => Scenario::scan(&[
        "-R",
        "simple_dispatcher",
        "conditional_dispatcher",
        "-s",
        "dummy_worker",
        "--plugin-opts",
        "simple_dispatcher:raise_exception=true",
    ]);

    // --- The scheduler's rules: dispatchers asked again, timeouts, limits, determinism.

    /// Nothing ever runs dummy_worker, so conditional_dispatcher never fires: nothing runs.
    a_conditional_dispatcher_alone_never_fires =>
        Scenario::scan(&["-R", "conditional_dispatcher"]);

    /// dummy_worker runs on the root; asked again afterwards, the dispatcher names
    /// simple_worker (root: dummy_worker then simple_worker; the extracted payload:
    /// simple_worker). No errors. Live: simple_worker after dummy_worker.
    a_conditional_dispatcher_is_asked_again_after_the_request_changes =>
        Scenario::scan(&["-R", "conditional_dispatcher", "-s", "dummy_worker"]).live();

    /// slow_worker (30 s, `timeout=0.3`) is in `plugins_run` without results and has one error
    /// `worker:timed out: still running after 0.3 s (its `timeout` option) ...`; hash finished.
    a_worker_past_its_timeout_is_an_error_and_the_request_completes => Scenario::scan(&[
        "-a",
        "slow_worker",
        "hash",
        "--plugin-opts",
        "slow_worker:seconds=30",
        "slow_worker:timeout=0.3",
    ]);

    /// `--timeout 0.5` with a 30 s worker: one error `limit request timeout (0.5 s) reached: 1
    /// scan tasks did not finish (slow_worker on <payload 0>)`; hash's results are kept.
    a_request_past_its_timeout_returns_what_finished => Scenario::scan(&[
        "-a",
        "hash",
        "slow_worker",
        "--plugin-opts",
        "slow_worker:seconds=30",
        "--timeout",
        "0.5",
    ]);

    /// 5 extracted, limit 3: four results and one error `limit max_extracted_payloads (3)
    /// reached ...` naming extract_payload.
    the_extracted_payload_count_limit_drops_the_rest_with_one_error => Scenario::scan(&[
        "-s",
        "extract_payload",
        "--plugin-opts",
        "extract_payload:count=5",
        "--max-extracted-payloads",
        "3",
    ]);

    /// 5 random payloads of 50 bytes, 120 bytes allowed: two fit (three results) and one error
    /// `limit max_extracted_bytes (120) reached ...`.
    the_extracted_bytes_limit_drops_the_rest_with_one_error => Scenario::scan(&[
        "-s",
        "extract_payload",
        "--plugin-opts",
        "extract_payload:count=5",
        "--max-extracted-bytes",
        "120",
    ]);

    /// The 19-byte root over `--max-payload-size 15` is the only result, unscanned, with the
    /// error `limit max_payload_size (15) exceeded: the payload has 19 bytes and is not scanned`.
    a_root_over_the_size_limit_is_listed_but_not_scanned =>
        Scenario::scan(&["-a", "simple_worker", "--max-payload-size", "15"]);

    /// An extracted payload of 20 bytes over `--max-payload-size 19` is dropped (one result) with
    /// the error `... an extracted payload of 20 bytes was dropped`.
    an_extracted_payload_over_the_size_limit_is_dropped => Scenario::scan(&[
        "-s",
        "extract_payload",
        "--plugin-opts",
        "extract_payload:extracted_payload=0123456789abcdefghij",
        "--max-payload-size",
        "19",
    ]);

    /// Byte-identical stdout with `--jobs 2`, 2, 1, 2. `time` is null; three results (every
    /// later extraction is a duplicate): the root (depth 0; extract_payload, hash,
    /// simple_worker), then its children by extracting worker: `second` (6 bytes, from
    /// extract_payload), `Lorem ipsum` (11 bytes, from simple_worker).
    deterministic_output_is_byte_identical_across_runs_and_job_counts => Scenario::scan(&[
        "-a",
        "simple_worker",
        "hash",
        "extract_payload",
        "--plugin-opts",
        "extract_payload:extracted_payload=second",
        "extract_payload:count=1",
    ])
    .identical_across(&[&["--jobs", "2"], &["--jobs", "2"], &["--jobs", "1"], &["--jobs", "2"]]);

    /// `Lorem ipsum`, extracted by both workers under two names, is one payload whose
    /// `extracted_by` (extract_payload, simple_worker) and `extracted_extra_data` (b.txt,
    /// a.txt) are kept in parallel.
    a_deduplicated_payload_keeps_every_extraction_s_metadata => Scenario::scan(&[
        "-s",
        "simple_worker",
        "extract_payload",
        "--plugin-opts",
        "simple_worker:extracted_filename=a.txt",
        "extract_payload:extracted_payload=Lorem ipsum",
        "extract_payload:extracted_filename=b.txt",
    ]);

    /// Byte-identical stdout over four runs with two dispatchers; two results: the root ran
    /// dummy_worker, hash, simple_worker and the extracted payload hash, simple_worker.
    deterministic_mode_holds_with_dispatchers_too => Scenario::scan(&[
        "-R",
        "simple_dispatcher",
        "conditional_dispatcher",
        "-s",
        "dummy_worker",
        "--plugin-opts",
        "simple_dispatcher:workers=simple_worker,hash",
    ])
    .identical_across(&[&[], &[], &[], &[]]);

    // --- Errors are data.

    /// Both payloads ran panic_worker (counted as run, no results key) and hash; one error per
    /// payload naming panic_worker and that payload: `worker:panicked: panic_worker panicked
    /// on N bytes at .../src/lib.rs:LINE` (the location is kept).
    a_panicking_worker_is_an_error_and_other_workers_still_run =>
        Scenario::scan(&["-a", "panic_worker", "simple_worker", "hash"]);

    /// simple_worker ran without results or extractions (one result) and the error is
    /// `worker:failed: Test exception please ignore`.
    a_failing_worker_is_an_error_without_results => Scenario::scan(&[
        "-s",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:raise_exception=true",
    ]);

    /// simple_worker's results (`wow`) are kept beside the error it returned, `Test error
    /// please ignore`, naming simple_worker.
    errors_a_worker_returns_keep_its_results => Scenario::scan(&[
        "-s",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:return_errors=true",
    ]);

    /// Both payloads name `nonexistent`: two results, one error `Worker plugin nonexistent
    /// failed to load: no plugin named `nonexistent` ...`, and it is in no `plugins_run`.
    a_missing_plugin_named_during_the_scan_is_reported_once => Scenario::scan(&[
        "-a",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:additional_dispatch_to=nonexistent",
    ]);

    /// A dispatcher named as a worker: one error, `... `simple_dispatcher` is not a worker`.
    a_non_worker_named_as_a_worker_is_an_error_not_a_crash => Scenario::scan(&[
        "-s",
        "simple_worker",
        "--plugin-opts",
        "simple_worker:extracted_dispatch_to=simple_dispatcher",
    ]);

    // --- After the scan: archivers, decorators (SPEC §2.12).

    /// The root is archived (`plugins_run.archivers: [simple_archiver]`, `file_save_id:
    /// 12345`); the child with `should_archive: false` is not. No errors.
    archivers_save_every_payload_that_should_be_archived => Scenario::scan(&[
        "-s",
        "simple_worker",
        "-A",
        "simple_archiver",
        "--plugin-opts",
        "simple_worker:extracted_should_archive=false",
    ]);

    /// An archiver that returns nothing counts as run and leaves no `archivers` key.
    an_archiver_that_returns_nothing_counts_as_run => Scenario::scan(&[
        "-A",
        "simple_archiver",
        "--plugin-opts",
        "simple_archiver:return_nothing=true",
    ]);

    /// An archiver's returned error is kept beside its result (`file_save_id: 12345`).
    an_archiver_s_returned_errors_keep_its_result => Scenario::scan(&[
        "-A",
        "simple_archiver",
        "--plugin-opts",
        "simple_archiver:return_errors=true",
    ]);

    /// A failing archiver counts as run and is the error `archiver:failed: Test exception
    /// please ignore` naming simple_archiver.
    a_failing_archiver_is_an_error => Scenario::scan(&[
        "-A",
        "simple_archiver",
        "--plugin-opts",
        "simple_archiver:raise_exception=true",
    ]);

    /// The decorator's summary (`simple_decoration: 123`) saw both payloads (`payloads: 2`).
    decorators_summarise_the_whole_response =>
        Scenario::scan(&["-a", "simple_worker", "-D", "simple_decorator"]);

    /// A failing decorator is the error `decorator:failed: Test exception please ignore`
    /// naming simple_decorator.
    a_failing_decorator_is_an_error => Scenario::scan(&[
        "-D",
        "simple_decorator",
        "--plugin-opts",
        "simple_decorator:raise_exception=true",
    ]);

    /// A decorator's returned error is kept beside its summary (`simple_decoration: 123`).
    a_decorator_s_returned_errors_keep_its_summary => Scenario::scan(&[
        "-D",
        "simple_decorator",
        "--plugin-opts",
        "simple_decorator:return_errors=true",
    ]);
}
