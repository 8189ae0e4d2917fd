//! The tailer over real files in temporary directories.

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
