//! The dead letter's format, owned in one place below the tracker (which writes dead letters),
//! `dlq` (which reads and resends them) and the monitor (which counts what was resent).
//!
//! - [`headers`]: the names of the headers that carry a dead letter's context.
//! - [`claimed_redrive_count`]: how the redrive count a record carries is read back, the one
//!   rule for the tracker (from the record's headers) and the monitor (from an audit line's
//!   headers, [`claimed_redrive_count_in_json`]).
//! - [`Inspection`]: how a record is judged (parsed, then validated): the tracker dead-letters
//!   what it refuses, and `dlq redrive` refuses to resend what the tracker would refuse.
//!
//! No Kafka client here: a header is a `(name, value)` pair of byte slices, so the monitor,
//! which never links librdkafka, can use the crate.

mod inspection;

pub use inspection::{Inspection, Payload};

/// Header names of a dead-letter record. Its key and payload are the original ones, unchanged.
pub mod headers {
    /// Topic the message was consumed from.
    pub const ORIGINAL_TOPIC: &str = "dlq.original.topic";
    /// Its partition, decimal.
    pub const ORIGINAL_PARTITION: &str = "dlq.original.partition";
    /// Its offset, decimal.
    pub const ORIGINAL_OFFSET: &str = "dlq.original.offset";
    /// [`Failure::kind`](retry::Failure::kind), e.g. `deserialization`, `validation`, `processing`.
    pub const ERROR_KIND: &str = "dlq.error.kind";
    /// Whether the failure was `permanent` or `transient`.
    pub const ERROR_CLASS: &str = "dlq.error.class";
    /// The error text.
    pub const ERROR_MESSAGE: &str = "dlq.error.message";
    /// Attempts made, decimal.
    pub const ATTEMPTS: &str = "dlq.attempts";
    /// The tracker instance that gave up.
    pub const INSTANCE_ID: &str = "dlq.instance.id";
    /// When it gave up, RFC 3339 UTC.
    pub const FAILED_AT: &str = "dlq.failed.at";
    /// On a message that `dlq redrive` sent back: how many times it was sent back, decimal.
    pub const REDRIVE_COUNT: &str = "dlq.redrive.count";
    /// On a message that `dlq redrive` sent back: the dead letter it came from,
    /// `<dlq topic>/<partition>:<offset>`.
    pub const REDRIVEN_FROM: &str = "dlq.redriven.from";
    /// On a message that `dlq redrive` sent back: when, RFC 3339 UTC.
    pub const REDRIVEN_AT: &str = "dlq.redriven.at";
    /// What the tracker renames a message's own `dlq.*` header to when it dead-letters that
    /// message again (`dlq.redrive.count` becomes `original.dlq.redrive.count`), so the new
    /// context headers stay unambiguous and the old ones stay as history.
    pub const HISTORY_PREFIX: &str = "original.";

    /// On a cut dead letter (one whose record was too large to send whole): the whole record's
    /// size in bytes (key, payload, header names and values), decimal.
    pub const CUT_ORIGINAL_BYTES: &str = "dlq.cut.original.bytes";
    /// On a cut dead letter: the SHA-256 of the whole record, lowercase hex (what is hashed:
    /// `models::kept::record_sha256`).
    pub const CUT_ORIGINAL_SHA256: &str = "dlq.cut.original.sha256";
    /// On a cut dead letter: `KEPT/TOTAL`, the first KEPT of the payload's TOTAL bytes are in
    /// this dead letter (`-` for a tombstone).
    pub const CUT_PAYLOAD: &str = "dlq.cut.payload";
    /// On a cut dead letter: `KEPT/TOTAL`, the first KEPT of the record's TOTAL headers are in
    /// this dead letter, before the `dlq.*` context.
    pub const CUT_HEADERS: &str = "dlq.cut.headers";
    /// On a cut dead letter: `KEPT/TOTAL` bytes of the key (all or none; `-` without a key).
    pub const CUT_KEY: &str = "dlq.cut.key";
    /// On a cut dead letter: the file, in the log folder of the tracker named by
    /// `dlq.instance.id`, that holds the whole record.
    pub const CUT_KEPT_FILE: &str = "dlq.cut.kept.file";
    /// On a cut dead letter: why the whole one was not sent (the refusal).
    pub const CUT_REASON: &str = "dlq.cut.reason";
}

/// The redrive count a record's own headers claim: the value of its **last** header named
/// exactly `dlq.redrive.count`, 0 without one, with a null value or one that is not a number.
/// `headers` are `(name, value)` pairs in record order.
///
/// Why the last one and only the current name:
/// - `dlq redrive` removes any earlier `dlq.redrive.count` of the record it resends and appends
///   its own last, so on a record it sent the last header is its count (one more than the dead
///   letter's); an earlier one can only come from another writer.
/// - `original.dlq.redrive.count` is history: when a resent record fails again, the tracker keeps
///   its `dlq.*` headers under [`headers::HISTORY_PREFIX`], and those say how that earlier record
///   was resent, not how this one was. Reading them too (as `dlq` once did, taking the largest of
///   both names) made a record's count depend on what an earlier failure left behind.
///
/// A claim, not a fact: any producer can set this header. The tracker uses it only where a
/// false claim costs nothing (its duplicate detection keys an event id with it, so a forged
/// count at worst gets an event processed once more, as a new event id would; the latency
/// figures leave resent records out), and the monitor to count resent records and their
/// outcome. The loop guard of `dlq redrive` never trusts it: it takes the count from the
/// redrive log, which only `dlq redrive` writes (see docs/dlq.md).
pub fn claimed_redrive_count<'a>(headers: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> u32 {
    headers
        .into_iter()
        .filter(|(name, _)| *name == headers::REDRIVE_COUNT.as_bytes())
        .last()
        .and_then(|(_, value)| std::str::from_utf8(value?).ok()?.trim().parse().ok())
        .unwrap_or(0)
}

/// [`claimed_redrive_count`] of headers as an audit line writes them (`models::headers`: one
/// JSON object, a repeated name holding its values in an array, a value that is not UTF-8 as
/// `{"base64": ...}`, a null value as `null`). Anything but a string counts as a value that is
/// not a number.
pub fn claimed_redrive_count_in_json(headers: &serde_json::Map<String, serde_json::Value>) -> u32 {
    use serde_json::Value;
    let values: &[Value] = match headers.get(headers::REDRIVE_COUNT) {
        None => &[],
        Some(Value::Array(values)) => values,
        Some(value) => std::slice::from_ref(value),
    };
    claimed_redrive_count(
        values.iter().map(|value| (headers::REDRIVE_COUNT.as_bytes(), value.as_str().map(str::as_bytes))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(name: &'a str, value: &'a str) -> (&'a [u8], Option<&'a [u8]>) {
        (name.as_bytes(), Some(value.as_bytes()))
    }

    #[test]
    fn the_claimed_count_is_the_last_redrive_count_header_only() {
        assert_eq!(claimed_redrive_count([]), 0);
        assert_eq!(claimed_redrive_count([header("dlq.redrive.count", "2")]), 2);
        let both = [header("dlq.redrive.count", "7"), header("dlq.redrive.count", "1")];
        assert_eq!(claimed_redrive_count(both), 1, "the last one, as dlq redrive appends it");
        let history = [header("original.dlq.redrive.count", "5")];
        assert_eq!(claimed_redrive_count(history), 0, "history is not this record's claim");
        assert_eq!(claimed_redrive_count([header("dlq.redrive.count", "x")]), 0);
        assert_eq!(claimed_redrive_count([(&b"dlq.redrive.count"[..], None)]), 0);
    }

    #[test]
    fn an_audit_line_is_read_by_the_same_rule() {
        let json = |text: &str| match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(map)) => map,
            other => panic!("not an object: {other:?}"),
        };
        assert_eq!(claimed_redrive_count_in_json(&json("{}")), 0);
        assert_eq!(claimed_redrive_count_in_json(&json(r#"{"dlq.redrive.count":"2"}"#)), 2);
        assert_eq!(claimed_redrive_count_in_json(&json(r#"{"dlq.redrive.count":["7","1"]}"#)), 1, "the last");
        assert_eq!(claimed_redrive_count_in_json(&json(r#"{"dlq.redrive.count":["1",null]}"#)), 0);
        assert_eq!(claimed_redrive_count_in_json(&json(r#"{"dlq.redrive.count":{"base64":"/w=="}}"#)), 0);
        assert_eq!(
            claimed_redrive_count_in_json(&json(r#"{"original.dlq.redrive.count":"5"}"#)),
            0,
            "history"
        );
    }
}
