//! The `isolation_memory` option: a helper's address-space limit.

use serde_json::{Map, Value};

/// The option naming a helper's memory limit.
pub(super) const MEMORY_OPTION: &str = "isolation_memory";

/// A byte count: digits with an optional binary suffix `K`, `M`, `G` or `T`.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        'T' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_shl(shift).filter(|v| v >> shift == n)
}

/// The `isolation_memory` option: `None` when unset.
pub(super) fn memory_option(options: &Map<String, Value>) -> Result<Option<u64>, String> {
    let value = match options.get(MEMORY_OPTION) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let bytes = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_size(s),
        _ => None,
    };
    match bytes {
        Some(bytes) if bytes > 0 => Ok(Some(bytes)),
        _ => Err(format!(
            "option `{MEMORY_OPTION}`: expected a positive byte count such as 536870912 or \"512M\" (suffixes K, M, G, T), got {value}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_take_bytes_or_suffixed_sizes() {
        let opts = |v: Value| {
            let mut m = Map::new();
            m.insert(MEMORY_OPTION.into(), v);
            memory_option(&m)
        };
        assert_eq!(memory_option(&Map::new()), Ok(None));
        assert_eq!(opts(Value::from(1_000_000u64)), Ok(Some(1_000_000)));
        assert_eq!(opts(Value::from("1000")), Ok(Some(1000)));
        assert_eq!(opts(Value::from("512M")), Ok(Some(512 << 20)));
        assert_eq!(opts(Value::from("2g")), Ok(Some(2 << 30)));
        assert_eq!(opts(Value::from(" 64 K")), Ok(Some(64 << 10)));
        for bad in [
            Value::from(0),
            Value::from(-5),
            Value::from(1.5),
            Value::from("lots"),
            Value::from("12X"),
            Value::from("99999999999T"),
            Value::from(""),
            Value::Bool(true),
        ] {
            let err = opts(bad.clone()).unwrap_err();
            assert!(
                err.starts_with("option `isolation_memory`: expected a positive byte count"),
                "{bad}: {err}"
            );
        }
    }
}
