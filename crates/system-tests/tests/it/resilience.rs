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

/// What one run of the two-mode drill found.
#[derive(Debug)]
struct DrillOutcome {
    /// The instances killed, in order.
    killed: Vec<&'static str>,
    /// Read back by kcat (`read_committed`).
    tally: EffectTally,
    /// Audit lines, and distinct (partition, offset) among them.
    audit_lines: usize,
    audited_records: usize,
    /// The monitor's figures: duplicate deliveries and retried attempts.
    monitor_duplicates: u64,
    monitor_retried_attempts: u64,
    /// Transactions the trackers committed and aborted (their `.log` entries).
    transactions_committed: usize,
    transactions_aborted: usize,
}

/// The chaos drill for one mode: a fresh Apache Kafka, the real producer sending `orders`
/// records in transactions (10 % aborted on purpose, 5 % poison pills) at `rate` per second,
/// 3 trackers each writing status records to `order-status`, `kills` SIGKILLs on the seeded
/// schedule (the same in both modes), then a drain until every committed record's effect is
/// readable, and a graceful stop.
async fn chaos_drill(processing: &str, orders: u64, rate: u64, kills: usize) -> DrillOutcome {
    let broker = Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"));
    let dir = tempfile::tempdir().unwrap();
    let topics = crate::exactly_once::produce_in_transactions(&broker, dir.path(), 0, 0, 0.0);
    assert_eq!(topics.finish(Duration::from_secs(60)).exit_code(), 0, "--create-topics");
    let ids = ["chaos-1", "chaos-2", "chaos-3"];
    let env = [
        ("TRACKER_PROCESSING", processing),
        ("TRACKER_STATUS_TOPIC", "order-status"),
        ("TRACKER_PROCESSING_DELAY_MS", "3"),
    ];
    let mut trackers: Vec<Tracker> =
        ids.iter().map(|id| Tracker::start(&broker, dir.path(), id, &env)).collect();
    wait_until(Duration::from_secs(60), "the trackers have partitions", || {
        ids.iter().any(|id| !log_entries(dir.path(), id, "partitions_assigned").is_empty())
    });
    let producer = crate::exactly_once::produce_in_transactions(&broker, dir.path(), orders, rate, 0.1);
    let mut random = rand::rngs::StdRng::seed_from_u64(11);
    let mut killed = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(random.random_range(2_500..4_000))).await;
        let victim = random.random_range(0..trackers.len());
        trackers[victim].signal(libc::SIGKILL);
        trackers[victim].wait_for_exit(Duration::from_secs(10));
        trackers[victim] = Tracker::start(&broker, dir.path(), ids[victim], &env);
        killed.push(ids[victim]);
    }
    let produced = producer.finish(Duration::from_secs(300));
    assert_eq!(produced.exit_code(), 0, "{produced:?}");

    // Drained: every committed record's effect readable.
    EffectTally::wait_until_complete(
        &broker,
        "orders",
        "order-status",
        "orders-dlq",
        Duration::from_secs(240),
    );
    for tracker in &trackers {
        tracker.signal(libc::SIGTERM);
    }
    for tracker in &mut trackers {
        assert!(tracker.wait_for_exit(Duration::from_secs(20)).success(), "{processing}: a graceful stop");
    }
    let tally = EffectTally::read(&broker, "orders", "order-status", "orders-dlq");
    let audit = lines(dir.path(), "events");
    let monitor = crate::exactly_once::monitor_summary(dir.path());
    let entries = |kind| ids.iter().map(|id| log_entries(dir.path(), id, kind).len()).sum();
    DrillOutcome {
        killed,
        audit_lines: audit.len(),
        audited_records: offsets_seen(dir.path()).len(),
        monitor_duplicates: monitor["messages"]["duplicate_deliveries"].as_u64().unwrap_or(u64::MAX),
        monitor_retried_attempts: monitor["messages"]["retried_attempts"].as_u64().unwrap_or(u64::MAX),
        transactions_committed: entries("transaction_committed"),
        transactions_aborted: entries("transaction_aborted"),
        tally,
    }
}

/// The chaos drill in both modes, same load and same SIGKILLs: at-least-once loses nothing
/// but may write an effect twice (and says how often); exactly-once writes each effect once,
/// as an independent `read_committed` client reads them back, with the producer's aborted
/// transactions never processed. `make chaos-eos` runs it larger (`EOS_CHAOS_ORDERS`,
/// `EOS_CHAOS_RATE`, `EOS_CHAOS_KILLS`).
///
/// Broker: Apache Kafka (one per mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_in_both_modes_exactly_once_writes_each_effect_once() {
    let orders = env_number("EOS_CHAOS_ORDERS", 4_000) as u64;
    let rate = env_number("EOS_CHAOS_RATE", 300) as u64;
    let kills = env_number("EOS_CHAOS_KILLS", 3);
    let at_least_once = chaos_drill("at_least_once", orders, rate, kills).await;
    let exactly_once = chaos_drill("exactly_once", orders, rate, kills).await;
    for (mode, outcome) in [("at_least_once", &at_least_once), ("exactly_once", &exactly_once)] {
        let tally = &outcome.tally;
        eprintln!(
            "chaos {mode}: {orders} records at {rate}/s, SIGKILLs {:?}; committed {}, aborted by the producer {}; \
             order-status: {} records, {} duplicates, {} lost, {} of aborted records; DLQ: {} dead letters, {} \
             duplicates, {} lost, {} unexpected; audit: {} lines for {} records; monitor: {} duplicate deliveries, \
             {} retried attempts; transactions: {} committed, {} aborted",
            outcome.killed,
            tally.committed,
            tally.aborted,
            tally.status_records,
            tally.status_duplicates,
            tally.status_lost,
            tally.status_of_aborted,
            tally.dead_letters,
            tally.dead_letter_duplicates,
            tally.dead_letters_lost,
            tally.dead_letters_unexpected,
            outcome.audit_lines,
            outcome.audited_records,
            outcome.monitor_duplicates,
            outcome.monitor_retried_attempts,
            outcome.transactions_committed,
            outcome.transactions_aborted,
        );
        assert_eq!(outcome.killed, at_least_once.killed, "the same SIGKILLs in both modes");
        assert!(tally.aborted > 0, "{mode}: the producer aborted some transactions");
        assert_eq!(tally.committed + tally.aborted, orders as usize, "{mode}: every record stored");
        assert_eq!((tally.status_lost, tally.dead_letters_lost), (0, 0), "{mode}: nothing lost");
        assert_eq!(
            (tally.status_of_aborted, tally.dead_letters_unexpected),
            (0, 0),
            "{mode}: no effect of an aborted record"
        );
        assert_eq!(
            outcome.audited_records, tally.committed,
            "{mode}: every committed record audited, no aborted one"
        );
    }
    let tally = &exactly_once.tally;
    assert_eq!(
        (tally.status_duplicates, tally.dead_letter_duplicates),
        (0, 0),
        "exactly once: no effect written twice despite the SIGKILLs: {tally:?}"
    );
    assert_eq!(exactly_once.monitor_duplicates, 0, "exactly once: re-reads are attempts, not duplicates");
    assert!(exactly_once.transactions_committed > 0);
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
