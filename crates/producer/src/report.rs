//! Background reporters of a run: the periodic metrics and rate-limited delivery failures in
//! `producer.log`, and the progress of a `--count` run on stderr (a bar on a terminal, a plain
//! log line every few seconds otherwise).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, FailureWindow, Snapshot};
use models::health::producer::{DeliveryFailed, Metrics};

use crate::health_log::HealthLog;

/// Shortest gap between two `delivery_failed` lines.
pub const FAILURE_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Gap between two progress lines when stderr is not a terminal.
pub const PLAIN_PROGRESS_INTERVAL: Duration = Duration::from_secs(3);

/// Events per second between two readings; 0 when no time passed.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Rounds a rate for logs and summaries (one decimal).
pub fn round_rate(rate: f64) -> f64 {
    (rate * 10.0).round() / 10.0
}

/// Writes a `metrics` line every `interval` and a `delivery_failed` line at most every second
/// while failures happen (stderr says it once, see [`Outage`]), until `done`; then reports the
/// failures not yet written.
pub async fn report_health(
    counters: Arc<Counters>,
    log: Arc<HealthLog>,
    interval: Duration,
    done: CancellationToken,
) {
    let mut metrics_tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    metrics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failure_tick = tokio::time::interval(FAILURE_REPORT_INTERVAL);
    failure_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = (Instant::now(), counters.snapshot().acknowledged);
    let mut outage = Outage::default();
    loop {
        tokio::select! {
            biased;
            _ = done.cancelled() => break,
            _ = failure_tick.tick() => {
                let failures = report_failures(&counters, &log);
                outage.observe(failures.as_ref(), counters.snapshot());
            }
            _ = metrics_tick.tick() => {
                let now = Instant::now();
                let snapshot = counters.snapshot();
                let rate = per_second(snapshot.acknowledged.saturating_sub(previous.1), now - previous.0);
                previous = (now, snapshot.acknowledged);
                let metrics = Metrics {
                    sent: snapshot.sent,
                    acknowledged: snapshot.acknowledged,
                    failed: snapshot.failed,
                    in_flight: snapshot.in_flight(),
                    events_per_second: round_rate(rate),
                    poison_sent: snapshot.poison_sent,
                };
                tracing::info!(
                    sent = snapshot.sent,
                    acknowledged = snapshot.acknowledged,
                    failed = snapshot.failed,
                    in_flight = snapshot.in_flight(),
                    events_per_second = round_rate(rate),
                    "metrics"
                );
                log.write(&metrics, None);
            }
        }
    }
    let failures = report_failures(&counters, &log);
    outage.observe(failures.as_ref(), counters.snapshot());
}

/// Writes one `delivery_failed` line in `producer.log` for the failures gathered since the last
/// one, and returns them.
pub fn report_failures(counters: &Counters, log: &HealthLog) -> Option<FailureWindow> {
    let window = counters.take_failures()?;
    let total = counters.snapshot().failed;
    let error = window.last_error.as_deref().unwrap_or_default();
    log.write(&DeliveryFailed { count: window.count, total_failed: total }, Some(error));
    Some(window)
}

/// What stderr says of failing deliveries: once when records start failing (a broker outage,
/// too few in-sync replicas), once when acknowledgements come back. `producer.log` keeps its
/// `delivery_failed` line per second meanwhile, and the metrics count every record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outage {
    /// While records fail: the failed total before the first of them.
    failed_before: Option<u64>,
    /// Acknowledged records at the last observation.
    acknowledged: u64,
}

/// What [`Outage::observe`] said on stderr, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageNews {
    /// Records started failing.
    Started,
    /// Acknowledgements came back, after this many records failed.
    Ended(u64),
}

impl Outage {
    /// Takes the failures of the last second (if any) and the counters now.
    pub fn observe(&mut self, failures: Option<&FailureWindow>, now: Snapshot) -> Option<OutageNews> {
        let acknowledged_more = now.acknowledged > self.acknowledged;
        self.acknowledged = now.acknowledged;
        match (self.failed_before, failures) {
            (None, Some(window)) => {
                self.failed_before = Some(now.failed.saturating_sub(window.count));
                let error = window.last_error.as_deref().unwrap_or_default();
                tracing::warn!(
                    failed = window.count,
                    error = %error,
                    "records are failing: they are counted as failed, never as acknowledged, until the \
                     broker takes them again (one delivery_failed entry per second in producer.log)"
                );
                Some(OutageNews::Started)
            }
            (Some(before), None) if acknowledged_more => {
                let failed = now.failed.saturating_sub(before);
                self.failed_before = None;
                tracing::info!(failed, "deliveries acknowledged again; {failed} records failed meanwhile");
                Some(OutageNews::Ended(failed))
            }
            _ => None,
        }
    }
}

/// Shows the progress of a `--count` run towards `total` acknowledged records, until `done`.
pub async fn report_progress(counters: Arc<Counters>, total: u64, done: CancellationToken) {
    if std::io::stderr().is_terminal() {
        progress_bar(&counters, total, &done).await;
    } else {
        progress_lines(&counters, total, &done).await;
    }
}

async fn progress_bar(counters: &Counters, total: u64, done: &CancellationToken) {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} acknowledged ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            biased;
            _ = done.cancelled() => break,
            _ = tick.tick() => bar.set_position(counters.snapshot().acknowledged),
        }
    }
    bar.set_position(counters.snapshot().acknowledged);
    bar.finish();
}

async fn progress_lines(counters: &Counters, total: u64, done: &CancellationToken) {
    let start = Instant::now();
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + PLAIN_PROGRESS_INTERVAL,
        PLAIN_PROGRESS_INTERVAL,
    );
    loop {
        tokio::select! {
            biased;
            _ = done.cancelled() => break,
            _ = tick.tick() => {
                let acknowledged = counters.snapshot().acknowledged;
                let rate = round_rate(per_second(acknowledged, start.elapsed()));
                tracing::info!(acknowledged, total, events_per_second = rate, "progress: {acknowledged}/{total} acknowledged");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(per_second(10, Duration::from_millis(500)), 20.0);
        assert_eq!(per_second(10, Duration::ZERO), 0.0);
        assert_eq!(round_rate(12.345), 12.3);
    }

    /// Two of three brokers down: seconds of failures, said once; then acknowledgements again,
    /// said once with the number that failed.
    #[test]
    fn an_outage_is_said_once_when_it_starts_and_once_when_it_ends() {
        let window = |count| FailureWindow { count, last_error: Some("MessageTimedOut".into()) };
        let at = |acknowledged, failed| Snapshot {
            sent: 0,
            poison_sent: 0,
            acknowledged,
            failed,
            refused_invalid: 0,
            refused_fenced: 0,
        };
        let mut outage = Outage::default();
        assert_eq!(outage.observe(None, at(100, 0)), None, "all well");
        assert_eq!(outage.observe(Some(&window(7)), at(100, 7)), Some(OutageNews::Started));
        assert_eq!(outage.observe(Some(&window(200)), at(100, 207)), None, "said already");
        assert_eq!(outage.observe(None, at(100, 207)), None, "no failure, no acknowledgement: not over");
        assert_eq!(outage.observe(Some(&window(3)), at(150, 210)), None, "still failing");
        assert_eq!(outage.observe(None, at(300, 210)), Some(OutageNews::Ended(210)));
        assert_eq!(outage.observe(None, at(400, 210)), None);
        assert_eq!(outage.observe(Some(&window(1)), at(400, 211)), Some(OutageNews::Started), "a new outage");
    }

    #[tokio::test(start_paused = true)]
    async fn metrics_and_failures_reach_the_log_at_their_pace() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(HealthLog::open(dir.path(), config::Redactor::default()).unwrap());
        let counters = Arc::new(Counters::default());
        let done = CancellationToken::new();
        let task = tokio::spawn(report_health(
            Arc::clone(&counters),
            Arc::clone(&log),
            Duration::from_secs(5),
            done.clone(),
        ));
        for _ in 0..100 {
            counters.record_failure("timed out".into());
        }
        tokio::time::sleep(Duration::from_millis(5_500)).await;
        counters.record_failure("late".into());
        done.cancel();
        task.await.unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["delivery_failed", "metrics", "delivery_failed"], "{text}");
        assert_eq!(lines[0]["metadata"]["count"], 100, "one line for a burst");
        assert_eq!(lines[1]["metadata"]["failed"], 100);
        assert_eq!(lines[2]["metadata"]["count"], 1);
        assert_eq!(lines[2]["error"], "late");
    }
}
