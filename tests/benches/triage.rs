//! The triage plugins (issue 10) on typical files, each next to baselines measured in the same
//! run: SHA-256 of the same bytes (a ratio that carries from machine to machine) and, where it
//! is installed, the reference tool on the same file, timed inside its own Python process so
//! that interpreter start-up is not counted (oletools' olevba + mraptor and rtfobj, pdfid,
//! LnkParse3, LIEF, py-tlsh). Run with `cargo xtask bench` (all benchmarks) or
//! `cargo xtask bench triage` (this one). Results go in BENCHMARKS.md.
//!
//! stoq's time is per file, of copies of the file run through `Engine::scan_many` on one
//! thread with the plugin as the only worker: the plugin's work, the extraction of what it
//! finds, and the engine's per-request cost, which the first row measures alone. Each time is the best of [`RUNS`] rounds.
//! `STOQ_BENCH_CASE=PLUGIN` runs only that plugin's rows (for profiling).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use stoq_core::{Engine, OptionLayers, Options, Registry};
use stoq_tests::formats::{office, pdf, rtf};
use stoq_tests::sample;

const RUNS: usize = 3;

fn var(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run `cargo xtask bench`"))
}

/// A typical file for one plugin, and the reference tool's Python code for it.
struct Case {
    plugin: &'static str,
    /// `--plugin-opts`-style options for the plugin.
    options: &'static [(&'static str, &'static str)],
    what: String,
    data: Vec<u8>,
    /// The reference tool's name, its Python imports, and the statements run once per file
    /// with `data` (bytes) and `path` (its file) bound.
    reference: Option<(&'static str, &'static str, &'static str)>,
}

/// A 20-page PDF whose pages are compressed text, with a JavaScript `/OpenAction` and a
/// `/URI` link on every page.
fn typical_pdf() -> Vec<u8> {
    let mut w = pdf::Writer::new("1.7");
    let pages = 20;
    let kids: Vec<String> = (0..pages).map(|p| format!("{} 0 R", 10 + 3 * p)).collect();
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>")
        .obj(
            2,
            &format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                kids.join(" ")
            ),
        )
        .obj(3, "<< /Type /Action /S /JavaScript /JS 4 0 R >>")
        .stream(
            4,
            "/Filter /FlateDecode",
            &pdf::flate(b"app.alert({cMsg: \"Remittance\", cTitle: \"Remittance\"});"),
        )
        .obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    for p in 0..pages {
        let page = 10 + 3 * p;
        let mut text = String::new();
        for line in 0..60 {
            text.push_str(&format!(
                "BT /F1 10 Tf 72 {} Td (Page {p}, line {line}: the remittance advice lists each invoice paid this quarter.) Tj ET\n",
                760 - 12 * line
            ));
        }
        w.obj(
            page,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Annots [{} 0 R] /Resources << /Font << /F1 5 0 R >> >> >>",
                page + 1,
                page + 2
            ),
        )
        .stream(page + 1, "/Filter /FlateDecode", &pdf::flate(text.as_bytes()))
        .obj(
            page + 2,
            &format!(
                "<< /Type /Annot /Subtype /Link /Rect [72 40 300 60] /A << /S /URI /URI (https://portal.example.net/page/{p}) >> >>"
            ),
        );
    }
    w.finish(1)
}

/// An RTF letter carrying a 64 KiB file in an OLE Package object, as `\objdata` hex.
fn typical_rtf() -> Vec<u8> {
    let file: Vec<u8> = (0..65_536u32).map(|i| (i * 7 % 251) as u8).collect();
    let object = rtf::ole1(
        b"Package",
        &rtf::package(
            b"invoice.vbs",
            b"C:\\Users\\a\\invoice.vbs",
            b"C:\\Users\\a\\AppData\\Local\\Temp\\invoice.vbs",
            &file,
        ),
    );
    let mut doc = String::from("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\r\n");
    for n in 0..200 {
        doc.push_str(&format!(
            "\\pard Paragraph {n} of the letter, in plain text.\\par\r\n"
        ));
    }
    doc.push_str(&format!(
        "{{\\object\\objemb{{\\*\\objclass Package}}{{\\*\\objdata {}}}}}\r\n}}\r\n",
        rtf::plain_hex(&object)
    ));
    doc.into_bytes()
}

/// 1 MiB of bytes from a fixed-seed generator, half of them text-like.
fn typical_blob() -> Vec<u8> {
    let mut state = 0x4471_u64;
    (0..1 << 20)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let b = (state >> 33) as u8;
            if (i / 4096) % 2 == 0 {
                b' ' + b % 90
            } else {
                b
            }
        })
        .collect()
}

const OLEVBA: &str =
    "from oletools.olevba import VBA_Parser\nfrom oletools.mraptor import MacroRaptor";
const OLEVBA_RUN: &str = "p = VBA_Parser('f', data=data)\nlist(p.extract_macros())\np.analyze_macros()\nMacroRaptor(p.get_vba_code_all_modules()).scan()\np.close()";

/// The row whose "plugin" is no plugin: the engine's own cost per request, on the
/// shortcut's bytes, to subtract from the others.
const ENGINE_ONLY: &str = "(none)";

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            plugin: ENGINE_ONLY,
            options: &[],
            what: "the sample's shortcut, no worker: the engine alone".into(),
            data: sample::lnk(),
            reference: None,
        },
        Case {
            plugin: "ole",
            options: &[],
            what: "Word 97 .doc with a dropper macro".into(),
            data: office::word97(&office::dropper_project()),
            reference: Some(("olevba + mraptor (oletools 0.60.2)", OLEVBA, OLEVBA_RUN)),
        },
        Case {
            plugin: "ole",
            options: &[],
            what: "the sample's .docm".into(),
            data: sample::docm(),
            reference: Some(("olevba + mraptor (oletools 0.60.2)", OLEVBA, OLEVBA_RUN)),
        },
        Case {
            plugin: "pdf",
            options: &[],
            what: "20-page PDF, JavaScript and links".into(),
            data: typical_pdf(),
            reference: Some(("pdfid", "from pdfid import pdfid", "pdfid.PDFiD(path)")),
        },
        Case {
            plugin: "rtf",
            options: &[],
            what: "RTF letter with a 64 KiB Package object".into(),
            data: typical_rtf(),
            reference: Some((
                "rtfobj (oletools 0.60.2)",
                "from oletools import rtfobj",
                "rtfobj.RtfObjParser(data).parse()",
            )),
        },
        Case {
            plugin: "lnk",
            options: &[],
            what: "the sample's shortcut".into(),
            data: sample::lnk(),
            reference: Some((
                "LnkParse3",
                "import io, LnkParse3",
                "LnkParse3.lnk_file(io.BytesIO(data)).get_json()",
            )),
        },
        Case {
            plugin: "fuzzy",
            options: &[("ssdeep", "false")],
            what: "1 MiB, half text: TLSH only".into(),
            data: typical_blob(),
            reference: Some(("py-tlsh", "import tlsh", "tlsh.hash(data)")),
        },
        Case {
            plugin: "fuzzy",
            options: &[("tlsh", "false")],
            what: "1 MiB, half text: ssdeep only".into(),
            data: typical_blob(),
            reference: Some((
                "ssdeep 2.14.1 CLI (a process per file)",
                "import subprocess",
                "subprocess.run(['ssdeep', '-s', path], check=True, capture_output=True)",
            )),
        },
    ];
    for system in ["/bin/ls", "/usr/bin/ls"] {
        if let Ok(data) = std::fs::read(system) {
            cases.push(Case {
                plugin: "elfinfo",
                options: &[],
                what: format!("{system} of this machine"),
                data,
                reference: Some(("LIEF", "import lief", "lief.parse(path)")),
            });
            break;
        }
    }
    cases
}

/// The best of [`RUNS`] rounds of `iterations` calls, per call.
fn per_call(iterations: usize, mut call: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                call();
            }
            start.elapsed() / iterations as u32
        })
        .min()
        .expect("runs")
}

/// Enough iterations for a round of about 0.3 s, from one timed call.
fn iterations_for(mut call: impl FnMut()) -> usize {
    let start = Instant::now();
    call();
    let once = start.elapsed().max(Duration::from_micros(1));
    (Duration::from_millis(300).as_nanos() / once.as_nanos()).clamp(3, 100_000) as usize
}

/// Times `BODY` (indented by four spaces) on the file named by `sys.argv[1]` as [`per_call`]
/// and [`iterations_for`] time stoq: the best of `RUNS` rounds of about 0.3 s.
const PYTHON_TIMER: &str = r#"import sys, time
SETUP
path = sys.argv[1]
data = open(path, 'rb').read()
def once():
    BODY
once()
start = time.perf_counter()
once()
one = max(time.perf_counter() - start, 1e-6)
n = max(3, min(100000, int(0.3 / one)))
best = None
for _ in range(RUNS):
    start = time.perf_counter()
    for _ in range(n):
        once()
    t = (time.perf_counter() - start) / n
    best = t if best is None else min(best, t)
print(best)
"#;

/// The reference tool's time per file, or why there is none.
fn reference(case: &Case, path: &Path) -> Result<Duration, String> {
    let Some((_, setup, run)) = case.reference else {
        return Err("none".into());
    };
    let body: String = run.lines().map(|l| format!("    {l}\n")).collect();
    let script = PYTHON_TIMER
        .replace("SETUP", setup)
        .replace("    BODY\n", &body)
        .replace("RUNS", &RUNS.to_string());
    let output = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(path)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err.lines().last().unwrap_or("failed").to_owned();
        return Err(format!("not run ({last})"));
    }
    let secs: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("unreadable time: {e}"))?;
    Ok(Duration::from_secs_f64(secs))
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 100.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.1}")
    }
}

fn main() {
    let only = std::env::var("STOQ_BENCH_CASE").ok();
    let dir = tempfile::tempdir().expect("temp dir");
    println!("\n## Triage plugins on typical files, one thread, best of {RUNS}\n");
    println!(
        "| plugin | file | size | stoq µs/file | SHA-256 µs/file | stoq / SHA-256 | reference | reference µs/file | reference / stoq |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (n, case) in cases().into_iter().enumerate() {
        if only.as_ref().is_some_and(|only| only != case.plugin) {
            continue;
        }
        let options: Options = case
            .options
            .iter()
            .map(|(k, v)| {
                let value = serde_json::from_str(v).unwrap_or_else(|_| Value::from(*v));
                (k.to_string(), value)
            })
            .collect();
        let registry = Arc::new(Registry::discover(
            &[var("STOQ_BUNDLED_PLUGIN_DIR")],
            OptionLayers::from(if options.is_empty() {
                BTreeMap::new()
            } else {
                BTreeMap::from([(case.plugin.to_owned(), options)])
            }),
        ));
        let workers: &[&str] = if case.plugin == ENGINE_ONLY {
            &[]
        } else {
            std::slice::from_ref(&case.plugin)
        };
        let engine = Engine::builder(registry)
            .start_dispatch(workers.iter().copied())
            .jobs(1)
            .build()
            .unwrap_or_else(|e| panic!("engine with {}: {e:?}", case.plugin));
        let content = bytes::Bytes::from(case.data.clone());
        // `count` copies through `scan_many`, as `stoq scan DIR` runs them: the time per file
        // is throughput, without the thread wake-up latency a lone request would wait for.
        let scan_copies = |count: usize| {
            engine.scan_many(
                (0..count).map(|_| (content.clone(), Default::default(), Default::default())),
                0,
                |_, response| {
                    assert!(
                        response.errors.is_empty(),
                        "{} on {}: {:?}",
                        case.plugin,
                        case.what,
                        response.errors
                    );
                    black_box(response);
                },
            );
        };
        let start = Instant::now();
        scan_copies(4);
        let once = (start.elapsed() / 4).max(Duration::from_micros(1));
        let count = (Duration::from_millis(300).as_nanos() / once.as_nanos()).clamp(4, 100_000);
        let stoq = per_call(1, || scan_copies(count as usize)) / count as u32;
        let hash = || {
            black_box(Sha256::digest(black_box(&case.data)));
        };
        let sha = per_call(iterations_for(hash), hash);
        let path = dir.path().join(format!("case{n}"));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&case.data))
            .expect("write the case");
        let tool = case.reference.map(|(name, _, _)| name);
        let (reference_time, ratio) = match reference(&case, &path) {
            Ok(t) => (
                micros(t),
                format!("**{:.1}×**", t.as_secs_f64() / stoq.as_secs_f64()),
            ),
            Err(why) => (why, "".into()),
        };
        println!(
            "| `{}` | {} | {} KiB | {} | {} | {:.1}× | {} | {} | {} |",
            case.plugin,
            case.what,
            case.data.len().div_ceil(1024),
            micros(stoq),
            micros(sha),
            stoq.as_secs_f64() / sha.as_secs_f64(),
            tool.unwrap_or("none"),
            reference_time,
            ratio
        );
    }
}
