//! Opening the project's output files the same careful way: the append-only JSON-lines files
//! (the tracker's `.events` and `.log`, `producer.log`: [`open_append`]), and the files a
//! command writes once ([`create_new_private`]: `dlq export --output`; [`replace_private`]:
//! `monitor --screenshot`).
//!
//! - **Never through a symlink.** The path is opened with `O_NOFOLLOW`: a `tracker-<id>.log`
//!   that points at another file is refused, so the tracker can neither append to that file
//!   nor change its mode. A FIFO is accepted (`mkfifo tracker-1.events` streams the audit
//!   lines to another program, which then sets the pace: when it stops reading, the writer
//!   blocks, and `tracker.shutdown_timeout_ms` still bounds a stop); devices and folders are
//!   refused.
//! - **Private.** The files hold customer data: created with mode 0600, and an existing file
//!   is set back to 0600 through the opened handle (`fchmod`), never by path.
//! - **A torn last line is terminated.** A run that died on a full disk (or was killed in the
//!   middle of a write) can leave a last line without its `\n`. Appending to it would glue the
//!   next run's first line onto the fragment and make both unreadable, so the fragment is
//!   terminated with a `\n` first and reported as a [`TornLine`]: it stays in the file as one
//!   malformed line, which readers count as such.

use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file mode of every output file: read and write for its owner only.
const PRIVATE_MODE: u32 = 0o600;

/// How much of the file's end is read at a time when looking for the fragment's start.
const SCAN_CHUNK_BYTES: u64 = 64 * 1024;

/// A last line without its `\n`, found at open and terminated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornLine {
    /// The file it was in.
    pub path: PathBuf,
    /// Length of the fragment, in bytes (what followed the last `\n`).
    pub fragment_bytes: u64,
}

impl fmt::Display for TornLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ended with an unfinished line of {} bytes (an earlier run stopped while writing it); \
             it is kept as one malformed line and terminated",
            self.path.display(),
            self.fragment_bytes
        )
    }
}

/// An output file opened for appending.
#[derive(Debug)]
pub struct AppendFile {
    /// The open file; every write goes to its end.
    pub file: File,
    /// The torn last line terminated at open, if there was one.
    pub torn_line: Option<TornLine>,
}

/// Opens (or creates) `path` for appending, private, refusing symlinks and anything but a
/// regular file or a FIFO, and terminates a torn last line. Errors name the file.
pub fn open_append(path: &Path) -> io::Result<AppendFile> {
    let named = |error: io::Error| io::Error::new(error.kind(), format!("{}: {error}", path.display()));
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(PRIVATE_MODE)
        // O_NONBLOCK: opening a FIFO without a reader fails at once instead of hanging.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; refusing to write through it (remove it, or choose \
                     another folder)",
                    path.display()
                ),
            ),
            Some(libc::ENXIO) => not_a_regular_file(path),
            _ => named(error),
        })?;
    let metadata = file.metadata().map_err(named)?;
    let kind = metadata.file_type();
    if !kind.is_file() && !kind.is_fifo() {
        return Err(not_a_regular_file(path));
    }
    clear_nonblocking(&file).map_err(named)?;
    if kind.is_fifo() {
        // Nothing rests in a FIFO: no mode to fix, no last line to read (reading would take
        // bytes meant for its reader).
        return Ok(AppendFile { file, torn_line: None });
    }
    if metadata.permissions().mode() & 0o777 != PRIVATE_MODE {
        file.set_permissions(Permissions::from_mode(PRIVATE_MODE)).map_err(named)?;
    }
    let torn_line = terminate_torn_line(&file, path, metadata.len()).map_err(named)?;
    Ok(AppendFile { file, torn_line })
}

/// Creates `path`, which must not exist, for writing: mode 0600, never through a symlink (a
/// symlink at `path`, even a dangling one, counts as existing: `O_CREAT | O_EXCL`), never over
/// anything. The error says when something is already there.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists => already_exists(path),
            _ => io::Error::new(error.kind(), format!("{}: {error}", path.display())),
        })
}

/// The error [`create_new_private`] returns when something is at `path`, for a caller that
/// checks before doing long work.
pub fn already_exists(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} already exists; refusing to overwrite it (remove it, or choose a new file name)",
            path.display()
        ),
    )
}

/// Writes `contents` to `path` whole or not at all: into a private (0600) temporary file beside
/// it, then renamed onto `path`. Nothing at `path`: the file appears (never over something
/// created in between). Something there: it is replaced only when it is a regular file (not a
/// symlink, which is never followed: the rename replaces names, not targets) whose first bytes
/// are `ours_starts_with` (a file this program wrote earlier); anything else is refused and
/// left as it was.
pub fn replace_private(path: &Path, contents: &[u8], ours_starts_with: &[u8]) -> io::Result<()> {
    let named = |error: io::Error| io::Error::new(error.kind(), format!("{}: {error}", path.display()));
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".")
        .suffix(".partial")
        .permissions(Permissions::from_mode(PRIVATE_MODE))
        .tempfile_in(folder)
        .map_err(named)?;
    temporary.write_all(contents).map_err(named)?;
    temporary.as_file().sync_all().map_err(named)?;
    let temporary = match temporary.persist_noclobber(path) {
        Ok(_) => return Ok(()),
        Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => error.file,
        Err(error) => return Err(named(error.error)),
    };
    let refuse = |why: &str| {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists and {why}; refusing to replace it (remove it, or choose a new file name)",
                path.display()
            ),
        )
    };
    let existing = std::fs::symlink_metadata(path).map_err(named)?;
    if existing.file_type().is_symlink() {
        return Err(refuse("is a symbolic link"));
    }
    if !existing.file_type().is_file() {
        return Err(refuse("is not a regular file"));
    }
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(named)?;
    let mut start = Vec::with_capacity(ours_starts_with.len());
    io::Read::read_to_end(&mut io::Read::take(&opened, ours_starts_with.len() as u64), &mut start)
        .map_err(named)?;
    if start != ours_starts_with {
        return Err(refuse("was not written by this program"));
    }
    temporary.persist(path).map_err(|error| named(error.error))?;
    Ok(())
}

fn not_a_regular_file(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is neither a regular file nor a FIFO (a device or a folder?); refusing to write to it",
            path.display()
        ),
    )
}

/// Regular files ignore `O_NONBLOCK`, but the descriptor should not carry it further.
fn clear_nonblocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Appends a `\n` when the file of `size` bytes does not end with one, and says how long the
/// unfinished line was.
fn terminate_torn_line(mut file: &File, path: &Path, size: u64) -> io::Result<Option<TornLine>> {
    if size == 0 {
        return Ok(None);
    }
    let mut chunk = vec![0u8; SCAN_CHUNK_BYTES as usize];
    let mut end = size;
    let mut fragment_bytes = 0;
    while end > 0 {
        let start = end.saturating_sub(SCAN_CHUNK_BYTES);
        let piece = &mut chunk[..(end - start) as usize];
        file.read_exact_at(piece, start)?;
        match piece.iter().rposition(|&byte| byte == b'\n') {
            Some(newline) => {
                fragment_bytes += piece.len() as u64 - newline as u64 - 1;
                break;
            }
            None => fragment_bytes += piece.len() as u64,
        }
        end = start;
    }
    if fragment_bytes == 0 {
        return Ok(None);
    }
    file.write_all(b"\n")?;
    Ok(Some(TornLine { path: path.to_owned(), fragment_bytes }))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_is_private_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.log");
        let opened = open_append(&path).unwrap();
        assert_eq!(opened.torn_line, None);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn an_existing_file_becomes_private_and_keeps_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("producer.log");
        std::fs::write(&path, "{\"a\":1}\n").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let mut opened = open_append(&path).unwrap();
        opened.file.write_all(b"{\"a\":2}\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn a_torn_last_line_is_terminated_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":").unwrap();
        let mut opened = open_append(&path).unwrap();
        assert_eq!(opened.torn_line, Some(TornLine { path: path.clone(), fragment_bytes: 5 }));
        opened.file.write_all(b"{\"a\":2}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":\n{\"a\":2}\n");
        assert_eq!(open_append(&path).unwrap().torn_line, None, "terminated once");
    }

    #[test]
    fn a_fragment_longer_than_a_chunk_is_measured_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker-a.events");
        let fragment = vec![b'x'; 3 * SCAN_CHUNK_BYTES as usize + 17];
        std::fs::write(&path, [b"{}\n".as_slice(), &fragment].concat()).unwrap();
        assert_eq!(open_append(&path).unwrap().torn_line.unwrap().fragment_bytes, fragment.len() as u64);
        let only_fragment = dir.path().join("tracker-b.events");
        std::fs::write(&only_fragment, &fragment).unwrap();
        assert_eq!(
            open_append(&only_fragment).unwrap().torn_line.unwrap().fragment_bytes,
            fragment.len() as u64
        );
    }

    #[test]
    fn a_symlink_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("tracker-a.log");
        symlink(&target, &link).unwrap();
        let error = open_append(&link).unwrap_err().to_string();
        assert!(error.contains("tracker-a.log is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(mode(&target), 0o644);
    }

    #[test]
    fn a_fifo_is_opened_without_hanging_and_nothing_is_read_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("tracker-a.events");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let mut opened = open_append(&fifo).expect("a FIFO is a valid place for the lines");
        assert_eq!(opened.torn_line, None);
        opened.file.write_all(b"{}\n").unwrap();
        let mut reader = std::fs::File::open(&fifo).unwrap();
        let mut line = [0u8; 3];
        std::io::Read::read_exact(&mut reader, &mut line).unwrap();
        assert_eq!(&line, b"{}\n", "what was written reaches the reader, whole");
    }

    #[test]
    fn create_new_private_makes_a_private_file_and_never_opens_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.jsonl");
        create_new_private(&path).unwrap().write_all(b"one\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        let error = create_new_private(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert!(error.to_string().ends_with("export.jsonl already exists; refusing to overwrite it (remove it, or choose a new file name)"), "{error}");
        let link = dir.path().join("dangling.jsonl");
        symlink(dir.path().join("nowhere"), &link).unwrap();
        assert_eq!(create_new_private(&link).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert!(!dir.path().join("nowhere").exists(), "nothing created through the link");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
    }

    #[test]
    fn replace_private_replaces_only_its_own_files_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shot.svg");
        replace_private(&path, b"<svg 1", b"<svg").unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        replace_private(&path, b"<svg 2", b"<svg").unwrap();
        assert_eq!((std::fs::read_to_string(&path).unwrap().as_str(), mode(&path)), ("<svg 2", 0o600));
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, "<sv").unwrap();
        let error = replace_private(&other, b"<svg 3", b"<svg").unwrap_err().to_string();
        assert!(error.contains("was not written by this program; refusing to replace it"), "{error}");
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "<sv");
        let link = dir.path().join("link.svg");
        symlink(&path, &link).unwrap();
        let error = replace_private(&link, b"<svg 4", b"<svg").unwrap_err().to_string();
        assert!(error.contains("is a symbolic link; refusing to replace it"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<svg 2");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("tracker-a.log");
        std::fs::create_dir(&folder).unwrap();
        assert!(open_append(&folder).is_err());
    }
}
