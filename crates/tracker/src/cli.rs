//! Command-line flags. Each flag overrides its environment variable, which overrides the file.

use std::path::PathBuf;

use clap::Parser;
use config::{Config, ConfigError, Settings};

/// Competing-consumer order tracker: audits every message into tracker-<id>.events, logs its
/// health into tracker-<id>.log, retries transient failures and dead-letters the rest.
#[derive(Debug, Parser)]
#[command(version, after_help = config::env_help())]
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
    #[arg(short = 'b', long, value_name = "HOST:PORT")]
    pub broker: Option<String>,
    /// Topic of order events [default: orders]
    #[arg(short = 't', long)]
    pub topic: Option<String>,
    /// Consumer group [default: order-tracker]
    #[arg(short = 'g', long, value_name = "GROUP")]
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
    /// When lines are forced onto the disk before their offsets are stored: never (a process
    /// crash loses nothing) or batch (a host crash or power cut loses nothing either; slower)
    /// [default: never]
    #[arg(long, value_name = "WHEN", value_parser = ["never", "batch"])]
    pub fsync: Option<String>,
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
        // clap accepts only the values Fsync parses.
        set(&mut tracker.fsync, self.fsync.as_deref().and_then(|when| when.parse().ok()));
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn help_lists_every_variable_the_configuration_reads() {
        let help = Options::command().render_long_help().to_string();
        for var in config::ENV_VARS {
            assert!(help.contains(var.name), "--help lacks {}:\n{help}", var.name);
        }
    }

    #[test]
    fn short_flags_like_kcat() {
        let options = Options::try_parse_from(["tracker", "-b", "h:1", "-t", "t1", "-g", "g1"]).unwrap();
        let config = options.load_config(&std::collections::HashMap::new()).unwrap();
        assert_eq!(
            (config.kafka.broker.as_str(), config.kafka.topic.as_str(), config.kafka.consumer_group.as_str()),
            ("h:1", "t1", "g1")
        );
    }
}
