//! OCPP versions and the version-neutral model the station core works with.
//!
//! `v201` and `v16` translate between this model and each version's wire messages.

use std::fmt;
use std::str::FromStr;

/// The OCPP versions the station speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcppVersion {
    /// OCPP 2.0.1, WebSocket subprotocol `ocpp2.0.1`.
    V201,
    /// OCPP 1.6J, WebSocket subprotocol `ocpp1.6`.
    V16,
}

impl OcppVersion {
    /// The WebSocket subprotocol name offered and expected for this version.
    pub fn subprotocol(self) -> &'static str {
        match self {
            OcppVersion::V201 => "ocpp2.0.1",
            OcppVersion::V16 => "ocpp1.6",
        }
    }

    /// The version a subprotocol name selects, if it is one the station speaks.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name.trim() {
            "ocpp2.0.1" => Some(OcppVersion::V201),
            "ocpp1.6" => Some(OcppVersion::V16),
            _ => None,
        }
    }

    /// The other version (the fallback target).
    pub fn other(self) -> Self {
        match self {
            OcppVersion::V201 => OcppVersion::V16,
            OcppVersion::V16 => OcppVersion::V201,
        }
    }
}

impl fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OcppVersion::V201 => "2.0.1",
            OcppVersion::V16 => "1.6",
        })
    }
}

/// The spellings accepted in `OCPP_PRIMARY` and `--primary`.
pub const VERSION_SPELLINGS: &str = "2.0.1, 201, v201, ocpp2.0.1, 1.6, 1.6j, 16, v16, ocpp1.6";

impl FromStr for OcppVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "2.0.1" | "201" | "v201" | "ocpp2.0.1" | "v2.0.1" => Ok(OcppVersion::V201),
            "1.6" | "1.6j" | "16" | "v16" | "ocpp1.6" | "v1.6" | "ocpp1.6j" => Ok(OcppVersion::V16),
            other => Err(format!(
                "unknown OCPP version '{other}' (accepted: {VERSION_SPELLINGS})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spelling_parses() {
        for s in ["2.0.1", "201", "v201", "ocpp2.0.1", "OCPP2.0.1"] {
            assert_eq!(s.parse::<OcppVersion>(), Ok(OcppVersion::V201), "{s}");
        }
        for s in ["1.6", "1.6j", "1.6J", "16", "v16", "ocpp1.6"] {
            assert_eq!(s.parse::<OcppVersion>(), Ok(OcppVersion::V16), "{s}");
        }
        assert!("2.1".parse::<OcppVersion>().is_err());
    }

    #[test]
    fn subprotocols_round_trip() {
        for v in [OcppVersion::V201, OcppVersion::V16] {
            assert_eq!(OcppVersion::from_subprotocol(v.subprotocol()), Some(v));
        }
        assert_eq!(OcppVersion::from_subprotocol("ocpp2.1"), None);
    }
}
