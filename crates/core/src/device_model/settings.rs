//! The values the CSMS may change: their canonical keys (used in both versions and in the state
//! file), their ranges and how a value given as text is checked.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::secret::Secret;

/// The longest heartbeat interval or offline threshold: one week, as the env file allows.
const WEEK_SECONDS: u64 = 7 * 86_400;

/// HeartbeatInterval, seconds. Errata 2.0.1 (B01) requires more than zero.
pub const HEARTBEAT_INTERVAL_RANGE: RangeInclusive<u64> = 1..=WEEK_SECONDS;
/// RetryBackOffWaitMinimum, seconds (the same range as `OCPP_RETRY_BACKOFF_WAIT_MINIMUM`).
pub const RETRY_BACKOFF_WAIT_MINIMUM_RANGE: RangeInclusive<u64> = 1..=3600;
/// RetryBackOffRandomRange, seconds (as `OCPP_RETRY_BACKOFF_RANDOM_RANGE`).
pub const RETRY_BACKOFF_RANDOM_RANGE_RANGE: RangeInclusive<u64> = 0..=3600;
/// RetryBackOffRepeatTimes, doublings (as `OCPP_RETRY_BACKOFF_REPEAT_TIMES`).
pub const RETRY_BACKOFF_REPEAT_TIMES_RANGE: RangeInclusive<u64> = 0..=10;
/// WebSocketPingInterval, seconds; 0 sends no pings (as `OCPP_PING_SECONDS`).
pub const WEBSOCKET_PING_INTERVAL_RANGE: RangeInclusive<u64> = 0..=3600;
/// OfflineThreshold, seconds (as `OCPP_OFFLINE_THRESHOLD_SECONDS`).
pub const OFFLINE_THRESHOLD_RANGE: RangeInclusive<u64> = 0..=WEEK_SECONDS;
/// MessageTimeout[Default], seconds (as `OCPP_CALL_TIMEOUT_SECONDS`).
pub const MESSAGE_TIMEOUT_RANGE: RangeInclusive<u64> = 1..=600;
/// 1.6 ConnectionTimeOut, seconds.
pub const CONNECTION_TIMEOUT_RANGE: RangeInclusive<u64> = 1..=3600;
/// 1.6 ConnectionTimeOut until the CSMS sets it: a common charge-point default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// Length of the Basic-auth password in characters (2.0.1 BasicAuthPassword).
pub const PASSWORD_LENGTH: RangeInclusive<usize> = 16..=40;

/// ClockAlignedDataInterval and MeterValueSampleInterval, seconds: up to a day.
pub const METER_INTERVAL_RANGE: RangeInclusive<u64> = 0..=86_400;
/// TransactionMessageAttempts.
pub const TRANSACTION_MESSAGE_ATTEMPTS_RANGE: RangeInclusive<u64> = 0..=10;
/// TransactionMessageRetryInterval, seconds.
pub const TRANSACTION_MESSAGE_RETRY_INTERVAL_RANGE: RangeInclusive<u64> = 0..=3600;
/// The longest measurand list (1.6 configuration values are at most 500 characters).
const MEASURANDS_MAX_CHARS: usize = 500;

/// The measurands a 1.6 measurand list may name (1.6 section 7.31).
const MEASURANDS: &[&str] = &[
    "Current.Export",
    "Current.Import",
    "Current.Offered",
    "Energy.Active.Export.Register",
    "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Frequency",
    "Power.Active.Export",
    "Power.Active.Import",
    "Power.Factor",
    "Power.Offered",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "RPM",
    "SoC",
    "Temperature",
    "Voltage",
];

/// A value the CSMS may change, or will once the station acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Setting {
    HeartbeatInterval,
    RetryBackOffWaitMinimum,
    RetryBackOffRandomRange,
    RetryBackOffRepeatTimes,
    WebSocketPingInterval,
    OfflineThreshold,
    MessageTimeout,
    BasicAuthPassword,
    /// 1.6 ConnectionTimeOut; stored under the 2.0.1 name of the same setting.
    EvConnectionTimeOut,
    // The transaction and metering settings below are stored and reported (1.6 Core keys)
    // but not writable yet: the station runs no OCPP transactions and sends no meter values.
    /// 1.6 AuthorizeRemoteTxRequests.
    AuthorizeRemoteStart,
    /// 1.6 LocalAuthorizeOffline.
    LocalAuthorizeOffline,
    /// 1.6 LocalPreAuthorize.
    LocalPreAuthorize,
    /// 1.6 StopTransactionOnEVSideDisconnect.
    StopTxOnEvSideDisconnect,
    /// 1.6 StopTransactionOnInvalidId.
    StopTxOnInvalidId,
    /// 1.6 ClockAlignedDataInterval.
    AlignedDataInterval,
    /// 1.6 MeterValuesAlignedData.
    AlignedDataMeasurands,
    /// 1.6 StopTxnAlignedData.
    AlignedDataTxEndedMeasurands,
    /// 1.6 MeterValueSampleInterval.
    SampledDataInterval,
    /// 1.6 MeterValuesSampledData.
    SampledDataMeasurands,
    /// 1.6 StopTxnSampledData.
    SampledDataTxEndedMeasurands,
    /// 1.6 TransactionMessageAttempts.
    TransactionMessageAttempts,
    /// 1.6 TransactionMessageRetryInterval.
    TransactionMessageRetryInterval,
}

/// What kind of value a setting holds, and so how its text is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole number within the range.
    Number(RangeInclusive<u64>),
    /// `true` or `false`.
    Flag,
    /// A comma-separated list of measurands, possibly empty.
    Measurands,
    /// The Basic-auth password.
    Password,
}

impl Setting {
    pub(crate) const ALL: [Setting; 22] = [
        Setting::HeartbeatInterval,
        Setting::RetryBackOffWaitMinimum,
        Setting::RetryBackOffRandomRange,
        Setting::RetryBackOffRepeatTimes,
        Setting::WebSocketPingInterval,
        Setting::OfflineThreshold,
        Setting::MessageTimeout,
        Setting::BasicAuthPassword,
        Setting::EvConnectionTimeOut,
        Setting::AuthorizeRemoteStart,
        Setting::LocalAuthorizeOffline,
        Setting::LocalPreAuthorize,
        Setting::StopTxOnEvSideDisconnect,
        Setting::StopTxOnInvalidId,
        Setting::AlignedDataInterval,
        Setting::AlignedDataMeasurands,
        Setting::AlignedDataTxEndedMeasurands,
        Setting::SampledDataInterval,
        Setting::SampledDataMeasurands,
        Setting::SampledDataTxEndedMeasurands,
        Setting::TransactionMessageAttempts,
        Setting::TransactionMessageRetryInterval,
    ];

    /// The canonical key: `Component/Variable` or `Component/Variable[Instance]`, 2.0.1 names.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Setting::HeartbeatInterval => "OCPPCommCtrlr/HeartbeatInterval",
            Setting::RetryBackOffWaitMinimum => "OCPPCommCtrlr/RetryBackOffWaitMinimum",
            Setting::RetryBackOffRandomRange => "OCPPCommCtrlr/RetryBackOffRandomRange",
            Setting::RetryBackOffRepeatTimes => "OCPPCommCtrlr/RetryBackOffRepeatTimes",
            Setting::WebSocketPingInterval => "OCPPCommCtrlr/WebSocketPingInterval",
            Setting::OfflineThreshold => "OCPPCommCtrlr/OfflineThreshold",
            Setting::MessageTimeout => "OCPPCommCtrlr/MessageTimeout[Default]",
            Setting::BasicAuthPassword => "SecurityCtrlr/BasicAuthPassword",
            Setting::EvConnectionTimeOut => "TxCtrlr/EVConnectionTimeOut",
            Setting::AuthorizeRemoteStart => "AuthCtrlr/AuthorizeRemoteStart",
            Setting::LocalAuthorizeOffline => "AuthCtrlr/LocalAuthorizeOffline",
            Setting::LocalPreAuthorize => "AuthCtrlr/LocalPreAuthorize",
            Setting::StopTxOnEvSideDisconnect => "TxCtrlr/StopTxOnEVSideDisconnect",
            Setting::StopTxOnInvalidId => "TxCtrlr/StopTxOnInvalidId",
            Setting::AlignedDataInterval => "AlignedDataCtrlr/Interval",
            Setting::AlignedDataMeasurands => "AlignedDataCtrlr/Measurands",
            Setting::AlignedDataTxEndedMeasurands => "AlignedDataCtrlr/TxEndedMeasurands",
            Setting::SampledDataInterval => "SampledDataCtrlr/TxUpdatedInterval",
            Setting::SampledDataMeasurands => "SampledDataCtrlr/TxUpdatedMeasurands",
            Setting::SampledDataTxEndedMeasurands => "SampledDataCtrlr/TxEndedMeasurands",
            Setting::TransactionMessageAttempts => {
                "OCPPCommCtrlr/MessageAttempts[TransactionEvent]"
            }
            Setting::TransactionMessageRetryInterval => {
                "OCPPCommCtrlr/MessageAttemptInterval[TransactionEvent]"
            }
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// What the setting holds.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Setting::HeartbeatInterval => Kind::Number(HEARTBEAT_INTERVAL_RANGE),
            Setting::RetryBackOffWaitMinimum => Kind::Number(RETRY_BACKOFF_WAIT_MINIMUM_RANGE),
            Setting::RetryBackOffRandomRange => Kind::Number(RETRY_BACKOFF_RANDOM_RANGE_RANGE),
            Setting::RetryBackOffRepeatTimes => Kind::Number(RETRY_BACKOFF_REPEAT_TIMES_RANGE),
            Setting::WebSocketPingInterval => Kind::Number(WEBSOCKET_PING_INTERVAL_RANGE),
            Setting::OfflineThreshold => Kind::Number(OFFLINE_THRESHOLD_RANGE),
            Setting::MessageTimeout => Kind::Number(MESSAGE_TIMEOUT_RANGE),
            Setting::EvConnectionTimeOut => Kind::Number(CONNECTION_TIMEOUT_RANGE),
            Setting::AlignedDataInterval | Setting::SampledDataInterval => {
                Kind::Number(METER_INTERVAL_RANGE)
            }
            Setting::TransactionMessageAttempts => Kind::Number(TRANSACTION_MESSAGE_ATTEMPTS_RANGE),
            Setting::TransactionMessageRetryInterval => {
                Kind::Number(TRANSACTION_MESSAGE_RETRY_INTERVAL_RANGE)
            }
            Setting::AuthorizeRemoteStart
            | Setting::LocalAuthorizeOffline
            | Setting::LocalPreAuthorize
            | Setting::StopTxOnEvSideDisconnect
            | Setting::StopTxOnInvalidId => Kind::Flag,
            Setting::AlignedDataMeasurands
            | Setting::AlignedDataTxEndedMeasurands
            | Setting::SampledDataMeasurands
            | Setting::SampledDataTxEndedMeasurands => Kind::Measurands,
            Setting::BasicAuthPassword => Kind::Password,
        }
    }

    /// `(min, max)` for variableCharacteristics: the range, or the password's length; `None`
    /// for flags and lists.
    pub(crate) fn limits(self) -> Option<(u64, u64)> {
        match self.kind() {
            Kind::Number(range) => Some((*range.start(), *range.end())),
            Kind::Password => Some((
                *PASSWORD_LENGTH.start() as u64,
                *PASSWORD_LENGTH.end() as u64,
            )),
            Kind::Flag | Kind::Measurands => None,
        }
    }

    /// True for the one value that must never be shown.
    pub(crate) fn is_secret(self) -> bool {
        self == Setting::BasicAuthPassword
    }
}

/// Why a value was refused: a standard OCPP reason code (at most 20 characters) and a sentence
/// that never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub reason_code: &'static str,
    pub info: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.info)
    }
}

/// A checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Number(u64),
    Flag(bool),
    Measurands(String),
    Password(Secret),
}

/// Checks `text` for `setting`.
///
/// Numbers are plain decimal digits, exactly as the 2.0.1 `integer` data type and the JSON
/// schemas' integers are written: a sign, blanks or a fraction are refused rather than guessed
/// at (`"+5"`, `" 5"` and `"5.0"` are not `5`), so that the CSMS learns at once that it sent
/// something other peers would refuse too.
pub(crate) fn parse(setting: Setting, text: &str) -> Result<Parsed, Invalid> {
    match setting.kind() {
        Kind::Number(range) => parse_number(text, &range).map(Parsed::Number),
        Kind::Flag => parse_flag(text).map(Parsed::Flag),
        Kind::Measurands => parse_measurands(text).map(Parsed::Measurands),
        Kind::Password => check_password(text).map(|()| Parsed::Password(Secret::new(text))),
    }
}

fn parse_number(text: &str, range: &RangeInclusive<u64>) -> Result<u64, Invalid> {
    let out_of_range = || Invalid {
        reason_code: "ValueOutOfRange",
        info: format!("out of range {}..{}", range.start(), range.end()),
    };
    // A minus sign before digits is still an integer, merely below every range here.
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid {
            reason_code: "InvalidValue",
            info: "not a whole number: decimal digits only, without sign, blanks or fraction"
                .to_owned(),
        });
    }
    if digits.len() != text.len() {
        return Err(out_of_range());
    }
    // Digits beyond u64 are as out of range as 99999999.
    let value: u64 = text.parse().map_err(|_| out_of_range())?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(out_of_range())
    }
}

fn parse_flag(text: &str) -> Result<bool, Invalid> {
    match text {
        t if t.eq_ignore_ascii_case("true") => Ok(true),
        t if t.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Invalid {
            reason_code: "InvalidValue",
            info: "not a boolean: true or false".to_owned(),
        }),
    }
}

/// A comma-separated list of known measurands (blanks around an entry allowed), or nothing.
fn parse_measurands(text: &str) -> Result<String, Invalid> {
    if text.chars().count() > MEASURANDS_MAX_CHARS {
        return Err(Invalid {
            reason_code: "ValueOutOfRange",
            info: format!("longer than {MEASURANDS_MAX_CHARS} characters"),
        });
    }
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    let mut entries = Vec::new();
    for entry in text.split(',').map(str::trim) {
        let Some(known) = MEASURANDS.iter().find(|m| m.eq_ignore_ascii_case(entry)) else {
            return Err(Invalid {
                reason_code: "InvalidValue",
                info: format!(
                    "'{}' is not a measurand",
                    crate::redact::printable(entry, 40)
                ),
            });
        };
        entries.push(*known);
    }
    Ok(entries.join(","))
}

/// 16 to 40 printable ASCII characters: HTTP Basic credentials have no agreed encoding beyond
/// ASCII, and a control character could split the header.
pub(crate) fn check_password(text: &str) -> Result<(), Invalid> {
    let length = text.chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(Invalid {
            reason_code: "ValueOutOfRange",
            info: format!(
                "length {length} out of range {}..{}",
                PASSWORD_LENGTH.start(),
                PASSWORD_LENGTH.end()
            ),
        });
    }
    if !text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(Invalid {
            reason_code: "InvalidValue",
            info: "only printable ASCII characters are allowed".to_owned(),
        });
    }
    Ok(())
}

/// The current value of every setting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Values {
    /// `None`: the interval comes from the Boot answer.
    pub heartbeat: Option<Duration>,
    pub backoff: BackoffConfig,
    pub ping: Duration,
    pub offline_threshold: Duration,
    pub message_timeout: Duration,
    /// `None`: the password from the env file is used.
    pub password: Option<Secret>,
    pub ev_connection_timeout: Duration,
    pub transactions: TransactionSettings,
}

/// The stored transaction and metering settings (1.6 Core keys), with the values that describe
/// what the station does today: no OCPP transactions, no meter values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransactionSettings {
    pub authorize_remote_start: bool,
    pub local_authorize_offline: bool,
    pub local_pre_authorize: bool,
    /// The charge controller ends the session when the cable is pulled.
    pub stop_on_ev_side_disconnect: bool,
    pub stop_on_invalid_id: bool,
    /// 0: no clock-aligned meter values.
    pub aligned_interval: u64,
    pub aligned_measurands: String,
    pub aligned_tx_ended_measurands: String,
    /// 0: no sampled meter values.
    pub sampled_interval: u64,
    pub sampled_measurands: String,
    pub sampled_tx_ended_measurands: String,
    pub message_attempts: u64,
    pub message_retry_interval: u64,
}

impl Default for TransactionSettings {
    fn default() -> Self {
        Self {
            authorize_remote_start: false,
            local_authorize_offline: false,
            local_pre_authorize: false,
            stop_on_ev_side_disconnect: true,
            stop_on_invalid_id: true,
            aligned_interval: 0,
            aligned_measurands: String::new(),
            aligned_tx_ended_measurands: String::new(),
            sampled_interval: 0,
            sampled_measurands: String::new(),
            sampled_tx_ended_measurands: String::new(),
            message_attempts: 3,
            message_retry_interval: 60,
        }
    }
}

impl Values {
    /// Stores a checked value. A value that does not belong to `setting` is ignored (it cannot
    /// happen: [`parse`] returns the kind the setting needs).
    pub(crate) fn apply(&mut self, setting: Setting, value: Parsed) {
        let tx = &mut self.transactions;
        match (setting, value) {
            (Setting::BasicAuthPassword, Parsed::Password(secret)) => self.password = Some(secret),
            (_, Parsed::Number(n)) => {
                let seconds = Duration::from_secs(n);
                match setting {
                    Setting::HeartbeatInterval => self.heartbeat = Some(seconds),
                    Setting::RetryBackOffWaitMinimum => self.backoff.wait_minimum = seconds,
                    Setting::RetryBackOffRandomRange => self.backoff.random_range = seconds,
                    Setting::RetryBackOffRepeatTimes => {
                        self.backoff.repeat_times = u32::try_from(n).unwrap_or(u32::MAX);
                    }
                    Setting::WebSocketPingInterval => self.ping = seconds,
                    Setting::OfflineThreshold => self.offline_threshold = seconds,
                    Setting::MessageTimeout => self.message_timeout = seconds,
                    Setting::EvConnectionTimeOut => self.ev_connection_timeout = seconds,
                    Setting::AlignedDataInterval => tx.aligned_interval = n,
                    Setting::SampledDataInterval => tx.sampled_interval = n,
                    Setting::TransactionMessageAttempts => tx.message_attempts = n,
                    Setting::TransactionMessageRetryInterval => tx.message_retry_interval = n,
                    _ => {}
                }
            }
            (_, Parsed::Flag(on)) => match setting {
                Setting::AuthorizeRemoteStart => tx.authorize_remote_start = on,
                Setting::LocalAuthorizeOffline => tx.local_authorize_offline = on,
                Setting::LocalPreAuthorize => tx.local_pre_authorize = on,
                Setting::StopTxOnEvSideDisconnect => tx.stop_on_ev_side_disconnect = on,
                Setting::StopTxOnInvalidId => tx.stop_on_invalid_id = on,
                _ => {}
            },
            (_, Parsed::Measurands(list)) => match setting {
                Setting::AlignedDataMeasurands => tx.aligned_measurands = list,
                Setting::AlignedDataTxEndedMeasurands => tx.aligned_tx_ended_measurands = list,
                Setting::SampledDataMeasurands => tx.sampled_measurands = list,
                Setting::SampledDataTxEndedMeasurands => tx.sampled_tx_ended_measurands = list,
                _ => {}
            },
            (_, Parsed::Password(_)) => {}
        }
    }

    /// The value as OCPP text; `None` when unset (heartbeat from Boot, no password override).
    /// The password comes back in clear: only for the state file.
    pub(crate) fn text(&self, setting: Setting) -> Option<String> {
        let seconds = |d: Duration| Some(d.as_secs().to_string());
        match setting {
            Setting::HeartbeatInterval => self.heartbeat.and_then(seconds),
            Setting::RetryBackOffWaitMinimum => seconds(self.backoff.wait_minimum),
            Setting::RetryBackOffRandomRange => seconds(self.backoff.random_range),
            Setting::RetryBackOffRepeatTimes => Some(self.backoff.repeat_times.to_string()),
            Setting::WebSocketPingInterval => seconds(self.ping),
            Setting::OfflineThreshold => seconds(self.offline_threshold),
            Setting::MessageTimeout => seconds(self.message_timeout),
            Setting::EvConnectionTimeOut => seconds(self.ev_connection_timeout),
            Setting::BasicAuthPassword => self.password.as_ref().map(|p| p.expose().to_owned()),
            _ => self.transactions.text(setting),
        }
    }
}

impl TransactionSettings {
    /// The value of a transaction or metering setting as OCPP text; `None` for any other.
    fn text(&self, setting: Setting) -> Option<String> {
        let flag = |on: bool| Some(on.to_string());
        match setting {
            Setting::AuthorizeRemoteStart => flag(self.authorize_remote_start),
            Setting::LocalAuthorizeOffline => flag(self.local_authorize_offline),
            Setting::LocalPreAuthorize => flag(self.local_pre_authorize),
            Setting::StopTxOnEvSideDisconnect => flag(self.stop_on_ev_side_disconnect),
            Setting::StopTxOnInvalidId => flag(self.stop_on_invalid_id),
            Setting::AlignedDataInterval => Some(self.aligned_interval.to_string()),
            Setting::AlignedDataMeasurands => Some(self.aligned_measurands.clone()),
            Setting::AlignedDataTxEndedMeasurands => Some(self.aligned_tx_ended_measurands.clone()),
            Setting::SampledDataInterval => Some(self.sampled_interval.to_string()),
            Setting::SampledDataMeasurands => Some(self.sampled_measurands.clone()),
            Setting::SampledDataTxEndedMeasurands => Some(self.sampled_tx_ended_measurands.clone()),
            Setting::TransactionMessageAttempts => Some(self.message_attempts.to_string()),
            Setting::TransactionMessageRetryInterval => {
                Some(self.message_retry_interval.to_string())
            }
            _ => None,
        }
    }
}
