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

/// A value the CSMS may change.
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
}

impl Setting {
    pub(crate) const ALL: [Setting; 9] = [
        Setting::HeartbeatInterval,
        Setting::RetryBackOffWaitMinimum,
        Setting::RetryBackOffRandomRange,
        Setting::RetryBackOffRepeatTimes,
        Setting::WebSocketPingInterval,
        Setting::OfflineThreshold,
        Setting::MessageTimeout,
        Setting::BasicAuthPassword,
        Setting::EvConnectionTimeOut,
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
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The accepted range of a numeric setting.
    pub(crate) fn range(self) -> Option<RangeInclusive<u64>> {
        match self {
            Setting::HeartbeatInterval => Some(HEARTBEAT_INTERVAL_RANGE),
            Setting::RetryBackOffWaitMinimum => Some(RETRY_BACKOFF_WAIT_MINIMUM_RANGE),
            Setting::RetryBackOffRandomRange => Some(RETRY_BACKOFF_RANDOM_RANGE_RANGE),
            Setting::RetryBackOffRepeatTimes => Some(RETRY_BACKOFF_REPEAT_TIMES_RANGE),
            Setting::WebSocketPingInterval => Some(WEBSOCKET_PING_INTERVAL_RANGE),
            Setting::OfflineThreshold => Some(OFFLINE_THRESHOLD_RANGE),
            Setting::MessageTimeout => Some(MESSAGE_TIMEOUT_RANGE),
            Setting::EvConnectionTimeOut => Some(CONNECTION_TIMEOUT_RANGE),
            Setting::BasicAuthPassword => None,
        }
    }

    /// `(min, max)` for variableCharacteristics: the range, or the password's length.
    pub(crate) fn limits(self) -> (u64, u64) {
        match self.range() {
            Some(range) => (*range.start(), *range.end()),
            None => (
                *PASSWORD_LENGTH.start() as u64,
                *PASSWORD_LENGTH.end() as u64,
            ),
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
    Password(Secret),
}

/// Checks `text` for `setting`. Numbers are decimal integers; surrounding blanks are forgiven.
pub(crate) fn parse(setting: Setting, text: &str) -> Result<Parsed, Invalid> {
    match setting.range() {
        Some(range) => parse_number(text, &range).map(Parsed::Number),
        None => check_password(text).map(|()| Parsed::Password(Secret::new(text))),
    }
}

fn parse_number(text: &str, range: &RangeInclusive<u64>) -> Result<u64, Invalid> {
    let trimmed = text.trim();
    let out_of_range = || Invalid {
        reason_code: "ValueOutOfRange",
        info: format!("out of range {}..{}", range.start(), range.end()),
    };
    let is_integer = {
        let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !is_integer {
        return Err(Invalid {
            reason_code: "InvalidValue",
            info: "not a whole number".to_owned(),
        });
    }
    // A negative number or one beyond u64 is as out of range as 99999999.
    let value: u64 = trimmed
        .strip_prefix('+')
        .unwrap_or(trimmed)
        .parse()
        .map_err(|_| out_of_range())?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(out_of_range())
    }
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
}

impl Values {
    /// Stores a checked value. A value that does not belong to `setting` is ignored (it cannot
    /// happen: [`parse`] returns the kind the setting needs).
    pub(crate) fn apply(&mut self, setting: Setting, value: Parsed) {
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
                    Setting::BasicAuthPassword => {}
                }
            }
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
        }
    }
}
