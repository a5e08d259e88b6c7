//! The lab CSMS's side of the WebSocket upgrade: which station is calling (the last path
//! segment), whether its Basic credentials pass, and which OCPP version to speak.
//!
//! Pure functions over the request's parts, so every refusal is a unit test.

use base64::Engine as _;
use percent_encoding::percent_decode_str;

use ocpp_station::ocpp::OcppVersion;
use ocpp_station::secret::Secret;

/// What the lab asks of a station's credentials (OCPP security profile 1/2: Basic, user =
/// identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No Authorization header needed; one that is sent is not checked.
    Open,
    /// A Basic header whose user is the station identity; any password.
    AnyPassword,
    /// A Basic header with the station identity and exactly this password.
    Password(Secret),
}

/// Why an upgrade is refused; each maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The path has no identity in its last segment.
    #[error("the path must end in /<station identity>")]
    NoIdentity,
    /// No Authorization header although one is required.
    #[error("no Basic credentials sent")]
    MissingCredentials,
    /// An Authorization header that is not readable Basic credentials.
    #[error("the Authorization header is not Basic credentials")]
    MalformedCredentials,
    /// Basic credentials for another user than the identity in the path.
    #[error("the Basic user is not the station identity")]
    WrongUser,
    /// The right user with the wrong password.
    #[error("wrong password")]
    WrongPassword,
    /// None of the offered subprotocols is one the lab speaks.
    #[error("no common OCPP subprotocol (offered: {offered}; this CSMS speaks: {supported})")]
    NoSubprotocol {
        /// What the station offered, as sent.
        offered: String,
        /// What the lab accepts.
        supported: String,
    },
}

impl Refusal {
    /// The HTTP status the upgrade is answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::NoIdentity => 404,
            Refusal::MissingCredentials
            | Refusal::MalformedCredentials
            | Refusal::WrongUser
            | Refusal::WrongPassword => 401,
            Refusal::NoSubprotocol { .. } => 400,
        }
    }
}

/// The station identity: the last segment of the request path, percent-decoded. Whatever comes
/// before it is accepted, so a station configured with any endpoint path can connect.
pub fn identity_from_path(path: &str) -> Result<String, Refusal> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let identity = percent_decode_str(last).decode_utf8_lossy().into_owned();
    if identity.trim().is_empty() {
        return Err(Refusal::NoIdentity);
    }
    Ok(identity)
}

/// Checks the `Authorization` header (`None` when absent) against `policy`.
pub fn check_credentials(
    header: Option<&str>,
    identity: &str,
    policy: &AuthPolicy,
) -> Result<(), Refusal> {
    let expected = match policy {
        AuthPolicy::Open => return Ok(()),
        AuthPolicy::AnyPassword => None,
        AuthPolicy::Password(password) => Some(password),
    };
    let header = header.ok_or(Refusal::MissingCredentials)?;
    let (user, password) = basic_credentials(header).ok_or(Refusal::MalformedCredentials)?;
    if user != identity {
        return Err(Refusal::WrongUser);
    }
    match expected {
        Some(secret) if !same_bytes(password.as_bytes(), secret.expose().as_bytes()) => {
            Err(Refusal::WrongPassword)
        }
        _ => Ok(()),
    }
}

/// `(user, password)` from `Basic <base64(user:password)>`.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Compares without stopping at the first difference, so the answer time does not tell how
/// much of a guessed password was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The version to speak: the first subprotocol of the station's offer (its preference order)
/// that the lab allows. `offered` holds the `Sec-WebSocket-Protocol` header values.
pub fn select_version<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    allowed: &[OcppVersion],
) -> Result<OcppVersion, Refusal> {
    let offered: Vec<&str> = offered
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    offered
        .iter()
        .filter_map(|name| OcppVersion::from_subprotocol(name))
        .find(|version| allowed.contains(version))
        .ok_or_else(|| Refusal::NoSubprotocol {
            offered: if offered.is_empty() {
                "nothing".to_owned()
            } else {
                ocpp_station::redact::printable(&offered.join(", "), 80)
            },
            supported: allowed
                .iter()
                .map(|v| v.subprotocol())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use OcppVersion::{V16, V201};

    fn basic(user_password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        )
    }

    #[test]
    fn the_identity_is_the_last_segment_whatever_the_prefix() {
        assert_eq!(identity_from_path("/ocpp/CP_1").as_deref(), Ok("CP_1"));
        assert_eq!(identity_from_path("/a/b/c/CP_1?x=1").as_deref(), Ok("CP_1"));
        assert_eq!(identity_from_path("/CP_1").as_deref(), Ok("CP_1"));
        assert_eq!(identity_from_path("/ocpp/CP%201").as_deref(), Ok("CP 1"));
        assert_eq!(identity_from_path("/ocpp/"), Err(Refusal::NoIdentity));
        assert_eq!(identity_from_path(""), Err(Refusal::NoIdentity));
        assert_eq!(identity_from_path("/ocpp/%20"), Err(Refusal::NoIdentity));
    }

    #[test]
    fn an_open_lab_takes_anything() {
        assert_eq!(check_credentials(None, "CP", &AuthPolicy::Open), Ok(()));
        assert_eq!(
            check_credentials(Some("garbage"), "CP", &AuthPolicy::Open),
            Ok(())
        );
    }

    #[test]
    fn any_password_still_needs_the_identity_as_user() {
        let policy = AuthPolicy::AnyPassword;
        assert_eq!(
            check_credentials(Some(&basic("CP:whatever")), "CP", &policy),
            Ok(())
        );
        assert_eq!(
            check_credentials(None, "CP", &policy),
            Err(Refusal::MissingCredentials)
        );
        assert_eq!(
            check_credentials(Some(&basic("OTHER:x")), "CP", &policy),
            Err(Refusal::WrongUser)
        );
    }

    #[test]
    fn a_password_must_match_exactly() {
        let policy = AuthPolicy::Password(Secret::new("s3cret:with:colons"));
        assert_eq!(
            check_credentials(Some(&basic("CP:s3cret:with:colons")), "CP", &policy),
            Ok(())
        );
        for wrong in ["CP:s3cret", "CP:", "CP:s3cret:with:colonsX"] {
            assert_eq!(
                check_credentials(Some(&basic(wrong)), "CP", &policy),
                Err(Refusal::WrongPassword),
                "{wrong}"
            );
        }
        for malformed in ["Bearer abc", "Basic", "Basic !!!", &basic("no-colon")] {
            assert_eq!(
                check_credentials(Some(malformed), "CP", &policy),
                Err(Refusal::MalformedCredentials),
                "{malformed}"
            );
        }
        assert_eq!(Refusal::WrongPassword.http_status(), 401);
        assert_eq!(Refusal::NoIdentity.http_status(), 404);
    }

    #[test]
    fn the_station_preference_wins_among_allowed_versions() {
        assert_eq!(
            select_version(["ocpp2.0.1, ocpp1.6"], &[V16, V201]),
            Ok(V201)
        );
        assert_eq!(
            select_version(["ocpp1.6", "ocpp2.0.1"], &[V201, V16]),
            Ok(V16)
        );
        assert_eq!(select_version(["ocpp2.0.1,ocpp1.6"], &[V16]), Ok(V16));
        let refused = select_version(["ocpp2.1"], &[V201]).unwrap_err();
        assert_eq!(refused.http_status(), 400);
        assert!(refused.to_string().contains("ocpp2.1"), "{refused}");
        assert!(matches!(
            select_version([], &[V201]),
            Err(Refusal::NoSubprotocol { offered, .. }) if offered == "nothing"
        ));
    }
}
