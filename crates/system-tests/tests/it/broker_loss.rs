//! The broker-loss drills (issue 26): a private cluster of three Apache Kafka nodes
//! ([`testkit::Cluster::kafka3`]: replication factor 3, `min.insync.replicas=2`), the real
//! producer binary sending a steady flood, three real tracker binaries auditing, and one or two
//! nodes taken away:
//!
//! - a. SIGKILL the leader of partition 0 (found from metadata): a new leader is elected,
//!   production and audit go on; restart it, the ISR is back to 3
//!   ([`leader_of_partition_0_killed_under_load_loses_nothing`]);
//! - b. SIGKILL two of three: below `min.insync.replicas` the producer's records are refused
//!   (failed, never acknowledged); restart both and production resumes
//!   ([`two_of_three_killed_refuses_records_and_loses_nothing_acknowledged`]);
//! - c. SIGSTOP a leader for longer than the broker session timeout, then SIGCONT
//!   ([`broker_frozen_longer_than_its_session_rejoins`]).
//!
//! Counting is done by reading the topic back with an independent client (kcat,
//! `scripts/kcat.sh`) and the trackers' `.events` files, never from watermarks. The producer
//! logs counts, not offsets: every record read back must be audited, and the topic must hold at
//! least as many records as the producer counted acknowledged (exactly as many when none
//! failed: the producer is idempotent, so a retry never writes a record twice).
//!
//! `make drills` runs them one after the other and prints the measured times.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::tracker::{lines, log_entries, offsets_seen, Tracker};
use testkit::{project_command, wait_until, workspace_binary, Cluster, Finished, Running};

/// The trackers of each drill.
const TRACKERS: [&str; 3] = ["drill-1", "drill-2", "drill-3"];

/// The drills' producer reports its counters every second (the default is 5 s).
const PRODUCER_CONFIG: &str = "producer:\n  metrics_interval_ms: 1000\n";

/// Longest run of a drill's producer, from its start to its exit after SIGTERM.
const PRODUCER_RUN_LIMIT: Duration = Duration::from_secs(900);

/// A drill's cluster, topics, trackers and folder.
struct Drill {
    cluster: Cluster,
    dir: tempfile::TempDir,
    trackers: Vec<Tracker>,
    started: Instant,
}

impl Drill {
    /// Three nodes, the topics created by the real producer (`--create-topics`), checked with
    /// Kafka's own `kafka-topics --describe`, three trackers that have their partitions.
    fn start() -> Drill {
        let started = Instant::now();
        let cluster = Cluster::kafka3().unwrap_or_else(|error| panic!("three Kafka nodes start: {error:#}"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), PRODUCER_CONFIG).unwrap();
        let create = producer_command(&cluster, dir.path(), &["--create-topics", "--count", "0"]);
        testkit::run(create, Duration::from_secs(90)).expect_code(0);

        let describe = kafka_topics_describe(&cluster, "orders");
        assert!(describe.contains("ReplicationFactor: 3"), "orders has 3 replicas:\n{describe}");
        assert!(describe.contains("min.insync.replicas=2"), "orders needs 2 in sync:\n{describe}");
        let describe = kafka_topics_describe(&cluster, "orders-dlq");
        assert!(describe.contains("ReplicationFactor: 3"), "orders-dlq has 3 replicas:\n{describe}");
        assert!(describe.contains("min.insync.replicas=2"), "orders-dlq needs 2 in sync:\n{describe}");

        let trackers: Vec<Tracker> =
            TRACKERS.iter().map(|id| Tracker::start_on(&cluster.bootstrap(), dir.path(), id, &[])).collect();
        wait_until(Duration::from_secs(90), "the three trackers have partitions", || {
            TRACKERS.iter().all(|id| !log_entries(dir.path(), id, "partitions_assigned").is_empty())
        });
        eprintln!("drill: cluster, topics and trackers ready in {:.1} s", started.elapsed().as_secs_f64());
        Drill { cluster, dir, trackers, started }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The real producer binary, `args` added, against the three nodes.
    fn producer(&self, args: &[&str]) -> Running {
        Running::start(producer_command(&self.cluster, self.path(), args))
    }

    /// The producer's last `metrics` entry's acknowledged count (0 before the first).
    fn acknowledged_so_far(&self) -> u64 {
        producer_entries(self.path(), "metrics")
            .last()
            .and_then(|entry| entry["metadata"]["acknowledged"].as_u64())
            .unwrap_or(0)
    }

    /// Waits until the producer's acknowledged count grows by `more` past what it is now:
    /// production goes on. Returns how long that took.
    fn wait_for_acknowledgements(&self, more: u64, timeout: Duration, when: &str) -> Duration {
        let start = Instant::now();
        let from = self.acknowledged_so_far();
        wait_until(
            timeout,
            &format!("the producer's acknowledged count grows by {more} past {from} {when}"),
            || self.acknowledged_so_far() >= from + more,
        );
        start.elapsed()
    }

    /// The highest audited offset of `partition`, if any.
    fn highest_audited(&self, partition: i64) -> Option<i64> {
        offsets_seen(self.path()).iter().filter(|(p, _)| *p == partition).map(|(_, o)| *o).max()
    }

    /// Waits until the trackers audit records of `partition` past the highest audited now.
    fn wait_for_audit_beyond(&self, partition: i64, timeout: Duration, when: &str) -> Duration {
        let start = Instant::now();
        let from = self.highest_audited(partition).unwrap_or(-1);
        wait_until(
            timeout,
            &format!("the trackers audit partition {partition} past offset {from} {when}"),
            || self.highest_audited(partition).unwrap_or(-1) > from,
        );
        start.elapsed()
    }

    /// Stops the producer with SIGTERM (it flushes, then prints its summary) and returns its
    /// `stopped` entry's counters.
    fn stop_producer(&self, producer: Running) -> (Finished, ProducerSummary) {
        producer.signal(libc::SIGTERM);
        // The limit counts from the producer's start: the drill's length, plus its flush.
        let finished = producer.finish(PRODUCER_RUN_LIMIT);
        (finished, self.producer_summary())
    }

    fn producer_summary(&self) -> ProducerSummary {
        let stopped = producer_entries(self.path(), "stopped");
        let entry = stopped.last().unwrap_or_else(|| panic!("the producer logged no stopped entry"));
        let count =
            |name: &str| entry["metadata"][name].as_u64().unwrap_or_else(|| panic!("{name} in {entry}"));
        ProducerSummary {
            sent: count("sent"),
            acknowledged: count("acknowledged"),
            failed: count("failed"),
            lost: count("lost"),
        }
    }

    /// Every record of `orders` read back by kcat, as (partition, offset); then waits until the
    /// trackers audited all of them, stops the trackers, and checks the audit against the
    /// topic and the producer's acknowledged count. Returns what reading back found.
    fn audit_everything(&mut self, summary: &ProducerSummary) -> Audit {
        let records = read_back(&self.cluster, "orders");
        let on_topic: BTreeSet<(i64, i64)> = records.keys().copied().collect();
        let events: BTreeSet<&String> = records.values().collect();
        let timeout = Duration::from_secs(180);
        let path = self.dir.path().to_owned();
        wait_until(timeout, &format!("the trackers audit all {} records read back", on_topic.len()), || {
            offsets_seen(&path).is_superset(&on_topic)
        });
        for tracker in &self.trackers {
            tracker.signal(libc::SIGTERM);
        }
        for tracker in &mut self.trackers {
            assert!(
                tracker.wait_for_exit(Duration::from_secs(30)).success(),
                "{} exits 0",
                tracker.instance_id
            );
        }
        let audited = offsets_seen(self.path());
        let audit_lines = lines(self.path(), "events");
        assert_eq!(audited, on_topic, "the trackers audited exactly the records on the topic");
        let distinct_events = events.len() as u64;
        assert!(
            distinct_events >= summary.acknowledged,
            "0 acknowledged records lost: {distinct_events} distinct events on the topic, {} acknowledged \
             ({summary:?})",
            summary.acknowledged
        );
        if summary.failed == 0 && summary.lost == 0 {
            assert_eq!(
                (on_topic.len() as u64, distinct_events),
                (summary.acknowledged, summary.acknowledged),
                "nothing failed: the topic holds what was acknowledged, each once"
            );
        }
        let dead_letters: usize =
            TRACKERS.iter().map(|id| log_entries(self.path(), id, "dlq_sent").len()).sum();
        assert_eq!(dead_letters, 0, "no valid order reached the dead-letter topic");
        let skipped_as_duplicates = TRACKERS
            .iter()
            .flat_map(|id| log_entries(self.path(), id, "stopped"))
            .map(|entry| entry["metadata"]["total_duplicates"].as_u64().unwrap_or(0))
            .sum();
        Audit {
            topic_records: on_topic.len() as u64,
            distinct_events,
            duplicate_audit_lines: audit_lines.len() as u64 - audited.len() as u64,
            skipped_as_duplicates,
        }
    }
}

impl Drill {
    /// Waits until `monitor --once --json` over the drill's files shows partition `partition`
    /// as `wanted` says; returns its row (`partition_lag[]`).
    fn wait_for_monitor_partition(
        &self,
        partition: i64,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        let mut last = Value::Null;
        while start.elapsed() < timeout {
            let mut monitor =
                project_command(&workspace_binary("monitor"), self.path(), &["--json", "--dir", "."]);
            monitor.stdout(std::process::Stdio::piped());
            let summary: Value = serde_json::from_str(&run_to_end(monitor, Duration::from_secs(30)).stdout)
                .expect("monitor --json prints JSON");
            let row = summary["partition_lag"]
                .as_array()
                .and_then(|rows| rows.iter().find(|row| row["partition"] == partition))
                .cloned()
                .unwrap_or(Value::Null);
            if wanted(&row) {
                return row;
            }
            last = row;
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("the monitor did not show partition {partition} {what} within {timeout:?}; last row: {last}")
    }
}

/// Leader and ISR of `partition` in `kafka-topics --describe` output.
fn describe_partition(describe: &str, partition: i32) -> (i32, Vec<i64>) {
    let line = describe
        .lines()
        .find(|line| line.contains(&format!("Partition: {partition}\t")))
        .unwrap_or_else(|| panic!("no partition {partition} in:\n{describe}"));
    let field = |name: &str| {
        line.split('\t')
            .find_map(|part| part.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .trim()
            .to_owned()
    };
    let mut isr: Vec<i64> = field("Isr:").split(',').map(|id| id.parse().unwrap()).collect();
    isr.sort_unstable();
    (field("Leader:").parse().unwrap(), isr)
}

/// The sorted ISR of a monitor row.
fn isr_of(row: &Value) -> Vec<i64> {
    let mut isr: Vec<i64> = row["in_sync_replicas"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    isr.sort_unstable();
    isr
}

/// The producer's `stopped` entry.
#[derive(Debug)]
struct ProducerSummary {
    sent: u64,
    acknowledged: u64,
    failed: u64,
    lost: u64,
}

/// What reading back found.
#[derive(Debug)]
struct Audit {
    /// Records on the topic (kcat).
    topic_records: u64,
    /// Distinct `event_id`s among them: a record written twice (a retry after a timed-out
    /// request whose first attempt was stored) counts once.
    distinct_events: u64,
    /// Audit lines beyond the first of each (partition, offset): redeliveries to the trackers.
    duplicate_audit_lines: u64,
    /// Records the trackers skipped as duplicates of an event they had handled (their
    /// `stopped` entries): copies of one event at several offsets included.
    skipped_as_duplicates: u64,
}

fn producer_command(cluster: &Cluster, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = project_command(&workspace_binary("producer"), dir, args);
    command.env("KAFKA_BROKER", cluster.bootstrap()).env("PRODUCER_LOG_DIR", dir);
    command
}

fn producer_entries(dir: &Path, kind: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("producer.log")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["kind"] == kind)
        .collect()
}

/// Kafka's own `kafka-topics --describe` of `topic`.
fn kafka_topics_describe(cluster: &Cluster, topic: &str) -> String {
    let mut command = std::process::Command::new(testkit::workspace_root().join("scripts/kafka.sh"));
    command.args([
        "tool",
        "topics",
        "--bootstrap-server",
        &cluster.bootstrap(),
        "--describe",
        "--topic",
        topic,
    ]);
    run_to_end(command, Duration::from_secs(60)).stdout
}

/// Runs `command` to its end, its output in files; fails the test unless it exits 0 in time.
fn run_to_end(mut command: std::process::Command, limit: Duration) -> Finished {
    testkit::run_with_output_in_files(&mut command, limit)
        .unwrap_or_else(|killed| panic!("{command:?} did not finish within {limit:?}\n{}", killed.all()))
        .expect_code(0)
}

/// Every record of `topic`, read from the start to the end by kcat: (partition, offset) →
/// the `event_id` of its payload.
fn read_back(cluster: &Cluster, topic: &str) -> BTreeMap<(i64, i64), String> {
    let mut kcat = cluster.kcat();
    kcat.args(["-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\\n"]);
    let finished = run_to_end(kcat, Duration::from_secs(120));
    finished
        .stdout
        .lines()
        .map(|line| {
            let mut fields = line.splitn(3, ' ');
            let mut next = || fields.next().unwrap_or_else(|| panic!("kcat line {line:?}"));
            let (partition, offset, payload) = (next(), next(), next());
            let event: Value =
                serde_json::from_str(payload).unwrap_or_else(|_| panic!("an order event: {line}"));
            let event_id =
                event["event_id"].as_str().unwrap_or_else(|| panic!("an event_id: {line}")).to_owned();
            ((partition.parse().unwrap(), offset.parse().unwrap()), event_id)
        })
        .collect()
}

/// Broker: Apache Kafka, 3 nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_of_partition_0_killed_under_load_loses_nothing() {
    let mut drill = Drill::start();
    let producer = drill.producer(&["--rate", "500"]);
    drill.wait_for_acknowledgements(2_000, Duration::from_secs(60), "before the kill");

    let before = drill.cluster.partition("orders", 0).unwrap();
    assert_eq!(before.isr.len(), 3, "all three in sync before the kill: {before:?}");
    let victim = u16::try_from(before.leader).expect("partition 0 has a leader");
    let killed_at = Instant::now();
    drill.cluster.kill(victim).unwrap();
    let (new_leader, election) =
        drill.cluster.wait_for_leader("orders", 0, before.leader, Duration::from_secs(60)).unwrap();
    let during = drill.cluster.partition("orders", 0).unwrap();
    assert!(!during.isr.contains(&before.leader), "the dead node left the ISR: {during:?}");
    assert_eq!(during.isr.len(), 2, "under-replicated, still at min.insync.replicas: {during:?}");
    // The monitor shows it from the trackers' metrics entries, as Kafka's own tool does.
    let shown = drill.wait_for_monitor_partition(
        0,
        Duration::from_secs(30),
        "under-replicated, led by the new leader",
        |p| p["leader"] == new_leader && p["under_replicated"] == true && p["below_min_insync"] == false,
    );
    let described = describe_partition(&kafka_topics_describe(&drill.cluster, "orders"), 0);
    assert_eq!(
        (shown["leader"].as_i64(), isr_of(&shown)),
        (Some(i64::from(described.0)), described.1.clone()),
        "the monitor's leader and ISR of partition 0 are kafka-topics --describe's: {shown}"
    );
    let producing_again =
        drill.wait_for_acknowledgements(1_000, Duration::from_secs(60), "after the election");
    let auditing_again = drill.wait_for_audit_beyond(0, Duration::from_secs(60), "after the election");
    let down_for = killed_at.elapsed();

    let restarting = Instant::now();
    drill.cluster.restart(victim).unwrap();
    let restart_took = restarting.elapsed();
    let recovery = drill.cluster.wait_for_isr("orders", 3, Duration::from_secs(120)).unwrap();
    drill.wait_for_monitor_partition(0, Duration::from_secs(30), "in sync again", |p| {
        p["under_replicated"] == false
    });
    drill.wait_for_acknowledgements(1_000, Duration::from_secs(60), "after the restart");
    let (finished, summary) = drill.stop_producer(producer);
    assert_eq!(finished.code, Some(0), "the producer exits 0\n{}", finished.all());
    let mut analyze = std::process::Command::new(testkit::workspace_root().join("analyze_logs.sh"));
    let monitor = workspace_binary("monitor");
    analyze.arg(drill.path()).env("BIN_DIR", monitor.parent().expect("the monitor's folder"));
    let report = run_to_end(analyze, Duration::from_secs(60)).stdout;
    let change = format!("partition 0: node {victim} -> node {new_leader}");
    assert!(report.contains(&change), "analyze_logs.sh reports the leader change ({change}):\n{report}");
    assert_eq!(
        (summary.failed, summary.lost),
        (0, 0),
        "no record failed across a leader election: {summary:?}"
    );
    let audit = drill.audit_everything(&summary);
    eprintln!(
        "drill a: killed node {victim} (leader of orders/0); new leader {new_leader} in the metadata after \
         {:.1} s; producer acknowledging again {:.1} s and trackers auditing new records of partition 0 {:.1} s \
         after that; node down {:.1} s; restarted node answering after {:.1} s, ISR back to 3 {:.1} s later. Producer: {} sent, {} acknowledged, \
         {} failed; topic read back: {} records ({} distinct events), all audited, {} duplicate audit lines, {} skipped by the trackers as duplicate events. Drill {:.0} s.",
        election.as_secs_f64(),
        producing_again.as_secs_f64(),
        auditing_again.as_secs_f64(),
        down_for.as_secs_f64(),
        restart_took.as_secs_f64(),
        recovery.as_secs_f64(),
        summary.sent,
        summary.acknowledged,
        summary.failed,
        audit.topic_records,
        audit.distinct_events,
        audit.duplicate_audit_lines,
        audit.skipped_as_duplicates,
        drill.started.elapsed().as_secs_f64(),
    );
}

/// Broker: Apache Kafka, 3 nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_killed_refuses_records_and_loses_nothing_acknowledged() {
    let mut drill = Drill::start();
    let producer = drill.producer(&["--rate", "200"]);
    drill.wait_for_acknowledgements(1_000, Duration::from_secs(60), "before the kills");

    let leader = drill.cluster.partition("orders", 0).unwrap().leader;
    let victims: Vec<u16> =
        [leader, leader % 3 + 1].iter().map(|&node| u16::try_from(node).unwrap()).collect();
    let survivor = (1..=3u16).find(|node| !victims.contains(node)).unwrap();
    let audited_before = offsets_seen(drill.path()).len();
    for &victim in &victims {
        drill.cluster.kill(victim).unwrap();
    }
    // Longer than message.timeout.ms (30 s): records waiting for the missing replicas fail.
    let outage = Duration::from_secs(40);
    let outage_end = Instant::now() + outage;
    // The producer's metrics entries come every second: the count 3 s after the kills holds
    // every acknowledgement of records written before them.
    let settled = Instant::now() + Duration::from_secs(3);
    let mut acknowledged_settled = None;
    while Instant::now() < outage_end {
        assert!(
            drill.trackers.iter_mut().all(|t| t.child.try_wait().unwrap().is_none()),
            "the trackers run on"
        );
        if acknowledged_settled.is_none() && Instant::now() >= settled {
            acknowledged_settled = Some(drill.acknowledged_so_far());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let acknowledged_settled = acknowledged_settled.expect("read 3 s into the outage");
    let acknowledged_during = drill.acknowledged_so_far() - acknowledged_settled;
    // One node of three: no ISR can shrink (the controller quorum is gone too) and none can
    // reach min.insync.replicas, so acks=all acknowledges nothing.
    assert_eq!(acknowledged_during, 0, "nothing acknowledged with one node of three");
    let failed_during = producer_entries(drill.path(), "metrics")
        .last()
        .and_then(|entry| entry["metadata"]["failed"].as_u64())
        .unwrap_or(0);
    let audited_during = offsets_seen(drill.path()).len();

    let restarted_at = Instant::now();
    for &victim in &victims {
        drill.cluster.restart(victim).unwrap();
    }
    let restart_took = restarted_at.elapsed();
    let recovery = drill.cluster.wait_for_isr("orders", 3, Duration::from_secs(180)).unwrap();
    let resumed = drill.wait_for_acknowledgements(1_000, Duration::from_secs(120), "after both restarts");
    let (finished, summary) = drill.stop_producer(producer);
    let said: Vec<&str> =
        finished.stderr.lines().filter(|line| line.contains("records are failing")).collect();
    assert!(!said.is_empty(), "the producer says records are failing:\n{}", finished.stderr);
    let audit = drill.audit_everything(&summary);
    assert!(
        summary.failed > 0 || summary.lost > 0,
        "records sent during the outage were not acknowledged: {summary:?}"
    );
    assert!(audited_during >= audited_before, "the audit went on");
    eprintln!(
        "drill b: killed nodes {victims:?}, node {survivor} alone for {:.0} s: {acknowledged_during} records \
         acknowledged from 3 s after the kills to the end of the outage, {failed_during} counted failed by then; both nodes answering {:.1} s after \
         their restart, ISR back to 3 {:.1} s later, production acknowledged again {:.1} s after that. Producer: {} sent, {} acknowledged, \
         {} failed, {} lost; topic read back: {} records ({} distinct events), all audited, {} duplicate audit lines, {} skipped by the trackers as duplicate events. \
         The producer said \"records are failing\" {} time(s). Drill {:.0} s.",
        outage.as_secs_f64(),
        restart_took.as_secs_f64(),
        recovery.as_secs_f64(),
        resumed.as_secs_f64(),
        summary.sent,
        summary.acknowledged,
        summary.failed,
        summary.lost,
        audit.topic_records,
        audit.distinct_events,
        audit.duplicate_audit_lines,
        audit.skipped_as_duplicates,
        said.len(),
        drill.started.elapsed().as_secs_f64(),
    );
}

/// Broker: Apache Kafka, 3 nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_frozen_longer_than_its_session_rejoins() {
    let mut drill = Drill::start();
    let producer = drill.producer(&["--rate", "500"]);
    drill.wait_for_acknowledgements(2_000, Duration::from_secs(60), "before the freeze");

    let before = drill.cluster.partition("orders", 0).unwrap();
    let frozen = u16::try_from(before.leader).expect("partition 0 has a leader");
    drill.cluster.pause(frozen).unwrap();
    let frozen_at = Instant::now();
    let election = drill.cluster.wait_for_leader("orders", 0, before.leader, Duration::from_secs(60));
    // Longer than broker.session.timeout.ms (9 s) and the trackers' session (6 s).
    let freeze = Duration::from_secs(20);
    std::thread::sleep(freeze.saturating_sub(frozen_at.elapsed()));
    drill.cluster.resume(frozen).unwrap();
    let (new_leader, election) = election.unwrap();
    let recovery = drill.cluster.wait_for_isr("orders", 3, Duration::from_secs(120)).unwrap();
    drill.wait_for_acknowledgements(1_000, Duration::from_secs(60), "after the thaw");
    let (finished, summary) = drill.stop_producer(producer);
    let audit = drill.audit_everything(&summary);
    eprintln!(
        "drill c: froze node {frozen} (leader of orders/0) for {:.0} s; new leader {new_leader} after {:.1} s; \
         ISR back to 3 {:.1} s after SIGCONT. Producer: {} sent, {} acknowledged, {} failed, {} lost (exit {:?}); \
         topic read back: {} records ({} distinct events), all audited, {} duplicate audit lines, {} skipped by the trackers as duplicate events. Drill {:.0} s.",
        freeze.as_secs_f64(),
        election.as_secs_f64(),
        recovery.as_secs_f64(),
        summary.sent,
        summary.acknowledged,
        summary.failed,
        summary.lost,
        finished.code,
        audit.topic_records,
        audit.distinct_events,
        audit.duplicate_audit_lines,
        audit.skipped_as_duplicates,
        drill.started.elapsed().as_secs_f64(),
    );
}
