//! An order event that borrows its order, to write its JSON where the order is kept: the
//! producer advances an order inside its set of open orders and writes the event from there,
//! instead of copying the order into an [`OrderEvent`]. The bytes are those of
//! [`OrderEvent::to_json`] for the same fields (tested below). Its writer,
//! [`OrderEventRef::write_json`], is with the other hand-written JSON in `order/write.rs`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::order::{EventType, Order, OrderEvent};

/// [`OrderEvent`] with a borrowed order; the same JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEventRef<'a> {
    /// Unique per event.
    pub event_id: Uuid,
    /// What happened to the order.
    pub event_type: EventType,
    /// Envelope schema version.
    pub version: u32,
    /// When the producer emitted the event.
    #[serde(serialize_with = "crate::order::timestamp_millis::serialize")]
    pub timestamp: DateTime<Utc>,
    /// Strictly increasing within one producer run.
    pub sequence: u64,
    /// The whole order as it stands after this event.
    pub order: &'a Order,
}

impl<'a> From<&'a OrderEvent> for OrderEventRef<'a> {
    fn from(event: &'a OrderEvent) -> Self {
        OrderEventRef {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            version: event.version,
            timestamp: event.timestamp,
            sequence: event.sequence,
            order: &event.order,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::OrderGenerator;

    #[test]
    fn same_bytes_as_the_owned_event_and_serde() {
        let mut generator = OrderGenerator::seeded(11);
        let mut out = Vec::new();
        for index in 0..500 {
            let mut event = generator.new_order_event();
            if index % 7 == 0 {
                event.event_type = EventType::Unknown("order.\"odd\"\n".to_owned());
                event.order.customer.name = "Zoë \u{1} \\ \"quoted\"".to_owned();
            }
            out.clear();
            let borrowed = OrderEventRef::from(&event);
            borrowed.write_json(&mut out);
            assert_eq!(out, event.to_json());
            assert_eq!(out, serde_json::to_vec(&borrowed).unwrap());
            assert_eq!(out, serde_json::to_vec(&event).unwrap());
        }
    }
}
