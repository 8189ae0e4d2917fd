//! A broker this crate did not start (one started by `scripts/broker.sh`, in the script
//! tests), reached by its address; [`Broker`](crate::Broker)'s own methods call these too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use crate::Record;

/// The client configuration for a broker this crate did not start (e.g. one started by
/// `scripts/broker.sh`), at `bootstrap` (`host:port`).
pub fn client_config_for(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    config
}

/// The cluster id the broker reports in its metadata (Tansu: `--kafka-cluster-id`).
pub fn fetch_cluster_id(config: ClientConfig) -> Result<String> {
    let consumer: BaseConsumer = config.create()?;
    consumer
        .client()
        .fetch_cluster_id(Duration::from_secs(10))
        .context("the broker reported no cluster id within 10 s")
}

/// [`Broker::produce`] against any broker: an idempotent producer with `acks=all` that waits
/// for every acknowledgement (up to 120 s each, so it rides out a broker restart: a JVM recovering its logs on two busy cores takes tens of seconds) and returns
/// where each record was stored, (partition, offset), in the order of `records`.
pub async fn produce_with(
    mut config: ClientConfig,
    topic: &str,
    records: &[Record],
) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "120000")
        .create()?;
    // Enqueue everything first (send_result does not wait), then collect the
    // acknowledgements: awaiting each send in turn would cost a round trip per record.
    let mut deliveries = Vec::with_capacity(records.len());
    for record in records {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &record.headers {
            headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
        }
        let mut message = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
        if let Some(key) = &record.key {
            message = message.key(key);
        }
        if let Some(payload) = &record.payload {
            message = message.payload(payload);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match producer.send_result(message) {
                Ok(delivery) => break deliveries.push(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < deadline =>
                {
                    message = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => bail!("cannot enqueue a record: {error}"),
            }
        }
    }
    let mut stored = Vec::with_capacity(records.len());
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(delivery)) => stored.push((delivery.partition, delivery.offset)),
            Ok(Err((error, _))) => bail!("delivery failed: {error}"),
            Err(_) => bail!("the producer went away before acknowledging"),
        }
    }
    Ok(stored)
}

/// [`Broker::read_exactly`] against any broker: reads a topic from the start until `count`
/// records arrived; fails after `timeout`.
pub fn read_exactly_with(
    mut config: ClientConfig,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Record>> {
    let consumer: BaseConsumer = config
        .set("group.id", "testkit-reader")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + timeout;
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        if Instant::now() > deadline {
            bail!("read {} of {count} records of {topic} within {timeout:?}", records.len());
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            records.push(Record::from_message(&message?));
        }
    }
    Ok(records)
}

/// Reads the records stored at the given (partition, offset) places of a topic, keyed by
/// place; fails after `timeout` unless every one of them was read.
pub fn read_offsets_with(
    mut config: ClientConfig,
    topic: &str,
    wanted: &[(i32, i64)],
    timeout: Duration,
) -> Result<BTreeMap<(i32, i64), Record>> {
    let consumer: BaseConsumer =
        config.set("group.id", "testkit-reader").set("enable.auto.commit", "false").create()?;
    let mut missing: BTreeSet<(i32, i64)> = wanted.iter().copied().collect();
    // Each partition from the lowest offset wanted in it.
    let mut assignment = rdkafka::TopicPartitionList::new();
    let mut previous = None;
    for &(partition, offset) in &missing {
        if previous != Some(partition) {
            assignment.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))?;
            previous = Some(partition);
        }
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + timeout;
    let mut found = BTreeMap::new();
    while let Some(&first_missing) = missing.first() {
        if Instant::now() > deadline {
            bail!(
                "{} of {} records of {topic} not read within {timeout:?}, the first at (partition, offset) \
                 {first_missing:?}",
                missing.len(),
                wanted.len()
            );
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let record = Record::from_message(&message?);
            if missing.remove(&(record.partition, record.offset)) {
                found.insert((record.partition, record.offset), record);
            }
        }
    }
    Ok(found)
}
