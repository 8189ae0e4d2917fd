//! What a summary holds: the types serialized as `monitor --once --json` and drawn by the UI.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::Serialize;

use super::offsets::PartitionSummary;
use super::{DeadLetterSummary, LatencySummary, MalformedCounts};

/// Liveness of an instance at the time of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    /// A line arrived within the staleness threshold.
    Alive,
    /// No line for longer than the threshold (or none at all).
    Stale,
    /// Its last run wrote its stop entry.
    Stopped,
}

impl fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InstanceStatus::Alive => "alive",
            InstanceStatus::Stale => "stale",
            InstanceStatus::Stopped => "stopped",
        })
    }
}

/// One of the latest orders seen in `.events` files.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderRow {
    /// Reception time as written in the line.
    pub timestamp: String,
    /// Instance that received it.
    pub instance_id: String,
    /// Source partition.
    pub partition: i64,
    /// Source offset.
    pub offset: i64,
    /// Order id.
    pub order_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Order status carried by the event.
    pub status: String,
    /// Order total in cents.
    pub total_cents: i64,
    /// False when the order broke a business rule.
    pub valid: bool,
}

/// One of the latest warnings and errors of the tracker logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProblemRow {
    /// When it was written.
    pub timestamp: String,
    /// Instance that wrote it.
    pub instance_id: String,
    /// `WARN` or `ERROR`.
    pub level: String,
    /// Kind of entry (`dlq_sent`, `kafka_error`...).
    pub kind: String,
    /// The entry's sentence.
    pub message: String,
    /// Error text, shortened.
    pub error: Option<String>,
}

/// The ring's rows, newest first. Files are read one after the other, so the ring's order is
/// not time order; RFC 3339 UTC times with the same precision sort as text.
pub(super) fn newest_first<T: Clone>(ring: &VecDeque<T>, timestamp: impl Fn(&T) -> &String) -> Vec<T> {
    let mut rows: Vec<T> = ring.iter().rev().cloned().collect();
    rows.sort_by(|a, b| timestamp(b).cmp(timestamp(a)));
    rows
}

pub(super) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Everything shown, at one time. Serialized as the `--once --json` output; the analysis
/// report (`monitor --report`, `analyze_logs.sh`) prints the same figures.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The time the summary describes.
    pub generated_at: String,
    /// Totals over all instances.
    pub totals: Totals,
    /// What the `.events` lines say: every delivery, well-formed or not.
    pub messages: MessageCounts,
    /// Instances whose status is alive.
    pub instances_alive: usize,
    /// Instances known.
    pub instances_total: usize,
    /// One entry per instance, by id.
    pub instances: Vec<InstanceSummary>,
    /// Offsets seen per partition and broker lifetime (from `.events`).
    pub partitions: Vec<PartitionSummary>,
    /// Lag per partition from the newest metrics entry that reports it (alive instances).
    pub partition_lag: Vec<PartitionLag>,
    /// Changes of a partition's leader seen between metrics entries, oldest first.
    pub leader_changes: Vec<LeaderChange>,
    /// `.log` entries per kind, all instances.
    pub log_kinds: BTreeMap<String, u64>,
    /// Revenue and orders.
    pub business: BusinessSummary,
    /// The producer, when `producer.log` exists.
    pub producer: Option<ProducerSummary>,
    /// Latest orders, newest first.
    pub latest_orders: Vec<OrderRow>,
    /// Latest warnings and errors, newest first.
    pub latest_problems: Vec<ProblemRow>,
    /// The latest `ERROR` entries, oldest first.
    pub last_errors: Vec<ProblemRow>,
    /// Lines that could not be used.
    pub malformed_lines: MalformedCounts,
    /// What the monitor could not read, and why (a FIFO under a tracker file's name, a file
    /// it cannot open, files past the followed limit): the figures leave it out.
    pub warnings: Vec<String>,
    /// `.events` lines per second over the chart window, oldest first, ending before `now`
    /// (for the chart; left out of the JSON report).
    #[serde(skip)]
    pub throughput_per_second: Vec<u64>,
    /// End-to-end latency (event emitted → audit line written) over the sliding window and
    /// over every line read, with a per-second p99 series for the chart.
    pub latency: LatencySummary,
    /// Dead letters (latest, by error kind) and records sent back by `dlq redrive`.
    pub dead_letters: DeadLetterSummary,
}

/// The trackers' counters as a summary shows them: [`super::Counters`] and the in-flight
/// count that follows from them. One struct for [`Totals`] and [`InstanceSummary`], flattened
/// into each, so their JSON keeps these fields where they always were. `null` when an
/// instance's entries did not carry one (see [`super::Counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CounterFigures {
    /// Messages the trackers received.
    pub received: Option<u64>,
    /// Processed successfully.
    pub processed: Option<u64>,
    /// Failed for good (dead-lettered, or dropped when the DLQ is off).
    pub failed: Option<u64>,
    /// Of the failed, acknowledged by the dead-letter topic.
    pub dlq_sent: Option<u64>,
    /// Duplicate deliveries skipped (same event id seen again).
    pub duplicates: Option<u64>,
    /// Received but not yet finished when the counters were written:
    /// `received - processed - failed - duplicates`.
    pub in_flight: Option<u64>,
    /// Transient failures tried again (not messages: one message can be retried many times).
    pub retries: Option<u64>,
}

impl From<super::Counters> for CounterFigures {
    fn from(counters: super::Counters) -> Self {
        CounterFigures {
            received: counters.received,
            processed: counters.processed,
            failed: counters.failed,
            dlq_sent: counters.dlq_sent,
            duplicates: counters.duplicates,
            in_flight: counters.in_flight(),
            retries: counters.retries,
        }
    }
}

/// The trackers' own counters, summed over all runs of all instances: each instance's
/// latest metrics or stop entry, plus its earlier runs. They add up:
/// `received = processed + failed + duplicates + in_flight`, and `dlq_sent` is part of
/// `failed`.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// The trackers' counters, summed over every run of every instance.
    #[serde(flatten)]
    pub counters: CounterFigures,
    /// processed / (processed + failed), percent; `null` with no finished message.
    pub success_rate_percent: Option<f64>,
    /// Time of the oldest counter entry these totals include (each instance's latest).
    pub counters_as_of: Option<String>,
    /// Seconds between `counters_as_of` and the summary time.
    pub counters_age_seconds: Option<f64>,
    /// `.events` lines per second over the last complete seconds.
    pub messages_per_second_now: f64,
    /// `.events` lines per second between the first and the last line.
    pub messages_per_second_average: f64,
    /// Sum of the latest lag of every partition, each from the newest alive owner.
    pub total_lag: Option<i64>,
    /// Time of the oldest metrics entry `total_lag` comes from.
    pub lag_as_of: Option<String>,
    /// Seconds between `lag_as_of` and the summary time.
    pub lag_age_seconds: Option<f64>,
    /// Time of the first `.events` line.
    pub first_event: Option<String>,
    /// Time of the last `.events` line.
    pub last_event: Option<String>,
}

/// What the `.events` lines say. Every line that is an audit line is one delivery;
/// `received = deserialized + undeserializable`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageCounts {
    /// Audit lines (one per delivery).
    pub received: u64,
    /// Whose payload deserialized as an order event.
    pub deserialized: u64,
    /// Whose payload did not deserialize (poison pills).
    pub undeserializable: u64,
    /// Deserialized, but breaking a business rule.
    pub validation_errors: u64,
    /// Not deserialized or failing validation.
    pub invalid: u64,
    /// Deliveries of a `(cluster_id, topic, partition, offset)` already seen, at-least-once
    /// lines.
    pub duplicate_deliveries: u64,
    /// Distinct `(cluster_id, topic, partition, offset)`: each record counted once.
    pub records: u64,
    /// Receptions of a record already seen on lines of an `exactly_once` tracker (attempts
    /// after an aborted or unfinished transaction), not counted as duplicates.
    pub retried_attempts: u64,
    /// Offsets between the first and the last seen of a partition never seen.
    pub missing_offsets: u64,
}

/// The lag of one partition, from the newest metrics entry of an alive instance listing it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionLag {
    /// Partition.
    pub partition: i32,
    /// Instance whose metrics entry this is.
    pub instance_id: String,
    /// Committed offset (the next offset the group reads after a restart or a rebalance).
    pub committed_offset: Option<i64>,
    /// Last offset the owner finished handling since it was assigned the partition, if any.
    pub last_processed_offset: Option<i64>,
    /// High watermark.
    pub high_watermark: Option<i64>,
    /// High watermark − the owner's position: the last processed offset + 1, or the committed
    /// offset when it has processed nothing since it was assigned the partition. The committed
    /// offset trails the position by what is written but not yet committed.
    pub lag: Option<i64>,
    /// Time of the metrics entry.
    pub as_of: String,
    /// Seconds between `as_of` and the summary time.
    pub age_seconds: f64,
    /// Node id of the leader in the same entry (the client's metadata); -1: none.
    pub leader: Option<i32>,
    /// Node ids of the replicas, same entry.
    pub replicas: Option<Vec<i32>>,
    /// Node ids of the in-sync replicas, same entry.
    pub in_sync_replicas: Option<Vec<i32>>,
    /// The topic's `min.insync.replicas`, same entry.
    pub min_insync_replicas: Option<u32>,
    /// Fewer replicas in sync than the partition has.
    pub under_replicated: Option<bool>,
    /// Fewer replicas in sync than `min.insync.replicas`: producers with `acks=all` are refused.
    pub below_min_insync: Option<bool>,
}

/// A partition's leader changed between two metrics entries of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderChange {
    /// Time of the entry that showed the new leader.
    pub time: String,
    /// The same, in ms since the epoch, for ordering.
    #[serde(skip)]
    pub time_ms: i64,
    /// Partition.
    pub partition: i32,
    /// Leader in the instance's previous entry (-1: none).
    pub from: i32,
    /// Leader in this entry (-1: none).
    pub to: i32,
    /// Instance whose entries showed it.
    pub instance_id: String,
}

/// One tracker instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceSummary {
    /// The `<id>` of its file names.
    pub instance_id: String,
    /// Alive, stale or stopped.
    pub status: InstanceStatus,
    /// Partitions of its last assignment.
    pub partitions: Vec<i32>,
    /// Its counters, all runs.
    #[serde(flatten)]
    pub counters: CounterFigures,
    /// `tracker.processing` of its latest run (`at_least_once`, `exactly_once`), from its
    /// `kafka_initialised` entry; `None` in files of versions that did not say.
    pub processing: Option<String>,
    /// Lines in its `.events` file.
    pub events_lines: u64,
    /// Of which deserialized.
    pub deserialized: u64,
    /// Of which not deserialized.
    pub undeserializable: u64,
    /// Of which deserialized but failing validation.
    pub validation_errors: u64,
    /// Of which not deserialized or failing validation.
    pub invalid: u64,
    /// `.log` entries per kind.
    pub log_kinds: BTreeMap<String, u64>,
    /// `started` entries seen.
    pub runs: u32,
    /// `.events` lines per second over the last complete seconds.
    pub messages_per_second: f64,
    /// Lag from its last metrics entry.
    pub lag: Option<i64>,
    /// Seconds since that metrics entry.
    pub lag_age_seconds: Option<f64>,
    /// The state of its client's connection to each broker, from its latest metrics entry
    /// (`null` before one, and in files of older versions).
    pub brokers: Option<Vec<models::health::BrokerConnection>>,
    /// Uptime from its last metrics or stop entry.
    pub uptime_seconds: Option<f64>,
    /// Time of its latest line.
    pub last_seen: Option<String>,
    /// Seconds between its latest line and the summary time.
    pub seconds_since_last_seen: Option<f64>,
    /// Its latest metrics entry.
    pub last_metrics: Option<LastMetrics>,
}

/// The figures of a metrics entry as written by the tracker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastMetrics {
    /// Time of the entry.
    pub timestamp: String,
    /// Seconds since that run started.
    pub uptime_seconds: Option<f64>,
    /// Received in that run.
    pub messages_received: Option<u64>,
    /// Processed in that run.
    pub messages_processed: Option<u64>,
    /// Failed in that run.
    pub messages_failed: Option<u64>,
    /// As written.
    pub success_rate_percent: Option<f64>,
    /// As written (over the last interval).
    pub messages_per_second: Option<f64>,
    /// As written.
    pub total_lag: Option<i64>,
    /// Retries in that run.
    pub retries: Option<u64>,
    /// Dead-lettered in that run.
    pub dlq_sent: Option<u64>,
    /// Duplicates in that run.
    pub duplicates: Option<u64>,
    /// Partitions listed.
    pub partitions: Vec<i32>,
    /// Latencies measured over that interval (0 in files of older versions).
    pub latency_samples: u64,
    /// Median latency over that interval, ms.
    pub latency_p50_ms: Option<u64>,
    /// 99th percentile latency over that interval, ms.
    pub latency_p99_ms: Option<u64>,
    /// Largest latency over that interval, ms.
    pub latency_max_ms: Option<u64>,
}

/// Business figures from valid `.events` lines.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessSummary {
    /// Currency of the orders (`EUR`).
    pub currency: String,
    /// Sum of the totals of created orders, cents.
    pub revenue_cents: i64,
    /// Distinct created orders.
    pub orders_created: u64,
    /// `created` events of an order already counted (re-deliveries).
    pub repeated_created_events: u64,
    /// revenue / orders created, cents.
    pub average_basket_cents: Option<i64>,
    /// Orders by the furthest status seen for each, in lifecycle order.
    pub orders_by_status: Vec<NamedCount>,
    /// Orders by payment method (the first one seen for each order), most first.
    pub orders_by_payment_method: Vec<NamedCount>,
    /// Orders left out of the two lists above because too many distinct orders were seen.
    pub orders_not_tracked: u64,
    /// Customers with the highest revenue.
    pub top_customers: Vec<CustomerSummary>,
    /// Products with the highest quantity in created orders.
    pub top_products: Vec<ProductSummary>,
}

/// A name and how many orders have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedCount {
    /// Status or payment method.
    pub name: String,
    /// Orders.
    pub orders: u64,
}

/// One customer of the top list.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerSummary {
    /// `client01`...
    pub customer_id: String,
    /// The name in their latest order.
    pub name: Option<String>,
    /// Created orders.
    pub orders: u64,
    /// Their total, cents.
    pub revenue_cents: i64,
}

/// One product of the top list.
#[derive(Debug, Clone, Serialize)]
pub struct ProductSummary {
    /// `SKU-1`...
    pub product_id: String,
    /// Its name.
    pub name: String,
    /// Units in created orders.
    pub quantity: u64,
    /// Created orders holding it.
    pub orders: u64,
}

/// What `producer.log` says.
#[derive(Debug, Clone, Serialize)]
pub struct ProducerSummary {
    /// Latest rate it reported.
    pub events_per_second: Option<f64>,
    /// Latest acknowledged count it reported.
    pub acknowledged: Option<u64>,
    /// Well-formed lines read.
    pub lines: u64,
    /// Time of its latest line.
    pub last_seen: Option<String>,
}
