//! Feeding: what to send and when. In a flood, one thread of its own generates each record
//! and hands it to librdkafka at once ([`flood`]); otherwise [`produce`] paces the records
//! out on the runtime, generating each one when it is due. Both stop when the count is
//! reached or the stop is asked for.

use std::sync::Arc;

use chrono::Utc;
use rdkafka::producer::ThreadedProducer;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext};
use crate::events::{EventSource, OutgoingRecord};
use crate::pace::Pace;
use crate::{send, transactions, ProducerError, RunOptions, StopReason};

/// Records sent between two yields to the runtime when the paced loop is behind schedule.
const YIELD_EVERY: u64 = 1024;

/// Sends records from `source` until the count is reached or `stop` is cancelled: paced on
/// the runtime, or as a flood on a thread of its own.
pub(crate) async fn produce(
    producer: &Arc<ThreadedProducer<DeliveryContext>>,
    topic: &str,
    source: EventSource,
    options: &RunOptions,
    counters: &Arc<Counters>,
    stop: &CancellationToken,
) -> Result<StopReason, ProducerError> {
    if options.pace != Pace::Flood {
        return Ok(paced(producer, topic, source, options, counters, stop).await);
    }
    // One thread generates and sends: handing records over to another thread cost more
    // (a queue, and every payload freed on a thread other than the one that allocated it)
    // than it won, with librdkafka's own threads and the broker on the same cores.
    let (done, finished) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new().name("order-flood".to_owned()).spawn({
        let (producer, counters, stop) = (Arc::clone(producer), Arc::clone(counters), stop.clone());
        let (topic, count) = (topic.to_owned(), options.count);
        move || {
            let reason = flood(&producer, &topic, source, count, &counters, &stop);
            let _receiver_gone = done.send(reason);
        }
    });
    let thread =
        thread.map_err(|error| ProducerError::Task(format!("cannot start the flood thread: {error}")))?;
    // The thread ends right after it answers (or panics), so joining it does not block.
    match (finished.await, thread.join()) {
        (Ok(reason), Ok(())) => Ok(reason),
        _ => Err(ProducerError::Task("the flood thread panicked".to_owned())),
    }
}

/// Sends records from `source` in Kafka transactions ([`crate::transactions`]), on a thread
/// of its own whatever the pace: every transaction call blocks until the broker answers.
pub(crate) async fn produce_in_transactions(
    producer: &Arc<ThreadedProducer<DeliveryContext>>,
    config: &config::Config,
    source: EventSource,
    options: &RunOptions,
    counters: &Arc<Counters>,
    stop: &CancellationToken,
) -> Result<StopReason, ProducerError> {
    use rand::SeedableRng;
    let plan = transactions::Plan {
        pace: options.pace,
        count: options.count,
        records_per_transaction: config.producer.transaction_records,
        abort_rate: config.producer.abort_rate,
        random: match config.producer.seed {
            Some(seed) => rand::rngs::StdRng::seed_from_u64(seed),
            None => rand::rngs::StdRng::from_os_rng(),
        },
    };
    let transactional_id = config.producer.transactional_id.clone();
    let (done, finished) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new().name("order-transactions".to_owned()).spawn({
        let (producer, counters, stop) = (Arc::clone(producer), Arc::clone(counters), stop.clone());
        let topic = config.kafka.topic.clone();
        move || {
            let outcome = transactions::run(&producer, &topic, source, plan, &counters, &stop);
            let _receiver_gone = done.send(outcome);
        }
    });
    let thread = thread
        .map_err(|error| ProducerError::Task(format!("cannot start the transactions thread: {error}")))?;
    // The thread ends right after it answers (or panics), so joining it does not block.
    match (finished.await, thread.join()) {
        (Ok(Ok(reason)), Ok(())) => Ok(reason),
        (Ok(Err(source)), Ok(())) => Err(ProducerError::Transaction { transactional_id, source }),
        _ => Err(ProducerError::Task("the transactions thread panicked".to_owned())),
    }
}

/// Body of the flood thread: generates each record and hands it to librdkafka, waiting only
/// while its queue is full.
fn flood(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    mut source: EventSource,
    count: Option<u64>,
    counters: &Counters,
    stop: &CancellationToken,
) -> StopReason {
    let mut sent: u64 = 0;
    // librdkafka copies what it is given, so one record's buffers serve the whole flood.
    let mut record = OutgoingRecord::default();
    loop {
        if count.is_some_and(|count| sent >= count) {
            return StopReason::CountReached;
        }
        if stop.is_cancelled() {
            return StopReason::Shutdown;
        }
        source.next_record_into(Utc::now(), &mut record);
        if !send::Sending::new(producer, topic, &record, counters).send_blocking(stop) {
            return StopReason::Shutdown;
        }
        sent += 1;
    }
}

/// The paced loop: waits until each record is due, generates it, and hands it to librdkafka.
async fn paced(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    mut source: EventSource,
    options: &RunOptions,
    counters: &Counters,
    stop: &CancellationToken,
) -> StopReason {
    let start = tokio::time::Instant::now();
    let mut index: u64 = 0;
    loop {
        if options.count.is_some_and(|count| index >= count) {
            return StopReason::CountReached;
        }
        if stop.is_cancelled() {
            return StopReason::Shutdown;
        }
        if let Some(wait) = options.pace.wait_before(index, start.elapsed()) {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return StopReason::Shutdown,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let record = source.next_record(Utc::now());
        if !send::Sending::new(producer, topic, &record, counters).send(stop).await {
            return StopReason::Shutdown;
        }
        index += 1;
        if index.is_multiple_of(YIELD_EVERY) {
            tokio::task::yield_now().await;
        }
    }
}
