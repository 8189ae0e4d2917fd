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
//!   again). "Orders by status" counts valid events per status, i.e. how many orders reached
//!   each status, not where each order stands now (that would need one entry per order).
//! - **Throughput** uses the lines' own timestamps, in per-second buckets over a bounded
//!   window, so reading old files at start gives the rates they had.
//!
//! Memory is bounded whatever the size of the files: fixed rings for the latest orders and
//! problems, per-second buckets over [`WINDOW_SECS`], and capped maps (instances, customers,
//! statuses, recent order ids).

mod business;
mod counters;
mod dead_letters;
mod latency;
mod lines;
mod offsets;
mod summary;
mod time;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use models::health::{DlqSent, PartitionsAssigned, PartitionsRevoked, StopSummary};
use serde_json::value::RawValue;

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
use self::lines::{cut_raw_message, parse_metrics, redrive_headers, text, text_of, EventsLine, LogLine};
pub use self::offsets::PartitionSummary;
use self::offsets::{PartitionKey, PartitionOffsets};
use self::summary::{newest_first, round2};
pub use self::summary::{
    BusinessSummary, CustomerSummary, InstanceStatus, InstanceSummary, LastMetrics, MessageCounts,
    NamedCount, OrderRow, PartitionLag, ProblemRow, ProducerSummary, ProductSummary, Summary, Totals,
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
    /// Reused buffer for [`cut_raw_message`].
    scratch: Vec<u8>,
}

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

fn set_text(target: &mut String, value: &str) {
    target.clear();
    target.push_str(value);
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

    /// One line of `tracker-<instance_id>.events`.
    pub fn ingest_events_line(&mut self, instance_id: &str, line: &[u8], now: DateTime<Utc>) {
        self.ingest_events(instance_id, line, now.timestamp_millis());
    }

    fn ingest_events(&mut self, instance_id: &str, line: &[u8], now_ms: i64) {
        // The scratch buffer is taken out so that the parsed line can borrow it while `self`
        // is updated, then put back to keep its allocation.
        let mut scratch = std::mem::take(&mut self.scratch);
        let event = cut_raw_message(line, &mut scratch)
            .and_then(|lean| serde_json::from_slice::<EventsLine<'_>>(lean).ok())
            .or_else(|| serde_json::from_slice::<EventsLine<'_>>(line).ok());
        match event {
            Some(event) => self.record_events_line(instance_id, &event, now_ms),
            None => self.malformed.events += 1,
        }
        self.scratch = scratch;
    }

    fn record_events_line(&mut self, instance_id: &str, event: &EventsLine<'_>, now_ms: i64) {
        self.received += 1;
        let written_ms = parse_timestamp_ms(text_of(&event.timestamp));
        let emitted_ms = text(&event.event_timestamp).and_then(parse_timestamp_ms);
        if let (Some(emitted_ms), Some(written_ms)) = (emitted_ms, written_ms) {
            self.latency.record(emitted_ms, written_ms);
        }
        let time_ms = written_ms.unwrap_or(now_ms);
        self.first_event_ms = Some(self.first_event_ms.map_or(time_ms, |first| first.min(time_ms)));
        self.last_event_ms = Some(self.last_event_ms.map_or(time_ms, |last| last.max(time_ms)));
        let second = time_ms.div_euclid(1000);
        self.per_second.add(second);
        let valid = event.deserialized && event.validation_error.is_none();
        if !valid {
            self.invalid_messages += 1;
        }
        let validation_error = event.deserialized && event.validation_error.is_some();
        self.deserialized += u64::from(event.deserialized);
        self.validation_errors += u64::from(validation_error);
        self.record_offset(instance_id, event);
        if let Some((redrive_count, redriven_from)) = redrive_headers(event.headers) {
            let row = RedrivenRow {
                timestamp: text_of(&event.timestamp).to_owned(),
                instance_id: instance_id.to_owned(),
                topic: text_of(&event.kafka_topic).to_owned(),
                partition: i32::try_from(event.kafka_partition).unwrap_or(-1),
                offset: event.kafka_offset,
                kafka_key: text(&event.kafka_key).map(str::to_owned),
                event_id: text(&event.event_id).map(str::to_owned),
                redrive_count,
                redriven_from,
                outcome: if valid { RedriveOutcome::Valid } else { RedriveOutcome::Invalid },
            };
            self.dead_letters.redriven(row, valid, self.config.latest_dead_letters);
        }
        if let Some(instance) = self.instance(instance_id) {
            instance.received += 1;
            instance.invalid += u64::from(!valid);
            instance.undeserializable += u64::from(!event.deserialized);
            instance.validation_errors += u64::from(validation_error);
            instance.seen(Some(time_ms));
            instance.per_second.add(second);
        }
        if event.deserialized {
            self.record_order(instance_id, event, valid);
        }
    }

    fn record_offset(&mut self, instance_id: &str, event: &EventsLine<'_>) {
        let cluster_id = text(&event.cluster_id);
        let topic = text_of(&event.kafka_topic);
        let partition = event.kafka_partition;
        // Looked up before inserting so that the common case allocates no key.
        let found = self.partitions.iter_mut().find(|(key, _)| {
            key.partition == partition && key.topic == topic && key.cluster_id.as_deref() == cluster_id
        });
        let offsets = match found {
            Some((_, offsets)) => offsets,
            None => {
                let key = PartitionKey {
                    cluster_id: cluster_id.map(str::to_owned),
                    topic: topic.to_owned(),
                    partition,
                };
                self.partitions.entry(key).or_default()
            }
        };
        offsets.record(event.kafka_offset, instance_id);
    }

    fn record_order(&mut self, instance_id: &str, event: &EventsLine<'_>, valid: bool) {
        let order = event.order_full.as_ref();
        let customer = order.and_then(|order| order.customer.as_ref());
        let customer_id = customer.and_then(|c| text(&c.customer_id)).unwrap_or("?");
        let total_cents = order.map_or(0, |order| order.total_cents);
        let status = text(&event.status).unwrap_or("?");
        let order_id = text(&event.order_id).unwrap_or("?");
        push_ring(&mut self.latest_orders, self.config.latest_orders, |row: &mut OrderRow| {
            set_text(&mut row.timestamp, text_of(&event.timestamp));
            set_text(&mut row.instance_id, instance_id);
            row.partition = event.kafka_partition;
            row.offset = event.kafka_offset;
            set_text(&mut row.order_id, order_id);
            set_text(&mut row.customer_id, customer_id);
            set_text(&mut row.status, status);
            row.total_cents = total_cents;
            row.valid = valid;
        });
        if !valid {
            return;
        }
        let method = order.and_then(|order| order.payment.as_ref()).and_then(|payment| text(&payment.method));
        self.business.count_status(order_id, status, method);
        if status == "created" {
            let currency = order.and_then(|order| text(&order.currency));
            let customer_name = customer.and_then(|c| text(&c.name));
            if self.business.count_created(order_id, (customer_id, customer_name), total_cents, currency) {
                for item in order.map_or(&[][..], |order| &order.items[..]) {
                    let product_id = text(&item.product_id).unwrap_or("?");
                    self.business.count_item(product_id, text(&item.name), item.quantity);
                }
            }
        }
    }

    /// One line of `tracker-<instance_id>.log`.
    pub fn ingest_log_line(&mut self, instance_id: &str, line: &[u8], now: DateTime<Utc>) {
        self.ingest_log(instance_id, line, now.timestamp_millis());
    }

    fn ingest_log(&mut self, instance_id: &str, line: &[u8], now_ms: i64) {
        let Ok(entry) = serde_json::from_slice::<LogLine<'_>>(line) else {
            self.malformed.log += 1;
            return;
        };
        let time_ms = text(&entry.timestamp).and_then(parse_timestamp_ms);
        let metadata = entry.metadata.map_or("{}", RawValue::get);
        let kind = text(&entry.kind).unwrap_or("");
        // Entries whose metadata carries counters must parse whole, or they change nothing.
        let metrics = match kind {
            "metrics" => match parse_metrics(metadata) {
                Some(metrics) => Some(metrics),
                None => {
                    self.malformed.log += 1;
                    return;
                }
            },
            _ => None,
        };
        let stop = match kind {
            "stopped" => match serde_json::from_str::<StopSummary>(metadata) {
                Ok(stop) => Some(stop),
                Err(_) => {
                    self.malformed.log += 1;
                    return;
                }
            },
            _ => None,
        };
        if kind == "dlq_sent" {
            self.record_dead_letter(instance_id, &entry, metadata, time_ms.unwrap_or(now_ms));
        }
        let level = text(&entry.level).unwrap_or("INFO");
        if level == "WARN" || level == "ERROR" {
            self.record_problem(instance_id, &entry, level, time_ms.unwrap_or(now_ms));
        }
        let Some(instance) = self.instance(instance_id) else { return };
        instance.seen(time_ms.or(Some(now_ms)));
        if !kind.is_empty() {
            let room = instance.log_kinds.len() < MAX_STATUSES;
            match instance.log_kinds.get_mut(kind) {
                Some(count) => *count += 1,
                None if room => {
                    instance.log_kinds.insert(kind.to_owned(), 1);
                }
                None => *instance.log_kinds.entry("(other)".to_owned()).or_default() += 1,
            }
        }
        match kind {
            "started" => {
                instance.earlier_runs = instance.counters();
                instance.current_run = Counters::default();
                instance.runs += 1;
                instance.stopped = false;
                instance.partitions.clear();
                instance.lag = None;
                instance.lag_time_ms = None;
                instance.counters_time_ms = time_ms;
                instance.partition_metrics.clear();
            }
            "partitions_assigned" => {
                let change: PartitionsAssigned = serde_json::from_str(metadata).unwrap_or_default();
                instance.partitions = change.partitions;
                instance.partitions.sort_unstable();
            }
            "partitions_revoked" => {
                let change: PartitionsRevoked = serde_json::from_str(metadata).unwrap_or_default();
                instance.partitions.retain(|partition| !change.partitions.contains(partition));
                instance.partition_metrics.retain(|p| !change.partitions.contains(&p.partition));
            }
            "metrics" => {
                let Some(written) = metrics else { return };
                let metrics = &written.metrics;
                instance.current_run = Counters {
                    received: metrics.messages_received,
                    processed: metrics.messages_processed,
                    failed: metrics.messages_failed,
                    dlq_sent: metrics.dlq_sent,
                    duplicates: metrics.duplicates,
                    retries: metrics.retries,
                };
                instance.counters_time_ms = time_ms;
                instance.lag = metrics.total_lag.or_else(|| {
                    let lags: Vec<i64> = metrics.partitions.iter().filter_map(|p| p.lag).collect();
                    (!lags.is_empty()).then(|| lags.iter().sum())
                });
                instance.lag_time_ms = time_ms;
                instance.uptime_seconds = written.uptime_seconds;
                instance.metrics_interval_ms =
                    Some(metrics.interval_ms).filter(|&ms| ms > 0).unwrap_or(DEFAULT_METRICS_INTERVAL_MS);
                instance.stopped = false;
                instance.partition_metrics = metrics.partitions.clone();
                instance.last_metrics = Some(LastMetrics {
                    timestamp: text(&entry.timestamp).unwrap_or("").to_owned(),
                    uptime_seconds: written.uptime_seconds,
                    messages_received: metrics.messages_received,
                    messages_processed: metrics.messages_processed,
                    messages_failed: metrics.messages_failed,
                    success_rate_percent: written.success_rate_percent,
                    messages_per_second: written.messages_per_second,
                    total_lag: metrics.total_lag,
                    retries: metrics.retries,
                    dlq_sent: metrics.dlq_sent,
                    duplicates: metrics.duplicates,
                    partitions: metrics.partitions.iter().map(|p| p.partition).collect(),
                    latency_samples: metrics.latency_samples,
                    latency_p50_ms: metrics.latency_p50_ms,
                    latency_p99_ms: metrics.latency_p99_ms,
                    latency_max_ms: metrics.latency_max_ms,
                });
            }
            "stopped" => {
                let Some(stop) = stop else { return };
                instance.current_run = Counters {
                    received: stop.total_messages_received,
                    processed: stop.total_messages_processed,
                    failed: stop.total_messages_failed,
                    dlq_sent: stop.total_dlq_sent,
                    duplicates: stop.total_duplicates,
                    retries: instance.current_run.retries,
                };
                instance.counters_time_ms = time_ms;
                instance.uptime_seconds = Some(stop.uptime_seconds);
                instance.stopped = true;
                instance.partitions.clear();
                instance.lag = None;
                instance.lag_time_ms = None;
                instance.partition_metrics.clear();
            }
            _ => {}
        }
    }

    /// A `dlq_sent` entry. Its metadata reads leniently (absent fields as empty, like files of
    /// older versions): the dead letter was acknowledged whatever else the entry says.
    fn record_dead_letter(&mut self, instance_id: &str, entry: &LogLine<'_>, metadata: &str, time_ms: i64) {
        let sent: DlqSent = serde_json::from_str(metadata).unwrap_or_default();
        let row = DeadLetterRow {
            timestamp: text(&entry.timestamp).map_or_else(|| format_ms(time_ms), str::to_owned),
            instance_id: instance_id.to_owned(),
            error_kind: if sent.error_kind.is_empty() { "(unknown)".to_owned() } else { sent.error_kind },
            reason: text(&entry.error).map(str::to_owned),
            original_topic: sent.message.topic,
            original_partition: sent.message.partition,
            original_offset: sent.message.offset,
            dlq_topic: sent.dlq_topic,
            dlq_partition: sent.dlq_partition,
            dlq_offset: sent.dlq_offset,
            attempts: sent.attempts,
            kafka_key: sent.kafka_key,
            event_id: sent.event_id.map(|id| id.to_string()),
            redrive_count: sent.redrive_count,
        };
        self.dead_letters.dead_letter(row, self.config.latest_dead_letters);
    }

    fn record_problem(&mut self, instance_id: &str, entry: &LogLine<'_>, level: &str, time_ms: i64) {
        let row = ProblemRow {
            timestamp: text(&entry.timestamp).map_or_else(|| format_ms(time_ms), str::to_owned),
            instance_id: instance_id.to_owned(),
            level: level.to_owned(),
            kind: text(&entry.kind).unwrap_or("").to_owned(),
            message: shorten(text(&entry.message).unwrap_or(""), MAX_ERROR_TEXT_BYTES),
            error: text(&entry.error).map(|error| shorten(error, MAX_ERROR_TEXT_BYTES)),
        };
        if level == "ERROR" {
            // Files are read one after the other: keep the newest by time, not by reading order.
            let at = self.last_errors.partition_point(|kept| kept.timestamp <= row.timestamp);
            self.last_errors.insert(at, row.clone());
            if self.last_errors.len() > LAST_ERRORS {
                self.last_errors.remove(0);
            }
        }
        push_ring(&mut self.latest_problems, self.config.latest_problems, |slot: &mut ProblemRow| {
            *slot = row
        });
    }

    /// One line of `producer.log`. Its shape is not fixed: a numeric
    /// `metadata.events_per_second` or `metadata.rate` gives the rate, a numeric
    /// `metadata.acknowledged` the acknowledged count; anything else is ignored.
    pub fn ingest_producer_line(&mut self, line: &[u8], now: DateTime<Utc>) {
        let producer = self.producer.get_or_insert_with(Producer::default);
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
            self.malformed.producer += 1;
            return;
        };
        producer.lines += 1;
        let time_ms = value.get("timestamp").and_then(|t| t.as_str()).and_then(parse_timestamp_ms);
        producer.last_seen_ms = Some(time_ms.unwrap_or(now.timestamp_millis()));
        let Some(metadata) = value.get("metadata") else { return };
        if let Some(rate) =
            metadata.get("events_per_second").or_else(|| metadata.get("rate")).and_then(|v| v.as_f64())
        {
            producer.events_per_second = Some(rate);
        }
        if let Some(acknowledged) = metadata.get("acknowledged").and_then(|v| v.as_u64()) {
            producer.acknowledged = Some(acknowledged);
        }
    }

    /// Counts a line dropped for its length.
    pub fn count_dropped_line(&mut self) {
        self.malformed.too_long += 1;
    }

    fn status_of(&self, instance: &Instance, now_ms: i64) -> InstanceStatus {
        if instance.stopped {
            return InstanceStatus::Stopped;
        }
        let stale_after_ms = match self.config.stale_after {
            Some(duration) => i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
            None => i64::try_from(instance.metrics_interval_ms.saturating_mul(2)).unwrap_or(i64::MAX),
        };
        match instance.last_seen_ms {
            Some(seen) if now_ms.saturating_sub(seen) <= stale_after_ms => InstanceStatus::Alive,
            _ => InstanceStatus::Stale,
        }
    }

    /// First second counted by rates and the chart: the later of `window_start` and a reset.
    fn window_start(&self, window_start: i64) -> i64 {
        match self.rate_reset_ms {
            Some(reset) => window_start.max(reset.div_euclid(1000)),
            None => window_start,
        }
    }

    /// Everything the screen and the reports show, as of `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Summary {
        let now_ms = now.timestamp_millis();
        let now_second = now_ms.div_euclid(1000);
        let age = |time_ms: i64| round2((now_ms - time_ms) as f64 / 1000.0);
        // The current second is still filling: rates use the complete seconds before it.
        let rate_from = self.window_start(now_second - RATE_WINDOW_SECS);
        let instances: Vec<InstanceSummary> = self
            .instances
            .iter()
            .map(|(instance_id, instance)| {
                let counters = instance.counters();
                InstanceSummary {
                    instance_id: instance_id.clone(),
                    status: self.status_of(instance, now_ms),
                    partitions: instance.partitions.clone(),
                    received: counters.received,
                    processed: counters.processed,
                    failed: counters.failed,
                    dlq_sent: counters.dlq_sent,
                    duplicates: counters.duplicates,
                    in_flight: counters.in_flight(),
                    retries: counters.retries,
                    events_lines: instance.received,
                    deserialized: instance.received - instance.undeserializable,
                    undeserializable: instance.undeserializable,
                    validation_errors: instance.validation_errors,
                    invalid: instance.invalid,
                    log_kinds: instance.log_kinds.clone(),
                    runs: instance.runs,
                    messages_per_second: round2(instance.per_second.rate(rate_from, now_second)),
                    lag: instance.lag,
                    lag_age_seconds: instance.lag.and(instance.lag_time_ms).map(age),
                    uptime_seconds: instance.uptime_seconds,
                    last_seen: instance.last_seen_ms.map(format_ms),
                    seconds_since_last_seen: instance.last_seen_ms.map(age),
                    last_metrics: instance.last_metrics.clone(),
                }
            })
            .collect();
        let counters =
            self.instances.values().fold(Counters::default(), |sum, instance| sum.plus(instance.counters()));
        let counters_oldest_ms =
            self.instances.values().filter_map(|instance| instance.counters_time_ms).min();
        let partition_lag = self.partition_lag(now_ms);
        let lags: Vec<i64> = partition_lag.iter().filter_map(|row| row.lag).collect();
        let lag_oldest_ms = partition_lag
            .iter()
            .filter(|row| row.lag.is_some())
            .filter_map(|row| parse_timestamp_ms(&row.as_of))
            .min();
        let average_rate = match (self.first_event_ms, self.last_event_ms) {
            (Some(first), Some(last)) if last > first => {
                self.received as f64 * 1000.0 / (last - first) as f64
            }
            _ => 0.0,
        };
        let chart_secs = self.config.chart_secs.clamp(1, WINDOW_SECS) as i64;
        let chart_from = self.window_start(now_second - chart_secs);
        let throughput = (now_second - chart_secs..now_second)
            .map(|second| if second < chart_from { 0 } else { self.per_second.count(second) })
            .collect();
        let mut log_kinds: BTreeMap<String, u64> = BTreeMap::new();
        for instance in self.instances.values() {
            for (kind, count) in &instance.log_kinds {
                *log_kinds.entry(kind.clone()).or_default() += count;
            }
        }
        let partitions: Vec<PartitionSummary> =
            self.partitions.iter().map(|(key, offsets)| offsets.summary(key)).collect();
        Summary {
            generated_at: format_ms(now_ms),
            totals: Totals {
                received: counters.received,
                processed: counters.processed,
                failed: counters.failed,
                dlq_sent: counters.dlq_sent,
                duplicates: counters.duplicates,
                in_flight: counters.in_flight(),
                retries: counters.retries,
                success_rate_percent: (counters.processed + counters.failed > 0).then(|| {
                    round2(models::health::success_rate_percent(counters.processed, counters.failed))
                }),
                counters_as_of: counters_oldest_ms.map(format_ms),
                counters_age_seconds: counters_oldest_ms.map(age),
                messages_per_second_now: round2(self.per_second.rate(rate_from, now_second)),
                messages_per_second_average: round2(average_rate),
                total_lag: (!lags.is_empty()).then(|| lags.iter().sum()),
                lag_as_of: lag_oldest_ms.map(format_ms),
                lag_age_seconds: lag_oldest_ms.map(age),
                first_event: self.first_event_ms.map(format_ms),
                last_event: self.last_event_ms.map(format_ms),
            },
            messages: MessageCounts {
                received: self.received,
                deserialized: self.deserialized,
                undeserializable: self.received - self.deserialized,
                validation_errors: self.validation_errors,
                invalid: self.invalid_messages,
                duplicate_deliveries: partitions.iter().map(|p| p.duplicates).sum(),
                missing_offsets: partitions.iter().map(|p| p.missing_offsets).sum(),
            },
            instances_alive: instances.iter().filter(|i| i.status == InstanceStatus::Alive).count(),
            instances_total: instances.len(),
            instances,
            partitions,
            partition_lag,
            log_kinds,
            business: self.business_summary(),
            producer: self.producer.as_ref().map(|producer| ProducerSummary {
                events_per_second: producer.events_per_second,
                acknowledged: producer.acknowledged,
                lines: producer.lines,
                last_seen: producer.last_seen_ms.map(format_ms),
            }),
            latest_orders: newest_first(&self.latest_orders, |row| &row.timestamp),
            latest_problems: newest_first(&self.latest_problems, |row| &row.timestamp),
            last_errors: self.last_errors.clone(),
            malformed_lines: self.malformed,
            warnings: Vec::new(),
            throughput_per_second: throughput,
            latency: LatencySummary {
                window_seconds: LATENCY_WINDOW_SECS,
                window: self.latency.window(self.window_start(now_second - LATENCY_WINDOW_SECS), now_second),
                overall: self.latency.overall(),
                p99_per_second_ms: self.latency.p99_per_second(
                    now_second - chart_secs,
                    now_second,
                    chart_from,
                ),
            },
            dead_letters: self.dead_letters.summary(),
        }
    }

    /// Per partition, the figures of the newest metrics entry that lists it among the alive
    /// instances: after a rebalance or a takeover the new owner's entry is the newer one, and a
    /// stale or stopped instance's last figures are not counted.
    fn partition_lag(&self, now_ms: i64) -> Vec<PartitionLag> {
        let mut newest: BTreeMap<i32, (i64, &str, &models::health::PartitionMetrics)> = BTreeMap::new();
        for (instance_id, instance) in &self.instances {
            if self.status_of(instance, now_ms) != InstanceStatus::Alive {
                continue;
            }
            let Some(time_ms) = instance.lag_time_ms else { continue };
            for partition in &instance.partition_metrics {
                let newer = newest.get(&partition.partition).is_none_or(|(seen, _, _)| time_ms > *seen);
                if newer {
                    newest.insert(partition.partition, (time_ms, instance_id, partition));
                }
            }
        }
        newest
            .into_iter()
            .map(|(partition, (time_ms, instance_id, metrics))| PartitionLag {
                partition,
                instance_id: instance_id.to_owned(),
                committed_offset: metrics.committed_offset,
                high_watermark: metrics.high_watermark,
                lag: metrics.lag,
                as_of: format_ms(time_ms),
                age_seconds: round2((now_ms - time_ms) as f64 / 1000.0),
            })
            .collect()
    }

    fn business_summary(&self) -> BusinessSummary {
        let business = &self.business;
        let mut customers: Vec<CustomerSummary> = business
            .customers
            .iter()
            .map(|(customer_id, totals)| CustomerSummary {
                customer_id: customer_id.clone(),
                name: business.customer_names.get(customer_id).cloned(),
                orders: totals.orders,
                revenue_cents: totals.revenue_cents,
            })
            .collect();
        customers.sort_by(|a, b| {
            b.revenue_cents.cmp(&a.revenue_cents).then_with(|| a.customer_id.cmp(&b.customer_id))
        });
        customers.truncate(TOP_CUSTOMERS);
        let mut products: Vec<ProductSummary> = business
            .products
            .iter()
            .map(|(product_id, totals)| ProductSummary {
                product_id: product_id.clone(),
                name: totals.name.clone(),
                quantity: totals.quantity,
                orders: totals.orders,
            })
            .collect();
        products.sort_by(|a, b| b.quantity.cmp(&a.quantity).then_with(|| a.product_id.cmp(&b.product_id)));
        products.truncate(TOP_CUSTOMERS);
        let mut by_status = vec![0u64; business.statuses.names.len()];
        let mut by_method = vec![0u64; business.methods.names.len()];
        for state in business.orders.values() {
            by_status[usize::from(state.status)] += 1;
            if let Some(method) = state.method {
                by_method[usize::from(method)] += 1;
            }
        }
        let named = |names: &[String], counts: Vec<u64>| -> Vec<NamedCount> {
            names
                .iter()
                .zip(counts)
                .filter(|(_, orders)| *orders > 0)
                .map(|(name, orders)| NamedCount { name: name.clone(), orders })
                .collect()
        };
        let mut orders_by_status = named(&business.statuses.names, by_status);
        orders_by_status.sort_by(|a, b| {
            lifecycle_rank(&a.name).cmp(&lifecycle_rank(&b.name)).then_with(|| a.name.cmp(&b.name))
        });
        let mut orders_by_payment_method = named(&business.methods.names, by_method);
        orders_by_payment_method.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.name.cmp(&b.name)));
        let average = (business.created_orders > 0).then(|| {
            // Rounded to the nearest cent.
            let orders = business.created_orders as i64;
            (business.revenue_cents * 2 + orders).div_euclid(orders * 2)
        });
        BusinessSummary {
            currency: business.currency.clone().unwrap_or_else(|| "EUR".to_owned()),
            revenue_cents: business.revenue_cents,
            orders_created: business.created_orders,
            repeated_created_events: business.repeated_created,
            average_basket_cents: average,
            orders_by_status,
            orders_by_payment_method,
            orders_not_tracked: business.orders_not_tracked,
            top_customers: customers,
            top_products: products,
        }
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
mod tests {
    use super::*;
    use crate::tail::Tailer;
    use std::path::Path;

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    const DEMO_NOW: &str = "2026-03-01T10:01:30Z";

    fn demo_summary(config: AggregatorConfig) -> Summary {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
        let mut aggregator = Aggregator::new(config);
        Tailer::new(dir).read_all(&mut aggregator.sink(time(DEMO_NOW))).unwrap();
        aggregator.snapshot(time(DEMO_NOW))
    }

    #[test]
    fn demo_fixture_totals() {
        let summary = demo_summary(AggregatorConfig::default());
        let totals = &summary.totals;
        assert_eq!(summary.messages.received, 12, "8 alpha + 4 beta audit lines");
        assert_eq!(totals.received, 11, "the trackers' own counters: alpha 7 + beta 3 + 1");
        assert_eq!(totals.in_flight, 0, "11 = 9 processed + 1 failed + 1 skipped");
        assert_eq!(totals.processed, 9, "alpha 5 + beta 3 (first run) + 1 (second run)");
        assert_eq!((totals.failed, totals.dlq_sent, totals.duplicates, totals.retries), (1, 1, 1, 2));
        assert_eq!(summary.messages.invalid, 2);
        assert_eq!(totals.success_rate_percent, Some(90.0));
        assert_eq!(totals.messages_per_second_now, 0.1, "one line at 10:01:25 in the last 10 s");
        assert_eq!(totals.messages_per_second_average, 0.14, "12 lines over 83 s");
        assert_eq!(
            totals.total_lag,
            Some(0),
            "partition 0: the newest entry (beta 10:01:15, lag 0) wins over alpha 10:01:00 (lag 3)"
        );
    }

    #[test]
    fn demo_fixture_instances() {
        let summary = demo_summary(AggregatorConfig::default());
        assert_eq!((summary.instances_alive, summary.instances_total), (2, 3));
        let [alpha, beta, gamma] = &summary.instances[..] else { panic!("three instances") };
        assert_eq!((alpha.instance_id.as_str(), alpha.status), ("alpha", InstanceStatus::Alive));
        assert_eq!(alpha.partitions, [0, 1], "the assignment after the rebalance");
        assert_eq!((alpha.events_lines, alpha.invalid, alpha.processed, alpha.lag), (8, 2, 5, Some(3)));
        assert_eq!(alpha.last_seen.as_deref(), Some("2026-03-01T10:01:25.000Z"));
        assert_eq!(
            (beta.status, beta.runs, beta.processed, beta.events_lines),
            (InstanceStatus::Alive, 2, 4, 4)
        );
        assert_eq!(beta.partitions, [2]);
        assert_eq!((gamma.status, gamma.events_lines), (InstanceStatus::Stale, 0));
    }

    #[test]
    fn demo_fixture_business_and_lists() {
        let summary = demo_summary(AggregatorConfig::default());
        let business = &summary.business;
        assert_eq!(business.revenue_cents, 334_110);
        assert_eq!(business.orders_created, 7, "A B C E F G H; the re-delivered A counts once");
        assert_eq!(business.repeated_created_events, 1);
        assert_eq!(business.average_basket_cents, Some(47_730));
        let statuses: Vec<_> =
            business.orders_by_status.iter().map(|s| (s.name.as_str(), s.orders)).collect();
        assert_eq!(
            statuses,
            [("created", 5), ("paid", 1), ("cancelled", 1)],
            "furthest status per order, lifecycle order"
        );
        assert_eq!(business.top_customers[0].customer_id, "client12");
        assert_eq!(business.top_customers[0].revenue_cents, 189_497);
        let producer = summary.producer.as_ref().unwrap();
        assert_eq!(
            (producer.events_per_second, producer.acknowledged, producer.lines),
            (Some(12.5), Some(40), 2)
        );
        assert_eq!(
            summary.latest_orders.len(),
            11,
            "deserialized lines (7 alpha, 4 beta), the invalid one included"
        );
        assert_eq!(summary.latest_orders[0].timestamp, "2026-03-01T10:01:25.000Z", "newest first");
        assert_eq!(summary.latest_problems.len(), 2);
        assert_eq!(summary.latest_problems[0].kind, "processing_failed");
        assert_eq!(summary.malformed_lines, MalformedCounts { events: 1, ..MalformedCounts::default() });
        let dead_letters = &summary.dead_letters;
        assert_eq!(dead_letters.total, 1);
        let letter = &dead_letters.latest[0];
        assert_eq!(
            (letter.error_kind.as_str(), letter.original_partition, letter.original_offset, letter.attempts),
            ("validation", 1, 1, 1),
            "invalid D at partition 1 offset 1"
        );
        assert_eq!(letter.reason.as_deref(), Some("total_cents does not match subtotal + shipping + tax"));
        assert_eq!(summary.latency.overall.samples, 11, "every deserialized line carries event_timestamp");
    }

    #[test]
    fn fixed_stale_threshold() {
        let config =
            AggregatorConfig { stale_after: Some(Duration::from_secs(10)), ..AggregatorConfig::default() };
        let summary = demo_summary(config);
        let statuses: Vec<_> = summary.instances.iter().map(|i| i.status).collect();
        assert_eq!(statuses, [InstanceStatus::Alive, InstanceStatus::Stale, InstanceStatus::Stale]);
    }

    fn log_line(time: &str, kind: LogKind, metadata: serde_json::Value) -> Vec<u8> {
        let mut out = Vec::new();
        models::HealthEntry::new(time, "i", kind, metadata).write_line(&mut out);
        out.pop();
        out
    }

    use models::LogKind;

    /// A minimal audit line at `timestamp`, deserialized, with `extra` fields (`"k":v,...`).
    fn audit_line(timestamp: &str, extra: &str) -> String {
        let extra = if extra == "{}" || extra.is_empty() { String::new() } else { format!(",{extra}") };
        format!(
            "{{\"timestamp\":\"{timestamp}\",\"kafka_topic\":\"orders\",\"kafka_partition\":0,\
             \"kafka_offset\":0,\"deserialized\":true{extra}}}"
        )
    }

    #[test]
    fn restarts_keep_earlier_runs_and_stop_marks_stopped() {
        let now = time("2026-01-01T00:10:00Z");
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        let metrics = |processed: u64| {
            serde_json::json!({"messages_received": processed + 1, "messages_processed": processed, "messages_failed": 1,
                "dlq_sent": 1, "duplicates": 0, "retries": 0, "interval_ms": 1000})
        };
        for line in [
            log_line("2026-01-01T00:00:00.000Z", LogKind::Started, serde_json::json!({})),
            log_line("2026-01-01T00:00:30.000Z", LogKind::Metrics, metrics(10)),
            // Killed without a stop entry, then restarted: 10 and 1 are kept.
            log_line("2026-01-01T00:01:00.000Z", LogKind::Started, serde_json::json!({})),
            log_line("2026-01-01T00:01:30.000Z", LogKind::Metrics, metrics(4)),
        ] {
            aggregator.ingest_log_line("i", &line, now);
        }
        let summary = aggregator.snapshot(time("2026-01-01T00:01:31Z"));
        assert_eq!((summary.totals.processed, summary.totals.failed), (14, 2));
        assert_eq!(summary.instances[0].status, InstanceStatus::Alive);
        let stale = aggregator.snapshot(time("2026-01-01T00:01:33Z"));
        assert_eq!(stale.instances[0].status, InstanceStatus::Stale, "two 1 s intervals without a line");
        let stop = serde_json::json!({"total_messages_processed": 6, "total_messages_failed": 1});
        aggregator.ingest_log_line("i", &log_line("2026-01-01T00:01:40.000Z", LogKind::Stopped, stop), now);
        let stopped = aggregator.snapshot(time("2026-01-01T00:01:41Z"));
        assert_eq!(stopped.instances[0].status, InstanceStatus::Stopped);
        assert_eq!(stopped.totals.processed, 16);
    }

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let now = time("2026-01-01T00:00:00Z");
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        aggregator.ingest_events_line("i", b"\xff\xfe not json", now);
        aggregator.ingest_events_line("i", b"[1, 2]", now);
        aggregator.ingest_log_line("i", b"{\"level\": 3}", now);
        aggregator.ingest_producer_line(b"nope", now);
        aggregator.ingest_events_line("i", b"{\"timestamp\": \"2026-01-01T00:00:00.000Z\"}", now);
        aggregator.ingest_events_line("i", b"{\"bad utf8\": \"\xff\xfe\"}", now);
        let summary = aggregator.snapshot(now);
        assert_eq!(summary.messages.received, 0, "a JSON object without the audit fields is no message");
        assert_eq!(summary.malformed_lines, MalformedCounts { events: 4, log: 1, producer: 1, too_long: 0 });
    }

    #[test]
    fn a_metrics_entry_without_its_counters_is_malformed_and_changes_nothing() {
        let now = time("2026-01-01T00:00:10Z");
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        let whole = serde_json::json!({"messages_received": 5, "messages_processed": 4, "messages_failed": 1,
            "dlq_sent": 1, "duplicates": 0, "retries": 2, "interval_ms": 1000});
        aggregator.ingest_log_line("i", &log_line("2026-01-01T00:00:01.000Z", LogKind::Metrics, whole), now);
        for metadata in [
            serde_json::json!({}),
            serde_json::json!({"messages_processed": 0, "messages_failed": 0}),
            serde_json::json!({"messages_received": "9", "messages_processed": 9, "messages_failed": 0,
                "dlq_sent": 0, "duplicates": 0, "retries": 0}),
        ] {
            aggregator.ingest_log_line(
                "i",
                &log_line("2026-01-01T00:00:02.000Z", LogKind::Metrics, metadata),
                now,
            );
        }
        let summary = aggregator.snapshot(now);
        assert_eq!(summary.malformed_lines.log, 3);
        let totals = &summary.totals;
        assert_eq!((totals.received, totals.processed, totals.failed, totals.retries), (5, 4, 1, 2));
        let last = summary.instances[0].last_metrics.as_ref().unwrap();
        assert_eq!(last.success_rate_percent, None, "not written, not shown as 0");
    }

    #[test]
    fn rate_window_uses_line_times_and_can_be_reset() {
        let mut aggregator =
            Aggregator::new(AggregatorConfig { chart_secs: 60, ..AggregatorConfig::default() });
        let now = time("2026-01-01T00:01:00Z");
        for second in 40..60 {
            for _ in 0..3 {
                let line = audit_line(&format!("2026-01-01T00:00:{second:02}.500Z"), "{}");
                aggregator.ingest_events_line("i", line.as_bytes(), now);
            }
        }
        let summary = aggregator.snapshot(now);
        assert_eq!(summary.totals.messages_per_second_now, 3.0);
        assert_eq!(summary.throughput_per_second.len(), 60);
        assert_eq!(summary.throughput_per_second[59], 3);
        assert_eq!(summary.throughput_per_second[0], 0);
        aggregator.reset_rate_window(time("2026-01-01T00:00:55Z"));
        let summary = aggregator.snapshot(now);
        assert_eq!(summary.totals.messages_per_second_now, 3.0, "5 s of 3 lines since the reset");
        assert_eq!(summary.throughput_per_second[54], 0, "the chart starts at the reset");
        aggregator.reset_rate_window(now);
        assert_eq!(aggregator.snapshot(now).totals.messages_per_second_now, 0.0);
    }

    #[test]
    fn memory_stays_bounded() {
        let config = AggregatorConfig { latest_orders: 3, latest_problems: 2, ..AggregatorConfig::default() };
        let mut aggregator = Aggregator::new(config);
        let now = time("2026-01-01T00:00:00Z");
        for index in 0..100 {
            let line = audit_line(
                "2026-01-01T00:00:00.000Z",
                &format!(
                    "\"status\":\"s{index}\",\"order_id\":\"o{index}\",\
                     \"order_full\":{{\"total_cents\":1,\"customer\":{{\"customer_id\":\"c{index}\"}}}}"
                ),
            );
            aggregator.ingest_events_line(&format!("instance-{index}"), line.as_bytes(), now);
            let problem = format!("{{\"level\":\"WARN\",\"kind\":\"k{index}\",\"message\":\"m\"}}");
            aggregator.ingest_log_line("i", problem.as_bytes(), now);
        }
        let summary = aggregator.snapshot(now);
        assert_eq!(summary.latest_orders.len(), 3);
        assert_eq!(summary.latest_problems.len(), 2);
        assert_eq!(summary.business.orders_by_status.len(), MAX_STATUSES + 1, "the rest as (other)");
        let other = summary.business.orders_by_status.iter().find(|s| s.name == "(other)").unwrap();
        assert_eq!(other.orders, 100 - MAX_STATUSES as u64);
    }

    #[test]
    fn cutting_raw_message_keeps_the_needed_fields() {
        let line = br#"{"timestamp":"t","raw_message":"{\"deserialized\":false,\"message_size\":1}","raw_message_base64":null,"message_size":5,"deserialized":true,"order_full":null}"#;
        let mut scratch = Vec::new();
        let cut = cut_raw_message(line, &mut scratch).unwrap();
        assert_eq!(cut, br#"{"timestamp":"t","message_size":5,"deserialized":true,"order_full":null}"#);
        let other_order = br#"{"deserialized":true,"raw_message":"x","message_size":1}"#;
        assert!(cut_raw_message(other_order, &mut scratch).is_none(), "parsed whole instead");
        let now = time("2026-01-01T00:00:00Z");
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        aggregator.ingest_events_line("i", other_order, now);
        aggregator.ingest_events_line("i", line, now);
        assert_eq!(aggregator.snapshot(now).messages.invalid, 0);
    }
}
