//! End-to-end latency from the `.events` lines: event `timestamp` (when the producer emitted
//! the event, the line's `event_timestamp`) to the line's own `timestamp` (when the tracker
//! wrote it).
//!
//! Samples go into one histogram per second of the audit lines' time, in a ring of
//! [`WINDOW_SECS`](super::WINDOW_SECS) seconds, and into one histogram over every line read.
//! The live figures merge the seconds of the sliding window; the chart takes each second's
//! p99. Memory is fixed: a histogram is [`models::latency::LatencyHistogram`]'s few hundred
//! counters, allocated only for seconds that had a line.

use models::latency::{LatencyFigures, LatencyHistogram};
use serde::Serialize;

/// Seconds of audit lines the live latency figures cover.
pub const LATENCY_WINDOW_SECS: i64 = 60;

/// Latency histograms per second of audit-line time, plus the whole run.
#[derive(Debug)]
pub(super) struct Latency {
    /// Every sample read.
    overall: LatencyHistogram,
    /// `(epoch second, histogram)`; `i64::MIN` marks an unused slot.
    seconds: Vec<(i64, Option<Box<LatencyHistogram>>)>,
}

impl Latency {
    /// Keeps per-second histograms over the last `window_secs` seconds.
    pub(super) fn new(window_secs: usize) -> Self {
        let mut seconds = Vec::new();
        seconds.resize_with(window_secs.max(1), || (i64::MIN, None));
        Latency { overall: LatencyHistogram::new(), seconds }
    }

    fn slot_index(&self, second: i64) -> usize {
        // rem_euclid of a positive length is in 0..len, which fits in usize.
        second.rem_euclid(self.seconds.len() as i64) as usize
    }

    /// One event emitted at `emitted_ms` whose audit line was written at `written_ms`.
    pub(super) fn record(&mut self, emitted_ms: i64, written_ms: i64) {
        let latency_ms = written_ms - emitted_ms;
        self.overall.record(latency_ms);
        let second = written_ms.div_euclid(1000);
        let index = self.slot_index(second);
        let (slot_second, histogram) = &mut self.seconds[index];
        if *slot_second > second {
            // Older than what the slot holds: outside the window, in the overall figures only.
            return;
        }
        let histogram = histogram.get_or_insert_with(Default::default);
        if *slot_second < second {
            histogram.clear();
            *slot_second = second;
        }
        histogram.record(latency_ms);
    }

    fn histogram(&self, second: i64) -> Option<&LatencyHistogram> {
        match &self.seconds[self.slot_index(second)] {
            (slot_second, Some(histogram)) if *slot_second == second => Some(histogram),
            _ => None,
        }
    }

    /// The figures over the seconds `[from, to)` (at most the ring's length back from `to`).
    pub(super) fn window(&self, from: i64, to: i64) -> LatencyFigures {
        let from = from.max(to - self.seconds.len() as i64);
        let mut merged = LatencyHistogram::new();
        for second in from..to {
            if let Some(histogram) = self.histogram(second) {
                merged.merge(histogram);
            }
        }
        merged.figures()
    }

    /// The p99 of each second of `[from, to)`, oldest first; `None` for a second without
    /// samples or before `counted_from`.
    pub(super) fn p99_per_second(&self, from: i64, to: i64, counted_from: i64) -> Vec<Option<u64>> {
        (from..to)
            .map(|second| {
                if second < counted_from {
                    return None;
                }
                self.histogram(second).and_then(|histogram| histogram.percentile(99.0))
            })
            .collect()
    }

    /// The figures over every line read.
    pub(super) fn overall(&self) -> LatencyFigures {
        self.overall.figures()
    }
}

/// End-to-end latency, event `timestamp` → audit line written, from the `.events` lines that
/// carry both (parsed events).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Seconds of audit lines `window` covers (complete seconds before the summary time).
    pub window_seconds: i64,
    /// Over the audit lines of the last `window_seconds` seconds.
    pub window: LatencyFigures,
    /// Over every audit line read.
    pub overall: LatencyFigures,
    /// p99 per second of audit-line time over the chart window, oldest first, ending before
    /// the summary time; `None` for a second without samples (for the chart; left out of the
    /// JSON).
    #[serde(skip)]
    pub p99_per_second_ms: Vec<Option<u64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn the_window_keeps_the_last_seconds_only() {
        let mut latency = Latency::new(600);
        // Second 0: 100 samples 1..=100 ms. Second 70: one sample of 7 ms.
        for ms in 1..=100 {
            latency.record(T0 + 500 - ms, T0 + 500);
        }
        latency.record(T0 + 70_000, T0 + 70_007);
        let now_second = T0 / 1000 + 71;
        let window = latency.window(now_second - LATENCY_WINDOW_SECS, now_second);
        assert_eq!(
            window,
            LatencyFigures {
                samples: 1,
                p50_ms: Some(7),
                p99_ms: Some(7),
                max_ms: Some(7),
                negative_samples: 0
            },
            "second 0 is 71 s old"
        );
        let overall = latency.overall();
        assert_eq!(
            (overall.samples, overall.p50_ms, overall.p99_ms, overall.max_ms),
            (101, Some(50), Some(99), Some(100))
        );
        let wide = latency.window(now_second - 71, now_second);
        assert_eq!(wide.samples, 101);
    }

    #[test]
    fn p99_per_second_for_the_chart() {
        let mut latency = Latency::new(600);
        let second = T0 / 1000;
        for ms in [10, 20, 30] {
            latency.record(T0 - ms, T0);
        }
        latency.record(T0 + 2000 - 400, T0 + 2000);
        assert_eq!(latency.p99_per_second(second, second + 3, second), [Some(30), None, Some(400)]);
        assert_eq!(latency.p99_per_second(second, second + 3, second + 1), [None, None, Some(400)], "reset");
    }

    #[test]
    fn a_slot_reused_after_the_ring_wrapped_starts_empty() {
        let mut latency = Latency::new(10);
        latency.record(T0 - 900, T0);
        latency.record(T0 + 10_000 - 5, T0 + 10_000);
        let second = T0 / 1000 + 10;
        assert_eq!(latency.window(second, second + 1).max_ms, Some(5), "not 900 of ten seconds before");
        latency.record(T0 - 3, T0);
        assert_eq!(latency.window(second, second + 1).samples, 1, "a late line of an old second");
        assert_eq!(latency.overall().samples, 3);
    }

    #[test]
    fn the_summary_reads_latency_from_the_audit_lines() {
        use crate::aggregate::{Aggregator, AggregatorConfig};
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:02:00Z").unwrap().to_utc();
        let mut aggregator =
            Aggregator::new(AggregatorConfig { chart_secs: 120, ..AggregatorConfig::default() });
        let line = |written: &str, emitted: Option<&str>| {
            let emitted = emitted.map_or("null".to_owned(), |e| format!("\"{e}\""));
            format!(
                "{{\"timestamp\":\"{written}\",\"kafka_topic\":\"orders\",\"kafka_partition\":0,\
                 \"kafka_offset\":0,\"deserialized\":true,\"event_timestamp\":{emitted}}}"
            )
        };
        for line in [
            // 70 s before now: in the overall figures, outside the 60 s window.
            line("2026-01-01T00:00:50.900Z", Some("2026-01-01T00:00:50.000Z")),
            line("2026-01-01T00:01:30.040Z", Some("2026-01-01T00:01:30.000Z")),
            line("2026-01-01T00:01:30.100Z", Some("2026-01-01T00:01:30.080Z")),
            // The producer's clock 1 s ahead: counted apart.
            line("2026-01-01T00:01:31.000Z", Some("2026-01-01T00:01:32.000Z")),
            // Not parsed, or written before the field existed: no latency.
            line("2026-01-01T00:01:31.000Z", None),
            // Sent back by `dlq redrive` an hour after it was emitted: not latency.
            line("2026-01-01T00:01:31.000Z", Some("2025-12-31T23:01:31.000Z"))
                .replace('}', r#","headers":{"dlq.redrive.count":"1"}}"#),
        ] {
            aggregator.ingest_events_line("i", line.as_bytes(), now);
        }
        let latency = aggregator.snapshot(now).latency;
        assert_eq!(latency.window_seconds, 60);
        assert_eq!(
            latency.window,
            LatencyFigures {
                samples: 2,
                p50_ms: Some(20),
                p99_ms: Some(40),
                max_ms: Some(40),
                negative_samples: 1
            }
        );
        assert_eq!((latency.overall.samples, latency.overall.max_ms), (3, Some(900)));
        assert_eq!(latency.p99_per_second_ms.len(), 120);
        assert_eq!(latency.p99_per_second_ms[90], Some(40), "second 00:01:30");
        assert_eq!(latency.p99_per_second_ms[50], Some(900), "second 00:00:50");
        assert_eq!(latency.p99_per_second_ms[91], None, "only a negative sample");
    }
}
