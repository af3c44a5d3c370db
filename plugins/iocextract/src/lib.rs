//! The `iocextract` worker: indicators of compromise in a payload's text.
//!
//! Results (keys present only when something was found, values deduplicated and sorted):
//! `{"url": [..], "domain": [..], "ipv4": [..], "ipv6": [..], "email": [..], "md5": [..],
//! "sha1": [..], "sha256": [..], "sha512": [..]}`.
//!
//! Defanged forms are normalised first: `hxxp(s)`, `[.]`, `(.)`, `[dot]`, `(dot)`, `{.}`,
//! `[:]`, `[@]`, `(at)`, `[at]`. Domains (also those of URLs and emails) must end in a
//! public suffix from the list compiled into the plugin (no download), so `readme.txt` is not
//! a domain. Options: `allowlist` (values never reported, e.g. your own domains),
//! `max_size` (bytes scanned, default 50 MiB).
//!
//! A payload longer than `max_size` is scanned up to it, ending after the last ASCII
//! whitespace in the final 4 KiB before it so that no indicator is cut in two, and says so:
//! the results hold `"truncated": {"scanned_bytes": n, "payload_bytes": m}` (present even when
//! nothing was found) and the response carries an error naming the option.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use stoq_plugin_abi::prelude::*;
use stoq_plugin_abi::serde_json::Value;

/// Defanging patterns and their plain forms (case-insensitive).
static DEFANG: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"(?i)\bhxxp(s?)(\[?:\]?)//", "http$1://"),
        (r"(?i)\bfxp://", "ftp://"),
        (r"(?i)\s?[\[\(\{]\s?(?:\.|dot)\s?[\]\)\}]\s?", "."),
        (r"(?i)\[:\]", ":"),
        (r"(?i)\s?[\[\(\{]\s?(?:@|at)\s?[\]\)\}]\s?", "@"),
    ]
    .into_iter()
    .map(|(pattern, plain)| (Regex::new(pattern).expect("valid regex"), plain))
    .collect()
});

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?|ftp)://[^\s<>"'`\\^{|}]+"#).expect("valid regex")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+\-]+@((?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]{0,62})\b")
        .expect("valid regex")
});
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]{0,62}\b")
        .expect("valid regex")
});
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").expect("valid regex"));
static IPV6_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[0-9a-f:.]*:[0-9a-f:.]*:[0-9a-f:.]*").expect("valid regex"));
static HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[0-9a-f]{32,128}\b").expect("valid regex"));

/// Replaces defanged notations with their plain forms.
pub fn refang(text: &str) -> String {
    DEFANG.iter().fold(text.to_owned(), |t, (re, plain)| {
        re.replace_all(&t, *plain).into_owned()
    })
}

fn known_domain(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known())
        && psl::domain(domain.as_bytes()).is_some()
}

/// Every indicator in `text`, by kind, deduplicated and sorted.
pub fn extract(text: &str) -> BTreeMap<&'static str, BTreeSet<String>> {
    let text = refang(text);
    let mut found: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut add = |kind: &'static str, value: String| {
        found.entry(kind).or_default().insert(value);
    };
    for m in URL.find_iter(&text) {
        let url = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ')', ']', '>', '\'', '"']);
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .map(|h| h.rsplit('@').next().unwrap_or(h))
            .map(|h| h.split(':').next().unwrap_or(h))
            .unwrap_or("");
        if known_domain(host) || host.parse::<Ipv4Addr>().is_ok() {
            add("url", url.to_owned());
        }
    }
    for c in EMAIL.captures_iter(&text) {
        if known_domain(&c[1]) {
            add("email", c[0].to_ascii_lowercase());
        }
    }
    for m in DOMAIN.find_iter(&text) {
        if known_domain(m.as_str()) {
            add("domain", m.as_str().to_ascii_lowercase());
        }
    }
    for m in IPV4.find_iter(&text) {
        if let Ok(ip) = m.as_str().parse::<Ipv4Addr>() {
            add("ipv4", ip.to_string());
        }
    }
    for m in IPV6_TOKEN.find_iter(&text) {
        let token = m.as_str().trim_matches('.');
        if let Ok(ip) = token.parse::<Ipv6Addr>() {
            add("ipv6", ip.to_string());
        }
    }
    for m in HEX.find_iter(&text) {
        let kind = match m.len() {
            32 => "md5",
            40 => "sha1",
            64 => "sha256",
            128 => "sha512",
            _ => continue,
        };
        add(kind, m.as_str().to_ascii_lowercase());
    }
    found
}

/// How far back from `max_size` the scanned part may end at whitespace rather than mid-token.
const CUT_WINDOW: usize = 4096;

/// How many leading bytes of a `len`-byte payload are scanned when at most `max_size` are:
/// all of them when they fit, else up to the last ASCII whitespace (included) in the final
/// [`CUT_WINDOW`] bytes before `max_size`, or exactly `max_size` when there is none.
pub fn scanned_len(content: &[u8], max_size: usize) -> usize {
    if content.len() <= max_size {
        return content.len();
    }
    let from = max_size.saturating_sub(CUT_WINDOW);
    content[from..max_size]
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(max_size, |at| from + at + 1)
}

/// The IOC extractor.
pub struct IocExtract {
    allowlist: BTreeSet<String>,
    max_size: usize,
}

impl Plugin for IocExtract {
    const INFO: PluginInfo = PluginInfo::new("iocextract", env!("CARGO_PKG_VERSION"))
        .author("stoq")
        .description("URLs, domains, IPs, emails and hashes, defanged forms included")
        .options(&[
            OptionSpec::list("allowlist", &[])
                .doc("Values never reported, e.g. your own domains (any case)"),
            OptionSpec::int("max_size", 50 << 20)
                .doc("Bytes of a payload scanned; the rest is skipped and the result says so"),
        ]);

    fn new(config: &mut PluginConfig) -> Result<Self> {
        let max_size = config.int("max_size")?;
        Ok(Self {
            allowlist: config
                .list("allowlist")?
                .into_iter()
                .map(|v| v.to_ascii_lowercase())
                .collect(),
            max_size: usize::try_from(max_size).map_err(|_| {
                Error::msg(format!("option `max_size` must be >= 0, got {max_size}"))
            })?,
        })
    }
}

impl Worker for IocExtract {
    fn scan(&self, payload: &Payload<'_>, _request: &Request<'_>) -> Result<WorkerResponse> {
        let content = payload.content();
        let scanned = scanned_len(content, self.max_size);
        let text = String::from_utf8_lossy(&content[..scanned]);
        let mut found = extract(&text);
        for values in found.values_mut() {
            values.retain(|v| !self.allowlist.contains(&v.to_ascii_lowercase()));
        }
        found.retain(|_, v| !v.is_empty());
        let truncated = scanned < content.len();
        if found.is_empty() && !truncated {
            return Ok(WorkerResponse::empty());
        }
        let mut response = WorkerResponse::from_serialize(&found)?;
        if truncated {
            if let Some(Value::Object(results)) = &mut response.results {
                results.insert(
                    "truncated".into(),
                    json!({ "scanned_bytes": scanned, "payload_bytes": content.len() }),
                );
            }
            response.errors.push(Error::msg(format!(
                "payload truncated: only the first {scanned} of its {} bytes were scanned \
                 (option `max_size` = {})",
                content.len(),
                self.max_size
            )));
        }
        Ok(response)
    }
}

stoq_plugin_abi::export_plugin!(IocExtract => worker);

#[cfg(test)]
mod tests {
    use stoq_plugin_abi::testing::{PluginTest, TestError};

    use super::*;

    fn values(found: &BTreeMap<&str, BTreeSet<String>>, kind: &str) -> Vec<String> {
        found
            .get(kind)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn finds_each_kind_and_refangs() {
        let text = "Beacon to hxxps://evil[.]example[.]com/path?q=1, mail bad(at)example(dot)org; \
                    fallback 10.0.0.300 and 192.168.1[.]20 and 2001:db8::1. \
                    Drops readme.txt; hash d41d8cd98f00b204e9800998ecf8427e and \
                    da39a3ee5e6b4b0d3255bfef95601890afd80709.";
        let found = extract(text);
        assert_eq!(values(&found, "url"), ["https://evil.example.com/path?q=1"]);
        assert_eq!(values(&found, "email"), ["bad@example.org"]);
        assert_eq!(
            values(&found, "domain"),
            ["evil.example.com", "example.org"]
        );
        assert_eq!(values(&found, "ipv4"), ["192.168.1.20"]);
        assert_eq!(values(&found, "ipv6"), ["2001:db8::1"]);
        assert_eq!(values(&found, "md5"), ["d41d8cd98f00b204e9800998ecf8427e"]);
        assert_eq!(
            values(&found, "sha1"),
            ["da39a3ee5e6b4b0d3255bfef95601890afd80709"]
        );
    }

    fn extractor(max_size: usize) -> PluginTest<IocExtract> {
        PluginTest::new().option("max_size", max_size)
    }

    fn scan(ioc: &PluginTest<IocExtract>, data: &[u8]) -> WorkerResponse {
        ioc.scan(data).expect("scans")
    }

    #[test]
    fn scan_reports_what_it_finds_by_kind() {
        let response = scan(
            &PluginTest::new(),
            b"Beacon to hxxp://evil[.]example[.]com/x from 192.168.1.20",
        );
        assert_eq!(
            response.results,
            Some(json!({
                "url": ["http://evil.example.com/x"],
                "domain": ["evil.example.com"],
                "ipv4": ["192.168.1.20"],
            }))
        );
        assert!(response.errors.is_empty() && response.extracted.is_empty());
    }

    #[test]
    fn allowlisted_values_are_never_reported() {
        let text = b"see http://www.example.org/a and mail ME@Example.org, also evil.example.com";
        // As `--plugin-opts iocextract:allowlist=...` gives it: one comma-separated string.
        let ioc = PluginTest::new().option(
            "allowlist",
            "Example.org, me@example.org,http://www.example.org/a",
        );
        let results = scan(&ioc, text).results.expect("results");
        assert_eq!(
            results,
            json!({"domain": ["evil.example.com", "www.example.org"]})
        );
        // Everything allowlisted: nothing to report.
        let ioc = PluginTest::<IocExtract>::new().option("allowlist", json!(["10.0.0.1"]));
        assert!(scan(&ioc, b"ping 10.0.0.1").is_empty());
    }

    #[test]
    fn a_bad_max_size_is_rejected_naming_the_option() {
        for bad in [json!(-1), json!("50MB")] {
            let err = PluginTest::<IocExtract>::new()
                .option("max_size", bad.clone())
                .start()
                .expect_err("rejected");
            assert!(
                matches!(&err, TestError::Config(m) if m.contains("`max_size`")),
                "{bad}: {err:?}"
            );
        }
        let err = PluginTest::<IocExtract>::new()
            .option("allowlist", json!({"a": 1}))
            .start()
            .expect_err("rejected");
        assert!(
            matches!(&err, TestError::Config(m) if m.contains("`allowlist`")),
            "{err:?}"
        );
    }

    #[test]
    fn a_payload_longer_than_max_size_is_marked_truncated() {
        let head = "one http://one.example.com/a two.example.org three ";
        let tail = "http://three.example.net/c";
        let data = format!("{head}{tail}");
        let ioc = extractor(head.len() + 10);

        let response = scan(&ioc, data.as_bytes());
        let results = response.results.expect("results");
        assert_eq!(
            results["truncated"],
            json!({ "scanned_bytes": head.len(), "payload_bytes": data.len() })
        );
        assert_eq!(results["url"], json!(["http://one.example.com/a"]));
        // The cut ends at whitespace: nothing of the third URL, not even a part of it.
        assert_eq!(
            results["domain"],
            json!(["one.example.com", "two.example.org"])
        );
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let error = response.errors[0].message();
        assert!(
            error.contains("truncated")
                && error.contains(&format!("{} of its {} bytes", head.len(), data.len()))
                && error.contains("max_size"),
            "{error}"
        );

        // Truncated with nothing found in the scanned part: still said.
        let response = scan(&extractor(8), data.as_bytes());
        assert_eq!(
            response.results.expect("results")["truncated"],
            json!({ "scanned_bytes": 4, "payload_bytes": data.len() })
        );
        assert_eq!(response.errors.len(), 1);

        // No whitespace near the limit: exactly max_size bytes.
        let dense = "x".repeat(100);
        let response = scan(&extractor(50), dense.as_bytes());
        assert_eq!(
            response.results.expect("results")["truncated"],
            json!({ "scanned_bytes": 50, "payload_bytes": 100 })
        );

        // Within max_size (also exactly at it): no mark, no error.
        for ioc in [extractor(data.len()), extractor(data.len() + 1)] {
            let response = scan(&ioc, data.as_bytes());
            assert!(response.errors.is_empty());
            let results = response.results.expect("results");
            assert!(results.get("truncated").is_none(), "{results}");
            assert_eq!(results["url"].as_array().map(Vec::len), Some(2));
        }
        assert!(scan(&extractor(8), b"short").is_empty());
    }

    #[test]
    fn nothing_in_plain_prose() {
        assert!(extract("The quick brown fox jumps over the lazy dog.").is_empty());
    }
}
