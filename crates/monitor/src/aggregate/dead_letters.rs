//! Dead letters and redriven records.
//!
//! - A **dead letter** is a `dlq_sent` entry of a tracker's `.log`: the message went to the
//!   dead-letter topic and the broker acknowledged it. Its metadata says where it came from,
//!   where it landed, the error kind, the attempts, the key, the event id and how many times
//!   `dlq redrive` had already sent it back; the entry's `error` is the reason.
//! - A **redriven record** is an `.events` line whose headers carry `dlq.redrive.count` >= 1:
//!   `dlq redrive` sent a dead letter back and a tracker received it. Its outcome is
//!   `dead_lettered_again` when a dead letter of the same instance, cluster id (broker
//!   lifetime), topic, partition and offset was read, else `valid` (it parsed and passed validation: processed, unless skipped as a
//!   duplicate or still being retried) or `invalid` (it fails again; with the DLQ on, its dead
//!   letter follows).
//!
//! Memory is bounded: rings of the latest rows, counts per error kind capped like statuses,
//! and a capped set of recent dead-letter positions for the outcomes.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::Serialize;

use super::{push_ring, shorten, MAX_ERROR_TEXT_BYTES, MAX_STATUSES};

/// Dead-letter positions remembered to tell a redriven record's outcome.
const DEAD_LETTER_POSITIONS: usize = 16_384;

/// Where a message was read: instance, cluster id, topic, partition, offset. The cluster id
/// keeps apart two records at the same offset of two broker lifetimes (a memory broker
/// restarted gives offsets from 0 again).
type Position = (String, Option<String>, String, i32, i64);

/// One dead letter, from a `dlq_sent` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeadLetterRow {
    /// When the tracker wrote the entry (the broker had acknowledged the dead letter).
    pub timestamp: String,
    /// The instance that gave up on the message.
    pub instance_id: String,
    /// The failure's kind: `deserialization`, `validation`, `processing`...
    pub error_kind: String,
    /// Why it failed (the entry's `error`, shortened).
    pub reason: Option<String>,
    /// Topic the message was read from.
    pub original_topic: String,
    /// Its partition.
    pub original_partition: i32,
    /// Its offset.
    pub original_offset: i64,
    /// The dead-letter topic.
    pub dlq_topic: String,
    /// Where the dead letter landed: partition...
    pub dlq_partition: i32,
    /// ... and offset (what `dlq show` takes).
    pub dlq_offset: i64,
    /// Attempts made before dead-lettering.
    pub attempts: u32,
    /// The message's key as text, when it had one (and the tracker wrote it).
    pub kafka_key: Option<String>,
    /// Its event id, when the payload parsed (and the tracker wrote it).
    pub event_id: Option<String>,
    /// How many times `dlq redrive` had sent it back before it failed this time.
    pub redrive_count: u32,
    /// The cluster id of the broker it was read from, when the tracker wrote it.
    pub cluster_id: Option<String>,
}

/// What became of a redriven record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedriveOutcome {
    /// Parsed and passed validation, and no dead letter of it was read.
    #[default]
    Valid,
    /// Fails again (not parsed, or breaking a rule), and no dead letter of it was read yet.
    Invalid,
    /// A dead letter of it was read.
    DeadLetteredAgain,
}

/// One redriven record, from its `.events` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedrivenRow {
    /// When the tracker received it.
    pub timestamp: String,
    /// The instance that received it.
    pub instance_id: String,
    /// Topic it was read from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The cluster id of the broker it was read from, when the line has one.
    pub cluster_id: Option<String>,
    /// Its key as text.
    pub kafka_key: Option<String>,
    /// Its event id, when it parsed.
    pub event_id: Option<String>,
    /// Its `dlq.redrive.count` header.
    pub redrive_count: u32,
    /// Its `dlq.redriven.from` header: the dead letter it came from (`topic/partition:offset`).
    pub redriven_from: Option<String>,
    /// What became of it.
    pub outcome: RedriveOutcome,
}

/// A count per error kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorKindCount {
    /// The failure's kind (`(other)` sums the kinds past the first 32).
    pub error_kind: String,
    /// Dead letters of that kind.
    pub count: u64,
}

/// Dead letters and redriven records, as of a summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeadLetterSummary {
    /// `dlq_sent` entries read (dead letters the broker acknowledged).
    pub total: u64,
    /// Dead letters per error kind, most first.
    pub by_error_kind: Vec<ErrorKindCount>,
    /// The latest dead letters, newest first.
    pub latest: Vec<DeadLetterRow>,
    /// Records sent back by `dlq redrive` and received again.
    pub redriven: RedrivenSummary,
}

/// Records sent back by `dlq redrive`: `.events` lines with `dlq.redrive.count` >= 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedrivenSummary {
    /// Deliveries of redriven records (audit lines).
    pub received: u64,
    /// Of which parsed and passed validation.
    pub valid: u64,
    /// Of which not parsed or breaking a rule.
    pub invalid: u64,
    /// Dead letters of redriven records (`dlq_sent` entries with `redrive_count` >= 1).
    pub dead_lettered_again: u64,
    /// The latest redriven records, newest first, each with its outcome.
    pub latest: Vec<RedrivenRow>,
}

/// What the aggregator keeps of dead letters and redriven records.
#[derive(Debug, Default)]
pub(super) struct DeadLetters {
    total: u64,
    by_error_kind: BTreeMap<String, u64>,
    latest: VecDeque<DeadLetterRow>,
    /// Dead letters whose message had been redriven before.
    again: u64,
    /// Recent dead-letter positions, for the outcome of redriven rows; oldest first.
    positions: VecDeque<Position>,
    position_set: HashSet<Position>,
    redriven_received: u64,
    redriven_valid: u64,
    redriven_latest: VecDeque<RedrivenRow>,
}

impl DeadLetters {
    /// One `dlq_sent` entry (`row.reason` not yet shortened).
    pub(super) fn dead_letter(&mut self, mut row: DeadLetterRow, capacity: usize) {
        self.total += 1;
        self.again += u64::from(row.redrive_count > 0);
        let room = self.by_error_kind.len() < MAX_STATUSES;
        match self.by_error_kind.get_mut(&row.error_kind) {
            Some(count) => *count += 1,
            None if room => {
                self.by_error_kind.insert(row.error_kind.clone(), 1);
            }
            None => *self.by_error_kind.entry("(other)".to_owned()).or_default() += 1,
        }
        let position = (
            row.instance_id.clone(),
            row.cluster_id.clone(),
            row.original_topic.clone(),
            row.original_partition,
            row.original_offset,
        );
        if self.position_set.insert(position.clone()) {
            self.positions.push_back(position);
            if self.positions.len() > DEAD_LETTER_POSITIONS {
                if let Some(oldest) = self.positions.pop_front() {
                    self.position_set.remove(&oldest);
                }
            }
        }
        row.reason = row.reason.map(|reason| shorten(&reason, MAX_ERROR_TEXT_BYTES));
        push_ring(&mut self.latest, capacity, |slot| *slot = row);
    }

    /// One `.events` line of a redriven record; `valid` when it parsed and passed validation.
    pub(super) fn redriven(&mut self, row: RedrivenRow, valid: bool, capacity: usize) {
        self.redriven_received += 1;
        self.redriven_valid += u64::from(valid);
        push_ring(&mut self.redriven_latest, capacity, |slot| *slot = row);
    }

    pub(super) fn summary(&self) -> DeadLetterSummary {
        let mut by_error_kind: Vec<ErrorKindCount> = self
            .by_error_kind
            .iter()
            .map(|(error_kind, &count)| ErrorKindCount { error_kind: error_kind.clone(), count })
            .collect();
        by_error_kind.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.error_kind.cmp(&b.error_kind)));
        let mut redriven_latest = super::newest_first(&self.redriven_latest, |row| &row.timestamp);
        for row in &mut redriven_latest {
            // A dead letter without a cluster id (written by a tracker older than the field)
            // may be of any broker lifetime.
            let dead_lettered = [row.cluster_id.clone(), None].into_iter().any(|cluster_id| {
                let position =
                    (row.instance_id.clone(), cluster_id, row.topic.clone(), row.partition, row.offset);
                self.position_set.contains(&position)
            });
            if dead_lettered {
                row.outcome = RedriveOutcome::DeadLetteredAgain;
            }
        }
        DeadLetterSummary {
            total: self.total,
            by_error_kind,
            latest: super::newest_first(&self.latest, |row| &row.timestamp),
            redriven: RedrivenSummary {
                received: self.redriven_received,
                valid: self.redriven_valid,
                invalid: self.redriven_received - self.redriven_valid,
                dead_lettered_again: self.again,
                latest: redriven_latest,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use models::health::{DlqSent, MessagePosition};
    use models::HealthEntry;

    use super::*;
    use crate::aggregate::{Aggregator, AggregatorConfig};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z").unwrap().with_timezone(&Utc)
    }

    fn dlq_sent(time: &str, offset: i64, error_kind: &str, redrive_count: u32, reason: &str) -> Vec<u8> {
        dlq_sent_in(None, time, offset, error_kind, redrive_count, reason)
    }

    fn dlq_sent_in(
        cluster_id: Option<&str>,
        time: &str,
        offset: i64,
        error_kind: &str,
        redrive_count: u32,
        reason: &str,
    ) -> Vec<u8> {
        let sent = DlqSent {
            message: MessagePosition { topic: "orders".into(), partition: 1, offset },
            dlq_topic: "orders-dlq".into(),
            dlq_partition: 0,
            dlq_offset: offset + 100,
            error_kind: error_kind.into(),
            attempts: 1,
            kafka_key: Some(format!("key-{offset}")),
            event_id: None,
            redrive_count,
            cluster_id: cluster_id.map(str::to_owned),
            transaction: None,
        };
        let mut out = Vec::new();
        HealthEntry::of(time, Some("i"), &sent).with_error(reason).write_line(&mut out);
        out.pop();
        out
    }

    fn audit_line(time: &str, offset: i64, valid: bool, headers: &str) -> Vec<u8> {
        audit_line_in(None, time, offset, valid, headers)
    }

    fn audit_line_in(
        cluster_id: Option<&str>,
        time: &str,
        offset: i64,
        valid: bool,
        headers: &str,
    ) -> Vec<u8> {
        let validation = if valid { "null" } else { "\"total mismatch\"" };
        let cluster_id = cluster_id.map_or_else(|| "null".to_owned(), |id| format!("\"{id}\""));
        format!(
            "{{\"timestamp\":\"{time}\",\"cluster_id\":{cluster_id},\"kafka_topic\":\"orders\",\"kafka_partition\":1,\"kafka_offset\":{offset},\
             \"kafka_key\":\"key-{offset}\",\"deserialized\":true,\"event_id\":\"e-{offset}\",\
             \"validation_error\":{validation},\"headers\":{headers}}}"
        )
        .into_bytes()
    }

    #[test]
    fn dead_letters_are_listed_newest_first_and_counted_by_kind() {
        let mut aggregator =
            Aggregator::new(AggregatorConfig { latest_dead_letters: 2, ..Default::default() });
        for (time, offset, kind) in [
            ("2026-01-01T00:00:01.000Z", 5, "deserialization"),
            ("2026-01-01T00:00:03.000Z", 7, "validation"),
            ("2026-01-01T00:00:02.000Z", 6, "deserialization"),
        ] {
            aggregator.ingest_log_line("i", &dlq_sent(time, offset, kind, 0, "bad payload"), now());
        }
        let summary = aggregator.snapshot(now()).dead_letters;
        assert_eq!(summary.total, 3);
        let kinds: Vec<_> = summary.by_error_kind.iter().map(|k| (k.error_kind.as_str(), k.count)).collect();
        assert_eq!(kinds, [("deserialization", 2), ("validation", 1)]);
        assert_eq!(summary.latest.len(), 2, "the ring keeps the last two read");
        let first = &summary.latest[0];
        assert_eq!(
            (first.timestamp.as_str(), first.original_offset, first.dlq_offset, first.error_kind.as_str()),
            ("2026-01-01T00:00:03.000Z", 7, 107, "validation")
        );
        assert_eq!(
            (first.reason.as_deref(), first.kafka_key.as_deref()),
            (Some("bad payload"), Some("key-7"))
        );
        assert_eq!(summary.redriven, RedrivenSummary::default());
    }

    #[test]
    fn redriven_records_and_their_outcomes() {
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        let redriven = r#"{"trace_id":"t","dlq.redrive.count":"1","dlq.redriven.from":"orders-dlq/0:105"}"#;
        let lines = [
            audit_line("2026-01-01T00:00:10.000Z", 20, true, redriven),
            audit_line("2026-01-01T00:00:11.000Z", 21, false, redriven),
            audit_line("2026-01-01T00:00:12.000Z", 22, false, r#"{"dlq.redrive.count":["1","2"]}"#),
            // Not redriven: no header, a count of 0, a value of another shape.
            audit_line("2026-01-01T00:00:13.000Z", 23, true, "{}"),
            audit_line("2026-01-01T00:00:13.000Z", 24, true, r#"{"dlq.redrive.count":"0"}"#),
            audit_line("2026-01-01T00:00:13.000Z", 25, true, r#"{"dlq.redrive.count":{"base64":"/w=="}}"#),
        ];
        for line in &lines {
            aggregator.ingest_events_line("i", line, now());
        }
        aggregator.ingest_log_line(
            "i",
            &dlq_sent("2026-01-01T00:00:12.500Z", 22, "validation", 2, "x"),
            now(),
        );
        let summary = aggregator.snapshot(now());
        assert_eq!(summary.messages.received, 6, "odd headers do not make a line malformed");
        let redriven = &summary.dead_letters.redriven;
        assert_eq!(
            (redriven.received, redriven.valid, redriven.invalid, redriven.dead_lettered_again),
            (3, 1, 2, 1)
        );
        let outcomes: Vec<_> =
            redriven.latest.iter().map(|row| (row.offset, row.redrive_count, row.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                (22, 2, RedriveOutcome::DeadLetteredAgain),
                (21, 1, RedriveOutcome::Invalid),
                (20, 1, RedriveOutcome::Valid)
            ]
        );
        assert_eq!(redriven.latest[2].redriven_from.as_deref(), Some("orders-dlq/0:105"));
        assert_eq!(redriven.latest[2].event_id.as_deref(), Some("e-20"));
        assert_eq!(summary.dead_letters.latest[0].redrive_count, 2);
    }

    #[test]
    fn a_dead_letter_of_another_broker_lifetime_is_not_the_redriven_record() {
        // A memory broker restarted counts offsets from 0 again: offset 22 of lifetime "old"
        // and offset 22 of lifetime "new" are two messages.
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        let redriven = r#"{"dlq.redrive.count":"1"}"#;
        aggregator.ingest_log_line(
            "i",
            &dlq_sent_in(Some("old"), "2026-01-01T00:00:01.000Z", 22, "validation", 0, "x"),
            now(),
        );
        for (cluster_id, offset) in [("new", 22), ("old", 22)] {
            let line = audit_line_in(Some(cluster_id), "2026-01-01T00:00:10.000Z", offset, false, redriven);
            aggregator.ingest_events_line("i", &line, now());
        }
        let latest = aggregator.snapshot(now()).dead_letters.redriven.latest;
        let outcomes: Vec<_> = latest.iter().map(|row| (row.cluster_id.as_deref(), row.outcome)).collect();
        assert!(outcomes.contains(&(Some("new"), RedriveOutcome::Invalid)), "{outcomes:?}");
        assert!(outcomes.contains(&(Some("old"), RedriveOutcome::DeadLetteredAgain)), "{outcomes:?}");

        // A dead letter written without a cluster id (an older tracker) matches any lifetime.
        aggregator.ingest_log_line(
            "i",
            &dlq_sent_in(None, "2026-01-01T00:00:11.000Z", 22, "validation", 1, "x"),
            now(),
        );
        let latest = aggregator.snapshot(now()).dead_letters.redriven.latest;
        assert!(latest.iter().all(|row| row.outcome == RedriveOutcome::DeadLetteredAgain), "{latest:?}");
    }
}
