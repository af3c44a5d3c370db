//! Each format and each limit, on archives built here.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use super::*;

fn passwords() -> Vec<String> {
    vec!["infected".into(), "password".into()]
}

fn run(data: &[u8], limits: &Limits) -> Result<Extraction> {
    let format = Format::detect(data).expect("a known format");
    extract(format, data, limits, &passwords())
}

fn names(out: &Extraction) -> Vec<String> {
    out.extracted
        .iter()
        .map(|e| {
            e.payload_meta.extra_data["path"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

fn zip_with(entries: &[(&str, &[u8], SimpleFileOptions)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content, options) in entries {
        writer.start_file(*name, *options).expect("start");
        writer.write_all(content).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

#[test]
fn zip_members_in_every_compression_method() {
    let methods = [
        zip::CompressionMethod::Stored,
        zip::CompressionMethod::Deflated,
        zip::CompressionMethod::Bzip2,
        zip::CompressionMethod::Xz,
    ];
    let mut entries = Vec::new();
    let paths: Vec<String> = methods.iter().map(|m| format!("dir/{m:?}.txt")).collect();
    for (m, name) in methods.iter().zip(&paths) {
        entries.push((
            name.as_str(),
            b"The quick brown fox".as_slice(),
            SimpleFileOptions::default().compression_method(*m),
        ));
    }
    let out = run(&zip_with(&entries), &Limits::default()).expect("extracts");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(names(&out), paths);
    for e in &out.extracted {
        assert_eq!(e.content, b"The quick brown fox");
        assert_eq!(e.payload_meta.extra_data["archive"], "zip");
    }
    assert_eq!(
        out.extracted[0].payload_meta.extra_data["filename"],
        "Stored.txt"
    );
}

#[test]
fn encrypted_zip_members_open_with_the_configured_passwords() {
    let aes = SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "infected");
    let legacy = zip::unstable::write::FileOptionsExt::with_deprecated_encryption(
        SimpleFileOptions::default(),
        b"password",
    )
    .expect("non-empty password");
    let unknown = SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes128, "hunter2");
    let data = zip_with(&[
        ("aes.txt", b"aes secret", aes),
        ("zc.txt", b"zipcrypto secret", legacy),
        ("no.txt", b"nope", unknown),
    ]);
    let out = run(&data, &Limits::default()).expect("extracts");
    assert_eq!(names(&out), ["aes.txt", "zc.txt"]);
    assert_eq!(out.extracted[0].content, b"aes secret");
    assert_eq!(out.extracted[1].content, b"zipcrypto secret");
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(
        out.errors[0].message(),
        "member no.txt: encrypted, and none of the 2 passwords opened it"
    );
}

#[test]
fn compressed_streams() {
    let fox = b"The quick brown fox".repeat(10);
    let mut gz = flate2::GzBuilder::new()
        .filename("fox.txt")
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&fox).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&fox).unwrap();
    let bz = bz.finish().unwrap();
    let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
    xz.write_all(&fox).unwrap();
    let xz = xz.finish().unwrap();
    let zst = zstd::stream::encode_all(fox.as_slice(), 3).unwrap();
    for (data, format) in [(gz, "gzip"), (bz, "bzip2"), (xz, "xz"), (zst, "zstd")] {
        let out = run(&data, &Limits::default()).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(out.errors.is_empty(), "{format}: {:?}", out.errors);
        assert_eq!(out.extracted.len(), 1, "{format}");
        assert_eq!(out.extracted[0].content, fox, "{format}");
        assert_eq!(out.extracted[0].payload_meta.extra_data["archive"], format);
    }
    let gz_name = run(
        &{
            let mut g = flate2::GzBuilder::new()
                .filename("fox.txt")
                .write(Vec::new(), flate2::Compression::default());
            g.write_all(b"x").unwrap();
            g.finish().unwrap()
        },
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        gz_name.extracted[0].payload_meta.extra_data["filename"],
        "fox.txt"
    );
}

#[test]
fn tar_and_7z_members() {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, content) in [("a/one.txt", b"one".as_slice()), ("two.bin", b"\x00\x01")] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, content).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let out = run(&tar, &Limits::default()).expect("tar");
    assert_eq!(names(&out), ["a/one.txt", "two.bin"]);

    let mut seven = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    seven
        .push_archive_entry(
            sevenz_rust2::ArchiveEntry::new_file("inner/seven.txt"),
            Some(b"seven".as_slice()),
        )
        .unwrap();
    let seven = seven.finish().unwrap().into_inner();
    let out = run(&seven, &Limits::default()).expect("7z");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(names(&out), ["inner/seven.txt"]);
    assert_eq!(out.extracted[0].content, b"seven");
}

#[test]
fn limits_stop_each_kind_of_bomb() {
    let zeros = vec![0u8; 4 << 20];
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let small = b"small".as_slice();
    let data = zip_with(&[
        ("zeros.bin", &zeros, deflated),
        ("small.txt", small, deflated),
    ]);

    let by_size = Limits {
        max_member_size: 1 << 20,
        ..Limits::default()
    };
    let out = run(&data, &by_size).unwrap();
    assert_eq!(names(&out), ["small.txt"]);
    assert_eq!(
        out.errors[0].message(),
        "member zeros.bin: limit max_member_size (1048576) exceeded; not extracted"
    );

    let by_ratio = Limits {
        max_ratio: 100,
        ..Limits::default()
    };
    let out = run(&data, &by_ratio).unwrap();
    assert_eq!(names(&out), ["small.txt"]);
    assert_eq!(
        out.errors[0].message(),
        "member zeros.bin: limit max_ratio (100) exceeded; not extracted"
    );

    let by_total = Limits {
        max_total_size: 2 << 20,
        ..Limits::default()
    };
    let out = run(&data, &by_total).unwrap();
    assert!(out.extracted.is_empty());
    assert_eq!(
        out.errors[0].message(),
        "member zeros.bin: limit max_total_size (2097152) exceeded; not extracted"
    );

    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), vec![i as u8])).collect();
    let entries: Vec<(&str, &[u8], SimpleFileOptions)> = many
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice(), SimpleFileOptions::default()))
        .collect();
    let by_count = Limits {
        max_members: 5,
        ..Limits::default()
    };
    let out = run(&zip_with(&entries), &by_count).unwrap();
    assert_eq!(out.extracted.len(), 5);
    assert_eq!(
        out.errors[0].message(),
        "limit max_members (5) reached: the remaining members are not extracted"
    );
}

#[test]
fn overlapping_entries_are_refused() {
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut data = zip_with(&[("a.bin", b"AAAA", stored), ("b.bin", b"BBBB", stored)]);
    // Point the second central-directory entry at the first entry's local header.
    let cd = data
        .windows(4)
        .rposition(|w| w == b"PK\x01\x02")
        .expect("second central entry");
    data[cd + 42..cd + 46].copy_from_slice(&0u32.to_le_bytes());
    let err = run(&data, &Limits::default()).expect_err("refused");
    assert!(err.message().contains("share compressed data"), "{err}");
}

#[test]
fn truncated_and_corrupt_input_is_an_error_not_a_panic() {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let data = zip_with(&[("a.txt", &b"The quick brown fox".repeat(100), deflated)]);
    assert!(run(&data[..data.len() / 2], &Limits::default()).is_err());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"x".repeat(10_000)).unwrap();
    let gz = gz.finish().unwrap();
    let out = run(&gz[..gz.len() / 2], &Limits::default()).unwrap();
    assert!(out.extracted.is_empty());
    assert!(
        out.errors[0]
            .message()
            .starts_with("member the decompressed stream: "),
        "{:?}",
        out.errors
    );
    let mut flipped = data.clone();
    for b in flipped.iter_mut().skip(40).take(20) {
        *b ^= 0x5a;
    }
    let _ = run(&flipped, &Limits::default());
}
