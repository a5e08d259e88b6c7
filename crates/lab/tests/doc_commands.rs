//! Every `ocpp-lab` command line the documentation shows works as written: found by the same
//! rule as the station's (tests/doc_commands.rs in the workspace root); `--help` and
//! `--version` are run (exit code 0), the rest run until stopped and are parsed exactly as the
//! binary parses them, and must be accepted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

#[path = "../../../tests/common/doc_commands.rs"]
mod doc_commands;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use clap::Parser as _;
use doc_commands::{Found, command_in, commands_in_docs};
use ocpp_lab::cli::Cli;

const PROGRAM: &str = "ocpp-lab";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ocpp-lab"))
        .args(args)
        .env_remove("OCPP_LOG")
        .output()
        .unwrap()
}

#[test]
fn every_lab_command_in_the_docs_and_the_help_works_as_written() {
    let mut found = commands_in_docs(&workspace_root(), PROGRAM);
    for args in [&["--help"][..], &["demo", "--help"], &["csms", "--help"]] {
        let output = lab(args);
        assert!(output.status.success(), "{args:?}");
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some(command) = command_in(line, PROGRAM, true) {
                found.push(Found {
                    command,
                    source: format!("ocpp-lab {}", args.join(" ")),
                });
            }
        }
    }
    let distinct: BTreeSet<&str> = found.iter().map(|f| f.command.as_str()).collect();
    // The README and the bench docs show both tools; finding none would pass vacuously.
    for needed in ["ocpp-lab demo", "ocpp-lab csms"] {
        assert!(
            distinct.iter().any(|c| c.starts_with(needed)),
            "no doc shows {needed:?}: {distinct:?}"
        );
    }
    let mut failures = Vec::new();
    for command in distinct {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let problem = if args
            .iter()
            .any(|a| ["--help", "-h", "--version", "-V"].contains(a))
        {
            let output = lab(&args);
            (!output.status.success()).then(|| format!("exit code {:?}", output.status.code()))
        } else {
            let argv = std::iter::once(PROGRAM).chain(args.iter().copied());
            Cli::try_parse_from(argv)
                .err()
                .map(|e| format!("refused by the command line parser: {e}"))
        };
        if let Some(problem) = problem {
            let sources: Vec<&str> = found
                .iter()
                .filter(|f| f.command == command)
                .map(|f| f.source.as_str())
                .collect();
            failures.push(format!("`{command}` (shown in {sources:?}): {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
