//! Durations as written in documents and expressions: `500ms`, `30s`, `15m`, `4h`, `7d`, `2w`.

/// Milliseconds in a duration literal, or `None` if `text` is not one.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    let n: i64 = text[..digits].parse().ok()?;
    let unit: i64 = match &text[digits..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Milliseconds in a duration as [`format_duration`] writes it: one literal, or units combined,
/// largest first (`1h30m1ms`), with an optional `-`.
pub fn parse_formatted(text: &str) -> Option<i64> {
    let text = text.trim();
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, text),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let after = &rest[digits..];
        // `ms` before `m`.
        let unit = ["ms", "w", "d", "h", "m", "s"]
            .into_iter()
            .find(|u| after.starts_with(u))?;
        total = total.checked_add(parse_duration(&rest[..digits + unit.len()])?)?;
        rest = &after[unit.len()..];
    }
    total.checked_mul(sign)
}

const UNITS: [(&str, u64); 6] = [
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// A duration for people and templates, in its shortest form: one unit when that is exact
/// and no longer than the combined form (`90m`, `2w`, `1500ms`, `-5m`, `0s`), which is also
/// how a document writes it; otherwise units combined, largest first (`1h30m1ms`).
pub fn format_duration(ms: i64) -> String {
    use std::fmt::Write;
    if ms == 0 {
        return "0s".to_string();
    }
    let abs = ms.unsigned_abs();
    // The largest unit that divides the duration (milliseconds always do), as one number;
    // else each unit in turn (`1h30m`), whichever is shorter. Written into one buffer: a
    // duration parameter is formatted on every action that has one.
    let mut out = String::with_capacity(24);
    if ms < 0 {
        out.push('-');
    }
    let start = out.len();
    if let Some((unit, size)) = UNITS.iter().find(|(_, size)| abs.is_multiple_of(*size)) {
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{}{unit}", abs / size);
    }
    let single = out.len() - start;
    let mut combined = 0;
    let mut rest = abs;
    for (unit, size) in UNITS {
        let n = rest / size;
        if n > 0 {
            combined += decimal_digits(n) + unit.len();
            rest %= size;
        }
    }
    if combined < single {
        out.truncate(start);
        let mut rest = abs;
        for (unit, size) in UNITS {
            let n = rest / size;
            if n > 0 {
                let _ = write!(out, "{n}{unit}");
                rest %= size;
            }
        }
    }
    out
}

/// How many decimal digits `n` has.
fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration("30m"), Some(1_800_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("3 days"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(format_duration(-300_000), "-5m");
        assert_eq!(format_duration(86_400_000), "1d");
    }

    #[test]
    fn formats_in_the_shortest_form() {
        for (ms, text) in [
            (0, "0s"),
            (5_400_000, "90m"),
            (1_209_600_000, "2w"),
            (1_500, "1500ms"),
            (604_800_000, "1w"),
            (90_000_000, "25h"),
            (-5_400_000, "-90m"),
            // One unit would be longer than the combination.
            (5_400_001, "1h30m1ms"),
            (694_861_000, "694861s"),
        ] {
            assert_eq!(format_duration(ms), text, "{ms} ms");
        }
        // Every single-unit form reads back as the same duration.
        for ms in [5_400_000, 1_209_600_000, 1_500, 90_000_000, 60_000, 3_000] {
            assert_eq!(parse_duration(&format_duration(ms)), Some(ms));
        }
        // And every form, combined ones too, reads back through `parse_formatted`.
        for ms in [
            0,
            5_400_001,
            -5_400_001,
            694_861_000,
            1_500,
            2_419_200_000 + 172_800_000,
        ] {
            assert_eq!(parse_formatted(&format_duration(ms)), Some(ms), "{ms} ms");
        }
        assert_eq!(parse_formatted("4w2d"), Some(2_592_000_000));
        assert_eq!(parse_formatted("30d"), Some(2_592_000_000));
        for bad in ["", "-", "1x", "h", "1h30", "1.5h"] {
            assert_eq!(parse_formatted(bad), None, "{bad}");
        }
        // The ends of the range format without overflowing.
        assert!(format_duration(i64::MIN).starts_with('-'));
        assert!(format_duration(i64::MAX).ends_with("ms"));
        assert_eq!(decimal_digits(0), 1);
        assert_eq!(decimal_digits(9), 1);
        assert_eq!(decimal_digits(10), 2);
        assert_eq!(decimal_digits(u64::MAX), 20);
    }
}
