//! The order event: an envelope (identity, type, version, time, sequence) around the full order.
//!
//! Field names are snake_case in JSON. Statuses and event types that this version does not know
//! still deserialize (as `Unknown`), so that the consumer can reject them with a typed
//! validation error instead of a generic parse failure.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

pub(crate) mod write;

/// The envelope version this code writes and accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// One message on the `orders` topic. The Kafka key is `order.order_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderEvent {
    /// Unique per event (UUID v4), so consumers can drop duplicate deliveries.
    pub event_id: Uuid,
    /// What happened to the order.
    pub event_type: EventType,
    /// Envelope schema version, [`SCHEMA_VERSION`] for this code.
    pub version: u32,
    /// When the producer emitted the event.
    #[serde(with = "timestamp_millis")]
    pub timestamp: DateTime<Utc>,
    /// Strictly increasing within one producer run.
    pub sequence: u64,
    /// The whole order as it stands after this event.
    #[serde(deserialize_with = "json_objects::object")]
    pub order: Order,
}

/// The full state of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The order's identity and the Kafka key of all its events.
    pub order_id: Uuid,
    /// Where the order is in its lifecycle.
    pub status: OrderStatus,
    /// Who placed it.
    #[serde(deserialize_with = "json_objects::object")]
    pub customer: Customer,
    /// What was bought: 1 to 5 lines from the generator.
    #[serde(deserialize_with = "json_objects::objects")]
    pub items: Vec<LineItem>,
    /// ISO 4217 code; always `EUR` here.
    pub currency: String,
    /// Σ quantity × unit price, in cents.
    pub subtotal_cents: i64,
    /// Delivery fee, in cents.
    pub shipping_cents: i64,
    /// VAT, in cents.
    pub tax_cents: i64,
    /// subtotal + shipping + tax, in cents.
    pub total_cents: i64,
    /// How it is paid; never more than the last four card digits.
    #[serde(deserialize_with = "json_objects::object")]
    pub payment: Payment,
    /// Where the parcel goes.
    #[serde(deserialize_with = "json_objects::object")]
    pub shipping_address: Address,
    /// Where the invoice goes.
    #[serde(deserialize_with = "json_objects::object")]
    pub billing_address: Address,
    /// When the order was placed.
    #[serde(with = "timestamp_millis")]
    pub created_at: DateTime<Utc>,
    /// When this state was reached.
    #[serde(with = "timestamp_millis")]
    pub updated_at: DateTime<Utc>,
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// `client01` .. `client50` from the generator.
    pub customer_id: String,
    /// Full name.
    pub name: String,
    /// Contact address.
    pub email: String,
}

/// One line of the basket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Catalogue reference, e.g. `SKU-1004`.
    pub product_id: String,
    /// Human-readable product name.
    pub name: String,
    /// How many; must be positive.
    pub quantity: i64,
    /// Price of one unit, in cents.
    pub unit_price_cents: i64,
}

impl LineItem {
    /// quantity × unit price, `None` on overflow.
    pub fn line_total_cents(&self) -> Option<i64> {
        self.quantity.checked_mul(self.unit_price_cents)
    }
}

/// How the order is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Means of payment.
    pub method: PaymentMethod,
    /// Where the money stands.
    pub status: PaymentStatus,
    /// The payment provider's reference.
    pub transaction_id: String,
    /// Last four digits of the card for card payments, `null` otherwise. Never a full number.
    pub card_last4: Option<String>,
}

/// Means of payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    CreditCard,
    DebitCard,
    Paypal,
    BankTransfer,
    ApplePay,
}

impl PaymentMethod {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreditCard => "credit_card",
            Self::DebitCard => "debit_card",
            Self::Paypal => "paypal",
            Self::BankTransfer => "bank_transfer",
            Self::ApplePay => "apple_pay",
        }
    }

    /// Whether the method involves a card (and so may carry `card_last4`).
    pub fn is_card(self) -> bool {
        matches!(self, Self::CreditCard | Self::DebitCard | Self::ApplePay)
    }
}

/// Where the money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Authorised, not yet captured.
    Pending,
    /// Captured.
    Captured,
    /// Given back after a cancellation.
    Refunded,
    /// Cancelled before capture.
    Voided,
}

impl PaymentStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Captured => "captured",
            Self::Refunded => "refunded",
            Self::Voided => "voided",
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Number and street.
    pub street: String,
    /// Five-digit French postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166 code, `FR`.
    pub country: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as received.
            Unknown(String),
        }

        impl $name {
            /// Every known value, in lifecycle order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The JSON spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(other) => other,
                }
            }

            /// Parses a JSON spelling; anything else becomes `Unknown`.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

string_enum! {
    /// Where an order is in its lifecycle.
    OrderStatus {
        /// Placed, payment authorised.
        Created => "created",
        /// Payment captured.
        Paid => "paid",
        /// Handed to the carrier.
        Shipped => "shipped",
        /// Received by the customer.
        Delivered => "delivered",
        /// Cancelled (and refunded if it was paid).
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// What happened to the order. `order.updated` covers paid, shipped and delivered: the
    /// order's `status` says which.
    EventType {
        /// A new order.
        Created => "order.created",
        /// The order moved forward in its lifecycle.
        Updated => "order.updated",
        /// The order was cancelled.
        Cancelled => "order.cancelled",
    }
}

impl OrderStatus {
    /// Position in the lifecycle, used to spot events that arrive out of order.
    /// `None` for unknown statuses.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Created => Some(0),
            Self::Paid => Some(1),
            Self::Shipped => Some(2),
            Self::Delivered => Some(3),
            Self::Cancelled => Some(4),
            Self::Unknown(_) => None,
        }
    }

    /// Whether no later status can follow.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled)
    }

    /// The event type that announces this status.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Created => EventType::Created,
            Self::Cancelled => EventType::Cancelled,
            _ => EventType::Updated,
        }
    }
}

/// Serde helpers that accept a struct only as a JSON object. serde's derived `Deserialize`
/// also accepts a sequence of the fields in declaration order, so `["<id>", "order.created",
/// …]` would otherwise parse as an order event.
mod json_objects {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    /// A `T` read from a JSON object only.
    pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
        struct ObjectOnly<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
            type Value = T;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly(PhantomData))
    }

    /// A list of `T`, each read from a JSON object only.
    pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        struct Object<T>(T);
        impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                object(deserializer).map(Object)
            }
        }
        struct ListOfObjects<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOfObjects<T> {
            type Value = Vec<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of JSON objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
                    items.push(item);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_seq(ListOfObjects(PhantomData))
    }
}

/// Serde for timestamps: written as RFC 3339 UTC with milliseconds, read from any RFC 3339.
pub mod timestamp_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `2026-11-23T09:15:02.125Z`.
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(crate::Timestamp::new(*time).as_str())
    }

    /// Reads any RFC 3339 time and converts it to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|error| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}: {error}")))
    }
}

impl OrderEvent {
    /// Parses a message payload. Fails on anything that is not an order event of this shape,
    /// written as JSON objects (not as positional arrays, which serde would otherwise accept).
    ///
    /// UTF-8 text is checked once, as a whole, and then parsed as text: serde_json's byte
    /// reader would check every string again, one at a time, which took a quarter of the
    /// parse. Other bytes get the byte reader, for its error message (the invalid bytes and
    /// where they are).
    pub fn from_slice(payload: &[u8]) -> Result<Self, serde_json::Error> {
        fn parse<'de, R: serde_json::de::Read<'de>>(read: R) -> Result<OrderEvent, serde_json::Error> {
            let mut deserializer = serde_json::Deserializer::new(read);
            let event = json_objects::object(&mut deserializer)?;
            deserializer.end()?;
            Ok(event)
        }
        match std::str::from_utf8(payload) {
            Ok(text) => Self::from_text(text),
            Err(_) => parse(serde_json::de::SliceRead::new(payload)),
        }
    }

    /// [`OrderEvent::from_slice`] for a payload already known to be UTF-8: a caller that
    /// needs the text anyway (the tracker writes it into the audit line) checks it once.
    pub fn from_text(text: &str) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let event = json_objects::object(&mut deserializer)?;
        deserializer.end()?;
        Ok(event)
    }

    /// The JSON payload of the message.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1536);
        self.write_json(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::OrderGenerator;

    #[test]
    fn nested_structs_must_be_json_objects_too() {
        let event = OrderGenerator::seeded(4).new_order_event();
        let mut value = serde_json::to_value(&event).unwrap();
        let customer = &event.order.customer;
        value["order"]["customer"] = serde_json::json!([customer.customer_id, customer.name, customer.email]);
        let error = OrderEvent::from_slice(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(error.to_string().contains("expected a JSON object"), "{error}");

        let mut value = serde_json::to_value(&event).unwrap();
        let item = &event.order.items[0];
        value["order"]["items"][0] =
            serde_json::json!([item.product_id, item.name, item.quantity, item.unit_price_cents]);
        assert!(OrderEvent::from_slice(&serde_json::to_vec(&value).unwrap()).is_err());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_with_their_place() {
        let payload = OrderGenerator::seeded(6).new_order_event().to_json();
        let mut broken = payload.clone();
        let at = payload.windows(6).position(|w| w == b"client").unwrap();
        broken[at] = 0xff;
        let error = OrderEvent::from_slice(&broken).unwrap_err().to_string();
        assert!(error.starts_with("invalid unicode code point at line 1 column"), "{error}");
    }

    #[test]
    fn trailing_data_is_rejected() {
        let mut payload = OrderGenerator::seeded(5).new_order_event().to_json();
        payload.extend_from_slice(b" {}");
        assert!(OrderEvent::from_slice(&payload).is_err());
    }
}
