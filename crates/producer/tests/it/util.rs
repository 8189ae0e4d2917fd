//! Helpers: the `producer` command (run with [`testkit::run`] or [`testkit::Running`]), its
//! `producer.log`, the records it sent.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub use testkit::{run, Running};

/// The binary under test.
pub const PRODUCER: &str = env!("CARGO_BIN_EXE_producer");

/// A `producer` command run in `dir` (so no stray `config.yaml` is read), with the project's
/// environment variables removed so only the test's own settings apply.
pub fn producer(dir: &Path, args: &[&str]) -> Command {
    let mut command = testkit::project_command(Path::new(PRODUCER), dir, args);
    command.env("RUST_LOG", "info");
    command
}

/// Every line of `producer.log` in `dir`, parsed.
pub fn health_lines(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("producer.log")).expect("producer.log exists");
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad producer.log line {line}: {e}"))
        })
        .collect()
}

/// The single entry of `kind` in `producer.log`.
pub fn entry(dir: &Path, kind: &str) -> serde_json::Value {
    let mut entries: Vec<_> = health_lines(dir).into_iter().filter(|line| line["kind"] == kind).collect();
    assert_eq!(entries.len(), 1, "one {kind} entry expected");
    entries.remove(0)
}

/// Reads every record of `topic` from the start of each partition, until `expected` records
/// came (failing after `limit`), then keeps polling for one more second so that extra records
/// would show up.
///
/// Not `testkit::Broker::read_all`: that stops at the high watermarks, and Tansu 0.6 reports
/// watermarks too low after some multi-record batches of this producer (every record is
/// there and readable; see the crate's report), so both it and `topic_size` undercount.
pub fn read_records(
    broker: &testkit::Broker,
    topic: &str,
    expected: usize,
    limit: Duration,
) -> Vec<testkit::Record> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", "producer-tests-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader created");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment
            .add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assigned");
    let mut records = Vec::new();
    let deadline = Instant::now() + limit;
    let mut quiet_until: Option<Instant> = None;
    loop {
        if records.len() >= expected && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_secs(1));
        }
        if quiet_until.is_some_and(|end| Instant::now() > end) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "read {} of {expected} records of {topic} within {limit:?}",
            records.len()
        );
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            records.push(testkit::Record::from_message(&message.expect("record read")));
        }
    }
}
