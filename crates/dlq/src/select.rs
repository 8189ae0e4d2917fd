//! Choosing dead letters: by position (`0:12`), by filters, or all of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use clap::Args;

use crate::letter::DeadLetter;
use crate::position::Position;
use crate::DlqError;

/// The start of a `--since` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since(pub DateTime<Utc>);

/// How far back a `--since` duration may go: 100 years, older than any dead letter. Further
/// back, the start would fall before what a time can hold (it used to panic).
pub const MAX_SINCE_DAYS: i64 = 36_500;

impl Since {
    /// `30s`, `10m`, `2h`, `1d` before `now` (at most [`MAX_SINCE_DAYS`] days), or an RFC 3339
    /// time.
    pub fn parse(text: &str, now: DateTime<Utc>) -> Result<Since, String> {
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Since(time.with_timezone(&Utc)));
        }
        let invalid = || {
            format!("{text:?} is neither a duration (30s, 10m, 2h, 1d) nor an RFC 3339 time (2026-11-27T17:00:00Z)")
        };
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
        let (amount, unit) = text.split_at(split);
        let amount: i64 = amount.parse().map_err(|_| invalid())?;
        let duration = match unit {
            "s" => Duration::try_seconds(amount),
            "m" => Duration::try_minutes(amount),
            "h" => Duration::try_hours(amount),
            "d" => Duration::try_days(amount),
            _ => None,
        }
        .ok_or_else(invalid)?;
        let too_far = || {
            format!(
                "{text:?} reaches too far back: a duration goes back at most {MAX_SINCE_DAYS} days \
                 (e.g. 30s, 10m, 2h, 1d, {MAX_SINCE_DAYS}d); or give an RFC 3339 time (2026-11-27T17:00:00Z)"
            )
        };
        if duration > Duration::days(MAX_SINCE_DAYS) {
            return Err(too_far());
        }
        now.checked_sub_signed(duration).map(Since).ok_or_else(too_far)
    }
}

/// Parses `--since` against the current time, for clap.
pub fn parse_since(text: &str) -> Result<Since, String> {
    Since::parse(text, Utc::now())
}

/// Filters; a dead letter is chosen when it matches every one given.
#[derive(Debug, Clone, Default, Args)]
pub struct Filters {
    /// Only this error kind (the dlq.error.kind header: deserialization, validation, processing).
    #[arg(long, value_name = "KIND")]
    pub error_kind: Option<String>,
    /// Only dead letters that failed since then: a duration (30s, 10m, 2h, 1d) or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|RFC3339", value_parser = parse_since)]
    pub since: Option<Since>,
    /// Only dead letters that came from this partition of the original topic.
    #[arg(long, value_name = "N")]
    pub original_partition: Option<i32>,
}

impl Filters {
    /// Whether no filter is given.
    pub fn is_empty(&self) -> bool {
        self.error_kind.is_none() && self.since.is_none() && self.original_partition.is_none()
    }

    /// Whether `letter` matches every filter given.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        let kind = self.error_kind.as_deref().is_none_or(|kind| letter.error_kind() == Some(kind));
        let since = self.since.is_none_or(|Since(start)| letter.failed_at().is_some_and(|at| at >= start));
        let partition =
            self.original_partition.is_none_or(|partition| letter.original_partition() == Some(partition));
        kind && since && partition
    }
}

/// The dead letters at `positions` (each once, in topic order), or a selection error naming
/// the first position that holds none.
pub fn by_position<'a>(
    letters: &'a [DeadLetter],
    positions: &[Position],
    topic: &str,
) -> Result<Vec<&'a DeadLetter>, DlqError> {
    let wanted: BTreeSet<Position> = positions.iter().copied().collect();
    let chosen: Vec<&DeadLetter> =
        letters.iter().filter(|letter| wanted.contains(&letter.position)).collect();
    if let Some(missing) =
        wanted.iter().find(|position| !chosen.iter().any(|letter| letter.position == **position))
    {
        return Err(DlqError::Selection(format!(
            "{missing} is not a dead letter in {topic} ({}); nothing was done",
            describe_partitions(letters)
        )));
    }
    Ok(chosen)
}

/// What the topic holds, to help after a wrong position: `partition 0 holds offsets 0 to 5`.
fn describe_partitions(letters: &[DeadLetter]) -> String {
    let mut ranges: std::collections::BTreeMap<i32, (i64, i64)> = std::collections::BTreeMap::new();
    for letter in letters {
        let range = ranges
            .entry(letter.position.partition)
            .or_insert((letter.position.offset, letter.position.offset));
        range.0 = range.0.min(letter.position.offset);
        range.1 = range.1.max(letter.position.offset);
    }
    if ranges.is_empty() {
        return "it holds no dead letters".to_owned();
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|(partition, (first, last))| format!("partition {partition} holds offsets {first} to {last}"))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_and_print_back() {
        let position: Position = "0:12".parse().unwrap();
        assert_eq!(position, Position { partition: 0, offset: 12 });
        assert_eq!(position.to_string(), "0:12");
        for bad in ["0", "0:", ":3", "a:1", "0:1:2", "-1:3", "0:-3", "0-12"] {
            let error = bad.parse::<Position>().unwrap_err();
            assert!(error.contains("PARTITION:OFFSET"), "{bad}: {error}");
        }
    }

    #[test]
    fn since_too_far_back_is_an_error_that_says_what_is_allowed() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z").unwrap().with_timezone(&Utc);
        // 100,000,000 days fit in a chrono Duration but not before `now`: this used to panic.
        for bad in ["100000000d", "2400000000h", "9000000000000s"] {
            let error = Since::parse(bad, now).unwrap_err();
            assert_eq!(
                error,
                format!(
                    "{bad:?} reaches too far back: a duration goes back at most 36500 days \
                     (e.g. 30s, 10m, 2h, 1d, 36500d); or give an RFC 3339 time (2026-11-27T17:00:00Z)"
                )
            );
        }
        assert_eq!(
            Since::parse("36500d", now).unwrap().0.to_rfc3339(),
            "1926-12-22T18:00:00+00:00",
            "the limit itself is allowed"
        );
    }

    #[test]
    fn since_takes_durations_and_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z").unwrap().with_timezone(&Utc);
        let at = |text: &str| Since::parse(text, now).unwrap().0.to_rfc3339();
        assert_eq!(at("30s"), "2026-11-27T17:59:30+00:00");
        assert_eq!(at("10m"), "2026-11-27T17:50:00+00:00");
        assert_eq!(at("2h"), "2026-11-27T16:00:00+00:00");
        assert_eq!(at("1d"), "2026-11-26T18:00:00+00:00");
        assert_eq!(at("2026-11-27T17:00:00Z"), "2026-11-27T17:00:00+00:00");
        for bad in ["", "10", "m", "10x", "yesterday", "99999999999999999d"] {
            assert!(Since::parse(bad, now).unwrap_err().contains("RFC 3339"), "{bad}");
        }
    }
}
