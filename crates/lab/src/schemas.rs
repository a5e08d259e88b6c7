//! What the lab CSMS holds a station's messages to: the official OCPP JSON schemas (when given a
//! schema directory) and the wire rules every CSMS may rely on (no `null`, timestamps in UTC with
//! `Z` and at most 3 fractional digits).
//!
//! The schema directory has the layout of the Python `ocpp` package (`v16/schemas/*.json`,
//! `v201/schemas/*.json`), the reference the integration tests validate against. Validation
//! follows that package: JSON Schema draft 4 for both versions and no `format` checks, so the lab
//! and the reference CSMS agree on what is valid.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Validator};
use serde_json::Value;

use ocpp_station::ocpp::OcppVersion;

/// At most this many problems are reported for one message: the first ones tell the story.
const MAX_PROBLEMS_PER_MESSAGE: usize = 5;

/// Why a schema directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Neither `v16/schemas` nor `v201/schemas` is in the directory.
    #[error(
        "{0} holds neither v16/schemas nor v201/schemas (give the Python ocpp package's directory, \
         e.g. .venv/lib/python3.11/site-packages/ocpp)"
    )]
    NotASchemaDir(PathBuf),
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A file is not a usable JSON schema.
    #[error("{path} is not a usable JSON schema: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Whether a payload is a request (CALL) or a response (CALLRESULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// A CALL's payload.
    Request,
    /// A CALLRESULT's payload.
    Response,
}

/// The compiled schemas of both versions, by action.
#[derive(Default)]
pub struct SchemaSet {
    dir: PathBuf,
    schemas: HashMap<(OcppVersion, PayloadKind, String), Validator>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("dir", &self.dir)
            .field("schemas", &self.schemas.len())
            .finish()
    }
}

impl SchemaSet {
    /// Loads and compiles every schema under `dir` (the `ocpp` package directory).
    pub fn load(dir: &Path) -> Result<Self, SchemaError> {
        let mut set = SchemaSet {
            dir: dir.to_path_buf(),
            schemas: HashMap::new(),
        };
        let mut found = false;
        for version in [OcppVersion::V16, OcppVersion::V201] {
            let sub = dir.join(version_dir(version)).join("schemas");
            if !sub.is_dir() {
                continue;
            }
            found = true;
            let entries = fs::read_dir(&sub).map_err(|e| SchemaError::Read {
                path: sub.clone(),
                reason: e.to_string(),
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| SchemaError::Read {
                    path: sub.clone(),
                    reason: e.to_string(),
                })?;
                let path = entry.path();
                let Some(stem) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                else {
                    continue;
                };
                let (kind, action) = action_of(version, stem);
                let validator = compile(&path)?;
                set.schemas
                    .insert((version, kind, action.to_owned()), validator);
            }
        }
        if !found {
            return Err(SchemaError::NotASchemaDir(dir.to_path_buf()));
        }
        Ok(set)
    }

    /// The directory the schemas came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many schemas are loaded.
    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    /// True when no schema is loaded.
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }

    /// Whether the version has any schema here (a directory may hold only one version).
    pub fn covers(&self, version: OcppVersion) -> bool {
        self.schemas.keys().any(|(v, _, _)| *v == version)
    }

    /// What is wrong with `payload` as a `kind` of `action` in `version`; empty when it is valid
    /// or the version has no schemas here.
    pub fn check(
        &self,
        version: OcppVersion,
        kind: PayloadKind,
        action: &str,
        payload: &Value,
    ) -> Vec<String> {
        if !self.covers(version) {
            return Vec::new();
        }
        let Some(validator) = self.schemas.get(&(version, kind, action.to_owned())) else {
            return vec![format!(
                "'{}' is not an OCPP {version} action (no schema for it)",
                ocpp_station::redact::printable(action, 60)
            )];
        };
        validator
            .iter_errors(payload)
            .take(MAX_PROBLEMS_PER_MESSAGE)
            .map(|error| {
                let at = error.instance_path.to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("{at}: {error}")
            })
            .collect()
    }
}

fn version_dir(version: OcppVersion) -> &'static str {
    match version {
        OcppVersion::V16 => "v16",
        OcppVersion::V201 => "v201",
    }
}

/// The kind and action a schema file stands for. 1.6 names requests `<Action>.json`, 2.0.1
/// `<Action>Request.json`; both name responses `<Action>Response.json`.
fn action_of(version: OcppVersion, stem: &str) -> (PayloadKind, &str) {
    if let Some(action) = stem.strip_suffix("Response") {
        return (PayloadKind::Response, action);
    }
    match version {
        OcppVersion::V201 => (
            PayloadKind::Request,
            stem.strip_suffix("Request").unwrap_or(stem),
        ),
        OcppVersion::V16 => (PayloadKind::Request, stem),
    }
}

fn compile(path: &Path) -> Result<Validator, SchemaError> {
    let text = fs::read_to_string(path).map_err(|e| SchemaError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let schema: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(false)
        .build(&schema)
        .map_err(|e| SchemaError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Breaches of the wire rules in a payload: a JSON `null` anywhere (absent optional fields are
/// omitted), and a timestamp that is not UTC with `Z` and at most 3 fractional digits (some
/// CSMSs drop such messages). Paths are JSON-pointer-like (`/evse/id`).
pub fn wire_rule_violations(payload: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(payload, &mut String::new(), &mut found);
    found.truncate(MAX_PROBLEMS_PER_MESSAGE);
    found
}

fn walk(value: &Value, path: &mut String, found: &mut Vec<String>) {
    let here = |path: &str| if path.is_empty() { "/" } else { path }.to_owned();
    match value {
        Value::Null => found.push(format!(
            "{}: null (absent optional fields must be omitted)",
            here(path)
        )),
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                path.push('/');
                path.push_str(key);
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::String(text) if looks_like_timestamp(text) && !is_wire_timestamp(text) => found
            .push(format!(
                "{}: timestamp '{}' is not UTC 'Z' with at most 3 fractional digits",
                here(path),
                ocpp_station::redact::printable(text, 40)
            )),
        _ => {}
    }
}

/// `YYYY-MM-DD` then `T`, `t` or a space, then `hh:mm`.
fn looks_like_timestamp(text: &str) -> bool {
    match text.as_bytes() {
        [
            y0,
            y1,
            y2,
            y3,
            b'-',
            m0,
            m1,
            b'-',
            d0,
            d1,
            b'T' | b't' | b' ',
            h0,
            h1,
            b':',
            n0,
            n1,
            ..,
        ] => digits(&[*y0, *y1, *y2, *y3, *m0, *m1, *d0, *d1, *h0, *h1, *n0, *n1]),
        _ => false,
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,3}]Z` exactly.
fn is_wire_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let (Some(head), Some(rest)) = (b.get(..19), b.get(19..)) else {
        return false;
    };
    let [
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        b'T',
        _,
        _,
        _,
        _,
        _,
        b':',
        s0,
        s1,
    ] = head
    else {
        return false;
    };
    if !digits(&[*s0, *s1]) {
        return false;
    }
    match rest {
        [b'Z'] => true,
        [b'.', rest @ ..] => {
            let Some((b'Z', fraction)) = rest.split_last() else {
                return false;
            };
            (1..=3).contains(&fraction.len()) && digits(fraction)
        }
        _ => false,
    }
}

fn digits(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_file_names_map_to_actions() {
        use OcppVersion::{V16, V201};
        assert_eq!(
            action_of(V16, "BootNotification"),
            (PayloadKind::Request, "BootNotification")
        );
        assert_eq!(
            action_of(V16, "BootNotificationResponse"),
            (PayloadKind::Response, "BootNotification")
        );
        assert_eq!(
            action_of(V201, "BootNotificationRequest"),
            (PayloadKind::Request, "BootNotification")
        );
        assert_eq!(
            action_of(V201, "NotifyEventResponse"),
            (PayloadKind::Response, "NotifyEvent")
        );
    }

    #[test]
    fn a_directory_without_schemas_is_refused() {
        let dir = std::env::temp_dir();
        let error = SchemaSet::load(&dir.join("no-such-ocpp-dir")).unwrap_err();
        assert!(matches!(error, SchemaError::NotASchemaDir(_)), "{error}");
    }

    #[test]
    fn schemas_are_draft_4_without_format_checks() {
        let dir = tempfile::tempdir().unwrap();
        let schemas = dir.path().join("v16").join("schemas");
        fs::create_dir_all(&schemas).unwrap();
        let schema = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": {
                "chargePointVendor": {"type": "string", "maxLength": 20},
                "timestamp": {"type": "string", "format": "date-time"}
            },
            "additionalProperties": false,
            "required": ["chargePointVendor"]
        });
        fs::write(
            schemas.join("BootNotification.json"),
            schema.to_string().as_bytes(),
        )
        .unwrap();
        let set = SchemaSet::load(dir.path()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.covers(OcppVersion::V16));
        assert!(!set.covers(OcppVersion::V201));
        let check = |payload: Value| {
            set.check(
                OcppVersion::V16,
                PayloadKind::Request,
                "BootNotification",
                &payload,
            )
        };
        assert!(check(json!({"chargePointVendor": "x", "timestamp": "not a date"})).is_empty());
        let long = check(json!({"chargePointVendor": "x".repeat(21)}));
        assert_eq!(long.len(), 1, "{long:?}");
        assert!(long[0].starts_with("/chargePointVendor: "), "{long:?}");
        let missing = check(json!({"extra": 1}));
        assert_eq!(missing.len(), 2, "{missing:?}");
        let unknown = set.check(OcppVersion::V16, PayloadKind::Request, "Foo", &json!({}));
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("not an OCPP 1.6 action"), "{unknown:?}");
        // A version without schemas here is not judged.
        assert!(
            set.check(OcppVersion::V201, PayloadKind::Request, "Foo", &json!({}))
                .is_empty()
        );
    }

    #[test]
    fn nulls_and_long_timestamps_break_the_wire_rules() {
        assert!(
            wire_rule_violations(&json!({
                "timestamp": "2026-01-02T03:04:05.123Z",
                "other": "2026-01-02T03:04:05Z",
                "text": "2026 was a good year",
                "n": 1
            }))
            .is_empty()
        );
        let found = wire_rule_violations(&json!({
            "a": null,
            "evse": {"list": [1, null]},
            "t1": "2026-01-02T03:04:05.123456789Z",
            "t2": "2026-01-02T03:04:05+01:00",
            "t3": "2026-01-02 03:04:05Z"
        }));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found.iter().any(|f| f.starts_with("/a: null")), "{found:?}");
        assert!(
            found.iter().any(|f| f.starts_with("/evse/list/1: null")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.starts_with("/t1: timestamp")),
            "{found:?}"
        );
        assert_eq!(
            wire_rule_violations(&Value::Null),
            vec!["/: null (absent optional fields must be omitted)"]
        );
    }
}
