//! The WebSocket link to the CSMS: TLS setup, one dial, and the plan of which dial comes next.
//!
//! - [`csms_url`]: the CSMS URL, parsed once (WHATWG) into the host, port and path a dial uses.
//! - [`tls`]: the rustls client configuration (public roots plus an optional CA bundle, optional
//!   client certificate for security profile 3), with errors that name the offending file.
//! - [`dial`](mod@dial): TCP, TLS, the upgrade with Basic auth and the subprotocol offer, and a
//!   [`DialError`] that says what went wrong in a technician's words and classifies it
//!   ([`DialError::outcome`], [`DialError::is_version_mismatch`]).
//! - [`plan`] (the core's): pure (no I/O, no clock) choice of the next URL, offer and wait: version fallback
//!   and RetryBackOff, driven by the outcomes the caller records.
//!
//! The caller's loop, in short:
//!
//! ```text
//! let mut plan = DialPlan::new(settings)?;
//! loop {
//!     let attempt = plan.next_attempt(Instant::now());
//!     log(attempt.reason); sleep_until(attempt.not_before);
//!     match dial(&DialRequest { url: &attempt.url, offer: &attempt.offer, .. }).await {
//!         Ok((ws, version)) => { plan.handle_connected(now, version); run(ws).await;
//!                                plan.handle_disconnected(now, random()) }
//!         Err(e) => plan.handle_failure(now, &attempt, e.is_version_mismatch(), random()),
//!     }
//! }
//! ```

pub mod csms_url;
pub mod dial;
pub mod tls;

/// The core's dial plan, over this shell's validated URLs.
pub use ocpp_station_core::dial_plan as plan;

pub use csms_url::{CsmsUrl, UrlProblem};
pub use dial::{DialError, DialRequest, MAX_MESSAGE_SIZE, WsStream, dial};
pub use plan::PlanError;
pub use tls::{TlsFile, TlsSetupError, client_config};

/// The dial plan of this station: which [`CsmsUrl`] to dial next, offering what, and when.
pub type DialPlan = plan::DialPlan<CsmsUrl>;
/// One dial the plan asks for.
pub type Attempt = plan::Attempt<CsmsUrl>;
/// What the plan is built from.
pub type PlanSettings = plan::PlanSettings<CsmsUrl>;
