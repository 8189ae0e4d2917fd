//! Failure drills against the real tracker binary: trackers killed with SIGKILL while orders
//! flow (chaos), and a broker that drops off the network for 20 s (outage). Both check that
//! nothing acknowledged is lost.
//!
//! `make chaos` runs the chaos drill at full size (100,000 orders); `cargo test` runs it with
//! 10,000 orders. Sizes: `CHAOS_ORDERS`, `CHAOS_KILLS`.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use testkit::tracker::*;
use testkit::wait_until;
use testkit::Broker;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_sigkill_while_producing_loses_nothing() {
    let orders = env_number("CHAOS_ORDERS", 10_000);
    let kills = env_number("CHAOS_KILLS", 5);
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let ids = ["chaos-1", "chaos-2", "chaos-3"];
    // A few milliseconds of work per order keep the trackers busy when the kills come.
    let busy = [("TRACKER_PROCESSING_DELAY_MS", "3")];
    let mut trackers: Vec<Tracker> =
        ids.iter().map(|id| Tracker::start(&broker, dir.path(), id, &busy)).collect();

    // Orders flow in chunks over the whole drill, so every kill lands mid-stream.
    let records = valid_orders(7, orders);
    let chunk = (orders / (kills * 4).max(1)).max(1);
    let producing = async {
        let mut acknowledged = BTreeSet::new();
        for part in records.chunks(chunk) {
            acknowledged.extend(produce_orders(&broker, part).await);
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }
        acknowledged
    };
    let killing = async {
        let mut random = rand::rngs::StdRng::seed_from_u64(11);
        let mut killed = Vec::new();
        for _ in 0..kills {
            // Longer than a rebalance, so each kill hits a member that is consuming.
            tokio::time::sleep(Duration::from_millis(random.random_range(4_000..8_000))).await;
            let victim = random.random_range(0..trackers.len());
            trackers[victim].signal(libc::SIGKILL);
            trackers[victim].wait_for_exit(Duration::from_secs(10));
            trackers[victim] = Tracker::start(&broker, dir.path(), ids[victim], &busy);
            killed.push(ids[victim]);
        }
        killed
    };
    let (acknowledged, killed) = tokio::join!(producing, killing);
    assert_eq!(acknowledged.len(), orders);
    assert_eq!(killed.len(), kills);

    // Draining takes about 1 s per 700 orders here; leave room for a loaded machine.
    let drain_deadline = Duration::from_secs((orders as u64 / 100).max(240));
    wait_for_offsets(dir.path(), &acknowledged, drain_deadline);
    for tracker in &trackers {
        tracker.signal(libc::SIGTERM);
    }
    for tracker in &mut trackers {
        assert!(tracker.wait_for_exit(Duration::from_secs(15)).success());
    }

    let events = lines(dir.path(), "events");
    let distinct = offsets_seen(dir.path());
    assert_eq!(distinct, acknowledged, "every acknowledged offset audited, nothing else");
    let dead_letters: usize = ids.iter().map(|id| log_entries(dir.path(), id, "dlq_sent").len()).sum();
    assert_eq!(dead_letters, 0, "no valid order reached the DLQ");
    assert!(events.iter().all(|line| line["deserialized"] == true && line["validation_error"].is_null()));
    let duplicates = events.len() - distinct.len();
    let skipped: u64 = ids
        .iter()
        .flat_map(|id| log_entries(dir.path(), id, "stopped"))
        .map(|entry| entry["metadata"]["total_duplicates"].as_u64().unwrap_or(0))
        .sum();
    eprintln!(
        "chaos: {orders} orders, {kills} SIGKILLs ({killed:?}), 0 lost, {duplicates} duplicate deliveries \
         (same partition and offset twice), {skipped} skipped by the last runs' duplicate detection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_of_20_seconds_loses_nothing_acknowledged() {
    let broker = Broker::start_behind_proxy().expect("broker starts");
    broker.create_topic("orders", 3).await.unwrap();
    broker.create_topic("orders-dlq", 1).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _trackers: Vec<Tracker> =
        ["outage-1", "outage-2"].iter().map(|id| Tracker::start(&broker, dir.path(), id, &[])).collect();
    wait_until(Duration::from_secs(60), "both trackers have partitions", || {
        ["outage-1", "outage-2"]
            .iter()
            .all(|id| !log_entries(dir.path(), id, "partitions_assigned").is_empty())
    });

    // 100 events/s for 25 s, with the network cut from the 5th to the 25th second.
    let mut settings = config::Settings::default();
    settings.kafka.broker = broker.bootstrap();
    settings.producer.log_dir = dir.path().to_owned();
    // Records wait in the client during the outage: give them longer than the outage.
    settings.kafka.properties.insert("message.timeout.ms".into(), "60000".into());
    settings.kafka.properties.insert("reconnect.backoff.max.ms".into(), "1000".into());
    let options = producer::RunOptions {
        pace: producer::pace::Pace::Rate(100.0),
        count: Some(2_500),
        poison: None,
        create_topics: false,
        show_progress: false,
    };
    let producing =
        tokio::spawn(producer::run(settings.validate().unwrap(), options, service::Shutdown::never()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    broker.cut_network();
    tokio::time::sleep(Duration::from_secs(20)).await;
    broker.restore_network();

    let summary = tokio::time::timeout(Duration::from_secs(120), producing)
        .await
        .expect("the producer finishes after the outage")
        .unwrap()
        .expect("the producer run succeeds");
    assert_eq!(summary.sent, 2_500);
    assert_eq!(summary.lost, 0, "nothing lost: {summary:?}");
    assert_eq!(summary.acknowledged, 2_500);

    wait_until(Duration::from_secs(120), "every acknowledged record is audited", || {
        offsets_seen(dir.path()).len() == 2_500
    });
    // Both sides saw the outage and said so, then resumed by themselves.
    let tracker_errors: usize =
        ["outage-1", "outage-2"].iter().map(|id| log_entries(dir.path(), id, "kafka_error").len()).sum();
    assert!(tracker_errors > 0, "the trackers logged the outage");
    let producer_log = std::fs::read_to_string(dir.path().join("producer.log")).unwrap();
    assert!(producer_log.contains("\"kind\":\"kafka_error\""), "the producer logged the outage");
    assert!(producer_log.contains("\"kind\":\"stopped\""));
}
