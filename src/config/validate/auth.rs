//! How the station proves who it is (OCPP security profiles): the auth mode, the password, the
//! TLS files, and what they require of the CSMS URLs.

use std::path::PathBuf;

use super::identity::Endpoints;
use super::values::existing_file;
use crate::config::error::{ConfigError, invalid};
use crate::config::load::Given;
use crate::config::model::{AuthMode, auth_name};
use crate::config::names::var;
use crate::link::csms_url::{CsmsUrl, UrlProblem};
use crate::secret::Secret;

/// `OCPP_AUTH_TYPE`: `basic` when unset.
pub(super) fn mode(value: Option<String>) -> Result<AuthMode, ConfigError> {
    Ok(match value.as_deref() {
        None => AuthMode::Basic,
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "basic" => AuthMode::Basic,
            "mtls" => AuthMode::Mtls,
            "none" => AuthMode::None,
            _ => return Err(invalid(var::AUTH_TYPE, value, "one of basic, mtls, none")),
        },
    })
}

/// `OCPP_STATION_PASSWORD`: required for `basic`, not kept (with a warning) otherwise.
pub(super) fn password(
    auth: AuthMode,
    value: Option<String>,
    given: &Given<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Secret>, ConfigError> {
    Ok(match (auth, value) {
        (AuthMode::Basic, Some(password)) => Some(Secret::new(password)),
        (AuthMode::Basic, None) => {
            return Err(given.missing(
                var::STATION_PASSWORD,
                "it is required when OCPP_AUTH_TYPE is basic (the default)",
            ));
        }
        (other, Some(_)) => {
            warnings.push(format!(
                "{} is set but {}={}: the password is not used",
                var::STATION_PASSWORD,
                var::AUTH_TYPE,
                auth_name(other)
            ));
            None
        }
        (_, None) => None,
    })
}

/// What the auth mode requires of each URL: no password in it, `wss://` for mtls, and a
/// warning for a password over plain `ws://`.
pub(super) fn check_urls(
    auth: AuthMode,
    password: Option<&Secret>,
    endpoints: &Endpoints,
    given: &Given<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for (name, url) in [
        (var::URL_201, &endpoints.url_201),
        (var::URL_16, &endpoints.url_16),
    ] {
        let Some(url) = url else { continue };
        let carries_password =
            password.is_some_and(|p| !p.is_empty() && url_carries(url, p.expose()));
        if carries_password {
            return Err(ConfigError::Url {
                var: name,
                flag: given.url_flag(name),
                shown: None,
                problem: UrlProblem::Password,
            });
        }
        let plain = !url.is_tls();
        match auth {
            AuthMode::Mtls if plain => {
                return Err(ConfigError::Conflict {
                    first: var::AUTH_TYPE,
                    second: name,
                    why: "mtls (security profile 3) needs a wss:// URL".to_owned(),
                });
            }
            AuthMode::Basic if plain => warnings.push(format!(
                "{name} uses ws://: the password travels unencrypted (security profile 1); \
                 use wss:// unless the network is otherwise protected"
            )),
            _ => {}
        }
    }
    Ok(())
}

/// `OCPP_CA_PATH` or its alias `OCPP_MTLS_CA_PATH` (both only when they agree): an existing
/// file.
pub(super) fn ca_path(
    ca_path: Option<String>,
    mtls_ca_path: Option<String>,
) -> Result<Option<PathBuf>, ConfigError> {
    let ca = match (ca_path, mtls_ca_path) {
        (Some(a), Some(b)) if a != b => {
            return Err(ConfigError::Conflict {
                first: var::CA_PATH,
                second: var::MTLS_CA_PATH,
                why: format!(
                    "they name different files ({a} and {b}); {} is an alias, set only one",
                    var::MTLS_CA_PATH
                ),
            });
        }
        (Some(a), _) => Some((var::CA_PATH, a)),
        (None, Some(b)) => Some((var::MTLS_CA_PATH, b)),
        (None, None) => None,
    };
    ca.map(|(name, path)| existing_file(name, path)).transpose()
}

/// `OCPP_MTLS_CERT_PATH` and `OCPP_MTLS_KEY_PATH`: existing files, required for mtls and
/// ignored (with a warning) otherwise.
pub(super) fn client_certificate(
    auth: AuthMode,
    cert_path: Option<String>,
    key_path: Option<String>,
    given: &Given<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Option<PathBuf>, Option<PathBuf>), ConfigError> {
    if auth == AuthMode::Mtls {
        let cert = cert_path.ok_or_else(|| {
            given.missing(
                var::MTLS_CERT_PATH,
                "the client certificate is required when OCPP_AUTH_TYPE is mtls",
            )
        })?;
        let key = key_path.ok_or_else(|| {
            given.missing(
                var::MTLS_KEY_PATH,
                "the client private key is required when OCPP_AUTH_TYPE is mtls",
            )
        })?;
        return Ok((
            Some(existing_file(var::MTLS_CERT_PATH, cert)?),
            Some(existing_file(var::MTLS_KEY_PATH, key)?),
        ));
    }
    for (name, value) in [
        (var::MTLS_CERT_PATH, &cert_path),
        (var::MTLS_KEY_PATH, &key_path),
    ] {
        if value.is_some() {
            warnings.push(format!(
                "{name} is ignored because {}={}",
                var::AUTH_TYPE,
                auth_name(auth)
            ));
        }
    }
    Ok((None, None))
}

/// True when `password` appears in `url`, as written or percent-decoded.
fn url_carries(url: &CsmsUrl, password: &str) -> bool {
    url.contains(password)
        || percent_encoding::percent_decode_str(url)
            .decode_utf8_lossy()
            .contains(password)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::testing::*;
    use crate::config::{CliOverrides, load};

    #[test]
    fn password_is_required_for_basic_only() {
        let err = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_201_URL", "wss://h/x"),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_STATION_PASSWORD"));
        assert!(err.to_string().contains("basic"), "{err}");

        let cfg = load(
            vars(&[
                ("OCPP_STATION_NAME", "ORGE_AC_001"),
                ("OCPP_201_URL", "wss://h/x"),
                ("OCPP_AUTH_TYPE", "none"),
            ]),
            None,
            &CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.auth, AuthMode::None);
        assert_eq!(cfg.password, None);
        assert!(cfg.warnings.is_empty());

        let cfg = with(&[("OCPP_AUTH_TYPE", "None")]).unwrap();
        assert_eq!(cfg.password, None, "an unused password is not kept");
        assert!(cfg.warnings[0].contains("OCPP_STATION_PASSWORD is set but"));
    }

    #[test]
    fn a_url_carrying_the_password_is_refused() {
        for url in [
            format!("wss://h/ocpp/{PASSWORD}"),
            "wss://h/ocpp/S3cr3t-pw%21".to_owned(),
        ] {
            let err = with(&[("OCPP_201_URL", &url)]).unwrap_err();
            assert_eq!(
                err,
                ConfigError::Url {
                    var: "OCPP_201_URL",
                    flag: None,
                    shown: None,
                    problem: UrlProblem::Password
                },
                "{url}"
            );
            assert!(!err.to_string().contains(PASSWORD), "{err}");
        }
    }

    #[test]
    fn plain_ws_with_a_password_warns() {
        let cfg = with(&[("OCPP_201_URL", "ws://10.0.0.1:9000/ocpp")]).unwrap();
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].contains("unencrypted"));
        let cfg = with(&[("OCPP_201_URL", "ws://h/x"), ("OCPP_AUTH_TYPE", "none")]).unwrap();
        assert_eq!(cfg.warnings.len(), 1, "only the unused password: {cfg:?}");
    }

    #[test]
    fn auth_type_values() {
        assert_eq!(
            with(&[("OCPP_AUTH_TYPE", "BASIC")]).unwrap().auth,
            AuthMode::Basic
        );
        assert_eq!(
            invalid_var(&[("OCPP_AUTH_TYPE", "token")]),
            "OCPP_AUTH_TYPE"
        );
    }

    #[test]
    fn mtls_needs_existing_cert_and_key_and_wss() {
        let dir = tempfile::tempdir().unwrap();
        let cert = write_file(&dir, "client.pem", "cert");
        let key = write_file(&dir, "client.key", "key");
        let cert_s = cert.to_str().unwrap();
        let key_s = key.to_str().unwrap();

        let err = with(&[("OCPP_AUTH_TYPE", "mtls")]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CERT_PATH"));
        let err = with(&[("OCPP_AUTH_TYPE", "mtls"), ("OCPP_MTLS_CERT_PATH", cert_s)]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_KEY_PATH"));

        let missing = dir.path().join("nope.key");
        let err = with(&[
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", cert_s),
            ("OCPP_MTLS_KEY_PATH", missing.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::File {
                var: "OCPP_MTLS_KEY_PATH",
                path: missing.clone(),
                problem: "no such file".into()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("OCPP_MTLS_KEY_PATH={}: no such file", missing.display())
        );
        let err = with(&[
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", dir.path().to_str().unwrap()),
            ("OCPP_MTLS_KEY_PATH", key_s),
        ])
        .unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CERT_PATH"));

        let mtls = [
            ("OCPP_AUTH_TYPE", "mtls"),
            ("OCPP_MTLS_CERT_PATH", cert_s),
            ("OCPP_MTLS_KEY_PATH", key_s),
        ];
        let cfg = with(&mtls).unwrap();
        assert_eq!(cfg.auth, AuthMode::Mtls);
        assert_eq!(cfg.client_cert_path.as_deref(), Some(cert.as_path()));
        assert_eq!(cfg.client_key_path.as_deref(), Some(key.as_path()));
        assert_eq!(cfg.password, None);

        let mut plain = mtls.to_vec();
        plain.push(("OCPP_16_URL", "ws://h/ocpp16"));
        assert!(matches!(
            with(&plain),
            Err(ConfigError::Conflict {
                first: "OCPP_AUTH_TYPE",
                second: "OCPP_16_URL",
                ..
            })
        ));

        // Certificate paths without mtls are ignored, with a warning.
        let cfg = with(&mtls[1..]).unwrap();
        assert_eq!(cfg.client_cert_path, None);
        assert_eq!(cfg.warnings.len(), 2);
    }

    #[test]
    fn ca_path_and_its_alias() {
        let dir = tempfile::tempdir().unwrap();
        let ca = write_file(&dir, "ca.pem", "ca");
        let other = write_file(&dir, "other.pem", "ca");
        let ca_s = ca.to_str().unwrap();

        for name in ["OCPP_CA_PATH", "OCPP_MTLS_CA_PATH"] {
            assert_eq!(with(&[(name, ca_s)]).unwrap().ca_path, Some(ca.clone()));
        }
        let both = with(&[("OCPP_CA_PATH", ca_s), ("OCPP_MTLS_CA_PATH", ca_s)]).unwrap();
        assert_eq!(both.ca_path, Some(ca.clone()));

        let err = with(&[
            ("OCPP_CA_PATH", ca_s),
            ("OCPP_MTLS_CA_PATH", other.to_str().unwrap()),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Conflict {
                first: "OCPP_CA_PATH",
                second: "OCPP_MTLS_CA_PATH",
                ..
            }
        ));

        let missing = dir.path().join("missing.pem");
        let err = with(&[("OCPP_MTLS_CA_PATH", missing.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.variable(), Some("OCPP_MTLS_CA_PATH"));
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
