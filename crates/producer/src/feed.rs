//! Feeding: what to send and when. [`Feed`] generates the records (inline, or ahead on a
//! thread of its own in a flood) and [`produce`] paces them out, handing each one to
//! [`send::send`] when it is due, until the count is reached or the stop is asked for.

use chrono::Utc;
use rdkafka::producer::ThreadedProducer;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext};
use crate::events::{EventSource, OutgoingRecord};
use crate::pace::Pace;
use crate::{send, ProducerError, RunOptions, StopReason};

/// Records per batch generated ahead in flood mode.
const AHEAD_BATCH_SIZE: usize = 256;
/// Batches generated ahead at most (about 4 MB of orders).
const AHEAD_BATCHES: usize = 16;
/// Records sent between two yields to the runtime in a flood.
const YIELD_EVERY: u64 = 1024;

/// Where the sending loop takes its records from.
pub(crate) enum Feed {
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
    pub(crate) fn new(source: EventSource, options: &RunOptions) -> Result<Self, ProducerError> {
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
    pub(crate) fn close(self) {
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
/// count is reached or `stop` is cancelled.
pub(crate) async fn produce(
    producer: &ThreadedProducer<DeliveryContext>,
    topic: &str,
    feed: &mut Feed,
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
        let record = tokio::select! {
            biased;
            _ = stop.cancelled() => return StopReason::Shutdown,
            record = feed.next() => record,
        };
        let Some(record) = record else {
            return StopReason::CountReached;
        };
        if !send::send(producer, topic, &record, counters, stop).await {
            return StopReason::Shutdown;
        }
        index += 1;
        if index % YIELD_EVERY == 0 {
            tokio::task::yield_now().await;
        }
    }
}
