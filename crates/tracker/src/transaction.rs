//! The exactly-once rule (`tracker.processing: exactly_once`): what the tracker writes to Kafka
//! for a batch of records, and the batch's consumed offsets, are committed in one Kafka
//! transaction, or not at all.
//!
//! A transaction begins with the first record received after the previous one ended. Each
//! record's effects — its status record on the status topic, its dead letter — are sent by the
//! transactional producer inside it. When the transaction holds `tracker.transaction_records`
//! finished records, or `tracker.transaction_max_ms` after its first record, the audit lines
//! are written out of the process, then the offsets (per partition, the one after the last
//! finished record) are sent with the consumer's group metadata
//! (`send_offsets_to_transaction`) and the transaction is committed. The group metadata lets
//! the broker refuse the offsets of a member that is no longer in the group (a zombie), and
//! the `transactional.id` (`<group>-<instance id>`) fences an older process of the same
//! instance: the new one's `init_transactions` aborts what the old one left open.
//!
//! A commit that fails in a way an abort recovers from is aborted; the records are then read
//! again: [`Ended::Aborted`] gives, per partition, the first offset of the aborted transaction
//! so the consumer can go back there. A fatal error (this producer was fenced) is
//! [`Fatal`]: the tracker stops.
//!
//! [`Transactions`] talks to Kafka but not to the files; its callers write the `.log` entries
//! it returns.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka::auth::AuthContext;
use models::health::{PartitionOffset, TransactionAborted, TransactionCommitted};
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

/// Longest wait for one transaction call (begin, send offsets, commit, abort).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// An error after which this producer can do nothing more: fenced by a newer producer with the
/// same `transactional.id`, or another fatal error.
#[derive(Debug, Clone)]
pub(crate) struct Fatal {
    /// The one line for the user.
    pub reason: String,
    /// Whether another producer took over the `transactional.id`.
    pub fenced: bool,
    /// The transaction that was open, lost with the producer.
    pub transaction: Option<String>,
}

/// How ending a transaction went.
#[derive(Debug)]
pub(crate) enum Ended {
    /// No transaction was open.
    Nothing,
    /// Committed: the `.log` entry.
    Committed(TransactionCommitted),
    /// Aborted: the `.log` entry, the error text, and per partition the first offset of the
    /// transaction (where to read again).
    Aborted { entry: TransactionAborted, error: String, rewind: BTreeMap<i32, i64> },
}

/// The transaction open now.
#[derive(Debug)]
struct Open {
    /// `<pid>-<n>`.
    name: String,
    started: Instant,
    records: u64,
    status_records: u64,
    dead_letters: u64,
    /// Per partition, the first offset received in it.
    first: BTreeMap<i32, i64>,
    /// Per partition, the offset after the last finished record.
    next: BTreeMap<i32, i64>,
    /// Why it cannot be committed, once a send into it failed: it is aborted at once.
    doomed: Option<String>,
}

/// See the module documentation.
pub(crate) struct Transactions {
    producer: FutureProducer<AuthContext>,
    transactional_id: String,
    topic: String,
    records_per_transaction: u64,
    max_age: Duration,
    process_id: u32,
    begun: u64,
    open: Option<Open>,
    committed: u64,
    aborted: u64,
    /// Set once a fatal error was met: nothing more is tried.
    fatal: Option<Fatal>,
}

impl std::fmt::Debug for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transactions")
            .field("transactional_id", &self.transactional_id)
            .field("open", &self.open)
            .field("committed", &self.committed)
            .field("aborted", &self.aborted)
            .finish_non_exhaustive()
    }
}

impl Transactions {
    /// Transactions of `producer` (created with `transactional.id` = `transactional_id` and
    /// already initialised) over the consumed `topic`.
    pub fn new(
        producer: FutureProducer<AuthContext>,
        transactional_id: String,
        topic: String,
        records_per_transaction: u64,
        max_age: Duration,
    ) -> Self {
        Self {
            producer,
            transactional_id,
            topic,
            records_per_transaction,
            max_age,
            process_id: std::process::id(),
            begun: 0,
            open: None,
            committed: 0,
            aborted: 0,
            fatal: None,
        }
    }

    /// The producer's `transactional.id`.
    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    /// The open transaction's name, as audit lines carry it.
    pub fn current(&self) -> Option<&str> {
        self.open.as_ref().map(|open| open.name.as_str())
    }

    /// Transactions committed and aborted by this process.
    pub fn totals(&self) -> (u64, u64) {
        (self.committed, self.aborted)
    }

    /// The fatal error met, if any.
    pub fn fatal(&self) -> Option<&Fatal> {
        self.fatal.as_ref()
    }

    /// Begins a transaction unless one is open, and notes that the record at `offset` of
    /// `partition` belongs to it.
    pub fn receive(&mut self, partition: i32, offset: i64) -> Result<(), Fatal> {
        if let Some(fatal) = &self.fatal {
            return Err(fatal.clone());
        }
        if self.open.is_none() {
            if let Err(error) = self.producer.begin_transaction() {
                return Err(self.fatal_error(&error, None));
            }
            self.begun += 1;
            self.open = Some(Open {
                name: format!("{}-{}", self.process_id, self.begun),
                started: Instant::now(),
                records: 0,
                status_records: 0,
                dead_letters: 0,
                first: BTreeMap::new(),
                next: BTreeMap::new(),
                doomed: None,
            });
        }
        if let Some(open) = &mut self.open {
            open.first.entry(partition).or_insert(offset);
        }
        Ok(())
    }

    /// The record at `offset` of `partition` is finished: its offset goes into the commit.
    pub fn finish(&mut self, partition: i32, offset: i64) {
        if let Some(open) = &mut self.open {
            open.records += 1;
            open.next.insert(partition, offset + 1);
        }
    }

    /// A status record was sent in the open transaction.
    pub fn status_sent(&mut self) {
        if let Some(open) = &mut self.open {
            open.status_records += 1;
        }
    }

    /// A dead letter was sent (and acknowledged) in the open transaction.
    pub fn dead_letter_sent(&mut self) {
        if let Some(open) = &mut self.open {
            open.dead_letters += 1;
        }
    }

    /// A record could not be sent into the open transaction (`reason`): it cannot be committed,
    /// and ends (aborted) as soon as the caller asks whether it is [`Transactions::due`].
    pub fn doom(&mut self, reason: String) {
        if let Some(open) = &mut self.open {
            open.doomed.get_or_insert(reason);
        }
    }

    /// Whether the open transaction is full, old enough, or doomed: time to end it.
    pub fn due(&self) -> bool {
        self.open.as_ref().is_some_and(|open| {
            open.doomed.is_some()
                || open.records >= self.records_per_transaction
                || open.started.elapsed() >= self.max_age
        })
    }

    /// Commits the open transaction with its consumed offsets and `consumer`'s group metadata;
    /// aborts it when the commit fails in a way an abort recovers from. The caller has written
    /// the audit lines of its records first.
    /// `during` names the moment in the entry of an abort: `batch`, `revocation` or
    /// `shutdown`.
    pub fn commit<C: ConsumerContext, K: Consumer<C>>(
        &mut self,
        consumer: &K,
        during: &str,
    ) -> Result<Ended, Fatal> {
        let Some(mut open) = self.open.take() else { return Ok(Ended::Nothing) };
        if let Some(reason) = open.doomed.take() {
            return self.abort_open(open, during, reason);
        }
        if open.next.is_empty() {
            // Nothing finished (the only record was cut short by shutdown): nothing to keep.
            return self.abort_open(open, during, "no record of the transaction was finished".to_owned());
        }
        let mut offsets = TopicPartitionList::new();
        for (&partition, &next) in &open.next {
            if let Err(error) = offsets.add_partition_offset(&self.topic, partition, Offset::Offset(next)) {
                return self.abort_open(open, during, error.to_string());
            }
        }
        wait_for_deliveries(&self.producer);
        let Some(group) = consumer.group_metadata() else {
            return self.abort_open(open, during, "the consumer has no group metadata".to_owned());
        };
        let sent = self
            .producer
            .send_offsets_to_transaction(&offsets, &group, CALL_TIMEOUT)
            .and_then(|()| self.producer.commit_transaction(CALL_TIMEOUT));
        match sent {
            Ok(()) => {
                self.committed += 1;
                let entry = TransactionCommitted {
                    transaction: open.name,
                    records: open.records,
                    status_records: open.status_records,
                    dead_letters: open.dead_letters,
                    offsets: open
                        .next
                        .iter()
                        .map(|(&partition, &offset)| PartitionOffset { partition, offset })
                        .collect(),
                    duration_ms: u64::try_from(open.started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    total_committed: self.committed,
                };
                Ok(Ended::Committed(entry))
            }
            Err(error) if is_fatal(&error) => Err(self.fatal_error(&error, Some(open.name))),
            Err(error) => self.abort_open(open, during, error.to_string()),
        }
    }

    /// Aborts the open transaction (`during`: `revocation`, `shutdown`, `halt`).
    pub fn abort(&mut self, during: &str, reason: &str) -> Result<Ended, Fatal> {
        match self.open.take() {
            None => Ok(Ended::Nothing),
            Some(open) => self.abort_open(open, during, reason.to_owned()),
        }
    }

    fn abort_open(&mut self, open: Open, during: &str, error: String) -> Result<Ended, Fatal> {
        if let Err(abort_error) = self.producer.abort_transaction(CALL_TIMEOUT) {
            return Err(self.fatal_error(&abort_error, Some(open.name)));
        }
        self.aborted += 1;
        let entry = TransactionAborted {
            transaction: open.name,
            records: open.records,
            during: during.to_owned(),
            total_aborted: self.aborted,
        };
        Ok(Ended::Aborted { entry, error, rewind: open.first })
    }

    fn fatal_error(&mut self, error: &KafkaError, transaction: Option<String>) -> Fatal {
        let fenced = is_fenced(error);
        let reason = if fenced {
            format!(
                "this tracker was fenced: another producer with transactional.id {} took over \
                 ({error}); stopping: its open transaction is aborted and its records are read \
                 again by the partitions' owner",
                self.transactional_id
            )
        } else {
            format!(
                "the transactional producer ({}) failed for good: {error}; stopping: the open \
                 transaction is aborted and its records are read again",
                self.transactional_id
            )
        };
        let fatal = Fatal { reason, fenced, transaction };
        self.fatal = Some(fatal.clone());
        fatal
    }
}

/// Waits (at most [`CALL_TIMEOUT`]) until the producer has no record in flight, before a
/// commit. rust-rdkafka's `commit_transaction` flushes first, and its flush of a producer that
/// a background thread polls sleeps in slices of 100 ms as long as a delivery report is
/// pending: each commit took about 100 ms more than the broker needed (`make bench-eos`,
/// transactions of 50: 489 records/s before, 2,005 with this wait; docs/benchmarks.md).
fn wait_for_deliveries(producer: &FutureProducer<AuthContext>) {
    let deadline = Instant::now() + CALL_TIMEOUT;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `error` leaves the producer unusable.
fn is_fatal(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(error) => {
            error.is_fatal() || !error.txn_requires_abort() && !error.is_retriable()
        }
        _ => false,
    }
}

/// Whether `error` says another producer took over the `transactional.id`.
fn is_fenced(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        )
    )
}
