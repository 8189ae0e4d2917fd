//! The consumer's callbacks: rebalances (logged, and committed before partitions leave),
//! commit results (the committed offsets, and failures), client errors (a refused SASL login
//! is fatal), and librdkafka statistics (for lag, and the state of each broker connection).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use kafka::auth::{AuthWatch, Recorded};
use models::health::{
    BrokerConnection, CommitFailed, KafkaError as KafkaErrorEntry, PartitionsAssigned, PartitionsRevoked,
};
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::cluster;
use crate::metrics::PartitionOffsets;
use crate::shared::Shared;

/// Longest wait for the cluster id at an assignment (librdkafka normally has it already).
const CLUSTER_ID_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Callbacks of the tracker's consumer. They run on the thread that polls the consumer.
pub struct TrackerContext {
    shared: Arc<Mutex<Shared>>,
    offsets: Mutex<BTreeMap<i32, PartitionOffsets>>,
    /// The client's connection to each broker it learned of, from the last statistics.
    brokers: Mutex<Option<Vec<BrokerConnection>>>,
    /// Per partition, the offset this instance last committed, as the broker acknowledged it;
    /// forgotten when the partition is revoked or assigned again.
    committed: Mutex<BTreeMap<i32, i64>>,
    topic: String,
    auth: AuthWatch,
}

impl TrackerContext {
    /// Callbacks writing to `shared`, reading statistics of `topic`, reporting a refused
    /// login to `auth`.
    pub fn new(shared: Arc<Mutex<Shared>>, topic: String, auth: AuthWatch) -> Self {
        Self {
            shared,
            offsets: Mutex::new(BTreeMap::new()),
            brokers: Mutex::new(None),
            committed: Mutex::new(BTreeMap::new()),
            topic,
            auth,
        }
    }

    /// The freshest offsets known for each partition of `assignment`. The statistics come
    /// only every `statistics.interval.ms` (up to 5 s): on their own, the figures shown next to
    /// a fresh position trailed it (in a burst the lag read 0 while thousands of records
    /// waited). So the high watermark is the one librdkafka cached from the last fetch
    /// response, and the committed offset the one this instance's last commit of the
    /// partition stored, acknowledged by the broker; each falls back to the statistics' before
    /// there is one (before the first fetch; before the first commit since the partition was
    /// assigned: what the group had).
    pub fn partition_offsets(
        &self,
        client: &Client<TrackerContext>,
        assignment: &[i32],
    ) -> BTreeMap<i32, PartitionOffsets> {
        let statistics = self.offsets.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let committed = self.committed.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assignment
            .iter()
            .map(|&partition| {
                let mut offsets = statistics.get(&partition).copied().unwrap_or_default();
                if let Some(high) = cluster::cached_high_watermark(client, &self.topic, partition) {
                    offsets.high_watermark = Some(high);
                }
                if let Some(&offset) = committed.get(&partition) {
                    offsets.committed = Some(offset);
                }
                (partition, offsets)
            })
            .collect()
    }

    /// The state of the client's connection to each broker, from the last statistics (`None`
    /// before the first).
    pub fn broker_connections(&self) -> Option<Vec<BrokerConnection>> {
        self.brokers.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records offsets this instance committed another way than through the consumer (in a
    /// Kafka transaction, `exactly_once`), as the commit callback does for its own commits.
    pub fn note_committed(&self, offsets: impl IntoIterator<Item = (i32, i64)>) {
        let mut committed = self.committed.lock().unwrap_or_else(PoisonError::into_inner);
        committed.extend(offsets);
    }

    /// Forgets what this instance committed on `partitions`: another instance may commit
    /// there while they are not ours, and a new broker lifetime starts its offsets again.
    fn forget_committed(&self, partitions: &[i32]) {
        let mut committed = self.committed.lock().unwrap_or_else(PoisonError::into_inner);
        for partition in partitions {
            committed.remove(partition);
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<i32> {
    let mut partitions: Vec<i32> = list.elements().iter().map(|element| element.partition()).collect();
    partitions.sort_unstable();
    partitions
}

impl ClientContext for TrackerContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        kafka::log_to_tracing(level, facility, message);
    }

    fn stats(&self, statistics: Statistics) {
        if statistics.brokers.values().any(|broker| broker.state == "UP") {
            self.auth.logged_in();
        }
        // The brokers learned from metadata; the bootstrap entries (node id -1) are only
        // addresses to start from, and the logical ones (the group coordinator) name a
        // connection to one of the others.
        let mut brokers: Vec<BrokerConnection> = statistics
            .brokers
            .values()
            .filter(|broker| broker.nodeid >= 0 && broker.source != "logical")
            .map(|broker| BrokerConnection {
                node_id: broker.nodeid,
                address: broker.nodename.clone(),
                state: broker.state.clone(),
            })
            .collect();
        brokers.sort_by_key(|broker| broker.node_id);
        *self.brokers.lock().unwrap_or_else(PoisonError::into_inner) = Some(brokers);
        let Some(topic) = statistics.topics.get(&self.topic) else { return };
        let known = |offset: i64| (offset >= 0).then_some(offset);
        let offsets = topic
            .partitions
            .iter()
            .filter(|(&partition, _)| partition >= 0)
            .map(|(&partition, stats)| {
                let offsets = PartitionOffsets {
                    committed: known(stats.committed_offset),
                    high_watermark: known(stats.hi_offset),
                };
                (partition, offsets)
            })
            .collect();
        *self.offsets.lock().unwrap_or_else(PoisonError::into_inner) = offsets;
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // A refused login is fatal: `run` stops, logs it and prints it as the error line.
        if self.auth.record(&error, reason) != Recorded::Other {
            return;
        }
        // With no broker reachable librdkafka reports "1/1 brokers are down" about 20 times a
        // second: stderr gets a text when the .log does, at most once per 10 s, with the count
        // of repeats held back since.
        let text = format!("{error}: {reason}");
        let verdict = self.shared().log_rate_limited(KafkaErrorEntry::reported_by("client"), &text);
        kafka::warn_client_error(&error, reason, verdict);
    }
}

impl ConsumerContext for TrackerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else { return };
        let partitions = partitions_of(list);
        let mut shared = self.shared();
        // The partitions are still ours: store what is finished and commit it, so their next
        // owner starts right after the last message this instance handled.
        let stored = shared.flush_and_store(consumer);
        let committed = if shared.transactions.is_some() {
            // exactly_once: the open transaction ends before the partitions go, committed with
            // its offsets (the group generation is still this one), or aborted; after an
            // abort, partitions that stay are read again from its first records.
            match stored {
                Ok(()) => match crate::worker::end_transaction(&mut shared, consumer, "revocation") {
                    Ok(rewind) => {
                        for (partition, offset) in rewind.into_iter().filter(|(p, _)| !partitions.contains(p))
                        {
                            let topic = shared.identity.topic.clone();
                            let _ =
                                consumer.seek(&topic, partition, Offset::Offset(offset), CLUSTER_ID_TIMEOUT);
                        }
                        Ok(())
                    }
                    // The worker stops on it at its next step.
                    Err(fatal) => Err(fatal.reason),
                },
                Err(error) => {
                    if let Some(Ok(crate::transaction::Ended::Aborted { entry, error: why, .. })) = shared
                        .transactions
                        .as_mut()
                        .map(|t| t.abort("revocation", "cannot write the tracker files"))
                    {
                        shared.log(&entry, Some(&why));
                    }
                    Err(format!("cannot write the tracker files: {error}"))
                }
            }
        } else {
            match stored {
                Ok(()) => match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(format!("cannot write the tracker files: {error}")),
            }
        };
        if let Err(error) = committed {
            let entry =
                CommitFailed { partitions: Some(partitions.clone()), during: Some("revocation".into()) };
            shared.log(&entry, Some(&error));
        }
        shared.revoke(&partitions);
        self.forget_committed(&partitions);
        let topic = shared.identity.topic.clone();
        shared.log(&PartitionsRevoked { topic, partitions }, None);
        let _ = shared.files.flush();
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // A new broker lifetime means a new group join: read its identity before the first
        // message of the assignment. After a join librdkafka has it cached, so this does not wait.
        let cluster_id = match rebalance {
            Rebalance::Assign(_) => cluster::cluster_id(consumer.client(), CLUSTER_ID_TIMEOUT),
            _ => None,
        };
        let mut shared = self.shared();
        match rebalance {
            Rebalance::Assign(list) => {
                self.auth.logged_in();
                shared.set_cluster_id(cluster_id);
                let added = partitions_of(list);
                // The classic protocol assigns the whole new set; the incremental ones
                // (cooperative, KIP-848) only the partitions added. The client's assignment,
                // read after librdkafka applied this one, is the whole set in both.
                let partitions =
                    consumer.assignment().map_or_else(|_| added.clone(), |all| partitions_of(&all));
                shared.assign(&partitions);
                self.forget_committed(&added);
                let topic = shared.identity.topic.clone();
                let cluster_id = shared.cluster_id().map(|id| id.to_string());
                shared.log(&PartitionsAssigned { topic, partitions, added, cluster_id }, None);
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => {
                let text = format!("rebalance failed: {error}");
                shared.log_rate_limited(KafkaErrorEntry::reported_by("rebalance"), &text);
            }
        }
        let _ = shared.files.flush();
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => {
                let mut committed = self.committed.lock().unwrap_or_else(PoisonError::into_inner);
                for element in offsets.elements_for_topic(&self.topic) {
                    if let (Offset::Offset(offset), Ok(())) = (element.offset(), element.error()) {
                        committed.insert(element.partition(), offset);
                    }
                }
            }
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                let partitions = partitions_of(offsets);
                let entry = CommitFailed { partitions: Some(partitions), during: None };
                self.shared().log_rate_limited(entry, &error.to_string());
            }
        }
    }
}
