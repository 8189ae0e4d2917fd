//! Hostile records against the real tracker binary: huge, deeply nested, out-of-range numbers,
//! duplicate keys, tombstones, odd headers (names that are not UTF-8, sent by kcat too), keys
//! that are not UTF-8, NUL bytes. The tracker
//! must neither panic nor stall, audit each record on exactly one JSON line, and dead-letter
//! each one with its key, payload and headers byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use models::OrderGenerator;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde_json::Value;
use testkit::tracker::*;
use testkit::Broker;

const GENEROUS: Duration = Duration::from_secs(60);
const INSTANCE: &str = "hostile";

use kafka::headers::RawHeader;

/// One record to produce, with what the tracker must do with it.
#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    partition: i32,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<RawHeader>,
    /// Whether it is a valid order (processed) rather than a hostile one (dead-lettered).
    valid: bool,
}

/// A record read back with its headers as raw bytes.
#[derive(Debug, Clone)]
struct RawRecord {
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<RawHeader>,
}

impl RawRecord {
    /// The last header of that name: the tracker appends its `dlq.*` context after the
    /// original headers.
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().rev().find(|(n, _)| n == name.as_bytes()).and_then(|(_, v)| v.as_deref())
    }

    fn last_header_text(&self, name: &str) -> Option<&str> {
        self.last_header(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// A valid order event as JSON, with the value at `path` replaced by `raw` JSON text (which
/// may be text that `serde_json::Value` cannot hold, such as `1e400`).
fn valid_event_with(seed: u64, path: &[&str], raw: &str) -> Vec<u8> {
    let event = OrderGenerator::seeded(seed).new_order_event();
    let mut value = serde_json::to_value(&event).unwrap();
    let target = path.iter().fold(&mut value, |value, step| match step.parse::<usize>() {
        Ok(index) => &mut value[index],
        Err(_) => &mut value[*step],
    });
    *target = Value::String("__HOSTILE__".into());
    serde_json::to_string(&value).unwrap().replacen("\"__HOSTILE__\"", raw, 1).into_bytes()
}

fn valid_event(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let event = OrderGenerator::seeded(seed).new_order_event();
    (event.order.order_id.to_string().into_bytes(), event.to_json())
}

/// The hostile records, in the order they are produced, spread over the three partitions.
fn hostile_cases() -> Vec<Case> {
    let hostile = |name, key: Option<&[u8]>, payload: Option<Vec<u8>>| Case {
        name,
        partition: 0,
        key: key.map(<[u8]>::to_vec),
        payload,
        headers: Vec::new(),
        valid: false,
    };
    // ~900 KB of text with newlines, quotes, backslashes, tabs and U+2028 in it.
    let huge_text: String = "line \"quoted\" \\ back\tslash \u{2028} end\n".repeat(900 * 1024 / 40);
    let mut huge_bytes = huge_text.into_bytes();
    huge_bytes.truncate(900 * 1024);
    let huge_json = {
        let mut json = b"{\"padding\":[".to_vec();
        while json.len() < 900 * 1024 {
            json.extend_from_slice(b"1234567890,");
        }
        json.extend_from_slice(b"0]}");
        json
    };
    let nested_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let nested_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)).into_bytes();
    let duplicate_keys = {
        let (_, valid) = valid_event(501);
        let mut text = b"{\"sequence\":7,".to_vec();
        text.extend_from_slice(&valid[1..]);
        text
    };
    let odd_headers: Vec<RawHeader> = vec![
        (b"binary".to_vec(), Some(vec![0x00, 0xff, 0xfe, 0x80, b'\n', 0x00])),
        (Vec::new(), Some(b"empty name".to_vec())),
        (b"null-value".to_vec(), None),
        (b"dlq.original.offset".to_vec(), Some(b"999999".to_vec())),
        (b"dlq.original.topic".to_vec(), Some(b"forged".to_vec())),
        ("\u{e9}t\u{e9} \u{1f600}".into(), Some("h\u{e9}".as_bytes().to_vec())),
        (b"\xff\xfe not UTF-8".to_vec(), Some(b"name".to_vec())),
    ];

    let mut cases = vec![
        hostile("huge text with newlines (900 KB)", Some(b"huge-text"), Some(huge_bytes)),
        hostile("huge JSON array (900 KB)", Some(b"huge-json"), Some(huge_json)),
        hostile("10,000 nested arrays", Some(b"nested-arrays"), Some(nested_arrays)),
        hostile("10,000 nested objects", Some(b"nested-objects"), Some(nested_objects)),
        hostile("sequence 1e400", Some(b"seq-1e400"), Some(valid_event_with(502, &["sequence"], "1e400"))),
        hostile(
            "quantity 2^70",
            Some(b"qty-2^70"),
            Some(valid_event_with(503, &["order", "items", "0", "quantity"], "1180591620717411303424")),
        ),
        hostile("version -1", Some(b"version-neg"), Some(valid_event_with(504, &["version"], "-1"))),
        hostile("sequence -1", Some(b"seq-neg"), Some(valid_event_with(505, &["sequence"], "-1"))),
        hostile(
            "total 1e19 (beyond i64)",
            Some(b"total-big"),
            Some(valid_event_with(506, &["order", "total_cents"], "10000000000000000000")),
        ),
        hostile(
            "sequence as a string",
            Some(b"seq-string"),
            Some(valid_event_with(507, &["sequence"], "\"5\"")),
        ),
        hostile("NaN literal", Some(b"nan"), Some(valid_event_with(508, &["order", "tax_cents"], "NaN"))),
        hostile(
            "lone surrogate escape",
            Some(b"surrogate"),
            Some(valid_event_with(509, &["order", "customer", "name"], "\"\\udc00\"")),
        ),
        hostile(
            "timestamp year +262143",
            Some(b"far-future"),
            Some(valid_event_with(510, &["timestamp"], "\"+262143-12-31T23:59:59.999Z\"")),
        ),
        hostile(
            "unknown event type (validation)",
            Some(b"teleported"),
            Some(valid_event_with(511, &["event_type"], "\"order.teleported\"")),
        ),
        hostile(
            "negative unit price (validation)",
            Some(b"negative-price"),
            Some(valid_event_with(512, &["order", "items", "0", "unit_price_cents"], "-1")),
        ),
        hostile("duplicate JSON keys", Some(b"duplicate-keys"), Some(duplicate_keys)),
        hostile("two documents", Some(b"two-docs"), Some([valid_event(513).1, valid_event(514).1].concat())),
        hostile(
            "byte order mark",
            Some(b"bom"),
            Some([b"\xef\xbb\xbf".to_vec(), valid_event(515).1].concat()),
        ),
        hostile("tombstone with a key", Some(b"tombstone"), None),
        hostile("tombstone without a key", None, None),
        hostile("empty payload", Some(b"empty"), Some(Vec::new())),
        hostile("1024 NUL bytes", Some(b"nul"), Some(vec![0u8; 1024])),
        hostile("key not UTF-8", Some(&[0xff, 0xfe, 0x00, 0x80, b'\n']), Some(b"not json".to_vec())),
        hostile("payload not UTF-8", Some(b"not-utf8"), Some(vec![b'{', 0xc3, 0x28, 0xff, b'}'])),
        hostile("empty key", Some(b""), Some(b"{}".to_vec())),
        Case {
            headers: odd_headers.clone(),
            ..hostile("odd headers", Some(b"odd-headers"), Some(b"{}".to_vec()))
        },
    ];
    // Odd headers on a valid order must not stop it from being processed.
    let (key, payload) = valid_event(516);
    cases.push(Case {
        name: "valid order with odd headers",
        partition: 0,
        key: Some(key),
        payload: Some(payload),
        headers: odd_headers,
        valid: true,
    });
    for (index, case) in cases.iter_mut().enumerate() {
        case.partition = (index % 3) as i32;
    }
    cases
}

/// Valid orders, one per partition.
fn valid_cases(seed: u64, name: &'static str) -> Vec<Case> {
    (0..3)
        .map(|partition| {
            let (key, payload) = valid_event(seed + partition as u64);
            Case { name, partition, key: Some(key), payload: Some(payload), headers: Vec::new(), valid: true }
        })
        .collect()
}

/// Produces `cases` to their partitions of `orders`, in order; returns each one's offset.
async fn produce(broker: &Broker, cases: &[Case]) -> Vec<i64> {
    let producer: FutureProducer = broker
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.max.bytes", "2000000")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let deliveries: Vec<_> = cases
        .iter()
        .map(|case| {
            let headers = kafka::headers::owned(
                case.headers.iter().map(|(name, value)| (name.as_slice(), value.as_deref())),
            );
            let mut record =
                FutureRecord::<[u8], [u8]>::to("orders").partition(case.partition).headers(headers);
            if let Some(key) = &case.key {
                record = record.key(key);
            }
            if let Some(payload) = &case.payload {
                record = record.payload(payload);
            }
            producer.send(record, Duration::from_secs(30))
        })
        .collect();
    let mut offsets = Vec::new();
    for (delivery, case) in deliveries.into_iter().zip(cases) {
        let delivery =
            delivery.await.unwrap_or_else(|(error, _)| panic!("{}: not acknowledged: {error}", case.name));
        assert_eq!(delivery.partition, case.partition, "{}", case.name);
        offsets.push(delivery.offset);
    }
    offsets
}

/// Reads `count` records of a topic from the start, headers as raw bytes; fails after `timeout`.
fn read_raw(broker: &Broker, topic: &str, count: usize, timeout: Duration) -> Result<Vec<RawRecord>, String> {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", "hostile-reader")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < count {
        if Instant::now() > deadline {
            return Err(format!("read {} of {count} records of {topic} within {timeout:?}", records.len()));
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message.map_err(|error| error.to_string())?;
        records.push(RawRecord {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers: kafka::headers::read(message.headers()),
        });
    }
    Ok(records)
}

/// Every line of every `tracker-*.<extension>` file, parsed strictly: the files must be UTF-8,
/// end with a newline, and hold one JSON object per line.
fn strict_lines(dir: &Path, extension: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for path in files(dir, extension) {
        let bytes = std::fs::read(&path).unwrap();
        let text =
            std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
        if text.is_empty() {
            continue;
        }
        assert!(text.ends_with('\n'), "{} ends with a complete line", path.display());
        for (number, line) in text.lines().enumerate() {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|error| {
                let start: String = line.chars().take(200).collect();
                panic!("{} line {}: not JSON ({error}): {start}", path.display(), number + 1)
            });
            assert!(value.is_object(), "{} line {} is an object", path.display(), number + 1);
            all.push(value);
        }
    }
    all
}

/// Standard base64 with padding, as `raw_message_base64` holds it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `.events` line of one case checks out: payload, size, key, and the outcome.
fn assert_audited(case: &Case, line: &Value) {
    let name = case.name;
    let payload = case.payload.as_deref().unwrap_or_default();
    assert_eq!(line["message_size"].as_u64(), Some(payload.len() as u64), "{name}: message_size");
    match std::str::from_utf8(payload) {
        Ok(text) => {
            assert!(line["raw_message"].as_str() == Some(text), "{name}: raw_message is the payload");
            assert!(line["raw_message_base64"].is_null(), "{name}: no base64 for UTF-8");
        }
        Err(_) => {
            assert_eq!(
                line["raw_message_base64"].as_str(),
                Some(base64(payload).as_str()),
                "{name}: exact bytes"
            );
            assert_eq!(
                line["raw_message"].as_str(),
                Some(String::from_utf8_lossy(payload).as_ref()),
                "{name}: lossy text"
            );
        }
    }
    match &case.key {
        Some(key) => {
            assert_eq!(line["kafka_key"].as_str(), Some(String::from_utf8_lossy(key).as_ref()), "{name}")
        }
        None => assert!(line["kafka_key"].is_null(), "{name}: no key"),
    }
    let accepted = line["deserialized"] == true && line["validation_error"].is_null();
    assert_eq!(accepted, case.valid, "{name}: accepted exactly when valid: {}", summary(line));
    if !line["deserialized"].as_bool().unwrap() {
        assert!(line["error"].as_str().is_some_and(|e| !e.is_empty()), "{name}: says why");
    }
}

fn summary(line: &Value) -> String {
    let mut short = line.clone();
    if let Some(raw) = short["raw_message"].as_str() {
        short["raw_message"] = Value::String(raw.chars().take(120).collect());
    }
    short["raw_message_base64"] = Value::Null;
    short.to_string()
}

/// The dead letter of one case carries its key, payload and headers byte for byte.
fn assert_dead_letter(case: &Case, offset: i64, letter: &RawRecord) {
    let name = case.name;
    assert_eq!(letter.key, case.key, "{name}: same key bytes");
    assert_eq!(
        letter.payload.as_deref().unwrap_or_default(),
        case.payload.as_deref().unwrap_or_default(),
        "{name}: same payload bytes"
    );
    if case.payload.is_none() {
        assert_eq!(letter.payload, None, "{name}: a tombstone stays a tombstone");
    }
    // Original headers named like the tracker's context are kept under `original.<name>`.
    let expected: Vec<RawHeader> = case
        .headers
        .iter()
        .map(|(key, value)| {
            let key =
                if key.starts_with(b"dlq.") { [b"original.".as_slice(), key].concat() } else { key.clone() };
            (key, value.clone())
        })
        .collect();
    assert!(
        letter.headers.len() >= expected.len() && letter.headers[..expected.len()] == expected[..],
        "{name}: original headers kept, in order, byte for byte: {:?}",
        letter.headers
    );
    assert_eq!(letter.last_header_text("dlq.original.topic"), Some("orders"), "{name}");
    assert_eq!(
        letter.last_header_text("dlq.original.partition"),
        Some(case.partition.to_string().as_str()),
        "{name}"
    );
    assert_eq!(letter.last_header_text("dlq.original.offset"), Some(offset.to_string().as_str()), "{name}");
    assert_eq!(
        letter.last_header_text("dlq.attempts"),
        Some("1"),
        "{name}: permanent failures are not retried"
    );
    assert_eq!(letter.last_header_text("dlq.error.class"), Some("permanent"), "{name}");
    assert_eq!(letter.last_header_text("dlq.instance.id"), Some(INSTANCE), "{name}");
    assert!(letter.last_header_text("dlq.error.message").is_some_and(|m| !m.is_empty()), "{name}: says why");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_are_audited_and_dead_lettered_and_the_tracker_keeps_going() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = Tracker::start(&broker, dir.path(), INSTANCE, &[]);

    let before = valid_cases(100, "valid order before");
    let hostile = hostile_cases();
    let after = valid_cases(200, "valid order after");
    // Three produce calls, each acknowledged before the next: on every partition the valid
    // orders after come behind the hostile records.
    let mut produced: Vec<(Case, i64)> = Vec::new();
    for batch in [&before, &hostile, &after] {
        let offsets = produce(&broker, batch).await;
        produced.extend(batch.iter().cloned().zip(offsets));
    }
    let dead_count = produced.iter().filter(|(case, _)| !case.valid).count();
    eprintln!("{} records produced, {dead_count} hostile", produced.len());

    let expected = produced.iter().map(|(case, offset)| (i64::from(case.partition), *offset)).collect();
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    let letters = read_raw(&broker, "orders-dlq", dead_count, GENEROUS).unwrap_or_else(|error| {
        let failed = log_entries(dir.path(), INSTANCE, "dlq_failed");
        panic!("{error}; dlq_failed entries: {failed:?}")
    });
    assert!(tracker.child.try_wait().unwrap().is_none(), "the tracker is still running");

    let events = strict_lines(dir.path(), "events");
    assert_eq!(events.len(), produced.len(), "one line per record, no more");
    let mut by_offset: BTreeMap<(i64, i64), Vec<&Value>> = BTreeMap::new();
    for line in &events {
        let at = (line["kafka_partition"].as_i64().unwrap(), line["kafka_offset"].as_i64().unwrap());
        by_offset.entry(at).or_default().push(line);
    }
    for (case, offset) in &produced {
        let lines = &by_offset[&(i64::from(case.partition), *offset)];
        assert_eq!(lines.len(), 1, "{}: exactly one .events line", case.name);
        assert_audited(case, lines[0]);

        let matching: Vec<&RawRecord> = letters
            .iter()
            .filter(|letter| {
                letter.last_header_text("dlq.original.partition") == Some(case.partition.to_string().as_str())
                    && letter.last_header_text("dlq.original.offset") == Some(offset.to_string().as_str())
            })
            .collect();
        if case.valid {
            assert!(matching.is_empty(), "{}: a valid order is not dead-lettered", case.name);
        } else {
            assert_eq!(matching.len(), 1, "{}: exactly one dead letter", case.name);
            assert_dead_letter(case, *offset, matching[0]);
        }
    }
    strict_lines(dir.path(), "log");

    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "graceful stop, got {status}");
    let stop = log_entries(dir.path(), INSTANCE, "stopped");
    let totals = &stop.last().expect("a stop entry")["metadata"];
    assert_eq!(totals["total_messages_received"].as_u64(), Some(produced.len() as u64));
    assert_eq!(totals["total_messages_processed"].as_u64(), Some((produced.len() - dead_count) as u64));
    assert_eq!(totals["total_messages_failed"].as_u64(), Some(dead_count as u64));
    let stderr = std::fs::read_to_string(dir.path().join(format!("{INSTANCE}.stderr"))).unwrap();
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

/// A record whose own headers are named like the tracker's `dlq.*` context headers must not
/// reach the dead-letter topic with two `dlq.original.offset` headers (the forged one first):
/// a reader that takes the first header of a name would be pointed at the wrong offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_named_like_dlq_context_are_not_ambiguous() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), INSTANCE, &[]);
    let case = Case {
        name: "forged dlq headers",
        partition: 0,
        key: Some(b"forged".to_vec()),
        payload: Some(b"{}".to_vec()),
        headers: vec![(b"dlq.original.offset".to_vec(), Some(b"999999".to_vec()))],
        valid: false,
    };
    let offset = produce(&broker, std::slice::from_ref(&case)).await[0];
    let letters = read_raw(&broker, "orders-dlq", 1, GENEROUS).unwrap();
    let offsets: Vec<_> = letters[0]
        .headers
        .iter()
        .filter(|(name, _)| name == b"dlq.original.offset")
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(offsets, vec![Some(offset.to_string().into_bytes())], "one dlq.original.offset, the true one");
}

/// The drill: a header NAME that is not UTF-8, sent by an external client (kcat,
/// `-H $'\xff\xfe=x'`). rdkafka's header accessor panicked on it, every instance that took the
/// partition died in turn. The tracker must keep running, audit and dead-letter the invalid
/// record with its key, payload and headers byte for byte, and process a valid order that
/// carries the same header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_name_that_is_not_utf8_from_kcat_stops_nothing() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = Tracker::start(&broker, dir.path(), INSTANCE, &[]);
    let hostile_headers: Vec<RawHeader> =
        vec![(b"\xff\xfe".to_vec(), Some(b"x".to_vec())), (b"plain".to_vec(), Some(b"y".to_vec()))];
    let (valid_key, valid_payload) = valid_event(900);
    let (after_key, after_payload) = valid_event(901);
    // (key, payload, with the hostile headers), all to partition 0, in this order.
    let records = [
        (b"bad-header".to_vec(), b"not an order".to_vec(), true),
        (valid_key, valid_payload, true),
        (after_key, after_payload, false),
    ];
    for (index, (key, payload, with_headers)) in records.iter().enumerate() {
        let file = dir.path().join(format!("kcat-payload-{index}"));
        std::fs::write(&file, payload).unwrap();
        let mut kcat = broker.kcat();
        kcat.args(["-P", "-t", "orders", "-p", "0", "-k"]).arg(OsStr::from_bytes(key));
        if *with_headers {
            kcat.arg("-H").arg(OsStr::from_bytes(b"\xff\xfe=x")).args(["-H", "plain=y"]);
        }
        // A file argument is sent as one message, newlines and all.
        let output = kcat.arg(&file).output().expect("scripts/kcat.sh runs");
        assert!(output.status.success(), "kcat failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let sent = read_raw(&broker, "orders", 3, GENEROUS).unwrap();
    assert_eq!(sent[0].headers, hostile_headers, "kcat sent the name's bytes as they are");

    let expected = (0..3).map(|offset| (0, offset)).collect();
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    let letters = read_raw(&broker, "orders-dlq", 1, GENEROUS).unwrap();
    assert!(tracker.child.try_wait().unwrap().is_none(), "the tracker is still running");
    let letter = &letters[0];
    assert_eq!(letter.key.as_deref(), Some(b"bad-header".as_slice()), "same key bytes");
    assert_eq!(letter.payload.as_deref(), Some(b"not an order".as_slice()), "same payload bytes");
    assert_eq!(
        letter.headers[..2],
        hostile_headers[..],
        "original headers byte for byte: {:?}",
        letter.headers
    );
    assert_eq!(letter.last_header_text("dlq.original.offset"), Some("0"));

    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "graceful stop, got {status}");
    let stop = log_entries(dir.path(), INSTANCE, "stopped");
    let totals = &stop.last().expect("a stop entry")["metadata"];
    assert_eq!(totals["total_messages_received"].as_u64(), Some(3));
    assert_eq!(totals["total_messages_processed"].as_u64(), Some(2), "both valid orders processed");
    assert_eq!(totals["total_messages_failed"].as_u64(), Some(1));
    assert_eq!(totals["total_dlq_sent"].as_u64(), Some(1));
    let stderr = std::fs::read_to_string(dir.path().join(format!("{INSTANCE}.stderr"))).unwrap();
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}
