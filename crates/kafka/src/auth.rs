//! Failed SASL authentication, made fatal.
//!
//! librdkafka handles a refused login like any other broker connection failure: it reports it
//! to the error callback (`Local: Authentication failure`, "SASL authentication error: ...")
//! and connects again, forever. No retry fixes a wrong password, so the producer and the
//! trackers watch for it with an [`AuthWatch`] and stop with one clear message instead of
//! waiting without end.
//!
//! Only until the first successful login, though ([`AuthWatch::logged_in`]): once the
//! credentials have worked, a refused login is a re-authentication glitch that librdkafka
//! recovers from by connecting again. Tansu 0.6.0 causes one per connection about every minute:
//! it asks clients to re-authenticate after 60 s, then refuses their handshake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use config::{KafkaSettings, Redactor};
use models::escape_controls;
use models::health::ErrorThrottle;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;

/// Whether a client-level error is a refused SASL login (or an unusable SASL mechanism), from
/// the error and librdkafka's `reason`.
///
/// librdkafka gives one code, `Local: Authentication failure`, both to a broker's refusal and
/// to a SASL handshake that never got an answer because its connection dropped ("SASL
/// SCRAM-SHA-512 mechanism handshake failed: Local: Broker transport failure: broker's
/// supported mechanisms: (n/a)", `rd_kafka_broker_handle_SaslHandshake` in librdkafka 2.12).
/// The second is a connection failure, retried like any other: only a broker's answer
/// (a `Broker: ...` error) or a failed authentication exchange refuses the login.
pub fn is_authentication_error(error: &KafkaError, reason: &str) -> bool {
    let refused = matches!(
        error,
        KafkaError::Global(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed)
    );
    refused && !is_unanswered_handshake(reason)
}

/// A SASL handshake whose request failed in the client (`Local: ...`: the connection dropped,
/// the request timed out) rather than in the broker's answer.
fn is_unanswered_handshake(reason: &str) -> bool {
    reason.split_once("mechanism handshake failed: ").is_some_and(|(_, cause)| cause.starts_with("Local: "))
}

/// What [`AuthWatch::record`] made of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Not an authentication failure, and none happened: handle it as usual.
    Other,
    /// The first authentication failure: the message to report, once.
    First(String),
    /// Any error after the first authentication failure (the same failure again, "all
    /// brokers are down"...): a consequence, already reported.
    AlreadyFailed,
}

/// Remembers the first authentication failure of one or more clients and lets the program
/// wait for it. Clones share the same state.
#[derive(Debug, Clone)]
pub struct AuthWatch {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `sasl.username`, if set.
    username: Option<String>,
    /// `sasl.mechanism` (or its alias `sasl.mechanisms`), else librdkafka's default.
    mechanism: String,
    /// Removes the configuration's secrets from librdkafka's words.
    redactor: Redactor,
    /// Set once a client logged in: later refusals are not fatal.
    logged_in: AtomicBool,
    failure: OnceLock<String>,
    failed: CancellationToken,
}

impl AuthWatch {
    /// A watch for clients configured from `kafka`.
    pub fn new(kafka: &KafkaSettings) -> Self {
        let property = |key: &str| kafka.properties.get(key).map(|value| value.expose().to_owned());
        let inner = Inner {
            username: property("sasl.username"),
            mechanism: property("sasl.mechanism")
                .or_else(|| property("sasl.mechanisms"))
                .unwrap_or_else(|| "GSSAPI".to_owned()),
            redactor: kafka.properties.redactor(),
            logged_in: AtomicBool::new(false),
            failure: OnceLock::new(),
            failed: CancellationToken::new(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Notes that a client logged in (a delivery was acknowledged, partitions were assigned,
    /// a broker connection is up): the credentials work, so a refused login from now on is
    /// handled like any other connection error.
    pub fn logged_in(&self) {
        if !self.inner.logged_in.load(Ordering::Relaxed) {
            self.inner.logged_in.store(true, Ordering::Relaxed);
        }
    }

    /// Looks at an error from a client's error callback; remembers the first authentication
    /// failure before any login succeeded and wakes up [`AuthWatch::failed`].
    pub fn record(&self, error: &KafkaError, reason: &str) -> Recorded {
        let fatal = is_authentication_error(error, reason) && !self.inner.logged_in.load(Ordering::Relaxed);
        if !fatal {
            return match self.inner.failure.get() {
                Some(_) => Recorded::AlreadyFailed,
                None => Recorded::Other,
            };
        }
        let mut first = false;
        let message = self.inner.failure.get_or_init(|| {
            first = true;
            self.message(reason)
        });
        self.inner.failed.cancel();
        if first {
            Recorded::First(message.clone())
        } else {
            Recorded::AlreadyFailed
        }
    }

    /// The message of the first authentication failure, if there was one.
    pub fn failure(&self) -> Option<String> {
        self.inner.failure.get().cloned()
    }

    /// Resolves once an authentication failure was recorded.
    pub async fn failed(&self) {
        self.inner.failed.cancelled().await;
    }

    /// One line: who could not log in with which mechanism, what to check, and librdkafka's
    /// own words (with any secret value masked, and control characters escaped).
    fn message(&self, reason: &str) -> String {
        let inner = &self.inner;
        let reason = escape_controls(&inner.redactor.redact(reason)).into_owned();
        let mechanism = escape_controls(&inner.mechanism).into_owned();
        match &inner.username {
            Some(username) => format!(
                "SASL authentication failed for user {username:?} (mechanism {mechanism}): check \
                 sasl.username and sasl.password given with -X or under kafka.properties (librdkafka: {reason})"
            ),
            None => format!(
                "SASL authentication failed (mechanism {mechanism}): check the sasl.* settings given with -X or under \
                 kafka.properties (librdkafka: {reason})"
            ),
        }
    }
}

/// The context of a client that rides along with a main one (the tracker's dead-letter
/// producer): librdkafka's logs go to `tracing` like the main client's, and a refused login is
/// recorded in the watch the two share, so the main client's owner reports it once.
#[derive(Debug, Clone)]
pub struct AuthContext {
    watch: AuthWatch,
    errors: std::sync::Arc<crate::ProducerErrors>,
    /// Holds back repeats of a warning's text on stderr (each text at most once per 10 s, as
    /// the main clients' `kafka_error` entries): with no broker reachable, librdkafka reports
    /// "brokers are down" again and again.
    warnings: std::sync::Arc<std::sync::Mutex<ErrorThrottle>>,
}

impl AuthContext {
    /// A context that records refused logins in `watch`.
    pub fn new(watch: AuthWatch) -> Self {
        let warnings = ErrorThrottle::new(ErrorThrottle::PERIOD, ErrorThrottle::CAPACITY);
        Self { watch, errors: std::sync::Arc::default(), warnings: std::sync::Arc::new(warnings.into()) }
    }
}

impl ClientContext for AuthContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        crate::log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // This context rides along with producers, whose errors rdkafka delivers twice.
        if !self.errors.first_time(&error, reason) {
            return;
        }
        if self.watch.record(&error, reason) != Recorded::Other {
            return;
        }
        let text = format!("{error}: {reason}");
        let verdict = self
            .warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check(&text, std::time::Instant::now());
        crate::warn_client_error(&error, reason, verdict);
    }
}

/// A consumer that only assigns itself partitions (no group, no commits: `dlq`'s reader)
/// needs no rebalance or commit callbacks.
impl ConsumerContext for AuthContext {}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(properties: &[(&str, &str)]) -> KafkaSettings {
        let mut kafka = KafkaSettings::default();
        for (key, value) in properties {
            kafka.properties.insert((*key).into(), (*value).into());
        }
        kafka
    }

    const REASON: &str = "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: \
                          SASL SCRAM authentication failed: broker responded with unknown-user \
                          (after 3ms in state AUTH_REQ)";

    #[test]
    fn the_first_authentication_failure_is_reported_once() {
        let watch = AuthWatch::new(&settings(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "hunter2"),
        ]));
        let transport = KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure);
        assert_eq!(watch.record(&transport, "connection refused"), Recorded::Other);
        assert_eq!(watch.failure(), None);
        let auth = KafkaError::Global(RDKafkaErrorCode::Authentication);
        let Recorded::First(message) = watch.record(&auth, REASON) else { panic!("first failure") };
        assert_eq!(
            message,
            format!(
                "SASL authentication failed for user \"alice\" (mechanism SCRAM-SHA-512): check \
                 sasl.username and sasl.password given with -X or under kafka.properties (librdkafka: {REASON})"
            )
        );
        assert_eq!(watch.record(&auth, "again"), Recorded::AlreadyFailed);
        assert_eq!(watch.record(&transport, "all brokers down"), Recorded::AlreadyFailed, "a consequence");
        assert_eq!(watch.clone().failure(), Some(message), "clones share the state");
    }

    #[test]
    fn after_a_successful_login_a_refusal_is_not_fatal() {
        let watch = AuthWatch::new(&settings(&[("sasl.username", "alice")]));
        watch.logged_in();
        let auth = KafkaError::Global(RDKafkaErrorCode::Authentication);
        assert_eq!(watch.record(&auth, "re-authentication refused"), Recorded::Other);
        assert_eq!(watch.failure(), None);
    }

    /// The reason a CI run's `dlq list` stopped on (2026-12-05): its group coordinator's
    /// connection dropped mid-handshake, after the metadata had been read with the same login.
    #[test]
    fn a_handshake_that_lost_its_connection_is_not_a_refusal() {
        let watch = AuthWatch::new(&settings(&[("sasl.username", "alice")]));
        let auth = KafkaError::Global(RDKafkaErrorCode::Authentication);
        let unanswered = "GroupCoordinator: SASL SCRAM-SHA-512 mechanism handshake failed: Local: Broker \
                          transport failure: broker's supported mechanisms: (n/a) (after 0ms in state DOWN)";
        assert_eq!(watch.record(&auth, unanswered), Recorded::Other);
        assert_eq!(watch.failure(), None);
        let unsupported = "SASL SCRAM-SHA-512 mechanism handshake failed: Broker: Unsupported SASL \
                           mechanism: broker's supported mechanisms: PLAIN";
        assert!(matches!(watch.record(&auth, unsupported), Recorded::First(_)), "a broker's answer refuses");
    }

    #[test]
    fn secrets_never_appear_and_the_message_stays_on_one_line() {
        let watch = AuthWatch::new(&settings(&[
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "bob\nsmith"),
            ("sasl.password", "hunter2"),
        ]));
        let error = KafkaError::Global(RDKafkaErrorCode::SaslAuthenticationFailed);
        let Recorded::First(message) = watch.record(&error, "bad password hunter2\nreally") else {
            panic!("first failure")
        };
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!format!("{watch:?}").contains("hunter2"), "Debug shows no secret: {watch:?}");
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("user \"bob\\nsmith\" (mechanism PLAIN)"), "{message}");
        assert!(message.contains("(librdkafka: bad password ***\\nreally)"), "{message}");
    }

    #[test]
    fn without_a_username_the_hint_is_general() {
        let watch = AuthWatch::new(&settings(&[("security.protocol", "SASL_SSL")]));
        let Recorded::First(message) =
            watch.record(&KafkaError::Global(RDKafkaErrorCode::Authentication), "x")
        else {
            panic!("first failure")
        };
        assert!(message.starts_with("SASL authentication failed (mechanism GSSAPI): check the sasl.*"));
    }

    #[tokio::test]
    async fn failed_resolves_once_recorded() {
        let watch = AuthWatch::new(&settings(&[]));
        let waiting = tokio::spawn({
            let watch = watch.clone();
            async move { watch.failed().await }
        });
        watch.record(&KafkaError::Global(RDKafkaErrorCode::Authentication), "x");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken up")
            .expect("task");
    }
}
