//! `producer.log`: the producer's own JSON-lines health file, a product output with a fixed
//! contract (the monitor reads `metadata.events_per_second` and `metadata.acknowledged`).
//!
//! Each line is a [`HealthEntry`] (the envelope trackers use too, without `instance_id`) whose
//! metadata is one of the structs of [`models::health::producer`]. The file is opened by
//! [`service::output_file::open_append`] (append mode, permissions 0600 even on an existing
//! file, never through a symlink, a torn last line of an earlier run terminated first), and each
//! line is written with one `write` call, so concurrent writers never interleave inside a line.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::Utc;
use config::Redactor;
use models::health::producer::ProducerKind;
use models::health::{Entry, HealthEntry};
use service::output_file::{open_append, TornLine};

/// The file name inside `producer.log_dir`.
pub const FILE_NAME: &str = "producer.log";

/// The open `producer.log`.
#[derive(Debug)]
pub struct HealthLog {
    path: PathBuf,
    file: Mutex<File>,
    /// Removes the configuration's secrets from every line (librdkafka's error texts can
    /// repeat them).
    redactor: Redactor,
    torn_line: Option<TornLine>,
}

impl HealthLog {
    /// Opens (creating if needed) `producer.log` in `dir`, creating `dir` too; `redactor`
    /// cleans every line.
    pub fn open(dir: &Path, redactor: Redactor) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let opened = open_append(&path)?;
        Ok(Self { path, file: Mutex::new(opened.file), redactor, torn_line: opened.torn_line })
    }

    /// The unfinished last line an earlier run left in the file, terminated at open.
    pub fn torn_line(&self) -> Option<&TornLine> {
        self.torn_line.as_ref()
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry. A write error is reported on stderr and otherwise ignored: the
    /// health file must never stop the producer.
    pub fn write<E: Entry<ProducerKind>>(&self, entry: &E, error: Option<&str>) {
        let timestamp = models::format_timestamp(Utc::now());
        let mut bytes = Vec::with_capacity(256);
        HealthEntry::of(&timestamp, None, entry).with_optional_error(error).write_line(&mut bytes);
        let bytes = self.redactor.redact_bytes(&bytes);
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = file.write_all(&bytes) {
            tracing::warn!(%error, path = %self.path.display(), "cannot write to producer.log");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use models::health::producer::{DeliveryFailed, Mode, Started, Stopped};

    use super::*;

    #[test]
    fn lines_follow_the_contract_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let log = HealthLog::open(&dir.path().join("sub"), Redactor::default()).unwrap();
        let started =
            Started { mode: Mode { pace: "flood".into(), ..Mode::default() }, ..Started::default() };
        log.write(&started, None);
        log.write(&DeliveryFailed { count: 3, total_failed: 3 }, Some("timed out"));
        drop(log);
        let log = HealthLog::open(&dir.path().join("sub"), Redactor::default()).unwrap();
        log.write(&Stopped::default(), None);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3, "appended, not truncated");
        assert_eq!(lines[0]["kind"], "started");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["message"], "Producer started");
        assert_eq!(lines[0]["service"], "order-producer");
        assert_eq!(lines[0]["metadata"]["mode"]["pace"], "flood");
        assert!(lines[0]["error"].is_null());
        assert_eq!(lines[1]["kind"], "delivery_failed");
        assert_eq!(lines[1]["error"], "timed out");
        let timestamp = lines[2]["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok() && timestamp.ends_with('Z'));
        assert_eq!(timestamp.len(), "2026-01-01T00:00:00.000Z".len());
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn no_line_shows_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let log = HealthLog::open(dir.path(), Redactor::new(["hunter2", "quo\"te"])).unwrap();
        let started = Started { log_file: "at hunter2".into(), ..Started::default() };
        log.write(&started, Some("property \"x\" hunter2, then quo\"te"));
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("quo"), "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["metadata"]["log_file"], "at ***");
        assert_eq!(line["error"], "property \"x\" ***, then ***");
    }

    #[test]
    fn an_existing_file_is_made_private_and_a_torn_line_terminated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{\"kind\":\"started\"}\n{\"kind\":\"met").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = HealthLog::open(dir.path(), Redactor::default()).unwrap();
        assert_eq!(log.torn_line().map(|torn| torn.fragment_bytes), Some(12));
        log.write(&Started::default(), None);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["kind"], "started", "the new line is not glued to the fragment");
    }

    #[test]
    fn a_symlinked_producer_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("other.txt");
        std::fs::write(&target, "other\n").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(FILE_NAME)).unwrap();
        let error = HealthLog::open(dir.path(), Redactor::default()).unwrap_err().to_string();
        assert!(error.contains("producer.log is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "other\n");
    }
}
