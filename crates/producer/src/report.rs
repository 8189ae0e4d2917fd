//! Background reporters of a run: the periodic metrics and rate-limited delivery failures in
//! `producer.log`, and the progress of a `--count` run on stderr (a bar on a terminal, a plain
//! log line every few seconds otherwise).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::delivery::Counters;
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
/// while failures happen, until `done`; then reports the failures not yet written.
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
    loop {
        tokio::select! {
            biased;
            _ = done.cancelled() => break,
            _ = failure_tick.tick() => report_failures(&counters, &log),
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
    report_failures(&counters, &log);
}

/// Writes one `delivery_failed` line for the failures gathered since the last one.
pub fn report_failures(counters: &Counters, log: &HealthLog) {
    if let Some(window) = counters.take_failures() {
        let error = window.last_error.unwrap_or_default();
        let total = counters.snapshot().failed;
        tracing::warn!(count = window.count, total_failed = total, error = %error, "records could not be delivered");
        log.write(&DeliveryFailed { count: window.count, total_failed: total }, Some(&error));
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
