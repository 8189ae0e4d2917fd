//! `dlq redrive`: sends dead letters back, each at most once and at most `dlq.max_redrives`
//! times in its life.
//!
//! What was sent back is recorded in the redrive log ([`log`]), which also gives each dead
//! letter its redrive count (the loop guard: a dead letter whose count reached
//! `dlq.max_redrives` is refused).
//!
//! A run is three steps, each returning a typed result: [`plan`] decides for each selected
//! dead letter ([`Verdict`], a [`Refusal`] saying why not), [`send`] hands the planned ones to
//! the broker and records them ([`Delivery`]), and [`report`] prints one line each and the
//! counts ([`Tally`], counted from those outcomes, never from their text).
//!
//! **Cut dead letters** (the tracker's, for records too large to send whole) are refused: the
//! whole record is in the file their `dlq.cut.kept.file` header names.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use config::Config;
use deadletter::headers as dlq_headers;
use deadletter::Inspection;
use kafka::auth::{AuthContext, AuthWatch};
use kafka::headers::RawHeader;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use crate::cli::RedriveArgs;
use crate::export::{ExportedLetter, Location};
use crate::letter::{display_bytes, Cut, DeadLetter};
use crate::position::Position;
use crate::select::by_position;
use crate::{read_dead_letters, BrokerError, DlqError, FileProblem, Outcome};

mod log;

pub use log::{log_key, log_topic, read_log, RedriveLog, RedriveRecord};
use models::escape_controls;

/// Longest wait for the redrive log topic to be created.
const TOPIC_TIMEOUT: Duration = Duration::from_secs(10);

/// Something to send back.
#[derive(Debug, Clone)]
struct Candidate {
    /// Where the dead letter is.
    source: Position,
    /// `dlq.original.topic`, if known.
    original_topic: Option<String>,
    /// The key to send (the dead letter's, or the export line's).
    key: Option<Vec<u8>>,
    /// The payload to send; `None` for a tombstone.
    payload: Option<Vec<u8>>,
    /// The headers it has now; [`outgoing_headers`] adds the redrive ones.
    headers: Vec<RawHeader>,
    /// Times it was sent back before ([`RedriveLog::redrives`] of its dead letter).
    redrives: u32,
    /// Whether the same dead letter appeared earlier in the file.
    repeated: bool,
}

/// One selected dead letter and what the plan says to do with it.
#[derive(Debug, Clone)]
struct Plan {
    /// The dead letter (or export line) to send.
    candidate: Candidate,
    /// Send it, and where, or why not.
    verdict: Verdict,
}

/// What the plan says for one candidate.
#[derive(Debug, Clone)]
enum Verdict {
    /// Send it to this topic.
    Send { topic: String },
    /// Do not send it.
    Refused(Refusal),
}

/// Why a candidate is not sent. Its text (`Display`) is what the output says after `refused: `.
#[derive(Debug, Clone)]
enum Refusal {
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

/// Why a record handed to the producer, or its redrive log entry, was not stored.
#[derive(Debug)]
enum DeliveryError {
    /// librdkafka or the broker said no.
    Kafka(KafkaError),
    /// The producer stopped before it said anything.
    ProducerStopped,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Kafka(error) => error.fmt(f),
            DeliveryError::ProducerStopped => f.write_str("the producer stopped"),
        }
    }
}

/// What became of one candidate the plan said to send.
#[derive(Debug)]
enum Delivery {
    /// librdkafka refused to queue it: nothing left the process.
    NotSent(KafkaError),
    /// Queued, but not acknowledged by the broker.
    NotAcknowledged(DeliveryError),
    /// Stored by the broker.
    Acknowledged {
        /// Where.
        to: Location,
        /// Why the redrive log has no entry for it, when it has none.
        unrecorded: Option<DeliveryError>,
    },
}

/// A planned candidate after the send step.
#[derive(Debug)]
enum Resolution {
    /// The plan refused it; nothing was tried.
    Refused(Refusal),
    /// It was handed to the producer.
    Delivered(Delivery),
}

/// The counts of the last line, from the outcomes (never from their text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    /// Candidates selected (refused or not).
    selected: usize,
    /// Refused by the plan.
    refused: usize,
    /// Handed to the broker (queued by librdkafka), acknowledged or not.
    sent: usize,
    /// Acknowledged by the broker.
    acknowledged: usize,
    /// Acknowledged but missing from the redrive log.
    unrecorded: usize,
}

impl Tally {
    /// The counts of a finished redrive.
    fn of(resolutions: &[(Candidate, Resolution)]) -> Tally {
        let mut tally = Tally { selected: resolutions.len(), ..Tally::default() };
        for (_, resolution) in resolutions {
            match resolution {
                Resolution::Refused(_) => tally.refused += 1,
                Resolution::Delivered(Delivery::NotSent(_)) => {}
                Resolution::Delivered(Delivery::NotAcknowledged(_)) => tally.sent += 1,
                Resolution::Delivered(Delivery::Acknowledged { unrecorded, .. }) => {
                    tally.sent += 1;
                    tally.acknowledged += 1;
                    tally.unrecorded += usize::from(unrecorded.is_some());
                }
            }
        }
        tally
    }

    /// Whether everything selected was acknowledged and recorded.
    fn complete(&self) -> bool {
        self.acknowledged == self.selected && self.unrecorded == 0
    }
}

/// Runs `dlq redrive`: plan, then (unless `--dry-run`) send, then report.
pub async fn run(config: &Config, args: RedriveArgs, out: &mut dyn Write) -> Result<Outcome, DlqError> {
    let dlq_topic = config.dlq.topic.as_str();
    let auth = AuthWatch::new(&config.kafka);
    let plans = plan(config, &args, &auth)?;
    if args.dry_run {
        return report_dry_run(&plans, dlq_topic, out);
    }
    let resolutions = send(config, &auth, plans).await?;
    report(&resolutions, dlq_topic, out)
}

/// The plan step: checks the arguments, reads the selection and the redrive log, and decides
/// for each selected dead letter whether to send it (and where) or why not. Sends nothing.
fn plan(config: &Config, args: &RedriveArgs, auth: &AuthWatch) -> Result<Vec<Plan>, DlqError> {
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

/// `--dry-run`: what the plan would do, one line per candidate, then the counts.
fn report_dry_run(plans: &[Plan], dlq_topic: &str, out: &mut dyn Write) -> Result<Outcome, DlqError> {
    for Plan { candidate, verdict } in plans {
        match verdict {
            Verdict::Send { topic } => writeln!(
                out,
                "{}  would send to {}: key {}, {}, {} headers",
                candidate.source,
                escape_controls(topic),
                key_text(candidate.key.as_deref()),
                size_text(candidate.payload.as_deref()),
                outgoing_headers(candidate, dlq_topic).len()
            ),
            Verdict::Refused(refusal) => {
                writeln!(out, "{}  refused: {}", candidate.source, escape_controls(&refusal.to_string()))
            }
        }
        .map_err(DlqError::Output)?;
    }
    let selected = plans.len();
    let refused = plans.iter().filter(|plan| matches!(plan.verdict, Verdict::Refused(_))).count();
    writeln!(
        out,
        "dry run: selected {selected}, would send {}, refused {refused}; nothing was sent",
        selected - refused
    )
    .map_err(DlqError::Output)?;
    Ok(if refused == 0 { Outcome::Complete } else { Outcome::Incomplete })
}

/// The producer of one redrive and the log topic it records resends in; opened (the log topic
/// created if needed) only when there is something to send.
struct Sender {
    /// Sends the records and the log entries.
    producer: FutureProducer<AuthContext>,
    /// The dead-letter topic the candidates come from.
    dlq_topic: String,
    /// [`log_topic`] of it.
    log_topic: String,
}

impl Sender {
    /// A producer for `dlq redrive`, with the redrive log topic created.
    async fn open(config: &Config, auth: &AuthWatch) -> Result<Sender, DlqError> {
        let producer = kafka::producer_config(&config.kafka, "dlq-redrive")
            .create_with_context(AuthContext::new(auth.clone()))
            .map_err(|source| DlqError::Kafka(kafka::KafkaError::Client { what: "producer", source }))?;
        let dlq_topic = config.dlq.topic.clone();
        let log_topic = log_topic(&dlq_topic);
        kafka::ensure_topics(&config.kafka, &[(log_topic.as_str(), 1)], TOPIC_TIMEOUT, auth).await?;
        Ok(Sender { producer, dlq_topic, log_topic })
    }

    /// Hands `candidate` to librdkafka, for `topic`, with the redrive headers added.
    fn queue(&self, candidate: &Candidate, topic: &str) -> Result<DeliveryFuture, KafkaError> {
        let headers = outgoing_headers(candidate, &self.dlq_topic);
        let mut record = FutureRecord::<[u8], [u8]>::to(topic)
            .headers(kafka::headers::owned(headers.iter().map(|(n, v)| (n.as_slice(), v.as_deref()))));
        if let Some(key) = &candidate.key {
            record = record.key(key);
        }
        if let Some(payload) = &candidate.payload {
            record = record.payload(payload);
        }
        self.producer.send_result(record).map_err(|(error, _)| error)
    }

    /// Hands the redrive log entry of `candidate`, resent to `sent_to`, to librdkafka.
    fn queue_log_entry(
        &self,
        candidate: &Candidate,
        sent_to: &Location,
    ) -> Result<DeliveryFuture, KafkaError> {
        let entry = RedriveRecord {
            dead_letter: Location {
                topic: self.dlq_topic.clone(),
                partition: candidate.source.partition,
                offset: candidate.source.offset,
            },
            sent_to: sent_to.clone(),
            redriven_at: models::format_timestamp(Utc::now()),
            redrive_count: candidate.redrives + 1,
        };
        let key = log_key(&self.dlq_topic, candidate.source);
        let payload = serde_json::to_vec(&entry).unwrap_or_default();
        let write = FutureRecord::<[u8], [u8]>::to(&self.log_topic).key(key.as_bytes()).payload(&payload);
        self.producer.send_result(write).map_err(|(error, _)| error)
    }
}

/// A planned candidate after it was handed to librdkafka.
enum Queued<'a> {
    /// The plan refused it.
    Refused(Refusal),
    /// librdkafka refused to queue it.
    NotSent(KafkaError),
    /// Queued for `topic`; the acknowledgement is awaited next.
    InFlight {
        /// What sent it (and records it in the log once acknowledged).
        sender: &'a Sender,
        /// Where it was sent.
        topic: String,
        /// The broker's answer.
        delivery: DeliveryFuture,
    },
}

/// The send step: hands every planned record to librdkafka first, then awaits each
/// acknowledgement and records each acknowledged resend in the redrive log. Refused
/// candidates pass through; nothing is opened when nothing is to be sent.
async fn send(
    config: &Config,
    auth: &AuthWatch,
    plans: Vec<Plan>,
) -> Result<Vec<(Candidate, Resolution)>, DlqError> {
    let sender = tokio::sync::OnceCell::new();
    let mut queued = Vec::with_capacity(plans.len());
    for Plan { candidate, verdict } in plans {
        let state = match verdict {
            Verdict::Refused(refusal) => Queued::Refused(refusal),
            Verdict::Send { topic } => {
                let sender = sender.get_or_try_init(|| Sender::open(config, auth)).await?;
                match sender.queue(&candidate, &topic) {
                    Ok(delivery) => Queued::InFlight { sender, topic, delivery },
                    Err(error) => Queued::NotSent(error),
                }
            }
        };
        queued.push((candidate, state));
    }
    let mut resolutions = Vec::with_capacity(queued.len());
    let mut log_writes = Vec::new();
    for (candidate, state) in queued {
        let delivery = match state {
            Queued::Refused(refusal) => {
                resolutions.push((candidate, Resolution::Refused(refusal)));
                continue;
            }
            Queued::NotSent(error) => Delivery::NotSent(error),
            Queued::InFlight { sender, topic, delivery } => {
                let outcome = tokio::select! {
                    outcome = delivery => outcome,
                    () = auth.failed() => {
                        return Err(BrokerError::Authentication(auth.failure().unwrap_or_default()).into())
                    }
                };
                match outcome {
                    Ok(Ok(delivery)) => {
                        auth.logged_in();
                        let to = Location { topic, partition: delivery.partition, offset: delivery.offset };
                        let unrecorded = match sender.queue_log_entry(&candidate, &to) {
                            Ok(write) => {
                                log_writes.push((resolutions.len(), write));
                                None
                            }
                            Err(error) => Some(DeliveryError::Kafka(error)),
                        };
                        Delivery::Acknowledged { to, unrecorded }
                    }
                    Ok(Err((error, _))) => Delivery::NotAcknowledged(DeliveryError::Kafka(error)),
                    Err(_) => Delivery::NotAcknowledged(DeliveryError::ProducerStopped),
                }
            }
        };
        resolutions.push((candidate, Resolution::Delivered(delivery)));
    }
    for (index, write) in log_writes {
        let failed = match write.await {
            Ok(Ok(_)) => continue,
            Ok(Err((error, _))) => DeliveryError::Kafka(error),
            Err(_) => DeliveryError::ProducerStopped,
        };
        if let Some((_, Resolution::Delivered(Delivery::Acknowledged { unrecorded, .. }))) =
            resolutions.get_mut(index)
        {
            *unrecorded = Some(failed);
        }
    }
    Ok(resolutions)
}

/// The report step: one line per candidate, in the order selected, then the counts
/// ([`Tally`]).
fn report(
    resolutions: &[(Candidate, Resolution)],
    dlq_topic: &str,
    out: &mut dyn Write,
) -> Result<Outcome, DlqError> {
    for (candidate, resolution) in resolutions {
        let source = candidate.source;
        match resolution {
            Resolution::Refused(refusal) => writeln!(out, "{source}  refused: {}", escape_controls(&refusal.to_string())),
            Resolution::Delivered(Delivery::NotSent(error)) => {
                writeln!(out, "{source}  not sent: {}", escape_controls(&error.to_string()))
            }
            Resolution::Delivered(Delivery::NotAcknowledged(error)) => {
                writeln!(out, "{source}  not acknowledged: {}", escape_controls(&error.to_string()))
            }
            Resolution::Delivered(Delivery::Acknowledged { to, unrecorded }) => writeln!(
                out,
                "{source}  sent to {}/{}:{}, key {}",
                escape_controls(&to.topic),
                to.partition,
                to.offset,
                key_text(candidate.key.as_deref())
            )
            .and_then(|()| match unrecorded {
                None => Ok(()),
                Some(error) => writeln!(
                    out,
                    "{source}  warning: sent, but not recorded in {} ({}); redriving it again would send it again",
                    log_topic(dlq_topic),
                    escape_controls(&error.to_string())
                ),
            }),
        }
        .map_err(DlqError::Output)?;
    }
    let tally = Tally::of(resolutions);
    let Tally { selected, refused, sent, acknowledged, .. } = tally;
    writeln!(out, "selected {selected}, sent {sent}, acknowledged {acknowledged}, refused {refused}")
        .map_err(DlqError::Output)?;
    Ok(if tally.complete() { Outcome::Complete } else { Outcome::Incomplete })
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

/// The lines of an export file, decoded; any broken line is an error naming it.
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

/// The headers of the resent record: the dead letter's own (its `dlq.*` context kept as
/// history), then a fresh redrive count, source and time.
fn outgoing_headers(candidate: &Candidate, dlq_topic: &str) -> Vec<RawHeader> {
    let replaced = [dlq_headers::REDRIVE_COUNT, dlq_headers::REDRIVEN_FROM, dlq_headers::REDRIVEN_AT];
    let mut headers: Vec<RawHeader> = candidate
        .headers
        .iter()
        .filter(|(name, _)| !replaced.iter().any(|r| name == r.as_bytes()))
        .cloned()
        .collect();
    let mut add =
        |name: &str, value: String| headers.push((name.as_bytes().to_vec(), Some(value.into_bytes())));
    add(dlq_headers::REDRIVE_COUNT, (candidate.redrives + 1).to_string());
    add(dlq_headers::REDRIVEN_FROM, log_key(dlq_topic, candidate.source));
    add(dlq_headers::REDRIVEN_AT, models::format_timestamp(Utc::now()));
    headers
}

fn key_text(key: Option<&[u8]>) -> String {
    key.map_or_else(|| "(none)".to_owned(), display_bytes)
}

fn size_text(payload: Option<&[u8]>) -> String {
    payload.map_or_else(|| "no payload".to_owned(), |p| format!("{} bytes", p.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(offset: i64) -> Candidate {
        Candidate {
            source: Position { partition: 0, offset },
            original_topic: Some("orders".to_owned()),
            key: None,
            payload: None,
            headers: Vec::new(),
            redrives: 0,
            repeated: false,
        }
    }

    fn acknowledged(unrecorded: Option<DeliveryError>) -> Resolution {
        let to = Location { topic: "orders".to_owned(), partition: 1, offset: 7 };
        Resolution::Delivered(Delivery::Acknowledged { to, unrecorded })
    }

    #[test]
    fn the_counts_come_from_the_outcomes() {
        let resolutions = [
            (candidate(0), Resolution::Refused(Refusal::NoTopic)),
            (candidate(1), Resolution::Delivered(Delivery::NotSent(KafkaError::Canceled))),
            (candidate(2), Resolution::Delivered(Delivery::NotAcknowledged(DeliveryError::ProducerStopped))),
            (candidate(3), acknowledged(None)),
            (candidate(4), acknowledged(Some(DeliveryError::ProducerStopped))),
        ];
        let tally = Tally::of(&resolutions);
        assert_eq!(tally, Tally { selected: 5, refused: 1, sent: 3, acknowledged: 2, unrecorded: 1 });
        assert!(!tally.complete());
        assert!(Tally::of(&[(candidate(0), acknowledged(None))]).complete());
        assert!(!Tally::of(&[(candidate(0), acknowledged(Some(DeliveryError::ProducerStopped)))]).complete());
    }

    #[test]
    fn a_report_says_what_became_of_each_candidate() {
        let resolutions = [
            (candidate(0), Resolution::Refused(Refusal::TooManyRedrives { redrives: 2, max_redrives: 2 })),
            (candidate(1), Resolution::Delivered(Delivery::NotAcknowledged(DeliveryError::ProducerStopped))),
            (candidate(2), acknowledged(Some(DeliveryError::ProducerStopped))),
        ];
        let mut out = Vec::new();
        let outcome = report(&resolutions, "orders-dlq", &mut out).expect("written");
        assert_eq!(outcome, Outcome::Incomplete);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "0:0  refused: already redriven 2 times and dead-lettered again (dlq.max_redrives = 2); fix its cause \
             or raise dlq.max_redrives\n\
             0:1  not acknowledged: the producer stopped\n\
             0:2  sent to orders/1:7, key (none)\n\
             0:2  warning: sent, but not recorded in orders-dlq-redrives (the producer stopped); redriving it again \
             would send it again\n\
             selected 3, sent 2, acknowledged 1, refused 1\n"
        );
    }
}
