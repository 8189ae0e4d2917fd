//! One line of a tracker's `.events` file: the audit of one message received from Kafka.
//!
//! Every field is written on every line, `null` when it has no value, so `jq` filters never
//! have to guess whether a field exists; the one exception is `transaction`, written only by a
//! tracker in `exactly_once` mode. The payload is kept as received in `raw_message`;
//! when it is not valid UTF-8, `raw_message` holds a lossy copy (invalid bytes become U+FFFD)
//! and `raw_message_base64` holds the exact bytes.

use std::borrow::Cow;

use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::headers::{AuditHeaders, RawHeader};
use crate::order::write::Object;
use crate::order::{Order, OrderEvent};

/// `event_type` of an audit line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditEventType {
    /// The payload parsed into an order event (valid or not).
    #[serde(rename = "message.received")]
    Received,
    /// The payload could not be parsed into an order event.
    #[serde(rename = "message.received.deserialization_error")]
    DeserializationError,
}

impl AuditEventType {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEventType::Received => "message.received",
            AuditEventType::DeserializationError => "message.received.deserialization_error",
        }
    }
}

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
pub struct MessageOrigin<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Message key bytes, if any.
    pub key: Option<&'a [u8]>,
    /// Payload bytes; `None` for a tombstone.
    pub payload: Option<&'a [u8]>,
}

/// One line of `tracker-<id>.events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry<'a> {
    /// Reception time, RFC 3339 UTC with milliseconds.
    pub timestamp: Cow<'a, str>,
    /// Parsed or not.
    pub event_type: AuditEventType,
    /// The tracker instance that received the message.
    pub instance_id: Cow<'a, str>,
    /// The cluster id of the broker the message was read from (`null` when the broker gave
    /// none). It names the broker's lifetime: a broker that loses its data (memory storage, a
    /// Kafka whose volumes were thrown away) starts again with a new id and offsets from 0,
    /// so (cluster_id, topic, partition, offset) names one record across restarts.
    #[serde(default)]
    pub cluster_id: Option<Cow<'a, str>>,
    /// Source topic.
    pub kafka_topic: Cow<'a, str>,
    /// Source partition.
    pub kafka_partition: i32,
    /// Source offset.
    pub kafka_offset: i64,
    /// Message key as text (lossy if not UTF-8), `null` without a key.
    pub kafka_key: Option<Cow<'a, str>>,
    /// The payload as text (lossy if not UTF-8; empty for a tombstone).
    pub raw_message: Cow<'a, str>,
    /// The exact payload bytes in standard base64, only when they are not valid UTF-8.
    pub raw_message_base64: Option<String>,
    /// Payload size in bytes.
    pub message_size: usize,
    /// Whether the payload parsed into an order event.
    pub deserialized: bool,
    /// Envelope event id, when parsed.
    pub event_id: Option<Uuid>,
    /// Order id, when parsed.
    pub order_id: Option<Uuid>,
    /// Producer sequence number, when parsed.
    pub sequence: Option<u64>,
    /// When the producer emitted the event (the envelope's `timestamp`), when parsed: with
    /// `timestamp`, the event's end-to-end latency. Lines written before this field existed
    /// read as `null`.
    #[serde(default)]
    pub event_timestamp: Option<String>,
    /// Order status, when parsed.
    pub status: Option<Cow<'a, str>>,
    /// The whole parsed order, when parsed.
    pub order_full: Option<Cow<'a, Order>>,
    /// Why parsing failed, when it did.
    pub error: Option<Cow<'a, str>>,
    /// Which business rule the parsed order breaks, if any.
    pub validation_error: Option<Cow<'a, str>>,
    /// The record's Kafka headers, name → value ([`crate::headers`] says how bytes that are
    /// not UTF-8 are written); `{}` without headers. Lines written before this field existed
    /// read as `{}`.
    #[serde(default)]
    pub headers: AuditHeaders<'a>,
    /// `tracker.processing: exactly_once`: the Kafka transaction this reception belongs to
    /// (`<pid>-<n>`, the n-th transaction of the process that wrote the line); the `.log` of
    /// the same instance says whether it was committed (`transaction_committed`) or aborted.
    /// A line is written before its transaction commits, so lines of aborted or unfinished
    /// attempts remain: the record is read again and audited again, under another
    /// transaction. Absent with `at_least_once` (the one field written only when set, so
    /// the default mode's lines are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Cow<'a, str>>,
}

impl<'a> AuditEntry<'a> {
    /// Builds the audit line of one message from what the tracker knows at reception.
    ///
    /// `parsed` is the result of parsing the payload; `validation_error` the broken rule of a
    /// parsed order, if any.
    pub fn new(
        timestamp: &'a str,
        instance_id: &'a str,
        origin: MessageOrigin<'a>,
        parsed: Result<&'a OrderEvent, &'a str>,
        validation_error: Option<String>,
    ) -> Self {
        let text = std::str::from_utf8(origin.payload.unwrap_or_default()).ok();
        Self::with_payload_text(timestamp, instance_id, origin, text, parsed, validation_error)
    }

    /// [`AuditEntry::new`] for a caller that has checked the payload's UTF-8 already (the
    /// tracker parses the same text): `payload_text` is the payload as text, `None` when it
    /// is not UTF-8.
    pub fn with_payload_text(
        timestamp: &'a str,
        instance_id: &'a str,
        origin: MessageOrigin<'a>,
        payload_text: Option<&'a str>,
        parsed: Result<&'a OrderEvent, &'a str>,
        validation_error: Option<String>,
    ) -> Self {
        let payload = origin.payload.unwrap_or_default();
        debug_assert!(payload_text.is_none_or(|text| text.as_bytes() == payload));
        let (raw_message, raw_message_base64) = match payload_text {
            Some(text) => (Cow::Borrowed(text), None),
            None => (
                String::from_utf8_lossy(payload),
                Some(base64::engine::general_purpose::STANDARD.encode(payload)),
            ),
        };
        let mut entry = AuditEntry {
            timestamp: Cow::Borrowed(timestamp),
            event_type: AuditEventType::Received,
            instance_id: Cow::Borrowed(instance_id),
            cluster_id: None,
            kafka_topic: Cow::Borrowed(origin.topic),
            kafka_partition: origin.partition,
            kafka_offset: origin.offset,
            kafka_key: origin.key.map(String::from_utf8_lossy),
            raw_message,
            raw_message_base64,
            message_size: payload.len(),
            deserialized: false,
            event_id: None,
            order_id: None,
            sequence: None,
            event_timestamp: None,
            status: None,
            order_full: None,
            error: None,
            validation_error: validation_error.map(Cow::Owned),
            headers: AuditHeaders::default(),
            transaction: None,
        };
        match parsed {
            Ok(event) => {
                entry.deserialized = true;
                entry.event_id = Some(event.event_id);
                entry.order_id = Some(event.order.order_id);
                entry.sequence = Some(event.sequence);
                entry.event_timestamp = Some(crate::format_timestamp(event.timestamp));
                entry.status = Some(Cow::Borrowed(event.order.status.as_str()));
                entry.order_full = Some(Cow::Borrowed(&event.order));
            }
            Err(error) => {
                entry.event_type = AuditEventType::DeserializationError;
                entry.error = Some(Cow::Borrowed(error));
            }
        }
        entry
    }

    /// Sets the cluster id of the broker the message was read from.
    pub fn with_cluster_id(mut self, cluster_id: Option<&'a str>) -> Self {
        self.cluster_id = cluster_id.map(Cow::Borrowed);
        self
    }

    /// Sets the Kafka transaction the reception belongs to (`exactly_once`).
    pub fn with_transaction(mut self, transaction: Option<&'a str>) -> Self {
        self.transaction = transaction.map(Cow::Borrowed);
        self
    }

    /// The entry with the record's headers, given as raw (name, value) pairs in order.
    pub fn with_headers(mut self, headers: &'a [RawHeader<'a>]) -> Self {
        self.headers = AuditHeaders::Record(headers);
        self
    }

    /// Appends the entry as one JSON line (with its `\n`) to `out`: the fields in the order
    /// of the struct, as `serde_json` would write them (the tracker's golden test pins the
    /// bytes), but written directly, since this runs for every message.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut line = Object::start(out);
        line.str("timestamp", &self.timestamp)
            .str("event_type", self.event_type.as_str())
            .str("instance_id", &self.instance_id)
            .optional_str("cluster_id", self.cluster_id.as_deref())
            .str("kafka_topic", &self.kafka_topic)
            .int("kafka_partition", self.kafka_partition)
            .int("kafka_offset", self.kafka_offset)
            .optional_str("kafka_key", self.kafka_key.as_deref())
            .str("raw_message", &self.raw_message)
            .optional_str("raw_message_base64", self.raw_message_base64.as_deref())
            .int("message_size", self.message_size)
            .raw("deserialized", if self.deserialized { b"true" } else { b"false" })
            .optional_uuid("event_id", self.event_id)
            .optional_uuid("order_id", self.order_id)
            .optional_int("sequence", self.sequence)
            .optional_str("event_timestamp", self.event_timestamp.as_deref())
            .optional_str("status", self.status.as_deref());
        match &self.order_full {
            Some(order) => order.write_json(line.key("order_full")),
            None => {
                line.raw("order_full", b"null");
            }
        }
        line.optional_str("error", self.error.as_deref())
            .optional_str("validation_error", self.validation_error.as_deref());
        // Writing headers into a Vec cannot fail (a decoded map has string keys); if it ever
        // did, no half line is left behind.
        if self.headers.write_json(line.key("headers")).is_err() {
            out.truncate(start);
            return;
        }
        // The one field written only when set: the default mode's lines stay as they were.
        if let Some(transaction) = &self.transaction {
            line.str("transaction", transaction);
        }
        line.end();
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::OrderGenerator;

    fn origin(payload: Option<&[u8]>) -> MessageOrigin<'_> {
        MessageOrigin { topic: "orders", partition: 0, offset: 0, key: Some(b"k"), payload }
    }

    fn line(entry: &AuditEntry<'_>) -> serde_json::Value {
        let mut out = Vec::new();
        entry.write_line(&mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "exactly one line");
        serde_json::from_slice(&out).unwrap()
    }

    const SEED_FIELDS: &[&str] = &[
        "timestamp",
        "event_type",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_key",
        "raw_message",
        "message_size",
        "deserialized",
        "order_id",
        "sequence",
        "status",
        "order_full",
        "error",
        "headers",
    ];

    /// What serde_json writes for the entry, the reference `write_line` is held to.
    fn serde_line(entry: &AuditEntry<'_>) -> String {
        let mut line = serde_json::to_string(entry).unwrap();
        line.push('\n');
        line
    }

    fn written(entry: &AuditEntry<'_>) -> String {
        let mut out = b"earlier line\n".to_vec();
        entry.write_line(&mut out);
        String::from_utf8(out).unwrap().strip_prefix("earlier line\n").unwrap().to_owned()
    }

    #[test]
    fn the_line_is_what_serde_json_writes_for_every_kind_of_entry() {
        let event = OrderGenerator::seeded(3).new_order_event();
        let payload = event.to_json();
        let headers: [RawHeader<'_>; 3] = [(b"a", Some(b"1")), (b"\xff", None), (b"a", Some(b"\xfe"))];
        let parsed = AuditEntry::new("t\"1", "i-1", origin(Some(&payload)), Ok(&event), Some("rule".into()))
            .with_cluster_id(Some("c"))
            .with_headers(&headers);
        let failed = AuditEntry::new("t", "i-1", origin(Some(b"\xff{")), Err("bad \n"), None);
        let mut tombstone = origin(None);
        tombstone.key = None;
        let empty = AuditEntry::new("t", "", tombstone, Err(""), None);
        for entry in [parsed, failed, empty] {
            assert_eq!(written(&entry), serde_line(&entry));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_record_is_written_as_serde_json_writes_it(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            key in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)),
            header in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
            offset in proptest::prelude::any::<i64>(),
            error in ".*",
        ) {
            let origin = MessageOrigin {
                topic: "t",
                partition: i32::try_from(offset % 1000).unwrap_or(0),
                offset,
                key: key.as_deref(),
                payload: Some(&payload),
            };
            let headers = [(header.as_slice(), Some(header.as_slice()))];
            let entry = AuditEntry::new("t", "i", origin, Err(&error), None).with_headers(&headers);
            proptest::prop_assert_eq!(written(&entry), serde_line(&entry));
        }
    }

    #[test]
    fn parsed_order_fills_every_field() {
        let event = OrderGenerator::seeded(1).new_order_event();
        let payload = event.to_json();
        let value = line(&AuditEntry::new(
            "2026-01-01T00:00:00.000Z",
            "i-1",
            origin(Some(&payload)),
            Ok(&event),
            None,
        ));
        for field in SEED_FIELDS {
            assert!(value.get(field).is_some(), "{field} missing");
        }
        assert_eq!(value["event_type"], "message.received");
        assert_eq!(value["kafka_partition"], 0);
        assert_eq!(value["kafka_offset"], 0);
        assert_eq!(value["deserialized"], true);
        assert_eq!(value["raw_message"].as_str().unwrap().as_bytes(), payload.as_slice());
        assert_eq!(value["message_size"], payload.len());
        assert_eq!(value["order_id"], event.order.order_id.to_string());
        assert_eq!(value["event_timestamp"], crate::format_timestamp(event.timestamp));
        assert_eq!(value["order_full"]["total_cents"], event.order.total_cents);
        assert!(value["error"].is_null());
        assert!(value["cluster_id"].is_null(), "null when the broker gave none");
        let back: AuditEntry<'_> = serde_json::from_value(value).unwrap();
        assert_eq!(back.order_full.as_deref(), Some(&event.order));
    }

    #[test]
    fn unparsable_payload_keeps_raw_bytes() {
        let payload = b"{not json";
        let value = line(&AuditEntry::new("t", "i-1", origin(Some(payload)), Err("expected value"), None));
        assert_eq!(value["event_type"], "message.received.deserialization_error");
        assert_eq!(value["deserialized"], false);
        assert_eq!(value["raw_message"], "{not json");
        assert_eq!(value["error"], "expected value");
        assert!(value["order_full"].is_null() && value["order_id"].is_null());
        assert!(value["raw_message_base64"].is_null());
    }

    #[test]
    fn non_utf8_payload_is_lossy_text_plus_exact_base64() {
        let payload = [0xff, b'a', 0xfe];
        let value = line(&AuditEntry::new("t", "i-1", origin(Some(&payload)), Err("not UTF-8"), None));
        assert_eq!(value["raw_message"], "\u{fffd}a\u{fffd}");
        assert_eq!(value["raw_message_base64"], "/2H+");
        assert_eq!(value["message_size"], 3);
    }

    #[test]
    fn headers_are_written_text_or_base64() {
        let headers: [RawHeader<'_>; 2] = [(b"trace_id", Some(b"t-1")), (b"\xff", Some(b"\xfe"))];
        let entry = AuditEntry::new("t", "i-1", origin(Some(b"{}")), Err("missing field"), None)
            .with_headers(&headers);
        let value = line(&entry);
        assert_eq!(
            value["headers"],
            serde_json::json!({"trace_id": "t-1", "base64:/w==": {"base64": "/g=="}})
        );
        let without: serde_json::Value = line(&AuditEntry::new("t", "i-1", origin(None), Err("e"), None));
        assert_eq!(without["headers"], serde_json::json!({}));
    }

    #[test]
    fn tombstone_and_missing_key() {
        let mut message = origin(None);
        message.key = None;
        let value = line(&AuditEntry::new("t", "i-1", message, Err("empty payload"), None));
        assert_eq!(value["raw_message"], "");
        assert_eq!(value["message_size"], 0);
        assert!(value["kafka_key"].is_null());
    }

    #[test]
    fn the_cluster_id_is_written_and_read_back() {
        let origin =
            MessageOrigin { topic: "orders", partition: 2, offset: 7, key: None, payload: Some(b"x") };
        let entry = AuditEntry::new("t", "i-1", origin, Err("bad"), None).with_cluster_id(Some("cluster-a"));
        let mut out = Vec::new();
        entry.write_line(&mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["cluster_id"], "cluster-a");
        let back: AuditEntry<'_> = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.cluster_id.as_deref(), Some("cluster-a"));
    }

    #[test]
    fn lines_written_before_the_field_existed_still_read() {
        let mut out = Vec::new();
        let origin =
            MessageOrigin { topic: "orders", partition: 0, offset: 0, key: None, payload: Some(b"x") };
        AuditEntry::new("t", "i-1", origin, Err("bad"), None).write_line(&mut out);
        let mut value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        value.as_object_mut().unwrap().remove("cluster_id");
        let back: AuditEntry<'_> = serde_json::from_value(value).unwrap();
        assert_eq!(back.cluster_id, None);
    }
}
