//! The project's thin layer over rdkafka: client settings built from the configuration, topic
//! creation, failed SASL logins made fatal ([`auth`]), and record headers as raw bytes
//! ([`headers`]: rdkafka's own accessors panic on a header name that is not UTF-8).
//!
//! Settings are applied in this order: our defaults, then the user's properties (`-X` and
//! `kafka.properties`: SASL, TLS, tuning), then the few settings a component's guarantees
//! depend on (for example `enable.idempotence` for the producer), which the user cannot turn off
//! by accident: the configuration refuses them ([`config::OWNED`]), and they are set last
//! anyway. [`load_config`] has librdkafka check the user's properties before anything starts.

pub mod auth;
pub mod headers;

use std::time::Duration;

use config::{GroupProtocol, KafkaSettings};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::types::RDKafkaErrorCode;
use thiserror::Error;

/// Why talking to Kafka failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KafkaError {
    /// The client could not be created (usually a bad `kafka.properties` entry).
    #[error("cannot create the Kafka {what}: {source}")]
    Client { what: &'static str, source: rdkafka::error::KafkaError },
    /// Topic creation failed.
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    /// The broker refused the SASL login (see [`auth::AuthWatch`] for the message).
    #[error("{0}")]
    Authentication(String),
}

/// A consumed record's place, key and payload, as its audit line names them.
pub fn origin<'a>(message: &'a rdkafka::message::BorrowedMessage<'_>) -> models::audit::MessageOrigin<'a> {
    use rdkafka::Message;
    models::audit::MessageOrigin {
        topic: message.topic(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key(),
        payload: message.payload(),
    }
}

/// Loads the configuration as [`config::load_with`] does, then has librdkafka check every
/// property of `-X` and `kafka.properties` ([`check_properties`]), so that an unknown name or a
/// bad value is a configuration error (exit 2) before anything is created or connected.
pub fn load_config(
    flags: &impl config::Overrides,
    env: &std::collections::HashMap<String, String>,
) -> Result<config::Config, config::ConfigError> {
    let config = config::load_with(flags, env)?;
    check_properties(&config.kafka, config.redactor())?;
    Ok(config)
}

/// Hands each user property to librdkafka alone, without creating a client: an unknown name or
/// a value librdkafka refuses comes back as [`config::ConfigError::Property`] in librdkafka's
/// words, secrets removed (librdkafka repeats the value it refuses).
pub fn check_properties(
    kafka: &KafkaSettings,
    redactor: &config::Redactor,
) -> Result<(), config::ConfigError> {
    for (name, value) in kafka.properties.iter() {
        let mut alone = ClientConfig::new();
        alone.set(name, value.expose());
        if let Err(error) = alone.create_native_config() {
            let reason = match &error {
                rdkafka::error::KafkaError::ClientConfig(_, description, _, _) => description.clone(),
                other => other.to_string(),
            };
            return Err(config::ConfigError::Property {
                name: models::escape_controls(name).into_owned(),
                reason: models::escape_controls(&redactor.redact(&reason)).into_owned(),
            });
        }
    }
    Ok(())
}

/// Settings every client shares: brokers, client id, then the user's properties.
pub fn client_config(kafka: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    set_shared(&mut config, kafka, client_id);
    config
}

/// Sets what [`client_config`] sets, over `config`'s defaults. (Not by copying
/// `client_config(...).config_map()`: rdkafka masks secrets in that map, so `sasl.password`
/// would become `[sanitized for safety]`.)
fn set_shared(config: &mut ClientConfig, kafka: &KafkaSettings, client_id: &str) {
    config.set("bootstrap.servers", &kafka.broker).set("client.id", client_id);
    // One spelling per property (the configuration already reads them so): librdkafka applies
    // a client's settings in hash-map order, so two names of one property would race.
    for (key, value) in kafka.properties.iter() {
        config.set(config::property_name(key), value.expose());
    }
}

/// A producer that never duplicates or reorders on retry and waits for all in-sync replicas.
pub fn producer_config(kafka: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    // Defaults the user may tune through kafka.properties.
    config.set("linger.ms", "5").set("compression.type", "lz4").set("message.timeout.ms", "30000");
    set_shared(&mut config, kafka, client_id);
    config.set("enable.idempotence", "true").set("acks", "all");
    config
}

/// A group consumer that stores offsets only when told to (at-least-once), and commits the
/// stored offsets every `commit_interval`.
pub fn consumer_config(kafka: &KafkaSettings, client_id: &str, commit_interval: Duration) -> ClientConfig {
    let mut config = ClientConfig::new();
    match kafka.group_protocol {
        // The member's own timeouts; under KIP-848 the broker sets them for the group.
        GroupProtocol::Classic => config
            .set("session.timeout.ms", kafka.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (kafka.session_timeout_ms / 3).max(100).to_string()),
        GroupProtocol::Consumer => config.set("group.protocol", "consumer"),
    };
    config
        .set("auto.offset.reset", kafka.auto_offset_reset.to_string())
        .set("auto.commit.interval.ms", commit_interval.as_millis().to_string())
        // A tracker started before its topic exists notices the topic within 10 s.
        .set("topic.metadata.refresh.interval.ms", "10000")
        // How long the broker may hold a fetch while a partition has nothing new. Apache Kafka
        // answers as soon as a record arrives, so this only sets how often idle consumers ask;
        // the local Tansu broker answered late with librdkafka's 500 ms (steady-state p50
        // 127 ms at 1,000 events/s, against 33 ms at 100 ms). 10 idle fetches a second is cheap.
        .set("fetch.wait.max.ms", "100");
    set_shared(&mut config, kafka, client_id);
    config
        .set("group.id", &kafka.consumer_group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false");
    config
}

/// The replication factor asked for new topics: -1, the cluster's own `default.replication.factor`
/// (KIP-464; Apache Kafka 2.4+ and Tansu accept it). `scripts/kafka.sh` sets it to 3, with
/// `min.insync.replicas=2`, on a cluster of three nodes and to 1 on a single node, so a topic is
/// as replicated as the cluster it lives on, and a one-node cluster can still take `acks=all`.
pub const CLUSTER_DEFAULT_REPLICATION: i32 = -1;

/// Creates the topics that do not exist yet, with the cluster's default replication factor and
/// `min.insync.replicas` ([`CLUSTER_DEFAULT_REPLICATION`]); existing ones are left as they are.
///
/// `auth` is the watch of a client that is being polled (the admin client alone never runs
/// its error callback): a refused SASL login ends the wait at once with
/// [`KafkaError::Authentication`] instead of a time-out.
pub async fn ensure_topics(
    kafka: &KafkaSettings,
    topics: &[(&str, i32)],
    timeout: Duration,
    auth: &auth::AuthWatch,
) -> Result<(), KafkaError> {
    let topics: Vec<TopicSpec<'_>> =
        topics.iter().map(|&(name, partitions)| (name, partitions, &[][..])).collect();
    ensure_topics_with(kafka, &topics, timeout, auth).await
}

/// A topic to create: name, partitions, and topic settings (`cleanup.policy` ...).
pub type TopicSpec<'a> = (&'a str, i32, &'a [(&'a str, &'a str)]);

/// The topic settings of a compacted topic (the broker keeps the last record of each key).
pub const COMPACTED: &[(&str, &str)] = &[("cleanup.policy", "compact")];

/// [`ensure_topics`] with topic settings for the topics it creates (e.g. [`COMPACTED`]); an
/// existing topic keeps its own.
pub async fn ensure_topics_with(
    kafka: &KafkaSettings,
    topics: &[TopicSpec<'_>],
    timeout: Duration,
    auth: &auth::AuthWatch,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(kafka, "order-tracking-admin")
        .create()
        .map_err(|source| KafkaError::Client { what: "admin client", source })?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions, settings)| {
            settings.iter().fold(
                NewTopic::new(name, *partitions, TopicReplication::Fixed(CLUSTER_DEFAULT_REPLICATION)),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = tokio::select! {
        results = admin.create_topics(&new_topics, &options) => results,
        () = auth.failed() => {
            return Err(KafkaError::Authentication(auth.failure().unwrap_or_default()));
        }
    }
    .map_err(|error| KafkaError::CreateTopic { topic: topics_list(topics), reason: error.to_string() })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(KafkaError::CreateTopic { topic, reason: code.to_string() }),
        }
    }
    Ok(())
}

/// Forwards a librdkafka log line to `tracing` (target `librdkafka`) at its level.
///
/// A broker connection failure at error level (facility `FAIL`: refused, reset, timed out)
/// reaches the client's error callback too, with the same text, and every context reports
/// that one (a refused SASL login as the program's own error line, see [`auth`]): the log
/// line is demoted to debug so each failure is printed once.
pub fn log_to_tracing(level: RDKafkaLogLevel, facility: &str, message: &str) {
    let level = if reaches_the_error_callback(level, facility) { RDKafkaLogLevel::Debug } else { level };
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// Prints a client error that librdkafka handed to a context's error callback as a warning on
/// stderr, unless `verdict` (the client's [`ErrorThrottle`](models::health::ErrorThrottle),
/// each text at most once per 10 s) holds it back; a text seen again says how many repeats were
/// held back since (`repeats_not_logged`).
pub fn warn_client_error(error: &rdkafka::error::KafkaError, reason: &str, verdict: models::health::Verdict) {
    use models::health::Verdict;
    match verdict {
        Verdict::Hold => {}
        Verdict::Log { repeats_not_logged: None } => tracing::warn!(target: "librdkafka", %error, "{reason}"),
        Verdict::Log { repeats_not_logged: Some(held_back) } => {
            tracing::warn!(target: "librdkafka", %error, repeats_not_logged = held_back, "{reason}");
        }
    }
}

/// How long a second, identical error counts as the same one delivered twice.
const SAME_ERROR_WINDOW: Duration = Duration::from_secs(1);

/// Lets each error of a producer through once.
///
/// rdkafka 0.39 hands every error event of a producer to `ClientContext::error` twice: once in
/// `Client::poll_event`, and again in `BaseProducer::poll`, which gets the same event back
/// (with two threads polling, the two calls of different events can interleave). A producer's
/// context asks [`ProducerErrors::first_time`] before reporting. librdkafka itself holds back
/// identical broker errors for 30 s, so the same text within a second is the duplicate, or a
/// repeat not worth a line.
#[derive(Debug, Default)]
pub struct ProducerErrors {
    recent: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl ProducerErrors {
    /// Whether this error text was not seen in the last second.
    pub fn first_time(&self, error: &rdkafka::error::KafkaError, reason: &str) -> bool {
        let now = std::time::Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.retain(|_, seen| now.duration_since(*seen) < SAME_ERROR_WINDOW);
        recent.insert(format!("{error}: {reason}"), now).is_none()
    }
}

/// Whether librdkafka also hands this log line to the error callback: it does so for `FAIL`
/// lines at error level or worse (`rd_kafka_broker_set_error` in librdkafka 2.x).
fn reaches_the_error_callback(level: RDKafkaLogLevel, facility: &str) -> bool {
    facility == "FAIL"
        && matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
        )
}

fn topics_list(topics: &[TopicSpec<'_>]) -> String {
    topics.iter().map(|(name, _, _)| *name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> KafkaSettings {
        let mut kafka = KafkaSettings::default();
        kafka.properties.insert("acks".into(), "0".into());
        kafka.properties.insert("linger.ms".into(), "50".into());
        kafka.properties.insert("enable.auto.offset.store".into(), "true".into());
        kafka
    }

    #[test]
    fn an_error_delivered_twice_in_a_row_is_reported_once() {
        let errors = ProducerErrors::default();
        let refused = rdkafka::error::KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure);
        let down = rdkafka::error::KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        assert!(errors.first_time(&refused, "Connection refused"));
        assert!(errors.first_time(&down, "1/1 brokers are down"), "another error is new");
        assert!(!errors.first_time(&refused, "Connection refused"), "the duplicate, interleaved");
        assert!(!errors.first_time(&down, "1/1 brokers are down"), "the other duplicate");
        assert!(errors.first_time(&refused, "Connection reset"), "another text is new");
    }

    #[test]
    fn user_properties_tune_but_cannot_weaken_the_producer() {
        let config = producer_config(&settings(), "p");
        assert_eq!(config.get("linger.ms"), Some("50"), "tuning passes through");
        assert_eq!(config.get("acks"), Some("all"), "durability is not negotiable");
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        assert_eq!(config.get("client.id"), Some("p"));
    }

    /// `request.required.acks` is librdkafka's other name of `acks`: given beside the forced
    /// `acks=all`, which one won depended on the order of a fresh hash map (the client was
    /// refused, "acks must be all with idempotence", in some runs and not in others).
    #[test]
    fn the_other_name_of_a_forced_property_cannot_weaken_it_in_any_run() {
        let mut kafka = KafkaSettings::default();
        kafka.properties.insert("request.required.acks".into(), "0".into());
        kafka.properties.insert("queue.buffering.max.ms".into(), "50".into());
        let mut refused = 0;
        for _ in 0..32 {
            let config = producer_config(&kafka, "p");
            if config.create::<rdkafka::producer::BaseProducer>().is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 0, "refused in {refused} of 32 runs");
        let config = producer_config(&kafka, "p");
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(config.get("request.required.acks"), None);
        assert_eq!(config.get("linger.ms"), Some("50"), "the user's tuning wins over the default");
    }

    #[test]
    fn secrets_reach_every_client_unmasked() {
        // rdkafka masks secrets in ClientConfig::config_map(); the real value must still be set.
        let mut kafka = settings();
        kafka.properties.insert("sasl.password".into(), "hunter2".into());
        kafka.properties.insert("ssl.key.password".into(), "swordfish".into());
        let configs = [
            client_config(&kafka, "a"),
            producer_config(&kafka, "p"),
            consumer_config(&kafka, "c", Duration::from_secs(1)),
        ];
        for config in configs {
            assert_eq!(config.get("sasl.password"), Some("hunter2"));
            assert_eq!(config.get("ssl.key.password"), Some("swordfish"));
        }
    }

    #[test]
    fn consumer_stores_offsets_only_when_told() {
        let config = consumer_config(&settings(), "instance-1", Duration::from_millis(250));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(config.get("group.id"), Some("order-tracker"));
        assert_eq!(config.get("session.timeout.ms"), Some("6000"));
        assert_eq!(config.get("heartbeat.interval.ms"), Some("2000"));
        assert_eq!(config.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(config.get("auto.commit.interval.ms"), Some("250"));
        assert_eq!(config.get("fetch.wait.max.ms"), Some("100"));
    }

    /// A property a client sets over the user's would be overridden without a word: the
    /// configuration must refuse it instead ([`config::OWNED`]), with the reason.
    #[test]
    fn every_property_forced_over_the_users_is_refused_by_the_configuration() {
        let defaults = KafkaSettings::default();
        let built =
            [producer_config(&defaults, "p"), consumer_config(&defaults, "c", Duration::from_secs(1))];
        let mut names = std::collections::BTreeSet::new();
        for config in &built {
            names.extend(config.config_map().keys().map(|name| name.to_string()));
        }
        let settings = config::Settings::default();
        let mut forced = Vec::new();
        for name in names {
            let mut kafka = KafkaSettings::default();
            kafka.properties.insert(name.clone(), "chosen-by-the-user".into());
            let configs =
                [producer_config(&kafka, "p"), consumer_config(&kafka, "c", Duration::from_secs(1))];
            if configs
                .iter()
                .any(|config| config.get(&name).is_some_and(|value| value != "chosen-by-the-user"))
            {
                assert!(config::why_owned(&name, &settings).is_some(), "{name} is forced but not refused");
                forced.push(name);
            }
        }
        assert!(forced.len() >= 5, "the forced ones were found: {forced:?}");
    }

    #[test]
    fn librdkafka_judges_each_property_before_anything_starts() {
        let mut kafka = KafkaSettings::default();
        kafka.properties.insert("client.id".into(), "me".into());
        assert!(check_properties(&kafka, &config::Redactor::default()).is_ok());
        kafka.properties.insert("no.such.property".into(), "1".into());
        let error = check_properties(&kafka, &config::Redactor::default()).unwrap_err().to_string();
        assert!(
            error.contains("no.such.property") && error.contains("No such configuration property"),
            "{error}"
        );
        let mut kafka = KafkaSettings::default();
        kafka.properties.insert("linger.ms".into(), "soon".into());
        let error = check_properties(&kafka, &config::Redactor::default()).unwrap_err().to_string();
        assert!(error.contains("linger.ms") && error.contains("Invalid value"), "{error}");
    }

    #[test]
    fn consumer_defaults_yield_to_user_properties() {
        let mut kafka = settings();
        kafka.properties.insert("fetch.wait.max.ms".into(), "500".into());
        let config = consumer_config(&kafka, "instance-1", Duration::from_millis(250));
        assert_eq!(config.get("fetch.wait.max.ms"), Some("500"));
    }
}
