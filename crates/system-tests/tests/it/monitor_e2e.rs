//! The monitor over real tracker files: two trackers audit orders and poison pills, stop, and
//! `monitor --once --json` must report what the files say.

use std::process::Command;

use models::PoisonKind;
use serde_json::Value;
use testkit::tracker::*;
use testkit::Record;

/// The monitor binary, built up to date.
fn monitor_binary() -> std::path::PathBuf {
    testkit::workspace_binary("monitor")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_once_json_matches_the_tracker_files() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut trackers: Vec<Tracker> =
        ["watched-1", "watched-2"].iter().map(|id| Tracker::start(&broker, dir.path(), id, &[])).collect();

    let mut records = valid_orders(21, 150);
    let mut generator = models::OrderGenerator::seeded(22);
    for (n, kind) in [PoisonKind::InvalidJson, PoisonKind::BadAmounts, PoisonKind::Empty].iter().enumerate() {
        records.push(Record::new(
            format!("poison-{n}"),
            kind.payload(&mut generator, n as u64, chrono::Utc::now()),
        ));
    }
    let expected = produce_orders(&broker, &records).await;
    wait_for_offsets(dir.path(), &expected, std::time::Duration::from_secs(60));
    for tracker in &trackers {
        tracker.signal(libc::SIGTERM);
    }
    for tracker in &mut trackers {
        assert!(tracker.wait_for_exit(std::time::Duration::from_secs(15)).success());
    }

    let output =
        Command::new(monitor_binary()).args(["--once", "--json", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "monitor failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");

    // What the files say.
    let events = lines(dir.path(), "events");
    let stops: Vec<Value> = ["watched-1", "watched-2"]
        .iter()
        .flat_map(|id| log_entries(dir.path(), id, "stopped"))
        .map(|entry| entry["metadata"].clone())
        .collect();
    let stop_total = |field: &str| stops.iter().map(|stop| stop[field].as_u64().unwrap()).sum::<u64>();
    let valid_created: Vec<&Value> = events
        .iter()
        .filter(|l| l["deserialized"] == true && l["validation_error"].is_null() && l["status"] == "created")
        .collect();
    let revenue: i64 = valid_created.iter().map(|l| l["order_full"]["total_cents"].as_i64().unwrap()).sum();

    let totals = &report["totals"];
    assert_eq!(totals["received"].as_u64().unwrap() as usize, events.len());
    assert_eq!(totals["processed"].as_u64().unwrap(), stop_total("total_messages_processed"));
    assert_eq!(totals["failed"].as_u64().unwrap(), stop_total("total_messages_failed"));
    assert_eq!(totals["dlq_sent"].as_u64().unwrap(), stop_total("total_dlq_sent"));
    assert_eq!(totals["dlq_sent"], 3, "the three poison pills");
    assert_eq!(report["instances_total"], 2);
    let instances = report["instances"].as_array().unwrap();
    assert!(instances.iter().all(|i| i["status"] == "stopped"), "{instances:?}");
    let received: u64 = instances.iter().map(|i| i["received"].as_u64().unwrap()).sum();
    assert_eq!(received as usize, events.len());
    assert_eq!(report["business"]["orders_created"].as_u64().unwrap() as usize, valid_created.len());
    assert_eq!(report["business"]["revenue_cents"].as_i64().unwrap(), revenue);
}
