//! What can be wrong with the configuration. Every message names the variable; none shows the
//! password.

use std::path::PathBuf;

use super::names::SECRET_VARIABLES;
use crate::envfile::EnvFileError;
use crate::link::csms_url::UrlProblem;
use crate::redact;

/// Why the configuration cannot be used. Every message names the variable and what it accepts;
/// none contains the password (the password's own errors carry no value at all, and any other
/// value that happens to contain it is replaced by `[redacted]`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A required variable is not set (or set to an empty value).
    #[error("{var} is not set: {why}{}", near_miss_hint(.near_miss.as_deref(), var))]
    Missing {
        /// The variable.
        var: &'static str,
        /// Why it is needed.
        why: &'static str,
        /// A set variable whose name is a near miss of this one (a typo), if any.
        near_miss: Option<String>,
    },
    /// A CSMS URL (variable or flag) that cannot be used.
    #[error("{}{} {problem}", flag.unwrap_or(var), shown.as_ref().map(|s| format!("='{s}'")).unwrap_or_default())]
    Url {
        /// The variable.
        var: &'static str,
        /// The command-line flag, when the URL was given there.
        flag: Option<&'static str>,
        /// The URL as it may be shown (credentials masked, shortened), or `None` when it might
        /// carry a password.
        shown: Option<String>,
        /// What is wrong.
        problem: UrlProblem,
    },
    /// A variable's value is not acceptable.
    #[error("{var}='{value}' is not valid: expected {allowed}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The value as given: control characters escaped, shortened to 80 characters, URL
        /// credentials removed.
        value: String,
        /// What would be accepted.
        allowed: String,
    },
    /// A secret variable's value is not acceptable; the value is deliberately not kept.
    #[error("{var} is not valid: expected {allowed} (the value is secret and not shown)")]
    InvalidSecret {
        /// The variable.
        var: &'static str,
        /// What would be accepted.
        allowed: String,
    },
    /// A variable names a file that cannot be used.
    #[error("{var}={}: {problem}", .path.display())]
    File {
        /// The variable.
        var: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Two variables contradict each other.
    #[error("{first} and {second} conflict: {why}")]
    Conflict {
        /// The first variable (reported by [`ConfigError::variable`]).
        first: &'static str,
        /// The second variable.
        second: &'static str,
        /// What the contradiction is and how to resolve it.
        why: String,
    },
    /// The `--env-file` could not be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// The variables could not be collected at all (not expected: every field is text).
    #[error("cannot read the OCPP_* variables: {0}")]
    Environment(String),
}

impl ConfigError {
    /// The variable to fix, when the error is about one.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            ConfigError::Missing { var, .. }
            | ConfigError::Url { var, .. }
            | ConfigError::Invalid { var, .. }
            | ConfigError::InvalidSecret { var, .. }
            | ConfigError::File { var, .. } => Some(var),
            ConfigError::Conflict { first, .. } => Some(first),
            ConfigError::EnvFile(_) | ConfigError::Environment(_) => None,
        }
    }

    /// Replaces a value that contains the password (someone pasted it into the wrong variable).
    pub(super) fn scrubbed(self, password: Option<&str>) -> Self {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return self;
        };
        match self {
            ConfigError::Invalid {
                var,
                value,
                allowed,
            } if value.contains(password) => ConfigError::Invalid {
                var,
                value: "[redacted]".to_owned(),
                allowed,
            },
            ConfigError::Url {
                var,
                flag,
                shown: Some(shown),
                problem,
            } if shown.contains(password) => ConfigError::Url {
                var,
                flag,
                shown: None,
                problem,
            },
            ConfigError::Conflict { first, second, why } if why.contains(password) => {
                ConfigError::Conflict {
                    first,
                    second,
                    why: why.replace(password, "[redacted]"),
                }
            }
            other => other,
        }
    }
}

/// An `Invalid` error with the value made safe to print (or `InvalidSecret` for the password).
pub(super) fn invalid(var: &'static str, value: &str, allowed: impl Into<String>) -> ConfigError {
    let allowed = allowed.into();
    if SECRET_VARIABLES.contains(&var) {
        return ConfigError::InvalidSecret { var, allowed };
    }
    ConfigError::Invalid {
        var,
        value: redact::printable(value, 80),
        allowed,
    }
}

/// The end of a [`ConfigError::Missing`] message when a set variable looks like a typo of it.
fn near_miss_hint(near_miss: Option<&str>, var: &str) -> String {
    near_miss
        .map(|given| format!(" ({given} is set: did you mean {var}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::names::var;
    use crate::config::testing::*;

    #[test]
    fn the_password_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = with(&[("OCPP_16_URL", "ws://h/x")]).unwrap();
        for text in [format!("{cfg:?}"), cfg.summary(), cfg.warnings.join(" ")] {
            assert!(!text.contains(PASSWORD), "{text}");
        }
        assert!(
            cfg.summary()
                .contains("password:            set (not shown)")
        );

        let missing = dir.path().join("x.pem");
        let bad_configs: Vec<Vec<(&str, &str)>> = vec![
            vec![("OCPP_PRIMARY", "3")],
            vec![("OCPP_STATION_NAME", "S3cr3t-pw! x")],
            vec![("OCPP_STATION_NAME", "S3cr3t-pw!:x")],
            vec![("OCPP_VENDOR", "S3cr3t-pw!S3cr3t-pw!S3cr3t-pw!")],
            vec![("OCPP_201_URL", "wss://u:S3cr3t-pw!@h/#")],
            vec![("OCPP_201_URL", "S3cr3t-pw!")],
            vec![("OCPP_AUTH_TYPE", PASSWORD)],
            vec![("OCPP_CONNECTORS", PASSWORD)],
            vec![("OCPP_AUTH_TYPE", "mtls")],
            vec![("OCPP_CA_PATH", missing.to_str().unwrap())],
        ];
        for extra in bad_configs {
            let err = with(&extra).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(PASSWORD), "{extra:?}: {shown}");
        }
        assert_eq!(
            invalid(var::STATION_PASSWORD, PASSWORD, "something"),
            ConfigError::InvalidSecret {
                var: "OCPP_STATION_PASSWORD",
                allowed: "something".into()
            }
        );
    }

    #[test]
    fn shown_values_are_escaped_and_shortened() {
        let err = with(&[("OCPP_PRIMARY", "2\u{1b}[31m")]).unwrap_err();
        assert!(
            err.to_string().contains("OCPP_PRIMARY='2\\u{1b}[31m'"),
            "{err}"
        );
        let long = "9".repeat(500);
        let err = with(&[("OCPP_CONNECTORS", &long)]).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn variable_names_every_kind_of_error() {
        assert_eq!(
            ConfigError::Conflict {
                first: "A",
                second: "B",
                why: String::new()
            }
            .variable(),
            Some("A")
        );
        assert_eq!(ConfigError::Environment(String::new()).variable(), None);
    }
}
