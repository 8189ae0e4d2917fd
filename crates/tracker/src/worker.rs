//! The consumer loop: receive, audit, process (with retries), dead-letter, and mark finished.
//!
//! Messages are handled one at a time, in the order the consumer delivers them. Each is noted
//! received, then finished unless it is abandoned; [`crate::offsets`] decides which offsets may
//! be stored. A message cut short by shutdown (in a retry backoff, in simulated work, or
//! waiting for a dead-letter acknowledgement) is abandoned: it is never finished, so neither
//! its offset nor a later one of its partition is stored, and it is delivered again after a
//! restart.
//!
//! With `tracker.processing: exactly_once` each message also belongs to the open Kafka
//! transaction ([`crate::transaction`]): its status record and dead letter are sent in it, and
//! the transaction is committed with the consumed offsets when it is full or old enough
//! ([`end_transaction`]). A transaction that had to be aborted sends the consumer back to its
//! first offsets, so its records are read, audited and processed again.
//!
//! A dead-letter topic that refuses a failed message is tried [`DLQ_SEND_ATTEMPTS`] times with
//! a growing pause; then the loop stops with [`Halt::DeadLetter`] and the tracker exits 1. The
//! message is not finished, so neither its offset nor any later one of its partition is
//! stored: it is delivered again at the next start. Stalling without end (every message behind
//! it waiting, silently) or skipping it (losing it) are the two things this avoids.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use config::Config;
use kafka::auth::AuthContext;
use models::health::{
    DeserializationError, DuplicateSkipped, KafkaError, MessagePosition, OutOfOrder, ProcessingFailed,
    RetryScheduled, ValidationFailed,
};
use models::{OrderEvent, OrderStatus, OrderStatusRecord};
use rand::rngs::StdRng;
use rand::Rng;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset};
use retry::{decide, Backoff, Decision, Failure};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::TrackerContext;
use crate::metrics::{ClusterView, Counters, RateWindow};
use crate::process::{BoundedSet, OrderBook};
use crate::shared::Shared;
use crate::transaction::{Ended, Fatal};
use crate::{cluster, dlq};
use deadletter::{Inspection, Payload};

mod dead_letter;

/// The consumer type of the tracker.
pub type TrackerConsumer = StreamConsumer<TrackerContext>;

/// The longest raw payload copied into a `.log` error entry; `.events` has the whole payload.
const LOG_RAW_MESSAGE_MAX_CHARS: usize = 2_000;
/// Orders whose lifecycle position is remembered, to flag events that arrive out of order.
const ORDER_BOOK_CAPACITY: usize = 100_000;
/// How long one dead-letter send may wait for room in the producer's queue. The wait for the
/// acknowledgement is bounded by the dead-letter producer's `message.timeout.ms`.
const DLQ_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);
/// The sends of one dead letter and the pauses between them: 5 sends, the pause after a failed
/// one doubling from 1 s (1, 2, 4, 8 s: each pause is the backoff's ceiling, no jitter, since
/// one tracker retries one letter). With the default `message.timeout.ms` (30 s) the worst
/// case is 5 × 30 s + 15 s of pauses, well under `max.poll.interval.ms` (300 s), after which
/// the group would drop this instance.
const DLQ_SEND_BACKOFF: Backoff = Backoff {
    max_attempts: 5,
    initial_delay: Duration::from_secs(1),
    multiplier: 2.0,
    max_delay: Duration::from_secs(8),
};
/// Sends of one dead letter before the tracker gives up and stops ([`DLQ_SEND_BACKOFF`]).
pub const DLQ_SEND_ATTEMPTS: u32 = DLQ_SEND_BACKOFF.max_attempts;
/// Pause before a status record is offered again: after a full queue (`exactly_once`), or a
/// refusal (`at_least_once`, where the record must be acknowledged before its offset is
/// stored).
const STATUS_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Longest wait for a seek back to the start of an aborted transaction.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where `message` comes from, for `.log` entries about it.
fn position(message: &BorrowedMessage<'_>) -> MessagePosition {
    MessagePosition {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
    }
}

/// How handling a message ended.
#[derive(Debug)]
enum Outcome {
    /// Processed, skipped as a duplicate, or dead-lettered: its offset may be stored.
    Finished,
    /// Cut short by shutdown: its offset must not be stored.
    Abandoned,
    /// It failed and the dead-letter topic did not take it: the loop must stop (see the
    /// module documentation).
    Unhandled(Box<DeadLetterError>),
}

/// Why a failed message could not be dead-lettered; the tracker stops without storing its
/// offset, so it is delivered again at the next start.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The dead-letter topic did not accept it in [`DLQ_SEND_ATTEMPTS`] sends.
    #[error(
        "the dead-letter topic {dlq_topic} did not accept the failed message at {}/{} offset {} in \
         {DLQ_SEND_ATTEMPTS} attempts (last error: {source}); stopping without committing it or anything \
         after it in its partition: it is delivered again at the next start",
        message.topic, message.partition, message.offset
    )]
    NotAccepted {
        /// The dead-letter topic.
        dlq_topic: String,
        /// The failed message.
        message: MessagePosition,
        /// The last send's error.
        source: dlq::SendError,
    },
    /// Its dead letter was too large to send whole, and the whole record could not be kept in
    /// a file (sending a cut one would leave it nowhere whole).
    #[error(
        "the dead letter of {}/{} offset {} is too large to send whole ({refusal}) and the whole record \
         cannot be kept in {}: {source}; stopping without committing it or anything after it in its \
         partition: it is delivered again at the next start",
        message.topic, message.partition, message.offset, path.display()
    )]
    NotKept {
        /// The failed message.
        message: MessagePosition,
        /// The size refusal's text.
        refusal: String,
        /// The kept file it could not write.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Why the consumer loop stopped before shutdown. Either way nothing more is stored.
#[derive(Debug)]
pub enum Halt {
    /// The tracker files cannot be written.
    Files(std::io::Error),
    /// A failed message could not be dead-lettered.
    DeadLetter(Box<DeadLetterError>),
    /// `exactly_once`: the transactional producer was fenced or failed for good.
    Fatal(Fatal),
}

impl From<Fatal> for Halt {
    fn from(fatal: Fatal) -> Self {
        Halt::Fatal(fatal)
    }
}

/// Ends the open transaction (`exactly_once`): commits it with its consumed offsets, or
/// aborts it when the commit fails, and writes the `.log` entry. The caller has written the
/// audit lines out ([`Shared::flush_and_store`]). Returns, after an abort, per partition the
/// offset to read again from; nothing after a commit. `during`: `batch`, `revocation` or
/// `shutdown`.
pub(crate) fn end_transaction<K: Consumer<TrackerContext>>(
    shared: &mut Shared,
    consumer: &K,
    during: &str,
) -> Result<std::collections::BTreeMap<i32, i64>, Fatal> {
    let Some(transactions) = shared.transactions.as_mut() else { return Ok(Default::default()) };
    match transactions.commit(consumer, during)? {
        Ended::Nothing => Ok(Default::default()),
        Ended::Committed(entry) => {
            // For the metrics entries: what the group has committed (no commit callback runs
            // for offsets committed in a transaction).
            consumer.context().note_committed(entry.offsets.iter().map(|o| (o.partition, o.offset)));
            shared.log(&entry, None);
            Ok(Default::default())
        }
        Ended::Aborted { entry, error, rewind } => {
            tracing::warn!(transaction = entry.transaction, records = entry.records, %error, "transaction aborted; its records are read again");
            shared.log(&entry, Some(&error));
            Ok(rewind)
        }
    }
}

impl From<std::io::Error> for Halt {
    fn from(error: std::io::Error) -> Self {
        Halt::Files(error)
    }
}

/// Everything the loop needs besides the consumer.
pub struct Worker {
    /// Files, pending offsets, assignment (shared with the rebalance callbacks).
    pub shared: Arc<Mutex<Shared>>,
    /// Dead-letter producer; `None` when `dlq.enabled` is false.
    pub dlq: Option<FutureProducer<AuthContext>>,
    /// Producer of status records (the same client as `dlq`); `None` when the tracker writes
    /// none (`tracker.status_topic`).
    status: Option<FutureProducer<AuthContext>>,
    /// Transactions aborted so far, as last seen: when the count moves, the event ids
    /// remembered for duplicate detection are forgotten (their effects were not committed).
    aborts_seen: u64,
    /// Counters of this run.
    pub counters: Counters,
    /// Fired by SIGINT/SIGTERM.
    pub shutdown: CancellationToken,
    /// When the run started.
    pub started: Instant,
    /// The topic's `min.insync.replicas`, asked of the cluster at start (for metrics entries);
    /// empty until the cluster answered, and when it does not say.
    pub min_insync_replicas: Arc<std::sync::OnceLock<u32>>,
    instance_id: String,
    config: Config,
    backoff: Backoff,
    random: StdRng,
    /// Event ids already handled, each with the redrive count of the message that carried it
    /// (see `handle`).
    seen_events: BoundedSet<(Uuid, u32)>,
    orders: OrderBook,
    rate: RateWindow,
}

impl Worker {
    /// A worker for `config`, writing through `shared`.
    pub fn new(
        config: Config,
        shared: Arc<Mutex<Shared>>,
        dlq: Option<FutureProducer<AuthContext>>,
        status: Option<FutureProducer<AuthContext>>,
        shutdown: CancellationToken,
        random: StdRng,
    ) -> Self {
        let started = Instant::now();
        let backoff = config.retry.backoff();
        let instance_id = shared.lock().unwrap_or_else(PoisonError::into_inner).identity.instance_id.clone();
        Worker {
            instance_id,
            shared,
            dlq,
            status,
            aborts_seen: 0,
            counters: Counters::default(),
            shutdown,
            started,
            min_insync_replicas: Arc::default(),
            seen_events: BoundedSet::new(config.tracker.dedup_window),
            orders: OrderBook::new(ORDER_BOOK_CAPACITY),
            rate: RateWindow::start(started.into_std()),
            backoff,
            random,
            config,
        }
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Consumes until shutdown. Fails when the tracker files cannot be written or a failed
    /// message cannot be dead-lettered ([`Halt`]); nothing more is stored then.
    pub async fn consume(&mut self, consumer: &TrackerConsumer) -> Result<(), Halt> {
        let mut flush_tick = tokio::time::interval(Duration::from_millis(100));
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let metrics_every = Duration::from_millis(self.config.tracker.metrics_interval_ms);
        let mut metrics_tick = tokio::time::interval_at(Instant::now() + metrics_every, metrics_every);
        metrics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One wait for shutdown for the whole loop: a new one each message would join and leave
        // the token's list of waiters (a lock each time) for every record.
        let shutdown = self.shutdown.clone();
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                biased;
                () = &mut cancelled => return Ok(()),
                _ = flush_tick.tick() => {
                    let cluster_id = cluster::cluster_id(consumer.client(), Duration::ZERO);
                    let mut shared = self.shared();
                    shared.set_cluster_id(cluster_id);
                    shared.hand_off(consumer)?;
                    if let Some(fatal) = shared.transactions.as_ref().and_then(|t| t.fatal()) {
                        return Err(Halt::Fatal(fatal.clone()));
                    }
                    drop(shared);
                    self.end_transaction_if_due(consumer)?;
                }
                _ = metrics_tick.tick() => self.write_metrics(consumer),
                received = consumer.recv() => match received {
                    Ok(message) => {
                        self.forget_seen_events_after_an_abort();
                        let exactly_once = {
                            let mut shared = self.shared();
                            match shared.transactions.as_mut() {
                                Some(transactions) => {
                                    transactions.receive(message.partition(), message.offset())?;
                                    true
                                }
                                None => false,
                            }
                        };
                        let outcome = self.handle(&message).await;
                        if exactly_once {
                            if let Outcome::Unhandled(_) = outcome {
                                self.abort_transaction("halt");
                            } else if matches!(outcome, Outcome::Abandoned) {
                                // Cut short by shutdown, perhaps after its dead letter went into
                                // the transaction: none of the transaction may be committed.
                                self.abort_transaction("shutdown");
                            } else if matches!(outcome, Outcome::Finished) {
                                if let Some(transactions) = self.shared().transactions.as_mut() {
                                    transactions.finish(message.partition(), message.offset());
                                }
                            }
                        }
                        if let Outcome::Unhandled(reason) = outcome {
                            // A fenced producer refuses dead letters too: say the cause.
                            if let Some(fatal) = self.shared().transactions.as_ref().and_then(|t| t.fatal()) {
                                return Err(Halt::Fatal(fatal.clone()));
                            }
                            return Err(Halt::DeadLetter(reason));
                        }
                        let mut shared = self.shared();
                        if shared.wants_flush() {
                            shared.hand_off(consumer)?;
                        }
                        drop(shared);
                        self.end_transaction_if_due(consumer)?;
                    }
                    Err(error) => {
                        let text = error.to_string();
                        self.shared().log_rate_limited(KafkaError::reported_by("consumer"), &text);
                    }
                },
            }
        }
    }

    /// `exactly_once`: commits the open transaction if it is full or old enough, writing its
    /// audit lines out first; after an abort, goes back to its first records.
    fn end_transaction_if_due(&mut self, consumer: &TrackerConsumer) -> Result<(), Halt> {
        let mut shared = self.shared();
        if !shared.transactions.as_ref().is_some_and(|transactions| transactions.due()) {
            return Ok(());
        }
        shared.flush_and_store(consumer)?;
        let rewind = end_transaction(&mut shared, consumer, "batch")?;
        let topic = shared.identity.topic.clone();
        drop(shared);
        for (partition, offset) in rewind {
            if let Err(error) = consumer.seek(&topic, partition, Offset::Offset(offset), SEEK_TIMEOUT) {
                // A partition revoked meanwhile: its next owner reads from the committed offset.
                tracing::debug!(partition, offset, %error, "no seek back after the abort");
            }
        }
        self.forget_seen_events_after_an_abort();
        Ok(())
    }

    /// `exactly_once`: aborts the open transaction before the tracker stops on an error.
    fn abort_transaction(&mut self, during: &str) {
        let mut shared = self.shared();
        let aborted = match shared.transactions.as_mut() {
            Some(transactions) => transactions.abort(during, "the tracker stops"),
            None => return,
        };
        if let Ok(Ended::Aborted { entry, error, .. }) = aborted {
            shared.log(&entry, Some(&error));
        }
    }

    /// The event ids remembered since an aborted transaction began were not committed: after an
    /// abort (here or in a revocation) the records are read again and must not be taken for
    /// duplicates. All are forgotten, the simplest rule that is never wrong.
    fn forget_seen_events_after_an_abort(&mut self) {
        let aborted = self.shared().transactions.as_ref().map_or(0, |transactions| transactions.totals().1);
        if aborted != self.aborts_seen {
            self.aborts_seen = aborted;
            self.seen_events.clear();
        }
    }

    /// Audits one message, processes it, and marks it finished unless it was abandoned or
    /// left unhandled.
    async fn handle(&mut self, message: &BorrowedMessage<'_>) -> Outcome {
        let received_at = Utc::now();
        self.shared().received(message.partition(), message.offset());
        let payload = Payload::new(message.payload());
        let inspection = Inspection::of_payload(payload);
        self.counters.received += 1;
        self.counters.last_message_time = Some(received_at);
        // Read as raw bytes: rdkafka's own header accessors panic on a name that is not UTF-8.
        // Borrowed from the message, not copied: every record's headers are audited.
        let headers: Vec<kafka::headers::HeaderRef<'_>> = kafka::headers::borrow(message.headers()).collect();
        self.audit(message, payload, &inspection, &headers, received_at);
        // A dead letter sent back by `dlq redrive` carries the event id of the message that
        // failed, and that id was remembered when it was dead-lettered: keyed with its redrive
        // count, the resend is not mistaken for a duplicate, while a second delivery of the
        // same resend still is.
        let redrive = deadletter::claimed_redrive_count(headers.iter().copied());
        if let Some(event) = inspection.event() {
            self.counters.record_latency(event.timestamp, received_at, redrive);
        }

        let outcome = match inspection.accepted() {
            Err(failure) => {
                self.log_rejection(message, &failure, inspection.event());
                self.dead_letter(message, failure, 1, inspection.event(), redrive).await
            }
            Ok(event) if self.seen_events.contains(&(event.event_id, redrive)) => {
                self.counters.duplicates += 1;
                let entry = DuplicateSkipped {
                    event_id: event.event_id,
                    order_id: event.order.order_id,
                    partition: message.partition(),
                    offset: message.offset(),
                };
                self.shared().log(&entry, None);
                Outcome::Finished
            }
            Ok(event) => self.process_with_retries(message, event, redrive).await,
        };
        if matches!(outcome, Outcome::Finished) {
            self.counters.finished(message.offset());
            self.shared().finished(message.partition(), message.offset());
        }
        outcome
    }

    /// Writes the `.events` line: every message, whatever happens next.
    fn audit(
        &self,
        message: &BorrowedMessage<'_>,
        payload: Payload<'_>,
        inspection: &Inspection,
        headers: &[kafka::headers::HeaderRef<'_>],
        received_at: chrono::DateTime<Utc>,
    ) {
        let timestamp = models::Timestamp::new(received_at);
        let origin = kafka::origin(message);
        let mut shared = self.shared();
        let cluster_id = shared.cluster_id().cloned();
        let transaction = shared.transactions.as_ref().and_then(|t| t.current()).map(str::to_owned);
        let entry = inspection
            .audit_entry(payload, timestamp.as_str(), &self.instance_id, origin)
            .with_cluster_id(cluster_id.as_deref())
            .with_transaction(transaction.as_deref())
            .with_headers(headers);
        entry.write_line(shared.files.events.buffer());
    }

    fn log_rejection(&self, message: &BorrowedMessage<'_>, failure: &Failure, event: Option<&OrderEvent>) {
        let error = Some(failure.reason());
        match event {
            Some(event) => {
                let entry = ValidationFailed {
                    message: position(message),
                    message_size: message.payload_len(),
                    order_id: event.order.order_id,
                    event_id: event.event_id,
                };
                self.shared().log(&entry, error);
            }
            None => {
                let raw = String::from_utf8_lossy(message.payload().unwrap_or_default());
                let entry = DeserializationError {
                    message: position(message),
                    message_size: message.payload_len(),
                    raw_message: raw.chars().take(LOG_RAW_MESSAGE_MAX_CHARS).collect(),
                    raw_message_truncated: raw.chars().count() > LOG_RAW_MESSAGE_MAX_CHARS,
                };
                self.shared().log(&entry, error);
            }
        }
    }

    async fn process_with_retries(
        &mut self,
        message: &BorrowedMessage<'_>,
        event: &OrderEvent,
        redrive: u32,
    ) -> Outcome {
        let mut attempt = 1;
        loop {
            let failure = match self.attempt().await {
                None => return Outcome::Abandoned,
                Some(Ok(())) => {
                    if !self.write_status(message, event).await {
                        return Outcome::Abandoned;
                    }
                    self.apply(message, event, redrive);
                    return Outcome::Finished;
                }
                Some(Err(failure)) => failure,
            };
            match decide(&self.backoff, &failure, attempt, &mut self.random) {
                Decision::RetryAfter(delay) => {
                    self.counters.retries += 1;
                    let entry = RetryScheduled {
                        message: position(message),
                        order_id: event.order.order_id,
                        attempt,
                        delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    };
                    self.shared().log(&entry, Some(failure.reason()));
                    if !self.sleep(delay).await {
                        return Outcome::Abandoned;
                    }
                    attempt += 1;
                }
                Decision::DeadLetter => {
                    // With the DLQ off, dead_letter writes the one processing_failed entry.
                    if self.dlq.is_some() {
                        let entry = ProcessingFailed {
                            message: position(message),
                            order_id: Some(event.order.order_id),
                            attempts: attempt,
                            error_kind: failure.kind().to_owned(),
                            dlq: None,
                        };
                        self.shared().log(&entry, Some(failure.reason()));
                    }
                    self.seen_events.insert((event.event_id, redrive));
                    return self.dead_letter(message, failure, attempt, Some(event), redrive).await;
                }
            }
        }
    }

    /// One processing attempt: the simulated work and the simulated transient failure.
    /// `None` when shutdown cut it short.
    async fn attempt(&mut self) -> Option<Result<(), Failure>> {
        let delay = Duration::from_millis(self.config.tracker.processing_delay_ms);
        if !delay.is_zero() && !self.sleep(delay).await {
            return None;
        }
        let failure_rate = self.config.tracker.failure_rate;
        if failure_rate > 0.0 && self.random.random_bool(failure_rate) {
            let reason = "simulated transient failure (tracker.failure_rate)".to_owned();
            return Some(Err(Failure::Transient { kind: "processing", reason }));
        }
        Some(Ok(()))
    }

    /// Writes the order's status record to the status topic, when the tracker writes one:
    /// in the open transaction (`exactly_once`; its commit waits for the acknowledgement), or
    /// acknowledged before this returns (`at_least_once`, tried again until it is). False when
    /// shutdown cut it short.
    async fn write_status(&self, message: &BorrowedMessage<'_>, event: &OrderEvent) -> bool {
        let (Some(producer), Some(topic)) = (&self.status, self.config.tracker.status_topic()) else {
            return true;
        };
        let key = event.order.order_id.to_string();
        let value = OrderStatusRecord::of(event, message.partition(), message.offset()).to_json();
        let exactly_once = self.shared().transactions.is_some();
        loop {
            let record = FutureRecord::<str, [u8]>::to(topic).key(&key).payload(&value);
            let error = if exactly_once {
                let queue_full = {
                    let mut shared = self.shared();
                    let Some(transactions) = shared.transactions.as_mut() else { return true };
                    match producer.send_result(record) {
                        // The delivery is awaited by the commit, which fails if it failed.
                        Ok(_delivery) => {
                            transactions.status_sent();
                            false
                        }
                        Err((
                            rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                            _,
                        )) => true,
                        // Refused for good (a fenced producer, a record too large): the
                        // transaction cannot commit; it is aborted at the next step and its
                        // records read again.
                        Err((error, _)) => {
                            transactions
                                .doom(format!("status record of order {key} not sent to {topic}: {error}"));
                            false
                        }
                    }
                };
                if !queue_full {
                    return true;
                }
                if !self.sleep(STATUS_RETRY_PAUSE).await {
                    return false;
                }
                continue;
            } else {
                match producer.send(record, DLQ_QUEUE_TIMEOUT).await {
                    Ok(_) => return true,
                    Err((error, _)) => error.to_string(),
                }
            };
            let text = format!("status record of order {key} not sent to {topic}: {error}");
            {
                let mut shared = self.shared();
                shared.log_rate_limited(KafkaError::reported_by("status"), &text);
                // Out now: the loop is not back at its flush tick while it tries again.
                let _reported_by_the_next_hand_off = shared.files.log.hand_off();
            }
            if !self.sleep(STATUS_RETRY_PAUSE).await {
                return false;
            }
        }
    }

    /// What processing an order means here: lifecycle bookkeeping and revenue.
    fn apply(&mut self, message: &BorrowedMessage<'_>, event: &OrderEvent, redrive: u32) {
        let order = &event.order;
        if let Some(furthest) = self.orders.record(order.order_id, &order.status) {
            self.counters.out_of_order += 1;
            let entry = OutOfOrder {
                order_id: order.order_id,
                status: order.status.as_str().to_owned(),
                furthest_status: furthest.as_str().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
            };
            self.shared().log(&entry, None);
        }
        if order.status == OrderStatus::Created {
            // Validation caps each total (models::validate::MAX_AMOUNT_CENTS); the sum still cannot wrap.
            self.counters.revenue_cents = self.counters.revenue_cents.saturating_add(order.total_cents);
        }
        self.seen_events.insert((event.event_id, redrive));
        self.counters.processed += 1;
    }

    /// Sleeps unless shutdown comes first; returns whether the whole delay passed.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// Appends a metrics entry to the `.log`.
    pub fn write_metrics(&mut self, consumer: &TrackerConsumer) {
        let now = Instant::now();
        let rate = self.rate.advance(self.counters.received, now.into_std());
        let uptime = now.duration_since(self.started).as_secs_f64();
        let interval_ms = self.config.tracker.metrics_interval_ms;
        let (assignment, last_finished) = {
            let shared = self.shared();
            (shared.assignment().to_vec(), shared.last_finished().clone())
        };
        let offsets = consumer.context().partition_offsets(consumer.client(), &assignment);
        let mut metrics =
            self.counters.metrics(interval_ms, uptime, rate, &assignment, &offsets, &last_finished);
        // The replication from a Metadata request sent now, the connections from the last
        // statistics: what the client knows of the cluster at this entry.
        let view = ClusterView {
            replication: cluster::replication(
                consumer.client(),
                &self.config.kafka.topic,
                cluster::METADATA_TIMEOUT,
            ),
            min_insync_replicas: self.min_insync_replicas.get().copied(),
            brokers: consumer.context().broker_connections(),
        };
        view.add_to(&mut metrics);
        self.shared().log(&metrics, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_dead_letter_is_sent_again_after_1_2_4_and_8_seconds() {
        let pauses: Vec<u64> =
            (1..DLQ_SEND_ATTEMPTS).map(|send| DLQ_SEND_BACKOFF.ceiling(send).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8]);
        assert_eq!(DLQ_SEND_BACKOFF.worst_case_wait(), Duration::from_secs(15));
    }
}
