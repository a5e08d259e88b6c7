//! Which URL to dial next, offering which subprotocols, and when: the version fallback and the
//! RetryBackOff waits, as a pure state machine (no I/O, no clock reads, randomness passed in).
//!
//! The rules (see `OCPP-NOTES.md`, Connection):
//! - Both URLs set and equal, fallback allowed: one dial offering both subprotocols, primary first;
//!   the CSMS picks. If it refuses that offer, each version is offered alone at once (some CSMSs
//!   only accept an exact single value), then the cycle waits and starts over.
//! - Different URLs: each version is dialled alone to its own URL. A version mismatch (no or an
//!   unknown subprotocol, HTTP 400/404, closed before answering) switches to the other version at
//!   once; other failures wait per RetryBackOff, and after `failures_before_fallback` of them in a
//!   row the next dial goes to the other version. A version is only switched to when fallback is
//!   allowed and it has a URL.
//! - Immediate switches never loop: once every candidate has refused the version since the last
//!   wait, the plan waits per RetryBackOff and starts again from the primary.
//! - After a connection: the version that worked is remembered and the back-off reset. A reconnect
//!   waits per RetryBackOff and dials the remembered version, except that when it is not the
//!   primary and has been in use for `primary_retry_after`, the primary is tried once first.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::backoff::{Backoff, BackoffConfig};
use crate::deadline;
use crate::ocpp::OcppVersion;

/// What the plan is built from (the validated configuration, URLs already final).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSettings<U> {
    /// The version tried first (`OCPP_PRIMARY`).
    pub primary: OcppVersion,
    /// The final 2.0.1 dial URL (identity appended), if configured.
    pub url_201: Option<U>,
    /// The final 1.6 dial URL, if configured.
    pub url_16: Option<U>,
    /// Whether the other version may be tried at all (`OCPP_ALLOW_FALLBACK`).
    pub allow_fallback: bool,
    /// RetryBackOff.
    pub backoff: BackoffConfig,
    /// Non-mismatch failures in a row on one version before trying the other (3); values below 1
    /// count as 1.
    pub failures_before_fallback: u32,
    /// How long a fallback version stays in use before the primary is tried again (1 h).
    pub primary_retry_after: Duration,
}

impl<U> PlanSettings<U> {
    /// The configured URL of `version`.
    pub fn url(&self, version: OcppVersion) -> Option<&U> {
        match version {
            OcppVersion::V201 => self.url_201.as_ref(),
            OcppVersion::V16 => self.url_16.as_ref(),
        }
    }
}

/// Why no plan can be made from the settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Neither URL is configured.
    #[error("no CSMS URL is configured: set OCPP_201_URL or OCPP_16_URL")]
    NoUrl,
    /// Only the non-primary version has a URL, and falling back to it is not allowed.
    #[error(
        "the primary version is {primary} but only a {} URL is configured and fallback is off: \
         set the {primary} URL, OCPP_PRIMARY or OCPP_ALLOW_FALLBACK",
        primary.other()
    )]
    NoPrimaryUrl {
        /// The configured primary version.
        primary: OcppVersion,
    },
}

/// One dial to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt<U> {
    /// The URL to dial.
    pub url: U,
    /// The subprotocols to offer, in order of preference.
    pub offer: Vec<OcppVersion>,
    /// Do not dial before this instant (equal to `now` for "at once").
    pub not_before: Instant,
    /// Why this attempt, for the log: "the 2.0.1 endpoint did not accept ocpp2.0.1: trying 1.6
    /// at once", "3 failures in a row on 2.0.1: falling back to 1.6 in 12s", ...
    pub reason: String,
}

/// What a candidate dial offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// Both subprotocols, primary first (shared URL only).
    Both,
    /// One subprotocol alone.
    One(OcppVersion),
}

#[derive(Debug, Clone)]
struct Candidate<U> {
    url: U,
    offer: Offer,
}

/// The candidate that last connected.
#[derive(Debug, Clone, Copy)]
struct Working {
    index: usize,
    version: OcppVersion,
    /// When this candidate was chosen; the primary is retried `primary_retry_after` later.
    since: Instant,
}

/// The dial plan: feed it every outcome, ask it for the next attempt.
///
/// Call order: [`next_attempt`](Self::next_attempt), dial, then exactly one of
/// [`handle_failure`](Self::handle_failure) or [`handle_connected`](Self::handle_connected);
/// after a connection ends, [`handle_disconnected`](Self::handle_disconnected).
#[derive(Debug, Clone)]
pub struct DialPlan<U> {
    primary: OcppVersion,
    /// A shared URL: candidates are `[Both, One(primary), One(other)]`.
    shared: bool,
    /// Index 0 is the preferred candidate; never empty.
    candidates: Vec<Candidate<U>>,
    /// A copy of `candidates[0]`, so that looking a candidate up needs no fallible step.
    preferred: Candidate<U>,
    /// Why the other version is never tried, when it is not (for the log).
    no_fallback_because: Option<String>,
    failures_before_fallback: u32,
    primary_retry_after: Duration,
    backoff: Backoff,
    /// The candidate of the next (or last issued) attempt.
    current: usize,
    /// `None` until the first attempt is asked for: "at once".
    not_before: Option<Instant>,
    reason: String,
    /// Non-mismatch failures in a row on `current`.
    failures_here: u32,
    /// Candidates that refused the version since the last wait; bounds the immediate switches.
    refused: Vec<bool>,
    working: Option<Working>,
    /// The current attempt is the one-off retry of the primary after a long fallback.
    probing_primary: bool,
    /// The version of the open connection, if any.
    connected: Option<OcppVersion>,
}

impl<U: Clone + PartialEq> DialPlan<U> {
    /// A plan for the settings; fails when no URL can be dialled.
    pub fn new(settings: PlanSettings<U>) -> Result<Self, PlanError> {
        let primary = settings.primary;
        let other = primary.other();
        let primary_url = settings.url(primary).cloned();
        let other_url = settings.url(other).cloned();

        let mut no_fallback_because = None;
        let (shared, candidates) = match (primary_url, other_url) {
            (None, None) => return Err(PlanError::NoUrl),
            (None, Some(_)) if !settings.allow_fallback => {
                return Err(PlanError::NoPrimaryUrl { primary });
            }
            (None, Some(url)) => {
                no_fallback_because = Some(format!("no {primary} URL is configured"));
                (false, vec![candidate(url, Offer::One(other))])
            }
            (Some(url), _) if !settings.allow_fallback => {
                no_fallback_because = Some("fallback is off".to_owned());
                (false, vec![candidate(url, Offer::One(primary))])
            }
            (Some(url), None) => {
                no_fallback_because = Some(format!("no {other} URL is configured"));
                (false, vec![candidate(url, Offer::One(primary))])
            }
            (Some(p), Some(o)) if p == o => (
                true,
                vec![
                    candidate(p.clone(), Offer::Both),
                    candidate(p.clone(), Offer::One(primary)),
                    candidate(p, Offer::One(other)),
                ],
            ),
            (Some(p), Some(o)) => (
                false,
                vec![
                    candidate(p, Offer::One(primary)),
                    candidate(o, Offer::One(other)),
                ],
            ),
        };

        let Some(preferred) = candidates.first().cloned() else {
            return Err(PlanError::NoUrl);
        };
        let mut plan = Self {
            primary,
            shared,
            refused: vec![false; candidates.len()],
            candidates,
            preferred,
            no_fallback_because,
            failures_before_fallback: settings.failures_before_fallback.max(1),
            primary_retry_after: settings.primary_retry_after,
            backoff: Backoff::new(settings.backoff),
            current: 0,
            not_before: None,
            reason: String::new(),
            failures_here: 0,
            working: None,
            probing_primary: false,
            connected: None,
        };
        plan.reason = match (&plan.no_fallback_because, plan.offer_of(0)) {
            (Some(why), Offer::One(v)) if v != primary => {
                format!("first connection: {why}, trying {v}")
            }
            _ => format!("first connection: trying {}", plan.target(0)),
        };
        Ok(plan)
    }

    /// New RetryBackOff parameters (the CSMS changed them).
    pub fn set_backoff(&mut self, config: BackoffConfig) {
        self.backoff.set_config(config);
    }

    /// The next dial to make. Asking again without recording an outcome gives the same attempt.
    pub fn next_attempt(&mut self, now: Instant) -> Attempt<U> {
        let not_before = *self.not_before.get_or_insert(now);
        // `current` is always a valid index; `preferred` keeps this panic-free regardless.
        let candidate = self.candidates.get(self.current).unwrap_or(&self.preferred);
        Attempt {
            url: candidate.url.clone(),
            offer: self.versions(candidate.offer),
            not_before,
            reason: self.reason.clone(),
        }
    }

    /// The dial of `attempt` failed at `now`. `version_mismatch`: the CSMS refused the offered
    /// version (the shell's dial error says so); `random` is a fresh fraction in `[0, 1)` for the
    /// RetryBackOff random part.
    pub fn handle_failure(
        &mut self,
        now: Instant,
        attempt: &Attempt<U>,
        version_mismatch: bool,
        random: f64,
    ) {
        self.connected = None;
        let failed = self.index_of(attempt).unwrap_or(self.current);

        if self.probing_primary {
            self.probing_primary = false;
            if let Some(working) = self.working.as_mut().filter(|w| w.index != failed) {
                // The primary still does not work: go back to what did, and give the primary
                // another full interval before the next probe.
                working.since = now;
                let back = working.index;
                self.failures_here = 0;
                if version_mismatch {
                    let reason = format!(
                        "{} again: back to {} at once",
                        self.refusal(failed),
                        self.target(back)
                    );
                    self.refused.fill(false);
                    self.schedule(now, back, reason);
                } else {
                    let wait = self.wait(random);
                    let reason = format!(
                        "{} is still unreachable: back to {} in {}",
                        self.target(failed),
                        self.target(back),
                        secs(wait)
                    );
                    self.schedule(deadline::after(now, wait), back, reason);
                }
                return;
            }
        }

        if version_mismatch {
            self.failures_here = 0;
            if let Some(flag) = self.refused.get_mut(failed) {
                *flag = true;
            }
            if let Some(next) = self.next_not_refused(failed) {
                let reason = format!(
                    "{}: trying {} at once",
                    self.refusal(failed),
                    self.target(next)
                );
                self.schedule(now, next, reason);
            } else {
                let wait = self.wait(random);
                let reason = if self.candidates.len() == 1 {
                    let mut reason = self.refusal(failed);
                    if let Some(why) = &self.no_fallback_because {
                        let _ = write!(reason, " and {why}");
                    }
                    let _ = write!(reason, ": retrying in {}", secs(wait));
                    reason
                } else {
                    format!(
                        "{} (no offer was accepted): retrying {} in {}",
                        self.refusal(failed),
                        self.target(0),
                        secs(wait)
                    )
                };
                self.schedule(deadline::after(now, wait), 0, reason);
            }
            return;
        }

        self.failures_here = self.failures_here.saturating_add(1);
        let failures = self.failures_here;
        let wait = self.wait(random);
        // Switching on repeated failures only makes sense between different URLs: on a shared
        // URL the network problem is the same whatever is offered.
        if !self.shared && self.candidates.len() > 1 && failures >= self.failures_before_fallback {
            let next = failed
                .saturating_add(1)
                .checked_rem(self.candidates.len())
                .unwrap_or(0);
            let verb = if next == 0 {
                "going back"
            } else {
                "falling back"
            };
            let reason = format!(
                "{failures} failures in a row on {}: {verb} to {} in {}",
                self.target(failed),
                self.target(next),
                secs(wait)
            );
            self.schedule(deadline::after(now, wait), next, reason);
            self.failures_here = 0;
        } else {
            let reason = format!(
                "{} failed ({failures} in a row): retrying in {}",
                self.target(failed),
                secs(wait)
            );
            self.schedule(deadline::after(now, wait), failed, reason);
            self.failures_here = failures;
        }
    }

    /// The last attempt connected at `now`, and the CSMS selected `version`.
    pub fn handle_connected(&mut self, now: Instant, version: OcppVersion) {
        // The attempt that connected is the last one issued; on separate URLs the version names it
        // unambiguously, which guards against a caller reporting out of order.
        let index = if self.shared {
            self.current
        } else {
            self.candidates
                .iter()
                .position(|c| c.offer == Offer::One(version))
                .unwrap_or(self.current)
        };
        let since = match self.working {
            // Reconnecting to the same fallback keeps its clock running, so the primary is retried
            // an hour after the fallback was first chosen, not an hour after the last reconnect.
            Some(w) if w.index == index && !self.probing_primary => w.since,
            _ => now,
        };
        self.working = Some(Working {
            index,
            version,
            since,
        });
        self.current = index;
        self.connected = Some(version);
        self.backoff.reset();
        self.failures_here = 0;
        self.refused.fill(false);
        self.probing_primary = false;
        self.not_before = Some(now);
        self.reason = format!("connected with {version}");
    }

    /// The open connection ended at `now`; `random` is a fresh fraction in `[0, 1)`.
    pub fn handle_disconnected(&mut self, now: Instant, random: f64) {
        let lost = match self.connected.take() {
            Some(version) => format!("the {version} connection was lost"),
            None => "not connected".to_owned(),
        };
        let wait = self.wait(random);
        let (target, reason) = match self.working {
            Some(w)
                if w.index != 0
                    && w.version != self.primary
                    && now.saturating_duration_since(w.since) >= self.primary_retry_after =>
            {
                self.probing_primary = true;
                let reason = format!(
                    "{lost} and {} has been in use for over {}: trying {} again first in {}",
                    w.version,
                    human(self.primary_retry_after),
                    self.target(0),
                    secs(wait)
                );
                (0, reason)
            }
            Some(w) => {
                let reason = format!(
                    "{lost}: reconnecting with {} in {}",
                    self.target(w.index),
                    secs(wait)
                );
                (w.index, reason)
            }
            None => {
                let reason = format!(
                    "{lost}: retrying {} in {}",
                    self.target(self.current),
                    secs(wait)
                );
                (self.current, reason)
            }
        };
        self.failures_here = 0;
        self.schedule(deadline::after(now, wait), target, reason);
    }

    fn schedule(&mut self, not_before: Instant, index: usize, reason: String) {
        self.current = index.checked_rem(self.candidates.len()).unwrap_or(0);
        self.not_before = Some(not_before);
        self.reason = reason;
    }

    /// The next RetryBackOff wait. Any wait starts a new round of immediate switches.
    fn wait(&mut self, random: f64) -> Duration {
        self.refused.fill(false);
        self.backoff.next_wait(random)
    }

    fn next_not_refused(&self, from: usize) -> Option<usize> {
        let n = self.candidates.len();
        (1..n)
            .filter_map(|k| from.saturating_add(k).checked_rem(n))
            .find(|&i| !self.refused.get(i).copied().unwrap_or(true))
    }

    fn index_of(&self, attempt: &Attempt<U>) -> Option<usize> {
        self.candidates
            .iter()
            .position(|c| c.url == attempt.url && self.versions(c.offer) == attempt.offer)
    }

    fn offer_of(&self, index: usize) -> Offer {
        self.candidates
            .get(index)
            .map_or(Offer::One(self.primary), |c| c.offer)
    }

    fn versions(&self, offer: Offer) -> Vec<OcppVersion> {
        match offer {
            Offer::Both => vec![self.primary, self.primary.other()],
            Offer::One(v) => vec![v],
        }
    }

    /// How a candidate is named in a reason: "1.6" on separate URLs, "ocpp1.6 alone" on a shared
    /// one.
    fn target(&self, index: usize) -> String {
        match (self.shared, self.offer_of(index)) {
            (false, Offer::One(v)) => v.to_string(),
            (_, Offer::Both) => format!("{} together", self.subprotocols(Offer::Both)),
            (true, Offer::One(v)) => format!("{} alone", v.subprotocol()),
        }
    }

    /// "the 2.0.1 endpoint did not accept ocpp2.0.1".
    fn refusal(&self, index: usize) -> String {
        match (self.shared, self.offer_of(index)) {
            (false, Offer::One(v)) => {
                format!("the {v} endpoint did not accept {}", v.subprotocol())
            }
            (_, offer) => format!("the CSMS did not accept {}", self.subprotocols(offer)),
        }
    }

    fn subprotocols(&self, offer: Offer) -> String {
        self.versions(offer)
            .iter()
            .map(|v| v.subprotocol())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn candidate<U>(url: U, offer: Offer) -> Candidate<U> {
    Candidate { url, offer }
}

/// A wait as people say it: "3s", "7.5s".
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A configured interval: "1h", "90min", "45s".
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}min", s / 60)
    } else {
        secs(d)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use OcppVersion::{V16, V201};

    const U201: &str = "wss://csms.example/ocpp201/CP001";
    const U16: &str = "wss://csms.example/ocpp16/CP001";
    const SHARED: &str = "wss://csms.example/ocpp/CP001";

    fn settings(url_201: Option<&str>, url_16: Option<&str>) -> PlanSettings<String> {
        PlanSettings {
            primary: V201,
            url_201: url_201.map(url),
            url_16: url_16.map(url),
            allow_fallback: true,
            backoff: BackoffConfig {
                wait_minimum: Duration::from_secs(3),
                random_range: Duration::from_secs(10),
                repeat_times: 3,
            },
            failures_before_fallback: 3,
            primary_retry_after: Duration::from_secs(3600),
        }
    }

    fn url(text: &str) -> String {
        text.to_owned()
    }

    fn separate() -> PlanSettings<String> {
        settings(Some(U201), Some(U16))
    }

    /// What a test sees of one attempt: URL, offer, and the wait before it.
    type Step = (&'static str, Vec<OcppVersion>, u64);

    /// Drives a plan with a simulated clock; every random fraction is 0 so waits are exact.
    struct Driver {
        plan: DialPlan<String>,
        now: Instant,
        last: Option<Attempt<String>>,
    }

    impl Driver {
        fn new(settings: PlanSettings<String>) -> Self {
            Self {
                plan: DialPlan::new(settings).unwrap(),
                #[allow(clippy::disallowed_methods, reason = "simulated clock origin")]
                now: Instant::now(),
                last: None,
            }
        }

        /// Takes the next attempt and moves the clock to its `not_before`.
        fn dial(&mut self) -> Step {
            let a = self.plan.next_attempt(self.now);
            let wait = a.not_before.saturating_duration_since(self.now);
            assert_eq!(wait.subsec_nanos(), 0, "whole seconds with random = 0");
            self.now = a.not_before;
            let url = [U201, U16, SHARED]
                .into_iter()
                .find(|u| *u == a.url.as_str())
                .expect("a known URL");
            let step = (url, a.offer.clone(), wait.as_secs());
            self.last = Some(a);
            step
        }

        fn reason(&self) -> &str {
            &self.last.as_ref().unwrap().reason
        }

        fn fail(&mut self, mismatch: bool) {
            let a = self.last.clone().expect("dial first");
            self.plan.handle_failure(self.now, &a, mismatch, 0.0);
        }

        fn connect(&mut self, version: OcppVersion) {
            self.plan.handle_connected(self.now, version);
        }

        fn disconnect_after(&mut self, up_for: Duration) {
            self.now += up_for;
            self.plan.handle_disconnected(self.now, 0.0);
        }

        /// Dials, fails each attempt as scripted, and returns the attempts made.
        fn script(&mut self, mismatches: &[bool]) -> Vec<Step> {
            mismatches
                .iter()
                .map(|&m| {
                    let step = self.dial();
                    self.fail(m);
                    step
                })
                .collect()
        }
    }

    fn step(url: &'static str, offer: &[OcppVersion], wait: u64) -> Step {
        (url, offer.to_vec(), wait)
    }

    #[test]
    fn without_any_url_there_is_no_plan() {
        assert_eq!(
            DialPlan::new(settings(None, None)).unwrap_err(),
            PlanError::NoUrl
        );
    }

    #[test]
    fn only_the_other_url_without_fallback_is_an_error() {
        let mut s = settings(None, Some(U16));
        s.allow_fallback = false;
        let err = DialPlan::new(s).unwrap_err();
        assert_eq!(err, PlanError::NoPrimaryUrl { primary: V201 });
        assert!(err.to_string().contains("OCPP_ALLOW_FALLBACK"), "{err}");
    }

    #[test]
    fn only_the_other_url_with_fallback_dials_it_from_the_start() {
        let mut d = Driver::new(settings(None, Some(U16)));
        assert_eq!(d.dial(), step(U16, &[V16], 0));
        assert!(d.reason().contains("no 2.0.1 URL"), "{}", d.reason());
    }

    #[test]
    fn the_first_attempt_is_at_once_to_the_primary() {
        let mut d = Driver::new(separate());
        assert_eq!(d.dial(), step(U201, &[V201], 0));
        assert_eq!(d.reason(), "first connection: trying 2.0.1");
        // Asking twice without an outcome gives the same attempt.
        assert_eq!(d.dial(), step(U201, &[V201], 0));
    }

    #[test]
    fn a_1_6_primary_starts_with_1_6() {
        let mut s = separate();
        s.primary = V16;
        let mut d = Driver::new(s);
        assert_eq!(d.dial(), step(U16, &[V16], 0));
    }

    #[test]
    fn a_shared_url_offers_both_primary_first() {
        let mut d = Driver::new(settings(Some(SHARED), Some(SHARED)));
        assert_eq!(d.dial(), step(SHARED, &[V201, V16], 0));

        let mut s = settings(Some(SHARED), Some(SHARED));
        s.primary = V16;
        let mut d = Driver::new(s);
        assert_eq!(d.dial(), step(SHARED, &[V16, V201], 0));
    }

    #[test]
    fn a_shared_url_without_fallback_offers_the_primary_alone() {
        let mut s = settings(Some(SHARED), Some(SHARED));
        s.allow_fallback = false;
        let mut d = Driver::new(s);
        assert_eq!(d.dial(), step(SHARED, &[V201], 0));
        d.fail(true);
        assert_eq!(d.dial(), step(SHARED, &[V201], 3));
    }

    #[test]
    fn a_version_mismatch_switches_to_the_other_version_at_once() {
        let mut d = Driver::new(separate());
        d.dial();
        d.fail(true);
        assert_eq!(d.dial(), step(U16, &[V16], 0));
        assert_eq!(
            d.reason(),
            "the 2.0.1 endpoint did not accept ocpp2.0.1: trying 1.6 at once"
        );
    }

    #[test]
    fn when_both_versions_refuse_the_plan_waits_and_starts_over_from_the_primary() {
        let mut d = Driver::new(separate());
        let steps = d.script(&[true; 7]);
        assert_eq!(
            steps,
            [
                step(U201, &[V201], 0),
                step(U16, &[V16], 0),
                step(U201, &[V201], 3),
                step(U16, &[V16], 0),
                step(U201, &[V201], 6),
                step(U16, &[V16], 0),
                step(U201, &[V201], 12),
            ]
        );
        assert!(
            d.reason().contains("no offer was accepted"),
            "{}",
            d.reason()
        );
    }

    #[test]
    fn other_failures_wait_then_fall_back_after_three() {
        let mut d = Driver::new(separate());
        let steps = d.script(&[false; 10]);
        assert_eq!(
            steps,
            [
                step(U201, &[V201], 0),
                step(U201, &[V201], 3),
                step(U201, &[V201], 6),
                step(U16, &[V16], 12),
                step(U16, &[V16], 24),
                step(U16, &[V16], 24),
                step(U201, &[V201], 24),
                step(U201, &[V201], 24),
                step(U201, &[V201], 24),
                step(U16, &[V16], 24),
            ]
        );
    }

    #[test]
    fn fallback_reasons_say_what_happened() {
        let mut d = Driver::new(separate());
        d.script(&[false, false, false]);
        d.dial();
        assert_eq!(
            d.reason(),
            "3 failures in a row on 2.0.1: falling back to 1.6 in 12s"
        );
        d.script(&[false, false, false]);
        d.dial();
        assert_eq!(
            d.reason(),
            "3 failures in a row on 1.6: going back to 2.0.1 in 24s"
        );
    }

    #[test]
    fn a_mismatch_resets_the_failure_count() {
        let mut d = Driver::new(separate());
        // Three network failures on 2.0.1 move to 1.6; 1.6 refuses -> 2.0.1 at once, and 2.0.1
        // again needs three failures of its own before the next switch.
        let steps = d.script(&[false, false, false, true, false, false, false]);
        assert_eq!(
            steps,
            [
                step(U201, &[V201], 0),
                step(U201, &[V201], 3),
                step(U201, &[V201], 6),
                step(U16, &[V16], 12),
                step(U201, &[V201], 0),
                step(U201, &[V201], 24),
                step(U201, &[V201], 24),
            ]
        );
        assert_eq!(d.dial(), step(U16, &[V16], 24));
    }

    #[test]
    fn a_threshold_of_zero_counts_as_one() {
        let mut s = separate();
        s.failures_before_fallback = 0;
        let mut d = Driver::new(s);
        let steps = d.script(&[false, false]);
        assert_eq!(steps, [step(U201, &[V201], 0), step(U16, &[V16], 3)]);
    }

    #[test]
    fn without_fallback_the_plan_never_switches() {
        let mut s = separate();
        s.allow_fallback = false;
        let mut d = Driver::new(s);
        let steps = d.script(&[true, false, false, false, false, true]);
        assert!(
            steps
                .iter()
                .all(|(url, offer, _)| *url == U201 && offer == &[V201])
        );
        let waits: Vec<u64> = steps.iter().map(|s| s.2).collect();
        assert_eq!(waits, [0, 3, 6, 12, 24, 24]);
        d.dial();
        assert!(d.reason().contains("fallback is off"), "{}", d.reason());
    }

    #[test]
    fn without_the_other_url_the_plan_never_switches() {
        let mut d = Driver::new(settings(Some(U201), None));
        let steps = d.script(&[false, false, false, false, true, true]);
        assert!(steps.iter().all(|(url, _, _)| *url == U201));
        let waits: Vec<u64> = steps.iter().map(|s| s.2).collect();
        assert_eq!(waits, [0, 3, 6, 12, 24, 24]);
        d.dial();
        assert!(
            d.reason().contains("no 1.6 URL is configured"),
            "{}",
            d.reason()
        );
    }

    #[test]
    fn a_shared_url_refusal_tries_each_version_alone_then_waits() {
        let mut d = Driver::new(settings(Some(SHARED), Some(SHARED)));
        let steps = d.script(&[true, true, true, true]);
        assert_eq!(
            steps,
            [
                step(SHARED, &[V201, V16], 0),
                step(SHARED, &[V201], 0),
                step(SHARED, &[V16], 0),
                step(SHARED, &[V201, V16], 3),
            ]
        );
    }

    #[test]
    fn a_shared_url_keeps_its_offer_through_network_failures() {
        let mut d = Driver::new(settings(Some(SHARED), Some(SHARED)));
        let steps = d.script(&[false; 6]);
        assert!(steps.iter().all(|(_, offer, _)| offer == &[V201, V16]));
        let waits: Vec<u64> = steps.iter().map(|s| s.2).collect();
        assert_eq!(waits, [0, 3, 6, 12, 24, 24]);
    }

    #[test]
    fn immediate_switches_never_run_away() {
        // Whatever the mix of outcomes, at most (candidates - 1) dials in a row are at once.
        for (s, limit) in [(separate(), 1), (settings(Some(SHARED), Some(SHARED)), 2)] {
            let mut d = Driver::new(s);
            d.dial();
            d.fail(true);
            let mut at_once = 0;
            for i in 0..50 {
                let (_, _, wait) = d.dial();
                at_once = if wait == 0 { at_once + 1 } else { 0 };
                assert!(
                    at_once <= limit,
                    "dial {i}: {at_once} immediate dials in a row"
                );
                d.fail(i % 7 != 3);
            }
        }
    }

    #[test]
    fn the_random_fraction_reaches_the_backoff() {
        let mut d = Driver::new(separate());
        let a = d.plan.next_attempt(d.now);
        d.plan.handle_failure(d.now, &a, false, 0.5);
        let b = d.plan.next_attempt(d.now);
        assert_eq!(b.not_before - d.now, Duration::from_secs(8));
        assert!(b.reason.ends_with("retrying in 8s"), "{}", b.reason);
    }

    #[test]
    fn a_connection_resets_the_backoff_and_is_remembered() {
        let mut d = Driver::new(separate());
        d.script(&[true]); // 2.0.1 refused -> 1.6 at once
        d.script(&[false, false]); // 1.6 network failures: 3 s, 6 s
        assert_eq!(d.dial(), step(U16, &[V16], 6));
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(600));
        assert_eq!(d.dial(), step(U16, &[V16], 3));
        assert_eq!(
            d.reason(),
            "the 1.6 connection was lost: reconnecting with 1.6 in 3s"
        );
    }

    #[test]
    fn a_reconnect_that_fails_keeps_backing_off_on_the_remembered_version() {
        let mut d = Driver::new(separate());
        d.dial();
        d.connect(V201);
        d.disconnect_after(Duration::from_secs(60));
        let steps = d.script(&[false, false, false]);
        assert_eq!(
            steps,
            [
                step(U201, &[V201], 3),
                step(U201, &[V201], 6),
                step(U201, &[V201], 12),
            ]
        );
        assert_eq!(d.dial(), step(U16, &[V16], 24));
    }

    #[test]
    fn the_primary_is_retried_once_after_an_hour_on_the_fallback() {
        let mut d = Driver::new(separate());
        d.script(&[true]);
        d.dial();
        d.connect(V16);
        let chosen = d.now;

        // Reconnects within the hour stay on 1.6; the hour counts from when 1.6 was chosen.
        d.disconnect_after(Duration::from_secs(1800));
        assert_eq!(d.dial(), step(U16, &[V16], 3));
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(1800));
        assert!(d.now.duration_since(chosen) >= Duration::from_secs(3600));
        assert_eq!(d.dial(), step(U201, &[V201], 3));
        assert!(
            d.reason().contains("trying 2.0.1 again first"),
            "{}",
            d.reason()
        );

        // The probe fails on the network: back to 1.6 after the next wait, not three tries.
        d.fail(false);
        assert_eq!(d.dial(), step(U16, &[V16], 6));
        assert_eq!(d.reason(), "2.0.1 is still unreachable: back to 1.6 in 6s");
        d.connect(V16);

        // The hour starts again from the failed probe.
        d.disconnect_after(Duration::from_secs(1800));
        assert_eq!(d.dial(), step(U16, &[V16], 3));
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(3600));
        assert_eq!(d.dial(), step(U201, &[V201], 3));

        // Refused this time: back to 1.6 at once.
        d.fail(true);
        assert_eq!(d.dial(), step(U16, &[V16], 0));
        assert!(
            d.reason().ends_with("back to 1.6 at once"),
            "{}",
            d.reason()
        );
    }

    #[test]
    fn a_successful_probe_makes_the_primary_the_remembered_version() {
        let mut d = Driver::new(separate());
        d.script(&[true]);
        d.dial();
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(7200));
        assert_eq!(d.dial(), step(U201, &[V201], 3));
        d.connect(V201);
        d.disconnect_after(Duration::from_secs(7200));
        assert_eq!(d.dial(), step(U201, &[V201], 3));
    }

    #[test]
    fn no_probe_when_the_primary_is_what_works() {
        let mut d = Driver::new(separate());
        d.dial();
        d.connect(V201);
        d.disconnect_after(Duration::from_secs(86_400));
        assert_eq!(d.dial(), step(U201, &[V201], 3));
    }

    #[test]
    fn a_shared_url_remembers_the_offer_that_worked_and_probes_the_combined_one() {
        let mut d = Driver::new(settings(Some(SHARED), Some(SHARED)));
        d.script(&[true, true]); // both together, then 2.0.1 alone, refused
        assert_eq!(d.dial(), step(SHARED, &[V16], 0));
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(60));
        assert_eq!(d.dial(), step(SHARED, &[V16], 3));
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(3600));
        assert_eq!(d.dial(), step(SHARED, &[V201, V16], 3));
    }

    #[test]
    fn a_shared_url_where_the_csms_picks_the_other_version_is_not_probed() {
        // The CSMS chose 1.6 from the combined offer: offering the same again is no probe.
        let mut d = Driver::new(settings(Some(SHARED), Some(SHARED)));
        d.dial();
        d.connect(V16);
        d.disconnect_after(Duration::from_secs(7200));
        assert_eq!(d.dial(), step(SHARED, &[V201, V16], 3));
        assert!(!d.reason().contains("again first"), "{}", d.reason());
    }

    #[test]
    fn a_failure_reported_for_an_unknown_attempt_counts_against_the_current_one() {
        let mut d = Driver::new(separate());
        let now = d.now;
        d.dial();
        let stale = Attempt {
            url: url("wss://elsewhere/CP001"),
            offer: vec![V201],
            not_before: now,
            reason: String::new(),
        };
        d.plan.handle_failure(now, &stale, true, 0.0);
        assert_eq!(d.dial(), step(U16, &[V16], 0));
    }

    #[test]
    fn a_disconnect_without_a_connection_still_waits() {
        let mut d = Driver::new(separate());
        d.dial();
        d.plan.handle_disconnected(d.now, 0.0);
        assert_eq!(d.dial(), step(U201, &[V201], 3));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(secs(Duration::from_secs(3)), "3s");
        assert_eq!(secs(Duration::from_millis(7500)), "7.5s");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
        assert_eq!(human(Duration::from_secs(5400)), "90min");
        assert_eq!(human(Duration::from_secs(45)), "45s");
    }
}
