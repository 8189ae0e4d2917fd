//! The tracker's two output files, `tracker-<id>.events` and `tracker-<id>.log`.
//!
//! Both hold customer data, so they are created with mode 0600 (and an existing file is set
//! back to 0600). They are opened in append mode and never truncated: a restart adds to them.
//! Lines are gathered in a memory buffer and written out with one `write` call when the buffer
//! grows large, when the caller asks (at least every 200 ms), and always before an offset is
//! stored: see [`TrackerFiles::flush`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Buffered lines are written out once they reach this size, whatever the timer says.
const FLUSH_AT_BYTES: usize = 256 * 1024;

/// One append-only JSON-lines file with its buffer.
#[derive(Debug)]
pub struct LineFile {
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
}

impl LineFile {
    /// Opens (or creates) `path` for appending, readable by its owner only.
    pub fn open(path: &Path) -> std::io::Result<LineFile> {
        let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(LineFile { path: path.to_owned(), file, buffer: Vec::with_capacity(FLUSH_AT_BYTES * 2) })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The buffer to append complete lines to.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Whether the buffer has grown enough to be written out now.
    pub fn wants_flush(&self) -> bool {
        self.buffer.len() >= FLUSH_AT_BYTES
    }

    /// Whether some lines are still only in memory.
    pub fn has_pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Hands the buffered lines to the kernel. After it returns, a crash of this process can no
    /// longer lose them.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

/// The pair of files of one tracker instance.
#[derive(Debug)]
pub struct TrackerFiles {
    /// `tracker-<id>.events`: one line per message received.
    pub events: LineFile,
    /// `tracker-<id>.log`: the instance's health.
    pub log: LineFile,
}

impl TrackerFiles {
    /// Opens both files of `instance_id` in `dir`, creating the folder if needed.
    pub fn open(dir: &Path, instance_id: &str) -> std::io::Result<TrackerFiles> {
        std::fs::create_dir_all(dir)?;
        Ok(TrackerFiles {
            events: LineFile::open(&dir.join(format!("tracker-{instance_id}.events")))?,
            log: LineFile::open(&dir.join(format!("tracker-{instance_id}.log")))?,
        })
    }

    /// Writes out both buffers.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.events.flush()?;
        self.log.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_private_appended_and_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = TrackerFiles::open(dir.path(), "i-1").unwrap();
        files.events.buffer().extend_from_slice(b"{\"a\":1}\n");
        assert!(files.events.has_pending());
        assert_eq!(std::fs::read(files.events.path()).unwrap(), b"", "nothing written before flush");
        files.flush().unwrap();
        assert!(!files.events.has_pending());
        drop(files);

        let mut again = TrackerFiles::open(dir.path(), "i-1").unwrap();
        again.events.buffer().extend_from_slice(b"{\"a\":2}\n");
        again.flush().unwrap();
        let path = dir.path().join("tracker-i-1.events");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":2}\n");
        for name in ["tracker-i-1.events", "tracker-i-1.log"] {
            let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }

    #[test]
    fn existing_files_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-x.log");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        TrackerFiles::open(dir.path(), "x").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn large_buffers_ask_to_be_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = LineFile::open(&dir.path().join("f")).unwrap();
        file.buffer().resize(FLUSH_AT_BYTES, b'x');
        assert!(file.wants_flush());
    }
}
