//! Counters of one tracker run and the periodic metrics entry built from them, with the
//! end-to-end latency of the last interval in a fixed-size histogram ([`models::latency`]).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use models::health::{success_rate_percent, BrokerConnection, Metrics, PartitionMetrics, StopSummary};
use models::latency::LatencyHistogram;

/// What one run has done so far.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// Messages received (one `.events` line each).
    pub received: u64,
    /// Processed successfully.
    pub processed: u64,
    /// Failed for good (dead-lettered, or dropped when the DLQ is off).
    pub failed: u64,
    /// Transient failures tried again.
    pub retries: u64,
    /// Acknowledged by the dead-letter topic.
    pub dlq_sent: u64,
    /// Duplicate deliveries skipped.
    pub duplicates: u64,
    /// Events older in the lifecycle than what their order already reached.
    pub out_of_order: u64,
    /// Revenue of processed new orders, in cents.
    pub revenue_cents: i64,
    /// Reception time of the last message.
    pub last_message_time: Option<DateTime<Utc>>,
    /// Offset of the last message finished, any partition.
    pub last_processed_offset: Option<i64>,
    /// End-to-end latencies (event `timestamp` → audit line written) since the last metrics
    /// entry.
    pub latency: LatencyHistogram,
}

/// Offsets the consumer knows for one partition (see `TrackerContext::partition_offsets` for
/// where each comes from).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// Committed offset (next to read), if any.
    pub committed: Option<i64>,
    /// High watermark, if known.
    pub high_watermark: Option<i64>,
}

/// What the client knows of the cluster at a metrics entry.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// Per partition: leader, replicas, in-sync replicas (`None`: the metadata did not come).
    pub replication: Option<BTreeMap<i32, crate::cluster::Replication>>,
    /// The topic's `min.insync.replicas`, if the cluster said.
    pub min_insync_replicas: Option<u32>,
    /// The client's connection to each broker.
    pub brokers: Option<Vec<BrokerConnection>>,
}

impl ClusterView {
    /// Writes the view into a metrics entry: each listed partition's replication, the setting
    /// and the broker connections.
    pub fn add_to(self, metrics: &mut Metrics) {
        for partition in &mut metrics.partitions {
            let known = self.replication.as_ref().and_then(|all| all.get(&partition.partition));
            partition.leader = known.map(|r| r.leader);
            partition.replicas = known.map(|r| r.replicas.clone());
            partition.in_sync_replicas = known.map(|r| r.in_sync_replicas.clone());
        }
        metrics.min_insync_replicas = self.min_insync_replicas;
        metrics.brokers = self.brokers;
    }
}

/// Receptions counted at the previous metrics entry, for the rate over the last interval.
#[derive(Debug, Clone, Copy)]
pub struct RateWindow {
    received: u64,
    at: Instant,
}

impl RateWindow {
    /// A window starting now with nothing received.
    pub fn start(at: Instant) -> Self {
        Self { received: 0, at }
    }

    /// Messages per second since the last call, then starts a new window.
    pub fn advance(&mut self, received: u64, now: Instant) -> f64 {
        let seconds = now.duration_since(self.at).as_secs_f64();
        let rate = if seconds > 0.0 { (received - self.received) as f64 / seconds } else { 0.0 };
        *self = Self { received, at: now };
        round2(rate)
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl Counters {
    /// The metrics entry's metadata; `interval_ms` says when the next one is due. `last_finished`
    /// is, per assigned partition, the last offset finished since it was assigned (a partition
    /// that was revoked and came back has none until a new message is finished). Starts a new
    /// latency interval.
    pub fn metrics(
        &mut self,
        interval_ms: u64,
        uptime_seconds: f64,
        rate_last_interval: f64,
        assignment: &[i32],
        offsets: &BTreeMap<i32, PartitionOffsets>,
        last_finished: &BTreeMap<i32, i64>,
    ) -> Metrics {
        let latency = self.latency.figures();
        self.latency.clear();
        let partitions: Vec<PartitionMetrics> = assignment
            .iter()
            .map(|&partition| {
                let known = offsets.get(&partition).copied().unwrap_or_default();
                let last_processed_offset = last_finished.get(&partition).copied();
                // Position: the next offset this consumer will handle.
                let position = last_processed_offset.map(|offset| offset + 1).or(known.committed);
                // The high watermark can trail (statistics before the first fetch) and reads low
                // on Tansu; the partition holds at least what this consumer handled,
                // so a figure below the position is raised to it: a metrics entry never says
                // it processed past the end of the partition.
                let high_watermark = match (known.high_watermark, position) {
                    (Some(high), Some(position)) => Some(high.max(position)),
                    (high, _) => high,
                };
                let lag = match (high_watermark, position) {
                    (Some(high), Some(position)) => Some((high - position).max(0)),
                    (Some(high), None) => Some(high),
                    _ => None,
                };
                PartitionMetrics {
                    partition,
                    committed_offset: known.committed,
                    high_watermark,
                    lag,
                    last_processed_offset,
                    ..PartitionMetrics::default()
                }
            })
            .collect();
        let total_lag = partitions.iter().map(|p| p.lag).sum::<Option<i64>>();
        Metrics {
            uptime_seconds: round2(uptime_seconds),
            messages_received: self.received,
            messages_processed: self.processed,
            messages_failed: self.failed,
            success_rate_percent: success_rate_percent(self.processed, self.failed),
            messages_per_second: rate_last_interval,
            messages_per_second_lifetime: if uptime_seconds > 0.0 {
                round2(self.received as f64 / uptime_seconds)
            } else {
                0.0
            },
            last_message_time: self.last_message_time.map(models::format_timestamp),
            last_processed_offset: self.last_processed_offset,
            retries: self.retries,
            dlq_sent: self.dlq_sent,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            revenue_cents: self.revenue_cents,
            total_lag,
            partitions,
            interval_ms,
            latency_samples: latency.samples,
            latency_p50_ms: latency.p50_ms,
            latency_p99_ms: latency.p99_ms,
            latency_max_ms: latency.max_ms,
            latency_negative_samples: latency.negative_samples,
            min_insync_replicas: None,
            brokers: None,
        }
    }

    /// The stop entry's metadata.
    pub fn stop_summary(
        &self,
        signal: &str,
        uptime_seconds: f64,
        shutdown_time: DateTime<Utc>,
    ) -> StopSummary {
        StopSummary {
            signal: signal.to_owned(),
            uptime_seconds: round2(uptime_seconds),
            total_messages_received: self.received,
            total_messages_processed: self.processed,
            total_messages_failed: self.failed,
            total_duplicates: self.duplicates,
            total_dlq_sent: self.dlq_sent,
            total_transactions_committed: None,
            total_transactions_aborted: None,
            final_success_rate_percent: success_rate_percent(self.processed, self.failed),
            shutdown_time: models::format_timestamp(shutdown_time),
        }
    }

    /// Notes that `offset` is finished (the per-partition figures are kept by
    /// [`crate::shared::Shared::last_finished`], which forgets revoked partitions).
    pub fn finished(&mut self, offset: i64) {
        self.last_processed_offset = Some(offset);
    }

    /// Counts the end-to-end latency of one event: from `emitted_at` (the event's `timestamp`)
    /// to `written_at` (its audit line's). A record `dlq redrive` sent back (`redrive_count` >
    /// 0) is left out: it keeps the time its event was first emitted, so its figure would be
    /// the dead-letter round trip (minutes, days), not the pipeline's latency.
    pub fn record_latency(
        &mut self,
        emitted_at: DateTime<Utc>,
        written_at: DateTime<Utc>,
        redrive_count: u32,
    ) {
        if redrive_count == 0 {
            self.latency.record((written_at - emitted_at).num_milliseconds());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rate_is_over_the_last_interval_only() {
        let start = Instant::now();
        let mut window = RateWindow::start(start);
        assert_eq!(window.advance(100, start + Duration::from_secs(10)), 10.0);
        assert_eq!(window.advance(100, start + Duration::from_secs(20)), 0.0, "idle interval");
        assert_eq!(window.advance(130, start + Duration::from_secs(30)), 3.0);
    }

    #[test]
    fn lag_is_high_watermark_minus_position() {
        let mut counters = Counters { received: 10, processed: 8, failed: 2, ..Counters::default() };
        counters.finished(41);
        let offsets = BTreeMap::from([
            (0, PartitionOffsets { committed: Some(40), high_watermark: Some(50) }),
            (1, PartitionOffsets { committed: Some(7), high_watermark: Some(9) }),
            (2, PartitionOffsets { committed: None, high_watermark: Some(5) }),
        ]);
        let last_finished = BTreeMap::from([(0, 41)]);
        let metrics = counters.metrics(1000, 10.0, 1.0, &[0, 1, 2], &offsets, &last_finished);
        let lags: Vec<_> = metrics.partitions.iter().map(|p| p.lag).collect();
        assert_eq!(lags, [Some(8), Some(2), Some(5)]);
        assert_eq!(metrics.total_lag, Some(15));
        assert_eq!(metrics.success_rate_percent, 80.0);
        assert_eq!(metrics.messages_per_second_lifetime, 1.0);
        assert_eq!(metrics.partitions[0].last_processed_offset, Some(41));
    }

    /// Seen in a real run: the statistics said 545 while offset 575 was already processed.
    #[test]
    fn a_stale_high_watermark_is_raised_to_the_position() {
        let offsets =
            BTreeMap::from([(0, PartitionOffsets { committed: Some(560), high_watermark: Some(545) })]);
        let last_finished = BTreeMap::from([(0, 575)]);
        let metrics = Counters::default().metrics(1000, 1.0, 0.0, &[0], &offsets, &last_finished);
        let partition = &metrics.partitions[0];
        assert_eq!((partition.high_watermark, partition.lag), (Some(576), Some(0)));
    }

    #[test]
    fn unknown_watermarks_give_unknown_lag() {
        let metrics = Counters::default().metrics(1000, 1.0, 0.0, &[0], &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(metrics.partitions[0].lag, None);
        assert_eq!(metrics.total_lag, None);
        assert_eq!(metrics.success_rate_percent, 100.0);
    }

    /// A partition taken by another instance and given back: its lag is measured from the
    /// committed offset (what the other instance reached), not from the last offset this
    /// instance finished before the revocation.
    #[test]
    fn a_partition_given_back_is_measured_from_its_committed_offset() {
        let mut offsets = crate::offsets::Offsets::default();
        offsets.assign(&[0]);
        offsets.receive(0, 41);
        offsets.finish(0, 41);
        offsets.revoke(&[0]);
        // Meanwhile another instance handled up to offset 59 and committed 60.
        offsets.assign(&[0]);
        let known = BTreeMap::from([(0, PartitionOffsets { committed: Some(60), high_watermark: Some(70) })]);
        let metrics = Counters::default().metrics(1000, 1.0, 0.0, &[0], &known, offsets.last_finished());
        assert_eq!(metrics.partitions[0].lag, Some(10), "70 - 60, not 70 - 42");
        assert_eq!(metrics.partitions[0].last_processed_offset, None);
    }

    #[test]
    fn latency_is_over_the_interval_only() {
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000 + ms).unwrap();
        let mut counters = Counters::default();
        for latency_ms in 1..=100 {
            counters.record_latency(at(0), at(latency_ms), 0);
        }
        counters.record_latency(at(5), at(0), 0);
        counters.record_latency(at(-3_600_000), at(0), 1);
        let metrics = counters.metrics(1000, 1.0, 0.0, &[], &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(
            (metrics.latency_samples, metrics.latency_p50_ms, metrics.latency_p99_ms, metrics.latency_max_ms),
            (100, Some(50), Some(99), Some(100))
        );
        assert_eq!(metrics.latency_negative_samples, 1, "dated 5 ms after its audit line: clock skew");
        assert_eq!(metrics.latency_max_ms, Some(100), "a redriven record's hour in the DLQ is not latency");
        let next = counters.metrics(1000, 2.0, 0.0, &[], &BTreeMap::new(), &BTreeMap::new());
        assert_eq!((next.latency_samples, next.latency_p99_ms), (0, None), "a new interval");
    }
}
