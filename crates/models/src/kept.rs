//! A record kept whole in a file because its dead letter had to be cut.
//!
//! A dead letter is the original record plus context headers, so a record that fits its topic
//! can make a dead letter that does not. The tracker then sends a cut dead letter (what fits,
//! with `dlq.cut.*` headers saying what was cut) and keeps the whole record in a file beside
//! its audit files, one [`KeptRecord`] as one JSON line, mode 0600.
//!
//! [`record_sha256`] names the whole record in the cut dead letter's `dlq.cut.original.sha256`
//! header, so the kept file can be matched with its dead letter and checked. What is hashed:
//! the key, the payload, the number of headers, then each header's name and value, each field
//! written as an 8-byte big-endian length followed by its bytes; an absent key, payload or
//! header value is the length `u64::MAX` (`ff ff ff ff ff ff ff ff`) with no bytes. The
//! headers are the record's own, in order, as the broker delivered them (before the tracker
//! renames a `dlq.*` one to `original.dlq.*`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One header as raw bytes: name, value (`None` for a null value).
pub type RawHeaderRef<'a> = (&'a [u8], Option<&'a [u8]>);

/// The SHA-256 of a whole record (see the module documentation for what is hashed), as
/// lowercase hex.
pub fn record_sha256<'a>(
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    headers: impl ExactSizeIterator<Item = RawHeaderRef<'a>>,
) -> String {
    fn field(hasher: &mut Sha256, bytes: Option<&[u8]>) {
        match bytes {
            Some(bytes) => {
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(bytes);
            }
            None => hasher.update(u64::MAX.to_be_bytes()),
        }
    }
    let mut hasher = Sha256::new();
    field(&mut hasher, key);
    field(&mut hasher, payload);
    hasher.update((headers.len() as u64).to_be_bytes());
    for (name, value) in headers {
        field(&mut hasher, Some(name));
        field(&mut hasher, value);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The size of a record as the `dlq.cut.*` headers count it: key, payload, and every header's
/// name and value, in bytes (Kafka's own framing not included).
pub fn record_bytes<'a>(
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    headers: impl Iterator<Item = RawHeaderRef<'a>>,
) -> u64 {
    let len = |bytes: Option<&[u8]>| bytes.map_or(0, |b| b.len() as u64);
    len(key) + len(payload) + headers.map(|(name, value)| name.len() as u64 + len(value)).sum::<u64>()
}

/// One header of a [`KeptRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptHeader {
    /// The name's bytes, standard base64.
    pub name_base64: String,
    /// The value's bytes, standard base64; `null` for a null value.
    pub value_base64: Option<String>,
}

/// The content of a kept file: the whole record, byte for byte, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptRecord {
    /// Always `order-tracking/kept-record/1`: what this file is.
    pub format: String,
    /// Where the tracker consumed it.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The cluster id of the broker it was read from, when it gave one.
    pub cluster_id: Option<String>,
    /// The key's bytes, standard base64; `null` without a key.
    pub key_base64: Option<String>,
    /// The payload's bytes, standard base64; `null` for a tombstone.
    pub payload_base64: Option<String>,
    /// Every header, in order.
    pub headers: Vec<KeptHeader>,
    /// [`record_bytes`] of the record.
    pub original_bytes: u64,
    /// [`record_sha256`] of the record.
    pub original_sha256: String,
}

/// [`KeptRecord::format`].
pub const KEPT_FORMAT: &str = "order-tracking/kept-record/1";

impl KeptRecord {
    /// The record read from `topic`/`partition`/`offset`, as its file holds it.
    pub fn new<'a>(
        topic: &str,
        partition: i32,
        offset: i64,
        cluster_id: Option<&str>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: &[RawHeaderRef<'a>],
    ) -> Self {
        KeptRecord {
            format: KEPT_FORMAT.to_owned(),
            topic: topic.to_owned(),
            partition,
            offset,
            cluster_id: cluster_id.map(str::to_owned),
            key_base64: key.map(|key| STANDARD.encode(key)),
            payload_base64: payload.map(|payload| STANDARD.encode(payload)),
            headers: headers
                .iter()
                .map(|(name, value)| KeptHeader {
                    name_base64: STANDARD.encode(name),
                    value_base64: value.map(|value| STANDARD.encode(value)),
                })
                .collect(),
            original_bytes: record_bytes(key, payload, headers.iter().copied()),
            original_sha256: record_sha256(key, payload, headers.iter().copied()),
        }
    }

    /// The file's content: one JSON line.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_frames_every_field_so_moving_bytes_between_fields_changes_it() {
        let none: [RawHeaderRef<'_>; 0] = [];
        let a = record_sha256(Some(b"ab"), Some(b"c"), none.iter().copied());
        let b = record_sha256(Some(b"a"), Some(b"bc"), none.iter().copied());
        let c = record_sha256(None, Some(b"abc"), none.iter().copied());
        let d = record_sha256(Some(b""), Some(b"abc"), none.iter().copied());
        assert_eq!(a.len(), 64);
        assert!(a != b && b != c && c != d && a != c);
        let null = [(b"h".as_slice(), None)];
        let empty = [(b"h".as_slice(), Some(b"".as_slice()))];
        assert_ne!(
            record_sha256(None, None, null.iter().copied()),
            record_sha256(None, None, empty.iter().copied())
        );
    }

    #[test]
    fn the_hash_is_sha256_of_the_documented_framing() {
        // key "k", no payload, one header ("h", "v"), framed by hand.
        let mut framed = Vec::new();
        framed.extend_from_slice(&1u64.to_be_bytes());
        framed.extend_from_slice(b"k");
        framed.extend_from_slice(&u64::MAX.to_be_bytes());
        framed.extend_from_slice(&1u64.to_be_bytes());
        framed.extend_from_slice(&1u64.to_be_bytes());
        framed.extend_from_slice(b"h");
        framed.extend_from_slice(&1u64.to_be_bytes());
        framed.extend_from_slice(b"v");
        let expected: String = Sha256::digest(&framed).iter().map(|b| format!("{b:02x}")).collect();
        let headers = [(b"h".as_slice(), Some(b"v".as_slice()))];
        assert_eq!(record_sha256(Some(b"k"), None, headers.iter().copied()), expected);
    }

    #[test]
    fn a_kept_record_round_trips_through_its_line() {
        let headers = [(b"\xff".as_slice(), None), (b"h".as_slice(), Some(b"v".as_slice()))];
        let kept = KeptRecord::new("orders", 1, 7, None, Some(b"k"), Some(b"\x00payload"), &headers);
        assert_eq!(kept.original_bytes, 1 + 8 + 1 + 2);
        let line = kept.to_line();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let back: KeptRecord = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, kept);
    }
}
