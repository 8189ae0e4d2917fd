//! The health files: a tracker's `tracker-<id>.log` and the producer's `producer.log`, one
//! JSON line per entry.
//!
//! Every line is the same envelope ([`HealthEntry`]): `timestamp`, `level`, `message`, `kind`,
//! `service`, `instance_id` (trackers only), `metadata` and `error`. Each kind of entry has a
//! stable snake_case `kind`, a fixed English `message` and a typed `metadata` struct that
//! implements [`Entry`]: [`tracker`] holds the tracker's kinds (re-exported here), [`producer`]
//! the producer's; the kinds both write ([`KafkaError`], [`TornLineTerminated`]) are one struct
//! each. The writers build those structs and the readers (the monitor, the report)
//! parse them back, so the format is written down once.
//!
//! The keys of `metadata` are written in alphabetical order (it passes through
//! [`serde_json::Value`]), whatever the order of the struct's fields: adding a field to an
//! entry is one line in its struct, plus the value where the entry is built.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod both;
pub mod producer;
mod throttle;
pub mod tracker;

pub use both::{KafkaError, TornLineTerminated};
pub use throttle::{ErrorThrottle, Throttled, Verdict};
pub use tracker::*;

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Normal lifecycle and metrics.
    Info,
    /// Something unexpected that was handled, or something lost.
    Warn,
    /// A failure: a message could not be processed, Kafka reported an error.
    Error,
}

/// The set of kinds one service writes ([`LogKind`] for the tracker, [`producer::ProducerKind`]).
pub trait Kind: Copy + Serialize {
    /// The `service` field of every line of this service.
    const SERVICE: &'static str;
    /// The fixed sentence written in `message`.
    fn message(self) -> &'static str;
    /// The level an entry of this kind is written with, unless the entry says otherwise.
    fn level(self) -> Level;
    /// The snake_case name written in `kind`.
    fn name(self) -> &'static str;
}

/// The `metadata` of one kind of entry of the service whose kinds are `K`. A struct both
/// services write ([`KafkaError`], [`TornLineTerminated`]) implements it once for each.
pub trait Entry<K: Kind>: Serialize {
    /// The kind this metadata belongs to.
    const KIND: K;
    /// The level of this entry: the kind's, unless the entry's content changes it.
    fn level(&self) -> Level {
        Self::KIND.level()
    }
}

/// Defines a service's kinds: the enum, its [`Kind`] impl and `ALL`.
macro_rules! log_kinds {
    (
        $(#[$enum_doc:meta])* $name:ident, service = $service:expr;
        $($(#[$doc:meta])* $variant:ident = $kind:literal, $level:ident, $message:literal;)+
    ) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$doc])* $variant,)+
        }

        impl $name {
            /// Every kind, in the order the docs list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The fixed sentence written in `message`.
            pub fn message(self) -> &'static str {
                match self { $($name::$variant => $message,)+ }
            }

            /// The level an entry of this kind is written with.
            pub fn level(self) -> $crate::health::Level {
                match self { $($name::$variant => $crate::health::Level::$level,)+ }
            }

            /// The snake_case name written in `kind`.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $kind,)+ }
            }
        }

        impl $crate::health::Kind for $name {
            const SERVICE: &'static str = $service;
            fn message(self) -> &'static str { $name::message(self) }
            fn level(self) -> $crate::health::Level { $name::level(self) }
            fn name(self) -> &'static str { $name::name(self) }
        }
    };
}
pub(crate) use log_kinds;

/// Implements [`Entry`] for metadata structs: `Struct => Kind::Variant`.
macro_rules! entries {
    ($kind:ident: $($entry:ty => $variant:ident),+ $(,)?) => {
        $(impl $crate::health::Entry<$kind> for $entry {
            const KIND: $kind = $kind::$variant;
        })+
    };
}
pub(crate) use entries;

/// One line of a health file. `metadata` is kept as JSON here: build it from an [`Entry`] with
/// [`HealthEntry::of`], read it back with `serde_json::from_value` into the kind's struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthEntry<'a, K = LogKind> {
    /// When it was written, RFC 3339 UTC with milliseconds.
    pub timestamp: Cow<'a, str>,
    /// Severity.
    pub level: Level,
    /// The fixed sentence of this kind of entry.
    pub message: Cow<'a, str>,
    /// Stable name of the kind of entry.
    pub kind: K,
    /// `order-tracker` or `order-producer`.
    pub service: Cow<'a, str>,
    /// The tracker instance that wrote it; the producer's lines have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Cow<'a, str>>,
    /// Details, an object whose shape depends on `kind`.
    pub metadata: serde_json::Value,
    /// The error text on failures, `null` otherwise.
    pub error: Option<Cow<'a, str>>,
}

impl<'a, K: Kind> HealthEntry<'a, K> {
    /// A line carrying `entry`, with its kind's message and the entry's level.
    pub fn of<E: Entry<K>>(timestamp: &'a str, instance_id: Option<&'a str>, entry: &E) -> Self {
        // Only maps with non-string keys fail to convert, and no entry has one.
        let metadata =
            serde_json::to_value(entry).unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()));
        HealthEntry {
            timestamp: Cow::Borrowed(timestamp),
            level: entry.level(),
            message: Cow::Borrowed(E::KIND.message()),
            kind: E::KIND,
            service: Cow::Borrowed(K::SERVICE),
            instance_id: instance_id.map(Cow::Borrowed),
            metadata,
            error: None,
        }
    }

    /// A line of `kind` with free-form `metadata` (fixtures and tests).
    pub fn new(timestamp: &'a str, instance_id: &'a str, kind: K, metadata: serde_json::Value) -> Self {
        HealthEntry {
            timestamp: Cow::Borrowed(timestamp),
            level: kind.level(),
            message: Cow::Borrowed(kind.message()),
            kind,
            service: Cow::Borrowed(K::SERVICE),
            instance_id: Some(Cow::Borrowed(instance_id)),
            metadata,
            error: None,
        }
    }

    /// Attaches the error text.
    pub fn with_error(mut self, error: impl Into<Cow<'a, str>>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Attaches the error text if there is one.
    pub fn with_optional_error(mut self, error: Option<&'a str>) -> Self {
        self.error = error.map(Cow::Borrowed);
        self
    }

    /// Appends the entry as one JSON line (with its `\n`) to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}

/// processed / (processed + failed) in percent, 100 when nothing was handled yet.
pub fn success_rate_percent(processed: u64, failed: u64) -> f64 {
    let handled = processed + failed;
    if handled == 0 {
        100.0
    } else {
        (processed as f64 * 10_000.0 / handled as f64).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_every_contract_field() {
        let entry = HealthEntry::new(
            "2026-01-01T00:00:00.000Z",
            "instance-1",
            LogKind::KafkaError,
            serde_json::json!({"code": 1}),
        )
        .with_error("broker down");
        let mut out = Vec::new();
        entry.write_line(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["message"], "Kafka error");
        assert_eq!(value["kind"], "kafka_error");
        assert_eq!(value["service"], "order-tracker");
        assert_eq!(value["instance_id"], "instance-1");
        assert_eq!(value["error"], "broker down");
        let back: HealthEntry<'_> = serde_json::from_value(value).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn info_entries_carry_a_null_error() {
        let mut out = Vec::new();
        HealthEntry::new("t", "i", LogKind::Started, serde_json::json!({})).write_line(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(value.get("error").is_some_and(serde_json::Value::is_null));
    }

    #[test]
    fn typed_entries_write_the_documented_bytes() {
        let entry = DuplicateSkipped {
            event_id: uuid::Uuid::nil(),
            order_id: uuid::Uuid::nil(),
            partition: 2,
            offset: 41,
        };
        let mut out = Vec::new();
        HealthEntry::of("2026-01-01T00:00:00.000Z", Some("i-1"), &entry).write_line(&mut out);
        let nil = "00000000-0000-0000-0000-000000000000";
        let expected = format!(
            "{{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"level\":\"WARN\",\"message\":\"Duplicate event skipped\",\
             \"kind\":\"duplicate_skipped\",\"service\":\"order-tracker\",\"instance_id\":\"i-1\",\
             \"metadata\":{{\"event_id\":\"{nil}\",\"offset\":41,\"order_id\":\"{nil}\",\"partition\":2}},\"error\":null}}\n"
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn producer_lines_have_no_instance_id() {
        let entry = producer::DeliveryFailed { count: 3, total_failed: 7 };
        let mut out = Vec::new();
        HealthEntry::of("t", None, &entry).with_error("timed out").write_line(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["service"], "order-producer");
        assert_eq!(value["message"], "Records could not be delivered");
        assert_eq!(value["level"], "ERROR");
        assert!(value.get("instance_id").is_none());
        let back: HealthEntry<'_, producer::ProducerKind> = serde_json::from_value(value).unwrap();
        let metadata: producer::DeliveryFailed = serde_json::from_value(back.metadata).unwrap();
        assert_eq!(metadata, entry);
    }

    #[test]
    fn kinds_have_distinct_names_and_messages() {
        fn check<K: Kind + std::fmt::Debug>(all: &[K]) {
            let names: std::collections::HashSet<_> = all.iter().map(|k| k.name()).collect();
            let messages: std::collections::HashSet<_> = all.iter().map(|k| k.message()).collect();
            assert_eq!(names.len(), all.len());
            assert_eq!(messages.len(), all.len());
            for kind in all {
                assert_eq!(serde_json::to_value(kind).unwrap(), kind.name(), "{kind:?}");
            }
        }
        check(LogKind::ALL);
        check(producer::ProducerKind::ALL);
    }

    #[test]
    fn success_rate() {
        assert_eq!(success_rate_percent(0, 0), 100.0);
        assert_eq!(success_rate_percent(2, 1), 66.67);
        assert_eq!(success_rate_percent(5, 0), 100.0);
    }
}
