//! Command-line flags, and how they combine with the configuration: flags override
//! environment variables, which override the file ([`config::Overrides`], applied by
//! [`config::load_with`] before validation, so a bad flag value is reported like a bad
//! configuration value).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use config::{flag_help, flag_help_defaulting, override_with, Config, Overrides, Settings};
use models::PoisonKind;

use crate::pace::Pace;
use crate::RunOptions;

/// The variables the producer reads (the broker, its topic and the dead-letter topic it creates,
/// its own settings) and the exit codes.
fn after_help() -> String {
    format!(
        "{}\n\n{}",
        config::env_help(&["kafka.broker", "kafka.topic", "producer.", "dlq.topic"]),
        service::EXIT_STATUS_HELP
    )
}

/// Emits e-commerce order events to Kafka: steady, counted, rated or as a flood, with poison
/// pills on demand.
///
/// Flags override environment variables, which override the configuration file. On
/// SIGINT/SIGTERM (or after --count records) the producer flushes what is in flight, prints a
/// summary line and exits 0, or 1 if records were lost. Bad flags or configuration exit 2.
// A flag that overrides a configuration key takes its help from that key (`config::flag_help`):
// its variable and default are never typed here.
#[derive(Debug, Clone, Parser)]
#[command(name = "producer", version, after_help = after_help())]
pub struct Cli {
    /// Configuration file (YAML) [default: ./config.yaml when it exists]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[arg(short = 'b', long, value_name = "HOST:PORT", help = flag_help("Bootstrap servers, host:port[,host:port...]", "kafka.broker"))]
    pub broker: Option<String>,

    #[arg(short = 't', long, value_name = "NAME", help = flag_help("Topic of order events", "kafka.topic"))]
    pub topic: Option<String>,

    #[arg(long, value_name = "MS", conflicts_with = "rate", help = flag_help(
        "Steady mode: one event every MS milliseconds",
        "producer.interval_ms",
    ))]
    pub interval_ms: Option<u64>,

    /// Send N records (poison pills included), flush, then exit; 0 with --create-topics only
    /// creates the topics [default: run until SIGINT/SIGTERM]
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// R events per second, scheduled from the start (no drift); 0 = as fast as the broker
    /// takes them ("Black Friday" flood)
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,

    #[arg(long, value_name = "F", value_parser = parse_share, help = flag_help(
        "Share of records replaced by a malformed record of a random kind, from 0 to 1",
        "producer.poison_rate",
    ))]
    pub poison_rate: Option<f64>,

    /// Send only poison pills of this kind: invalid-json, wrong-shape, missing-field,
    /// wrong-types, bad-amounts, not-utf8, empty, oversized; needs --count, so a demo cannot
    /// fill the topic with poison by mistake
    #[arg(long, value_name = "KIND", conflicts_with = "poison_rate", requires = "count")]
    pub poison: Option<PoisonKind>,

    #[arg(long, value_name = "N", help = flag_help_defaulting(
        "Seed of the order generator, for reproducible orders",
        "producer.seed",
        "random",
    ))]
    pub seed: Option<u64>,

    #[arg(long, value_name = "DIR", help = flag_help("Folder of producer.log", "producer.log_dir"))]
    pub log_dir: Option<PathBuf>,

    #[arg(long, help = flag_help(
        "Send the events in Kafka transactions of --transaction-records records (or 1 s) each; a \
         read_committed reader sees them only once committed",
        "producer.transactional",
    ))]
    pub transactional: bool,

    #[arg(long, value_name = "ID", help = flag_help(
        "transactional.id of the producer (a second producer with the same id fences the first)",
        "producer.transactional_id",
    ))]
    pub transactional_id: Option<String>,

    #[arg(long, value_name = "N", help = flag_help("Records per transaction", "producer.transaction_records"))]
    pub transaction_records: Option<u64>,

    #[arg(long, value_name = "F", value_parser = parse_share, help = flag_help(
        "Share of transactions aborted on purpose, from 0 to 1; needs --transactional",
        "producer.abort_rate",
    ))]
    pub abort_rate: Option<f64>,

    /// Create the topic (3 partitions), the dead-letter topic (dlq.topic, 1 partition) and the
    /// trackers' compacted status topic (tracker.status_topic, else order-status, 3 partitions)
    /// if they are missing, before producing
    #[arg(long)]
    pub create_topics: bool,

    /// `--log-format`, `--color`, `-X`.
    #[command(flatten)]
    pub common: service::CommonFlags,
}

impl Overrides for Cli {
    fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    fn apply_to(&self, settings: &mut Settings) {
        override_with(&mut settings.kafka.broker, self.broker.clone());
        override_with(&mut settings.kafka.topic, self.topic.clone());
        override_with(&mut settings.producer.interval_ms, self.interval_ms);
        override_with(&mut settings.producer.poison_rate, self.poison_rate);
        override_with(&mut settings.producer.seed, self.seed.map(Some));
        override_with(&mut settings.producer.log_dir, self.log_dir.clone());
        if self.transactional {
            settings.producer.transactional = true;
        }
        override_with(&mut settings.producer.transactional_id, self.transactional_id.clone());
        override_with(&mut settings.producer.transaction_records, self.transaction_records);
        override_with(&mut settings.producer.abort_rate, self.abort_rate);
        self.common.client.apply_to(settings);
    }
}

impl Cli {
    /// What `run` should do, given the validated configuration.
    pub fn run_options(&self, config: &Config) -> RunOptions {
        RunOptions {
            pace: Pace::from_rate_or_interval(self.rate, Duration::from_millis(config.producer.interval_ms)),
            count: self.count,
            poison: self.poison,
            create_topics: self.create_topics,
            show_progress: self.count.is_some(),
        }
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a rate: expected events per second, a number >= 0 (0 = flood)")),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("{text:?} is not a share: expected a number from 0 to 1")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("producer").chain(args.iter().copied()))
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(
            &file,
            "producer:\n  interval_ms: 100\n  poison_rate: 0.5\nkafka:\n  topic: from-file\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let environment = env(&[("PRODUCER_INTERVAL_MS", "200"), ("KAFKA_BROKER", "10.0.0.1:9092")]);

        let config = config::load_with(&cli(&["--config", path]).unwrap(), &environment).unwrap();
        assert_eq!(config.producer.interval_ms, 200, "env over file");
        assert_eq!(config.producer.poison_rate, 0.5, "file over default");
        assert_eq!(config.kafka.topic, "from-file");
        assert_eq!(config.kafka.broker, "10.0.0.1:9092");

        let flags =
            cli(&["--config", path, "--interval-ms", "300", "--broker", "b:1", "--seed", "7"]).unwrap();
        let config = config::load_with(&flags, &environment).unwrap();
        assert_eq!(config.producer.interval_ms, 300, "flag over env");
        assert_eq!(config.kafka.broker, "b:1");
        assert_eq!(config.producer.seed, Some(7));
    }

    #[test]
    fn bad_values_are_rejected_with_the_key_or_flag() {
        let error = config::load_with(&cli(&["--interval-ms", "0"]).unwrap(), &env(&[])).unwrap_err();
        assert!(error.to_string().contains("producer.interval_ms"), "{error}");
        let error =
            config::load_with(&cli(&[]).unwrap(), &env(&[("PRODUCER_INTERVAL_MS", "abc")])).unwrap_err();
        assert!(error.to_string().contains("PRODUCER_INTERVAL_MS"), "{error}");
        let error = cli(&["--poison", "nope"]).unwrap_err().to_string();
        assert!(error.contains("invalid-json") && error.contains("oversized"), "{error}");
        assert!(cli(&["--poison-rate", "1.5"]).is_err());
        assert!(cli(&["--rate", "-1"]).is_err());
        assert!(cli(&["--rate", "5", "--interval-ms", "5"]).is_err(), "rate and interval conflict");
    }

    #[test]
    fn help_lists_the_producers_variables_only_and_the_exit_codes() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for var in config::ENV_VARS {
            let reads = var.name.starts_with("PRODUCER_")
                || ["KAFKA_BROKER", "KAFKA_TOPIC", "DLQ_TOPIC"].contains(&var.name);
            assert_eq!(help.contains(var.name), reads, "{} in --help: {}\n{help}", var.name, !reads);
        }
        assert!(help.contains("Exit status: 0") && help.contains("130 or 143"), "{help}");
    }

    /// Each flag that overrides a configuration key says its variable, its key and the
    /// key's default, all from the configuration's own statement of that key.
    #[test]
    fn help_of_each_configuration_flag_comes_from_its_key() {
        let command = {
            use clap::CommandFactory;
            Cli::command()
        };
        let checked = config::check_flag_help(
            &command,
            &[
                "config",
                "count",
                "rate",
                "poison",
                "create_topics",
                "log_format",
                "color",
                "properties",
                "help",
                "version",
            ],
        )
        .unwrap_or_else(|wrong| panic!("{wrong}"));
        assert!(checked >= 10, "{checked} flags checked");
    }

    #[test]
    fn short_flags_like_kcat() {
        let config = config::load_with(&cli(&["-b", "h:1", "-t", "t1"]).unwrap(), &env(&[])).unwrap();
        assert_eq!((config.kafka.broker.as_str(), config.kafka.topic.as_str()), ("h:1", "t1"));
    }

    #[test]
    fn run_options_follow_the_flags() {
        let config = config::load_with(&cli(&[]).unwrap(), &env(&[])).unwrap();
        let options =
            cli(&["--count", "5", "--rate", "0", "--poison", "empty"]).unwrap().run_options(&config);
        assert_eq!(options.pace, Pace::Flood);
        assert_eq!(options.count, Some(5));
        assert_eq!(options.poison, Some(PoisonKind::Empty));
        assert!(options.show_progress);
        let options = cli(&[]).unwrap().run_options(&config);
        assert_eq!(options.pace, Pace::Interval(Duration::from_millis(2000)));
        assert!(!options.show_progress);
    }
}
