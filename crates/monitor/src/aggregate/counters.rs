//! Counters kept per instance and over all lines: per-second buckets for rates, a tracker
//! run's counters, what is known of one instance, the producer, and malformed lines.

use std::collections::BTreeMap;

use serde::Serialize;

use super::LastMetrics;

use super::{DEFAULT_METRICS_INTERVAL_MS, RATE_WINDOW_SECS};

/// Per-second line counts over the last `len` seconds, as a ring.
#[derive(Debug, Clone)]
pub(super) struct SecondBuckets {
    /// `(epoch second, count)`; `i64::MIN` marks an unused slot.
    pub(super) slots: Vec<(i64, u64)>,
}

impl SecondBuckets {
    pub(super) fn new(len: usize) -> Self {
        SecondBuckets { slots: vec![(i64::MIN, 0); len.max(1)] }
    }

    pub(super) fn slot_index(&self, second: i64) -> usize {
        // rem_euclid of a positive length is in 0..len, which fits in usize.
        second.rem_euclid(self.slots.len() as i64) as usize
    }

    pub(super) fn add(&mut self, second: i64) {
        let index = self.slot_index(second);
        let slot = &mut self.slots[index];
        if slot.0 == second {
            slot.1 += 1;
        } else if slot.0 < second {
            *slot = (second, 1);
        }
        // Older than what the slot holds: outside the window, counted in totals only.
    }

    pub(super) fn count(&self, second: i64) -> u64 {
        let slot = self.slots[self.slot_index(second)];
        if slot.0 == second {
            slot.1
        } else {
            0
        }
    }

    /// Lines per second over `[from, to)`, 0 for an empty range.
    pub(super) fn rate(&self, from: i64, to: i64) -> f64 {
        let from = from.max(to - self.slots.len() as i64);
        if to <= from {
            return 0.0;
        }
        let sum: u64 = (from..to).map(|second| self.count(second)).sum();
        sum as f64 / (to - from) as f64
    }
}

/// Counters of one tracker run, as its metrics and stop entries report them. `None` is
/// unknown: the entry did not carry that counter (an older tracker, or another implementation
/// of the file contract such as the Go tracker of the seed documents, whose metrics have no
/// `dlq_sent`, `duplicates` or `retries`). Shown as `-` in text and `null` in JSON, never as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Messages received by the tracker (each gets one `.events` line).
    pub received: Option<u64>,
    /// Messages processed successfully.
    pub processed: Option<u64>,
    /// Messages that failed for good.
    pub failed: Option<u64>,
    /// Messages sent to the dead-letter topic.
    pub dlq_sent: Option<u64>,
    /// Duplicate deliveries skipped.
    pub duplicates: Option<u64>,
    /// Transient failures tried again.
    pub retries: Option<u64>,
}

impl Counters {
    /// Every counter 0: a run before its first metrics entry.
    pub const ZERO: Counters = Counters {
        received: Some(0),
        processed: Some(0),
        failed: Some(0),
        dlq_sent: Some(0),
        duplicates: Some(0),
        retries: Some(0),
    };

    /// Received but not finished: `received - processed - failed - duplicates` (0 when a
    /// tracker's counters do not add up, which they should); unknown when one of them is.
    pub fn in_flight(&self) -> Option<u64> {
        let finished = self.processed?.saturating_add(self.failed?).saturating_add(self.duplicates?);
        Some(self.received?.saturating_sub(finished))
    }

    /// The sum, each counter saturating (the figures come from files and may be anything), and
    /// unknown when it is unknown on either side.
    pub(super) fn plus(self, other: Counters) -> Counters {
        let add = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_add(b?));
        Counters {
            received: add(self.received, other.received),
            processed: add(self.processed, other.processed),
            failed: add(self.failed, other.failed),
            dlq_sent: add(self.dlq_sent, other.dlq_sent),
            duplicates: add(self.duplicates, other.duplicates),
            retries: add(self.retries, other.retries),
        }
    }
}

/// What the aggregator knows about one tracker instance.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub(super) partitions: Vec<i32>,
    pub(super) received: u64,
    /// Lines whose payload did not deserialize.
    pub(super) undeserializable: u64,
    /// Lines that deserialized but broke a business rule.
    pub(super) validation_errors: u64,
    pub(super) invalid: u64,
    /// `.log` entries per kind.
    pub(super) log_kinds: BTreeMap<String, u64>,
    /// `tracker.processing` from the latest `kafka_initialised` entry.
    pub(super) processing: Option<String>,
    /// Time of the metrics or stop entry `current_run` comes from.
    pub(super) counters_time_ms: Option<i64>,
    /// The latest metrics entry, as written.
    pub(super) last_metrics: Option<LastMetrics>,
    pub(super) earlier_runs: Counters,
    pub(super) current_run: Counters,
    pub(super) runs: u32,
    pub(super) lag: Option<i64>,
    /// Time of the metrics entry `lag` comes from.
    pub(super) lag_time_ms: Option<i64>,
    /// Per-partition figures of the latest metrics entry of the current run.
    pub(super) partition_metrics: Vec<models::health::PartitionMetrics>,
    /// The topic's `min.insync.replicas` in the latest metrics entry.
    pub(super) min_insync_replicas: Option<u32>,
    /// Per partition, the leader this instance's latest metrics entry listing it reported.
    pub(super) leaders: BTreeMap<i32, i32>,
    /// The broker connections of the latest metrics entry of the current run.
    pub(super) brokers: Option<Vec<models::health::BrokerConnection>>,
    pub(super) uptime_seconds: Option<f64>,
    pub(super) last_seen_ms: Option<i64>,
    pub(super) metrics_interval_ms: u64,
    pub(super) stopped: bool,
    pub(super) per_second: SecondBuckets,
}

impl Instance {
    pub(super) fn new() -> Self {
        Instance {
            partitions: Vec::new(),
            received: 0,
            undeserializable: 0,
            validation_errors: 0,
            invalid: 0,
            log_kinds: BTreeMap::new(),
            processing: None,
            counters_time_ms: None,
            last_metrics: None,
            earlier_runs: Counters::ZERO,
            current_run: Counters::ZERO,
            runs: 0,
            lag: None,
            lag_time_ms: None,
            partition_metrics: Vec::new(),
            min_insync_replicas: None,
            leaders: BTreeMap::new(),
            brokers: None,
            uptime_seconds: None,
            last_seen_ms: None,
            metrics_interval_ms: DEFAULT_METRICS_INTERVAL_MS,
            stopped: false,
            per_second: SecondBuckets::new(RATE_WINDOW_SECS as usize * 2),
        }
    }

    pub(super) fn seen(&mut self, time_ms: Option<i64>) {
        if let Some(time) = time_ms {
            self.last_seen_ms = Some(self.last_seen_ms.map_or(time, |seen| seen.max(time)));
        }
    }

    pub(super) fn counters(&self) -> Counters {
        self.earlier_runs.plus(self.current_run)
    }
}

#[derive(Debug, Default, Clone)]
pub(super) struct Producer {
    pub(super) lines: u64,
    pub(super) events_per_second: Option<f64>,
    pub(super) acknowledged: Option<u64>,
    pub(super) last_seen_ms: Option<i64>,
}

/// Lines that could not be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MalformedCounts {
    /// `.events` lines that are not a JSON object of the expected shape.
    pub events: u64,
    /// `.log` lines that are not a JSON object of the expected shape.
    pub log: u64,
    /// `producer.log` lines that are not JSON.
    pub producer: u64,
    /// Lines dropped because they exceeded the line-length limit.
    pub too_long: u64,
}
