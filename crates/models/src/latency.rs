//! End-to-end latency in bounded memory: a fixed-size histogram of milliseconds.
//!
//! The latency of one event is the time from its `timestamp` (set by the producer when it
//! emitted the event) to the moment the tracker wrote its audit line. The tracker summarizes
//! it per metrics interval, the monitor over a sliding window; both keep a [`LatencyHistogram`]
//! instead of every sample, so memory does not grow with the number of events.
//!
//! Buckets keep two significant digits: 1 ms wide below 100 ms, 10 ms wide up to 1 s, 100 ms
//! up to 10 s, and so on up to [`LatencyHistogram::TOP_MS`]; above that one overflow bucket.
//! A percentile is the upper bound of the bucket that holds it (never above the largest sample),
//! so it is exact below 100 ms and at most 10 % high above. The maximum is exact.
//!
//! A negative latency (the event is dated after its audit line) can only come from clocks
//! that disagree: it is counted in [`LatencyHistogram::negative_samples`] and left out of the
//! percentiles, so a skewed producer host shows up as a count instead of as fake zeros.

/// Buckets per decade above the first: 90 (two significant digits).
const BUCKETS_PER_DECADE: usize = 90;
/// Decades of 90 buckets above the first 100 one-millisecond buckets: up to 10^6 ms.
const DECADES: usize = 4;
/// Every bucket, the overflow one included.
const BUCKETS: usize = 100 + DECADES * BUCKETS_PER_DECADE + 1;

/// A histogram of latencies in milliseconds with a fixed number of buckets.
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Samples per bucket (see the module doc for the bucket bounds).
    counts: Box<[u32; BUCKETS]>,
    /// Samples counted in `counts`.
    samples: u64,
    /// The largest sample, exact.
    max_ms: u64,
    /// Samples below zero (clock skew), not in `counts`.
    negative_samples: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("samples", &self.samples)
            .field("max_ms", &self.max_ms)
            .field("negative_samples", &self.negative_samples)
            .finish_non_exhaustive()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: Box::new([0; BUCKETS]), samples: 0, max_ms: 0, negative_samples: 0 }
    }
}

/// What a histogram says: the figures written in metrics entries and shown by the monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LatencyFigures {
    /// Samples counted (negative ones excluded).
    pub samples: u64,
    /// Median, ms; `None` without samples.
    pub p50_ms: Option<u64>,
    /// 99th percentile, ms; `None` without samples.
    pub p99_ms: Option<u64>,
    /// Largest sample, ms; `None` without samples.
    pub max_ms: Option<u64>,
    /// Samples below zero (the producer's clock ahead of the tracker's).
    pub negative_samples: u64,
}

impl LatencyHistogram {
    /// Latencies from this many milliseconds on share one overflow bucket (16 min 40 s).
    pub const TOP_MS: u64 = 1_000_000;

    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one latency in milliseconds (negative: clock skew, counted apart).
    pub fn record(&mut self, latency_ms: i64) {
        let Ok(value) = u64::try_from(latency_ms) else {
            self.negative_samples += 1;
            return;
        };
        let bucket = &mut self.counts[bucket_of(value)];
        *bucket = bucket.saturating_add(1);
        self.samples += 1;
        self.max_ms = self.max_ms.max(value);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (count, more) in self.counts.iter_mut().zip(other.counts.iter()) {
            *count = count.saturating_add(*more);
        }
        self.samples += other.samples;
        self.max_ms = self.max_ms.max(other.max_ms);
        self.negative_samples += other.negative_samples;
    }

    /// Forgets every sample, keeping the allocation.
    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.samples = 0;
        self.max_ms = 0;
        self.negative_samples = 0;
    }

    /// Samples counted (negative ones excluded).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Samples below zero.
    pub fn negative_samples(&self) -> u64 {
        self.negative_samples
    }

    /// The `percent`-th percentile by nearest rank (the smallest value with at least `percent`
    /// % of the samples at or below it), as the upper bound of its bucket capped at the maximum;
    /// `None` without samples.
    pub fn percentile(&self, percent: f64) -> Option<u64> {
        if self.samples == 0 {
            return None;
        }
        // Nearest rank: ceil(p/100 × n), at least 1.
        let rank = ((percent / 100.0) * self.samples as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                return Some(upper_bound_of(index).min(self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// p50, p99 and max.
    pub fn figures(&self) -> LatencyFigures {
        LatencyFigures {
            samples: self.samples,
            p50_ms: self.percentile(50.0),
            p99_ms: self.percentile(99.0),
            max_ms: (self.samples > 0).then_some(self.max_ms),
            negative_samples: self.negative_samples,
        }
    }
}

/// The bucket of a latency: `value` itself below 100, then 90 buckets per decade.
fn bucket_of(value: u64) -> usize {
    if value < 100 {
        // Below 100: fits.
        return value as usize;
    }
    let mut decade_start = 100u64;
    for decade in 0..DECADES {
        let decade_end = decade_start * 10;
        if value < decade_end {
            let width = decade_start / 10;
            // (value - start) / width < 90: fits.
            return 100 + decade * BUCKETS_PER_DECADE + ((value - decade_start) / width) as usize;
        }
        decade_start = decade_end;
    }
    BUCKETS - 1
}

/// The largest latency a bucket holds (`u64::MAX` for the overflow bucket).
fn upper_bound_of(index: usize) -> u64 {
    if index < 100 {
        return index as u64;
    }
    let above = index - 100;
    let decade = above / BUCKETS_PER_DECADE;
    if decade >= DECADES {
        return u64::MAX;
    }
    let decade_start = 100u64 * 10u64.pow(decade as u32);
    let width = decade_start / 10;
    decade_start + ((above % BUCKETS_PER_DECADE) as u64 + 1) * width - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_100_ms_percentiles_are_exact() {
        let mut histogram = LatencyHistogram::new();
        for value in 1..=100 {
            histogram.record(value);
        }
        let figures = histogram.figures();
        assert_eq!(figures.samples, 100);
        assert_eq!(figures.p50_ms, Some(50), "the 50th of 100 sorted values");
        assert_eq!(figures.p99_ms, Some(99));
        assert_eq!(figures.max_ms, Some(100));
    }

    #[test]
    fn larger_values_round_up_to_their_bucket_and_never_past_the_max() {
        let mut histogram = LatencyHistogram::new();
        for value in [5, 150, 151, 1234, 987_654_321] {
            histogram.record(value);
        }
        assert_eq!(histogram.percentile(20.0), Some(5));
        assert_eq!(histogram.percentile(40.0), Some(159), "150 and 151 share the bucket 150..=159");
        assert_eq!(histogram.percentile(80.0), Some(1299), "1234 is in 1200..=1299");
        assert_eq!(histogram.percentile(100.0), Some(987_654_321), "the overflow bucket gives the max");
        let mut single = LatencyHistogram::new();
        single.record(1234);
        assert_eq!(single.figures().p50_ms, Some(1234), "capped at the largest sample");
    }

    #[test]
    fn p99_of_a_tail() {
        let mut histogram = LatencyHistogram::new();
        for _ in 0..990 {
            histogram.record(10);
        }
        for _ in 0..10 {
            histogram.record(500);
        }
        assert_eq!(histogram.percentile(99.0), Some(10), "rank 990 is still 10 ms");
        histogram.record(500);
        assert_eq!(histogram.percentile(99.0), Some(500), "rank 991 of 1001 is in the tail");
    }

    #[test]
    fn negative_latencies_are_counted_apart() {
        let mut histogram = LatencyHistogram::new();
        histogram.record(-3);
        assert_eq!(
            histogram.figures(),
            LatencyFigures { negative_samples: 1, ..LatencyFigures::default() },
            "no percentile from skewed clocks alone"
        );
        histogram.record(7);
        assert_eq!(histogram.figures().p50_ms, Some(7));
    }

    #[test]
    fn merge_and_clear() {
        let (mut a, mut b) = (LatencyHistogram::new(), LatencyHistogram::new());
        a.record(1);
        b.record(3);
        b.record(-1);
        a.merge(&b);
        assert_eq!((a.samples(), a.negative_samples(), a.figures().max_ms), (2, 1, Some(3)));
        a.clear();
        assert_eq!(a.figures(), LatencyFigures::default());
    }

    #[test]
    fn buckets_cover_every_value_once() {
        let mut previous_upper = None;
        for index in 0..BUCKETS - 1 {
            let upper = upper_bound_of(index);
            assert_eq!(bucket_of(upper), index);
            assert_eq!(bucket_of(previous_upper.map_or(0, |p: u64| p + 1)), index);
            previous_upper = Some(upper);
        }
        assert_eq!(previous_upper, Some(LatencyHistogram::TOP_MS - 1));
        assert_eq!(bucket_of(LatencyHistogram::TOP_MS), BUCKETS - 1);
    }
}
