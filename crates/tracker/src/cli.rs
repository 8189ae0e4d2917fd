//! Command-line flags. Each flag overrides its environment variable, which overrides the file.

use std::path::PathBuf;

use clap::Parser;
use config::{Config, ConfigError, Settings};

/// Competing-consumer order tracker: audits every message into tracker-<id>.events, logs its
/// health into tracker-<id>.log, retries transient failures and dead-letters the rest.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Environment variables (flags win over them, they win over the file): KAFKA_BROKER, \
KAFKA_TOPIC, KAFKA_CONSUMER_GROUP, TRACKER_INSTANCE_ID, TRACKER_LOG_DIR, TRACKER_METRICS_INTERVAL_MS, \
TRACKER_PROCESSING_DELAY_MS, TRACKER_FAILURE_RATE, RETRY_MAX_ATTEMPTS, RETRY_INITIAL_DELAY_MS, \
RETRY_MULTIPLIER, RETRY_MAX_DELAY_MS, DLQ_ENABLED, DLQ_TOPIC. See config.yaml.example for every key."
)]
pub struct Options {
    /// Configuration file [default: ./config.yaml when it exists]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Instance id, also the Kafka client id and part of the file names [default: instance-<pid>]
    #[arg(long, value_name = "ID")]
    pub instance_id: Option<String>,
    /// Folder of tracker-<id>.log and tracker-<id>.events [default: .]
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Bootstrap servers, host:port[,host:port] [default: 127.0.0.1:9092]
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Option<String>,
    /// Topic of order events [default: orders]
    #[arg(long)]
    pub topic: Option<String>,
    /// Consumer group [default: order-tracker]
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Milliseconds between two metrics entries in the .log [default: 30000]
    #[arg(long, value_name = "MS")]
    pub metrics_interval_ms: Option<u64>,
    /// Simulated work per message, to show lag and scaling [default: 0]
    #[arg(long, value_name = "MS")]
    pub processing_delay_ms: Option<u64>,
    /// Share of processing attempts that fail transiently, 0 to 1, to show retries [default: 0]
    #[arg(long, value_name = "RATE")]
    pub failure_rate: Option<f64>,
    /// Attempts in all before a transient failure is dead-lettered [default: 3]
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Log failures and skip them instead of sending them to the dead-letter topic
    #[arg(long)]
    pub no_dlq: bool,
    /// How stderr lines look: text (one readable line each) or json (one JSON object each)
    #[arg(long, value_name = "FORMAT", env = "LOG_FORMAT", default_value = "text")]
    pub log_format: service::LogFormat,
}

impl Options {
    /// Defaults, then the file, then the environment, then these flags; then validation.
    pub fn load_config(
        &self,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut settings = config::load(self.config.as_deref(), env)?;
        self.apply(&mut settings);
        settings.validate()
    }

    fn apply(&self, settings: &mut Settings) {
        let tracker = &mut settings.tracker;
        if let Some(id) = &self.instance_id {
            tracker.instance_id = Some(id.clone());
        }
        if let Some(dir) = &self.log_dir {
            tracker.log_dir = dir.clone();
        }
        set(&mut tracker.metrics_interval_ms, self.metrics_interval_ms);
        set(&mut tracker.processing_delay_ms, self.processing_delay_ms);
        set(&mut tracker.failure_rate, self.failure_rate);
        set(&mut settings.retry.max_attempts, self.max_attempts);
        set(&mut settings.kafka.broker, self.broker.clone());
        set(&mut settings.kafka.topic, self.topic.clone());
        set(&mut settings.kafka.consumer_group, self.group.clone());
        if self.no_dlq {
            settings.dlq.enabled = false;
        }
    }
}

fn set<T>(field: &mut T, flag: Option<T>) {
    if let Some(value) = flag {
        *field = value;
    }
}
