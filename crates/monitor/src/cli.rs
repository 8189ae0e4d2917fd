//! Command-line flags of the `monitor` binary, parsed by clap and turned into [`Options`].
//!
//! Owns only the shape of the flags and their validation into a typed [`Options`]; the
//! directory itself is checked by [`crate::run`] so that a missing directory is reported once,
//! with exit code 2.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Parser;

/// Read-only terminal dashboard over the order trackers' `.log` and `.events` files.
///
/// Follows every `tracker-*.log` and `tracker-*.events` in DIR (and `producer.log` when
/// present), including files that appear later, and shows totals, throughput, one row per
/// instance, the latest orders, warnings and errors, and business figures. It never writes,
/// locks or truncates anything in DIR.
///
/// Keys: q/Esc/Ctrl+C quit, ? help, Tab/h/l focus, 1/2/3 tabs (instances, partitions, dead letters), j/k,
/// PgUp/PgDn, g/G and the mouse wheel scroll, p pause, r reset rate window. Without colours
/// (--color never, or NO_COLOR set) the focused panel is marked ▶.
///
/// Exit status: 0 done; 1 runtime failure; 2 bad flags.
#[derive(Debug, Clone, Parser)]
#[command(name = "monitor", version, about, long_about)]
pub struct Cli {
    /// Directory holding the tracker files [default: run/logs when it exists, else .].
    #[arg(long, value_name = "DIR", env = "TRACKER_LOG_DIR")]
    pub dir: Option<PathBuf>,

    /// Print the analysis report (what analyze_logs.sh shows) once and exit: the same figures
    /// as the dashboard and --json, in the report's sections.
    #[arg(long, conflicts_with = "json")]
    pub report: bool,

    /// Print the summary once and exit (implied when stdout is not a terminal).
    #[arg(long)]
    pub once: bool,

    /// With --once: print one JSON object instead of text (implies --once).
    #[arg(long)]
    pub json: bool,

    /// Screen refresh period in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub interval_ms: u64,

    /// Call an instance stale after this many seconds without a line
    /// [default: two metrics intervals of that instance, i.e. 60 s with the default 30 s].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_after_secs: Option<u64>,

    /// With --once: evaluate liveness and rates as of this RFC 3339 time instead of the clock
    /// (reproducible reports over old files).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Read the files once, draw one frame of the dashboard and write it to FILE as an SVG
    /// picture (what scripts/screenshot.sh puts in the README), then exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "report", "once"])]
    pub screenshot: Option<PathBuf>,

    /// With --screenshot: the size of the frame, in columns x rows.
    #[arg(long, value_name = "COLSxROWS", default_value = "120x36", value_parser = parse_size, requires = "screenshot")]
    pub size: (u16, u16),

    /// When to use colours (the dashboard, help).
    #[command(flatten)]
    pub color: service::ColorFlag,
}

/// A picture of one frame to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screenshot {
    /// The SVG file.
    pub path: PathBuf,
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// How the monitor should run, after flag parsing.
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory holding the tracker files.
    pub dir: PathBuf,
    /// Print once and exit instead of starting the dashboard.
    pub once: bool,
    /// With `once`: JSON instead of text.
    pub json: bool,
    /// With `once`: the analysis report instead of the summary.
    pub report: bool,
    /// Screen refresh period.
    pub interval: Duration,
    /// Fixed staleness threshold; `None` means two metrics intervals per instance.
    pub stale_after: Option<Duration>,
    /// Fixed evaluation time; `None` means the wall clock.
    pub now: Option<DateTime<Utc>>,
    /// Write one frame as SVG and exit, instead of anything else.
    pub screenshot: Option<Screenshot>,
    /// Whether the dashboard is coloured (`--color`, with `NO_COLOR`).
    pub color: service::ColorChoice,
}

impl Cli {
    /// Turns the parsed flags into [`Options`]. `stdout_is_terminal` decides whether the
    /// dashboard can run at all: without a terminal, `--once` is implied.
    pub fn into_options(self, stdout_is_terminal: bool) -> Options {
        Options {
            once: self.once || self.json || self.report || !stdout_is_terminal,
            json: self.json,
            report: self.report,
            dir: self.dir.unwrap_or_else(default_dir),
            interval: Duration::from_millis(self.interval_ms),
            stale_after: self.stale_after_secs.map(Duration::from_secs),
            now: self.now,
            screenshot: self.screenshot.map(|path| Screenshot {
                path,
                width: self.size.0,
                height: self.size.1,
            }),
            color: self.color.color,
        }
    }
}

/// `run/logs` (where `start.sh` writes) when it exists, else the current directory.
/// `$TRACKER_LOG_DIR`, when set, comes first (through the flag's `env`).
pub fn default_dir() -> PathBuf {
    let run_logs = PathBuf::from("run/logs");
    if run_logs.is_dir() {
        run_logs
    } else {
        PathBuf::from(".")
    }
}

/// The screen sizes `--size` accepts.
const SIZE_RANGE: (std::ops::RangeInclusive<u16>, std::ops::RangeInclusive<u16>) = (20..=1000, 5..=500);

fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let allowed = format!(
        "expected COLSxROWS such as 120x36, columns {}-{}, rows {}-{}",
        SIZE_RANGE.0.start(),
        SIZE_RANGE.0.end(),
        SIZE_RANGE.1.start(),
        SIZE_RANGE.1.end()
    );
    let (columns, rows) = text.split_once(['x', 'X']).ok_or_else(|| allowed.clone())?;
    match (columns.parse::<u16>(), rows.parse::<u16>()) {
        (Ok(columns), Ok(rows)) if SIZE_RANGE.0.contains(&columns) && SIZE_RANGE.1.contains(&rows) => {
            Ok((columns, rows))
        }
        _ => Err(allowed),
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("expected an RFC 3339 time such as 2026-01-01T12:00:00Z: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_and_no_terminal_imply_once() {
        let cli = Cli::parse_from(["monitor", "--json"]);
        assert!(cli.into_options(true).once);
        let cli = Cli::parse_from(["monitor"]);
        assert!(cli.clone().into_options(false).once);
        assert!(!cli.into_options(true).once);
    }

    #[test]
    fn screenshot_size() {
        let options =
            Cli::parse_from(["monitor", "--screenshot", "a.svg", "--size", "80x24"]).into_options(true);
        let expected = Screenshot { path: PathBuf::from("a.svg"), width: 80, height: 24 };
        assert_eq!(options.screenshot, Some(expected));
        let default = Cli::parse_from(["monitor", "--screenshot", "a.svg"]).into_options(false);
        assert_eq!(default.screenshot.map(|shot| (shot.width, shot.height)), Some((120, 36)));
        for bad in ["80", "80x", "x24", "10x24", "80x2", "80x24x1", "0x0"] {
            let error = Cli::try_parse_from(["monitor", "--screenshot", "a.svg", "--size", bad]).unwrap_err();
            assert!(error.to_string().contains("expected COLSxROWS such as 120x36"), "{bad}: {error}");
        }
        assert!(Cli::try_parse_from(["monitor", "--size", "80x24"]).is_err(), "--size needs --screenshot");
    }

    #[test]
    fn defaults() {
        let options = Cli::parse_from(["monitor", "--dir", "."]).into_options(true);
        assert_eq!(options.dir, PathBuf::from("."));
        assert_eq!(options.interval, Duration::from_millis(500));
        assert!(options.stale_after.is_none() && options.now.is_none());
    }
}
