//! The tracker's two output files, `tracker-<id>.events` and `tracker-<id>.log`.
//!
//! They are opened by [`service::output_file::open_append`]: created with mode 0600 (an
//! existing file is set back to 0600), never through a symlink, and a torn last line left by
//! an earlier run is terminated first (see [`LineFile::torn_line`]). They are opened in append
//! mode and never truncated: a restart adds to them. Lines are gathered in a memory buffer and
//! handed to a thread of the file's own, which writes them out with one `write` call per
//! batch, in order: when the buffer grows large, when the caller asks (at least every 200 ms),
//! and always before an offset is stored (see [`LineFile::hand_off`] and
//! [`LineFile::written`]). With `tracker.fsync: batch` the thread also waits for the disk
//! (`fdatasync`) before it reports a batch written.
//!
//! The `.events` file gets about 3 KB per message, and copying that into the kernel's page
//! cache took a third of the consumer loop's time when the loop did it itself.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use config::Fsync;
use service::output_file::{open_append, TornLine};

/// Buffered lines are written out once they reach this size, whatever the timer says.
const FLUSH_AT_BYTES: usize = 256 * 1024;
/// Batches of lines that may wait for a writer thread before handing off blocks.
const BATCHES_IN_FLIGHT: usize = 2;

/// Number of a batch of lines handed to the writer thread; batches are numbered from 1 in the
/// order they are handed off and written in that order.
pub type Batch = u64;

/// How far the writer thread got.
#[derive(Debug, Default)]
struct Progress {
    /// Every batch up to this one is written.
    written: Batch,
    /// Why writing stopped, if it did; nothing after the failed batch is written.
    failure: Option<(std::io::ErrorKind, String)>,
}

/// What the consumer loop and the writer thread share.
#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One append-only JSON-lines file: lines are gathered in a buffer, and full buffers are
/// written by a thread of its own, in order. [`LineFile::hand_off`] says which batch holds the
/// lines buffered so far; [`LineFile::written`] and [`LineFile::wait_written`] tell when it
/// is out of the process (and on the disk, with [`Fsync::Batch`]).
#[derive(Debug)]
pub struct LineFile {
    path: PathBuf,
    /// The unfinished last line an earlier run left, terminated at open.
    torn_line: Option<TornLine>,
    buffer: Vec<u8>,
    handed_off: Batch,
    to_writer: Option<SyncSender<Vec<u8>>>,
    /// Written buffers come back here, to be filled again.
    spare: Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LineFile {
    /// Opens (or creates) `path` for appending (see the module documentation) and starts its
    /// writer thread, named `<thread>-writer`, which syncs each batch to the disk as `fsync`
    /// says.
    pub fn open(path: &Path, thread: &str, fsync: Fsync) -> std::io::Result<LineFile> {
        let opened = open_append(path)?;
        let mut file = Self::writing_to(path, opened.file, thread, fsync)?;
        file.torn_line = opened.torn_line;
        Ok(file)
    }

    fn writing_to(path: &Path, mut file: File, thread: &str, fsync: Fsync) -> std::io::Result<LineFile> {
        let (to_writer, batches) = mpsc::sync_channel::<Vec<u8>>(BATCHES_IN_FLIGHT);
        let (give_back, spare) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let progress = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name(format!("{thread}-writer")).spawn(move || {
            for mut batch in batches {
                let result = file.write_all(&batch).and_then(|()| match fsync {
                    Fsync::Never => Ok(()),
                    Fsync::Batch => file.sync_data(),
                });
                let mut state = progress.progress();
                match result {
                    Ok(()) => state.written += 1,
                    Err(error) => state.failure = Some((error.kind(), error.to_string())),
                }
                let failed = state.failure.is_some();
                drop(state);
                progress.changed.notify_all();
                if failed {
                    return;
                }
                batch.clear();
                let _ = give_back.send(batch);
            }
        })?;
        Ok(LineFile {
            path: path.to_owned(),
            torn_line: None,
            buffer: Vec::with_capacity(FLUSH_AT_BYTES * 2),
            handed_off: 0,
            to_writer: Some(to_writer),
            spare,
            shared,
            thread: Some(thread),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unfinished last line that an earlier run left in the file, terminated when it was
    /// opened, so that the first line of this run stays readable.
    pub fn torn_line(&self) -> Option<&TornLine> {
        self.torn_line.as_ref()
    }

    /// The buffer to append complete lines to.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Whether the buffer has grown enough to be handed off now.
    pub fn wants_flush(&self) -> bool {
        self.buffer.len() >= FLUSH_AT_BYTES
    }

    /// Hands the buffered lines to the writer thread (waiting if it is
    /// [`BATCHES_IN_FLIGHT`] batches behind) and returns the batch that holds every line
    /// buffered so far. Fails if the writer stopped on an error.
    pub fn hand_off(&mut self) -> std::io::Result<Batch> {
        self.written()?;
        if self.buffer.is_empty() {
            return Ok(self.handed_off);
        }
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(FLUSH_AT_BYTES * 2));
        let full = std::mem::replace(&mut self.buffer, next);
        let sent = self.to_writer.as_ref().map(|writer| writer.send(full));
        if !matches!(sent, Some(Ok(()))) {
            // The thread is gone: it stopped on an error, which `written` reports.
            self.written()?;
            return Err(std::io::Error::other(format!(
                "the writer thread of {} stopped",
                self.path.display()
            )));
        }
        self.handed_off += 1;
        Ok(self.handed_off)
    }

    /// The last batch written out of the process, or the error that stopped the writer.
    pub fn written(&self) -> std::io::Result<Batch> {
        let progress = self.shared.progress();
        match &progress.failure {
            Some((kind, text)) => Err(std::io::Error::new(*kind, text.clone())),
            None => Ok(progress.written),
        }
    }

    /// Waits until `batch` is written out of the process, or the writer failed.
    pub fn wait_written(&self, batch: Batch) -> std::io::Result<()> {
        let mut progress = self.shared.progress();
        while progress.written < batch && progress.failure.is_none() {
            progress = self.shared.changed.wait(progress).unwrap_or_else(PoisonError::into_inner);
        }
        drop(progress);
        self.written().map(|_| ())
    }

    /// Hands off the buffered lines and waits until they are out of the process. After it
    /// returns, a crash of this process can no longer lose them.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let batch = self.hand_off()?;
        self.wait_written(batch)
    }
}

impl Drop for LineFile {
    /// Writes what is still buffered, then lets the thread finish.
    fn drop(&mut self) {
        let _ = self.hand_off();
        self.to_writer = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The pair of files of one tracker instance.
#[derive(Debug)]
pub struct TrackerFiles {
    /// `tracker-<id>.events`: one line per message received.
    pub events: LineFile,
    /// `tracker-<id>.log`: the instance's health.
    pub log: LineFile,
    /// `tracker-<id>.lock`, locked (`flock`) while this process writes the pair: two trackers
    /// given the same instance id would interleave their lines and counters. The kernel drops
    /// the lock when the process ends, SIGKILL included, so it is never stale.
    _lock: File,
}

impl TrackerFiles {
    /// Opens both files of `instance_id` in `dir`, creating the folder if needed; fails when
    /// another live tracker holds them, naming its pid.
    pub fn open(dir: &Path, instance_id: &str, fsync: Fsync) -> std::io::Result<TrackerFiles> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_instance(&dir.join(format!("tracker-{instance_id}.lock")), instance_id)?;
        Ok(TrackerFiles {
            events: LineFile::open(&dir.join(format!("tracker-{instance_id}.events")), "events", fsync)?,
            log: LineFile::open(&dir.join(format!("tracker-{instance_id}.log")), "log", fsync)?,
            _lock: lock,
        })
    }

    /// The torn last lines terminated at open (see [`LineFile::torn_line`]).
    pub fn torn_lines(&self) -> impl Iterator<Item = &TornLine> {
        [&self.events, &self.log].into_iter().filter_map(LineFile::torn_line)
    }

    /// Writes out both buffers and waits until every line is out of the process.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.events.flush()?;
        self.log.flush()
    }
}

/// Takes the instance's lock file (0600, never through a symlink) and writes this process's
/// pid into it; when another process holds it, an error that names that pid.
fn lock_instance(path: &Path, instance_id: &str) -> std::io::Result<File> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // SAFETY: flock(2) on a descriptor this function owns; no memory is shared with the call.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(error);
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder: String = holder.trim().chars().filter(char::is_ascii_digit).take(10).collect();
        let pid = if holder.is_empty() { "unknown".to_owned() } else { holder };
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "instance {instance_id}'s files are held by another running tracker (pid {pid}); give this \
                 one another instance id (--instance-id, TRACKER_INSTANCE_ID) or stop that one"
            ),
        ));
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn files_are_private_appended_and_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = TrackerFiles::open(dir.path(), "i-1", Fsync::Never).unwrap();
        files.events.buffer().extend_from_slice(b"{\"a\":1}\n");
        assert_eq!(std::fs::read(files.events.path()).unwrap(), b"", "nothing written before flush");
        files.flush().unwrap();
        assert_eq!(std::fs::read(files.events.path()).unwrap(), b"{\"a\":1}\n", "written by flush");
        drop(files);

        let mut again = TrackerFiles::open(dir.path(), "i-1", Fsync::Never).unwrap();
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
    fn a_second_open_of_the_same_instance_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = TrackerFiles::open(dir.path(), "twin", Fsync::Never).unwrap();
        let refused = TrackerFiles::open(dir.path(), "twin", Fsync::Never).unwrap_err();
        let text = refused.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("another instance id"), "{text}");
        assert!(TrackerFiles::open(dir.path(), "other", Fsync::Never).is_ok(), "other ids are free");
        drop(first);
        assert!(TrackerFiles::open(dir.path(), "twin", Fsync::Never).is_ok(), "free again once closed");
    }

    #[test]
    fn existing_files_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-x.log");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        TrackerFiles::open(dir.path(), "x", Fsync::Never).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn large_buffers_ask_to_be_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = LineFile::open(&dir.path().join("f"), "test", Fsync::Never).unwrap();
        file.buffer().resize(FLUSH_AT_BYTES, b'x');
        assert!(file.wants_flush());
    }

    #[test]
    fn batches_are_written_in_order_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut events = LineFile::open(&dir.path().join("e"), "test", Fsync::Batch).unwrap();
        assert_eq!(events.hand_off().unwrap(), 0, "nothing buffered, nothing to wait for");
        let mut expected = Vec::new();
        let mut last = 0;
        for i in 0..50 {
            let line = format!("{{\"n\":{i}}}\n");
            events.buffer().extend_from_slice(line.as_bytes());
            expected.extend_from_slice(line.as_bytes());
            if i % 3 == 0 {
                last = events.hand_off().unwrap();
            }
        }
        assert_eq!(last, 17);
        events.wait_written(last).unwrap();
        assert!(events.written().unwrap() >= last);
        events.flush().unwrap();
        assert_eq!(events.written().unwrap(), 18);
        assert_eq!(std::fs::read(events.path()).unwrap(), expected);
    }

    #[test]
    fn dropping_the_file_writes_what_is_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e");
        let mut events = LineFile::open(&path, "test", Fsync::Never).unwrap();
        events.buffer().extend_from_slice(b"{}\n");
        drop(events);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
    }

    #[test]
    fn a_write_failure_is_reported_and_nothing_after_it_counts_as_written() {
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let mut events = LineFile::writing_to(Path::new("/dev/full"), full, "test", Fsync::Never).unwrap();
        events.buffer().extend_from_slice(b"{}\n");
        let batch = events.hand_off().unwrap();
        let error = events.wait_written(batch).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
        assert!(events.written().is_err());
        events.buffer().extend_from_slice(b"{}\n");
        assert!(events.hand_off().is_err(), "no hand-off after a failure");
        assert!(events.flush().is_err());
    }

    #[test]
    fn with_fsync_batch_a_batch_counts_as_written_only_once_synced() {
        // /dev/null takes every write and refuses fdatasync (EINVAL): the sync decides.
        let open_null = || OpenOptions::new().write(true).open("/dev/null").unwrap();
        let mut never =
            LineFile::writing_to(Path::new("/dev/null"), open_null(), "test", Fsync::Never).unwrap();
        never.buffer().extend_from_slice(b"{}\n");
        never.flush().expect("written, not synced");

        let mut batch =
            LineFile::writing_to(Path::new("/dev/null"), open_null(), "test", Fsync::Batch).unwrap();
        batch.buffer().extend_from_slice(b"{}\n");
        let handed_off = batch.hand_off().unwrap();
        assert!(batch.wait_written(handed_off).is_err(), "a batch that could not be synced is not written");
        assert!(batch.written().is_err());
    }

    #[test]
    fn a_torn_line_left_by_an_earlier_run_is_terminated_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-t.log");
        std::fs::write(&path, "{\"kind\":\"started\"}\n{\"kind\":\"metr").unwrap();
        let mut files = TrackerFiles::open(dir.path(), "t", Fsync::Never).unwrap();
        let torn: Vec<_> = files.torn_lines().cloned().collect();
        assert_eq!(torn, [TornLine { path: path.clone(), fragment_bytes: 13 }]);
        files.log.buffer().extend_from_slice(b"{\"kind\":\"started\"}\n");
        files.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().last(), Some("{\"kind\":\"started\"}"), "the new entry is a line of its own");
    }

    #[test]
    fn a_symlinked_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "mine\n").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("tracker-s.log")).unwrap();
        let error = TrackerFiles::open(dir.path(), "s", Fsync::Never).unwrap_err().to_string();
        assert!(error.contains("tracker-s.log is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    }
}
