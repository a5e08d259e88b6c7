//! Logging: one line per event on stderr (stdout belongs to `--once`'s JSON line), with the level
//! and the structured fields of the event and of the `station` span.
//!
//! Two variables, read before the configuration so that configuration errors are logged the same
//! way: `OCPP_LOG` (a `tracing-subscriber` env-filter such as `info` or `ocpp_station=debug`,
//! default `info`) and `OCPP_LOG_FORMAT` (`text`, the default, or `json`). A bad value of either is
//! reported as a warning and replaced by the default: logging must never keep a station from
//! starting.
//!
//! When stderr is a journald stream (systemd sets `JOURNAL_STREAM` to the stream's device and
//! inode), each line starts with a `<N>` syslog priority so that `journalctl -p warning` works,
//! and text lines carry no timestamp, since journald adds its own. Colours only on a terminal.
//!
//! Two rules hold whatever `OCPP_LOG` says. Other crates' TRACE events are never shown: the
//! WebSocket library traces every frame's contents and hex dump, a new password from the CSMS
//! included (the station's own frame trace withholds such frames, see `rpc::loggable`). And no
//! line carries a control character from a field's value (the `printable` module).

mod printable;

use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{self, FilterExt, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{self, FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::util::SubscriberInitExt;

use self::printable::{JsonControlEscaper, PrintableFields};
use crate::envfile;
use crate::redact;

/// The log filter variable.
pub const LOG: &str = "OCPP_LOG";
/// The log line format variable.
pub const LOG_FORMAT: &str = "OCPP_LOG_FORMAT";
/// Every variable this module reads. They sit beside the station's own (`config::VARIABLES`) in
/// `env.example` and `docs/configuration.md`.
pub const VARIABLES: &[&str] = &[LOG, LOG_FORMAT];

/// The filter used when `OCPP_LOG` is unset, empty or invalid.
pub const DEFAULT_FILTER: &str = "info";

/// What journald puts in `JOURNAL_STREAM` for a service whose stderr it collects.
const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// The shape of a log line (`OCPP_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable: `LEVEL span{fields}: target: message key=value ...`.
    Text,
    /// One JSON object per line, event fields at the top level, for log shippers.
    Json,
}

/// The logging set-up derived from the two variables, with what was wrong with them.
#[derive(Debug)]
pub struct Settings {
    /// The event filter.
    pub filter: EnvFilter,
    /// The line format.
    pub format: Format,
    /// One sentence per rejected value; logged as warnings once logging runs.
    pub warnings: Vec<String>,
}

impl Settings {
    /// Settings from the variables' values (`None` = not set). Never fails: a bad value becomes
    /// the default plus a warning.
    pub fn from_values(log: Option<&str>, format: Option<&str>) -> Settings {
        let mut warnings = Vec::new();
        let filter = match log.map(str::trim).filter(|v| !v.is_empty()) {
            None => default_filter(),
            Some(value) => match parse_filter(value) {
                Ok(filter) => filter,
                Err(error) => {
                    warnings.push(format!(
                        "{LOG}='{}' is not a valid log filter ({error}); using '{DEFAULT_FILTER}'",
                        redact::printable(value, 80)
                    ));
                    default_filter()
                }
            },
        };
        let format = match format.map(str::trim).filter(|v| !v.is_empty()) {
            None => Format::Text,
            Some(value) if value.eq_ignore_ascii_case("text") => Format::Text,
            Some(value) if value.eq_ignore_ascii_case("json") => Format::Json,
            Some(value) => {
                warnings.push(format!(
                    "{LOG_FORMAT}='{}' is not valid: expected text or json; using text",
                    redact::printable(value, 80)
                ));
                Format::Text
            }
        };
        Settings {
            filter,
            format,
            warnings,
        }
    }
}

/// An env-filter, minus one trap: a bare word that is not a level (`warning`, `verbose`) is valid
/// syntax for "every event of that target", which silently turns off all the station's logs.
/// Such a word is refused; a target is given with its level (`ocpp_station=debug`).
fn parse_filter(value: &str) -> Result<EnvFilter, String> {
    for directive in value.split(',').map(str::trim) {
        let bare = !directive.is_empty() && !directive.contains(['=', '[']);
        if bare && directive.parse::<LevelFilter>().is_err() {
            return Err(format!(
                "'{}' is not a level (off, error, warn, info, debug, trace); a target needs one, \
                 as in {}=debug",
                redact::printable(directive, 40),
                redact::printable(directive, 40)
            ));
        }
    }
    EnvFilter::builder()
        .parse(value)
        .map_err(|error| error.to_string())
}

fn default_filter() -> EnvFilter {
    EnvFilter::new(DEFAULT_FILTER)
}

/// The values of [`VARIABLES`] from `process_env`, overridden by the env file when it mentions
/// them (as in the configuration, the env file wins and an empty value there means "not set").
/// An unreadable env file is ignored here: the configuration loader reports it.
fn values(
    process_env: impl Fn(&str) -> Option<String>,
    env_file: Option<&Path>,
) -> [Option<String>; 2] {
    let mut values = [process_env(LOG), process_env(LOG_FORMAT)];
    if let Some(pairs) = env_file.and_then(|path| envfile::read(path).ok()) {
        for (name, value) in pairs {
            let slot = VARIABLES.iter().position(|v| *v == name);
            if let Some(slot) = slot.and_then(|i| values.get_mut(i)) {
                *slot = Some(value);
            }
        }
    }
    values
}

/// `JOURNAL_STREAM`'s `<device>:<inode>`.
fn parse_journal_stream(value: &str) -> Option<(u64, u64)> {
    let (device, inode) = value.trim().split_once(':')?;
    Some((device.parse().ok()?, inode.parse().ok()?))
}

/// Whether stderr is the journald stream systemd announced. `JOURNAL_STREAM` alone is not
/// enough: a child of a service inherits it even when its stderr goes elsewhere (a technician's
/// pipe), so the stream's device and inode must match stderr's.
fn stderr_is_journal(journal_stream: Option<&str>) -> bool {
    let Some(expected) = journal_stream.and_then(parse_journal_stream) else {
        return false;
    };
    let stderr = std::io::stderr();
    let Ok(fd) = stderr.as_fd().try_clone_to_owned() else {
        return false;
    };
    match File::from(fd).metadata() {
        Ok(meta) => (meta.dev(), meta.ino()) == expected,
        Err(_) => false,
    }
}

/// The syslog priority journald reads from a `<N>` line prefix.
fn syslog_priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Prefixes each line with its `<N>` priority; journald strips the prefix and files the line
/// under that priority instead of the unit's default.
struct JournalPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", syslog_priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// Whether an event or span may be shown at all, before `OCPP_LOG` decides: the station's own
/// always, other crates' up to DEBUG. tungstenite traces each frame it reads or writes, with its
/// payload in clear and as a hex dump, and the frame may be the CSMS setting a new password; no
/// other crate's trace is worth that risk on a station either.
fn within_third_party_cap(metadata: &Metadata<'_>) -> bool {
    is_station_target(metadata.target()) || *metadata.level() <= Level::DEBUG
}

/// The station's own targets: the library and the binary are both `ocpp_station`.
fn is_station_target(target: &str) -> bool {
    target
        .strip_prefix("ocpp_station")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The layer writing to `writer` in a format, journald or not, colours or not. Every field is
/// escaped: [`PrintableFields`] for text, [`JsonControlEscaper`] on top of JSON's own escaping.
fn output_layer<W>(
    format: Format,
    journal: bool,
    ansi: bool,
    writer: W,
) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    match (format, journal) {
        (Format::Json, false) => fmt::layer()
            .with_writer(JsonControlEscaper(writer))
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        (Format::Json, true) => {
            let json = fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false);
            fmt::layer()
                .with_writer(JsonControlEscaper(writer))
                .json()
                .event_format(JournalPriority(json))
                .boxed()
        }
        (Format::Text, false) => fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .fmt_fields(PrintableFields)
            .boxed(),
        (Format::Text, true) => {
            let format = fmt::format().without_time().with_ansi(false);
            fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .fmt_fields(PrintableFields)
                .event_format(JournalPriority(format))
                .boxed()
        }
    }
}

/// The output layer filtered by `OCPP_LOG` and, whatever that says, by the third-party cap.
fn filtered_layer<W>(
    settings: Settings,
    journal: bool,
    ansi: bool,
    writer: W,
) -> impl Layer<Registry> + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = settings
        .filter
        .and(filter::filter_fn(within_third_party_cap));
    output_layer(settings.format, journal, ansi, writer).with_filter(filter)
}

/// Installs the global logger from `OCPP_LOG` / `OCPP_LOG_FORMAT` (process environment, then
/// `env_file` when given) and logs any rejected value as a warning. Calling it twice keeps the
/// first logger.
pub fn init(env_file: Option<&Path>) {
    let [log, format] = values(
        |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
        env_file,
    );
    let settings = Settings::from_values(log.as_deref(), format.as_deref());
    let journal_stream = std::env::var_os(JOURNAL_STREAM).map(|v| v.to_string_lossy().into_owned());
    let journal = stderr_is_journal(journal_stream.as_deref());
    let ansi = !journal && std::io::stderr().is_terminal();
    let warnings = settings.warnings.clone();
    let layer = filtered_layer(settings, journal, ansi, std::io::stderr);
    if tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .is_err()
    {
        return;
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a panic is a test failure with a message"
    )]

    use super::*;

    fn filter_of(log: Option<&str>) -> (String, Vec<String>) {
        let settings = Settings::from_values(log, None);
        (settings.filter.to_string(), settings.warnings)
    }

    #[test]
    fn the_filter_defaults_to_info() {
        for unset in [None, Some(""), Some("   ")] {
            assert_eq!(filter_of(unset), ("info".to_owned(), vec![]), "{unset:?}");
        }
    }

    #[test]
    fn env_filter_directives_are_accepted() {
        for good in [
            "debug",
            "warn",
            "ocpp_station=trace",
            "off",
            "ocpp_station[station]=debug",
        ] {
            let (filter, warnings) = filter_of(Some(good));
            assert!(warnings.is_empty(), "{good}: {warnings:?}");
            assert_eq!(filter, good);
        }
        // Levels in any case, several directives, a trailing comma.
        for good in [
            "INFO",
            "Debug",
            "3",
            "info,ocpp_station::session=debug,tungstenite=warn,",
        ] {
            let (filter, warnings) = filter_of(Some(good));
            assert!(warnings.is_empty(), "{good}: {warnings:?}");
            assert_ne!(filter, "", "{good}");
        }
        // Surrounding whitespace (an env file written by hand) is not part of the filter.
        assert_eq!(filter_of(Some(" debug ")).0, "debug");
    }

    #[test]
    fn a_bad_filter_is_a_warning_and_info() {
        for bad in [
            "ocpp_station=loud",
            "info,[unclosed",
            "a=b=c",
            "=debug",
            // Valid env-filter syntax for "target warning, every level": all else silenced.
            "warning",
            "verbose",
            "info,ocpp_station",
        ] {
            let (filter, warnings) = filter_of(Some(bad));
            assert_eq!(filter, "info", "{bad}");
            assert_eq!(warnings.len(), 1, "{bad}: {warnings:?}");
            assert!(warnings[0].starts_with("OCPP_LOG="), "{}", warnings[0]);
            assert!(warnings[0].contains("using 'info'"), "{}", warnings[0]);
        }
    }

    #[test]
    fn a_warning_never_carries_control_characters() {
        let (_, warnings) = filter_of(Some("x=\u{1b}[31mloud"));
        assert!(!warnings[0].contains('\u{1b}'), "{}", warnings[0]);
    }

    #[test]
    fn the_format_is_text_or_json() {
        let format = |value| Settings::from_values(None, value).format;
        assert_eq!(format(None), Format::Text);
        assert_eq!(format(Some("")), Format::Text);
        assert_eq!(format(Some("text")), Format::Text);
        assert_eq!(format(Some("json")), Format::Json);
        assert_eq!(format(Some(" JSON ")), Format::Json);
        assert!(
            Settings::from_values(None, Some("json"))
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn an_unknown_format_is_a_warning_and_text() {
        for bad in ["logfmt", "yaml", "jsonl"] {
            let settings = Settings::from_values(None, Some(bad));
            assert_eq!(settings.format, Format::Text, "{bad}");
            assert_eq!(settings.warnings.len(), 1, "{bad}");
            assert!(
                settings.warnings[0].starts_with("OCPP_LOG_FORMAT="),
                "{}",
                settings.warnings[0]
            );
        }
    }

    #[test]
    fn both_bad_values_give_two_warnings() {
        let settings = Settings::from_values(Some("loud"), Some("xml"));
        assert_eq!(settings.warnings.len(), 2, "{:?}", settings.warnings);
    }

    #[test]
    fn the_env_file_overrides_the_process_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("station.env");
        std::fs::write(&path, "OCPP_LOG=debug\nOCPP_STATION_NAME=X\n").unwrap();
        let process = |name: &str| match name {
            "OCPP_LOG" => Some("warn".to_owned()),
            "OCPP_LOG_FORMAT" => Some("json".to_owned()),
            _ => None,
        };
        assert_eq!(
            values(process, Some(&path)),
            [Some("debug".to_owned()), Some("json".to_owned())]
        );
        assert_eq!(
            values(process, None),
            [Some("warn".to_owned()), Some("json".to_owned())]
        );
        // Unreadable: the process environment still counts; the loader reports the file.
        assert_eq!(
            values(process, Some(&dir.path().join("missing.env"))),
            [Some("warn".to_owned()), Some("json".to_owned())]
        );
        // An empty value in the file means "not set", i.e. the default.
        std::fs::write(&path, "OCPP_LOG=\n").unwrap();
        let [log, _] = values(process, Some(&path));
        assert_eq!(filter_of(log.as_deref()).0, "info");
    }

    #[test]
    fn journal_stream_is_device_colon_inode() {
        assert_eq!(parse_journal_stream("8:12345"), Some((8, 12345)));
        assert_eq!(parse_journal_stream(" 8:12345\n"), Some((8, 12345)));
        for bad in ["", "8", "8:", ":1", "a:b", "8:12345:1", "-1:2"] {
            assert_eq!(parse_journal_stream(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_journal_stream_that_is_not_stderr_is_ignored() {
        // No device has inode 0, so this can never be stderr.
        assert!(!stderr_is_journal(Some("0:0")));
        assert!(!stderr_is_journal(Some("garbage")));
        assert!(!stderr_is_journal(None));
    }

    /// Log output collected in memory.
    #[derive(Clone, Default)]
    struct Collected(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Collected {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Collected {
        type Writer = Collected;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Collected {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// What `emit` logs with `OCPP_LOG=log` in `format` (not journald, no colours).
    fn logged(log: &str, format: Format, emit: impl FnOnce()) -> String {
        logged_to(log, format, false, emit)
    }

    /// [`logged`], for journald (`<N>` priorities, no timestamps) or not.
    fn logged_to(log: &str, format: Format, journal: bool, emit: impl FnOnce()) -> String {
        let out = Collected::default();
        let settings = Settings::from_values(Some(log), None);
        assert!(
            settings.warnings.is_empty(),
            "{log}: {:?}",
            settings.warnings
        );
        let settings = Settings { format, ..settings };
        let subscriber = tracing_subscriber::registry().with(filtered_layer(
            settings,
            journal,
            false,
            out.clone(),
        ));
        tracing::subscriber::with_default(subscriber, emit);
        out.text()
    }

    #[test]
    fn other_crates_never_trace_whatever_ocpp_log_says() {
        for log in [
            "trace",
            "tungstenite=trace",
            "tungstenite::protocol=trace",
            "info,tungstenite::protocol::frame=trace,rustls=trace",
        ] {
            for format in [Format::Text, Format::Json] {
                let out = logged(log, format, || {
                    tracing::trace!(target: "tungstenite::protocol", "Received message frame-contents");
                    tracing::trace!(target: "tungstenite::protocol::frame", "received frame 0x6672616d65");
                    tracing::trace!(target: "rustls::client", "rustls-trace");
                    tracing::debug!(target: "tungstenite::protocol", "Received close frame");
                });
                assert!(!out.contains("frame-contents"), "{log}: {out}");
                assert!(!out.contains("0x6672616d65"), "{log}: {out}");
                assert!(!out.contains("rustls-trace"), "{log}: {out}");
                if !log.starts_with("info") {
                    assert!(out.contains("Received close frame"), "{log}: {out}");
                }
            }
        }
    }

    #[test]
    fn the_station_s_own_trace_follows_ocpp_log() {
        for (log, shown) in [
            ("trace", true),
            ("ocpp_station=trace", true),
            ("ocpp_station::session=trace", true),
            ("debug", false),
        ] {
            let out = logged(log, Format::Text, || {
                tracing::trace!(target: "ocpp_station::session", "own-trace");
            });
            assert_eq!(out.contains("own-trace"), shown, "{log}: {out}");
        }
        assert!(is_station_target("ocpp_station"));
        assert!(is_station_target("ocpp_station::link::dial"));
        assert!(!is_station_target("ocpp_stationary"));
        assert!(!is_station_target("tungstenite"));
    }

    /// ESC, BEL, CSI (C1), DEL, line feed, carriage return and NUL.
    const CONTROLS: &str = "\u{1b}[2J\u{7}\u{9b}31m\u{7f}\nforged line\r\u{0}";

    #[test]
    fn no_line_carries_a_control_character_from_a_field() {
        for (format, journal) in [
            (Format::Text, false),
            (Format::Json, false),
            (Format::Text, true),
            (Format::Json, true),
        ] {
            let out = logged_to("trace", format, journal, || {
                let span = tracing::info_span!("station", identity = %CONTROLS);
                let _entered = span.enter();
                tracing::warn!(reason = %CONTROLS, quoted = CONTROLS, debug = ?CONTROLS, "message {CONTROLS}");
                tracing::info!("{}", CONTROLS);
            });
            let lines: Vec<&str> = out.split_terminator('\n').collect();
            assert_eq!(lines.len(), 2, "{format:?}: {out:?}");
            for line in lines {
                assert!(!line.chars().any(char::is_control), "{format:?}: {line:?}");
                assert!(line.contains("forged line"), "{line}");
            }
            if format == Format::Json {
                for line in out.lines() {
                    // Under journald a `<N>` priority precedes the object.
                    let json = line.find('{').map_or(line, |at| &line[at..]);
                    let value: serde_json::Value = serde_json::from_str(json).unwrap();
                    assert!(value.is_object(), "{line}");
                }
            }
        }
    }

    #[test]
    fn text_fields_look_as_they_did() {
        let out = logged("info", Format::Text, || {
            tracing::info!(version = %"2.0.1", name = "a b", count = 3, "connected");
        });
        assert!(
            out.trim_end()
                .ends_with("connected version=2.0.1 name=\"a b\" count=3"),
            "{out}"
        );
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(syslog_priority(&Level::ERROR), 3);
        assert_eq!(syslog_priority(&Level::WARN), 4);
        assert_eq!(syslog_priority(&Level::INFO), 6);
        assert_eq!(syslog_priority(&Level::DEBUG), 7);
        assert_eq!(syslog_priority(&Level::TRACE), 7);
    }
}
