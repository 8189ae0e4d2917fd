//! One dead letter as read from the dead-letter topic, and what its `dlq.*` headers say.

use chrono::{DateTime, Utc};
use kafka::headers::RawHeader;
use models::escape_controls;
use retry::dlq_headers;

use crate::select::Position;

/// A record of the dead-letter topic: the original key, payload and headers, and the context
/// headers the tracker added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Where it is in the dead-letter topic.
    pub position: Position,
    /// The record's Kafka timestamp, when it has one.
    pub timestamp: Option<DateTime<Utc>>,
    /// Key bytes (the original key).
    pub key: Option<Vec<u8>>,
    /// Payload bytes (the original payload); `None` for a tombstone.
    pub payload: Option<Vec<u8>>,
    /// Every header, in order, as raw bytes.
    pub headers: Vec<RawHeader>,
}

impl DeadLetter {
    /// The value of the last header named exactly `name`, if it has one.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name.as_bytes())
            .and_then(|(_, value)| value.as_deref())
    }

    /// [`DeadLetter::header`] as text, when it is UTF-8.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// `dlq.error.kind`: deserialization, validation, processing...
    pub fn error_kind(&self) -> Option<&str> {
        self.header_text(dlq_headers::ERROR_KIND)
    }

    /// `dlq.error.message`.
    pub fn error_message(&self) -> Option<&str> {
        self.header_text(dlq_headers::ERROR_MESSAGE)
    }

    /// `dlq.attempts`.
    pub fn attempts(&self) -> Option<u32> {
        self.header_text(dlq_headers::ATTEMPTS)?.parse().ok()
    }

    /// `dlq.instance.id`: the tracker that gave up.
    pub fn instance(&self) -> Option<&str> {
        self.header_text(dlq_headers::INSTANCE_ID)
    }

    /// `dlq.original.topic`.
    pub fn original_topic(&self) -> Option<&str> {
        self.header_text(dlq_headers::ORIGINAL_TOPIC)
    }

    /// `dlq.original.partition`.
    pub fn original_partition(&self) -> Option<i32> {
        self.header_text(dlq_headers::ORIGINAL_PARTITION)?.parse().ok()
    }

    /// `dlq.original.offset`.
    pub fn original_offset(&self) -> Option<i64> {
        self.header_text(dlq_headers::ORIGINAL_OFFSET)?.parse().ok()
    }

    /// When the tracker gave up (`dlq.failed.at`), else the record's timestamp.
    pub fn failed_at(&self) -> Option<DateTime<Utc>> {
        self.header_text(dlq_headers::FAILED_AT)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc))
            .or(self.timestamp)
    }

    /// How many times this message was already sent back by `dlq redrive` before it failed
    /// again: the largest `dlq.redrive.count`, also under the name the tracker keeps it as
    /// history (`original.dlq.redrive.count`); 0 when it never was.
    pub fn redrives(&self) -> u32 {
        redrive_count(&self.headers)
    }
}

/// The largest redrive count in `headers` (see [`DeadLetter::redrives`]).
pub fn redrive_count(headers: &[RawHeader]) -> u32 {
    let history = format!("{}{}", dlq_headers::HISTORY_PREFIX, dlq_headers::REDRIVE_COUNT);
    headers
        .iter()
        .filter(|(name, _)| name == dlq_headers::REDRIVE_COUNT.as_bytes() || name == history.as_bytes())
        .filter_map(|(_, value)| std::str::from_utf8(value.as_deref()?).ok()?.trim().parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// Bytes as one safe line of text: UTF-8 with control characters escaped (`\n`, `\u{1b}`, by
/// [`models::escape_controls`]),
/// else `0x` and hex with a note, so a terminal never receives raw bytes.
pub fn display_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => escape_controls(text).into_owned(),
        Err(_) => format!("0x{} ({} bytes, not UTF-8)", hex(bytes), bytes.len()),
    }
}

/// Lowercase hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(headers: &[(&str, &str)]) -> DeadLetter {
        DeadLetter {
            position: Position { partition: 0, offset: 0 },
            timestamp: None,
            key: None,
            payload: None,
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec())))
                .collect(),
        }
    }

    #[test]
    fn the_redrive_count_survives_the_tracker_renaming_it() {
        assert_eq!(letter(&[]).redrives(), 0);
        assert_eq!(letter(&[("original.dlq.redrive.count", "1")]).redrives(), 1);
        let twice = letter(&[("original.dlq.redrive.count", "1"), ("original.dlq.redrive.count", "2")]);
        assert_eq!(twice.redrives(), 2);
        assert_eq!(letter(&[("dlq.redrive.count", "x")]).redrives(), 0, "garbage counts as none");
    }

    #[test]
    fn the_latest_context_header_wins() {
        let again = letter(&[("original.dlq.error.kind", "processing"), ("dlq.error.kind", "validation")]);
        assert_eq!(again.error_kind(), Some("validation"));
    }

    #[test]
    fn bytes_are_shown_safely() {
        assert_eq!(display_bytes(b"plain"), "plain");
        assert_eq!(display_bytes(b"a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(display_bytes(&[0xc3, 0x28]), "0xc328 (2 bytes, not UTF-8)");
    }
}
