//! The [`Tailer`]: follows the tracker files of one directory incrementally and read-only.
//!
//! Per file it keeps the identity of the open file (device, inode), the byte offset read so
//! far and the unfinished last line, and on each [`Tailer::poll`] reads only what was appended,
//! within a byte budget so that a dashboard catching up on big files stays responsive.
//!
//! - Truncation (size below the offset): start again from the beginning.
//! - Rotation (the path now names another inode): finish reading the old file through the
//!   handle still open, then open the new one from its start.
//! - Deletion: finish reading the open handle, then forget it; a file created later under the
//!   same name is followed from its start.
//! - A half-written last line stays pending until its newline arrives (or its file is rotated
//!   away or deleted, when it is handed over as it is).
//! - Lines longer than `max_line_bytes` are dropped and reported, so memory stays bounded.
//!
//! Files are opened with `File::open` (read-only); nothing is created, written, locked or
//! truncated. Lines are handed over as raw bytes: invalid UTF-8 is the parser's business.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Default size of one read.
pub const READ_CHUNK_BYTES: usize = 1 << 20;

/// Default longest line kept; longer ones are dropped.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Most files followed at once, so a directory full of junk cannot exhaust memory.
pub const MAX_FOLLOWED_FILES: usize = 4096;

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

/// An open file being read.
#[derive(Debug)]
struct OpenFile {
    file: File,
    device: u64,
    inode: u64,
    offset: u64,
    /// Bytes after the last `\n` read so far.
    partial: Vec<u8>,
    /// Inside a line that was too long: skip until the next `\n`.
    discarding: bool,
    /// The path no longer names this file (rotated or deleted): read it to its end, then drop.
    orphaned: bool,
}

impl OpenFile {
    fn open(path: &Path) -> io::Result<OpenFile> {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        Ok(OpenFile {
            file,
            device: metadata.dev(),
            inode: metadata.ino(),
            offset: 0,
            partial: Vec::new(),
            discarding: false,
            orphaned: false,
        })
    }

    fn is(&self, metadata: &fs::Metadata) -> bool {
        self.device == metadata.dev() && self.inode == metadata.ino()
    }
}

#[derive(Debug)]
struct FollowedFile {
    source: Source,
    open: Option<OpenFile>,
    /// Size seen at the last look, for progress reporting.
    last_size: u64,
}

/// Follows every tracker file of one directory. See the module documentation.
#[derive(Debug)]
pub struct Tailer {
    dir: PathBuf,
    files: Vec<FollowedFile>,
    known_paths: HashSet<PathBuf>,
    buffer: Vec<u8>,
    max_line_bytes: usize,
}

impl Tailer {
    /// A tailer over `dir` with the default chunk size and line limit.
    pub fn new(dir: impl Into<PathBuf>) -> Tailer {
        Tailer::with_limits(dir, READ_CHUNK_BYTES, MAX_LINE_BYTES)
    }

    /// A tailer reading `chunk_bytes` at a time and dropping lines over `max_line_bytes`.
    pub fn with_limits(dir: impl Into<PathBuf>, chunk_bytes: usize, max_line_bytes: usize) -> Tailer {
        Tailer {
            dir: dir.into(),
            files: Vec::new(),
            known_paths: HashSet::new(),
            buffer: vec![0; chunk_bytes.max(1)],
            max_line_bytes: max_line_bytes.max(1),
        }
    }

    /// The directory followed.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Looks for files that appeared since the last scan and starts following them.
    pub fn scan(&mut self, sink: &mut impl LineSink) -> io::Result<()> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(source) = name.to_str().and_then(|name| Source::from_file_name(&self.dir, name)) else {
                continue;
            };
            if !self.known_paths.contains(&source.path) {
                found.push(source);
            }
        }
        // Sorted so that instances appear in a stable order.
        found.sort_by(|a, b| a.path.cmp(&b.path));
        for source in found {
            if self.files.len() >= MAX_FOLLOWED_FILES {
                break;
            }
            sink.file_found(&source);
            self.known_paths.insert(source.path.clone());
            self.files.push(FollowedFile { source, open: None, last_size: 0 });
        }
        Ok(())
    }

    /// Scans for new files, then reads at most about `budget_bytes` of appended data, handing
    /// every complete line to `sink`. I/O errors on one file are not fatal: it is tried again
    /// on the next poll.
    pub fn poll(&mut self, budget_bytes: u64, sink: &mut impl LineSink) -> io::Result<PollOutcome> {
        self.scan(sink)?;
        let mut outcome = PollOutcome::default();
        let mut budget = budget_bytes;
        for followed in &mut self.files {
            let read = read_file(followed, &mut self.buffer, self.max_line_bytes, budget, sink).unwrap_or(0);
            outcome.bytes_read += read;
            budget = budget.saturating_sub(read);
        }
        outcome.bytes_pending = self.pending_bytes();
        Ok(outcome)
    }

    /// Reads everything there is now, whatever its size (a one-shot report).
    pub fn read_all(&mut self, sink: &mut impl LineSink) -> io::Result<PollOutcome> {
        let mut total = PollOutcome::default();
        // A few rounds pick up rotations seen while reading; a file that keeps growing does
        // not keep a one-shot report from finishing.
        for _ in 0..4 {
            let outcome = self.poll(u64::MAX, sink)?;
            total.bytes_read += outcome.bytes_read;
            total.bytes_pending = outcome.bytes_pending;
            if outcome.bytes_read == 0 || outcome.caught_up() {
                break;
            }
        }
        Ok(total)
    }

    /// Bytes in the followed files not read yet, as of the last look at their sizes.
    pub fn pending_bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|followed| {
                let offset = followed.open.as_ref().map_or(0, |open| open.offset);
                followed.last_size.saturating_sub(offset)
            })
            .sum()
    }

    /// Number of files followed.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }
}

/// Reads what was appended to one file, within `budget` bytes. Returns the bytes read.
fn read_file(
    followed: &mut FollowedFile,
    buffer: &mut [u8],
    max_line_bytes: usize,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let path_metadata = match fs::metadata(&followed.source.path) {
        Ok(metadata) => Some(metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    if let Some(open) = &mut followed.open {
        if !path_metadata.as_ref().is_some_and(|metadata| open.is(metadata)) {
            open.orphaned = true;
        }
    }
    let mut read = 0;
    if followed.open.as_ref().is_some_and(|open| open.orphaned) {
        read += drain_orphan(followed, buffer, max_line_bytes, budget, sink)?;
    }
    if followed.open.is_none() {
        if path_metadata.is_none() {
            followed.last_size = 0;
            return Ok(read);
        }
        match OpenFile::open(&followed.source.path) {
            Ok(open) => followed.open = Some(open),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(read),
            Err(error) => return Err(error),
        }
    }
    let Some(open) = followed.open.as_mut().filter(|open| !open.orphaned) else {
        return Ok(read);
    };
    let size = open.file.metadata()?.len();
    if size < open.offset {
        open.offset = 0;
        open.partial.clear();
        open.discarding = false;
        sink.restarted(&followed.source);
    }
    followed.last_size = size;
    read += read_appended(open, &followed.source, buffer, max_line_bytes, budget.saturating_sub(read), sink)?;
    Ok(read)
}

/// Finishes a rotated or deleted file through its open handle; drops it once at its end.
fn drain_orphan(
    followed: &mut FollowedFile,
    buffer: &mut [u8],
    max_line_bytes: usize,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let Some(open) = followed.open.as_mut() else { return Ok(0) };
    let size = open.file.metadata()?.len();
    followed.last_size = size;
    let read = read_appended(open, &followed.source, buffer, max_line_bytes, budget, sink)?;
    if open.offset >= size {
        if !open.partial.is_empty() && !open.discarding {
            sink.line(&followed.source, &open.partial);
        }
        followed.open = None;
        followed.last_size = 0;
        sink.restarted(&followed.source);
    }
    Ok(read)
}

/// Reads from the offset to the end of the file (or the budget) and splits lines.
fn read_appended(
    open: &mut OpenFile,
    source: &Source,
    buffer: &mut [u8],
    max_line_bytes: usize,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let mut read_total = 0u64;
    while read_total < budget {
        let want = usize::try_from(budget - read_total).unwrap_or(usize::MAX).min(buffer.len());
        let count = open.file.read_at(&mut buffer[..want], open.offset)?;
        if count == 0 {
            break;
        }
        open.offset += count as u64;
        read_total += count as u64;
        split_lines(open, source, &buffer[..count], max_line_bytes, sink);
    }
    Ok(read_total)
}

/// Hands every complete line of `data` to the sink, joining it with the pending partial line.
fn split_lines(
    open: &mut OpenFile,
    source: &Source,
    data: &[u8],
    max_line_bytes: usize,
    sink: &mut impl LineSink,
) {
    let mut rest = data;
    while let Some(newline) = memchr::memchr(b'\n', rest) {
        let piece = &rest[..newline];
        rest = &rest[newline + 1..];
        if open.discarding {
            open.discarding = false;
        } else if open.partial.is_empty() {
            emit(source, piece, max_line_bytes, sink);
        } else if open.partial.len() + piece.len() > max_line_bytes {
            open.partial.clear();
            sink.line_dropped(source);
        } else {
            open.partial.extend_from_slice(piece);
            emit(source, &open.partial, max_line_bytes, sink);
            open.partial.clear();
        }
    }
    if rest.is_empty() || open.discarding {
        return;
    }
    if open.partial.len() + rest.len() > max_line_bytes {
        open.partial = Vec::new();
        open.discarding = true;
        sink.line_dropped(source);
    } else {
        open.partial.extend_from_slice(rest);
    }
}

fn emit(source: &Source, line: &[u8], max_line_bytes: usize, sink: &mut impl LineSink) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max_line_bytes {
        sink.line_dropped(source);
    } else if !line.iter().all(u8::is_ascii_whitespace) {
        sink.line(source, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Default)]
    struct Collected {
        found: Vec<String>,
        lines: Vec<(String, Vec<u8>)>,
        dropped: usize,
        restarted: usize,
    }

    impl LineSink for Collected {
        fn file_found(&mut self, source: &Source) {
            self.found.push(source.path.file_name().unwrap().to_string_lossy().into_owned());
        }
        fn line(&mut self, source: &Source, line: &[u8]) {
            self.lines.push((source.instance_id.clone(), line.to_vec()));
        }
        fn line_dropped(&mut self, _source: &Source) {
            self.dropped += 1;
        }
        fn restarted(&mut self, _source: &Source) {
            self.restarted += 1;
        }
    }

    impl Collected {
        fn texts(&self) -> Vec<String> {
            self.lines.iter().map(|(_, line)| String::from_utf8_lossy(line).into_owned()).collect()
        }
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut file = fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn recognises_file_names() {
        let dir = Path::new("/d");
        assert_eq!(Source::from_file_name(dir, "tracker-a-1.events").unwrap().kind, SourceKind::Events);
        assert_eq!(Source::from_file_name(dir, "tracker-a-1.log").unwrap().instance_id, "a-1");
        assert_eq!(Source::from_file_name(dir, "producer.log").unwrap().kind, SourceKind::Producer);
        assert!(Source::from_file_name(dir, "tracker-.log").is_none());
        assert!(Source::from_file_name(dir, "tracker-a.txt").is_none());
        assert!(Source::from_file_name(dir, "other.log").is_none());
    }

    #[test]
    fn reads_only_what_is_appended_and_waits_for_unfinished_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        append(&path, b"one\ntw");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["one"]);
        assert_eq!(tailer.poll(u64::MAX, &mut sink).unwrap().bytes_read, 0);
        append(&path, b"o\nthree\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["one", "two", "three"]);
        assert_eq!(sink.found, ["tracker-a.events"]);
    }

    #[test]
    fn truncation_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        append(&path, b"first line\nsecond line\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        fs::write(&path, b"new\n").unwrap();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["first line", "second line", "new"]);
        assert_eq!(sink.restarted, 1);
    }

    #[test]
    fn rotation_finishes_the_old_file_then_reads_the_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        append(&path, b"old 1\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        // The writer appends a last line to the old file, then it is renamed away.
        append(&path, b"old 2\n");
        fs::rename(&path, dir.path().join("tracker-a.log.1")).unwrap();
        append(&path, b"new 1\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["old 1", "old 2", "new 1"]);
    }

    #[test]
    fn deleted_file_is_finished_and_a_recreated_one_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        append(&path, b"a\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        append(&path, b"b\nunfinished");
        fs::remove_file(&path).unwrap();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["a", "b", "unfinished"]);
        assert_eq!(tailer.poll(u64::MAX, &mut sink).unwrap().bytes_read, 0);
        append(&path, b"c\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["a", "b", "unfinished", "c"]);
    }

    #[test]
    fn a_line_of_several_megabytes_crosses_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        let long = vec![b'x'; 5 << 20];
        append(&path, b"before\n");
        append(&path, &long);
        append(&path, b"\nafter\n");
        let mut tailer = Tailer::with_limits(dir.path(), 64 << 10, MAX_LINE_BYTES);
        let mut sink = Collected::default();
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.lines.len(), 3);
        assert_eq!(sink.lines[1].1.len(), 5 << 20);
        assert_eq!(sink.texts()[2], "after");
    }

    #[test]
    fn lines_over_the_limit_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        append(&path, b"ok\n");
        append(&path, &vec![b'x'; 10_000]);
        append(&path, b"\nfine\n");
        let mut tailer = Tailer::with_limits(dir.path(), 1000, 4000);
        let mut sink = Collected::default();
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.texts(), ["ok", "fine"]);
        assert_eq!(sink.dropped, 1);
    }

    #[test]
    fn invalid_utf8_is_passed_through_as_bytes() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("tracker-a.log"), b"\xff\xfe bad\r\n\nok\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.lines[0].1, b"\xff\xfe bad");
        assert_eq!(sink.texts()[1], "ok");
    }

    #[test]
    fn files_appearing_later_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(tailer.file_count(), 0);
        append(&dir.path().join("tracker-b.log"), b"hello\n");
        append(&dir.path().join("producer.log"), b"p\n");
        append(&dir.path().join("unrelated.txt"), b"no\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.found, ["producer.log", "tracker-b.log"]);
        assert_eq!(sink.lines.len(), 2);
    }

    #[test]
    fn budget_bounds_each_poll() {
        let dir = tempfile::tempdir().unwrap();
        let line = b"0123456789\n";
        for _ in 0..100 {
            append(&dir.path().join("tracker-a.events"), line);
        }
        let mut tailer = Tailer::with_limits(dir.path(), 64, MAX_LINE_BYTES);
        let mut sink = Collected::default();
        let outcome = tailer.poll(200, &mut sink).unwrap();
        assert_eq!(outcome.bytes_read, 200);
        assert_eq!(outcome.bytes_pending, 1100 - 200);
        while !tailer.poll(200, &mut sink).unwrap().caught_up() {}
        assert_eq!(sink.lines.len(), 100);
    }

    #[test]
    fn never_writes_to_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        append(&path, b"x\n");
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        let mut tailer = Tailer::new(dir.path());
        tailer.read_all(&mut Collected::default()).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
