//! The plan step of `dlq redrive`: which dead letters are selected, and for each one whether
//! to send it (and where) or why not ([`Verdict`], [`Refusal`]). Reads the selection and the
//! redrive log; sends nothing.

use std::collections::BTreeSet;
use std::fmt;

use config::Config;
use deadletter::Inspection;
use kafka::auth::AuthWatch;
use kafka::headers::RawHeader;

use super::{log_topic, read_log, RedriveLog, RedriveRecord};
use crate::cli::RedriveArgs;
use crate::export::ExportedLetter;
use crate::letter::{Cut, DeadLetter};
use crate::position::Position;
use crate::select::by_position;
use crate::{read_dead_letters, DlqError, FileProblem};

/// Something to send back.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// Where the dead letter is.
    pub(super) source: Position,
    /// `dlq.original.topic`, if known.
    pub(super) original_topic: Option<String>,
    /// The key to send (the dead letter's, or the export line's).
    pub(super) key: Option<Vec<u8>>,
    /// The payload to send; `None` for a tombstone.
    pub(super) payload: Option<Vec<u8>>,
    /// The headers it has now; [`outgoing_headers`] adds the redrive ones.
    pub(super) headers: Vec<RawHeader>,
    /// Times it was sent back before ([`RedriveLog::redrives`] of its dead letter).
    pub(super) redrives: u32,
    /// Whether the same dead letter appeared earlier in the file.
    pub(super) repeated: bool,
}

/// One selected dead letter and what the plan says to do with it.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// The dead letter (or export line) to send.
    pub(super) candidate: Candidate,
    /// Send it, and where, or why not.
    pub(super) verdict: Verdict,
}

/// What the plan says for one candidate.
#[derive(Debug, Clone)]
pub(super) enum Verdict {
    /// Send it to this topic.
    Send {
        /// `--to`, else the dead letter's `dlq.original.topic`.
        topic: String,
    },
    /// Do not send it.
    Refused(Refusal),
}

/// Why a candidate is not sent. Its text (`Display`) is what the output says after `refused: `.
#[derive(Debug, Clone)]
pub(super) enum Refusal {
    /// An export file names the same dead letter twice; the first one is sent.
    RepeatedInFile,
    /// The redrive log records that it was sent back already.
    AlreadyRedriven {
        /// The log's entry for it.
        entry: RedriveRecord,
        /// The log topic, named in the message.
        log_topic: String,
    },
    /// A cut dead letter: the whole record is in a kept file.
    Cut(Cut),
    /// Its redrive count reached `dlq.max_redrives`.
    TooManyRedrives {
        /// Times it was sent back and dead-lettered again.
        redrives: u32,
        /// `dlq.max_redrives`.
        max_redrives: u32,
    },
    /// No `dlq.original.topic` and no `--to`.
    NoTopic,
    /// The tracker would dead-letter it again ([`Inspection`]); `--force` sends it anyway.
    WouldFailAgain {
        /// The failure's kind (`deserialization`, `validation`).
        kind: &'static str,
        /// The failure's text.
        reason: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RepeatedInFile => f.write_str("appears earlier in the same file; a dead letter is sent once"),
            Refusal::AlreadyRedriven { entry, log_topic } => {
                let to = &entry.sent_to;
                write!(
                    f,
                    "already redriven to {}/{}:{} at {} (recorded in {log_topic}); a dead letter is sent back once",
                    to.topic, to.partition, to.offset, entry.redriven_at
                )
            }
            Refusal::Cut(cut) => f.write_str(&cut.refusal()),
            Refusal::TooManyRedrives { redrives, max_redrives } => write!(
                f,
                "already redriven {redrives} times and dead-lettered again (dlq.max_redrives = {max_redrives}); fix its \
                 cause or raise dlq.max_redrives"
            ),
            Refusal::NoTopic => f.write_str("no dlq.original.topic header says where it came from; give --to TOPIC"),
            Refusal::WouldFailAgain { kind, reason } => write!(
                f,
                "would fail again ({kind}: {reason}); fix it (dlq export, edit, redrive --from-file) or send it anyway \
                 with --force"
            ),
        }
    }
}

/// The plan step: checks the arguments, reads the selection and the redrive log, and decides
/// for each selected dead letter whether to send it (and where) or why not. Sends nothing.
pub(super) fn plan(config: &Config, args: &RedriveArgs, auth: &AuthWatch) -> Result<Vec<Plan>, DlqError> {
    let dlq_topic = config.dlq.topic.as_str();
    if args.to.as_deref().is_some_and(|to| to == dlq_topic) {
        return Err(DlqError::Selection(format!(
            "--to {dlq_topic} is the dead-letter topic itself; give the topic the tracker reads"
        )));
    }
    if args.from_file.is_none() && args.selection.is_empty() {
        return Err(DlqError::Selection(
            "nothing selected: give positions (0:12 0:13), --all, a filter (--error-kind, --since, \
             --original-partition) or --from-file FILE"
                .to_owned(),
        ));
    }
    // Read the file before connecting: a broken line is a usage error, whatever the broker.
    let from_file = args.from_file.as_deref().map(read_file).transpose()?;
    let named: Vec<Position> = match &from_file {
        Some(lines) => lines
            .iter()
            .filter(|line| line.dead_letter.topic == dlq_topic)
            .map(|line| Position { partition: line.dead_letter.partition, offset: line.dead_letter.offset })
            .collect(),
        None => args.selection.positions.clone(),
    };
    let letters =
        letters_needed(config, auth, &named, from_file.is_none().then_some(&args.selection.filters))?;
    let log = read_log(config, auth)?;
    let candidates = match from_file {
        Some(lines) => file_candidates(lines, &letters, &log, dlq_topic)?,
        None => {
            let chosen: Vec<&DeadLetter> = if args.selection.positions.is_empty() {
                letters.iter().filter(|letter| args.selection.filters.matches(letter)).collect()
            } else {
                by_position(&letters, &args.selection.positions, dlq_topic)?
                    .into_iter()
                    .filter(|letter| args.selection.filters.matches(letter))
                    .collect()
            };
            chosen.into_iter().map(|letter| candidate_of(letter, &log)).collect()
        }
    };
    let max = config.dlq.max_redrives;
    Ok(candidates
        .into_iter()
        .map(|candidate| {
            let verdict = decide(&candidate, &log, max, args.to.as_deref(), args.force, dlq_topic);
            Plan { candidate, verdict }
        })
        .collect())
}

fn candidate_of(letter: &DeadLetter, log: &RedriveLog) -> Candidate {
    Candidate {
        source: letter.position,
        original_topic: letter.original_topic().map(str::to_owned),
        key: letter.key.clone(),
        payload: letter.payload.clone(),
        headers: letter.headers.clone(),
        redrives: log.redrives(letter),
        repeated: false,
    }
}

/// The dead letters a redrive needs, without holding the whole topic: the `named` positions
/// (fetched where they are), or, when none are named, those `filters` keep (streamed from the
/// topic one record at a time). When a named position is not in the topic, the whole topic, so
/// that the error can say what it holds.
fn letters_needed(
    config: &Config,
    auth: &AuthWatch,
    named: &[Position],
    filters: Option<&crate::select::Filters>,
) -> Result<Vec<DeadLetter>, DlqError> {
    let topic = config.dlq.topic.as_str();
    if !named.is_empty() {
        let wanted: BTreeSet<(i32, i64)> = named.iter().map(|p| (p.partition, p.offset)).collect();
        let found = crate::read::read_positions(&config.kafka, topic, &wanted, auth)?;
        if found.len() == wanted.len() {
            return Ok(found.into_values().collect());
        }
        return read_dead_letters(config, auth);
    }
    let Some(filters) = filters else { return Ok(Vec::new()) };
    let mut kept = Vec::new();
    let exists = crate::read::each_record(&config.kafka, topic, auth, |letter| {
        if filters.matches(&letter) {
            kept.push(letter);
        }
    })?;
    if !exists {
        return read_dead_letters(config, auth);
    }
    Ok(kept)
}

/// The lines of an export file, decoded; any broken line is an error naming it.
fn read_file(path: &std::path::Path) -> Result<Vec<crate::export::DecodedLetter>, DlqError> {
    let file_error = |problem: FileProblem| DlqError::FromFile { path: path.to_owned(), problem };
    let bytes = std::fs::read(path).map_err(|error| file_error(FileProblem::Read(error)))?;
    let text = String::from_utf8(bytes).map_err(|_| file_error(FileProblem::NotText))?;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let decoded = ExportedLetter::decode_line(line)
            .map_err(|reason| file_error(FileProblem::Line { line: index + 1, reason }))?;
        lines.push(decoded);
    }
    if lines.is_empty() {
        return Err(file_error(FileProblem::Empty));
    }
    Ok(lines)
}

/// The file's records, each matched with the dead letter it names, which must exist.
fn file_candidates(
    lines: Vec<crate::export::DecodedLetter>,
    letters: &[DeadLetter],
    log: &RedriveLog,
    dlq_topic: &str,
) -> Result<Vec<Candidate>, DlqError> {
    let mut seen = BTreeSet::new();
    let mut candidates = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let origin = &line.dead_letter;
        if origin.topic != dlq_topic {
            return Err(DlqError::Selection(format!(
                "record {} comes from topic {}, not from the dead-letter topic {dlq_topic}; nothing was sent",
                index + 1,
                origin.topic
            )));
        }
        let position = Position { partition: origin.partition, offset: origin.offset };
        let letter = by_position(letters, &[position], dlq_topic)?.into_iter().next();
        candidates.push(Candidate {
            source: position,
            original_topic: letter.and_then(DeadLetter::original_topic).map(str::to_owned),
            // From the log, by the dead letter the line names: the line's headers are text
            // anyone may have edited.
            redrives: letter.map_or(0, |letter| log.redrives(letter)),
            key: line.key,
            payload: line.payload,
            headers: line.headers,
            repeated: !seen.insert(position),
        });
    }
    Ok(candidates)
}

fn decide(
    candidate: &Candidate,
    log: &RedriveLog,
    max_redrives: u32,
    to: Option<&str>,
    force: bool,
    dlq_topic: &str,
) -> Verdict {
    if candidate.repeated {
        return Verdict::Refused(Refusal::RepeatedInFile);
    }
    if let Some(entry) = log.redriven(candidate.source) {
        return Verdict::Refused(Refusal::AlreadyRedriven {
            entry: entry.clone(),
            log_topic: log_topic(dlq_topic),
        });
    }
    // Judged by the headers being sent: a line of an export whose cut headers were removed
    // (its payload put back whole from the kept file) is no longer a cut letter.
    let current = DeadLetter {
        position: candidate.source,
        timestamp: None,
        key: None,
        payload: None,
        headers: candidate.headers.clone(),
    };
    if let Some(cut) = current.cut() {
        return Verdict::Refused(Refusal::Cut(cut));
    }
    if candidate.redrives >= max_redrives {
        return Verdict::Refused(Refusal::TooManyRedrives { redrives: candidate.redrives, max_redrives });
    }
    let Some(topic) = to.map(str::to_owned).or_else(|| candidate.original_topic.clone()) else {
        return Verdict::Refused(Refusal::NoTopic);
    };
    if !force {
        if let Err(failure) = Inspection::of(candidate.payload.as_deref()).accepted() {
            return Verdict::Refused(Refusal::WouldFailAgain {
                kind: failure.kind(),
                reason: failure.reason().to_owned(),
            });
        }
    }
    Verdict::Send { topic }
}
