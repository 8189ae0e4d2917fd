//! `metadata` of a tracker metrics entry, as the monitor reads it.

use serde::Deserialize;

/// `metadata` of a metrics entry: the fields the monitor uses.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LeanMetrics {
    pub(super) messages_processed: u64,
    pub(super) messages_failed: u64,
    pub(super) dlq_sent: u64,
    pub(super) duplicates: u64,
    pub(super) retries: u64,
    pub(super) uptime_seconds: Option<f64>,
    pub(super) total_lag: Option<i64>,
    pub(super) interval_ms: Option<u64>,
    pub(super) partitions: Vec<models::health::PartitionMetrics>,
}
