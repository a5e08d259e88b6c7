//! Making outside values safe to show: in logs, error messages and the `--once` report.

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
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
}
