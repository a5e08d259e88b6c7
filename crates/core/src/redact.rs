//! Making outside values safe to show: in logs, error messages, `ocpp-station status` and the
//! `--once` report.
//!
//! Text from a file, the CSMS or the charge controller can hold anything, terminal control
//! sequences included (ESC `[2J` clears the screen, a C1 CSI does the same on some terminals, a
//! line feed forges a log line). Everything the station shows from outside goes through
//! [`printable`] or [`escape_controls`] (the log formatter applies the latter to every field), and
//! JSON it prints through [`json_printable`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// `url` without any `user:pass@` in its authority. Anything that is not a URL comes back
/// unchanged, minus anything before an `@` in its first segment (a mistyped URL may still carry
/// a password there).
pub fn url(url: &str) -> String {
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{prefix}{host}{tail}"),
        None => url.to_owned(),
    }
}

/// At most `max_chars` characters (then `...`), control characters escaped: a value from the
/// network or a file can be anything, and the text goes to a terminal or the journal.
pub fn printable(value: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (count, c) in value.chars().enumerate() {
        if count == max_chars {
            out.push_str("...");
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// `value` with every control character (C0, DEL, C1: `char::is_control`) escaped as Rust does
/// (`\n`, `\u{1b}`), nothing cut; borrowed when there is nothing to escape.
pub fn escape_controls(value: &str) -> Cow<'_, str> {
    if !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len().saturating_add(16));
    for c in value.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// JSON text with DEL and the C1 control characters (U+0080 to U+009F) written as `\u00XX`
/// escapes. serde_json escapes only U+0000 to U+001F, yet a terminal may act on the others too.
/// Outside its strings JSON text is ASCII, so only string contents change, and the JSON means
/// the same; the line feed ending a line (ASCII) is kept.
pub fn json_printable(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c);
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len().saturating_add(16));
    for c in json.chars() {
        if escaped(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a panic is a test failure with a message"
    )]

    use super::*;

    #[test]
    fn userinfo_is_stripped_and_nothing_else() {
        for (given, shown) in [
            ("wss://user:pw@h.example/ocpp/ID", "wss://h.example/ocpp/ID"),
            (
                "wss://CP001:pw@csms.example:443/ocpp/CP001?x=a@b",
                "wss://csms.example:443/ocpp/CP001?x=a@b",
            ),
            ("wss://user@h.example:443", "wss://h.example:443"),
            ("ws://a:b@c@h/x?y=z@w", "ws://h/x?y=z@w"),
            ("wss://a:b@host", "wss://host"),
            ("wss://h.example/ocpp/a@b", "wss://h.example/ocpp/a@b"),
            ("wss://h.example/ocpp", "wss://h.example/ocpp"),
            ("user:pw@h.example/x", "h.example/x"),
            ("garbage", "garbage"),
            ("", ""),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }

    #[test]
    fn values_are_cut_and_escaped() {
        assert_eq!(printable("ocpp2.1", 64), "ocpp2.1");
        assert_eq!(printable("a\r\nb\u{7}", 64), "a\\r\\nb\\u{7}");
        let long = "x".repeat(100);
        assert_eq!(printable(&long, 64), format!("{}...", "x".repeat(64)));
    }

    /// ESC, BEL, CSI (C1), DEL, line feed, carriage return, tab and NUL: C0, DEL and C1.
    const CONTROLS: &str = "\u{1b}[2J\u{7}\u{9b}31m\u{7f}\n\r\t\u{0}\u{85}";

    #[test]
    fn every_control_character_is_escaped_and_nothing_else() {
        assert!(matches!(escape_controls("plain ünïcode"), Cow::Borrowed(_)));
        let shown = escape_controls(CONTROLS);
        assert_eq!(
            shown,
            "\\u{1b}[2J\\u{7}\\u{9b}31m\\u{7f}\\n\\r\\t\\u{0}\\u{85}"
        );
        assert!(!shown.chars().any(char::is_control));
        assert!(!printable(CONTROLS, 100).chars().any(char::is_control));
        // U+FFFD, what invalid UTF-8 becomes, is printable.
        assert_eq!(escape_controls("\u{fffd}"), "\u{fffd}");
    }

    #[test]
    fn json_keeps_its_meaning_without_c1_or_del() {
        let value = serde_json::json!({"reason": CONTROLS, "plain": "x"});
        let compact = value.to_string();
        // serde_json leaves DEL and C1 raw.
        assert!(compact.contains('\u{9b}') && compact.contains('\u{7f}'));
        let shown = json_printable(&compact);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&shown).unwrap(),
            value
        );
        let line = format!("{compact}\n");
        assert!(json_printable(&line).ends_with("}\n"));
        assert!(matches!(json_printable("{\"a\":1}"), Cow::Borrowed(_)));
    }
}
