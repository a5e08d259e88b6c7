//! One station's charging sessions as the lab saw them: for each transaction its id, state,
//! energy, duration, events, seqNo gaps and repeats (2.0.1) and the events delivered with
//! `offline=true`; and the 1.6 messages that name a transaction id the lab never gave (a
//! station that sends its local id, or a stale one, instead of the CSMS's).
//!
//! What is billed is the energy register: the last reading minus the first (2.0.1: by seqNo,
//! so a late event cannot move either end; 1.6: `meterStart`, then the sampled register, then
//! `meterStop`). Duration runs from the first event's timestamp to the `Ended`/Stop one, or to
//! the latest event while the transaction runs: the station's clock, not the lab's, so events
//! delivered late from a queue still give the session's real length.
//!
//! Bounded: at most [`FINISHED_KEPT`] finished and [`OPEN_KEPT`] open transactions per station
//! (the oldest go first; the totals still count them) and the newest [`UNKNOWN_IDS_KEPT`]
//! messages with an unknown id.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::energy::{Readings, register_readings};
use super::seq_nos::{Arrival, SeqNos};
use super::{Stamp, clip_to};
use ocpp_station::clock::{format_timestamp, parse_timestamp};
use ocpp_station::ocpp::OcppVersion;

/// Finished transactions kept per station (the newest).
pub const FINISHED_KEPT: usize = 10;

/// Open transactions kept per station: a station has one per connector; more means it never
/// ended some, and the oldest of those go first.
pub const OPEN_KEPT: usize = 10;

/// Messages naming an unknown transaction id kept per station (the newest); all are counted.
pub const UNKNOWN_IDS_KEPT: usize = 10;

/// How many seqNo gaps are listed per transaction; `missing` counts them all.
pub const GAPS_SHOWN: usize = 10;

/// Longest transaction id kept (2.0.1 allows 36 characters).
const MAX_ID_CHARS: usize = 64;

/// Longest enumeration value kept (stoppedReason, chargingState).
const MAX_ENUM_CHARS: usize = 40;

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionState {
    /// Begun, no energy flowing (2.0.1 chargingState EVConnected or Idle, or none reported yet).
    Started,
    /// Energy flowing (2.0.1 chargingState Charging; 1.6 connector status Charging).
    Charging,
    /// Paused by the EV or the station (SuspendedEV, SuspendedEVSE).
    Suspended,
    /// Ended (2.0.1 eventType Ended; 1.6 StopTransaction). Final: a later event does not
    /// revive it.
    Ended,
}

impl TransactionState {
    /// The word shown.
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Started => "started",
            TransactionState::Charging => "charging",
            TransactionState::Suspended => "suspended",
            TransactionState::Ended => "ended",
        }
    }

    /// The state a charging state or 1.6 connector status means, when it means one.
    fn from_charging(state: &str) -> Option<Self> {
        match state {
            "Charging" => Some(TransactionState::Charging),
            "SuspendedEV" | "SuspendedEVSE" => Some(TransactionState::Suspended),
            "EVConnected" | "Idle" => Some(TransactionState::Started),
            _ => None,
        }
    }
}

/// One station's transactions.
#[derive(Debug, Clone, Default)]
pub(super) struct Transactions {
    /// In the order they were first seen.
    kept: VecDeque<Transaction>,
    /// The totals of the transactions no longer kept.
    dropped: TransactionTotals,
    /// How many were seen: the next one's number.
    seen: u64,
    unknown_count: u64,
    unknown_recent: VecDeque<UnknownIdSnapshot>,
}

#[derive(Debug, Clone)]
struct Transaction {
    number: u64,
    version: OcppVersion,
    /// 2.0.1: the station's transactionId; 1.6: the lab's id, once the start is answered.
    id: Option<String>,
    /// 1.6: the message id of the StartTransaction waiting for its answer.
    awaiting_answer: Option<String>,
    evse: Option<u32>,
    connector: Option<u32>,
    state: TransactionState,
    /// The order (seqNo, or 1.6 message count) of the event that set the state.
    state_order: Option<u64>,
    charging_state: Option<String>,
    stopped_reason: Option<String>,
    /// The timestamp of the earliest event (by order) and its order.
    started: Option<(u64, DateTime<Utc>)>,
    ended: Option<DateTime<Utc>>,
    latest: Option<DateTime<Utc>>,
    events: u64,
    /// The register readings at the lowest and highest order: `(order, Wh)`.
    first_reading: Option<(u64, f64)>,
    last_reading: Option<(u64, f64)>,
    seq_nos: Option<SeqNos>,
    offline_events: u64,
    repeats: u64,
}

/// A transaction as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransactionSnapshot {
    /// This station's n-th transaction since the lab started (1, 2, ...): what tells two
    /// snapshots of the same transaction apart from another, even before a 1.6 id is given.
    pub number: u64,
    /// 2.0.1: the station's transactionId; 1.6: the id the lab gave (`None` until the start is
    /// answered).
    pub id: Option<String>,
    /// 2.0.1 EVSE id (from the first event); absent in 1.6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse: Option<u32>,
    /// The connector, when the station said.
    pub connector: Option<u32>,
    /// Where it stands.
    pub state: TransactionState,
    /// 2.0.1: the last chargingState reported.
    pub charging_state: Option<String>,
    /// Why it ended (2.0.1 stoppedReason, 1.6 reason); absent means Local in both versions.
    pub stopped_reason: Option<String>,
    /// The station's timestamp of its first event.
    pub started: Option<String>,
    /// The station's timestamp of its end.
    pub ended: Option<String>,
    /// From `started` to `ended`, or to the latest event while it runs.
    pub duration_seconds: Option<u64>,
    /// Transaction messages received (2.0.1 TransactionEvents; 1.6 Start, MeterValues, Stop).
    pub events: u64,
    /// Energy so far, Wh: the last register reading minus the first.
    pub energy_wh: Option<f64>,
    /// The first register reading, Wh (1.6: `meterStart`).
    pub meter_start_wh: Option<f64>,
    /// The last register reading, Wh (1.6: `meterStop` once stopped).
    pub meter_last_wh: Option<f64>,
    /// 2.0.1: what the seqNos show; absent in 1.6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_nos: Option<SeqNoSnapshot>,
    /// 2.0.1: events that arrived with `offline=true`.
    pub offline_events: u64,
    /// Events received twice: 2.0.1 a seqNo already received, 1.6 a second StopTransaction.
    /// Their data is not applied again.
    pub repeats: u64,
}

/// The seqNos of a 2.0.1 transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqNoSnapshot {
    /// The highest seqNo received.
    pub highest: Option<u64>,
    /// The missing ones between 0 and `highest` (`3`, `5-7`), the first [`GAPS_SHOWN`].
    pub gaps: Vec<String>,
    /// There are more gaps than `gaps` lists.
    pub more_gaps: bool,
    /// How many are missing in all.
    pub missing: u64,
    /// seqNos not placed (a station with more gaps than the view keeps): `gaps` is then an
    /// upper bound.
    pub untracked: u64,
}

/// A 1.6 message naming a transaction this station does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownIdSnapshot {
    /// When it arrived.
    pub at: String,
    /// MeterValues or StopTransaction.
    pub action: String,
    /// The id it named.
    pub transaction_id: i64,
    /// The lab gave this id, to another station or to one of this station's transactions no
    /// longer kept; `false`: the lab never gave it (a local id that was never replaced).
    pub allocated: bool,
}

/// Counts over every transaction seen since the lab started, kept or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TransactionTotals {
    /// Transactions seen.
    pub transactions: u64,
    /// Of those, running now.
    pub in_progress: u64,
    /// Of those, ended.
    pub ended: u64,
    /// Their energy, Wh.
    pub energy_wh: f64,
    /// Transactions with a seqNo gap.
    pub with_seq_no_gaps: u64,
    /// Events delivered with `offline=true`.
    pub offline_events: u64,
    /// 1.6 messages that named a transaction id the station does not have.
    pub unknown_id_messages: u64,
}

impl TransactionTotals {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &TransactionTotals) {
        self.transactions = self.transactions.saturating_add(other.transactions);
        self.in_progress = self.in_progress.saturating_add(other.in_progress);
        self.ended = self.ended.saturating_add(other.ended);
        self.energy_wh += other.energy_wh;
        self.with_seq_no_gaps = self.with_seq_no_gaps.saturating_add(other.with_seq_no_gaps);
        self.offline_events = self.offline_events.saturating_add(other.offline_events);
        self.unknown_id_messages = self
            .unknown_id_messages
            .saturating_add(other.unknown_id_messages);
    }
}

/// A station's transactions as the operator sees them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TransactionsSnapshot {
    /// The transactions kept, in the order they were first seen.
    pub recent: Vec<TransactionSnapshot>,
    /// Counts over all of them, kept or not.
    pub totals: TransactionTotals,
    /// The newest messages that named an unknown transaction id.
    pub unknown_ids: Vec<UnknownIdSnapshot>,
}

impl TransactionsSnapshot {
    /// Per connector, the transaction running on it, or else its last one, in connector order
    /// (transactions whose connector is unknown last).
    pub fn by_connector(&self) -> Vec<&TransactionSnapshot> {
        let mut chosen: Vec<&TransactionSnapshot> = Vec::new();
        for transaction in &self.recent {
            let key = (transaction.evse, transaction.connector);
            match chosen.iter_mut().find(|c| (c.evse, c.connector) == key) {
                Some(slot) => {
                    // A running one wins over any finished one; among equals the newest.
                    let running = transaction.state != TransactionState::Ended;
                    if running || slot.state == TransactionState::Ended {
                        *slot = transaction;
                    }
                }
                None => chosen.push(transaction),
            }
        }
        chosen.sort_by_key(|t| (t.connector.is_none(), t.evse, t.connector));
        chosen
    }
}

impl Transactions {
    /// A 2.0.1 TransactionEvent.
    pub(super) fn on_transaction_event(&mut self, payload: &Value) {
        let Some(id) = payload
            .get("transactionInfo")
            .and_then(|info| info.get("transactionId"))
            .and_then(Value::as_str)
            .map(|id| clip_to(id, MAX_ID_CHARS))
        else {
            return;
        };
        let index = match self.find(OcppVersion::V201, &id) {
            Some(index) => index,
            None => self.insert(Transaction::new(OcppVersion::V201, Some(id))),
        };
        if let Some(tx) = self.kept.get_mut(index) {
            tx.apply_event(payload);
            if tx.state == TransactionState::Ended {
                self.enforce_bounds();
            }
        }
    }

    /// A 1.6 StartTransaction, message id `message_id`: a transaction whose id comes with the
    /// answer.
    pub(super) fn on_start(&mut self, message_id: Option<&str>, payload: &Value) {
        let mut tx = Transaction::new(OcppVersion::V16, None);
        tx.awaiting_answer = message_id.map(str::to_owned);
        tx.connector = number(payload, "connectorId");
        tx.events = 1;
        tx.saw_time(0, timestamp(payload.get("timestamp")));
        if let Some(start) = payload.get("meterStart").and_then(Value::as_f64) {
            tx.saw_readings(
                0,
                Some(Readings {
                    first: start,
                    last: start,
                }),
            );
        }
        self.insert(tx);
    }

    /// The lab's answer to a 1.6 StartTransaction: the id it gave.
    pub(super) fn on_start_answer(&mut self, message_id: Option<&str>, payload: &Value) {
        let Some(tx) = self.kept.iter_mut().find(|tx| {
            tx.version == OcppVersion::V16
                && tx.awaiting_answer.is_some()
                && tx.awaiting_answer.as_deref() == message_id
        }) else {
            return;
        };
        tx.awaiting_answer = None;
        tx.id = payload
            .get("transactionId")
            .and_then(Value::as_i64)
            .map(|id| id.to_string());
    }

    /// A 1.6 MeterValues: part of a transaction when it names one. `allocated` holds the ids
    /// the lab has given.
    pub(super) fn on_meter_values(
        &mut self,
        at: Stamp,
        payload: &Value,
        allocated: Option<&RangeInclusive<i64>>,
    ) {
        let Some(id) = payload.get("transactionId").and_then(Value::as_i64) else {
            return;
        };
        let Some(tx) = self.find_16(at, "MeterValues", id, allocated) else {
            return;
        };
        tx.events = tx.events.saturating_add(1);
        let order = tx.events;
        let meter_values = payload.get("meterValue");
        tx.saw_time(order, latest_meter_value_time(meter_values));
        if tx.state != TransactionState::Ended {
            tx.saw_readings(order, register_readings(meter_values, OcppVersion::V16));
        }
    }

    /// A 1.6 StopTransaction.
    pub(super) fn on_stop(
        &mut self,
        at: Stamp,
        payload: &Value,
        allocated: Option<&RangeInclusive<i64>>,
    ) {
        let Some(id) = payload.get("transactionId").and_then(Value::as_i64) else {
            return;
        };
        let Some(tx) = self.find_16(at, "StopTransaction", id, allocated) else {
            return;
        };
        tx.events = tx.events.saturating_add(1);
        if tx.state == TransactionState::Ended {
            // The same stop again: the first one's data stands.
            tx.repeats = tx.repeats.saturating_add(1);
            return;
        }
        let order = tx.events;
        // The transaction data comes before the stop's own reading, which is the last word.
        tx.saw_readings(
            order,
            register_readings(payload.get("transactionData"), OcppVersion::V16),
        );
        if let Some(stop) = payload.get("meterStop").and_then(Value::as_f64) {
            tx.saw_readings(
                u64::MAX,
                Some(Readings {
                    first: stop,
                    last: stop,
                }),
            );
        }
        let stopped = timestamp(payload.get("timestamp"));
        tx.saw_time(u64::MAX, stopped);
        tx.ended = stopped.or(tx.ended);
        tx.stopped_reason = text(Some(payload), "reason");
        tx.state = TransactionState::Ended;
        self.enforce_bounds();
    }

    /// A 1.6 connector status: Charging and the suspended ones are the state of the
    /// transaction running on that connector.
    pub(super) fn on_connector_status(&mut self, connector: u32, status: Option<&str>) {
        let Some(state) = status.and_then(TransactionState::from_charging) else {
            return;
        };
        if let Some(tx) = self.kept.iter_mut().rev().find(|tx| {
            tx.version == OcppVersion::V16
                && tx.connector == Some(connector)
                && tx.state != TransactionState::Ended
        }) {
            tx.state = state;
        }
    }

    /// Everything as it stands.
    pub(super) fn snapshot(&self) -> TransactionsSnapshot {
        let recent: Vec<TransactionSnapshot> =
            self.kept.iter().map(Transaction::snapshot).collect();
        let mut totals = self.dropped.clone();
        for transaction in &recent {
            totals.add(&totals_of(transaction));
        }
        totals.unknown_id_messages = self.unknown_count;
        TransactionsSnapshot {
            recent,
            totals,
            unknown_ids: self.unknown_recent.iter().cloned().collect(),
        }
    }

    fn find(&self, version: OcppVersion, id: &str) -> Option<usize> {
        // The newest first: an id that came back after it was dropped is the new one.
        self.kept
            .iter()
            .rposition(|tx| tx.version == version && tx.id.as_deref() == Some(id))
    }

    /// The 1.6 transaction `id` names, or, when the station has none such, a note of the
    /// message that named it.
    fn find_16(
        &mut self,
        at: Stamp,
        action: &str,
        id: i64,
        allocated: Option<&RangeInclusive<i64>>,
    ) -> Option<&mut Transaction> {
        match self.find(OcppVersion::V16, &id.to_string()) {
            Some(index) => self.kept.get_mut(index),
            None => {
                self.unknown_count = self.unknown_count.saturating_add(1);
                if self.unknown_recent.len() >= UNKNOWN_IDS_KEPT {
                    self.unknown_recent.pop_front();
                }
                self.unknown_recent.push_back(UnknownIdSnapshot {
                    at: format_timestamp(at.wall),
                    action: action.to_owned(),
                    transaction_id: id,
                    allocated: allocated.is_some_and(|ids| ids.contains(&id)),
                });
                None
            }
        }
    }

    /// Adds a transaction; its index.
    fn insert(&mut self, mut tx: Transaction) -> usize {
        self.seen = self.seen.saturating_add(1);
        tx.number = self.seen;
        self.kept.push_back(tx);
        self.enforce_bounds();
        self.kept.len().saturating_sub(1)
    }

    /// Drops the oldest finished and open transactions beyond the bounds, into the totals.
    fn enforce_bounds(&mut self) {
        for (ended, bound) in [(true, FINISHED_KEPT), (false, OPEN_KEPT)] {
            let is = |tx: &Transaction| (tx.state == TransactionState::Ended) == ended;
            while self.kept.iter().filter(|tx| is(tx)).count() > bound {
                let Some(oldest) = self.kept.iter().position(is) else {
                    break;
                };
                if let Some(tx) = self.kept.remove(oldest) {
                    let mut totals = totals_of(&tx.snapshot());
                    // Dropped, it no longer runs.
                    totals.in_progress = 0;
                    self.dropped.add(&totals);
                }
            }
        }
    }
}

impl Transaction {
    fn new(version: OcppVersion, id: Option<String>) -> Self {
        Transaction {
            number: 0,
            version,
            id,
            awaiting_answer: None,
            evse: None,
            connector: None,
            state: TransactionState::Started,
            state_order: None,
            charging_state: None,
            stopped_reason: None,
            started: None,
            ended: None,
            latest: None,
            events: 0,
            first_reading: None,
            last_reading: None,
            seq_nos: None,
            offline_events: 0,
            repeats: 0,
        }
    }

    /// A 2.0.1 TransactionEvent of this transaction.
    fn apply_event(&mut self, payload: &Value) {
        self.events = self.events.saturating_add(1);
        if payload.get("offline").and_then(Value::as_bool) == Some(true) {
            self.offline_events = self.offline_events.saturating_add(1);
        }
        let seq = payload.get("seqNo").and_then(Value::as_u64);
        let seq_nos = self.seq_nos.get_or_insert_with(SeqNos::default);
        // An event without a usable seqNo counts as the newest.
        let order = seq.unwrap_or_else(|| seq_nos.highest().unwrap_or(0));
        if let Some(seq) = seq
            && seq_nos.record(seq) == Arrival::Repeat
        {
            // The same event again: its data is already in.
            self.repeats = self.repeats.saturating_add(1);
            return;
        }
        if let Some(evse) = payload.get("evse") {
            self.evse = self.evse.or_else(|| number(evse, "id"));
            self.connector = self.connector.or_else(|| number(evse, "connectorId"));
        }
        let time = timestamp(payload.get("timestamp"));
        self.saw_time(order, time);
        self.saw_readings(
            order,
            register_readings(payload.get("meterValue"), OcppVersion::V201),
        );
        let info = payload.get("transactionInfo");
        if payload.get("eventType").and_then(Value::as_str) == Some("Ended") {
            self.state = TransactionState::Ended;
            self.ended = time.or(self.ended);
            self.stopped_reason = text(info, "stoppedReason").or(self.stopped_reason.take());
        }
        // A late event (lower seqNo than one already applied) does not set the state.
        if self.state_order.is_some_and(|newest| order < newest) {
            return;
        }
        self.state_order = Some(order);
        if let Some(charging) = text(info, "chargingState") {
            if self.state != TransactionState::Ended
                && let Some(state) = TransactionState::from_charging(&charging)
            {
                self.state = state;
            }
            self.charging_state = Some(charging);
        }
    }

    /// An event of order `order` happened at `time`.
    fn saw_time(&mut self, order: u64, time: Option<DateTime<Utc>>) {
        let Some(time) = time else {
            return;
        };
        if self.started.is_none_or(|(first, _)| order < first) {
            self.started = Some((order, time));
        }
        if self.latest.is_none_or(|latest| time > latest) {
            self.latest = Some(time);
        }
    }

    /// An event of order `order` carried these register readings.
    fn saw_readings(&mut self, order: u64, readings: Option<Readings>) {
        let Some(readings) = readings else {
            return;
        };
        if self.first_reading.is_none_or(|(first, _)| order < first) {
            self.first_reading = Some((order, readings.first));
        }
        if self.last_reading.is_none_or(|(last, _)| order >= last) {
            self.last_reading = Some((order, readings.last));
        }
    }

    fn snapshot(&self) -> TransactionSnapshot {
        let started = self.started.map(|(_, time)| time);
        let until = self.ended.or(self.latest);
        let duration_seconds = started.zip(until).and_then(|(from, to)| {
            u64::try_from(to.signed_duration_since(from).num_seconds().max(0)).ok()
        });
        let first = self.first_reading.map(|(_, wh)| wh);
        let last = self.last_reading.map(|(_, wh)| wh);
        TransactionSnapshot {
            number: self.number,
            id: self.id.clone(),
            evse: self.evse,
            connector: self.connector,
            state: self.state,
            charging_state: self.charging_state.clone(),
            stopped_reason: self.stopped_reason.clone(),
            started: started.map(format_timestamp),
            ended: self.ended.map(format_timestamp),
            duration_seconds,
            events: self.events,
            energy_wh: first.zip(last).map(|(first, last)| last - first),
            meter_start_wh: first,
            meter_last_wh: last,
            seq_nos: self.seq_nos.as_ref().map(|seen| {
                let gaps = seen.gaps();
                SeqNoSnapshot {
                    highest: seen.highest(),
                    more_gaps: gaps.len() > GAPS_SHOWN,
                    gaps: gaps
                        .iter()
                        .take(GAPS_SHOWN)
                        .map(|&(start, end)| {
                            if start == end {
                                start.to_string()
                            } else {
                                format!("{start}-{end}")
                            }
                        })
                        .collect(),
                    missing: seen.missing(),
                    untracked: seen.untracked(),
                }
            }),
            offline_events: self.offline_events,
            repeats: self.repeats,
        }
    }
}

/// One transaction's share of the totals.
fn totals_of(tx: &TransactionSnapshot) -> TransactionTotals {
    let ended = tx.state == TransactionState::Ended;
    TransactionTotals {
        transactions: 1,
        in_progress: u64::from(!ended),
        ended: u64::from(ended),
        energy_wh: tx.energy_wh.unwrap_or(0.0),
        with_seq_no_gaps: u64::from(tx.seq_nos.as_ref().is_some_and(|s| s.missing > 0)),
        offline_events: tx.offline_events,
        unknown_id_messages: 0,
    }
}

/// The timestamp in `value`, when it is one.
fn timestamp(value: Option<&Value>) -> Option<DateTime<Utc>> {
    value.and_then(Value::as_str).and_then(parse_timestamp)
}

/// The latest timestamp of a `meterValue` array.
fn latest_meter_value_time(meter_values: Option<&Value>) -> Option<DateTime<Utc>> {
    meter_values?
        .as_array()?
        .iter()
        .filter_map(|entry| timestamp(entry.get("timestamp")))
        .max()
}

/// The enumeration value at `key`, clipped.
fn text(value: Option<&Value>, key: &str) -> Option<String> {
    value?
        .get(key)?
        .as_str()
        .map(|text| clip_to(text, MAX_ENUM_CHARS))
}

/// The small non-negative integer at `key`.
fn number(value: &Value, key: &str) -> Option<u32> {
    value
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::time::{Duration, Instant};

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::answer::{MessageKind, WireMessage};
    use crate::view::{Direction, View};

    /// A view with one station per test, fed frames at fixed instants.
    struct Bench {
        view: View,
        start: Instant,
    }

    impl Bench {
        fn new() -> Self {
            #[allow(
                clippy::disallowed_methods,
                reason = "a fixed origin for the test clock"
            )]
            let start = Instant::now();
            Bench {
                view: View::new(Duration::from_secs(30)),
                start,
            }
        }

        fn stamp(&self) -> Stamp {
            Stamp {
                mono: self.start,
                wall: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
            }
        }

        fn call(
            &mut self,
            station: &str,
            version: OcppVersion,
            id: &str,
            action: &str,
            payload: Value,
        ) {
            let message = WireMessage {
                kind: MessageKind::Call,
                id: Some(id.into()),
                action: Some(action.into()),
                payload,
                error: None,
            };
            let at = self.stamp();
            self.view
                .message(at, station, version, Direction::FromStation, &message);
        }

        fn answer(
            &mut self,
            station: &str,
            version: OcppVersion,
            id: &str,
            action: &str,
            payload: Value,
        ) {
            let message = WireMessage {
                kind: MessageKind::CallResult,
                id: Some(id.into()),
                action: Some(action.into()),
                payload,
                error: None,
            };
            let at = self.stamp();
            self.view
                .message(at, station, version, Direction::ToStation, &message);
        }

        /// A 2.0.1 TransactionEvent from CP1.
        fn event(&mut self, payload: Value) {
            self.call("CP1", OcppVersion::V201, "e", "TransactionEvent", payload);
        }

        /// A 1.6 StartTransaction from `station`, answered with `id`.
        fn start_16(&mut self, station: &str, message_id: &str, id: i64, meter_start: i64) {
            self.call(
                station,
                OcppVersion::V16,
                message_id,
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "LOCAL", "meterStart": meter_start,
                       "timestamp": "2026-01-01T10:00:00.000Z"}),
            );
            self.answer(
                station,
                OcppVersion::V16,
                message_id,
                "StartTransaction",
                json!({"idTagInfo": {"status": "Accepted"}, "transactionId": id}),
            );
        }

        fn transactions(&self, station: &str) -> TransactionsSnapshot {
            self.view
                .snapshot(self.start)
                .into_iter()
                .find(|s| s.identity == station)
                .expect("the station")
                .transactions
        }

        fn only(&self) -> TransactionSnapshot {
            let transactions = self.transactions("CP1");
            assert_eq!(transactions.recent.len(), 1, "{transactions:?}");
            transactions.recent.into_iter().next().unwrap()
        }
    }

    /// A 2.0.1 event of transaction `id` at `second` after 10:00, with `extra` fields.
    fn event(id: &str, kind: &str, seq: u64, second: u32, extra: Value) -> Value {
        let mut payload = json!({
            "eventType": kind, "seqNo": seq, "triggerReason": "Trigger",
            "timestamp": format!("2026-01-01T10:{:02}:{:02}.000Z", second / 60, second % 60),
            "transactionInfo": {"transactionId": id},
        });
        for (key, value) in extra.as_object().unwrap() {
            if key == "transactionInfo" {
                for (k, v) in value.as_object().unwrap() {
                    payload["transactionInfo"][k] = v.clone();
                }
            } else {
                payload[key] = value.clone();
            }
        }
        payload
    }

    fn register(wh: f64) -> Value {
        json!([{"timestamp": "2026-01-01T10:00:00.000Z", "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Import.Register",
             "unitOfMeasure": {"unit": "Wh"}}]}])
    }

    #[test]
    fn a_201_session_shows_its_state_energy_duration_and_no_gaps() {
        let mut bench = Bench::new();
        bench.event(event(
            "tx-1",
            "Started",
            0,
            0,
            json!({
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": "", "type": "NoAuthorization"},
                "transactionInfo": {"chargingState": "EVConnected"},
                "meterValue": register(1000.0),
            }),
        ));
        let started = bench.only();
        assert_eq!(started.id.as_deref(), Some("tx-1"));
        assert_eq!((started.evse, started.connector), (Some(1), Some(1)));
        assert_eq!(started.state, TransactionState::Started);
        assert_eq!(started.energy_wh, Some(0.0));
        assert_eq!(started.number, 1);

        bench.event(event(
            "tx-1",
            "Updated",
            1,
            5,
            json!({
            "transactionInfo": {"chargingState": "Charging"}}),
        ));
        assert_eq!(bench.only().state, TransactionState::Charging);
        bench.event(event(
            "tx-1",
            "Updated",
            2,
            60,
            json!({"meterValue": register(1500.0)}),
        ));
        let charging = bench.only();
        assert_eq!(charging.state, TransactionState::Charging);
        assert_eq!(charging.energy_wh, Some(500.0));
        assert_eq!(charging.duration_seconds, Some(60));
        bench.event(event(
            "tx-1",
            "Updated",
            3,
            90,
            json!({
            "transactionInfo": {"chargingState": "SuspendedEV"}}),
        ));
        assert_eq!(bench.only().state, TransactionState::Suspended);
        bench.event(event(
            "tx-1",
            "Ended",
            4,
            300,
            json!({
                "transactionInfo": {"chargingState": "Idle", "stoppedReason": "EVDisconnected"},
                "meterValue": [{"timestamp": "2026-01-01T10:05:00.000Z", "sampledValue": [
                    {"value": 2.25, "unitOfMeasure": {"unit": "kWh"}}]}],
            }),
        ));

        let ended = bench.only();
        assert_eq!(ended.state, TransactionState::Ended);
        assert_eq!(ended.stopped_reason.as_deref(), Some("EVDisconnected"));
        assert_eq!(ended.charging_state.as_deref(), Some("Idle"));
        assert_eq!(ended.energy_wh, Some(1250.0));
        assert_eq!(ended.meter_start_wh, Some(1000.0));
        assert_eq!(ended.meter_last_wh, Some(2250.0));
        assert_eq!(ended.started.as_deref(), Some("2026-01-01T10:00:00.000Z"));
        assert_eq!(ended.ended.as_deref(), Some("2026-01-01T10:05:00.000Z"));
        assert_eq!(ended.duration_seconds, Some(300));
        assert_eq!(ended.events, 5);
        let seq_nos = ended.seq_nos.unwrap();
        assert_eq!(seq_nos.highest, Some(4));
        assert!(seq_nos.gaps.is_empty());
        assert_eq!(seq_nos.missing, 0);
        assert_eq!((ended.offline_events, ended.repeats), (0, 0));
        let totals = bench.transactions("CP1").totals;
        assert_eq!(
            totals,
            TransactionTotals {
                transactions: 1,
                in_progress: 0,
                ended: 1,
                energy_wh: 1250.0,
                with_seq_no_gaps: 0,
                offline_events: 0,
                unknown_id_messages: 0,
            }
        );
    }

    #[test]
    fn a_seq_no_gap_shows_until_the_event_arrives_and_a_late_event_revives_nothing() {
        let mut bench = Bench::new();
        bench.event(event(
            "tx-2",
            "Started",
            0,
            0,
            json!({"meterValue": register(0.0)}),
        ));
        bench.event(event("tx-2", "Updated", 1, 10, json!({})));
        bench.event(event(
            "tx-2",
            "Updated",
            4,
            40,
            json!({"meterValue": register(400.0)}),
        ));
        bench.event(event(
            "tx-2",
            "Ended",
            5,
            50,
            json!({"meterValue": register(500.0)}),
        ));
        let gapped = bench.only();
        let seq_nos = gapped.seq_nos.clone().unwrap();
        assert_eq!(seq_nos.gaps, ["2-3"]);
        assert_eq!(seq_nos.missing, 2);
        assert_eq!(bench.transactions("CP1").totals.with_seq_no_gaps, 1);

        // The missing events come late: the gap closes, the energy and the end stand.
        bench.event(event(
            "tx-2",
            "Updated",
            2,
            20,
            json!({
            "transactionInfo": {"chargingState": "Charging"},
            "meterValue": register(200.0)}),
        ));
        bench.event(event("tx-2", "Updated", 3, 30, json!({})));
        let closed = bench.only();
        assert!(closed.seq_nos.as_ref().unwrap().gaps.is_empty());
        assert_eq!(closed.state, TransactionState::Ended);
        assert_eq!(closed.energy_wh, Some(500.0));
        assert_eq!(closed.events, 6);
        assert_eq!(bench.transactions("CP1").totals.with_seq_no_gaps, 0);

        // The same event twice is counted, not applied again.
        bench.event(event(
            "tx-2",
            "Ended",
            5,
            50,
            json!({"meterValue": register(9999.0)}),
        ));
        let repeated = bench.only();
        assert_eq!(repeated.repeats, 1);
        assert_eq!(repeated.energy_wh, Some(500.0));
    }

    #[test]
    fn events_delivered_offline_are_counted() {
        let mut bench = Bench::new();
        bench.event(event("tx-3", "Started", 0, 0, json!({"offline": true})));
        bench.event(event("tx-3", "Updated", 1, 10, json!({"offline": true})));
        bench.event(event("tx-3", "Ended", 2, 20, json!({"offline": false})));
        assert_eq!(bench.only().offline_events, 2);
        assert_eq!(bench.transactions("CP1").totals.offline_events, 2);
    }

    #[test]
    fn a_transaction_seen_from_the_middle_shows_what_the_lab_missed() {
        let mut bench = Bench::new();
        bench.event(event(
            "tx-4",
            "Updated",
            3,
            30,
            json!({"meterValue": register(300.0)}),
        ));
        let late = bench.only();
        assert_eq!(late.seq_nos.unwrap().gaps, ["0-2"]);
        assert_eq!(late.evse, None);
        assert_eq!(late.state, TransactionState::Started);
    }

    #[test]
    fn a_16_session_shows_the_labs_id_the_connector_state_and_the_meter_delta() {
        let mut bench = Bench::new();
        let v = OcppVersion::V16;
        bench.call(
            "CP1",
            v,
            "s1",
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "LOCAL", "meterStart": 1000,
                   "timestamp": "2026-01-01T10:00:00.000Z"}),
        );
        assert_eq!(bench.only().id, None);
        bench.answer(
            "CP1",
            v,
            "s1",
            "StartTransaction",
            json!({"idTagInfo": {"status": "Accepted"}, "transactionId": 41}),
        );
        let started = bench.only();
        assert_eq!(started.id.as_deref(), Some("41"));
        assert_eq!((started.evse, started.connector), (None, Some(1)));
        assert_eq!(started.seq_nos, None);
        let status = |bench: &mut Bench, status: &str| {
            bench.call(
                "CP1",
                v,
                "st",
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": status}),
            );
        };
        status(&mut bench, "Charging");
        assert_eq!(bench.only().state, TransactionState::Charging);
        bench.call(
            "CP1",
            v,
            "m1",
            "MeterValues",
            json!({"connectorId": 1, "transactionId": 41, "meterValue": [
                {"timestamp": "2026-01-01T10:10:00.000Z", "sampledValue": [
                    {"value": "1.6", "unit": "kWh", "context": "Sample.Periodic"},
                    {"value": "230", "measurand": "Voltage", "unit": "V"}]}]}),
        );
        let sampled = bench.only();
        assert_eq!(sampled.energy_wh, Some(600.0));
        assert_eq!(sampled.duration_seconds, Some(600));
        status(&mut bench, "SuspendedEV");
        assert_eq!(bench.only().state, TransactionState::Suspended);
        bench.call(
            "CP1",
            v,
            "p1",
            "StopTransaction",
            json!({"transactionId": 41, "meterStop": 3000, "reason": "EVDisconnected",
                   "timestamp": "2026-01-01T10:30:00.000Z"}),
        );
        // A connector status after the stop changes nothing.
        status(&mut bench, "Charging");
        let ended = bench.only();
        assert_eq!(ended.state, TransactionState::Ended);
        assert_eq!(ended.stopped_reason.as_deref(), Some("EVDisconnected"));
        assert_eq!(ended.energy_wh, Some(2000.0));
        assert_eq!(
            (ended.meter_start_wh, ended.meter_last_wh),
            (Some(1000.0), Some(3000.0))
        );
        assert_eq!(ended.duration_seconds, Some(1800));
        assert_eq!(ended.events, 3);
        assert!(bench.transactions("CP1").unknown_ids.is_empty());

        // The same stop again: counted, the first one's data stands.
        bench.call(
            "CP1",
            v,
            "p2",
            "StopTransaction",
            json!({"transactionId": 41, "meterStop": 9000, "reason": "Local",
                   "timestamp": "2026-01-01T11:00:00.000Z"}),
        );
        let repeated = bench.only();
        assert_eq!(repeated.repeats, 1);
        assert_eq!(repeated.energy_wh, Some(2000.0));
        assert_eq!(repeated.stopped_reason.as_deref(), Some("EVDisconnected"));
    }

    #[test]
    fn a_16_message_naming_an_id_the_lab_never_gave_is_shown() {
        let mut bench = Bench::new();
        let v = OcppVersion::V16;
        bench.start_16("CP1", "s1", 1, 0);
        bench.start_16("CP2", "s1", 2, 0);
        // The local id a station uses offline, never replaced: the bug to catch.
        bench.call(
            "CP1",
            v,
            "m1",
            "MeterValues",
            json!({"connectorId": 1, "transactionId": -1, "meterValue": [
                {"timestamp": "2026-01-01T10:01:00.000Z", "sampledValue": [{"value": "50"}]}]}),
        );
        bench.call(
            "CP1",
            v,
            "p1",
            "StopTransaction",
            json!({"transactionId": -1, "meterStop": 100, "timestamp": "2026-01-01T10:02:00.000Z"}),
        );
        // Another station's id: given, but not to this station.
        bench.call(
            "CP1",
            v,
            "p2",
            "StopTransaction",
            json!({"transactionId": 2, "meterStop": 100, "timestamp": "2026-01-01T10:02:00.000Z"}),
        );
        // Meter values outside a transaction name none: nothing to report.
        bench.call(
            "CP1",
            v,
            "m2",
            "MeterValues",
            json!({"connectorId": 0, "meterValue": []}),
        );

        let cp1 = bench.transactions("CP1");
        assert_eq!(cp1.totals.unknown_id_messages, 3);
        let named: Vec<_> = cp1
            .unknown_ids
            .iter()
            .map(|u| (u.action.as_str(), u.transaction_id, u.allocated))
            .collect();
        assert_eq!(
            named,
            [
                ("MeterValues", -1, false),
                ("StopTransaction", -1, false),
                ("StopTransaction", 2, true)
            ]
        );
        // Neither transaction moved.
        assert_eq!(cp1.recent[0].state, TransactionState::Started);
        assert_eq!(cp1.recent[0].energy_wh, Some(0.0));
        assert_eq!(
            bench.transactions("CP2").recent[0].state,
            TransactionState::Started
        );
    }

    #[test]
    fn payloads_that_name_no_transaction_change_nothing() {
        let mut bench = Bench::new();
        for payload in [
            json!({}),
            json!({"transactionInfo": {}}),
            json!({"transactionInfo": {"transactionId": 5}}),
            json!([1, 2]),
        ] {
            bench.event(payload);
        }
        bench.call(
            "CP1",
            OcppVersion::V16,
            "p",
            "StopTransaction",
            json!({"transactionId": "1"}),
        );
        bench.call(
            "CP1",
            OcppVersion::V16,
            "m",
            "MeterValues",
            json!({"transactionId": 1.5}),
        );
        let transactions = bench.transactions("CP1");
        assert!(transactions.recent.is_empty());
        assert_eq!(transactions.totals, TransactionTotals::default());
    }

    #[test]
    fn a_long_id_is_clipped() {
        let mut bench = Bench::new();
        let long = "x".repeat(500);
        bench.event(event(&long, "Started", 0, 0, json!({})));
        let id = bench.only().id.unwrap();
        assert_eq!(id.chars().count(), MAX_ID_CHARS + 3);
        // Its later events still find it.
        bench.event(event(&long, "Updated", 1, 1, json!({})));
        assert_eq!(bench.only().events, 2);
    }

    #[test]
    fn the_view_keeps_a_bounded_number_and_the_totals_count_them_all() {
        let mut bench = Bench::new();
        let sessions = FINISHED_KEPT + 15;
        for n in 0..sessions {
            let id = format!("done-{n}");
            bench.event(event(
                &id,
                "Started",
                0,
                0,
                json!({"meterValue": register(0.0)}),
            ));
            bench.event(event(
                &id,
                "Ended",
                1,
                60,
                json!({"meterValue": register(1000.0)}),
            ));
        }
        let open = OPEN_KEPT + 5;
        for n in 0..open {
            bench.event(event(&format!("open-{n}"), "Started", 0, 0, json!({})));
        }
        let transactions = bench.transactions("CP1");
        let ended: Vec<_> = transactions
            .recent
            .iter()
            .filter(|t| t.state == TransactionState::Ended)
            .collect();
        assert_eq!(ended.len(), FINISHED_KEPT);
        // The newest finished ones are kept.
        assert_eq!(
            ended.last().unwrap().id.as_deref(),
            Some(format!("done-{}", sessions - 1).as_str())
        );
        let running = transactions.recent.len() - ended.len();
        assert_eq!(running, OPEN_KEPT);
        let totals = &transactions.totals;
        assert_eq!(totals.transactions, (sessions + open) as u64);
        assert_eq!(totals.ended, sessions as u64);
        assert_eq!(totals.in_progress, OPEN_KEPT as u64);
        assert_eq!(totals.energy_wh, 1000.0 * sessions as f64);

        for n in 0..(UNKNOWN_IDS_KEPT + 3) {
            bench.call(
                "CP1",
                OcppVersion::V16,
                "m",
                "MeterValues",
                json!({"connectorId": 1, "transactionId": -(n as i64)}),
            );
        }
        let transactions = bench.transactions("CP1");
        assert_eq!(transactions.unknown_ids.len(), UNKNOWN_IDS_KEPT);
        assert_eq!(
            transactions.totals.unknown_id_messages,
            (UNKNOWN_IDS_KEPT + 3) as u64
        );
    }

    #[test]
    fn per_connector_the_running_transaction_wins_over_the_last_finished_one() {
        let mut bench = Bench::new();
        let on = |evse: u32| json!({"evse": {"id": evse, "connectorId": 1}});
        bench.event(event("a", "Started", 0, 0, on(1)));
        bench.event(event("b", "Started", 0, 0, on(1)));
        bench.event(event("c", "Started", 0, 0, on(2)));
        bench.event(event("c", "Ended", 1, 10, json!({})));
        bench.event(event("d", "Started", 0, 0, json!({})));
        // "a" ends late, after "b" started: "b" is the one running on EVSE 1.
        bench.event(event("a", "Ended", 1, 10, json!({})));
        let transactions = bench.transactions("CP1");
        let shown: Vec<_> = transactions
            .by_connector()
            .iter()
            .map(|t| t.id.clone().unwrap())
            .collect();
        assert_eq!(shown, ["b", "c", "d"]);
    }
}
