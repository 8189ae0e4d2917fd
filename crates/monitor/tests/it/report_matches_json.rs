//! `monitor --report` (what `analyze_logs.sh` prints) and `monitor --once --json` give the same
//! figures over the same files, because both print one [`Summary`]: garbage lines, a broker
//! restart whose offsets start again at 0 under a new `cluster_id`, a SIGKILL takeover and a
//! rebalance. Latency, dead letters and redriven records too.

use std::path::Path;
use std::process::Command;

const NOW: &str = "2026-03-01T10:02:00Z";

fn audit(
    time: &str,
    instance: &str,
    cluster: Option<&str>,
    partition: i64,
    offset: i64,
    order: &str,
) -> String {
    audit_with(time, instance, cluster, (partition, offset), order, "null", "{}")
}

/// Emitted `10 × (offset + 1)` ms before its audit line, so the latencies are known.
fn audit_with(
    time: &str,
    instance: &str,
    cluster: Option<&str>,
    (partition, offset): (i64, i64),
    order: &str,
    validation_error: &str,
    headers: &str,
) -> String {
    let cluster = cluster.map_or_else(String::new, |id| format!(r#""cluster_id":"{id}","#));
    let written = chrono::DateTime::parse_from_rfc3339(time).unwrap().to_utc();
    let emitted = models::format_timestamp(written - chrono::Duration::milliseconds(10 * (offset + 1)));
    format!(
        r#"{{"timestamp":"{time}","event_type":"message.received","instance_id":"{instance}",{cluster}"kafka_topic":"orders","kafka_partition":{partition},"kafka_offset":{offset},"kafka_key":"{order}","raw_message":"{{}}","raw_message_base64":null,"message_size":2,"deserialized":true,"event_id":"e-{order}","order_id":"{order}","sequence":1,"event_timestamp":"{emitted}","status":"created","order_full":{{"total_cents":1000,"currency":"EUR","customer":{{"customer_id":"c1","name":"Ann"}},"items":[{{"product_id":"P1","name":"Pen","quantity":2}}],"payment":{{"method":"paypal"}}}},"validation_error":{validation_error},"headers":{headers}}}"#
    )
}

fn dlq_sent(time: &str, offset: i64, error_kind: &str, redrive_count: u32) -> String {
    let metadata = format!(
        r#"{{"topic":"orders","partition":0,"offset":{offset},"dlq_topic":"orders-dlq","dlq_partition":0,"dlq_offset":{offset},"error_kind":"{error_kind}","attempts":1,"kafka_key":"k-{offset}","redrive_count":{redrive_count}}}"#
    );
    log(time, "beta", "WARN", "dlq_sent", &metadata).replace(r#""error":null"#, r#""error":"bad order""#)
}

fn log(time: &str, instance: &str, level: &str, kind: &str, metadata: &str) -> String {
    format!(
        r#"{{"timestamp":"{time}","level":"{level}","message":"m","kind":"{kind}","service":"order-tracker","instance_id":"{instance}","metadata":{metadata},"error":null}}"#
    )
}

fn metrics(received: u64, processed: u64, partitions: &str) -> String {
    format!(
        r#"{{"messages_received":{received},"messages_processed":{processed},"messages_failed":0,"dlq_sent":0,"duplicates":0,"retries":0,"success_rate_percent":100.0,"messages_per_second":1.0,"uptime_seconds":30,"total_lag":null,"interval_ms":30000,"partitions":{partitions}}}"#
    )
}

fn write_fixtures(dir: &Path) {
    // alpha: lifetime A, partitions 0 and 1, offsets 0..3 of each, then SIGKILLed (no stop).
    let mut alpha_events = Vec::new();
    for offset in 0..3 {
        alpha_events.push(audit(
            "2026-03-01T10:00:01.000Z",
            "alpha",
            Some("A"),
            0,
            offset,
            &format!("o-a0-{offset}"),
        ));
        alpha_events.push(audit(
            "2026-03-01T10:00:02.000Z",
            "alpha",
            Some("A"),
            1,
            offset,
            &format!("o-a1-{offset}"),
        ));
    }
    alpha_events.push("not json at all".to_owned());
    alpha_events.push(r#"{"bad utf8": "x"}"#.to_owned());
    // beta: takes over partitions 0 and 1 after the kill; offset 2 of partition 0 was not
    // committed by alpha, so it comes again (one duplicate delivery).
    let mut beta_events = vec![audit("2026-03-01T10:00:40.000Z", "beta", Some("A"), 0, 2, "o-a0-2")];
    beta_events.push(audit("2026-03-01T10:00:41.000Z", "beta", Some("A"), 0, 3, "o-b0-3"));
    // The broker restarts empty (new cluster id): offsets start again at 0, new messages.
    for offset in 0..2 {
        beta_events.push(audit(
            "2026-03-01T10:01:30.000Z",
            "beta",
            Some("B"),
            0,
            offset,
            &format!("o-b-{offset}"),
        ));
    }
    // A line from before cluster ids existed: its own unknown lifetime.
    beta_events.push(audit("2026-03-01T10:01:31.000Z", "beta", None, 0, 0, "o-old"));
    // A dead letter sent back by `dlq redrive`, that fails again (its dead letter is below).
    beta_events.push(audit_with(
        "2026-03-01T10:01:32.000Z",
        "beta",
        Some("B"),
        (0, 2),
        "o-redriven",
        r#""total mismatch""#,
        r#"{"dlq.redrive.count":"1","dlq.redriven.from":"orders-dlq/0:0"}"#,
    ));
    let alpha_log = [
        log("2026-03-01T10:00:00.000Z", "alpha", "INFO", "started", "{}"),
        log("2026-03-01T10:00:00.500Z", "alpha", "INFO", "partitions_assigned", r#"{"partitions":[0,1]}"#),
        log(
            "2026-03-01T10:00:30.000Z",
            "alpha",
            "INFO",
            "metrics",
            &metrics(
                6,
                6,
                r#"[{"partition":0,"committed_offset":2,"high_watermark":9,"lag":7},{"partition":1,"committed_offset":3,"high_watermark":3,"lag":0}]"#,
            ),
        ),
        // A metrics entry that does not parse: malformed, changes no counter.
        log("2026-03-01T10:00:31.000Z", "alpha", "INFO", "metrics", r#"{"messages_processed":"lots"}"#),
    ];
    let beta_log = [
        log("2026-03-01T10:00:35.000Z", "beta", "INFO", "started", "{}"),
        log("2026-03-01T10:00:35.500Z", "beta", "INFO", "partitions_assigned", r#"{"partitions":[0]}"#),
        // Rebalance: partition 1 joins.
        log("2026-03-01T10:00:50.000Z", "beta", "INFO", "partitions_assigned", r#"{"partitions":[0,1]}"#),
        log(
            "2026-03-01T10:01:40.000Z",
            "beta",
            "INFO",
            "metrics",
            &metrics(
                5,
                4,
                r#"[{"partition":0,"committed_offset":1,"high_watermark":3,"lag":2},{"partition":1,"committed_offset":3,"high_watermark":4,"lag":1}]"#,
            ),
        ),
        log("2026-03-01T10:01:41.000Z", "beta", "ERROR", "kafka_error", "{}"),
        dlq_sent("2026-03-01T10:00:42.000Z", 3, "validation", 0),
        dlq_sent("2026-03-01T10:00:43.000Z", 4, "deserialization", 0),
        dlq_sent("2026-03-01T10:01:32.100Z", 2, "validation", 1),
    ];
    std::fs::write(dir.join("tracker-alpha.events"), alpha_events.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("tracker-beta.events"), beta_events.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("tracker-alpha.log"), alpha_log.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("tracker-beta.log"), beta_log.join("\n") + "\n").unwrap();
}

fn monitor(dir: &Path, mode: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args([mode, "--now", NOW, "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The value after `label` in the section titled `title`.
fn value(report: &str, title: &str, label: &str) -> String {
    let mut lines = report.lines().skip_while(|line| *line != format!("== {title}"));
    assert!(lines.next().is_some(), "no section {title:?}:\n{report}");
    let line = lines
        .take_while(|line| !line.starts_with("== "))
        .find(|line| line.trim_start().strip_prefix(label).is_some_and(|rest| rest.starts_with("  ")))
        .unwrap_or_else(|| panic!("no {label:?} in {title:?}:\n{report}"));
    line.trim_start()[label.len()..].split_whitespace().next().unwrap().to_owned()
}

fn rows<'a>(report: &'a str, title: &str) -> Vec<Vec<&'a str>> {
    report
        .lines()
        .skip_while(|line| *line != format!("== {title}"))
        .skip(2)
        .take_while(|line| !line.starts_with("== ") && !line.is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect()
}

#[test]
fn report_and_json_agree_on_restart_takeover_rebalance_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    write_fixtures(dir.path());
    let report = monitor(dir.path(), "--report");
    let json: serde_json::Value = serde_json::from_str(&monitor(dir.path(), "--json")).unwrap();
    let messages = &json["messages"];
    let events = "Messages (.events)";
    for (label, field) in [
        ("received", "received"),
        ("deserialized", "deserialized"),
        ("failed to deserialize", "undeserializable"),
        ("validation errors", "validation_errors"),
        ("duplicate deliveries", "duplicate_deliveries"),
        ("missing offsets", "missing_offsets"),
    ] {
        assert_eq!(value(&report, events, label), messages[field].to_string(), "{label}\n{report}");
    }
    assert_eq!(value(&report, events, "unreadable lines"), json["malformed_lines"]["events"].to_string());
    // The figures themselves: 6 + 6 audit lines, one redelivery across the takeover, and
    // the restart's offsets 0 and 1 are not duplicates of lifetime A's.
    assert_eq!(messages["received"], 12);
    assert_eq!(messages["duplicate_deliveries"], 1);
    assert_eq!(json["malformed_lines"]["events"], 2, "not JSON, and JSON without the audit fields");
    assert_eq!(json["malformed_lines"]["log"], 1, "the metrics entry that does not parse");

    let totals = &json["totals"];
    let counters = "Totals (tracker counters)";
    for (label, field) in [
        ("received", "received"),
        ("processed", "processed"),
        ("failed", "failed"),
        ("dead-lettered", "dlq_sent"),
        ("skipped", "duplicates"),
        ("in flight", "in_flight"),
        ("lag", "total_lag"),
    ] {
        assert_eq!(value(&report, counters, label), totals[field].to_string(), "{label}\n{report}");
    }
    assert_eq!((totals["received"].as_u64(), totals["processed"].as_u64()), (Some(11), Some(10)));
    assert_eq!(totals["in_flight"], 1, "11 received = 10 processed + 0 failed + 0 skipped + 1 in flight");
    // alpha was SIGKILLed and is stale: its lag 7 on partition 0 is not added to beta's.
    assert_eq!(totals["total_lag"], 3, "beta: partition 0 lag 2 + partition 1 lag 1");

    let partitions = rows(&report, "Per partition");
    let json_partitions = json["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), json_partitions.len(), "{report}");
    assert_eq!(partitions.len(), 4, "lifetime A p0, A p1, B p0, unknown p0");
    for (row, partition) in partitions.iter().zip(json_partitions) {
        assert_eq!(row[1], partition["partition"].to_string());
        assert_eq!(row[2], partition["received"].to_string());
        assert_eq!(row[6], partition["duplicates"].to_string());
        assert_eq!(*row.last().unwrap(), partition["cluster_id"].as_str().unwrap_or("-"));
    }

    let lag_rows = rows(&report, "Lag per partition (newest metrics entry of an alive instance)");
    let json_lag = json["partition_lag"].as_array().unwrap();
    assert_eq!(lag_rows.len(), json_lag.len());
    for (row, lag) in lag_rows.iter().zip(json_lag) {
        assert_eq!(
            (row[0], row[1]),
            (lag["partition"].to_string().as_str(), lag["instance_id"].as_str().unwrap())
        );
        assert_eq!(row[4], lag["lag"].to_string());
    }
    assert!(json_lag.iter().all(|lag| lag["instance_id"] == "beta"), "the newest owner wins");

    let revenue = "Revenue (valid order.created events, each order once)";
    assert_eq!(value(&report, revenue, "orders"), json["business"]["orders_created"].to_string());
    assert_eq!(json["business"]["orders_created"], 10, "o-a0-2 twice counts once");
}

#[test]
fn report_and_json_agree_on_latency_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    write_fixtures(dir.path());
    let report = monitor(dir.path(), "--report");
    let json: serde_json::Value = serde_json::from_str(&monitor(dir.path(), "--json")).unwrap();

    let latency = &json["latency"];
    let latency_rows = rows(&report, "End-to-end latency (event timestamp -> audit line written, ms)");
    for (row, figures) in latency_rows.iter().zip([&latency["overall"], &latency["window"]]) {
        let fields = ["samples", "p50_ms", "p99_ms", "max_ms", "negative_samples"];
        for (cell, field) in row[1..].iter().zip(fields) {
            assert_eq!(*cell, figures[field].to_string(), "{field}\n{report}");
        }
    }
    // Audit lines emitted 10 ms x (offset + 1) before: offsets 0,0,1,1,2,2 (alpha), 2,3 (beta,
    // lifetime A), 0,1,0 (beta, lifetime B and the old line); the redriven line is left out.
    assert_eq!(latency["overall"]["samples"], 11);
    assert_eq!(
        (latency["overall"]["p50_ms"].as_u64(), latency["overall"]["max_ms"].as_u64()),
        (Some(20), Some(40))
    );
    // In the 60 s before 10:02:00: the lines of 10:01:30 and 10:01:31, offsets 0, 1, 0.
    assert_eq!(latency["window"]["samples"], 3);
    assert_eq!(
        (latency["window"]["p50_ms"].as_u64(), latency["window"]["p99_ms"].as_u64()),
        (Some(10), Some(20))
    );

    let dead_letters = &json["dead_letters"];
    let kinds = "Dead letters by error kind (dlq_sent)";
    for kind in dead_letters["by_error_kind"].as_array().unwrap() {
        let name = kind["error_kind"].as_str().unwrap();
        assert_eq!(value(&report, kinds, name), kind["count"].to_string());
    }
    assert_eq!(value(&report, kinds, "total"), dead_letters["total"].to_string());
    assert_eq!(dead_letters["total"], 3);
    assert_eq!(dead_letters["by_error_kind"][0], serde_json::json!({"error_kind": "validation", "count": 2}));
    let latest = rows(&report, "Latest dead letters");
    let json_latest = dead_letters["latest"].as_array().unwrap();
    assert_eq!(latest.len(), json_latest.len());
    for (row, letter) in latest.iter().zip(json_latest) {
        assert_eq!(row[0], letter["timestamp"].as_str().unwrap());
        assert_eq!(row[3], format!("orders/0:{}", letter["original_offset"]));
        assert_eq!(row[6], letter["redrive_count"].to_string());
    }
    assert_eq!(json_latest[0]["reason"], "bad order");

    let redriven = &dead_letters["redriven"];
    let section = "Redriven records (dlq redrive)";
    for (label, field) in [
        ("received", "received"),
        ("valid", "valid"),
        ("invalid", "invalid"),
        ("dead-lettered again", "dead_lettered_again"),
    ] {
        assert_eq!(value(&report, section, label), redriven[field].to_string(), "{label}\n{report}");
    }
    assert_eq!((redriven["received"].as_u64(), redriven["invalid"].as_u64()), (Some(1), Some(1)));
    assert_eq!(redriven["dead_lettered_again"], 1);
    assert_eq!(redriven["latest"][0]["outcome"], "dead_lettered_again");
    assert_eq!(redriven["latest"][0]["redriven_from"], "orders-dlq/0:0");
    let listed = report.lines().any(|line| {
        line.split_whitespace().skip(2).eq(["orders/0:2", "1", "orders-dlq/0:0", "dead-lettered-again"])
    });
    assert!(listed, "the redriven record and its outcome are listed:\n{report}");
}
