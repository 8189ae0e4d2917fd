//! Command-line flags. Each flag overrides its environment variable, which overrides the file
//! ([`config::Overrides`], applied by [`config::load_with`] before validation).

use std::path::{Path, PathBuf};

use clap::Parser;
use config::{flag_help, flag_help_defaulting, override_with, Fsync, Overrides, Processing, Settings};

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
    // The flags below that override a configuration key take their help from that key
    // (config::flag_help: its variable and default, never typed here).
    #[arg(long, value_name = "ID", help = flag_help_defaulting(
        "Instance id, also the Kafka client id and part of the file names",
        "tracker.instance_id",
        "instance-<pid>",
    ))]
    pub instance_id: Option<String>,
    #[arg(long, value_name = "DIR", help = flag_help("Folder of tracker-<id>.log and tracker-<id>.events", "tracker.log_dir"))]
    pub log_dir: Option<PathBuf>,
    #[arg(short = 'b', long, value_name = "HOST:PORT", help = flag_help("Bootstrap servers, host:port[,host:port]", "kafka.broker"))]
    pub broker: Option<String>,
    #[arg(short = 't', long, help = flag_help("Topic of order events", "kafka.topic"))]
    pub topic: Option<String>,
    #[arg(short = 'G', short_alias = 'g', long, value_name = "GROUP", help = flag_help(
        "Consumer group (-G as in kcat; -g still works)",
        "kafka.consumer_group",
    ))]
    pub group: Option<String>,
    #[arg(long, value_name = "MS", help = flag_help(
        "Milliseconds between two metrics entries in the .log",
        "tracker.metrics_interval_ms",
    ))]
    pub metrics_interval_ms: Option<u64>,
    #[arg(long, value_name = "MS", help = flag_help(
        "Simulated work per message, to show lag and scaling",
        "tracker.processing_delay_ms",
    ))]
    pub processing_delay_ms: Option<u64>,
    #[arg(long, value_name = "RATE", help = flag_help(
        "Share of processing attempts that fail transiently, 0 to 1, to show retries",
        "tracker.failure_rate",
    ))]
    pub failure_rate: Option<f64>,
    #[arg(long, value_name = "N", help = flag_help(
        "Attempts in all before a transient failure is dead-lettered",
        "retry.max_attempts",
    ))]
    pub max_attempts: Option<u32>,
    #[arg(long, value_name = "WHEN", value_enum, help = flag_help(
        "When lines are forced onto the disk before their offsets are stored",
        "tracker.fsync",
    ))]
    pub fsync: Option<Fsync>,
    #[arg(long, value_name = "MODE", value_enum, help = flag_help("Delivery guarantee", "tracker.processing"))]
    pub processing: Option<Processing>,
    /// Log failures and skip them instead of sending them to the dead-letter topic
    #[arg(long)]
    pub no_dlq: bool,
    /// `--log-format`, `--color`, `-X`.
    #[command(flatten)]
    pub common: service::CommonFlags,
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
        override_with(&mut tracker.fsync, self.fsync);
        override_with(&mut tracker.processing, self.processing);
        override_with(&mut settings.retry.max_attempts, self.max_attempts);
        override_with(&mut settings.kafka.broker, self.broker.clone());
        override_with(&mut settings.kafka.topic, self.topic.clone());
        override_with(&mut settings.kafka.consumer_group, self.group.clone());
        if self.no_dlq {
            settings.dlq.enabled = false;
        }
        self.common.client.apply_to(settings);
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

    /// Each flag that overrides a configuration key says its variable, its key and the
    /// key's default, all from the configuration's own statement of that key.
    #[test]
    fn help_of_each_configuration_flag_comes_from_its_key() {
        let command = Options::command();
        let checked = config::check_flag_help(
            &command,
            &["config", "no_dlq", "log_format", "color", "properties", "help", "version"],
        )
        .unwrap_or_else(|wrong| panic!("{wrong}"));
        assert!(checked >= 11, "{checked} flags checked");
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
