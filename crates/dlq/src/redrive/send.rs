//! The send step of `dlq redrive`: the planned records handed to librdkafka, their
//! acknowledgements awaited, and each acknowledged resend recorded in the redrive log
//! ([`Delivery`]).

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use config::Config;
use deadletter::headers as dlq_headers;
use kafka::auth::{AuthContext, AuthWatch};
use kafka::headers::RawHeader;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use super::plan::{Candidate, Plan, Refusal, Verdict};
use super::{log_key, log_topic, RedriveRecord, Resolution};
use crate::export::Location;
use crate::{BrokerError, DlqError};

/// Longest wait for the redrive log topic to be created.
const TOPIC_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a record handed to the producer, or its redrive log entry, was not stored.
#[derive(Debug)]
pub(super) enum DeliveryError {
    /// librdkafka or the broker said no.
    Kafka(KafkaError),
    /// The producer stopped before it said anything.
    ProducerStopped,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Kafka(error) => error.fmt(f),
            DeliveryError::ProducerStopped => f.write_str("the producer stopped"),
        }
    }
}

/// What became of one candidate the plan said to send.
#[derive(Debug)]
pub(super) enum Delivery {
    /// librdkafka refused to queue it: nothing left the process.
    NotSent(KafkaError),
    /// Queued, but not acknowledged by the broker.
    NotAcknowledged(DeliveryError),
    /// Stored by the broker.
    Acknowledged {
        /// Where.
        to: Location,
        /// Why the redrive log has no entry for it, when it has none.
        unrecorded: Option<DeliveryError>,
    },
}

/// The producer of one redrive and the log topic it records resends in; opened (the log topic
/// created if needed) only when there is something to send.
struct Sender {
    /// Sends the records and the log entries.
    producer: FutureProducer<AuthContext>,
    /// The dead-letter topic the candidates come from.
    dlq_topic: String,
    /// [`log_topic`] of it.
    log_topic: String,
}

impl Sender {
    /// A producer for `dlq redrive`, with the redrive log topic created.
    async fn open(config: &Config, auth: &AuthWatch) -> Result<Sender, DlqError> {
        let producer = kafka::producer_config(&config.kafka, "dlq-redrive")
            .create_with_context(AuthContext::new(auth.clone()))
            .map_err(|source| DlqError::Kafka(kafka::KafkaError::Client { what: "producer", source }))?;
        let dlq_topic = config.dlq.topic.clone();
        let log_topic = log_topic(&dlq_topic);
        kafka::ensure_topics(&config.kafka, &[(log_topic.as_str(), 1)], TOPIC_TIMEOUT, auth).await?;
        Ok(Sender { producer, dlq_topic, log_topic })
    }

    /// Hands `candidate` to librdkafka, for `topic`, with the redrive headers added.
    fn queue(&self, candidate: &Candidate, topic: &str) -> Result<DeliveryFuture, KafkaError> {
        let headers = outgoing_headers(candidate, &self.dlq_topic);
        let mut record = FutureRecord::<[u8], [u8]>::to(topic)
            .headers(kafka::headers::owned(headers.iter().map(|(n, v)| (n.as_slice(), v.as_deref()))));
        if let Some(key) = &candidate.key {
            record = record.key(key);
        }
        if let Some(payload) = &candidate.payload {
            record = record.payload(payload);
        }
        self.producer.send_result(record).map_err(|(error, _)| error)
    }

    /// Hands the redrive log entry of `candidate`, resent to `sent_to`, to librdkafka.
    fn queue_log_entry(
        &self,
        candidate: &Candidate,
        sent_to: &Location,
    ) -> Result<DeliveryFuture, KafkaError> {
        let entry = RedriveRecord {
            dead_letter: Location {
                topic: self.dlq_topic.clone(),
                partition: candidate.source.partition,
                offset: candidate.source.offset,
            },
            sent_to: sent_to.clone(),
            redriven_at: models::format_timestamp(Utc::now()),
            redrive_count: candidate.redrives + 1,
        };
        let key = log_key(&self.dlq_topic, candidate.source);
        let payload = serde_json::to_vec(&entry).unwrap_or_default();
        let write = FutureRecord::<[u8], [u8]>::to(&self.log_topic).key(key.as_bytes()).payload(&payload);
        self.producer.send_result(write).map_err(|(error, _)| error)
    }
}

/// A planned candidate after it was handed to librdkafka.
enum Queued<'a> {
    /// The plan refused it.
    Refused(Refusal),
    /// librdkafka refused to queue it.
    NotSent(KafkaError),
    /// Queued for `topic`; the acknowledgement is awaited next.
    InFlight {
        /// What sent it (and records it in the log once acknowledged).
        sender: &'a Sender,
        /// Where it was sent.
        topic: String,
        /// The broker's answer.
        delivery: DeliveryFuture,
    },
}

/// The send step: hands every planned record to librdkafka first, then awaits each
/// acknowledgement and records each acknowledged resend in the redrive log. Refused
/// candidates pass through; nothing is opened when nothing is to be sent.
pub(super) async fn send(
    config: &Config,
    auth: &AuthWatch,
    plans: Vec<Plan>,
) -> Result<Vec<(Candidate, Resolution)>, DlqError> {
    let sender = tokio::sync::OnceCell::new();
    let mut queued = Vec::with_capacity(plans.len());
    for Plan { candidate, verdict } in plans {
        let state = match verdict {
            Verdict::Refused(refusal) => Queued::Refused(refusal),
            Verdict::Send { topic } => {
                let sender = sender.get_or_try_init(|| Sender::open(config, auth)).await?;
                match sender.queue(&candidate, &topic) {
                    Ok(delivery) => Queued::InFlight { sender, topic, delivery },
                    Err(error) => Queued::NotSent(error),
                }
            }
        };
        queued.push((candidate, state));
    }
    let mut resolutions = Vec::with_capacity(queued.len());
    let mut log_writes = Vec::new();
    for (candidate, state) in queued {
        let delivery = match state {
            Queued::Refused(refusal) => {
                resolutions.push((candidate, Resolution::Refused(refusal)));
                continue;
            }
            Queued::NotSent(error) => Delivery::NotSent(error),
            Queued::InFlight { sender, topic, delivery } => {
                let outcome = tokio::select! {
                    outcome = delivery => outcome,
                    () = auth.failed() => {
                        return Err(BrokerError::Authentication(auth.failure().unwrap_or_default()).into())
                    }
                };
                match outcome {
                    Ok(Ok(delivery)) => {
                        auth.logged_in();
                        let to = Location { topic, partition: delivery.partition, offset: delivery.offset };
                        let unrecorded = match sender.queue_log_entry(&candidate, &to) {
                            Ok(write) => {
                                log_writes.push((resolutions.len(), write));
                                None
                            }
                            Err(error) => Some(DeliveryError::Kafka(error)),
                        };
                        Delivery::Acknowledged { to, unrecorded }
                    }
                    Ok(Err((error, _))) => Delivery::NotAcknowledged(DeliveryError::Kafka(error)),
                    Err(_) => Delivery::NotAcknowledged(DeliveryError::ProducerStopped),
                }
            }
        };
        resolutions.push((candidate, Resolution::Delivered(delivery)));
    }
    for (index, write) in log_writes {
        let failed = match write.await {
            Ok(Ok(_)) => continue,
            Ok(Err((error, _))) => DeliveryError::Kafka(error),
            Err(_) => DeliveryError::ProducerStopped,
        };
        if let Some((_, Resolution::Delivered(Delivery::Acknowledged { unrecorded, .. }))) =
            resolutions.get_mut(index)
        {
            *unrecorded = Some(failed);
        }
    }
    Ok(resolutions)
}

/// The headers of the resent record: the dead letter's own (its `dlq.*` context kept as
/// history), then a fresh redrive count, source and time.
pub(super) fn outgoing_headers(candidate: &Candidate, dlq_topic: &str) -> Vec<RawHeader> {
    let replaced = [dlq_headers::REDRIVE_COUNT, dlq_headers::REDRIVEN_FROM, dlq_headers::REDRIVEN_AT];
    let mut headers: Vec<RawHeader> = candidate
        .headers
        .iter()
        .filter(|(name, _)| !replaced.iter().any(|r| name == r.as_bytes()))
        .cloned()
        .collect();
    let mut add =
        |name: &str, value: String| headers.push((name.as_bytes().to_vec(), Some(value.into_bytes())));
    add(dlq_headers::REDRIVE_COUNT, (candidate.redrives + 1).to_string());
    add(dlq_headers::REDRIVEN_FROM, log_key(dlq_topic, candidate.source));
    add(dlq_headers::REDRIVEN_AT, models::format_timestamp(Utc::now()));
    headers
}
