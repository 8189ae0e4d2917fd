//! What `dlq` trusts (issue #31): a cut dead letter is never sent back as if it were whole; a
//! redrive count a record carries proves nothing (only the redrive log's, checked, does); and
//! the redrive log topic is read as data from anyone who could write to it.

use models::OrderGenerator;

use crate::util::*;

fn valid_order_payload() -> Vec<u8> {
    OrderGenerator::seeded(31).new_order_event().to_json()
}

/// A dead letter the tracker cut because it was too large to send whole.
fn cut_dead_letter() -> RawRecord {
    let mut letter = dead_letter(b"{\"event_id\":", 4, "deserialization");
    for (name, value) in [
        ("dlq.cut.original.bytes", "1970123"),
        ("dlq.cut.original.sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("dlq.cut.key", "9/9"),
        ("dlq.cut.payload", "12/1968000"),
        ("dlq.cut.headers", "0/2000"),
        ("dlq.cut.kept.file", "tracker-instance-1.kept-orders-0-4-9f86d081884c7d65.json"),
        ("dlq.cut.reason", "Message production error: MessageSizeTooLarge (Broker: Message size too large)"),
    ] {
        letter.headers.push((name.as_bytes().to_vec(), Some(value.as_bytes().to_vec())));
    }
    letter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_dead_letter_is_not_redriven_and_show_says_where_the_whole_record_is() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    produce(&broker, "orders-dlq", &[cut_dead_letter()]).await;

    let refused = dlq(&broker, dir.path(), &["redrive", "0:0", "--force"], &[]).expect_code(1);
    assert_eq!(
        refused.stdout,
        "0:0  refused: cut dead letter: it holds 12 of the 1968000 payload bytes and 0 of the 2000 headers; \
         the whole record is in tracker-instance-1.kept-orders-0-4-9f86d081884c7d65.json in the log folder of \
         tracker instance-1; resend it from there (docs/dlq.md, \"Cut dead letters\")\n\
         selected 1, sent 0, acknowledged 0, refused 1\n"
    );
    assert!(read_topic(&broker, "orders").is_empty(), "nothing was sent, even with --force");

    let show = dlq(&broker, dir.path(), &["show", "0:0"], &[]).expect_code(0);
    assert!(
        show.stdout.contains(
            "  cut         12 of 1968000 payload bytes, 0 of 2000 headers, 9 of 9 key bytes; the whole record \
             (1970123 bytes, SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08) is in \
             tracker-instance-1.kept-orders-0-4-9f86d081884c7d65.json, log folder of tracker instance-1\n"
        ),
        "{}",
        show.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_count_set_by_a_producer_does_not_block_the_redrive() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "instance-1", &[]);
    let forged = RawRecord::new(b"forged", b"{not json", &[("dlq.redrive.count", "100")]);
    produce(&broker, "orders", &[forged]).await;
    wait_for_records(&broker, "orders-dlq", 1);

    let list = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    assert_eq!(json_lines(&list.stdout)[0]["redrives"], 0, "a count no redrive wrote is not one");
    let sent = dlq(&broker, dir.path(), &["redrive", "0:0", "--force"], &[]).expect_code(0);
    assert!(sent.stdout.ends_with("selected 1, sent 1, acknowledged 1, refused 0\n"), "{}", sent.stdout);
    let orders = read_topic(&broker, "orders");
    assert_eq!(orders.len(), 2);
    assert_eq!(
        orders[1].header_text("dlq.redrive.count"),
        Some("1"),
        "counted from the redrive log, not 101"
    );

    // It fails again: the count of its new dead letter comes from the log, through its origin.
    wait_for_records(&broker, "orders-dlq", 2);
    let list = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    let rows = json_lines(&list.stdout);
    assert_eq!((rows[1]["offset"].as_i64(), rows[1]["redrives"].as_i64()), (Some(1), Some(1)), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_redrive_log_entries_are_ignored_with_a_warning() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    produce(&broker, "orders-dlq", &[dead_letter(&valid_order_payload(), 4, "processing")]).await;
    broker.create_topic("orders-dlq-redrives", 1).await.unwrap();
    let entry = |sent_to_offset: i64, count: u32| {
        format!(
            "{{\"dead_letter\":{{\"topic\":\"orders-dlq\",\"partition\":0,\"offset\":0}},\"sent_to\":{{\"topic\":\
             \"orders\",\"partition\":2,\"offset\":{sent_to_offset}}},\"redriven_at\":\"2026-11-27T18:34:47.978Z\",\
             \"redrive_count\":{count}}}"
        )
    };
    let forged = [
        RawRecord::new(b"orders-dlq/0:0", b"not json", &[]),
        RawRecord::new(b"orders-dlq/0:5", entry(0, 1).as_bytes(), &[]),
        RawRecord::new(b"orders-dlq/0:0", entry(999, 1).as_bytes(), &[]),
        RawRecord::new(b"orders-dlq/0:0", entry(0, 100).as_bytes(), &[]),
    ];
    produce(&broker, "orders-dlq-redrives", &forged).await;

    let list = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    let row = &json_lines(&list.stdout)[0];
    assert!(row["redriven_to"].is_null() && row["redrives"] == 0, "{row}");
    let warnings: Vec<&str> =
        list.stderr.lines().filter(|l| l.contains("redrive log entry ignored")).collect();
    assert_eq!(warnings.len(), 4, "one warning per forged entry: {}", list.stderr);

    let sent = dlq(&broker, dir.path(), &["redrive", "0:0"], &[]).expect_code(0);
    assert!(sent.stdout.starts_with("0:0  sent to orders/2:0, key order-key\n"), "{}", sent.stdout);
    // The genuine entry is trusted: sent once.
    let again = dlq(&broker, dir.path(), &["redrive", "0:0"], &[]).expect_code(1);
    assert!(again.stdout.starts_with("0:0  refused: already redriven to orders/2:0 at "), "{}", again.stdout);
    assert_eq!(read_topic(&broker, "orders").len(), 1);
}
