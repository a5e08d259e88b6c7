//! A parser for systemd-style environment files (the `EnvironmentFile=` syntax), the format of the
//! fleet's `/etc/ocpp_station.env` and of `--env-file`.
//!
//! Accepted, line by line:
//! - `KEY=value`: leading and trailing whitespace of the value is dropped; a backslash takes the
//!   next character literally (as both systemd and `sh` do);
//! - `KEY='value'`: taken literally;
//! - `KEY="value"`: `\"`, `\\`, `` \` ``, `\$` and `\n` (newline) are escapes, any other backslash
//!   is kept as written;
//! - an optional leading `export ` (so the same file can be sourced by a shell);
//! - blank lines and comment lines starting with `#` or `;`;
//! - LF or CRLF line endings and a leading UTF-8 byte-order mark.
//!
//! Not accepted (rejected with the line number rather than guessed at): quoted values spanning
//! lines, line continuations, text after a closing quote, NUL characters, variable names other
//! than `[A-Za-z_][A-Za-z0-9_]*`.
//!
//! Errors name the line and the problem but never repeat the line's contents: the line may hold
//! the password.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::bounded_file::{self, FileError};

/// [`read`] refuses files larger than this: a configuration file is a few kilobytes, and a cap
/// keeps a mistaken `--env-file` (a log, an image) from eating the station's memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What is wrong with one line of an env file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The line is neither blank, a comment, nor `KEY=value`.
    MissingEquals,
    /// Nothing before the `=`.
    EmptyKey,
    /// The name before `=` is not a valid variable name.
    InvalidKey,
    /// A quoted value is not closed on the same line.
    UnterminatedQuote {
        /// The opening quote character.
        quote: char,
    },
    /// Something other than whitespace follows the closing quote.
    TextAfterQuote,
    /// An unquoted value ends in a backslash (a line continuation).
    LineContinuation,
    /// The line contains a NUL character, which no environment variable can hold.
    NulCharacter,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingEquals => f.write_str("expected KEY=value, a comment or a blank line"),
            Problem::EmptyKey => f.write_str("the variable name before '=' is empty"),
            Problem::InvalidKey => f.write_str(
                "the variable name may only contain letters, digits and '_', \
                 and must not start with a digit",
            ),
            Problem::UnterminatedQuote { quote } => write!(
                f,
                "the {quote} quote is not closed on this line (values spanning lines are not supported)"
            ),
            Problem::TextAfterQuote => f.write_str("unexpected text after the closing quote"),
            Problem::LineContinuation => {
                f.write_str("the value ends in a backslash (line continuations are not supported)")
            }
            Problem::NulCharacter => f.write_str("the line contains a NUL character"),
        }
    }
}

/// Why an env file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvFileError {
    /// The file could not be opened or read.
    #[error("cannot read env file {}: {message}", .path.display())]
    Io {
        /// The file as given.
        path: PathBuf,
        /// The I/O error kind (for callers that distinguish "not found").
        kind: std::io::ErrorKind,
        /// The operating system's description.
        message: String,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("env file {} is larger than {MAX_FILE_BYTES} bytes; is it the right file?", .path.display())]
    TooLarge {
        /// The file as given.
        path: PathBuf,
    },
    /// Something other than a regular file is at the path (a FIFO, a device, a directory):
    /// reading it could block or never end, so it is not read.
    #[error("env file {} is {what}, not a regular file", .path.display())]
    NotRegular {
        /// The file as given.
        path: PathBuf,
        /// What it is instead, e.g. "a FIFO (named pipe)".
        what: &'static str,
    },
    /// The file is not valid UTF-8.
    #[error("{}: not valid UTF-8 text", location(.path.as_deref(), *.line))]
    NotUtf8 {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The 1-based line holding the first invalid byte.
        line: usize,
    },
    /// A line does not follow the syntax.
    #[error("{}{}: {problem}", location(.path.as_deref(), *.line), key_note(.key.as_deref()))]
    Syntax {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The 1-based line number.
        line: usize,
        /// The variable name, when the line had a valid one (never the value).
        key: Option<String>,
        /// What is wrong.
        problem: Problem,
    },
}

fn location(path: Option<&Path>, line: usize) -> String {
    match path {
        Some(path) => format!("{}: line {line}", path.display()),
        None => format!("line {line}"),
    }
}

fn key_note(key: Option<&str>) -> String {
    key.map(|k| format!(" ({k})")).unwrap_or_default()
}

impl EnvFileError {
    /// Attaches the file name to an error found in its text.
    fn in_file(self, file: &Path) -> Self {
        match self {
            EnvFileError::NotUtf8 { line, .. } => EnvFileError::NotUtf8 {
                path: Some(file.to_path_buf()),
                line,
            },
            EnvFileError::Syntax {
                line, key, problem, ..
            } => EnvFileError::Syntax {
                path: Some(file.to_path_buf()),
                line,
                key,
                problem,
            },
            other => other,
        }
    }

    /// The 1-based line number, for errors about the file's contents.
    pub fn line(&self) -> Option<usize> {
        match self {
            EnvFileError::NotUtf8 { line, .. } | EnvFileError::Syntax { line, .. } => Some(*line),
            EnvFileError::Io { .. }
            | EnvFileError::TooLarge { .. }
            | EnvFileError::NotRegular { .. } => None,
        }
    }
}

/// Parses the text of an env file into `(name, value)` pairs in file order.
///
/// A name may appear more than once; the caller decides (the loader lets the last one win, as
/// systemd does).
pub fn parse(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index.saturating_add(1);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(pair) = parse_line(raw).map_err(|e| EnvFileError::Syntax {
            path: None,
            line,
            key: e.key,
            problem: e.problem,
        })? {
            pairs.push(pair);
        }
    }
    Ok(pairs)
}

/// Reads and parses an env file. A missing or unreadable file, anything but a regular file
/// (never waited on: see [`bounded_file`]), one larger than [`MAX_FILE_BYTES`], invalid UTF-8
/// and syntax errors are all errors naming the path.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, EnvFileError> {
    let path_buf = path.to_path_buf();
    let bytes = bounded_file::read(path, MAX_FILE_BYTES).map_err(|error| match error {
        FileError::Io(e) => EnvFileError::Io {
            path: path_buf,
            kind: e.kind(),
            message: e.to_string(),
        },
        FileError::NotRegular(what) => EnvFileError::NotRegular {
            path: path_buf,
            what,
        },
        FileError::TooLarge { .. } => EnvFileError::TooLarge { path: path_buf },
    })?;
    decode(&bytes).and_then(parse).map_err(|e| e.in_file(path))
}

/// The bytes as text, or the line of the first invalid byte.
fn decode(bytes: &[u8]) -> Result<&str, EnvFileError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        EnvFileError::NotUtf8 {
            path: None,
            line: valid
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                .saturating_add(1),
        }
    })
}

/// What [`parse_line`] found wrong: the problem, and the variable name when it was valid, so
/// messages can point at it without showing the value.
struct LineError {
    key: Option<String>,
    problem: Problem,
}

impl From<Problem> for LineError {
    fn from(problem: Problem) -> Self {
        LineError { key: None, problem }
    }
}

/// One line without its line ending: `Ok(None)` for blank and comment lines.
fn parse_line(line: &str) -> Result<Option<(String, String)>, LineError> {
    if line.contains('\0') {
        return Err(Problem::NulCharacter.into());
    }
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return Ok(None);
    }
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    };
    let Some((key, value)) = line.split_once('=') else {
        return Err(Problem::MissingEquals.into());
    };
    // systemd tolerates blanks around '='; a blank inside the name is an error below.
    let key = key.trim_end();
    if key.is_empty() {
        return Err(Problem::EmptyKey.into());
    }
    if !is_valid_name(key) {
        return Err(Problem::InvalidKey.into());
    }
    let value = parse_value(value.trim_start()).map_err(|problem| LineError {
        key: Some(key.to_owned()),
        problem,
    })?;
    Ok(Some((key.to_owned(), value)))
}

/// `[A-Za-z_][A-Za-z0-9_]*`, the names systemd and POSIX shells accept.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(value: &str) -> Result<String, Problem> {
    if let Some(rest) = value.strip_prefix('\'') {
        let (inner, after) = rest
            .split_once('\'')
            .ok_or(Problem::UnterminatedQuote { quote: '\'' })?;
        return only_blanks_after_quote(after).map(|()| inner.to_owned());
    }
    if let Some(rest) = value.strip_prefix('"') {
        return parse_double_quoted(rest);
    }
    parse_unquoted(value)
}

fn only_blanks_after_quote(after: &str) -> Result<(), Problem> {
    if after.trim().is_empty() {
        Ok(())
    } else {
        Err(Problem::TextAfterQuote)
    }
}

/// The part after the opening `"`.
fn parse_double_quoted(rest: &str) -> Result<String, Problem> {
    let unterminated = Problem::UnterminatedQuote { quote: '"' };
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => {
                let after = chars.as_str();
                return only_blanks_after_quote(after).map(|()| out);
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, e @ ('"' | '\\' | '`' | '$'))) => out.push(e),
                // As in sh and systemd, an unknown escape keeps its backslash.
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return Err(unterminated),
            },
            other => out.push(other),
        }
    }
    Err(unterminated)
}

/// An unquoted value, leading blanks already gone: trailing blanks are dropped unless escaped.
fn parse_unquoted(value: &str) -> Result<String, Problem> {
    let mut out = String::with_capacity(value.len());
    // Length of `out` up to the last character that must be kept (not an unescaped blank).
    let mut keep = 0;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let escaped = chars.next().ok_or(Problem::LineContinuation)?;
            out.push(escaped);
            keep = out.len();
        } else {
            out.push(c);
            if !c.is_whitespace() {
                keep = out.len();
            }
        }
    }
    out.truncate(keep);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn syntax_problem(text: &str) -> (usize, Option<String>, Problem) {
        match parse(text) {
            Err(EnvFileError::Syntax {
                line, key, problem, ..
            }) => (line, key, problem),
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn plain_quoted_and_exported_values() {
        let text = "A=1\nB='two words'\nC=\"say \\\"hi\\\"\"\nexport D=4\n  E = spaced  \nF=\n";
        assert_eq!(
            parse(text).unwrap(),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "say \"hi\""),
                ("D", "4"),
                ("E", "spaced"),
                ("F", ""),
            ])
        );
    }

    #[test]
    fn comments_blank_lines_crlf_and_bom() {
        let text =
            "\u{feff}# comment\r\n; also a comment\r\n\r\n   \r\n  # indented\r\nKEY=value  \r\n";
        assert_eq!(parse(text).unwrap(), pairs(&[("KEY", "value")]));
    }

    #[test]
    fn double_quote_escapes() {
        let text = r#"A="a\\b\nc\$d\`e\qf""#;
        assert_eq!(parse(text).unwrap(), pairs(&[("A", "a\\b\nc$d`e\\qf")]));
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            parse(r"A='x\ny\\z #;'").unwrap(),
            pairs(&[("A", r"x\ny\\z #;")])
        );
    }

    #[test]
    fn unquoted_backslash_takes_the_next_character() {
        assert_eq!(
            parse("A=a\\ b\\\\c\\ \nB=x # not a comment").unwrap(),
            pairs(&[("A", "a b\\c "), ("B", "x # not a comment")])
        );
    }

    #[test]
    fn blanks_after_a_closing_quote_are_fine_text_is_not() {
        assert_eq!(parse("A='x'   ").unwrap(), pairs(&[("A", "x")]));
        assert_eq!(syntax_problem("A='x'y").2, Problem::TextAfterQuote);
        assert_eq!(syntax_problem("A=\"x\" y").2, Problem::TextAfterQuote);
    }

    #[test]
    fn export_only_as_a_word() {
        assert_eq!(
            parse("export=1\nexportX=2\nexport\tY=3").unwrap(),
            pairs(&[("export", "1"), ("exportX", "2"), ("Y", "3")])
        );
    }

    #[test]
    fn duplicates_are_kept_in_order() {
        assert_eq!(parse("A=1\nA=2").unwrap(), pairs(&[("A", "1"), ("A", "2")]));
    }

    #[test]
    fn hostile_lines_give_the_line_number_and_problem() {
        assert_eq!(
            syntax_problem("A=1\njust some words"),
            (2, None, Problem::MissingEquals)
        );
        assert_eq!(syntax_problem("=value"), (1, None, Problem::EmptyKey));
        assert_eq!(syntax_problem("  =value"), (1, None, Problem::EmptyKey));
        assert_eq!(
            syntax_problem("MY KEY=value"),
            (1, None, Problem::InvalidKey)
        );
        assert_eq!(syntax_problem("1KEY=value"), (1, None, Problem::InvalidKey));
        assert_eq!(syntax_problem("KÉY=value"), (1, None, Problem::InvalidKey));
        assert_eq!(
            syntax_problem("\n\nPASS=\"open"),
            (
                3,
                Some("PASS".into()),
                Problem::UnterminatedQuote { quote: '"' }
            )
        );
        assert_eq!(
            syntax_problem("PASS='open"),
            (
                1,
                Some("PASS".into()),
                Problem::UnterminatedQuote { quote: '\'' }
            )
        );
        assert_eq!(
            syntax_problem("PASS=\"ends in backslash\\"),
            (
                1,
                Some("PASS".into()),
                Problem::UnterminatedQuote { quote: '"' }
            )
        );
        assert_eq!(
            syntax_problem("A=continued \\"),
            (1, Some("A".into()), Problem::LineContinuation)
        );
        assert_eq!(syntax_problem("A=x\0y"), (1, None, Problem::NulCharacter));
    }

    #[test]
    fn errors_never_repeat_the_value() {
        for text in [
            "OCPP_STATION_PASSWORD=\"hunter2",
            "OCPP_STATION_PASSWORD='hunter2",
            "OCPP_STATION_PASSWORD='x'hunter2",
            "OCPP_STATION_PASSWORD=hunter2\\",
            "hunter2",
            "hunter2 x=1",
            "OCPP_STATION_PASSWORD=hunter2\0",
        ] {
            let err = parse(text).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("hunter2"), "{text:?} -> {shown}");
            assert_eq!(err.line(), Some(1));
        }
    }

    #[test]
    fn a_one_megabyte_line_is_handled() {
        let value = "x".repeat(1024 * 1024);
        let parsed = parse(&format!("BIG={value}\n")).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].1.len(), value.len());

        let err = parse(&"y".repeat(1024 * 1024)).unwrap_err();
        assert_eq!(err.line(), Some(1));
        let err = parse(&format!("BIG=\"{value}")).unwrap_err();
        assert!(format!("{err}").len() < 200);
    }

    #[test]
    fn read_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.env");
        let err = read(&missing).unwrap_err();
        assert!(matches!(
            err,
            EnvFileError::Io {
                kind: std::io::ErrorKind::NotFound,
                ..
            }
        ));
        assert!(err.to_string().contains("nope.env"), "{err}");

        let err = read(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&dir.path().display().to_string()));
        assert!(
            err.to_string()
                .ends_with("is a directory, not a regular file")
        );

        let bad = dir.path().join("bad.env");
        std::fs::write(&bad, b"A=1\nB=\xff\xfe\n").unwrap();
        let err = read(&bad).unwrap_err();
        assert_eq!(
            err,
            EnvFileError::NotUtf8 {
                path: Some(bad.clone()),
                line: 2
            }
        );
        assert!(err.to_string().contains("bad.env: line 2"), "{err}");

        let syntax = dir.path().join("syntax.env");
        std::fs::write(&syntax, "A=1\nB='x\n").unwrap();
        let err = read(&syntax).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: line 2 (B): ", syntax.display()))
        );

        let good = dir.path().join("good.env");
        std::fs::write(&good, "A=1\r\nB=2\r\n").unwrap();
        assert_eq!(read(&good).unwrap(), pairs(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn read_refuses_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let huge = dir.path().join("huge.env");
        std::fs::write(&huge, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(read(&huge), Err(EnvFileError::TooLarge { .. })));
        let at_cap = dir.path().join("cap.env");
        std::fs::write(&at_cap, vec![b'#'; MAX_FILE_BYTES as usize]).unwrap();
        assert_eq!(read(&at_cap).unwrap(), vec![]);
    }

    #[test]
    fn read_never_waits_on_a_fifo_or_reads_a_device() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("station.env");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read(&fifo).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "env file {} is a FIFO (named pipe), not a regular file",
                fifo.display()
            )
        );
        assert!(matches!(
            read(Path::new("/dev/zero")),
            Err(EnvFileError::NotRegular {
                what: "a character device",
                ..
            })
        ));
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Bytes weighted towards the ones the parser treats specially.
    fn random_bytes(rng: &mut XorShift) -> Vec<u8> {
        const SPECIAL: &[u8] = b"=\"'\\\n\r#; \texport_AZaz09\0\xff\xc3\xa9";
        let len = rng.below(120) as usize;
        (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    rng.next() as u8
                } else {
                    SPECIAL[rng.below(SPECIAL.len() as u64) as usize]
                }
            })
            .collect()
    }

    #[test]
    fn random_input_never_panics_and_results_are_sane() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let bytes = random_bytes(&mut rng);
            let _ = decode(&bytes).and_then(parse);
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(parsed) = parse(&text) {
                for (key, value) in parsed {
                    assert!(is_valid_name(&key), "{key:?} from {text:?}");
                    assert!(!value.contains('\0'));
                }
            }
        }
    }

    #[test]
    fn double_quoted_values_round_trip() {
        let mut rng = XorShift(42);
        for _ in 0..5_000 {
            let value: String = String::from_utf8_lossy(&random_bytes(&mut rng))
                .chars()
                .filter(|&c| c != '\0' && c != '\n' && c != '\r')
                .collect();
            let mut quoted = String::from("\"");
            for c in value.chars() {
                if matches!(c, '"' | '\\' | '`' | '$') {
                    quoted.push('\\');
                }
                quoted.push(c);
            }
            quoted.push('"');
            let parsed = parse(&format!("K={quoted}\n")).unwrap();
            assert_eq!(parsed, pairs(&[("K", &value)]), "{quoted:?}");
        }
    }
}
