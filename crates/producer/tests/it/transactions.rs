//! `--transactional`: records go out in Kafka transactions, `--abort-rate` aborts some on
//! purpose; an independent client (kcat) shows that a `read_uncommitted` reader sees the
//! aborted records and a `read_committed` one does not.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use testkit::Broker;

use crate::util::{entry, producer, run};

/// The `producer_sequence` header of each record kcat printed (`-J`: headers as a flat list
/// of names and values).
fn sequences(records: &[Value]) -> BTreeSet<u64> {
    records
        .iter()
        .map(|record| {
            let headers = record["headers"].as_array().expect("kcat prints headers");
            let at = headers.iter().position(|value| value == "producer_sequence").expect("sequence header");
            headers[at + 1].as_str().and_then(|text| text.parse().ok()).expect("a sequence number")
        })
        .collect()
}

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_are_seen_by_read_uncommitted_readers_only() {
    let broker = Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"));
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--broker",
        &broker.bootstrap(),
        "--create-topics",
        "--count",
        "600",
        "--rate",
        "0",
        "--seed",
        "3",
        "--transactional",
        "--transactional-id",
        "test-producer",
        "--transaction-records",
        "20",
        "--abort-rate",
        "0.3",
        "--log-dir",
        ".",
    ];
    let finished = run(producer(dir.path(), &args), Duration::from_secs(120));
    assert_eq!(finished.exit_code(), 0, "{finished:?}");
    assert!(finished.stdout.contains("acknowledged 600,"), "summary: {}", finished.stdout);

    let stopped = entry(dir.path(), "stopped");
    let totals = &stopped["metadata"]["transactions"];
    let committed = totals["committed_records"].as_u64().expect("committed records counted");
    let aborted = totals["aborted_records"].as_u64().expect("aborted records counted");
    assert_eq!(committed + aborted, 600, "{totals}");
    assert_eq!(totals["committed"].as_u64().unwrap() + totals["aborted"].as_u64().unwrap(), 30, "{totals}");
    assert!(aborted >= 60 && committed >= 200, "about 30 % of 30 transactions aborted: {totals}");
    let summary = format!(
        "transactions: {committed} records committed in {}, {aborted} records aborted in {}",
        totals["committed"], totals["aborted"]
    );
    assert!(finished.stdout.contains(&summary), "summary {:?} lacks {summary:?}", finished.stdout);

    let uncommitted = broker.kcat_read("orders", "read_uncommitted").expect("kcat reads");
    let read_committed = broker.kcat_read("orders", "read_committed").expect("kcat reads");
    assert_eq!(uncommitted.len(), 600, "read_uncommitted sees every record, aborted ones included");
    assert_eq!(read_committed.len() as u64, committed, "read_committed sees the committed ones only");
    let all = sequences(&uncommitted);
    let visible = sequences(&read_committed);
    assert_eq!(all, (0..600).collect(), "every record once");
    assert!(visible.is_subset(&all));
    assert_eq!((all.len() - visible.len()) as u64, aborted, "the difference is the aborted records");
}
