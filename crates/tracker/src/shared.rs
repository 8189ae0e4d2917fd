//! State shared by the consumer loop and the rebalance callbacks: the output files, the
//! offsets (the rule of when one may be stored is [`crate::offsets`]'s), and the error
//! throttle of the `.log`.
//!
//! Offsets are stored here and nowhere else: [`Shared::hand_off`] on the way,
//! [`Shared::flush_and_store`] at once (before a revocation, at shutdown).

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use config::Redactor;
use models::health::{Entry, ErrorThrottle, Throttled, Verdict};
use models::{HealthEntry, LogKind};
use rdkafka::consumer::{Consumer, ConsumerContext};

use crate::files::TrackerFiles;
use crate::offsets::Offsets;
use crate::transaction::Transactions;

/// Who writes: the instance id and the topic it consumes.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// Instance id (also the Kafka client id).
    pub instance_id: String,
    /// The orders topic.
    pub topic: String,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Who writes.
    pub identity: Identity,
    /// The `.events` and `.log` files.
    pub files: TrackerFiles,
    /// The assignment, and which offsets may be stored.
    offsets: Offsets,
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
    /// `exactly_once`: the open transaction and its producer. Offsets are then committed in
    /// the transactions and never stored in the consumer ([`Shared::store_written`] skips).
    pub transactions: Option<Transactions>,
}

impl Shared {
    /// Shared state over freshly opened files; `redactor` cleans every `.log` entry.
    pub fn new(identity: Identity, files: TrackerFiles, redactor: Redactor) -> Self {
        Self {
            identity,
            files,
            offsets: Offsets::default(),
            errors: ErrorThrottle::default(),
            cluster_id: None,
            closed: false,
            redactor,
            transactions: None,
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
    pub fn log<E: Entry<LogKind>>(&mut self, entry: &E, error: Option<&str>) {
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
    /// the next entry for it says how many were held back (`repeats_not_logged`). Returns the
    /// verdict, so a caller that also reports the error elsewhere (stderr) holds back the same.
    pub fn log_rate_limited<E: Entry<LogKind>>(&mut self, entry: E, error: &str) -> Verdict {
        let verdict = self.errors.check(error, Instant::now());
        if let Verdict::Log { repeats_not_logged } = verdict {
            self.log(&Throttled { entry, repeats_not_logged }, Some(error));
        }
        verdict
    }

    /// The group gave this instance `partitions` (the whole new assignment).
    pub fn assign(&mut self, partitions: &[i32]) {
        self.offsets.assign(partitions);
    }

    /// The group took `partitions` away: what was finished there and not stored is forgotten.
    pub fn revoke(&mut self, partitions: &[i32]) {
        self.offsets.revoke(partitions);
    }

    /// The partitions assigned to this instance, sorted.
    pub fn assignment(&self) -> &[i32] {
        self.offsets.assignment()
    }

    /// Per assigned partition, the last offset finished since it was assigned.
    pub fn last_finished(&self) -> &std::collections::BTreeMap<i32, i64> {
        self.offsets.last_finished()
    }

    /// Notes that the message at `offset` of `partition` was received.
    pub fn received(&mut self, partition: i32, offset: i64) {
        self.offsets.receive(partition, offset);
    }

    /// Notes that the message at `offset` of `partition` is finished (processed, skipped as a
    /// duplicate, or dead-lettered).
    pub fn finished(&mut self, partition: i32, offset: i64) {
        self.offsets.finish(partition, offset);
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
        self.offsets.hand_off(batch);
        Ok(())
    }

    /// Stores the offsets of the batches already written.
    fn store_written<C: ConsumerContext, K: Consumer<C>>(&mut self, consumer: &K) -> std::io::Result<()> {
        let written = self.files.events.written()?;
        let storable = self.offsets.store(written);
        if self.transactions.is_some() {
            // exactly_once: the offsets go into the transactions, never into the consumer.
            return Ok(());
        }
        for (partition, offset) in storable {
            // Fails only for a partition just revoked: its new owner reads the message again.
            if let Err(error) = consumer.store_offset(&self.identity.topic, partition, offset) {
                tracing::debug!(partition, offset, %error, "offset not stored");
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
