//! When each event is due: the pacing of the steady, rated and flood modes.
//!
//! Event `i` is due at `start + i × period`, computed from the start and never from the
//! previous event, so a late event does not push back the ones after it (no drift). Time is
//! passed in, so the schedule is tested without sleeping.

use std::time::Duration;

/// How fast events go out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// One event every interval (steady mode, `producer.interval_ms`).
    Interval(Duration),
    /// This many events per second (`--rate R`, R > 0).
    Rate(f64),
    /// As fast as the broker takes them (`--rate 0`).
    Flood,
}

impl Pace {
    /// The pace chosen by `--rate` when given, else by the steady interval.
    pub fn from_rate_or_interval(rate: Option<f64>, interval: Duration) -> Self {
        match rate {
            Some(rate) if rate > 0.0 => Pace::Rate(rate),
            Some(_) => Pace::Flood,
            None => Pace::Interval(interval),
        }
    }

    /// How long after the start event `index` is due.
    pub fn due_after_start(&self, index: u64) -> Duration {
        match *self {
            Pace::Interval(interval) => interval.saturating_mul(u32::try_from(index).unwrap_or(u32::MAX)),
            // f64 holds every index we can reach in a run exactly enough for scheduling.
            Pace::Rate(rate) => Duration::try_from_secs_f64(index as f64 / rate).unwrap_or(Duration::MAX),
            Pace::Flood => Duration::ZERO,
        }
    }

    /// How long to wait before sending event `index` when `elapsed` has passed since the
    /// start; `None` when it is due now (or late).
    pub fn wait_before(&self, index: u64, elapsed: Duration) -> Option<Duration> {
        let due = self.due_after_start(index);
        (due > elapsed).then(|| due - elapsed)
    }

    /// A short name for logs: `steady`, `rate` or `flood`.
    pub fn name(&self) -> &'static str {
        match self {
            Pace::Interval(_) => "steady",
            Pace::Rate(_) => "rate",
            Pace::Flood => "flood",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn rate_schedules_from_the_start_without_drift() {
        let pace = Pace::Rate(50.0);
        assert_eq!(pace.due_after_start(0), Duration::ZERO);
        assert_eq!(pace.due_after_start(1), ms(20));
        assert_eq!(pace.due_after_start(50), ms(1000));
        // Event 10 is due at 200 ms whatever happened to event 9.
        assert_eq!(pace.wait_before(10, ms(150)), Some(ms(50)));
        assert_eq!(pace.wait_before(10, ms(200)), None);
        // Late: no wait, the schedule catches up instead of sliding.
        assert_eq!(pace.wait_before(10, ms(900)), None);
        assert_eq!(pace.wait_before(46, ms(900)), Some(ms(20)));
    }

    #[test]
    fn interval_is_a_fixed_period_from_the_start() {
        let pace = Pace::Interval(ms(2000));
        assert_eq!(pace.wait_before(0, Duration::ZERO), None);
        assert_eq!(pace.wait_before(1, ms(10)), Some(ms(1990)));
        assert_eq!(pace.wait_before(3, ms(6001)), None);
        assert_eq!(pace.due_after_start(u64::MAX), ms(2000).saturating_mul(u32::MAX));
    }

    #[test]
    fn flood_never_waits() {
        assert_eq!(Pace::Flood.wait_before(1_000_000, Duration::ZERO), None);
    }

    #[test]
    fn rate_zero_means_flood_and_no_rate_means_steady() {
        assert_eq!(Pace::from_rate_or_interval(Some(0.0), ms(5)), Pace::Flood);
        assert_eq!(Pace::from_rate_or_interval(Some(2.5), ms(5)), Pace::Rate(2.5));
        assert_eq!(Pace::from_rate_or_interval(None, ms(5)), Pace::Interval(ms(5)));
    }
}
