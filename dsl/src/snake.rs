//! `snake_case`, the one spelling of enumerated values: the importer writes every status,
//! verdict, category and classification this way (`TruePositive`, `truePositive` and
//! `true positive` are all `true_positive`), so the compiler can tell a literal that no value
//! will ever equal.

/// `snake_case`: `inProgress` → `in_progress`, `TruePositive` → `true_positive`,
/// `HTTPServer` → `http_server`, `Defender for Office 365` → `defender_for_office_365`.
pub fn snake(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_ascii() {
        snake_ascii(raw)
    } else {
        snake_chars(raw)
    }
}

/// [`snake`] for any text, by characters.
pub fn snake_chars(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut prev: Option<char> = None;
    let mut rest = raw.chars();
    while let Some(c) = rest.next() {
        let before = prev;
        prev = Some(c);
        if !c.is_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_uppercase() {
            let boundary = match before {
                Some(p) if p.is_lowercase() || p.is_numeric() => true,
                Some(p) if p.is_uppercase() => rest.clone().next().is_some_and(char::is_lowercase),
                _ => false,
            };
            if boundary && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// [`snake`] for ASCII text, by bytes: the same, as ASCII characters are alphanumeric,
/// upper- or lowercase or numeric exactly as their ASCII classes say.
fn snake_ascii(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(b.len() + 4);
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() {
            let before = i.checked_sub(1).and_then(|j| b.get(j));
            let boundary = match before {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => {
                    b.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                }
                _ => false,
            };
            if boundary && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(char::from(c.to_ascii_lowercase()));
        } else {
            out.push(char::from(c));
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Whether `text` could be a value [`snake`] wrote: no uppercase letter, no whitespace, no
/// ASCII punctuation but single underscores between words. (Loose on purpose: a literal this
/// accepts and `snake` never writes is a false negative, not a false error.)
pub fn is_snake(text: &str) -> bool {
    !text.starts_with('_')
        && !text.ends_with('_')
        && !text.contains("__")
        && text.chars().all(|c| {
            c == '_' || !(c.is_uppercase() || c.is_whitespace() || c.is_ascii_punctuation())
        })
}

#[cfg(test)]
mod tests {
    use super::{is_snake, snake};

    #[test]
    fn values_as_the_importer_writes_them_are_snake() {
        for raw in [
            "InitialAccess",
            "initial access",
            "HTTPServer",
            "İstanbul",
            "Ünïcode Ça",
        ] {
            assert!(is_snake(&snake(raw)), "{raw}: {}", snake(raw));
        }
        for literal in ["Malware", "initial access", "a-b", "_a", "a__b", "a."] {
            assert!(!is_snake(literal), "{literal}");
        }
    }
}
