//! What a summary holds: the types serialized as `monitor --once --json` and drawn by the UI.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::Serialize;

use super::MalformedCounts;

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

/// Everything shown, at one time. Serialized as the `--once --json` output.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The time the summary describes.
    pub generated_at: String,
    /// Totals over all instances.
    pub totals: Totals,
    /// Instances whose status is alive.
    pub instances_alive: usize,
    /// Instances known.
    pub instances_total: usize,
    /// One entry per instance, by id.
    pub instances: Vec<InstanceSummary>,
    /// Revenue and orders.
    pub business: BusinessSummary,
    /// The producer, when `producer.log` exists.
    pub producer: Option<ProducerSummary>,
    /// Latest orders, newest first.
    pub latest_orders: Vec<OrderRow>,
    /// Latest warnings and errors, newest first.
    pub latest_problems: Vec<ProblemRow>,
    /// Lines that could not be used.
    pub malformed_lines: MalformedCounts,
    /// `.events` lines per second over the chart window, oldest first, ending before `now`
    /// (for the chart; left out of the JSON report).
    #[serde(skip)]
    pub throughput_per_second: Vec<u64>,
}

/// Totals over all instances.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Well-formed `.events` lines.
    pub received: u64,
    /// Processed successfully (all runs of all instances).
    pub processed: u64,
    /// Failed for good.
    pub failed: u64,
    /// Sent to the dead-letter topic.
    pub dlq_sent: u64,
    /// Duplicate deliveries skipped.
    pub duplicates: u64,
    /// Transient failures retried.
    pub retries: u64,
    /// `.events` lines not deserialized or failing validation.
    pub invalid_messages: u64,
    /// processed / (processed + failed), percent.
    pub success_rate_percent: f64,
    /// `.events` lines per second over the last complete seconds.
    pub messages_per_second_now: f64,
    /// `.events` lines per second between the first and the last line.
    pub messages_per_second_average: f64,
    /// Sum of the instances' latest lags (running instances that reported one).
    pub total_lag: Option<i64>,
    /// Time of the first `.events` line.
    pub first_event: Option<String>,
    /// Time of the last `.events` line.
    pub last_event: Option<String>,
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
    /// Lines in its `.events` file.
    pub received: u64,
    /// Of which not deserialized or failing validation.
    pub invalid: u64,
    /// Processed, all runs.
    pub processed: u64,
    /// Failed, all runs.
    pub failed: u64,
    /// Dead-lettered, all runs.
    pub dlq_sent: u64,
    /// Duplicates skipped, all runs.
    pub duplicates: u64,
    /// Retries, all runs.
    pub retries: u64,
    /// `started` entries seen.
    pub runs: u32,
    /// `.events` lines per second over the last complete seconds.
    pub messages_per_second: f64,
    /// Lag from its last metrics entry.
    pub lag: Option<i64>,
    /// Uptime from its last metrics or stop entry.
    pub uptime_seconds: Option<f64>,
    /// Time of its latest line.
    pub last_seen: Option<String>,
    /// Seconds between its latest line and the summary time.
    pub seconds_since_last_seen: Option<f64>,
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
    /// Valid events per order status.
    pub orders_by_status: BTreeMap<String, u64>,
    /// Customers with the highest revenue.
    pub top_customers: Vec<CustomerSummary>,
}

/// One customer of the top list.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerSummary {
    /// `client01`...
    pub customer_id: String,
    /// Created orders.
    pub orders: u64,
    /// Their total, cents.
    pub revenue_cents: i64,
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
