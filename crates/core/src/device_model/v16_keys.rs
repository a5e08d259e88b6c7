//! The OCPP 1.6 configuration keys the station has (1.6 section 9 and the 1.6 security
//! whitepaper), and how an AuthorizationKey value becomes the Basic-auth password.
//!
//! Keys are CiString50 in the 1.6 schemas: case-insensitive, so they are matched ignoring ASCII
//! case and answered with the standard spelling. Every required Core key is here (section 9.1):
//! those of functions the station does not have yet (transactions, meter values, local
//! authorization) are read-only and say what the station does today (no meter values: an empty
//! list, interval 0). Their values live in the settings store like those of writable keys, so
//! that a key becomes writable by changing its [`Access`] once the station acts on it.

use super::settings::{Invalid, Setting, check_password};

/// GetConfigurationMaxKeys: the most keys the station answers in one GetConfiguration.
pub const GET_CONFIGURATION_MAX_KEYS: u32 = 50;

/// The longest 1.6 key (CiString50).
pub(crate) const KEY_MAX_CHARS: usize = 50;

/// ConnectorPhaseRotation: how the station is wired to the grid is not known to it.
pub(crate) const CONNECTOR_PHASE_ROTATION: &str = "0.Unknown";

/// How a key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Fixed by the hardware or the configuration.
    ReadOnly,
    /// Read-only while the station does not act on it; the value is kept in the settings store.
    ReadOnlySetting(Setting),
    ReadWrite(Setting),
    /// Written only; never reported with a value.
    WriteOnly(Setting),
}

impl Access {
    /// ChangeConfiguration cannot set the key.
    pub(crate) fn is_read_only(self) -> bool {
        matches!(self, Access::ReadOnly | Access::ReadOnlySetting(_))
    }
}

/// A configuration key of the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key16 {
    AuthorizationKey,
    AuthorizeRemoteTxRequests,
    ClockAlignedDataInterval,
    ConnectionTimeOut,
    ConnectorPhaseRotation,
    GetConfigurationMaxKeys,
    HeartbeatInterval,
    LocalAuthorizeOffline,
    LocalPreAuthorize,
    MeterValueSampleInterval,
    MeterValuesAlignedData,
    MeterValuesSampledData,
    NumberOfConnectors,
    ResetRetries,
    SecurityProfile,
    StopTransactionOnEvSideDisconnect,
    StopTransactionOnInvalidId,
    StopTxnAlignedData,
    StopTxnSampledData,
    SupportedFeatureProfiles,
    TransactionMessageAttempts,
    TransactionMessageRetryInterval,
    UnlockConnectorOnEvSideDisconnect,
    WebSocketPingInterval,
}

impl Key16 {
    /// Every key, in the order GetConfiguration lists them.
    pub(crate) const ALL: [Key16; 24] = [
        Key16::AuthorizationKey,
        Key16::AuthorizeRemoteTxRequests,
        Key16::ClockAlignedDataInterval,
        Key16::ConnectionTimeOut,
        Key16::ConnectorPhaseRotation,
        Key16::GetConfigurationMaxKeys,
        Key16::HeartbeatInterval,
        Key16::LocalAuthorizeOffline,
        Key16::LocalPreAuthorize,
        Key16::MeterValueSampleInterval,
        Key16::MeterValuesAlignedData,
        Key16::MeterValuesSampledData,
        Key16::NumberOfConnectors,
        Key16::ResetRetries,
        Key16::SecurityProfile,
        Key16::StopTransactionOnEvSideDisconnect,
        Key16::StopTransactionOnInvalidId,
        Key16::StopTxnAlignedData,
        Key16::StopTxnSampledData,
        Key16::SupportedFeatureProfiles,
        Key16::TransactionMessageAttempts,
        Key16::TransactionMessageRetryInterval,
        Key16::UnlockConnectorOnEvSideDisconnect,
        Key16::WebSocketPingInterval,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Key16::AuthorizationKey => "AuthorizationKey",
            Key16::AuthorizeRemoteTxRequests => "AuthorizeRemoteTxRequests",
            Key16::ClockAlignedDataInterval => "ClockAlignedDataInterval",
            Key16::ConnectionTimeOut => "ConnectionTimeOut",
            Key16::ConnectorPhaseRotation => "ConnectorPhaseRotation",
            Key16::GetConfigurationMaxKeys => "GetConfigurationMaxKeys",
            Key16::HeartbeatInterval => "HeartbeatInterval",
            Key16::LocalAuthorizeOffline => "LocalAuthorizeOffline",
            Key16::LocalPreAuthorize => "LocalPreAuthorize",
            Key16::MeterValueSampleInterval => "MeterValueSampleInterval",
            Key16::MeterValuesAlignedData => "MeterValuesAlignedData",
            Key16::MeterValuesSampledData => "MeterValuesSampledData",
            Key16::NumberOfConnectors => "NumberOfConnectors",
            Key16::ResetRetries => "ResetRetries",
            Key16::SecurityProfile => "SecurityProfile",
            Key16::StopTransactionOnEvSideDisconnect => "StopTransactionOnEVSideDisconnect",
            Key16::StopTransactionOnInvalidId => "StopTransactionOnInvalidId",
            Key16::StopTxnAlignedData => "StopTxnAlignedData",
            Key16::StopTxnSampledData => "StopTxnSampledData",
            Key16::SupportedFeatureProfiles => "SupportedFeatureProfiles",
            Key16::TransactionMessageAttempts => "TransactionMessageAttempts",
            Key16::TransactionMessageRetryInterval => "TransactionMessageRetryInterval",
            Key16::UnlockConnectorOnEvSideDisconnect => "UnlockConnectorOnEVSideDisconnect",
            Key16::WebSocketPingInterval => "WebSocketPingInterval",
        }
    }

    /// SecurityProfile is writable in the whitepaper (to raise it); this station's profile is
    /// fixed by its env file, so it is reported read-only. The transaction, metering and local
    /// authorization keys are read-only until the station runs OCPP transactions.
    pub(crate) fn access(self) -> Access {
        match self {
            Key16::AuthorizationKey => Access::WriteOnly(Setting::BasicAuthPassword),
            Key16::ConnectionTimeOut => Access::ReadWrite(Setting::EvConnectionTimeOut),
            Key16::HeartbeatInterval => Access::ReadWrite(Setting::HeartbeatInterval),
            Key16::WebSocketPingInterval => Access::ReadWrite(Setting::WebSocketPingInterval),
            Key16::AuthorizeRemoteTxRequests => {
                Access::ReadOnlySetting(Setting::AuthorizeRemoteStart)
            }
            Key16::ClockAlignedDataInterval => {
                Access::ReadOnlySetting(Setting::AlignedDataInterval)
            }
            Key16::LocalAuthorizeOffline => Access::ReadOnlySetting(Setting::LocalAuthorizeOffline),
            Key16::LocalPreAuthorize => Access::ReadOnlySetting(Setting::LocalPreAuthorize),
            Key16::MeterValueSampleInterval => {
                Access::ReadOnlySetting(Setting::SampledDataInterval)
            }
            Key16::MeterValuesAlignedData => {
                Access::ReadOnlySetting(Setting::AlignedDataMeasurands)
            }
            Key16::MeterValuesSampledData => {
                Access::ReadOnlySetting(Setting::SampledDataMeasurands)
            }
            Key16::StopTransactionOnEvSideDisconnect => {
                Access::ReadOnlySetting(Setting::StopTxOnEvSideDisconnect)
            }
            Key16::StopTransactionOnInvalidId => {
                Access::ReadOnlySetting(Setting::StopTxOnInvalidId)
            }
            Key16::StopTxnAlignedData => {
                Access::ReadOnlySetting(Setting::AlignedDataTxEndedMeasurands)
            }
            Key16::StopTxnSampledData => {
                Access::ReadOnlySetting(Setting::SampledDataTxEndedMeasurands)
            }
            Key16::TransactionMessageAttempts => {
                Access::ReadOnlySetting(Setting::TransactionMessageAttempts)
            }
            Key16::TransactionMessageRetryInterval => {
                Access::ReadOnlySetting(Setting::TransactionMessageRetryInterval)
            }
            Key16::ConnectorPhaseRotation
            | Key16::GetConfigurationMaxKeys
            | Key16::NumberOfConnectors
            | Key16::ResetRetries
            | Key16::SecurityProfile
            | Key16::SupportedFeatureProfiles
            | Key16::UnlockConnectorOnEvSideDisconnect => Access::ReadOnly,
        }
    }

    pub(crate) fn find(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(key.trim()))
    }
}

/// The Basic-auth password an AuthorizationKey value stands for.
///
/// The whitepaper sends the key hex-encoded (16 to 20 bytes, so 32 to 40 hex digits) and the
/// charge point uses the decoded bytes. A key in that form is decoded; it must decode to
/// printable ASCII, since the station's password is text (a binary key is refused, so the
/// station keeps a password that works instead of one it cannot send). Any other value is taken
/// literally, as CSMSs that send the password in clear expect, under the 2.0.1 rule: 16 to 40
/// printable ASCII characters. A literal password of 32 to 40 hex digits that happens to decode
/// to printable text is therefore read as hex; such a password is improbable.
pub(crate) fn authorization_key_password(value: &str) -> Result<String, Invalid> {
    let looks_hex = (32..=40).contains(&value.len())
        && value.len().is_multiple_of(2)
        && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !looks_hex {
        check_password(value)?;
        return Ok(value.to_owned());
    }
    let decoded: Option<String> = value
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            let byte = u8::from_str_radix(text, 16).ok()?;
            (0x20..=0x7e).contains(&byte).then_some(char::from(byte))
        })
        .collect();
    decoded.ok_or_else(|| Invalid {
        reason_code: "InvalidValue",
        info: "the key decodes to bytes that are not printable ASCII".to_owned(),
    })
}
