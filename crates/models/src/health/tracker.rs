//! The entries of a tracker's `tracker-<id>.log`: one metadata struct per [`LogKind`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{entries, log_kinds};
pub use super::{KafkaError, TornLineTerminated};

/// The `service` field of every tracker log line.
pub const TRACKER_SERVICE: &str = "order-tracker";

log_kinds! {
    /// Every kind of tracker `.log` entry.
    LogKind, service = TRACKER_SERVICE;
    /// The process started: log file, events file, start time.
    Started = "started", Info, "Tracker started";
    /// A file ended with an unfinished line left by an earlier run (a full disk, a kill in the
    /// middle of a write); it was terminated before this run appended: file, fragment length.
    TornLineTerminated = "torn_line_terminated", Warn, "Unfinished last line terminated";
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
    /// The dead letter was too large to send whole: a cut one was sent and the whole record
    /// kept in a file.
    DlqCut = "dlq_cut", Warn, "Dead letter cut to fit; the whole record kept in a file";
    /// An event id seen recently arrived again and was not processed twice.
    DuplicateSkipped = "duplicate_skipped", Warn, "Duplicate event skipped";
    /// An order event arrived after a later state of the same order.
    OutOfOrder = "out_of_order", Warn, "Order event out of lifecycle order";
    /// `exactly_once`: a transaction (status records, dead letters and the consumed offsets
    /// of a batch) was committed.
    TransactionCommitted = "transaction_committed", Info, "Transaction committed";
    /// `exactly_once`: a transaction was aborted; its records are read again.
    TransactionAborted = "transaction_aborted", Warn, "Transaction aborted";
    /// `exactly_once`: another producer with this instance's `transactional.id` fenced it; the
    /// instance stops.
    Fenced = "fenced", Error, "Instance fenced";
    /// The process stopped: signal and totals.
    Stopped = "stopped", Info, "Tracker stopped";
}

entries! { LogKind:
    Started => Started,
    TornLineTerminated => TornLineTerminated,
    KafkaInitialised => KafkaInitialised,
    PartitionsAssigned => PartitionsAssigned,
    PartitionsRevoked => PartitionsRevoked,
    Metrics => Metrics,
    KafkaError => KafkaError,
    CommitFailed => CommitFailed,
    DeserializationError => DeserializationError,
    ValidationFailed => ValidationError,
    RetryScheduled => RetryScheduled,
    ProcessingFailed => ProcessingFailed,
    DlqSent => DlqSent,
    DlqFailed => DlqFailed,
    DlqCut => DlqCut,
    DuplicateSkipped => DuplicateSkipped,
    OutOfOrder => OutOfOrder,
    TransactionCommitted => TransactionCommitted,
    TransactionAborted => TransactionAborted,
    Fenced => Fenced,
    StopSummary => Stopped,
}

/// Where a message came from: the first fields of every per-message entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagePosition {
    /// The topic it was read from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
}

/// `metadata` of a [`LogKind::Started`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Started {
    /// Path of this `.log` file.
    pub log_file: String,
    /// Path of the `.events` file.
    pub events_file: String,
    /// When the process started.
    pub start_time: String,
    /// Process id.
    pub pid: u32,
    /// The tracker's version.
    pub version: String,
    /// The whole configuration, secrets replaced by `********`.
    pub config: serde_json::Value,
}

/// `metadata` of a [`LogKind::KafkaInitialised`] entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaInitialised {
    /// The orders topic.
    pub topic: String,
    /// The consumer group.
    pub group_id: String,
    /// The bootstrap servers.
    pub bootstrap_servers: String,
    /// Where a partition without a committed offset starts.
    pub auto_offset_reset: String,
    /// The consumption mode, in words.
    pub mode: String,
    /// The consumer group protocol: `classic` or `consumer` (KIP-848).
    pub group_protocol: String,
    /// The group session timeout.
    pub session_timeout_ms: u64,
    /// How often stored offsets are committed.
    pub commit_interval_ms: u64,
    /// Whether failed messages go to the dead-letter topic.
    pub dlq_enabled: bool,
    /// The dead-letter topic.
    pub dlq_topic: String,
    /// The cluster id of the broker (its lifetime), `None` if it did not tell in time.
    pub cluster_id: Option<String>,
    /// `tracker.processing`: `at_least_once` or `exactly_once` (absent in files of older
    /// versions, which were at-least-once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing: Option<String>,
    /// `exactly_once`: the producer's `transactional.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// The compacted topic of order statuses, when the tracker writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_topic: Option<String>,
}

/// `metadata` of a [`LogKind::TransactionCommitted`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionCommitted {
    /// The transaction, as the `transaction` field of its audit lines names it.
    pub transaction: String,
    /// Records consumed in it (their audit lines carry `transaction`).
    pub records: u64,
    /// Status records written in it.
    pub status_records: u64,
    /// Dead letters written in it.
    pub dead_letters: u64,
    /// The offsets committed with it: per partition, the next offset to read.
    pub offsets: Vec<PartitionOffset>,
    /// From its first record to the broker's acknowledgement of the commit.
    pub duration_ms: u64,
    /// Transactions committed by this run so far, this one included.
    pub total_committed: u64,
}

/// One partition's offset in a [`TransactionCommitted`] entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionOffset {
    /// The partition of the orders topic.
    pub partition: i32,
    /// The next offset to read there.
    pub offset: i64,
}

/// `metadata` of a [`LogKind::TransactionAborted`] entry; the error text says why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionAborted {
    /// The transaction, as the `transaction` field of its audit lines names it.
    pub transaction: String,
    /// Records consumed in it: they are read again (by this instance after a seek, or by the
    /// partition's next owner), and their effects written again in a later transaction.
    pub records: u64,
    /// When it ended: `batch` (a full or old transaction whose commit failed), `revocation`,
    /// `shutdown` or `halt` (the tracker stops on an error).
    pub during: String,
    /// Transactions aborted by this run so far, this one included.
    pub total_aborted: u64,
}

/// `metadata` of a [`LogKind::Fenced`] entry; the error text is the broker's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fenced {
    /// The `transactional.id` another producer took over.
    pub transactional_id: String,
    /// True when another producer took the `transactional.id` over; false for another fatal
    /// error of the transactional producer (the instance stops all the same).
    pub fenced: bool,
    /// The open transaction, lost with the fencing (its records are read again elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

/// `metadata` of a [`LogKind::PartitionsAssigned`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionsAssigned {
    /// The orders topic.
    pub topic: String,
    /// The whole new assignment, sorted.
    pub partitions: Vec<i32>,
    /// The partitions this rebalance gave, sorted: all of `partitions` with the classic
    /// protocol, only the new ones with an incremental one (KIP-848's `consumer`).
    pub added: Vec<i32>,
    /// The cluster id of the broker (its lifetime) at this assignment.
    pub cluster_id: Option<String>,
}

/// `metadata` of a [`LogKind::PartitionsRevoked`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionsRevoked {
    /// The orders topic.
    pub topic: String,
    /// The partitions taken away, sorted.
    pub partitions: Vec<i32>,
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
    /// Node id of the partition's leader in the cluster metadata the client fetched for this
    /// entry; -1 while the partition has none. `null` when the metadata could not be read in
    /// time, and in files of older versions.
    pub leader: Option<i32>,
    /// Node ids of the partition's replicas, from the same metadata.
    pub replicas: Option<Vec<i32>>,
    /// Node ids of the replicas in sync with the leader (the ISR), from the same metadata.
    pub in_sync_replicas: Option<Vec<i32>>,
}

impl PartitionMetrics {
    /// Whether fewer replicas are in sync than the partition has (`None` when unknown).
    pub fn under_replicated(&self) -> Option<bool> {
        Some(self.in_sync_replicas.as_ref()?.len() < self.replicas.as_ref()?.len())
    }

    /// Whether fewer replicas are in sync than `min_insync_replicas`: a producer with
    /// `acks=all` is then refused (`None` when either is unknown).
    pub fn below_min_insync(&self, min_insync_replicas: Option<u32>) -> Option<bool> {
        let in_sync = self.in_sync_replicas.as_ref()?.len();
        Some(in_sync < usize::try_from(min_insync_replicas?).unwrap_or(usize::MAX))
    }
}

/// The state of the client's connection to one broker, from librdkafka's statistics
/// (`brokers[].state`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrokerConnection {
    /// The broker's node id.
    pub node_id: i32,
    /// Its address, `host:port`.
    pub address: String,
    /// librdkafka's state of the connection: `UP` when connected; `DOWN`, `CONNECT`, `TRY_CONNECT`,
    /// `AUTH...`, `APIVERSION_QUERY`, `INIT` otherwise.
    pub state: String,
}

impl BrokerConnection {
    /// Whether the client is connected to this broker.
    pub fn is_up(&self) -> bool {
        self.state == "UP"
    }
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
    /// `tracker.metrics_interval_ms`: when the next entry is due. Readers take 0 (absent, in
    /// files of older versions) as unknown.
    pub interval_ms: u64,
    /// Events whose end-to-end latency (event `timestamp` → audit line written) was measured
    /// over the last interval (parsed events only; see [`crate::latency`]).
    pub latency_samples: u64,
    /// Median latency over the last interval, ms; `null` without samples.
    pub latency_p50_ms: Option<u64>,
    /// 99th percentile latency over the last interval, ms; `null` without samples.
    pub latency_p99_ms: Option<u64>,
    /// Largest latency over the last interval, ms; `null` without samples.
    pub latency_max_ms: Option<u64>,
    /// Events of the last interval dated after their audit line (the producer's clock ahead of
    /// the tracker's), left out of the percentiles.
    pub latency_negative_samples: u64,
    /// The topic's `min.insync.replicas`, read when the tracker started; `null` when the
    /// cluster did not say (Tansu), and in files of older versions.
    pub min_insync_replicas: Option<u32>,
    /// The client's connection to each broker it knows (by node id), from its last
    /// statistics (at most `min(metrics_interval_ms, 5 s)` old); `null` in files of older
    /// versions.
    pub brokers: Option<Vec<BrokerConnection>>,
}

/// `metadata` of a [`LogKind::CommitFailed`] entry: `partitions` (a failed periodic commit) or
/// `during` (`revocation`, `shutdown`), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommitFailed {
    /// The partitions of the failed commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<i32>>,
    /// The moment of a synchronous commit: `revocation` or `shutdown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub during: Option<String>,
}

/// `metadata` of a [`LogKind::DeserializationError`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeserializationError {
    /// The message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// Payload length in bytes.
    pub message_size: usize,
    /// The payload as text, cut to its first 2,000 characters.
    pub raw_message: String,
    /// Whether `raw_message` was cut.
    pub raw_message_truncated: bool,
}

/// `metadata` of a [`LogKind::ValidationError`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationFailed {
    /// The message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// Payload length in bytes.
    pub message_size: usize,
    /// The order it carries.
    pub order_id: Uuid,
    /// The event id.
    pub event_id: Uuid,
}

/// `metadata` of a [`LogKind::RetryScheduled`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryScheduled {
    /// The message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// The order it carries.
    pub order_id: Uuid,
    /// The attempt that failed (1 = the first).
    pub attempt: u32,
    /// Wait before the next attempt.
    pub delay_ms: u64,
}

/// `metadata` of a [`LogKind::ProcessingFailed`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessingFailed {
    /// The message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// The order it carries, when it could be parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    /// Attempts made.
    pub attempts: u32,
    /// The failure's kind (`validation`, `deserialization`, `processing`, ...).
    pub error_kind: String,
    /// `disabled` when the DLQ is off: the message is dropped after this entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dlq: Option<String>,
}

/// `metadata` of a [`LogKind::DlqSent`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DlqSent {
    /// The original message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// The dead-letter topic.
    pub dlq_topic: String,
    /// Where the dead letter landed.
    pub dlq_partition: i32,
    /// Its offset there.
    pub dlq_offset: i64,
    /// The failure's kind.
    pub error_kind: String,
    /// Attempts made before dead-lettering.
    pub attempts: u32,
    /// The message's key as text (lossy when not UTF-8), when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_key: Option<String>,
    /// The event id, when the payload parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// How many times `dlq redrive` had sent this message back (its `dlq.redrive.count`
    /// header; 0 for a first failure).
    pub redrive_count: u32,
    /// The cluster id of the broker the message was read from, as on its audit line: with
    /// the topic, partition and offset it names the message across broker lifetimes (absent
    /// when the broker gave none, and in entries written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// `exactly_once`: the transaction the dead letter was written in; it is visible to
    /// `read_committed` readers only if that transaction's `transaction_committed` entry
    /// follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

/// `metadata` of a [`LogKind::DlqFailed`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DlqFailed {
    /// The original message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// The dead-letter topic.
    pub dlq_topic: String,
    /// The failure's kind.
    pub error_kind: String,
    /// Attempts made before dead-lettering.
    pub attempts: u32,
    /// Which send of the dead letter failed, from 1.
    pub send_attempt: u32,
    /// Sends of one dead letter before the tracker gives up.
    pub send_attempts_max: u32,
    /// The last send failed: the tracker stops (exit 1) without committing the message, which
    /// is delivered again at the next start.
    pub fatal: bool,
}

/// `metadata` of a [`LogKind::DlqCut`] entry, written after the cut dead letter was
/// acknowledged (and before the `dlq_sent` entry of the same message). Its `error` is the
/// refusal that made the tracker cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DlqCut {
    /// The original message.
    #[serde(flatten)]
    pub message: MessagePosition,
    /// The dead-letter topic.
    pub dlq_topic: String,
    /// Where the cut dead letter landed.
    pub dlq_partition: i32,
    /// Its offset there.
    pub dlq_offset: i64,
    /// The file, in the tracker's log folder, that holds the whole record
    /// ([`crate::kept::KeptRecord`]).
    pub kept_file: String,
    /// The whole record's size: key, payload, header names and values, in bytes.
    pub original_bytes: u64,
    /// The whole record's SHA-256 ([`crate::kept::record_sha256`]).
    pub original_sha256: String,
    /// The size the cut dead letter had to fit in, in bytes (derived from the dead-letter
    /// producer's `message.max.bytes`, halved after each further size refusal).
    pub budget_bytes: u64,
    /// Payload bytes sent (the first ones).
    pub payload_bytes_kept: u64,
    /// Payload bytes of the original.
    pub payload_bytes: u64,
    /// Original headers sent (the first ones, in order).
    pub headers_kept: u64,
    /// Original headers in all.
    pub headers: u64,
    /// Whether the key was sent (it is dropped only when it alone is too large).
    pub key_kept: bool,
}

/// `metadata` of a [`LogKind::DuplicateSkipped`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DuplicateSkipped {
    /// The event id seen again.
    pub event_id: Uuid,
    /// Its order.
    pub order_id: Uuid,
    /// The message's partition.
    pub partition: i32,
    /// The message's offset.
    pub offset: i64,
}

/// `metadata` of a [`LogKind::OutOfOrder`] entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutOfOrder {
    /// The order.
    pub order_id: Uuid,
    /// The status this event carries.
    pub status: String,
    /// The furthest status the order had already reached.
    pub furthest_status: String,
    /// The message's partition.
    pub partition: i32,
    /// The message's offset.
    pub offset: i64,
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
    /// `exactly_once`: transactions committed (absent with `at_least_once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_transactions_committed: Option<u64>,
    /// `exactly_once`: transactions aborted (absent with `at_least_once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_transactions_aborted: Option<u64>,
    /// processed / (processed + failed), in percent.
    pub final_success_rate_percent: f64,
    /// When the tracker stopped.
    pub shutdown_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Entry, HealthEntry, Throttled};

    /// The metadata keys an entry writes, sorted.
    fn keys<E: Entry<LogKind>>(entry: &E) -> Vec<String> {
        let line = HealthEntry::of("t", Some("i"), entry);
        let serde_json::Value::Object(metadata) = line.metadata else { panic!("metadata is not an object") };
        metadata.keys().cloned().collect()
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        names.sort();
        names
    }

    /// The fields of the `.log` table in docs/tracker-files.md, kind by kind.
    #[test]
    fn every_kind_writes_its_documented_fields() {
        let at = MessagePosition { topic: "orders".into(), partition: 1, offset: 2 };
        let position = ["topic", "partition", "offset"];
        assert_eq!(
            keys(&Started::default()),
            sorted(&["log_file", "events_file", "start_time", "pid", "version", "config"])
        );
        assert_eq!(
            keys(&KafkaInitialised::default()),
            sorted(&[
                "topic",
                "group_id",
                "bootstrap_servers",
                "auto_offset_reset",
                "mode",
                "group_protocol",
                "session_timeout_ms",
                "commit_interval_ms",
                "dlq_enabled",
                "dlq_topic",
                "cluster_id"
            ])
        );
        assert_eq!(
            keys(&PartitionsAssigned::default()),
            sorted(&["topic", "partitions", "added", "cluster_id"])
        );
        assert_eq!(keys(&TornLineTerminated::default()), sorted(&["file", "fragment_bytes"]));
        assert_eq!(keys(&PartitionsRevoked::default()), sorted(&["topic", "partitions"]));
        assert_eq!(keys(&KafkaError::reported_by("client")), ["source"]);
        assert_eq!(keys(&KafkaError::fatal("client")), ["fatal", "source"]);
        let repeated = Throttled { entry: KafkaError::reported_by("client"), repeats_not_logged: Some(3) };
        assert_eq!(keys(&repeated), ["repeats_not_logged", "source"]);
        assert_eq!(keys(&CommitFailed { partitions: Some(vec![1]), during: None }), ["partitions"]);
        assert_eq!(keys(&CommitFailed { partitions: None, during: Some("shutdown".into()) }), ["during"]);
        let deserialization = DeserializationError { message: at.clone(), ..DeserializationError::default() };
        assert_eq!(
            keys(&deserialization),
            sorted(&[&position[..], &["message_size", "raw_message", "raw_message_truncated"]].concat())
        );
        assert_eq!(
            keys(&ValidationFailed::default()),
            sorted(&[&position[..], &["message_size", "order_id", "event_id"]].concat())
        );
        assert_eq!(
            keys(&RetryScheduled::default()),
            sorted(&[&position[..], &["order_id", "attempt", "delay_ms"]].concat())
        );
        let disabled = ProcessingFailed { dlq: Some("disabled".into()), ..ProcessingFailed::default() };
        assert_eq!(keys(&disabled), sorted(&[&position[..], &["attempts", "error_kind", "dlq"]].concat()));
        let exhausted = ProcessingFailed { order_id: Some(Uuid::nil()), ..ProcessingFailed::default() };
        assert_eq!(
            keys(&exhausted),
            sorted(&[&position[..], &["order_id", "attempts", "error_kind"]].concat())
        );
        assert_eq!(
            keys(&DlqSent::default()),
            sorted(
                &[
                    &position[..],
                    &["dlq_topic", "dlq_partition", "dlq_offset", "error_kind", "attempts", "redrive_count"],
                ]
                .concat()
            )
        );
        assert_eq!(
            keys(&DlqFailed::default()),
            sorted(
                &[
                    &position[..],
                    &["dlq_topic", "error_kind", "attempts", "send_attempt", "send_attempts_max", "fatal"],
                ]
                .concat()
            )
        );
        assert_eq!(
            keys(&DlqCut::default()),
            sorted(
                &[
                    &position[..],
                    &[
                        "dlq_topic",
                        "dlq_partition",
                        "dlq_offset",
                        "kept_file",
                        "original_bytes",
                        "original_sha256",
                        "budget_bytes",
                        "payload_bytes_kept",
                        "payload_bytes",
                        "headers_kept",
                        "headers",
                        "key_kept",
                    ],
                ]
                .concat()
            )
        );
        assert_eq!(
            keys(&DuplicateSkipped::default()),
            sorted(&["event_id", "order_id", "partition", "offset"])
        );
        assert_eq!(
            keys(&OutOfOrder::default()),
            sorted(&["order_id", "status", "furthest_status", "partition", "offset"])
        );
        assert_eq!(
            keys(&StopSummary::default()),
            sorted(&[
                "signal",
                "uptime_seconds",
                "total_messages_received",
                "total_messages_processed",
                "total_messages_failed",
                "total_duplicates",
                "total_dlq_sent",
                "final_success_rate_percent",
                "shutdown_time"
            ])
        );
        let metrics = keys(&Metrics { partitions: vec![PartitionMetrics::default()], ..Metrics::default() });
        assert_eq!(
            metrics,
            sorted(&[
                "uptime_seconds",
                "messages_received",
                "messages_processed",
                "messages_failed",
                "success_rate_percent",
                "messages_per_second",
                "messages_per_second_lifetime",
                "last_message_time",
                "last_processed_offset",
                "retries",
                "dlq_sent",
                "duplicates",
                "out_of_order",
                "revenue_cents",
                "total_lag",
                "interval_ms",
                "partitions",
                "latency_samples",
                "latency_p50_ms",
                "latency_p99_ms",
                "latency_max_ms",
                "latency_negative_samples",
                "min_insync_replicas",
                "brokers"
            ])
        );
        let partition = HealthEntry::of(
            "t",
            Some("i"),
            &Metrics { partitions: vec![PartitionMetrics::default()], ..Metrics::default() },
        );
        let serde_json::Value::Object(fields) = &partition.metadata["partitions"][0] else {
            panic!("not an object")
        };
        assert_eq!(
            fields.keys().cloned().collect::<Vec<_>>(),
            sorted(&[
                "partition",
                "committed_offset",
                "high_watermark",
                "lag",
                "last_processed_offset",
                "leader",
                "replicas",
                "in_sync_replicas"
            ])
        );
    }

    #[test]
    fn a_metrics_entry_reads_back_whole_and_old_files_still_read() {
        let metrics =
            Metrics { messages_processed: 7, interval_ms: 1000, total_lag: Some(3), ..Metrics::default() };
        let line = HealthEntry::of("t", Some("i"), &metrics);
        let back: Metrics = serde_json::from_value(line.metadata).unwrap();
        assert_eq!(back, metrics);
        let old: Metrics = serde_json::from_str(r#"{"messages_processed": 2}"#).unwrap();
        assert_eq!((old.messages_processed, old.interval_ms), (2, 0), "0: unknown interval");
        assert_eq!((old.min_insync_replicas, old.brokers), (None, None), "older lines: cluster unknown");
        let old: PartitionMetrics = serde_json::from_str(r#"{"partition": 1, "lag": 0}"#).unwrap();
        assert_eq!((old.leader, old.under_replicated(), old.below_min_insync(Some(2))), (None, None, None));
    }

    #[test]
    fn a_partition_is_under_replicated_below_its_replicas_and_refusing_below_min_insync() {
        let partition = |isr: &[i32]| PartitionMetrics {
            leader: isr.first().copied(),
            replicas: Some(vec![1, 2, 3]),
            in_sync_replicas: Some(isr.to_vec()),
            ..PartitionMetrics::default()
        };
        assert_eq!(partition(&[1, 2, 3]).under_replicated(), Some(false));
        assert_eq!(partition(&[1, 2]).under_replicated(), Some(true));
        assert_eq!(partition(&[1, 2]).below_min_insync(Some(2)), Some(false));
        assert_eq!(partition(&[1]).below_min_insync(Some(2)), Some(true));
        assert_eq!(partition(&[1]).below_min_insync(None), None, "unknown setting: no verdict");
    }
}
