//! Delivery accounting: the counters of sent, acknowledged and failed records, and the
//! librdkafka [`ProducerContext`] whose delivery callback feeds them.
//!
//! A record counts as acknowledged only in the delivery callback, once the broker has
//! confirmed it (`acks=all`); nothing is counted as delivered before that. Failures are counted
//! at once and also gathered in a [`FailureWindow`], so that the log gets at most one line per
//! second for them however many fail. Records the broker refused are also counted by
//! [`Refusal`], so the summary can say why they were not stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use kafka::auth::{AuthWatch, Recorded};
use models::health::producer::{KafkaError as KafkaErrorEntry, TransactionTotals};
use models::health::{ErrorThrottle, Throttled, Verdict};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;

use crate::health_log::HealthLog;

/// Counters of one run, shared by the sending loop, the delivery callback and the reporters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records handed to librdkafka (poison pills included).
    pub sent: AtomicU64,
    /// Poison pills among them.
    pub poison_sent: AtomicU64,
    /// Records the broker acknowledged.
    pub acknowledged: AtomicU64,
    /// Records that failed for good (delivery error or refused by the client).
    pub failed: AtomicU64,
    /// Failed records the broker refused as invalid ([`Refusal::InvalidRecord`]).
    refused_invalid: AtomicU64,
    /// Failed records the broker refused because it fenced this producer ([`Refusal::Fenced`]).
    refused_fenced: AtomicU64,
    /// Failures not yet reported in the log.
    failures: Mutex<FailureWindow>,
    /// What the transactions became (`producer.transactional` only).
    transactions: Mutex<TransactionTotals>,
}

/// A consistent-enough reading of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records handed to librdkafka.
    pub sent: u64,
    /// Poison pills among them.
    pub poison_sent: u64,
    /// Records the broker acknowledged.
    pub acknowledged: u64,
    /// Records that failed.
    pub failed: u64,
    /// Failed records the broker refused as invalid (INVALID_RECORD).
    pub refused_invalid: u64,
    /// Failed records the broker refused because it fenced this producer (PRODUCER_FENCED).
    pub refused_fenced: u64,
}

impl Snapshot {
    /// Records sent but neither acknowledged nor failed yet.
    pub fn in_flight(&self) -> u64 {
        self.sent.saturating_sub(self.acknowledged + self.failed)
    }

    /// Records sent and never acknowledged: failed, or still unconfirmed at the end.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.acknowledged)
    }
}

/// A delivery failure the broker decided: the record is certainly not stored, and resending
/// it would not help. Other failures (a time-out, a broker that went away) are not refusals:
/// whether the broker stored the record is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// INVALID_RECORD: the broker judged the record invalid, e.g. a broker that validates
    /// records against the topic's schema (Tansu's `--schema-registry`) and found no match.
    InvalidRecord,
    /// PRODUCER_FENCED or INVALID_PRODUCER_EPOCH: the broker takes no more records from this
    /// producer (Tansu 0.6 does so to an idempotent producer after refusing one of its records).
    Fenced,
}

impl Refusal {
    /// The refusal a delivery error stands for, if it is one.
    pub fn of(error: &KafkaError) -> Option<Refusal> {
        match error.rdkafka_error_code()? {
            RDKafkaErrorCode::InvalidRecord => Some(Refusal::InvalidRecord),
            RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch => {
                Some(Refusal::Fenced)
            }
            _ => None,
        }
    }
}

/// Failures gathered since the last report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FailureWindow {
    /// How many records failed since the last report.
    pub count: u64,
    /// The last error seen, with the record's key.
    pub last_error: Option<String>,
}

impl Counters {
    /// Reads every counter. `acknowledged` and `failed` are read first so that `in_flight`
    /// never goes negative while records are being sent.
    pub fn snapshot(&self) -> Snapshot {
        let acknowledged = self.acknowledged.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        Snapshot {
            sent: self.sent.load(Ordering::Acquire),
            poison_sent: self.poison_sent.load(Ordering::Acquire),
            acknowledged,
            failed,
            refused_invalid: self.refused_invalid.load(Ordering::Acquire),
            refused_fenced: self.refused_fenced.load(Ordering::Acquire),
        }
    }

    /// Counts a record accepted by librdkafka.
    pub fn record_sent(&self, poison: bool) {
        if poison {
            self.poison_sent.fetch_add(1, Ordering::AcqRel);
        }
        self.sent.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a record lost for good, and remembers why for the next report.
    pub fn record_failure(&self, error: String) {
        self.failed.fetch_add(1, Ordering::AcqRel);
        let mut window = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        window.count += 1;
        window.last_error = Some(error);
    }

    /// Counts a record the broker refused ([`Counters::record_failure`] counts it as failed).
    pub fn record_refusal(&self, refusal: Refusal) {
        match refusal {
            Refusal::InvalidRecord => &self.refused_invalid,
            Refusal::Fenced => &self.refused_fenced,
        }
        .fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a transaction of `records` records that was committed (or aborted).
    pub fn record_transaction(&self, records: u64, committed: bool) {
        let mut totals = self.transactions.lock().unwrap_or_else(PoisonError::into_inner);
        if committed {
            totals.committed += 1;
            totals.committed_records += records;
        } else {
            totals.aborted += 1;
            totals.aborted_records += records;
        }
    }

    /// What the transactions became so far.
    pub fn transactions(&self) -> TransactionTotals {
        *self.transactions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the failures gathered since the last call, if any.
    pub fn take_failures(&self) -> Option<FailureWindow> {
        let mut window = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        (window.count > 0).then(|| std::mem::take(&mut *window))
    }
}

/// The producer's librdkafka context: counts delivery reports, forwards client logs to
/// `tracing`, writes client errors (a broker outage...) to `producer.log`, and tells `auth`
/// when the broker refuses the SASL login.
#[derive(Debug)]
pub struct DeliveryContext {
    counters: Arc<Counters>,
    log: Arc<HealthLog>,
    auth: AuthWatch,
    /// Holds back repeats of a client error text (the tracker's throttle: each text at most
    /// once per 10 s, the next entry saying how many were held back).
    errors: Mutex<ErrorThrottle>,
    /// Drops the second delivery of each error (see [`kafka::ProducerErrors`]).
    double_deliveries: kafka::ProducerErrors,
}

impl DeliveryContext {
    /// A context feeding `counters`, writing client errors to `log` and authentication
    /// failures to `auth`.
    pub fn new(counters: Arc<Counters>, log: Arc<HealthLog>, auth: AuthWatch) -> Self {
        Self {
            counters,
            log,
            auth,
            errors: Mutex::new(ErrorThrottle::default()),
            double_deliveries: kafka::ProducerErrors::default(),
        }
    }
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        kafka::log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if !self.double_deliveries.first_time(&error, reason) {
            return;
        }
        match self.auth.record(&error, reason) {
            // Fatal: the run stops and the binary prints the message as its error line.
            Recorded::First(message) => {
                self.log.write(&KafkaErrorEntry::fatal("client"), Some(&message));
                return;
            }
            Recorded::AlreadyFailed => return,
            Recorded::Other => {}
        }
        // Client-level trouble (broker down, connection refused): librdkafka keeps retrying
        // within message.timeout.ms, so this is a warning; lost records are counted apart.
        // stderr and the .log hold back the same repeats.
        let text = format!("{error}: {reason}");
        let verdict = self.errors.lock().unwrap_or_else(PoisonError::into_inner).check(&text, Instant::now());
        if let Verdict::Log { repeats_not_logged } = verdict {
            let entry = Throttled { entry: KafkaErrorEntry::reported_by("client"), repeats_not_logged };
            self.log.write(&entry, Some(&text));
        }
        kafka::warn_client_error(&error, reason, verdict);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        match result {
            Ok(_) => {
                self.counters.acknowledged.fetch_add(1, Ordering::AcqRel);
                self.auth.logged_in();
            }
            Err((error, message)) => {
                let key = message.key().map(String::from_utf8_lossy).unwrap_or_default();
                tracing::debug!(%error, key = %key, "record not delivered");
                if let Some(refusal) = Refusal::of(error) {
                    self.counters.record_refusal(refusal);
                }
                self.counters.record_failure(format!("{error} (key {key})"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_gathered_until_taken() {
        let counters = Counters::default();
        assert_eq!(counters.take_failures(), None);
        counters.record_failure("first".into());
        counters.record_failure("second".into());
        let window = counters.take_failures().unwrap();
        assert_eq!(window.count, 2);
        assert_eq!(window.last_error.as_deref(), Some("second"));
        assert_eq!(counters.take_failures(), None, "reported once");
        assert_eq!(counters.snapshot().failed, 2, "the total stays");
    }

    /// Client errors alternating between two texts were each logged every time (only the last
    /// text was remembered); now each text has its own 10 s period, as in the tracker.
    #[test]
    fn each_client_error_text_is_logged_once_per_period() {
        use rdkafka::types::RDKafkaErrorCode;

        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(HealthLog::open(dir.path(), config::Redactor::default()).unwrap());
        let auth = AuthWatch::new(&config::KafkaSettings::default());
        let context = DeliveryContext::new(Arc::new(Counters::default()), Arc::clone(&log), auth);
        let down = KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure);
        let refused = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        for _ in 0..3 {
            context.error(down.clone(), "broker 1 down");
            context.error(refused.clone(), "all brokers down");
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let errors: Vec<&str> = text.lines().filter(|line| line.contains("\"kafka_error\"")).collect();
        assert_eq!(errors.len(), 2, "{text}");
    }

    #[test]
    fn refusals_are_the_errors_the_broker_decided() {
        use rdkafka::types::RDKafkaErrorCode as Code;
        let production = KafkaError::MessageProduction;
        assert_eq!(Refusal::of(&production(Code::InvalidRecord)), Some(Refusal::InvalidRecord));
        assert_eq!(Refusal::of(&production(Code::ProducerFenced)), Some(Refusal::Fenced));
        assert_eq!(Refusal::of(&production(Code::InvalidProducerEpoch)), Some(Refusal::Fenced));
        assert_eq!(Refusal::of(&production(Code::MessageTimedOut)), None, "a time-out leaves it unknown");
        assert_eq!(Refusal::of(&KafkaError::Global(Code::BrokerTransportFailure)), None);
    }

    #[test]
    fn snapshot_arithmetic() {
        let counters = Counters::default();
        for poison in [false, true, false, false] {
            counters.record_sent(poison);
        }
        counters.acknowledged.fetch_add(2, Ordering::AcqRel);
        counters.record_failure("x".into());
        counters.record_refusal(Refusal::InvalidRecord);
        let snapshot = counters.snapshot();
        assert_eq!(
            snapshot,
            Snapshot {
                sent: 4,
                poison_sent: 1,
                acknowledged: 2,
                failed: 1,
                refused_invalid: 1,
                refused_fenced: 0
            }
        );
        assert_eq!(snapshot.in_flight(), 1);
        assert_eq!(snapshot.lost(), 2);
    }
}
