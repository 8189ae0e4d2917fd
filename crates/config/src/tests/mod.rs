use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn yaml(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_yaml(text, Path::new("config.yaml"))
}

fn error_text(result: Result<impl std::fmt::Debug, ConfigError>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn defaults_need_no_file_and_are_valid() {
    let config = Settings::default().validate().unwrap();
    assert_eq!(config.kafka.broker, "127.0.0.1:9092");
    assert_eq!(config.kafka.topic, "orders");
    assert_eq!(config.kafka.consumer_group, "order-tracker");
    assert_eq!(config.producer.interval_ms, 2000);
    assert_eq!(config.retry.max_attempts, 3);
    assert!(config.dlq.enabled);
    assert_eq!(config.dlq.topic, "orders-dlq");
    assert_eq!(config.tracker.metrics_interval_ms, 30_000);
}

#[test]
fn file_then_env_then_flags() {
    let mut settings =
        yaml("kafka:\n  broker: file:9092\n  topic: from-file\nretry:\n  max_attempts: 5\n").unwrap();
    assert_eq!(settings.kafka.broker, "file:9092");
    settings.apply_env(&env(&[("KAFKA_BROKER", "env:9092"), ("RETRY_MAX_ATTEMPTS", "7")])).unwrap();
    assert_eq!(settings.kafka.broker, "env:9092", "environment beats the file");
    assert_eq!(settings.kafka.topic, "from-file", "the file beats defaults");
    assert_eq!(settings.retry.max_attempts, 7);
    settings.kafka.broker = "flag:9092".into(); // what a binary does with --broker
    let config = settings.validate().unwrap();
    assert_eq!(config.kafka.broker, "flag:9092");
}

#[test]
fn every_documented_variable_is_applied() {
    let values = [
        ("KAFKA_BROKER", "b:1"),
        ("KAFKA_TOPIC", "t"),
        ("KAFKA_CONSUMER_GROUP", "g"),
        ("KAFKA_SESSION_TIMEOUT_MS", "7000"),
        ("KAFKA_AUTO_OFFSET_RESET", "latest"),
        ("KAFKA_GROUP_PROTOCOL", "consumer"),
        ("PRODUCER_INTERVAL_MS", "10"),
        ("PRODUCER_POISON_RATE", "0.5"),
        ("PRODUCER_LOG_DIR", "/tmp/p"),
        ("PRODUCER_TRANSACTIONAL", "true"),
        ("PRODUCER_TRANSACTIONAL_ID", "tx-1"),
        ("PRODUCER_TRANSACTION_RECORDS", "50"),
        ("PRODUCER_ABORT_RATE", "0.2"),
        ("TRACKER_INSTANCE_ID", "instance-9"),
        ("TRACKER_LOG_DIR", "/tmp/t"),
        ("TRACKER_METRICS_INTERVAL_MS", "1000"),
        ("TRACKER_PROCESSING_DELAY_MS", "5"),
        ("TRACKER_FAILURE_RATE", "0.25"),
        ("TRACKER_FSYNC", "batch"),
        ("TRACKER_PROCESSING", "exactly_once"),
        ("TRACKER_TRANSACTION_RECORDS", "20"),
        ("TRACKER_TRANSACTION_MAX_MS", "250"),
        ("TRACKER_STATUS_TOPIC", "status"),
        ("RETRY_MAX_ATTEMPTS", "4"),
        ("RETRY_INITIAL_DELAY_MS", "20"),
        ("RETRY_MULTIPLIER", "3"),
        ("RETRY_MAX_DELAY_MS", "40"),
        ("DLQ_ENABLED", "false"),
        ("DLQ_TOPIC", "dead"),
        ("DLQ_MAX_REDRIVES", "5"),
    ];
    assert_eq!(values.len(), ENV_VARS.len(), "the test covers every variable");
    let mut settings = Settings::default();
    settings.apply_env(&env(&values)).unwrap();
    let c = settings.validate().unwrap();
    assert_eq!(
        (c.kafka.broker.as_str(), c.kafka.topic.as_str(), c.kafka.consumer_group.as_str()),
        ("b:1", "t", "g")
    );
    assert_eq!(c.kafka.session_timeout_ms, 7000);
    assert_eq!(c.kafka.auto_offset_reset, AutoOffsetReset::Latest);
    assert_eq!(c.kafka.group_protocol, crate::GroupProtocol::Consumer);
    assert_eq!((c.producer.interval_ms, c.producer.poison_rate), (10, 0.5));
    assert_eq!(c.producer.log_dir, Path::new("/tmp/p"));
    assert_eq!(c.tracker.instance_id.as_deref(), Some("instance-9"));
    assert_eq!(c.tracker.log_dir, Path::new("/tmp/t"));
    assert_eq!((c.tracker.metrics_interval_ms, c.tracker.processing_delay_ms), (1000, 5));
    assert_eq!(c.tracker.failure_rate, 0.25);
    assert_eq!(c.tracker.fsync, crate::Fsync::Batch);
    assert!(c.producer.transactional);
    assert_eq!(c.producer.transactional_id, "tx-1");
    assert_eq!((c.producer.transaction_records, c.producer.abort_rate), (50, 0.2));
    assert_eq!(c.tracker.processing, crate::Processing::ExactlyOnce);
    assert_eq!((c.tracker.transaction_records, c.tracker.transaction_max_ms), (20, 250));
    assert_eq!(c.tracker.status_topic(), Some("status"));
    assert_eq!((c.retry.max_attempts, c.retry.initial_delay_ms, c.retry.max_delay_ms), (4, 20, 40));
    assert_eq!(c.retry.multiplier, 3.0);
    assert!(!c.dlq.enabled);
    assert_eq!(c.dlq.topic, "dead");
    assert_eq!(c.dlq.max_redrives, 5);
}

#[test]
fn unknown_key_names_the_key_and_the_allowed_ones() {
    let text = error_text(yaml("retry:\n  max_attempt: 3\n"));
    assert!(text.contains("config.yaml"), "{text}");
    assert!(text.contains("retry"), "{text}");
    assert!(text.contains("max_attempt"), "{text}");
    assert!(text.contains("max_attempts"), "lists the allowed keys: {text}");
}

#[test]
fn unknown_section() {
    let text = error_text(yaml("kafak:\n  broker: x\n"));
    assert!(text.contains("kafak") && text.contains("kafka"), "{text}");
}

#[test]
fn fsync_is_read_from_the_file_and_checked() {
    assert_eq!(yaml("tracker:\n  fsync: batch\n").unwrap().tracker.fsync, Fsync::Batch);
    let text = error_text(yaml("tracker:\n  fsync: always\n"));
    assert!(text.contains("fsync") && text.contains("always"), "{text}");
    assert!(text.contains("never") && text.contains("batch"), "{text}");
}

#[test]
fn wrong_type_names_the_key() {
    let text = error_text(yaml("retry:\n  max_attempts: many\n"));
    assert!(text.contains("retry.max_attempts"), "{text}");
    assert!(text.contains("many"), "{text}");
}

#[test]
fn malformed_yaml() {
    let text = error_text(yaml("kafka: [broker\n"));
    assert!(text.starts_with("invalid configuration file config.yaml"), "{text}");
}

#[test]
fn empty_file_means_defaults() {
    assert_eq!(yaml("  \n").unwrap(), Settings::default());
}

#[test]
fn out_of_range_values() {
    let cases: &[(&str, &str)] = &[
        (
            "retry:\n  max_attempts: 0\n",
            "retry.max_attempts = 0 is invalid: expected a whole number from 1 to 100",
        ),
        ("retry:\n  multiplier: 0.5\n", "retry.multiplier = 0.5 is invalid: expected a number from 1 to 100"),
        ("producer:\n  interval_ms: 0\n", "producer.interval_ms = 0 is invalid"),
        (
            "producer:\n  poison_rate: 1.5\n",
            "producer.poison_rate = 1.5 is invalid: expected a number from 0 to 1",
        ),
        ("tracker:\n  failure_rate: -0.1\n", "tracker.failure_rate = -0.1 is invalid"),
        ("kafka:\n  session_timeout_ms: 10\n", "kafka.session_timeout_ms = 10 is invalid"),
        ("kafka:\n  topic: ''\n", "kafka.topic =  is invalid: expected a non-empty string"),
        ("tracker:\n  instance_id: 'a/b'\n", "tracker.instance_id = a/b is invalid"),
        ("kafka:\n  properties:\n    'bad key': x\n", "kafka.properties = bad key is invalid"),
    ];
    for (text, expected) in cases {
        let message = error_text(yaml(text).and_then(Settings::validate));
        assert!(message.starts_with(expected), "{text:?} gave {message:?}");
    }
}

#[test]
fn negative_number_for_unsigned_key() {
    let text = error_text(yaml("retry:\n  max_delay_ms: -5\n"));
    assert!(text.contains("retry.max_delay_ms") && text.contains("-5"), "{text}");
}

#[test]
fn contradictions_name_both_keys() {
    let text = error_text(
        yaml("retry:\n  initial_delay_ms: 500\n  max_delay_ms: 100\n").and_then(Settings::validate),
    );
    assert!(
        text.contains("retry.initial_delay_ms (500)") && text.contains("retry.max_delay_ms (100)"),
        "{text}"
    );
    let text = error_text(yaml("kafka:\n  topic: same\ndlq:\n  topic: same\n").and_then(Settings::validate));
    assert!(text.contains("dlq.topic") && text.contains("kafka.topic"), "{text}");
}

#[test]
fn topic_names_follow_kafkas_rule() {
    let topic = |name: &str| {
        let mut settings = Settings::default();
        settings.dlq.topic = name.to_owned();
        settings.validate().map(|_| ()).map_err(|error| error.to_string())
    };
    for valid in ["orders-dlq", "a", "A.b_c-9", "...", &"x".repeat(249)] {
        assert_eq!(topic(valid), Ok(()), "{valid}");
    }
    for invalid in ["bad topic/..", ".", "..", "tab\there", "ünïcode", &"x".repeat(250)] {
        let message = topic(invalid).expect_err(invalid);
        assert!(message.starts_with("dlq.topic = "), "{message}");
        assert!(message.ends_with("letters, digits, '.', '_' or '-', not \".\" or \"..\""), "{message}");
    }
    let mut settings = Settings::default();
    settings.kafka.topic = "orders/eu".to_owned();
    assert!(error_text(settings.validate()).starts_with("kafka.topic = orders/eu is invalid"));
    let mut settings = Settings::default();
    settings.apply_env(&env(&[("DLQ_TOPIC", "bad topic/..")])).unwrap();
    let message = error_text(settings.validate());
    assert!(message.starts_with("environment variable DLQ_TOPIC=\"bad topic/..\" is invalid"), "{message}");
}

#[test]
fn retries_must_fit_the_poll_interval() {
    let retries = |yaml_text: &str| yaml(yaml_text).and_then(Settings::validate).map(|_| ());
    // 99 retries of at most 1 h each, against librdkafka's default of 5 minutes.
    let message = error_text(retries(
        "retry:\n  max_attempts: 100\n  initial_delay_ms: 3600000\n  max_delay_ms: 3600000\n",
    ));
    assert!(message.contains("retry.max_attempts (100)"), "{message}");
    assert!(message.contains("up to 356400000 ms"), "{message}");
    assert!(
        message.contains("kafka.properties.max.poll.interval.ms (not set: librdkafka's default, 300000)"),
        "{message}"
    );
    // Backoff 100 + 200 + 400 + 800 ms, and 5 × 2 s of work: 11.5 s, above a given 10 s.
    let slow = "tracker:\n  processing_delay_ms: 2000\nretry:\n  max_attempts: 5\n";
    let message =
        error_text(retries(&format!("{slow}kafka:\n  properties:\n    max.poll.interval.ms: 10000\n")));
    assert!(message.contains("up to 11500 ms (1500 ms of backoff, 10000 ms of work)"), "{message}");
    assert!(message.contains("kafka.properties.max.poll.interval.ms (10000)"), "{message}");
    assert_eq!(retries(&format!("{slow}kafka:\n  properties:\n    max.poll.interval.ms: 11500\n")), Ok(()));
    assert_eq!(retries(slow), Ok(()), "the default of 300000 fits");
    let message = error_text(retries("kafka:\n  properties:\n    max.poll.interval.ms: soon\n"));
    assert!(message.starts_with("kafka.properties.max.poll.interval.ms = soon is invalid"), "{message}");
}

#[test]
fn secrets_never_show_in_debug_or_json_and_the_redactor_knows_them() {
    let settings = yaml(concat!(
        "kafka:\n  properties:\n",
        "    SASL.PASSWORD: upper-pw\n",
        "    sasl.pasword: typo-pw\n",
        "    sasl.username: alice\n",
        "    sasl.jaas.config: 'PlainLoginModule required username=\"alice\" password=\"jaas-pw\";'\n",
    ))
    .unwrap();
    let config = settings.validate().unwrap();
    let shown = format!("{config:?} {config:#?} {}", config.redacted_json());
    for secret in ["upper-pw", "typo-pw", "jaas-pw"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
        assert_eq!(config.redactor().redact(&format!("echo {secret}!")), "echo ***!");
    }
    assert!(shown.contains("alice"), "{shown}");
}

#[test]
fn a_parse_error_never_shows_a_secret() {
    // The parser quotes the wrong value, which is also the value of a secret-looking key.
    let message =
        error_text(yaml("retry:\n  max_attempts: hunter2\nkafka:\n  properties:\n    token: hunter2\n"));
    assert!(message.contains("retry.max_attempts") && !message.contains("hunter2"), "{message}");
}

#[test]
fn bad_environment_values_name_the_variable() {
    let cases = [
        (
            "RETRY_MAX_ATTEMPTS",
            "three",
            "environment variable RETRY_MAX_ATTEMPTS=\"three\" is invalid: expected a whole number",
        ),
        (
            "DLQ_ENABLED",
            "maybe",
            "environment variable DLQ_ENABLED=\"maybe\" is invalid: expected true or false",
        ),
        ("PRODUCER_INTERVAL_MS", "-1", "environment variable PRODUCER_INTERVAL_MS=\"-1\" is invalid"),
        (
            "KAFKA_BROKER",
            "  ",
            "environment variable KAFKA_BROKER=\"  \" is invalid: expected a non-empty value",
        ),
        ("KAFKA_AUTO_OFFSET_RESET", "oldest", "expected earliest or latest"),
        (
            "TRACKER_FSYNC",
            "always",
            "environment variable TRACKER_FSYNC=\"always\" is invalid: expected never or batch",
        ),
        ("TRACKER_INSTANCE_ID", "../x", "environment variable TRACKER_INSTANCE_ID=\"../x\" is invalid"),
    ];
    for (var, value, expected) in cases {
        let message = error_text(Settings::default().apply_env(&env(&[(var, value)])));
        assert!(message.contains(expected), "{var}={value} gave {message:?}");
    }
}

#[test]
fn environment_value_out_of_range_is_caught_by_validation_and_named_by_its_variable() {
    let mut settings = Settings::default();
    settings.apply_env(&env(&[("RETRY_MAX_ATTEMPTS", "0")])).unwrap();
    assert_eq!(
        error_text(settings.validate()),
        "environment variable RETRY_MAX_ATTEMPTS=\"0\" is invalid: expected a whole number from 1 to 100 \
         (retry.max_attempts)"
    );
}

#[test]
fn a_value_that_replaced_the_environment_is_named_by_its_key() {
    let mut settings = Settings::default();
    settings.apply_env(&env(&[("RETRY_MAX_ATTEMPTS", "0")])).unwrap();
    // As a flag does: the bad value is no longer the variable's.
    settings.retry.max_attempts = 200;
    assert!(error_text(settings.validate()).starts_with("retry.max_attempts = 200 is invalid"));
}

#[test]
fn unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let text = error_text(Settings::from_file(&missing));
    assert!(text.starts_with("cannot read configuration file") && text.contains("missing.yaml"), "{text}");

    let text = error_text(Settings::from_file(dir.path()));
    assert!(text.contains("it is a directory"), "{text}");

    let binary = dir.path().join("binary.yaml");
    std::fs::File::create(&binary).unwrap().write_all(&[0xff, 0xfe, 0x00, 0x01]).unwrap();
    let text = error_text(Settings::from_file(&binary));
    assert!(text.contains("not UTF-8"), "{text}");
}

#[test]
fn explicit_file_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custom.yaml");
    std::fs::write(&path, "dlq:\n  enabled: false\n").unwrap();
    let settings = load(Some(&path), &env(&[("DLQ_TOPIC", "dead")])).unwrap();
    assert!(!settings.dlq.enabled);
    assert_eq!(settings.dlq.topic, "dead");
}

#[test]
fn properties_pass_through_and_secrets_are_redacted() {
    let settings = yaml(
        "kafka:\n  properties:\n    security.protocol: SASL_PLAINTEXT\n    sasl.mechanism: SCRAM-SHA-512\n    sasl.username: alice\n    sasl.password: hunter2\n    enable.ssl.certificate.verification: false\n    linger.ms: 5\n",
    )
    .unwrap();
    let config = settings.validate().unwrap();
    let property = |name: &str| config.kafka.properties.get(name).map(PropertyValue::expose);
    assert_eq!(property("sasl.password"), Some("hunter2"));
    assert_eq!(property("enable.ssl.certificate.verification"), Some("false"));
    assert_eq!(property("linger.ms"), Some("5"));
    assert!(!format!("{config:?}").contains("hunter2"), "Debug shows no secret");
    let shown = config.redacted_json().to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains(REDACTED) && shown.contains("alice"));
}

#[test]
fn secret_property_names() {
    for key in [
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config",
    ] {
        assert!(is_secret_name(key), "{key}");
    }
    for key in ["sasl.username", "security.protocol", "linger.ms"] {
        assert!(!is_secret_name(key), "{key}");
    }
}

#[test]
fn example_file_matches_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.yaml.example");
    let settings = Settings::from_file(&path).unwrap();
    assert_eq!(settings, Settings::default(), "config.yaml.example documents every default");
}

#[test]
fn a_property_with_two_names_is_kept_under_one() {
    let settings =
        yaml("kafka:\n  properties:\n    request.required.acks: \"0\"\n    sasl.mechanisms: PLAIN\n")
            .unwrap();
    let properties: Vec<_> = settings.kafka.properties.iter().map(|(k, v)| (k, v.expose())).collect();
    assert_eq!(properties, [("acks", "0"), ("sasl.mechanism", "PLAIN")]);
}

#[test]
fn both_names_of_one_property_are_refused() {
    let error =
        yaml("kafka:\n  properties:\n    sasl.mechanism: PLAIN\n    sasl.mechanisms: SCRAM-SHA-256\n")
            .unwrap_err()
            .to_string();
    assert!(
        error.contains("sasl.mechanism and sasl.mechanisms are two names of one librdkafka property"),
        "{error}"
    );
}

/// Flags as a binary's `Cli` holds them: only what was given is `Some`.
struct Flags {
    file: Option<std::path::PathBuf>,
    topic: Option<String>,
    interval_ms: Option<u64>,
}

impl Overrides for Flags {
    fn config_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn apply_to(&self, settings: &mut Settings) {
        override_with(&mut settings.kafka.topic, self.topic.clone());
        override_with(&mut settings.producer.interval_ms, self.interval_ms);
    }
}

#[test]
fn flags_given_win_over_the_environment_and_the_file_and_the_others_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, "kafka:\n  topic: from-file\nproducer:\n  interval_ms: 100\n").unwrap();
    let environment = env(&[("PRODUCER_INTERVAL_MS", "200")]);
    let flags = Flags { file: Some(file.clone()), topic: None, interval_ms: None };
    let config = load_with(&flags, &environment).unwrap();
    assert_eq!((config.kafka.topic.as_str(), config.producer.interval_ms), ("from-file", 200));
    let flags = Flags { file: Some(file), topic: Some("from-flag".into()), interval_ms: Some(300) };
    let config = load_with(&flags, &environment).unwrap();
    assert_eq!((config.kafka.topic.as_str(), config.producer.interval_ms), ("from-flag", 300));
    let flags = Flags { file: None, topic: None, interval_ms: Some(0) };
    let error = error_text(load_with(&flags, &env(&[])));
    assert!(error.contains("producer.interval_ms"), "a bad flag value names its key: {error}");
}

#[test]
fn an_abort_rate_needs_transactions_and_exactly_once_writes_order_status() {
    let text = error_text(yaml("producer:\n  abort_rate: 0.1\n").and_then(Settings::validate));
    assert!(text.contains("producer.abort_rate") && text.contains("producer.transactional"), "{text}");
    assert!(yaml("producer:\n  abort_rate: 0.1\n  transactional: true\n").unwrap().validate().is_ok());
    let text = error_text(yaml("tracker:\n  processing: twice\n"));
    assert!(text.contains("twice"), "{text}");
    let at_least_once = Settings::default().validate().unwrap();
    assert_eq!(at_least_once.tracker.status_topic(), None, "the default writes no status records");
    let exactly_once = yaml("tracker:\n  processing: exactly_once\n").unwrap().validate().unwrap();
    assert_eq!(exactly_once.tracker.status_topic(), Some("order-status"));
    let text = error_text(yaml("tracker:\n  status_topic: orders\n").and_then(Settings::validate));
    assert!(text.contains("tracker.status_topic"), "{text}");
}
