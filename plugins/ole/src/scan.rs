//! What VBA source code may do: olevba's keyword table (`VBA_Scanner.scan`: AutoExec,
//! Suspicious, IOC, Hex String, Base64 String) and mraptor's flags (autoexec, write, execute;
//! suspicious when autoexec and (write or execute)), plus a `download` flag of our own.
//!
//! Both tools scan the source of every module of a file at once, long lines joined (` _`
//! continuations), and so does [`analyse`]. Every pattern runs on the `regex` crate (linear
//! time whatever the input); the plain keywords are first matched together in one pass of a
//! `RegexSet`, and only those present are searched again for the text they matched.
//!
//! What olevba does that this does not: its `--deobf` VBA expression evaluation (off by
//! default in olevba too), Dridex strings (its decoder fails on Python 3, so olevba 0.60.2
//! never reports one), e-mail IOCs (its pattern ends in a literal backspace character, so it
//! never matches), VBA stomping (needs the p-code disassembler) and strings from UserForms.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use stoq_plugin_abi::prelude::*;

use crate::keywords::{
    AUTOEXEC_KEYWORDS, AUTOEXEC_KEYWORDS_REGEX, SUSPICIOUS_KEYWORDS, SUSPICIOUS_KEYWORDS_REGEX,
};

/// One row of olevba's table: type (`AutoExec`, `Suspicious`, `IOC`, `Hex String`,
/// `Base64 String`), keyword (as found in the code), description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    /// The row's type.
    pub kind: &'static str,
    /// The keyword, as the code spells it (for IOCs and decoded strings: the value).
    pub keyword: String,
    /// What it may do (for IOCs: the pattern's name; for decoded strings: the encoded form).
    pub description: String,
}

/// mraptor's flags and our `download`, each with the text that set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// Runs by itself (AutoOpen, Document_Open, Workbook_Open, ActiveX events...).
    pub autoexec: Option<String>,
    /// Writes to the file system (Open ... For Output/Binary, Kill, SaveToFile, ...).
    pub write: Option<String>,
    /// Runs something (Shell, CreateObject, Run, ShellExecute, MacScript, Declare ... Lib).
    pub execute: Option<String>,
    /// Fetches from the network (URLDownloadToFile, XMLHTTP, WinHttp, Net.WebClient, ...).
    pub download: Option<String>,
}

impl Flags {
    /// mraptor's verdict: autoexec and (write or execute).
    pub fn suspicious(&self) -> bool {
        self.autoexec.is_some() && (self.write.is_some() || self.execute.is_some())
    }

    /// mraptor's flag string: `A`, `W`, `X` or `-` each.
    pub fn mraptor(&self) -> String {
        [
            (self.autoexec.is_some(), 'A'),
            (self.write.is_some(), 'W'),
            (self.execute.is_some(), 'X'),
        ]
        .iter()
        .map(|&(set, c)| if set { c } else { '-' })
        .collect()
    }

    /// As the results hold them.
    pub fn to_json(&self) -> Value {
        json!({
            "autoexec": self.autoexec.is_some(),
            "write": self.write.is_some(),
            "execute": self.execute.is_some(),
            "download": self.download.is_some(),
            "suspicious": self.suspicious(),
            "mraptor": self.mraptor(),
            "matches": {
                "autoexec": self.autoexec,
                "write": self.write,
                "execute": self.execute,
                "download": self.download,
            },
        })
    }
}

/// The analysis of all the code of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// mraptor's flags.
    pub flags: Flags,
    /// olevba's table.
    pub keywords: Vec<Keyword>,
}

impl Analysis {
    /// The table as the results hold it.
    pub fn keywords_json(&self) -> Value {
        Value::Array(
            self.keywords
                .iter()
                .map(
                    |k| json!({"type": k.kind, "keyword": k.keyword, "description": k.description}),
                )
                .collect(),
        )
    }
}

/// One keyword pattern of olevba's tables.
struct Pattern {
    description: &'static str,
    regex: Regex,
    /// olevba's look-behind: a match right after this text (any case) does not count.
    not_after: Option<&'static str>,
}

struct Tables {
    /// AutoExec patterns, then Suspicious ones, in olevba's order.
    patterns: Vec<(&'static str, Pattern)>,
    set: RegexSet,
    backspace: &'static str,
    url: Regex,
    ipv4: Regex,
    exe: Regex,
    hex: Regex,
    base64: Regex,
    not_hex: Regex,
    mraptor_autoexec: Regex,
    mraptor_write: Regex,
    mraptor_execute: Regex,
    download: Regex,
}

const LOOKBEHIND: &str = "Could contain following functions: ";

/// Python's `(?i)\b` + keyword + `\b`, with ASCII word boundaries (see [`B`]).
fn word(pattern: &str) -> String {
    format!(r"{B}{pattern}{B}")
}

/// A word boundary between ASCII word characters and the rest. Python's `\b` also counts
/// non-ASCII letters as word characters, but the `regex` crate's Unicode boundary makes its
/// fast engines give up on any non-ASCII text (a few accented comments made 4 MiB of code
/// take 52 s instead of 0.1 s). The difference: a keyword glued to a non-ASCII letter
/// (`éShell`) is found here and not by olevba.
const B: &str = r"(?-u:\b)";

fn build(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 24)
        .build()
        .unwrap_or_else(|e| panic!("pattern {pattern}: {e}"))
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut patterns = Vec::new();
        let mut sources = Vec::new();
        let mut add = |kind: &'static str, description: &'static str, source: String, not_after| {
            patterns.push((
                kind,
                Pattern {
                    description,
                    regex: build(&source),
                    not_after,
                },
            ));
            sources.push(source);
        };
        for (description, keywords) in AUTOEXEC_KEYWORDS {
            for k in *keywords {
                add("AutoExec", description, word(&regex::escape(k)), None);
            }
        }
        for (description, keywords) in AUTOEXEC_KEYWORDS_REGEX {
            for k in *keywords {
                add("AutoExec", description, word(k), None);
            }
        }
        for (description, keywords) in SUSPICIOUS_KEYWORDS {
            for k in *keywords {
                add("Suspicious", description, word(&regex::escape(k)), None);
            }
        }
        for (description, keywords) in SUSPICIOUS_KEYWORDS_REGEX {
            for k in *keywords {
                match k.strip_prefix('!') {
                    Some(k) => add("Suspicious", description, word(k), Some(LOOKBEHIND)),
                    None => add("Suspicious", description, word(k), None),
                }
            }
        }
        let set = RegexSetBuilder::new(&sources)
            .case_insensitive(true)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build()
            .expect("the keyword set compiles");
        // olevba's URL pattern (SCHEME :// SERVER PORT PATH), IPv4 and executable names.
        let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])";
        let ipv4 = format!(r"(?:{octet}\.){{3}}{octet}");
        let url = format!(
            r"(?-u:\b)(?:http|ftp)s?://(?:{ipv4}|(?:[a-zA-Z0-9\-.]+\.(?:xn--[a-zA-Z0-9]{{4,20}}|[a-zA-Z]{{2,20}})))(?::[0-9]{{1,5}})?(?:/[a-zA-Z0-9\-._?,'/\\+&%$#=~]*)?"
        );
        let exact = |p: &str| Regex::new(p).expect("pattern compiles");
        Tables {
            patterns,
            set,
            backspace: "May use special characters such as backspace to obfuscate code when printed on the console",
            url: exact(&url),
            ipv4: exact(&ipv4),
            exe: build(r"(?-u:\b)\w+\.(EXE|PIF|GADGET|MSI|MSP|MSC|VBS|VBE|VB|JSE|JS|WSF|WSC|WSH|WS|BAT|CMD|DLL|SCR|HTA|CPL|CLASS|JAR|PS1XML|PS1|PS2XML|PS2|PSC1|PSC2|SCF|LNK|INF|REG)(?-u:\b)"),
            hex: exact("(?:[0-9A-Fa-f]{2}){4,}"),
            base64: exact(r#""(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]==)?""#),
            not_hex: exact("[G-Zg-z]"),
            // mraptor 0.56.2's three patterns.
            mraptor_autoexec: build(concat!(
                r"(?-u:\b)(?:Auto(?:Exec|_?Open|_?Close|Exit|New)",
                r"|Document(?:_?Open|_Close|_?BeforeClose|Change|_New)",
                r"|NewDocument|Workbook(?:_Open|_Activate|_Close|_BeforeClose)",
                r"|\w+_(?:Painted|Painting|GotFocus|LostFocus|MouseHover",
                r"|Layout|Click|Change|Resize|BeforeNavigate2|BeforeScriptExecute",
                r"|DocumentComplete|DownloadBegin|DownloadComplete|FileDownload",
                r"|NavigateComplete2|NavigateError|ProgressChange|PropertyChange",
                r"|SetSecureLockIcon|StatusTextChange|TitleChange|MouseMove",
                r"|MouseEnter|MouseLeave|OnConnecting))|Auto_Ope(?-u:\b)",
            )),
            mraptor_write: build(concat!(
                r"(?-u:\b)(?:FileCopy|CopyFile|Kill|CreateTextFile|",
                r"VirtualAlloc|RtlMoveMemory|URLDownloadToFileA?|AltStartupPath|WriteProcessMemory|",
                r"ADODB\.Stream|WriteText|SaveToFile|SaveAs|SaveAsRTF|FileSaveAs|MkDir|RmDir|SaveSetting|SetAttr)(?-u:\b)|",
                r"(?:(?-u:\b)Open(?-u:\b)[^\n]+(?-u:\b)(?:Write|Append|Binary|Output|Random)(?-u:\b))",
            )),
            mraptor_execute: build(concat!(
                r"(?-u:\b)(?:Shell|CreateObject|GetObject|SendKeys|RUN|CALL|",
                r"MacScript|FollowHyperlink|CreateThread|ShellExecuteA?|ExecuteExcel4Macro|EXEC|REGISTER|SetTimer)(?-u:\b)|",
                r"(?:(?-u:\b)Declare(?-u:\b)[^\n]+(?-u:\b)Lib(?-u:\b))",
            )),
            download: build(concat!(
                r"(?-u:\b)(?:URLDownloadTo(?:Cache)?File[AW]?|(?:Msxml2|Microsoft)\.(?:Server)?XMLHTTP(?:\.\d+)*",
                r"|WinHttp(?:\.WinHttpRequest(?:\.\d+)*)?|Net\.WebClient|DownloadFile|DownloadString",
                r"|DownloadData|InternetOpenUrl[AW]?|InternetReadFile|Invoke-WebRequest|Start-BitsTransfer)(?-u:\b)",
            )),
        }
    })
}

/// olevba's `vba_collapse_long_lines`: ` _` line continuations joined with a space.
pub fn collapse_long_lines(code: &str) -> String {
    code.replace(" _\r\n", " ")
        .replace(" _\r", " ")
        .replace(" _\n", " ")
}

/// The first match of `pattern` in `code` that counts.
fn first_match<'c>(pattern: &Pattern, code: &'c str) -> Option<&'c str> {
    pattern
        .regex
        .find_iter(code)
        .find(|m| match pattern.not_after {
            None => true,
            Some(before) => !code[..m.start()]
                .get(code[..m.start()].len().saturating_sub(before.len())..)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(before)),
        })
        .map(|m| m.as_str())
}

/// olevba's `detect_autoexec` + `detect_suspicious` + `detect_patterns` on one text.
fn detect(code: &str, obfuscation: Option<&str>, out: &mut Detected) {
    let t = tables();
    let suffix = obfuscation.map_or(String::new(), |o| format!(" (obfuscation: {o})"));
    let present = t.set.matches(code);
    for (i, (kind, pattern)) in t.patterns.iter().enumerate() {
        if !present.matched(i) {
            continue;
        }
        if let Some(found) = first_match(pattern, code) {
            let row = (found.to_owned(), format!("{}{suffix}", pattern.description));
            match *kind {
                "AutoExec" => out.autoexec.push(row),
                _ => out.suspicious.push(row),
            }
        }
    }
    if code.contains('\u{8}') && obfuscation.is_none() {
        out.suspicious
            .push(("\u{8}".to_owned(), format!("{}{suffix}", t.backspace)));
    }
    let mut found = std::collections::HashSet::new();
    for (name, regex) in [
        ("URL", &t.url),
        ("IPv4 address", &t.ipv4),
        ("Executable file name", &t.exe),
    ] {
        for m in regex.find_iter(code) {
            let value = m.as_str();
            let excluded = name == "URL"
                && (value.starts_with("http://schemas.openxmlformats.org/")
                    || value.starts_with("http://schemas.microsoft.com/"));
            if !excluded && found.insert(value.to_owned()) {
                out.iocs.push((format!("{name}{suffix}"), value.to_owned()));
            }
            if found.len() > MAX_IOCS {
                break;
            }
        }
    }
}

/// IOCs kept per text at most.
const MAX_IOCS: usize = 10_000;

/// Encoded strings decoded at most (each is scanned again, as olevba does).
const MAX_DECODED: usize = 10_000;

#[derive(Default)]
struct Detected {
    autoexec: Vec<(String, String)>,
    suspicious: Vec<(String, String)>,
    iocs: Vec<(String, String)>,
}

fn unhex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            d(p[0]) << 4 | d(p[1])
        })
        .collect()
}

/// Base64 as Python's `b64decode` (non-strict) reads the strings olevba's pattern finds.
fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Python's `string.printable`.
fn printable(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_graphic() || matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'))
}

const BASE64_WHITELIST: &[&str] = &[
    "thisdocument",
    "thisworkbook",
    "test",
    "temp",
    "http",
    "open",
    "exit",
    "kernel32",
    "virtualalloc",
    "createthread",
];

/// Scans `code` (every module's source, each followed by a newline, as olevba joins them):
/// olevba's table and mraptor's flags.
pub fn analyse(code: &str) -> Analysis {
    if code.trim().is_empty() {
        return Analysis::default();
    }
    let t = tables();
    let code = collapse_long_lines(code);
    let flags = Flags {
        autoexec: t
            .mraptor_autoexec
            .find(&code)
            .map(|m| m.as_str().to_owned()),
        write: t.mraptor_write.find(&code).map(|m| m.as_str().to_owned()),
        execute: t.mraptor_execute.find(&code).map(|m| m.as_str().to_owned()),
        download: t.download.find(&code).map(|m| m.as_str().to_owned()),
    };

    // Hex strings, and with StrReverse in the code their reversals.
    let mut hex_strings: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in t.hex.find_iter(&code).take(MAX_DECODED * 10) {
        if hex_strings.len() >= MAX_DECODED {
            break;
        }
        if seen.insert(m.as_str()) {
            let decoded = String::from_utf8_lossy(&unhex(m.as_str())).into_owned();
            hex_strings.push((m.as_str().to_owned(), decoded));
        }
    }
    let reverse = code.to_lowercase().contains("strreverse");
    let (mut code_hex, mut code_hex_rev, mut code_rev_hex) =
        (String::new(), String::new(), String::new());
    for (encoded, decoded) in &hex_strings {
        code_hex.push('\n');
        code_hex.push_str(decoded);
        if reverse {
            code_hex_rev.push('\n');
            code_hex_rev.extend(decoded.chars().rev());
            code_rev_hex.push('\n');
            let reversed: String = encoded.chars().rev().collect();
            code_rev_hex.push_str(&String::from_utf8_lossy(&unhex(&reversed)));
        }
    }
    let mut base64_strings: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in t.base64.find_iter(&code).take(MAX_DECODED * 10) {
        if base64_strings.len() >= MAX_DECODED {
            break;
        }
        let value = m.as_str().trim_matches('"');
        if !t.not_hex.is_match(value) {
            continue;
        }
        if !BASE64_WHITELIST.contains(&value.to_lowercase().as_str()) && seen.insert(value) {
            let decoded = String::from_utf8_lossy(&unbase64(value)).into_owned();
            base64_strings.push((value.to_owned(), decoded));
        }
    }
    let code_base64: String = base64_strings
        .iter()
        .flat_map(|(_, d)| ["\n", d.as_str()])
        .collect();

    let mut detected = Detected::default();
    for (text, obfuscation) in [
        (code.as_str(), None),
        (&code_hex, Some("Hex")),
        (&code_hex_rev, Some("Hex+StrReverse")),
        (&code_rev_hex, Some("StrReverse+Hex")),
        (&code_base64, Some("Base64")),
    ] {
        if !text.is_empty() {
            detect(text, obfuscation, &mut detected);
        }
    }
    if !hex_strings.is_empty() {
        detected.suspicious.push((
            "Hex Strings".into(),
            "Hex-encoded strings were detected, may be used to obfuscate strings (option --decode to see all)".into(),
        ));
    }
    if !base64_strings.is_empty() {
        detected.suspicious.push((
            "Base64 Strings".into(),
            "Base64-encoded strings were detected, may be used to obfuscate strings (option --decode to see all)".into(),
        ));
    }
    let mut keywords = Vec::new();
    for (kind, rows) in [
        ("AutoExec", &detected.autoexec),
        ("Suspicious", &detected.suspicious),
    ] {
        let mut seen = std::collections::HashSet::new();
        for (keyword, description) in rows {
            if seen.insert(keyword) {
                keywords.push(Keyword {
                    kind,
                    keyword: keyword.clone(),
                    description: description.clone(),
                });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (pattern, value) in &detected.iocs {
        if seen.insert(value) {
            keywords.push(Keyword {
                kind: "IOC",
                keyword: value.clone(),
                description: pattern.clone(),
            });
        }
    }
    for (kind, strings) in [
        ("Hex String", &hex_strings),
        ("Base64 String", &base64_strings),
    ] {
        for (encoded, decoded) in strings {
            if printable(decoded) {
                keywords.push(Keyword {
                    kind,
                    keyword: decoded.clone(),
                    description: encoded.clone(),
                });
            }
        }
    }
    Analysis { flags, keywords }
}
