//! The order-event producer: emits new orders, their later lifecycle events and poison pills
//! to Kafka, at a steady interval, a target rate, or as fast as the broker takes them.
//!
//! Layout:
//! - [`cli`]: flags, and how they override the environment and the configuration file;
//! - [`pace`]: when each event is due (no drift);
//! - [`events`]: what to send next, with the bounded set of open orders;
//! - [`delivery`]: counters fed by librdkafka's delivery reports;
//! - [`health_log`]: `producer.log`, the JSON-lines health file;
//! - [`report`]: periodic metrics, rate-limited failure lines, progress;
//! - [`telemetry`]: the stderr `tracing` subscriber and the signal handler (for binaries).
//!
//! Guarantee: a record is counted as acknowledged only when the broker acknowledged it
//! (idempotent producer, `acks=all`). At the end of a run, whatever was sent and not
//! acknowledged within `producer.flush_timeout_ms` is reported as lost; nothing is silently
//! dropped, and a full librdkafka queue makes the producer wait, never skip a record.

pub mod cli;
pub mod delivery;
pub mod events;
pub mod health_log;
pub mod pace;
pub mod report;
pub mod telemetry;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use config::Config;
use kafka::auth::AuthWatch;
use models::health::producer::{Mode, Started, Stopped, AUTHENTICATION_FAILED};
use models::{OrderGenerator, PoisonKind};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use service::StopProgress;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext};
use crate::events::{EventMix, EventSource, OutgoingRecord};
use crate::health_log::HealthLog;
use crate::pace::Pace;
use crate::report::{per_second, round_rate};

/// The Kafka client id of the producer.
pub const CLIENT_ID: &str = "order-producer";
/// Partitions of the events topic created by `--create-topics`.
pub const TOPIC_PARTITIONS: i32 = 3;
/// Partitions of the dead-letter topic created by `--create-topics`.
pub const DLQ_PARTITIONS: i32 = 1;
/// `message.max.bytes` unless the user sets it: room for the ~900 KB oversized poison pill.
pub const MESSAGE_MAX_BYTES: &str = "1048576";
/// Longest wait for topic creation.
const CREATE_TOPICS_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for room when librdkafka's queue is full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(1);
/// The flush is done in slices this long, to notice a refused login in between.
const FLUSH_SLICE: Duration = Duration::from_millis(100);
/// Longest wait, after the flush, for the delivery callbacks of flushed records to run.
const SETTLE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the broker has to answer a first metadata request before the producer says it
/// does not answer.
const BROKER_ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Records per batch generated ahead in flood mode.
const AHEAD_BATCH_SIZE: usize = 256;
/// Batches generated ahead at most (about 4 MB of orders).
const AHEAD_BATCHES: usize = 16;
/// Records sent between two yields to the runtime in a flood.
const YIELD_EVERY: u64 = 1024;

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
    #[error("cannot create the Kafka producer (check kafka.properties): {0}")]
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
}

impl ProducerError {
    /// The process exit code: 2 for a configuration the client refuses, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ProducerError::Client(_) => 2,
            _ => 1,
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
    /// Poison pills among the records sent.
    pub poison_sent: u64,
    /// From the first record to the end of the flush.
    pub elapsed: Duration,
    /// Acknowledged records per second over `elapsed`.
    pub events_per_second: f64,
    /// Why it stopped.
    pub reason: StopReason,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} ({} poison), acknowledged {}, failed {}, lost {} in {:.2} s ({:.0} events/s)",
            self.sent,
            self.poison_sent,
            self.acknowledged,
            self.failed,
            self.lost,
            self.elapsed.as_secs_f64(),
            self.events_per_second
        )
    }
}

/// The librdkafka settings of the producer: the shared idempotent `acks=all` settings, and a
/// message size limit that fits the oversized poison pill unless the user chose one.
pub fn client_config(config: &Config) -> ClientConfig {
    let mut client = kafka::producer_config(&config.kafka, CLIENT_ID);
    if !config.kafka.properties.contains_key("message.max.bytes") {
        client.set("message.max.bytes", MESSAGE_MAX_BYTES);
    }
    client
}

/// Runs the producer until `options.count` records are sent or `shutdown` fires, then flushes
/// (bounded by `producer.flush_timeout_ms`) and returns the totals. The caller decides what a
/// non-zero [`Summary::lost`] means (the binary exits 1). A refused SASL login stops sending
/// and flushing at once and returns [`ProducerError::Authentication`]. `progress` always says
/// how many records are not acknowledged yet (the binary prints it when a second signal cuts
/// the flush short).
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
    progress: StopProgress,
) -> Result<Summary, ProducerError> {
    let log_dir = &config.producer.log_dir;
    let log = HealthLog::open(log_dir, config.redactor().clone())
        .map(Arc::new)
        .map_err(|source| ProducerError::HealthLog { path: log_dir.join(health_log::FILE_NAME), source })?;
    let counters = Arc::new(Counters::default());
    progress.set_with({
        let counters = Arc::clone(&counters);
        move || {
            let in_flight = counters.snapshot().in_flight();
            format!(
                "{in_flight} records sent and not acknowledged by the broker (they may or may not be \
                 stored), and producer.log has no stop entry"
            )
        }
    });
    let auth = AuthWatch::new(&config.kafka);
    let client = client_config(&config);
    let message_timeout_ms = client.get("message.timeout.ms").unwrap_or("30000").to_owned();
    let producer: Arc<ThreadedProducer<DeliveryContext>> = client
        .create_with_context(DeliveryContext::new(Arc::clone(&counters), Arc::clone(&log), auth.clone()))
        .map(Arc::new)
        .map_err(ProducerError::Client)?;
    // Sending stops on SIGINT/SIGTERM, or as soon as the broker refuses the login.
    let stop = shutdown.child_token();
    tokio::spawn({
        let (auth, stop) = (auth.clone(), stop.clone());
        async move {
            tokio::select! {
                () = auth.failed() => stop.cancel(),
                () = stop.cancelled() => {}
            }
        }
    });

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
        let entry = models::health::producer::TornLineTerminated {
            file: torn.path.display().to_string(),
            fragment_bytes: torn.fragment_bytes,
        };
        log.write(&entry, None);
    }

    if options.create_topics {
        let topics =
            [(config.kafka.topic.as_str(), TOPIC_PARTITIONS), (config.dlq.topic.as_str(), DLQ_PARTITIONS)];
        kafka::ensure_topics(&config.kafka, &topics, CREATE_TOPICS_TIMEOUT, &auth).await?;
        tracing::info!(topic = %config.kafka.topic, dlq_topic = %config.dlq.topic, "topics ready");
    }

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
    let mut feed = Feed::new(EventSource::new(generator, mix), &options)?;

    let reporters_done = CancellationToken::new();
    let health_reporter = tokio::spawn(report::report_health(
        Arc::clone(&counters),
        Arc::clone(&log),
        Duration::from_millis(config.producer.metrics_interval_ms),
        reporters_done.clone(),
    ));
    let progress_reporter = match options.count {
        Some(total) if options.show_progress && total > 0 => {
            Some(tokio::spawn(report::report_progress(Arc::clone(&counters), total, reporters_done.clone())))
        }
        _ => None,
    };

    let broker_check = tokio::task::spawn_blocking({
        let producer = Arc::clone(&producer);
        let (broker, auth) = (config.kafka.broker.clone(), auth.clone());
        move || say_if_the_broker_does_not_answer(&producer, &broker, &message_timeout_ms, &auth)
    });
    let started = Instant::now();
    let mut reason = produce(&producer, &config.kafka.topic, &mut feed, &options, &counters, &stop).await;
    if auth.failure().is_some() {
        reason = StopReason::AuthenticationFailed;
    }
    feed.close();
    tracing::info!(
        reason = reason.name(),
        in_flight = counters.snapshot().in_flight(),
        "stopped producing, flushing"
    );

    let flush_timeout = Duration::from_millis(config.producer.flush_timeout_ms);
    let flush_auth = auth.clone();
    let (producer, flushed) = tokio::task::spawn_blocking(move || {
        let flushed = flush(&producer, flush_timeout, &flush_auth);
        (producer, flushed)
    })
    .await
    .map_err(|error| ProducerError::Task(error.to_string()))?;
    // rd_kafka_flush returns once the delivery reports are taken off the queue, which can be
    // a moment before the polling thread has run their callbacks: wait for the counts.
    if auth.failure().is_none() {
        settle(&counters, Instant::now() + SETTLE_TIMEOUT).await;
    }
    let elapsed = started.elapsed();
    let totals = counters.snapshot();
    if let (Err(error), None) = (flushed, auth.failure()) {
        tracing::warn!(%error, not_acknowledged = totals.in_flight(), ?flush_timeout, "flush did not finish in time");
    }
    reporters_done.cancel();
    stop.cancel();
    for reporter in std::iter::once(health_reporter).chain(progress_reporter) {
        reporter.await.map_err(|error| ProducerError::Task(error.to_string()))?;
    }

    // The login may also be refused while flushing.
    let failure = auth.failure();
    if failure.is_some() {
        reason = StopReason::AuthenticationFailed;
    }
    let summary = Summary {
        sent: totals.sent,
        acknowledged: totals.acknowledged,
        failed: totals.failed,
        lost: totals.lost(),
        poison_sent: totals.poison_sent,
        elapsed,
        events_per_second: round_rate(per_second(totals.acknowledged, elapsed)),
        reason,
    };
    let error = failure.as_deref().or((summary.lost > 0).then_some("records were sent but not acknowledged"));
    // Its level follows from its content: ERROR for a refused login, WARN when records were lost.
    let stopped = Stopped {
        reason: reason.name().to_owned(),
        sent: summary.sent,
        acknowledged: summary.acknowledged,
        failed: summary.failed,
        lost: summary.lost,
        poison_sent: summary.poison_sent,
        elapsed_seconds: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        events_per_second: summary.events_per_second,
    };
    log.write(&stopped, error);
    tracing::info!(
        sent = summary.sent,
        acknowledged = summary.acknowledged,
        failed = summary.failed,
        lost = summary.lost,
        "producer stopped"
    );
    // Dropping the client purges what is left (already counted as lost) and joins its thread.
    // The check ends within BROKER_ANSWER_TIMEOUT; it holds the last other handle.
    let _ = broker_check.await;
    tokio::task::spawn_blocking(move || drop(producer))
        .await
        .map_err(|error| ProducerError::Task(error.to_string()))?;
    match failure {
        Some(failure) => Err(ProducerError::Authentication(failure)),
        None => Ok(summary),
    }
}

/// Asks the broker for metadata once, at the start: if it does not answer within
/// [`BROKER_ANSWER_TIMEOUT`], says so on stderr, naming it, instead of waiting silently until
/// `message.timeout.ms` fails every record (librdkafka's own lines only come when a connection
/// is refused, not when nothing answers).
fn say_if_the_broker_does_not_answer(
    producer: &ThreadedProducer<DeliveryContext>,
    broker: &str,
    message_timeout_ms: &str,
    auth: &AuthWatch,
) {
    let answer = producer.client().fetch_metadata(None, BROKER_ANSWER_TIMEOUT);
    // A refused login answers, and is reported on its own.
    if let (Err(error), None) = (answer, auth.failure()) {
        tracing::warn!(
            broker,
            %error,
            "the broker does not answer after {} s; records wait for it up to message.timeout.ms \
             ({message_timeout_ms} ms), then count as lost",
            BROKER_ANSWER_TIMEOUT.as_secs()
        );
    }
}

/// Flushes for at most `timeout`, in slices, giving up as soon as the broker refused the
/// login: nothing queued can be delivered then.
fn flush(
    producer: &ThreadedProducer<DeliveryContext>,
    timeout: Duration,
    auth: &AuthWatch,
) -> KafkaResult<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let flushed = producer.flush(left.min(FLUSH_SLICE));
        if flushed.is_ok() || left <= FLUSH_SLICE || auth.failure().is_some() {
            return flushed;
        }
    }
}

/// Waits until every record sent is acknowledged or failed, or until `deadline`.
async fn settle(counters: &Counters, deadline: Instant) {
    while counters.snapshot().in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Where the sending loop takes its records from.
enum Feed {
    /// Generated on demand, stamped when due (steady and rated modes).
    Inline(Box<EventSource>),
    /// Generated ahead on another thread, in batches (flood mode): generation and
    /// serialization then run on the second core instead of slowing down the sending thread.
    Ahead {
        /// Batches in production order.
        batches: tokio::sync::mpsc::Receiver<Vec<OutgoingRecord>>,
        /// The batch being sent.
        current: std::vec::IntoIter<OutgoingRecord>,
        /// The generating thread; it ends once the count is generated or the receiver is gone.
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl Feed {
    /// Generates ahead in flood mode, inline otherwise.
    fn new(source: EventSource, options: &RunOptions) -> Result<Self, ProducerError> {
        if options.pace != Pace::Flood {
            return Ok(Feed::Inline(Box::new(source)));
        }
        let (sender, batches) = tokio::sync::mpsc::channel(AHEAD_BATCHES);
        let count = options.count;
        let thread = std::thread::Builder::new()
            .name("order-generator".to_owned())
            .spawn(move || generate_ahead(source, count, &sender));
        let thread = thread
            .map_err(|error| ProducerError::Task(format!("cannot start the generator thread: {error}")))?;
        Ok(Feed::Ahead { batches, current: Vec::new().into_iter(), thread: Some(thread) })
    }

    /// The next record; `None` once a generate-ahead feed is exhausted.
    async fn next(&mut self) -> Option<OutgoingRecord> {
        match self {
            Feed::Inline(source) => Some(source.next_record(Utc::now())),
            Feed::Ahead { batches, current, .. } => loop {
                if let Some(record) = current.next() {
                    return Some(record);
                }
                *current = batches.recv().await?.into_iter();
            },
        }
    }

    /// Stops and joins the generating thread, if any.
    fn close(self) {
        if let Feed::Ahead { batches, thread, .. } = self {
            drop(batches);
            if let Some(thread) = thread {
                if thread.join().is_err() {
                    tracing::error!("the generator thread panicked");
                }
            }
        }
    }
}

/// Body of the generator thread: batches of records until `count` (if any) or until the
/// receiver is dropped.
fn generate_ahead(
    mut source: EventSource,
    count: Option<u64>,
    sender: &tokio::sync::mpsc::Sender<Vec<OutgoingRecord>>,
) {
    let mut remaining = count.unwrap_or(u64::MAX);
    while remaining > 0 {
        let size = remaining.min(AHEAD_BATCH_SIZE as u64);
        let mut batch = Vec::with_capacity(AHEAD_BATCH_SIZE);
        for _ in 0..size {
            batch.push(source.next_record(Utc::now()));
        }
        remaining -= size;
        if sender.blocking_send(batch).is_err() {
            return;
        }
    }
}

/// The sending loop: paces, takes records from `feed` and hands them to librdkafka until the
/// count is reached or `shutdown` fires.
async fn produce(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    feed: &mut Feed,
    options: &RunOptions,
    counters: &Counters,
    shutdown: &CancellationToken,
) -> StopReason {
    let start = tokio::time::Instant::now();
    let mut index: u64 = 0;
    loop {
        if options.count.is_some_and(|count| index >= count) {
            return StopReason::CountReached;
        }
        if shutdown.is_cancelled() {
            return StopReason::Shutdown;
        }
        if let Some(wait) = options.pace.wait_before(index, start.elapsed()) {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return StopReason::Shutdown,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let record = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return StopReason::Shutdown,
            record = feed.next() => record,
        };
        let Some(record) = record else {
            return StopReason::CountReached;
        };
        if !send(producer, topic, &record, counters, shutdown).await {
            return StopReason::Shutdown;
        }
        index += 1;
        if index % YIELD_EVERY == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Hands one record to librdkafka, waiting while its queue is full. Returns false when
/// `shutdown` fired before the record could be queued (it is then not counted as sent).
async fn send(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    record: &OutgoingRecord,
    counters: &Counters,
    shutdown: &CancellationToken,
) -> bool {
    let mut pending = BaseRecord::to(topic)
        .key(record.key.as_bytes())
        .payload(record.payload.as_slice())
        .headers(headers(record));
    loop {
        match producer.send(pending) {
            Ok(()) => {
                counters.record_sent(record.poison.is_some());
                return true;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                // Delivery reports free room; wait for them rather than drop the record.
                pending = returned;
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(QUEUE_FULL_BACKOFF) => {}
                }
            }
            Err((error, _)) => {
                counters.record_sent(record.poison.is_some());
                tracing::error!(%error, key = %record.key, sequence = record.sequence, "record refused by the client");
                counters.record_failure(format!("{error} (key {})", record.key));
                return true;
            }
        }
    }
}

/// `event_type`, `content-type` (JSON payloads only), `trace_id`, `producer_sequence`.
fn headers(record: &OutgoingRecord) -> OwnedHeaders {
    let mut trace_buffer = uuid::Uuid::encode_buffer();
    let trace_id: &str = record.trace_id.hyphenated().encode_lower(&mut trace_buffer);
    let sequence = record.sequence.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(5)
        .insert(Header { key: "event_type", value: Some(record.event_type.as_str()) });
    if record.is_json {
        headers = headers.insert(Header { key: "content-type", value: Some("application/json") });
    }
    headers = headers
        .insert(Header { key: "trace_id", value: Some(trace_id) })
        .insert(Header { key: "producer_sequence", value: Some(sequence.as_str()) });
    if let Some(kind) = record.poison {
        headers = headers.insert(Header { key: "poison_kind", value: Some(kind.name()) });
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_size_limit_fits_the_oversized_pill_unless_the_user_chose_one() {
        let config = config::Settings::default().validate().unwrap();
        assert_eq!(client_config(&config).get("message.max.bytes"), Some(MESSAGE_MAX_BYTES));
        assert_eq!(client_config(&config).get("enable.idempotence"), Some("true"));
        let mut settings = config::Settings::default();
        settings.kafka.properties.insert("message.max.bytes".into(), "2000000".into());
        let config = settings.validate().unwrap();
        assert_eq!(client_config(&config).get("message.max.bytes"), Some("2000000"));
    }

    #[test]
    fn summary_is_one_readable_line() {
        let summary = Summary {
            sent: 10,
            acknowledged: 9,
            failed: 1,
            lost: 1,
            poison_sent: 2,
            elapsed: Duration::from_millis(2500),
            events_per_second: 3.6,
            reason: StopReason::CountReached,
        };
        assert_eq!(
            summary.to_string(),
            "sent 10 (2 poison), acknowledged 9, failed 1, lost 1 in 2.50 s (4 events/s)"
        );
    }
}
