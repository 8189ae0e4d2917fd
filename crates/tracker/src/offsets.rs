//! The at-least-once rule: when the offset of a message may be stored.
//!
//! Automatic offset storing is off (`enable.auto.offset.store=false`); the tracker stores an
//! offset itself, and auto-commit (or the synchronous commits before a revocation and at
//! shutdown) sends what was stored. An offset is stored only when
//!
//! 1. the message at that offset, and every message of its partition received before it,
//!    is **finished**: processed, skipped as a duplicate, or dead-lettered with the broker's
//!    acknowledgement (a message cut short by shutdown never is), and
//! 2. the batch of `.events` lines that holds their lines is **written** out of the process.
//!
//! So a tracker killed at any moment loses no message: whatever was not stored is delivered
//! again, to it or to another instance. The price is duplicates after a crash or a rebalance.
//! A revoked partition's unfinished work is forgotten: its new owner starts at the last
//! committed offset, and a finish reported for it afterwards is ignored.
//!
//! [`Offsets`] owns that bookkeeping, with one operation per event of a message's or a
//! partition's life: [`Offsets::assign`], [`Offsets::receive`], [`Offsets::finish`],
//! [`Offsets::hand_off`] (the lines so far go into a batch), [`Offsets::store`] (the batches
//! written so far give the offsets to store) and [`Offsets::revoke`]. It talks to neither
//! Kafka nor the files, so the rule is tested on its own.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::files::Batch;

/// Where one assigned partition stands.
#[derive(Debug, Default)]
struct PartitionProgress {
    /// Received and not finished: being handled, or abandoned at shutdown.
    unfinished: BTreeSet<i64>,
    /// Finished, but a message received before it is not: they wait for it.
    finished_after_unfinished: BTreeSet<i64>,
    /// The highest offset that may be stored once the lines so far are written: it and every
    /// offset received before it are finished. Taken by the next hand-off.
    ready: Option<i64>,
}

impl PartitionProgress {
    /// Moves the finished offsets below the first unfinished one to `ready`.
    fn advance(&mut self) {
        let limit = self.unfinished.first().copied().unwrap_or(i64::MAX);
        while let Some(&offset) = self.finished_after_unfinished.first() {
            if offset >= limit {
                break;
            }
            self.finished_after_unfinished.pop_first();
            self.ready = Some(self.ready.map_or(offset, |ready| ready.max(offset)));
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    /// The partitions assigned to this instance, sorted.
    assignment: Vec<i32>,
    /// Per partition that received messages since it was assigned.
    partitions: BTreeMap<i32, PartitionProgress>,
    /// Offsets ready to store, waiting for the batch that holds their lines; oldest first.
    awaiting: VecDeque<(Batch, BTreeMap<i32, i64>)>,
    /// Per assigned partition, the last offset finished since it was assigned (for the lag
    /// of the metrics entry). Forgotten with the partition: when it comes back, the position
    /// is the committed offset until a new message is finished, not what this instance did
    /// before another one took over.
    last_finished: BTreeMap<i32, i64>,
}

impl Offsets {
    /// The group gave this instance `partitions` (the whole new assignment).
    pub(crate) fn assign(&mut self, partitions: &[i32]) {
        let mut partitions = partitions.to_vec();
        partitions.sort_unstable();
        partitions.dedup();
        let gone: Vec<i32> = self.assignment.iter().copied().filter(|p| !partitions.contains(p)).collect();
        self.forget(&gone);
        self.assignment = partitions;
    }

    /// The group took `partitions` away: their unfinished and unstored offsets are forgotten.
    pub(crate) fn revoke(&mut self, partitions: &[i32]) {
        self.assignment.retain(|partition| !partitions.contains(partition));
        self.forget(partitions);
    }

    fn forget(&mut self, partitions: &[i32]) {
        self.partitions.retain(|partition, _| !partitions.contains(partition));
        self.last_finished.retain(|partition, _| !partitions.contains(partition));
        for (_, offsets) in &mut self.awaiting {
            offsets.retain(|partition, _| !partitions.contains(partition));
        }
    }

    /// The partitions assigned to this instance, sorted.
    pub(crate) fn assignment(&self) -> &[i32] {
        &self.assignment
    }

    /// The message at `offset` of `partition` was received: no later offset of the partition
    /// may be stored before it is finished.
    pub(crate) fn receive(&mut self, partition: i32, offset: i64) {
        self.partitions.entry(partition).or_default().unfinished.insert(offset);
    }

    /// The message at `offset` of `partition` is finished. A finish for a message not received
    /// since its partition was (re)assigned is ignored.
    pub(crate) fn finish(&mut self, partition: i32, offset: i64) {
        let Some(progress) = self.partitions.get_mut(&partition) else { return };
        if progress.unfinished.remove(&offset) {
            progress.finished_after_unfinished.insert(offset);
            progress.advance();
            self.last_finished.insert(partition, offset);
        }
    }

    /// Per assigned partition, the last offset finished since it was assigned.
    pub(crate) fn last_finished(&self) -> &BTreeMap<i32, i64> {
        &self.last_finished
    }

    /// The lines gathered so far went into `batch`: the offsets ready now wait for it.
    pub(crate) fn hand_off(&mut self, batch: Batch) {
        let ready: BTreeMap<i32, i64> = self
            .partitions
            .iter_mut()
            .filter_map(|(&partition, progress)| Some((partition, progress.ready.take()?)))
            .collect();
        if !ready.is_empty() {
            self.awaiting.push_back((batch, ready));
        }
    }

    /// Every batch up to `written` is out of the process: the offsets that may be stored now,
    /// per partition the highest, in partition order. Each is returned once.
    pub(crate) fn store(&mut self, written: Batch) -> Vec<(i32, i64)> {
        let mut storable = BTreeMap::new();
        while self.awaiting.front().is_some_and(|(batch, _)| *batch <= written) {
            let Some((_, offsets)) = self.awaiting.pop_front() else { break };
            for (partition, offset) in offsets {
                let highest = storable.entry(partition).or_insert(offset);
                *highest = (*highest).max(offset);
            }
        }
        storable.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(partitions: &[i32]) -> Offsets {
        let mut offsets = Offsets::default();
        offsets.assign(partitions);
        offsets
    }

    #[test]
    fn an_offset_is_stored_only_once_finished_and_written() {
        let mut offsets = assigned(&[0]);
        offsets.receive(0, 10);
        offsets.hand_off(1);
        assert_eq!(offsets.store(1), [], "received, not finished");
        offsets.finish(0, 10);
        assert_eq!(offsets.store(1), [], "finished, but its line is in no batch yet");
        offsets.hand_off(2);
        assert_eq!(offsets.store(1), [], "its batch is not written");
        assert_eq!(offsets.store(2), [(0, 10)]);
        assert_eq!(offsets.store(3), [], "stored once");
    }

    #[test]
    fn a_finish_out_of_order_waits_for_the_earlier_messages() {
        let mut offsets = assigned(&[0, 1]);
        for offset in [5, 6, 7] {
            offsets.receive(0, offset);
        }
        offsets.receive(1, 3);
        offsets.finish(0, 7);
        offsets.finish(0, 6);
        offsets.finish(1, 3);
        offsets.hand_off(1);
        assert_eq!(offsets.store(1), [(1, 3)], "5 is unfinished, so neither 6 nor 7 may be stored");
        offsets.finish(0, 5);
        offsets.hand_off(2);
        assert_eq!(offsets.store(2), [(0, 7)], "5, 6 and 7 are all finished");
    }

    #[test]
    fn only_the_contiguous_finished_prefix_is_stored() {
        let mut offsets = assigned(&[0]);
        for offset in 0..6 {
            offsets.receive(0, offset);
        }
        for offset in [0, 1, 3, 4] {
            offsets.finish(0, offset);
        }
        offsets.hand_off(1);
        assert_eq!(offsets.store(1), [(0, 1)], "2 is unfinished: 3 and 4 wait");
    }

    #[test]
    fn an_abandoned_message_holds_back_its_partition_only() {
        let mut offsets = assigned(&[0, 1]);
        offsets.receive(0, 1);
        offsets.receive(1, 8);
        offsets.receive(0, 2);
        offsets.finish(1, 8);
        offsets.finish(0, 2);
        // Offset 1 of partition 0 was abandoned at shutdown: never finished.
        offsets.hand_off(1);
        assert_eq!(offsets.store(1), [(1, 8)]);
    }

    #[test]
    fn offsets_are_stored_in_batch_order_only() {
        let mut offsets = assigned(&[0]);
        offsets.receive(0, 1);
        offsets.finish(0, 1);
        offsets.hand_off(1);
        offsets.receive(0, 2);
        offsets.finish(0, 2);
        offsets.hand_off(2);
        assert_eq!(offsets.store(1), [(0, 1)]);
        assert_eq!(offsets.store(2), [(0, 2)]);
        offsets.receive(0, 3);
        offsets.finish(0, 3);
        offsets.hand_off(3);
        offsets.receive(0, 4);
        offsets.finish(0, 4);
        offsets.hand_off(4);
        assert_eq!(offsets.store(4), [(0, 4)], "both batches written: the highest");
    }

    #[test]
    fn revoke_then_reassign_forgets_the_old_work() {
        let mut offsets = assigned(&[0, 1]);
        offsets.receive(0, 5);
        offsets.finish(0, 5);
        offsets.hand_off(1);
        offsets.receive(0, 6);
        offsets.revoke(&[0]);
        assert_eq!(offsets.assignment(), [1]);
        assert_eq!(offsets.store(1), [], "written, but the partition is no longer ours");
        offsets.finish(0, 6);
        offsets.assign(&[1, 0]);
        assert_eq!(offsets.assignment(), [0, 1]);
        offsets.hand_off(2);
        assert_eq!(offsets.store(2), [], "a finish from before the revocation is ignored");
        offsets.receive(0, 7);
        offsets.finish(0, 7);
        offsets.hand_off(3);
        assert_eq!(offsets.store(3), [(0, 7)], "the old unfinished offset 6 holds nothing back");
    }

    #[test]
    fn a_revoked_partition_forgets_its_last_finished_offset() {
        let mut offsets = assigned(&[0, 1]);
        offsets.receive(0, 41);
        offsets.finish(0, 41);
        offsets.receive(1, 3);
        offsets.finish(1, 3);
        assert_eq!(offsets.last_finished(), &BTreeMap::from([(0, 41), (1, 3)]));
        offsets.revoke(&[0]);
        offsets.finish(0, 42);
        offsets.assign(&[0, 1]);
        assert_eq!(offsets.last_finished(), &BTreeMap::from([(1, 3)]), "neither 41 nor the late 42");
        offsets.assign(&[0]);
        assert_eq!(offsets.last_finished(), &BTreeMap::new(), "dropped by a new assignment too");
    }

    #[test]
    fn a_new_assignment_drops_the_partitions_it_lacks() {
        let mut offsets = assigned(&[0, 1]);
        offsets.receive(1, 4);
        offsets.finish(1, 4);
        offsets.assign(&[0]);
        offsets.hand_off(1);
        assert_eq!(offsets.store(1), []);
    }
}
