//! Counted runs: everything sent arrives, keyed, valid and in order; a late broker still gets
//! everything; `--create-topics` creates both topics.

use std::collections::HashMap;
use std::time::Duration;

use models::OrderEvent;
use rdkafka::consumer::{BaseConsumer, Consumer};
use testkit::Broker;

use crate::util::{entry, producer, read_records, run, Running};

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counted_flood_arrives_complete_valid_and_in_order() {
    let broker = Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"));
    broker.create_topic("orders", 3).await.expect("topic created");
    let dir = tempfile::tempdir().unwrap();
    let args = ["--broker", &broker.bootstrap(), "--count", "500", "--rate", "0", "--log-dir", "."];
    let finished = run(producer(dir.path(), &args), Duration::from_secs(60));
    assert_eq!(finished.exit_code(), 0, "{finished:?}");
    assert!(finished.stdout.contains("acknowledged 500,"), "summary: {}", finished.stdout);
    assert_eq!(finished.stdout.lines().count(), 1, "one summary line");

    let records = read_records(&broker, "orders", 500, Duration::from_secs(30));
    assert_eq!(records.len(), 500, "exactly the records sent");

    let mut sequences = Vec::new();
    let mut partition_of_order: HashMap<String, i32> = HashMap::new();
    let mut last_rank: HashMap<String, u8> = HashMap::new();
    let mut lifecycle_events = 0;
    let mut records = records;
    records.sort_by_key(|r| (r.partition, r.offset));
    for record in &records {
        let payload = record.payload.as_deref().expect("payload");
        let event = OrderEvent::from_slice(payload).expect("payload is an order event");
        models::validate(&event).expect("event passes validation");
        let order_id = event.order.order_id.to_string();
        assert_eq!(record.key.as_deref(), Some(order_id.as_bytes()), "keyed by order id");
        assert_eq!(record.header("event_type"), Some(event.event_type.as_str()));
        assert_eq!(record.header("content-type"), Some("application/json"));
        assert_eq!(record.header("producer_sequence"), Some(event.sequence.to_string().as_str()));
        assert!(uuid::Uuid::parse_str(record.header("trace_id").expect("trace_id")).is_ok());
        sequences.push(event.sequence);
        let partition = *partition_of_order.entry(order_id.clone()).or_insert(record.partition);
        assert_eq!(partition, record.partition, "all events of order {order_id} in one partition");
        let rank = event.order.status.rank().expect("known status");
        if let Some(previous) = last_rank.insert(order_id.clone(), rank) {
            assert!(rank > previous, "order {order_id}: status rank {previous} then {rank}");
            lifecycle_events += 1;
        }
    }
    assert!(lifecycle_events > 50, "only {lifecycle_events} lifecycle events among 500");
    sequences.sort_unstable();
    assert_eq!(sequences, (0..500).collect::<Vec<u64>>(), "sequences 0..500, all distinct");

    let started = entry(dir.path(), "started");
    assert_eq!(started["metadata"]["mode"]["pace"], "flood");
    assert_eq!(started["metadata"]["config"]["kafka"]["broker"], broker.bootstrap());
    let stopped = entry(dir.path(), "stopped");
    assert_eq!(stopped["level"], "INFO");
    assert_eq!(stopped["metadata"]["sent"], 500);
    assert_eq!(stopped["metadata"]["acknowledged"], 500);
    assert_eq!(stopped["metadata"]["lost"], 0);
    assert_eq!(stopped["service"], "order-producer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_starts_late_still_gets_everything() {
    let port = testkit::stable_port().expect("free port");
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = format!("127.0.0.1:{port}");
    let args = ["--broker", &bootstrap, "--count", "50", "--rate", "50", "--log-dir", "."];
    let running = Running::start(producer(dir.path(), &args));
    // The producer is meant to start first and wait within message.timeout.ms.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let broker = Broker::start_on_port(port, &[]).expect("broker starts on the agreed port");
    // Tansu auto-creates topics named in metadata requests, so the producer may win the race.
    if let Err(error) = broker.create_topic("orders", 3).await {
        assert!(error.to_string().contains("TopicAlreadyExists"), "{error:#}");
    }
    let finished =
        tokio::task::spawn_blocking(move || running.finish(Duration::from_secs(60))).await.unwrap();
    assert_eq!(finished.exit_code(), 0, "{finished:?}");
    assert!(finished.stdout.contains("acknowledged 50,"), "summary: {}", finished.stdout);
    assert_eq!(read_records(&broker, "orders", 50, Duration::from_secs(30)).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_zero_with_create_topics_only_creates_the_topics() {
    let broker = Broker::start().expect("broker starts");
    let dir = tempfile::tempdir().unwrap();
    let args = ["--broker", &broker.bootstrap(), "--count", "0", "--create-topics", "--log-dir", "."];
    let finished = run(producer(dir.path(), &args), Duration::from_secs(60));
    assert_eq!(finished.exit_code(), 0, "{finished:?}");
    let consumer: BaseConsumer = broker.client_config().create().unwrap();
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(10)).unwrap();
    let partitions: HashMap<&str, usize> =
        metadata.topics().iter().map(|topic| (topic.name(), topic.partitions().len())).collect();
    assert_eq!(partitions.get("orders"), Some(&3), "{partitions:?}");
    assert_eq!(partitions.get("orders-dlq"), Some(&1), "{partitions:?}");
    // A second run finds them and is fine with it.
    let finished = run(producer(dir.path(), &args), Duration::from_secs(60));
    assert_eq!(finished.exit_code(), 0, "{finished:?}");
    assert!(read_records(&broker, "orders", 0, Duration::from_secs(30)).is_empty());
}
