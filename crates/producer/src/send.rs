//! Sending: the librdkafka client's settings, handing one record to it (waiting while its
//! queue is full), the broker check at the start, and the flush at the end. Delivery reports
//! come back through [`crate::delivery`].

use std::time::{Duration, Instant};

use config::Config;
use kafka::auth::AuthWatch;
use rdkafka::bindings::rd_kafka_flush;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use tokio_util::sync::CancellationToken;

use crate::delivery::{Counters, DeliveryContext};
use crate::events::OutgoingRecord;
use crate::CLIENT_ID;

/// `message.max.bytes` unless the user sets it: room for the ~900 KB oversized poison pill.
pub const MESSAGE_MAX_BYTES: &str = "1048576";
/// How long to wait for room when librdkafka's queue is full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(1);
/// The flush is done in slices this long, to notice a refused login in between.
const FLUSH_SLICE: Duration = Duration::from_millis(100);
/// Longest wait, after the flush, for the delivery callbacks of flushed records to run.
pub(crate) const SETTLE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the broker has to answer a first metadata request before the producer says it
/// does not answer.
const BROKER_ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// The librdkafka settings of the producer: the shared idempotent `acks=all` settings, and a
/// message size limit that fits the oversized poison pill unless the user chose one.
pub fn client_config(config: &Config) -> ClientConfig {
    let mut client = kafka::producer_config(&config.kafka, CLIENT_ID);
    if !config.kafka.properties.contains_key("message.max.bytes") {
        client.set("message.max.bytes", MESSAGE_MAX_BYTES);
    }
    if config.producer.transactional {
        client.set("transactional.id", &config.producer.transactional_id);
    }
    client
}

/// One record being offered to librdkafka until its queue takes it: [`Sending::send`] awaits
/// between two offers, [`Sending::send_blocking`] sleeps its thread.
pub(crate) struct Sending<'a> {
    producer: &'a ThreadedProducer<DeliveryContext>,
    record: &'a OutgoingRecord,
    counters: &'a Counters,
    /// The record as librdkafka gives it back while its queue is full; `None` once taken.
    pending: Option<BaseRecord<'a, [u8], [u8]>>,
}

impl<'a> Sending<'a> {
    /// `record` for `topic`, counted in `counters` once taken.
    pub(crate) fn new(
        producer: &'a ThreadedProducer<DeliveryContext>,
        topic: &'a str,
        record: &'a OutgoingRecord,
        counters: &'a Counters,
    ) -> Self {
        Sending { producer, record, counters, pending: Some(base_record(topic, record)) }
    }

    /// Hands the record to librdkafka, waiting while its queue is full. Returns false when
    /// `stop` was cancelled before the record could be queued (it is then not counted as sent).
    pub(crate) async fn send(mut self, stop: &CancellationToken) -> bool {
        while !self.taken() {
            // Delivery reports free room; wait for them rather than drop the record.
            tokio::select! {
                biased;
                _ = stop.cancelled() => return false,
                _ = tokio::time::sleep(QUEUE_FULL_BACKOFF) => {}
            }
        }
        true
    }

    /// [`Sending::send`] for a thread of its own (the flood): sleeps while librdkafka's queue
    /// is full.
    pub(crate) fn send_blocking(mut self, stop: &CancellationToken) -> bool {
        while !self.taken() {
            if stop.is_cancelled() {
                return false;
            }
            std::thread::sleep(QUEUE_FULL_BACKOFF);
        }
        true
    }

    /// Offers the record (unless already taken); whether librdkafka has taken it now.
    fn taken(&mut self) -> bool {
        let Some(pending) = self.pending.take() else { return true };
        match offer(self.producer, pending, self.record, self.counters) {
            Offer::Taken => true,
            Offer::QueueFull(returned) => {
                self.pending = Some(returned);
                false
            }
        }
    }
}

/// What librdkafka did with a record.
enum Offer<'a> {
    /// Queued, or refused for good (then counted as sent and failed).
    Taken,
    /// Its queue is full: the record is given back, to offer again once there is room.
    QueueFull(BaseRecord<'a, [u8], [u8]>),
}

fn base_record<'a>(topic: &'a str, record: &'a OutgoingRecord) -> BaseRecord<'a, [u8], [u8]> {
    BaseRecord::to(topic)
        .key(record.key.as_bytes())
        .payload(record.payload.as_slice())
        .headers(headers(record))
}

fn offer<'a>(
    producer: &ThreadedProducer<DeliveryContext>,
    pending: BaseRecord<'a, [u8], [u8]>,
    record: &OutgoingRecord,
    counters: &Counters,
) -> Offer<'a> {
    match producer.send(pending) {
        Ok(()) => {
            counters.record_sent(record.poison.is_some());
            Offer::Taken
        }
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
            Offer::QueueFull(returned)
        }
        Err((error, _)) => {
            counters.record_sent(record.poison.is_some());
            tracing::error!(%error, key = %record.key, sequence = record.sequence, "record refused by the client");
            counters.record_failure(format!("{error} (key {})", record.key));
            Offer::Taken
        }
    }
}

/// `event_type`, `content-type` (JSON payloads only), `trace_id`, `producer_sequence`.
fn headers(record: &OutgoingRecord) -> OwnedHeaders {
    let mut trace_buffer = uuid::Uuid::encode_buffer();
    let trace_id: &str = record.trace_id.hyphenated().encode_lower(&mut trace_buffer);
    let mut sequence_buffer = itoa::Buffer::new();
    let sequence = sequence_buffer.format(record.sequence);
    let mut headers = OwnedHeaders::new_with_capacity(5)
        .insert(Header { key: "event_type", value: Some(record.event_type.as_str()) });
    if record.is_json {
        headers = headers.insert(Header { key: "content-type", value: Some("application/json") });
    }
    headers = headers
        .insert(Header { key: "trace_id", value: Some(trace_id) })
        .insert(Header { key: "producer_sequence", value: Some(sequence) });
    if let Some(kind) = record.poison {
        headers = headers.insert(Header { key: "poison_kind", value: Some(kind.name()) });
    }
    headers
}

/// Asks the broker for metadata once, at the start: if it does not answer within
/// [`BROKER_ANSWER_TIMEOUT`], says so on stderr, naming it, instead of waiting silently until
/// `message.timeout.ms` fails every record (librdkafka's own lines only come when a connection
/// is refused, not when nothing answers).
pub(crate) fn say_if_the_broker_does_not_answer(
    producer: &ThreadedProducer<DeliveryContext>,
    broker: &str,
    message_timeout_ms: &str,
    auth: &AuthWatch,
) {
    let answer = producer.client().fetch_metadata(None, BROKER_ANSWER_TIMEOUT);
    match answer {
        // The broker answered over a connection that logged in: the credentials work.
        Ok(_) => auth.logged_in(),
        // A refused login answers, and is reported on its own.
        Err(_) if auth.failure().is_some() => {}
        Err(error) => tracing::warn!(
            broker,
            %error,
            "the broker does not answer after {} s; records wait for it up to message.timeout.ms \
             ({message_timeout_ms} ms), then count as lost",
            BROKER_ANSWER_TIMEOUT.as_secs()
        ),
    }
}

/// Flushes for at most `timeout`, in slices, giving up as soon as the broker refused the
/// login: nothing queued can be delivered then.
pub(crate) fn flush(
    producer: &ThreadedProducer<DeliveryContext>,
    timeout: Duration,
    auth: &AuthWatch,
) -> KafkaResult<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let slice_ms = i32::try_from(left.min(FLUSH_SLICE).as_millis()).unwrap_or(i32::MAX);
        // librdkafka's own flush, not rdkafka's `Producer::flush`: rdkafka 0.39 looks once and
        // then polls for whole 100 ms slices (`BaseProducer::flush`), so a run ended up to
        // 100 ms after its last acknowledgement (always 100 ms when a few records were still
        // in flight). `rd_kafka_flush` returns as soon as no message is left; the delivery
        // reports are served by the producer's polling thread, as during the run.
        // SAFETY: the pointer is the live client of `producer`, borrowed for the call.
        let code = unsafe { rd_kafka_flush(producer.client().native_ptr(), slice_ms) };
        let flushed = match code {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(()),
            error => Err(KafkaError::Flush(error.into())),
        };
        if flushed.is_ok() || left <= FLUSH_SLICE || auth.failure().is_some() {
            return flushed;
        }
    }
}

/// Waits until every record sent is acknowledged or failed, or until `deadline`.
pub(crate) async fn settle(counters: &Counters, deadline: Instant) {
    while counters.snapshot().in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Headers;

    use super::*;

    fn header_list(headers: &OwnedHeaders) -> Vec<(String, String)> {
        (0..headers.count())
            .filter_map(|index| headers.get_as::<[u8]>(index).ok())
            .map(|header| {
                let value = header.value.map(String::from_utf8_lossy).unwrap_or_default();
                (header.key.to_owned(), value.into_owned())
            })
            .collect()
    }

    #[test]
    fn headers_name_the_type_the_content_the_trace_and_the_sequence() {
        let trace_id = uuid::Uuid::parse_str("6f1c1e52-8d0e-4f43-9a55-0f5d4b8e2c11").unwrap();
        let mut record = OutgoingRecord {
            key: "key".to_owned(),
            payload: b"{}".to_vec(),
            event_type: "order.updated".to_owned(),
            is_json: true,
            sequence: 18_446_744_073_709_551_615,
            trace_id,
            poison: None,
        };
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
        };
        assert_eq!(
            header_list(&headers(&record)),
            pairs(&[
                ("event_type", "order.updated"),
                ("content-type", "application/json"),
                ("trace_id", "6f1c1e52-8d0e-4f43-9a55-0f5d4b8e2c11"),
                ("producer_sequence", "18446744073709551615"),
            ])
        );
        record.is_json = false;
        record.sequence = 0;
        record.poison = Some(models::PoisonKind::NotUtf8);
        assert_eq!(
            header_list(&headers(&record)),
            pairs(&[
                ("event_type", "order.updated"),
                ("trace_id", "6f1c1e52-8d0e-4f43-9a55-0f5d4b8e2c11"),
                ("producer_sequence", "0"),
                ("poison_kind", "not-utf8"),
            ])
        );
    }

    #[test]
    fn message_size_limit_fits_the_oversized_pill_unless_the_user_chose_one() {
        let config = config::Settings::default().validate().unwrap();
        assert_eq!(client_config(&config).get("message.max.bytes"), Some(MESSAGE_MAX_BYTES));
        assert_eq!(client_config(&config).get("enable.idempotence"), Some("true"));
        let mut settings = config::Settings::default();
        settings.kafka.properties.insert("message.max.bytes".into(), "2000000".into());
        let config = settings.validate().unwrap();
        assert_eq!(client_config(&config).get("message.max.bytes"), Some("2000000"));
    }
}
