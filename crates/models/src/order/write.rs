//! An order event written as JSON by hand, byte for byte what its `Serialize` derive writes
//! with `serde_json` (the tests below hold them together): the producer writes one per record
//! and the tracker one more per audit line, and through serde every field name went through
//! the string escaper and every field through a trait call, two thirds of the time.

use uuid::Uuid;

use super::{Address, Customer, LineItem, Order, OrderEvent, Payment};
use crate::event_json::OrderEventRef;
use crate::json::{write_int, write_key, write_str};
use crate::Timestamp;

/// Writes the fields of one JSON object: `{` first, `,` between, `}` at [`Object::end`].
pub(crate) struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    pub(crate) fn start(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// `"name":`, after a comma unless first. Names here never need escaping.
    pub(crate) fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_key(self.out, name);
        self.out
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) -> &mut Self {
        write_str(self.key(name), value);
        self
    }

    pub(crate) fn int(&mut self, name: &str, value: impl itoa::Integer) -> &mut Self {
        write_int(self.key(name), value);
        self
    }

    pub(crate) fn uuid(&mut self, name: &str, value: Uuid) -> &mut Self {
        self.str(name, value.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
    }

    pub(crate) fn time(&mut self, name: &str, value: chrono::DateTime<chrono::Utc>) -> &mut Self {
        self.str(name, Timestamp::new(value).as_str())
    }

    /// `null` for `None`, like serde writes an absent optional field.
    pub(crate) fn optional_str(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(text) => self.str(name, text),
            None => self.raw(name, b"null"),
        }
    }

    pub(crate) fn optional_int(&mut self, name: &str, value: Option<impl itoa::Integer>) -> &mut Self {
        match value {
            Some(number) => self.int(name, number),
            None => self.raw(name, b"null"),
        }
    }

    pub(crate) fn optional_uuid(&mut self, name: &str, value: Option<Uuid>) -> &mut Self {
        match value {
            Some(id) => self.uuid(name, id),
            None => self.raw(name, b"null"),
        }
    }

    /// A value already written as JSON.
    pub(crate) fn raw(&mut self, name: &str, json: &[u8]) -> &mut Self {
        self.key(name).extend_from_slice(json);
        self
    }

    pub(crate) fn end(&mut self) {
        self.out.push(b'}');
    }
}

impl OrderEvent {
    /// Appends the event as compact JSON (what [`OrderEvent::to_json`] returns).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        OrderEventRef::from(self).write_json(out);
    }
}

impl OrderEventRef<'_> {
    /// Appends the event's JSON to `out` (which a caller reuses from one event to the next),
    /// written by hand like [`OrderEvent::write_json`].
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::start(out);
        object
            .uuid("event_id", self.event_id)
            .str("event_type", self.event_type.as_str())
            .int("version", self.version)
            .time("timestamp", self.timestamp)
            .int("sequence", self.sequence);
        self.order.write_json(object.key("order"));
        object.end();
    }
}

impl Order {
    /// Appends the order as compact JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::start(out);
        object.uuid("order_id", self.order_id).str("status", self.status.as_str());
        self.customer.write_json(object.key("customer"));
        let items = object.key("items");
        items.push(b'[');
        for (index, item) in self.items.iter().enumerate() {
            if index > 0 {
                items.push(b',');
            }
            item.write_json(items);
        }
        items.push(b']');
        object
            .str("currency", &self.currency)
            .int("subtotal_cents", self.subtotal_cents)
            .int("shipping_cents", self.shipping_cents)
            .int("tax_cents", self.tax_cents)
            .int("total_cents", self.total_cents);
        self.payment.write_json(object.key("payment"));
        self.shipping_address.write_json(object.key("shipping_address"));
        self.billing_address.write_json(object.key("billing_address"));
        object.time("created_at", self.created_at).time("updated_at", self.updated_at).end();
    }
}

impl Customer {
    fn write_json(&self, out: &mut Vec<u8>) {
        Object::start(out)
            .str("customer_id", &self.customer_id)
            .str("name", &self.name)
            .str("email", &self.email)
            .end();
    }
}

impl LineItem {
    fn write_json(&self, out: &mut Vec<u8>) {
        Object::start(out)
            .str("product_id", &self.product_id)
            .str("name", &self.name)
            .int("quantity", self.quantity)
            .int("unit_price_cents", self.unit_price_cents)
            .end();
    }
}

impl Payment {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::start(out);
        object
            .str("method", self.method.as_str())
            .str("status", self.status.as_str())
            .str("transaction_id", &self.transaction_id);
        match &self.card_last4 {
            Some(digits) => {
                object.str("card_last4", digits);
            }
            None => object.key("card_last4").extend_from_slice(b"null"),
        }
        object.end();
    }
}

impl Address {
    fn write_json(&self, out: &mut Vec<u8>) {
        Object::start(out)
            .str("street", &self.street)
            .str("postal_code", &self.postal_code)
            .str("city", &self.city)
            .str("country", &self.country)
            .end();
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::generate::OrderGenerator;
    use crate::order::{EventType, OrderStatus, PaymentMethod, PaymentStatus};

    fn written(event: &OrderEvent) -> String {
        let mut out = b"before".to_vec();
        event.write_json(&mut out);
        String::from_utf8(out).unwrap().strip_prefix("before").unwrap().to_owned()
    }

    #[test]
    fn generated_events_are_written_as_serde_json_writes_them() {
        let mut generator = OrderGenerator::seeded(11);
        for _ in 0..200 {
            let event = generator.new_order_event();
            assert_eq!(written(&event), serde_json::to_string(&event).unwrap());
        }
    }

    proptest! {
        #[test]
        fn any_text_and_numbers_are_written_as_serde_json_writes_them(
            text in ".*",
            number in any::<i64>(),
            sequence in any::<u64>(),
            seconds in -100_000_000_000i64..300_000_000_000,
            card in proptest::option::of("[0-9]{0,5}"),
            method in 0usize..5,
            unknown in any::<bool>(),
        ) {
            let mut event = OrderGenerator::seeded(12).new_order_event();
            let time = chrono::Utc.timestamp_opt(seconds, 0).single().unwrap();
            event.sequence = sequence;
            event.version = number as u32;
            event.timestamp = time;
            event.order.created_at = time;
            event.order.customer.name = text.clone();
            event.order.items[0].name = text.clone();
            event.order.items[0].quantity = number;
            event.order.total_cents = number;
            event.order.billing_address.street = text.clone();
            event.order.payment.card_last4 = card;
            event.order.payment.method = [
                PaymentMethod::CreditCard,
                PaymentMethod::DebitCard,
                PaymentMethod::Paypal,
                PaymentMethod::BankTransfer,
                PaymentMethod::ApplePay,
            ][method];
            event.order.payment.status = PaymentStatus::Refunded;
            if unknown {
                event.event_type = EventType::Unknown(text.clone());
                event.order.status = OrderStatus::Unknown(text.clone());
                event.order.items.clear();
            }
            prop_assert_eq!(written(&event), serde_json::to_string(&event).unwrap());
        }
    }
}
