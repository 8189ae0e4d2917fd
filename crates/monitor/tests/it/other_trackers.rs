//! Files written by other implementations of the same file contract: the Go tracker the seed
//! documents describe (its `.log` entries carry no `kind`, and its metrics lack `dlq_sent`,
//! `duplicates` and `retries`), and older trackers of this project (a metrics entry without
//! one counter). What they wrote is read; what they did not write is shown as unknown.

use std::process::Command;

use serde_json::{json, Value};

const NOW: &str = "2026-03-01T10:01:00Z";

fn monitor(dir: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args(["--now", NOW, "--dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A `tracker-instance-1.events` line as the seed documents list its fields.
fn seed_audit_line(offset: i64) -> String {
    json!({
        "timestamp": "2026-03-01T10:00:10Z",
        "event_type": "message.received",
        "kafka_topic": "orders",
        "kafka_partition": 0,
        "kafka_offset": offset,
        "kafka_key": "k",
        "raw_message": "{}",
        "message_size": 2,
        "deserialized": true,
        "order_id": format!("{offset}0000000-0000-4000-8000-000000000000"),
        "sequence": offset,
        "status": "created",
        "order_full": {"order_id": "x", "total_cents": 100, "customer": {"customer_id": "client01"}},
    })
    .to_string()
}

/// The Go tracker's `.log`: a start and a periodic metrics entry (`Métriques système`), with
/// the seed's fields only: no `kind`, no `instance_id`, no `dlq_sent`, `duplicates`, `retries`.
fn seed_log() -> String {
    [
        json!({"timestamp": "2026-03-01T10:00:00Z", "level": "INFO", "message": "Démarrage du tracker",
               "service": "order-tracker",
               "metadata": {"log_file": "tracker-instance-1.log", "events_file": "tracker-instance-1.events",
                            "start_time": "2026-03-01T10:00:00Z"}}),
        json!({"timestamp": "2026-03-01T10:00:30Z", "level": "INFO", "message": "Métriques système",
               "service": "order-tracker",
               "metadata": {"uptime_seconds": 30.0, "messages_received": 3, "messages_processed": 2,
                            "messages_failed": 1, "success_rate_percent": 66.67, "messages_per_second": 0.1,
                            "last_message_time": "2026-03-01T10:00:10Z", "last_processed_offset": 2}}),
    ]
    .map(|line| line.to_string())
    .join("\n")
        + "\n"
}

/// An older tracker of this project: a metrics entry without `duplicates` and `retries`.
fn older_log() -> String {
    json!({"timestamp": "2026-03-01T10:00:40.000Z", "level": "INFO", "message": "System metrics",
           "kind": "metrics", "service": "order-tracker", "instance_id": "old",
           "metadata": {"messages_received": 7, "messages_processed": 6, "messages_failed": 1, "dlq_sent": 1,
                        "uptime_seconds": 40.0}})
    .to_string()
        + "\n"
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<String> = (0..3).map(seed_audit_line).collect();
    std::fs::write(dir.path().join("tracker-instance-1.events"), events.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("tracker-instance-1.log"), seed_log()).unwrap();
    std::fs::write(dir.path().join("tracker-old.log"), older_log()).unwrap();
    dir
}

#[test]
fn entries_missing_counters_are_read_and_the_missing_ones_are_unknown() {
    let dir = folder();
    let summary: Value = serde_json::from_str(&monitor(dir.path(), &["--json"])).unwrap();
    assert_eq!(summary["malformed_lines"]["log"], 0, "entries of the contract are not malformed");
    let instance = |id: &str| {
        summary["instances"].as_array().unwrap().iter().find(|i| i["instance_id"] == id).unwrap().clone()
    };
    let go = instance("instance-1");
    assert_eq!((&go["received"], &go["processed"], &go["failed"]), (&json!(3), &json!(2), &json!(1)));
    for unknown in ["dlq_sent", "duplicates", "retries", "in_flight"] {
        assert_eq!(go[unknown], Value::Null, "instance-1 {unknown}: not written, not 0");
    }
    assert_eq!(go["last_metrics"]["messages_received"], 3);
    assert_eq!(go["last_metrics"]["retries"], Value::Null);
    assert_eq!(go["runs"], 1, "its start entry starts a run");
    let old = instance("old");
    assert_eq!((&old["received"], &old["dlq_sent"]), (&json!(7), &json!(1)));
    assert_eq!((&old["duplicates"], &old["retries"]), (&Value::Null, &Value::Null));
    let totals = &summary["totals"];
    assert_eq!(
        (&totals["received"], &totals["processed"], &totals["failed"]),
        (&json!(10), &json!(8), &json!(2))
    );
    assert_eq!(totals["dlq_sent"], Value::Null, "unknown for one instance: unknown in total");
    assert_eq!(totals["success_rate_percent"], 80.0);

    let text = monitor(dir.path(), &["--once"]);
    assert!(
        text.contains("received 10  processed 8  failed 2 (DLQ -)  skipped -  in flight -  retries -"),
        "{text}"
    );
    let row = text.lines().find(|line| line.starts_with("instance-1 ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[3..7], ["3", "2", "1", "-"], "received, processed, failed, DLQ: {row}");
    let report = monitor(dir.path(), &["--report"]);
    let last = report
        .lines()
        .find(|line| line.trim_start().starts_with("instance-1 ") && line.contains("2026-03-01T10:00:30Z"))
        .unwrap();
    let cells: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(&cells[3..6], ["3", "2", "1"], "{last}");
    assert_eq!(cells[9], "-", "retries unknown: {last}");
}

#[test]
fn a_line_outside_the_contract_is_still_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "not json".to_owned(),
        json!({"timestamp": "2026-03-01T10:00:30Z", "kind": "metrics", "metadata": []}).to_string(),
        json!({"timestamp": "2026-03-01T10:00:30Z", "kind": "metrics", "metadata": {}}).to_string(),
        json!({"timestamp": "2026-03-01T10:00:30Z", "kind": "metrics",
               "metadata": {"messages_received": "many"}})
        .to_string(),
    ];
    std::fs::write(dir.path().join("tracker-a.log"), lines.join("\n") + "\n").unwrap();
    let summary: Value = serde_json::from_str(&monitor(dir.path(), &["--json"])).unwrap();
    assert_eq!(summary["malformed_lines"]["log"], 4);
    assert_eq!(summary["instances"][0]["received"], 0, "no counter read: none written");
}
