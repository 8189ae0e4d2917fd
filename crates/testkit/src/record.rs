//! [`Record`]: a record as a test produces it or reads it back.

use rdkafka::message::BorrowedMessage;
use rdkafka::Message;

/// A record as produced or read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Partition it was read from (ignored when producing).
    pub partition: i32,
    /// Offset it was read at (ignored when producing).
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Payload bytes; `None` for a tombstone.
    pub payload: Option<Vec<u8>>,
    /// Headers as text (bytes that are not UTF-8 replaced by U+FFFD when read back).
    pub headers: Vec<(String, String)>,
    /// Headers read back, byte for byte (ignored when producing).
    pub raw_headers: Vec<kafka::headers::RawHeader>,
}

impl Record {
    /// A record with a key and a payload.
    pub fn new(key: impl Into<Vec<u8>>, payload: impl Into<Vec<u8>>) -> Self {
        Record { key: Some(key.into()), payload: Some(payload.into()), ..Record::default() }
    }

    /// Copies a consumed message. Headers are read as raw bytes (rdkafka's own accessor
    /// panics on a name that is not UTF-8).
    pub fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let raw_headers = kafka::headers::read(message.headers());
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers = raw_headers
            .iter()
            .map(|(name, value)| (text(name), value.as_deref().map(text).unwrap_or_default()))
            .collect();
        Record {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            raw_headers,
        }
    }

    /// The value of a header, if present.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
