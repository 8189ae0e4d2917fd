//! How the real tracker binary ends when something goes wrong: a dead-letter topic that never
//! accepts a record, a second signal, a stop blocked on the disk, a closed stderr.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use testkit::tracker::*;
use testkit::wait_until;
use testkit::{Broker, Record};

const GENEROUS: Duration = Duration::from_secs(60);

fn stderr_of(dir: &Path, instance: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{instance}.stderr"))).unwrap_or_default()
}

/// The group's committed offset of `orders` partition `partition` (`None` if nothing was
/// committed).
fn committed_offset(broker: &Broker, partition: i32) -> Option<i64> {
    let consumer: BaseConsumer =
        broker.client_config().set("group.id", "order-tracker").create().expect("consumer for offsets");
    let mut list = TopicPartitionList::new();
    list.add_partition("orders", partition);
    let committed = consumer.committed_offsets(list, Duration::from_secs(10)).expect("committed offsets");
    match committed.find_partition("orders", partition).map(|element| element.offset()) {
        Some(Offset::Offset(offset)) => Some(offset),
        _ => None,
    }
}

/// The drill: a failed record whose dead-letter topic never accepts it. The tracker
/// must not stall silently: it tries a bounded number of times, then exits 1 with a clear
/// error, a `dlq_failed` entry per attempt (the last one fatal), and commits nothing from that
/// record on. After a restart with a working DLQ the record is delivered again and
/// dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_topic_that_never_accepts_stops_the_tracker_without_losing_the_record() {
    let broker = Broker::start().expect("broker starts");
    broker.create_topic("orders", 3).await.expect("orders topic");
    let dir = tempfile::tempdir().unwrap();
    // The broker creates a topic a client asks about unless the client says not to; without
    // the topic, each send fails after topic.metadata.propagation.max.ms.
    std::fs::write(
        dir.path().join("config.yaml"),
        "kafka:\n  properties:\n    allow.auto.create.topics: false\n    topic.metadata.propagation.max.ms: 1000\n",
    )
    .unwrap();
    let missing_dlq = [("DLQ_TOPIC", "orders-dlq-missing")];
    let mut tracker = Tracker::start(&broker, dir.path(), "refused", &missing_dlq);

    // One key: the three records share a partition, in this order.
    let mut records = valid_orders(7, 2);
    records.insert(1, Record::new("order-key", "not an order"));
    for record in &mut records {
        record.key = Some(b"order-key".to_vec());
    }
    let produced = broker.produce("orders", &records).await.expect("records acknowledged");
    let partition = produced[0].0;
    let offsets: Vec<i64> = produced.iter().map(|(_, offset)| *offset).collect();
    let unhandled = offsets[1];

    let status = tracker.wait_for_exit(Duration::from_secs(90));
    let stderr = stderr_of(dir.path(), "refused");
    assert_eq!(status.code(), Some(1), "exit code 1; stderr:\n{stderr}");
    let expected = format!(
        "error: the dead-letter topic orders-dlq-missing did not accept the failed message at orders/{partition} \
         offset {unhandled} in 5 attempts"
    );
    assert!(stderr.contains(&expected), "{expected:?} not in stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    eprintln!("tracker stderr:\n{stderr}");

    let failures = log_entries(dir.path(), "refused", "dlq_failed");
    assert_eq!(failures.len(), 5, "one dlq_failed entry per attempt: {failures:#?}");
    for (index, entry) in failures.iter().enumerate() {
        assert_eq!(entry["metadata"]["offset"].as_i64(), Some(unhandled));
        assert_eq!(entry["metadata"]["send_attempt"].as_u64(), Some(index as u64 + 1));
        assert_eq!(entry["metadata"]["fatal"].as_bool(), Some(index == 4), "{entry}");
        assert!(entry["error"].as_str().is_some_and(|e| !e.is_empty()), "{entry}");
    }
    assert!(log_entries(dir.path(), "refused", "stopped").is_empty(), "no graceful stop entry");
    let audited = offsets_seen(dir.path());
    assert!(audited.contains(&(i64::from(partition), unhandled)), "the record was audited");
    assert!(!audited.contains(&(i64::from(partition), offsets[2])), "nothing after it was handled");
    let committed = committed_offset(&broker, partition);
    assert!(
        committed.is_none_or(|next| next <= unhandled),
        "committed {committed:?}: nothing from offset {unhandled} on may be committed"
    );

    // With the topic there, a restart delivers the record again and dead-letters it.
    broker.create_topic("orders-dlq-missing", 1).await.expect("dlq topic");
    let mut again = Tracker::start(&broker, dir.path(), "refused-restart", &missing_dlq);
    let expected = offsets.iter().map(|offset| (i64::from(partition), *offset)).collect();
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    let letters = broker.read_exactly("orders-dlq-missing", 1, GENEROUS).expect("the dead letter");
    assert_eq!(letters[0].payload.as_deref(), Some(b"not an order".as_slice()));
    assert_eq!(letters[0].header("dlq.original.offset"), Some(unhandled.to_string().as_str()));
    again.signal(libc::SIGTERM);
    assert!(again.wait_for_exit(Duration::from_secs(20)).success());
}

/// A FIFO at the place of the instance's `.events` file, with a reader that never reads: once
/// the pipe's buffer is full, the tracker's writer thread blocks, as on a disk that does not
/// answer. Returns the reading end (keep it open).
fn blocked_events_file(dir: &Path, instance: &str) -> File {
    let path = dir.join(format!("tracker-{instance}.events"));
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
    OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).expect("FIFO reader")
}

/// Bytes waiting in the pipe of `reader`.
fn bytes_waiting(reader: &File) -> usize {
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int for a valid descriptor.
    assert_eq!(unsafe { libc::ioctl(reader.as_raw_fd(), libc::FIONREAD, &mut waiting) }, 0);
    usize::try_from(waiting).unwrap_or(0)
}

/// Starts a tracker whose `.events` writer blocks, feeds it until the pipe is full, and
/// returns it with the pipe's reader.
async fn tracker_blocked_on_its_events_file(
    broker: &Broker,
    dir: &Path,
    instance: &str,
    shutdown_timeout_ms: u64,
) -> (Tracker, File) {
    std::fs::write(
        dir.join("config.yaml"),
        format!("tracker:\n  shutdown_timeout_ms: {shutdown_timeout_ms}\n"),
    )
    .unwrap();
    let reader = blocked_events_file(dir, instance);
    let tracker = Tracker::start(broker, dir, instance, &[]);
    // About 3 KB of .events per order: 200 orders overflow the 64 KB pipe.
    produce_orders(broker, &valid_orders(11, 200)).await;
    wait_until(GENEROUS, "the .events pipe is full", || bytes_waiting(&reader) >= 65_536);
    (tracker, reader)
}

/// `shutdown_timeout_ms` holds even when the writer thread is blocked on the disk: the process
/// ends when it has passed, with code 1 and a line saying what was left undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_limit_holds_when_the_disk_blocks() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut tracker, _reader) =
        tracker_blocked_on_its_events_file(&broker, dir.path(), "stuck", 2_000).await;

    let signalled = Instant::now();
    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    let stderr = stderr_of(dir.path(), "stuck");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(took >= Duration::from_millis(1_900), "not before the limit: {took:?}");
    assert!(took < Duration::from_millis(3_500), "at the limit (2 s), took {took:?}");
    assert!(
        stderr.contains("tracker: the stop took longer than 2000 ms: exiting at once;")
            && stderr.contains("will be delivered again"),
        "says why and what was left undone:\n{stderr}"
    );
}

/// A second SIGTERM during a stop that cannot finish (its writer is blocked) exits at once,
/// long before the stop limit, with 128 + SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut tracker, _reader) =
        tracker_blocked_on_its_events_file(&broker, dir.path(), "twice", 60_000).await;

    tracker.signal(libc::SIGTERM);
    wait_until(Duration::from_secs(10), "the first signal is acknowledged", || {
        stderr_of(dir.path(), "twice").contains("stopping gracefully")
    });
    let second = Instant::now();
    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(10));
    let took = second.elapsed();
    let stderr = stderr_of(dir.path(), "twice");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "stderr:\n{stderr}");
    assert!(took < Duration::from_secs(2), "at once, took {took:?}");
    assert!(
        stderr.contains("tracker: second signal (SIGTERM) during the stop: exiting at once;")
            && stderr.contains("will be delivered again"),
        "says what was left undone:\n{stderr}"
    );
}

/// Runs the tracker with stderr a pipe whose reading end is already closed (as in
/// `tracker 2>&1 | head -2` once `head` is done): every write to stderr fails with EPIPE.
/// The tracker must go on, and stop gracefully with its stop entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_does_not_end_the_tracker() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut ends = [0; 2];
    // SAFETY: pipe(2) fills two descriptors, which are then owned here.
    assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracker"))
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("KAFKA_BROKER", broker.bootstrap())
        .env("TRACKER_INSTANCE_ID", "deaf")
        .env("TRACKER_LOG_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .spawn()
        .expect("tracker starts");
    let expected = produce_orders(&broker, &valid_orders(21, 20)).await;
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the tracker did not stop within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "graceful stop despite the closed stderr");
    let stop = log_entries(dir.path(), "deaf", "stopped");
    assert_eq!(stop.len(), 1, "a stop entry");
    assert_eq!(stop[0]["metadata"]["total_messages_processed"].as_u64(), Some(20));
}

/// Two trackers given the same instance id would append to the same files and mix their
/// counters in the monitor: the second one is refused at once, naming the first one's pid, and
/// the first one's files hold only its own start. Broker: Tansu.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tracker_with_the_same_instance_id_is_refused_naming_the_first() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let first = Tracker::start(&broker, dir.path(), "twin", &[]);
    wait_until(GENEROUS, "the first tracker has started", || {
        !log_entries(dir.path(), "twin", "started").is_empty()
    });
    let stderr = File::create(dir.path().join("twin-second.stderr")).unwrap();
    let mut second = Tracker::spawn(Tracker::command(&broker, dir.path(), "twin", &[]), "twin", stderr);
    let status = second.wait_for_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "the second tracker exits 1");
    let said = stderr_of(dir.path(), "twin-second");
    let pid = first.child.id();
    assert!(
        said.contains(&format!("held by another running tracker (pid {pid})")),
        "names the first tracker's pid {pid}:\n{said}"
    );
    assert_eq!(log_entries(dir.path(), "twin", "started").len(), 1, "only the first one wrote");
}
