//! Retry and dead-letter policy, independent of Kafka so it can be reused and tested alone.
//!
//! - [`Backoff`]: exponential backoff with full jitter. The ceiling of attempt `n` (1-based,
//!   counting retries) is `min(max_delay, initial_delay × multiplier^(n-1))`, and the actual
//!   delay is drawn uniformly from `[0, ceiling]`, which spreads the retries of many consumers
//!   instead of synchronising them ("full jitter", AWS Architecture Blog, 2015).
//! - [`Failure`]: permanent failures (the message can never succeed: it does not parse, or it
//!   breaks a business rule) skip retries; transient ones are retried up to `max_attempts`.
//! - [`decide`]: what to do after a failed attempt: retry after a delay, or dead-letter.
//!
//! The dead letter's format (its header names, its redrive count) is not here: it belongs to
//! the `deadletter` crate.
//!
//! Time and randomness are injected: [`Backoff::delay`] takes the random source, so tests are
//! exact and never sleep.

use std::time::Duration;

use rand::Rng;

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Attempts in all, the first included; 1 means never retry.
    pub max_attempts: u32,
    /// Ceiling of the first retry's delay.
    pub initial_delay: Duration,
    /// Growth of the ceiling per retry (≥ 1).
    pub multiplier: f64,
    /// Largest ceiling.
    pub max_delay: Duration,
}

impl Backoff {
    /// The ceiling before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(1_000) as i32;
        let factor = self.multiplier.max(1.0).powi(exponent);
        let millis =
            (self.initial_delay.as_secs_f64() * 1_000.0 * factor).min(self.max_delay.as_secs_f64() * 1_000.0);
        Duration::from_micros((millis * 1_000.0) as u64).min(self.max_delay)
    }

    /// The longest a message can wait in backoff: the sum of the ceilings of every retry
    /// (`max_attempts - 1` of them).
    pub fn worst_case_wait(&self) -> Duration {
        (1..self.max_attempts).map(|retry| self.ceiling(retry)).sum()
    }

    /// A delay drawn uniformly from `[0, ceiling(retry)]` (full jitter).
    pub fn delay(&self, retry: u32, random: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        Duration::from_micros(random.random_range(0..=ceiling))
    }
}

/// How a processing attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Can never succeed (bad payload, broken business rule): no retry.
    Permanent { kind: &'static str, reason: String },
    /// May succeed later (a downstream timeout...): retried.
    Transient { kind: &'static str, reason: String },
}

impl Failure {
    /// Short machine name of the error, e.g. `deserialization`, written in DLQ headers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Permanent { kind, .. } | Self::Transient { kind, .. } => kind,
        }
    }

    /// Human-readable reason.
    pub fn reason(&self) -> &str {
        match self {
            Self::Permanent { reason, .. } | Self::Transient { reason, .. } => reason,
        }
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Give up: send to the dead-letter topic (or drop it when that is off).
    DeadLetter,
}

/// Decides after attempt number `attempt` (1 for the first) failed with `failure`.
pub fn decide(policy: &Backoff, failure: &Failure, attempt: u32, random: &mut impl Rng) -> Decision {
    if failure.is_permanent() || attempt >= policy.max_attempts {
        Decision::DeadLetter
    } else {
        Decision::RetryAfter(policy.delay(attempt, random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn policy() -> Backoff {
        Backoff {
            max_attempts: 4,
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_millis(350),
        }
    }

    fn transient() -> Failure {
        Failure::Transient { kind: "processing", reason: "timeout".into() }
    }

    #[test]
    fn ceilings_grow_then_cap() {
        let p = policy();
        let ceilings: Vec<_> = (1..=5).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 350, 350, 350]);
    }

    #[test]
    fn the_worst_case_wait_sums_the_ceilings_of_every_retry() {
        assert_eq!(policy().worst_case_wait(), Duration::from_millis(100 + 200 + 350));
        assert_eq!(Backoff { max_attempts: 1, ..policy() }.worst_case_wait(), Duration::ZERO);
    }

    #[test]
    fn huge_exponents_do_not_overflow() {
        let p = Backoff { multiplier: 100.0, ..policy() };
        assert_eq!(p.ceiling(u32::MAX), Duration::from_millis(350));
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_use_the_whole_range() {
        let p = policy();
        let mut random = StdRng::seed_from_u64(1);
        let delays: Vec<Duration> = (0..2_000).map(|_| p.delay(2, &mut random)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(200)));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(20)), "jitter reaches near zero");
        assert!(delays.iter().any(|d| *d > Duration::from_millis(180)), "jitter reaches near the ceiling");
    }

    #[test]
    fn same_random_source_same_delays() {
        let p = policy();
        let a: Vec<_> = (1..5).map(|n| p.delay(n, &mut StdRng::seed_from_u64(7))).collect();
        let b: Vec<_> = (1..5).map(|n| p.delay(n, &mut StdRng::seed_from_u64(7))).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt() {
        let p = policy();
        let mut random = StdRng::seed_from_u64(2);
        for attempt in 1..4 {
            assert!(
                matches!(decide(&p, &transient(), attempt, &mut random), Decision::RetryAfter(_)),
                "attempt {attempt}"
            );
        }
        assert_eq!(decide(&p, &transient(), 4, &mut random), Decision::DeadLetter);
    }

    #[test]
    fn permanent_failures_never_retry() {
        let failure = Failure::Permanent { kind: "validation", reason: "total mismatch".into() };
        assert_eq!(decide(&policy(), &failure, 1, &mut StdRng::seed_from_u64(3)), Decision::DeadLetter);
        assert_eq!(failure.kind(), "validation");
        assert_eq!(failure.reason(), "total mismatch");
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let p = Backoff { max_attempts: 1, ..policy() };
        assert_eq!(decide(&p, &transient(), 1, &mut StdRng::seed_from_u64(4)), Decision::DeadLetter);
    }
}
