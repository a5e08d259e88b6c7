//! The lab CSMS's network side: accepts stations over WebSocket (optionally TLS), checks the
//! upgrade ([`super::handshake`]), answers every frame ([`super::answer`]), judges what the
//! station sent ([`super::schemas`]) and reports everything as [`LabEvent`]s.
//!
//! Nothing a station sends can stop the server: a bad upgrade is refused with its HTTP status,
//! a bad frame gets its CALLERROR, a broken connection ends only itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::answer::{self, BootPolicy, MessageKind, TransactionIds, WireMessage};
use super::clock;
use super::handshake::{self, AuthPolicy, Refusal};
use super::schemas::{self, PayloadKind, SchemaSet};
use super::view::{Direction, Stamp};
use ocpp_station::ocpp::OcppVersion;

/// How long a TLS handshake plus WebSocket upgrade may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest frame accepted: OCPP messages are small; the bound keeps a station from growing
/// the lab's memory.
const MAX_MESSAGE_BYTES: usize = 4 << 20;

/// What the lab CSMS does and accepts.
#[derive(Clone)]
pub struct LabSettings {
    /// The versions it speaks, in no particular order (the station's offer decides).
    pub versions: Vec<OcppVersion>,
    /// What it asks of credentials.
    pub auth: AuthPolicy,
    /// How BootNotification is answered.
    pub boot: BootPolicy,
    /// The schemas payloads are checked against, when given.
    pub schemas: Option<Arc<SchemaSet>>,
    /// TLS, for `wss://`.
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for LabSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabSettings")
            .field("versions", &self.versions)
            .field("auth", &self.auth)
            .field("boot", &self.boot)
            .field("schemas", &self.schemas)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl std::fmt::Debug for LabEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that happened at the lab CSMS.
#[derive(Clone)]
pub enum LabEvent {
    /// A station connected.
    Connected {
        /// When.
        at: Stamp,
        /// The connection's number.
        conn: u64,
        /// The identity from the path.
        identity: String,
        /// The agreed version.
        version: OcppVersion,
        /// The peer address.
        remote: SocketAddr,
        /// The subprotocols it offered.
        offered: String,
    },
    /// An upgrade was refused.
    Refused {
        /// When.
        at: Stamp,
        /// The identity, when the path held one.
        identity: Option<String>,
        /// The peer address.
        remote: SocketAddr,
        /// The HTTP status answered.
        status: u16,
        /// Why.
        reason: String,
    },
    /// A connection failed before it was a WebSocket (TLS, not HTTP, timeout).
    Failed {
        /// When.
        at: Stamp,
        /// The peer address.
        remote: SocketAddr,
        /// Why.
        reason: String,
    },
    /// A frame went by.
    Message {
        /// When.
        at: Stamp,
        /// The station.
        identity: String,
        /// Its version.
        version: OcppVersion,
        /// Which way.
        direction: Direction,
        /// The frame.
        message: WireMessage,
    },
    /// What the station sent breaks a schema, a wire rule or the framing.
    Invalid {
        /// When.
        at: Stamp,
        /// The station.
        identity: String,
        /// The action, when known.
        action: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A WebSocket ping or pong from the station.
    Traffic {
        /// When.
        at: Stamp,
        /// The station.
        identity: String,
    },
    /// A connection ended.
    Disconnected {
        /// When.
        at: Stamp,
        /// The connection's number.
        conn: u64,
        /// The station.
        identity: String,
        /// How it ended.
        reason: String,
    },
}

impl LabEvent {
    /// The event's name in the JSON lines.
    pub fn name(&self) -> &'static str {
        match self {
            LabEvent::Connected { .. } => "connected",
            LabEvent::Refused { .. } => "refused",
            LabEvent::Failed { .. } => "failed",
            LabEvent::Message { .. } => "message",
            LabEvent::Invalid { .. } => "invalid",
            LabEvent::Traffic { .. } => "traffic",
            LabEvent::Disconnected { .. } => "disconnected",
        }
    }
}

/// Accepts connections on `listener` until `shutdown` turns true; then every connection is
/// closed with 1001 (going away). One call is one lab run: its 1.6 transaction ids start at 1
/// and are shared by every connection.
pub async fn serve(
    listener: TcpListener,
    settings: Arc<LabSettings>,
    events: mpsc::Sender<LabEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut next_conn = 0u64;
    let transaction_ids = Arc::new(TransactionIds::default());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    next_conn = next_conn.saturating_add(1);
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(
                        stream,
                        remote,
                        next_conn,
                        settings.clone(),
                        transaction_ids.clone(),
                        events.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(error) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    tracing::warn!("lab CSMS: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Finished connection tasks are reaped so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    // Each connection sees the shutdown too and closes itself.
    while connections.join_next().await.is_some() {}
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    conn: u64,
    settings: Arc<LabSettings>,
    transaction_ids: Arc<TransactionIds>,
    events: mpsc::Sender<LabEvent>,
    shutdown: watch::Receiver<bool>,
) {
    let link = Link {
        remote,
        conn,
        settings: settings.clone(),
        transaction_ids,
        events,
        shutdown,
    };
    match &settings.tls {
        Some(acceptor) => match timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => link.run(stream).await,
            Ok(Err(error)) => link.failed(format!("TLS handshake failed: {error}")).await,
            Err(_) => link.failed("TLS handshake timed out".to_owned()).await,
        },
        None => link.run(stream).await,
    }
}

/// One connection's context.
struct Link {
    remote: SocketAddr,
    conn: u64,
    settings: Arc<LabSettings>,
    transaction_ids: Arc<TransactionIds>,
    events: mpsc::Sender<LabEvent>,
    shutdown: watch::Receiver<bool>,
}

/// The upgrade's verdict, taken out of the handshake callback.
enum Verdict {
    Accepted {
        identity: String,
        version: OcppVersion,
        offered: String,
    },
    Refused {
        identity: Option<String>,
        refusal: Refusal,
    },
}

impl Link {
    async fn report(&self, event: LabEvent) {
        let _ = self.events.send(event).await;
    }

    async fn failed(&self, reason: String) {
        self.report(LabEvent::Failed {
            at: clock::now(),
            remote: self.remote,
            reason,
        })
        .await;
    }

    #[allow(
        clippy::result_large_err,
        reason = "tungstenite's handshake callback fixes its error type"
    )]
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, stream: S) {
        let mut verdict = None;
        let callback = |request: &Request, response: Response| {
            let (decision, answer) = decide(request, response, &self.settings);
            verdict = Some(decision);
            answer
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let upgraded = timeout(
            HANDSHAKE_TIMEOUT,
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)),
        )
        .await;
        let ws = match (upgraded, verdict) {
            (
                Ok(Ok(ws)),
                Some(Verdict::Accepted {
                    identity,
                    version,
                    offered,
                }),
            ) => {
                self.report(LabEvent::Connected {
                    at: clock::now(),
                    conn: self.conn,
                    identity: identity.clone(),
                    version,
                    remote: self.remote,
                    offered,
                })
                .await;
                (ws, identity, version)
            }
            (_, Some(Verdict::Refused { identity, refusal })) => {
                self.report(LabEvent::Refused {
                    at: clock::now(),
                    identity,
                    remote: self.remote,
                    status: refusal.http_status(),
                    reason: refusal.to_string(),
                })
                .await;
                return;
            }
            (Ok(Err(error)), _) => {
                return self
                    .failed(format!("not a WebSocket upgrade: {error}"))
                    .await;
            }
            (Err(_), _) => return self.failed("the upgrade timed out".to_owned()).await,
            (Ok(Ok(_)), None) => return,
        };
        let (ws, identity, version) = ws;
        let reason = self.session(ws, &identity, version).await;
        self.report(LabEvent::Disconnected {
            at: clock::now(),
            conn: self.conn,
            identity,
            reason,
        })
        .await;
    }

    /// Answers frames until the connection ends; returns how it ended.
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut ws: tokio_tungstenite::WebSocketStream<S>,
        identity: &str,
        version: OcppVersion,
    ) -> String {
        loop {
            let received = tokio::select! {
                received = ws.next() => received,
                _ = self.shutdown.changed() => {
                    let _ = ws
                        .close(Some(CloseFrame {
                            code: CloseCode::Away,
                            reason: Utf8Bytes::from_static("the lab CSMS is stopping"),
                        }))
                        .await;
                    return "closed by the lab CSMS (stopping)".to_owned();
                }
            };
            match received {
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = self.on_text(&mut ws, identity, version, &text).await {
                        return format!("send failed: {error}");
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    self.invalid(
                        identity,
                        None,
                        "binary frame (OCPP-J uses text frames only)",
                    )
                    .await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    self.report(LabEvent::Traffic {
                        at: clock::now(),
                        identity: identity.to_owned(),
                    })
                    .await;
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(frame) => format!(
                            "closed by the station ({}{})",
                            u16::from(frame.code),
                            if frame.reason.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    ": {}",
                                    ocpp_station::redact::printable(frame.reason.as_str(), 80)
                                )
                            }
                        ),
                        None => "closed by the station".to_owned(),
                    };
                }
                Some(Ok(Message::Frame(_))) => {}
                Some(Err(error)) => return format!("connection error: {error}"),
                None => return "connection dropped without a close frame".to_owned(),
            }
        }
    }

    async fn on_text<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        ws: &mut tokio_tungstenite::WebSocketStream<S>,
        identity: &str,
        version: OcppVersion,
        text: &str,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let at = clock::now();
        let reply = answer::reply(
            version,
            text,
            self.settings.boot,
            &self.transaction_ids,
            at.wall,
        );
        let action = reply.received.action.clone();
        let problems = self.judge(version, &reply.received, reply.problem.clone());
        self.report(LabEvent::Message {
            at,
            identity: identity.to_owned(),
            version,
            direction: Direction::FromStation,
            message: reply.received,
        })
        .await;
        for problem in problems {
            self.invalid(identity, action.as_deref(), &problem).await;
        }
        if let Some((frame, sent)) = reply.answer {
            ws.send(Message::Text(frame.into())).await?;
            self.report(LabEvent::Message {
                at: clock::now(),
                identity: identity.to_owned(),
                version,
                direction: Direction::ToStation,
                message: sent,
            })
            .await;
        }
        Ok(())
    }

    /// Everything wrong with a received frame: framing, wire rules, schema.
    fn judge(
        &self,
        version: OcppVersion,
        received: &WireMessage,
        framing: Option<String>,
    ) -> Vec<String> {
        let mut problems: Vec<String> = framing.into_iter().collect();
        if received.kind == MessageKind::Unreadable {
            return problems;
        }
        problems.extend(schemas::wire_rule_violations(&received.payload));
        if let (MessageKind::Call, Some(action), Some(set)) = (
            received.kind,
            received.action.as_deref(),
            self.settings.schemas.as_deref(),
        ) {
            problems.extend(
                set.check(version, PayloadKind::Request, action, &received.payload)
                    .into_iter()
                    .map(|problem| format!("schema: {problem}")),
            );
        }
        problems
    }

    async fn invalid(&self, identity: &str, action: Option<&str>, message: &str) {
        self.report(LabEvent::Invalid {
            at: clock::now(),
            identity: identity.to_owned(),
            action: action.map(str::to_owned),
            message: message.to_owned(),
        })
        .await;
    }
}

/// Decides on an upgrade request: accepted with the agreed subprotocol, or refused with its
/// HTTP status (401 carries a Basic challenge).
fn decide(
    request: &Request,
    mut response: Response,
    settings: &LabSettings,
) -> (Verdict, Result<Response, ErrorResponse>) {
    let identity = match handshake::identity_from_path(request.uri().path()) {
        Ok(identity) => identity,
        Err(refusal) => return refuse(None, refusal),
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(refusal) = handshake::check_credentials(authorization, &identity, &settings.auth) {
        return refuse(Some(identity), refusal);
    }
    let offered: Vec<&str> = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    match handshake::select_version(offered.iter().copied(), &settings.versions) {
        Ok(version) => {
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(version.subprotocol()),
            );
            (
                Verdict::Accepted {
                    identity,
                    version,
                    offered: ocpp_station::redact::printable(&offered.join(", "), 80),
                },
                Ok(response),
            )
        }
        Err(refusal) => refuse(Some(identity), refusal),
    }
}

fn refuse(
    identity: Option<String>,
    refusal: Refusal,
) -> (Verdict, Result<Response, ErrorResponse>) {
    let mut answer = ErrorResponse::new(Some(format!("{refusal}\n")));
    *answer.status_mut() =
        StatusCode::from_u16(refusal.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    if answer.status() == StatusCode::UNAUTHORIZED {
        answer.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ocpp\""),
        );
    }
    (
        Verdict::Refused {
            identity: identity.map(|i| ocpp_station::redact::printable(&i, 60)),
            refusal,
        },
        Err(answer),
    )
}
