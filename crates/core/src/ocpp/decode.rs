//! Reading a CSMS request's payload field by field, every defect named with the CALLERROR it is
//! owed.
//!
//! Which code a defect gets (OCPP-J 2.0.1 Part 4 section 4.3, OCPP-J 1.6 section 4.2.3; spelled
//! per version by [`ErrorCode::wire`]):
//!
//! | defect | code |
//! |---|---|
//! | the payload is not a JSON object | `FormatViolation` (1.6 `FormationViolation`) |
//! | a field of the wrong JSON type; a number that is not a whole number or beyond OCPP's 32-bit `integer` | `TypeConstraintViolation` |
//! | a value outside the field's enumeration, or outside the range the specification states (a negative EVSE or connector id) | `PropertyConstraintViolation` |
//! | a required field absent; a list with fewer or more entries than the schema or the station's advertised limit allows | `OccurrenceConstraintViolation` (1.6 `OccurenceConstraintViolation`) |
//!
//! Lenient where the station can still act safely: unknown fields (`customData` among them) are
//! ignored, a `null` reads as an absent field, and strings longer than the schema's `maxLength`
//! are read as they are (what the station echoes is cut to the schema's lengths).
//! Descriptions name the field and what it must hold, never the value sent: a value may be a
//! password.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::OcppVersion;
use crate::rpc::ErrorCode;

/// Why a CSMS request cannot be acted on, with the CALLERROR it is owed ([`DecodeError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not an action of this OCPP version.
    #[error("'{action}' is not an OCPP {version} action")]
    UnknownAction {
        /// The action as sent.
        action: String,
        /// The version spoken on the connection.
        version: OcppVersion,
    },
    /// An action of the version that the station does not support.
    #[error("'{0}' is not supported by this station")]
    UnsupportedAction(String),
    /// The payload is not a JSON object.
    #[error("the payload must be a JSON object")]
    NotAnObject,
    /// A field has the wrong JSON type, or a number does not fit OCPP's 32-bit `integer`.
    #[error("{field} must be {expected}")]
    WrongType {
        /// Where the field is (`evse.id`, `getVariableData[2].component`).
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A value the field does not allow.
    #[error("{field} must be {allowed}")]
    NotAllowed {
        /// Where the field is.
        field: String,
        /// What it allows.
        allowed: String,
    },
    /// A required field is absent.
    #[error("{field} is required")]
    Missing {
        /// Where the field should be.
        field: String,
    },
    /// A list with too few or too many entries.
    #[error("{field} must hold {min} to {max} entries")]
    Count {
        /// Where the list is.
        field: String,
        /// The fewest entries allowed.
        min: usize,
        /// The most entries allowed.
        max: usize,
    },
}

impl DecodeError {
    /// The CALLERROR code this defect is owed (see the module documentation for the rule).
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::UnknownAction { .. } => ErrorCode::NotImplemented,
            DecodeError::UnsupportedAction(_) => ErrorCode::NotSupported,
            DecodeError::NotAnObject => ErrorCode::FormatViolation,
            DecodeError::WrongType { .. } => ErrorCode::TypeConstraintViolation,
            DecodeError::NotAllowed { .. } => ErrorCode::PropertyConstraintViolation,
            DecodeError::Missing { .. } | DecodeError::Count { .. } => {
                ErrorCode::OccurrenceConstraintViolation
            }
        }
    }
}

/// The fields of a JSON object in a request, with where the object is.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// The object's path followed by a dot (empty for the payload itself).
    prefix: String,
}

impl<'a> Fields<'a> {
    /// The payload's fields.
    pub(crate) fn of_payload(payload: &'a Value) -> Result<Self, DecodeError> {
        match payload {
            Value::Object(map) => Ok(Self {
                map,
                prefix: String::new(),
            }),
            _ => Err(DecodeError::NotAnObject),
        }
    }

    /// A required field.
    pub(crate) fn required(&self, name: &str) -> Result<Field<'a>, DecodeError> {
        self.optional(name).ok_or_else(|| DecodeError::Missing {
            field: self.path(name),
        })
    }

    /// An optional field; `null` reads as absent.
    pub(crate) fn optional(&self, name: &str) -> Option<Field<'a>> {
        self.map
            .get(name)
            .filter(|value| !value.is_null())
            .map(|value| Field {
                value,
                path: self.path(name),
            })
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// One value of a request, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Field<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Field<'a> {
    /// A string.
    pub(crate) fn text(&self) -> Result<&'a str, DecodeError> {
        self.value
            .as_str()
            .ok_or_else(|| self.wrong_type("a string"))
    }

    /// An OCPP `integer`: a whole number within 32 bits.
    pub(crate) fn integer(&self) -> Result<i32, DecodeError> {
        self.value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| self.wrong_type("an integer (32-bit)"))
    }

    /// An EVSE or connector id: an integer, 0 or more.
    pub(crate) fn id(&self) -> Result<u32, DecodeError> {
        let n = self.integer()?;
        u32::try_from(n).map_err(|_| DecodeError::NotAllowed {
            field: self.path.clone(),
            allowed: "0 or more".into(),
        })
    }

    /// One of the enumeration's `values` (case-sensitive, as OCPP's enumerations are).
    pub(crate) fn one_of<T: Copy>(&self, values: &[(&str, T)]) -> Result<T, DecodeError> {
        let text = self.text()?;
        values
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, value)| *value)
            .ok_or_else(|| DecodeError::NotAllowed {
                field: self.path.clone(),
                allowed: format!(
                    "one of {}",
                    values
                        .iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// A JSON object.
    pub(crate) fn object(&self) -> Result<Fields<'a>, DecodeError> {
        match self.value {
            Value::Object(map) => Ok(Fields {
                map,
                prefix: format!("{}.", self.path),
            }),
            _ => Err(self.wrong_type("an object")),
        }
    }

    /// A JSON array of `sizes` entries, each with its place (`key[3]`).
    pub(crate) fn list(&self, sizes: RangeInclusive<usize>) -> Result<Vec<Field<'a>>, DecodeError> {
        let Value::Array(items) = self.value else {
            return Err(self.wrong_type("an array"));
        };
        if !sizes.contains(&items.len()) {
            return Err(DecodeError::Count {
                field: self.path.clone(),
                min: *sizes.start(),
                max: *sizes.end(),
            });
        }
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Field {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    fn wrong_type(&self, expected: &'static str) -> DecodeError {
        DecodeError::WrongType {
            field: self.path.clone(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn field(value: &Value) -> Field<'_> {
        Field {
            value,
            path: "x".into(),
        }
    }

    #[test]
    fn integers_are_whole_32_bit_numbers() {
        assert_eq!(field(&json!(7)).integer(), Ok(7));
        assert_eq!(field(&json!(-7)).integer(), Ok(-7));
        for bad in [json!(1.5), json!("7"), json!(true), json!(1u64 << 31)] {
            assert_eq!(
                field(&bad).integer().unwrap_err().code(),
                ErrorCode::TypeConstraintViolation,
                "{bad}"
            );
        }
        assert_eq!(
            field(&json!(-1)).id().unwrap_err().code(),
            ErrorCode::PropertyConstraintViolation
        );
        assert_eq!(field(&json!(0)).id(), Ok(0));
    }

    #[test]
    fn enumerations_are_exact_and_name_what_they_allow() {
        let values = [("Operative", true), ("Inoperative", false)];
        assert_eq!(field(&json!("Inoperative")).one_of(&values), Ok(false));
        let error = field(&json!("operative")).one_of(&values).unwrap_err();
        assert_eq!(error.code(), ErrorCode::PropertyConstraintViolation);
        assert_eq!(error.to_string(), "x must be one of Operative, Inoperative");
        assert_eq!(
            field(&json!(1)).one_of(&values).unwrap_err().code(),
            ErrorCode::TypeConstraintViolation
        );
    }

    #[test]
    fn paths_name_the_field_in_nested_objects_and_lists() {
        let payload = json!({"list": [{"a": {}}, {"a": {"b": 1}}]});
        let fields = Fields::of_payload(&payload).unwrap();
        let items = fields.required("list").unwrap().list(1..=2).unwrap();
        let inner = items[1].object().unwrap().required("a").unwrap();
        let error = inner.object().unwrap().required("b").unwrap().text();
        assert_eq!(
            error.unwrap_err().to_string(),
            "list[1].a.b must be a string"
        );
        let missing = items[0]
            .object()
            .unwrap()
            .required("a")
            .unwrap()
            .object()
            .unwrap()
            .required("b");
        assert_eq!(missing.unwrap_err().to_string(), "list[0].a.b is required");
        let count = fields.required("list").unwrap().list(3..=4).unwrap_err();
        assert_eq!(count.code(), ErrorCode::OccurrenceConstraintViolation);
        assert_eq!(count.to_string(), "list must hold 3 to 4 entries");
    }

    #[test]
    fn null_reads_as_absent_and_the_payload_must_be_an_object() {
        let payload = json!({"a": null});
        let fields = Fields::of_payload(&payload).unwrap();
        assert!(fields.optional("a").is_none());
        assert_eq!(
            fields.required("a").unwrap_err().code(),
            ErrorCode::OccurrenceConstraintViolation
        );
        for bad in [json!([]), json!(null), json!("{}")] {
            assert_eq!(
                Fields::of_payload(&bad).unwrap_err().code(),
                ErrorCode::FormatViolation
            );
        }
    }
}
