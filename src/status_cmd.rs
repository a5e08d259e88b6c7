//! `ocpp-station status`: the running station's status file as a table for a person, or as one
//! line of JSON for a program, with an exit code a script can branch on.

#![allow(
    clippy::disallowed_methods,
    reason = "a command-line front end: it reads the clock once to say how long ago things were"
)]

use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clock;
use crate::metrics::{DiskUse, Sample};
use crate::redact;
use crate::status_file::{self, LinkState, StationStatus, StatusFileError};

/// Exit code: the station runs and is connected to its CSMS.
pub const EXIT_ONLINE: i32 = 0;
/// Exit code: the station runs but is offline or still connecting.
pub const EXIT_NOT_ONLINE: i32 = 1;
/// Exit code: the station does not run (no status file, an unreadable one, or the process that
/// wrote it is gone). The same code as `systemctl status` for a stopped unit.
pub const EXIT_NOT_RUNNING: i32 = 3;

/// Values from the file are shown at most this long (a fault text could be anything).
const MAX_SHOWN_CHARS: usize = 200;
/// The longest "not running" message: a path and a reason.
const MAX_MESSAGE_CHARS: usize = 1000;

/// Reads the status file in `runtime_dir` and writes it to `out`: a table, or with `json` the
/// file's JSON on one line. When the station does not run, the reason goes to `out` as a
/// sentence (to stderr with `json`, so that stdout only ever holds a status). Returns the exit
/// code: [`EXIT_ONLINE`], [`EXIT_NOT_ONLINE`] or [`EXIT_NOT_RUNNING`].
pub fn run(runtime_dir: &Path, json: bool, out: &mut impl Write) -> i32 {
    run_with(
        runtime_dir,
        json,
        Utc::now(),
        &process_exists,
        out,
        &mut io::stderr(),
    )
}

/// [`run`] with the clock, the process check and stderr supplied.
fn run_with(
    runtime_dir: &Path,
    json: bool,
    now: DateTime<Utc>,
    process_exists: &dyn Fn(u32) -> bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> i32 {
    let mut not_running = |message: String| {
        // The message may quote the file (a path, a parse error): made printable, like every
        // value shown from it.
        let message = redact::printable(&message, MAX_MESSAGE_CHARS);
        // A closed pipe is not worth a panic or another message; the exit code still tells.
        let _ = if json {
            writeln!(err, "{message}")
        } else {
            writeln!(out, "{message}")
        };
        EXIT_NOT_RUNNING
    };
    let (status, value) = match status_file::read_with_json(runtime_dir) {
        Ok(read) => read,
        Err(error @ StatusFileError::NotRunning { .. }) => {
            return not_running(error.to_string());
        }
        Err(error) => {
            return not_running(format!("ocpp-station is not running: {error}"));
        }
    };
    if !process_exists(status.pid) {
        let message = format!(
            "ocpp-station is not running: {} was written by process {}, which no longer runs \
             (last update {})",
            runtime_dir.join(status_file::FILE_NAME).display(),
            status.pid,
            when(&status.updated_utc, now),
        );
        return not_running(message);
    }
    let shown = if json {
        // serde_json escapes C0 control characters in strings, not DEL and C1.
        format!("{}\n", redact::json_printable(&value.to_string()))
    } else {
        render(&status, now)
    };
    let _ = out.write_all(shown.as_bytes());
    match status.link.state {
        LinkState::Online => EXIT_ONLINE,
        LinkState::Offline | LinkState::Connecting => EXIT_NOT_ONLINE,
    }
}

/// Whether a process with this id exists (Linux: `/proc/<pid>`).
fn process_exists(pid: u32) -> bool {
    pid != 0 && Path::new("/proc").join(pid.to_string()).exists()
}

/// The status as a table for a person, as of `now`.
pub fn render(status: &StationStatus, now: DateTime<Utc>) -> String {
    let mut table = Table::default();
    table.row(
        "station",
        format!("{} (pid {})", text(&status.station_name), status.pid),
    );
    table.row("updated", when(&status.updated_utc, now));

    let link = &status.link;
    let mut line = match link.state {
        LinkState::Online => "online".to_owned(),
        LinkState::Offline => "offline".to_owned(),
        LinkState::Connecting => "connecting".to_owned(),
    };
    if let Some(version) = &link.ocpp_version {
        line.push_str(&format!(", OCPP {}", text(version)));
    }
    if let Some(since) = &link.since_utc {
        line.push_str(&format!(", since {}", when(since, now)));
    }
    table.row("link", line);
    if let Some(endpoint) = &link.endpoint {
        table.row("endpoint", text(endpoint));
    }
    table.row(
        "registration",
        status
            .registration
            .as_deref()
            .map_or_else(|| "no answer yet".to_owned(), text),
    );
    table.row(
        "last heartbeat",
        status
            .last_heartbeat_utc
            .as_deref()
            .map_or_else(|| "none yet".to_owned(), |t| when(t, now)),
    );
    table.row("missed heartbeats", status.missed_heartbeats.to_string());
    for connector in &status.connectors {
        let mut line = text(&connector.status);
        if let Some(cause) = &connector.cause {
            line.push_str(&format!(": {}", text(cause)));
        }
        table.row(&format!("connector {}", connector.connector), line);
    }
    table.row(
        "charge controller",
        status
            .controller
            .as_ref()
            .map_or_else(|| "none configured".to_owned(), controller),
    );

    let h = status.health;
    let mut flags = Vec::new();
    if h.too_hot {
        flags.push("TOO HOT");
    }
    if h.under_voltage {
        flags.push("UNDER-VOLTAGE");
    }
    if h.disk_nearly_full {
        flags.push("DISK NEARLY FULL");
    }
    table.row(
        "health",
        if flags.is_empty() {
            "ok".to_owned()
        } else {
            flags.join(", ")
        },
    );
    match &status.metrics {
        Some(sample) => metrics(&mut table, sample),
        None => table.row("metrics", "not measured yet".to_owned()),
    }
    table.text
}

/// The rows of a [`Sample`].
fn metrics(table: &mut Table, s: &Sample) {
    table.row(
        "SoC temperature",
        s.soc_temp_c.map_or_else(
            || "not measured (no thermal zone)".to_owned(),
            |c| format!("{c:.1} °C"),
        ),
    );
    let [one, five, fifteen] = s.load_average;
    table.row(
        "CPU",
        format!(
            "{:.1} %, load {one:.2} {five:.2} {fifteen:.2}",
            s.cpu_percent
        ),
    );
    let memory_percent = if s.memory_total_bytes == 0 {
        0.0
    } else {
        s.memory_used_bytes as f64 * 100.0 / s.memory_total_bytes as f64
    };
    table.row(
        "memory",
        format!(
            "{} of {} ({memory_percent:.1} %)",
            bytes(s.memory_used_bytes),
            bytes(s.memory_total_bytes)
        ),
    );
    let disk = |d: Option<DiskUse>| {
        d.map_or_else(
            || "not measured".to_owned(),
            |d| format!("{:.1} % of {}", d.percent, bytes(d.total_bytes)),
        )
    };
    table.row("disk /", disk(s.disk_root));
    table.row("disk (state)", disk(s.disk_state));
    table.row(
        "under-voltage",
        match s.throttled {
            None => "not measured (not a Raspberry Pi)".to_owned(),
            Some(t) if t.under_voltage => "YES, now".to_owned(),
            Some(t) if t.under_voltage_occurred => "no (but it occurred since boot)".to_owned(),
            Some(_) => "no".to_owned(),
        },
    );
    if let Some(t) = s.throttled {
        let now: Vec<&str> = [
            (t.frequency_capped, "frequency capped"),
            (t.throttled, "throttled"),
            (t.soft_temp_limit, "soft temperature limit"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if !now.is_empty() {
            table.row("CPU limits", format!("{} now", now.join(", ")));
        }
    }
    table.row(
        "uptime",
        duration(i64::try_from(s.uptime_seconds).unwrap_or(i64::MAX)),
    );
    if let Some(rss) = s.process_rss_bytes {
        table.row("station memory", bytes(rss));
    }
}

/// The controller snapshot in one line: link, state, fault, device. It is whatever JSON the
/// station wrote, so every field is optional here.
fn controller(snapshot: &Value) -> String {
    let field = |name: &str| snapshot.get(name).and_then(Value::as_str).map(text);
    let mut parts = vec![match snapshot.get("link_up").and_then(Value::as_bool) {
        Some(true) => "link up".to_owned(),
        Some(false) => "LINK DOWN".to_owned(),
        None => "link unknown".to_owned(),
    }];
    match (
        field("state_name"),
        snapshot.get("state").and_then(Value::as_u64),
    ) {
        (Some(name), Some(n)) => parts.push(format!("{name} (state {n})")),
        (Some(name), None) => parts.push(name),
        (None, Some(n)) => parts.push(format!("state {n}")),
        (None, None) => {}
    }
    parts.push(match field("fault") {
        Some(fault) => format!("fault: {fault}"),
        None => "no fault".to_owned(),
    });
    if let Some(device) = field("device").or_else(|| field("port")) {
        parts.push(device);
    }
    parts.join(", ")
}

/// Two aligned columns.
#[derive(Default)]
struct Table {
    text: String,
}

impl Table {
    fn row(&mut self, name: &str, value: String) {
        self.text.push_str(&format!("{name:<19} {value}\n"));
    }
}

/// A value from the file, safe for a terminal.
fn text(value: &str) -> String {
    redact::printable(value, MAX_SHOWN_CHARS)
}

/// A timestamp from the file with how long ago it was; as written when it is not one.
fn when(timestamp: &str, now: DateTime<Utc>) -> String {
    let shown = text(timestamp);
    match clock::parse_timestamp(timestamp) {
        Some(t) if t <= now => format!(
            "{shown} ({} ago)",
            duration(now.signed_duration_since(t).num_seconds())
        ),
        Some(_) => format!("{shown} (in the future: check the clock)"),
        None => shown,
    }
}

/// Whole seconds as the two largest units: `42 s`, `3 min 5 s`, `2 h 0 min`, `4 d 1 h`.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Bytes in binary units with one decimal: `412.0 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::metrics::{Health, Throttled};
    use crate::status_file::fixtures::{offline, online};
    use crate::status_file::{LinkState, write};
    use std::fs;

    const RUNNING: u32 = 4242;

    fn now() -> DateTime<Utc> {
        clock::parse_timestamp("2026-03-01T12:00:05Z").unwrap()
    }

    fn alive(pid: u32) -> bool {
        pid == RUNNING
    }

    /// Runs the command on `dir`; returns (exit code, stdout, stderr).
    fn status(dir: &Path, json: bool) -> (i32, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = run_with(dir, json, now(), &alive, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn written(status: &StationStatus) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), status).unwrap();
        dir
    }

    #[test]
    fn online_is_exit_0_with_a_table() {
        let dir = written(&online(RUNNING));
        let (code, out, err) = status(dir.path(), false);
        assert_eq!(code, EXIT_ONLINE);
        assert_eq!(err, "");
        let expected = "\
station             ORGE_AC_001 (pid 4242)
updated             2026-03-01T12:00:00.000Z (5 s ago)
link                online, OCPP 2.0.1, since 2026-03-01T09:59:30.000Z (2 h 0 min ago)
endpoint            wss://csms.example.com/ocpp/ORGE_AC_001
registration        Accepted
last heartbeat      2026-03-01T11:58:00.000Z (2 min 5 s ago)
missed heartbeats   0
connector 1         Charging
connector 2         Faulted: charge controller link lost
charge controller   link up, CHARGING (state 5), no fault, /dev/ttyUSB0
health              ok
SoC temperature     52.5 °C
CPU                 7.5 %, load 0.42 0.30 0.25
memory              412.0 MiB of 3.7 GiB (10.9 %)
disk /              41.4 % of 29.0 GiB
disk (state)        41.4 % of 29.0 GiB
under-voltage       no (but it occurred since boot)
uptime              1 d 2 h
station memory      9.0 MiB
";
        assert_eq!(out, expected);
    }

    #[test]
    fn offline_and_connecting_are_exit_1() {
        let dir = written(&offline(RUNNING));
        let (code, out, _) = status(dir.path(), false);
        assert_eq!(code, EXIT_NOT_ONLINE);
        assert!(out.contains("link                offline\n"), "{out}");
        assert!(out.contains("registration        no answer yet\n"), "{out}");
        assert!(out.contains("last heartbeat      none yet\n"), "{out}");
        assert!(
            out.contains("charge controller   none configured\n"),
            "{out}"
        );
        assert!(
            out.contains("metrics             not measured yet\n"),
            "{out}"
        );
        assert!(!out.contains("endpoint"), "{out}");

        let mut connecting = online(RUNNING);
        connecting.link.state = LinkState::Connecting;
        let dir = written(&connecting);
        let (code, out, _) = status(dir.path(), false);
        assert_eq!(code, EXIT_NOT_ONLINE);
        assert!(
            out.contains("link                connecting, OCPP 2.0.1"),
            "{out}"
        );
    }

    #[test]
    fn json_is_the_file_on_one_line_with_the_same_exit_codes() {
        for (state, code) in [
            (LinkState::Online, EXIT_ONLINE),
            (LinkState::Offline, EXIT_NOT_ONLINE),
            (LinkState::Connecting, EXIT_NOT_ONLINE),
        ] {
            let mut s = online(RUNNING);
            s.link.state = state;
            let dir = written(&s);
            let (exit, out, err) = status(dir.path(), true);
            assert_eq!(exit, code);
            assert_eq!(err, "");
            assert_eq!(out.matches('\n').count(), 1, "{out}");
            assert!(out.ends_with('\n'));
            let parsed: StationStatus = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, s);
        }
    }

    #[test]
    fn a_missing_file_is_exit_3() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = status(dir.path(), false);
        assert_eq!(code, EXIT_NOT_RUNNING);
        assert!(out.starts_with("ocpp-station is not running"), "{out}");
        assert_eq!(err, "");
        // With --json, stdout stays empty: a program never mistakes the message for a status.
        let (code, out, err) = status(dir.path(), true);
        assert_eq!(code, EXIT_NOT_RUNNING);
        assert_eq!(out, "");
        assert!(err.starts_with("ocpp-station is not running"), "{err}");
    }

    #[test]
    fn a_stale_file_from_a_dead_process_is_exit_3() {
        let dir = written(&online(RUNNING + 1));
        for json in [false, true] {
            let (code, out, err) = status(dir.path(), json);
            assert_eq!(code, EXIT_NOT_RUNNING);
            let message = if json { err } else { out };
            assert!(
                message.contains("written by process 4243, which no longer runs"),
                "{message}"
            );
            assert!(message.contains("(5 s ago)"), "{message}");
        }
    }

    #[test]
    fn an_unreadable_or_corrupt_file_is_exit_3() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(status_file::FILE_NAME);
        fs::write(&path, "{\"format\": 1, \"pid\": ").unwrap();
        let (code, out, _) = status(dir.path(), false);
        assert_eq!(code, EXIT_NOT_RUNNING);
        assert!(out.contains("is not usable"), "{out}");
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        let (code, out, _) = status(dir.path(), false);
        assert_eq!(code, EXIT_NOT_RUNNING);
        assert!(out.contains("cannot read the status file"), "{out}");
    }

    #[test]
    fn the_real_process_check() {
        assert!(process_exists(std::process::id()));
        assert!(!process_exists(0));
        // Above the kernel's pid_max (at most 2^22), so never a process.
        assert!(!process_exists(u32::MAX));
        let dir = written(&online(std::process::id()));
        let mut out = Vec::new();
        assert_eq!(run(dir.path(), false, &mut out), EXIT_ONLINE);
        assert!(String::from_utf8(out).unwrap().contains("ORGE_AC_001"));
    }

    #[test]
    fn health_flags_and_power_problems_stand_out() {
        let mut s = online(RUNNING);
        s.health = Health {
            too_hot: true,
            under_voltage: true,
            disk_nearly_full: true,
        };
        let sample = s.metrics.as_mut().unwrap();
        sample.throttled = Some(Throttled::from_raw(0x5000f));
        sample.soc_temp_c = None;
        sample.disk_state = None;
        sample.process_rss_bytes = None;
        let out = render(&s, now());
        assert!(
            out.contains("health              TOO HOT, UNDER-VOLTAGE, DISK NEARLY FULL\n"),
            "{out}"
        );
        assert!(out.contains("under-voltage       YES, now\n"), "{out}");
        assert!(
            out.contains(
                "CPU limits          frequency capped, throttled, soft temperature limit now\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("SoC temperature     not measured (no thermal zone)\n"),
            "{out}"
        );
        assert!(out.contains("disk (state)        not measured\n"), "{out}");
        assert!(!out.contains("station memory"), "{out}");

        s.metrics.as_mut().unwrap().throttled = None;
        let out = render(&s, now());
        assert!(
            out.contains("under-voltage       not measured (not a Raspberry Pi)\n"),
            "{out}"
        );
        assert!(!out.contains("CPU limits"), "{out}");
    }

    #[test]
    fn the_controller_line_copes_with_any_json() {
        for (snapshot, expected) in [
            (
                serde_json::json!({"link_up": false, "port": "auto", "fault": "no status frame for 20 s"}),
                "LINK DOWN, fault: no status frame for 20 s, auto",
            ),
            (
                serde_json::json!({"state": 2}),
                "link unknown, state 2, no fault",
            ),
            (
                serde_json::json!({"link_up": true, "state_name": "IDLE"}),
                "link up, IDLE, no fault",
            ),
            (serde_json::json!([1, 2]), "link unknown, no fault"),
            (serde_json::json!("text"), "link unknown, no fault"),
        ] {
            assert_eq!(controller(&snapshot), expected, "{snapshot}");
        }
    }

    #[test]
    fn values_from_the_file_cannot_drive_the_terminal() {
        let mut s = online(RUNNING);
        s.connectors[1].cause = Some("bad\u{1b}[2Jthing".into());
        s.station_name = "X\u{7}".into();
        let out = render(&s, now());
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.contains("Faulted: bad\\u{1b}[2Jthing"), "{out}");
    }

    /// ESC, BEL, a C1 CSI, DEL, line feed and carriage return.
    const CONTROLS: &str = "\u{1b}[2J\u{7}\u{9b}31m\u{7f}\n\r";

    fn assert_printable(text: &str) {
        // Only the line ends of the output's own lines.
        for line in text.lines() {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }

    #[test]
    fn no_string_field_of_the_file_reaches_the_terminal_raw() {
        let mut s = online(RUNNING);
        s.station_name = format!("ST{CONTROLS}");
        s.updated_utc = CONTROLS.into();
        s.link.ocpp_version = Some(CONTROLS.into());
        s.link.endpoint = Some(format!("wss://x/{CONTROLS}"));
        s.link.since_utc = Some(CONTROLS.into());
        s.registration = Some(CONTROLS.into());
        s.last_heartbeat_utc = Some(CONTROLS.into());
        for connector in &mut s.connectors {
            connector.status = CONTROLS.into();
            connector.cause = Some(CONTROLS.into());
        }
        s.controller = Some(serde_json::json!({
            "link_up": true, "state_name": CONTROLS, "fault": CONTROLS,
            "device": CONTROLS, "port": CONTROLS
        }));
        let dir = written(&s);
        for json in [false, true] {
            let (code, out, err) = status(dir.path(), json);
            assert_eq!(code, EXIT_ONLINE, "{out}{err}");
            assert_printable(&out);
            assert_printable(&err);
            if json {
                let parsed: StationStatus = serde_json::from_str(&out).unwrap();
                assert_eq!(parsed.registration.as_deref(), Some(CONTROLS));
            }
        }
    }

    #[test]
    fn a_parse_error_quoting_the_file_reaches_the_terminal_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(status_file::FILE_NAME);
        let mut value = serde_json::to_value(online(RUNNING)).unwrap();
        value["link"]["state"] = Value::String(CONTROLS.into());
        fs::write(&path, value.to_string()).unwrap();
        for json in [false, true] {
            let (code, out, err) = status(dir.path(), json);
            assert_eq!(code, EXIT_NOT_RUNNING);
            assert!(
                format!("{out}{err}").contains("unknown variant"),
                "{out}{err}"
            );
            assert_printable(&out);
            assert_printable(&err);
        }
        // Invalid UTF-8 where a string should be, and a control byte outside any string.
        for bytes in [
            &b"{\"format\": 1, \"station_name\": \"\xff\x1b[2J\"}"[..],
            b"{\"format\": 1,\x1b[2J\x07 }",
            b"\x9b\x1b]0;title\x07",
        ] {
            fs::write(&path, bytes).unwrap();
            let (code, out, _) = status(dir.path(), false);
            assert_eq!(code, EXIT_NOT_RUNNING);
            assert!(out.contains("is not usable"), "{out}");
            assert_printable(&out);
        }
    }

    #[test]
    fn odd_timestamps_are_shown_as_written() {
        assert_eq!(when("yesterday", now()), "yesterday");
        assert_eq!(
            when("2026-03-01T12:10:00Z", now()),
            "2026-03-01T12:10:00Z (in the future: check the clock)"
        );
        assert_eq!(
            when("2026-03-01T12:00:05.000Z", now()),
            "2026-03-01T12:00:05.000Z (0 s ago)"
        );
    }

    #[test]
    fn durations_and_sizes() {
        for (seconds, expected) in [
            (-5, "0 s"),
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min 0 s"),
            (3599, "59 min 59 s"),
            (3600, "1 h 0 min"),
            (86_399, "23 h 59 min"),
            (86_400, "1 d 0 h"),
            (i64::MAX, "106751991167300 d 15 h"),
        ] {
            assert_eq!(duration(seconds), expected, "{seconds}");
        }
        for (n, expected) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536 << 10, "1.5 MiB"),
            (3 << 30, "3.0 GiB"),
            (5 << 40, "5.0 TiB"),
            (5 << 50, "5120.0 TiB"),
            (u64::MAX, "16777216.0 TiB"),
        ] {
            assert_eq!(bytes(n), expected, "{n}");
        }
    }
}
