//! Command-line flags. A flag overrides its environment variable, which overrides the file
//! ([`config::Overrides`], applied by [`config::load_with`] before validation).

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use config::{override_with, Overrides, Settings};

use crate::position::Position;
use crate::select::Filters;

/// The variables `dlq` reads (the broker, the dead-letter topic, the redrive limit) and the exit
/// codes, which differ from the other binaries' in what 1 means.
fn after_help() -> String {
    format!(
        "{}\nSASL/TLS: -X or kafka.properties in the file.\n\n{}",
        config::env_help(&["kafka.broker", "dlq.topic", "dlq.max_redrives"]),
        "Exit status: 0 done; 1 runtime failure (redrive: a record refused or not acknowledged); \
2 bad flags or configuration; 130 or 143 a second SIGINT or SIGTERM during the stop."
    )
}

/// Inspect, export and redrive the dead letters the trackers sent to the dead-letter topic.
///
/// Reading never commits and never joins the trackers' consumer group: it assigns every
/// partition of the dead-letter topic and reads it from the start to its end.
#[derive(Debug, Parser)]
#[command(version, after_help = after_help())]
pub struct Cli {
    /// Configuration file [default: ./config.yaml when it exists]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[arg(short = 'b', long, global = true, value_name = "HOST:PORT", help = config::flag_help(
        "Bootstrap servers, host:port[,host:port]",
        "kafka.broker",
    ))]
    pub broker: Option<String>,
    #[arg(long, global = true, value_name = "TOPIC", help = config::flag_help("Dead-letter topic", "dlq.topic"))]
    pub dlq_topic: Option<String>,
    /// How stderr lines look: text (one readable line each) or json (one JSON object each)
    #[arg(long, global = true, value_name = "FORMAT", env = "LOG_FORMAT", default_value = "text")]
    pub log_format: service::LogFormat,
    /// When to use colours (log lines, help).
    #[command(flatten)]
    pub color: service::ColorFlag,
    /// Any librdkafka property (-X NAME=VALUE, repeatable).
    #[command(flatten)]
    pub client: service::ClientPropertyFlags,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One line per dead letter: position, age, origin, error, attempts, instance, key, payload.
    List {
        /// Only these dead letters.
        #[command(flatten)]
        filters: Filters,
        /// One JSON object per line (for jq) instead of a table.
        #[arg(long)]
        json: bool,
        /// Show the first N (by position) of those selected, and say how many more there are
        /// (after the table; on stderr with --json); 0 shows them all.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
    },
    /// Everything about one dead letter: all headers, the whole payload.
    Show {
        /// Its position in the dead-letter topic, PARTITION:OFFSET (as `list` prints it).
        #[arg(value_name = "PARTITION:OFFSET")]
        position: Position,
    },
    /// The selected dead letters (all without a selection) as JSON lines to edit, on stdout or
    /// in a new private file.
    Export {
        /// What to export.
        #[command(flatten)]
        selection: Selection,
        /// Write the lines to this new file (mode 0600: it holds personal data) instead of
        /// stdout; an existing file or a symlink is refused, never overwritten.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Sends dead letters back to their original topic, each at most once.
    Redrive(RedriveArgs),
}

/// Which dead letters: positions, `--all`, or filters.
#[derive(Debug, Clone, Default, Args)]
pub struct Selection {
    /// Positions in the dead-letter topic, PARTITION:OFFSET (e.g. 0:12 0:13).
    #[arg(value_name = "PARTITION:OFFSET", conflicts_with = "all")]
    pub positions: Vec<Position>,
    /// Every dead letter.
    #[arg(long)]
    pub all: bool,
    /// Only the dead letters that match all these.
    #[command(flatten)]
    pub filters: Filters,
}

impl Selection {
    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty() && !self.all && self.filters.is_empty()
    }
}

/// `dlq redrive` flags.
#[derive(Debug, Clone, Args)]
pub struct RedriveArgs {
    /// What to send back (or `--from-file`).
    #[command(flatten)]
    pub selection: Selection,
    /// Send the records of this file (written by `dlq export`, edited) instead of a selection.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["positions", "all", "error_kind", "since", "original_partition"])]
    pub from_file: Option<PathBuf>,
    /// Send to this topic instead of each record's original topic.
    #[arg(long, value_name = "TOPIC")]
    pub to: Option<String>,
    /// Print what would be sent and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send records that the tracker's validation would reject again.
    #[arg(long)]
    pub force: bool,
}

impl Overrides for Cli {
    fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    fn apply_to(&self, settings: &mut Settings) {
        override_with(&mut settings.kafka.broker, self.broker.clone());
        override_with(&mut settings.dlq.topic, self.dlq_topic.clone());
        self.client.apply_to(settings);
    }
}
