//! State shared by the consumer loop and the rebalance callbacks: the output files, the offsets
//! finished but not yet stored, and the current assignment.
//!
//! This is where the delivery rule lives: the offset of a finished message is stored only once
//! the batch of `.events` lines that holds its line is written out of the process
//! ([`Shared::hand_off`] on the way, [`Shared::flush_and_store`] at once). Nothing else stores
//! offsets.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use config::Redactor;
use models::health::{Entry, ErrorThrottle, Throttled, Verdict};
use models::{HealthEntry, LogKind};
use rdkafka::consumer::{Consumer, ConsumerContext};

use crate::files::{Batch, TrackerFiles};

/// Who writes: the instance id and the topic it consumes.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Instance id (also the Kafka client id).
    pub instance_id: String,
    /// The orders topic.
    pub topic: String,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Shared {
    /// Who writes.
    pub identity: Identity,
    /// The `.events` and `.log` files.
    pub files: TrackerFiles,
    /// Per partition, the highest offset finished since the last hand-off of `.events` lines.
    pending: BTreeMap<i32, i64>,
    /// Offsets finished, waiting for the batch that holds their lines to be written; oldest
    /// batch first.
    awaiting: VecDeque<(Batch, BTreeMap<i32, i64>)>,
    /// Partitions currently assigned to this instance.
    pub assignment: Vec<i32>,
    /// Holds back repeats of the same error text.
    errors: ErrorThrottle,
    /// The cluster id of the broker messages are read from now, written on every audit line
    /// (see [`crate::cluster`]); `None` while unknown or when the broker gives none.
    cluster_id: Option<Arc<str>>,
    /// Set once the stop entry is written: later callbacks (the revocation while leaving the
    /// group) write nothing, so the stop entry stays the last line.
    closed: bool,
    /// Removes the configuration's secrets from every `.log` entry (librdkafka's error texts
    /// can repeat them).
    redactor: Redactor,
}

impl Shared {
    /// Shared state over freshly opened files; `redactor` cleans every `.log` entry.
    pub fn new(identity: Identity, files: TrackerFiles, redactor: Redactor) -> Self {
        Self {
            identity,
            files,
            pending: BTreeMap::new(),
            awaiting: VecDeque::new(),
            assignment: Vec::new(),
            errors: ErrorThrottle::default(),
            cluster_id: None,
            closed: false,
            redactor,
        }
    }

    /// The cluster id of the broker messages are read from now.
    pub fn cluster_id(&self) -> Option<&Arc<str>> {
        self.cluster_id.as_ref()
    }

    /// Records the cluster id just read from the client. A known id is never replaced by
    /// `None` (the broker did not answer in time). Returns whether it changed.
    pub fn set_cluster_id(&mut self, cluster_id: Option<Arc<str>>) -> bool {
        match cluster_id {
            Some(id) if self.cluster_id.as_deref() != Some(&*id) => {
                self.cluster_id = Some(id);
                true
            }
            _ => false,
        }
    }

    /// Appends a `.log` entry, with the configuration's secrets redacted.
    pub fn log<E: Entry<Kind = LogKind>>(&mut self, entry: &E, error: Option<&str>) {
        if self.closed {
            return;
        }
        let timestamp = models::format_timestamp(Utc::now());
        let mut line = Vec::with_capacity(256);
        HealthEntry::of(&timestamp, Some(&self.identity.instance_id), entry)
            .with_optional_error(error)
            .write_line(&mut line);
        self.files.log.buffer().extend_from_slice(&self.redactor.redact_bytes(&line));
    }

    /// Like [`Shared::log`], but an error text already logged in the last 10 s is only counted;
    /// the next entry for it says how many were held back (`repeats_not_logged`).
    pub fn log_rate_limited<E: Entry<Kind = LogKind>>(&mut self, entry: E, error: &str) {
        match self.errors.check(error, Instant::now()) {
            Verdict::Hold => {}
            Verdict::Log { repeats_not_logged } => {
                self.log(&Throttled { entry, repeats_not_logged }, Some(error));
            }
        }
    }

    /// Notes that the message at `offset` of `partition` is finished (processed, skipped as a
    /// duplicate, or dead-lettered). Messages of a partition finish in offset order.
    pub fn finished(&mut self, partition: i32, offset: i64) {
        self.pending.insert(partition, offset);
    }

    /// Forgets finished offsets of partitions that are no longer ours.
    pub fn forget_partitions(&mut self, partitions: &[i32]) {
        for offsets in std::iter::once(&mut self.pending).chain(self.awaiting.iter_mut().map(|(_, o)| o)) {
            offsets.retain(|partition, _| !partitions.contains(partition));
        }
    }

    /// Hands the buffered lines to the writers without waiting for them, and stores the
    /// offsets whose lines are already written. If writing failed, no offset is stored.
    pub fn hand_off<C: ConsumerContext, K: Consumer<C>>(&mut self, consumer: &K) -> std::io::Result<()> {
        self.enqueue()?;
        self.store_written(consumer)
    }

    /// Writes both files out of the process, waiting for their writer threads, then stores
    /// every finished offset so the next commit includes them. If writing fails, no offset is
    /// stored.
    pub fn flush_and_store<C: ConsumerContext, K: Consumer<C>>(
        &mut self,
        consumer: &K,
    ) -> std::io::Result<()> {
        self.enqueue()?;
        self.files.flush()?;
        self.store_written(consumer)
    }

    /// Hands the buffered lines to the writer threads; the finished offsets then wait for the
    /// `.events` batch that holds their lines.
    fn enqueue(&mut self) -> std::io::Result<()> {
        self.files.log.hand_off()?;
        let batch = self.files.events.hand_off()?;
        if !self.pending.is_empty() {
            self.awaiting.push_back((batch, std::mem::take(&mut self.pending)));
        }
        Ok(())
    }

    /// Stores the offsets of the batches already written.
    fn store_written<C: ConsumerContext, K: Consumer<C>>(&mut self, consumer: &K) -> std::io::Result<()> {
        let written = self.files.events.written()?;
        while self.awaiting.front().is_some_and(|(batch, _)| *batch <= written) {
            let Some((_, offsets)) = self.awaiting.pop_front() else { break };
            for (partition, offset) in offsets {
                // Fails only for a partition just revoked: its new owner reads the message again.
                if let Err(error) = consumer.store_offset(&self.identity.topic, partition, offset) {
                    tracing::debug!(partition, offset, %error, "offset not stored");
                }
            }
        }
        Ok(())
    }

    /// Writes out the files for the last time; nothing is written after this.
    pub fn close(&mut self) -> std::io::Result<()> {
        self.closed = true;
        self.files.flush()
    }

    /// Whether a hand-off is due because the buffers grew large.
    pub fn wants_flush(&self) -> bool {
        self.files.events.wants_flush() || self.files.log.wants_flush()
    }
}
