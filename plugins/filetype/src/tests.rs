//! One sample per kind, built here; the table's invariants; hostile inputs (truncations,
//! corrupt structures, oversized fields, adversarial repetitions in linear time); email and
//! base64 edge cases; and the corpus under `tests/corpus/email/`.

use super::*;

use crate::samples::*;

#[test]
fn every_kind_has_a_sample_detected_as_it() {
    let samples = samples();
    for kind in kinds() {
        let (_, data) = samples
            .iter()
            .find(|(name, _)| *name == kind.name)
            .unwrap_or_else(|| panic!("no sample of {}", kind.name));
        assert_eq!(detect(data).name, kind.name);
    }
    assert_eq!(samples.len(), KINDS.len());
}

#[test]
fn the_table_routes_each_kind_to_its_plugin() {
    let routes: Vec<(&str, &[&str])> = kinds().map(|k| (k.name, k.plugins)).collect();
    let decompress: &[&str] = &["decompress"];
    let both: &[&str] = &["ole", "decompress"];
    let expected: Vec<(&str, &[&str])> = vec![
        ("odt", both),
        ("ods", both),
        ("odp", both),
        ("odg", both),
        ("odf", both),
        ("docm", both),
        ("docx", decompress),
        ("xlsm", both),
        ("xlsx", decompress),
        ("pptm", both),
        ("pptx", decompress),
        ("zip", decompress),
        ("gzip", decompress),
        ("bzip2", decompress),
        ("xz", decompress),
        ("zstd", decompress),
        ("7z", decompress),
        ("tar", decompress),
        ("ole", &["ole"]),
        ("rtf", &["rtf"]),
        ("lnk", &["lnk"]),
        ("elf", &["elfinfo"]),
        ("macho", &["machoinfo"]),
        ("macho-fat", &["machoinfo"]),
        ("java-class", &[]),
        ("dll", &["peinfo"]),
        ("pe", &["peinfo"]),
        ("email", &["smtp"]),
        ("pdf", &["pdf"]),
        ("base64", &["b64decode"]),
    ];
    assert_eq!(routes, expected);
    let mut names: Vec<&str> = kinds().map(|k| k.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), KINDS.len(), "names are unique");
    assert!(kinds().all(|k| !k.mimetype.is_empty() && !k.description.is_empty()));
    assert_eq!(by_name("zip").map(|k| k.generic), Some(true));
    assert_eq!(by_name("docm").map(|k| k.generic), Some(false));
    assert_eq!(by_name("nope"), None);
}

#[test]
fn detected_types_carry_names_and_extensions() {
    assert_eq!(
        detect(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        FileType {
            name: "pdf",
            mimetype: "application/pdf",
            description: "Portable Document Format",
            extension: "pdf",
            plugins: &["pdf"],
            generic: false,
        }
    );
    assert_eq!(detect(b"The quick brown fox"), FileType::UNKNOWN);
    assert_eq!(detect(b""), FileType::UNKNOWN);
    assert!(!FileType::UNKNOWN.is_known() && detect(&tar()).is_known());
}

#[test]
fn zip_containers_are_told_apart() {
    // A self-extractor: a stub before the zip, offsets relative to the zip.
    let sfx = zip_with(&pe(0x0022), &[("[Content_Types].xml", b""), ("xl/a", b"")]);
    assert_eq!(
        detect(&sfx).name,
        "pe",
        "the stub decides: it is an executable"
    );
    // The same zip from offset 0 but with directory offsets shifted (data prepended to
    // members): the directory is found before the end record.
    let mut shifted = zip_of(&[("[Content_Types].xml", b""), ("word/a", b"")]);
    let at = shifted.len() - 6;
    shifted[at..at + 4].copy_from_slice(&9999u32.to_le_bytes());
    assert_eq!(detect(&shifted).name, "docx");
    // Names are compared as OPC does, without case; macros anywhere in the package.
    let upper = zip_of(&[
        ("[Content_Types].xml", b""),
        ("WORD/document.xml", b""),
        ("word/VBAPROJECT.BIN", b""),
    ]);
    assert_eq!(detect(&upper).name, "docm");
    // No [Content_Types].xml: a zip holding a folder named `word`.
    assert_eq!(detect(&zip_of(&[("word/notes.txt", b"")])).name, "zip");
    assert_eq!(
        detect(&zip_of(&[("vbaProject.bin", b"")])).name,
        "zip",
        "macros alone are not a document"
    );
    // ODF: the `mimetype` member must come first and be stored.
    let late = zip_of(&[
        ("content.xml", b""),
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
    ]);
    assert_eq!(detect(&late).name, "zip");
    let unknown_odf = zip_of(&[("content.xml", b""), ("META-INF/manifest.xml", b"")]);
    assert_eq!(detect(&unknown_odf).name, "odf");
    // Truncated before the central directory: the local headers are read.
    let docx = ooxml_document("word", false);
    let cut = &docx[..docx.len() - 150];
    assert_eq!(detect(cut).name, "docx");
    // An empty zip is still a zip.
    assert_eq!(detect(&zip_of(&[])).name, "zip");
}

#[test]
fn executables_are_told_apart() {
    for magic in [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xcf, 0xfa, 0xed, 0xfe],
    ] {
        assert_eq!(detect(&macho(magic)).name, "macho", "{magic:x?}");
        assert_eq!(detect(&macho(magic)[..27]).name, "unknown", "too short");
    }
    for archs in [1, 2, 30] {
        assert_eq!(
            detect(&fat([0xca, 0xfe, 0xba, 0xbe], archs)).name,
            "macho-fat"
        );
        assert_eq!(
            detect(&fat([0xca, 0xfe, 0xba, 0xbf], archs)).name,
            "macho-fat"
        );
    }
    // Not room for the architectures it declares: not a fat binary (nor a class file).
    let mut short = fat([0xca, 0xfe, 0xba, 0xbe], 4);
    short.truncate(40);
    assert_eq!(detect(&short).name, "unknown");
    // Java class files: major 45 (1.1, minor 3) to 69 (Java 25).
    for (minor, major) in [(3, 45), (0, 52), (0, 69), (0xffff, 65)] {
        assert_eq!(detect(&java_class(minor, major)).name, "java-class");
    }
    assert_eq!(detect(&fat([0xca, 0xfe, 0xba, 0xbe], 0)).name, "unknown");
    for (class, data) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
        assert_eq!(detect(&elf(class, data)).name, "elf");
    }
    assert_eq!(detect(&elf(3, 1)).name, "unknown");
    assert_eq!(detect(&elf(1, 0)).name, "unknown");
    // PE: e_lfanew out of the file, or no signature there.
    let mut bad = pe(0);
    bad[0x3c..0x40].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert_eq!(detect(&bad).name, "unknown");
    let mut dos = pe(0);
    dos[0x80] = b'N';
    assert_eq!(detect(&dos).name, "unknown", "a DOS program");
    // The signature in the last 4 bytes.
    let mut tight = pe(0);
    tight.truncate(0x84);
    assert_eq!(
        detect(&tight).name,
        "unknown",
        "e_lfanew must be < size - 4"
    );
    tight.push(0);
    assert_eq!(detect(&tight).name, "pe");
    // LNK needs both the header size and the CLSID.
    let mut not_lnk = lnk();
    not_lnk[19] = 0x47;
    assert_eq!(detect(&not_lnk).name, "unknown");
}

#[test]
fn documents_and_streams_need_their_whole_magic() {
    assert_eq!(detect(b"{\\rt").name, "rtf");
    assert_eq!(detect(b"{\\rtx1 word still opens this}").name, "rtf");
    assert_eq!(detect(b"{\\r").name, "unknown");
    let mut late = vec![b' '; 1023];
    late.extend_from_slice(b"%PDF-1.4");
    assert_eq!(detect(&late).name, "pdf", "header at offset 1023");
    let mut too_late = vec![b' '; 1024];
    too_late.extend_from_slice(b"%PDF-1.4");
    assert_eq!(detect(&too_late).name, "unknown", "header at offset 1024");
    assert_eq!(
        detect(&[0x1f, 0x8b, 7]).name,
        "unknown",
        "gzip is deflate only"
    );
    assert_eq!(detect(b"BZh0").name, "unknown", "bzip2 block sizes are 1-9");
    assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z']).name, "unknown");
    assert_eq!(detect(&tar()[..262]).name, "unknown");
    let mut gnu = tar();
    gnu[257..265].copy_from_slice(b"ustar  \0");
    assert_eq!(detect(&gnu).name, "tar");
    assert_eq!(detect(&ole()[..8]).name, "ole");
    assert_eq!(detect(&ole()[..7]).name, "unknown");
}

#[test]
fn email_is_recognised_however_it_begins() {
    let body = "\r\n\r\nHello.\r\n";
    for first in [
        "Received: from mx.example (mx.example [192.0.2.1]) by mx2.example; Mon, 1 Jan 2024 00:00:00 +0000",
        "Return-Path: <a@b.example>",
        "Delivered-To: c@d.example",
        "From: Alice <a@b.example>",
        "To: c@d.example",
        "Subject: hello",
        "Date: Mon, 1 Jan 2024 00:00:00 +0000",
        "Message-ID: <1@b.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "X-Mailer: something",
        "X-Whatever-Header: 1",
        "Thread-Topic: a thread",
        "subject : obsolete syntax, space before the colon",
        "Weird~Field!Name: any ftext is a field name",
    ] {
        let message = format!("{first}\r\nFrom: a@b.example\r\nSubject: x{body}");
        assert!(is_email(message.as_bytes()), "{first}");
        assert_eq!(detect(message.as_bytes()).plugins, ["smtp"], "{first}");
    }
    let cases: &[(&str, bool)] = &[
        // Bare MIME entities, header-only messages, LF line ends, folded values.
        ("Content-Type: text/plain\n\nhello", true),
        (
            "Content-Type: multipart/mixed;\n\tboundary=\"b\"\n\n--b\n",
            true,
        ),
        ("From: a@b.example\nTo: c@d.example", true),
        ("From:\n  Alice\n  <a@b.example>\n\nhi", true),
        ("Message-Id: <x@y>", true),
        ("Subject: x\nDate: 1 May 2024\n\nbody", true),
        ("X-Foo: 1\nX-Bar: 2\n\n", true),
        // mbox.
        (
            "From MAILER-DAEMON Fri Apr 06 10:00:00 2001\nSubject: x\n\nbody",
            true,
        ),
        (
            "From a@b.example  Mon Jan  1 00:00:00 2024\nX-Foo: 1\n\nbody",
            true,
        ),
        ("From someone Sat Jan  1 00:00:00 2000\n\nno headers", false),
        ("From here on it is prose\nSubject: x", false),
        (
            "From : a@b.example 2\nSubject: x\n\nobsolete syntax, not mbox",
            true,
        ),
        // A UTF-8 byte order mark before the headers.
        ("\u{feff}From: a@b.example\nSubject: x\n\nbody", true),
        // A forgotten blank line: strong evidence carries it.
        (
            "From: a@b.example\nTo: c@d.example\nHello there, this is the body",
            true,
        ),
        ("Subject: hi\nDate: 1 May 2024\nHello there", false),
        // Not email.
        ("The quick brown fox", false),
        ("Subject: only one header\n\nbody", false),
        ("Note: this is prose\nTo: whom it may concern\n", false),
        ("version: 2\ndate: 2021-03-04\nname: thing\n", false),
        ("WARNING: disk almost full\nERROR: disk full\n", false),
        ("INFO: From: a@b.example\n", false),
        ("key: value\nother key: value\n", false),
        (
            "BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nEMAIL:a@b.example\nEND:VCARD\n",
            false,
        ),
        ("\nFrom: a@b.example\n\nblank first line", false),
        (" From: a@b.example\n\ncontinuation first", false),
        ("From: a@b.example\0\nTo: c@d.example\n\n", false),
        ("Date: yesterday\n\nno digit, no other field", false),
        ("MIME-Version: one\nSubject: x\n\n", false),
        ("", false),
        (":\n", false),
    ];
    for (text, email) in cases {
        assert_eq!(is_email(text.as_bytes()), *email, "{text:?}");
    }
    let long_name = format!("X-{}: 1\nSubject: x\n\n", "a".repeat(200));
    assert!(!is_email(long_name.as_bytes()));
}

#[test]
fn a_header_block_is_read_only_in_the_first_64_kib() {
    let mut many = String::from("X-Spam: 1\n");
    while many.len() < HEADER_PREFIX + 1000 {
        many.push_str("X-Spam: 1\n");
    }
    assert!(
        is_email(many.as_bytes()),
        "cut at the limit: as far as read, headers"
    );
    // The evidence must be in the prefix.
    let mut late = String::new();
    while late.len() < HEADER_PREFIX {
        late.push_str("Unknown-Field: 1\n");
    }
    late.push_str("From: a@b.example\n\nbody");
    assert!(!is_email(late.as_bytes()));
}

#[test]
fn base64_text_is_wrapped_lines_or_one_run() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let text = base64(&bytes);
    let routed = |data: &[u8]| detect(data).plugins == ["b64decode"];
    for width in [60, 64, 76] {
        assert!(routed(wrap(&text, width, "\n").as_bytes()), "{width}");
        assert!(routed(wrap(&text, width, "\r\n").as_bytes()), "{width}");
        // Padding in the last line.
        let padded = base64(&bytes[..1000]);
        assert!(padded.ends_with("=="));
        assert!(routed(wrap(&padded, width, "\n").as_bytes()), "{width}");
    }
    for tail in ["", "\n", "\r\n"] {
        for run in [
            base64(&bytes[..100]),
            base64(&bytes[..101]),
            base64(&bytes[..102]),
        ] {
            assert!(run.len() >= 64);
            assert!(routed(format!("{run}{tail}").as_bytes()), "{run:?}{tail:?}");
        }
    }
    assert!(routed("QUJD".repeat(16).as_bytes()));
    let not = |data: &[u8]| detect(data).plugins.is_empty();
    assert!(not(&"QUJD".repeat(16).as_bytes()[..63]), "too short");
    assert!(not(wrap(&text, 59, "\n").as_bytes()), "lines too short");
    assert!(not(wrap(&text, 77, "\n").as_bytes()), "lines too long");
    let mut broken = "QUJD".repeat(1250);
    broken.replace_range(4000..4001, "!");
    assert!(not(broken.as_bytes()), "a foreign byte in the run");
    assert!(
        not(format!("{}===", "QUJD".repeat(25)).as_bytes()),
        "three `=`"
    );
    assert!(
        not(format!(" {}", "QUJD".repeat(25)).as_bytes()),
        "not from offset 0"
    );
    assert!(
        not(format!("{}\n{}", "QUJD".repeat(25), "QUJD".repeat(3)).as_bytes()),
        "two runs"
    );
    // Wrapped base64 then other text: not base64 text (the old rule looked at two lines).
    let followed = format!("{}-- \nsignature\n", wrap(&text, 76, "\n"));
    assert!(not(followed.as_bytes()));
    // A line of another width in the middle.
    let mut uneven = wrap(&text, 64, "\n");
    uneven.insert(200, 'A');
    assert!(not(uneven.as_bytes()));
    // Hex is not base64: a list of SHA-256 digests, a hex dump, digits.
    let digests = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n".repeat(20);
    assert!(not(digests.as_bytes()));
    assert!(not("0123456789ABCDEF".repeat(8).as_bytes()));
    assert!(not("A".repeat(64).as_bytes()));
}

#[test]
fn truncated_samples_never_panic() {
    let samples = samples();
    for (name, data) in &samples {
        for end in 0..data.len().min(4096) {
            let _ = detect(&data[..end]);
        }
        // And with every byte changed, one at a time (for the small samples).
        if data.len() <= 2048 {
            let mut changed = data.clone();
            for at in 0..changed.len() {
                let old = changed[at];
                for new in [0x00, 0xff, 0x0a, b':'] {
                    changed[at] = new;
                    let _ = detect(&changed);
                }
                changed[at] = old;
            }
        }
        assert_eq!(detect(data).name, *name);
    }
}

#[test]
fn corrupt_zip_structures_are_read_safely() {
    let good = ooxml_document("word", true);
    let eocd = good.len() - 22;
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Directory size and offset at their largest; entries at their most.
    for (at, value) in [(12, u32::MAX), (16, u32::MAX), (12, 0), (16, 0)] {
        let mut z = good.clone();
        z[eocd + at..eocd + at + 4].copy_from_slice(&value.to_le_bytes());
        cases.push(z);
    }
    // A zip64 locator pointing anywhere.
    let mut z64 = good.clone();
    z64[eocd + 12..eocd + 20].copy_from_slice(&[0xff; 8]);
    let mut locator = b"PK\x06\x07\0\0\0\0".to_vec();
    locator.extend_from_slice(&u64::MAX.to_le_bytes());
    locator.extend_from_slice(&[1, 0, 0, 0]);
    z64.splice(eocd..eocd, locator);
    cases.push(z64);
    // Name and extra lengths at their largest in the directory and the local headers.
    for at in [28, 30, 32] {
        let mut z = good.clone();
        let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
        z[cd + at..cd + at + 2].copy_from_slice(&[0xff, 0xff]);
        cases.push(z);
    }
    let mut local = good.clone();
    local[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
    local[26..28].copy_from_slice(&[0xff, 0xff]);
    cases.push(local);
    // Many end records.
    let mut ends = b"PK\x03\x04".to_vec();
    ends.extend(b"PK\x05\x06".repeat(20_000));
    cases.push(ends);
    for case in &cases {
        let name = detect(case).name;
        assert!(
            ["zip", "docm", "docx"].contains(&name),
            "{name}: a zip stays a zip"
        );
    }
    // A valid directory that loops back on itself cannot: every entry moves forward.
    let mut lengths = good.clone();
    let cd = u32::from_le_bytes(lengths[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    lengths[cd + 28..cd + 30].copy_from_slice(&0u16.to_le_bytes());
    assert!(detect(&lengths).is_known());
}

/// Adversarial inputs for every test of the table, `len` bytes each (a repeated pattern).
fn adversarial(len: usize) -> Vec<(&'static str, Vec<u8>)> {
    let repeat = |unit: &[u8]| unit.iter().copied().cycle().take(len).collect::<Vec<u8>>();
    let line76 = format!("{}\n", base64(&[0x5a; 57]));
    let mut foreign_at_end = repeat(b"QUJD");
    foreign_at_end[len - 1] = b'!';
    let mut zip_dirs = b"PK\x03\x04".to_vec();
    zip_dirs.extend(repeat(b"PK\x01\x02"));
    let mut zip_locals = b"PK\x03\x04".to_vec();
    zip_locals.extend(repeat(
        b"PK\x03\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    ));
    let mut zip_ends = b"PK\x03\x04".to_vec();
    zip_ends.extend(repeat(b"PK\x05\x06"));
    vec![
        ("A", repeat(b"A")),
        ("QUJD", repeat(b"QUJD")),
        ("QUJD\\n", repeat(b"QUJD\n")),
        ("QUJD\\r\\n", repeat(b"QUJD\r\n")),
        ("76-char lines", repeat(line76.as_bytes())),
        (
            "77-char lines",
            repeat(format!("{}\n", "A".repeat(77)).as_bytes()),
        ),
        ("QUJD.. then !", foreign_at_end),
        ("=", repeat(b"=")),
        ("From:", repeat(b"From:")),
        ("From ", repeat(b"From ")),
        ("Received:", repeat(b"Received:")),
        ("To:", repeat(b"To:")),
        ("no newline", repeat(b"X-Header: value without an end ")),
        (
            "headers",
            repeat(b"From: a\r\nReceived: b\r\nTo: c\r\nDate: d\r\n"),
        ),
        ("continuations", repeat(b"X-A: 1\n\t2\n")),
        ("%PDF-", repeat(b"%PDF-")),
        ("zip directory entries", zip_dirs),
        ("zip local headers", zip_locals),
        ("zip end records", zip_ends),
        ("MZ", repeat(b"MZ")),
        ("NUL", repeat(b"\0")),
    ]
}

/// The fastest of `runs` calls of `f`, in seconds.
fn fastest(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Detection is linear in the input: on multi-megabyte adversarial inputs a detection takes at
/// most 50 times as long as hashing the same bytes with SHA-256, and 4 MiB takes at most
/// 8 times as long as 1 MiB (plus the time to hash 1 MiB, so that detections of a few
/// microseconds are not compared with noise). Times are the fastest of a few runs; a failing
/// case is measured again before the test fails. (This was the yara plugin's test of its
/// bundled routing rules, which the detector replaces.)
#[test]
fn detection_is_linear_in_time_on_adversarial_inputs() {
    use sha2::Digest as _;
    const SMALL: usize = 1 << 20;
    const LARGE: usize = 4 << 20;
    const RUNS: usize = 3;
    let small = adversarial(SMALL);
    let large = adversarial(LARGE);
    let routes = |name: &str| match name {
        // `MZMZ…` is base64 text too (and no PE: e_lfanew is far past the end).
        "QUJD" | "76-char lines" | "MZ" => "base64",
        "headers" | "continuations" => "email",
        "%PDF-" => "pdf",
        "zip directory entries" | "zip local headers" | "zip end records" => "zip",
        _ => "unknown",
    };
    for ((name, small), (_, large)) in small.iter().zip(&large) {
        assert_eq!(detect(large).name, routes(name), "{name}");
        let mut report = String::new();
        let mut ok = false;
        for _attempt in 0..3 {
            let hash_small = fastest(RUNS, || {
                std::hint::black_box(sha2::Sha256::digest(small));
            });
            let hash_large = fastest(RUNS, || {
                std::hint::black_box(sha2::Sha256::digest(large));
            });
            let detect_small = fastest(RUNS, || {
                std::hint::black_box(detect(small));
            });
            let detect_large = fastest(RUNS, || {
                std::hint::black_box(detect(large));
            });
            let vs_hash = detect_large / hash_large;
            let scaling = detect_large / (detect_small + hash_small);
            report = format!(
                "{name:?}: 1 MiB {:.3} ms, 4 MiB {:.3} ms, sha256 4 MiB {:.2} ms; \
                 {vs_hash:.2}x sha256, 4 MiB / 1 MiB {:.2} (with slack {scaling:.2})",
                detect_small * 1e3,
                detect_large * 1e3,
                hash_large * 1e3,
                detect_large / detect_small,
            );
            if vs_hash < 50.0 && scaling < 8.0 {
                ok = true;
                break;
            }
        }
        eprintln!("{report}");
        assert!(ok, "not linear: {report}");
    }
}

mod corpus;
