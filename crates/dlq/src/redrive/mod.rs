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

use std::io::Write;

use config::Config;
use kafka::auth::AuthWatch;
use models::escape_controls;

use crate::cli::RedriveArgs;
use crate::letter::display_bytes;
use crate::{DlqError, Outcome};

mod log;
mod plan;
mod send;

pub use log::{log_key, log_topic, read_log, RedriveLog, RedriveRecord};
use plan::{plan, Candidate, Plan, Refusal, Verdict};
use send::{outgoing_headers, send, Delivery};

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

fn key_text(key: Option<&[u8]>) -> String {
    key.map_or_else(|| "(none)".to_owned(), display_bytes)
}

fn size_text(payload: Option<&[u8]>) -> String {
    payload.map_or_else(|| "no payload".to_owned(), |p| format!("{} bytes", p.len()))
}

#[cfg(test)]
mod tests {
    use super::send::DeliveryError;
    use super::*;
    use crate::export::Location;
    use crate::position::Position;
    use rdkafka::error::KafkaError;

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
