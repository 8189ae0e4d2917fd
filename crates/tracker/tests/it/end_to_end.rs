//! The tracker against a real broker, through its real binary: competing consumers, crashes,
//! poison pills, retries, and the graceful stop.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use models::{OrderEvent, PoisonKind};
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value;
use testkit::tracker::*;
use testkit::wait_until;
use testkit::Record;

pub(crate) const GENEROUS: Duration = Duration::from_secs(60);

/// Every field of SPEC §3 with its JSON type, `null` allowed only where a value may be absent.
fn assert_events_line_contract(line: &Value) {
    let kind = |field: &str| line.get(field).unwrap_or_else(|| panic!("{field} missing in {line}"));
    assert!(kind("timestamp").as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    assert!(matches!(
        kind("event_type").as_str(),
        Some("message.received" | "message.received.deserialization_error")
    ));
    assert!(kind("kafka_topic").is_string());
    assert!(kind("kafka_partition").is_i64());
    assert!(kind("kafka_offset").is_i64());
    assert!(kind("kafka_key").is_string() || kind("kafka_key").is_null());
    assert!(kind("raw_message").is_string());
    assert!(kind("message_size").is_u64());
    let deserialized = kind("deserialized").as_bool().expect("deserialized is a boolean");
    for field in ["order_id", "sequence", "status", "order_full"] {
        assert_eq!(!kind(field).is_null(), deserialized, "{field} present exactly when deserialized: {line}");
    }
    assert_eq!(kind("error").is_string(), !deserialized, "error present exactly when not deserialized");
    if deserialized {
        assert!(kind("sequence").is_u64() && kind("order_full").is_object());
    }
}

/// Runs `jq FILTER... FILE` as a reader of the README would.
fn jq(filter: &[&str], file: &std::path::Path) -> String {
    let output =
        Command::new("jq").args(filter).arg(file).output().expect("jq is installed (apt-get install jq)");
    assert!(output.status.success(), "jq {filter:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

fn concatenated_events(dir: &std::path::Path) -> Vec<u8> {
    files(dir, "events").iter().flat_map(|path| std::fs::read(path).unwrap()).collect()
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_partitions_and_audit_every_offset() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let trackers: Vec<Tracker> =
        (1..=3).map(|n| Tracker::start(&broker, dir.path(), &format!("instance-{n}"), &[])).collect();

    // Produce once the group is stable, so each partition has exactly one owner.
    let current_assignment = |id: &str| {
        log_entries(dir.path(), id, "partitions_assigned")
            .last()
            .map(|entry| entry["metadata"]["partitions"].as_array().unwrap().len())
            .unwrap_or(0)
    };
    wait_until(GENEROUS, "each of 3 instances owns one partition", || {
        trackers.iter().all(|t| current_assignment(&t.instance_id) == 1)
    });
    let mut records = valid_orders(1, 300);
    let mut poison = Record::new("poison-key", b"{not json".to_vec());
    poison.key = None;
    records.push(poison);
    let expected = produce_orders(&broker, &records).await;
    assert_eq!(expected.len(), 301);
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    assert_eq!(offsets_seen(dir.path()), expected, "nothing but the produced offsets");

    let events = lines(dir.path(), "events");
    assert_eq!(events.len(), 301, "no duplicates in a stable group");
    events.iter().for_each(assert_events_line_contract);
    let mut owners: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for line in &events {
        owners
            .entry(line["kafka_partition"].as_i64().unwrap())
            .or_default()
            .insert(line["instance_id"].to_string());
    }
    assert_eq!(owners.len(), 3);
    assert!(
        owners.values().all(|o| o.len() == 1),
        "each partition consumed by exactly one instance: {owners:?}"
    );

    // The jq recipes of the README work on the real files.
    let all = dir.path().join("all.events.jsonl");
    std::fs::write(&all, concatenated_events(dir.path())).unwrap();
    assert_eq!(jq(&["-s", "length"], &all).trim(), "301");
    assert_eq!(jq(&["-c", "select(.deserialized == false)"], &all).lines().count(), 1);
    assert_eq!(jq(&["-r", ".raw_message"], &all).lines().filter(|l| *l == "{not json").count(), 1);
    let orders = jq(&["-c", "select(.deserialized == true) | .order_full"], &all);
    assert_eq!(orders.lines().count(), 300);
    assert!(orders.lines().all(|l| l.contains("\"total_cents\"")));
    let per_offset = jq(&["-r", ".kafka_offset"], &all);
    assert_eq!(per_offset.lines().count(), 301);

    for tracker in &trackers {
        tracker.signal(libc::SIGTERM);
    }
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_loses_no_offset() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    // Slow processing keeps messages in flight when the kill comes.
    let slow = [("TRACKER_PROCESSING_DELAY_MS", "2")];
    let mut victim = Tracker::start(&broker, dir.path(), "victim", &slow);
    let survivor = Tracker::start(&broker, dir.path(), "survivor", &slow);
    // Produce once the two share the partitions: a survivor that owned all three for the
    // first seconds could drain every record before the victim got one (a loaded CI run did).
    let owned = |id: &str| {
        log_entries(dir.path(), id, "partitions_assigned")
            .last()
            .and_then(|entry| entry["metadata"]["partitions"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    wait_until(GENEROUS, "the two trackers share the three partitions", || {
        let (victim, survivor) = (owned("victim"), owned("survivor"));
        victim >= 1 && survivor >= 1 && victim + survivor == 3
    });
    let expected = produce_orders(&broker, &valid_orders(2, 1_500)).await;

    wait_until(GENEROUS, "the victim is mid-stream", || {
        let seen = lines(dir.path(), "events").iter().filter(|l| l["instance_id"] == "victim").count();
        seen >= 100
    });
    victim.signal(libc::SIGKILL);
    victim.wait_for_exit(Duration::from_secs(10));
    let restarted = Tracker::start(&broker, dir.path(), "victim", &slow);

    wait_for_offsets(dir.path(), &expected, Duration::from_secs(120));
    let total_lines = lines(dir.path(), "events").len();
    assert!(total_lines >= expected.len());

    let mut survivors = [survivor, restarted];
    for tracker in &survivors {
        tracker.signal(libc::SIGTERM);
    }
    for tracker in &mut survivors {
        assert!(tracker.wait_for_exit(Duration::from_secs(15)).success());
    }
    // Duplicates show in the counts: the lines of every run add up, the extra ones included.
    let final_lines = lines(dir.path(), "events").len();
    let distinct = offsets_seen(dir.path()).len();
    assert_eq!(distinct, expected.len(), "nothing missing");
    let stopped_totals: u64 = ["survivor", "victim"]
        .iter()
        .flat_map(|id| log_entries(dir.path(), id, "stopped"))
        .map(|entry| entry["metadata"]["total_messages_received"].as_u64().unwrap())
        .sum();
    let victim_first_run = final_lines as u64 - stopped_totals;
    assert!(victim_first_run >= 100, "the killed run's lines are kept: {victim_first_run}");
    eprintln!("records {}, lines {final_lines}, duplicates {}", expected.len(), final_lines - distinct);
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_poison_kind_is_audited_and_dead_lettered_byte_for_byte() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "poison", &[]);
    let mut generator = models::OrderGenerator::seeded(3);
    let mut records: Vec<Record> = PoisonKind::ALL
        .iter()
        .enumerate()
        .map(|(n, kind)| {
            let mut record = Record::new(
                format!("poison-{n}"),
                kind.payload(&mut generator, n as u64, chrono::Utc::now()),
            );
            record.headers.push(("poison_kind".into(), kind.name().into()));
            record
        })
        .collect();
    let tombstone = Record { key: Some(b"tombstone".to_vec()), payload: None, ..Record::default() };
    records.push(tombstone);
    records.extend(valid_orders(4, 5));
    broker.produce("orders", &records).await.unwrap();

    let poison_count = PoisonKind::ALL.len() + 1;
    let dead =
        broker.read_exactly("orders-dlq", poison_count, GENEROUS).expect("every poison pill dead-lettered");
    wait_until(GENEROUS, "every message is audited", || lines(dir.path(), "events").len() == records.len());
    let originals = broker.read_exactly("orders", records.len(), GENEROUS).unwrap();
    for letter in &dead {
        let partition: i32 = letter.header("dlq.original.partition").unwrap().parse().unwrap();
        let offset: i64 = letter.header("dlq.original.offset").unwrap().parse().unwrap();
        let original = originals.iter().find(|r| r.partition == partition && r.offset == offset).unwrap();
        assert_eq!(letter.key, original.key, "same key");
        assert_eq!(
            letter.payload.as_deref().unwrap_or_default(),
            original.payload.as_deref().unwrap_or_default(),
            "payload byte for byte"
        );
        assert_eq!(letter.header("dlq.original.topic"), Some("orders"));
        assert_eq!(letter.header("dlq.attempts"), Some("1"), "permanent failures are not retried");
        assert_eq!(letter.header("dlq.instance.id"), Some("poison"));
        assert_eq!(letter.header("dlq.error.class"), Some("permanent"));
        assert!(letter.header("dlq.error.message").is_some_and(|m| !m.is_empty()));
        assert!(letter.header("dlq.failed.at").is_some());
        let expected_kind = match original.header("poison_kind").and_then(|k| k.parse::<PoisonKind>().ok()) {
            Some(kind) if kind.rejection() == models::Rejection::Validation => "validation",
            _ => "deserialization",
        };
        assert_eq!(letter.header("dlq.error.kind"), Some(expected_kind));
        assert_eq!(original.header("poison_kind"), letter.header("poison_kind"), "original headers kept");
    }

    let events = lines(dir.path(), "events");
    events.iter().for_each(assert_events_line_contract);
    let rejected =
        events.iter().filter(|l| l["deserialized"] == false || !l["validation_error"].is_null()).count();
    assert_eq!(rejected, poison_count);
    let valid =
        events.iter().filter(|l| l["deserialized"] == true && l["validation_error"].is_null()).count();
    assert_eq!(valid, 5, "the tracker keeps going after poison");
    let not_utf8 = events.iter().find(|l| !l["raw_message_base64"].is_null()).expect("the non-UTF-8 payload");
    assert!(not_utf8["raw_message"].as_str().unwrap().contains('\u{fffd}'));
    let dead_letters = log_entries(dir.path(), "poison", "dlq_sent");
    assert_eq!(dead_letters.len(), poison_count);
    // A dead letter names the broker lifetime like the message's audit line does.
    for entry in &dead_letters {
        let metadata = &entry["metadata"];
        let audit = events
            .iter()
            .find(|l| {
                l["kafka_partition"] == metadata["partition"] && l["kafka_offset"] == metadata["offset"]
            })
            .expect("the dead letter's audit line");
        assert!(audit["cluster_id"].is_string(), "{audit}");
        assert_eq!(metadata["cluster_id"], audit["cluster_id"], "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_dead_lettered() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TRACKER_FAILURE_RATE", "1"),
        ("RETRY_MAX_ATTEMPTS", "3"),
        ("RETRY_INITIAL_DELAY_MS", "5"),
        ("RETRY_MAX_DELAY_MS", "20"),
    ];
    let _tracker = Tracker::start(&broker, dir.path(), "flaky", &env);
    let records = valid_orders(5, 4);
    broker.produce("orders", &records).await.unwrap();

    let dead = broker.read_exactly("orders-dlq", 4, GENEROUS).expect("4 dead letters");
    for letter in &dead {
        assert_eq!(letter.header("dlq.attempts"), Some("3"));
        assert_eq!(letter.header("dlq.error.kind"), Some("processing"));
        assert_eq!(letter.header("dlq.error.class"), Some("transient"));
        let event = OrderEvent::from_slice(letter.payload.as_deref().unwrap()).expect("original payload");
        assert_eq!(letter.key.as_deref(), Some(event.order.order_id.to_string().as_bytes()));
    }
    // The dead letters can be read before the `.log` lines about them are out of the
    // tracker's buffer: wait for the last of them, then count exactly.
    wait_until(GENEROUS, "the four processing_failed entries are in the .log", || {
        log_entries(dir.path(), "flaky", "processing_failed").len() >= 4
    });
    let retries = log_entries(dir.path(), "flaky", "retry_scheduled");
    assert_eq!(retries.len(), 8, "two retries per message");
    for retry in &retries {
        let delay = retry["metadata"]["delay_ms"].as_u64().unwrap();
        assert!(delay <= 20, "backoff capped by retry.max_delay_ms: {delay}");
    }
    assert_eq!(log_entries(dir.path(), "flaky", "processing_failed").len(), 4);
}

/// With the DLQ off, a message whose retries ran out was logged as `processing_failed` twice
/// (once when retries ran out, once when it was dropped), so the report counted it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_dlq_off_a_message_out_of_retries_is_logged_failed_once() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DLQ_ENABLED", "false"),
        ("TRACKER_FAILURE_RATE", "1"),
        ("RETRY_MAX_ATTEMPTS", "2"),
        ("RETRY_INITIAL_DELAY_MS", "5"),
        ("RETRY_MAX_DELAY_MS", "20"),
    ];
    let _tracker = Tracker::start(&broker, dir.path(), "no-dlq", &env);
    let records = valid_orders(6, 4);
    broker.produce("orders", &records).await.unwrap();

    // The metrics entry (every second) counts each failed message once, whatever the .log says.
    wait_until(GENEROUS, "the metrics count 4 failed messages", || {
        log_entries(dir.path(), "no-dlq", "metrics")
            .iter()
            .any(|entry| entry["metadata"]["messages_failed"].as_u64() == Some(4))
    });
    let failed = log_entries(dir.path(), "no-dlq", "processing_failed");
    assert_eq!(failed.len(), 4, "one processing_failed entry per message: {failed:#?}");
    for entry in &failed {
        assert_eq!(entry["metadata"]["dlq"], "disabled");
        assert_eq!(entry["metadata"]["attempts"], 2);
        assert!(entry["metadata"]["order_id"].is_string(), "the order is named: {entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_ten_seconds_with_matching_totals_and_commits() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = Tracker::start(&broker, dir.path(), "graceful", &[]);
    let expected = produce_orders(&broker, &valid_orders(6, 200)).await;
    wait_for_offsets(dir.path(), &expected, GENEROUS);

    let asked = Instant::now();
    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(10));
    assert!(status.success(), "exit code 0, got {status}");
    assert!(asked.elapsed() < Duration::from_secs(10));

    let stop = log_entries(dir.path(), "graceful", "stopped");
    assert_eq!(stop.len(), 1);
    let totals = &stop[0]["metadata"];
    assert_eq!(totals["signal"], "SIGTERM");
    assert_eq!(
        totals["total_messages_received"].as_u64().unwrap() as usize,
        lines(dir.path(), "events").len()
    );
    assert_eq!(totals["total_messages_processed"], 200);
    assert_eq!(totals["total_messages_failed"], 0);
    assert_eq!(totals["final_success_rate_percent"], 100.0);

    // Everything handled was committed: the group's offsets are right after each partition's
    // last acknowledged record (Tansu's watermarks cannot be trusted for this).
    let consumer: BaseConsumer = broker.client_config().set("group.id", "order-tracker").create().unwrap();
    let mut partitions = rdkafka::TopicPartitionList::new();
    for partition in 0..3 {
        partitions.add_partition("orders", partition);
    }
    let committed = consumer.committed_offsets(partitions, Duration::from_secs(10)).unwrap();
    for element in committed.elements() {
        let partition = i64::from(element.partition());
        let last = expected.iter().filter(|(p, _)| *p == partition).map(|(_, offset)| *offset).max().unwrap();
        assert_eq!(element.offset(), rdkafka::Offset::Offset(last + 1), "partition {partition}");
    }

    // The .log tells the story in order.
    let kinds: Vec<String> =
        lines(dir.path(), "log").iter().map(|l| l["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("started"));
    assert_eq!(kinds.get(1).map(String::as_str), Some("kafka_initialised"));
    assert!(kinds.iter().any(|k| k == "partitions_assigned"));
    assert_eq!(kinds.last().map(String::as_str), Some("stopped"));
}

#[test]
fn bad_configuration_exits_2_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tracker"))
        .current_dir(dir.path())
        .env("RETRY_MAX_ATTEMPTS", "lots")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "error: environment variable RETRY_MAX_ATTEMPTS=\"lots\" is invalid: expected a whole number from 1 to 100"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no file created before validation");
}

/// A broker with the topics and a tracker that owns their partitions, whose librdkafka
/// statistics come only every ten minutes: what its metrics entries show cannot come from them.
async fn tracker_without_statistics(
    broker: testkit::Broker,
    instance_id: &str,
    env: &[(&str, &str)],
) -> (testkit::Broker, tempfile::TempDir, Tracker) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "kafka:\n  properties:\n    statistics.interval.ms: 600000\n",
    )
    .unwrap();
    let tracker = Tracker::start(&broker, dir.path(), instance_id, env);
    wait_until(GENEROUS, "the tracker owns the partitions", || {
        !log_entries(dir.path(), instance_id, "partitions_assigned").is_empty()
    });
    (broker, dir, tracker)
}

/// In a burst, a metrics entry's lag counts the records still waiting, even with librdkafka's
/// statistics ten minutes apart (they used to be the only source of the high watermark: the
/// lag read 0, or nothing, while thousands waited), and reads 0 once they are drained.
/// Broker: Apache Kafka, whose high watermarks are exact (Tansu's can run low after batched
/// produces, which made this test fail on a loaded machine: a partition read a high watermark
/// of 0 with a thousand records in it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_shows_in_the_lag_between_statistics() {
    let (broker, dir, _tracker) =
        tracker_without_statistics(kafka_with_topics().await, "lag", &[("TRACKER_PROCESSING_DELAY_MS", "3")])
            .await;
    let records = valid_orders(21, 3000);
    broker.produce("orders", &records).await.unwrap();

    let metrics = |dir: &std::path::Path| -> Vec<Value> {
        log_entries(dir, "lag", "metrics").into_iter().map(|entry| entry["metadata"].clone()).collect()
    };
    wait_until(GENEROUS, "a metrics entry in the middle of the backlog", || {
        metrics(dir.path()).iter().any(|m| m["messages_received"].as_u64().is_some_and(|n| n > 0 && n < 2000))
    });
    let during = metrics(dir.path())
        .into_iter()
        .find(|m| m["messages_received"].as_u64().is_some_and(|n| n > 0 && n < 2000))
        .unwrap();
    let waiting = 3000 - during["messages_processed"].as_i64().unwrap();
    let lag = during["total_lag"].as_i64().unwrap_or_else(|| panic!("no lag in {during}"));
    assert!(lag >= waiting / 2, "lag {lag} with {waiting} records waiting: {during}");
    for partition in during["partitions"].as_array().unwrap() {
        if let (Some(high), Some(last)) =
            (partition["high_watermark"].as_i64(), partition["last_processed_offset"].as_i64())
        {
            assert_eq!(partition["lag"].as_i64(), Some(high - last - 1), "the row adds up: {partition}");
        }
    }

    wait_until(GENEROUS, "a metrics entry after the backlog is drained", || {
        metrics(dir.path()).iter().any(|m| m["messages_processed"] == 3000)
    });
    let after = metrics(dir.path()).into_iter().find(|m| m["messages_processed"] == 3000).unwrap();
    assert_eq!(after["total_lag"], 0, "{after}");
}

/// The committed offset in a metrics entry is what this instance's last commit stored, not
/// the statistics' copy of it, which comes only every `statistics.interval.ms`: once every
/// record is handled and committed, each partition's committed offset is the one after its
/// last processed offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_offset_is_the_last_commit_not_the_last_statistics() {
    let (broker, dir, _tracker) = tracker_without_statistics(
        broker_with_topics().await,
        "commits",
        &[("TRACKER_COMMIT_INTERVAL_MS", "200")],
    )
    .await;
    broker.produce("orders", &valid_orders(22, 300)).await.unwrap();

    let committed_everywhere = |metrics: &Value| {
        metrics["messages_processed"] == 300
            && metrics["partitions"].as_array().is_some_and(|partitions| {
                partitions.iter().all(|partition| {
                    partition["last_processed_offset"].is_null()
                        || partition["committed_offset"].as_i64()
                            == partition["last_processed_offset"].as_i64().map(|last| last + 1)
                })
            })
    };
    let last_metrics =
        || log_entries(dir.path(), "commits", "metrics").last().map(|entry| entry["metadata"].clone());
    wait_until(GENEROUS, "a metrics entry with every partition committed after its last record", || {
        last_metrics().is_some_and(|metrics| committed_everywhere(&metrics))
    });
}

/// A metrics entry says what the cluster's metadata says of each partition (leader, replicas,
/// in-sync replicas), the topic's `min.insync.replicas`, and the state of the connection to
/// each broker. Broker: Apache Kafka (one node: node id 1, replication factor 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_entry_carries_the_replication_and_the_broker_connections() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "cluster", &[]);
    let described = |metrics: &Value| {
        metrics["partitions"].as_array().is_some_and(|partitions| partitions.len() == 3)
            && !metrics["min_insync_replicas"].is_null()
            && metrics["brokers"].as_array().is_some_and(|brokers| brokers.iter().any(|b| b["state"] == "UP"))
    };
    let last_metrics =
        || log_entries(dir.path(), "cluster", "metrics").last().map(|entry| entry["metadata"].clone());
    wait_until(GENEROUS, "a metrics entry with three partitions, the setting and a connection up", || {
        last_metrics().is_some_and(|metrics| described(&metrics))
    });
    let metrics = last_metrics().unwrap();
    for partition in metrics["partitions"].as_array().unwrap() {
        assert_eq!(partition["leader"], 1, "{partition}");
        assert_eq!(partition["replicas"], serde_json::json!([1]), "{partition}");
        assert_eq!(partition["in_sync_replicas"], serde_json::json!([1]), "{partition}");
    }
    assert_eq!(metrics["min_insync_replicas"], 1, "a single node's default");
    let brokers = metrics["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 1, "the bootstrap address is not a broker of its own: {brokers:?}");
    assert_eq!(brokers[0]["node_id"], 1);
    assert_eq!(brokers[0]["address"], broker.bootstrap().as_str());
    assert_eq!(brokers[0]["state"], "UP");
}
