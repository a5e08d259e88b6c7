//! `ocpp-lab demo`: one charging session on this computer, with nothing else installed.
//!
//! Three parts run in one process: the lab CSMS ([`crate::server`]) on an ephemeral
//! loopback port, the simulated charge controller ([`crate::sim_controller`]) on a
//! pseudo-terminal, and the station itself: the same [`ocpp_station::daemon::run`] and charge-controller
//! bridge as the service, configured in code to dial the lab and read the pseudo-terminal. Once
//! the station is registered and reports its connector Available, the controller walks its
//! session; the operator's view is shown live (a table on a terminal, one line per change
//! elsewhere); when the session is over and a Heartbeat has come, the demo prints a summary and
//! checks that the view showed the statuses the session must produce and all three messages a
//! station exists to send: BootNotification, StatusNotification and Heartbeat.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rand::Rng as _;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::answer::{BootPolicy, BootStatus};
use crate::clock;
use crate::handshake::AuthPolicy;
use crate::monitor::{Monitor, OutputMode};
use crate::schemas::SchemaSet;
use crate::script::{self, ScriptSettings};
use crate::server::{self, LabEvent, LabSettings};
use crate::sim_controller::{SimController, SimEvent, SimSettings};
use crate::view::{MessageCounts, StationSnapshot, View};
use ocpp_station::config::{self, CliOverrides};
use ocpp_station::deadline;
use ocpp_station::esp32::port::{ControllerSource, RESUME_DEBOUNCE};
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::secret::Secret;

/// The demo station's identity.
pub const STATION: &str = "DEMO_AC_001";

/// The heartbeat interval the lab CSMS gives the demo station, seconds. A station heartbeats
/// only after this long without any other message, so it is shorter than the gap between the
/// demo's Metrics messages (10 s): the demo shows Heartbeats while the session runs and after.
pub const HEARTBEAT_SECONDS: u32 = 3;

/// Exit code when the view did not show what the session must produce.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the demo could not start.
pub const EXIT_SETUP: u8 = 2;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How long the station may take to register and report its connector.
const ONLINE_DEADLINE: Duration = Duration::from_secs(30);

/// Time allowed beyond the script for the last status and a Heartbeat to reach the view.
const SETTLE_MARGIN: Duration = Duration::from_secs(20);

/// How long the station may take to close after the lab has closed its connection.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Which versions the demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoVersions {
    /// One version.
    One(OcppVersion),
    /// 2.0.1, then 1.6.
    Both,
}

impl DemoVersions {
    fn list(self) -> Vec<OcppVersion> {
        match self {
            DemoVersions::One(version) => vec![version],
            DemoVersions::Both => vec![OcppVersion::V201, OcppVersion::V16],
        }
    }
}

fn parse_versions(text: &str) -> Result<DemoVersions, String> {
    if text.trim().eq_ignore_ascii_case("both") {
        return Ok(DemoVersions::Both);
    }
    text.parse().map(DemoVersions::One)
}

fn parse_step(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(0.05..=60.0).contains(&seconds) {
        return Err("a step lasts 0.05 to 60 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `ocpp-lab demo`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DemoArgs {
    /// OCPP version: 2.0.1, 1.6, or both (one after the other).
    #[arg(long = "version", value_name = "VERSION", default_value = "both", value_parser = parse_versions)]
    pub versions: DemoVersions,

    /// Print the view as JSON lines (the lab CSMS's format) instead of the live table (or the
    /// one-line-per-change log when stdout is not a terminal).
    #[arg(long)]
    pub json: bool,

    /// How long each step of the charging session lasts, seconds (a resume after a pause
    /// lasts longer on 1.6: the station reports it only once it has held 8 s).
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_step)]
    pub step_seconds: Duration,

    /// Leave out the earth fault after the session.
    #[arg(long)]
    pub no_fault: bool,

    /// Check every message against the official OCPP schemas in this directory (the Python
    /// ocpp package's); by default .venv/lib/python3*/site-packages/ocpp when present.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// The connector statuses the session must show, in order.
pub fn expected_statuses(version: OcppVersion, earth_fault: bool) -> Vec<&'static str> {
    let mut statuses = match version {
        OcppVersion::V201 => vec!["Available", "Occupied", "Available"],
        OcppVersion::V16 => vec![
            "Available",
            "Preparing",
            "Charging",
            "SuspendedEV",
            "Charging",
            "Finishing",
            "Available",
        ],
    };
    if earth_fault {
        statuses.extend(["Faulted", "Available"]);
    }
    statuses
}

/// Whether `seen` (a connector's history) is what the session must show. A leading
/// `Unavailable` is allowed: the station says so until the controller has first spoken.
pub fn matches_expected(seen: &[String], expected: &[&str]) -> bool {
    let seen = match seen.first() {
        Some(first) if first == "Unavailable" => seen.get(1..).unwrap_or_default(),
        _ => seen,
    };
    seen.iter().map(String::as_str).eq(expected.iter().copied())
}

/// The connector the session runs on: EVSE 1 connector 1 (2.0.1), connector 1 (1.6).
fn session_connector(station: &StationSnapshot) -> Option<&crate::view::ConnectorSnapshot> {
    station
        .connectors
        .iter()
        .find(|c| c.connector == 1 && c.evse.is_none_or(|evse| evse == 1))
}

/// Whether the station has sent a Heartbeat.
fn heartbeat_seen(station: Option<&StationSnapshot>) -> bool {
    station.is_some_and(|s| s.messages.by_action.contains_key("Heartbeat"))
}

/// What one run showed.
#[derive(Debug, Clone)]
struct RunReport {
    version: OcppVersion,
    ok: bool,
    problem: Option<String>,
    interrupted: bool,
    expected: Vec<&'static str>,
    statuses: BTreeMap<String, Vec<String>>,
    messages: MessageCounts,
    validation_errors: u64,
    validated: bool,
}

/// Runs the demo; the exit code says whether the view showed what it must.
pub fn run(args: &DemoArgs) -> ExitCode {
    // The station's own warnings (a closed connection at the end, ws:// without TLS) would
    // only interrupt the view, which shows what happens anyway.
    crate::init_logging("error");
    let schemas = match schema_dir(args) {
        Some(dir) => match SchemaSet::load(&dir) {
            Ok(set) => Some(Arc::new(set)),
            Err(error) => {
                eprintln!("demo: {error}");
                return ExitCode::from(EXIT_SETUP);
            }
        },
        None => None,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("demo: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let versions = args.versions.list();
    let mode = OutputMode::for_stdout(args.json);
    let mut reports = Vec::new();
    for (index, version) in versions.iter().enumerate() {
        let run = Run {
            version: *version,
            number: index.saturating_add(1),
            of: versions.len(),
            args,
            mode,
            schemas: schemas.clone(),
        };
        match runtime.block_on(run.run()) {
            Ok(report) => {
                let stop = report.interrupted;
                reports.push(report);
                if stop {
                    break;
                }
            }
            Err(error) => {
                eprintln!("demo: {error}");
                return ExitCode::from(EXIT_SETUP);
            }
        }
    }
    if mode == OutputMode::Table {
        // Each run redraws the screen: the verdicts go below the last one. (The log and the
        // JSON lines print each run's verdict as it ends.)
        for report in &reports {
            print!("{}", summary_text(report));
        }
    }
    if reports.iter().any(|r| r.interrupted) {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// `--schemas`, else the virtualenv the test suite installs, when present.
fn schema_dir(args: &DemoArgs) -> Option<PathBuf> {
    if let Some(dir) = &args.schemas {
        return Some(dir.clone());
    }
    let lib = Path::new(".venv").join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages").join("ocpp"))
        .filter(|dir| dir.join("v201").join("schemas").is_dir())
        .collect();
    found.sort();
    found.pop()
}

/// One run of the demo for one version.
struct Run<'a> {
    version: OcppVersion,
    number: usize,
    of: usize,
    args: &'a DemoArgs,
    mode: OutputMode,
    schemas: Option<Arc<SchemaSet>>,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the station to register and report the connector Available.
    Connecting,
    /// The controller walks the session; then the demo waits for the statuses and a Heartbeat.
    Session,
    /// The session is over; the station's connection is being closed.
    Closing,
}

impl Run<'_> {
    async fn run(self) -> Result<RunReport, String> {
        let dir = ScratchDir::create()?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("cannot read the lab's address: {e}"))?;
        let csms_url = format!("ws://{address}/ocpp");
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();

        let earth_fault = !self.args.no_fault;
        let step = self.args.step_seconds;
        let period = step
            .checked_div(4)
            .unwrap_or(step)
            .clamp(Duration::from_millis(50), Duration::from_millis(7500));
        let steps = script::session(&ScriptSettings {
            step,
            // Only 1.6 shows the resume (2.0.1 reports Occupied throughout).
            resume_hold: match self.version {
                OcppVersion::V16 => RESUME_DEBOUNCE
                    .saturating_add(period.saturating_mul(2).max(Duration::from_secs(1))),
                OcppVersion::V201 => Duration::ZERO,
            },
            earth_fault,
        });
        let session_deadline = script::total(&steps).saturating_add(SETTLE_MARGIN);
        let mut sim = SimController::start(SimSettings {
            period,
            link: Some(
                dir.path()
                    .join("usb-Simulated_ESP32_Charge_Controller-if00-port0"),
            ),
            steps,
        })
        .map_err(|e| format!("cannot create the simulated controller's pseudo-terminal: {e}"))?;

        let settings = LabSettings {
            versions: vec![self.version],
            auth: AuthPolicy::Password(Secret::new(password.clone())),
            boot: BootPolicy {
                status: BootStatus::Accepted,
                interval: HEARTBEAT_SECONDS,
            },
            schemas: self.schemas.clone(),
            tls: None,
        };
        let config = station_config(self.version, &csms_url, &password, sim.port(), dir.path())?;
        let controller = config
            .controller
            .clone()
            .ok_or("the demo configuration has no charge controller")?;

        let mode = self.mode;
        let offline_after = Duration::from_secs(u64::from(HEARTBEAT_SECONDS).saturating_mul(2))
            .saturating_add(crate::options::OFFLINE_MARGIN);
        let mut monitor = Monitor::new(View::new(offline_after), mode, std::io::stdout());
        let title = format!(
            "ocpp-lab demo, OCPP {} (run {} of {}): the station's own code against a lab CSMS \
             on {csms_url}, with a simulated charge controller on {}",
            self.version,
            self.number,
            self.of,
            sim.device().display()
        );
        let validation = match &self.schemas {
            Some(set) => format!("messages checked against {}", set.dir().display()),
            None => "messages not checked against the OCPP schemas (--schemas DIR)".to_owned(),
        };
        monitor.line(
            clock::now(),
            json!({
                "event": "demo", "version": self.version.to_string(), "run": self.number,
                "of": self.of, "csms": csms_url, "controller": sim.device().display().to_string(),
                "station": STATION,
                "schemas": self.schemas.as_ref().map(|s| s.dir().display().to_string()),
            }),
        );
        let mut controller_line = "controller: IDLE, waiting for the station".to_owned();
        monitor.set_header(vec![
            title.clone(),
            validation.clone(),
            controller_line.clone(),
        ]);

        let (events_tx, mut events) = mpsc::channel(1024);
        let (stop, stopping) = watch::channel(false);
        let server = tokio::spawn(server::serve(
            listener,
            Arc::new(settings),
            events_tx,
            stopping,
        ));
        let source = ControllerSource::new(controller);
        let snapshot = source.snapshot();
        let mut daemon = Box::pin(ocpp_station::daemon::run(
            &config,
            Box::new(source),
            Some(snapshot),
        ));

        let started = Instant::now();
        let mut phase = Phase::Connecting;
        let mut phase_deadline =
            tokio::time::Instant::from(deadline::after(started.into_std(), ONLINE_DEADLINE));
        let mut script_done = false;
        let mut problem = None;
        let mut interrupted = false;
        let mut tick = tokio::time::interval(crate::TICK);
        loop {
            tokio::select! {
                stopped = &mut daemon => {
                    match stopped {
                        // SIGINT/SIGTERM reached the station: Ctrl-C.
                        Ok(_) => interrupted = true,
                        Err(error) => problem = Some(format!("the station stopped: {error}")),
                    }
                    break;
                }
                event = events.recv() => {
                    let Some(event) = event else { break };
                    let closed = phase == Phase::Closing
                        && matches!(&event, LabEvent::Disconnected { .. });
                    monitor.on_event(event);
                    monitor.refresh(clock::now(), false);
                    if closed {
                        break;
                    }
                }
                sim_event = sim.next_event() => match sim_event {
                    Some(SimEvent::Step { number, of, what, state }) => {
                        controller_line = format!(
                            "controller: step {number}/{of}: {what} ({} {})",
                            state.name(),
                            state.code()
                        );
                        monitor.set_header(vec![title.clone(), validation.clone(), controller_line.clone()]);
                        monitor.line(clock::now(), json!({
                            "event": "controller", "step": number, "of": of, "what": what,
                            "state": state.name(), "code": state.code(),
                        }));
                        monitor.refresh(clock::now(), false);
                    }
                    Some(SimEvent::Finished) => script_done = true,
                    Some(_) => {}
                    None => {
                        problem = Some("the simulated controller stopped".to_owned());
                        break;
                    }
                },
                _ = tick.tick() => monitor.refresh(clock::now(), true),
            }

            let now = Instant::now();
            let station = monitor
                .snapshot(clock::now().mono)
                .into_iter()
                .find(|s| s.identity == STATION);
            let connector = station.as_ref().and_then(session_connector);
            match phase {
                Phase::Connecting => {
                    let registered = station.as_ref().is_some_and(|s| {
                        s.online
                            && s.boot.as_ref().and_then(|b| b.status.as_deref()) == Some("Accepted")
                    });
                    if registered
                        && connector.and_then(|c| c.status.as_deref()) == Some("Available")
                    {
                        sim.begin_session();
                        phase = Phase::Session;
                        phase_deadline = tokio::time::Instant::from(deadline::after(
                            now.into_std(),
                            session_deadline,
                        ));
                    } else if now >= phase_deadline {
                        problem = Some(format!(
                            "the station did not register and report its connector Available \
                             within {} s",
                            ONLINE_DEADLINE.as_secs()
                        ));
                        break;
                    }
                }
                Phase::Session => {
                    let expected = expected_statuses(self.version, earth_fault);
                    let seen = connector.map(|c| c.history.clone()).unwrap_or_default();
                    let statuses_shown = matches_expected(&seen, &expected);
                    if script_done && statuses_shown && heartbeat_seen(station.as_ref()) {
                        phase = Phase::Closing;
                        phase_deadline =
                            tokio::time::Instant::from(deadline::after(now.into_std(), CLOSE_WAIT));
                        let _ = stop.send(true);
                    } else if now >= phase_deadline {
                        if !script_done {
                            problem = Some(format!(
                                "the simulated controller did not finish its session within {} s",
                                session_deadline.as_secs()
                            ));
                        }
                        // Otherwise the summary names what is missing.
                        break;
                    }
                }
                Phase::Closing => {
                    if now >= phase_deadline {
                        break;
                    }
                }
            }
        }
        // The station goes first, so the lab records how its connection ended.
        drop(daemon);
        let _ = stop.send(true);
        let _ = tokio::time::timeout(CLOSE_WAIT, server).await;
        while let Ok(event) = events.try_recv() {
            monitor.on_event(event);
        }
        let end = clock::now();
        monitor.refresh(end, true);
        drop(sim);

        let station = monitor
            .snapshot(end.mono)
            .into_iter()
            .find(|s| s.identity == STATION);
        let report = report(
            self.version,
            earth_fault,
            station.as_ref(),
            self.schemas.is_some(),
            problem,
            interrupted,
        );
        monitor.line(end, summary_json(&report));
        if mode == OutputMode::Log {
            monitor.text(&summary_text(&report));
        }
        Ok(report)
    }
}

/// The station's configuration, as an env file would give it: the lab's URL for both versions,
/// Basic auth with the generated password, the pseudo-terminal as the controller's port, state
/// and runtime files in the scratch directory.
fn station_config(
    version: OcppVersion,
    csms_url: &str,
    password: &str,
    port: &Path,
    scratch: &Path,
) -> Result<config::Config, String> {
    let state = scratch.join("state");
    let runtime = scratch.join("run");
    for dir in [&state, &runtime] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let vars = [
        ("OCPP_STATION_NAME", STATION.to_owned()),
        ("OCPP_STATION_PASSWORD", password.to_owned()),
        ("OCPP_PRIMARY", version.to_string()),
        ("OCPP_201_URL", csms_url.to_owned()),
        ("OCPP_16_URL", csms_url.to_owned()),
        ("OCPP_ALLOW_FALLBACK", "false".to_owned()),
        ("OCPP_SERIAL_NUMBER", "DEMO-0001".to_owned()),
        ("OCPP_RETRY_BACKOFF_WAIT_MINIMUM", "1".to_owned()),
        ("OCPP_RETRY_BACKOFF_RANDOM_RANGE", "0".to_owned()),
        ("OCPP_CALL_TIMEOUT_SECONDS", "10".to_owned()),
        ("OCPP_METRICS_SECONDS", "10".to_owned()),
        ("OCPP_STATE_DIR", state.display().to_string()),
        ("OCPP_RUNTIME_DIR", runtime.display().to_string()),
        ("ESP32_PORT", port.display().to_string()),
    ];
    config::load(
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)),
        None,
        &CliOverrides::default(),
    )
    .map_err(|e| format!("the demo configuration is invalid: {e}"))
}

fn report(
    version: OcppVersion,
    earth_fault: bool,
    station: Option<&StationSnapshot>,
    validated: bool,
    problem: Option<String>,
    interrupted: bool,
) -> RunReport {
    let expected = expected_statuses(version, earth_fault);
    let statuses: BTreeMap<String, Vec<String>> = station
        .map(|s| {
            s.connectors
                .iter()
                .map(|c| {
                    let name = match c.evse {
                        Some(evse) => format!("evse {evse} connector {}", c.connector),
                        None => format!("connector {}", c.connector),
                    };
                    (name, c.history.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let seen = station
        .and_then(session_connector)
        .map(|c| c.history.clone())
        .unwrap_or_default();
    let validation_errors = station.map_or(0, |s| s.validation_errors.count);
    let problem = problem
        .or_else(|| {
            (!matches_expected(&seen, &expected)).then(|| {
                format!(
                    "the connector showed {} instead of {}",
                    join(&seen),
                    expected.join(" > ")
                )
            })
        })
        .or_else(|| (!heartbeat_seen(station)).then(|| "the station sent no Heartbeat".to_owned()))
        .or_else(|| {
            (validation_errors > 0)
                .then(|| format!("{validation_errors} message(s) failed validation"))
        });
    RunReport {
        version,
        ok: problem.is_none() && !interrupted,
        problem,
        interrupted,
        expected,
        statuses,
        messages: station.map(|s| s.messages.clone()).unwrap_or_default(),
        validation_errors,
        validated,
    }
}

fn join(statuses: &[String]) -> String {
    if statuses.is_empty() {
        "nothing".to_owned()
    } else {
        statuses.join(" > ")
    }
}

fn summary_json(report: &RunReport) -> serde_json::Value {
    json!({
        "event": "summary",
        "version": report.version.to_string(),
        "ok": report.ok,
        "interrupted": report.interrupted,
        "problem": report.problem,
        "expected": report.expected,
        "statuses": report.statuses,
        "messages": report.messages,
        "validation_errors": report.validation_errors,
        "validated": report.validated,
    })
}

fn summary_text(report: &RunReport) -> String {
    let mut text = String::new();
    let verdict = if report.interrupted {
        "interrupted".to_owned()
    } else if report.ok {
        "OK".to_owned()
    } else {
        format!(
            "FAILED: {}",
            report.problem.as_deref().unwrap_or("unknown problem")
        )
    };
    text.push_str(&format!("\nDemo, OCPP {}: {verdict}\n", report.version));
    for (connector, statuses) in &report.statuses {
        text.push_str(&format!("  {connector}: {}\n", join(statuses)));
    }
    text.push_str(&format!(
        "  expected on the session's connector: {}\n",
        report.expected.join(" > ")
    ));
    let by_action = report
        .messages
        .by_action
        .iter()
        .map(|(action, n)| format!("{action} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    text.push_str(&format!(
        "  messages: {} received ({by_action}), {} sent\n",
        report.messages.received, report.messages.sent
    ));
    if report.validated {
        text.push_str(&format!(
            "  validation errors: {}\n",
            report.validation_errors
        ));
    } else {
        text.push_str(&format!(
            "  validation errors: {} (wire rules only; pass --schemas DIR for the OCPP schemas)\n",
            report.validation_errors
        ));
    }
    text
}

/// A private directory for the run's state, runtime files and the controller's link; removed
/// when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt as _;
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let suffix: u32 = rand::random();
            let path = base.join(format!(
                "ocpp-station-demo-{}-{suffix:08x}",
                std::process::id()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(ScratchDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(format!("cannot create a directory in {}", base.display()))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_expected_statuses_follow_the_status_mapping() {
        assert_eq!(
            expected_statuses(OcppVersion::V201, true),
            ["Available", "Occupied", "Available", "Faulted", "Available"]
        );
        assert_eq!(
            expected_statuses(OcppVersion::V16, false),
            [
                "Available",
                "Preparing",
                "Charging",
                "SuspendedEV",
                "Charging",
                "Finishing",
                "Available"
            ]
        );
    }

    #[test]
    fn a_leading_unavailable_is_allowed_and_nothing_else() {
        let expected = expected_statuses(OcppVersion::V201, false);
        assert!(matches_expected(
            &strings(&["Available", "Occupied", "Available"]),
            &expected
        ));
        assert!(matches_expected(
            &strings(&["Unavailable", "Available", "Occupied", "Available"]),
            &expected
        ));
        assert!(!matches_expected(
            &strings(&["Available", "Occupied"]),
            &expected
        ));
        assert!(!matches_expected(
            &strings(&["Available", "Faulted", "Occupied", "Available"]),
            &expected
        ));
        assert!(!matches_expected(&[], &expected));
    }

    #[test]
    fn versions_and_steps_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_versions("both"), Ok(DemoVersions::Both));
        assert_eq!(
            parse_versions("1.6"),
            Ok(DemoVersions::One(OcppVersion::V16))
        );
        assert!(parse_versions("2.1").is_err());
        assert_eq!(parse_step("0.3"), Ok(Duration::from_millis(300)));
        for bad in ["0", "-1", "nan", "61", "x"] {
            assert!(parse_step(bad).is_err(), "{bad}");
        }
    }

    /// The station at the end of a 2.0.1 session without a fault that went as expected.
    fn finished_station(actions: &[&str]) -> StationSnapshot {
        let mut messages = MessageCounts::default();
        for action in actions {
            messages.by_action.insert((*action).to_owned(), 1);
        }
        StationSnapshot {
            identity: STATION.into(),
            online: false,
            connected: false,
            version: Some("2.0.1".into()),
            remote: None,
            connections: 1,
            boot: None,
            connectors: vec![crate::view::ConnectorSnapshot {
                evse: Some(1),
                connector: 1,
                status: Some("Available".into()),
                cause: None,
                since: None,
                history: strings(&["Available", "Occupied", "Available"]),
            }],
            last_heartbeat: None,
            health: None,
            last_seen: None,
            last_disconnect: None,
            last_refusal: None,
            messages,
            validation_errors: Default::default(),
            transactions: Default::default(),
        }
    }

    #[test]
    fn a_run_without_a_heartbeat_fails() {
        let without = finished_station(&["BootNotification", "StatusNotification"]);
        let run = report(OcppVersion::V201, false, Some(&without), true, None, false);
        assert!(!run.ok);
        assert_eq!(
            run.problem.as_deref(),
            Some("the station sent no Heartbeat")
        );
        let with = finished_station(&["BootNotification", "StatusNotification", "Heartbeat"]);
        let run = report(OcppVersion::V201, false, Some(&with), true, None, false);
        assert!(run.ok, "{:?}", run.problem);
    }

    #[test]
    fn the_report_names_what_went_wrong() {
        let report = report(OcppVersion::V201, false, None, false, None, false);
        assert!(!report.ok);
        assert!(report.problem.unwrap().contains("showed nothing"));
        let text = summary_text(&super::report(
            OcppVersion::V16,
            false,
            None,
            true,
            Some("x".into()),
            false,
        ));
        assert!(text.contains("FAILED: x"), "{text}");
    }
}
