//! Environment variables that override the file. Each one maps to one key; its value is parsed
//! with that key's type, and a value of the wrong form names the variable in the error, with
//! what the key accepts ([`crate::limits`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::settings::{AutoOffsetReset, Fsync, GroupProtocol, Processing, Settings};

/// One supported variable and the key it sets.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// Variable name.
    pub name: &'static str,
    /// The `section.key` it overrides.
    pub key: &'static str,
}

macro_rules! env_vars {
    ($($name:literal => $key:literal: |$settings:ident, $value:ident| $apply:expr;)+) => {
        /// Every variable [`Settings::apply_env`] reads, for `--help` texts and the README.
        pub const ENV_VARS: &[EnvVar] = &[$(EnvVar { name: $name, key: $key }),+];

        impl Settings {
            /// Applies the variables present in `env` (names are case-sensitive).
            pub fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
                $(
                    if let Some(raw) = env.get($name) {
                        let $settings = &mut *self;
                        let $value = EnvValue { var: $name, key: $key, raw };
                        $apply;
                        self.from_env.insert($key, ($name, raw.clone()));
                    }
                )+
                Ok(())
            }
        }
    };
}

env_vars! {
    "KAFKA_BROKER" => "kafka.broker": |s, v| s.kafka.broker = v.text()?;
    "KAFKA_TOPIC" => "kafka.topic": |s, v| s.kafka.topic = v.text()?;
    "KAFKA_CONSUMER_GROUP" => "kafka.consumer_group": |s, v| s.kafka.consumer_group = v.text()?;
    "KAFKA_SESSION_TIMEOUT_MS" => "kafka.session_timeout_ms": |s, v| s.kafka.session_timeout_ms = v.number()?;
    "KAFKA_AUTO_OFFSET_RESET" => "kafka.auto_offset_reset": |s, v| s.kafka.auto_offset_reset = v.offset_reset()?;
    "KAFKA_GROUP_PROTOCOL" => "kafka.group_protocol": |s, v| s.kafka.group_protocol = v.group_protocol()?;
    "PRODUCER_INTERVAL_MS" => "producer.interval_ms": |s, v| s.producer.interval_ms = v.number()?;
    "PRODUCER_POISON_RATE" => "producer.poison_rate": |s, v| s.producer.poison_rate = v.number()?;
    "PRODUCER_LOG_DIR" => "producer.log_dir": |s, v| s.producer.log_dir = PathBuf::from(v.text()?);
    "PRODUCER_TRANSACTIONAL" => "producer.transactional": |s, v| s.producer.transactional = v.boolean()?;
    "PRODUCER_TRANSACTIONAL_ID" => "producer.transactional_id": |s, v| s.producer.transactional_id = v.text()?;
    "PRODUCER_TRANSACTION_RECORDS" => "producer.transaction_records": |s, v| s.producer.transaction_records = v.number()?;
    "PRODUCER_ABORT_RATE" => "producer.abort_rate": |s, v| s.producer.abort_rate = v.number()?;
    "TRACKER_INSTANCE_ID" => "tracker.instance_id": |s, v| s.tracker.instance_id = Some(v.instance_id()?);
    "TRACKER_LOG_DIR" => "tracker.log_dir": |s, v| s.tracker.log_dir = PathBuf::from(v.text()?);
    "TRACKER_METRICS_INTERVAL_MS" => "tracker.metrics_interval_ms": |s, v| s.tracker.metrics_interval_ms = v.number()?;
    "TRACKER_PROCESSING_DELAY_MS" => "tracker.processing_delay_ms": |s, v| s.tracker.processing_delay_ms = v.number()?;
    "TRACKER_FAILURE_RATE" => "tracker.failure_rate": |s, v| s.tracker.failure_rate = v.number()?;
    "TRACKER_FSYNC" => "tracker.fsync": |s, v| s.tracker.fsync = v.fsync()?;
    "TRACKER_PROCESSING" => "tracker.processing": |s, v| s.tracker.processing = v.processing()?;
    "TRACKER_TRANSACTION_RECORDS" => "tracker.transaction_records": |s, v| s.tracker.transaction_records = v.number()?;
    "TRACKER_TRANSACTION_MAX_MS" => "tracker.transaction_max_ms": |s, v| s.tracker.transaction_max_ms = v.number()?;
    "TRACKER_STATUS_TOPIC" => "tracker.status_topic": |s, v| s.tracker.status_topic = Some(v.text()?);
    "RETRY_MAX_ATTEMPTS" => "retry.max_attempts": |s, v| s.retry.max_attempts = v.number()?;
    "RETRY_INITIAL_DELAY_MS" => "retry.initial_delay_ms": |s, v| s.retry.initial_delay_ms = v.number()?;
    "RETRY_MULTIPLIER" => "retry.multiplier": |s, v| s.retry.multiplier = v.number()?;
    "RETRY_MAX_DELAY_MS" => "retry.max_delay_ms": |s, v| s.retry.max_delay_ms = v.number()?;
    "DLQ_ENABLED" => "dlq.enabled": |s, v| s.dlq.enabled = v.boolean()?;
    "DLQ_TOPIC" => "dlq.topic": |s, v| s.dlq.topic = v.text()?;
    "DLQ_MAX_REDRIVES" => "dlq.max_redrives": |s, v| s.dlq.max_redrives = v.number()?;
}

/// The `--help` paragraph of a binary that loads this configuration: the variables of
/// [`ENV_VARS`] whose key starts with one of `keys` (`"kafka."`, `"producer."`, `"dlq.topic"`:
/// what that binary reads) and the key each sets, so the list cannot drift and each binary
/// lists only its own.
pub fn env_help(keys: &[&str]) -> String {
    let listed: Vec<&EnvVar> =
        ENV_VARS.iter().filter(|var| keys.iter().any(|key| var.key.starts_with(key))).collect();
    let width = listed.iter().map(|var| var.name.len()).max().unwrap_or(0);
    let mut help = String::from("Environment variables (flags win over them, they win over the file):\n");
    for var in listed {
        help.push_str(&format!("  {:width$}  {}\n", var.name, var.key));
    }
    help.push_str("See config.yaml.example for every key.");
    help
}

/// A variable's raw value, with the parsers that name the variable on failure.
struct EnvValue<'a> {
    var: &'static str,
    /// The key it sets, whose range ([`crate::limits`]) a number must fit.
    key: &'static str,
    raw: &'a str,
}

impl EnvValue<'_> {
    fn error(&self, expected: &str) -> ConfigError {
        ConfigError::Env {
            var: self.var.to_owned(),
            value: self.raw.to_owned(),
            expected: expected.to_owned(),
        }
    }

    fn text(&self) -> Result<String, ConfigError> {
        let trimmed = self.raw.trim();
        if trimmed.is_empty() {
            return Err(self.error("a non-empty value"));
        }
        Ok(trimmed.to_owned())
    }

    /// A number; one that is not a number at all is refused here, with the key's range as the
    /// hint; one out of range is left to validation, which names this variable too.
    fn number<T: FromStr>(&self) -> Result<T, ConfigError> {
        self.raw.trim().parse().map_err(|_| self.error(&crate::limits::expected_for(self.key)))
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        match self.raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.error("true or false (also 1/0, yes/no, on/off)")),
        }
    }

    fn offset_reset(&self) -> Result<AutoOffsetReset, ConfigError> {
        match self.raw.trim() {
            "earliest" => Ok(AutoOffsetReset::Earliest),
            "latest" => Ok(AutoOffsetReset::Latest),
            _ => Err(self.error("earliest or latest")),
        }
    }

    fn group_protocol(&self) -> Result<GroupProtocol, ConfigError> {
        match self.raw.trim() {
            "classic" => Ok(GroupProtocol::Classic),
            "consumer" => Ok(GroupProtocol::Consumer),
            _ => Err(self.error("classic or consumer")),
        }
    }

    fn fsync(&self) -> Result<Fsync, ConfigError> {
        self.raw.parse().map_err(|expected: String| self.error(&expected))
    }

    fn processing(&self) -> Result<Processing, ConfigError> {
        self.raw.parse().map_err(|expected: String| self.error(&expected))
    }

    fn instance_id(&self) -> Result<String, ConfigError> {
        crate::settings::instance_id(self.var, self.raw)
            .map_err(|_| self.error("1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"))?;
        Ok(self.raw.to_owned())
    }
}
