use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::*;
use crate::isolation::ProcessPlugin;

const LIMITS: ReplyLimits = ReplyLimits {
    max_payload: 100,
    max_total: 150,
};

/// A worker reply with `extracted` (metadata JSON, content) pairs, announcing `count`.
fn worker_reply(count: u32, extracted: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u8(&mut out, 1).unwrap();
    put_str(&mut out, r#"{"results":{"ok":true}}"#).unwrap();
    put_u32(&mut out, count).unwrap();
    for (meta, content) in extracted {
        put_str(&mut out, meta).unwrap();
        put_bytes(&mut out, content).unwrap();
    }
    out
}

fn read(bytes: &[u8]) -> io::Result<Option<WorkerOutput>> {
    read_worker_reply(&mut &bytes[..], &LIMITS)
}

fn invalid_text(bytes: &[u8]) -> String {
    let e = read(bytes).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    e.to_string()
}

#[test]
fn a_well_formed_reply_decodes() {
    let output = read(&worker_reply(2, &[("{}", b"abc"), ("{}", b"de")]))
        .unwrap()
        .unwrap();
    assert_eq!(output.results, Some(serde_json::json!({"ok": true})));
    let sizes: Vec<usize> = output.extracted.iter().map(|e| e.content.len()).collect();
    assert_eq!(sizes, [3, 2]);
    assert!(read(&[0]).unwrap().is_none());
}

#[test]
fn every_length_and_count_from_a_helper_is_bounded() {
    // An extracted payload over max_payload_size.
    let big = vec![0u8; 101];
    assert_eq!(
        invalid_text(&worker_reply(1, &[("{}", &big)])),
        "an extracted payload of 101 bytes, more than the 100 allowed"
    );
    // Payloads within max_payload_size each, over the reply's total together.
    let eighty = vec![0u8; 80];
    assert_eq!(
        invalid_text(&worker_reply(2, &[("{}", &eighty), ("{}", &eighty)])),
        "an extracted payload of 80 bytes, more than the 70 allowed"
    );
    // A count no helper may announce: refused before any allocation.
    assert_eq!(
        invalid_text(&worker_reply(u32::MAX, &[])),
        "a worker reply announcing 4294967295 extracted payloads, more than the 1048576 allowed"
    );
    // A length of u64::MAX for the envelope.
    let mut lying = vec![1u8];
    put_u64(&mut lying, u64::MAX).unwrap();
    assert!(invalid_text(&lying).starts_with("a worker response of 18446744073709551615 bytes"));
    // A length within bounds that never arrives is an early end, not a huge allocation.
    let mut short = vec![1u8];
    put_u64(&mut short, MAX_FIELD).unwrap();
    assert_eq!(
        read(&short).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
}

#[test]
fn undecodable_replies_are_errors_not_defaults() {
    assert_eq!(invalid_text(&[7]), "a worker reply marked 7");
    let mut bad_json = vec![1u8];
    put_str(&mut bad_json, r#"{"errors": "not a list"}"#).unwrap();
    assert!(invalid_text(&bad_json).starts_with("an invalid worker response ("));
    let bad_meta = worker_reply(1, &[(r#"{"should_scan": "yes"}"#, b"x")]);
    assert!(invalid_text(&bad_meta).starts_with("an invalid extracted payload metadata ("));
    let mut unknown_kind = vec![9u8];
    put_str(&mut unknown_kind, "boom").unwrap();
    assert_eq!(
        read_error(&mut &unknown_kind[..]).unwrap_err().to_string(),
        "an error of unknown kind 9"
    );
    assert!(decode::<Facts>("{}", "instance facts").is_err());
}

struct NoContext;

impl QueryContext for NoContext {
    fn query(&self, _key: &str) -> Option<String> {
        None
    }
}

/// A fake helper: a script that writes `frames` to its socket (its standard input), then
/// stays alive until killed.
fn fake_helper(dir: &std::path::Path, frames: &[u8]) -> std::path::PathBuf {
    std::fs::write(dir.join("frames"), frames).unwrap();
    let script = dir.join("helper");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat '{}' >&0\nexec sleep 30\n",
            dir.join("frames").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_helper_sending_a_bad_frame_is_killed_and_its_call_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames = vec![STATUS_OK];
    put_str(&mut frames, r#"{"required_workers":[]}"#).unwrap();
    frames.push(STATUS_OK);
    // A reply announcing far more extracted payloads than any reply may carry.
    frames.extend(worker_reply(u32::MAX, &[]));
    let helper = fake_helper(dir.path(), &frames);
    let plugin = ProcessPlugin::start(
        "liar",
        &helper,
        std::path::Path::new("unused"),
        &serde_json::Map::new(),
        Duration::from_secs(20),
    )
    .expect("the fake helper's init reply is well formed");
    let started = std::time::Instant::now();
    let e = plugin.scan(b"payload", "id", &NoContext).unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert_eq!(
        e.message,
        "the helper process running plugin `liar` sent a worker reply announcing 4294967295 extracted payloads, more than the 1048576 allowed; it was killed and a new one serves the next call"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "not a timeout");
}

#[test]
fn a_helper_whose_init_reply_does_not_decode_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames = vec![STATUS_OK];
    put_str(&mut frames, r#"{"required": ["x"]}"#).unwrap();
    let helper = fake_helper(dir.path(), &frames);
    let Err(e) = ProcessPlugin::start(
        "liar",
        &helper,
        std::path::Path::new("unused"),
        &serde_json::Map::new(),
        Duration::from_secs(20),
    ) else {
        panic!("a helper without its facts must not start");
    };
    assert!(
        e.message.starts_with(
            "the helper process running plugin `liar` sent an invalid instance facts (missing field `required_workers`"
        ),
        "{}",
        e.message
    );
}
