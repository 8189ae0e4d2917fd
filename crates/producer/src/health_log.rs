//! `producer.log`: the producer's own JSON-lines health file, a product output with a fixed
//! contract (the monitor reads `metadata.events_per_second` and `metadata.acknowledged`).
//!
//! Each line: `timestamp` (RFC 3339 UTC, milliseconds), `level`, `message` (a fixed English
//! sentence per kind), `kind`, `service` (`order-producer`), `metadata` (object), `error`
//! (null or text). The file is opened in append mode with permissions 0600 and each line is
//! written with one `write` call, so concurrent writers never interleave inside a line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::Utc;
use serde::Serialize;

/// The `service` field of every line.
pub const SERVICE: &str = "order-producer";
/// The file name inside `producer.log_dir`.
pub const FILE_NAME: &str = "producer.log";

/// The kinds of entries, each with its fixed message and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The producer started: configuration and mode.
    Started,
    /// Periodic counters and throughput.
    Metrics,
    /// Records the broker did not acknowledge (at most one line per second, with a count).
    DeliveryFailed,
    /// The client lost the broker or got an error from it (at most one line per 10 s per error).
    KafkaError,
    /// The producer stopped: totals.
    Stopped,
}

impl EntryKind {
    /// The fixed sentence of the `message` field.
    pub fn message(self) -> &'static str {
        match self {
            EntryKind::Started => "Producer started",
            EntryKind::Metrics => "Producer metrics",
            EntryKind::DeliveryFailed => "Records could not be delivered",
            EntryKind::KafkaError => "Kafka error",
            EntryKind::Stopped => "Producer stopped",
        }
    }
}

/// Severity of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something was lost or degraded.
    Warn,
    /// A failure.
    Error,
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    level: Level,
    message: &'static str,
    kind: EntryKind,
    service: &'static str,
    metadata: &'a serde_json::Value,
    error: Option<&'a str>,
}

/// The open `producer.log`.
#[derive(Debug)]
pub struct HealthLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl HealthLog {
    /// Opens (creating if needed) `producer.log` in `dir`, creating `dir` too.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        Ok(Self { path, file: Mutex::new(file) })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry. A write error is reported on stderr and otherwise ignored: the
    /// health file must never stop the producer.
    pub fn write(&self, level: Level, kind: EntryKind, metadata: serde_json::Value, error: Option<&str>) {
        let line = Line {
            timestamp: models::format_timestamp(Utc::now()),
            level,
            message: kind.message(),
            kind,
            service: SERVICE,
            metadata: &metadata,
            error,
        };
        let mut bytes = match serde_json::to_vec(&line) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%error, "cannot encode a producer.log line");
                return;
            }
        };
        bytes.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = file.write_all(&bytes) {
            tracing::warn!(%error, path = %self.path.display(), "cannot write to producer.log");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn lines_follow_the_contract_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let log = HealthLog::open(&dir.path().join("sub")).unwrap();
        log.write(Level::Info, EntryKind::Started, serde_json::json!({"mode": "flood"}), None);
        log.write(
            Level::Error,
            EntryKind::DeliveryFailed,
            serde_json::json!({"count": 3}),
            Some("timed out"),
        );
        drop(log);
        let log = HealthLog::open(&dir.path().join("sub")).unwrap();
        log.write(Level::Info, EntryKind::Stopped, serde_json::json!({}), None);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3, "appended, not truncated");
        assert_eq!(lines[0]["kind"], "started");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["message"], "Producer started");
        assert_eq!(lines[0]["service"], "order-producer");
        assert_eq!(lines[0]["metadata"]["mode"], "flood");
        assert!(lines[0]["error"].is_null());
        assert_eq!(lines[1]["kind"], "delivery_failed");
        assert_eq!(lines[1]["error"], "timed out");
        let timestamp = lines[2]["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok() && timestamp.ends_with('Z'));
        assert_eq!(timestamp.len(), "2026-01-01T00:00:00.000Z".len());
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
