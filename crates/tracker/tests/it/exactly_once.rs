//! `tracker.processing: exactly_once` on its own: a second process with the same instance id
//! (so the same `transactional.id`) fences the first, which stops with one clear line, and the
//! effects of every order are there once.

use std::time::{Duration, Instant};

use testkit::tracker::*;
use testkit::wait_until;

const EXACTLY_ONCE: [(&str, &str); 1] = [("TRACKER_PROCESSING", "exactly_once")];

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_instance_stops_with_one_clear_line_and_nothing_is_doubled() {
    let broker = kafka_with_topics().await;
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = Tracker::start(&broker, first_dir.path(), "twin", &EXACTLY_ONCE);
    let orders = valid_orders(21, 400);
    produce_orders(&broker, &orders[..40]).await;
    wait_until(Duration::from_secs(60), "the first instance commits a transaction", || {
        !log_entries(first_dir.path(), "twin", "transaction_committed").is_empty()
    });

    // The same instance id elsewhere: the same transactional.id, a newer producer epoch.
    let mut second = Tracker::start(&broker, second_dir.path(), "twin", &EXACTLY_ONCE);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut sent = 40;
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(first_dir.path().join("tracker-twin.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            let stderr = std::fs::read_to_string(first_dir.path().join("twin.stderr")).unwrap_or_default();
            panic!("the fenced instance did not stop; its .log ends with {tail:#?}\nstderr: {stderr}");
        }
        if sent < orders.len() {
            produce_orders(&broker, &orders[sent..sent + 20]).await;
            sent += 20;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status.code(), Some(1), "a fenced instance exits 1");
    let stderr = std::fs::read_to_string(first_dir.path().join("twin.stderr")).unwrap();
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{stderr}");
    assert!(
        errors[0].contains("fenced") && errors[0].contains("transactional.id order-tracker-twin"),
        "{}",
        errors[0]
    );
    let fenced = log_entries(first_dir.path(), "twin", "fenced");
    assert_eq!(fenced.len(), 1, "one fenced entry");
    assert_eq!(fenced[0]["metadata"]["fenced"], true);

    // The survivor takes every partition and finishes the work: each order's status once.
    produce_orders(&broker, &orders[sent..]).await;
    EffectTally::wait_until_complete(
        &broker,
        "orders",
        "order-status",
        "orders-dlq",
        Duration::from_secs(90),
    );
    second.signal(libc::SIGTERM);
    assert!(second.wait_for_exit(Duration::from_secs(20)).success());
    let tally = EffectTally::read(&broker, "orders", "order-status", "orders-dlq");
    assert_eq!(tally.valid, orders.len());
    assert_eq!((tally.status_duplicates, tally.status_lost, tally.dead_letters), (0, 0, 0), "{tally:?}");
}
