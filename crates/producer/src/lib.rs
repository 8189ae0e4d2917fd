//! The order-event producer: emits new orders, their later lifecycle events and poison pills
//! to Kafka, at a steady interval, a target rate, or as fast as the broker takes them.
//!
//! Layout:
//! - [`cli`]: flags, and how they override the environment and the configuration file;
//! - feeding: [`pace`] (when each event is due, no drift), [`events`] (what to send next, with
//!   the bounded set of open orders), [`feed`] (the pacing loop, and the flood's own
//!   thread);
//! - sending: [`send`] (the client, one record, the flush), [`delivery`] (counters fed by
//!   librdkafka's delivery reports), [`health_log`] (`producer.log`, the JSON-lines health
//!   file), [`report`] (periodic metrics, rate-limited failure lines, progress);
//! - [`run`]: one run from start entry to stop entry, stopped by a [`service::Shutdown`].
//!
//! Guarantee: a record is counted as acknowledged only when the broker acknowledged it
//! (idempotent producer, `acks=all`). At the end of a run, whatever was sent and not
//! acknowledged within `producer.flush_timeout_ms` is reported as lost; nothing is silently
//! dropped, and a full librdkafka queue makes the producer wait, never skip a record.

pub mod cli;
pub mod delivery;
pub mod events;
pub(crate) mod feed;
pub mod health_log;
pub mod pace;
pub mod report;
pub mod send;
pub mod transactions;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use config::Config;
use kafka::auth::AuthWatch;
use models::health::producer::{
    Mode, Started, Stopped, TornLineTerminated, TransactionTotals, AUTHENTICATION_FAILED,
};
use models::{OrderGenerator, PoisonKind};
use rdkafka::error::KafkaError;
use rdkafka::producer::ThreadedProducer;
use service::{Shutdown, StartError};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext, Snapshot};
use crate::events::{EventMix, EventSource};
use crate::health_log::HealthLog;
use crate::pace::Pace;
use crate::report::{per_second, round_rate};

pub use crate::send::{client_config, MESSAGE_MAX_BYTES};

/// The Kafka client id of the producer.
pub const CLIENT_ID: &str = "order-producer";
/// Partitions of the events topic created by `--create-topics`.
pub const TOPIC_PARTITIONS: i32 = 3;
/// Partitions of the dead-letter topic created by `--create-topics`.
pub const DLQ_PARTITIONS: i32 = 1;
/// Longest wait for topic creation.
const CREATE_TOPICS_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the producer could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProducerError {
    /// `producer.log` cannot be opened.
    #[error("cannot open {}: {source}", path.display())]
    HealthLog {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// librdkafka refused the client configuration (usually a bad `kafka.properties` entry).
    #[error("cannot create the Kafka producer (check -X and kafka.properties): {0}")]
    Client(#[source] KafkaError),
    /// `--create-topics` failed.
    #[error(transparent)]
    Topics(#[from] kafka::KafkaError),
    /// A background task died.
    #[error("internal task failed: {0}")]
    Task(String),
    /// The broker refused the SASL login: no retry can fix that, so the run stops at once.
    #[error("{0}")]
    Authentication(String),
    /// A transaction call failed in a way no abort recovers from (`--transactional`): another
    /// producer with the same `transactional.id` fenced this one, or the broker does not
    /// support transactions.
    #[error("Kafka transaction failed (producer.transactional_id {transactional_id}): {source}")]
    Transaction {
        /// The `transactional.id`.
        transactional_id: String,
        /// The client's error.
        source: KafkaError,
    },
    /// The runtime or the signal handlers could not be started.
    #[error(transparent)]
    Start(#[from] StartError),
}

impl service::Failure for ProducerError {
    /// 2 for a configuration the client refuses, 1 otherwise.
    fn exit_code(&self) -> u8 {
        match self {
            ProducerError::Client(_) => service::EXIT_USAGE,
            _ => service::EXIT_FAILURE,
        }
    }
}

/// What one run does, besides the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// When events are due.
    pub pace: Pace,
    /// Stop after this many records (`--count`); `None` runs until shutdown.
    pub count: Option<u64>,
    /// Send only poison pills of this kind (`--poison`).
    pub poison: Option<PoisonKind>,
    /// Create the topics first (`--create-topics`).
    pub create_topics: bool,
    /// Show progress towards `count` on stderr.
    pub show_progress: bool,
}

/// Why production stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `--count` records were sent.
    CountReached,
    /// The shutdown trigger fired (SIGINT/SIGTERM).
    Shutdown,
    /// The broker refused the SASL login.
    AuthenticationFailed,
}

impl StopReason {
    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::CountReached => "count_reached",
            StopReason::Shutdown => "shutdown_signal",
            StopReason::AuthenticationFailed => AUTHENTICATION_FAILED,
        }
    }
}

/// The totals of a run, printed as one line on stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Records handed to the client (poison pills included).
    pub sent: u64,
    /// Records the broker acknowledged.
    pub acknowledged: u64,
    /// Records whose delivery failed.
    pub failed: u64,
    /// Records sent and not acknowledged: failed or still unconfirmed at the flush deadline.
    pub lost: u64,
    /// Failed records the broker refused as invalid (INVALID_RECORD): certainly not stored.
    pub refused_invalid: u64,
    /// Failed records the broker refused because it fenced this producer: certainly not stored.
    pub refused_fenced: u64,
    /// Poison pills among the records sent.
    pub poison_sent: u64,
    /// From the first record to the end of the flush.
    pub elapsed: Duration,
    /// Acknowledged records per second over `elapsed`.
    pub events_per_second: f64,
    /// Why it stopped.
    pub reason: StopReason,
    /// With `--transactional`: the records and transactions committed and aborted.
    pub transactions: Option<TransactionTotals>,
}

impl Summary {
    /// The totals of `counters` at the end of a run that took `elapsed`.
    fn new(
        counters: &Snapshot,
        elapsed: Duration,
        reason: StopReason,
        transactions: Option<TransactionTotals>,
    ) -> Self {
        Summary {
            sent: counters.sent,
            acknowledged: counters.acknowledged,
            failed: counters.failed,
            lost: counters.lost(),
            refused_invalid: counters.refused_invalid,
            refused_fenced: counters.refused_fenced,
            poison_sent: counters.poison_sent,
            elapsed,
            events_per_second: round_rate(per_second(counters.acknowledged, elapsed)),
            reason,
            transactions,
        }
    }

    /// What the run did not deliver, and why, for the exit message and the `stopped` entry;
    /// `None` when every record sent was acknowledged. Refusals are named apart: the broker
    /// decided them, so those records are certainly not stored (the others may or may not be).
    pub fn shortfall(&self) -> Option<String> {
        if self.lost == 0 {
            return None;
        }
        let refused = self.refused_invalid + self.refused_fenced;
        if refused == 0 {
            return Some(format!("{} records lost (sent but not acknowledged)", self.lost));
        }
        let mut text = format!("{} records not acknowledged:", self.lost);
        if self.refused_invalid > 0 {
            text.push_str(&format!(
                " {} refused by the broker as invalid (INVALID_RECORD: a broker that validates records found \
                 no match with the topic's schema),",
                self.refused_invalid
            ));
        }
        if self.refused_fenced > 0 {
            text.push_str(&format!(
                " {} refused because the broker fenced this producer (PRODUCER_FENCED: it takes no more \
                 records from this run; Tansu 0.6 does so after refusing a record),",
                self.refused_fenced
            ));
        }
        text.push_str(&format!(" {} failed otherwise or never confirmed", self.lost.saturating_sub(refused)));
        Some(text)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refusals = match (self.refused_invalid, self.refused_fenced) {
            (0, 0) => String::new(),
            (invalid, 0) => format!(" ({invalid} refused as invalid)"),
            (invalid, fenced) => format!(" ({invalid} refused as invalid, {fenced} as fenced)"),
        };
        write!(
            f,
            "sent {} ({} poison), acknowledged {}, failed {}{refusals}, lost {} in {:.2} s ({:.0} events/s)",
            self.sent,
            self.poison_sent,
            self.acknowledged,
            self.failed,
            self.lost,
            self.elapsed.as_secs_f64(),
            self.events_per_second
        )?;
        if let Some(totals) = &self.transactions {
            write!(
                f,
                "; transactions: {} records committed in {}, {} records aborted in {}",
                totals.committed_records, totals.committed, totals.aborted_records, totals.aborted
            )?;
        }
        Ok(())
    }
}

/// Runs the producer until `options.count` records are sent or `shutdown` fires, then flushes
/// (bounded by `producer.flush_timeout_ms`) and returns the totals. The caller decides what a
/// non-zero [`Summary::lost`] means (the binary exits 1). A refused SASL login stops sending
/// and flushing at once and returns [`ProducerError::Authentication`]. The shutdown's progress
/// always says how many records are not acknowledged yet (the binary prints it when a second
/// signal cuts the flush short).
pub async fn run(config: Config, options: RunOptions, shutdown: Shutdown) -> Result<Summary, ProducerError> {
    let (trigger, progress) = shutdown.into_parts();
    let log = open_health_log(&config)?;
    let counters = Arc::new(Counters::default());
    progress.set_with({
        let counters = Arc::clone(&counters);
        move || left_undone(&counters)
    });
    let auth = AuthWatch::new(&config.kafka);
    let client = send::client_config(&config);
    let message_timeout_ms = client.get("message.timeout.ms").unwrap_or("30000").to_owned();
    let producer: Arc<ThreadedProducer<DeliveryContext>> = client
        .create_with_context(DeliveryContext::new(Arc::clone(&counters), Arc::clone(&log), auth.clone()))
        .map(Arc::new)
        .map_err(ProducerError::Client)?;
    let stop = stop_on(trigger, &auth);
    log_start(&config, &options, &log);
    if options.create_topics {
        create_topics(&config, &auth).await?;
    }
    let reporters = Reporters::start(&config, &options, &counters, &log);
    let broker_check = tokio::task::spawn_blocking({
        let producer = Arc::clone(&producer);
        let (broker, auth) = (config.kafka.broker.clone(), auth.clone());
        move || send::say_if_the_broker_does_not_answer(&producer, &broker, &message_timeout_ms, &auth)
    });

    let started = Instant::now();
    let source = event_source(&config, &options);
    let produced = if config.producer.transactional {
        feed::produce_in_transactions(&producer, &config, source, &options, &counters, &stop).await
    } else {
        feed::produce(&producer, &config.kafka.topic, source, &options, &counters, &stop).await
    };
    let mut reason = produced?;
    if auth.failure().is_some() {
        reason = StopReason::AuthenticationFailed;
    }
    tracing::info!(
        reason = reason.name(),
        in_flight = counters.snapshot().in_flight(),
        "stopped producing, flushing"
    );
    let producer = flush_and_settle(producer, &config, &counters, &auth).await?;
    let elapsed = started.elapsed();
    reporters.stop().await?;
    stop.cancel();

    // The login may also be refused while flushing.
    let failure = auth.failure();
    if failure.is_some() {
        reason = StopReason::AuthenticationFailed;
    }
    let transactions = config.producer.transactional.then(|| counters.transactions());
    let summary = Summary::new(&counters.snapshot(), elapsed, reason, transactions);
    log_stop(&log, &summary, failure.as_deref());
    // Dropping the client purges what is left (already counted as lost) and joins its thread.
    // The check ends within a few seconds; it holds the last other handle.
    let _ = broker_check.await;
    tokio::task::spawn_blocking(move || drop(producer))
        .await
        .map_err(|error| ProducerError::Task(error.to_string()))?;
    match failure {
        Some(failure) => Err(ProducerError::Authentication(failure)),
        None => Ok(summary),
    }
}

/// What a stop cut short now would leave undone, for the shutdown's progress.
fn left_undone(counters: &Counters) -> String {
    let in_flight = counters.snapshot().in_flight();
    format!(
        "{in_flight} records sent and not acknowledged by the broker (they may or may not be \
         stored), and producer.log has no stop entry"
    )
}

/// `--create-topics`: the orders topic, the dead-letter topic and the trackers' status topic
/// (compacted: the last status of each order is kept), under the name a tracker in
/// exactly_once mode writes to unless told otherwise. Existing topics keep their settings.
async fn create_topics(config: &Config, auth: &AuthWatch) -> Result<(), ProducerError> {
    let status_topic = config.tracker.status_topic.as_deref().unwrap_or(config::DEFAULT_STATUS_TOPIC);
    let topics: [kafka::TopicSpec<'_>; 3] = [
        (config.kafka.topic.as_str(), TOPIC_PARTITIONS, &[]),
        (config.dlq.topic.as_str(), DLQ_PARTITIONS, &[]),
        (status_topic, TOPIC_PARTITIONS, kafka::COMPACTED),
    ];
    kafka::ensure_topics_with(&config.kafka, &topics, CREATE_TOPICS_TIMEOUT, auth).await?;
    tracing::info!(topic = %config.kafka.topic, dlq_topic = %config.dlq.topic, status_topic, "topics ready");
    Ok(())
}

fn open_health_log(config: &Config) -> Result<Arc<HealthLog>, ProducerError> {
    let log_dir = &config.producer.log_dir;
    HealthLog::open(log_dir, config.redactor().clone())
        .map(Arc::new)
        .map_err(|source| ProducerError::HealthLog { path: log_dir.join(health_log::FILE_NAME), source })
}

/// A token cancelled when sending must stop: on the shutdown `trigger`, or as soon as the
/// broker refuses the login.
fn stop_on(
    trigger: impl std::future::Future<Output = String> + Send + 'static,
    auth: &AuthWatch,
) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn({
        let (auth, stop) = (auth.clone(), stop.clone());
        async move {
            tokio::select! {
                cause = trigger => {
                    tracing::info!(cause, "no more records are sent; flushing what is in flight");
                    stop.cancel();
                }
                () = auth.failed() => stop.cancel(),
                () = stop.cancelled() => {}
            }
        }
    });
    stop
}

/// The `started` entry (and a `torn_line_terminated` one if the last run left a torn line).
fn log_start(config: &Config, options: &RunOptions, log: &HealthLog) {
    let mode = Mode {
        pace: options.pace.name().to_owned(),
        rate: match options.pace {
            Pace::Rate(rate) => Some(rate),
            _ => None,
        },
        interval_ms: match options.pace {
            Pace::Interval(interval) => Some(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX)),
            _ => None,
        },
        count: options.count,
        poison_kind: options.poison.map(|kind| kind.name().to_owned()),
        create_topics: options.create_topics,
    };
    tracing::info!(
        broker = %config.kafka.broker,
        topic = %config.kafka.topic,
        pace = options.pace.name(),
        count = options.count,
        log_file = %log.path().display(),
        "producer starting"
    );
    let started =
        Started { config: config.redacted_json(), mode, log_file: log.path().display().to_string() };
    log.write(&started, None);
    if let Some(torn) = log.torn_line() {
        tracing::warn!(file = %torn.path.display(), fragment_bytes = torn.fragment_bytes, "{torn}");
        let entry =
            TornLineTerminated { file: torn.path.display().to_string(), fragment_bytes: torn.fragment_bytes };
        log.write(&entry, None);
    }
}

/// The records to send, as the configuration and the flags mix them.
fn event_source(config: &Config, options: &RunOptions) -> EventSource {
    let generator = match config.producer.seed {
        Some(seed) => OrderGenerator::seeded(seed),
        None => OrderGenerator::from_entropy(),
    }
    .with_cancel_share(config.producer.cancel_share);
    let mix = EventMix {
        lifecycle_share: config.producer.lifecycle_share,
        poison_rate: config.producer.poison_rate,
        only_poison: options.poison,
    };
    EventSource::new(generator, mix)
}

/// The tasks that report while records are sent: metrics entries, and progress on stderr.
struct Reporters {
    done: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Reporters {
    fn start(config: &Config, options: &RunOptions, counters: &Arc<Counters>, log: &Arc<HealthLog>) -> Self {
        let done = CancellationToken::new();
        let mut tasks = vec![tokio::spawn(report::report_health(
            Arc::clone(counters),
            Arc::clone(log),
            Duration::from_millis(config.producer.metrics_interval_ms),
            done.clone(),
        ))];
        if let Some(total) = options.count.filter(|&total| options.show_progress && total > 0) {
            tasks.push(tokio::spawn(report::report_progress(Arc::clone(counters), total, done.clone())));
        }
        Self { done, tasks }
    }

    /// Stops them, waiting for their last lines.
    async fn stop(self) -> Result<(), ProducerError> {
        self.done.cancel();
        for task in self.tasks {
            task.await.map_err(|error| ProducerError::Task(error.to_string()))?;
        }
        Ok(())
    }
}

/// Flushes within `producer.flush_timeout_ms`, then waits briefly for the delivery callbacks
/// of the flushed records, so the counts are whole. Gives the client back.
async fn flush_and_settle(
    producer: Arc<ThreadedProducer<DeliveryContext>>,
    config: &Config,
    counters: &Counters,
    auth: &AuthWatch,
) -> Result<Arc<ThreadedProducer<DeliveryContext>>, ProducerError> {
    let flush_timeout = Duration::from_millis(config.producer.flush_timeout_ms);
    let flush_auth = auth.clone();
    let (producer, flushed) = tokio::task::spawn_blocking(move || {
        let flushed = send::flush(&producer, flush_timeout, &flush_auth);
        (producer, flushed)
    })
    .await
    .map_err(|error| ProducerError::Task(error.to_string()))?;
    // rd_kafka_flush returns once the delivery reports are taken off the queue, which can be
    // a moment before the polling thread has run their callbacks: wait for the counts.
    if auth.failure().is_none() {
        send::settle(counters, Instant::now() + send::SETTLE_TIMEOUT).await;
    }
    if let (Err(error), None) = (flushed, auth.failure()) {
        let not_acknowledged = counters.snapshot().in_flight();
        tracing::warn!(%error, not_acknowledged, ?flush_timeout, "flush did not finish in time");
    }
    Ok(producer)
}

/// The `stopped` entry; its level follows from its content: ERROR for a refused login
/// (`failure`), WARN when records were lost.
fn log_stop(log: &HealthLog, summary: &Summary, failure: Option<&str>) {
    let shortfall = summary.shortfall();
    let error = failure.or(shortfall.as_deref());
    let stopped = Stopped {
        reason: summary.reason.name().to_owned(),
        sent: summary.sent,
        acknowledged: summary.acknowledged,
        failed: summary.failed,
        lost: summary.lost,
        poison_sent: summary.poison_sent,
        elapsed_seconds: (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        events_per_second: summary.events_per_second,
        transactions: summary.transactions,
    };
    log.write(&stopped, error);
    tracing::info!(
        sent = summary.sent,
        acknowledged = summary.acknowledged,
        failed = summary.failed,
        lost = summary.lost,
        refused_invalid = summary.refused_invalid,
        refused_fenced = summary.refused_fenced,
        "producer stopped"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_one_readable_line() {
        let summary = Summary {
            sent: 10,
            acknowledged: 9,
            failed: 1,
            lost: 1,
            refused_invalid: 0,
            refused_fenced: 0,
            poison_sent: 2,
            elapsed: Duration::from_millis(2500),
            events_per_second: 3.6,
            reason: StopReason::CountReached,
            transactions: None,
        };
        assert_eq!(
            summary.to_string(),
            "sent 10 (2 poison), acknowledged 9, failed 1, lost 1 in 2.50 s (4 events/s)"
        );
        assert_eq!(summary.shortfall().as_deref(), Some("1 records lost (sent but not acknowledged)"));
        let totals = TransactionTotals { committed_records: 7, aborted_records: 2, committed: 3, aborted: 1 };
        let transactional = Summary { transactions: Some(totals), ..summary };
        assert!(
            transactional
                .to_string()
                .ends_with("; transactions: 7 records committed in 3, 2 records aborted in 1"),
            "{transactional}"
        );
    }

    /// Records the broker refused are named with the reason, apart from those whose fate is
    /// unknown.
    #[test]
    fn refusals_are_named_in_the_summary_and_the_shortfall() {
        let summary = Summary {
            sent: 10,
            acknowledged: 4,
            failed: 6,
            lost: 6,
            refused_invalid: 1,
            refused_fenced: 4,
            poison_sent: 1,
            elapsed: Duration::from_millis(500),
            events_per_second: 8.0,
            reason: StopReason::CountReached,
            transactions: None,
        };
        assert_eq!(
            summary.to_string(),
            "sent 10 (1 poison), acknowledged 4, failed 6 (1 refused as invalid, 4 as fenced), lost 6 in 0.50 s (8 events/s)"
        );
        let shortfall = summary.shortfall().unwrap();
        assert!(
            shortfall.starts_with(
                "6 records not acknowledged: 1 refused by the broker as invalid (INVALID_RECORD"
            ),
            "{shortfall}"
        );
        assert!(shortfall.contains("4 refused because the broker fenced this producer"), "{shortfall}");
        assert!(shortfall.ends_with(", 1 failed otherwise or never confirmed"), "{shortfall}");
        let only_invalid = Summary { refused_fenced: 0, failed: 1, lost: 1, ..summary };
        assert!(
            only_invalid.to_string().contains("failed 1 (1 refused as invalid), lost 1"),
            "{only_invalid}"
        );
        assert!(only_invalid.shortfall().unwrap().ends_with(", 0 failed otherwise or never confirmed"));
    }
}
