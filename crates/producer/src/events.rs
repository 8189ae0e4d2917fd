//! What the producer sends next: new orders, later lifecycle steps of orders it created
//! earlier, and poison pills, each with its key, payload, headers and sequence number.
//!
//! Lifecycle steps need the orders' current state, kept in [`OpenOrders`]: a bounded set of
//! orders that can still move forward. An order leaves it when it reaches a final status
//! (delivered or cancelled); when the set is full, new orders are still sent but not tracked.

use chrono::{DateTime, Utc};
use models::{Order, OrderGenerator, PoisonKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// Most orders remembered for later lifecycle events.
pub const MAX_OPEN_ORDERS: usize = 10_000;

/// One record ready to be handed to Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutgoingRecord {
    /// The Kafka key: the order id, or a fresh UUID for a poison pill.
    pub key: String,
    /// The message bytes.
    pub payload: Vec<u8>,
    /// The `event_type` header: the envelope's type (a poison pill claims `order.created`).
    pub event_type: String,
    /// Whether the payload is JSON (then it gets `content-type: application/json`).
    pub is_json: bool,
    /// Strictly increasing within a run; the `producer_sequence` header.
    pub sequence: u64,
    /// The `trace_id` header: a fresh UUID per record.
    pub trace_id: Uuid,
    /// The kind of malformed record, when this is a poison pill.
    pub poison: Option<PoisonKind>,
}

/// Orders that can still move forward in their lifecycle, at most `capacity` of them.
#[derive(Debug)]
pub struct OpenOrders {
    orders: Vec<Order>,
    capacity: usize,
}

impl OpenOrders {
    /// An empty set holding at most `capacity` orders.
    pub fn new(capacity: usize) -> Self {
        Self { orders: Vec::with_capacity(capacity.min(1024)), capacity }
    }

    /// How many orders are open.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order is open.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Remembers an order; returns false (and forgets it) when it is final or the set is full.
    pub fn insert(&mut self, order: Order) -> bool {
        if order.status.is_final() || self.orders.len() >= self.capacity {
            return false;
        }
        self.orders.push(order);
        true
    }

    /// Moves the open order at `index` (taken modulo the size) to its next state where it
    /// is, hands that state to `then` (with the generator, to draw the event id), and drops
    /// the order once it is final. `None` when the set is empty or the order cannot move.
    pub fn advance<R>(
        &mut self,
        index: usize,
        generator: &mut OrderGenerator,
        now: DateTime<Utc>,
        then: impl FnOnce(&mut OrderGenerator, &Order) -> R,
    ) -> Option<R> {
        if self.orders.is_empty() {
            return None;
        }
        let index = index % self.orders.len();
        let order = &mut self.orders[index];
        if !generator.advance_in_place(order, now) {
            return None;
        }
        let result = then(generator, order);
        if order.status.is_final() {
            self.orders.swap_remove(index);
        }
        Some(result)
    }
}

/// The mix of records to produce.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventMix {
    /// Share of events that move an open order forward (`producer.lifecycle_share`).
    pub lifecycle_share: f64,
    /// Share of records replaced by a poison pill of a random kind (`producer.poison_rate`).
    pub poison_rate: f64,
    /// Send only poison pills of this kind (`--poison KIND`).
    pub only_poison: Option<PoisonKind>,
}

/// Produces the stream of records of one run, numbering them from 0.
#[derive(Debug)]
pub struct EventSource {
    generator: OrderGenerator,
    /// Trace ids stay unique across runs even with a fixed `--seed`.
    trace_rng: StdRng,
    open: OpenOrders,
    mix: EventMix,
    next_sequence: u64,
}

impl EventSource {
    /// A source drawing from `generator` (whose cancel share is already set).
    pub fn new(generator: OrderGenerator, mix: EventMix) -> Self {
        Self {
            generator,
            trace_rng: StdRng::from_os_rng(),
            open: OpenOrders::new(MAX_OPEN_ORDERS),
            mix,
            next_sequence: 0,
        }
    }

    /// The open orders, for tests and metrics.
    pub fn open_orders(&self) -> &OpenOrders {
        &self.open
    }

    /// The next record, stamped `now`.
    pub fn next_record(&mut self, now: DateTime<Utc>) -> OutgoingRecord {
        let mut record = OutgoingRecord::default();
        self.next_record_into(now, &mut record);
        record
    }

    /// The next record, stamped `now`, written over `record`: its buffers are reused, so a
    /// flood allocates nothing for them after the first records.
    pub fn next_record_into(&mut self, now: DateTime<Utc>, record: &mut OutgoingRecord) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        record.sequence = sequence;
        record.trace_id = uuid::Builder::from_random_bytes(self.trace_rng.random()).into_uuid();
        record.key.clear();
        record.payload.clear();
        record.event_type.clear();
        let poison = match self.mix.only_poison {
            Some(kind) => Some(kind),
            None if self.mix.poison_rate > 0.0 && self.generator.rng().random_bool(self.mix.poison_rate) => {
                let kinds = PoisonKind::ALL;
                Some(kinds[self.generator.rng().random_range(0..kinds.len())])
            }
            None => None,
        };
        record.poison = poison;
        if let Some(kind) = poison {
            record.payload = kind.payload(&mut self.generator, sequence, now);
            push_uuid(&mut record.key, self.generator.uuid());
            record.event_type.push_str(models::EventType::Created.as_str());
            record.is_json = is_json_kind(kind);
            return;
        }
        record.is_json = true;
        let lifecycle = !self.open.is_empty()
            && self.mix.lifecycle_share > 0.0
            && self.generator.rng().random_bool(self.mix.lifecycle_share);
        // The order's next state is written where the set keeps it; a new order is written,
        // then moved into the set. Either way no order is copied.
        let mut write = |generator: &mut OrderGenerator, order: &Order| {
            let event = generator.event_ref(order, sequence, now);
            event.write_json(&mut record.payload);
            push_uuid(&mut record.key, order.order_id);
            record.event_type.push_str(event.event_type.as_str());
        };
        if lifecycle {
            let index = self.generator.rng().random_range(0..self.open.len());
            if self.open.advance(index, &mut self.generator, now, &mut write).is_some() {
                return;
            }
        }
        let order = self.generator.new_order(now);
        write(&mut self.generator, &order);
        self.open.insert(order);
    }
}

/// Appends `id` in its hyphenated lower-case form.
fn push_uuid(text: &mut String, id: Uuid) {
    text.push_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
}

/// Whether a poison kind's payload is still JSON text.
pub fn is_json_kind(kind: PoisonKind) -> bool {
    !matches!(kind, PoisonKind::InvalidJson | PoisonKind::NotUtf8 | PoisonKind::Empty)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use models::{OrderEvent, OrderStatus};

    use super::*;

    fn status(_: &mut OrderGenerator, order: &Order) -> OrderStatus {
        order.status.clone()
    }

    fn mix(lifecycle_share: f64) -> EventMix {
        EventMix { lifecycle_share, poison_rate: 0.0, only_poison: None }
    }

    #[test]
    fn open_orders_are_bounded_and_final_orders_leave() {
        let mut generator = OrderGenerator::seeded(1).with_cancel_share(0.0);
        let now = Utc::now();
        let mut open = OpenOrders::new(2);
        assert!(open.insert(generator.new_order(now)));
        assert!(open.insert(generator.new_order(now)));
        assert!(!open.insert(generator.new_order(now)), "full");
        assert_eq!(open.len(), 2);
        // created -> paid -> shipped -> delivered: the third step closes the order.
        assert_eq!(open.advance(0, &mut generator, now, status), Some(OrderStatus::Paid));
        assert_eq!(open.advance(0, &mut generator, now, status), Some(OrderStatus::Shipped));
        assert_eq!(open.len(), 2);
        assert_eq!(open.advance(0, &mut generator, now, status), Some(OrderStatus::Delivered));
        assert_eq!(open.len(), 1, "delivered order dropped");
        let mut delivered = generator.new_order(now);
        delivered.status = OrderStatus::Delivered;
        assert!(!open.insert(delivered), "final orders are not kept");
        assert_eq!(open.advance(7, &mut generator, now, status), Some(OrderStatus::Paid));
        assert!(OpenOrders::new(5).advance(0, &mut generator, now, status).is_none());
    }

    #[test]
    fn cancelled_orders_leave_the_set() {
        let mut generator = OrderGenerator::seeded(2).with_cancel_share(1.0);
        let now = Utc::now();
        let mut open = OpenOrders::new(10);
        open.insert(generator.new_order(now));
        assert_eq!(open.advance(0, &mut generator, now, status), Some(OrderStatus::Cancelled));
        assert!(open.is_empty());
    }

    #[test]
    fn sequences_increase_and_lifecycles_follow_their_order() {
        let mut source = EventSource::new(OrderGenerator::seeded(3), mix(0.5));
        let now = Utc::now();
        let mut last_rank: HashMap<String, u8> = HashMap::new();
        let mut lifecycle_events = 0;
        for expected in 0..2_000u64 {
            let record = source.next_record(now);
            assert_eq!(record.sequence, expected);
            let event = OrderEvent::from_slice(&record.payload).unwrap();
            models::validate(&event).unwrap();
            assert_eq!(event.sequence, expected);
            assert_eq!(record.key, event.order.order_id.to_string());
            assert_eq!(record.event_type, event.event_type.as_str());
            let rank = event.order.status.rank().unwrap();
            if let Some(previous) = last_rank.insert(record.key.clone(), rank) {
                assert!(rank > previous, "status went from {previous} to {rank}");
                lifecycle_events += 1;
            }
        }
        assert!((600..1_400).contains(&lifecycle_events), "{lifecycle_events} lifecycle events");
        assert!(source.open_orders().len() <= MAX_OPEN_ORDERS);
    }

    #[test]
    fn no_lifecycle_share_means_only_new_orders() {
        let mut source = EventSource::new(OrderGenerator::seeded(4), mix(0.0));
        for _ in 0..100 {
            let record = source.next_record(Utc::now());
            assert_eq!(record.event_type, "order.created");
        }
    }

    #[test]
    fn poison_only_mode_sends_that_kind_with_fresh_keys() {
        for &kind in PoisonKind::ALL {
            let mix = EventMix { lifecycle_share: 0.4, poison_rate: 0.0, only_poison: Some(kind) };
            let mut source = EventSource::new(OrderGenerator::seeded(5), mix);
            let first = source.next_record(Utc::now());
            let second = source.next_record(Utc::now());
            assert_eq!(first.poison, Some(kind));
            assert_eq!((first.sequence, second.sequence), (0, 1));
            assert_ne!(first.key, second.key);
            assert!(Uuid::parse_str(&first.key).is_ok());
            assert_ne!(first.trace_id, second.trace_id);
            assert_eq!(
                first.is_json,
                serde_json::from_slice::<serde_json::Value>(&first.payload).is_ok(),
                "{kind}"
            );
        }
    }

    #[test]
    fn poison_rate_mixes_pills_into_the_stream() {
        let mix = EventMix { lifecycle_share: 0.4, poison_rate: 0.25, only_poison: None };
        let mut source = EventSource::new(OrderGenerator::seeded(6), mix);
        let pills = (0..400).filter(|_| source.next_record(Utc::now()).poison.is_some()).count();
        assert!((50..150).contains(&pills), "{pills} pills out of 400");
    }
}

/// The bytes of a seeded run, pinned: speed work on the generator, the serialisation or the
/// record may change how a record is built, never what it holds.
#[cfg(test)]
mod golden {
    use chrono::TimeDelta;

    use super::*;

    /// FNV-1a, 64 bits: a checksum that stays the same across Rust versions and platforms.
    struct Fnv(u64);

    impl Fnv {
        fn write(&mut self, bytes: &[u8]) {
            for &byte in bytes {
                self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }

    /// 10,000 records of seed 1 with the default mix (40 % lifecycle steps, 10 % of them
    /// cancelling) and 2 % poison pills, stamped from a fixed clock that moves 1.000357 ms per
    /// record (sub-millisecond digits, which the payload truncates). Every field but the
    /// trace id (random on purpose) goes into the checksum, and whole payloads but those of
    /// poison pills. Were the output to change on
    /// purpose, print the new figures and explain the change in the commit.
    #[test]
    fn seed_one_gives_the_same_records() {
        let mix = EventMix { lifecycle_share: 0.4, poison_rate: 0.02, only_poison: None };
        let mut source = EventSource::new(OrderGenerator::seeded(1).with_cancel_share(0.1), mix);
        let start = DateTime::parse_from_rfc3339("2026-11-27T21:00:00.999999Z").unwrap().to_utc();
        let mut checksum = Fnv(0xcbf2_9ce4_8422_2325);
        let (mut bytes, mut updates, mut poison) = (0usize, 0, 0);
        for index in 0..10_000i64 {
            let now = start + TimeDelta::nanoseconds(index * 1_000_357);
            let record = source.next_record(now);
            checksum.write(record.key.as_bytes());
            checksum.write(&[0]);
            checksum.write(record.event_type.as_bytes());
            checksum.write(&[0, u8::from(record.is_json)]);
            checksum.write(&record.sequence.to_le_bytes());
            checksum.write(record.poison.map_or("", |kind| kind.name()).as_bytes());
            checksum.write(&[0]);
            match record.poison {
                // A pill's payload holds the wall-clock time (`PoisonKind::payload`): its length only.
                Some(_) => checksum.write(&record.payload.len().to_le_bytes()),
                None => checksum.write(&record.payload),
            }
            checksum.write(&[0xff]);
            bytes += record.payload.len();
            updates += usize::from(record.event_type != "order.created");
            poison += usize::from(record.poison.is_some());
        }
        println!("checksum {:#018x}, {bytes} payload bytes, {updates} updates, {poison} poison", checksum.0);
        assert_eq!((updates, poison), (EXPECTED_UPDATES, EXPECTED_POISON), "the mix changed");
        assert_eq!(bytes, EXPECTED_BYTES, "payload lengths changed");
        assert_eq!(checksum.0, EXPECTED_CHECKSUM, "record bytes changed");
    }

    const EXPECTED_CHECKSUM: u64 = 0xae84_6a32_fccc_157c;
    const EXPECTED_BYTES: usize = 34_747_096;
    const EXPECTED_UPDATES: usize = 3_918;
    const EXPECTED_POISON: usize = 193;
}

#[cfg(test)]
mod speed {
    use super::*;

    /// Generation and serialisation alone; run by hand with
    /// `cargo test --release -p producer -- --ignored generation_speed --nocapture`.
    #[test]
    #[ignore]
    fn generation_speed() {
        let mut source = EventSource::new(
            OrderGenerator::seeded(9),
            EventMix { lifecycle_share: 0.4, poison_rate: 0.0, only_poison: None },
        );
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..200_000 {
            bytes += source.next_record(Utc::now()).payload.len();
        }
        let elapsed = start.elapsed();
        println!("200000 records ({bytes} bytes) in {elapsed:?}: {:.0}/s", 200_000.0 / elapsed.as_secs_f64());
    }
}
