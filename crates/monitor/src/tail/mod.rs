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
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Default size of one read.
pub const READ_CHUNK_BYTES: usize = 128 << 10;

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

mod reader;
mod source;

use self::reader::{
    close_if_idle, describe, let_go, note_open_failure, open_file_budget_from_limit, open_regular,
    out_of_descriptors, read_open, FollowedFile, PendingMemory, ReadTurn, Reader,
};
pub use self::source::{LineSink, PollOutcome, Source, SourceKind, TailWarning};

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

        let mut read = read_orphans(&mut followed.orphans, ReadTurn { source, buffer, memory, budget, sink });

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
        read += read_open(
            current,
            ReadTurn { source, buffer, memory, budget: budget.saturating_sub(read), sink },
        )?;
        Ok(read)
    }

    /// Closes every file read to its end whose path still names it (it is reopened when it
    /// grows). Returns how many were closed.
    fn close_idle_files(&mut self) -> usize {
        self.files.iter_mut().filter_map(|followed| followed.current.as_mut()).map(close_if_idle).sum()
    }
}

/// Reads a source's rotated or deleted files while they grow, within `turn`'s budget, and lets
/// go of each after [`ORPHAN_IDLE_POLLS`] polls without growth. Returns the bytes read.
fn read_orphans<S: LineSink>(orphans: &mut Vec<Reader>, turn: ReadTurn<'_, S>) -> u64 {
    let ReadTurn { source, buffer, memory, budget, sink } = turn;
    let mut read = 0;
    let mut orphan = 0;
    while orphan < orphans.len() {
        let reader = &mut orphans[orphan];
        let turn = ReadTurn {
            source,
            buffer: &mut *buffer,
            memory: &mut *memory,
            budget: budget.saturating_sub(read),
            sink: &mut *sink,
        };
        let got = read_open(reader, turn).unwrap_or(0);
        read += got;
        reader.idle_polls = if got > 0 { 0 } else { reader.idle_polls + 1 };
        if reader.idle_polls >= ORPHAN_IDLE_POLLS {
            orphans.swap_remove(orphan).finish(source, memory, sink);
        } else {
            orphan += 1;
        }
    }
    read
}

#[cfg(test)]
mod tests;
