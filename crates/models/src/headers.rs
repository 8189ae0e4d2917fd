//! Kafka record headers written as JSON, for the audit lines of the `.events` files.
//!
//! Header names and values are bytes on the wire, not necessarily UTF-8. In JSON they become
//! one object, name → value:
//!
//! - a value that is UTF-8 is a string; one that is not is `{"base64": "<standard base64>"}`;
//!   a null value is `null`;
//! - a name that is UTF-8 is the key as it is; one that is not (or that itself starts with
//!   `base64:`, so the marker is never ambiguous) is the key `base64:<standard base64>`;
//! - a name that appears more than once keeps every value, in order, in an array.
//!
//! `jq '.headers.trace_id'` therefore reads the common case directly, and nothing on the wire
//! is lost or changed. The keys come sorted (`serde_json`'s map is ordered by key), a repeated
//! name's values in the order of the record.
//!
//! A tracker writes the headers of every record it reads: [`write_json`] writes that object
//! straight from the borrowed headers, byte for byte what `serde_json` writes for the
//! [`HeaderMap`] of the same headers (a property test holds it to that), without the map's
//! dozen allocations a record.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::json;

/// Prefix of a header name that is written in base64.
pub const BASE64_NAME_PREFIX: &str = "base64:";

/// The headers of one record as a JSON object (see the module doc for the encoding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HeaderMap(pub Map<String, Value>);

impl HeaderMap {
    /// Encodes raw (name, value) pairs, in order.
    pub fn from_raw<'h>(headers: impl IntoIterator<Item = (&'h [u8], Option<&'h [u8]>)>) -> Self {
        let mut map = Map::new();
        for (name, value) in headers {
            let value = match value {
                None => Value::Null,
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => Value::String(text.to_owned()),
                    Err(_) => {
                        let mut object = Map::new();
                        object.insert("base64".to_owned(), Value::String(STANDARD.encode(bytes)));
                        Value::Object(object)
                    }
                },
            };
            let key = name_key(name);
            match map.get_mut(&key) {
                None => {
                    map.insert(key, value);
                }
                // A single value is never an array, so an array means the name repeats.
                Some(Value::Array(values)) => values.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
            }
        }
        HeaderMap(map)
    }

    /// Whether the record had no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The JSON key of a header name.
fn name_key(name: &[u8]) -> String {
    name_key_borrowed(name).into_owned()
}

/// The JSON key of a header name, borrowed when the name is its own key (the common case).
fn name_key_borrowed(name: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(name) {
        Ok(text) if !text.starts_with(BASE64_NAME_PREFIX) => Cow::Borrowed(text),
        _ => Cow::Owned(format!("{BASE64_NAME_PREFIX}{}", STANDARD.encode(name))),
    }
}

/// One header borrowed from a record: its name and its value (`None` for a null value).
pub type RawHeader<'h> = (&'h [u8], Option<&'h [u8]>);

/// How many headers [`write_json`] sorts on the stack; more take one allocation.
const HEADERS_ON_STACK: usize = 8;

/// Appends the JSON object of `headers` to `out`: the bytes `serde_json` writes for
/// `HeaderMap::from_raw(headers)`, written without building the map.
pub fn write_json(out: &mut Vec<u8>, headers: &[RawHeader<'_>]) {
    if headers.len() <= HEADERS_ON_STACK {
        let mut keys: [(Cow<'_, str>, usize); HEADERS_ON_STACK] =
            std::array::from_fn(|_| (Cow::Borrowed(""), 0));
        write_sorted(out, headers, &mut keys[..headers.len()]);
    } else {
        let mut keys = vec![(Cow::Borrowed(""), 0); headers.len()];
        write_sorted(out, headers, &mut keys);
    }
}

/// [`write_json`] with room for the keys (one slot per header).
fn write_sorted<'h>(out: &mut Vec<u8>, headers: &[RawHeader<'h>], keys: &mut [(Cow<'h, str>, usize)]) {
    for (index, (slot, (name, _))) in keys.iter_mut().zip(headers).enumerate() {
        *slot = (name_key_borrowed(name), index);
    }
    // Stable: the values of a repeated name stay in the record's order.
    keys.sort_by(|(left, _), (right, _)| left.cmp(right));
    out.push(b'{');
    let mut rest = &keys[..];
    while let Some(((key, _), _)) = rest.split_first() {
        let repeated = rest.iter().take_while(|(other, _)| other == key).count();
        let (group, tail) = rest.split_at(repeated);
        json::write_str(out, key);
        out.push(b':');
        if let [(_, index)] = group {
            write_value(out, headers[*index].1);
        } else {
            out.push(b'[');
            for (position, (_, index)) in group.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_value(out, headers[*index].1);
            }
            out.push(b']');
        }
        rest = tail;
        if !rest.is_empty() {
            out.push(b',');
        }
    }
    out.push(b'}');
}

/// One header value as [`HeaderMap::from_raw`] encodes it.
fn write_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => json::write_str(out, text),
            Err(_) => {
                out.extend_from_slice(b"{\"base64\":");
                json::write_str(out, &STANDARD.encode(bytes));
                out.push(b'}');
            }
        },
    }
}

/// The `headers` of an audit line: borrowed from the record when a tracker writes the line,
/// decoded when a reader parses one. Both serialize to the same JSON object.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditHeaders<'a> {
    /// The record's headers, in order, as the consumer lends them.
    Record(&'a [RawHeader<'a>]),
    /// Headers read back from a line.
    Decoded(HeaderMap),
}

impl Default for AuditHeaders<'_> {
    fn default() -> Self {
        AuditHeaders::Decoded(HeaderMap::default())
    }
}

impl AuditHeaders<'_> {
    /// The headers as a map (decoding borrowed ones).
    pub fn to_map(&self) -> Cow<'_, HeaderMap> {
        match self {
            AuditHeaders::Record(headers) => Cow::Owned(HeaderMap::from_raw(headers.iter().copied())),
            AuditHeaders::Decoded(map) => Cow::Borrowed(map),
        }
    }

    /// Appends the JSON object (see [`write_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            AuditHeaders::Record(headers) => {
                write_json(out, headers);
                Ok(())
            }
            AuditHeaders::Decoded(map) => serde_json::to_writer(out, map),
        }
    }
}

impl Serialize for AuditHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AuditHeaders<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        HeaderMap::deserialize(deserializer).map(AuditHeaders::Decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(headers: &[(&[u8], Option<&[u8]>)]) -> Value {
        serde_json::to_value(HeaderMap::from_raw(headers.iter().copied())).unwrap()
    }

    #[test]
    fn text_stays_text_and_other_bytes_say_base64() {
        let value = encode(&[
            (b"trace_id", Some(b"abc")),
            (b"\xff\xfe", Some(b"x")),
            (b"binary", Some(b"\xc3\x28")),
            (b"null-value", None),
            (b"base64:looks-encoded", Some(b"y")),
        ]);
        assert_eq!(
            value,
            json!({
                "trace_id": "abc",
                "base64://4=": "x",
                "binary": {"base64": "wyg="},
                "null-value": null,
                "base64:YmFzZTY0Omxvb2tzLWVuY29kZWQ=": "y",
            })
        );
    }

    #[test]
    fn a_repeated_name_keeps_every_value_in_order() {
        let value = encode(&[(b"hop", Some(b"1")), (b"hop", Some(b"2")), (b"hop", None)]);
        assert_eq!(value, json!({"hop": ["1", "2", null]}));
    }

    #[test]
    fn no_headers_is_an_empty_object() {
        assert_eq!(encode(&[]), json!({}));
    }

    fn written(headers: &[RawHeader<'_>]) -> String {
        let mut out = b"before".to_vec();
        write_json(&mut out, headers);
        String::from_utf8(out).unwrap().strip_prefix("before").unwrap().to_owned()
    }

    fn serde_written(headers: &[RawHeader<'_>]) -> String {
        serde_json::to_string(&HeaderMap::from_raw(headers.iter().copied())).unwrap()
    }

    #[test]
    fn written_directly_as_serde_json_writes_the_map() {
        let many: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            (0..12u8).map(|n| (vec![b'k', b'a' + n % 5], Some(vec![b'0' + n]))).collect();
        let many: Vec<RawHeader<'_>> =
            many.iter().map(|(name, value)| (name.as_slice(), value.as_deref())).collect();
        let cases: [&[RawHeader<'_>]; 5] = [
            &[],
            &[
                (b"trace_id", Some(b"abc")),
                (b"content-type", Some(b"application/json")),
                (b"event_type", None),
            ],
            &[(b"hop", Some(b"1")), (b"a", Some(b"x")), (b"hop", Some(b"\xff")), (b"hop", None)],
            &[(b"\xff\xfe", Some(b"x")), (b"base64:x", Some(b"y")), (b"q\"\n", Some(b"\"\\\x01"))],
            &many,
        ];
        for headers in cases {
            assert_eq!(written(headers), serde_written(headers), "{headers:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_headers_are_written_as_serde_json_writes_the_map(
            headers in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::sample::select(&b"ab\"\xff:base64"[..]), 0..4),
                    proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6)),
                ),
                0..12,
            ),
        ) {
            let headers: Vec<RawHeader<'_>> =
                headers.iter().map(|(name, value)| (name.as_slice(), value.as_deref())).collect();
            proptest::prop_assert_eq!(written(&headers), serde_written(&headers));
        }
    }
}
