//! The lean read side of the tracker's lines: only the fields the counting rules need,
//! borrowed from the line where possible, and the cut that skips the raw payload copy.

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

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

/// The lean read side of an `.events` line: only the fields the monitor needs.
#[derive(Deserialize)]
pub(super) struct EventsLine<'a> {
    #[serde(borrow, default)]
    pub(super) timestamp: Option<Text<'a>>,
    #[serde(default)]
    pub(super) kafka_partition: Option<i64>,
    #[serde(default)]
    pub(super) kafka_offset: Option<i64>,
    #[serde(default)]
    pub(super) deserialized: bool,
    #[serde(borrow, default)]
    pub(super) order_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) status: Option<Text<'a>>,
    #[serde(default)]
    pub(super) validation_error: Option<IgnoredAny>,
    #[serde(borrow, default)]
    pub(super) order_full: Option<LeanOrder<'a>>,
}

#[derive(Deserialize)]
pub(super) struct LeanOrder<'a> {
    #[serde(default)]
    pub(super) total_cents: i64,
    #[serde(borrow, default)]
    pub(super) currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) customer: Option<LeanCustomer<'a>>,
}

#[derive(Deserialize)]
pub(super) struct LeanCustomer<'a> {
    #[serde(borrow, default)]
    pub(super) customer_id: Option<Text<'a>>,
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

pub(super) fn text<'t>(value: &'t Option<Text<'_>>) -> Option<&'t str> {
    value.as_ref().map(|text| text.0.as_ref())
}
