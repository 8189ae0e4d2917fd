//! Poison pills: malformed records the producer can inject on purpose, so the tracker's
//! dead-letter path can be shown and tested. Each kind says what the tracker must do with it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::generate::OrderGenerator;

/// Size of an [`PoisonKind::Oversized`] payload: close to the 1 MB default message limit of
/// Kafka brokers and clients, with room for the envelope and headers.
pub const OVERSIZED_BYTES: usize = 900 * 1024;

/// A kind of malformed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoisonKind {
    /// Not JSON at all: a truncated object.
    InvalidJson,
    /// Valid JSON of another shape: an array.
    WrongShape,
    /// An order event without its `order.customer`.
    MissingField,
    /// An order event whose `sequence` is a string and an item quantity a float.
    WrongTypes,
    /// A well-formed order event whose total is one cent off.
    BadAmounts,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// An empty payload.
    Empty,
    /// A ~900 KB order event padded with an unknown field.
    Oversized,
}

/// How the tracker classifies a poison pill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// It does not parse into an order event: `deserialized: false`.
    Deserialization,
    /// It parses but breaks a business rule: `deserialized: true` with a `validation_error`.
    Validation,
}

impl PoisonKind {
    /// Every kind, in the order of the README table.
    pub const ALL: &'static [PoisonKind] = &[
        Self::InvalidJson,
        Self::WrongShape,
        Self::MissingField,
        Self::WrongTypes,
        Self::BadAmounts,
        Self::NotUtf8,
        Self::Empty,
        Self::Oversized,
    ];

    /// The name used by `--poison KIND`.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid-json",
            Self::WrongShape => "wrong-shape",
            Self::MissingField => "missing-field",
            Self::WrongTypes => "wrong-types",
            Self::BadAmounts => "bad-amounts",
            Self::NotUtf8 => "not-utf8",
            Self::Empty => "empty",
            Self::Oversized => "oversized",
        }
    }

    /// What the tracker does with it.
    pub fn rejection(self) -> Rejection {
        match self {
            Self::BadAmounts => Rejection::Validation,
            _ => Rejection::Deserialization,
        }
    }

    /// Whether the order event's JSON Schema (`schemas/order-event.json`) accepts it, so a
    /// broker that validates records against it (Tansu's `--schema-registry`) lets it into the
    /// topic. Only [`PoisonKind::BadAmounts`]: its fault, a total that does not add up, is a
    /// rule between fields that JSON Schema cannot express, so the consumer's validation still
    /// has to catch it. Every other kind is refused at the door: not JSON (`invalid-json`,
    /// `not-utf8`, `empty`), not an object (`wrong-shape`), a required field missing
    /// (`missing-field`), a string and a fraction where integers go (`wrong-types`), an unknown
    /// field (`oversized`). The `schema` crate's tests check this against the schema itself.
    pub fn passes_schema(self) -> bool {
        matches!(self, Self::BadAmounts)
    }

    /// A payload of this kind; `sequence` and `now` go where the kind keeps an envelope (the
    /// producer passes its clock, so a fixed clock gives the same bytes).
    pub fn payload(self, generator: &mut OrderGenerator, sequence: u64, now: DateTime<Utc>) -> Vec<u8> {
        let order = generator.new_order(now);
        let event = generator.event(order, sequence, now);
        let mut value = serde_json::to_value(&event).unwrap_or_default();
        match self {
            Self::InvalidJson => {
                let text = event.to_json();
                text[..text.len() / 2].to_vec()
            }
            Self::WrongShape => br#"["this", "is", "not", "an", "order"]"#.to_vec(),
            Self::MissingField => {
                if let Some(order) = value["order"].as_object_mut() {
                    order.remove("customer");
                }
                serde_json::to_vec(&value).unwrap_or_default()
            }
            Self::WrongTypes => {
                value["sequence"] = serde_json::Value::String(sequence.to_string());
                value["order"]["items"][0]["quantity"] = serde_json::json!(1.5);
                serde_json::to_vec(&value).unwrap_or_default()
            }
            Self::BadAmounts => {
                let mut event = event;
                event.order.total_cents += 1;
                event.to_json()
            }
            Self::NotUtf8 => {
                let mut bytes = b"{\"order\": \"".to_vec();
                bytes.extend_from_slice(&[0xc3, 0x28, 0xff, 0xfe]);
                bytes.extend_from_slice(b"\"}");
                bytes
            }
            Self::Empty => Vec::new(),
            Self::Oversized => {
                value["padding"] = serde_json::Value::String("x".repeat(OVERSIZED_BYTES));
                serde_json::to_vec(&value).unwrap_or_default()
            }
        }
    }
}

impl fmt::Display for PoisonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PoisonKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|kind| kind.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|kind| kind.name()).collect();
            format!("unknown poison kind {text:?} (allowed: {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderEvent;
    use crate::validate::validate;

    #[test]
    fn every_kind_is_rejected_the_documented_way() {
        let mut generator = OrderGenerator::seeded(11);
        for &kind in PoisonKind::ALL {
            let payload = kind.payload(&mut generator, 1, Utc::now());
            let outcome = match OrderEvent::from_slice(&payload) {
                Err(_) => Rejection::Deserialization,
                Ok(event) => {
                    assert!(validate(&event).is_err(), "{kind} must not be a valid order");
                    Rejection::Validation
                }
            };
            assert_eq!(outcome, kind.rejection(), "{kind}");
        }
    }

    #[test]
    fn a_kept_envelope_carries_the_given_time_and_sequence() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z").unwrap().with_timezone(&Utc);
        let payload = PoisonKind::MissingField.payload(&mut OrderGenerator::seeded(3), 41, now);
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(value["timestamp"], "2026-01-02T03:04:05.678Z", "{value}");
        assert_eq!(value["order"]["created_at"], "2026-01-02T03:04:05.678Z", "{value}");
        assert_eq!(value["sequence"], 41, "{value}");
    }

    #[test]
    fn payload_shapes() {
        let mut generator = OrderGenerator::seeded(12);
        assert!(PoisonKind::Empty.payload(&mut generator, 0, Utc::now()).is_empty());
        assert!(std::str::from_utf8(&PoisonKind::NotUtf8.payload(&mut generator, 0, Utc::now())).is_err());
        let oversized = PoisonKind::Oversized.payload(&mut generator, 0, Utc::now()).len();
        assert!((OVERSIZED_BYTES..1_000_000).contains(&oversized), "{oversized}");
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_allowed_ones() {
        for &kind in PoisonKind::ALL {
            assert_eq!(kind.name().parse::<PoisonKind>(), Ok(kind));
        }
        let error = "nope".parse::<PoisonKind>().unwrap_err();
        assert!(error.contains("invalid-json") && error.contains("oversized"), "{error}");
    }
}
