//! The variable documentation cannot drift from the code: every variable the station reads
//! (`config::VARIABLES` and `logging::VARIABLES`) appears in `env.example` and in
//! `docs/configuration.md`, and every `OCPP_*`/`ESP32_*` name those two files mention is one the
//! station reads.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ocpp_station::{config, logging};

fn read(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn known() -> BTreeSet<&'static str> {
    config::VARIABLES
        .iter()
        .chain(logging::VARIABLES)
        .copied()
        .collect()
}

/// Every `OCPP_...`/`ESP32_...` word in `text` (a name: upper-case letters, digits, `_`).
fn mentioned(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    for prefix in ["OCPP_", "ESP32_"] {
        for (start, _) in text.match_indices(prefix) {
            let inside_word = start > 0
                && bytes
                    .get(start - 1)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
            if inside_word {
                continue;
            }
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .map_or(text.len(), |n| start + n);
            let name = text[start..end].trim_end_matches('_');
            if name.len() > prefix.len() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The names `env.example` assigns, commented out or not (`NAME=`, `#NAME=`, `# NAME=`).
fn assigned(env_example: &str) -> BTreeSet<String> {
    env_example
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim_start();
            let (name, _) = line.split_once('=')?;
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            is_name.then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn the_scanner_finds_whole_names_only() {
    let text = "`OCPP_LOG` and OCPP_RETRY_BACKOFF_WAIT_MINIMUM=3, not XOCPP_FOO, OCPP_*, \
                ESP32_ or ESP32_PORT.";
    let found: Vec<String> = mentioned(text).into_iter().collect();
    assert_eq!(
        found,
        ["ESP32_PORT", "OCPP_LOG", "OCPP_RETRY_BACKOFF_WAIT_MINIMUM"]
    );
    let env: Vec<String> = assigned("A=1\n#B_C=2\n# D=3\n# a comment = no\n#\n")
        .into_iter()
        .collect();
    assert_eq!(env, ["A", "B_C", "D"]);
}

#[test]
fn every_variable_is_in_env_example() {
    let env_example = read("env.example");
    let assigned = assigned(&env_example);
    let missing: Vec<&str> = known()
        .into_iter()
        .filter(|name| !assigned.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "env.example must assign (or show commented out, with its default) {missing:?}"
    );
}

#[test]
fn every_variable_is_in_the_configuration_doc() {
    let doc = read("docs/configuration.md");
    let documented = mentioned(&doc);
    let missing: Vec<&str> = known()
        .into_iter()
        .filter(|name| !documented.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md must document {missing:?}"
    );
    // In a table row of its own, not merely mentioned in passing.
    for name in known() {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "docs/configuration.md needs a table row for {name}"
        );
    }
}

#[test]
fn env_example_and_the_doc_mention_no_unknown_variable() {
    let known = known();
    for file in ["env.example", "docs/configuration.md"] {
        let unknown: Vec<String> = mentioned(&read(file))
            .into_iter()
            .filter(|name| !known.contains(name.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file} mentions variables the station does not read: {unknown:?}"
        );
    }
}
