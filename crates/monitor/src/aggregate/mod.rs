//! The [`Aggregator`]: pure state built from tracker and producer lines, and the [`Summary`]
//! it gives at a given time.
//!
//! No terminal and no clock in here: every line is handed in as bytes, and the time of
//! evaluation (`now`) is a parameter, so tests feed fixtures and fixed times.
//!
//! Counting rules:
//! - **received** is the number of well-formed `.events` lines (malformed lines are counted
//!   apart and skipped).
//! - **processed, failed, DLQ, duplicates, retries** add up, per instance, the figures of its
//!   earlier runs and the latest metrics or stop entry of its current run: tracker counters are
//!   cumulative per process run and start again from 0 after a `started` entry.
//! - **Business figures** come from `.events` lines with `deserialized == true` and
//!   `validation_error == null`. Revenue, average basket and top customers count
//!   `status == "created"` lines, each `order_id` once among the last
//!   [`ORDER_DEDUP_WINDOW`] distinct created orders (a re-delivery older than that counts
//!   again). "Orders by status" counts each order once, at the furthest status seen for it
//!   (ranked by lifecycle, not by arrival): one ~20-byte entry per order, up to
//!   [`MAX_ORDERS_TRACKED`] (orders beyond it are counted as not tracked).
//! - **Throughput** uses the lines' own timestamps, in per-second buckets over a bounded
//!   window, so reading old files at start gives the rates they had.
//!
//! - **Latency** is each audit line's `timestamp` minus its `event_timestamp`, kept in
//!   per-second histograms (`latency.rs`); **dead letters** are the `dlq_sent`
//!   entries, **redriven records** the audit lines with `dlq.redrive.count` >= 1
//!   (`dead_letters.rs`).
//!
//! Memory is bounded whatever the size of the files: fixed rings for the latest orders,
//! problems and dead letters, per-second buckets and latency histograms over [`WINDOW_SECS`],
//! and capped maps (instances, customers, statuses, recent order ids). Every text kept from a
//! line (an id, a name, a status, a topic, a time as written) is cut to
//! [`MAX_KEPT_TEXT_CHARS`] characters and marked with [`CUT_MARK`] ([`kept`]), so one line
//! costs at most a few kilobytes however long its strings are, and the caps bound the total.
//!
//! Layout: this file holds the state and its tunables; `events.rs` and `log.rs` read the lines
//! of each file kind; `snapshot.rs` builds the [`Summary`] (types in `summary.rs`); the other
//! modules hold one kind of figure each.

mod business;
mod counters;
mod dead_letters;
mod events;
mod latency;
mod lines;
mod log;
mod offsets;
mod snapshot;
mod summary;
mod time;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::tail::{LineSink, Source, SourceKind};

use self::business::Business;
pub use self::business::{lifecycle_rank, MAX_ORDERS_TRACKED};
pub use self::counters::{Counters, MalformedCounts};
use self::counters::{Instance, Producer, SecondBuckets};
use self::dead_letters::DeadLetters;
pub use self::dead_letters::{
    DeadLetterRow, DeadLetterSummary, ErrorKindCount, RedriveOutcome, RedrivenRow, RedrivenSummary,
};
use self::latency::Latency;
pub use self::latency::{LatencySummary, LATENCY_WINDOW_SECS};
pub use self::offsets::PartitionSummary;
use self::offsets::{PartitionKey, PartitionOffsets};
use self::summary::newest_first;
pub use self::summary::{
    BusinessSummary, CounterFigures, CustomerSummary, InstanceStatus, InstanceSummary, LastMetrics,
    LeaderChange, MessageCounts, NamedCount, OrderRow, PartitionLag, ProblemRow, ProducerSummary,
    ProductSummary, Summary, Totals,
};
pub use self::time::{format_ms, parse_timestamp_ms};

/// Seconds of per-second buckets kept (the chart shows at most this).
pub const WINDOW_SECS: usize = 600;
/// Seconds over which "msg/s now" is measured.
pub const RATE_WINDOW_SECS: i64 = 10;
/// Metrics interval assumed when a metrics entry does not say (`interval_ms`).
pub const DEFAULT_METRICS_INTERVAL_MS: u64 = 30_000;
/// Distinct created order ids remembered to count each order once.
pub const ORDER_DEDUP_WINDOW: usize = 65_536;
/// Most instances tracked one by one; lines of further instances count in the totals only.
pub const MAX_INSTANCES: usize = 1024;
/// Most customers tracked one by one; further ones are summed as `(others)`.
pub const MAX_CUSTOMERS: usize = 10_000;
/// Most distinct statuses counted; further ones are summed as `(other)`.
pub const MAX_STATUSES: usize = 32;
/// Longest text kept from a line (an id, a name, a status, a topic), in characters; a longer one
/// is cut there and marked with [`CUT_MARK`]. Real ids and names are far shorter; a crafted
/// 1 MB name costs at most this much (times 4 bytes) per place it is kept.
pub const MAX_KEPT_TEXT_CHARS: usize = 200;
/// What ends a text cut to [`MAX_KEPT_TEXT_CHARS`].
pub const CUT_MARK: &str = "…[cut]";
/// Capacity the line scratch buffer may keep between lines; a longer line's buffer is freed.
const SCRATCH_KEPT_BYTES: usize = 1 << 20;
/// Longest error text kept for a problem row, in bytes.
const MAX_ERROR_TEXT_BYTES: usize = 300;
/// `ERROR` entries kept for the report's "last errors".
pub const LAST_ERRORS: usize = 5;
/// Customers and products listed in the business figures.
const TOP_CUSTOMERS: usize = 5;

/// Tunables of the aggregator.
#[derive(Debug, Clone)]
pub struct AggregatorConfig {
    /// Fixed staleness threshold; `None` means two metrics intervals of each instance.
    pub stale_after: Option<Duration>,
    /// How many latest orders to keep.
    pub latest_orders: usize,
    /// How many latest warnings and errors to keep.
    pub latest_problems: usize,
    /// Seconds shown by the throughput and latency series of a [`Summary`] (at most
    /// [`WINDOW_SECS`]).
    pub chart_secs: usize,
    /// How many latest dead letters, and latest redriven records, to keep.
    pub latest_dead_letters: usize,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            stale_after: None,
            latest_orders: 50,
            latest_problems: 50,
            chart_secs: 300,
            latest_dead_letters: 50,
        }
    }
}

/// Pure aggregation state. See the module documentation for the counting rules.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    received: u64,
    deserialized: u64,
    validation_errors: u64,
    invalid_messages: u64,
    partitions: BTreeMap<PartitionKey, PartitionOffsets>,
    /// The newest `ERROR` entries, at most [`LAST_ERRORS`].
    last_errors: Vec<ProblemRow>,
    first_event_ms: Option<i64>,
    last_event_ms: Option<i64>,
    per_second: SecondBuckets,
    rate_reset_ms: Option<i64>,
    instances: BTreeMap<String, Instance>,
    latest_orders: VecDeque<OrderRow>,
    latest_problems: VecDeque<ProblemRow>,
    business: Business,
    producer: Option<Producer>,
    malformed: MalformedCounts,
    /// End-to-end latency of the `.events` lines.
    latency: Latency,
    /// `dlq_sent` entries and redriven records.
    dead_letters: DeadLetters,
    /// Leader changes seen in metrics entries, oldest first, at most [`MAX_LEADER_CHANGES`].
    leader_changes: Vec<LeaderChange>,
    /// Reused buffer for [`cut_raw_message`].
    scratch: Vec<u8>,
}

/// How many leader changes are kept (the newest).
pub(super) const MAX_LEADER_CHANGES: usize = 200;

/// Two instances that report the same change of leader within this many milliseconds saw one
/// change (a metrics interval is 30 s by default).
pub(super) const SAME_LEADER_CHANGE_MS: i64 = 60_000;

fn shorten(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Pushes a row into a bounded ring, reusing the evicted row's allocations.
fn push_ring<T: Default>(ring: &mut VecDeque<T>, capacity: usize, fill: impl FnOnce(&mut T)) {
    if capacity == 0 {
        return;
    }
    let mut row = if ring.len() >= capacity { ring.pop_front().unwrap_or_default() } else { T::default() };
    fill(&mut row);
    ring.push_back(row);
}

/// `text` as the aggregator keeps it: whole up to [`MAX_KEPT_TEXT_CHARS`] characters, else its
/// first [`MAX_KEPT_TEXT_CHARS`] characters followed by [`CUT_MARK`].
pub(super) fn kept(text: &str) -> std::borrow::Cow<'_, str> {
    // A char is at least one byte: a text this short in bytes is short in chars.
    if text.len() <= MAX_KEPT_TEXT_CHARS {
        return std::borrow::Cow::Borrowed(text);
    }
    match text.char_indices().nth(MAX_KEPT_TEXT_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}{CUT_MARK}", &text[..end])),
    }
}

/// The sum of figures read from files (lags), saturating instead of wrapping.
fn saturating_sum(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |sum, value| sum.saturating_add(*value))
}

fn set_text(target: &mut String, value: &str) {
    target.clear();
    target.push_str(&kept(value));
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(config: AggregatorConfig) -> Self {
        Aggregator {
            config,
            received: 0,
            deserialized: 0,
            validation_errors: 0,
            invalid_messages: 0,
            partitions: BTreeMap::new(),
            last_errors: Vec::new(),
            first_event_ms: None,
            last_event_ms: None,
            per_second: SecondBuckets::new(WINDOW_SECS),
            rate_reset_ms: None,
            instances: BTreeMap::new(),
            latest_orders: VecDeque::new(),
            latest_problems: VecDeque::new(),
            business: Business::default(),
            producer: None,
            malformed: MalformedCounts::default(),
            latency: Latency::new(WINDOW_SECS),
            dead_letters: DeadLetters::default(),
            leader_changes: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// A [`LineSink`] that feeds this aggregator; `now` stands in for lines without a time.
    pub fn sink(&mut self, now: DateTime<Utc>) -> AggregatorSink<'_> {
        AggregatorSink { aggregator: self, now_ms: now.timestamp_millis() }
    }

    fn instance(&mut self, instance_id: &str) -> Option<&mut Instance> {
        if !self.instances.contains_key(instance_id) {
            if self.instances.len() >= MAX_INSTANCES {
                return None;
            }
            self.instances.insert(instance_id.to_owned(), Instance::new());
        }
        self.instances.get_mut(instance_id)
    }

    /// Makes an instance known before any of its lines (its files exist, maybe empty).
    pub fn register_instance(&mut self, instance_id: &str) {
        self.instance(instance_id);
    }

    /// Makes the producer known before any of its lines.
    pub fn register_producer(&mut self) {
        self.producer.get_or_insert_with(Producer::default);
    }

    /// Starts the rate window again at `now` (the `r` key): rates and the chart ignore what
    /// came before.
    pub fn reset_rate_window(&mut self, now: DateTime<Utc>) {
        self.rate_reset_ms = Some(now.timestamp_millis());
    }
}

/// Feeds tailed lines to an [`Aggregator`] by file kind.
pub struct AggregatorSink<'a> {
    aggregator: &'a mut Aggregator,
    now_ms: i64,
}

impl LineSink for AggregatorSink<'_> {
    fn file_found(&mut self, source: &Source) {
        match source.kind {
            SourceKind::Producer => self.aggregator.register_producer(),
            SourceKind::Events | SourceKind::Log => self.aggregator.register_instance(&source.instance_id),
        }
    }

    fn line(&mut self, source: &Source, line: &[u8]) {
        match source.kind {
            SourceKind::Events => self.aggregator.ingest_events(&source.instance_id, line, self.now_ms),
            SourceKind::Log => self.aggregator.ingest_log(&source.instance_id, line, self.now_ms),
            SourceKind::Producer => {
                let now = DateTime::<Utc>::from_timestamp_millis(self.now_ms).unwrap_or_default();
                self.aggregator.ingest_producer_line(line, now);
            }
        }
    }

    fn line_dropped(&mut self, _source: &Source) {
        self.aggregator.count_dropped_line();
    }
}

#[cfg(test)]
mod tests;
