//! Records whose dead letter is too large to send whole (issue #31, issue #24 "Records at
//! Kafka's real limits"). A dead letter is the original record plus context headers, and each
//! header named `dlq.*` grows by 9 bytes as `original.dlq.*`: a record the topic accepted can
//! make a dead letter the producer or the broker refuses. Before, the tracker tried 5 times,
//! exited 1 without committing, and every tracker that took the partition did the same.
//!
//! Both shapes are produced by an independent client (kcat) on partition 0, followed by a
//! valid order: the tracker must keep the whole record in a 0600 file, send a cut dead letter
//! that says what it cut (with the whole record's size and SHA-256), log a `dlq_cut` entry,
//! process the order behind it and commit past both.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kafka::headers::RawHeader;
use models::kept::{record_sha256, KeptRecord};
use models::OrderGenerator;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use testkit::tracker::*;
use testkit::Broker;

const GENEROUS: Duration = Duration::from_secs(90);

/// A record with raw bytes everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawRecord {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<RawHeader>,
}

impl RawRecord {
    fn header_text(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name.as_bytes())
            .and_then(|(_, v)| std::str::from_utf8(v.as_deref()?).ok())
    }
}

/// Every record of `topic`, once it holds at least `count`.
fn read_all(broker: &Broker, topic: &str, count: usize) -> Vec<RawRecord> {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", "cut-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let mut assignment = rdkafka::TopicPartitionList::new();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + GENEROUS;
    let mut records = Vec::new();
    while records.len() < count {
        assert!(Instant::now() < deadline, "{topic}: {} of {count} records read", records.len());
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message.unwrap();
        records.push(RawRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers: kafka::headers::read(message.headers()),
        });
    }
    records
}

/// Produces one record with kcat to orders/0 (`extra` are more kcat arguments).
fn kcat_produce(
    broker: &Broker,
    dir: &Path,
    key: &[u8],
    payload: &[u8],
    headers: &[(String, String)],
    extra: &[&str],
) {
    use std::os::unix::ffi::OsStrExt;
    let file = dir.join("kcat-payload");
    std::fs::write(&file, payload).unwrap();
    let mut kcat = broker.kcat();
    kcat.args(extra).args(["-P", "-t", "orders", "-p", "0", "-k"]).arg(std::ffi::OsStr::from_bytes(key));
    for (name, value) in headers {
        kcat.arg("-H").arg(format!("{name}={value}"));
    }
    let output = kcat.arg(&file).output().expect("scripts/kcat.sh runs");
    assert!(output.status.success(), "kcat failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// The committed offset of the trackers' group on orders/0.
fn committed(broker: &Broker) -> Option<i64> {
    let consumer: BaseConsumer = broker.client_config().set("group.id", "order-tracker").create().unwrap();
    let mut partitions = rdkafka::TopicPartitionList::new();
    partitions.add_partition("orders", 0);
    let offsets = consumer.committed_offsets(partitions, Duration::from_secs(10)).unwrap();
    offsets.find_partition("orders", 0).and_then(|p| p.offset().to_raw())
}

/// "KEPT/TOTAL" as numbers.
fn fraction(text: Option<&str>) -> (usize, usize) {
    let (kept, total) = text.and_then(|t| t.split_once('/')).expect("a KEPT/TOTAL header");
    (kept.parse().unwrap(), total.parse().unwrap())
}

/// Runs the drill for one oversized record; `config` is written as the tracker's
/// `config.yaml` when given.
async fn an_oversized_dead_letter_is_cut_and_the_partition_moves_on(
    broker: Broker,
    key: &[u8],
    payload: Vec<u8>,
    headers: Vec<(String, String)>,
    config: Option<&str>,
) {
    let dir = tempfile::tempdir().unwrap();
    let instance = "cutter";
    let mut command = Tracker::command(&broker, dir.path(), instance, &[]);
    if let Some(config) = config {
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        command.args(["--config", "config.yaml"]);
    }
    let stderr = std::fs::File::create(dir.path().join(format!("{instance}.stderr"))).unwrap();
    let mut tracker = Tracker::spawn(command, instance, stderr);

    kcat_produce(&broker, dir.path(), key, &payload, &headers, &["-X", "message.max.bytes=4000000"]);
    let order = OrderGenerator::seeded(31).new_order_event();
    kcat_produce(
        &broker,
        dir.path(),
        order.order.order_id.to_string().as_bytes(),
        &order.to_json(),
        &[],
        &[],
    );
    let produced = read_all(&broker, "orders", 2);
    let original = &produced[0];
    assert_eq!(original.payload.as_deref(), Some(payload.as_slice()), "the broker took the whole record");

    // The dead letter, or the tracker's exit (which is what happened before).
    let deadline = Instant::now() + GENEROUS;
    while log_entries(dir.path(), instance, "dlq_sent").is_empty() {
        if let Some(status) = tracker.child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(dir.path().join(format!("{instance}.stderr"))).unwrap();
            panic!("the tracker stopped ({status}) instead of dead-lettering: {stderr}");
        }
        assert!(Instant::now() < deadline, "no dlq_sent entry within {GENEROUS:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let expected = [(0, original.offset), (0, produced[1].offset)].into_iter().collect();
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    tracker.signal(libc::SIGTERM);
    assert!(tracker.wait_for_exit(Duration::from_secs(20)).success(), "a graceful stop");
    let stop = log_entries(dir.path(), instance, "stopped");
    let totals = &stop.last().expect("a stop entry")["metadata"];
    assert_eq!(totals["total_messages_processed"], 1, "the order behind it was processed: {totals}");
    assert_eq!(totals["total_dlq_sent"], 1, "{totals}");
    assert_eq!(committed(&broker), Some(produced[1].offset + 1), "committed past both records");

    // The cut dead letter: what it kept is the start of the original, and it says so.
    let letters = read_all(&broker, "orders-dlq", 1);
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    let original_headers: Vec<RawHeader> = original
        .headers
        .iter()
        .map(|(n, v)| {
            if n.starts_with(b"dlq.") {
                ([b"original.".as_slice(), n].concat(), v.clone())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    let whole_sha = record_sha256(
        original.key.as_deref(),
        original.payload.as_deref(),
        original.headers.iter().map(|(n, v)| (n.as_slice(), v.as_deref())),
    );
    assert_eq!(letter.header_text("dlq.cut.original.sha256"), Some(whole_sha.as_str()));
    let whole_bytes =
        key.len() + payload.len() + headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
    assert_eq!(letter.header_text("dlq.cut.original.bytes"), Some(whole_bytes.to_string().as_str()));
    let (payload_kept, payload_total) = fraction(letter.header_text("dlq.cut.payload"));
    assert_eq!(payload_total, payload.len());
    assert!(payload_kept > 0 && payload_kept < payload.len(), "some of the payload, not all: {payload_kept}");
    assert_eq!(letter.payload.as_deref(), Some(&payload[..payload_kept]), "the first bytes, as they were");
    let (headers_kept, headers_total) = fraction(letter.header_text("dlq.cut.headers"));
    assert_eq!(headers_total, headers.len());
    assert_eq!(
        letter.headers[..headers_kept],
        original_headers[..headers_kept],
        "the first headers, renamed as usual"
    );
    assert_eq!(letter.key.as_deref(), Some(key), "the key kept");
    assert_eq!(letter.header_text("dlq.original.offset"), Some(original.offset.to_string().as_str()));
    assert_eq!(letter.header_text("dlq.error.kind"), Some("deserialization"));
    assert!(letter.header_text("dlq.cut.reason").is_some_and(|r| r.contains("too large")), "{letter:?}");

    // The whole record, in a 0600 file named by the dead letter and the dlq_cut entry.
    let name = letter.header_text("dlq.cut.kept.file").expect("the kept file is named");
    let path = dir.path().join(name);
    let metadata = std::fs::symlink_metadata(&path).unwrap();
    assert!(metadata.file_type().is_file());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let kept: KeptRecord = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let decode = |text: &Option<String>| text.as_ref().map(|t| STANDARD.decode(t).unwrap());
    assert_eq!(decode(&kept.key_base64), original.key);
    assert_eq!(decode(&kept.payload_base64), original.payload);
    let kept_headers: Vec<RawHeader> = kept
        .headers
        .iter()
        .map(|h| (STANDARD.decode(&h.name_base64).unwrap(), decode(&h.value_base64)))
        .collect();
    assert_eq!(kept_headers, original.headers, "every header byte for byte, under its own name");
    assert_eq!((kept.topic.as_str(), kept.partition, kept.offset), ("orders", 0, original.offset));
    assert_eq!(kept.original_sha256, whole_sha);

    let cut = log_entries(dir.path(), instance, "dlq_cut");
    assert_eq!(cut.len(), 1, "one dlq_cut entry");
    let entry = &cut[0]["metadata"];
    assert_eq!(entry["kept_file"], name);
    assert_eq!(entry["dlq_offset"], letter.offset);
    assert_eq!(entry["original_sha256"], whole_sha);
    assert_eq!(entry["payload_bytes_kept"], payload_kept);
    assert_eq!(entry["headers_kept"], headers_kept);
    assert!(
        log_entries(dir.path(), instance, "dlq_failed").is_empty(),
        "a size refusal is not a failure to retry"
    );
}

/// Broker: Tansu. The drill: a payload of 1.97 MB with 2,000 headers named `dlq.x<n>`, which the topic
/// takes and whose dead letter exceeds the dead-letter producer's 2,000,000 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_dlq_headers_make_a_cut_dead_letter_not_a_stopped_group() {
    let headers: Vec<(String, String)> = (0..2_000).map(|n| (format!("dlq.x{n}"), "v".to_owned())).collect();
    let payload = vec![b'x'; 1_970_000];
    let broker = broker_with_topics().await;
    an_oversized_dead_letter_is_cut_and_the_partition_moves_on(
        broker,
        b"many-headers",
        payload,
        headers,
        None,
    )
    .await;
}

/// Broker: Tansu. Apache Kafka's client limit: the dead-letter producer at librdkafka's default 1,000,000 bytes, as
/// on a Kafka broker (topic `max.message.bytes` 1048588), and a payload right at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_at_the_limit_makes_a_cut_dead_letter_not_a_stopped_group() {
    let payload = vec![b'y'; 999_900];
    let config = "kafka:\n  properties:\n    message.max.bytes: 1000000\n";
    let headers = vec![("trace_id".to_owned(), "t-1".to_owned())];
    an_oversized_dead_letter_is_cut_and_the_partition_moves_on(
        broker_with_topics().await,
        b"at-the-limit",
        payload,
        headers,
        Some(config),
    )
    .await;
}

/// Broker: Apache Kafka, whose topics refuse record batches above `max.message.bytes`
/// (1,048,588 bytes by default). A record just under that limit is taken by `orders`; its dead
/// letter, the same bytes plus the `dlq.*` context, is refused by the broker itself (the
/// dead-letter producer's own limit is higher), compressed or not: the payload is
/// incompressible. The tracker cuts it and the partition moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_apache_kafka_a_record_at_the_topics_limit_makes_a_cut_dead_letter_not_a_stopped_group() {
    // Incompressible bytes (a linear congruential sequence), not valid UTF-8: a poison pill.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let payload: Vec<u8> = (0..1_048_588 - 300)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let headers = vec![("trace_id".to_owned(), "t-2".to_owned())];
    an_oversized_dead_letter_is_cut_and_the_partition_moves_on(
        kafka_with_topics().await,
        b"at-kafkas-limit",
        payload,
        headers,
        None,
    )
    .await;
}
