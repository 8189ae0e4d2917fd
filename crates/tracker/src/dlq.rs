//! The dead-letter queue: a failed message goes to `dlq.topic` with its original key and
//! payload bytes unchanged, its original headers (one named `dlq.*` is kept as
//! `original.dlq.*`), and its context in `dlq.*` headers.
//! A dead letter counts as handled only once the broker acknowledged it.

use std::time::Duration;

use chrono::Utc;
use kafka::auth::AuthContext;
use kafka::headers::RawHeader;
use rdkafka::message::BorrowedMessage;
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
    // Read and written as raw bytes: a header name need not be UTF-8 (see `kafka::headers`).
    let original: Vec<RawHeader> = kafka::headers::read(message.headers())
        .into_iter()
        .map(|(name, value)| {
            // A record's own header named like a context header would make the dead letter
            // ambiguous (two `dlq.original.offset`): keep it as `original.<name>`.
            if name.starts_with(CONTEXT_PREFIX.as_bytes()) {
                ([b"original.".as_slice(), &name].concat(), value)
            } else {
                (name, value)
            }
        })
        .collect();
    let headers = kafka::headers::owned(
        original
            .iter()
            .map(|(name, value)| (name.as_slice(), value.as_deref()))
            .chain(context.iter().map(|(name, value)| (name.as_bytes(), Some(value.as_bytes())))),
    );
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
