//! Command-line flags. Each flag overrides its environment variable, which overrides the file
//! ([`config::Overrides`], applied by [`config::load_with`] before validation).

use std::path::{Path, PathBuf};

use clap::Parser;
use config::{override_with, Overrides, Settings};

/// The variables the tracker reads (no producer settings, not `dlq`'s redrive limit) and the
/// exit codes.
fn after_help() -> String {
    format!(
        "{}\n\n{}",
        config::env_help(&["kafka.", "tracker.", "retry.", "dlq.enabled", "dlq.topic"]),
        service::EXIT_STATUS_HELP
    )
}

/// Competing-consumer order tracker: audits every message into tracker-<id>.events, logs its
/// health into tracker-<id>.log, retries transient failures and dead-letters the rest.
#[derive(Debug, Parser)]
#[command(version, after_help = after_help())]
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
    /// Consumer group [default: order-tracker] (-G as in kcat; -g still works)
    #[arg(short = 'G', short_alias = 'g', long, value_name = "GROUP")]
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
    /// Delivery guarantee: at_least_once, or exactly_once (reads read_committed; the dead
    /// letters, status records and consumed offsets of a batch are committed in one Kafka
    /// transaction) [env: TRACKER_PROCESSING] [default: at_least_once]
    #[arg(long, value_name = "MODE", value_parser = ["at_least_once", "exactly_once"])]
    pub processing: Option<String>,
    /// Log failures and skip them instead of sending them to the dead-letter topic
    #[arg(long)]
    pub no_dlq: bool,
    /// How stderr lines look: text (one readable line each) or json (one JSON object each)
    #[arg(long, value_name = "FORMAT", env = "LOG_FORMAT", default_value = "text")]
    pub log_format: service::LogFormat,
    /// When to use colours (log lines, help).
    #[command(flatten)]
    pub color: service::ColorFlag,
    /// Any librdkafka property (-X NAME=VALUE, repeatable).
    #[command(flatten)]
    pub client: service::ClientPropertyFlags,
}

impl Overrides for Options {
    fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    fn apply_to(&self, settings: &mut Settings) {
        let tracker = &mut settings.tracker;
        override_with(&mut tracker.instance_id, self.instance_id.clone().map(Some));
        override_with(&mut tracker.log_dir, self.log_dir.clone());
        override_with(&mut tracker.metrics_interval_ms, self.metrics_interval_ms);
        override_with(&mut tracker.processing_delay_ms, self.processing_delay_ms);
        override_with(&mut tracker.failure_rate, self.failure_rate);
        // clap accepts only the values Fsync parses.
        override_with(&mut tracker.fsync, self.fsync.as_deref().and_then(|when| when.parse().ok()));
        // clap accepts only the values Processing parses.
        override_with(&mut tracker.processing, self.processing.as_deref().and_then(|mode| mode.parse().ok()));
        override_with(&mut settings.retry.max_attempts, self.max_attempts);
        override_with(&mut settings.kafka.broker, self.broker.clone());
        override_with(&mut settings.kafka.topic, self.topic.clone());
        override_with(&mut settings.kafka.consumer_group, self.group.clone());
        if self.no_dlq {
            settings.dlq.enabled = false;
        }
        self.client.apply_to(settings);
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn help_lists_the_trackers_variables_only_and_the_exit_codes() {
        let help = Options::command().render_long_help().to_string();
        for var in config::ENV_VARS {
            let reads = !var.name.starts_with("PRODUCER_") && var.name != "DLQ_MAX_REDRIVES";
            assert_eq!(help.contains(var.name), reads, "{} in --help: {}\n{help}", var.name, !reads);
        }
        assert!(help.contains("Exit status: 0") && help.contains("130 or 143"), "{help}");
    }

    #[test]
    fn short_flags_like_kcat() {
        for group_flag in ["-G", "-g"] {
            let options =
                Options::try_parse_from(["tracker", "-b", "h:1", "-t", "t1", group_flag, "g1"]).unwrap();
            let config = config::load_with(&options, &std::collections::HashMap::new()).unwrap();
            assert_eq!(
                (
                    config.kafka.broker.as_str(),
                    config.kafka.topic.as_str(),
                    config.kafka.consumer_group.as_str()
                ),
                ("h:1", "t1", "g1")
            );
        }
    }
}
