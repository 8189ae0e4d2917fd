//! The order tracker: a competing consumer that audits every message it receives.
//!
//! N instances share one consumer group; Kafka spreads the partitions of the orders topic over
//! them and moves a dead instance's partitions to the others. Each instance writes
//! `tracker-<id>.events` (one line per message received) and `tracker-<id>.log` (its health).
//!
//! # Delivery guarantee: at least once (default), or exactly once
//!
//! With `tracker.processing: exactly_once` the guarantee is the one of [`transaction`]: the
//! tracker reads `read_committed`, and the status records, dead letters and consumed offsets
//! of each batch are committed in one Kafka transaction. What follows is the default,
//! `at_least_once`.
//!
//! Automatic offset storing is off. A message's offset is stored only after (1) its `.events`
//! line has been written out of the process's buffers and (2) its processing has finished:
//! processed, skipped as a duplicate, or dead-lettered with the broker's acknowledgement.
//! Stored offsets are committed every `tracker.commit_interval_ms`, synchronously before
//! partitions are revoked, and at shutdown. So a tracker killed at any moment, even with
//! SIGKILL, loses no message: what it had not committed is delivered again, to it or to
//! another instance. The price is duplicates after a crash or a rebalance; they are visible in
//! the `.events` files (same partition and offset twice), and deliveries of an event id seen
//! recently by this instance are counted and skipped instead of processed twice.
//!
//! Modules: [`offsets`] (the offset-storing rule above), [`files`] (the two output files),
//! [`cluster`] (the identity of the broker lifetime messages are read from),
//! [`process`] (pure per-message logic), [`metrics`] (counters), [`shared`] (state shared with
//! the rebalance callbacks: files, offsets, error throttle), [`context`] (rebalance, commit and
//! statistics callbacks), [`dlq`] (dead letters), [`cut`] (dead letters too large to send whole), [`worker`] (the loop), [`cli`] (flags). Only
//! [`cli`] and [`run`] are used outside the crate; how a record is judged and the dead
//! letter's format belong to the `deadletter` crate, shared with `dlq` and the monitor.

pub mod cli;
pub(crate) mod cluster;
pub(crate) mod context;
pub(crate) mod cut;
pub(crate) mod dlq;
pub(crate) mod files;
#[cfg(test)]
mod golden;
pub(crate) mod metrics;
pub(crate) mod offsets;
pub(crate) mod process;
pub(crate) mod shared;
pub(crate) mod transaction;
pub(crate) mod worker;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use config::Config;
use config::Processing;
use kafka::auth::{AuthContext, AuthWatch};
use models::health::{
    CommitFailed, Fenced, KafkaError as KafkaErrorEntry, KafkaInitialised, Started, StopSummary,
    TornLineTerminated,
};
use rand::SeedableRng;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use service::{Shutdown, StartError, StopProgress};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::context::TrackerContext;
use crate::files::TrackerFiles;
use crate::shared::{Identity, Shared};
pub use crate::worker::DeadLetterError;
use crate::worker::{Halt, TrackerConsumer, Worker};

/// Longest wait at start for the broker to tell its cluster id, for the `kafka_initialised`
/// entry; an unreachable broker only delays that entry (the id is read again at each
/// assignment).
const CLUSTER_ID_AT_START: Duration = Duration::from_secs(3);
/// Longest wait for the topic's `min.insync.replicas` (DescribeConfigs) at start.
const MIN_INSYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the tracker could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The `.events` / `.log` files cannot be opened or written.
    #[error("cannot write the tracker files in {dir}: {source}")]
    Files { dir: String, source: std::io::Error },
    /// librdkafka refused the configuration of the consumer or the dead-letter producer
    /// (usually a bad `kafka.properties` entry).
    #[error("cannot create the Kafka {what} (check -X and kafka.properties): {source}")]
    Client { what: &'static str, source: KafkaError },
    /// The subscription to the orders topic failed.
    #[error("cannot create the Kafka {what}: {source}")]
    Kafka { what: &'static str, source: KafkaError },
    /// The broker refused the SASL login: no retry can fix that, so the tracker stops at once.
    #[error("{0}")]
    Authentication(String),
    /// A failed message could not be dead-lettered: the tracker stops rather than stall or
    /// skip it (see [`worker`]).
    #[error(transparent)]
    DeadLetter(Box<DeadLetterError>),
    /// The runtime or the signal handlers could not be started.
    #[error(transparent)]
    Start(#[from] StartError),
    /// `exactly_once`: the status topic could not be created.
    #[error("cannot create the status topic: {0}")]
    StatusTopic(#[source] kafka::KafkaError),
    /// `exactly_once`: the transactional producer could not be initialised
    /// (`init_transactions`: no transaction coordinator answered in time, or the broker
    /// refused). Tansu's memory engine accepts the call without keeping the guarantee: the
    /// guarantee is Apache Kafka's.
    #[error(
        "cannot initialise Kafka transactions (tracker.processing: exactly_once needs a broker \
         with transactions, such as Apache Kafka): {0}"
    )]
    Transactions(#[source] KafkaError),
    /// `exactly_once`: another producer with this instance's `transactional.id` fenced it, or
    /// the transactional producer failed for good.
    #[error("{0}")]
    Fenced(String),
}

impl service::Failure for TrackerError {
    /// 2 for a configuration librdkafka refuses, 1 otherwise.
    fn exit_code(&self) -> u8 {
        match self {
            TrackerError::Client { .. } => service::EXIT_USAGE,
            _ => service::EXIT_FAILURE,
        }
    }
}

/// The instance id: `tracker.instance_id` (flag, `TRACKER_INSTANCE_ID` or file), else
/// `instance-<pid>`.
pub fn instance_id(config: &Config) -> String {
    config.tracker.instance_id.clone().unwrap_or_else(|| format!("instance-{}", std::process::id()))
}

/// Runs one tracker instance until `shutdown` fires (its cause, the name of the signal, goes
/// into the stop entry), then stops gracefully within `tracker.shutdown_timeout_ms` and returns
/// the totals. Each step of the stop says in the shutdown's progress what would be left undone
/// if the process ended during it (the binary prints it on a second signal, or when the stop
/// outlasts its time limit). A refused
/// SASL login (at start, or later if the credentials change) stops it at once with
/// [`TrackerError::Authentication`], storing and committing nothing more: what was not
/// committed is delivered again, as after a crash.
pub async fn run(config: Config, shutdown: Shutdown) -> Result<StopSummary, TrackerError> {
    let (shutdown, progress) = shutdown.into_parts();
    progress.set(
        "the message in hand is not finished, the .events and .log lines in memory are not written \
         and nothing finished since the last commit is committed: those messages will be delivered again",
    );
    let instance_id = instance_id(&config);
    let log_dir = config.tracker.log_dir.clone();
    let files_error = |source| TrackerError::Files { dir: log_dir.display().to_string(), source };
    let files = TrackerFiles::open(&log_dir, &instance_id, config.tracker.fsync).map_err(files_error)?;
    let identity = Identity { instance_id: instance_id.clone(), topic: config.kafka.topic.clone() };
    let shared = Arc::new(Mutex::new(Shared::new(identity, files, config.redactor().clone())));
    let start_time = Utc::now();
    log_start(&shared, &config, start_time);

    let auth = AuthWatch::new(&config.kafka);
    let consumer = create_consumer(&config, &instance_id, Arc::clone(&shared), auth.clone())
        .map_err(|error| log_fatal(&shared, error))?;
    let consumer = Arc::new(consumer);
    let producer = create_dlq_producer(&config, &instance_id, auth.clone())
        .map_err(|error| log_fatal(&shared, error))?;
    if let Some(status_topic) = config.tracker.status_topic() {
        let topics: [kafka::TopicSpec<'_>; 1] = [(status_topic, STATUS_TOPIC_PARTITIONS, kafka::COMPACTED)];
        kafka::ensure_topics_with(&config.kafka, &topics, STATUS_TOPIC_TIMEOUT, &auth)
            .await
            .map_err(|error| log_fatal(&shared, TrackerError::StatusTopic(error)))?;
    }
    if let (Processing::ExactlyOnce, Some(producer)) = (config.tracker.processing, &producer) {
        start_transactions(&config, &instance_id, &shared, producer).await?;
    }
    let status = config.tracker.status_topic().and(producer.clone());
    let dlq = if config.dlq.enabled { producer } else { None };
    if let Err(source) = consumer.subscribe(&[&config.kafka.topic]) {
        return Err(TrackerError::Kafka { what: "subscription", source });
    }
    let reading = Arc::clone(&consumer);
    let cluster_id =
        tokio::task::spawn_blocking(move || cluster::cluster_id(reading.client(), CLUSTER_ID_AT_START))
            .await
            .unwrap_or_default();
    shared.lock().unwrap_or_else(PoisonError::into_inner).set_cluster_id(cluster_id);
    log_kafka_initialised(&shared, &config);

    let (token, signal) = cancel_on(shutdown, auth.clone());
    let mut worker = Worker::new(
        config.clone(),
        Arc::clone(&shared),
        dlq,
        status,
        token,
        rand::rngs::StdRng::from_os_rng(),
    );
    ask_min_insync_replicas(&config, Arc::clone(&worker.min_insync_replicas));
    let consumed = worker.consume(&consumer).await;
    let signal = signal.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if let Err(halt) = consumed {
        return Err(halted(halt, &config, &instance_id, &shared));
    }
    if let Some(failure) = auth.failure() {
        // Whichever client saw the refusal first (the consumer or the dead-letter producer),
        // the `.log` gets it once, here.
        let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.log(&KafkaErrorEntry::fatal("client"), Some(&failure));
        let _ = shared.files.flush();
        return Err(TrackerError::Authentication(failure));
    }
    Ok(stop(config, worker, consumer, &signal, &progress).await)
}

/// The loop's one cancellation: fired by `shutdown` (the signal's name is kept, "end of input"
/// until then) or by a refused login.
fn cancel_on(
    shutdown: impl std::future::Future<Output = String> + Send + 'static,
    auth: AuthWatch,
) -> (CancellationToken, Arc<Mutex<String>>) {
    let token = CancellationToken::new();
    let signal = Arc::new(Mutex::new(String::from("end of input")));
    let (cancel, name) = (token.clone(), Arc::clone(&signal));
    tokio::spawn(async move {
        tokio::select! {
            name_of_signal = shutdown => *name.lock().unwrap_or_else(PoisonError::into_inner) = name_of_signal,
            () = auth.failed() => {}
        }
        cancel.cancel();
    });
    (token, signal)
}

/// Asks the cluster for the topic's `min.insync.replicas` beside the consumption, so that a
/// slow or silent cluster delays nothing; the metrics entries carry it once known.
fn ask_min_insync_replicas(config: &Config, min_insync: Arc<std::sync::OnceLock<u32>>) {
    let kafka_settings = config.kafka.clone();
    tokio::spawn(async move {
        let topic = &kafka_settings.topic;
        if let Some(value) = cluster::min_insync_replicas(&kafka_settings, topic, MIN_INSYNC_TIMEOUT).await {
            let _ = min_insync.set(value);
        }
    });
}

/// `exactly_once`: initialises the transactional producer (`init_transactions`) and hands the
/// transactions to the shared state.
async fn start_transactions(
    config: &Config,
    instance_id: &str,
    shared: &Mutex<Shared>,
    producer: &FutureProducer<AuthContext>,
) -> Result<(), TrackerError> {
    let initialising = producer.clone();
    let initialised = tokio::task::spawn_blocking(move || {
        initialising.init_transactions(transaction::CALL_TIMEOUT.saturating_mul(3))
    })
    .await
    // A panicked task is not one of librdkafka's errors; Canceled says it did not finish.
    .unwrap_or(Err(KafkaError::Canceled));
    initialised.map_err(|error| log_fatal(shared, TrackerError::Transactions(error)))?;
    shared.lock().unwrap_or_else(PoisonError::into_inner).transactions =
        Some(transaction::Transactions::new(
            producer.clone(),
            transactional_id(config, instance_id),
            config.kafka.topic.clone(),
            config.tracker.transaction_records,
            Duration::from_millis(config.tracker.transaction_max_ms),
        ));
    Ok(())
}

/// Why the loop stopped before shutdown, as the tracker's error, with what the `.log` needs
/// written out first: the audit cannot be written (stop at once, storing and committing
/// nothing more), a message could not be dead-lettered (its `dlq_failed` entry is in the
/// `.log` already), or the transactional producer was fenced.
fn halted(halt: Halt, config: &Config, instance_id: &str, shared: &Mutex<Shared>) -> TrackerError {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    match halt {
        Halt::Files(source) => {
            TrackerError::Files { dir: config.tracker.log_dir.display().to_string(), source }
        }
        Halt::DeadLetter(error) => {
            let _ = shared.files.flush();
            TrackerError::DeadLetter(error)
        }
        Halt::Fatal(fatal) => {
            let entry = Fenced {
                transactional_id: transactional_id(config, instance_id),
                fenced: fatal.fenced,
                transaction: fatal.transaction,
            };
            shared.log(&entry, Some(&fatal.reason));
            let _ = shared.files.flush();
            TrackerError::Fenced(fatal.reason)
        }
    }
}

fn log_start(shared: &Mutex<Shared>, config: &Config, start_time: chrono::DateTime<Utc>) {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = Started {
        log_file: shared.files.log.path().display().to_string(),
        events_file: shared.files.events.path().display().to_string(),
        start_time: models::format_timestamp(start_time),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        config: config.redacted_json(),
    };
    shared.log(&entry, None);
    let torn_lines: Vec<_> = shared.files.torn_lines().cloned().collect();
    for torn in torn_lines {
        tracing::warn!(file = %torn.path.display(), fragment_bytes = torn.fragment_bytes, "{torn}");
        let entry =
            TornLineTerminated { file: torn.path.display().to_string(), fragment_bytes: torn.fragment_bytes };
        shared.log(&entry, None);
    }
    let _ = shared.files.flush();
}

/// Writes an error that stops the tracker into the `.log` (redacted, like every entry), and
/// returns it for the error line.
fn log_fatal(shared: &Mutex<Shared>, error: TrackerError) -> TrackerError {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    shared.log(&KafkaErrorEntry::fatal("client"), Some(&error.to_string()));
    let _ = shared.files.flush();
    error
}

fn log_kafka_initialised(shared: &Mutex<Shared>, config: &Config) {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = KafkaInitialised {
        topic: config.kafka.topic.clone(),
        group_id: config.kafka.consumer_group.clone(),
        bootstrap_servers: config.kafka.broker.clone(),
        auto_offset_reset: config.kafka.auto_offset_reset.to_string(),
        mode: match config.tracker.processing {
            Processing::AtLeastOnce => "consumer group (competing consumers), at-least-once",
            Processing::ExactlyOnce => {
                "consumer group (competing consumers), exactly-once (Kafka transactions)"
            }
        }
        .to_owned(),
        group_protocol: config.kafka.group_protocol.to_string(),
        session_timeout_ms: config.kafka.session_timeout_ms,
        commit_interval_ms: config.tracker.commit_interval_ms,
        dlq_enabled: config.dlq.enabled,
        dlq_topic: config.dlq.topic.clone(),
        cluster_id: shared.cluster_id().map(|id| id.to_string()),
        processing: Some(config.tracker.processing.to_string()),
        transactional_id: shared
            .transactions
            .as_ref()
            .map(|transactions| transactions.transactional_id().to_owned()),
        status_topic: config.tracker.status_topic().map(str::to_owned),
    };
    shared.log(&entry, None);
    let _ = shared.files.flush();
}

fn create_consumer(
    config: &Config,
    instance_id: &str,
    shared: Arc<Mutex<Shared>>,
    auth: AuthWatch,
) -> Result<TrackerConsumer, TrackerError> {
    let commit_interval = Duration::from_millis(config.tracker.commit_interval_ms);
    let mut client = kafka::consumer_config(&config.kafka, instance_id, commit_interval);
    if config.tracker.processing == Processing::ExactlyOnce {
        // Offsets are committed in the transactions; records of open or aborted transactions
        // (a transactional producer's) are never read.
        client.set("enable.auto.commit", "false").set("isolation.level", "read_committed");
    }
    // Statistics carry committed offsets and high watermarks, for the lag in metrics entries.
    let statistics_ms = config.tracker.metrics_interval_ms.clamp(100, 5_000);
    if client.get("statistics.interval.ms").is_none() {
        client.set("statistics.interval.ms", statistics_ms.to_string());
    }
    client
        .create_with_context(TrackerContext::new(shared, config.kafka.topic.clone(), auth))
        .map_err(|source| TrackerError::Client { what: "consumer", source })
}

/// The dead-letter producer's `message.max.bytes` unless `kafka.properties` sets one: twice
/// librdkafka's default, so that a record near the usual 1 MB limit still makes a whole dead
/// letter where the broker accepts it.
const DLQ_MESSAGE_MAX_BYTES: u64 = 2_000_000;

/// The largest dead letter the dead-letter producer sends: its `message.max.bytes`. A dead
/// letter above it, or above the broker's limit, is cut ([`cut`]) within a budget derived
/// from this figure.
pub(crate) fn dlq_message_max_bytes(config: &Config) -> u64 {
    config
        .kafka
        .properties
        .get("message.max.bytes")
        .and_then(|value| value.expose().trim().parse().ok())
        .unwrap_or(DLQ_MESSAGE_MAX_BYTES)
}

/// Partitions of the status topic when the tracker creates it (as the orders topic's).
const STATUS_TOPIC_PARTITIONS: i32 = 3;
/// Longest wait for the status topic's creation.
const STATUS_TOPIC_TIMEOUT: Duration = Duration::from_secs(15);

/// The `transactional.id` of an instance in `exactly_once` mode: one per instance of a group,
/// so that a restarted instance fences (and aborts the open transaction of) its predecessor.
pub(crate) fn transactional_id(config: &Config, instance_id: &str) -> String {
    format!("{}-{instance_id}", config.kafka.consumer_group)
}

/// The producer of dead letters and status records (transactional in `exactly_once` mode),
/// when the tracker writes either; its refused logins are recorded in `auth`, like the
/// consumer's.
fn create_dlq_producer(
    config: &Config,
    instance_id: &str,
    auth: AuthWatch,
) -> Result<Option<FutureProducer<AuthContext>>, TrackerError> {
    let exactly_once = config.tracker.processing == Processing::ExactlyOnce;
    if !config.dlq.enabled && config.tracker.status_topic().is_none() && !exactly_once {
        return Ok(None);
    }
    let mut client = kafka::producer_config(&config.kafka, &format!("{instance_id}-dlq"));
    if exactly_once {
        client.set("transactional.id", transactional_id(config, instance_id));
    }
    // Dead letters keep the original payload, which may be close to the 1 MB default limit.
    if !config.kafka.properties.contains_key("message.max.bytes") {
        client.set("message.max.bytes", DLQ_MESSAGE_MAX_BYTES.to_string());
    }
    client.set("linger.ms", "0");
    client
        .create_with_context(AuthContext::new(auth))
        .map(Some)
        .map_err(|source| TrackerError::Client { what: "dead-letter producer", source })
}

/// Why the final commit at shutdown did not happen; its text is the `commit_failed` entry's
/// `error`.
#[derive(Debug, Error)]
enum FinalCommitError {
    /// The audit lines could not be written out first, so nothing may be committed.
    #[error("cannot write the tracker files: {0}")]
    Files(#[source] std::io::Error),
    /// `exactly_once`: the last transaction could not be committed.
    #[error("{}", .0.reason)]
    Transaction(transaction::Fatal),
    /// The broker refused the commit.
    #[error(transparent)]
    Kafka(KafkaError),
    /// The commit's blocking task did not finish (it panicked or was cancelled).
    #[error(transparent)]
    Task(tokio::task::JoinError),
    /// The commit did not finish before the stop's deadline.
    #[error("the final commit did not finish in time; uncommitted messages will be delivered again")]
    TimedOut,
}

/// The last commit, once the audit lines are written: the last transaction with its offsets
/// (`exactly_once`), else the stored offsets, before `deadline`.
async fn final_commit(
    shared: &Mutex<Shared>,
    consumer: &Arc<TrackerConsumer>,
    deadline: tokio::time::Instant,
) -> Result<(), FinalCommitError> {
    {
        let mut locked = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if locked.transactions.is_some() {
            return worker::end_transaction(&mut locked, &**consumer, "shutdown")
                .map(|_| ())
                .map_err(FinalCommitError::Transaction);
        }
    }
    let committing = Arc::clone(consumer);
    let commit = tokio::task::spawn_blocking(move || committing.commit_consumer_state(CommitMode::Sync));
    match tokio::time::timeout_at(deadline, commit).await {
        Ok(Ok(Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)))) => Ok(()),
        Ok(Ok(Err(error))) => Err(FinalCommitError::Kafka(error)),
        Ok(Err(join_error)) => Err(FinalCommitError::Task(join_error)),
        Err(_) => Err(FinalCommitError::TimedOut),
    }
}

/// The graceful stop: store and commit what is finished, write the stop entry, close the files,
/// leave the group, all within `tracker.shutdown_timeout_ms`.
async fn stop(
    config: Config,
    mut worker: Worker,
    consumer: Arc<TrackerConsumer>,
    signal: &str,
    progress: &StopProgress,
) -> StopSummary {
    let limit = Duration::from_millis(config.tracker.shutdown_timeout_ms);
    // The binary ends the process when `limit` has passed since the signal: finish a tenth
    // earlier, so a stop that goes to its own deadlines still ends on its own.
    let deadline = tokio::time::Instant::now() + limit - limit / 10;
    // Keep a margin to write the stop entry and leave the group after committing.
    let commit_deadline = deadline - limit / 3;
    let shared = Arc::clone(&worker.shared);
    let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);

    progress.set(
        "the .events and .log lines in memory are not written and nothing finished since the last \
         commit is committed: those messages will be delivered again",
    );
    let stored = lock().flush_and_store(&*consumer);
    progress.set(
        "the final commit did not finish: messages finished since the last commit will be \
         delivered again; the .log has no stop entry",
    );
    let committed = match stored {
        Err(error) => Err(FinalCommitError::Files(error)),
        Ok(()) => final_commit(&shared, &consumer, commit_deadline).await,
    };
    if let Err(error) = committed {
        let entry = CommitFailed { partitions: None, during: Some("shutdown".into()) };
        lock().log(&entry, Some(&error.to_string()));
    }

    progress.set("the .log has no stop entry, and the consumer group was not left");
    worker.write_metrics(&consumer);
    let uptime = worker.started.elapsed().as_secs_f64();
    let mut summary = worker.counters.stop_summary(signal, uptime, Utc::now());
    if let Some(transactions) = &lock().transactions {
        let (committed, aborted) = transactions.totals();
        summary.total_transactions_committed = Some(committed);
        summary.total_transactions_aborted = Some(aborted);
    }
    {
        let mut shared = lock();
        shared.log(&summary, None);
        if let Err(error) = shared.close() {
            tracing::error!(%error, "cannot write the stop entry");
        }
    }

    // Leave the group so the other instances take the partitions at once.
    progress.set(
        "the consumer group was not left: the other instances take over its partitions after \
         kafka.session_timeout_ms",
    );
    drop(worker);
    let leaving = tokio::task::spawn_blocking(move || {
        consumer.unsubscribe();
        drop(consumer);
    });
    if tokio::time::timeout_at(deadline, leaving).await.is_err() {
        tracing::warn!("leaving the consumer group did not finish in time");
    }
    summary
}
