//! Each format and each limit, on archives built here. Tests run the plugin through
//! [`PluginTest`] as the host does, with the options a config file would set; the tests of
//! the work a refusal costs call [`extract`] with a reader that counts. The golden files
//! (`tests/golden/`, see [`golden`]) hold the plugin's whole answer on each sample.

use std::io::{Cursor, Read, Seek, Write};

use stoq_plugin_abi::testing::{PluginTest, TestError};
use zip::write::SimpleFileOptions;

use super::*;
use stoq_tests::response::{messages, results};

use stoq_tests::golden;

fn passwords() -> Vec<String> {
    vec!["infected".into(), "password".into()]
}

/// Extracts `data` with `limits`, without the plugin (for what only [`Extraction`] says).
fn run(data: &[u8], limits: &Limits) -> Result<Extraction> {
    let format = Format::detect(data).expect("a known format");
    extract(format, data, limits, &passwords())
}

/// The harness with these options set, as a config file would set them.
fn plugin(options: &[(&str, Value)]) -> PluginTest<Decompress> {
    options
        .iter()
        .fold(PluginTest::new(), |test, (key, value)| {
            test.option(*key, value.clone())
        })
}

/// Scans `data` with these options; panics if the scan fails.
fn scan_with(data: &[u8], options: &[(&str, Value)]) -> WorkerResponse {
    plugin(options)
        .scan(data)
        .unwrap_or_else(|e| panic!("the scan failed: {e}"))
}

/// Scans `data` with the default options.
fn scan(data: &[u8]) -> WorkerResponse {
    scan_with(data, &[])
}

/// The `path` of each extracted payload.
fn names(response: &WorkerResponse) -> Vec<String> {
    response
        .extracted
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

const FOX: &[u8] = b"The quick brown fox";

const METHODS: [zip::CompressionMethod; 4] = [
    zip::CompressionMethod::Stored,
    zip::CompressionMethod::Deflated,
    zip::CompressionMethod::Bzip2,
    zip::CompressionMethod::Xz,
];

/// A zip of `dir/<method>.txt` for each of [`METHODS`], each holding [`FOX`].
fn methods_zip() -> Vec<u8> {
    let paths: Vec<String> = METHODS.iter().map(|m| format!("dir/{m:?}.txt")).collect();
    let entries: Vec<(&str, &[u8], SimpleFileOptions)> = METHODS
        .iter()
        .zip(&paths)
        .map(|(m, name)| {
            let options = SimpleFileOptions::default().compression_method(*m);
            (name.as_str(), FOX, options)
        })
        .collect();
    zip_with(&entries)
}

fn zipcrypto(password: &'static [u8]) -> SimpleFileOptions {
    zip::unstable::write::FileOptionsExt::with_deprecated_encryption(
        SimpleFileOptions::default(),
        password,
    )
    .expect("non-empty password")
}

/// `aes.txt` (AES-256, `infected`) and `zc.txt` (ZipCrypto, `password`): the default
/// passwords open both.
fn encrypted_zip_entries() -> Vec<(&'static str, &'static [u8], SimpleFileOptions)> {
    let aes = SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "infected");
    vec![
        ("aes.txt", b"aes secret", aes),
        ("zc.txt", b"zipcrypto secret", zipcrypto(b"password")),
    ]
}

/// [`FOX`] ten times as a gzip stream naming `fox.txt`, and as bzip2, xz and zstd streams.
fn streams() -> Vec<(&'static str, Vec<u8>)> {
    let fox = FOX.repeat(10);
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
    vec![("gzip", gz), ("bzip2", bz), ("xz", xz), ("zstd", zst)]
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, *content).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A tar of `a/one.txt` and `two.bin`.
fn two_member_tar() -> Vec<u8> {
    tar_of(&[("a/one.txt", b"one"), ("two.bin", b"\x00\x01")])
}

/// A tar of one member named `dir\caf<0xE9>.txt`: a Windows separator and a byte that is not
/// UTF-8.
fn odd_name_tar() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"dir\\caf\xe9.txt");
    header.set_cksum();
    tar.append(&header, b"x".as_slice()).unwrap();
    tar.into_inner().unwrap()
}

/// A 7z of `inner/seven.txt`.
fn one_member_7z() -> Vec<u8> {
    let mut seven = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    seven
        .push_archive_entry(
            sevenz_rust2::ArchiveEntry::new_file("inner/seven.txt"),
            Some(b"seven".as_slice()),
        )
        .unwrap();
    seven.finish().unwrap().into_inner()
}

/// A 7z of a solid block (`big.bin`, 16 MiB of zeros, then `after.txt`) and a block of its
/// own (`other.txt`).
fn solid_7z() -> Vec<u8> {
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
    seven.finish().unwrap().into_inner()
}

/// A zip of `a.bin` and `b.bin` whose second central-directory entry points at the first
/// entry's data (an overlapping-entry zip bomb).
fn overlapping_zip() -> Vec<u8> {
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut data = zip_with(&[("a.bin", b"AAAA", stored), ("b.bin", b"BBBB", stored)]);
    let cd = data
        .windows(4)
        .rposition(|w| w == b"PK\x01\x02")
        .expect("second central entry");
    data[cd + 42..cd + 46].copy_from_slice(&0u32.to_le_bytes());
    data
}

#[test]
fn zip_members_in_every_compression_method() {
    let response = scan(&methods_zip());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        results(&response),
        &json!({"format": "zip", "members": 4, "extracted": 4})
    );
    let paths: Vec<String> = METHODS.iter().map(|m| format!("dir/{m:?}.txt")).collect();
    assert_eq!(names(&response), paths);
    for e in &response.extracted {
        assert_eq!(e.content, FOX);
        assert_eq!(e.payload_meta.extra_data["archive"], "zip");
    }
    assert_eq!(
        response.extracted[0].payload_meta.extra_data["filename"],
        "Stored.txt"
    );
}

#[test]
fn encrypted_zip_members_open_with_the_configured_passwords() {
    let unknown = SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes128, "hunter2");
    let mut entries = encrypted_zip_entries();
    entries.push(("no.txt", b"nope", unknown));
    let data = zip_with(&entries);
    // A wrong password is nearly always refused by its check value; when it passes by chance
    // (1 in 65,536 for AES), the error also says how the data then failed.
    let refused = |name: &str, tried: usize| {
        format!("member {name}: encrypted, and none of the {tried} passwords opened it")
    };

    let response = scan(&data);
    assert_eq!(names(&response), ["aes.txt", "zc.txt"]);
    assert_eq!(response.extracted[0].content, b"aes secret");
    assert_eq!(response.extracted[1].content, b"zipcrypto secret");
    let errors = messages(&response);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with(&refused("no.txt", 2)), "{errors:?}");
    assert_eq!(results(&response)["members"], 3);

    // Set as `--plugin-opts decompress:passwords=hunter2,password` would.
    let response = scan_with(&data, &[("passwords", json!("hunter2, password"))]);
    assert_eq!(names(&response), ["zc.txt", "no.txt"]);
    assert_eq!(response.extracted[1].content, b"nope");
    let errors = messages(&response);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with(&refused("aes.txt", 2)), "{errors:?}");

    // No passwords: nothing encrypted opens.
    let response = scan_with(&data, &[("passwords", json!([]))]);
    assert!(response.extracted.is_empty());
    assert_eq!(
        messages(&response),
        [
            refused("aes.txt", 0),
            refused("zc.txt", 0),
            refused("no.txt", 0)
        ]
    );
}

#[test]
fn compressed_streams() {
    let fox = FOX.repeat(10);
    for (format, data) in streams() {
        let response = scan(&data);
        assert!(
            response.errors.is_empty(),
            "{format}: {:?}",
            response.errors
        );
        assert_eq!(
            results(&response),
            &json!({"format": format, "members": 1, "extracted": 1})
        );
        assert_eq!(response.extracted.len(), 1, "{format}");
        assert_eq!(response.extracted[0].content, fox, "{format}");
        let meta = &response.extracted[0].payload_meta.extra_data;
        assert_eq!(meta["archive"], format);
        // Only gzip names its member.
        assert_eq!(
            meta.get("filename"),
            (format == "gzip").then(|| json!("fox.txt")).as_ref(),
            "{format}"
        );
    }
}

#[test]
fn tar_and_7z_members() {
    let response = scan(&two_member_tar());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(names(&response), ["a/one.txt", "two.bin"]);
    assert_eq!(response.extracted[1].content, b"\x00\x01");
    assert_eq!(results(&response)["format"], "tar");

    let response = scan(&one_member_7z());
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(names(&response), ["inner/seven.txt"]);
    assert_eq!(response.extracted[0].content, b"seven");
    assert_eq!(results(&response)["format"], "7z");
}

#[test]
fn a_payload_of_no_known_format_is_an_error() {
    let err = PluginTest::<Decompress>::new()
        .scan(b"The quick brown fox")
        .unwrap_err();
    assert_eq!(
        err,
        TestError::Failed(
            "not an archive this plugin handles (zip, gzip, bzip2, xz, zstd, tar, 7z)".into()
        )
    );
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

    let response = scan_with(&data, &[("max_member_size", json!(1 << 20))]);
    assert_eq!(names(&response), ["small.txt"]);
    assert_eq!(
        messages(&response),
        ["member zeros.bin: limit max_member_size (1048576) exceeded; not extracted"]
    );
    assert_eq!(
        results(&response),
        &json!({"format": "zip", "members": 2, "extracted": 1})
    );

    let response = scan_with(&data, &[("max_ratio", json!("100"))]);
    assert_eq!(names(&response), ["small.txt"]);
    assert_eq!(
        messages(&response),
        ["member zeros.bin: limit max_ratio (100) exceeded; not extracted"]
    );

    // The whole archive's budget: once it is spent, nothing more is read.
    let response = scan_with(&data, &[("max_total_size", json!(2 << 20))]);
    assert!(response.extracted.is_empty());
    assert_eq!(
        messages(&response),
        ["member zeros.bin: limit max_total_size (2097152) exceeded; not extracted"]
    );

    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), vec![i as u8])).collect();
    let entries: Vec<(&str, &[u8], SimpleFileOptions)> = many
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice(), SimpleFileOptions::default()))
        .collect();
    let response = scan_with(&zip_with(&entries), &[("max_members", json!(5))]);
    assert_eq!(response.extracted.len(), 5);
    assert_eq!(
        messages(&response),
        ["limit max_members (5) reached: the remaining members are not extracted"]
    );
}

#[test]
fn overlapping_entries_are_refused() {
    let err = PluginTest::<Decompress>::new()
        .scan(&overlapping_zip())
        .unwrap_err();
    let TestError::Failed(message) = &err else {
        panic!("expected a failed scan, got {err:?}")
    };
    assert!(message.contains("share compressed data"), "{message}");
}

#[test]
fn truncated_and_corrupt_input_is_an_error_not_a_panic() {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let data = zip_with(&[("a.txt", &b"The quick brown fox".repeat(100), deflated)]);
    let test = PluginTest::<Decompress>::new();
    let err = test.scan(&data[..data.len() / 2]).unwrap_err();
    assert!(
        matches!(&err, TestError::Failed(m) if m.starts_with("not a readable zip")),
        "{err:?}"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"x".repeat(10_000)).unwrap();
    let gz = gz.finish().unwrap();
    let response = test.scan(&gz[..gz.len() / 2]).expect("scans");
    assert!(response.extracted.is_empty());
    assert!(
        messages(&response)[0].starts_with("member the decompressed stream: "),
        "{:?}",
        response.errors
    );
    let mut flipped = data.clone();
    for b in flipped.iter_mut().skip(40).take(20) {
        *b ^= 0x5a;
    }
    let outcome = test.scan(&flipped);
    assert!(
        !matches!(outcome, Err(TestError::Panicked(_) | TestError::Invalid(_))),
        "{outcome:?}"
    );
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

fn extraction_messages(out: &Extraction) -> Vec<String> {
    out.errors.iter().map(|e| e.message().to_owned()).collect()
}

const MAX_MEMBERS_10: &str =
    "limit max_members (10) reached: the remaining members are not extracted";

#[test]
fn encrypted_and_unopenable_members_count_against_max_members() {
    let max_10 = [("max_members", json!(10))];
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
    for (password, opens) in [(b"password".as_slice(), true), (b"hunter2", false)] {
        let entries: Vec<(&str, &[u8], SimpleFileOptions)> = names
            .iter()
            .map(|n| (n.as_str(), b"secret".as_slice(), zipcrypto(password)))
            .collect();
        let response = scan_with(&zip_with(&entries), &max_10);
        let errors = messages(&response);
        assert_eq!(results(&response)["members"], 10, "{errors:?}");
        assert_eq!(errors.last().unwrap(), MAX_MEMBERS_10);
        if opens {
            assert_eq!(response.extracted.len(), 10);
            assert_eq!(errors.len(), 1, "{errors:?}");
        } else {
            assert!(response.extracted.is_empty());
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
    let response = scan_with(
        &zip_with(&over),
        &[("max_members", json!(10)), ("max_member_size", json!(10))],
    );
    assert_eq!(results(&response)["members"], 10);
    assert_eq!(messages(&response).len(), 11);

    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), b"x".as_slice()))
        .collect();
    let response = scan_with(&tar_of(&entries), &max_10);
    assert_eq!(
        results(&response),
        &json!({"format": "tar", "members": 10, "extracted": 10})
    );
    assert_eq!(messages(&response), [MAX_MEMBERS_10]);

    let mut seven = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    for name in &names[..20] {
        seven
            .push_archive_entry(
                sevenz_rust2::ArchiveEntry::new_file(name),
                Some(b"x".as_slice()),
            )
            .unwrap();
    }
    let response = scan_with(&seven.finish().unwrap().into_inner(), &max_10);
    assert_eq!(
        results(&response),
        &json!({"format": "7z", "members": 10, "extracted": 10})
    );
    assert_eq!(messages(&response), [MAX_MEMBERS_10]);
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
        extraction_messages(&out),
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
            extraction_messages(&out),
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
    let data = solid_7z();
    let response = scan_with(&data, &[("max_member_size", json!(1 << 20))]);
    assert_eq!(names(&response), ["other.txt"]);
    assert_eq!(
        messages(&response),
        [
            "member big.bin: limit max_member_size (1048576) exceeded; not extracted",
            "7z: 1 member after big.bin in its solid block not extracted (reaching it means decompressing big.bin)"
        ]
    );
    let limits = Limits {
        max_member_size: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(
        run(&data, &limits).expect("7z").bytes_read,
        5,
        "big.bin refused by its declared size, unread; only other.txt read"
    );
    // The ratio counts a member against its block's packed size: 16 MiB of zeros is far
    // over 1,000 times that.
    let response = scan(&data);
    assert_eq!(
        messages(&response)[0],
        "member big.bin: limit max_ratio (1000) exceeded; not extracted"
    );
    // Within the limits, the whole solid block is extracted.
    let response = scan_with(&data, &[("max_ratio", json!(1 << 20))]);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(names(&response), ["big.bin", "after.txt", "other.txt"]);
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
    let host = HostLimits::new(10, 50, 1000);
    let within = limits.within(&host);
    assert_eq!((within.max_member_size, within.max_total_size), (10, 50));
    assert_eq!(limits.within(&HostLimits::default()), limits);

    // What the plugin does with the request's limits: no member over the host's largest
    // payload, no more than the request has left, and errors naming the host's limit.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let data = zip_with(&[("a.bin", &[1u8; 40], stored), ("b.bin", &[2u8; 40], stored)]);
    let response = PluginTest::<Decompress>::new()
        .limits(HostLimits::new(30, u64::MAX, u64::MAX))
        .scan(&data)
        .expect("scans");
    assert!(response.extracted.is_empty());
    assert_eq!(
        messages(&response)[0],
        "member a.bin: limit the host's max_payload_size (30) exceeded; not extracted"
    );
    let response = PluginTest::<Decompress>::new()
        .limits(HostLimits::new(u64::MAX, 60, u64::MAX))
        .scan(&data)
        .expect("scans");
    assert_eq!(names(&response), ["a.bin"]);
    assert_eq!(
        messages(&response),
        [
            "member b.bin: limit the host's max_extracted_bytes (what the request has left) (60) exceeded; not extracted"
        ]
    );
    // The plugin's own options, when they are the lower ones, keep their names.
    let response = PluginTest::<Decompress>::new()
        .option("max_member_size", 30)
        .limits(HostLimits::new(35, u64::MAX, u64::MAX))
        .scan(&data)
        .expect("scans");
    assert_eq!(
        messages(&response)[0],
        "member a.bin: limit max_member_size (30) exceeded; not extracted"
    );
}

#[test]
fn member_names_use_stoqs_one_encoding() {
    // A tar name holding the byte 0xE9 and a Windows separator: the path keeps both,
    // unambiguously (`\xe9`, `\\`), and the file name is what follows the separator.
    let response = scan(&odd_name_tar());
    let meta = &response.extracted[0].payload_meta.extra_data;
    assert_eq!(meta["path"], "dir\\\\caf\\xe9.txt");
    assert_eq!(meta["filename"], "caf\\xe9.txt");
    assert_eq!(
        stoq_plugin_abi::string_to_bytes(meta["path"].as_str().unwrap()).unwrap(),
        b"dir\\caf\xe9.txt"
    );
}

#[test]
fn options_are_declared_with_the_defaults_extract_uses() {
    let declared: Vec<(&str, OptionKind, Option<Value>)> = Decompress::INFO
        .options
        .iter()
        .map(|o| (o.name, o.kind, o.default_value()))
        .collect();
    assert_eq!(
        declared,
        [
            (
                "passwords",
                OptionKind::List,
                Some(json!(["infected", "password"]))
            ),
            ("max_member_size", OptionKind::Int, Some(json!(100 << 20))),
            ("max_total_size", OptionKind::Int, Some(json!(1 << 30))),
            ("max_members", OptionKind::Int, Some(json!(10_000))),
            ("max_ratio", OptionKind::Int, Some(json!(1_000))),
        ]
    );
    assert!(Decompress::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let defaults = Limits::default();
    assert_eq!(
        (
            defaults.max_member_size,
            defaults.max_total_size,
            defaults.max_members,
            defaults.max_ratio
        ),
        (100 << 20, 1 << 30, 10_000, 1_000)
    );
    // Every option is read: none set is reported unused.
    let test = plugin(&[
        ("passwords", json!("x")),
        ("max_member_size", json!(1)),
        ("max_total_size", json!(1)),
        ("max_members", json!(1)),
        ("max_ratio", json!(1)),
    ]);
    assert_eq!(test.unused_options(), Ok(vec![]));
}

#[test]
fn a_bad_option_value_is_a_config_error_naming_the_key() {
    let cases = [
        (
            "max_member_size",
            json!("big"),
            "plugin `decompress`: option `max_member_size`: expected an integer, got \"big\"",
        ),
        (
            "passwords",
            json!({"a": 1}),
            "plugin `decompress`: option `passwords`: expected a list, got {\"a\":1}",
        ),
        (
            "max_members",
            json!(0),
            "option `max_members` must be positive, got 0",
        ),
        (
            "max_ratio",
            json!("-3"),
            "option `max_ratio` must be positive, got -3",
        ),
        (
            "max_total_size",
            json!(-1),
            "option `max_total_size` must be positive, got -1",
        ),
    ];
    for (key, value, message) in cases {
        let test = PluginTest::<Decompress>::new().option(key, value.clone());
        assert_eq!(
            test.scan(&methods_zip()).unwrap_err(),
            TestError::Config(message.to_owned()),
            "{key} = {value}"
        );
    }
}

/// The samples of the golden files, each scanned with the default options: one per format,
/// plus an encrypted zip, a name that is not UTF-8, a solid 7z over the ratio limit, an
/// overlapping-entry zip bomb, and a text file of the repository (no archive).
///
/// After an intended change, regenerate them and review the diff:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-decompress golden`
/// (`STOQ_GOLDEN_SAMPLES=DIR` also writes the samples there, to check them with other tools).
#[test]
fn golden_files() {
    let fox_txt = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/fox.txt"
    ))
    .expect("samples/fox.txt");
    let mut samples: Vec<(String, Vec<u8>)> = vec![
        ("zip_methods".into(), methods_zip()),
        ("zip_encrypted".into(), zip_with(&encrypted_zip_entries())),
        ("zip_overlapping".into(), overlapping_zip()),
        ("tar".into(), two_member_tar()),
        ("tar_odd_name".into(), odd_name_tar()),
        ("7z".into(), one_member_7z()),
        ("7z_solid_over_ratio".into(), solid_7z()),
        ("fox_txt".into(), fox_txt),
    ];
    samples.extend(
        streams()
            .into_iter()
            .map(|(format, data)| (format.to_owned(), data)),
    );
    let test = PluginTest::<Decompress>::new();
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            golden::dump_sample(name, data);
            (
                format!("{name}.json"),
                golden::worker_output(&test.scan(data)),
            )
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}
