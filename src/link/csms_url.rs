//! The CSMS URL: parsed once, at configuration time, by the WHATWG URL standard (the `url`
//! crate), into the host, port and path the dialler uses as they are. A text that is refused
//! here never reaches a log line, a report or a socket.
//!
//! Refused: anything but `ws://`/`wss://`, a missing host, a port of 0 or above 65535 or not a
//! number, `user:password@` credentials (even an empty `@`), a `?query`, a `#fragment`, blanks
//! and control characters, and for `wss://` a host name TLS cannot check. Accepted URLs are kept
//! in their canonical form (scheme and host lower-cased, default port dropped, path
//! percent-encoded), which is what every log line, report and status file shows.

use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rustls::pki_types::ServerName;
use url::{Host, ParseError, Url};

/// Why a text is not a usable CSMS URL. The variants carry no part of the text: it may hold a
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// `user:password@` (or just `@`) before the host.
    #[error(
        "must not contain user:password@ credentials: the station authenticates with \
         OCPP_STATION_NAME and OCPP_STATION_PASSWORD"
    )]
    Credentials,
    /// Not `ws://` or `wss://`.
    #[error("must start with ws:// or wss://")]
    Scheme,
    /// Nothing (or only a port) between `://` and the path.
    #[error("must name the CSMS host after ws:// or wss://")]
    NoHost,
    /// The host is neither a valid name nor an IP address.
    #[error("names a host that is neither a valid host name nor an IP address")]
    Host,
    /// A port of 0, above 65535, or not a number.
    #[error("must have a port from 1 to 65535 after the host, or none (ws:// uses 80, wss:// 443)")]
    Port,
    /// A `?query`.
    #[error(
        "must not contain a ?query: the URL is the CSMS endpoint, optionally ending in the station identity"
    )]
    Query,
    /// A `#fragment`.
    #[error("must not contain a #fragment (WebSocket URLs have none)")]
    Fragment,
    /// Blanks or control characters (a WHATWG parser would silently drop or encode them).
    #[error("must not contain spaces or control characters")]
    Blank,
    /// A `wss://` host name that is not a valid TLS server name.
    #[error("names a host that TLS cannot verify a certificate for")]
    TlsName,
    /// The URL contains the station password (found by the configuration, which knows it).
    #[error(
        "must not contain the station password (OCPP_STATION_PASSWORD): URLs are shown in logs, \
         the status file and the --once report"
    )]
    Password,
}

/// A validated `ws://`/`wss://` URL in canonical form. It reads as its text wherever a string is
/// expected (logs, reports, the status file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsmsUrl {
    url: Url,
    /// `Some` for `wss://`: the name the server certificate must carry, checked at parse time so
    /// that a dial cannot fail on it.
    tls_name: Option<ServerName<'static>>,
}

/// Where the dialler connects: the host as a name to resolve or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialHost {
    /// A DNS name (lower-case, IDNA-encoded).
    Name(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl fmt::Display for DialHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialHost::Name(name) => f.write_str(name),
            DialHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            DialHost::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Characters percent-encoded in the identity path segment: the WHATWG path-segment set, plus
/// the few that proxies and CSMS routers commonly mangle.
const IDENTITY_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl CsmsUrl {
    /// Parses and checks `text` (already trimmed).
    pub fn parse(text: &str) -> Result<Self, UrlProblem> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlProblem::Blank);
        }
        let (scheme, rest) = text.split_once("://").ok_or(UrlProblem::Scheme)?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            _ => return Err(UrlProblem::Scheme),
        };
        // WHATWG skips extra slashes after a special scheme (`wss:///ocpp` would dial host
        // "ocpp"): a missing host is an error, not a guess.
        if rest.starts_with(['/', '\\']) {
            return Err(UrlProblem::NoHost);
        }
        if has_credentials(rest) {
            return Err(UrlProblem::Credentials);
        }
        let url = Url::parse(text).map_err(|e| match e {
            ParseError::EmptyHost => UrlProblem::NoHost,
            ParseError::InvalidPort => UrlProblem::Port,
            _ => UrlProblem::Host,
        })?;
        // Caught above already; checked again on the parser's own reading.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::Credentials);
        }
        if url.fragment().is_some() {
            return Err(UrlProblem::Fragment);
        }
        if url.query().is_some() {
            return Err(UrlProblem::Query);
        }
        if url.port() == Some(0) {
            return Err(UrlProblem::Port);
        }
        let tls_name = match url.host() {
            None => return Err(UrlProblem::NoHost),
            Some(Host::Domain("")) => return Err(UrlProblem::NoHost),
            Some(_) if !tls => None,
            Some(Host::Domain(name)) => {
                Some(ServerName::try_from(name.to_owned()).map_err(|_| UrlProblem::TlsName)?)
            }
            Some(Host::Ipv4(ip)) => Some(ServerName::IpAddress(IpAddr::V4(ip).into())),
            Some(Host::Ipv6(ip)) => Some(ServerName::IpAddress(IpAddr::V6(ip).into())),
        };
        Ok(Self { url, tls_name })
    }

    /// The URL to dial for the station `identity` (OCPP-J: `<endpoint>/<identity>`). When the
    /// last path segment already is the identity (compared percent-decoded: fleet env files hold
    /// the full URL) the URL is kept; otherwise `/<percent-encoded identity>` is appended.
    /// Trailing slashes are dropped first, so neither `.../ocpp/` nor `.../ocpp/ID/` gives an
    /// empty segment. `identity` must not be empty, `.` or `..` (the configuration refuses
    /// those): a URL path cannot carry them as a segment.
    pub fn with_identity(&self, identity: &str) -> Self {
        let path = self.url.path().trim_end_matches('/');
        let last = path.rsplit('/').next().unwrap_or_default();
        let already_there =
            !last.is_empty() && percent_decode_str(last).decode_utf8_lossy() == identity;
        let new_path = if already_there {
            path.to_owned()
        } else {
            format!("{path}/{}", utf8_percent_encode(identity, IDENTITY_SEGMENT))
        };
        let mut url = self.url.clone();
        url.set_path(&new_path);
        Self {
            url,
            tls_name: self.tls_name.clone(),
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// True for `wss://`.
    pub fn is_tls(&self) -> bool {
        self.tls_name.is_some()
    }

    /// The host to connect to.
    pub fn host(&self) -> DialHost {
        match self.url.host() {
            Some(Host::Ipv4(ip)) => DialHost::Ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => DialHost::Ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => DialHost::Name(name.to_owned()),
            // Unreachable: parse() refuses a URL without a host.
            None => DialHost::Name(String::new()),
        }
    }

    /// The port to connect to: the URL's, or 80 for `ws://` and 443 for `wss://`.
    pub fn port(&self) -> u16 {
        self.url
            .port_or_known_default()
            .unwrap_or(if self.is_tls() { 443 } else { 80 })
    }

    /// The request target of the upgrade (the path; a query is refused).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The `Host` header: the host, and the port when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The name the server certificate must carry (`wss://` only).
    pub fn tls_name(&self) -> Option<&ServerName<'static>> {
        self.tls_name.as_ref()
    }
}

impl Deref for CsmsUrl {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for CsmsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `rest` is the text after `scheme://`. True when it starts with userinfo: an `@` in the
/// authority (which WHATWG ends at `/`, `\`, `?` or `#`), or an `@` whose text before it has no
/// `/` (a password holding `?` or `#` would otherwise turn into a query or fragment, and the
/// user part into the host).
fn has_credentials(rest: &str) -> bool {
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or(rest);
    if authority.contains('@') {
        return true;
    }
    rest.rfind('@')
        .and_then(|at| rest.get(..at))
        .is_some_and(|before| !before.contains(['/', '\\']))
}

/// `text` as it may be shown in an error about it, or `None` when it may hold a password:
/// with credentials, `scheme://***@` and what follows the last `@`; with a query or fragment,
/// everything up to it; otherwise the text itself when it has no `@` at all.
pub fn shown_in_error(text: &str, problem: UrlProblem) -> Option<String> {
    match problem {
        UrlProblem::Credentials => {
            let (scheme, rest) = text.split_once("://")?;
            let (_, host) = rest.rsplit_once('@')?;
            Some(format!("{scheme}://***@{host}"))
        }
        _ if text.contains('@') => None,
        UrlProblem::Query | UrlProblem::Fragment => {
            let cut = text.find(['?', '#']).unwrap_or(text.len());
            let (base, tail) = text.split_at(cut);
            let marker = if tail.starts_with('?') {
                "?..."
            } else {
                "#..."
            };
            Some(format!("{base}{marker}"))
        }
        _ => Some(text.to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ok(text: &str) -> CsmsUrl {
        CsmsUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str) -> UrlProblem {
        match CsmsUrl::parse(text) {
            Ok(url) => panic!("{text} was accepted as {url}"),
            Err(problem) => problem,
        }
    }

    #[test]
    fn canonical_form() {
        for (given, canonical) in [
            ("wss://csms.example.com/ocpp", "wss://csms.example.com/ocpp"),
            (
                "WSS://CSMS.Example.com:443/ocpp",
                "wss://csms.example.com/ocpp",
            ),
            ("ws://h:80", "ws://h/"),
            ("ws://h:8080/a/../ocpp", "ws://h:8080/ocpp"),
            ("wss://[::1]:9000", "wss://[::1]:9000/"),
            ("ws://127.0.0.1:65535/x", "ws://127.0.0.1:65535/x"),
            ("ws://127.0.0.1:1/x", "ws://127.0.0.1:1/x"),
            ("wss://h/ocpp/a@b", "wss://h/ocpp/a@b"),
            ("wss://h/%41%2F", "wss://h/%41%2F"),
        ] {
            assert_eq!(ok(given).as_str(), canonical, "{given}");
            assert_eq!(ok(canonical).as_str(), canonical, "canonical is stable");
        }
    }

    #[test]
    fn what_is_refused() {
        for (text, problem) in [
            ("http://h/ocpp", UrlProblem::Scheme),
            ("h/ocpp", UrlProblem::Scheme),
            ("ws:/h/ocpp", UrlProblem::Scheme),
            ("wss://", UrlProblem::NoHost),
            ("wss:///ocpp", UrlProblem::NoHost),
            ("wss://:443/ocpp", UrlProblem::NoHost),
            ("ws://h:0/x", UrlProblem::Port),
            ("ws://h:65536/x", UrlProblem::Port),
            ("ws://h:99999/x", UrlProblem::Port),
            ("ws://h:http/x", UrlProblem::Port),
            ("ws://h/x?a=1", UrlProblem::Query),
            ("ws://h/x?", UrlProblem::Query),
            ("ws://h/x#f", UrlProblem::Fragment),
            ("ws://h/x#", UrlProblem::Fragment),
            ("ws://h/o cpp", UrlProblem::Blank),
            ("ws://h/o\tcpp", UrlProblem::Blank),
            ("ws://ID:PASSWORD@h:9000/ocpp", UrlProblem::Credentials),
            ("ws://ID@h/ocpp", UrlProblem::Credentials),
            ("ws://@h/ocpp", UrlProblem::Credentials),
            ("ws://:@h/ocpp", UrlProblem::Credentials),
            ("ws://ID:pa?ss@h:9000/ocpp", UrlProblem::Credentials),
            ("ws://ID:pa#ss@h/ocpp", UrlProblem::Credentials),
            ("ws://ID:p@ss@h/ocpp", UrlProblem::Credentials),
            ("ws://exa<mple/x", UrlProblem::Host),
            ("ws://999.1.1.1/x", UrlProblem::Host),
            ("wss://a..b/x", UrlProblem::TlsName),
            ("ws://[::1/x", UrlProblem::Host),
            ("wss://a*b.example/x", UrlProblem::TlsName),
        ] {
            assert_eq!(refused(text), problem, "{text}");
        }
    }

    #[test]
    fn the_dialler_gets_the_parsed_host_and_port() {
        let url = ok("ws://127.0.0.1:9000/ocpp");
        assert_eq!(url.host(), DialHost::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(url.port(), 9000);
        assert_eq!(url.path(), "/ocpp");
        assert_eq!(url.host_header(), "127.0.0.1:9000");
        assert!(url.tls_name().is_none());

        let url = ok("wss://CSMS.example/ocpp");
        assert_eq!(url.host(), DialHost::Name("csms.example".into()));
        assert_eq!(url.port(), 443);
        assert_eq!(url.host_header(), "csms.example");
        assert!(url.is_tls());

        let url = ok("wss://[::1]:9443/");
        assert_eq!(url.host(), DialHost::Ip("::1".parse().unwrap()));
        assert_eq!(url.host().to_string(), "[::1]");
        assert_eq!(url.host_header(), "[::1]:9443");
    }

    #[test]
    fn the_identity_is_appended_once() {
        let id = "ORGE_AC_001";
        for (url, expected) in [
            ("wss://h/ocpp", "wss://h/ocpp/ORGE_AC_001"),
            ("wss://h/ocpp/", "wss://h/ocpp/ORGE_AC_001"),
            ("wss://h", "wss://h/ORGE_AC_001"),
            ("wss://h/ocpp/ORGE_AC_001", "wss://h/ocpp/ORGE_AC_001"),
            ("wss://h/ocpp/ORGE_AC_001//", "wss://h/ocpp/ORGE_AC_001"),
            (
                "wss://h/ocpp/ORGE%5FAC%5F001",
                "wss://h/ocpp/ORGE%5FAC%5F001",
            ),
            (
                "wss://h/ocpp/ORGE_AC_0011",
                "wss://h/ocpp/ORGE_AC_0011/ORGE_AC_001",
            ),
            ("wss://ORGE_AC_001", "wss://orge_ac_001/ORGE_AC_001"),
        ] {
            let dialled = ok(url).with_identity(id);
            assert_eq!(dialled.as_str(), expected, "{url}");
            assert_eq!(dialled.with_identity(id), dialled, "idempotent");
        }
        assert_eq!(
            ok("wss://h/ocpp").with_identity("a/b?c#d%e").as_str(),
            "wss://h/ocpp/a%2Fb%3Fc%23d%25e"
        );
    }

    #[test]
    fn every_printable_identity_is_one_segment() {
        for c in (0x21u8..=0x7e).map(char::from).filter(|&c| c != ':') {
            let id = format!("ID{c}{c}X");
            let url = ok("wss://h/ocpp").with_identity(&id);
            let reparsed = ok(url.as_str());
            assert_eq!(reparsed, url, "{url}");
            let last = url.path().rsplit('/').next().unwrap();
            assert_eq!(percent_decode_str(last).decode_utf8_lossy(), id, "{url}");
            assert_eq!(url.path().matches('/').count(), 2, "{url}");
        }
    }

    #[test]
    fn errors_never_show_a_password() {
        let password = "S3cr3t-pw";
        for text in [
            "ws://ID:S3cr3t-pw@h:9000/ocpp",
            "ws://ID:S3cr3t-pw?x@h:9000/ocpp",
            "ws://ID:S3cr3t-pw#x@h/ocpp",
            "ws://ID:S3/cr3t-pw@h/ocpp",
            "ws://ID:S3cr3t-pw/@h:0/ocpp",
            "http://ID:S3cr3t-pw@h/ocpp",
        ] {
            let problem = refused(text);
            let shown = shown_in_error(text, problem).unwrap_or_default();
            assert!(!shown.contains(password), "{text}: {shown}");
            assert!(!problem.to_string().contains(password));
        }
        assert_eq!(
            shown_in_error("ws://ID:pw@h:9000/ocpp", UrlProblem::Credentials).as_deref(),
            Some("ws://***@h:9000/ocpp")
        );
        assert_eq!(
            shown_in_error("ws://h/ocpp?token=abc", UrlProblem::Query).as_deref(),
            Some("ws://h/ocpp?...")
        );
        assert_eq!(
            shown_in_error("ws://h:99999/ocpp", UrlProblem::Port).as_deref(),
            Some("ws://h:99999/ocpp")
        );
    }
}
