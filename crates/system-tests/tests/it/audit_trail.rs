//! The audit trail across restarts, full disks and odd files, through the real binary: every
//! audit line names the broker lifetime it was read from, a torn line left by a full disk is
//! terminated by the next run, and the files are never written through a symlink.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::tracker::*;
use testkit::wait_until;
use testkit::Broker;

const GENEROUS: Duration = Duration::from_secs(60);

/// (partition, offset) of the `.events` lines read from the broker lifetime `cluster_id`.
fn offsets_read_from(dir: &std::path::Path, cluster_id: &str) -> BTreeSet<(i64, i64)> {
    lines(dir, "events")
        .iter()
        .filter(|line| line["cluster_id"] == cluster_id)
        .map(|line| (line["kafka_partition"].as_i64().unwrap(), line["kafka_offset"].as_i64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lines_name_the_broker_lifetime_they_were_read_from() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = BTreeMap::new();
    // The same tracker, the same files, two brokers that each start from offset 0: what the
    // local memory broker does across `./stop.sh; ./start.sh`.
    for cluster_id in ["lifetime-a", "lifetime-b"] {
        let broker = Broker::start_with_cluster_id(cluster_id).expect("broker starts");
        broker.create_topic("orders", 3).await.expect("orders topic");
        broker.create_topic("orders-dlq", 1).await.expect("dlq topic");
        let mut tracker = Tracker::start(&broker, dir.path(), "restarted", &[]);
        let produced = produce_orders(&broker, &valid_orders(1, 30)).await;
        wait_until(GENEROUS, &format!("every offset of {cluster_id} is audited"), || {
            produced.is_subset(&offsets_read_from(dir.path(), cluster_id))
        });
        tracker.signal(libc::SIGTERM);
        assert!(tracker.wait_for_exit(Duration::from_secs(15)).success());
        expected.insert(cluster_id, produced);
    }

    assert_eq!(expected["lifetime-a"], expected["lifetime-b"], "both lifetimes hand out the same offsets");
    let events = lines(dir.path(), "events");
    assert_eq!(events.len(), 60, "each record audited once");
    for cluster_id in ["lifetime-a", "lifetime-b"] {
        assert_eq!(offsets_read_from(dir.path(), cluster_id), expected[cluster_id], "{cluster_id}");
    }
    let initialised: Vec<_> = log_entries(dir.path(), "restarted", "kafka_initialised")
        .iter()
        .map(|entry| entry["metadata"]["cluster_id"].clone())
        .collect();
    assert_eq!(initialised, ["lifetime-a", "lifetime-b"], "the .log names each lifetime at start");
    let assigned = log_entries(dir.path(), "restarted", "partitions_assigned");
    assert!(assigned.iter().all(|entry| entry["metadata"]["cluster_id"].is_string()), "{assigned:?}");
}

/// Starts the real tracker binary like [`Tracker::start`], with its file-size limit
/// (RLIMIT_FSIZE) at `max_file_bytes`: a write past it fails with EFBIG, as on a full disk,
/// after writing what fits. SIGXFSZ is ignored, as a disk-full error sends no signal.
fn start_with_file_limit(
    broker: &Broker,
    dir: &Path,
    instance_id: &str,
    max_file_bytes: Option<u64>,
    metrics_interval_ms: &str,
    group: &str,
) -> Tracker {
    use std::os::unix::process::CommandExt;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{instance_id}.stderr")))
        .unwrap();
    let env = [("TRACKER_METRICS_INTERVAL_MS", metrics_interval_ms), ("KAFKA_CONSUMER_GROUP", group)];
    let mut command = Tracker::command(broker, dir, instance_id, &env);
    // SAFETY: signal and setrlimit are async-signal-safe and only touch the child.
    unsafe {
        command.pre_exec(move || {
            if let Some(bytes) = max_file_bytes {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Tracker::spawn(command, instance_id, stderr)
}

/// The lines of a file: parsed, or the raw text of a line that is not JSON.
fn parsed_lines(path: &Path) -> Vec<Result<Value, String>> {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    text.lines().map(|line| serde_json::from_str(line).map_err(|_| line.to_owned())).collect()
}

fn audited_offsets(path: &Path) -> BTreeSet<(i64, i64)> {
    parsed_lines(path)
        .into_iter()
        .flatten()
        .map(|line| (line["kafka_partition"].as_i64().unwrap(), line["kafka_offset"].as_i64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_leaves_a_torn_line_that_the_next_run_terminates() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let (id, log, events) =
        ("full", dir.path().join("tracker-full.log"), dir.path().join("tracker-full.events"));
    let ends_with_newline = |path: &Path| std::fs::read(path).unwrap().last() == Some(&b'\n');

    // Each run joins a group of its own: a member that died in the middle of a join keeps the
    // group's next join waiting for max.poll.interval.ms.
    // Run 1: metrics every 100 ms fill the .log up to its 6 KB limit; the write that crosses
    // it leaves a torn line, and the tracker stops.
    let mut tracker = start_with_file_limit(&broker, dir.path(), id, Some(6_000), "100", "run-1");
    let status = tracker.wait_for_exit(GENEROUS);
    assert_eq!(status.code(), Some(1), "exit 1 on a full disk");
    assert!(!ends_with_newline(&log), "the drill left a torn .log line");
    let stderr = std::fs::read_to_string(dir.path().join("full.stderr")).unwrap();
    assert!(stderr.contains("cannot write the tracker files"), "{stderr}");

    // Run 2, metrics rare: the .events file fills up with orders (3 KB each) and is torn in
    // its turn.
    let produced = produce_orders(&broker, &valid_orders(5, 40)).await;
    let mut tracker = start_with_file_limit(&broker, dir.path(), id, Some(20_000), "60000", "run-2");
    assert_eq!(tracker.wait_for_exit(GENEROUS).code(), Some(1));
    assert!(ends_with_newline(&log), "run 2 terminated the .log's torn line");
    assert!(!ends_with_newline(&events), "the drill left a torn .events line");

    // Run 3, with room: it terminates the .events line and audits everything.
    let mut tracker = start_with_file_limit(&broker, dir.path(), id, None, "60000", "run-3");
    wait_until(GENEROUS, "every order is audited", || produced.is_subset(&audited_offsets(&events)));
    tracker.signal(libc::SIGTERM);
    assert!(tracker.wait_for_exit(Duration::from_secs(15)).success());

    // Every line is JSON but the two fragments, each a line of its own and reported by size.
    let repairs = log_entries(dir.path(), id, "torn_line_terminated");
    let reported: Vec<(String, u64)> = repairs
        .iter()
        .map(|entry| {
            assert_eq!(entry["level"], "WARN");
            (
                entry["metadata"]["file"].as_str().unwrap().to_owned(),
                entry["metadata"]["fragment_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    for (path, name) in [(&log, "tracker-full.log"), (&events, "tracker-full.events")] {
        let fragments: Vec<String> = parsed_lines(path).into_iter().filter_map(Result::err).collect();
        assert_eq!(fragments.len(), 1, "{name}: one fragment, every other line is JSON: {fragments:?}");
        let (file, bytes) =
            reported.iter().find(|(file, _)| file.ends_with(name)).expect("fragment reported");
        assert_eq!(*bytes, fragments[0].len() as u64, "{file}");
    }
    assert_eq!(reported.len(), 2);
    let started = log_entries(dir.path(), id, "started").len();
    assert_eq!(started, 3, "each run's start entry is a line of its own");
    let stderr = std::fs::read_to_string(dir.path().join("full.stderr")).unwrap();
    assert!(stderr.contains("tracker-full.events ended with an unfinished line of"), "{stderr}");

    let output = Command::new(testkit::workspace_binary("monitor"))
        .args(["--once", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["instances"][0]["runs"], 3, "the monitor counts every run: {report}");
    assert_eq!(report["malformed_lines"]["events"], 1, "{report}");
    assert_eq!(report["malformed_lines"]["log"], 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_log_file_is_refused_and_its_target_left_alone() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("someone-elses.txt");
    std::fs::write(&target, "not the tracker's\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("tracker-linked.log")).unwrap();

    let mut tracker = Tracker::start(&broker, dir.path(), "linked", &[]);
    let status = tracker.wait_for_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1));
    let stderr = std::fs::read_to_string(dir.path().join("linked.stderr")).unwrap();
    assert!(
        stderr.contains("tracker-linked.log is a symbolic link; refusing to write through it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not the tracker's\n", "content unchanged");
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644, "mode unchanged");
}
