//! Proves the harness: a private broker, a 3-partition topic, 1,000 records, and three
//! consumers of one group sharing the partitions with nothing missing and nothing extra.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use testkit::{Broker, Record};

const RECORDS: usize = 1_000;
const CONSUMERS: usize = 3;

/// What one consumer saw: its current assignment and every (partition, offset) it read.
#[derive(Default)]
struct Seen {
    assignment: BTreeSet<i32>,
    messages: Vec<(i32, i64)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consumers_share_three_partitions_exactly() {
    let broker = Broker::start().expect("broker starts");
    broker.create_topic("orders", 3).await.expect("topic created");

    let seen: Vec<Arc<Mutex<Seen>>> = (0..CONSUMERS).map(|_| Arc::default()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = seen
        .iter()
        .enumerate()
        .map(|(index, seen)| {
            let consumer: BaseConsumer = broker
                .client_config()
                .set("group.id", "harness-group")
                .set("client.id", format!("consumer-{index}"))
                .set("session.timeout.ms", "6000")
                .set("auto.offset.reset", "earliest")
                .create()
                .expect("consumer created");
            consumer.subscribe(&["orders"]).expect("subscribed");
            let (seen, stop) = (Arc::clone(seen), Arc::clone(&stop));
            std::thread::spawn(move || consume(consumer, &seen, &stop))
        })
        .collect();

    // Produce only once the group is stable, so no partition changes hands mid-test.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let assignments: Vec<BTreeSet<i32>> =
            seen.iter().map(|s| s.lock().unwrap().assignment.clone()).collect();
        if assignments.iter().all(|a| a.len() == 1)
            && assignments.iter().flatten().collect::<BTreeSet<_>>().len() == 3
        {
            break;
        }
        assert!(Instant::now() < deadline, "group did not stabilise: {assignments:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let records: Vec<Record> =
        (0..RECORDS).map(|i| Record::new(format!("order-{i}"), format!("payload-{i}"))).collect();
    let acknowledged = broker.produce("orders", &records).await.expect("records acknowledged");

    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.iter().map(|s| s.lock().unwrap().messages.len()).sum::<usize>() < RECORDS {
        assert!(Instant::now() < deadline, "records not all consumed in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        thread.join().expect("consumer thread");
    }

    let mut owner_of_partition: BTreeMap<i32, BTreeSet<usize>> = BTreeMap::new();
    let mut all: Vec<(i32, i64)> = Vec::new();
    for (index, seen) in seen.iter().enumerate() {
        for &(partition, offset) in &seen.lock().unwrap().messages {
            owner_of_partition.entry(partition).or_default().insert(index);
            all.push((partition, offset));
        }
    }
    assert_eq!(owner_of_partition.len(), 3, "all three partitions received records");
    for (partition, owners) in &owner_of_partition {
        assert_eq!(owners.len(), 1, "partition {partition} was read by {owners:?}");
    }
    let owners: BTreeSet<usize> = owner_of_partition.values().flatten().copied().collect();
    assert_eq!(owners.len(), CONSUMERS, "each consumer owns one partition");

    all.sort_unstable();
    let distinct: BTreeSet<(i32, i64)> = all.iter().copied().collect();
    assert_eq!(all.len(), RECORDS, "nothing extra");
    assert_eq!(distinct.len(), RECORDS, "nothing duplicated");
    let acknowledged: BTreeSet<(i32, i64)> = acknowledged.into_iter().collect();
    assert_eq!(distinct, acknowledged, "nothing missing: every acknowledged record was consumed");
    for partition in 0..3 {
        let offsets: Vec<i64> = all.iter().filter(|(p, _)| *p == partition).map(|(_, o)| *o).collect();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, expected, "partition {partition} read without gaps from offset 0");
    }
}

fn consume(consumer: BaseConsumer, seen: &Mutex<Seen>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let message = consumer.poll(Duration::from_millis(100));
        let assignment = consumer
            .assignment()
            .map(|list| list.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        let mut seen = seen.lock().unwrap();
        seen.assignment = assignment;
        if let Some(Ok(message)) = message {
            seen.messages.push((message.partition(), message.offset()));
        }
    }
    consumer.unsubscribe();
}

#[tokio::test]
async fn read_all_returns_what_was_produced_with_headers() {
    let broker = Broker::start().expect("broker starts");
    broker.create_topic("t", 1).await.unwrap();
    let mut record = Record::new("k", vec![0xff, 0x00]);
    record.headers.push(("h".into(), "v".into()));
    broker.produce("t", &[record.clone()]).await.unwrap();
    let back = broker.read_exactly("t", 1, Duration::from_secs(30)).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].key, record.key);
    assert_eq!(back[0].payload, record.payload);
    assert_eq!(back[0].header("h"), Some("v"));
}
