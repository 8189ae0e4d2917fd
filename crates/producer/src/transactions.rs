//! Transactional sending (`producer.transactional`): the events go out in Kafka transactions
//! of `producer.transaction_records` records, or fewer when [`TRANSACTION_MAX_AGE`] has passed
//! since a transaction's first record (a slow pace would otherwise keep records invisible to
//! `read_committed` readers for minutes, and past the broker's transaction timeout). A share
//! `producer.abort_rate` of the transactions is aborted on purpose: their records are stored
//! (and acknowledged) but marked aborted, so a `read_uncommitted` reader sees them and a
//! `read_committed` one (the trackers) never does.
//!
//! Everything runs on one thread of its own, because every transaction call blocks until the
//! broker answers. A stop ends the open transaction the same way as a full one (committed, or
//! aborted by the same draw).

use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::Rng;
use rdkafka::error::KafkaError;
use rdkafka::producer::{Producer, ThreadedProducer};
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext};
use crate::events::{EventSource, OutgoingRecord};
use crate::pace::Pace;
use crate::{send, StopReason};

/// The longest a transaction stays open: it is committed (or aborted) this long after its
/// first record, however few records it holds.
pub const TRANSACTION_MAX_AGE: Duration = Duration::from_secs(1);
/// Longest wait for each transaction call (init, commit, abort, the flush before an abort).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest sleep between two looks at the stop request and the transaction's age.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// What one transactional run needs besides the client.
#[derive(Debug)]
pub(crate) struct Plan {
    /// When records are due.
    pub pace: Pace,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// Records per transaction.
    pub records_per_transaction: u64,
    /// Share of transactions aborted on purpose.
    pub abort_rate: f64,
    /// Draws which transactions are aborted.
    pub random: StdRng,
}

/// The transaction open now.
struct Open {
    records: u64,
    since: Instant,
}

/// Sends records from `source` in transactions until the count is reached or `stop` is
/// cancelled, then ends the open transaction. Fails on an error no abort can recover from
/// (another producer with the same `transactional.id` fenced this one, the broker does not
/// support transactions).
pub(crate) fn run(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    mut source: EventSource,
    mut plan: Plan,
    counters: &Counters,
    stop: &CancellationToken,
) -> Result<StopReason, KafkaError> {
    producer.init_transactions(CALL_TIMEOUT)?;
    let start = Instant::now();
    let mut index: u64 = 0;
    let mut open: Option<Open> = None;
    let mut record = OutgoingRecord::default();
    let reason = loop {
        if plan.count.is_some_and(|count| index >= count) {
            break StopReason::CountReached;
        }
        if stop.is_cancelled() {
            break StopReason::Shutdown;
        }
        if open.as_ref().is_some_and(|open| open.since.elapsed() >= TRANSACTION_MAX_AGE) {
            end(producer, open.take(), &mut plan, counters)?;
        }
        if let Some(wait) = plan.pace.wait_before(index, start.elapsed()) {
            std::thread::sleep(wait.min(WAIT_SLICE));
            continue;
        }
        if open.is_none() {
            producer.begin_transaction()?;
            open = Some(Open { records: 0, since: Instant::now() });
        }
        source.next_record_into(Utc::now(), &mut record);
        if !send::Sending::new(producer, topic, &record, counters).send_blocking(stop) {
            break StopReason::Shutdown;
        }
        index += 1;
        if let Some(transaction) = open.as_mut() {
            transaction.records += 1;
            if transaction.records >= plan.records_per_transaction {
                end(producer, open.take(), &mut plan, counters)?;
            }
        }
    };
    end(producer, open.take(), &mut plan, counters)?;
    Ok(reason)
}

/// Commits `open`, or aborts it when the draw says so. An abort first waits for the records'
/// acknowledgements, so they are stored (and marked aborted) rather than purged from the
/// client's queue. A commit the broker refuses in a way an abort recovers from is aborted and
/// counted so.
fn end(
    producer: &ThreadedProducer<DeliveryContext>,
    open: Option<Open>,
    plan: &mut Plan,
    counters: &Counters,
) -> Result<(), KafkaError> {
    let Some(open) = open else { return Ok(()) };
    let abort = plan.abort_rate > 0.0 && plan.random.random_bool(plan.abort_rate);
    if abort {
        producer.flush(CALL_TIMEOUT)?;
        producer.abort_transaction(CALL_TIMEOUT)?;
        counters.record_transaction(open.records, false);
        return Ok(());
    }
    match producer.commit_transaction(CALL_TIMEOUT) {
        Ok(()) => counters.record_transaction(open.records, true),
        Err(KafkaError::Transaction(error)) if error.txn_requires_abort() => {
            tracing::warn!(%error, records = open.records, "the transaction could not be committed; aborting it");
            producer.abort_transaction(CALL_TIMEOUT)?;
            counters.record_transaction(open.records, false);
        }
        Err(error) => return Err(error),
    }
    Ok(())
}
