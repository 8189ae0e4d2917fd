//! [`Inspection`]: how a record is judged (parsed as an order event, then validated). The
//! tracker dead-letters what it refuses; `dlq redrive` checks a record with it before sending
//! it back, so what it refuses is what the tracker would refuse.

use models::audit::MessageOrigin;
use models::{validate, AuditEntry, OrderEvent, ValidationError};
use retry::Failure;

/// A message payload with its UTF-8 checked once: the parser and the audit line both take the
/// text, so neither checks the bytes again.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// The bytes as received (empty for a tombstone).
    bytes: &'a [u8],
    /// The same bytes as text, `None` when they are not UTF-8.
    text: Option<&'a str>,
}

impl<'a> Payload<'a> {
    /// Checks a payload (`None` is a tombstone).
    pub fn new(payload: Option<&'a [u8]>) -> Self {
        let bytes = payload.unwrap_or_default();
        Payload { bytes, text: std::str::from_utf8(bytes).ok() }
    }
}

/// What a payload turned out to be at reception.
#[derive(Debug)]
pub enum Inspection {
    /// A well-formed order event that passes validation.
    Valid(Box<OrderEvent>),
    /// A well-formed order event that breaks a business rule: a permanent failure.
    Invalid(Box<OrderEvent>, ValidationError),
    /// Not an order event at all: a permanent failure.
    Unparsable(String),
}

impl Inspection {
    /// Parses and validates a payload (`None` is a tombstone).
    pub fn of(payload: Option<&[u8]>) -> Inspection {
        Inspection::of_payload(Payload::new(payload))
    }

    /// [`Inspection::of`] for a payload whose UTF-8 is checked already: the consumer loop
    /// passes the same [`Payload`] to the audit line.
    pub fn of_payload(payload: Payload<'_>) -> Inspection {
        if payload.bytes.is_empty() {
            return Inspection::Unparsable("empty payload".to_owned());
        }
        let parsed = match payload.text {
            Some(text) => OrderEvent::from_text(text),
            None => OrderEvent::from_slice(payload.bytes),
        };
        match parsed {
            Ok(event) => match validate(&event) {
                Ok(()) => Inspection::Valid(Box::new(event)),
                Err(error) => Inspection::Invalid(Box::new(event), error),
            },
            Err(error) => Inspection::Unparsable(deserialization_error_text(payload, &error)),
        }
    }

    /// The parsed event, valid or not.
    pub fn event(&self) -> Option<&OrderEvent> {
        match self {
            Inspection::Valid(event) | Inspection::Invalid(event, _) => Some(event),
            Inspection::Unparsable(_) => None,
        }
    }

    /// The event to process, or the permanent failure that sends the message to the DLQ.
    pub fn accepted(&self) -> Result<&OrderEvent, Failure> {
        match self {
            Inspection::Valid(event) => Ok(event),
            Inspection::Invalid(_, error) => {
                Err(Failure::Permanent { kind: "validation", reason: error.to_string() })
            }
            Inspection::Unparsable(reason) => {
                Err(Failure::Permanent { kind: "deserialization", reason: reason.clone() })
            }
        }
    }

    /// The `.events` line of the message this inspection is of (cluster id and headers are
    /// added by the caller): every message gets one, whatever happens next. `payload` is the
    /// one inspected, `origin.payload` its bytes.
    pub fn audit_entry<'a>(
        &'a self,
        payload: Payload<'a>,
        timestamp: &'a str,
        instance_id: &'a str,
        origin: MessageOrigin<'a>,
    ) -> AuditEntry<'a> {
        let (parsed, validation_error) = match self {
            Inspection::Valid(event) => (Ok(&**event), None),
            Inspection::Invalid(event, error) => (Ok(&**event), Some(error.to_string())),
            Inspection::Unparsable(reason) => (Err(reason.as_str()), None),
        };
        AuditEntry::with_payload_text(timestamp, instance_id, origin, payload.text, parsed, validation_error)
    }
}

/// serde_json's message, with a clearer word for bytes that are not UTF-8.
fn deserialization_error_text(payload: Payload<'_>, error: &serde_json::Error) -> String {
    if payload.text.is_none() {
        format!("payload is not valid UTF-8 ({error})")
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{OrderGenerator, PoisonKind, Rejection};

    #[test]
    fn valid_orders_pass() {
        let event = OrderGenerator::seeded(1).new_order_event();
        let inspection = Inspection::of(Some(&event.to_json()));
        assert!(matches!(&inspection, Inspection::Valid(parsed) if **parsed == event));
        assert!(inspection.accepted().is_ok());
    }

    #[test]
    fn every_poison_kind_is_a_permanent_failure_of_its_documented_kind() {
        let mut generator = OrderGenerator::seeded(2);
        for &kind in PoisonKind::ALL {
            let inspection = Inspection::of(Some(&kind.payload(&mut generator, 0, chrono::Utc::now())));
            let failure = inspection.accepted().expect_err("poison is rejected");
            assert!(failure.is_permanent());
            let expected = match kind.rejection() {
                Rejection::Deserialization => "deserialization",
                Rejection::Validation => "validation",
            };
            assert_eq!(failure.kind(), expected, "{kind}");
        }
    }

    #[test]
    fn tombstones_and_non_utf8_say_what_is_wrong() {
        assert_eq!(Inspection::of(None).accepted().unwrap_err().reason(), "empty payload");
        let failure = Inspection::of(Some(&[0xff, 0xfe])).accepted().unwrap_err();
        assert!(failure.reason().starts_with("payload is not valid UTF-8"), "{}", failure.reason());
    }
}
