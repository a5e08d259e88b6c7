//! `--once` keeps its deadline whatever blocks: a watchdog thread prints the one JSON line and
//! ends the process when the run has not printed its own by then.
//!
//! The run bounds itself (`once::run` stops at `OCPP_ONCE_TIMEOUT_SECONDS`), but only while its
//! thread is free to notice the time. A read that hangs in the kernel (an env file on a stuck
//! network mount, a filesystem the machine sampler waits on) would hold that thread, and fleet
//! scripts would wait for ever for a line that never comes. So from the start of the process a
//! separate thread waits for the deadline plus [`GRACE`]: a run that reports itself in time
//! wins and is printed in full; otherwise the watchdog prints a report of its own (a
//! configuration error while the configuration was still being read, `connect_failed` after)
//! and exits with that report's code.

#![allow(
    clippy::disallowed_methods,
    reason = "the shell owns the monotonic clock; the deadline is measured from process start"
)]

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::once::OnceReport;
use crate::redact;

/// How long after the deadline the watchdog waits for the run's own report, which names the
/// attempts made and is therefore worth the wait.
pub const GRACE: Duration = Duration::from_secs(2);

/// The deadline when neither `--timeout` nor `OCPP_ONCE_TIMEOUT_SECONDS` says otherwise.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// The allowed range of the deadline (as `OCPP_ONCE_TIMEOUT_SECONDS` allows it).
const LIMIT_SECONDS: std::ops::RangeInclusive<u64> = 1..=600;

/// Where the run is, for the watchdog's report.
#[derive(Debug, Clone)]
enum Stage {
    /// Reading the env file and the rest of the configuration.
    Configuring { station_name: Option<String> },
    /// Configured: connecting, registering, reporting.
    Running { station_name: String },
}

#[derive(Debug)]
struct State {
    started: Instant,
    limit: Duration,
    stage: Stage,
    /// The one line has been printed (by the run or the watchdog).
    printed: bool,
}

impl State {
    fn deadline(&self) -> Instant {
        self.started
            .checked_add(self.limit.saturating_add(GRACE))
            .unwrap_or(self.started)
    }

    fn report(&self) -> OnceReport {
        match &self.stage {
            Stage::Configuring { station_name } => OnceReport::config_error(
                station_name.clone(),
                &format!(
                    "reading the configuration did not finish within {} s \
                     (OCPP_ONCE_TIMEOUT_SECONDS); is a file it names on a filesystem that \
                     does not answer?",
                    self.limit.as_secs()
                ),
            ),
            Stage::Running { station_name } => {
                OnceReport::deadline_passed(Some(station_name.clone()), self.limit)
            }
        }
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The watchdog of one `--once` run, and the only way to print its line.
#[derive(Debug, Clone)]
pub struct OnceDeadline {
    shared: Arc<Shared>,
}

impl OnceDeadline {
    /// Starts the watchdog for a run that started at `started` and may take `limit`.
    /// `station_name` is the identity known so far (from the command line or environment).
    pub fn start(started: Instant, limit: Duration, station_name: Option<String>) -> Self {
        let deadline = Self::new(started, limit, station_name);
        let shared = Arc::clone(&deadline.shared);
        let spawned = std::thread::Builder::new()
            .name("once-deadline".into())
            .spawn(move || watch(&shared, expire));
        if let Err(error) = spawned {
            // The run's own deadline still applies; only the net under it is missing.
            tracing::warn!("cannot start the --once deadline watchdog: {error}");
        }
        deadline
    }

    fn new(started: Instant, limit: Duration, station_name: Option<String>) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    started,
                    limit,
                    stage: Stage::Configuring { station_name },
                    printed: false,
                }),
                changed: Condvar::new(),
            }),
        }
    }

    /// The configuration is loaded: from now on the deadline is its `limit`
    /// (`OCPP_ONCE_TIMEOUT_SECONDS` from the env file too), still counted from the start.
    pub fn configured(&self, station_name: &str, limit: Duration) {
        let mut state = self.shared.lock();
        state.limit = limit;
        state.stage = Stage::Running {
            station_name: station_name.to_owned(),
        };
        self.shared.changed.notify_all();
    }

    /// Prints the run's report as the one line on stdout, unless the watchdog has printed its
    /// own (the process is then exiting). Returns whether this report was printed.
    pub fn print(&self, report: &OnceReport) -> bool {
        self.print_to(report, &mut std::io::stdout().lock())
    }

    fn print_to(&self, report: &OnceReport, out: &mut impl std::io::Write) -> bool {
        let mut state = self.shared.lock();
        if state.printed {
            return false;
        }
        write_line(report, out);
        state.printed = true;
        self.shared.changed.notify_all();
        true
    }
}

/// The deadline limit known before the configuration is read: `--timeout`, else the process
/// environment's `OCPP_ONCE_TIMEOUT_SECONDS`, else the default; out-of-range values are brought
/// into range (the configuration reports them properly, at once).
pub fn early_limit(cli_timeout: Option<u64>, env_value: Option<&str>) -> Duration {
    let seconds = cli_timeout
        .or_else(|| env_value.and_then(|v| v.trim().parse().ok()))
        .unwrap_or(DEFAULT_LIMIT.as_secs());
    Duration::from_secs(seconds.clamp(*LIMIT_SECONDS.start(), *LIMIT_SECONDS.end()))
}

fn write_line(report: &OnceReport, out: &mut impl std::io::Write) {
    // The report quotes the CSMS and the files; JSON escapes C0 controls but not DEL and C1.
    let line = redact::json_printable(&report.to_line()).into_owned();
    // A closed stdout cannot be reported anywhere (and println! would panic); the exit code
    // still tells.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The watchdog: waits for the deadline (which may move once the configuration is read) unless
/// the run prints first; at the deadline calls `expire`, with the lock held, so that the run
/// cannot print a line of its own any more.
fn watch(shared: &Shared, expire: impl FnOnce(&State)) {
    let mut state = shared.lock();
    loop {
        if state.printed {
            return;
        }
        let now = Instant::now();
        let deadline = state.deadline();
        if now >= deadline {
            expire(&state);
            state.printed = true;
            return;
        }
        state = shared
            .changed
            .wait_timeout(state, deadline.saturating_duration_since(now))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// What the watchdog does at the deadline: prints the stand-in report and ends the process with
/// its exit code (the lock still held, see [`watch`]).
fn expire(state: &State) {
    let report = state.report();
    tracing::error!(
        "--once did not finish within {} s: {}",
        state.limit.as_secs(),
        report.error.as_deref().unwrap_or_default()
    );
    write_line(&report, &mut std::io::stdout().lock());
    std::process::exit(report.exit_code);
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a panic is a test failure with a message"
    )]

    use super::*;
    use crate::once;

    #[test]
    fn the_early_limit_comes_from_the_flag_then_the_environment() {
        assert_eq!(early_limit(None, None), DEFAULT_LIMIT);
        assert_eq!(early_limit(Some(7), Some("9")), Duration::from_secs(7));
        assert_eq!(early_limit(None, Some(" 9 ")), Duration::from_secs(9));
        assert_eq!(early_limit(None, Some("soon")), DEFAULT_LIMIT);
        assert_eq!(early_limit(Some(0), None), Duration::from_secs(1));
        assert_eq!(early_limit(Some(u64::MAX), None), Duration::from_secs(600));
    }

    #[test]
    fn the_deadline_is_the_limit_plus_grace_from_the_start() {
        let started = Instant::now();
        let deadline = OnceDeadline::new(started, Duration::from_secs(5), None);
        assert_eq!(
            deadline.shared.lock().deadline(),
            started + Duration::from_secs(7)
        );
        deadline.configured("ST_1", Duration::from_secs(20));
        assert_eq!(
            deadline.shared.lock().deadline(),
            started + Duration::from_secs(22)
        );
    }

    #[test]
    fn the_stand_in_report_says_where_the_run_was() {
        let deadline = OnceDeadline::new(Instant::now(), Duration::from_secs(5), None);
        let report = deadline.shared.lock().report();
        assert_eq!(
            (report.result, report.exit_code),
            ("config_error", once::EXIT_CONFIG)
        );
        assert!(
            report.error.as_deref().unwrap().contains("within 5 s"),
            "{report:?}"
        );
        deadline.configured("ST_1", Duration::from_secs(9));
        let report = deadline.shared.lock().report();
        assert_eq!(
            (report.result, report.exit_code),
            ("connect_failed", once::EXIT_CONNECT)
        );
        assert_eq!(report.station_name.as_deref(), Some("ST_1"));
        assert!(report.error.as_deref().unwrap().contains("within 9 s"));
    }

    /// A run that started `ago` and may take `limit`.
    fn run_started(ago: Duration, limit: Duration) -> OnceDeadline {
        let started = Instant::now().checked_sub(ago).unwrap();
        OnceDeadline::new(started, limit, Some("ST_1".into()))
    }

    #[test]
    fn a_run_past_its_deadline_gets_the_stand_in_report_and_no_line_of_its_own() {
        let deadline = run_started(Duration::from_secs(60), Duration::from_secs(5));
        let mut fired = None;
        watch(&deadline.shared, |state| fired = Some(state.report()));
        let report = fired.unwrap();
        assert_eq!(report.result, "config_error");
        assert_eq!(report.station_name.as_deref(), Some("ST_1"));
        let mut out = Vec::new();
        assert!(!deadline.print_to(&report, &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn a_run_that_printed_in_time_is_left_alone() {
        let deadline = run_started(Duration::ZERO, Duration::from_secs(600));
        assert!(deadline.print_to(&OnceReport::config_error(None, &"x"), &mut Vec::new()));
        let mut fired = false;
        watch(&deadline.shared, |_| fired = true);
        assert!(!fired);
    }

    #[test]
    fn a_deadline_moved_by_the_configuration_counts_from_the_start() {
        // 30 s after the start: within the early limit of 600 s, past a configured 10 s.
        let deadline = run_started(Duration::from_secs(30), Duration::from_secs(600));
        deadline.configured("ST_1", Duration::from_secs(10));
        let mut fired = None;
        watch(&deadline.shared, |state| fired = Some(state.report()));
        assert_eq!(fired.unwrap().result, "connect_failed");
    }

    #[test]
    fn only_one_line_is_ever_printed_and_it_is_printable() {
        let deadline = OnceDeadline::new(Instant::now(), Duration::from_secs(5), None);
        let report = OnceReport::config_error(None, &"bad \u{9b}31m\u{1b}[2J\n value");
        let mut out = Vec::new();
        assert!(deadline.print_to(&report, &mut out));
        assert!(!deadline.print_to(&report, &mut out));
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.trim_end().chars().any(char::is_control), "{out:?}");
    }
}
