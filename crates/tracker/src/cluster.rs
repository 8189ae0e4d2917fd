//! What the tracker knows of the cluster: the identity of the broker lifetime a message is
//! read from (the cluster id), the cached high watermarks, and, for metrics entries, each
//! partition's leader, replicas and in-sync replicas and the topic's `min.insync.replicas`.
//!
//! Offsets name a record only within one lifetime of a cluster's data. A broker that loses it
//! (Tansu on memory storage, a Docker Kafka whose volumes were thrown away) hands out offsets
//! from 0 again, so the same (topic, partition, offset) then names another record. Such a
//! broker starts with a new cluster id (`tansu broker --kafka-cluster-id`, a new KRaft
//! cluster), which every Metadata response carries; librdkafka caches the latest one. Every
//! audit line carries it, so (cluster_id, topic, partition, offset) names one record across
//! restarts.
//!
//! The tracker reads it after connecting and at each partition assignment (a new broker
//! lifetime means a new group join), and looks again at every hand-off tick, which costs a
//! lock and a short copy inside librdkafka.

use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings;
use rdkafka::client::{Client, ClientContext};

/// The cluster id librdkafka knows for `client`, waiting up to `timeout` if no Metadata
/// response arrived yet. `None` when the broker gives none (or did not answer in time).
///
/// Not rdkafka's `Client::fetch_cluster_id`: it never frees the copy librdkafka returns, and
/// this is called ten times a second.
pub fn cluster_id<C: ClientContext>(client: &Client<C>, timeout: Duration) -> Option<Arc<str>> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the client pointer is valid for the lifetime of `client`; librdkafka returns
    // either NULL or a NUL-terminated copy that we own and free with rd_kafka_mem_free.
    unsafe {
        let copy = bindings::rd_kafka_clusterid(client.native_ptr(), timeout_ms);
        if copy.is_null() {
            return None;
        }
        let id = CStr::from_ptr(copy).to_string_lossy().as_ref().into();
        bindings::rd_kafka_mem_free(client.native_ptr(), copy.cast());
        Some(id)
    }
}

/// The high watermark of `topic`/`partition` that librdkafka cached from the last fetch
/// response for it: as fresh as the last fetch (a tenth of a second when busy), where the
/// statistics are as old as `statistics.interval.ms`. `None` before the first fetch.
///
/// rdkafka 0.39 wraps only the variant that asks the broker and blocks
/// (`fetch_watermarks`); this reads the cache, without waiting.
pub fn cached_high_watermark<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let topic = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1_i64, -1_i64);
    // SAFETY: the client pointer is valid for the lifetime of `client`, `topic` is
    // NUL-terminated and outlives the call, and both out-pointers point to live i64s that
    // librdkafka only writes; nothing is handed back to free.
    let error = unsafe {
        bindings::rd_kafka_get_watermark_offsets(
            client.native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (error == bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

/// Leader, replicas and in-sync replicas of one partition, as the cluster's metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// Node id of the leader; -1 while there is none.
    pub leader: i32,
    /// Node ids of the replicas.
    pub replicas: Vec<i32>,
    /// Node ids of the in-sync replicas.
    pub in_sync_replicas: Vec<i32>,
}

/// How long a metrics entry waits for the cluster's metadata: a broker that hangs must not stall
/// the consumer loop for long; the entry then says the replication is unknown.
pub const METADATA_TIMEOUT: Duration = Duration::from_millis(500);

/// Per partition of `topic`, its leader, replicas and in-sync replicas from a Metadata request
/// the client sends now (to any broker it is connected to); `None` when no answer came within
/// `timeout` or the topic is unknown.
pub fn replication<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> Option<std::collections::BTreeMap<i32, Replication>> {
    let metadata = client.fetch_metadata(Some(topic), timeout).ok()?;
    let topic = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none())?;
    Some(
        topic
            .partitions()
            .iter()
            .map(|partition| {
                let replication = Replication {
                    leader: partition.leader(),
                    replicas: partition.replicas().to_vec(),
                    in_sync_replicas: partition.isr().to_vec(),
                };
                (partition.id(), replication)
            })
            .collect(),
    )
}

/// The `min.insync.replicas` of `topic`, asked of the cluster with DescribeConfigs; `None` when
/// it does not answer within `timeout` or does not say (Tansu 0.6 answers empty).
pub async fn min_insync_replicas(
    kafka: &config::KafkaSettings,
    topic: &str,
    timeout: Duration,
) -> Option<u32> {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        kafka::client_config(kafka, "order-tracking-admin").create().ok()?;
    let options = AdminOptions::new().request_timeout(Some(timeout));
    let results =
        tokio::time::timeout(timeout, admin.describe_configs([&ResourceSpecifier::Topic(topic)], &options))
            .await
            .ok()?
            .ok()?;
    let resource = results.into_iter().next()?.ok()?;
    resource.get("min.insync.replicas")?.value.as_deref()?.parse().ok()
}
