//! One record of the compacted `order-status` topic: an order's latest status, as the tracker
//! last applied it. Key: the order id (text). Value: [`OrderStatusRecord`] as JSON. Other
//! services read this topic instead of asking anyone for an order's state; compaction keeps
//! the last record of each order.
//!
//! The record names the event that set it (`event_id`) and where that event was read
//! (`source_partition`, `source_offset`), so a reader can tell that each event's effect is
//! there once (exactly-once) or more (at-least-once after a crash).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::order::OrderEvent;

/// The value of an `order-status` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusRecord {
    /// The order (also the record's key).
    pub order_id: Uuid,
    /// Its latest status (`created`, `paid`, ...).
    pub status: String,
    /// Σ quantity × unit price, in cents.
    pub subtotal_cents: i64,
    /// The order's total, in cents.
    pub total_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The event that set this status.
    pub event_id: Uuid,
    /// When that event was emitted, RFC 3339 UTC with milliseconds.
    pub event_timestamp: String,
    /// The partition of the orders topic the event was read from.
    pub source_partition: i32,
    /// Its offset there.
    pub source_offset: i64,
}

impl OrderStatusRecord {
    /// The status record `event`, read at `partition`/`offset`, sets.
    pub fn of(event: &OrderEvent, partition: i32, offset: i64) -> Self {
        let order = &event.order;
        OrderStatusRecord {
            order_id: order.order_id,
            status: order.status.as_str().to_owned(),
            subtotal_cents: order.subtotal_cents,
            total_cents: order.total_cents,
            currency: order.currency.clone(),
            event_id: event.event_id,
            event_timestamp: crate::format_timestamp(event.timestamp),
            source_partition: partition,
            source_offset: offset,
        }
    }

    /// The record's value: one JSON object.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of strings and numbers into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::OrderGenerator;

    #[test]
    fn a_status_record_names_its_event_and_round_trips() {
        let mut generator = OrderGenerator::seeded(4);
        let now = chrono::Utc::now();
        let order = generator.new_order(now);
        let event = generator.event(order, 7, now);
        let record = OrderStatusRecord::of(&event, 2, 41);
        assert_eq!(record.order_id, event.order.order_id);
        assert_eq!(record.event_id, event.event_id);
        assert_eq!((record.source_partition, record.source_offset), (2, 41));
        assert_eq!(record.total_cents, event.order.total_cents);
        let back: OrderStatusRecord = serde_json::from_slice(&record.to_json()).unwrap();
        assert_eq!(back, record);
    }
}
