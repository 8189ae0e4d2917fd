//! `tracker.processing: exactly_once` against a transactional producer that aborts some of its
//! transactions on purpose: the status records and dead letters a `read_committed` client
//! (kcat, not this project's code) reads back are there once per committed record, none for an
//! aborted one; the audit lines say which transaction each reception belongs to.

use std::collections::BTreeSet;
use std::time::Duration;

use testkit::tracker::{lines, log_entries, EffectTally, Tracker};
use testkit::{Broker, Running};

/// Runs the real producer in `dir` to completion: `count` records in transactions of 25, a
/// share `abort_rate` of them aborted, 5 % poison pills, at `rate` records per second (0: as
/// fast as it can); creates the topics (the status topic compacted).
pub(crate) fn produce_in_transactions(
    broker: &Broker,
    dir: &std::path::Path,
    count: u64,
    rate: u64,
    abort_rate: f64,
) -> Running {
    let (count, rate, abort_rate) = (count.to_string(), rate.to_string(), abort_rate.to_string());
    let args = [
        "--broker",
        &broker.bootstrap(),
        "--create-topics",
        "--count",
        &count,
        "--rate",
        &rate,
        "--seed",
        "9",
        "--poison-rate",
        "0.05",
        "--transactional",
        "--transaction-records",
        "25",
        "--abort-rate",
        &abort_rate,
        "--log-dir",
        ".",
    ];
    Running::start(testkit::project_command(&testkit::workspace_binary("producer"), dir, &args))
}

/// `monitor --once --json` over `dir`: the monitor's counts of the audit lines.
pub(crate) fn monitor_summary(dir: &std::path::Path) -> serde_json::Value {
    let output = std::process::Command::new(testkit::workspace_binary("monitor"))
        .args(["--once", "--json", "--dir"])
        .arg(dir)
        .output()
        .expect("monitor runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("monitor prints JSON")
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_commits_each_effect_once_and_never_sees_aborted_records() {
    let broker = Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"));
    let dir = tempfile::tempdir().unwrap();
    let produced =
        produce_in_transactions(&broker, dir.path(), 1_000, 0, 0.25).finish(Duration::from_secs(120));
    assert_eq!(produced.exit_code(), 0, "{produced:?}");

    let mut tracker = Tracker::start(&broker, dir.path(), "eos-1", &[("TRACKER_PROCESSING", "exactly_once")]);
    EffectTally::wait_until_complete(
        &broker,
        "orders",
        "order-status",
        "orders-dlq",
        Duration::from_secs(90),
    );
    tracker.signal(libc::SIGTERM);
    assert!(tracker.wait_for_exit(Duration::from_secs(20)).success());

    let tally = EffectTally::read(&broker, "orders", "order-status", "orders-dlq");
    eprintln!("exactly once, one tracker: {tally:?}");
    assert!(tally.aborted >= 100 && tally.poison > 0, "the producer aborted some, sent poison: {tally:?}");
    assert_eq!(tally.committed + tally.aborted, 1_000, "{tally:?}");
    assert_eq!(
        (tally.status_duplicates, tally.status_lost, tally.status_of_aborted),
        (0, 0, 0),
        "one status record per committed valid order: {tally:?}"
    );
    assert_eq!(
        (tally.dead_letter_duplicates, tally.dead_letters_lost, tally.dead_letters_unexpected),
        (0, 0, 0),
        "one dead letter per committed poison pill: {tally:?}"
    );

    // The audit: every committed record once, no aborted one, each line in a transaction
    // whose commit the .log records.
    let audit = lines(dir.path(), "events");
    let places: BTreeSet<(i64, i64)> = audit
        .iter()
        .map(|line| (line["kafka_partition"].as_i64().unwrap(), line["kafka_offset"].as_i64().unwrap()))
        .collect();
    assert_eq!(places.len(), tally.committed, "every committed record audited, no aborted one");
    let committed: Vec<_> = log_entries(dir.path(), "eos-1", "transaction_committed");
    let named: BTreeSet<&str> =
        committed.iter().filter_map(|entry| entry["metadata"]["transaction"].as_str()).collect();
    assert!(
        audit.iter().all(|line| line["transaction"].as_str().is_some_and(|name| named.contains(name))),
        "each audit line names a committed transaction"
    );
    let records: u64 = committed.iter().map(|entry| entry["metadata"]["records"].as_u64().unwrap()).sum();
    assert_eq!(records as usize, audit.len(), "the committed transactions hold every audited record");
    let initialised = &log_entries(dir.path(), "eos-1", "kafka_initialised")[0]["metadata"];
    assert_eq!(initialised["processing"], "exactly_once");
    assert_eq!(initialised["transactional_id"], "order-tracker-eos-1");
    let monitor = monitor_summary(dir.path());
    assert_eq!(
        monitor["messages"]["records"].as_u64(),
        Some(tally.committed as u64),
        "the monitor counts each once"
    );
    assert_eq!(monitor["messages"]["duplicate_deliveries"], 0);
    assert_eq!(monitor["instances"][0]["processing"], "exactly_once");
    let stopped = &log_entries(dir.path(), "eos-1", "stopped")[0]["metadata"];
    assert_eq!(stopped["total_transactions_committed"].as_u64(), Some(committed.len() as u64));
}
