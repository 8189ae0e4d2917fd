//! Kafka's own tools as an independent check of this project's figures. Broker: Apache Kafka.
//!
//! At a quiet moment (every record audited and committed), `kafka-consumer-groups --describe`
//! (`scripts/kafka.sh tool consumer-groups`, Kafka's `ConsumerGroupCommand`) and
//! `monitor --once --json` agree on every partition's committed offset, end offset and lag.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::tracker::*;
use testkit::wait_until;

use crate::util::{run, script};

/// One partition's (committed offset, end offset, lag); `None` where a figure is unknown.
type Offsets = (Option<i64>, Option<i64>, Option<i64>);

/// Per partition, the offsets as the monitor's JSON shows them.
fn monitor_offsets(dir: &std::path::Path) -> BTreeMap<i64, Offsets> {
    let output = Command::new(testkit::workspace_binary("monitor"))
        .args(["--once", "--json", "--dir"])
        .arg(dir)
        .output()
        .expect("the monitor runs");
    assert!(output.status.success(), "monitor failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    report["partition_lag"]
        .as_array()
        .expect("partition_lag is a list")
        .iter()
        .map(|row| {
            let figure = |name: &str| row[name].as_i64();
            (
                row["partition"].as_i64().unwrap(),
                (figure("committed_offset"), figure("high_watermark"), figure("lag")),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_consumer_groups_and_the_monitor_agree_on_offsets_and_lag() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _trackers: Vec<Tracker> =
        ["checked-1", "checked-2"].iter().map(|id| Tracker::start(&broker, dir.path(), id, &[])).collect();
    let expected = produce_orders(&broker, &valid_orders(41, 300)).await;
    wait_for_offsets(dir.path(), &expected, Duration::from_secs(120));

    // Quiet: the monitor's newest metrics entries show each partition committed up to its end.
    wait_until(Duration::from_secs(60), "every partition is committed up to its end", || {
        let rows = monitor_offsets(dir.path());
        rows.len() == 3
            && rows
                .values()
                .all(|(committed, end, lag)| committed.is_some() && committed == end && *lag == Some(0))
    });
    let monitor = monitor_offsets(dir.path());
    let ends: i64 = monitor.values().filter_map(|(_, end, _)| *end).sum();
    assert_eq!(
        ends as usize,
        offsets_seen(dir.path()).len(),
        "the end offsets add up to the records audited"
    );

    let described = run(
        script("scripts/kafka.sh")
            .args(["tool", "consumer-groups", "--bootstrap-server", &broker.bootstrap()])
            .args(["--describe", "--group", "order-tracker"]),
        Duration::from_secs(60),
    );
    assert_eq!(described.code, Some(0), "{}", described.all());
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    let mut kafka = BTreeMap::new();
    for line in described.stdout.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() >= 6 && fields[0] == "order-tracker" && fields[1] == "orders" {
            let number = |text: &str| text.parse::<i64>().ok();
            kafka.insert(
                number(fields[2]).unwrap(),
                (number(fields[3]), number(fields[4]), number(fields[5])),
            );
        }
    }
    assert_eq!(kafka, monitor, "kafka-consumer-groups said:\n{}", described.stdout);
}
