//! The `ocpp-lab csms` command line, and the settings it stands for.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::answer::{BootPolicy, BootStatus};
use super::handshake::AuthPolicy;
use super::schemas::SchemaSet;
use super::server::LabSettings;
use super::tls;
use ocpp_station::ocpp::OcppVersion;
use ocpp_station::secret::Secret;

/// Added to twice the heartbeat interval before a silent station counts as offline: a station
/// heartbeats after `interval` without traffic, so one late heartbeat is no outage.
pub const OFFLINE_MARGIN: Duration = Duration::from_secs(10);

/// `ocpp-lab csms`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LabCsmsArgs {
    /// Address and port to listen on; 0.0.0.0:9000 lets stations on the network connect.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,

    /// OCPP versions to accept, comma-separated (2.0.1, 1.6); the station's offer order decides
    /// between them.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "2.0.1,1.6"
    )]
    pub versions: Vec<OcppVersion>,

    /// Require HTTP Basic credentials with this password (user = the station identity); a
    /// missing or wrong one is answered HTTP 401.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "OCPP_LAB_PASSWORD",
        hide_env_values = true,
        conflicts_with = "any_password"
    )]
    pub password: Option<String>,

    /// Require HTTP Basic credentials for the station identity but accept any password (for a
    /// station whose password you do not know).
    #[arg(long)]
    pub any_password: bool,

    /// Serve wss:// with this certificate chain (PEM, leaf first).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How BootNotification is answered.
    #[arg(long, value_enum, default_value = "accepted")]
    pub boot: BootStatus,

    /// The `interval` of the Boot answer, seconds: the heartbeat interval when accepted, the
    /// retry delay when pending or rejected.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub interval: u32,

    /// Check every message a station sends against the official OCPP JSON schemas in this
    /// directory: the Python ocpp package's (holding v16/schemas and v201/schemas), e.g.
    /// .venv/lib/python3.11/site-packages/ocpp.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,

    /// A connected station counts as offline after this many seconds without traffic
    /// [default: twice --interval plus 10].
    #[arg(long, value_name = "SECONDS")]
    pub offline_seconds: Option<u64>,

    /// Print JSON lines (every message, and a snapshot of the view on each change) instead of
    /// the table (or, when stdout is not a terminal, the one-line-per-change log).
    #[arg(long)]
    pub json: bool,
}

impl LabCsmsArgs {
    /// The server settings; an error sentence when a file cannot be used.
    pub fn settings(&self) -> Result<LabSettings, String> {
        if self.versions.is_empty() {
            return Err("--versions needs at least one of 2.0.1, 1.6".to_owned());
        }
        let auth = match (&self.password, self.any_password) {
            (Some(password), _) if password.is_empty() => {
                return Err("--password must not be empty".to_owned());
            }
            (Some(password), _) => AuthPolicy::Password(Secret::new(password.clone())),
            (None, true) => AuthPolicy::AnyPassword,
            (None, false) => AuthPolicy::Open,
        };
        let schemas = match &self.schemas {
            Some(dir) => Some(Arc::new(
                SchemaSet::load(dir).map_err(|e| format!("--schemas: {e}"))?,
            )),
            None => None,
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                Some(tls::acceptor(cert, key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))?)
            }
            _ => None,
        };
        Ok(LabSettings {
            versions: self.versions.clone(),
            auth,
            boot: BootPolicy {
                status: self.boot,
                interval: self.interval,
            },
            schemas,
            tls,
        })
    }

    /// The offline threshold.
    pub fn offline_after(&self) -> Duration {
        match self.offline_seconds {
            Some(seconds) => Duration::from_secs(seconds),
            None => Duration::from_secs(u64::from(self.interval).saturating_mul(2))
                .saturating_add(OFFLINE_MARGIN),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LabCsmsArgs,
    }

    fn parse(args: &[&str]) -> Result<LabCsmsArgs, clap::Error> {
        let mut all = vec!["csms"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).map(|w| w.args)
    }

    #[test]
    fn defaults_accept_both_versions_on_loopback_without_credentials() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(args.versions, [OcppVersion::V201, OcppVersion::V16]);
        assert_eq!(args.offline_after(), Duration::from_secs(130));
        let settings = args.settings().unwrap();
        assert_eq!(settings.auth, AuthPolicy::Open);
        assert_eq!(settings.boot.status, BootStatus::Accepted);
        assert!(settings.schemas.is_none() && settings.tls.is_none());
    }

    #[test]
    fn every_flag() {
        let args = parse(&[
            "--listen",
            "0.0.0.0:9100",
            "--versions",
            "1.6",
            "--any-password",
            "--boot",
            "pending",
            "--interval",
            "5",
            "--offline-seconds",
            "7",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.versions, [OcppVersion::V16]);
        assert_eq!(args.offline_after(), Duration::from_secs(7));
        let settings = args.settings().unwrap();
        assert_eq!(settings.auth, AuthPolicy::AnyPassword);
        assert_eq!(settings.boot.status, BootStatus::Pending);
        assert_eq!(settings.boot.interval, 5);
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        assert!(parse(&["--versions", "2.1"]).is_err());
        assert!(parse(&["--listen", "nowhere"]).is_err());
        assert!(parse(&["--boot", "maybe"]).is_err());
        assert!(parse(&["--password", "x", "--any-password"]).is_err());
        assert!(parse(&["--tls-cert", "c.pem"]).is_err());
        let missing = parse(&["--schemas", "/nonexistent/ocpp"]).unwrap();
        assert!(missing.settings().unwrap_err().contains("--schemas"));
        let missing = parse(&[
            "--tls-cert",
            "/nonexistent/c",
            "--tls-key",
            "/nonexistent/k",
        ])
        .unwrap();
        assert!(missing.settings().unwrap_err().contains("cannot read"));
    }
}
