//! Helpers: run the real `dlq` binary (and the tracker, [`testkit::tracker`]) against a
//! private broker, produce raw records, read topics to their end, wait with explicit deadlines.

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use testkit::{Broker, Finished};

pub use testkit::tracker::{broker_with_topics, kafka_with_topics, Tracker};

/// Longest run of one `dlq` command.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);
/// Longest wait for the tracker to do something.
pub const GENEROUS: Duration = Duration::from_secs(60);

/// Runs `dlq ARGS` in `dir` against `broker` (through KAFKA_BROKER unless `env` says otherwise).
pub fn dlq(broker: &Broker, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let bootstrap = broker.bootstrap();
    let mut all_env = vec![("KAFKA_BROKER", bootstrap.as_str())];
    all_env.extend_from_slice(env);
    run(Path::new(env!("CARGO_BIN_EXE_dlq")), dir, args, &all_env)
}

/// Runs a binary to its end, failing after [`COMMAND_LIMIT`].
pub fn run(binary: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = testkit::project_command(binary, dir, args);
    command.envs(env.iter().copied());
    testkit::run(command, COMMAND_LIMIT)
}

/// A record with raw bytes everywhere.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl RawRecord {
    /// A record with UTF-8 headers.
    pub fn new(key: &[u8], payload: &[u8], headers: &[(&str, &str)]) -> Self {
        RawRecord {
            key: Some(key.to_vec()),
            payload: Some(payload.to_vec()),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), Some(v.as_bytes().to_vec())))
                .collect(),
        }
    }
}

/// Produces `records` to `topic` (acks=all, one at a time so their order is kept); returns
/// (partition, offset) of each.
pub async fn produce(broker: &Broker, topic: &str, records: &[RawRecord]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = broker.client_config().set("enable.idempotence", "true").create().unwrap();
    let mut stored = Vec::new();
    for record in records {
        let headers = kafka::headers::owned(record.headers.iter().map(|(n, v)| (n.as_slice(), v.as_deref())));
        let mut message = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
        if let Some(key) = &record.key {
            message = message.key(key);
        }
        if let Some(payload) = &record.payload {
            message = message.payload(payload);
        }
        let delivery =
            producer.send(message, Duration::from_secs(30)).await.map_err(|(e, _)| e).expect("acknowledged");
        stored.push((delivery.partition, delivery.offset));
    }
    stored
}

/// Every record of `topic`, read to its end the way `dlq` reads.
pub fn read_topic(broker: &Broker, topic: &str) -> Vec<dlq::letter::DeadLetter> {
    let mut kafka = config::KafkaSettings { broker: broker.bootstrap(), ..Default::default() };
    if let Some(user) = broker.sasl() {
        for (key, value) in user.properties() {
            kafka.properties.insert(key.to_owned(), value.to_owned());
        }
    }
    let auth = kafka::auth::AuthWatch::new(&kafka);
    dlq::read::read_topic(&kafka, topic, &auth).expect("topic read").unwrap_or_default()
}

/// Waits until `topic` holds at least `count` records; returns them all.
pub fn wait_for_records(broker: &Broker, topic: &str, count: usize) -> Vec<dlq::letter::DeadLetter> {
    let deadline = Instant::now() + GENEROUS;
    loop {
        let records = read_topic(broker, topic);
        if records.len() >= count {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "{topic} holds {} records, not {count}, after {GENEROUS:?}",
            records.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for the audit line of `topic` partition:offset.
pub fn wait_for_audit(dir: &Path, partition: i32, offset: i64) -> Value {
    let deadline = Instant::now() + GENEROUS;
    loop {
        let found = testkit::tracker::lines(dir, "events")
            .into_iter()
            .find(|line| line["kafka_partition"] == partition && line["kafka_offset"] == offset);
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no audit line for orders {partition}:{offset} after {GENEROUS:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The JSON lines of a command's stdout.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

/// A dead letter as the tracker writes it, for tests that need no tracker.
pub fn dead_letter(payload: &[u8], original_offset: i64, kind: &str) -> RawRecord {
    let offset = original_offset.to_string();
    RawRecord::new(
        b"order-key",
        payload,
        &[
            ("trace_id", "trace-1"),
            ("dlq.original.topic", "orders"),
            ("dlq.original.partition", "0"),
            ("dlq.original.offset", &offset),
            ("dlq.error.kind", kind),
            ("dlq.error.class", "transient"),
            ("dlq.error.message", "downstream timed out"),
            ("dlq.attempts", "3"),
            ("dlq.instance.id", "instance-1"),
            ("dlq.failed.at", "2026-11-27T17:00:00.000Z"),
        ],
    )
}
