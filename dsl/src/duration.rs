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

/// `1h30m`, `7d`, `250ms`, `-5m`, `0s`.
/// A duration for people and templates.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    for (unit, size) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        let n = rest / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            rest %= size;
        }
    }
    out
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
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(-300_000), "-5m");
        assert_eq!(format_duration(86_400_000), "1d");
    }
}
