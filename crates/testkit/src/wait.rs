//! [`wait_until`]: waiting for a condition with a deadline, as tests that run processes do.

use std::time::{Duration, Instant};

/// How often [`wait_until`] looks.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Polls `condition` every 50 ms until it holds; fails the test, naming `what`, after
/// `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting until {what}");
        std::thread::sleep(POLL_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until(Duration::from_secs(5), "the third call", || {
            calls += 1;
            calls == 3
        });
        assert_eq!(calls, 3);
    }

    #[test]
    #[should_panic(expected = "timed out after 100ms waiting until never")]
    fn wait_until_fails_loudly_at_its_deadline() {
        wait_until(Duration::from_millis(100), "never", || false);
    }
}
