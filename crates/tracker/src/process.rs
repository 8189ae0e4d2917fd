//! What the tracker does with one message, without Kafka or files: parse, validate, spot
//! duplicates and lifecycle events that arrive out of order. Everything here is pure and
//! unit-tested; the consumer loop calls it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

use foldhash::fast::RandomState;

use models::audit::MessageOrigin;
use models::{validate, AuditEntry, OrderEvent, OrderStatus, ValidationError};
use retry::Failure;
use uuid::Uuid;

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

/// The last `capacity` keys seen, in a set with first-in-first-out eviction.
///
/// Every message looks a key up and most insert one (and evict one), so the set hashes with
/// foldhash instead of the standard SipHash (cheaper on these small keys; measured in
/// docs/benchmarks.md), still seeded at random per process, so keys chosen by whoever writes
/// to the topic cannot be aimed at one bucket in advance.
#[derive(Debug)]
pub struct BoundedSet<K> {
    capacity: usize,
    members: HashSet<K, RandomState>,
    arrival: VecDeque<K>,
}

impl<K: Eq + Hash + Clone> BoundedSet<K> {
    /// A set that remembers at most `capacity` keys; 0 remembers nothing.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, members: HashSet::default(), arrival: VecDeque::new() }
    }

    /// Whether `key` is among the remembered ones.
    pub fn contains(&self, key: &K) -> bool {
        self.members.contains(key)
    }

    /// Remembers `key`, forgetting the oldest one when full.
    pub fn insert(&mut self, key: K) {
        if self.capacity == 0 || !self.members.insert(key.clone()) {
            return;
        }
        self.arrival.push_back(key);
        if self.arrival.len() > self.capacity {
            if let Some(oldest) = self.arrival.pop_front() {
                self.members.remove(&oldest);
            }
        }
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.members.clear();
        self.arrival.clear();
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nothing is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The furthest lifecycle status seen per order, for a bounded number of recent orders
/// (hashed with foldhash, like [`BoundedSet`]).
#[derive(Debug)]
pub struct OrderBook {
    capacity: usize,
    furthest: HashMap<Uuid, OrderStatus, RandomState>,
    arrival: VecDeque<Uuid>,
}

impl OrderBook {
    /// Remembers at most `capacity` orders.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), furthest: HashMap::default(), arrival: VecDeque::new() }
    }

    /// Records `status` for `order_id`. Returns the status already reached when this one comes
    /// earlier in the lifecycle (an event that arrived out of order).
    pub fn record(&mut self, order_id: Uuid, status: &OrderStatus) -> Option<OrderStatus> {
        match self.furthest.get_mut(&order_id) {
            Some(furthest) if furthest.rank() > status.rank() => Some(furthest.clone()),
            Some(furthest) => {
                *furthest = status.clone();
                None
            }
            None => {
                self.furthest.insert(order_id, status.clone());
                self.arrival.push_back(order_id);
                if self.arrival.len() > self.capacity {
                    if let Some(oldest) = self.arrival.pop_front() {
                        self.furthest.remove(&oldest);
                    }
                }
                None
            }
        }
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

    #[test]
    fn bounded_set_forgets_the_oldest() {
        let mut set = BoundedSet::new(2);
        set.insert(1);
        set.insert(2);
        set.insert(2);
        assert_eq!(set.len(), 2);
        set.insert(3);
        assert!(!set.contains(&1) && set.contains(&2) && set.contains(&3));
        let mut off = BoundedSet::new(0);
        off.insert(1);
        assert!(off.is_empty());
    }

    #[test]
    fn order_book_flags_events_that_go_back_in_the_lifecycle() {
        let mut book = OrderBook::new(10);
        let id = Uuid::from_u128(1);
        assert_eq!(book.record(id, &OrderStatus::Created), None);
        assert_eq!(book.record(id, &OrderStatus::Shipped), None);
        assert_eq!(book.record(id, &OrderStatus::Shipped), None, "a repeat is not out of order");
        assert_eq!(book.record(id, &OrderStatus::Paid), Some(OrderStatus::Shipped));
        assert_eq!(book.record(Uuid::from_u128(2), &OrderStatus::Delivered), None);
    }

    #[test]
    fn order_book_is_bounded() {
        let mut book = OrderBook::new(2);
        for n in 0..3 {
            book.record(Uuid::from_u128(n), &OrderStatus::Shipped);
        }
        assert_eq!(book.record(Uuid::from_u128(0), &OrderStatus::Created), None, "order 0 was forgotten");
        assert_eq!(book.record(Uuid::from_u128(2), &OrderStatus::Created), Some(OrderStatus::Shipped));
    }
}
