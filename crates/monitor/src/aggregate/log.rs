//! Reading `.log` lines (runs, assignments, metrics, stops, dead letters, warnings and errors)
//! and `producer.log` lines.

use chrono::{DateTime, Utc};
use models::health::{DlqSent, PartitionsAssigned, PartitionsRevoked};
use serde_json::value::RawValue;

use super::counters::{Counters, Instance, Producer};
use super::lines::{kind_from_metadata, parse_metrics, parse_stop, text, LogLine, MetricsEntry};
use super::{
    format_ms, kept, parse_timestamp_ms, push_ring, shorten, Aggregator, DeadLetterRow, LastMetrics,
    LeaderChange, ProblemRow, DEFAULT_METRICS_INTERVAL_MS, LAST_ERRORS, MAX_ERROR_TEXT_BYTES,
    MAX_LEADER_CHANGES, MAX_STATUSES, SAME_LEADER_CHANGE_MS,
};

impl Aggregator {
    pub fn ingest_log_line(&mut self, instance_id: &str, line: &[u8], now: DateTime<Utc>) {
        self.ingest_log(instance_id, line, now.timestamp_millis());
    }

    /// One `.log` line of `instance_id`, in steps: read the entry and what its kind carries
    /// ([`Carried::of`]: a metrics or stop entry that does not parse changes nothing), note a
    /// dead letter and a problem, count the kind, then apply it to the instance
    /// ([`Instance::apply`]) and keep the leader changes it reveals.
    pub(super) fn ingest_log(&mut self, instance_id: &str, line: &[u8], now_ms: i64) {
        let Ok(entry) = serde_json::from_slice::<LogLine<'_>>(line) else {
            self.malformed.log += 1;
            return;
        };
        let time_ms = text(&entry.timestamp).and_then(parse_timestamp_ms);
        let metadata = entry.metadata.map_or("{}", RawValue::get);
        // The Go tracker of the seed documents writes no `kind`: its entries are told by their
        // metadata.
        let kind = match text(&entry.kind) {
            Some(kind) => kind,
            None => kind_from_metadata(metadata).unwrap_or(""),
        };
        let Some(carried) = Carried::of(kind, metadata) else {
            self.malformed.log += 1;
            return;
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
        instance.count_kind(kind);
        let at = EntryTime { timestamp: text(&entry.timestamp).unwrap_or(""), time_ms, now_ms };
        let changes = instance.apply(kind, metadata, carried, &at, instance_id);
        self.record_leader_changes(changes);
    }

    /// Leader changes an instance saw between two of its metrics entries, kept in time order
    /// (the files are read one after the other, not in time order); the same change seen by
    /// two instances (the partition moved between them) is kept once.
    fn record_leader_changes(&mut self, changes: Vec<LeaderChange>) {
        for change in changes {
            let same = |seen: &LeaderChange| {
                (seen.partition, seen.from, seen.to) == (change.partition, change.from, change.to)
                    && (seen.time_ms - change.time_ms).abs() < SAME_LEADER_CHANGE_MS
            };
            if self.leader_changes.iter().any(same) {
                continue;
            }
            let at = self.leader_changes.partition_point(|seen| seen.time_ms <= change.time_ms);
            self.leader_changes.insert(at, change);
            if self.leader_changes.len() > MAX_LEADER_CHANGES {
                self.leader_changes.remove(0);
            }
        }
    }

    /// A `dlq_sent` entry. Its metadata reads leniently (absent fields as empty, like files of
    /// older versions): the dead letter was acknowledged whatever else the entry says.
    fn record_dead_letter(&mut self, instance_id: &str, entry: &LogLine<'_>, metadata: &str, time_ms: i64) {
        let sent: DlqSent = serde_json::from_str(metadata).unwrap_or_default();
        let row = DeadLetterRow {
            timestamp: text(&entry.timestamp)
                .map_or_else(|| format_ms(time_ms), |time| kept(time).into_owned()),
            instance_id: instance_id.to_owned(),
            error_kind: if sent.error_kind.is_empty() {
                "(unknown)".to_owned()
            } else {
                kept(&sent.error_kind).into_owned()
            },
            reason: text(&entry.error).map(|reason| shorten(reason, MAX_ERROR_TEXT_BYTES)),
            original_topic: kept(&sent.message.topic).into_owned(),
            original_partition: sent.message.partition,
            original_offset: sent.message.offset,
            dlq_topic: kept(&sent.dlq_topic).into_owned(),
            dlq_partition: sent.dlq_partition,
            dlq_offset: sent.dlq_offset,
            attempts: sent.attempts,
            kafka_key: sent.kafka_key.map(|key| kept(&key).into_owned()),
            event_id: sent.event_id.map(|id| id.to_string()),
            redrive_count: sent.redrive_count,
            cluster_id: sent.cluster_id.map(|id| kept(&id).into_owned()),
        };
        self.dead_letters.dead_letter(row, self.config.latest_dead_letters);
    }

    fn record_problem(&mut self, instance_id: &str, entry: &LogLine<'_>, level: &str, time_ms: i64) {
        let row = ProblemRow {
            timestamp: text(&entry.timestamp)
                .map_or_else(|| format_ms(time_ms), |time| kept(time).into_owned()),
            instance_id: instance_id.to_owned(),
            level: kept(level).into_owned(),
            kind: kept(text(&entry.kind).unwrap_or("")).into_owned(),
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
}

/// What a `.log` entry carries that must parse whole, or the entry changes nothing.
// One value lives on the stack for the reading of one line and is never stored: a box would
// only add an allocation per metrics entry.
#[allow(clippy::large_enum_variant)]
enum Carried {
    /// A `metrics` entry's counters and figures.
    Metrics(MetricsEntry),
    /// A `stopped` entry's counters and uptime.
    Stop(Counters, Option<f64>),
    /// Any other kind: nothing that must parse.
    Nothing,
}

impl Carried {
    /// What an entry of `kind` carries in `metadata`; `None` when it does not parse (a
    /// malformed line).
    fn of(kind: &str, metadata: &str) -> Option<Carried> {
        match kind {
            "metrics" => parse_metrics(metadata).map(Carried::Metrics),
            "stopped" => parse_stop(metadata).map(|(counters, uptime)| Carried::Stop(counters, uptime)),
            _ => Some(Carried::Nothing),
        }
    }
}

/// When an entry was written, as the instance's figures keep it.
struct EntryTime<'a> {
    /// The entry's `timestamp` as written ("" when it has none).
    timestamp: &'a str,
    /// That timestamp, when it parses.
    time_ms: Option<i64>,
    /// The time of reading, for an entry without one.
    now_ms: i64,
}

impl Instance {
    /// Counts an entry of `kind` (kinds past [`MAX_STATUSES`] count as `(other)`).
    fn count_kind(&mut self, kind: &str) {
        if kind.is_empty() {
            return;
        }
        let room = self.log_kinds.len() < MAX_STATUSES;
        match self.log_kinds.get_mut(kind) {
            Some(count) => *count += 1,
            None if room => {
                self.log_kinds.insert(kept(kind).into_owned(), 1);
            }
            None => *self.log_kinds.entry("(other)".to_owned()).or_default() += 1,
        }
    }

    /// Applies an entry of `kind`; returns the leader changes a metrics entry reveals.
    fn apply(
        &mut self,
        kind: &str,
        metadata: &str,
        carried: Carried,
        at: &EntryTime<'_>,
        instance_id: &str,
    ) -> Vec<LeaderChange> {
        match carried {
            Carried::Metrics(written) => return self.apply_metrics(written, at, instance_id),
            Carried::Stop(counters, uptime_seconds) => self.stop(counters, uptime_seconds, at.time_ms),
            Carried::Nothing => match kind {
                "started" => self.start_run(at.time_ms),
                "kafka_initialised" => {
                    let initialised: Option<models::health::KafkaInitialised> =
                        serde_json::from_str(metadata).ok();
                    self.processing =
                        initialised.and_then(|entry| entry.processing).map(|mode| kept(&mode).into_owned());
                }
                "partitions_assigned" => {
                    let change: PartitionsAssigned = serde_json::from_str(metadata).unwrap_or_default();
                    self.partitions = change.partitions;
                    self.partitions.sort_unstable();
                }
                "partitions_revoked" => {
                    let change: PartitionsRevoked = serde_json::from_str(metadata).unwrap_or_default();
                    self.partitions.retain(|partition| !change.partitions.contains(partition));
                    self.partition_metrics.retain(|p| !change.partitions.contains(&p.partition));
                }
                _ => {}
            },
        }
        Vec::new()
    }

    /// A `started` entry: the counters so far belong to earlier runs.
    fn start_run(&mut self, time_ms: Option<i64>) {
        self.earlier_runs = self.counters();
        self.current_run = Counters::ZERO;
        self.runs += 1;
        self.stopped = false;
        self.partitions.clear();
        self.lag = None;
        self.lag_time_ms = None;
        self.counters_time_ms = time_ms;
        self.partition_metrics.clear();
    }

    /// A `stopped` entry: its counters are the run's last (the retries are not among them).
    fn stop(&mut self, counters: Counters, uptime_seconds: Option<f64>, time_ms: Option<i64>) {
        self.current_run = Counters { retries: self.current_run.retries, ..counters };
        self.counters_time_ms = time_ms;
        self.uptime_seconds = uptime_seconds.or(self.uptime_seconds);
        self.stopped = true;
        self.partitions.clear();
        self.lag = None;
        self.lag_time_ms = None;
        self.partition_metrics.clear();
    }

    /// A `metrics` entry: the run's counters, lag and figures; returns the partitions whose
    /// leader moved since this instance's previous entry listing them.
    fn apply_metrics(
        &mut self,
        written: MetricsEntry,
        at: &EntryTime<'_>,
        instance_id: &str,
    ) -> Vec<LeaderChange> {
        let metrics = &written.metrics;
        let time_ms = at.time_ms;
        self.current_run = written.counters;
        self.counters_time_ms = time_ms;
        self.lag = metrics.total_lag.or_else(|| {
            let lags: Vec<i64> = metrics.partitions.iter().filter_map(|p| p.lag).collect();
            (!lags.is_empty()).then(|| super::saturating_sum(&lags))
        });
        self.lag_time_ms = time_ms;
        self.uptime_seconds = written.uptime_seconds;
        self.metrics_interval_ms =
            Some(metrics.interval_ms).filter(|&ms| ms > 0).unwrap_or(DEFAULT_METRICS_INTERVAL_MS);
        self.stopped = false;
        self.partition_metrics = metrics.partitions.clone();
        self.min_insync_replicas = metrics.min_insync_replicas;
        self.brokers.clone_from(&metrics.brokers);
        let mut changes = Vec::new();
        for partition in &metrics.partitions {
            let Some(leader) = partition.leader else { continue };
            let before = self.leaders.insert(partition.partition, leader);
            if let Some(from) = before.filter(|&from| from != leader) {
                changes.push(LeaderChange {
                    time: time_ms.map(format_ms).unwrap_or_default(),
                    time_ms: time_ms.unwrap_or(at.now_ms),
                    partition: partition.partition,
                    from,
                    to: leader,
                    instance_id: instance_id.to_owned(),
                });
            }
        }
        self.last_metrics = Some(LastMetrics {
            timestamp: kept(at.timestamp).into_owned(),
            uptime_seconds: written.uptime_seconds,
            messages_received: written.counters.received,
            messages_processed: written.counters.processed,
            messages_failed: written.counters.failed,
            success_rate_percent: written.success_rate_percent,
            messages_per_second: written.messages_per_second,
            total_lag: metrics.total_lag,
            retries: written.counters.retries,
            dlq_sent: written.counters.dlq_sent,
            duplicates: written.counters.duplicates,
            partitions: metrics.partitions.iter().map(|p| p.partition).collect(),
            latency_samples: metrics.latency_samples,
            latency_p50_ms: metrics.latency_p50_ms,
            latency_p99_ms: metrics.latency_p99_ms,
            latency_max_ms: metrics.latency_max_ms,
        });
        changes
    }
}
