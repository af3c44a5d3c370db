//! Each format and each limit, on archives built here.

use std::io::{Cursor, Read, Seek, Write};

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

/// A source that counts the bytes read from it (the compressed input consumed).
struct Counting {
    inner: Cursor<Vec<u8>>,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Extracts `data` and says how many of its bytes were read.
fn run_counted(data: &[u8], limits: &Limits) -> (Extraction, u64) {
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let source = Counting {
        inner: Cursor::new(data.to_vec()),
        read: read.clone(),
    };
    let format = Format::detect(data).expect("a known format");
    let out = extract_from(format, source, data.len() as u64, limits, &passwords()).expect("opens");
    (out, read.get())
}

fn messages(out: &Extraction) -> Vec<String> {
    out.errors.iter().map(|e| e.message().to_owned()).collect()
}

const MAX_MEMBERS_10: &str =
    "limit max_members (10) reached: the remaining members are not extracted";

#[test]
fn encrypted_and_unopenable_members_count_against_max_members() {
    fn zipcrypto(password: &'static [u8]) -> SimpleFileOptions {
        zip::unstable::write::FileOptionsExt::with_deprecated_encryption(
            SimpleFileOptions::default(),
            password,
        )
        .expect("non-empty password")
    }
    let limits = Limits {
        max_members: 10,
        ..Limits::default()
    };
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
    for (password, opens) in [(b"password".as_slice(), true), (b"hunter2", false)] {
        let entries: Vec<(&str, &[u8], SimpleFileOptions)> = names
            .iter()
            .map(|n| (n.as_str(), b"secret".as_slice(), zipcrypto(password)))
            .collect();
        let out = run(&zip_with(&entries), &limits).expect("extracts");
        assert_eq!(out.members, 10, "{:?}", out.errors);
        let errors = messages(&out);
        assert_eq!(errors.last().unwrap(), MAX_MEMBERS_10);
        if opens {
            assert_eq!(out.extracted.len(), 10);
            assert_eq!(errors.len(), 1, "{errors:?}");
        } else {
            assert!(out.extracted.is_empty());
            assert_eq!(errors.len(), 11, "{errors:?}");
            for (error, name) in errors[..10].iter().zip(&names) {
                assert!(
                    error.starts_with(&format!(
                        "member {name}: encrypted, and none of the 2 passwords opened it"
                    )),
                    "{error}"
                );
            }
        }
    }

    // Members refused over a limit count too, and so do those of tar and 7z.
    let big = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let over: Vec<(&str, &[u8], SimpleFileOptions)> = names
        .iter()
        .map(|n| (n.as_str(), [0u8; 64].as_slice(), big))
        .collect();
    let small = Limits {
        max_member_size: 10,
        ..limits.clone()
    };
    let out = run(&zip_with(&over), &small).unwrap();
    assert_eq!(out.members, 10);
    assert_eq!(messages(&out).len(), 11);

    let mut tar = tar::Builder::new(Vec::new());
    for name in &names {
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, b"x".as_slice()).unwrap();
    }
    let out = run(&tar.into_inner().unwrap(), &limits).expect("tar");
    assert_eq!((out.members, out.extracted.len()), (10, 10));
    assert_eq!(messages(&out), [MAX_MEMBERS_10]);

    let mut seven = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    for name in &names[..20] {
        seven
            .push_archive_entry(
                sevenz_rust2::ArchiveEntry::new_file(name),
                Some(b"x".as_slice()),
            )
            .unwrap();
    }
    let out = run(&seven.finish().unwrap().into_inner(), &limits).expect("7z");
    assert_eq!((out.members, out.extracted.len()), (10, 10));
    assert_eq!(messages(&out), [MAX_MEMBERS_10]);
}

/// A zip of one member, `zeros.bin`: `len` zeros, deflated, never held in memory whole.
fn zip_of_zeros(len: u64) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("zeros.bin", deflated).unwrap();
    std::io::copy(&mut std::io::repeat(0).take(len), &mut writer).unwrap();
    writer.finish().unwrap().into_inner()
}

#[test]
fn refusing_a_zip_member_costs_about_the_limit_not_the_member() {
    let data = zip_of_zeros(64 << 20);
    assert!(
        data.len() < 200 << 10,
        "deflate makes it small: {}",
        data.len()
    );
    let limits = Limits {
        max_member_size: 1 << 20,
        ..Limits::default()
    };
    let (out, consumed) = run_counted(&data, &limits);
    assert!(out.extracted.is_empty());
    assert_eq!(
        messages(&out),
        ["member zeros.bin: limit max_member_size (1048576) exceeded; not extracted"]
    );
    // Declared over the cap: refused before anything is decompressed.
    assert_eq!(out.bytes_read, 0);
    assert!(
        consumed < data.len() as u64 / 4,
        "{consumed} of {}",
        data.len()
    );

    // The same member declaring 512 KiB (local and central headers): the reader fails one
    // byte past the declared size, well within the 1 MiB cap, and reads no further.
    let mut lying = data.clone();
    let small = (512u32 << 10).to_le_bytes();
    lying[22..26].copy_from_slice(&small);
    let cd = lying
        .windows(4)
        .rposition(|w| w == b"PK\x01\x02")
        .expect("central entry");
    lying[cd + 24..cd + 28].copy_from_slice(&small);
    let (out, consumed) = run_counted(&lying, &limits);
    assert!(out.extracted.is_empty());
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(
        out.errors[0].message().starts_with("member zeros.bin: "),
        "{:?}",
        out.errors
    );
    assert!(out.bytes_read <= 512 << 10, "{}", out.bytes_read);
    assert!(
        consumed < data.len() as u64 / 4,
        "{consumed} of {}",
        data.len()
    );
}

#[test]
fn streams_are_read_through_a_reader_capped_one_byte_past_the_limit() {
    // 256 MiB of zeros per format, as 64 concatenated 4 MiB streams (each decoder reads
    // concatenated streams), so the test stays cheap to build.
    let zeros = vec![0u8; 4 << 20];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&zeros).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&zeros).unwrap();
    let bz = bz.finish().unwrap();
    let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
    xz.write_all(&zeros).unwrap();
    let xz = xz.finish().unwrap();
    let zst = zstd::stream::encode_all(zeros.as_slice(), 3).unwrap();
    let limits = Limits {
        max_member_size: 1 << 20,
        max_ratio: 1 << 40,
        ..Limits::default()
    };
    for (one, format) in [(gz, "gzip"), (bz, "bzip2"), (xz, "xz"), (zst, "zstd")] {
        let data = one.repeat(64);
        let (out, consumed) = run_counted(&data, &limits);
        assert!(out.extracted.is_empty(), "{format}");
        assert_eq!(
            messages(&out),
            [
                "member the decompressed stream: limit max_member_size (1048576) exceeded; not extracted"
            ],
            "{format}"
        );
        assert_eq!(
            out.bytes_read,
            (1 << 20) + 1,
            "{format}: one byte past the cap"
        );
        if format == "gzip" {
            // Deflate's ratio on zeros is about 1,000: 1 MiB out is about 1 KB in, plus the
            // decoder's buffer, of 260 KB.
            assert!(
                consumed < data.len() as u64 / 4,
                "{consumed} of {}",
                data.len()
            );
        }
    }
}

#[test]
fn a_refused_7z_member_abandons_the_rest_of_its_solid_block_only() {
    let mut seven = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    let zeros = vec![0u8; 16 << 20];
    seven
        .push_archive_entries(
            vec![
                sevenz_rust2::ArchiveEntry::new_file("big.bin"),
                sevenz_rust2::ArchiveEntry::new_file("after.txt"),
            ],
            vec![
                sevenz_rust2::SourceReader::new(zeros.as_slice()),
                sevenz_rust2::SourceReader::new(b"after".as_slice()),
            ],
        )
        .unwrap();
    seven
        .push_archive_entry(
            sevenz_rust2::ArchiveEntry::new_file("other.txt"),
            Some(b"other".as_slice()),
        )
        .unwrap();
    let data = seven.finish().unwrap().into_inner();
    let limits = Limits {
        max_member_size: 1 << 20,
        ..Limits::default()
    };
    let out = run(&data, &limits).expect("7z");
    assert_eq!(names(&out), ["other.txt"]);
    assert_eq!(
        messages(&out),
        [
            "member big.bin: limit max_member_size (1048576) exceeded; not extracted",
            "7z: 1 members after big.bin in its solid block not extracted (reaching them means decompressing it)"
        ]
    );
    assert_eq!(
        out.bytes_read, 5,
        "big.bin refused by its declared size, unread; only other.txt read"
    );
    // The ratio counts a member against its block's packed size: 16 MiB of zeros is far
    // over 1,000 times that.
    let out = run(&data, &Limits::default()).expect("7z");
    assert_eq!(
        messages(&out)[0],
        "member big.bin: limit max_ratio (1000) exceeded; not extracted"
    );
    // Within the limits, the whole solid block is extracted.
    let lenient = Limits {
        max_ratio: 1 << 20,
        ..Limits::default()
    };
    let out = run(&data, &lenient).expect("7z");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(names(&out), ["big.bin", "after.txt", "other.txt"]);
}

#[test]
fn limits_can_be_capped_by_the_host() {
    let limits = Limits {
        max_member_size: 100,
        max_total_size: 1000,
        max_members: 7,
        max_ratio: 3,
        ..Limits::default()
    };
    assert_eq!(limits.capped(None, None), limits);
    assert_eq!(limits.capped(Some(u64::MAX), Some(u64::MAX)), limits);
    let capped = limits.capped(Some(10), Some(50));
    assert_eq!(
        capped,
        Limits {
            max_member_size: 10,
            max_total_size: 50,
            ..limits.clone()
        }
    );
    assert_eq!(limits.capped(Some(500), None).max_member_size, 100);
    assert_eq!(limits.capped(None, Some(20)).max_total_size, 20);

    // The host's limits, and errors that name them when they are what capped a member.
    let host = HostLimits::new(10, 50, 1000);
    let within = limits.within(&host);
    assert_eq!((within.max_member_size, within.max_total_size), (10, 50));
    assert_eq!(within.member_limit, "the host's max_payload_size");
    assert_eq!(limits.within(&HostLimits::default()), limits);

    // The capped limits are the ones extraction honours.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let data = zip_with(&[("a.bin", &[1u8; 40], stored), ("b.bin", &[2u8; 40], stored)]);
    let out = run(&data, &Limits::default().capped(Some(30), None)).unwrap();
    assert!(out.extracted.is_empty());
    assert_eq!(
        messages(&out)[0],
        "member a.bin: limit max_member_size (30) exceeded; not extracted"
    );
    let out = run(&data, &Limits::default().capped(None, Some(60))).unwrap();
    assert_eq!(names(&out), ["a.bin"]);
    assert_eq!(
        messages(&out),
        ["member b.bin: limit max_total_size (60) exceeded; not extracted"]
    );
}

#[test]
fn member_names_use_stoqs_one_encoding() {
    // A tar name holding the byte 0xE9 and a Windows separator: the path keeps both,
    // unambiguously (`\xe9`, `\\`), and the file name is what follows the separator.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"dir\\caf\xe9.txt");
    header.set_cksum();
    tar.append(&header, b"x".as_slice()).unwrap();
    let tar = tar.into_inner().unwrap();
    let out = run(&tar, &Limits::default()).expect("tar");
    let meta = &out.extracted[0].payload_meta.extra_data;
    assert_eq!(meta["path"], "dir\\\\caf\\xe9.txt");
    assert_eq!(meta["filename"], "caf\\xe9.txt");
    assert_eq!(
        stoq_plugin_abi::string_to_bytes(meta["path"].as_str().unwrap()).unwrap(),
        b"dir\\caf\xe9.txt"
    );
}
