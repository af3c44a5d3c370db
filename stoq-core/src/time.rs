//! Timestamps without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current UTC time as RFC 3339 with microseconds, e.g. `2026-11-28T16:45:51.385756Z`.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_unix(since.as_secs(), since.subsec_micros())
}

fn format_unix(secs: u64, micros: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // Written digit by digit: this runs once per response, and `format!` costs more than the
    // rest of a small scan's bookkeeping.
    let mut out = [0u8; 27];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year.clamp(0, 9999) as u64, 4);
    put(5, u64::from(month), 2);
    put(8, u64::from(day), 2);
    put(11, rem / 3600, 2);
    put(14, (rem % 3600) / 60, 2);
    put(17, rem % 60, 2);
    put(20, u64::from(micros), 6);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ] {
        out[at] = sep;
    }
    out[26] = b'Z';
    String::from_utf8_lossy(&out).into_owned()
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        assert_eq!(super::format_unix(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2026-11-28T16:45:51Z
        assert_eq!(
            super::format_unix(1_795_884_351, 385_756),
            "2026-11-28T16:45:51.385756Z"
        );
        // Leap day.
        assert_eq!(
            super::format_unix(951_782_400, 0),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
