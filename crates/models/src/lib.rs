//! The data shared by every part of the system.
//!
//! - [`order`]: the order event that travels on the `orders` topic. It carries the whole order
//!   state (Event-Carried State Transfer), so a consumer never has to call anyone back.
//! - [`event_json`]: the same event borrowing its order, to write its JSON without a copy.
//! - [`validate`]: the business rules a consumer checks, as typed errors.
//! - [`generate`]: a seedable generator of realistic orders and of their later lifecycle states.
//! - [`audit`]: one line of a tracker's `.events` file (every message received).
//! - [`headers`]: a record's Kafka headers as JSON, in the audit lines.
//! - [`health`]: one line of a tracker's `.log` file (the instance's own health).
//! - [`kept`]: a record whose dead letter had to be cut, kept whole in a file by the tracker.
//! - [`latency`]: end-to-end latency (event emitted → audit line written) in bounded memory.
//! - [`status`]: a record of the compacted `order-status` topic (an order's latest status).
//! - [`terminal`]: text for people, with control characters escaped ([`escape_controls`]).
//!
//! Money is held in integer cents everywhere, in memory and in JSON (`*_cents` fields), so that
//! `total == subtotal + shipping + tax` holds exactly.

pub mod audit;
pub mod event_json;
pub mod generate;
pub mod headers;
pub mod health;
pub mod json;
pub mod kept;
pub mod latency;
pub mod order;
pub mod poison;
pub mod status;
pub mod terminal;
pub mod validate;

pub use audit::AuditEntry;
pub use event_json::OrderEventRef;
pub use generate::OrderGenerator;
pub use headers::HeaderMap;
pub use health::{HealthEntry, Level, LogKind};
pub use order::{
    Address, Customer, EventType, LineItem, Order, OrderEvent, OrderStatus, Payment, PaymentMethod,
    PaymentStatus, SCHEMA_VERSION,
};
pub use poison::{PoisonKind, Rejection};
pub use status::OrderStatusRecord;
pub use terminal::{escape_controls, escape_json_controls};
pub use validate::{validate, ValidationError};

pub use time::{format_timestamp, Timestamp};

mod time;
