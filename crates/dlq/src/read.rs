//! Reading a topic without a consumer group: all of it, one record at a time ([`each_record`]),
//! or only some places ([`read_positions`]).
//!
//! The consumer assigns itself each partition from the beginning (`assign`, not `subscribe`):
//! it never joins a group, so the trackers' group is untouched, and it never commits
//! (`enable.auto.commit=false`). librdkafka still wants a `group.id` before `assign`: a
//! throwaway one, unique per run, that no broker ever sees a member or an offset of. It stops at librdkafka's end-of-partition event
//! for every partition (`enable.partition.eof=true`) rather than at the high watermark, which
//! the local Tansu broker can report too low (see docs/operations.md); a read fails loudly when
//! the broker gives nothing for a minute.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use config::KafkaSettings;
use kafka::auth::{AuthContext, AuthWatch};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::letter::DeadLetter;
use crate::position::Position;
use crate::{BrokerError, DlqError};

/// Longest wait for the topic's metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a failed metadata request waits for the error callback to say whether the broker
/// refused the login.
const AUTH_ERROR_WAIT: Duration = Duration::from_secs(3);

/// Longest wait for the broker to give something (a record, an end of partition); for
/// [`read_positions`], the longest time in all.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Every record of `topic`, in partition then offset order; `None` when the topic does not exist.
/// Holds them all in memory: [`each_record`] does not.
pub fn read_topic(
    kafka: &KafkaSettings,
    topic: &str,
    auth: &AuthWatch,
) -> Result<Option<Vec<DeadLetter>>, DlqError> {
    let mut records = Vec::new();
    let exists = each_record(kafka, topic, auth, |record| records.push(record))?;
    Ok(exists.then_some(records))
}

/// Hands every record of `topic` to `visit`, one at a time, in partition then offset order (one
/// partition after the other), holding none of them; `false` when the topic does not exist.
/// Fails when the broker gives nothing (no record, no end of partition) for [`READ_TIMEOUT`]:
/// A consumer that reads the dead-letter topic by assignment (a throwaway group, nothing
/// committed), says when it reaches the end of a partition, and knows a refused login;
/// `offset_reset` is where it starts where no offset is given.
fn reader(
    kafka: &KafkaSettings,
    auth: &AuthWatch,
    offset_reset: &str,
) -> Result<BaseConsumer<ReaderContext>, DlqError> {
    let mut config = kafka::client_config(kafka, "dlq-reader");
    config
        .set("group.id", throwaway_group_id())
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", offset_reset)
        .set("fetch.wait.max.ms", "100");
    config
        .create_with_context(ReaderContext(AuthContext::new(auth.clone())))
        .map_err(|source| DlqError::Kafka(kafka::KafkaError::Client { what: "consumer", source }))
}

/// a long topic read steadily takes as long as it takes.
pub fn each_record(
    kafka: &KafkaSettings,
    topic: &str,
    auth: &AuthWatch,
    mut visit: impl FnMut(DeadLetter),
) -> Result<bool, DlqError> {
    let consumer = reader(kafka, auth, "earliest")?;
    let broker_failure = |error: BrokerError| {
        // The error callback runs from poll: serve it for a moment, so that a refused login
        // (which the broker reports by closing the connection, seen first as a transport
        // failure) is known and named.
        let deadline = std::time::Instant::now() + AUTH_ERROR_WAIT;
        while auth.failure().is_none() && std::time::Instant::now() < deadline {
            let _ = consumer.poll(Duration::from_millis(100));
        }
        match auth.failure() {
            Some(message) => BrokerError::Authentication(message),
            None => error,
        }
    };
    let metadata = consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT).map_err(|source| {
        broker_failure(BrokerError::Client {
            what: format!("read the metadata of {topic} from {}", kafka.broker),
            source,
        })
    })?;
    // The broker answered over a connection that logged in: the credentials work.
    auth.logged_in();
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else { return Ok(false) };
    match found.error().map(RDKafkaErrorCode::from) {
        None => {}
        Some(RDKafkaErrorCode::UnknownTopicOrPartition) => return Ok(false),
        Some(code) => return Err(BrokerError::Topic { topic: topic.to_owned(), code }.into()),
    }
    let mut partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    if partitions.is_empty() {
        return Ok(false);
    }
    partitions.sort_unstable();
    let mut read = 0_u64;
    for partition in partitions {
        read_partition(&consumer, topic, partition, auth, &mut read, &mut visit)?;
    }
    Ok(true)
}

/// Reads one partition of `topic` from its beginning to its end, handing each record to
/// `visit` and counting it in `read` (the count so far, for the stall's message).
fn read_partition(
    consumer: &BaseConsumer<ReaderContext>,
    topic: &str,
    partition: i32,
    auth: &AuthWatch,
    read: &mut u64,
    visit: &mut impl FnMut(DeadLetter),
) -> Result<(), DlqError> {
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Beginning)
        .map_err(|source| BrokerError::Client { what: format!("assign {topic}/{partition}"), source })?;
    consumer
        .assign(&assignment)
        .map_err(|source| BrokerError::Client { what: format!("assign {topic}"), source })?;
    let mut last_progress = Instant::now();
    loop {
        if let Some(message) = auth.failure() {
            return Err(BrokerError::Authentication(message).into());
        }
        if last_progress.elapsed() > READ_TIMEOUT {
            return Err(BrokerError::Stalled {
                topic: topic.to_owned(),
                partition,
                timeout: READ_TIMEOUT,
                read: *read,
            }
            .into());
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => {
                auth.logged_in();
                last_progress = Instant::now();
                *read += 1;
                visit(dead_letter_of(&message));
            }
            Some(Err(KafkaError::PartitionEOF(eof))) if eof == partition => {
                auth.logged_in();
                break;
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            // Transient (a broker connection dropped...): librdkafka retries meanwhile.
            Some(Err(error)) => tracing::warn!(%error, topic, "reading"),
        }
    }
    Ok(())
}

/// A consumed record as a [`DeadLetter`].
fn dead_letter_of(message: &rdkafka::message::BorrowedMessage<'_>) -> DeadLetter {
    DeadLetter {
        position: Position { partition: message.partition(), offset: message.offset() },
        timestamp: message.timestamp().to_millis().and_then(DateTime::<Utc>::from_timestamp_millis),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec),
        headers: kafka::headers::read(message.headers()),
    }
}

/// The records at the `wanted` (partition, offset) places of `topic`, for the
/// places that hold one; a place past the end, before the start or in a partition or topic
/// that does not exist is left out. Each partition is read from its first wanted offset and
/// skips ahead (seek) to the next one, so a few places cost a few fetches, not the topic.
pub fn read_positions(
    kafka: &KafkaSettings,
    topic: &str,
    wanted: &BTreeSet<(i32, i64)>,
    auth: &AuthWatch,
) -> Result<BTreeMap<(i32, i64), DeadLetter>, DlqError> {
    let mut found = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    // An offset out of range holds no record: jump to the end, where the end-of-partition
    // event says so, rather than to the start, which would read the whole partition.
    let consumer = reader(kafka, auth, "latest")?;
    let (mut open, high_watermarks) = assign_wanted(&consumer, topic, wanted, auth)?;
    let deadline = Instant::now() + READ_TIMEOUT;
    while !open.is_empty() {
        if let Some(message) = auth.failure() {
            return Err(BrokerError::Authentication(message).into());
        }
        if Instant::now() > deadline {
            return Err(BrokerError::TimedOut { topic: topic.to_owned(), timeout: READ_TIMEOUT }.into());
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => {
                auth.logged_in();
                let (partition, offset) = (message.partition(), message.offset());
                if !open.contains(&partition) {
                    continue;
                }
                if wanted.contains(&(partition, offset)) {
                    found.insert((partition, offset), dead_letter_of(&message));
                }
                match wanted.range((partition, offset + 1)..(partition, i64::MAX)).next() {
                    None => {
                        open.remove(&partition);
                    }
                    Some(&(_, next))
                        if next.min(high_watermarks.get(&partition).copied().unwrap_or(0)) > offset + 1 =>
                    {
                        let target = next.min(high_watermarks.get(&partition).copied().unwrap_or(0));
                        consumer
                            .seek(topic, partition, Offset::Offset(target), Duration::from_secs(10))
                            .map_err(|source| BrokerError::Client {
                                what: format!("seek {topic}/{partition}"),
                                source,
                            })?;
                    }
                    Some(_) => {}
                }
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                auth.logged_in();
                open.remove(&partition);
            }
            Some(Err(error)) => tracing::warn!(%error, topic, "reading"),
        }
    }
    Ok(found)
}

/// Assigns `consumer` to the partitions of `topic` that hold a `wanted` place, each from its
/// first wanted offset (kept between the partition's watermarks); returns those partitions
/// and their high watermarks. Assigns nothing when none of them exists.
fn assign_wanted(
    consumer: &BaseConsumer<ReaderContext>,
    topic: &str,
    wanted: &BTreeSet<(i32, i64)>,
    auth: &AuthWatch,
) -> Result<(BTreeSet<i32>, BTreeMap<i32, i64>), DlqError> {
    let metadata =
        consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT).map_err(|source| match auth.failure() {
            Some(message) => BrokerError::Authentication(message),
            None => BrokerError::Client { what: format!("read the metadata of {topic}"), source },
        })?;
    auth.logged_in();
    let partitions: BTreeSet<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    // A fetch past the end is answered differently by brokers (Tansu: an empty answer, no
    // end-of-partition event), so no read starts past the high watermark: one past it starts
    // there and reads to the true end (the watermark can run low on Tansu).
    let mut high_watermarks = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    let mut open = BTreeSet::new();
    for &(partition, offset) in wanted {
        if partitions.contains(&partition) && open.insert(partition) {
            let (low, high) =
                consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT).map_err(|source| {
                    BrokerError::Client { what: format!("read the offsets of {topic}/{partition}"), source }
                })?;
            high_watermarks.insert(partition, high);
            let start = offset.min(high).max(low);
            assignment.add_partition_offset(topic, partition, Offset::Offset(start)).map_err(|source| {
                BrokerError::Client { what: format!("assign {topic}/{partition}"), source }
            })?;
        }
    }
    if open.is_empty() {
        return Ok((open, high_watermarks));
    }
    consumer
        .assign(&assignment)
        .map_err(|source| BrokerError::Client { what: format!("assign {topic}"), source })?;
    Ok((open, high_watermarks))
}

/// The shared [`AuthContext`], without the warning librdkafka's error callback would print for
/// each end of partition: here that is the expected way to finish.
struct ReaderContext(AuthContext);

impl ClientContext for ReaderContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.0.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF))
        {
            self.0.error(error, reason);
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// `dlq-reader-<pid>-<nanoseconds>`: a group id no other client uses.
fn throwaway_group_id() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("dlq-reader-{}-{nanos}", std::process::id())
}
