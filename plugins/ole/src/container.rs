//! OOXML (docm, xlsm, pptm, dotm...) and ODF packages: zips whose parts may hold a VBA project
//! (`word/vbaProject.bin`), embedded OLE objects (`word/embeddings/oleObject1.bin`), ActiveX
//! controls (`word/activeX/activeX1.bin`), ODF embedded objects (`Object 1`) and StarBasic
//! macros (`Basic/Standard/Module1.xml`).
//!
//! Parts are read through a reader that stops one byte past the smallest limit that applies
//! (the part's own, what is left of the total), and a part declared over it is refused
//! unread, so a zip bomb costs the limit, not its size.

use std::io::{Cursor, Read};

use stoq_plugin_abi::prelude::*;

use crate::{Budget, Child, Limits};

/// Parts of a package looked at, at most (extracted or not).
pub const MAX_PARTS: usize = 100_000;

/// `[Content_Types].xml`, `mimetype` and `META-INF/manifest.xml` are read up to this size.
const MAX_META_SIZE: u64 = 4 << 20;

/// What a package part is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    VbaProject,
    Embedding,
    ActiveX,
    OdfObject,
    OdfBasic,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::VbaProject => "vba_project",
            Role::Embedding => "embedding",
            Role::ActiveX => "activex",
            Role::OdfObject => "odf_object",
            Role::OdfBasic => "odf_basic",
        }
    }
}

fn role(name: &str, odf: bool) -> Option<Role> {
    let lower = name.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    if file.is_empty() {
        return None;
    }
    if odf {
        let top = name.split('/').next().unwrap_or("");
        if top.starts_with("Object ") {
            return Some(Role::OdfObject);
        }
        if lower.starts_with("basic/")
            && file.ends_with(".xml")
            && file != "script-lb.xml"
            && file != "script-lc.xml"
            && file != "dialog-lb.xml"
            && file != "dialog-lc.xml"
        {
            return Some(Role::OdfBasic);
        }
        return None;
    }
    if file == "vbaproject.bin" {
        Some(Role::VbaProject)
    } else if lower.contains("/embeddings/")
        || (file.starts_with("oleobject") && file.ends_with(".bin"))
    {
        Some(Role::Embedding)
    } else if lower.contains("/activex/") && file.ends_with(".bin") {
        Some(Role::ActiveX)
    } else {
        None
    }
}

/// The value of attribute `name` in one XML tag's text.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().last();
        let after = &rest[at + name.len()..];
        let after_trim = after.trim_start();
        if before.is_some_and(char::is_whitespace) && after_trim.starts_with('=') {
            let value = after_trim[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let body = &value[1..];
                return body.find(quote).map(|end| &body[..end]);
            }
        }
        rest = after;
    }
    None
}

/// `<Default Extension ContentType>` and `<Override PartName ContentType>` of
/// `[Content_Types].xml` (a plain scan of its tags: no entity expansion, no DTD).
fn content_types(xml: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut defaults, mut overrides) = (Vec::new(), Vec::new());
    for tag in xml.split('<').skip(1).take(MAX_PARTS) {
        let tag = tag.split('>').next().unwrap_or("");
        let ct = attribute(tag, "ContentType");
        if tag.starts_with("Default") {
            if let (Some(ext), Some(ct)) = (attribute(tag, "Extension"), ct) {
                defaults.push(json!({"extension": unescape(ext), "content_type": unescape(ct)}));
            }
        } else if tag.starts_with("Override")
            && let (Some(part), Some(ct)) = (attribute(tag, "PartName"), ct)
        {
            overrides.push(json!({"part": unescape(part), "content_type": unescape(ct)}));
        }
    }
    (defaults, overrides)
}

/// XML's five entities and character references.
pub fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A StarBasic module's source (`<script:module script:name=".." ...>CODE</script:module>`).
fn basic_module(xml: &str) -> Option<(String, String)> {
    let start = xml.find("<script:module")?;
    let tag_end = start + xml[start..].find('>')?;
    let tag = &xml[start..tag_end];
    let name = attribute(tag, "script:name")
        .map(unescape)
        .unwrap_or_default();
    if tag.ends_with('/') {
        return Some((name, String::new()));
    }
    let body = &xml[tag_end + 1..];
    let end = body.find("</script:module>").unwrap_or(body.len());
    Some((name, unescape(&body[..end])))
}

/// Refuses a zip whose end of central directory declares more entries than its central
/// directory (or the file) can hold (46 bytes each), before the `zip` crate sizes its tables
/// by that count.
fn check_end_of_central_directory(data: &[u8]) -> Result<()> {
    let tail = &data[data.len().saturating_sub(65_557)..];
    let Some(at) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(()); // the zip crate says what is wrong
    };
    let eocd = &tail[at..];
    let (Some(count), Some(size)) = (eocd.get(10..12), eocd.get(12..16)) else {
        return Ok(());
    };
    let count = u64::from(u16::from_le_bytes([count[0], count[1]]));
    let size = u64::from(u32::from_le_bytes([size[0], size[1], size[2], size[3]]));
    let mut counts = Vec::new();
    // 0xFFFF entries or 0xFFFFFFFF bytes: the zip64 record holds the real values.
    if count != 0xFFFF && size != 0xFFFF_FFFF {
        counts.push((count, size));
    }
    // Zip64: the record the locator just before the end of central directory points at.
    if let Some(locator) = at
        .checked_sub(20)
        .and_then(|l| tail.get(l..at))
        .filter(|l| l.starts_with(b"PK\x06\x07"))
    {
        let offset = u64::from_le_bytes(locator[8..16].try_into().expect("8 bytes"));
        if let Some(record) = usize::try_from(offset)
            .ok()
            .and_then(|o| data.get(o..o.checked_add(56)?))
            .filter(|r| r.starts_with(b"PK\x06\x06"))
        {
            let entries = u64::from_le_bytes(record[32..40].try_into().expect("8 bytes"));
            let size = u64::from_le_bytes(record[40..48].try_into().expect("8 bytes"));
            counts.push((entries, size));
        }
    }
    for (entries, size) in counts {
        if entries.saturating_mul(46) > size.min(data.len() as u64) {
            return Err(Error::msg(format!(
                "not a readable zip: its end of central directory declares {entries} entries, more than its {size}-byte central directory in a {}-byte file can hold",
                data.len()
            )));
        }
    }
    Ok(())
}

/// What [`inspect_zip`] found.
pub struct Package {
    /// The results.
    pub results: Map<String, Value>,
    /// StarBasic modules (part, name, code), for the keyword scan.
    pub basic: Vec<(String, String, String)>,
}

/// Reads a zip `data` as an OOXML or ODF package: its content types, whether it holds
/// macros, and its VBA project, embedded objects and ActiveX parts extracted into `budget`.
pub fn inspect_zip(
    data: &[u8],
    limits: &Limits,
    budget: &mut Budget,
    errors: &mut Vec<String>,
) -> Result<Package> {
    check_end_of_central_directory(data)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| Error::msg(format!("not a readable zip (truncated or corrupt): {e}")))?;
    let count = archive.len();
    let names: Vec<String> = (0..count.min(MAX_PARTS))
        .map(|i| {
            archive
                .by_index_raw(i)
                .map(|f| stoq_plugin_abi::bytes_to_string(f.name_raw()))
                .unwrap_or_default()
        })
        .collect();
    if count > MAX_PARTS {
        errors.push(format!(
            "the zip has {count} entries; only the first {MAX_PARTS} are looked at"
        ));
    }
    let find = |name: &str| names.iter().position(|n| n == name);
    let read_meta =
        |archive: &mut zip::ZipArchive<Cursor<&[u8]>>, i: usize| -> Result<String, String> {
            let file = archive.by_index(i).map_err(|e| e.to_string())?;
            let mut text = Vec::new();
            file.take(MAX_META_SIZE)
                .read_to_end(&mut text)
                .map_err(|e| e.to_string())?;
            Ok(String::from_utf8_lossy(&text).into_owned())
        };
    let mut results = Map::new();
    let odf;
    if let Some(i) = find("[Content_Types].xml") {
        odf = false;
        results.insert("format".into(), json!("ooxml"));
        match read_meta(&mut archive, i) {
            Ok(xml) => {
                let (defaults, overrides) = content_types(&xml);
                let macro_types = overrides
                    .iter()
                    .chain(&defaults)
                    .filter_map(|v| v["content_type"].as_str())
                    .any(|ct| {
                        let ct = ct.to_ascii_lowercase();
                        ct.contains("macroenabled") || ct == "application/vnd.ms-office.vbaproject"
                    });
                results.insert("macro_content_types".into(), json!(macro_types));
                results.insert("default_content_types".into(), Value::Array(defaults));
                results.insert("content_types".into(), Value::Array(overrides));
            }
            Err(e) => errors.push(format!("[Content_Types].xml: {e}")),
        }
    } else if let Some(i) = find("mimetype").or_else(|| find("META-INF/manifest.xml")) {
        odf = true;
        results.insert("format".into(), json!("odf"));
        if names[i] == "mimetype" {
            match read_meta(&mut archive, i) {
                Ok(mimetype) => {
                    results.insert("mimetype".into(), json!(mimetype.trim()));
                }
                Err(e) => errors.push(format!("mimetype: {e}")),
            }
        }
    } else {
        return Err(Error::msg(
            "a zip, but neither an OOXML package (no [Content_Types].xml) nor an ODF one (no mimetype or META-INF/manifest.xml)",
        ));
    }
    results.insert("parts".into(), json!(count));

    let mut vba_parts = Vec::new();
    let mut listed = Vec::new();
    let mut basic = Vec::new();
    let mut macrosheets = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if !odf && name.to_ascii_lowercase().starts_with("xl/macrosheets/") {
            macrosheets.push(name.clone());
        }
        let Some(role) = role(name, odf) else {
            continue;
        };
        if role == Role::VbaProject {
            vba_parts.push(name.clone());
        }
        let declared = archive.by_index_raw(i).map(|f| f.size()).unwrap_or(0);
        let mut entry = json!({"part": name, "role": role.name(), "size": declared});
        if role == Role::OdfBasic {
            // Source code for the scan (kept within max_code_size), not a payload.
            let cap = limits.max_code_size as u64;
            match archive.by_index(i) {
                Ok(file) => {
                    let mut bytes = Vec::new();
                    match file.take(cap.saturating_add(1)).read_to_end(&mut bytes) {
                        Ok(_) => {
                            if bytes.len() as u64 > cap {
                                bytes.truncate(cap as usize);
                                errors.push(format!(
                                    "part {name}: over max_code_size ({cap}); its code is cut"
                                ));
                            }
                            let xml = String::from_utf8_lossy(&bytes);
                            if let Some((module, code)) = basic_module(&xml) {
                                basic.push((name.clone(), module, code));
                            }
                        }
                        Err(e) => errors.push(format!("part {name}: {e}")),
                    }
                }
                Err(e) => errors.push(format!("part {name}: {e}")),
            }
            listed.push(entry);
            continue;
        }
        if let Ok(cap) = budget.admit(&format!("part {name}"), declared) {
            match archive.by_index(i) {
                Ok(file) => {
                    let mut bytes = Vec::new();
                    match file.take(cap.saturating_add(1)).read_to_end(&mut bytes) {
                        Ok(_) if bytes.len() as u64 > cap => {
                            budget.refuse_read(&format!("part {name}"), bytes.len() as u64);
                        }
                        Ok(_) => {
                            entry["extracted"] = json!(true);
                            budget.keep(Child::new(name.clone(), bytes));
                        }
                        Err(e) => errors.push(format!("part {name}: {e}")),
                    }
                }
                Err(e) => errors.push(format!("part {name}: {e}")),
            }
        }
        listed.push(entry);
    }
    let macros = !vba_parts.is_empty() || !basic.is_empty();
    results.insert("macros".into(), json!(macros));
    results.insert("vba_project_parts".into(), json!(vba_parts));
    if !odf {
        results.insert("xlm_macrosheets".into(), json!(macrosheets));
    }
    results.insert("objects".into(), Value::Array(listed));
    Ok(Package { results, basic })
}
