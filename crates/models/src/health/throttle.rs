//! How often the same error text may be logged: the tracker and the producer both hold back
//! repeats of an error text for a period and say how many were held back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Entry;

/// What to do with an error text now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it. `repeats_not_logged` is `None` the first time the text is seen (or after it was
    /// forgotten), else how many repeats were held back since it was last logged.
    Log {
        /// Repeats held back since the text was last logged.
        repeats_not_logged: Option<u64>,
    },
    /// Do not log it; it is counted.
    Hold,
}

/// Remembers when each error text was last logged. Holds at most `capacity` texts: texts not
/// logged for a whole period are forgotten first, then the longest unlogged, so a stream of
/// distinct texts (each error naming a different offset, say) cannot grow it without bound.
#[derive(Debug, Clone)]
pub struct ErrorThrottle {
    period: Duration,
    capacity: usize,
    /// Per text: when it was last logged and the repeats held back since.
    recent: HashMap<String, (Instant, u64)>,
}

impl ErrorThrottle {
    /// The period both binaries use: the same text at most once per 10 s.
    pub const PERIOD: Duration = Duration::from_secs(10);
    /// The number of distinct texts both binaries remember.
    pub const CAPACITY: usize = 256;

    /// A throttle logging each text at most once per `period`, remembering at most `capacity`
    /// texts (at least one).
    pub fn new(period: Duration, capacity: usize) -> Self {
        Self { period, capacity: capacity.max(1), recent: HashMap::new() }
    }

    /// Decides for `error` seen at `now`.
    pub fn check(&mut self, error: &str, now: Instant) -> Verdict {
        if let Some((last, held_back)) = self.recent.get_mut(error) {
            if now.saturating_duration_since(*last) < self.period {
                *held_back += 1;
                return Verdict::Hold;
            }
            let repeats_not_logged = Some(*held_back);
            *last = now;
            *held_back = 0;
            return Verdict::Log { repeats_not_logged };
        }
        if self.recent.len() >= self.capacity {
            let period = self.period;
            self.recent.retain(|_, (last, _)| now.saturating_duration_since(*last) < period);
        }
        if self.recent.len() >= self.capacity {
            let oldest = self.recent.iter().min_by_key(|(_, (last, _))| *last).map(|(text, _)| text.clone());
            if let Some(oldest) = oldest {
                self.recent.remove(&oldest);
            }
        }
        self.recent.insert(error.to_owned(), (now, 0));
        Verdict::Log { repeats_not_logged: None }
    }

    /// How many texts are remembered.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Whether no text is remembered.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

impl Default for ErrorThrottle {
    fn default() -> Self {
        Self::new(Self::PERIOD, Self::CAPACITY)
    }
}

/// An entry logged through an [`ErrorThrottle`]: the entry's own fields, plus
/// `repeats_not_logged` when the same error text was seen before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttled<E> {
    /// The entry.
    #[serde(flatten)]
    pub entry: E,
    /// Repeats of the error text held back since it was last logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats_not_logged: Option<u64>,
}

impl<K: super::Kind, E: Entry<K>> Entry<K> for Throttled<E> {
    const KIND: K = E::KIND;

    fn level(&self) -> super::Level {
        self.entry.level()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_period_are_held_back_and_counted() {
        let start = Instant::now();
        let mut throttle = ErrorThrottle::new(Duration::from_secs(10), 8);
        assert_eq!(throttle.check("down", start), Verdict::Log { repeats_not_logged: None });
        assert_eq!(throttle.check("down", start + Duration::from_secs(1)), Verdict::Hold);
        assert_eq!(throttle.check("down", start + Duration::from_secs(2)), Verdict::Hold);
        assert_eq!(
            throttle.check("other", start + Duration::from_secs(3)),
            Verdict::Log { repeats_not_logged: None },
            "each text has its own period"
        );
        assert_eq!(
            throttle.check("down", start + Duration::from_secs(10)),
            Verdict::Log { repeats_not_logged: Some(2) }
        );
        assert_eq!(
            throttle.check("down", start + Duration::from_secs(20)),
            Verdict::Log { repeats_not_logged: Some(0) }
        );
    }

    #[test]
    fn distinct_texts_do_not_grow_it_without_bound() {
        let start = Instant::now();
        let mut throttle = ErrorThrottle::new(Duration::from_secs(10), 16);
        for offset in 0..10_000u64 {
            let now = start + Duration::from_millis(offset);
            let verdict = throttle.check(&format!("bad message at offset {offset}"), now);
            assert_eq!(verdict, Verdict::Log { repeats_not_logged: None });
            assert!(throttle.len() <= 16, "{} texts remembered", throttle.len());
        }
        // The most recent texts are still throttled.
        let now = start + Duration::from_millis(10_000);
        assert_eq!(throttle.check("bad message at offset 9999", now), Verdict::Hold);
    }
}
