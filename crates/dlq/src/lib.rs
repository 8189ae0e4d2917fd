//! `dlq`: the other half of the dead-letter pattern. The tracker sends a message it cannot
//! process to the dead-letter topic with its original key, payload and headers and its context
//! in `dlq.*` headers ([`deadletter::headers`]); this tool shows those dead letters, exports them
//! for a person to fix, and sends them back.
//!
//! - [`read`]: reading a whole topic without a consumer group and without committing.
//! - [`letter`]: one dead letter and what its headers say.
//! - [`position`]: where a dead letter is (`0:12`).
//! - [`select`]: choosing dead letters by position, by filters, or all.
//! - [`render`]: the `list` table and JSON lines, the `show` view.
//! - [`export`]: the editable JSON-lines format of `export` and `redrive --from-file`.
//! - [`redrive`]: sending back, each dead letter once, with a loop guard.
//!
//! The binary is thin: it loads the shared configuration (file, environment, flags) and calls
//! [`run`].

pub mod cli;
pub mod export;
pub mod letter;
pub mod position;
pub mod read;
pub mod redrive;
pub mod render;
pub mod select;

use std::io::Write;
use std::path::{Path, PathBuf};

use config::Config;
use kafka::auth::AuthWatch;
use thiserror::Error;

use crate::cli::Command;
use crate::export::ExportedLetter;
use crate::letter::DeadLetter;
use crate::render::ListEntry;

/// Why a command failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DlqError {
    /// A selection that names nothing, a position that holds no dead letter, a broken file:
    /// nothing was done.
    #[error("{0}")]
    Selection(String),
    /// A Kafka client could not be created, or a topic not created.
    #[error(transparent)]
    Kafka(#[from] kafka::KafkaError),
    /// `redrive --from-file FILE` cannot use FILE: nothing was sent.
    #[error("{}: {problem}; nothing was sent", path.display())]
    FromFile {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: FileProblem,
    },
    /// The broker could not be read or written (a refused login included).
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// Standard output could not be written.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// `export --output FILE` could not create or write FILE (the error names it).
    #[error("--output: {source}")]
    OutputFile {
        /// The file asked for.
        path: PathBuf,
        /// Why: `AlreadyExists` when something is there already (usage, exit code 2).
        source: std::io::Error,
    },
    /// The runtime could not be started.
    #[error(transparent)]
    Start(#[from] service::StartError),
}

/// Why the broker could not be read or written; the client's error is kept as the source.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The broker refused the login: [`AuthWatch::failure`]'s message (secrets masked).
    #[error("{0}")]
    Authentication(String),
    /// A client call failed; `what` says which (`assign orders-dlq/0`).
    #[error("cannot {what}: {source}")]
    Client {
        /// What was being done.
        what: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// The broker's metadata names the topic with an error.
    #[error("cannot read topic {topic}: {code}")]
    Topic {
        /// The topic.
        topic: String,
        /// The error the metadata gives for it.
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// Reading a partition to its end stalled.
    #[error(
        "could not read {topic}/{partition} to its end: nothing came for {timeout:?} ({read} records read)"
    )]
    Stalled {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// How long nothing came.
        timeout: std::time::Duration,
        /// Records read before.
        read: u64,
    },
    /// The records the redrive log names did not all come in time.
    #[error("could not read the records of {topic} that the redrive log names within {timeout:?}")]
    TimedOut {
        /// The topic.
        topic: String,
        /// The time allowed.
        timeout: std::time::Duration,
    },
    /// The dead-letter topic does not exist.
    #[error(
        "topic {topic} does not exist on {broker} (the trackers create it when they start; is dlq.topic right?)"
    )]
    MissingTopic {
        /// `dlq.topic`.
        topic: String,
        /// `kafka.broker`.
        broker: String,
    },
}

/// What is wrong with the file of `redrive --from-file`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FileProblem {
    /// It cannot be read.
    #[error(transparent)]
    Read(std::io::Error),
    /// It is not UTF-8.
    #[error("not UTF-8 text (not a dlq export?)")]
    NotText,
    /// A line is not an export line.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// It has no record.
    #[error("no records in it")]
    Empty,
}

impl service::Failure for DlqError {
    /// 2 for a bad selection (usage), 1 for the rest.
    fn exit_code(&self) -> u8 {
        match self {
            DlqError::Selection(_) | DlqError::FromFile { .. } => service::EXIT_USAGE,
            DlqError::OutputFile { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                service::EXIT_USAGE
            }
            _ => service::EXIT_FAILURE,
        }
    }
}

/// How a command ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did everything it was asked.
    Complete,
    /// Something selected was not sent (refused, or not acknowledged): exit code 1.
    Incomplete,
}

/// Runs one command, writing its output to `out`.
pub async fn run(config: &Config, command: Command, out: &mut dyn Write) -> Result<Outcome, DlqError> {
    let auth = AuthWatch::new(&config.kafka);
    let topic = config.dlq.topic.as_str();
    let now = chrono::Utc::now();
    match command {
        Command::List { filters, json, limit } => {
            let log = redrive::read_log(config, &auth)?;
            let page = list(config, &auth, &log, &filters, json, limit, now, out)?;
            let more = page.matching - page.shown.max(page.printed);
            let next = match (more, page.last_shown) {
                (0, _) | (_, None) => String::new(),
                (more, Some(last)) => format!("{more} more after {last} (--limit N, --limit 0 for all)"),
            };
            if json {
                if !next.is_empty() {
                    tracing::warn!("{next}");
                }
            } else {
                let entries: Vec<ListEntry<'_>> = page
                    .shown_letters
                    .iter()
                    .map(|letter| ListEntry::of(letter, now, redriven_to(&log, letter), log.redrives(letter)))
                    .collect();
                write!(out, "{}", render::table(&entries)).map_err(DlqError::Output)?;
                let shown = if filters.is_empty() && more == 0 {
                    String::new()
                } else {
                    format!(", {} shown", entries.len())
                };
                let next = if next.is_empty() { next } else { format!("; {next}") };
                writeln!(out, "{} dead letters in {topic}{shown}{next}", page.total)
                    .map_err(DlqError::Output)?;
            }
        }
        Command::Show { position } => {
            let wanted = std::collections::BTreeSet::from([(position.partition, position.offset)]);
            let letter = read::read_positions(&config.kafka, topic, &wanted, &auth)?.into_values().next();
            let Some(letter) = letter else {
                return Err(DlqError::Selection(format!(
                    "{position} is not a dead letter in {topic}; nothing was done (dlq list shows them)"
                )));
            };
            let log = redrive::read_log(config, &auth)?;
            let text = render::detail(&letter, topic, redriven_to(&log, &letter).as_deref());
            write!(out, "{text}").map_err(DlqError::Output)?;
        }
        Command::Export { selection, output } => {
            if let Some(path) = &output {
                // Said before the topic is read; creating the file says it again, race-free.
                if std::fs::symlink_metadata(path).is_ok() {
                    let source = service::output_file::already_exists(path);
                    return Err(DlqError::OutputFile { path: path.clone(), source });
                }
            }
            match &output {
                None => {
                    export(config, &auth, &selection, out).map_err(|failure| match failure {
                        ExportFailure::Read(error) => error,
                        ExportFailure::Write(source) => DlqError::Output(source),
                    })?;
                }
                Some(path) => export_to_file(config, &auth, &selection, path)?,
            }
        }
        Command::Redrive(args) => return redrive::run(config, args, out).await,
    }
    Ok(Outcome::Complete)
}

/// What `list` read: counts, and the letters of the page when they are printed as a table.
struct Page {
    /// Dead letters in the topic.
    total: u64,
    /// Those the filters keep.
    matching: u64,
    /// The first `limit` of those, for the table (JSON lines are printed as they come).
    shown_letters: Vec<DeadLetter>,
    /// How many the table holds.
    shown: u64,
    /// How many JSON lines were printed.
    printed: u64,
    /// The position of the last one shown or printed.
    last_shown: Option<position::Position>,
}

/// Streams the dead-letter topic for `list`: one record in memory at a time, plus the page
/// of the table (`limit`, 0 for no limit: then the table holds them all, to align its columns).
#[allow(clippy::too_many_arguments)]
fn list(
    config: &Config,
    auth: &AuthWatch,
    log: &redrive::RedriveLog,
    filters: &select::Filters,
    json: bool,
    limit: usize,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut dyn Write,
) -> Result<Page, DlqError> {
    let limit = if limit == 0 { u64::MAX } else { limit as u64 };
    let mut page =
        Page { total: 0, matching: 0, shown_letters: Vec::new(), shown: 0, printed: 0, last_shown: None };
    let mut output: Result<(), std::io::Error> = Ok(());
    let exists = read::each_record(&config.kafka, &config.dlq.topic, auth, |letter| {
        page.total += 1;
        if !filters.matches(&letter) {
            return;
        }
        page.matching += 1;
        if page.matching > limit || output.is_err() {
            return;
        }
        page.last_shown = Some(letter.position);
        if json {
            let entry = ListEntry::of(&letter, now, redriven_to(log, &letter), log.redrives(&letter));
            let line = models::escape_json_controls(serde_json::to_string(&entry).unwrap_or_default());
            output = writeln!(out, "{line}");
            page.printed += 1;
        } else {
            page.shown += 1;
            page.shown_letters.push(letter);
        }
    })?;
    output.map_err(DlqError::Output)?;
    if !exists {
        return Err(missing_topic(config));
    }
    Ok(page)
}

fn missing_topic(config: &Config) -> DlqError {
    DlqError::Broker(BrokerError::MissingTopic {
        topic: config.dlq.topic.clone(),
        broker: config.kafka.broker.clone(),
    })
}

/// Every dead letter; an error when the dead-letter topic does not exist.
pub fn read_dead_letters(config: &Config, auth: &AuthWatch) -> Result<Vec<DeadLetter>, DlqError> {
    read::read_topic(&config.kafka, &config.dlq.topic, auth)?.ok_or_else(|| missing_topic(config))
}

/// Why an export stopped: the topic could not be read, or a line could not be written.
enum ExportFailure {
    Read(DlqError),
    Write(std::io::Error),
}

/// Writes the export line of each selected dead letter to `out` as it is read: the named
/// positions only (fetched where they are), or every letter the filters keep, streamed from
/// the topic one record at a time. Returns how many were written.
fn export(
    config: &Config,
    auth: &AuthWatch,
    selection: &cli::Selection,
    out: &mut dyn Write,
) -> Result<u64, ExportFailure> {
    let topic = config.dlq.topic.as_str();
    let mut written = 0;
    if !selection.positions.is_empty() {
        let wanted = selection.positions.iter().map(|p| (p.partition, p.offset)).collect();
        let found = read::read_positions(&config.kafka, topic, &wanted, auth).map_err(ExportFailure::Read)?;
        if let Some(missing) =
            selection.positions.iter().find(|p| !found.contains_key(&(p.partition, p.offset)))
        {
            return Err(ExportFailure::Read(DlqError::Selection(format!(
                "{missing} is not a dead letter in {topic}; nothing was exported (dlq list shows them)"
            ))));
        }
        for letter in found.values().filter(|letter| selection.filters.matches(letter)) {
            writeln!(out, "{}", ExportedLetter::of(letter, topic).to_line()).map_err(ExportFailure::Write)?;
            written += 1;
        }
        return Ok(written);
    }
    let mut failed = None;
    let exists = read::each_record(&config.kafka, topic, auth, |letter| {
        if failed.is_some() || !selection.filters.matches(&letter) {
            return;
        }
        match writeln!(out, "{}", ExportedLetter::of(&letter, topic).to_line()) {
            Ok(()) => written += 1,
            Err(error) => failed = Some(error),
        }
    })
    .map_err(ExportFailure::Read)?;
    if let Some(error) = failed {
        return Err(ExportFailure::Write(error));
    }
    if !exists {
        return Err(ExportFailure::Read(missing_topic(config)));
    }
    Ok(written)
}

/// [`export`] into `path`, a new private file (see
/// [`service::output_file::create_new_private`]); a file left half-written is removed.
fn export_to_file(
    config: &Config,
    auth: &AuthWatch,
    selection: &cli::Selection,
    path: &Path,
) -> Result<(), DlqError> {
    let file = service::output_file::create_new_private(path)
        .map_err(|source| DlqError::OutputFile { path: path.to_owned(), source })?;
    let mut writer = std::io::BufWriter::new(file);
    let exported = export(config, auth, selection, &mut writer).and_then(|count| {
        writer
            .flush()
            .and_then(|()| writer.get_ref().sync_all())
            .map(|()| count)
            .map_err(ExportFailure::Write)
    });
    let count = match exported {
        Ok(count) => count,
        Err(failure) => {
            let _ = std::fs::remove_file(path);
            return Err(match failure {
                ExportFailure::Read(error) => error,
                ExportFailure::Write(source) => DlqError::OutputFile {
                    path: path.to_owned(),
                    source: std::io::Error::new(source.kind(), format!("{}: {source}", path.display())),
                },
            });
        }
    };
    service::print_stderr(format_args!(
        "{count} dead letter{} written to {}",
        if count == 1 { "" } else { "s" },
        models::escape_controls(&path.display().to_string())
    ));
    Ok(())
}

fn redriven_to(log: &redrive::RedriveLog, letter: &DeadLetter) -> Option<String> {
    log.redriven(letter.position).map(|record| {
        let to = &record.sent_to;
        format!("{}/{}:{}", to.topic, to.partition, to.offset)
    })
}
