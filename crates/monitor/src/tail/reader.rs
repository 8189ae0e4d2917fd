//! Reading one file: its identity (device, inode, fingerprint of its first bytes), how far it
//! is read, its unfinished last line, and the descriptor bookkeeping.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{
    LineSink, Source, DESCRIPTORS_KEPT_FREE, FINGERPRINT_BYTES, MAX_FOLLOWED_FILES, MIN_OPEN_FILE_BUDGET,
};

/// The bytes held in unfinished lines, all files together, and the most allowed.
#[derive(Debug)]
pub(super) struct PendingMemory {
    pub(super) held: usize,
    pub(super) limit: usize,
}

/// One file being read: its identity, how far it is read, and its unfinished last line.
#[derive(Debug)]
pub(super) struct Reader {
    /// `None` when closed to save a descriptor; reopened by path when the file grows.
    pub(super) file: Option<File>,
    pub(super) device: u64,
    pub(super) inode: u64,
    pub(super) offset: u64,
    /// The first bytes read (up to [`FINGERPRINT_BYTES`]), to tell a rewritten file.
    pub(super) fingerprint: Vec<u8>,
    /// Size and modification time at the last look.
    pub(super) seen: (u64, i64, i64),
    /// Bytes after the last `\n` read so far.
    pub(super) partial: Vec<u8>,
    /// Inside a line that was too long: skip until the next `\n`.
    pub(super) discarding: bool,
    /// Polls since a rotated or deleted file last grew.
    pub(super) idle_polls: u32,
}

impl Reader {
    pub(super) fn new(file: File, metadata: &fs::Metadata) -> Reader {
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

    pub(super) fn is(&self, metadata: &fs::Metadata) -> bool {
        self.device == metadata.dev() && self.inode == metadata.ino()
    }

    /// Forgets the unfinished line, giving its memory back.
    pub(super) fn release_partial(&mut self, memory: &mut PendingMemory) {
        memory.held = memory.held.saturating_sub(self.partial.len());
        self.partial = Vec::new();
    }

    /// Starts again at the beginning of the file.
    pub(super) fn restart(&mut self, memory: &mut PendingMemory) {
        self.release_partial(memory);
        self.offset = 0;
        self.fingerprint.clear();
        self.discarding = false;
    }

    /// Hands the unfinished line over as it is, for a file that is let go.
    pub(super) fn finish(mut self, source: &Source, memory: &mut PendingMemory, sink: &mut impl LineSink) {
        if !self.partial.is_empty() && !self.discarding {
            sink.line(source, &self.partial);
        }
        self.release_partial(memory);
    }
}

#[derive(Debug)]
pub(super) struct FollowedFile {
    pub(super) source: Source,
    /// The file the path names, as far as it was read.
    pub(super) current: Option<Reader>,
    /// Files the path named before (rotated or deleted), read while they grow.
    pub(super) orphans: Vec<Reader>,
}

/// Closes a file read to its end; 1 if it was closed.
pub(super) fn close_if_idle(reader: &mut Reader) -> usize {
    if reader.file.is_some() && reader.offset >= reader.seen.0 {
        reader.file = None;
        1
    } else {
        0
    }
}

/// Whether an open failed for want of descriptors.
pub(super) fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// The open-file budget from the soft `RLIMIT_NOFILE`, keeping some descriptors free.
pub(super) fn open_file_budget_from_limit() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass.
    let soft =
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 { limit.rlim_cur } else { 1024 };
    let usable = soft.saturating_sub(DESCRIPTORS_KEPT_FREE);
    usize::try_from(usable).unwrap_or(usize::MAX).clamp(MIN_OPEN_FILE_BUDGET, MAX_FOLLOWED_FILES)
}

/// Records why `source` cannot be opened, for [`Tailer::warnings`].
pub(super) fn note_open_failure(
    cannot_open: &mut BTreeMap<PathBuf, String>,
    source: &Source,
    error: io::Error,
) -> io::Error {
    cannot_open.insert(source.path.clone(), error.to_string());
    error
}

/// A file the path no longer names: kept while its handle is open (it may still grow),
/// finished at once otherwise.
pub(super) fn let_go(
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
pub(super) fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok((file, metadata))
}

/// What a file type is, for [`TailWarning::NotARegularFile`].
pub(super) fn describe(file_type: &fs::FileType) -> &'static str {
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

/// What one read of a file works with besides the file and its [`Reader`].
pub(super) struct ReadTurn<'t, S> {
    /// Whose lines they are.
    pub(super) source: &'t Source,
    /// The read buffer, shared by every file.
    pub(super) buffer: &'t mut [u8],
    /// The memory budget of partial lines, shared by every file.
    pub(super) memory: &'t mut PendingMemory,
    /// How many bytes this read may take.
    pub(super) budget: u64,
    /// Where complete lines go.
    pub(super) sink: &'t mut S,
}

/// Reads what was appended to an open file: checks first that it is still the file read so
/// far (not truncated, not rewritten), then reads from the offset to the end or the budget.
pub(super) fn read_open(reader: &mut Reader, turn: ReadTurn<'_, impl LineSink>) -> io::Result<u64> {
    let Some(file) = reader.file.take() else { return Ok(0) };
    let result = check_and_read(&file, reader, turn);
    reader.file = Some(file);
    result
}

/// [`read_open`] with the file taken out of the reader for the time of the read.
pub(super) fn check_and_read(
    file: &File,
    reader: &mut Reader,
    turn: ReadTurn<'_, impl LineSink>,
) -> io::Result<u64> {
    let metadata = file.metadata()?;
    let seen = (metadata.len(), metadata.mtime(), metadata.mtime_nsec());
    if seen != reader.seen {
        let truncated = seen.0 < reader.offset;
        if truncated || !same_start(file, &reader.fingerprint)? {
            reader.restart(turn.memory);
            turn.sink.restarted(turn.source);
        }
        reader.seen = seen;
    }
    read_appended(file, reader, turn)
}

/// Whether the file still begins with `fingerprint`.
pub(super) fn same_start(file: &File, fingerprint: &[u8]) -> io::Result<bool> {
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
pub(super) fn read_appended(
    file: &File,
    reader: &mut Reader,
    turn: ReadTurn<'_, impl LineSink>,
) -> io::Result<u64> {
    let ReadTurn { source, buffer, memory, budget, sink } = turn;
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
pub(super) fn split_lines(
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

pub(super) fn emit(source: &Source, line: &[u8], max_line_bytes: usize, sink: &mut impl LineSink) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max_line_bytes {
        sink.line_dropped(source);
    } else if !line.iter().all(u8::is_ascii_whitespace) {
        sink.line(source, line);
    }
}
