//! Helpers: run the `producer` binary with a deadline, read its `producer.log`.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub const PRODUCER: &str = env!("CARGO_BIN_EXE_producer");

/// A `producer` command run in `dir` (so no stray `config.yaml` is read), with the project's
/// environment variables removed so only the test's own settings apply.
pub fn producer(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(PRODUCER);
    command.current_dir(dir).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for var in config::ENV_VARS {
        command.env_remove(var.name);
    }
    command.env("RUST_LOG", "info");
    command
}

/// A started producer whose output is collected in the background.
pub struct Running {
    pub child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The exit code; panics with the output if the process was killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts `command`, collecting its output.
pub fn start(mut command: Command) -> Running {
    let mut child = command.spawn().expect("producer starts");
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);
    Running { child, stdout, stderr }
}

impl Running {
    /// The process id, for signals.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits")
    }

    /// Waits for the exit, killing the process and failing the test after `limit`.
    pub fn wait(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                panic!("producer still running after {limit:?}; stderr:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        Finished { status, stdout, stderr }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to completion within `limit`.
pub fn run(command: Command, limit: Duration) -> Finished {
    start(command).wait(limit)
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
