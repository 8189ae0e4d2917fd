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
//! is lost or changed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    match std::str::from_utf8(name) {
        Ok(text) if !text.starts_with(BASE64_NAME_PREFIX) => text.to_owned(),
        _ => format!("{BASE64_NAME_PREFIX}{}", STANDARD.encode(name)),
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
}
