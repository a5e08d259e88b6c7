//! Every `ocpp-station` command line the documentation shows is run (or, for what runs until
//! stopped, parsed), so that no doc tells a technician to type something the binary refuses.
//!
//! Where commands are taken from:
//! - `README.md`, `docs/*.md`: lines of fenced code blocks and of indented (4+ spaces) code, and
//!   inline code spans;
//! - `env.example`: inline code spans in its comments;
//! - the help text (`--help` and each subcommand's): lines that start with `ocpp-station`.
//!
//! A command is such a text that, after a leading `sudo ` is removed, is `ocpp-station`
//! followed by arguments (a bare inline `ocpp-station` names the program or its user, not a
//! command; in a code block or the help it is the service itself). Lines ending in `\` are
//! joined with the next. The command ends where the shell would end it: at ` #` (a comment),
//! `|`, `;`, `&`, `>` or `<`. Anything else (`cargo run --release -p ocpp-lab -- demo`,
//! `target/release/ocpp-station ...`, `sudo sh -c '...'`, `set -a; ...`) is not a command by
//! this rule.
//!
//! How each is checked, with `/etc/ocpp_station.env` replaced by `env.example` filled in (the
//! test CSMS's URLs and password, scratch state and runtime directories), and that file's
//! variables also in the environment (as `set -a; . /etc/ocpp_station.env; set +a` gives them):
//! - `--help`, `--version`, `check-config`: run, exit code 0;
//! - `--once`: run against the test CSMS, exit code 0 (`accepted`);
//! - `status`: run, the station is not running: exit code 3, never a usage error;
//! - the service itself (it runs until stopped): the command line is parsed exactly as the
//!   binary parses it, and must be accepted.
//!
//! The same rule finds the `ocpp-lab` commands, which the lab's own tests check
//! (crates/lab/tests/doc_commands.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;
#[path = "common/doc_commands.rs"]
mod doc_commands;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use common::{Csms, TEST_PASSWORD, csms_config, fresh_state_dir, manifest_dir, station_command};
use doc_commands::{Found, command_in, commands_in_doc, commands_in_docs};
use ocpp_station::cli::{Cli, Command};

/// The program whose commands this test runs (the lab's are checked by the lab's tests).
const PROGRAM: &str = "ocpp-station";

/// Every command the docs and the help show.
fn all_commands() -> Vec<Found> {
    let mut found = commands_in_docs(&manifest_dir(), PROGRAM);
    for args in [
        &["--help"][..],
        &["check-config", "--help"],
        &["status", "--help"],
    ] {
        let output = station_command(&[], args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        for line in help.lines() {
            if let Some(command) = command_in(line, PROGRAM, true) {
                found.push(Found {
                    command,
                    source: format!("ocpp-station {}", args.join(" ")),
                });
            }
        }
    }
    found
}

/// env.example with the test CSMS's URLs and password and scratch directories: the
/// technician's /etc/ocpp_station.env.
fn filled_env_file(csms: &Csms, dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    let example = std::fs::read_to_string(manifest_dir().join("env.example")).unwrap();
    let mut text = String::new();
    for line in example.lines() {
        let line = match line.split_once('=') {
            Some(("OCPP_201_URL", _)) => format!("OCPP_201_URL={}", csms.url("/ocpp201")),
            Some(("OCPP_16_URL", _)) => format!("OCPP_16_URL={}", csms.url("/ocpp16")),
            Some(("OCPP_STATION_PASSWORD", _)) => format!("OCPP_STATION_PASSWORD={TEST_PASSWORD}"),
            _ => line.to_owned(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    for (name, value) in [
        ("OCPP_STATE_DIR", fresh_state_dir()),
        ("OCPP_RUNTIME_DIR", fresh_state_dir()),
    ] {
        text.push_str(&format!("{name}={}\n", value.display()));
    }
    text.push_str("OCPP_CALL_TIMEOUT_SECONDS=5\nOCPP_ONCE_TIMEOUT_SECONDS=20\n");
    let path = dir.join("ocpp_station.env");
    std::fs::write(&path, &text).unwrap();
    let vars = ocpp_station::envfile::parse(&text).unwrap();
    (path, vars)
}

/// How a command is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Run; the exit code must be one of these.
    Run(&'static [i32]),
    /// Runs until stopped: parse the command line only.
    Parse,
}

/// How to check `args` (the words after `ocpp-station`), decided by the binary's own parser:
/// an error when the parser refuses them.
fn check_for(args: &[String]) -> Result<Check, String> {
    if args
        .iter()
        .any(|a| ["--help", "-h", "--version", "-V"].contains(&a.as_str()))
    {
        return Ok(Check::Run(&[0]));
    }
    let argv = std::iter::once("ocpp-station".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(argv)
        .map_err(|e| format!("refused by the command line parser: {e}"))?;
    Ok(match cli.command {
        Some(Command::CheckConfig(_)) => Check::Run(&[0]),
        Some(Command::Status { .. }) => Check::Run(&[3]),
        None if cli.once => Check::Run(&[0]),
        None => Check::Parse,
    })
}

#[test]
fn the_extraction_rule() {
    assert_eq!(
        command_in("sudo ocpp-station status   # comment", PROGRAM, false).as_deref(),
        Some("ocpp-station status")
    );
    assert_eq!(
        command_in("ocpp-station status --json | jq .health", PROGRAM, false).as_deref(),
        Some("ocpp-station status --json")
    );
    assert_eq!(
        command_in("ocpp-station", PROGRAM, false),
        None,
        "a name, not a command"
    );
    assert_eq!(
        command_in("ocpp-station", PROGRAM, true).as_deref(),
        Some("ocpp-station")
    );
    assert_eq!(
        command_in("cargo run --release -p ocpp-lab -- demo", PROGRAM, true),
        None
    );
    assert_eq!(
        command_in("target/release/ocpp-station status", PROGRAM, true),
        None
    );
    assert_eq!(command_in("ocpp-stationx status", PROGRAM, true), None);
    assert_eq!(
        command_in("set -a; . FILE; set +a; ocpp-station --once", PROGRAM, true),
        None
    );
    let mut found = Vec::new();
    commands_in_doc(
        "text `ocpp-station check-config` and `ocpp-station`\n\n```sh\nocpp-station status \\\n  --json \\\n  | jq .\n```\n\n    sudo ocpp-station --once  # smoke test\n",
        true,
        PROGRAM,
        "x",
        &mut found,
    );
    let commands: Vec<&str> = found.iter().map(|f| f.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "ocpp-station check-config",
            "ocpp-station status --json",
            "ocpp-station --once"
        ]
    );
    let words =
        |text: &str| -> Vec<String> { text.split_whitespace().map(str::to_owned).collect() };
    assert_eq!(check_for(&words("status --json")), Ok(Check::Run(&[3])));
    assert_eq!(
        check_for(&words("--env-file F status")),
        Ok(Check::Run(&[3]))
    );
    assert_eq!(
        check_for(&words("--once --env-file F")),
        Ok(Check::Run(&[0]))
    );
    assert_eq!(check_for(&[]), Ok(Check::Parse));
    assert!(
        check_for(&words("demo")).is_err(),
        "the lab's, not the station's"
    );
}

#[test]
fn every_command_in_the_docs_and_the_help_works_as_written() {
    let found = all_commands();
    // The docs must show the commands a technician needs; an extraction that finds nothing
    // would make this test pass vacuously.
    let distinct: BTreeSet<&str> = found.iter().map(|f| f.command.as_str()).collect();
    for needed in [
        "ocpp-station check-config --env-file /etc/ocpp_station.env",
        "ocpp-station --once --env-file /etc/ocpp_station.env",
        "ocpp-station status",
    ] {
        assert!(
            distinct.contains(needed),
            "no doc shows {needed:?}: {distinct:?}"
        );
    }

    let csms = Csms::start(csms_config());
    let dir = tempfile::tempdir().unwrap();
    let (env_file, vars) = filled_env_file(&csms, dir.path());
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let env_file = env_file.to_string_lossy().into_owned();

    let mut failures = Vec::new();
    for command in distinct {
        let sources: Vec<&str> = found
            .iter()
            .filter(|f| f.command == command)
            .map(|f| f.source.as_str())
            .collect();
        let args: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(|a| a.replace("/etc/ocpp_station.env", &env_file))
            .collect();
        let problem = match check_for(&args) {
            Err(refused) => Some(refused),
            Ok(Check::Parse) => None,
            Ok(Check::Run(codes)) => {
                let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let output = station_command(&env, &arg_refs).output().unwrap();
                let code = output.status.code().unwrap_or(-1);
                let stderr = String::from_utf8_lossy(&output.stderr);
                (!codes.contains(&code) || stderr.contains("unexpected argument")).then(|| {
                    format!(
                        "exit code {code} (expected {codes:?})\nstdout: {}\nstderr: {stderr}",
                        String::from_utf8_lossy(&output.stdout)
                    )
                })
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("`{command}` (shown in {sources:?}): {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
