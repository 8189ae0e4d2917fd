//! The entries of the producer's `producer.log`: one metadata struct per [`ProducerKind`].
//! The monitor reads `events_per_second` and `acknowledged` from [`Metrics`] and [`Stopped`].

use serde::{Deserialize, Serialize};

use super::{entries, log_kinds, Entry, Level};
pub use super::{KafkaError, TornLineTerminated};

/// The `service` field of every `producer.log` line.
pub const PRODUCER_SERVICE: &str = "order-producer";

log_kinds! {
    /// Every kind of `producer.log` entry.
    ProducerKind, service = PRODUCER_SERVICE;
    /// The producer started: configuration and mode.
    Started = "started", Info, "Producer started";
    /// The file ended with an unfinished line left by an earlier run, terminated before this
    /// run appended: file, fragment length.
    TornLineTerminated = "torn_line_terminated", Warn, "Unfinished last line terminated";
    /// Periodic counters and throughput.
    Metrics = "metrics", Info, "Producer metrics";
    /// Records the broker did not acknowledge (at most one line per second, with a count).
    DeliveryFailed = "delivery_failed", Error, "Records could not be delivered";
    /// The client lost the broker or got an error from it (each error text at most once per 10 s).
    KafkaError = "kafka_error", Error, "Kafka error";
    /// The producer stopped: totals. INFO, WARN when records were lost, ERROR when the broker
    /// refused the login.
    Stopped = "stopped", Info, "Producer stopped";
}

entries! { ProducerKind:
    Started => Started,
    TornLineTerminated => TornLineTerminated,
    Metrics => Metrics,
    DeliveryFailed => DeliveryFailed,
    KafkaError => KafkaError,
}

/// `metadata.mode` of a [`ProducerKind::Started`] entry: how this run sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mode {
    /// `interval`, `rate` or `flood`.
    pub pace: String,
    /// Events per second, in `rate` pace.
    pub rate: Option<f64>,
    /// Gap between events, in `interval` pace.
    pub interval_ms: Option<u64>,
    /// `--count`: how many events before stopping.
    pub count: Option<u64>,
    /// `--poison KIND`: only poison pills of this kind.
    pub poison_kind: Option<String>,
    /// Whether the topics are created first.
    pub create_topics: bool,
}

/// `metadata` of a [`ProducerKind::Started`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Started {
    /// The whole configuration, secrets replaced by `********`.
    pub config: serde_json::Value,
    /// How this run sends.
    pub mode: Mode,
    /// Path of this file.
    pub log_file: String,
}

/// `metadata` of a [`ProducerKind::Metrics`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// Records handed to the client.
    pub sent: u64,
    /// Records the broker acknowledged.
    pub acknowledged: u64,
    /// Records whose delivery failed.
    pub failed: u64,
    /// Sent, neither acknowledged nor failed yet.
    pub in_flight: u64,
    /// Acknowledged per second over the last interval.
    pub events_per_second: f64,
    /// Poison pills sent.
    pub poison_sent: u64,
}

/// `metadata` of a [`ProducerKind::DeliveryFailed`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryFailed {
    /// Failures since the previous such entry.
    pub count: u64,
    /// Failures since start.
    pub total_failed: u64,
}

/// `metadata` of a [`ProducerKind::Stopped`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stopped {
    /// `count_reached`, `shutdown_signal` or `authentication_failed`.
    pub reason: String,
    /// Records handed to the client.
    pub sent: u64,
    /// Records the broker acknowledged.
    pub acknowledged: u64,
    /// Records whose delivery failed.
    pub failed: u64,
    /// Sent and never acknowledged.
    pub lost: u64,
    /// Poison pills sent.
    pub poison_sent: u64,
    /// Duration of the run.
    pub elapsed_seconds: f64,
    /// Acknowledged per second over the run.
    pub events_per_second: f64,
    /// With `producer.transactional` only: what the transactions became.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<TransactionTotals>,
}

/// Records and transactions of a transactional run, committed and aborted apart: a
/// `read_committed` reader sees the committed records only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionTotals {
    /// Records in committed transactions.
    pub committed_records: u64,
    /// Records in aborted transactions (on purpose, `producer.abort_rate`, or after a failed
    /// commit).
    pub aborted_records: u64,
    /// Transactions committed.
    pub committed: u64,
    /// Transactions aborted.
    pub aborted: u64,
}

/// The stop reason that makes the stop entry an ERROR.
pub const AUTHENTICATION_FAILED: &str = "authentication_failed";

impl Entry<ProducerKind> for Stopped {
    const KIND: ProducerKind = ProducerKind::Stopped;

    fn level(&self) -> Level {
        if self.reason == AUTHENTICATION_FAILED {
            Level::Error
        } else if self.lost > 0 {
            Level::Warn
        } else {
            Level::Info
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<E: Entry<ProducerKind>>(entry: &E) -> Vec<String> {
        let line = crate::health::HealthEntry::of("t", None, entry);
        let serde_json::Value::Object(metadata) = line.metadata else { panic!("metadata is not an object") };
        metadata.keys().cloned().collect()
    }

    /// The fields docs/events.md shows for `producer.log`.
    #[test]
    fn every_kind_writes_its_documented_fields() {
        assert_eq!(keys(&Started::default()), ["config", "log_file", "mode"]);
        let mode = serde_json::to_value(Mode::default()).unwrap();
        let mode: Vec<_> = mode.as_object().unwrap().keys().cloned().collect();
        assert_eq!(mode, ["count", "create_topics", "interval_ms", "pace", "poison_kind", "rate"]);
        assert_eq!(
            keys(&Metrics::default()),
            ["acknowledged", "events_per_second", "failed", "in_flight", "poison_sent", "sent"]
        );
        assert_eq!(keys(&DeliveryFailed::default()), ["count", "total_failed"]);
        assert_eq!(keys(&KafkaError::fatal("client")), ["fatal", "source"]);
        assert_eq!(
            keys(&Stopped::default()),
            [
                "acknowledged",
                "elapsed_seconds",
                "events_per_second",
                "failed",
                "lost",
                "poison_sent",
                "reason",
                "sent"
            ]
        );
    }

    #[test]
    fn the_stop_level_follows_its_content() {
        let ok = Stopped { reason: "count_reached".into(), ..Stopped::default() };
        assert_eq!(ok.level(), Level::Info);
        assert_eq!(Stopped { lost: 1, ..ok.clone() }.level(), Level::Warn);
        assert_eq!(Stopped { reason: AUTHENTICATION_FAILED.into(), ..ok }.level(), Level::Error);
    }
}
