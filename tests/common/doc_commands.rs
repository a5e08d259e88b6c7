//! The command lines the documentation shows, found by one rule for both programs
//! (`ocpp-station` in tests/doc_commands.rs, `ocpp-lab` in the lab's): see the rule in
//! tests/doc_commands.rs.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses a different part of it"
)]

use std::path::{Path, PathBuf};

/// Where a command was found, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    /// The command line, blanks collapsed.
    pub command: String,
    /// The file (or help text) that shows it.
    pub source: String,
}

/// The command of `program` in `text` by the rule of the test's documentation, or `None`.
pub fn command_in(text: &str, program: &str, bare_allowed: bool) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix("sudo ").unwrap_or(text).trim_start();
    let end = [" #", "|", ";", "&", ">", "<"]
        .iter()
        .filter_map(|op| text.find(op))
        .min()
        .unwrap_or(text.len());
    let command = text.get(..end).unwrap_or(text).trim();
    let is_command = command
        .strip_prefix(program)
        .is_some_and(|rest| rest.starts_with(' ') || (bare_allowed && rest.is_empty()));
    is_command.then(|| command.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The inline code spans of one line.
pub fn inline_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Commands of `program` in a Markdown document (or, with `markdown` false, in env.example's
/// comments).
pub fn commands_in_doc(
    text: &str,
    markdown: bool,
    program: &str,
    source: &str,
    out: &mut Vec<Found>,
) {
    let mut in_fence = false;
    let mut pending = String::new();
    for line in text.lines() {
        if markdown && line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let code = markdown && (in_fence || line.starts_with("    ") || line.starts_with('\t'));
        if code {
            pending.push_str(line.trim());
            if let Some(joined) = pending.strip_suffix('\\') {
                pending = format!("{joined} ");
                continue;
            }
            let whole = std::mem::take(&mut pending);
            if let Some(command) = command_in(&whole, program, true) {
                out.push(Found {
                    command,
                    source: source.to_owned(),
                });
            }
            continue;
        }
        pending.clear();
        for span in inline_spans(line) {
            if let Some(command) = command_in(span, program, false) {
                out.push(Found {
                    command,
                    source: source.to_owned(),
                });
            }
        }
    }
}

/// Every command of `program` shown in README.md, docs/*.md and env.example under `root`.
pub fn commands_in_docs(root: &Path, program: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    for path in docs {
        let text = std::fs::read_to_string(&path).expect("a readable doc");
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        commands_in_doc(&text, true, program, &name, &mut found);
    }
    let env_example =
        std::fs::read_to_string(root.join("env.example")).expect("env.example is readable");
    commands_in_doc(&env_example, false, program, "env.example", &mut found);
    found
}
