//! The whole round trip through the real tracker: a bad order is dead-lettered, exported,
//! fixed by editing its line, redriven, and processed; and the loop guard.

use models::{OrderGenerator, PoisonKind};

use crate::util::*;

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_fix_redrive_and_the_tracker_processes_it() {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "instance-1", &[]);
    let payload = PoisonKind::BadAmounts.payload(&mut OrderGenerator::seeded(5), 1, chrono::Utc::now());
    let record =
        RawRecord::new(b"order-1", &payload, &[("poison_kind", "bad-amounts"), ("trace_id", "trace-9")]);
    produce(&broker, "orders", &[record]).await;
    wait_for_records(&broker, "orders-dlq", 1);

    // Unchanged, it would fail again: refused, nothing sent, exit 1.
    let refused = dlq(&broker, dir.path(), &["redrive", "0:0"], &[]).expect_code(1);
    assert!(
        refused.stdout.starts_with("0:0  refused: would fail again (validation: total is "),
        "{}",
        refused.stdout
    );
    assert!(refused.stdout.ends_with("selected 1, sent 0, acknowledged 0, refused 1\n"));

    // Export, fix the total in the line, as a person would with an editor or jq.
    let export = dlq(&broker, dir.path(), &["export", "0:0"], &[]).expect_code(0);
    let mut line: serde_json::Value = serde_json::from_str(export.stdout.trim_end()).unwrap();
    assert_eq!(line["payload_encoding"], "json");
    let order = &mut line["payload"]["order"];
    let total = ["subtotal_cents", "shipping_cents", "tax_cents"]
        .iter()
        .map(|f| order[f].as_i64().unwrap())
        .sum::<i64>();
    assert_ne!(order["total_cents"], total, "the poison pill's total is off");
    order["total_cents"] = total.into();
    let fixed = dir.path().join("fixed.jsonl");
    std::fs::write(&fixed, format!("{line}\n")).unwrap();

    let dry =
        dlq(&broker, dir.path(), &["redrive", "--from-file", "fixed.jsonl", "--dry-run"], &[]).expect_code(0);
    assert!(dry.stdout.starts_with("0:0  would send to orders: key order-1, "), "{}", dry.stdout);
    let sent = dlq(&broker, dir.path(), &["redrive", "--from-file", "fixed.jsonl"], &[]).expect_code(0);
    assert!(sent.stdout.ends_with("selected 1, sent 1, acknowledged 1, refused 0\n"), "{}", sent.stdout);
    let orders = read_topic(&broker, "orders");
    assert_eq!(orders.len(), 2, "the poison pill and its fixed redrive; the dry run sent nothing");
    let resent = &orders.iter().find(|r| r.header_text("dlq.redrive.count").is_some()).unwrap().position;

    // The tracker takes it like any order: parsed, valid, not dead-lettered again.
    let audit = wait_for_audit(dir.path(), resent.partition, resent.offset);
    assert_eq!(audit["deserialized"], true);
    assert!(audit["validation_error"].is_null(), "{audit}");
    assert_eq!(audit["order_full"]["total_cents"], total);
    assert_eq!(audit["kafka_key"], "order-1");
    let headers = &audit["headers"];
    assert_eq!(headers["trace_id"], "trace-9", "{headers}");
    assert_eq!(headers["dlq.redrive.count"], "1");
    assert_eq!(headers["dlq.redriven.from"], "orders-dlq/0:0");
    assert_eq!(headers["dlq.error.kind"], "validation", "the first failure stays as history");

    // Redriving it again sends nothing, from the file or from the topic.
    for args in [&["redrive", "--from-file", "fixed.jsonl"][..], &["redrive", "0:0", "--force"][..]] {
        let again = dlq(&broker, dir.path(), args, &[]).expect_code(1);
        assert!(again.stdout.contains("refused: already redriven to orders/"), "{}", again.stdout);
    }
    assert_eq!(read_topic(&broker, "orders").len(), 2, "sent once");
    let processed = wait_for_records(&broker, "orders-dlq", 1);
    assert_eq!(processed.len(), 1, "the fixed order was not dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_is_redriven_at_most_max_redrives_times() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "instance-1", &[]);
    let max = [("DLQ_MAX_REDRIVES", "2")];
    produce(&broker, "orders", &[RawRecord::new(b"loop", b"{not json", &[("trace_id", "t")])]).await;
    wait_for_records(&broker, "orders-dlq", 1);

    // --force sends it although it must fail again; each time it comes back one offset later.
    for (redrive, position) in [(1, "0:0"), (2, "0:1")] {
        let sent = dlq(&broker, dir.path(), &["redrive", position, "--force"], &max).expect_code(0);
        assert!(sent.stdout.ends_with("acknowledged 1, refused 0\n"), "{}", sent.stdout);
        wait_for_records(&broker, "orders-dlq", redrive + 1);
        let rows = json_lines(&dlq(&broker, dir.path(), &["list", "--json"], &max).expect_code(0).stdout);
        assert_eq!(rows[redrive]["redrives"], redrive, "counted from the redrive log");
    }
    let letters = read_topic(&broker, "orders-dlq");
    let history: Vec<Option<&[u8]>> = letters[2]
        .headers
        .iter()
        .filter(|(name, _)| name == b"original.dlq.redrive.count")
        .map(|(_, value)| value.as_deref())
        .collect();
    assert_eq!(history, [Some(b"1".as_slice()), Some(b"2".as_slice())], "each redrive kept as history");

    let guard = dlq(&broker, dir.path(), &["redrive", "0:2", "--force"], &max).expect_code(1);
    assert_eq!(
        guard.stdout,
        "0:2  refused: already redriven 2 times and dead-lettered again (dlq.max_redrives = 2); fix its cause or \
         raise dlq.max_redrives\nselected 1, sent 0, acknowledged 0, refused 1\n"
    );
    assert_eq!(read_topic(&broker, "orders").len(), 3, "the original and two redrives");
    let list = dlq(&broker, dir.path(), &["list"], &max).expect_code(0);
    assert!(list.stdout.lines().nth(3).is_some_and(|row| row.contains("2x before")), "{}", list.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_processing_failure_is_processed_again_not_skipped_as_a_duplicate() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    // Every attempt fails: a valid order ends in the DLQ as a processing failure, and so does
    // its redrive, if (and only if) the tracker tries it again.
    let failing = [("TRACKER_FAILURE_RATE", "1"), ("RETRY_MAX_ATTEMPTS", "1")];
    let _tracker = Tracker::start(&broker, dir.path(), "instance-1", &failing);
    let event = OrderGenerator::seeded(9).new_order_event();
    produce(&broker, "orders", &[RawRecord::new(b"order-9", &event.to_json(), &[])]).await;
    let first = wait_for_records(&broker, "orders-dlq", 1);
    assert_eq!(first[0].error_kind(), Some("processing"));

    dlq(&broker, dir.path(), &["redrive", "0:0"], &[]).expect_code(0);
    let letters = wait_for_records(&broker, "orders-dlq", 2);
    assert_eq!(letters[1].error_kind(), Some("processing"), "the resend was processed (and failed again)");
    let rows = json_lines(&dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0).stdout);
    assert_eq!(rows[1]["redrives"], 1);
    let log = std::fs::read_to_string(dir.path().join("tracker-instance-1.log")).unwrap();
    assert!(!log.contains("\"duplicate_skipped\""), "the resend is not a duplicate:\n{log}");
}
