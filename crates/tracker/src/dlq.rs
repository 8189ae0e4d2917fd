//! The dead-letter queue: a failed message goes to `dlq.topic` with its original key and
//! payload bytes unchanged, its original headers (one named `dlq.*` is kept as
//! `original.dlq.*`), and its context in `dlq.*` headers.
//! A dead letter counts as handled only once the broker acknowledged it.

use std::time::Duration;

use chrono::Utc;
use kafka::auth::AuthContext;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use retry::{dlq_headers, Failure};

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

/// Sends one dead letter and waits for the broker's acknowledgement (or `timeout`).
pub async fn send(
    producer: &FutureProducer<AuthContext>,
    topic: &str,
    message: &BorrowedMessage<'_>,
    context: &[(&'static str, String)],
    timeout: Duration,
) -> Result<DeadLetterReceipt, String> {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for header in original.iter() {
            // A record's own header named like a context header would make the dead letter
            // ambiguous (two `dlq.original.offset`): keep it as `original.<name>`.
            let key = if header.key.starts_with(CONTEXT_PREFIX) {
                std::borrow::Cow::Owned(format!("original.{}", header.key))
            } else {
                std::borrow::Cow::Borrowed(header.key)
            };
            headers = headers.insert(Header { key: &key, value: header.value });
        }
    }
    for (key, value) in context {
        headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
    }
    let mut record = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    match producer.send(record, timeout).await {
        Ok(delivery) => Ok(DeadLetterReceipt { partition: delivery.partition, offset: delivery.offset }),
        Err((error, _)) => Err(error.to_string()),
    }
}
