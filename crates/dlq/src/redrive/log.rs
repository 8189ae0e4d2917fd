//! The redrive log: what `dlq redrive` sent back, and the redrive counts that follow from it.
//!
//! **The redrive log.** Every dead letter sent back is recorded in a topic next to the
//! dead-letter topic, `<dlq.topic>-redrives` (one partition), keyed by its position
//! (`orders-dlq/0:12`), after the broker acknowledged the resend. Before sending, redrive reads
//! that log and refuses a dead letter already in it. A topic rather than a local file because
//! it lives with the positions it names: every operator on every machine sees the same log,
//! and when a broker with memory storage restarts and offsets start again at 0, the log is
//! gone together with the dead letters it described instead of refusing new ones. Reading the
//! target topic for a `dlq.redriven.from` header would do the same, but reads every order.
//!
//! A crash between the acknowledgement and the log write leaves a resend unrecorded: running
//! redrive again would send it a second time (at least once, like the rest of the system; the
//! tracker's duplicate detection sees the same event id).
//!
//! **The loop guard.** A dead letter's redrive count is the one the redrive log recorded for
//! the resend it came from (its `dlq.original.*` position is that resend's `sent_to`), 0 when
//! no entry names it: never a header the record carries, which any producer can set
//! ([`RedriveLog::redrives`]). A dead letter whose count reached `dlq.max_redrives` is refused.
//!
//! **The log is read as data.** Anyone who can write to the log topic can write anything in it,
//! so an entry counts only when it is a well-formed entry of this dead-letter topic, keyed by
//! the dead letter it names, that dead letter exists, its count is one more than that dead
//! letter's own, and the record it says was sent carries `dlq.redriven.from` naming that dead
//! letter; the first such entry of a dead letter wins. Any other is ignored with a warning.
//!

use std::collections::{BTreeMap, BTreeSet};

use config::Config;
use deadletter::headers as dlq_headers;
use kafka::auth::AuthWatch;
use kafka::headers::RawHeader;
use serde::{Deserialize, Serialize};

use crate::export::Location;
use crate::letter::{display_bytes, DeadLetter};
use crate::position::Position;
use crate::DlqError;

/// The topic that records what was redriven, next to the dead-letter topic.
pub fn log_topic(dlq_topic: &str) -> String {
    format!("{dlq_topic}-redrives")
}

/// One record of the redrive log (its key is [`log_key`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedriveRecord {
    /// The dead letter that was sent back.
    pub dead_letter: Location,
    /// Where the broker stored the resent record.
    pub sent_to: Location,
    /// When, RFC 3339 UTC.
    pub redriven_at: String,
    /// Its `dlq.redrive.count`.
    pub redrive_count: u32,
}

/// `orders-dlq/0:12`.
pub fn log_key(dlq_topic: &str, position: Position) -> String {
    format!("{dlq_topic}/{position}")
}

/// The redrive log as far as it can be trusted (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct RedriveLog {
    /// Dead-letter position → its (first valid) entry.
    by_dead_letter: BTreeMap<Position, RedriveRecord>,
    /// Where a resend went (topic, partition, offset) → its redrive count.
    count_by_resend: BTreeMap<(String, i32, i64), u32>,
}

impl RedriveLog {
    /// The entry of the dead letter at `position`, when it was redriven.
    pub fn redriven(&self, position: Position) -> Option<&RedriveRecord> {
        self.by_dead_letter.get(&position)
    }

    /// How many times the message of `letter` had been sent back by `dlq redrive` before it
    /// failed again: the count the log recorded for the resend the tracker consumed (the
    /// letter's `dlq.original.*` position), else 0. The one place a redrive count is decided;
    /// a `dlq.redrive.count` the record carries is not looked at.
    pub fn redrives(&self, letter: &DeadLetter) -> u32 {
        let origin = (letter.original_topic(), letter.original_partition(), letter.original_offset());
        let (Some(topic), Some(partition), Some(offset)) = origin else { return 0 };
        self.count_by_resend.get(&(topic.to_owned(), partition, offset)).copied().unwrap_or(0)
    }
}

/// The redrive log, each entry checked (see the module documentation); an entry that fails a
/// check is left out with a warning on stderr. Empty when the log topic does not exist yet.
pub fn read_log(config: &Config, auth: &AuthWatch) -> Result<RedriveLog, DlqError> {
    let dlq_topic = config.dlq.topic.as_str();
    let log_topic = log_topic(dlq_topic);
    let records = crate::read::read_topic(&config.kafka, &log_topic, auth)?.unwrap_or_default();
    // The dead letters the entries name, read where they are (not the whole topic).
    let named: BTreeSet<(i32, i64)> = records
        .iter()
        .filter_map(|record| serde_json::from_slice::<RedriveRecord>(record.payload.as_deref()?).ok())
        .filter(|entry| entry.dead_letter.topic == dlq_topic)
        .map(|entry| (entry.dead_letter.partition, entry.dead_letter.offset))
        .collect();
    let exists: BTreeMap<Position, DeadLetter> =
        crate::read::read_positions(&config.kafka, dlq_topic, &named, auth)?
            .into_values()
            .map(|letter| (letter.position, letter))
            .collect();
    let well_formed = well_formed_entries(records, dlq_topic, &exists);
    // Then the records they say were sent, a few fetches per topic.
    let mut wanted: BTreeMap<&str, BTreeSet<(i32, i64)>> = BTreeMap::new();
    for (_, _, entry) in &well_formed {
        wanted
            .entry(entry.sent_to.topic.as_str())
            .or_default()
            .insert((entry.sent_to.partition, entry.sent_to.offset));
    }
    let mut sent: BTreeMap<(String, i32, i64), Vec<RawHeader>> = BTreeMap::new();
    for (topic, places) in &wanted {
        for (place, record) in crate::read::read_positions(&config.kafka, topic, places, auth)? {
            sent.insert(((*topic).to_owned(), place.0, place.1), record.headers);
        }
    }
    Ok(consistent_entries(well_formed, dlq_topic, &exists, &sent))
}

/// Logs an entry of the redrive log that is left out, and why.
fn ignore(dlq_topic: &str, at: Position, reason: &str) {
    tracing::warn!("redrive log entry ignored: {} {at}: {reason}", log_topic(dlq_topic));
}

/// The first checks of [`read_log`], those that need nothing but the entry and the dead
/// letters that exist: `(where the entry is, the dead letter it names, the entry)`, in the
/// log's order.
fn well_formed_entries(
    records: Vec<DeadLetter>,
    dlq_topic: &str,
    exists: &BTreeMap<Position, DeadLetter>,
) -> Vec<(Position, Position, RedriveRecord)> {
    let ignore = |at: Position, reason: &str| ignore(dlq_topic, at, reason);
    let mut well_formed = Vec::new();
    for record in records {
        let Some(payload) = record.payload.as_deref() else {
            ignore(record.position, "no payload");
            continue;
        };
        let entry = match serde_json::from_slice::<RedriveRecord>(payload) {
            Ok(entry) => entry,
            Err(error) => {
                ignore(record.position, &format!("not a redrive log entry ({error})"));
                continue;
            }
        };
        let named = Position { partition: entry.dead_letter.partition, offset: entry.dead_letter.offset };
        let reason = if entry.dead_letter.topic != dlq_topic {
            Some(format!(
                "it names topic {}, not {dlq_topic}",
                display_bytes(entry.dead_letter.topic.as_bytes())
            ))
        } else if record.key.as_deref() != Some(log_key(dlq_topic, named).as_bytes()) {
            Some(format!("its key is not {}", log_key(dlq_topic, named)))
        } else if entry.sent_to.topic == dlq_topic || entry.redrive_count == 0 {
            Some("its sent_to or redrive_count cannot come from dlq redrive".to_owned())
        } else if chrono::DateTime::parse_from_rfc3339(&entry.redriven_at).is_err() {
            Some("its redriven_at is not an RFC 3339 time".to_owned())
        } else if !exists.contains_key(&named) {
            Some(format!("{dlq_topic} holds no dead letter at {named}"))
        } else {
            None
        };
        match reason {
            Some(reason) => ignore(record.position, &reason),
            None => well_formed.push((record.position, named, entry)),
        }
    }
    well_formed
}

/// The last checks of [`read_log`], against the records the entries say were sent (`sent`:
/// their headers by topic, partition and offset) and the entries before them: in the log's
/// order, as an entry's count builds on the entries before it.
fn consistent_entries(
    well_formed: Vec<(Position, Position, RedriveRecord)>,
    dlq_topic: &str,
    exists: &BTreeMap<Position, DeadLetter>,
    sent: &BTreeMap<(String, i32, i64), Vec<RawHeader>>,
) -> RedriveLog {
    let ignore = |at: Position, reason: &str| ignore(dlq_topic, at, reason);
    let mut log = RedriveLog::default();
    for (at, named, entry) in well_formed {
        let to = &entry.sent_to;
        let resend = (to.topic.clone(), to.partition, to.offset);
        let from = sent.get(&resend).and_then(|headers| {
            headers.iter().rev().find(|(name, _)| name == dlq_headers::REDRIVEN_FROM.as_bytes())?.1.clone()
        });
        let expected_count = exists.get(&named).map_or(0, |letter| log.redrives(letter)) + 1;
        let reason = if log.by_dead_letter.contains_key(&named) {
            Some(format!("{named} is already recorded as redriven by an earlier entry"))
        } else if from.as_deref() != Some(log_key(dlq_topic, named).as_bytes()) {
            Some(format!(
                "{}/{}:{} is not a record that dlq redrive sent from {named}",
                display_bytes(to.topic.as_bytes()),
                to.partition,
                to.offset
            ))
        } else if entry.redrive_count != expected_count {
            Some(format!("its redrive_count is {}, not {expected_count}", entry.redrive_count))
        } else {
            None
        };
        match reason {
            Some(reason) => ignore(at, &reason),
            None => {
                log.count_by_resend.insert(resend, entry.redrive_count);
                log.by_dead_letter.insert(named, entry);
            }
        }
    }
    log
}
