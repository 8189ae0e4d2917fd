//! One line of a tracker's `.log` file: the instance's own health.
//!
//! Each kind of entry has a fixed English `message` (see [`LogKind::message`]) and a stable
//! snake_case `kind`, so scripts can select entries without parsing sentences. The `metadata`
//! of metrics and stop entries have typed shapes ([`Metrics`], [`StopSummary`]) shared with
//! the monitor, which reads them back.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The `service` field of every tracker log line.
pub const TRACKER_SERVICE: &str = "order-tracker";

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Normal lifecycle and metrics.
    Info,
    /// Something unexpected that the tracker handled.
    Warn,
    /// A failure: a message could not be processed, Kafka reported an error.
    Error,
}

macro_rules! log_kinds {
    ($($(#[$doc:meta])* $variant:ident = $kind:literal, $level:ident, $message:literal;)+) => {
        /// Every kind of `.log` entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum LogKind {
            $($(#[$doc])* $variant,)+
        }

        impl LogKind {
            /// Every kind, in the order the README lists them.
            pub const ALL: &'static [LogKind] = &[$(LogKind::$variant),+];

            /// The fixed sentence written in `message`.
            pub fn message(self) -> &'static str {
                match self { $(LogKind::$variant => $message,)+ }
            }

            /// The level an entry of this kind is written with.
            pub fn level(self) -> Level {
                match self { $(LogKind::$variant => Level::$level,)+ }
            }

            /// The snake_case name written in `kind`.
            pub fn name(self) -> &'static str {
                match self { $(LogKind::$variant => $kind,)+ }
            }
        }
    };
}

log_kinds! {
    /// The process started: log file, events file, start time.
    Started = "started", Info, "Tracker started";
    /// The consumer was created: topic, group, brokers, offset reset, mode.
    KafkaInitialised = "kafka_initialised", Info, "Kafka consumer initialised";
    /// The group gave this instance partitions.
    PartitionsAssigned = "partitions_assigned", Info, "Partitions assigned";
    /// The group took partitions away from this instance.
    PartitionsRevoked = "partitions_revoked", Info, "Partitions revoked";
    /// Periodic counters, rates, offsets and lag.
    Metrics = "metrics", Info, "System metrics";
    /// librdkafka reported an error (broker down, authentication, ...).
    KafkaError = "kafka_error", Error, "Kafka error";
    /// Offsets could not be committed.
    CommitFailed = "commit_failed", Warn, "Offset commit failed";
    /// A payload could not be parsed into an order event.
    DeserializationError = "deserialization_error", Error, "Message could not be deserialized";
    /// A parsed order breaks a business rule.
    ValidationError = "validation_error", Error, "Order failed validation";
    /// A transient failure; the message will be tried again.
    RetryScheduled = "retry_scheduled", Warn, "Processing failed, retrying";
    /// Processing failed for good (permanent error or retries exhausted).
    ProcessingFailed = "processing_failed", Error, "Order processing failed";
    /// The message was written to the dead-letter topic and acknowledged.
    DlqSent = "dlq_sent", Warn, "Message sent to the dead-letter queue";
    /// The dead-letter topic did not acknowledge the message.
    DlqFailed = "dlq_failed", Error, "Dead-letter send failed";
    /// An event id seen recently arrived again and was not processed twice.
    DuplicateSkipped = "duplicate_skipped", Warn, "Duplicate event skipped";
    /// An order event arrived after a later state of the same order.
    OutOfOrder = "out_of_order", Warn, "Order event out of lifecycle order";
    /// The process stopped: signal and totals.
    Stopped = "stopped", Info, "Tracker stopped";
}

/// One line of `tracker-<id>.log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthEntry<'a> {
    /// When it was written, RFC 3339 UTC with milliseconds.
    pub timestamp: Cow<'a, str>,
    /// Severity.
    pub level: Level,
    /// The fixed sentence of this kind of entry.
    pub message: Cow<'a, str>,
    /// Stable name of the kind of entry.
    pub kind: LogKind,
    /// Always `order-tracker`.
    pub service: Cow<'a, str>,
    /// The instance that wrote it.
    pub instance_id: Cow<'a, str>,
    /// Details, an object whose shape depends on `kind`.
    pub metadata: serde_json::Value,
    /// The error text on failures, `null` otherwise.
    pub error: Option<Cow<'a, str>>,
}

impl<'a> HealthEntry<'a> {
    /// An entry of `kind` with its fixed level and message.
    pub fn new(timestamp: &'a str, instance_id: &'a str, kind: LogKind, metadata: serde_json::Value) -> Self {
        HealthEntry {
            timestamp: Cow::Borrowed(timestamp),
            level: kind.level(),
            message: Cow::Borrowed(kind.message()),
            kind,
            service: Cow::Borrowed(TRACKER_SERVICE),
            instance_id: Cow::Borrowed(instance_id),
            metadata,
            error: None,
        }
    }

    /// Attaches the error text.
    pub fn with_error(mut self, error: impl Into<Cow<'a, str>>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Appends the entry as one JSON line (with its `\n`) to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}

/// Offsets and lag of one assigned partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionMetrics {
    /// Partition number.
    pub partition: i32,
    /// Next offset the group will read (committed), if any was committed.
    pub committed_offset: Option<i64>,
    /// Offset after the last message in the partition.
    pub high_watermark: Option<i64>,
    /// high watermark − position of this consumer (messages not yet handled).
    pub lag: Option<i64>,
    /// Last offset this instance finished handling.
    pub last_processed_offset: Option<i64>,
}

/// `metadata` of a [`LogKind::Metrics`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// Messages received since start (one `.events` line each).
    pub messages_received: u64,
    /// Messages processed successfully.
    pub messages_processed: u64,
    /// Messages that failed for good (dead-lettered or dropped).
    pub messages_failed: u64,
    /// processed / (processed + failed), in percent; 100 before any message.
    pub success_rate_percent: f64,
    /// Messages received per second over the last metrics interval.
    pub messages_per_second: f64,
    /// Messages received per second since start.
    pub messages_per_second_lifetime: f64,
    /// Reception time of the last message, if any.
    pub last_message_time: Option<String>,
    /// Offset of the last message handled, any partition.
    pub last_processed_offset: Option<i64>,
    /// Transient failures that were tried again.
    pub retries: u64,
    /// Messages acknowledged by the dead-letter topic.
    pub dlq_sent: u64,
    /// Duplicate deliveries detected and skipped.
    pub duplicates: u64,
    /// Events that arrived after a later state of their order.
    pub out_of_order: u64,
    /// Revenue of processed `order.created` events, in cents.
    pub revenue_cents: i64,
    /// Sum of the lags of the assigned partitions, when known.
    pub total_lag: Option<i64>,
    /// Per assigned partition.
    pub partitions: Vec<PartitionMetrics>,
}

/// `metadata` of a [`LogKind::Stopped`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StopSummary {
    /// `SIGTERM`, `SIGINT`, or what else ended the run.
    pub signal: String,
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// Messages received since start.
    pub total_messages_received: u64,
    /// Messages processed successfully.
    pub total_messages_processed: u64,
    /// Messages that failed for good.
    pub total_messages_failed: u64,
    /// Duplicates skipped.
    pub total_duplicates: u64,
    /// Messages dead-lettered.
    pub total_dlq_sent: u64,
    /// processed / (processed + failed), in percent.
    pub final_success_rate_percent: f64,
    /// When the tracker stopped.
    pub shutdown_time: String,
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
    fn kinds_have_distinct_names_and_messages() {
        let names: std::collections::HashSet<_> = LogKind::ALL.iter().map(|k| k.name()).collect();
        let messages: std::collections::HashSet<_> = LogKind::ALL.iter().map(|k| k.message()).collect();
        assert_eq!(names.len(), LogKind::ALL.len());
        assert_eq!(messages.len(), LogKind::ALL.len());
        for kind in LogKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }

    #[test]
    fn success_rate() {
        assert_eq!(success_rate_percent(0, 0), 100.0);
        assert_eq!(success_rate_percent(2, 1), 66.67);
        assert_eq!(success_rate_percent(5, 0), 100.0);
    }
}
