//! One dial: TCP, TLS (rustls), the WebSocket upgrade with Basic auth and the OCPP subprotocol
//! offer, and a precise account of what went wrong when it does.
//!
//! The upgrade is written and read here rather than by `connect_async_tls_with_config`, on
//! purpose: tungstenite 0.30 checks `Sec-WebSocket-Protocol` itself and, when the CSMS selects
//! none or an unknown one, drops the socket and discards the answer. The station needs the
//! answer (to name the value the CSMS chose) and the open socket (to close it with a WebSocket
//! Close frame, so the CSMS logs a clean refusal instead of a reset). tungstenite still does the
//! parts that are easy to get wrong: the request key, the answer parser and `Sec-WebSocket-Accept`.
//! Writing the request here also keeps the `Authorization` header out of tungstenite's
//! trace-level dump of the raw request.

use crate::redact;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt as _;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::handshake::machine::TryParse as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ocpp::OcppVersion;
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

/// How long a refused connection may take to close politely before it is just dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Everything one dial needs.
#[derive(Debug, Clone)]
pub struct DialRequest<'a> {
    /// The final URL (`ws://` or `wss://`, ending in the identity).
    pub url: &'a str,
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

/// Why a dial failed. The texts are sentences for a technician; none of them contains the
/// password, the `Authorization` header or the userinfo of a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// The URL cannot be dialled (scheme, host, characters).
    #[error("{0}")]
    InvalidUrl(String),
    /// Name resolution, TCP connect, or the connection failing during the upgrade.
    #[error("{0}")]
    Network(String),
    /// The TLS handshake failed (certificate not trusted, name mismatch, client certificate
    /// refused, ...).
    #[error("{0}")]
    Tls(String),
    /// The CSMS answered the upgrade with an HTTP status other than 101.
    #[error("{}", http_sentence(*status))]
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// The connection ended after the request was sent and before any complete answer. Some
    /// CSMSs do this when they do not accept the offered subprotocol.
    #[error(
        "the CSMS closed the connection without answering the WebSocket upgrade; it may not \
         accept the offered OCPP version"
    )]
    ClosedBeforeAnswer,
    /// The CSMS completed the upgrade but selected no subprotocol: it accepts none of the
    /// offered OCPP versions.
    #[error(
        "the CSMS accepted the WebSocket upgrade without selecting an OCPP subprotocol: it does \
         not accept the offered OCPP version"
    )]
    NoSubprotocol,
    /// The CSMS selected a subprotocol the station did not offer (the value, made printable).
    #[error("the CSMS selected the subprotocol '{0}', which the station did not offer")]
    UnexpectedSubprotocol(String),
    /// The answer was not a usable WebSocket upgrade answer (not HTTP, wrong accept key, ...).
    #[error("{0}")]
    BadAnswer(String),
    /// The dial did not complete within [`DialRequest::timeout`].
    #[error("the CSMS did not complete the connection within the dial timeout")]
    Timeout,
}

impl DialError {
    /// True when the failure says "this endpoint does not speak the offered version", so the
    /// dial plan may switch to the other version at once.
    pub fn is_version_mismatch(&self) -> bool {
        matches!(
            self,
            DialError::NoSubprotocol
                | DialError::UnexpectedSubprotocol(_)
                | DialError::ClosedBeforeAnswer
                | DialError::Http { status: 400 | 404 }
        )
    }

    /// The failure class for reports (`attempts[].outcome` of `--once`): `version_mismatch`,
    /// `unauthorized`, `not_found`, `http_error`, `tls_error`, `network_error`, `timeout` or
    /// `invalid_url`.
    pub fn outcome(&self) -> &'static str {
        match self {
            DialError::NoSubprotocol | DialError::UnexpectedSubprotocol(_) => "version_mismatch",
            DialError::Http { status: 401 | 403 } => "unauthorized",
            DialError::Http { status: 404 } => "not_found",
            DialError::Http { .. } | DialError::BadAnswer(_) => "http_error",
            DialError::Tls(_) => "tls_error",
            DialError::Network(_) | DialError::ClosedBeforeAnswer => "network_error",
            DialError::Timeout => "timeout",
            DialError::InvalidUrl(_) => "invalid_url",
        }
    }

    /// The HTTP status of a refused upgrade.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            DialError::Http { status } => Some(*status),
            _ => None,
        }
    }

    /// True for HTTP 401 and 403: the credentials (or the client certificate) were refused.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.http_status(), Some(401 | 403))
    }
}

fn http_sentence(status: u16) -> String {
    match status {
        401 => "the CSMS refused the station's credentials (HTTP 401 Unauthorized): check the \
                station name and password"
            .to_owned(),
        403 => "the CSMS refused access (HTTP 403 Forbidden): check that the station is \
                registered there and its credentials"
            .to_owned(),
        404 => "the CSMS has no endpoint at this URL (HTTP 404 Not Found): check the URL, the \
                station name at its end, and that this OCPP version is served there"
            .to_owned(),
        400 => "the CSMS rejected the upgrade request (HTTP 400 Bad Request); it may not accept \
                the offered OCPP version"
            .to_owned(),
        other => {
            let reason = StatusCode::from_u16(other)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(|r| format!(" {r}"))
                .unwrap_or_default();
            format!("the CSMS answered the WebSocket upgrade with HTTP {other}{reason}")
        }
    }
}

/// Dials `req.url`, offers `req.offer`, and returns the open WebSocket with the version the CSMS
/// selected. When the CSMS completes the upgrade but selects no offered subprotocol, the socket
/// is closed with a Close frame (1002) before the error is returned.
pub async fn dial(req: &DialRequest<'_>) -> Result<(WsStream, OcppVersion), DialError> {
    let shown = redact::url(req.url);
    let offered = offer_header(req.offer);
    tracing::info!(url = %shown, offer = %offered, "dialling the CSMS");

    let upgraded = tokio::time::timeout(req.timeout, upgrade(req))
        .await
        .unwrap_or(Err(DialError::Timeout));
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

/// What the URL resolves to, checked before any connection is made.
struct Target {
    /// `host:port`, for messages.
    endpoint: String,
    host: String,
    port: u16,
    /// `Some` for `wss://`.
    server_name: Option<ServerName<'static>>,
    request: Vec<u8>,
    accept_key: String,
}

async fn upgrade(req: &DialRequest<'_>) -> Result<Upgraded, DialError> {
    let target = prepare(req)?;
    let endpoint = target.endpoint.as_str();

    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| DialError::Network(format!("could not connect to {endpoint}: {e}")))?;

    let mut stream = match target.server_name {
        None => MaybeTlsStream::Plain(tcp),
        Some(name) => {
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&req.tls));
            let tls = connector.connect(name, tcp).await.map_err(|e| {
                DialError::Tls(format!(
                    "TLS handshake with {endpoint} failed: {}",
                    tls_detail(&e)
                ))
            })?;
            MaybeTlsStream::Rustls(tls)
        }
    };

    stream
        .write_all(&target.request)
        .await
        .map_err(|e| during_upgrade(&e, endpoint))?;
    stream
        .flush()
        .await
        .map_err(|e| during_upgrade(&e, endpoint))?;

    let (response, tail) = read_answer(&mut stream, endpoint).await?;
    check_upgrade(&response, &target.accept_key)?;

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

fn prepare(req: &DialRequest<'_>) -> Result<Target, DialError> {
    let shown = redact::url(req.url);
    let invalid = |why: &str| DialError::InvalidUrl(format!("the CSMS URL '{shown}' {why}"));

    // Parses the URL and generates Host and Sec-WebSocket-Key.
    let mut request = req
        .url
        .into_client_request()
        .map_err(|e| invalid(&format!("cannot be used: {e}")))?;
    let uri = request.uri().clone();
    let tls = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => return Err(invalid("must start with ws:// or wss://")),
    };
    let host = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("has no host name"))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let server_name = if tls {
        Some(
            ServerName::try_from(host.clone())
                .map_err(|_| invalid("has a host name that TLS cannot verify"))?,
        )
    } else {
        None
    };

    let headers = request.headers_mut();
    if !req.offer.is_empty() {
        let value = HeaderValue::from_str(&offer_header(req.offer))
            .map_err(|_| invalid("cannot carry the subprotocol offer"))?;
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    if let Some(password) = req.password {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            req.identity,
            password.expose()
        ));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| invalid("cannot carry the Authorization header"))?;
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
    }

    let key = request
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(Target {
        endpoint: format!("{}:{port}", uri.host().unwrap_or(&host)),
        host,
        port,
        server_name,
        request: serialize(&request),
        accept_key: derive_accept_key(&key),
    })
}

/// The request head as bytes, with the conventional header spelling: some CSMSs match header
/// names case-sensitively, and `http` stores them in lower case.
fn serialize(request: &Request) -> Vec<u8> {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!("GET {path} HTTP/1.1\r\n").into_bytes();
    for (name, value) in request.headers() {
        let name = match name.as_str() {
            "host" => "Host",
            "connection" => "Connection",
            "upgrade" => "Upgrade",
            "sec-websocket-version" => "Sec-WebSocket-Version",
            "sec-websocket-key" => "Sec-WebSocket-Key",
            "sec-websocket-protocol" => "Sec-WebSocket-Protocol",
            "authorization" => "Authorization",
            other => other,
        };
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
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

/// The rustls error inside a tokio-rustls I/O error, or the I/O error itself.
fn tls_detail(e: &io::Error) -> String {
    match rustls_error(e) {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
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

    fn request<'a>(
        url: &'a str,
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
    ) -> (String, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ocpp/CP001", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve_ws(stream, pick).await
        });
        (url, task)
    }

    /// A server that reads the request head and answers with fixed bytes (or just hangs up).
    async fn raw_server(answer: &'static [u8]) -> (String, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ocpp/CP001", listener.local_addr().unwrap());
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
    async fn http_400_is_a_version_mismatch_and_other_statuses_are_not() {
        let (url, _s) = raw_server(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert!(err.is_version_mismatch());
        assert_eq!(err.outcome(), "http_error");

        let (url, _s) = raw_server(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert_eq!(err, DialError::Http { status: 503 });
        assert!(!err.is_version_mismatch());
        assert!(err.to_string().contains("503 Service Unavailable"), "{err}");
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
        let url = format!("ws://{addr}/ocpp/CP001");
        let err = dial(&request(&url, &[V201], None)).await.unwrap_err();
        assert!(
            matches!(err, DialError::Network(ref m) if m.contains(&addr.to_string())),
            "{err:?}"
        );
        assert_eq!(err.outcome(), "network_error");
        assert!(!err.is_version_mismatch());
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        // Bound but never accepted: the kernel completes TCP, nobody answers the upgrade.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ocpp/CP001", listener.local_addr().unwrap());
        let mut req = request(&url, &[V201], None);
        req.timeout = Duration::from_millis(300);
        let err = dial(&req).await.unwrap_err();
        assert_eq!(err, DialError::Timeout);
        assert_eq!(err.outcome(), "timeout");
        drop(listener);
    }

    #[tokio::test]
    async fn bad_urls_are_refused_before_dialling() {
        for url in [
            "http://127.0.0.1/ocpp/CP001",
            "not a url",
            "ws:///ocpp/CP001",
            "wss://CP001:hunter2@/ocpp/CP001",
        ] {
            let err = dial(&request(url, &[V201], None)).await.unwrap_err();
            assert!(matches!(err, DialError::InvalidUrl(_)), "{url}: {err:?}");
            assert_eq!(err.outcome(), "invalid_url");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
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
        let url = url.replace("ws://", "ws://CP001:hunter2@");
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
            DialError::InvalidUrl(String::new()),
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
            DialError::Timeout,
        ];
        let known = [
            "version_mismatch",
            "unauthorized",
            "not_found",
            "http_error",
            "tls_error",
            "network_error",
            "timeout",
            "invalid_url",
        ];
        for e in all {
            assert!(known.contains(&e.outcome()), "{e:?}");
        }
    }

    /// A `wss://` CSMS for `localhost` with a certificate from the test CA; with
    /// `require_client_cert` it also requires a client certificate issued by that CA.
    async fn wss_server(
        pki: &TestPki,
        require_client_cert: bool,
    ) -> (String, JoinHandle<Option<Seen>>) {
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
        (format!("wss://localhost:{port}/ocpp/CP001"), task)
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
