//! The harness tested against itself: a consumer group over a private broker, and the SASL
//! broker (`cargo test -p testkit --test it`).

mod consumer_group;
mod sasl_broker;
