//! One dead letter as read from the dead-letter topic, and what its `dlq.*` headers say.

use chrono::{DateTime, Utc};
use deadletter::headers as dlq_headers;
use kafka::headers::RawHeader;
use models::escape_controls;

use crate::position::Position;

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

    /// What the tracker cut, when this dead letter was too large to send whole: its
    /// `dlq.cut.*` headers (their current names only: `original.dlq.cut.*` is history).
    pub fn cut(&self) -> Option<Cut> {
        let text = |name| self.header_text(name).map(|text| escape_controls(text).into_owned());
        Some(Cut {
            kept_file: text(dlq_headers::CUT_KEPT_FILE)?,
            payload: text(dlq_headers::CUT_PAYLOAD).unwrap_or_default(),
            headers: text(dlq_headers::CUT_HEADERS).unwrap_or_default(),
            key: text(dlq_headers::CUT_KEY).unwrap_or_default(),
            original_bytes: text(dlq_headers::CUT_ORIGINAL_BYTES).unwrap_or_default(),
            original_sha256: text(dlq_headers::CUT_ORIGINAL_SHA256).unwrap_or_default(),
            instance: self
                .instance()
                .map_or_else(|| "(unknown)".to_owned(), |id| escape_controls(id).into_owned()),
        })
    }
}

/// The `dlq.cut.*` headers of a cut dead letter, as text safe for a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The file that holds the whole record, in the tracker's log folder.
    pub kept_file: String,
    /// `KEPT/TOTAL` payload bytes.
    pub payload: String,
    /// `KEPT/TOTAL` headers.
    pub headers: String,
    /// `KEPT/TOTAL` key bytes.
    pub key: String,
    /// The whole record's size.
    pub original_bytes: String,
    /// The whole record's SHA-256.
    pub original_sha256: String,
    /// The tracker that kept it (`dlq.instance.id`).
    pub instance: String,
}

impl Cut {
    /// `KEPT/TOTAL` as `KEPT of TOTAL`, `-` as `none`.
    pub fn of_total(fraction: &str) -> String {
        match fraction.split_once('/') {
            Some((kept, total)) => format!("{kept} of {total}"),
            None if fraction == "-" => "none".to_owned(),
            None => fraction.to_owned(),
        }
    }

    /// `KEPT/TOTAL` as `KEPT of the TOTAL`.
    fn of_the_total(fraction: &str) -> String {
        match fraction.split_once('/') {
            Some((kept, total)) => format!("{kept} of the {total}"),
            None => Cut::of_total(fraction),
        }
    }

    /// Why `redrive` refuses it.
    pub fn refusal(&self) -> String {
        format!(
            "cut dead letter: it holds {} payload bytes and {} headers; the whole record is in {} in the \
             log folder of tracker {}; resend it from there (docs/dlq.md, \"Cut dead letters\")",
            Cut::of_the_total(&self.payload),
            Cut::of_the_total(&self.headers),
            self.kept_file,
            self.instance
        )
    }

    /// The `cut` line of `show`.
    pub fn summary(&self) -> String {
        format!(
            "{} payload bytes, {} headers, {} key bytes; the whole record ({} bytes, SHA-256 {}) is in {}, log \
             folder of tracker {}",
            Cut::of_total(&self.payload),
            Cut::of_total(&self.headers),
            Cut::of_total(&self.key),
            self.original_bytes,
            self.original_sha256,
            self.kept_file,
            self.instance
        )
    }
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
    fn only_current_cut_headers_make_a_cut_letter() {
        assert_eq!(letter(&[("original.dlq.cut.kept.file", "f.json")]).cut(), None, "history");
        let cut = letter(&[("dlq.cut.kept.file", "f\u{1b}.json"), ("dlq.cut.payload", "3/9")]).cut().unwrap();
        assert_eq!(cut.kept_file, "f\\u{1b}.json", "escaped for a terminal");
        assert_eq!(Cut::of_total(&cut.payload), "3 of 9");
        assert_eq!(Cut::of_total("-"), "none");
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
