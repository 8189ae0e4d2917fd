//! The lean read side of the tracker's lines: only the fields the counting rules need,
//! borrowed from the line where possible, and the cut that skips the raw payload copy.

use std::borrow::Cow;
use std::fmt;

use deadletter::headers as dlq_headers;
use serde::de::{IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::counters::Counters;

/// The line without its `raw_message` and `raw_message_base64` fields, when it has the
/// tracker's field order ([`models::audit::AuditEntry`]: `raw_message` right before
/// `message_size`, and `deserialized` and the order fields after it). Skipping the payload
/// copy, the longest and most escaped string of the line, is most of the parsing time; a
/// substring search jumps over it instead. The keys searched contain unescaped quotes, so they
/// cannot occur inside a JSON string. `None` when the line has another shape: it is then
/// parsed whole.
pub(super) fn cut_raw_message<'s>(line: &[u8], scratch: &'s mut Vec<u8>) -> Option<&'s [u8]> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Built once: building a searcher costs more than running it on one line.
    static RAW_MESSAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"raw_message\":"));
    static MESSAGE_SIZE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"message_size\":"));
    static DESERIALIZED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"deserialized\":"));
    let start = RAW_MESSAGE.find(line)?;
    let end = start + MESSAGE_SIZE.find(&line[start..])?;
    let tail = &line[end..];
    DESERIALIZED.find(tail)?;
    scratch.clear();
    scratch.extend_from_slice(&line[..start]);
    scratch.extend_from_slice(tail);
    Some(scratch)
}

/// Parses one line. UTF-8 text is checked once, as a whole, and parsed as text: serde_json's
/// byte reader would check each string again, one by one (a quarter of the time on audit
/// lines). Other bytes get the byte reader, which accepts them where it only skips (a field
/// the counting rules do not read), as before.
pub(super) fn parse_line<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Option<T> {
    match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text).ok(),
        Err(_) => serde_json::from_slice(line).ok(),
    }
}

/// The lean read side of an `.events` line: only the fields the counting rules need.
///
/// `timestamp`, `kafka_topic`, `kafka_partition`, `kafka_offset` and `deserialized` are
/// required: a JSON object without them is not an audit line and is counted as malformed,
/// never as a message. `cluster_id` names the broker lifetime the offset belongs to; files
/// written before it existed have none, which counts as one unknown lifetime.
#[derive(Deserialize)]
pub(super) struct EventsLine<'a> {
    #[serde(borrow)]
    pub(super) timestamp: Text<'a>,
    #[serde(borrow, default)]
    pub(super) cluster_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) kafka_topic: Text<'a>,
    pub(super) kafka_partition: i64,
    pub(super) kafka_offset: i64,
    pub(super) deserialized: bool,
    /// `exactly_once` trackers only: the Kafka transaction of the reception.
    #[serde(borrow, default)]
    pub(super) transaction: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) order_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) status: Option<Text<'a>>,
    #[serde(default)]
    pub(super) validation_error: Option<IgnoredAny>,
    #[serde(borrow, default)]
    pub(super) order_full: Option<LeanOrder<'a>>,
    #[serde(borrow, default)]
    pub(super) kafka_key: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) event_id: Option<Text<'a>>,
    /// When the producer emitted the event (absent in files written before the field existed).
    #[serde(borrow, default)]
    pub(super) event_timestamp: Option<Text<'a>>,
    /// Kept raw: only lines of redriven records need reading (see [`redrive_headers`]), and a
    /// header of an unexpected shape must not make the line malformed.
    #[serde(borrow, default)]
    pub(super) headers: Option<&'a RawValue>,
}

/// The `dlq redrive` headers of an audit line: `(dlq.redrive.count, dlq.redriven.from)`, or
/// `None` for a record that was not redriven (count absent, 0 or unreadable). The count is read
/// by the tracker's rule, [`deadletter::claimed_redrive_count_in_json`] (the last one).
pub(super) fn redrive_headers(headers: Option<&RawValue>) -> Option<(u32, Option<String>)> {
    let raw = headers?.get();
    // Most lines carry no such header: a substring search spares parsing their headers.
    if !raw.contains(dlq_headers::REDRIVE_COUNT) {
        return None;
    }
    let serde_json::Value::Object(map) = serde_json::from_str(raw).ok()? else { return None };
    let count = Some(deadletter::claimed_redrive_count_in_json(&map)).filter(|&count| count > 0)?;
    let from = match map.get(dlq_headers::REDRIVEN_FROM) {
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(serde_json::Value::Array(values)) => {
            values.iter().filter_map(|value| value.as_str().map(str::to_owned)).next_back()
        }
        _ => None,
    };
    Some((count, from))
}

#[derive(Deserialize)]
pub(super) struct LeanOrder<'a> {
    #[serde(default)]
    pub(super) total_cents: i64,
    #[serde(borrow, default)]
    pub(super) currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) customer: Option<LeanCustomer<'a>>,
    #[serde(borrow, default)]
    pub(super) items: Vec<LeanItem<'a>>,
    #[serde(borrow, default)]
    pub(super) payment: Option<LeanPayment<'a>>,
}

#[derive(Deserialize)]
pub(super) struct LeanCustomer<'a> {
    #[serde(borrow, default)]
    pub(super) customer_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) name: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(super) struct LeanItem<'a> {
    #[serde(borrow, default)]
    pub(super) product_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) name: Option<Text<'a>>,
    #[serde(default)]
    pub(super) quantity: u64,
}

#[derive(Deserialize)]
pub(super) struct LeanPayment<'a> {
    #[serde(borrow, default)]
    pub(super) method: Option<Text<'a>>,
}

/// The lean read side of a `.log` line.
#[derive(Deserialize)]
pub(super) struct LogLine<'a> {
    #[serde(borrow, default)]
    pub(super) timestamp: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) level: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) message: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) error: Option<Text<'a>>,
}

/// A JSON string borrowed from the line when it has no escapes, owned otherwise.
pub(super) struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// The text of a required string field.
pub(super) fn text_of<'t>(value: &'t Text<'_>) -> &'t str {
    value.0.as_ref()
}

pub(super) fn text<'t>(value: &'t Option<Text<'_>>) -> Option<&'t str> {
    value.as_ref().map(|text| text.0.as_ref())
}

/// `metadata` of a metrics entry: the typed [`models::health::Metrics`] (for its other
/// figures), the counters as written ([`Counters`]: an absent one is unknown), and which of its
/// optional figures the entry wrote.
pub(super) struct MetricsEntry {
    pub(super) metrics: models::health::Metrics,
    pub(super) counters: Counters,
    pub(super) success_rate_percent: Option<f64>,
    pub(super) messages_per_second: Option<f64>,
    pub(super) uptime_seconds: Option<f64>,
}

/// Reads a metrics entry's `metadata`: the counters it wrote are read, the ones it did not are
/// unknown (`None`), never 0 (an older tracker, the Go tracker of the seed documents). It is
/// not an entry of the contract at all, so `None` here (counted as a malformed line, changing
/// no figure), when `metadata` is not an object, when it carries none of the six counters, or
/// when a figure it carries has the wrong type.
pub(super) fn parse_metrics(metadata: &str) -> Option<MetricsEntry> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(metadata) else { return None };
    let counters = Counters {
        received: counter(&object, "messages_received")?,
        processed: counter(&object, "messages_processed")?,
        failed: counter(&object, "messages_failed")?,
        dlq_sent: counter(&object, "dlq_sent")?,
        duplicates: counter(&object, "duplicates")?,
        retries: counter(&object, "retries")?,
    };
    if counters == Counters::default() {
        return None;
    }
    let written = |key: &str| object.get(key).is_some_and(|value| !value.is_null());
    let (rate, per_second, uptime) =
        (written("success_rate_percent"), written("messages_per_second"), written("uptime_seconds"));
    let metrics: models::health::Metrics = serde_json::from_value(serde_json::Value::Object(object)).ok()?;
    Some(MetricsEntry {
        counters,
        success_rate_percent: rate.then_some(metrics.success_rate_percent),
        messages_per_second: per_second.then_some(metrics.messages_per_second),
        uptime_seconds: uptime.then_some(metrics.uptime_seconds),
        metrics,
    })
}

/// A stop entry's `metadata`: its counters as written (an absent one is unknown) and its
/// uptime. `None` when it is not an object or a figure has the wrong type.
pub(super) fn parse_stop(metadata: &str) -> Option<(Counters, Option<f64>)> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(metadata) else { return None };
    let counters = Counters {
        received: counter(&object, "total_messages_received")?,
        processed: counter(&object, "total_messages_processed")?,
        failed: counter(&object, "total_messages_failed")?,
        dlq_sent: counter(&object, "total_dlq_sent")?,
        duplicates: counter(&object, "total_duplicates")?,
        // A stop entry has no retries: the caller keeps the last metrics entry's.
        retries: None,
    };
    let uptime = match object.get("uptime_seconds") {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => Some(value.as_f64()?),
    };
    Some((counters, uptime))
}

/// `Some(None)` for an absent (or null) counter, `Some(Some(n))` for a count, `None` for a
/// value that is not a count (the entry is not of the contract).
fn counter(object: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<Option<u64>> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(value) => value.as_u64().map(Some),
    }
}

/// The kind of a `.log` entry that carries no `kind` field (the Go tracker of the seed
/// documents writes none), told by the fields its `metadata` holds: the periodic metrics
/// (`messages_received`...), the stop (`total_messages_received`, `shutdown_time`) and the
/// start (`start_time` with `log_file`). Anything else has no kind.
pub(super) fn kind_from_metadata(metadata: &str) -> Option<&'static str> {
    let Ok(object) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(metadata) else {
        return None;
    };
    let has = |key: &str| object.contains_key(key);
    if has("total_messages_received") || has("shutdown_time") {
        Some("stopped")
    } else if has("messages_received") || has("messages_processed") {
        Some("metrics")
    } else if has("start_time") && has("log_file") {
        Some("started")
    } else {
        None
    }
}
