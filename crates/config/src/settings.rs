//! The configuration structs: one per section of `config.yaml`, every field documented with its
//! default. These doc comments are the user documentation that `config.yaml.example` repeats.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ConfigError;
use crate::limits;
use crate::secret::Properties;
use crate::Config;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where Kafka is and how to talk to it.
    pub kafka: KafkaSettings,
    /// The event producer.
    pub producer: ProducerSettings,
    /// The consumer that audits and processes orders.
    pub tracker: TrackerSettings,
    /// Backoff for transient processing failures.
    pub retry: RetrySettings,
    /// The dead-letter topic.
    pub dlq: DlqSettings,
    /// Keys set from the environment: key → (variable, raw value), so that an out-of-range
    /// value is reported under the variable the user set.
    #[serde(skip)]
    pub(crate) from_env: BTreeMap<&'static str, (&'static str, String)>,
}

/// `kafka:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma-separated `host:port`. Default `127.0.0.1:9092`.
    pub broker: String,
    /// Topic of order events, a name Kafka accepts (as `dlq.topic`). Default `orders`.
    pub topic: String,
    /// Consumer group of the trackers. Default `order-tracker`.
    pub consumer_group: String,
    /// Consumer session timeout: how long before a dead tracker's partitions move to the
    /// others. Default 6000 (6 s), from 1000 to 300000.
    pub session_timeout_ms: u64,
    /// Where a group with no committed offset starts: `earliest` (default) or `latest`.
    pub auto_offset_reset: AutoOffsetReset,
    /// How the group shares the partitions: `classic` (default; the rebalance protocol every
    /// broker speaks, all members pause while partitions move) or `consumer` (Kafka 4's
    /// protocol, KIP-848: the broker assigns, only the partitions that move pause; Apache
    /// Kafka 4 only, and the session timeout is then the broker's
    /// `group.consumer.session.timeout.ms`, not `session_timeout_ms`).
    pub group_protocol: GroupProtocol,
    /// Extra librdkafka properties passed through unchanged (SASL, TLS, tuning), e.g.
    /// `security.protocol: SASL_SSL`. Values holding secrets are held as
    /// [`Secret`](crate::Secret)s and never printed. A property librdkafka knows under two
    /// names is kept under one (see [`crate::property_name`]).
    #[serde(deserialize_with = "scalar_map")]
    pub properties: Properties,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            broker: "127.0.0.1:9092".to_owned(),
            topic: "orders".to_owned(),
            consumer_group: "order-tracker".to_owned(),
            session_timeout_ms: 6_000,
            auto_offset_reset: AutoOffsetReset::Earliest,
            group_protocol: GroupProtocol::Classic,
            properties: Properties::default(),
        }
    }
}

/// Where a consumer group with no committed offset starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoOffsetReset {
    /// From the oldest message still in the topic.
    Earliest,
    /// From messages produced after the group joined.
    Latest,
}

impl fmt::Display for AutoOffsetReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Earliest => "earliest",
            Self::Latest => "latest",
        })
    }
}

/// The consumer group protocol (librdkafka's `group.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupProtocol {
    /// The classic protocol: the group leader assigns, every member revokes everything at
    /// each rebalance.
    Classic,
    /// KIP-848: the broker assigns, incrementally; only moving partitions are revoked.
    Consumer,
}

impl fmt::Display for GroupProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Classic => "classic",
            Self::Consumer => "consumer",
        })
    }
}

/// `producer:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSettings {
    /// Steady mode: one event every this many milliseconds. Default 2000, from 1 to 3600000.
    pub interval_ms: u64,
    /// Share of events that move an earlier order forward (paid, shipped, delivered,
    /// cancelled) instead of creating a new one. Default 0.4, from 0 to 1.
    pub lifecycle_share: f64,
    /// Share of lifecycle steps that cancel the order. Default 0.1, from 0 to 1.
    pub cancel_share: f64,
    /// Share of events replaced by a malformed record (poison pill). Default 0, from 0 to 1.
    pub poison_rate: f64,
    /// Longest wait for in-flight records at shutdown. Default 10000, from 0 to 300000.
    pub flush_timeout_ms: u64,
    /// How often `producer.log` gets a metrics line. Default 5000, from 100 to 3600000.
    pub metrics_interval_ms: u64,
    /// Folder of `producer.log`. Default `.` (the current directory).
    pub log_dir: PathBuf,
    /// Seed of the order generator, for reproducible runs. Default: none (random).
    pub seed: Option<u64>,
    /// Send the events in Kafka transactions (`transactional.id` below): a reader with
    /// `isolation.level=read_committed` sees a transaction's records only once it committed.
    /// Default false.
    pub transactional: bool,
    /// The producer's `transactional.id`, used when `transactional` is on: a second producer
    /// with the same id fences the first. Default `order-producer`.
    pub transactional_id: String,
    /// Records per transaction when `transactional` is on (the last one of a run may hold
    /// fewer; a stop commits the open one). Default 100, from 1 to 100000.
    pub transaction_records: u64,
    /// Share of transactions aborted on purpose, to show that `read_committed` readers never
    /// see their records. Default 0, from 0 to 1; above 0 only with `transactional`.
    pub abort_rate: f64,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            interval_ms: 2_000,
            lifecycle_share: 0.4,
            cancel_share: 0.1,
            poison_rate: 0.0,
            flush_timeout_ms: 10_000,
            metrics_interval_ms: 5_000,
            log_dir: PathBuf::from("."),
            seed: None,
            transactional: false,
            transactional_id: "order-producer".to_owned(),
            transaction_records: 100,
            abort_rate: 0.0,
        }
    }
}

/// `tracker:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerSettings {
    /// Instance id, also the Kafka client id. Default: `TRACKER_INSTANCE_ID`, else
    /// `instance-<pid>`.
    pub instance_id: Option<String>,
    /// Folder of `tracker-<id>.log` and `tracker-<id>.events`. Default `.`.
    pub log_dir: PathBuf,
    /// How often the `.log` gets a metrics entry. Default 30000, from 100 to 3600000.
    pub metrics_interval_ms: u64,
    /// How often stored offsets are committed. Default 1000, from 10 to 60000.
    pub commit_interval_ms: u64,
    /// Simulated work per message, to show lag and scaling. Default 0, up to 60000.
    pub processing_delay_ms: u64,
    /// Share of processing attempts that fail transiently, to show retries. Default 0, from 0
    /// to 1.
    pub failure_rate: f64,
    /// How many recent event ids are remembered to detect duplicates. Default 100000, from 0
    /// (off) to 10000000.
    pub dedup_window: usize,
    /// Longest time for a graceful stop after SIGINT/SIGTERM. Default 10000, from 1000 to
    /// 60000.
    pub shutdown_timeout_ms: u64,
    /// When the `.events` and `.log` lines are forced onto the disk: `never` (default) or
    /// `batch`. See [`Fsync`].
    pub fsync: Fsync,
    /// The delivery guarantee: `at_least_once` (default) or `exactly_once`. See
    /// [`Processing`].
    pub processing: Processing,
    /// `exactly_once` only: a transaction is committed once it holds this many records.
    /// Default 500, from 1 to 100000.
    pub transaction_records: u64,
    /// `exactly_once` only: a transaction is committed at the latest this long after its
    /// first record, however few it holds. Default 100, from 10 to 60000.
    pub transaction_max_ms: u64,
    /// The compacted topic of each order's latest status (key: order id). Default: none,
    /// which means `order-status` with `exactly_once` and no status records with
    /// `at_least_once`; a name makes both modes write there.
    pub status_topic: Option<String>,
}

/// The tracker's delivery guarantee (its variants' docs are the `--processing` values' help).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Processing {
    /// Offsets are committed after the audit line is written and the work is done: a crash
    /// delivers the unfinished records again, so their effects (dead letters, status records)
    /// can be written twice.
    #[default]
    AtLeastOnce,
    /// Reads `read_committed`; the dead letters and status records of a batch of records are
    /// committed in one Kafka transaction with the batch's consumed offsets: a crash leaves
    /// all of a batch's effects or none.
    ExactlyOnce,
}

impl Processing {
    /// The name used in the file, the environment and the flag.
    pub fn as_str(self) -> &'static str {
        match self {
            Processing::AtLeastOnce => "at_least_once",
            Processing::ExactlyOnce => "exactly_once",
        }
    }
}

impl fmt::Display for Processing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Processing {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "at_least_once" => Ok(Processing::AtLeastOnce),
            "exactly_once" => Ok(Processing::ExactlyOnce),
            _ => Err("at_least_once or exactly_once".to_owned()),
        }
    }
}

/// The status topic when `tracker.status_topic` is not set and the mode is `exactly_once`.
pub const DEFAULT_STATUS_TOPIC: &str = "order-status";

impl TrackerSettings {
    /// The topic the tracker writes status records to, if any (see
    /// [`TrackerSettings::status_topic`]).
    pub fn status_topic(&self) -> Option<&str> {
        match (&self.status_topic, self.processing) {
            (Some(topic), _) => Some(topic),
            (None, Processing::ExactlyOnce) => Some(DEFAULT_STATUS_TOPIC),
            (None, Processing::AtLeastOnce) => None,
        }
    }
}

/// When the tracker forces its lines onto the disk (`fdatasync`) before storing offsets (its
/// variants' docs are the `--fsync` values' help).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Fsync {
    /// Offsets are stored once their lines are written out of the process (into the kernel's
    /// page cache): a crash of the process loses nothing, but a crash of the host or a power
    /// cut can lose lines whose offsets were already committed.
    #[default]
    Never,
    /// Offsets are stored only once the batch holding their lines is on the disk
    /// (`fdatasync`): a host crash or a power cut loses no line whose offset was committed,
    /// at the cost of one disk flush per batch.
    Batch,
}

impl Fsync {
    /// The name used in the file, the environment and the flag.
    pub fn as_str(self) -> &'static str {
        match self {
            Fsync::Never => "never",
            Fsync::Batch => "batch",
        }
    }
}

impl fmt::Display for Fsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Fsync {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "never" => Ok(Fsync::Never),
            "batch" => Ok(Fsync::Batch),
            _ => Err("never or batch".to_owned()),
        }
    }
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self {
            instance_id: None,
            log_dir: PathBuf::from("."),
            metrics_interval_ms: 30_000,
            commit_interval_ms: 1_000,
            processing_delay_ms: 0,
            failure_rate: 0.0,
            dedup_window: 100_000,
            shutdown_timeout_ms: 10_000,
            fsync: Fsync::Never,
            processing: Processing::AtLeastOnce,
            transaction_records: 500,
            transaction_max_ms: 100,
            status_topic: None,
        }
    }
}

/// `retry:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts in all, the first included; 1 means no retry. Default 3, from 1 to 100.
    pub max_attempts: u32,
    /// Ceiling of the first backoff. Default 100, from 1 to 3600000.
    pub initial_delay_ms: u64,
    /// Growth of the ceiling per attempt. Default 2.0, from 1 to 100.
    pub multiplier: f64,
    /// Largest ceiling. Default 5000, from 1 to 3600000; not below `initial_delay_ms`. The
    /// ceilings of every retry plus `tracker.processing_delay_ms` per attempt must fit the
    /// consumer's `max.poll.interval.ms` (300000 unless set under `kafka.properties`).
    pub max_delay_ms: u64,
}

impl RetrySettings {
    /// The backoff these settings describe: the one the tracker waits by and the one the
    /// configuration checks against `max.poll.interval.ms`.
    pub fn backoff(&self) -> retry::Backoff {
        retry::Backoff {
            max_attempts: self.max_attempts,
            initial_delay: std::time::Duration::from_millis(self.initial_delay_ms),
            multiplier: self.multiplier,
            max_delay: std::time::Duration::from_millis(self.max_delay_ms),
        }
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { max_attempts: 3, initial_delay_ms: 100, multiplier: 2.0, max_delay_ms: 5_000 }
    }
}

/// `dlq:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DlqSettings {
    /// Send failed messages to the dead-letter topic. Default true.
    pub enabled: bool,
    /// Dead-letter topic: 1 to 249 letters, digits, `.`, `_` or `-`, not `.` or `..`
    /// (Kafka's rule). Default `orders-dlq`.
    pub topic: String,
    /// How many times `dlq redrive` sends the same message back before it refuses, so that a
    /// message that keeps failing cannot loop between the topics. Default 3, from 1 to 100.
    pub max_redrives: u32,
}

impl Default for DlqSettings {
    fn default() -> Self {
        Self { enabled: true, topic: "orders-dlq".to_owned(), max_redrives: 3 }
    }
}

/// Accepts any YAML scalar as a string, so `enable.ssl.certificate.verification: false` works.
/// A property given twice is an error: YAML parsers keep one of the two values silently.
fn scalar_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Properties, D::Error> {
    deserializer.deserialize_map(ScalarMap)
}

struct ScalarMap;

impl<'de> Visitor<'de> for ScalarMap {
    type Value = Properties;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a map of librdkafka property names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
        // Per property name: the spelling the file used, and the value.
        let mut properties: BTreeMap<String, (String, String)> = BTreeMap::new();
        while let Some((key, value)) = entries.next_entry::<String, serde_yaml_ng::Value>()? {
            let text = match value {
                serde_yaml_ng::Value::String(text) => text,
                serde_yaml_ng::Value::Bool(flag) => flag.to_string(),
                serde_yaml_ng::Value::Number(number) => number.to_string(),
                _ => {
                    return Err(serde::de::Error::custom(format!(
                        "{key} must be a string, number or boolean"
                    )))
                }
            };
            // One spelling per property, so no hash-map order decides between two.
            let name = crate::property_name(&key).to_owned();
            if let Some((first, _)) = properties.get(&name) {
                let message = if *first == key {
                    format!("{key} is given twice; keep one of them")
                } else {
                    format!("{first} and {key} are two names of one librdkafka property; keep one of them")
                };
                return Err(serde::de::Error::custom(message));
            }
            properties.insert(name, (key, text));
        }
        Ok(properties.into_iter().map(|(name, (_, value))| (name, value)).collect())
    }
}

impl Settings {
    /// Parses a YAML document; `source` names it in errors.
    pub fn from_yaml(text: &str, source: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|error| {
            // The parser may quote a value; a secret among them must not be shown.
            let message = crate::secret::secrets_in_yaml(text).redact(&error.to_string()).into_owned();
            ConfigError::Parse { path: source.to_owned(), message }
        })
    }

    /// Reads and parses a YAML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        if path.is_dir() {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                reason: "it is a directory, not a file".to_owned(),
            });
        }
        let bytes = std::fs::read(path)
            .map_err(|error| ConfigError::Read { path: path.to_owned(), reason: error.to_string() })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Read {
            path: path.to_owned(),
            reason: "it is not UTF-8 text (a binary file?)".to_owned(),
        })?;
        Self::from_yaml(&text, path)
    }

    /// Checks ranges ([`crate::limits`]) and cross-field rules.
    pub fn validate(self) -> Result<Config, ConfigError> {
        match self.check() {
            Ok(()) => Ok(Config::new(self)),
            Err(error) => Err(self.name_the_variable(error)),
        }
    }

    /// An out-of-range value that came from an environment variable (and that no flag
    /// replaced) is reported under the variable's name and as it was written.
    fn name_the_variable(&self, error: ConfigError) -> ConfigError {
        if let ConfigError::Invalid { key, value, expected } = &error {
            if let Some((var, raw)) = self.from_env.get(key.as_str()) {
                if raw.trim() == value {
                    let expected = format!("{expected} ({key})");
                    return ConfigError::Env { var: (*var).to_owned(), value: raw.clone(), expected };
                }
            }
        }
        error
    }

    /// Every rule, in the order the first broken one is reported: Kafka, producer, tracker,
    /// retry, then the rules across sections.
    fn check(&self) -> Result<(), ConfigError> {
        let Settings { kafka, producer, tracker, retry, dlq, from_env: _ } = self;
        self.check_kafka()?;
        check_producer(producer)?;
        check_tracker(tracker, kafka, dlq)?;
        check_retry(retry)?;
        topic_name("kafka.topic", &kafka.topic)?;
        topic_name("dlq.topic", &dlq.topic)?;
        retries_fit_the_poll_interval(kafka, tracker, retry)?;
        limits::DLQ_MAX_REDRIVES.check_whole(u64::from(dlq.max_redrives))?;
        if dlq.enabled && dlq.topic == kafka.topic {
            return Err(ConfigError::Contradiction(format!(
                "dlq.topic and kafka.topic are both {:?}; dead letters would be consumed again",
                dlq.topic
            )));
        }
        Ok(())
    }

    /// The `kafka` section's rules; a property the programs set themselves is refused.
    fn check_kafka(&self) -> Result<(), ConfigError> {
        let kafka = &self.kafka;
        non_empty("kafka.broker", &kafka.broker)?;
        non_empty("kafka.topic", &kafka.topic)?;
        non_empty("kafka.consumer_group", &kafka.consumer_group)?;
        limits::KAFKA_SESSION_TIMEOUT_MS.check_whole(kafka.session_timeout_ms)?;
        for key in kafka.properties.keys() {
            if key.trim().is_empty() || key.contains(char::is_whitespace) {
                return Err(ConfigError::invalid(
                    "kafka.properties",
                    key,
                    "librdkafka property names without spaces",
                ));
            }
            if let Some(owned) = crate::client_property::why_owned(key, self) {
                return Err(ConfigError::Property {
                    name: key.to_owned(),
                    reason: format!("the programs set it themselves: {}", owned.why),
                });
            }
        }
        Ok(())
    }
}

/// The `producer` section's rules.
fn check_producer(producer: &ProducerSettings) -> Result<(), ConfigError> {
    limits::PRODUCER_INTERVAL_MS.check_whole(producer.interval_ms)?;
    limits::PRODUCER_LIFECYCLE_SHARE.check_number(producer.lifecycle_share)?;
    limits::PRODUCER_CANCEL_SHARE.check_number(producer.cancel_share)?;
    limits::PRODUCER_POISON_RATE.check_number(producer.poison_rate)?;
    limits::PRODUCER_FLUSH_TIMEOUT_MS.check_whole(producer.flush_timeout_ms)?;
    limits::PRODUCER_METRICS_INTERVAL_MS.check_whole(producer.metrics_interval_ms)?;
    non_empty("producer.transactional_id", &producer.transactional_id)?;
    limits::PRODUCER_TRANSACTION_RECORDS.check_whole(producer.transaction_records)?;
    limits::PRODUCER_ABORT_RATE.check_number(producer.abort_rate)?;
    if producer.abort_rate > 0.0 && !producer.transactional {
        return Err(ConfigError::Contradiction(format!(
            "producer.abort_rate ({}) needs producer.transactional: true; only a transaction can be aborted",
            producer.abort_rate
        )));
    }
    Ok(())
}

/// The `tracker` section's rules; its status topic must differ from `kafka.topic` and
/// `dlq.topic`.
fn check_tracker(
    tracker: &TrackerSettings,
    kafka: &KafkaSettings,
    dlq: &DlqSettings,
) -> Result<(), ConfigError> {
    if let Some(id) = &tracker.instance_id {
        instance_id("tracker.instance_id", id)?;
    }
    limits::TRACKER_METRICS_INTERVAL_MS.check_whole(tracker.metrics_interval_ms)?;
    limits::TRACKER_COMMIT_INTERVAL_MS.check_whole(tracker.commit_interval_ms)?;
    limits::TRACKER_PROCESSING_DELAY_MS.check_whole(tracker.processing_delay_ms)?;
    limits::TRACKER_FAILURE_RATE.check_number(tracker.failure_rate)?;
    limits::TRACKER_DEDUP_WINDOW.check_whole(tracker.dedup_window as u64)?;
    limits::TRACKER_SHUTDOWN_TIMEOUT_MS.check_whole(tracker.shutdown_timeout_ms)?;
    limits::TRACKER_TRANSACTION_RECORDS.check_whole(tracker.transaction_records)?;
    limits::TRACKER_TRANSACTION_MAX_MS.check_whole(tracker.transaction_max_ms)?;
    if let Some(status_topic) = &tracker.status_topic {
        topic_name("tracker.status_topic", status_topic)?;
        if status_topic == &kafka.topic || status_topic == &dlq.topic {
            return Err(ConfigError::Contradiction(format!(
                "tracker.status_topic {status_topic:?} is also kafka.topic or dlq.topic; status records need a topic of their own"
            )));
        }
    }
    Ok(())
}

/// The `retry` section's rules.
fn check_retry(retry: &RetrySettings) -> Result<(), ConfigError> {
    limits::RETRY_MAX_ATTEMPTS.check_whole(u64::from(retry.max_attempts))?;
    limits::RETRY_INITIAL_DELAY_MS.check_whole(retry.initial_delay_ms)?;
    limits::RETRY_MAX_DELAY_MS.check_whole(retry.max_delay_ms)?;
    limits::RETRY_MULTIPLIER.check_number(retry.multiplier)?;
    if retry.initial_delay_ms > retry.max_delay_ms {
        return Err(ConfigError::Contradiction(format!(
            "retry.initial_delay_ms ({}) is above retry.max_delay_ms ({}); the first delay cannot exceed the largest",
            retry.initial_delay_ms, retry.max_delay_ms
        )));
    }
    Ok(())
}

/// Kafka's rule for topic names (`org.apache.kafka.common.internals.Topic`): 1 to 249
/// characters among letters, digits, `.`, `_` and `-`, and not `.` or `..`. A name the
/// broker refuses would make every send to it fail.
fn topic_name(key: &str, value: &str) -> Result<(), ConfigError> {
    let valid = (1..=249).contains(&value.len())
        && value != "."
        && value != ".."
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(ConfigError::invalid(
            key,
            value,
            "a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-', not \".\" or \"..\"",
        ));
    }
    Ok(())
}

/// librdkafka's default `max.poll.interval.ms`.
const DEFAULT_MAX_POLL_INTERVAL_MS: u64 = 300_000;

/// A message is retried while the consumer does not poll; if its retries can outlast
/// `max.poll.interval.ms`, librdkafka leaves the group mid-retry and the partitions move to
/// another instance. Worst case: the largest delay before every retry, plus the simulated
/// work of every attempt.
fn retries_fit_the_poll_interval(
    kafka: &KafkaSettings,
    tracker: &TrackerSettings,
    retry: &RetrySettings,
) -> Result<(), ConfigError> {
    const KEY: &str = "kafka.properties.max.poll.interval.ms";
    let poll_interval_ms = match kafka.properties.get("max.poll.interval.ms") {
        Some(value) => value
            .expose()
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::invalid(KEY, value.expose(), "a whole number of milliseconds"))?,
        None => DEFAULT_MAX_POLL_INTERVAL_MS,
    };
    let backoff_ms = u64::try_from(retry.backoff().worst_case_wait().as_millis()).unwrap_or(u64::MAX);
    let work_ms = tracker.processing_delay_ms.saturating_mul(u64::from(retry.max_attempts));
    let worst_case_ms = backoff_ms.saturating_add(work_ms);
    if worst_case_ms > poll_interval_ms {
        let poll_interval = match kafka.properties.get("max.poll.interval.ms") {
            Some(_) => format!("{KEY} ({poll_interval_ms})"),
            None => format!("{KEY} (not set: librdkafka's default, {poll_interval_ms})"),
        };
        return Err(ConfigError::Contradiction(format!(
            "retry.max_attempts ({}) with retry.initial_delay_ms ({}), retry.multiplier ({}), \
             retry.max_delay_ms ({}) and tracker.processing_delay_ms ({}) let one message take up to \
             {worst_case_ms} ms ({backoff_ms} ms of backoff, {work_ms} ms of work), above {poll_interval}: \
             the consumer would leave its group mid-retry; lower the retries or raise {KEY}",
            retry.max_attempts,
            retry.initial_delay_ms,
            retry.multiplier,
            retry.max_delay_ms,
            tracker.processing_delay_ms,
        )));
    }
    Ok(())
}

fn non_empty(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::invalid(key, value, "a non-empty string"));
    }
    Ok(())
}

/// Instance ids end up in file names and client ids: letters, digits, `-`, `_`, `.`.
pub(crate) fn instance_id(key: &str, value: &str) -> Result<(), ConfigError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && !value.starts_with('.')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(ConfigError::invalid(
            key,
            value,
            "1 to 64 letters, digits, '-', '_' or '.', not starting with '.'",
        ));
    }
    Ok(())
}
