//! Offsets seen per partition: duplicate deliveries and gaps.
//!
//! A delivery is identified by `(cluster_id, topic, partition, offset)`. The cluster id names
//! one lifetime of the broker: a broker that starts again empty gives offsets from 0 again,
//! and those are new messages, not duplicates of the old ones. Lines without a cluster id
//! (files written before the field existed) count as one unknown lifetime.
//!
//! A line written by a tracker in `exactly_once` mode names its Kafka transaction: an offset
//! seen again on such a line is a **retried attempt**, not a duplicate delivery. Committed
//! offsets are never read again, so the earlier line belonged to a transaction that was aborted
//! or never finished (a crash): its effects were not committed, and this attempt's are. Each
//! record is counted once (distinct offsets) and the attempts are shown apart.
//!
//! Offsets are kept as a set of disjoint ranges, so memory follows the number of gaps, not
//! the number of messages.

use std::collections::BTreeMap;

use serde::Serialize;

/// The identity of one partition in one broker lifetime.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PartitionKey {
    pub(super) cluster_id: Option<String>,
    pub(super) topic: String,
    pub(super) partition: i64,
}

/// Most instances listed as readers of one partition.
const MAX_READERS: usize = 16;
/// Gap ranges spelled out per partition.
const GAPS_SHOWN: usize = 3;

/// What was seen of one partition.
#[derive(Debug, Default)]
pub(super) struct PartitionOffsets {
    received: u64,
    duplicates: u64,
    /// Repeats on lines of an `exactly_once` tracker (see the module documentation).
    retried_attempts: u64,
    /// Disjoint, non-adjacent ranges of offsets seen: start → end, both included.
    ranges: BTreeMap<i64, i64>,
    readers: Vec<String>,
}

impl PartitionOffsets {
    /// Records one delivery of `offset` read by `instance_id`; `in_transaction` when its line
    /// names a Kafka transaction (`exactly_once`).
    pub(super) fn record(&mut self, offset: i64, instance_id: &str, in_transaction: bool) {
        self.received += 1;
        if !self.readers.iter().any(|reader| reader == instance_id) && self.readers.len() < MAX_READERS {
            self.readers.push(instance_id.to_owned());
        }
        let before = self.ranges.range(..=offset).next_back().map(|(&start, &end)| (start, end));
        if let Some((_, end)) = before {
            if offset <= end {
                if in_transaction {
                    self.retried_attempts += 1;
                } else {
                    self.duplicates += 1;
                }
                return;
            }
        }
        let mut start = offset;
        let mut end = offset;
        if let Some((before_start, before_end)) = before {
            if before_end == offset - 1 {
                start = before_start;
            }
        }
        if let Some(after_end) = offset.checked_add(1).and_then(|next| self.ranges.remove(&next)) {
            end = after_end;
        }
        self.ranges.insert(start, end);
    }

    /// Offsets between the first and the last seen that were never seen.
    pub(super) fn missing(&self) -> u64 {
        self.ranges
            .iter()
            .zip(self.ranges.iter().skip(1))
            .map(|((_, &end), (&next, _))| (next - end - 1) as u64)
            .sum()
    }

    /// The summary row of this partition.
    pub(super) fn summary(&self, key: &PartitionKey) -> PartitionSummary {
        let distinct: u64 = self.ranges.iter().map(|(&start, &end)| (end - start + 1) as u64).sum();
        let gaps: Vec<(i64, i64)> = self
            .ranges
            .iter()
            .zip(self.ranges.iter().skip(1))
            .map(|((_, &end), (&next, _))| (end + 1, next - 1))
            .collect();
        PartitionSummary {
            cluster_id: key.cluster_id.clone(),
            topic: key.topic.clone(),
            partition: key.partition,
            received: self.received,
            distinct_offsets: distinct,
            first_offset: self.ranges.keys().next().copied(),
            last_offset: self.ranges.values().next_back().copied(),
            duplicates: self.duplicates,
            retried_attempts: self.retried_attempts,
            missing_offsets: self.missing(),
            gaps_shown: gaps.iter().take(GAPS_SHOWN).copied().collect(),
            more_gaps: gaps.len().saturating_sub(GAPS_SHOWN),
            read_by: self.readers.clone(),
        }
    }
}

/// One partition of one broker lifetime, as its `.events` lines show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionSummary {
    /// Broker lifetime (`cluster_id` of the lines); `null` for lines without one.
    pub cluster_id: Option<String>,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i64,
    /// Deliveries (`.events` lines).
    pub received: u64,
    /// Distinct offsets.
    pub distinct_offsets: u64,
    /// Lowest offset seen.
    pub first_offset: Option<i64>,
    /// Highest offset seen.
    pub last_offset: Option<i64>,
    /// Deliveries of an offset already seen (at-least-once lines).
    pub duplicates: u64,
    /// Receptions of an offset already seen on lines of an `exactly_once` tracker: attempts
    /// after an aborted or unfinished transaction, not duplicates.
    pub retried_attempts: u64,
    /// Offsets between the first and the last never seen.
    pub missing_offsets: u64,
    /// The first missing ranges, both ends included.
    pub gaps_shown: Vec<(i64, i64)>,
    /// Missing ranges not listed in `gaps_shown`.
    pub more_gaps: usize,
    /// Instances that read it, in order of first delivery.
    pub read_by: Vec<String>,
}

#[cfg(test)]
mod exactly_once_tests {
    use super::*;

    #[test]
    fn a_record_read_again_in_a_transaction_is_an_attempt_not_a_duplicate() {
        let mut offsets = PartitionOffsets::default();
        for offset in 0..4 {
            offsets.record(offset, "a", true);
        }
        // The transaction holding 2 and 3 was aborted: they are read and audited again.
        offsets.record(2, "a", true);
        offsets.record(3, "b", true);
        offsets.record(1, "c", false);
        let key = PartitionKey { cluster_id: None, topic: "orders".into(), partition: 0 };
        let summary = offsets.summary(&key);
        assert_eq!((summary.received, summary.distinct_offsets), (7, 4), "each record counted once");
        assert_eq!((summary.retried_attempts, summary.duplicates), (2, 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_gaps() {
        let mut offsets = PartitionOffsets::default();
        for offset in [0, 1, 2, 5, 1, 4, 9, 9, 3] {
            offsets.record(offset, "a", false);
        }
        let key = PartitionKey { cluster_id: None, topic: "t".into(), partition: 0 };
        let row = offsets.summary(&key);
        assert_eq!((row.received, row.distinct_offsets, row.duplicates), (9, 7, 2));
        assert_eq!((row.first_offset, row.last_offset, row.missing_offsets), (Some(0), Some(9), 3));
        assert_eq!(row.gaps_shown, [(6, 8)]);
    }
}
