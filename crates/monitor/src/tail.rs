//! The [`Tailer`]: follows the tracker files of one directory incrementally and read-only.
//!
//! Per file it keeps the identity of the file it reads (device, inode, and a fingerprint of its
//! first bytes), the byte offset read so far and the unfinished last line, and on each
//! [`Tailer::poll`] reads only what was appended, within a byte budget so that a dashboard
//! catching up on big files stays responsive.
//!
//! - Only regular files are read; a symlink is followed to what it names. A FIFO, a device or
//!   a folder under a tracker file's name is skipped and reported as a [`TailWarning`]:
//!   reading it could block forever (a FIFO) or never end (`/dev/zero`).
//! - Truncation (size below the offset) or rewriting in place (the first bytes changed): start
//!   again from the beginning.
//! - Rotation or deletion (the path no longer names the file read): the old file is still read
//!   through its open handle as long as it grows, since its writer may keep appending until it
//!   reopens; it is let go after [`ORPHAN_IDLE_POLLS`] polls without growth. A file under the
//!   path is read from its start.
//! - Descriptors: at most [`Tailer::open_file_budget`] files stay open, from the process's
//!   open-file limit. Past it, files read to their end are closed and reopened when they grow,
//!   recognised again by inode and fingerprint. A file that cannot be opened is tried again at
//!   every poll and reported meanwhile.
//! - At most [`MAX_FOLLOWED_FILES`] files are followed; the others are reported, not read.
//! - A half-written last line stays pending until its newline arrives (or its file is let go,
//!   when it is handed over as it is).
//! - Memory: the unfinished lines of all files together hold at most `max_pending_bytes`
//!   (default [`MAX_LINE_BYTES`]); a line that would need more is dropped and reported.
//!
//! Files are opened read-only and non-blocking; nothing is created, written, locked or
//! truncated. Lines are handed over as raw bytes: invalid UTF-8 is the parser's business.
//! What the tailer cannot read is listed by [`Tailer::warnings`], for the screen and `--json`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Default size of one read.
pub const READ_CHUNK_BYTES: usize = 1 << 20;

/// Default limit of the bytes held in unfinished lines, all files together; it is also the
/// longest line kept. Longer lines, or lines that would take the total over it, are dropped.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Most files followed at once, so a directory full of junk cannot exhaust memory; the others
/// are reported by [`Tailer::warnings`].
pub const MAX_FOLLOWED_FILES: usize = 16_384;

/// Polls a rotated or deleted file is still read after it stopped growing.
pub const ORPHAN_IDLE_POLLS: u32 = 30;

/// Bytes at the start of a file remembered to recognise it later.
const FINGERPRINT_BYTES: usize = 256;

/// Descriptors left to the rest of the process (terminal, stdout, directory listing).
const DESCRIPTORS_KEPT_FREE: u64 = 32;

/// Fewest descriptors the tailer keeps open, whatever the limit says.
const MIN_OPEN_FILE_BUDGET: usize = 4;

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

/// The bytes held in unfinished lines, all files together, and the most allowed.
#[derive(Debug)]
struct PendingMemory {
    held: usize,
    limit: usize,
}

/// One file being read: its identity, how far it is read, and its unfinished last line.
#[derive(Debug)]
struct Reader {
    /// `None` when closed to save a descriptor; reopened by path when the file grows.
    file: Option<File>,
    device: u64,
    inode: u64,
    offset: u64,
    /// The first bytes read (up to [`FINGERPRINT_BYTES`]), to tell a rewritten file.
    fingerprint: Vec<u8>,
    /// Size and modification time at the last look.
    seen: (u64, i64, i64),
    /// Bytes after the last `\n` read so far.
    partial: Vec<u8>,
    /// Inside a line that was too long: skip until the next `\n`.
    discarding: bool,
    /// Polls since a rotated or deleted file last grew.
    idle_polls: u32,
}

impl Reader {
    fn new(file: File, metadata: &fs::Metadata) -> Reader {
        Reader {
            file: Some(file),
            device: metadata.dev(),
            inode: metadata.ino(),
            offset: 0,
            fingerprint: Vec::new(),
            seen: (0, 0, 0),
            partial: Vec::new(),
            discarding: false,
            idle_polls: 0,
        }
    }

    fn is(&self, metadata: &fs::Metadata) -> bool {
        self.device == metadata.dev() && self.inode == metadata.ino()
    }

    /// Forgets the unfinished line, giving its memory back.
    fn release_partial(&mut self, memory: &mut PendingMemory) {
        memory.held = memory.held.saturating_sub(self.partial.len());
        self.partial = Vec::new();
    }

    /// Starts again at the beginning of the file.
    fn restart(&mut self, memory: &mut PendingMemory) {
        self.release_partial(memory);
        self.offset = 0;
        self.fingerprint.clear();
        self.discarding = false;
    }

    /// Hands the unfinished line over as it is, for a file that is let go.
    fn finish(mut self, source: &Source, memory: &mut PendingMemory, sink: &mut impl LineSink) {
        if !self.partial.is_empty() && !self.discarding {
            sink.line(source, &self.partial);
        }
        self.release_partial(memory);
    }
}

#[derive(Debug)]
struct FollowedFile {
    source: Source,
    /// The file the path names, as far as it was read.
    current: Option<Reader>,
    /// Files the path named before (rotated or deleted), read while they grow.
    orphans: Vec<Reader>,
}

/// Follows every tracker file of one directory. See the module documentation.
#[derive(Debug)]
pub struct Tailer {
    dir: PathBuf,
    files: Vec<FollowedFile>,
    known_paths: HashSet<PathBuf>,
    buffer: Vec<u8>,
    memory: PendingMemory,
    open_file_budget: usize,
    /// Tracker file names on things that are not regular files, and what they are.
    not_regular: BTreeMap<PathBuf, &'static str>,
    /// Files that could not be opened at the last try, and why.
    cannot_open: BTreeMap<PathBuf, String>,
    /// Tracker files found at the last scan but not followed ([`MAX_FOLLOWED_FILES`]).
    not_followed: usize,
}

impl Tailer {
    /// A tailer over `dir` with the default chunk size and memory limit.
    pub fn new(dir: impl Into<PathBuf>) -> Tailer {
        Tailer::with_limits(dir, READ_CHUNK_BYTES, MAX_LINE_BYTES)
    }

    /// A tailer reading `chunk_bytes` at a time and holding at most `max_pending_bytes` of
    /// unfinished lines, all files together.
    pub fn with_limits(dir: impl Into<PathBuf>, chunk_bytes: usize, max_pending_bytes: usize) -> Tailer {
        Tailer {
            dir: dir.into(),
            files: Vec::new(),
            known_paths: HashSet::new(),
            buffer: vec![0; chunk_bytes.max(1)],
            memory: PendingMemory { held: 0, limit: max_pending_bytes.max(1) },
            open_file_budget: open_file_budget_from_limit(),
            not_regular: BTreeMap::new(),
            cannot_open: BTreeMap::new(),
            not_followed: 0,
        }
    }

    /// Keeps at most `budget` files open (at least a few); by default it comes from the
    /// process's open-file limit.
    pub fn with_open_file_budget(mut self, budget: usize) -> Tailer {
        self.open_file_budget = budget.max(MIN_OPEN_FILE_BUDGET);
        self
    }

    /// The most files kept open at once.
    pub fn open_file_budget(&self) -> usize {
        self.open_file_budget
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
            if self.known_paths.contains(&source.path) {
                continue;
            }
            // Through symlinks: a link to a regular file is read, a link to /dev/zero is not.
            match fs::metadata(&source.path) {
                Ok(metadata) if metadata.is_file() => {
                    self.not_regular.remove(&source.path);
                    found.push(source);
                }
                Ok(metadata) => {
                    self.not_regular.insert(source.path, describe(&metadata.file_type()));
                }
                // Gone already, or a symlink to nothing (yet).
                Err(_) => {}
            }
        }
        // Sorted so that instances appear in a stable order.
        found.sort_by(|a, b| a.path.cmp(&b.path));
        let room = MAX_FOLLOWED_FILES.saturating_sub(self.files.len());
        self.not_followed = found.len().saturating_sub(room);
        for source in found.into_iter().take(room) {
            sink.file_found(&source);
            self.known_paths.insert(source.path.clone());
            self.files.push(FollowedFile { source, current: None, orphans: Vec::new() });
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
        let mut open = self.open_file_count();
        for index in 0..self.files.len() {
            let was_open = self.files[index].current.as_ref().is_some_and(|reader| reader.file.is_some());
            let read = match self.read_file(index, budget, sink) {
                Err(error) if out_of_descriptors(&error) => {
                    // The limit is lower than the budget assumed (descriptors used elsewhere):
                    // make room and try once more.
                    open = open.saturating_sub(self.close_idle_files());
                    self.read_file(index, budget, sink).unwrap_or(0)
                }
                result => result.unwrap_or(0),
            };
            outcome.bytes_read += read;
            budget = budget.saturating_sub(read);
            if let Some(reader) = self.files[index].current.as_mut() {
                open = (open + usize::from(reader.file.is_some())).saturating_sub(usize::from(was_open));
                if open > self.open_file_budget {
                    open = open.saturating_sub(close_if_idle(reader));
                }
            }
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

    /// Hands every unfinished last line over as it is: after a one-shot read nothing will finish
    /// it, and a half-written line is still a line the report must count (as malformed).
    pub fn finish_unfinished_lines(&mut self, sink: &mut impl LineSink) {
        for followed in &mut self.files {
            for reader in followed.current.iter_mut().chain(&mut followed.orphans) {
                if !reader.partial.is_empty() && !reader.discarding {
                    sink.line(&followed.source, &reader.partial);
                }
                reader.release_partial(&mut self.memory);
            }
        }
    }

    /// Bytes in the followed files not read yet, as of the last look at their sizes.
    pub fn pending_bytes(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|followed| followed.current.iter().chain(&followed.orphans))
            .map(|reader| reader.seen.0.saturating_sub(reader.offset))
            .sum()
    }

    /// Number of files followed.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Number of files open now (at most [`Tailer::open_file_budget`], plus rotated files
    /// still growing).
    pub fn open_file_count(&self) -> usize {
        self.files
            .iter()
            .flat_map(|followed| followed.current.iter().chain(&followed.orphans))
            .filter(|reader| reader.file.is_some())
            .count()
    }

    /// Bytes held in unfinished lines now, all files together.
    pub fn pending_line_bytes(&self) -> usize {
        self.memory.held
    }

    /// What is not read now, and why: files that are not regular files, files that cannot be
    /// opened, files past [`MAX_FOLLOWED_FILES`]. Empty when everything is read.
    pub fn warnings(&self) -> Vec<TailWarning> {
        let mut warnings: Vec<TailWarning> = self
            .not_regular
            .iter()
            .map(|(path, what)| TailWarning::NotARegularFile { path: path.clone(), what })
            .collect();
        warnings.extend(
            self.cannot_open
                .iter()
                .map(|(path, error)| TailWarning::CannotOpen { path: path.clone(), error: error.clone() }),
        );
        if self.not_followed > 0 {
            warnings.push(TailWarning::TooManyFiles {
                followed: self.files.len(),
                not_followed: self.not_followed,
            });
        }
        warnings
    }

    /// Reads what was appended to one followed file (and to its rotated predecessors), within
    /// `budget` bytes. Returns the bytes read.
    fn read_file(&mut self, index: usize, budget: u64, sink: &mut impl LineSink) -> io::Result<u64> {
        let Tailer { files, buffer, memory, not_regular, cannot_open, .. } = self;
        let followed = &mut files[index];
        let source = &followed.source;

        let path_metadata = match fs::metadata(&source.path) {
            Ok(metadata) if metadata.is_file() => {
                not_regular.remove(&source.path);
                Some(metadata)
            }
            Ok(metadata) => {
                not_regular.insert(source.path.clone(), describe(&metadata.file_type()));
                None
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        };
        let replaced =
            |current: &mut Reader| path_metadata.as_ref().is_none_or(|metadata| !current.is(metadata));
        if let Some(current) = followed.current.take_if(replaced) {
            let_go(current, &mut followed.orphans, source, memory, sink);
            if path_metadata.is_some() {
                sink.restarted(source);
            }
        }

        // Rotated or deleted files: read while they grow, then let go.
        let mut read = 0;
        let mut orphan = 0;
        while orphan < followed.orphans.len() {
            let reader = &mut followed.orphans[orphan];
            let got =
                read_open(reader, source, buffer, memory, budget.saturating_sub(read), sink).unwrap_or(0);
            read += got;
            reader.idle_polls = if got > 0 { 0 } else { reader.idle_polls + 1 };
            if reader.idle_polls >= ORPHAN_IDLE_POLLS {
                followed.orphans.swap_remove(orphan).finish(source, memory, sink);
            } else {
                orphan += 1;
            }
        }

        let Some(path_metadata) = path_metadata else {
            cannot_open.remove(&source.path);
            return Ok(read);
        };
        match &mut followed.current {
            Some(current) if current.file.is_none() => {
                let unchanged =
                    current.seen == (path_metadata.len(), path_metadata.mtime(), path_metadata.mtime_nsec());
                if unchanged {
                    return Ok(read);
                }
                match open_regular(&source.path) {
                    Ok((file, metadata)) if current.is(&metadata) => current.file = Some(file),
                    Ok((file, metadata)) => {
                        // Replaced while closed: the old file cannot be read any more.
                        if let Some(old) = followed.current.replace(Reader::new(file, &metadata)) {
                            old.finish(source, memory, sink);
                        }
                        sink.restarted(source);
                    }
                    Err(error) => return Err(note_open_failure(cannot_open, source, error)),
                }
            }
            Some(_) => {}
            None => match open_regular(&source.path) {
                Ok((file, metadata)) => followed.current = Some(Reader::new(file, &metadata)),
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(read),
                Err(error) => return Err(note_open_failure(cannot_open, source, error)),
            },
        }
        cannot_open.remove(&source.path);
        let Some(current) = followed.current.as_mut() else { return Ok(read) };
        read += read_open(current, source, buffer, memory, budget.saturating_sub(read), sink)?;
        Ok(read)
    }

    /// Closes every file read to its end whose path still names it (it is reopened when it
    /// grows). Returns how many were closed.
    fn close_idle_files(&mut self) -> usize {
        self.files.iter_mut().filter_map(|followed| followed.current.as_mut()).map(close_if_idle).sum()
    }
}

/// Closes a file read to its end; 1 if it was closed.
fn close_if_idle(reader: &mut Reader) -> usize {
    if reader.file.is_some() && reader.offset >= reader.seen.0 {
        reader.file = None;
        1
    } else {
        0
    }
}

/// Whether an open failed for want of descriptors.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// The open-file budget from the soft `RLIMIT_NOFILE`, keeping some descriptors free.
fn open_file_budget_from_limit() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass.
    let soft =
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 { limit.rlim_cur } else { 1024 };
    let usable = soft.saturating_sub(DESCRIPTORS_KEPT_FREE);
    usize::try_from(usable).unwrap_or(usize::MAX).clamp(MIN_OPEN_FILE_BUDGET, MAX_FOLLOWED_FILES)
}

/// Records why `source` cannot be opened, for [`Tailer::warnings`].
fn note_open_failure(
    cannot_open: &mut BTreeMap<PathBuf, String>,
    source: &Source,
    error: io::Error,
) -> io::Error {
    cannot_open.insert(source.path.clone(), error.to_string());
    error
}

/// A file the path no longer names: kept while its handle is open (it may still grow),
/// finished at once otherwise.
fn let_go(
    reader: Reader,
    orphans: &mut Vec<Reader>,
    source: &Source,
    memory: &mut PendingMemory,
    sink: &mut impl LineSink,
) {
    if reader.file.is_some() {
        orphans.push(reader);
    } else {
        reader.finish(source, memory, sink);
    }
}

/// Opens a path read-only without blocking (a FIFO swapped in since the scan cannot hang the
/// monitor) and checks that it is a regular file.
fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok((file, metadata))
}

/// What a file type is, for [`TailWarning::NotARegularFile`].
fn describe(file_type: &fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Reads what was appended to an open file: checks first that it is still the file read so
/// far (not truncated, not rewritten), then reads from the offset to the end or the budget.
fn read_open(
    reader: &mut Reader,
    source: &Source,
    buffer: &mut [u8],
    memory: &mut PendingMemory,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let Some(file) = reader.file.take() else { return Ok(0) };
    let result = check_and_read(&file, reader, source, buffer, memory, budget, sink);
    reader.file = Some(file);
    result
}

/// [`read_open`] with the file taken out of the reader for the time of the read.
fn check_and_read(
    file: &File,
    reader: &mut Reader,
    source: &Source,
    buffer: &mut [u8],
    memory: &mut PendingMemory,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let metadata = file.metadata()?;
    let seen = (metadata.len(), metadata.mtime(), metadata.mtime_nsec());
    if seen != reader.seen {
        let truncated = seen.0 < reader.offset;
        if truncated || !same_start(file, &reader.fingerprint)? {
            reader.restart(memory);
            sink.restarted(source);
        }
        reader.seen = seen;
    }
    read_appended(file, reader, source, buffer, memory, budget, sink)
}

/// Whether the file still begins with `fingerprint`.
fn same_start(file: &File, fingerprint: &[u8]) -> io::Result<bool> {
    if fingerprint.is_empty() {
        return Ok(true);
    }
    let mut start = [0u8; FINGERPRINT_BYTES];
    let start = &mut start[..fingerprint.len()];
    let mut filled = 0;
    while filled < start.len() {
        let count = file.read_at(&mut start[filled..], filled as u64)?;
        if count == 0 {
            return Ok(false);
        }
        filled += count;
    }
    Ok(start == fingerprint)
}

/// Reads from the offset to the end of the file (or the budget) and splits lines.
fn read_appended(
    file: &File,
    reader: &mut Reader,
    source: &Source,
    buffer: &mut [u8],
    memory: &mut PendingMemory,
    budget: u64,
    sink: &mut impl LineSink,
) -> io::Result<u64> {
    let mut read_total = 0u64;
    while read_total < budget {
        let want = usize::try_from(budget - read_total).unwrap_or(usize::MAX).min(buffer.len());
        let count = file.read_at(&mut buffer[..want], reader.offset)?;
        if count == 0 {
            break;
        }
        let data = &buffer[..count];
        if reader.fingerprint.len() < FINGERPRINT_BYTES && reader.offset == reader.fingerprint.len() as u64 {
            let take = (FINGERPRINT_BYTES - reader.fingerprint.len()).min(count);
            reader.fingerprint.extend_from_slice(&data[..take]);
        }
        reader.offset += count as u64;
        reader.seen.0 = reader.seen.0.max(reader.offset);
        read_total += count as u64;
        split_lines(reader, source, data, memory, sink);
    }
    Ok(read_total)
}

/// Hands every complete line of `data` to the sink, joining it with the pending partial line.
fn split_lines(
    reader: &mut Reader,
    source: &Source,
    data: &[u8],
    memory: &mut PendingMemory,
    sink: &mut impl LineSink,
) {
    let mut rest = data;
    while let Some(newline) = memchr::memchr(b'\n', rest) {
        let piece = &rest[..newline];
        rest = &rest[newline + 1..];
        if reader.discarding {
            reader.discarding = false;
        } else if reader.partial.is_empty() {
            emit(source, piece, memory.limit, sink);
        } else if reader.partial.len() + piece.len() > memory.limit {
            reader.release_partial(memory);
            sink.line_dropped(source);
        } else {
            reader.partial.extend_from_slice(piece);
            emit(source, &reader.partial, memory.limit, sink);
            reader.release_partial(memory);
        }
    }
    if rest.is_empty() || reader.discarding {
        return;
    }
    if memory.held + rest.len() > memory.limit {
        reader.release_partial(memory);
        reader.discarding = true;
        sink.line_dropped(source);
    } else {
        reader.partial.extend_from_slice(rest);
        memory.held += rest.len();
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
        assert_eq!(sink.texts(), ["a", "b"]);
        // Its writer may still append through its handle; once it stopped growing for a while,
        // it is let go and its unfinished line handed over as it is.
        for _ in 0..ORPHAN_IDLE_POLLS {
            assert_eq!(tailer.poll(u64::MAX, &mut sink).unwrap().bytes_read, 0);
        }
        assert_eq!(sink.texts(), ["a", "b", "unfinished"]);
        assert_eq!(tailer.open_file_count(), 0);
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

    /// Runs `work` on a thread and fails if it does not finish within `seconds` (a hang would
    /// otherwise hang the test run).
    fn within<T: Send + 'static>(seconds: u64, work: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(work());
        });
        result
            .recv_timeout(std::time::Duration::from_secs(seconds))
            .unwrap_or_else(|_| panic!("did not finish within {seconds} s"))
    }

    fn mkfifo(path: &Path) {
        let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_and_a_link_to_a_device_are_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        mkfifo(&dir.path().join("tracker-zz.log"));
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("tracker-zz.events")).unwrap();
        append(&dir.path().join("tracker-ok.events"), b"fine\n");
        let path = dir.path().to_owned();
        let (sink, warnings) = within(20, move || {
            let mut tailer = Tailer::new(&path);
            let mut sink = Collected::default();
            tailer.read_all(&mut sink).unwrap();
            (sink, tailer.warnings())
        });
        assert_eq!(sink.texts(), ["fine"]);
        assert_eq!(sink.found, ["tracker-ok.events"]);
        let texts: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 2, "{texts:?}");
        assert!(
            texts[0].ends_with("tracker-zz.events is a character device, not a regular file: not read"),
            "{texts:?}"
        );
        assert!(texts[1].ends_with("tracker-zz.log is a FIFO, not a regular file: not read"), "{texts:?}");
    }

    #[test]
    fn a_followed_file_replaced_by_a_fifo_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        append(&path, b"one\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        fs::remove_file(&path).unwrap();
        mkfifo(&path);
        let (sink, warnings) = within(20, move || {
            tailer.read_all(&mut sink).unwrap();
            (sink, tailer.warnings())
        });
        assert_eq!(sink.texts(), ["one"]);
        assert!(
            matches!(warnings.as_slice(), [TailWarning::NotARegularFile { what: "a FIFO", .. }]),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_file_rewritten_in_place_between_polls_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        append(&path, b"{\"run\":1,\"n\":1}\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        // Same inode, longer than before: only its first bytes tell that it changed.
        fs::write(&path, b"{\"run\":2,\"n\":1}\n{\"run\":2,\"n\":2}\n").unwrap();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), [r#"{"run":1,"n":1}"#, r#"{"run":2,"n":1}"#, r#"{"run":2,"n":2}"#]);
        assert_eq!(sink.restarted, 1);
    }

    #[test]
    fn a_file_deleted_and_created_again_between_polls_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        append(&path, b"first file\n");
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        // The new file may get the inode number of the old one back.
        fs::remove_file(&path).unwrap();
        append(&path, b"second file, longer than the first\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["first file", "second file, longer than the first"]);
    }

    #[test]
    fn a_rotated_file_is_still_read_while_its_writer_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        let mut writer = fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
        writer.write_all(b"old 1\n").unwrap();
        let mut tailer = Tailer::new(dir.path());
        let mut sink = Collected::default();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        fs::rename(&path, dir.path().join("tracker-a.log.1")).unwrap();
        append(&path, b"new 1\n");
        tailer.poll(u64::MAX, &mut sink).unwrap();
        // The writer has not reopened yet: it keeps appending to the rotated file.
        writer.write_all(b"old 2\n").unwrap();
        tailer.poll(u64::MAX, &mut sink).unwrap();
        assert_eq!(sink.texts(), ["old 1", "new 1", "old 2"]);
    }

    #[test]
    fn unfinished_lines_share_one_memory_limit() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["tracker-a.events", "tracker-b.events", "tracker-c.events"] {
            append(&dir.path().join(name), &[b'x'; 600]);
        }
        let mut tailer = Tailer::with_limits(dir.path(), 64, 1000);
        let mut sink = Collected::default();
        tailer.read_all(&mut sink).unwrap();
        assert!(tailer.pending_line_bytes() <= 1000, "{} bytes held", tailer.pending_line_bytes());
        assert_eq!(sink.dropped, 2, "one unfinished line fits the limit, the other two do not");
        // The kept one still completes.
        append(&dir.path().join("tracker-a.events"), b"\n");
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.lines.len(), 1);
        assert_eq!(sink.lines[0].1.len(), 600);
        assert_eq!(tailer.pending_line_bytes(), 0);
    }

    #[test]
    fn past_the_open_file_budget_idle_files_are_closed_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..20).map(|n| format!("tracker-i{n:02}.events")).collect();
        for name in &names {
            append(&dir.path().join(name), b"1\n");
        }
        let mut tailer = Tailer::new(dir.path()).with_open_file_budget(4);
        let mut sink = Collected::default();
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.lines.len(), 20);
        assert!(tailer.open_file_count() <= 4, "{} open", tailer.open_file_count());
        for name in &names {
            append(&dir.path().join(name), b"2\n");
        }
        tailer.read_all(&mut sink).unwrap();
        assert_eq!(sink.lines.len(), 40, "every closed file was reopened and read on");
        assert!(tailer.open_file_count() <= 4);
        assert!(tailer.warnings().is_empty());
    }
}
