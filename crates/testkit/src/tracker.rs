//! The real `tracker` binary in a test, for the tracker's own tests and the system tests: run
//! it against a private broker, read its `.events` and `.log` files, wait for the offsets it
//! audits with explicit deadlines, and the orders and topics it reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{Broker, Record};
use models::OrderGenerator;
use serde_json::Value;

/// A running `tracker` process, killed on drop.
pub struct Tracker {
    pub child: Child,
    pub instance_id: String,
}

impl Tracker {
    /// Starts the real binary for `instance_id`, writing into `dir`, its stderr into
    /// `dir/<instance_id>.stderr`.
    pub fn start(broker: &Broker, dir: &Path, instance_id: &str, extra_env: &[(&str, &str)]) -> Tracker {
        Tracker::start_on(&broker.bootstrap(), dir, instance_id, extra_env)
    }

    /// [`Tracker::start`] against any bootstrap list (a [`crate::Cluster`]'s, say).
    pub fn start_on(bootstrap: &str, dir: &Path, instance_id: &str, extra_env: &[(&str, &str)]) -> Tracker {
        let stderr = std::fs::File::create(dir.join(format!("{instance_id}.stderr"))).unwrap();
        Tracker::spawn(Tracker::command_on(bootstrap, dir, instance_id, extra_env), instance_id, stderr)
    }

    /// The command [`Tracker::start`] runs, for a test that changes it before [`Tracker::spawn`]
    /// (a resource limit, say): the real binary in `dir`, reading `broker`, writing its files
    /// into `dir`, metrics every second, then `extra_env`; none of the project's variables of
    /// the test's environment.
    pub fn command(broker: &Broker, dir: &Path, instance_id: &str, extra_env: &[(&str, &str)]) -> Command {
        Tracker::command_on(&broker.bootstrap(), dir, instance_id, extra_env)
    }

    /// [`Tracker::command`] against any bootstrap list.
    pub fn command_on(bootstrap: &str, dir: &Path, instance_id: &str, extra_env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(crate::workspace_binary("tracker"));
        crate::die_with_test(&mut command);
        for var in config::ENV_VARS {
            command.env_remove(var.name);
        }
        command
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env("KAFKA_BROKER", bootstrap)
            .env("TRACKER_INSTANCE_ID", instance_id)
            .env("TRACKER_LOG_DIR", dir)
            .env("TRACKER_METRICS_INTERVAL_MS", "1000")
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    /// Starts `command` (from [`Tracker::command`]) for `instance_id`, its stderr into `stderr`.
    pub fn spawn(mut command: Command, instance_id: &str, stderr: std::fs::File) -> Tracker {
        let child = command.stderr(stderr).spawn().expect("tracker binary starts");
        Tracker { child, instance_id: instance_id.to_owned() }
    }

    /// Sends a signal (libc constant).
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid has no memory-safety concerns.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal delivered");
    }

    /// Waits for the process to exit, failing after `timeout`.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tracker {} did not exit within {timeout:?}",
                self.instance_id
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every complete JSON line of the files in `dir` whose names match `tracker-*.<extension>`.
pub fn lines(dir: &Path, extension: &str) -> Vec<Value> {
    files(dir, extension)
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let complete = match text.rfind('\n') {
                Some(end) => text[..=end].to_owned(),
                None => String::new(),
            };
            complete
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).expect("each line is JSON"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `tracker-*.<extension>` files in `dir`.
pub fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("tracker-") && name.ends_with(&format!(".{extension}"))
        })
        .collect();
    found.sort();
    found
}

/// Lines of one instance's `.log` of a given kind.
pub fn log_entries(dir: &Path, instance_id: &str, kind: &str) -> Vec<Value> {
    let path = dir.join(format!("tracker-{instance_id}.log"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["kind"] == kind)
        .collect()
}

/// Waits until every offset of `expected` is in some `.events` file of `dir`; on timeout the
/// failure lists what is missing and each instance's last log entries.
pub fn wait_for_offsets(dir: &Path, expected: &BTreeSet<(i64, i64)>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = offsets_seen(dir);
        if expected.is_subset(&seen) {
            return;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = expected.difference(&seen).take(20).collect();
            let logs: Vec<String> = files(dir, "log")
                .iter()
                .map(|path| {
                    let text = std::fs::read_to_string(path).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(6).collect();
                    format!("{}:\n{}", path.display(), tail.join("\n"))
                })
                .collect();
            panic!(
                "timed out after {timeout:?}: {} of {} offsets missing, e.g. {missing:?}\n{}",
                expected.difference(&seen).count(),
                expected.len(),
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Distinct (partition, offset) pairs in all `.events` files.
pub fn offsets_seen(dir: &Path) -> BTreeSet<(i64, i64)> {
    lines(dir, "events")
        .iter()
        .map(|line| (line["kafka_partition"].as_i64().unwrap(), line["kafka_offset"].as_i64().unwrap()))
        .collect()
}

/// `count` valid order events, keyed by order id.
pub fn valid_orders(seed: u64, count: usize) -> Vec<Record> {
    let mut generator = OrderGenerator::seeded(seed);
    (0..count)
        .map(|sequence| {
            let now = chrono::Utc::now();
            let order = generator.new_order(now);
            let event = generator.event(order, sequence as u64, now);
            Record::new(event.order.order_id.to_string(), event.to_json())
        })
        .collect()
}

/// A Tansu broker with the orders topic (3 partitions) and the dead-letter topic.
pub async fn broker_with_topics() -> Broker {
    with_topics(Broker::start().expect("Tansu starts")).await
}

/// An Apache Kafka broker with the orders topic (3 partitions) and the dead-letter topic.
pub async fn kafka_with_topics() -> Broker {
    with_topics(Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"))).await
}

async fn with_topics(broker: Broker) -> Broker {
    broker.create_topic("orders", 3).await.expect("orders topic");
    broker.create_topic("orders-dlq", 1).await.expect("dlq topic");
    broker
}

/// Produces `records` to the orders topic; returns every (partition, offset) acknowledged.
pub async fn produce_orders(broker: &Broker, records: &[Record]) -> BTreeSet<(i64, i64)> {
    let acknowledged = broker.produce("orders", records).await.expect("records acknowledged");
    acknowledged.into_iter().map(|(partition, offset)| (i64::from(partition), offset)).collect()
}

/// A record's header as kcat's `-J` prints headers (a flat list of names and values).
pub fn kcat_header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    let headers = record["headers"].as_array()?;
    let at = headers.iter().step_by(2).position(|value| value == name)?;
    headers.get(at * 2 + 1)?.as_str()
}

/// A record's (partition, offset) as kcat's `-J` prints them.
fn kcat_position(record: &Value) -> (i64, i64) {
    (record["partition"].as_i64().unwrap_or(-1), record["offset"].as_i64().unwrap_or(-1))
}

/// What an independent client (kcat, `read_committed`) finds in the topics the trackers
/// write, against what the orders topic holds, counted by the place each effect names
/// (the status record's `source_partition`/`source_offset`, the dead letter's
/// `dlq.original.partition`/`dlq.original.offset`). Nothing comes from watermarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectTally {
    /// Committed records of the orders topic (what `read_committed` readers see).
    pub committed: usize,
    /// Records of aborted producer transactions (seen by `read_uncommitted` only).
    pub aborted: usize,
    /// Committed valid orders (no `poison_kind` header): each needs one status record.
    pub valid: usize,
    /// Committed poison pills: each needs one dead letter.
    pub poison: usize,
    /// Status records read.
    pub status_records: usize,
    /// Status records beyond the first for the same source record.
    pub status_duplicates: usize,
    /// Valid committed orders without a status record.
    pub status_lost: usize,
    /// Status records of records of aborted producer transactions (must be 0).
    pub status_of_aborted: usize,
    /// Dead letters read.
    pub dead_letters: usize,
    /// Dead letters beyond the first for the same source record.
    pub dead_letter_duplicates: usize,
    /// Committed poison pills without a dead letter.
    pub dead_letters_lost: usize,
    /// Dead letters of records of aborted producer transactions or of valid orders (must be 0).
    pub dead_letters_unexpected: usize,
}

impl EffectTally {
    /// Reads (every second, each read is four kcat runs) until every committed record has its
    /// effect, or fails after `timeout`; returns the last tally.
    pub fn wait_until_complete(
        broker: &Broker,
        orders_topic: &str,
        status_topic: &str,
        dlq_topic: &str,
        timeout: std::time::Duration,
    ) -> EffectTally {
        let deadline = Instant::now() + timeout;
        loop {
            let tally = EffectTally::read(broker, orders_topic, status_topic, dlq_topic);
            if tally.status_lost == 0 && tally.dead_letters_lost == 0 {
                return tally;
            }
            assert!(Instant::now() < deadline, "effects still missing after {timeout:?}: {tally:?}");
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }

    /// Reads the orders topic (both isolation levels), `status_topic` and `dlq_topic` with
    /// kcat and counts.
    pub fn read(broker: &Broker, orders_topic: &str, status_topic: &str, dlq_topic: &str) -> EffectTally {
        let read = |topic: &str, isolation: &str| {
            broker.kcat_read(topic, isolation).unwrap_or_else(|error| panic!("kcat reads {topic}: {error:#}"))
        };
        let committed = read(orders_topic, "read_committed");
        let everything = read(orders_topic, "read_uncommitted");
        let status = read(status_topic, "read_committed");
        let dead_letters = read(dlq_topic, "read_committed");
        EffectTally::count(&committed, &everything, &status, &dead_letters)
    }

    /// The counts from the records kcat printed.
    pub fn count(
        committed: &[Value],
        everything: &[Value],
        status: &[Value],
        dead_letters: &[Value],
    ) -> EffectTally {
        use std::collections::BTreeMap;
        let committed_places: BTreeSet<(i64, i64)> = committed.iter().map(kcat_position).collect();
        let aborted: BTreeSet<(i64, i64)> =
            everything.iter().map(kcat_position).filter(|place| !committed_places.contains(place)).collect();
        let (poison, valid): (Vec<&Value>, Vec<&Value>) =
            committed.iter().partition(|record| kcat_header(record, "poison_kind").is_some());
        let valid: BTreeSet<(i64, i64)> = valid.into_iter().map(kcat_position).collect();
        let poison: BTreeSet<(i64, i64)> = poison.into_iter().map(kcat_position).collect();

        let mut status_by_source: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for record in status {
            let value: Value = record["payload"]
                .as_str()
                .and_then(|payload| serde_json::from_str(payload).ok())
                .unwrap_or_else(|| panic!("a status record is JSON: {record}"));
            let source = (
                value["source_partition"].as_i64().unwrap_or(-1),
                value["source_offset"].as_i64().unwrap_or(-1),
            );
            *status_by_source.entry(source).or_default() += 1;
        }
        let mut letters_by_source: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for letter in dead_letters {
            let number = |name| kcat_header(letter, name).and_then(|text| text.parse().ok()).unwrap_or(-1);
            *letters_by_source
                .entry((number("dlq.original.partition"), number("dlq.original.offset")))
                .or_default() += 1;
        }
        let beyond_the_first =
            |counts: &BTreeMap<(i64, i64), usize>| counts.values().map(|count| count - 1).sum();
        EffectTally {
            committed: committed.len(),
            aborted: aborted.len(),
            valid: valid.len(),
            poison: poison.len(),
            status_records: status.len(),
            status_duplicates: beyond_the_first(&status_by_source),
            status_lost: valid.iter().filter(|place| !status_by_source.contains_key(place)).count(),
            status_of_aborted: status_by_source.keys().filter(|place| aborted.contains(place)).count(),
            dead_letters: dead_letters.len(),
            dead_letter_duplicates: beyond_the_first(&letters_by_source),
            dead_letters_lost: poison.iter().filter(|place| !letters_by_source.contains_key(place)).count(),
            dead_letters_unexpected: letters_by_source.keys().filter(|place| !poison.contains(place)).count(),
        }
    }
}
