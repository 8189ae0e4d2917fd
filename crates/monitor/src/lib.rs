//! `monitor`: a read-only terminal dashboard over the order trackers' files.
//!
//! Layout:
//! - [`cli`]: the flags, turned into [`cli::Options`].
//! - [`tail`]: the [`tail::Tailer`], which follows `tracker-*.log`, `tracker-*.events` and
//!   `producer.log` in one directory incrementally, read-only, surviving truncation, rotation
//!   and deletion.
//! - [`aggregate`]: the pure [`aggregate::Aggregator`] (no terminal, no clock) that turns lines
//!   into a [`aggregate::Summary`] at a given time.
//! - [`report`]: the `--once` text and JSON renderings of a summary.
//! - [`format`]: the formatters the renderings share (money, ages, clock times...).
//! - [`analysis`]: the `--report` rendering (what `analyze_logs.sh` prints) of the same summary.
//! - [`ui`]: the ratatui dashboard: `App` state, keys and mouse, a pure `render`, and the
//!   `--screenshot` SVG picture of one frame.
//!
//! [`run`] is the whole program behind `main`: it checks the directory, then prints one
//! report or runs the dashboard.

pub mod aggregate;
pub mod analysis;
pub mod cli;
pub mod format;
pub mod report;
pub mod tail;
pub mod ui;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::aggregate::{Aggregator, AggregatorConfig};
use crate::cli::Options;
use crate::tail::Tailer;

/// Everything that can stop the monitor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// `--dir` names nothing.
    #[error("--dir {}: no such directory", .0.display())]
    DirNotFound(PathBuf),
    /// `--dir` names a file or something else that is not a directory.
    #[error("--dir {}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The directory could not be listed or a file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// `--report` over a directory without any tracker file.
    #[error(
        "no tracker files (tracker-*.events, tracker-*.log) in {}\nStart the system with ./start.sh \
         (files land in run/logs), or pass the folder that holds them.",
        .0.display()
    )]
    NoTrackerFiles(PathBuf),
    /// The terminal could not be drawn on or read from.
    #[error("terminal error")]
    Terminal(#[source] io::Error),
    /// The report could not be written to stdout.
    #[error("cannot write the report")]
    Output(#[source] io::Error),
    /// A file the monitor was asked to write (`--screenshot`) could not be written.
    #[error("cannot write {}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
}

impl MonitorError {
    /// Whether the error is bad usage (exit code 2) rather than a runtime failure (1): a
    /// missing folder, or a `--screenshot` file the monitor refuses to write over.
    pub fn is_usage(&self) -> bool {
        match self {
            MonitorError::DirNotFound(_) | MonitorError::NotADirectory(_) => true,
            MonitorError::WriteFile { source, .. } => source.kind() == io::ErrorKind::AlreadyExists,
            _ => false,
        }
    }
}

/// Runs the monitor: one picture with `--screenshot`, one report when `options.once`, the
/// dashboard otherwise.
pub fn run(options: &Options) -> Result<(), MonitorError> {
    check_dir(&options.dir)?;
    if let Some(screenshot) = &options.screenshot {
        ui::svg::write_screenshot(options, &screenshot.path, screenshot.width, screenshot.height)
    } else if options.once {
        let stdout = io::stdout();
        let result = run_once(options, &mut stdout.lock());
        match result {
            // A closed pipe (`monitor --once | head`) is not a failure.
            Err(MonitorError::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    } else {
        ui::run_dashboard(options)
    }
}

/// Checks that `dir` exists and is a directory.
pub fn check_dir(dir: &Path) -> Result<(), MonitorError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(MonitorError::NotADirectory(dir.to_owned())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(MonitorError::DirNotFound(dir.to_owned()))
        }
        Err(source) => Err(MonitorError::Read { path: dir.to_owned(), source }),
    }
}

/// The aggregator settings the options ask for.
pub fn aggregator_config(options: &Options) -> AggregatorConfig {
    AggregatorConfig { stale_after: options.stale_after, ..AggregatorConfig::default() }
}

/// Reads every file of the directory once and writes the summary to `out`.
pub fn run_once(options: &Options, out: &mut impl Write) -> Result<(), MonitorError> {
    let now = options.now.unwrap_or_else(Utc::now);
    let mut aggregator = Aggregator::new(aggregator_config(options));
    let mut tailer = Tailer::new(&options.dir);
    tailer
        .read_all(&mut aggregator.sink(now))
        .map_err(|source| MonitorError::Read { path: options.dir.clone(), source })?;
    if options.report {
        // The analysis reads finished files: a torn last line counts as unreadable. --once may
        // look at files being written, whose last line is still coming: it waits for it.
        tailer.finish_unfinished_lines(&mut aggregator.sink(now));
    }
    let mut summary = aggregator.snapshot(now);
    summary.warnings = tailer.warnings().iter().map(ToString::to_string).collect();
    if options.report || options.json {
        // The text report prints them; the JSON carries them, and a person at the terminal
        // sees them here too.
        for warning in &summary.warnings {
            // A closed stderr must not stop the report.
            let _ = writeln!(io::stderr(), "monitor: warning: {}", models::escape_controls(warning));
        }
    }
    let written = if options.report {
        let files = analysis::count_files(&options.dir)
            .map_err(|source| MonitorError::Read { path: options.dir.clone(), source })?;
        if files.events == 0 && files.log == 0 {
            return Err(MonitorError::NoTrackerFiles(options.dir.clone()));
        }
        analysis::write_analysis(&summary, &options.dir, files, out)
    } else if options.json {
        report::write_json(&summary, out)
    } else {
        report::write_text(&summary, &options.dir, out)
    };
    written.and_then(|()| out.flush()).map_err(MonitorError::Output)
}
