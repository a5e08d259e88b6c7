//! One dial: name resolution, TCP, TLS (rustls), the WebSocket upgrade with Basic auth and the
//! OCPP subprotocol offer, and a precise account of what went wrong when it does.
//!
//! The upgrade is written and read here rather than by `connect_async_tls_with_config`, on
//! purpose: tungstenite 0.30 checks `Sec-WebSocket-Protocol` itself and, when the CSMS selects
//! none or an unknown one, drops the socket and discards the answer. The station needs the
//! answer (to name the value the CSMS chose, to read why an upgrade was refused) and the open
//! socket (to close it with a WebSocket Close frame, so the CSMS logs a clean refusal instead of
//! a reset). tungstenite still does the parts that are easy to get wrong: the request key, the
//! answer parser and `Sec-WebSocket-Accept`. The request head is written from the parsed
//! [`CsmsUrl`], so the station connects to exactly the host and port that parse found and asks
//! for exactly its path; writing it here also keeps the `Authorization` header out of
//! tungstenite's trace-level dump of the raw request.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::{Response, generate_key};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::handshake::machine::TryParse as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::csms_url::{CsmsUrl, DialHost};
use crate::ocpp::OcppVersion;
use crate::redact;
use crate::secret::Secret;

/// The WebSocket connection to the CSMS, over plain TCP or rustls.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest incoming message and frame. A CSMS may send 1 MiB frames (a large
/// SetChargingProfile, a long local authorization list); 4 MiB leaves room for that while keeping
/// a misbehaving peer from making the station buffer tungstenite's 64 MiB default.
pub const MAX_MESSAGE_SIZE: usize = 4 << 20;

/// How much tungstenite reads from the socket at a time. Its default, 128 KiB, is zero-filled
/// before every read, so all of it stays resident for the life of the connection; OCPP messages
/// are a few hundred bytes, and a larger frame still arrives whole, over several reads.
const READ_CHUNK_SIZE: usize = 8 << 10;

/// An HTTP answer head larger than this is not a WebSocket upgrade answer.
const MAX_ANSWER_HEAD: usize = 16 * 1024;

/// How much of a refusal's body is read to tell a version refusal from another bad request.
const MAX_REFUSAL_BODY: usize = 4 * 1024;

/// How long the body of a refusal may take to arrive: it only refines the classification.
const REFUSAL_BODY_WAIT: Duration = Duration::from_secs(1);

/// How long a refused connection may take to close politely before it is just dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Every `attempts[].outcome` of a failed dial, as [`DialError::outcome`] names them (the
/// `--once` schema lists these and `connected`).
pub const FAILURE_OUTCOMES: &[&str] = &[
    "version_mismatch",
    "unauthorized",
    "not_found",
    "http_error",
    "tls_error",
    "network_error",
    "timeout",
];

/// Everything one dial needs.
#[derive(Debug, Clone)]
pub struct DialRequest<'a> {
    /// The final URL (ending in the identity), as the configuration validated it.
    pub url: &'a CsmsUrl,
    /// The subprotocols to offer, in order of preference; must not be empty (with nothing
    /// offered the CSMS cannot select a version and the dial ends in
    /// [`DialError::NoSubprotocol`]).
    pub offer: &'a [OcppVersion],
    /// The station identity: the Basic-auth user name.
    pub identity: &'a str,
    /// The Basic-auth password (security profiles 1 and 2); `None` sends no `Authorization`.
    pub password: Option<&'a Secret>,
    /// The TLS configuration for `wss://` (see [`client_config`](super::client_config)).
    pub tls: Arc<rustls::ClientConfig>,
    /// The deadline for the whole dial: name resolution, TCP, TLS and the upgrade.
    pub timeout: Duration,
}

/// How far a dial got; names what a timeout interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStage {
    /// Looking the host name up.
    Resolving,
    /// Opening the TCP connection.
    Connecting,
    /// The TLS handshake.
    Tls,
    /// Waiting for the answer to the upgrade request.
    Answer,
}

/// Why a dial failed. The texts are sentences for a technician that say what to check; none of
/// them contains the password or the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// Name resolution, the TCP connect, or the connection failing during the upgrade.
    #[error("{0}")]
    Network(String),
    /// The TLS handshake failed (certificate not trusted, name mismatch, client certificate
    /// refused, ...).
    #[error("{0}")]
    Tls(String),
    /// The CSMS answered the upgrade with an HTTP status other than 101 (a 400 only for an offer
    /// of both versions without a word about the subprotocol; see [`DialError::OfferRefused`]).
    #[error("{}", http_sentence(*status))]
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// HTTP 400 to a single-version offer, or one whose body names the subprotocol: the CSMS
    /// does not accept the offered OCPP version at this URL.
    #[error(
        "the CSMS refused the WebSocket upgrade with HTTP {status} for the offered subprotocol \
         {offered}: it does not accept this OCPP version at this URL; check the URL of that \
         version with the operator, or set OCPP_PRIMARY to the version the CSMS speaks"
    )]
    OfferRefused {
        /// The HTTP status code (400).
        status: u16,
        /// The offer as sent, e.g. `ocpp2.0.1`.
        offered: String,
    },
    /// The connection ended after the request was sent and before any complete answer. Some
    /// CSMSs do this when they do not accept the offered subprotocol.
    #[error(
        "the CSMS closed the connection without answering the WebSocket upgrade: it may not \
         accept the offered OCPP version, or the port expects wss:// (TLS) where the URL says \
         ws://"
    )]
    ClosedBeforeAnswer,
    /// The CSMS completed the upgrade but selected no subprotocol: it accepts none of the
    /// offered OCPP versions.
    #[error(
        "the CSMS accepted the WebSocket upgrade without selecting an OCPP subprotocol: it does \
         not accept the offered OCPP version at this URL; check the URL of that version with the \
         operator, or set OCPP_PRIMARY to the version the CSMS speaks"
    )]
    NoSubprotocol,
    /// The CSMS selected a subprotocol the station did not offer (the value, made printable).
    #[error(
        "the CSMS selected the subprotocol '{0}', which the station did not offer: it does not \
         accept the offered OCPP version at this URL"
    )]
    UnexpectedSubprotocol(String),
    /// The answer was not a usable WebSocket upgrade answer (not HTTP, wrong accept key, ...).
    #[error("{0}")]
    BadAnswer(String),
    /// The dial did not complete within [`DialRequest::timeout`].
    #[error("{}", timeout_sentence(*after, *stage))]
    Timeout {
        /// The dial timeout.
        after: Duration,
        /// What the dial was waiting for.
        stage: DialStage,
    },
}

impl DialError {
    /// True when the failure says "this endpoint does not speak the offered version", so the
    /// dial plan may switch to the other version (or offer each alone) at once.
    pub fn is_version_mismatch(&self) -> bool {
        matches!(
            self,
            DialError::NoSubprotocol
                | DialError::UnexpectedSubprotocol(_)
                | DialError::OfferRefused { .. }
                | DialError::ClosedBeforeAnswer
                | DialError::Http { status: 400 | 404 }
        )
    }

    /// The failure class for reports (`attempts[].outcome` of `--once`), one of
    /// [`FAILURE_OUTCOMES`].
    pub fn outcome(&self) -> &'static str {
        match self {
            DialError::NoSubprotocol
            | DialError::UnexpectedSubprotocol(_)
            | DialError::OfferRefused { .. } => "version_mismatch",
            DialError::Http { status: 401 | 403 } => "unauthorized",
            DialError::Http { status: 404 } => "not_found",
            DialError::Http { .. } | DialError::BadAnswer(_) => "http_error",
            DialError::Tls(_) => "tls_error",
            DialError::Network(_) | DialError::ClosedBeforeAnswer => "network_error",
            DialError::Timeout { .. } => "timeout",
        }
    }

    /// The HTTP status of a refused upgrade.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            DialError::Http { status } | DialError::OfferRefused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for HTTP 401 and 403: the credentials (or the client certificate) were refused.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.http_status(), Some(401 | 403))
    }
}

fn http_sentence(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let answered = format!("the CSMS answered the WebSocket upgrade with HTTP {status}{reason}");
    match status {
        401 => "the CSMS refused the station's credentials (HTTP 401 Unauthorized): check the \
                station name and password (OCPP_STATION_NAME, OCPP_STATION_PASSWORD) against \
                the CSMS's record"
            .to_owned(),
        403 => "the CSMS refused access (HTTP 403 Forbidden): check that the station is \
                registered there under OCPP_STATION_NAME, and its credentials"
            .to_owned(),
        404 => "the CSMS has no endpoint at this URL (HTTP 404 Not Found): check the URL, the \
                station name at its end, and that this OCPP version is served there"
            .to_owned(),
        400 => "the CSMS rejected the upgrade request (HTTP 400 Bad Request) to the offer of \
                both OCPP versions; some CSMSs accept only one subprotocol per offer, so each is \
                offered alone next"
            .to_owned(),
        300..=399 => format!(
            "{answered}: it redirects the connection elsewhere, which a station does not \
             follow; ask the operator for the current URL"
        ),
        500..=599 => format!(
            "{answered}: the CSMS has a problem on its side (overloaded, in maintenance); try \
             again later or ask the operator"
        ),
        _ => format!("{answered}: check the URL with the operator"),
    }
}

fn timeout_sentence(after: Duration, stage: DialStage) -> String {
    let within = format!("within {} (OCPP_CALL_TIMEOUT_SECONDS)", seconds(after));
    match stage {
        DialStage::Resolving => format!(
            "the CSMS host name could not be resolved {within}: check the station's network \
             connection and DNS settings (/etc/resolv.conf)"
        ),
        DialStage::Connecting => format!(
            "the CSMS did not accept a TCP connection {within}: check the host and port in the \
             URL, the network, and whether a firewall drops the connection"
        ),
        DialStage::Tls => format!(
            "the TLS handshake with the CSMS did not complete {within}: check that the port \
             serves wss:// (TLS)"
        ),
        DialStage::Answer => format!(
            "the CSMS accepted the connection but did not answer the WebSocket upgrade {within}: \
             check that the URL points at the CSMS's OCPP endpoint and that ws:// or wss:// \
             matches the port, or ask the operator whether the CSMS is overloaded"
        ),
    }
}

/// "30 s", "0.3 s".
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Dials `req.url`, offers `req.offer`, and returns the open WebSocket with the version the CSMS
/// selected. When the CSMS completes the upgrade but selects no offered subprotocol, the socket
/// is closed with a Close frame (1002) before the error is returned.
pub async fn dial(req: &DialRequest<'_>) -> Result<(WsStream, OcppVersion), DialError> {
    let shown = req.url.as_str();
    let offered = offer_header(req.offer);
    tracing::info!(url = %shown, offer = %offered, "dialling the CSMS");

    let mut stage = DialStage::Resolving;
    let upgraded = tokio::time::timeout(req.timeout, upgrade(req, &mut stage)).await;
    let upgraded = upgraded.unwrap_or(Err(DialError::Timeout {
        after: req.timeout,
        stage,
    }));
    let result = match upgraded {
        Ok(Upgraded::Agreed(ws, version)) => Ok((ws, version)),
        Ok(Upgraded::Refused(ws, error)) => {
            close_politely(ws, req.timeout).await;
            Err(error)
        }
        Err(error) => Err(error),
    };

    match &result {
        Ok((_, version)) => tracing::info!(
            url = %shown,
            offer = %offered,
            subprotocol = version.subprotocol(),
            "connected to the CSMS"
        ),
        Err(error) => tracing::warn!(
            url = %shown,
            offer = %offered,
            outcome = error.outcome(),
            error = %error,
            "dial failed"
        ),
    }
    result
}

/// The result of an upgrade that got a 101 answer.
enum Upgraded {
    /// The CSMS selected one of the offered subprotocols.
    Agreed(WsStream, OcppVersion),
    /// The CSMS completed the upgrade but selected nothing usable; the socket still needs closing.
    Refused(WsStream, DialError),
}

async fn upgrade(req: &DialRequest<'_>, stage: &mut DialStage) -> Result<Upgraded, DialError> {
    let url = req.url;
    let endpoint = format!("{}:{}", url.host(), url.port());
    let tcp = connect(url, &endpoint, stage).await?;

    let mut stream = match url.tls_name() {
        None => MaybeTlsStream::Plain(tcp),
        Some(name) => {
            *stage = DialStage::Tls;
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&req.tls));
            let tls = connector.connect(name.clone(), tcp).await.map_err(|e| {
                DialError::Tls(format!(
                    "TLS handshake with {endpoint} failed: {}",
                    tls_detail(&e)
                ))
            })?;
            MaybeTlsStream::Rustls(tls)
        }
    };

    *stage = DialStage::Answer;
    let key = generate_key();
    stream
        .write_all(&request_head(req, &key))
        .await
        .map_err(|e| during_upgrade(&e, &endpoint))?;
    stream
        .flush()
        .await
        .map_err(|e| during_upgrade(&e, &endpoint))?;

    let (response, tail) = read_answer(&mut stream, &endpoint).await?;
    if response.status() == StatusCode::BAD_REQUEST {
        let body = read_refusal_body(&mut stream, &response, tail).await;
        return Err(bad_request(req.offer, &body));
    }
    check_upgrade(&response, &derive_accept_key(key.as_bytes()))?;

    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_MESSAGE_SIZE))
        .read_buffer_size(READ_CHUNK_SIZE);
    // Bytes after the answer head are the CSMS's first frames: hand them to the WebSocket.
    let ws = WebSocketStream::from_partially_read(stream, tail, Role::Client, Some(config)).await;
    Ok(match selected_version(&response, req.offer) {
        Ok(version) => Upgraded::Agreed(ws, version),
        Err(error) => Upgraded::Refused(ws, error),
    })
}

/// The TCP connection to the URL's host and port: the name resolved (every address tried in
/// turn), or the address as it is.
async fn connect(
    url: &CsmsUrl,
    endpoint: &str,
    stage: &mut DialStage,
) -> Result<TcpStream, DialError> {
    let port = url.port();
    let addresses: Vec<SocketAddr> = match url.host() {
        DialHost::Ip(ip) => vec![SocketAddr::new(ip, port)],
        DialHost::Name(name) => tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|e| {
                DialError::Network(format!(
                    "could not resolve the CSMS host name {name} ({e}): check the host name in \
                     the URL and the station's DNS settings (/etc/resolv.conf)"
                ))
            })?
            .collect(),
    };
    *stage = DialStage::Connecting;
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last_error = Some(e),
        }
    }
    Err(DialError::Network(match last_error {
        None => format!(
            "the CSMS host name of {endpoint} resolved to no address: check the host name in \
             the URL and the station's DNS settings (/etc/resolv.conf)"
        ),
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => format!(
            "could not connect to {endpoint}: connection refused, nothing listens there; check \
             that the CSMS is running and that the host and port in the URL are right"
        ),
        Some(e) => format!(
            "could not connect to {endpoint} ({e}): check the station's network connection, the \
             host and port in the URL, and whether a firewall blocks the port"
        ),
    }))
}

/// The upgrade request head (RFC 6455 section 4.1), with the conventional header spelling: some
/// CSMSs match header names case-sensitively.
fn request_head(req: &DialRequest<'_>, key: &str) -> Vec<u8> {
    let url = req.url;
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n",
        url.path(),
        url.host_header()
    );
    if !req.offer.is_empty() {
        head.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            offer_header(req.offer)
        ));
    }
    if let Some(password) = req.password {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            req.identity,
            password.expose()
        ));
        head.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Reads up to the end of the answer head; returns the parsed answer and the bytes after it.
async fn read_answer(
    stream: &mut MaybeTlsStream<TcpStream>,
    endpoint: &str,
) -> Result<(Response, Vec<u8>), DialError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| during_upgrade(&e, endpoint))?;
        if n == 0 {
            return Err(DialError::ClosedBeforeAnswer);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        match Response::try_parse(&buf) {
            Ok(Some((head_len, response))) => {
                let tail = buf.get(head_len..).map(<[u8]>::to_vec).unwrap_or_default();
                return Ok((response, tail));
            }
            Ok(None) if buf.len() > MAX_ANSWER_HEAD => {
                return Err(DialError::BadAnswer(format!(
                    "{endpoint} sent more than {} KiB of HTTP headers in answer to the \
                     WebSocket upgrade",
                    MAX_ANSWER_HEAD / 1024
                )));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(DialError::BadAnswer(format!(
                    "{endpoint} did not answer the WebSocket upgrade with valid HTTP ({e}); \
                     check that the URL points at the CSMS's OCPP endpoint and that ws:// or \
                     wss:// matches the port"
                )));
            }
        }
    }
}

/// Up to [`MAX_REFUSAL_BODY`] bytes of a refusal's body (`tail`: what came with the head),
/// waiting at most [`REFUSAL_BODY_WAIT`] for the rest.
async fn read_refusal_body(
    stream: &mut MaybeTlsStream<TcpStream>,
    response: &Response,
    mut body: Vec<u8>,
) -> Vec<u8> {
    let wanted = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(MAX_REFUSAL_BODY)
        .min(MAX_REFUSAL_BODY);
    let reading = async {
        let mut chunk = [0u8; 1024];
        while body.len() < wanted {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    };
    // Whatever arrived in time is enough to classify; the rest does not matter.
    let _ = tokio::time::timeout(REFUSAL_BODY_WAIT, reading).await;
    body
}

/// HTTP 400 on the upgrade. Offered one version alone, or told about the subprotocol in the
/// body (as the `websockets` server library says "invalid subprotocol"), the CSMS refused that
/// OCPP version. A 400 to an offer of both versions without such a word may be a CSMS that
/// accepts only one value per offer; it stays an HTTP error, which the dial plan still answers
/// by offering each version alone.
fn bad_request(offer: &[OcppVersion], body: &[u8]) -> DialError {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    let names_subprotocol = text.contains("subprotocol") || text.contains("sec-websocket-protocol");
    if offer.len() == 1 || names_subprotocol {
        DialError::OfferRefused {
            status: 400,
            offered: offer_header(offer),
        }
    } else {
        DialError::Http { status: 400 }
    }
}

/// RFC 6455 section 4.1: a 101 with `Upgrade: websocket`, `Connection: Upgrade` and the
/// accept key derived from ours.
fn check_upgrade(response: &Response, accept_key: &str) -> Result<(), DialError> {
    let status = response.status().as_u16();
    if status != 101 {
        return Err(DialError::Http { status });
    }
    let headers = response.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(DialError::BadAnswer(
            "the CSMS answered 101 without the 'Upgrade: websocket' and 'Connection: Upgrade' \
             headers"
                .to_owned(),
        ));
    }
    let accept = headers
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .map(HeaderValue::as_bytes);
    if accept != Some(accept_key.as_bytes()) {
        return Err(DialError::BadAnswer(
            "the CSMS's Sec-WebSocket-Accept does not match the request (is a proxy in between \
             rewriting the upgrade?)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// The offered version the CSMS selected.
fn selected_version(response: &Response, offer: &[OcppVersion]) -> Result<OcppVersion, DialError> {
    let Some(value) = response.headers().get(header::SEC_WEBSOCKET_PROTOCOL) else {
        return Err(DialError::NoSubprotocol);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let name = text.trim();
    if name.is_empty() {
        return Err(DialError::NoSubprotocol);
    }
    // Subprotocol names are case-sensitive (RFC 6455 section 4.1): compare exactly.
    offer
        .iter()
        .copied()
        .find(|v| v.subprotocol() == name)
        .ok_or_else(|| DialError::UnexpectedSubprotocol(redact::printable(name, 64)))
}

/// Sends a Close frame and waits briefly for the CSMS's answering Close, so the refusal shows up
/// on the CSMS as a clean closing handshake rather than a reset. 1002: the answer did not
/// complete the OCPP-J handshake.
async fn close_politely(mut ws: WsStream, dial_timeout: Duration) {
    let frame = CloseFrame {
        code: CloseCode::Protocol,
        reason: "no offered OCPP subprotocol was selected".into(),
    };
    let closing = async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    // Whatever happens here, the dial has already failed: the outcome is only logged.
    if tokio::time::timeout(dial_timeout.min(CLOSE_GRACE), closing)
        .await
        .is_err()
    {
        tracing::debug!("the CSMS did not answer the Close frame in time; dropping the socket");
    }
}

/// The rustls error inside a tokio-rustls I/O error (or the I/O error itself), and what to check.
fn tls_detail(e: &io::Error) -> String {
    match rustls_error(e) {
        Some(inner) => format!("{inner}: {}", tls_hint(inner)),
        None => format!(
            "{e}: check that the URL's port serves wss:// (TLS) and that the network does not cut \
             the connection"
        ),
    }
}

/// What a technician should check for a TLS failure.
fn tls_hint(e: &rustls::Error) -> &'static str {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as E};
    match e {
        E::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => {
            "the CSMS's certificate is not issued by a CA the station trusts: set OCPP_CA_PATH \
             to the operator's CA bundle (PEM)"
        }
        E::InvalidCertificate(
            Cert::Expired
            | Cert::ExpiredContext { .. }
            | Cert::NotValidYet
            | Cert::NotValidYetContext { .. },
        ) => {
            "check the station's clock first (timedatectl: is NTP synchronised?), then the \
             certificate's validity with the operator"
        }
        E::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            "the URL's host name is not one the certificate is issued for: use the host name \
             the operator gave (not an IP address or an old name)"
        }
        E::AlertReceived(
            Alert::CertificateRequired
            | Alert::BadCertificate
            | Alert::UnknownCA
            | Alert::CertificateUnknown
            | Alert::HandshakeFailure,
        ) => {
            "the CSMS refused the TLS session; if it requires a client certificate, set \
             OCPP_AUTH_TYPE=mtls with OCPP_MTLS_CERT_PATH and OCPP_MTLS_KEY_PATH, and check \
             that the two belong together"
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "the port does not seem to speak TLS: check wss:// against the port (ws:// for a \
             plain one)"
        }
        _ => {
            "check that the URL's port serves wss:// and the TLS settings (OCPP_CA_PATH, \
              OCPP_MTLS_CERT_PATH, OCPP_MTLS_KEY_PATH)"
        }
    }
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// Classifies an I/O error after TCP (and TLS) are up.
fn during_upgrade(e: &io::Error, endpoint: &str) -> DialError {
    // With TLS 1.3 a refused client certificate is only reported after the client's handshake
    // has finished, i.e. while the upgrade is being read: still a TLS problem.
    if let Some(inner) = rustls_error(e) {
        return DialError::Tls(format!("TLS session with {endpoint} failed: {inner}"));
    }
    match e.kind() {
        // The request went out and the CSMS hung up instead of answering.
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => DialError::ClosedBeforeAnswer,
        _ => DialError::Network(format!(
            "the connection to {endpoint} failed during the WebSocket upgrade: {e}"
        )),
    }
}

/// The `Sec-WebSocket-Protocol` value: the offer in order, comma-separated.
fn offer_header(offer: &[OcppVersion]) -> String {
    offer
        .iter()
        .map(|v| v.subprotocol())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::link::tls::client_config;
    use crate::link::tls::tests::TestPki;
    use OcppVersion::{V16, V201};
    use futures_util::SinkExt as _;
    use std::sync::Mutex;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{
        ErrorResponse, Request as ServerRequest, Response as ServerResponse,
    };

    const BOTH: &[OcppVersion] = &[V201, V16];

    /// What the test CSMS saw.
    #[derive(Debug, Default, Clone)]
    struct Seen {
        offered: Option<String>,
        authorization: Option<String>,
        path: String,
        /// The first message after the upgrade (the Close frame, for refusals).
        first: Option<Message>,
    }

    fn plain_tls() -> Arc<rustls::ClientConfig> {
        client_config(None, None).unwrap()
    }

    fn url(text: &str) -> CsmsUrl {
        CsmsUrl::parse(text).unwrap()
    }

    fn request<'a>(
        url: &'a CsmsUrl,
        offer: &'a [OcppVersion],
        password: Option<&'a Secret>,
    ) -> DialRequest<'a> {
        DialRequest {
            url,
            offer,
            identity: "CP001",
            password,
            tls: plain_tls(),
            timeout: Duration::from_secs(10),
        }
    }

    /// A CSMS that completes the upgrade over any stream, answering with the subprotocol `pick`
    /// chooses from the request (or none), then records the first message it receives.
    // The callback's error type is tungstenite's, not ours to shrink.
    #[allow(clippy::result_large_err)]
    async fn serve_ws<S>(
        stream: S,
        pick: impl FnOnce(Option<&str>) -> Option<String> + Send + Unpin + 'static,
    ) -> Seen
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = Arc::clone(&seen);
        let callback = move |req: &ServerRequest,
                             mut resp: ServerResponse|
              -> Result<ServerResponse, ErrorResponse> {
            let header = |name| {
                req.headers()
                    .get(name)
                    .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
            };
            let offered = header(header::SEC_WEBSOCKET_PROTOCOL);
            if let Some(p) = pick(offered.as_deref()) {
                resp.headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, p.parse().unwrap());
            }
            let mut seen = record.lock().unwrap();
            seen.offered = offered;
            seen.authorization = header(header::AUTHORIZATION);
            seen.path = req.uri().path().to_owned();
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .unwrap();
        let first = ws.next().await.and_then(Result::ok);
        // Answer a Close so the client's polite close completes.
        while let Some(Ok(_)) = ws.next().await {}
        let mut seen = seen.lock().unwrap().clone();
        seen.first = first;
        seen
    }

    async fn ws_server(
        pick: impl FnOnce(Option<&str>) -> Option<String> + Send + Unpin + 'static,
    ) -> (CsmsUrl, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url(&format!(
            "ws://{}/ocpp/CP001",
            listener.local_addr().unwrap()
        ));
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve_ws(stream, pick).await
        });
        (url, task)
    }

    /// A server that reads the request head and answers with fixed bytes (or just hangs up).
    async fn raw_server(answer: &'static [u8]) -> (CsmsUrl, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url(&format!(
            "ws://{}/ocpp/CP001",
            listener.local_addr().unwrap()
        ));
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).await.unwrap() == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            stream.write_all(answer).await.unwrap();
            stream.shutdown().await.unwrap();
            String::from_utf8(head).unwrap()
        });
        (url, task)
    }

    #[tokio::test]
    async fn the_selected_subprotocol_gives_the_version() {
        let (url, server) = ws_server(|_| Some("ocpp1.6".to_owned())).await;
        let (mut ws, version) = dial(&request(&url, BOTH, None)).await.unwrap();
        assert_eq!(version, V16);
        ws.send(Message::text("[2,\"1\",\"Heartbeat\",{}]"))
            .await
            .unwrap();
        ws.close(None).await.unwrap();
        let seen = server.await.unwrap();
        assert_eq!(seen.offered.as_deref(), Some("ocpp2.0.1, ocpp1.6"));
        assert_eq!(seen.path, "/ocpp/CP001");
        assert_eq!(seen.authorization, None, "no password, no Authorization");
        assert_eq!(
            seen.first,
            Some(Message::text("[2,\"1\",\"Heartbeat\",{}]"))
        );
    }

    #[tokio::test]
    async fn no_subprotocol_is_refused_and_closed_politely() {
        let (url, server) = ws_server(|_| None).await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(err, DialError::NoSubprotocol);
        assert!(err.is_version_mismatch());
        assert_eq!(err.outcome(), "version_mismatch");
        match server.await.unwrap().first {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Protocol),
            other => panic!("expected a Close frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_subprotocol_is_named_and_closed_politely() {
        let (url, server) = ws_server(|_| Some("ocpp2.1".to_owned())).await;
        let err = dial(&request(&url, BOTH, None)).await.unwrap_err();
        assert_eq!(err, DialError::UnexpectedSubprotocol("ocpp2.1".to_owned()));
        assert!(err.is_version_mismatch());
        assert!(err.to_string().contains("'ocpp2.1'"), "{err}");
        assert!(matches!(
            server.await.unwrap().first,
            Some(Message::Close(Some(_)))
        ));
    }

    #[tokio::test]
    async fn a_subprotocol_that_was_not_offered_is_refused() {
        // 1.6 is a known version, but only 2.0.1 was offered.
        let (url, _server) = ws_server(|_| Some("ocpp1.6".to_owned())).await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(err, DialError::UnexpectedSubprotocol("ocpp1.6".to_owned()));
    }

    #[tokio::test]
    async fn the_basic_header_carries_identity_and_password() {
        let (url, server) = ws_server(|_| Some("ocpp2.0.1".to_owned())).await;
        let password = Secret::new("s3cret");
        let (mut ws, version) = dial(&request(&url, &[V201], Some(&password)))
            .await
            .unwrap();
        assert_eq!(version, V201);
        ws.close(None).await.unwrap();
        let seen = server.await.unwrap();
        // base64("CP001:s3cret")
        assert_eq!(
            seen.authorization.as_deref(),
            Some("Basic Q1AwMDE6czNjcmV0")
        );
        assert_eq!(seen.offered.as_deref(), Some("ocpp2.0.1"));
    }

    #[tokio::test]
    async fn http_401_is_unauthorized() {
        let (url, _server) =
            raw_server(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n").await;
        let password = Secret::new("hunter2");
        let err = dial(&request(&url, &[V201], Some(&password)))
            .await
            .unwrap_err();
        assert_eq!(err, DialError::Http { status: 401 });
        assert!(err.is_unauthorized());
        assert!(!err.is_version_mismatch());
        assert_eq!(err.outcome(), "unauthorized");
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[tokio::test]
    async fn http_404_is_not_found_and_a_version_mismatch() {
        let (url, server) =
            raw_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(err, DialError::Http { status: 404 });
        assert!(err.is_version_mismatch());
        assert_eq!(err.outcome(), "not_found");
        // The request head as the CSMS received it.
        let head = server.await.unwrap();
        assert!(head.starts_with("GET /ocpp/CP001 HTTP/1.1\r\n"), "{head}");
        for line in [
            "Upgrade: websocket\r\n",
            "Connection: Upgrade\r\n",
            "Sec-WebSocket-Version: 13\r\n",
            "Sec-WebSocket-Protocol: ocpp2.0.1\r\n",
        ] {
            assert!(head.contains(line), "{line:?} missing in {head}");
        }
    }

    #[tokio::test]
    async fn http_400_to_one_version_is_a_version_mismatch() {
        let (url, _s) = raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(
            err,
            DialError::OfferRefused {
                status: 400,
                offered: "ocpp2.0.1".into()
            }
        );
        assert!(err.is_version_mismatch());
        assert_eq!(err.outcome(), "version_mismatch");
        assert!(err.to_string().contains("ocpp2.0.1"), "{err}");
    }

    #[tokio::test]
    async fn http_400_to_both_versions_depends_on_what_the_body_says() {
        // What the Python `websockets` server answers when no offered subprotocol is supported.
        let (url, _s) = raw_server(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 85\r\n\r\n\
              Failed to open a WebSocket connection: invalid subprotocol; expected one of ocpp1.6.\n",
        )
        .await;
        let err = dial(&request(&url, BOTH, None)).await.unwrap_err();
        assert_eq!(err.outcome(), "version_mismatch", "{err:?}");

        let (url, _s) =
            raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request").await;
        let err = dial(&request(&url, BOTH, None)).await.unwrap_err();
        assert_eq!(err, DialError::Http { status: 400 });
        assert_eq!(err.outcome(), "http_error");
        assert!(
            err.is_version_mismatch(),
            "each version is still offered alone next"
        );
        assert!(err.to_string().contains("alone"), "{err}");
    }

    #[tokio::test]
    async fn other_statuses_are_http_errors_with_advice() {
        for (answer, status, advice) in [
            (
                &b"HTTP/1.1 503 Service Unavailable\r\n\r\n"[..],
                503,
                "503 Service Unavailable: the CSMS has a problem on its side",
            ),
            (
                b"HTTP/1.1 500 Internal Server Error\r\n\r\n",
                500,
                "try again later",
            ),
            (
                b"HTTP/1.1 301 Moved Permanently\r\nLocation: wss://x/\r\n\r\n",
                301,
                "ask the operator for the current URL",
            ),
        ] {
            let answer: &'static [u8] = answer;
            let (url, _s) = raw_server(answer).await;
            let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
            assert_eq!(err, DialError::Http { status });
            assert!(!err.is_version_mismatch());
            assert_eq!(err.outcome(), "http_error");
            assert!(err.to_string().contains(advice), "{err}");
        }
    }

    #[tokio::test]
    async fn a_hang_up_before_the_answer_is_closed_before_answer() {
        let (url, _server) = raw_server(b"").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(err, DialError::ClosedBeforeAnswer);
        assert!(err.is_version_mismatch());
    }

    #[tokio::test]
    async fn a_non_http_answer_is_a_bad_answer() {
        let (url, _server) = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert!(matches!(err, DialError::BadAnswer(_)), "{err:?}");
        assert_eq!(err.outcome(), "http_error");
    }

    #[tokio::test]
    async fn a_101_with_a_wrong_accept_key_is_a_bad_answer() {
        let (url, _server) = raw_server(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n",
        )
        .await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert!(
            matches!(err, DialError::BadAnswer(ref m) if m.contains("Sec-WebSocket-Accept")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_network_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = url(&format!("ws://{addr}/ocpp/CP001"));
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert!(
            matches!(err, DialError::Network(ref m) if m.contains(&addr.to_string())),
            "{err:?}"
        );
        assert!(err.to_string().contains("is running"), "{err}");
        assert_eq!(err.outcome(), "network_error");
        assert!(!err.is_version_mismatch());
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        // Bound but never accepted: the kernel completes TCP, nobody answers the upgrade.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url(&format!(
            "ws://{}/ocpp/CP001",
            listener.local_addr().unwrap()
        ));
        let mut req = request(&url, &[V201], None);
        req.timeout = Duration::from_millis(300);
        let err = dial(&req).await.unwrap_err();
        assert_eq!(
            err,
            DialError::Timeout {
                after: Duration::from_millis(300),
                stage: DialStage::Answer
            }
        );
        assert_eq!(err.outcome(), "timeout");
        assert!(
            err.to_string()
                .contains("did not answer the WebSocket upgrade within 0.3 s"),
            "{err}"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn the_dial_goes_to_the_parsed_host_port_and_path() {
        // A host name, not an address: resolved, then connected to on the URL's port.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = url(&format!("ws://LOCALHOST:{port}/a/../ocpp/CP%30%30%31"));
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap() == 1 {
                head.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.1 404 Not Found\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        let err = dial(&request(&target, &[V201], None)).await.unwrap_err();
        assert_eq!(err.outcome(), "not_found");
        let head = server.await.unwrap();
        assert!(
            head.starts_with("GET /ocpp/CP%30%30%31 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\nHost: localhost:{port}\r\n")),
            "{head}"
        );
    }

    #[tokio::test]
    async fn an_unresolvable_name_is_a_network_error_that_says_so() {
        let target = url("ws://no-such-host.invalid:9000/ocpp/CP001");
        let err = dial(&request(&target, &[V201], None)).await.unwrap_err();
        assert_eq!(err.outcome(), "network_error", "{err:?}");
        assert!(
            err.to_string()
                .contains("could not resolve the CSMS host name no-such-host.invalid"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn no_error_text_or_log_line_contains_the_password() {
        use std::io::Write;

        #[derive(Clone, Default)]
        struct Capture(Arc<Mutex<Vec<u8>>>);
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let (url, _server) =
            raw_server(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n").await;
        let password = Secret::new("hunter2");
        let err = dial(&request(&url, &[V201], Some(&password)))
            .await
            .unwrap_err();
        assert_eq!(err, DialError::Http { status: 401 });

        let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("dial failed"), "{logs}");
        assert!(logs.contains("unauthorized"), "{logs}");
        for text in [logs, err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("Q1AwMDE6aHVudGVyMg"), "{text}");
            assert!(!text.contains("Authorization"), "{text}");
        }
    }

    #[test]
    fn every_variant_has_a_documented_outcome() {
        let all = [
            DialError::Network(String::new()),
            DialError::Tls(String::new()),
            DialError::Http { status: 401 },
            DialError::Http { status: 403 },
            DialError::Http { status: 404 },
            DialError::Http { status: 500 },
            DialError::ClosedBeforeAnswer,
            DialError::NoSubprotocol,
            DialError::UnexpectedSubprotocol(String::new()),
            DialError::BadAnswer(String::new()),
            DialError::OfferRefused {
                status: 400,
                offered: String::new(),
            },
            DialError::Http { status: 400 },
            DialError::Timeout {
                after: Duration::ZERO,
                stage: DialStage::Resolving,
            },
        ];
        let mut seen: Vec<&str> = all.iter().map(DialError::outcome).collect();
        seen.sort_unstable();
        seen.dedup();
        let mut known = FAILURE_OUTCOMES.to_vec();
        known.sort_unstable();
        assert_eq!(seen, known, "every outcome is produced, and only those");
    }

    #[test]
    fn the_report_schema_lists_exactly_these_outcomes() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/once-result.schema.json")).unwrap();
        let listed = &schema["$defs"]["attempt"]["properties"]["outcome"]["enum"];
        let mut listed: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        listed.sort_unstable();
        let mut expected = FAILURE_OUTCOMES.to_vec();
        expected.push("connected");
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }

    /// A `wss://` CSMS for `localhost` with a certificate from the test CA; with
    /// `require_client_cert` it also requires a client certificate issued by that CA.
    async fn wss_server(
        pki: &TestPki,
        require_client_cert: bool,
    ) -> (CsmsUrl, JoinHandle<Option<Seen>>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_issuer.as_ref().der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(
                vec![pki.server_cert_der.clone()],
                pki.server_key_der.clone_key(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(stream).await.ok()?;
            Some(serve_ws(tls, |_| Some("ocpp2.0.1".to_owned())).await)
        });
        // The certificate is for "localhost"; the listener is on 127.0.0.1, which "localhost"
        // always includes (a ::1 tried first is refused and skipped).
        (url(&format!("wss://localhost:{port}/ocpp/CP001")), task)
    }

    #[tokio::test]
    async fn wss_works_with_the_ca_bundle() {
        let pki = TestPki::new();
        let (url, server) = wss_server(&pki, false).await;
        let mut req = request(&url, &[V201], None);
        req.tls = client_config(Some(&pki.ca_pem), None).unwrap();
        let (mut ws, version) = dial(&req).await.unwrap();
        assert_eq!(version, V201);
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Rustls(_)));
        ws.close(None).await.unwrap();
        assert!(server.await.unwrap().is_some());
    }

    #[tokio::test]
    async fn wss_without_the_ca_bundle_is_a_tls_error() {
        let pki = TestPki::new();
        let (url, _server) = wss_server(&pki, false).await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        match &err {
            DialError::Tls(message) => {
                assert!(
                    message.starts_with("TLS handshake with localhost:"),
                    "{message}"
                );
                assert!(
                    message.contains("invalid peer certificate: UnknownIssuer"),
                    "{message}"
                );
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
        assert_eq!(err.outcome(), "tls_error");
    }

    #[tokio::test]
    async fn mtls_works_with_the_client_certificate_and_fails_without() {
        let pki = TestPki::new();
        let (cert, key) = pki.client_pair(|k| k.serialize_pem());

        let (url, server) = wss_server(&pki, true).await;
        let mut req = request(&url, &[V201], None);
        req.tls = client_config(Some(&pki.ca_pem), Some((&cert, &key))).unwrap();
        let (mut ws, _) = dial(&req).await.unwrap();
        ws.close(None).await.unwrap();
        let seen = server.await.unwrap().expect("TLS accepted");
        assert_eq!(seen.authorization, None, "profile 3 sends no Basic header");

        let (url, _server) = wss_server(&pki, true).await;
        let mut req = request(&url, &[V201], None);
        req.tls = client_config(Some(&pki.ca_pem), None).unwrap();
        let err = dial(&req).await.unwrap_err();
        assert!(matches!(err, DialError::Tls(_)), "{err:?}");
    }
}
