//! Who the station is and where its CSMS is: the identity, what BootNotification says, the
//! number of connectors, the CSMS URLs and which version is tried first.

use crate::config::error::{ConfigError, invalid};
use crate::config::load::Given;
use crate::config::model::BootInfo;
use crate::config::names::var;
use crate::link::csms_url::{self, CsmsUrl};
use crate::ocpp::{OcppVersion, VERSION_SPELLINGS};
use crate::redact;

use super::values::{boolean, ci_string, number};

/// Default `OCPP_VENDOR` (fits 1.6 chargePointVendor, <= 20).
const DEFAULT_VENDOR: &str = "ocpp-station";
/// Default `OCPP_MODEL` (fits chargePointModel, <= 20).
const DEFAULT_MODEL: &str = "AC-Pi";

/// The CSMS endpoints and the order they are tried in.
pub(super) struct Endpoints {
    /// `OCPP_201_URL`.
    pub(super) url_201: Option<CsmsUrl>,
    /// `OCPP_16_URL`.
    pub(super) url_16: Option<CsmsUrl>,
    /// The version tried first: `OCPP_PRIMARY`, or the one with a URL.
    pub(super) primary: OcppVersion,
    /// `OCPP_ALLOW_FALLBACK`, and the other version has a URL.
    pub(super) allow_fallback: bool,
}

/// `OCPP_STATION_NAME`: required, and a valid identity.
pub(super) fn station_name(
    value: Option<String>,
    given: &Given<'_>,
) -> Result<String, ConfigError> {
    let station_name = value.ok_or_else(|| {
        given.missing(
            var::STATION_NAME,
            "it is the station identity the CSMS knows this charger by",
        )
    })?;
    check_identity(&station_name)?;
    Ok(station_name)
}

/// `OCPP_201_URL`, `OCPP_16_URL`, `OCPP_PRIMARY` and `OCPP_ALLOW_FALLBACK`: at least one URL,
/// and a primary version that has one (switched, with a warning, when only the other has).
pub(super) fn endpoints(
    url_201: Option<String>,
    url_16: Option<String>,
    primary: Option<String>,
    allow_fallback: Option<String>,
    given: &Given<'_>,
    warnings: &mut Vec<String>,
) -> Result<Endpoints, ConfigError> {
    let url_201 = url_201
        .map(|url| check_url(var::URL_201, &url, given))
        .transpose()?;
    let url_16 = url_16
        .map(|url| check_url(var::URL_16, &url, given))
        .transpose()?;
    let url_of = |version: OcppVersion| match version {
        OcppVersion::V201 => url_201.as_ref(),
        OcppVersion::V16 => url_16.as_ref(),
    };

    let requested = primary
        .as_deref()
        .map(|value| {
            value
                .parse::<OcppVersion>()
                .map_err(|_| invalid(var::PRIMARY, value, format!("one of {VERSION_SPELLINGS}")))
        })
        .transpose()?;
    let wanted = requested.unwrap_or(OcppVersion::V201);
    let primary = if url_of(wanted).is_some() {
        wanted
    } else if url_of(wanted.other()).is_some() {
        let other = wanted.other();
        let hint = if requested.is_some() {
            format!("set {} or change {}", url_variable(wanted), var::PRIMARY)
        } else {
            format!("set {}={other} to make this explicit", var::PRIMARY)
        };
        warnings.push(format!(
            "{} is not set, so OCPP {other} ({}) is the primary version; {hint}",
            url_variable(wanted),
            url_variable(other),
        ));
        other
    } else {
        return Err(given.missing(
            url_variable(wanted),
            "at least one of OCPP_201_URL and OCPP_16_URL must name the CSMS endpoint",
        ));
    };
    // Fallback needs somewhere to fall back to; saying so here spares every user of the flag
    // from checking the other URL again.
    let allow_fallback =
        boolean(var::ALLOW_FALLBACK, allow_fallback, true)? && url_of(primary.other()).is_some();
    Ok(Endpoints {
        url_201,
        url_16,
        primary,
        allow_fallback,
    })
}

/// `OCPP_VENDOR`, `OCPP_MODEL`, `OCPP_SERIAL_NUMBER`, `OCPP_FIRMWARE_VERSION`: within the
/// lengths both versions' BootNotification allow.
pub(super) fn boot_info(
    vendor: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
    firmware_version: Option<String>,
) -> Result<BootInfo, ConfigError> {
    Ok(BootInfo {
        vendor: ci_string(var::VENDOR, vendor, 20)?.unwrap_or_else(|| DEFAULT_VENDOR.to_owned()),
        model: ci_string(var::MODEL, model, 20)?.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        serial_number: ci_string(var::SERIAL_NUMBER, serial_number, 25)?,
        firmware_version: Some(
            ci_string(var::FIRMWARE_VERSION, firmware_version, 50)?
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
        ),
    })
}

/// `OCPP_CONNECTORS`: 1 to 8, one EVSE each.
pub(super) fn connectors(value: Option<String>) -> Result<u32, ConfigError> {
    number(var::CONNECTORS, value, 1, 1..=8, "connectors")
}

/// The variable that holds `version`'s URL.
fn url_variable(version: OcppVersion) -> &'static str {
    match version {
        OcppVersion::V201 => var::URL_201,
        OcppVersion::V16 => var::URL_16,
    }
}

/// OCPP identity rules (at most 48 characters, no `:` because it separates user and password in
/// Basic auth) plus no blanks or non-ASCII, which CSMSs and URL paths handle inconsistently.
/// `.` and `..` are refused too: as the last URL path segment they would be resolved away.
fn check_identity(name: &str) -> Result<(), ConfigError> {
    let valid = (1..=48).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_graphic() && c != ':')
        && name != "."
        && name != "..";
    if valid {
        Ok(())
    } else {
        Err(invalid(
            var::STATION_NAME,
            name,
            "1 to 48 printable ASCII characters without spaces or ':', other than . and ..",
        ))
    }
}

/// A CSMS URL variable (or its flag), parsed as the dialler will use it; see
/// [`CsmsUrl::parse`] for what is refused. The error shows the value only where it cannot carry
/// a password.
fn check_url(var: &'static str, value: &str, given: &Given<'_>) -> Result<CsmsUrl, ConfigError> {
    CsmsUrl::parse(value).map_err(|problem| ConfigError::Url {
        var,
        flag: given.url_flag(var),
        shown: csms_url::shown_in_error(value, problem).map(|s| redact::printable(&s, 80)),
        problem,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::testing::*;
    use crate::config::{CliOverrides, load};

    #[test]
    fn station_name_rules() {
        assert!(matches!(
            load(
                vars(&[("OCPP_201_URL", "wss://h/x")]),
                None,
                &CliOverrides::default()
            ),
            Err(ConfigError::Missing {
                var: "OCPP_STATION_NAME",
                ..
            })
        ));
        assert!(with(&[("OCPP_STATION_NAME", &"A".repeat(48))]).is_ok());
        for bad in [
            "A".repeat(49),
            "ORGE:1".into(),
            "ORGE 1".into(),
            "ORGÉ".into(),
            "ORGE\u{7}".into(),
        ] {
            assert_eq!(
                invalid_var(&[("OCPP_STATION_NAME", &bad)]),
                "OCPP_STATION_NAME",
                "{bad:?}"
            );
        }
        // Every other printable ASCII character is allowed (and percent-encoded in the URL).
        assert!(with(&[("OCPP_STATION_NAME", "a/b?c#d%e|f~g")]).is_ok());
    }

    #[test]
    fn the_identity_cannot_be_a_dot_segment() {
        for bad in [".", ".."] {
            assert_eq!(
                invalid_var(&[("OCPP_STATION_NAME", bad)]),
                "OCPP_STATION_NAME"
            );
        }
        assert!(with(&[("OCPP_STATION_NAME", "...")]).is_ok());
    }

    #[test]
    fn primary_spellings_and_errors() {
        for (spelling, version) in [
            ("2.0.1", OcppVersion::V201),
            ("201", OcppVersion::V201),
            ("OCPP2.0.1", OcppVersion::V201),
            ("1.6", OcppVersion::V16),
            ("1.6J", OcppVersion::V16),
            ("v16", OcppVersion::V16),
        ] {
            let cfg = with(&[
                ("OCPP_PRIMARY", spelling),
                ("OCPP_16_URL", "wss://csms.example.com/ocpp16"),
            ])
            .unwrap();
            assert_eq!(cfg.primary, version, "{spelling}");
            assert!(cfg.allow_fallback);
        }
        let err = with(&[("OCPP_PRIMARY", "2.1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("OCPP_PRIMARY='2.1' is not valid: expected one of {VERSION_SPELLINGS}")
        );
    }

    #[test]
    fn the_version_with_a_url_becomes_primary_with_a_warning() {
        let only_16 = vars(&[
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_16_URL", "wss://csms.example.com/ocpp16"),
        ]);
        let cfg = load(only_16, None, &CliOverrides::default()).unwrap();
        assert_eq!(cfg.primary, OcppVersion::V16);
        assert!(!cfg.allow_fallback);
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].starts_with("OCPP_201_URL is not set, so OCPP 1.6"));
        assert!(cfg.warnings[0].contains("OCPP_PRIMARY=1.6"));

        let cfg = with(&[("OCPP_PRIMARY", "1.6")]).unwrap();
        assert_eq!(cfg.primary, OcppVersion::V201);
        assert!(cfg.warnings[0].starts_with("OCPP_16_URL is not set, so OCPP 2.0.1"));
    }

    #[test]
    fn at_least_one_url_is_required() {
        let err = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_STATION_PASSWORD", PASSWORD),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "OCPP_201_URL",
                ..
            }
        ));
        assert!(err.to_string().contains("OCPP_16_URL"), "{err}");
    }

    #[test]
    fn url_rules() {
        for bad in [
            "http://csms.example.com/ocpp",
            "csms.example.com/ocpp",
            "wss://",
            "wss:///ocpp",
            "wss://:443/ocpp",
            "wss://h/oc pp",
            "wss://h/ocpp#frag",
            "wss://h/ocpp?x=1",
            "wss://h:0/ocpp",
            "wss://h:65536/ocpp",
            "ws://127.0.0.1:99999/ocpp",
            "ws://h:port/ocpp",
            "ftp://h",
        ] {
            for var in ["OCPP_201_URL", "OCPP_16_URL"] {
                let err = with(&[(var, bad)]).unwrap_err();
                assert!(matches!(err, ConfigError::Url { .. }), "{bad}: {err:?}");
                assert_eq!(err.variable(), Some(var), "{bad}");
                assert!(err.to_string().starts_with(var), "{err}");
            }
        }
        let cfg = with(&[("OCPP_201_URL", "WSS://Csms.Example.com:8443/ocpp")]).unwrap();
        assert_eq!(
            cfg.url_201.as_deref(),
            Some("wss://csms.example.com:8443/ocpp")
        );
        let cfg = with(&[("OCPP_201_URL", "wss://[::1]:9000")]).unwrap();
        assert_eq!(cfg.url_201.as_deref(), Some("wss://[::1]:9000/"));
        for port in ["1", "65535"] {
            let cfg = with(&[("OCPP_201_URL", &format!("ws://127.0.0.1:{port}/ocpp"))]).unwrap();
            assert_eq!(cfg.url_201.unwrap().port().to_string(), port);
        }
        assert_eq!(
            with(&[("OCPP_201_URL", "ws://127.0.0.1:99999/ocpp")])
                .unwrap_err()
                .to_string(),
            "OCPP_201_URL='ws://127.0.0.1:99999/ocpp' must have a port from 1 to 65535 after \
             the host, or none (ws:// uses 80, wss:// 443)"
        );
    }

    #[test]
    fn url_credentials_are_refused_and_never_shown() {
        for url in [
            "ws://ORGE_AC_001:hunter2@127.0.0.1:9000/ocpp",
            "ws://ORGE_AC_001:hun?ter2@127.0.0.1:9000/ocpp",
            "ws://ORGE_AC_001:hun#ter2@127.0.0.1:9000/ocpp",
            "wss://hunter2@csms.example.com/ocpp",
            "wss://@csms.example.com/ocpp",
            "https://user:hunter2@csms.example.com/",
        ] {
            let err = with(&[("OCPP_201_URL", url)]).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("hunter2"), "{url}: {text}");
            assert!(
                !text.contains("hun?ter2") && !text.contains("hun#ter2"),
                "{text}"
            );
            assert_eq!(err.variable(), Some("OCPP_201_URL"), "{url}");
        }
        let err = with(&[(
            "OCPP_201_URL",
            "ws://ORGE_AC_001:hunter2@127.0.0.1:9000/ocpp",
        )])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCPP_201_URL='ws://***@127.0.0.1:9000/ocpp' must not contain user:password@ \
             credentials: the station authenticates with OCPP_STATION_NAME and \
             OCPP_STATION_PASSWORD"
        );
        // The flags are refused the same way, and named.
        let cli = CliOverrides {
            url_16: Some("wss://u:hunter2@h/ocpp16".into()),
            ..CliOverrides::default()
        };
        let env = vars(&[
            ("OCPP_STATION_NAME", "ORGE_AC_001"),
            ("OCPP_STATION_PASSWORD", PASSWORD),
            ("OCPP_201_URL", "wss://h/ocpp"),
        ]);
        let err = load(env, None, &cli).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_16_URL"));
        assert!(
            err.to_string()
                .starts_with("--url-16='wss://***@h/ocpp16' must not"),
            "{err}"
        );
    }

    #[test]
    fn boot_info_lengths() {
        assert!(with(&[("OCPP_VENDOR", &"v".repeat(20))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_VENDOR", &"v".repeat(21))]),
            "OCPP_VENDOR"
        );
        assert!(with(&[("OCPP_MODEL", &"m".repeat(20))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_MODEL", &"m".repeat(21))]),
            "OCPP_MODEL"
        );
        assert!(with(&[("OCPP_SERIAL_NUMBER", &"s".repeat(25))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_SERIAL_NUMBER", &"s".repeat(26))]),
            "OCPP_SERIAL_NUMBER"
        );
        assert!(with(&[("OCPP_FIRMWARE_VERSION", &"f".repeat(50))]).is_ok());
        assert_eq!(
            invalid_var(&[("OCPP_FIRMWARE_VERSION", &"f".repeat(51))]),
            "OCPP_FIRMWARE_VERSION"
        );
        assert_eq!(invalid_var(&[("OCPP_MODEL", "a\nb")]), "OCPP_MODEL");
        // Characters, not bytes, as in the JSON schemas.
        assert!(with(&[("OCPP_VENDOR", &"é".repeat(20))]).is_ok());
    }
}
