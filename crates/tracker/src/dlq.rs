//! The dead-letter queue: a failed message goes to `dlq.topic` with its original key and
//! payload bytes unchanged, its original headers (one named `dlq.*` is kept as
//! `original.dlq.*`), and its context in `dlq.*` headers.
//! A dead letter counts as handled only once the broker acknowledged it.
//!
//! A dead letter too large to send whole is cut to fit ([`crate::cut`]); [`send`] tells a size
//! refusal apart from every other failure so that the worker can do that.

use std::time::Duration;

use chrono::Utc;
use deadletter::headers as dlq_headers;
use kafka::auth::AuthContext;
use kafka::headers::RawHeader;
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use retry::Failure;

/// Every context header starts with this.
const CONTEXT_PREFIX: &str = "dlq.";

/// Where the broker stored a dead letter.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterReceipt {
    /// Partition of the dead-letter topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
}

/// Why a dead letter was not stored: the client's error, sorted by what can be done about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Too large: refused by librdkafka before sending (the producer's `message.max.bytes`)
    /// or by the broker (the topic's `max.message.bytes`). Sending it again cannot help.
    #[error(transparent)]
    TooLarge(KafkaError),
    /// Anything else (a missing topic, a broker away, a timeout): it may pass later.
    #[error(transparent)]
    Other(KafkaError),
}

impl SendError {
    fn of(error: KafkaError) -> SendError {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::MessageBatchTooLarge) => {
                SendError::TooLarge(error)
            }
            _ => SendError::Other(error),
        }
    }
}

/// The `dlq.*` headers of a failed message, as (name, value) pairs.
pub fn context_headers(
    message: &BorrowedMessage<'_>,
    failure: &Failure,
    attempts: u32,
    instance_id: &str,
) -> Vec<(&'static str, String)> {
    let class = if failure.is_permanent() { "permanent" } else { "transient" };
    vec![
        (dlq_headers::ORIGINAL_TOPIC, message.topic().to_owned()),
        (dlq_headers::ORIGINAL_PARTITION, message.partition().to_string()),
        (dlq_headers::ORIGINAL_OFFSET, message.offset().to_string()),
        (dlq_headers::ERROR_KIND, failure.kind().to_owned()),
        (dlq_headers::ERROR_CLASS, class.to_owned()),
        (dlq_headers::ERROR_MESSAGE, failure.reason().to_owned()),
        (dlq_headers::ATTEMPTS, attempts.to_string()),
        (dlq_headers::INSTANCE_ID, instance_id.to_owned()),
        (dlq_headers::FAILED_AT, models::format_timestamp(Utc::now())),
    ]
}

/// The record's own headers as the dead letter carries them: in order, byte for byte, except
/// that one named like a context header is renamed `original.<name>`, so the dead letter's
/// context stays unambiguous (two `dlq.original.offset` would be).
pub fn original_headers(headers: &[RawHeader]) -> Vec<RawHeader> {
    headers
        .iter()
        .map(|(name, value)| {
            if name.starts_with(CONTEXT_PREFIX.as_bytes()) {
                ([dlq_headers::HISTORY_PREFIX.as_bytes(), name].concat(), value.clone())
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
}

/// What one dead letter holds.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    /// The key (the original one, or none when cut).
    pub key: Option<&'a [u8]>,
    /// The payload (the original one, or its first bytes when cut).
    pub payload: Option<&'a [u8]>,
    /// The original headers as [`original_headers`] gives them (or the first of them).
    pub headers: &'a [RawHeader],
    /// The `dlq.*` headers, after the original ones.
    pub context: &'a [(&'static str, String)],
}

/// Sends one dead letter and waits for the broker's acknowledgement (or `timeout`).
pub async fn send(
    producer: &FutureProducer<AuthContext>,
    topic: &str,
    letter: Letter<'_>,
    timeout: Duration,
) -> Result<DeadLetterReceipt, SendError> {
    // Written as raw bytes: a header name need not be UTF-8 (see `kafka::headers`).
    let headers = kafka::headers::owned(
        letter
            .headers
            .iter()
            .map(|(name, value)| (name.as_slice(), value.as_deref()))
            .chain(letter.context.iter().map(|(name, value)| (name.as_bytes(), Some(value.as_bytes())))),
    );
    let mut record = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
    if let Some(key) = letter.key {
        record = record.key(key);
    }
    if let Some(payload) = letter.payload {
        record = record.payload(payload);
    }
    match producer.send(record, timeout).await {
        Ok(delivery) => Ok(DeadLetterReceipt { partition: delivery.partition, offset: delivery.offset }),
        Err((error, _)) => Err(SendError::of(error)),
    }
}
