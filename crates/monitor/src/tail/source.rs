//! What the tailer follows and reports: the tracker files by kind, the [`LineSink`] that
//! receives their lines, and the warnings about what it could not read.

use std::fmt;
use std::path::{Path, PathBuf};

/// What a followed file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `tracker-<id>.events`: one audit line per message received.
    Events,
    /// `tracker-<id>.log`: the instance's health.
    Log,
    /// `producer.log`: the producer's own log.
    Producer,
}

/// One followed file: its kind, the instance it belongs to and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Events, log or producer file.
    pub kind: SourceKind,
    /// The `<id>` of `tracker-<id>.*`; `producer` for `producer.log`.
    pub instance_id: String,
    /// Full path.
    pub path: PathBuf,
}

impl Source {
    /// Recognises a tracker or producer file by its name.
    pub fn from_file_name(dir: &Path, name: &str) -> Option<Source> {
        let (kind, instance_id) = if name == "producer.log" {
            (SourceKind::Producer, "producer")
        } else {
            let stem = name.strip_prefix("tracker-")?;
            if let Some(id) = stem.strip_suffix(".events") {
                (SourceKind::Events, id)
            } else {
                (SourceKind::Log, stem.strip_suffix(".log")?)
            }
        };
        if instance_id.is_empty() {
            return None;
        }
        Some(Source { kind, instance_id: instance_id.to_owned(), path: dir.join(name) })
    }
}

/// Something the tailer does not read, so the figures leave it out: shown with the monitor's
/// warnings and in `--json`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TailWarning {
    /// A tracker file's name on something that is not a regular file: never opened.
    NotARegularFile {
        /// The path in the followed directory.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, `a folder`, ...
        what: &'static str,
    },
    /// More tracker files than [`MAX_FOLLOWED_FILES`]: these are not read.
    TooManyFiles {
        /// Files followed.
        followed: usize,
        /// Files with a tracker file's name that are not followed.
        not_followed: usize,
    },
    /// A followed file cannot be opened now (for example at the open-file limit); it is tried
    /// again at every poll.
    CannotOpen {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

impl fmt::Display for TailWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TailWarning::NotARegularFile { path, what } => {
                write!(f, "{} is {what}, not a regular file: not read", path.display())
            }
            TailWarning::TooManyFiles { followed, not_followed } => write!(
                f,
                "{not_followed} more tracker files not read: at most {followed} files are followed, \
                 so the figures leave the others out"
            ),
            TailWarning::CannotOpen { path, error } => {
                write!(f, "cannot open {}: {error}; not read until it can be", path.display())
            }
        }
    }
}

/// Receives what the tailer reads.
pub trait LineSink {
    /// A file is followed from now on (it may still be empty).
    fn file_found(&mut self, source: &Source);
    /// One complete line, without its `\n`.
    fn line(&mut self, source: &Source, line: &[u8]);
    /// A line longer than the limit was dropped.
    fn line_dropped(&mut self, source: &Source);
    /// The file was truncated or replaced: reading starts again at its beginning.
    fn restarted(&mut self, _source: &Source) {}
}

/// What one [`Tailer::poll`] achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollOutcome {
    /// Bytes read during this poll.
    pub bytes_read: u64,
    /// Bytes known to be waiting after this poll (the budget ran out before them).
    pub bytes_pending: u64,
}

impl PollOutcome {
    /// Whether every followed file has been read to its end.
    pub fn caught_up(&self) -> bool {
        self.bytes_pending == 0
    }
}
