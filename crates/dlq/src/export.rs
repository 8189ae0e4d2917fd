//! The export format: one JSON object per line, one line per dead letter, meant to be edited
//! by a person (or by `jq`) and given back to `dlq redrive --from-file`.
//!
//! ```json
//! {"dead_letter":{"topic":"orders-dlq","partition":0,"offset":3},
//!  "origin":{"topic":"orders","partition":1,"offset":17},
//!  "key":"5d0c…","key_encoding":"text",
//!  "payload":{"event_id":"…","order":{…}},"payload_encoding":"json",
//!  "headers":[{"name":"dlq.error.kind","value":"validation"},{"name":"bin","value":"/w==","value_encoding":"base64"}]}
//! ```
//!
//! Bytes are written as they are whenever that is possible and said otherwise by an
//! `*_encoding` field:
//! - the payload is `json` (the payload itself, embedded byte for byte, when it is JSON on one
//!   line: edit it as JSON), else `text` (a JSON string, when it is UTF-8), else `base64`;
//! - the key is `text` or `base64`; a header's name and value are text unless their
//!   `name_encoding` / `value_encoding` says `base64`;
//! - a missing key, a tombstone's payload and a null header value are `null`.
//!
//! `dead_letter` says which dead letter a line came from: redrive uses it to send each dead
//! letter at most once and to count its redrives.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kafka::headers::RawHeader;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::letter::DeadLetter;
use crate::position::Position;

/// A topic, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// How bytes are written in a line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// A JSON string holding the bytes as UTF-8 text.
    #[default]
    Text,
    /// A JSON string holding the bytes in standard base64.
    Base64,
    /// The payload is JSON and embedded as it is (payload only).
    Json,
}

impl Encoding {
    fn is_text(&self) -> bool {
        *self == Encoding::Text
    }
}

/// One header of a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedHeader {
    /// The name, as text or base64.
    pub name: String,
    /// How `name` is written; text when absent.
    #[serde(default, skip_serializing_if = "Encoding::is_text")]
    pub name_encoding: Encoding,
    /// The value, as text or base64; `null` for a null value.
    pub value: Option<String>,
    /// How `value` is written; text when absent.
    #[serde(default, skip_serializing_if = "Encoding::is_text")]
    pub value_encoding: Encoding,
}

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedLetter {
    /// The dead letter this line came from.
    pub dead_letter: Location,
    /// Where the tracker consumed it (its `dlq.original.*` headers), `null` if unknown.
    pub origin: Option<Location>,
    /// The key; `null` without a key.
    pub key: Option<String>,
    /// How `key` is written.
    #[serde(default)]
    pub key_encoding: Encoding,
    /// The payload; `null` for a tombstone.
    pub payload: Option<Box<RawValue>>,
    /// How `payload` is written.
    #[serde(default)]
    pub payload_encoding: Encoding,
    /// Every header, in order.
    pub headers: Vec<ExportedHeader>,
}

/// A line decoded back into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedLetter {
    /// Where it came from in the dead-letter topic.
    pub dead_letter: Location,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Payload bytes.
    pub payload: Option<Vec<u8>>,
    /// Headers as raw bytes.
    pub headers: Vec<RawHeader>,
}

impl ExportedLetter {
    /// The line of `letter`, read from `dlq_topic`.
    pub fn of(letter: &DeadLetter, dlq_topic: &str) -> Self {
        let Position { partition, offset } = letter.position;
        let origin = match (letter.original_topic(), letter.original_partition(), letter.original_offset()) {
            (Some(topic), Some(partition), Some(offset)) => {
                Some(Location { topic: topic.to_owned(), partition, offset })
            }
            _ => None,
        };
        let (key, key_encoding) = match &letter.key {
            Some(key) => {
                let (text, encoding) = text_or_base64(key);
                (Some(text), encoding)
            }
            None => (None, Encoding::Text),
        };
        let (payload, payload_encoding) = match &letter.payload {
            Some(payload) => {
                let (raw, encoding) = payload_value(payload);
                (Some(raw), encoding)
            }
            None => (None, Encoding::Text),
        };
        let headers = letter
            .headers
            .iter()
            .map(|(name, value)| {
                let (name, name_encoding) = text_or_base64(name);
                let (value, value_encoding) = match value {
                    Some(value) => {
                        let (text, encoding) = text_or_base64(value);
                        (Some(text), encoding)
                    }
                    None => (None, Encoding::Text),
                };
                ExportedHeader { name, name_encoding, value, value_encoding }
            })
            .collect();
        ExportedLetter {
            dead_letter: Location { topic: dlq_topic.to_owned(), partition, offset },
            origin,
            key,
            key_encoding,
            payload,
            payload_encoding,
            headers,
        }
    }

    /// The line as JSON, without its newline.
    pub fn to_line(&self) -> String {
        // Serializing cannot fail: every key is a string and every RawValue is valid JSON.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one line and decodes its bytes; the error says which field is wrong.
    pub fn decode_line(line: &str) -> Result<DecodedLetter, String> {
        let exported: ExportedLetter = serde_json::from_str(line).map_err(|error| error.to_string())?;
        let key = exported.key.as_deref().map(|key| decode(key, exported.key_encoding, "key")).transpose()?;
        let payload = match &exported.payload {
            None => None,
            Some(raw) => Some(match exported.payload_encoding {
                Encoding::Json => raw.get().as_bytes().to_vec(),
                encoding => {
                    let text: String = serde_json::from_str(raw.get())
                        .map_err(|_| "payload must be a string unless payload_encoding is json".to_owned())?;
                    decode(&text, encoding, "payload")?
                }
            }),
        };
        let headers = exported
            .headers
            .iter()
            .enumerate()
            .map(|(index, header)| {
                let name = decode(&header.name, header.name_encoding, &format!("headers[{index}].name"))?;
                let value = header
                    .value
                    .as_deref()
                    .map(|value| decode(value, header.value_encoding, &format!("headers[{index}].value")))
                    .transpose()?;
                Ok((name, value))
            })
            .collect::<Result<Vec<RawHeader>, String>>()?;
        Ok(DecodedLetter { dead_letter: exported.dead_letter, key, payload, headers })
    }
}

fn text_or_base64(bytes: &[u8]) -> (String, Encoding) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), Encoding::Text),
        Err(_) => (STANDARD.encode(bytes), Encoding::Base64),
    }
}

/// The payload embedded as JSON when it is JSON on one line (so it stays one line), else as
/// a text or base64 string.
fn payload_value(payload: &[u8]) -> (Box<RawValue>, Encoding) {
    if let Ok(text) = std::str::from_utf8(payload) {
        // `null` would read back as a tombstone.
        let one_line = !text.contains(['\n', '\r']) && text.trim() != "null";
        if one_line && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            if let Ok(raw) = RawValue::from_string(text.to_owned()) {
                return (raw, Encoding::Json);
            }
        }
    }
    let (text, encoding) = text_or_base64(payload);
    // A JSON string of any text is valid JSON.
    let raw = serde_json::value::to_raw_value(&text).unwrap_or_else(|_| RawValue::NULL.to_owned());
    (raw, encoding)
}

fn decode(text: &str, encoding: Encoding, field: &str) -> Result<Vec<u8>, String> {
    match encoding {
        Encoding::Text => Ok(text.as_bytes().to_vec()),
        Encoding::Base64 => {
            STANDARD.decode(text).map_err(|error| format!("{field} is not valid base64: {error}"))
        }
        Encoding::Json => Err(format!("{field} cannot be json-encoded (allowed: text, base64)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(payload: Option<&[u8]>) -> DeadLetter {
        DeadLetter {
            position: Position { partition: 0, offset: 7 },
            timestamp: None,
            key: Some(b"\xffkey".to_vec()),
            payload: payload.map(<[u8]>::to_vec),
            headers: vec![
                (b"dlq.original.topic".to_vec(), Some(b"orders".to_vec())),
                (b"dlq.original.partition".to_vec(), Some(b"2".to_vec())),
                (b"dlq.original.offset".to_vec(), Some(b"41".to_vec())),
                (b"\xfe".to_vec(), Some(b"\x00\xff".to_vec())),
                (b"null".to_vec(), None),
            ],
        }
    }

    fn round_trip(letter: &DeadLetter) -> (serde_json::Value, DecodedLetter) {
        let line = ExportedLetter::of(letter, "orders-dlq").to_line();
        assert!(!line.contains('\n'));
        (serde_json::from_str(&line).unwrap(), ExportedLetter::decode_line(&line).unwrap())
    }

    #[test]
    fn every_kind_of_payload_comes_back_byte_for_byte() {
        let payloads: [Option<&[u8]>; 7] = [
            Some(br#"{"b": 1,  "a":[2]}"#),
            Some(b"{\n}"),
            Some(b"null"),
            Some(b"{not json"),
            Some(b"\xc3\x28"),
            Some(b""),
            None,
        ];
        for payload in payloads {
            let letter = letter(payload);
            let (_, decoded) = round_trip(&letter);
            assert_eq!(decoded.payload, letter.payload, "{payload:?}");
            assert_eq!(decoded.key, letter.key);
            assert_eq!(decoded.headers, letter.headers);
        }
    }

    #[test]
    fn the_line_says_how_each_field_is_written() {
        let (value, decoded) = round_trip(&letter(Some(br#"{"total_cents":5}"#)));
        assert_eq!(value["payload"]["total_cents"], 5, "JSON payloads are editable as JSON");
        assert_eq!(value["payload_encoding"], "json");
        assert_eq!(value["key_encoding"], "base64");
        assert_eq!(value["origin"], serde_json::json!({"topic": "orders", "partition": 2, "offset": 41}));
        assert_eq!(
            value["dead_letter"],
            serde_json::json!({"topic": "orders-dlq", "partition": 0, "offset": 7})
        );
        assert_eq!(value["headers"][0], serde_json::json!({"name": "dlq.original.topic", "value": "orders"}));
        assert_eq!(value["headers"][3]["name_encoding"], "base64");
        assert_eq!(decoded.dead_letter.offset, 7);
        let (text, _) = round_trip(&letter(Some(b"{not json")));
        assert_eq!(
            (text["payload"].as_str(), text["payload_encoding"].as_str()),
            (Some("{not json"), Some("text"))
        );
    }

    #[test]
    fn a_broken_line_says_what_is_wrong() {
        assert!(ExportedLetter::decode_line("{").unwrap_err().contains("EOF"));
        let line = ExportedLetter::of(&letter(Some(b"x")), "orders-dlq").to_line();
        let bad = line.replace(r#""key":"/2tleQ==""#, r#""key":"!!""#);
        assert!(ExportedLetter::decode_line(&bad).unwrap_err().contains("key is not valid base64"));
        let unknown = line.replacen('{', r#"{"surprise":1,"#, 1);
        assert!(ExportedLetter::decode_line(&unknown).unwrap_err().contains("unknown field `surprise`"));
    }
}
