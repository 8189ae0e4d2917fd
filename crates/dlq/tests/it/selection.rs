//! Selections, dry runs and sending once, on dead letters produced straight into the
//! dead-letter topic (no tracker needed).

use std::path::Path;

use models::OrderGenerator;

use crate::util::*;

fn valid_order_payload() -> Vec<u8> {
    OrderGenerator::seeded(7).new_order_event().to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_selections_are_one_clear_error_and_send_nothing() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    produce(&broker, "orders-dlq", &[dead_letter(&valid_order_payload(), 4, "processing")]).await;
    let broken = dir.path().join("broken.jsonl");
    let export = dlq(&broker, dir.path(), &["export", "--all"], &[]).expect_code(0);
    std::fs::write(&broken, format!("{}{{\"dead_letter\": \n", export.stdout)).unwrap();
    let unknown_field = dir.path().join("unknown.jsonl");
    std::fs::write(&unknown_field, export.stdout.replacen('{', "{\"payload_encodin\":\"text\",", 1)).unwrap();

    let cases: [(&[&str], &str); 8] = [
        (&["redrive", "0:0", "--to", "orders-dlq"], "--to orders-dlq is the dead-letter topic itself"),
        (&["redrive", "0:99"], "0:99 is not a dead letter in orders-dlq (partition 0 holds offsets 0 to 0)"),
        (&["redrive", "0:0", "3:0"], "3:0 is not a dead letter in orders-dlq"),
        (&["redrive", "0-0"], "\"0-0\" is not a position: expected PARTITION:OFFSET"),
        (&["show", "1:0"], "1:0 is not a dead letter in orders-dlq"),
        (&["redrive"], "nothing selected: give positions (0:12 0:13), --all"),
        (&["redrive", "--from-file", "broken.jsonl"], "broken.jsonl: line 2: EOF while parsing"),
        (&["redrive", "--from-file", "unknown.jsonl"], "line 1: unknown field `payload_encodin`"),
    ];
    for (args, expected) in cases {
        let finished = dlq(&broker, dir.path(), args, &[]).expect_code(2);
        let errors: Vec<&str> =
            finished.error_lines().into_iter().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one error line: {}", finished.stderr);
        assert!(errors[0].starts_with("error: ") && errors[0].contains(expected), "{args:?}: {}", errors[0]);
        assert!(finished.stdout.is_empty(), "{args:?} printed {}", finished.stdout);
    }
    assert!(read_topic(&broker, "orders").is_empty(), "nothing reached the orders topic");
    assert!(read_topic(&broker, "orders-dlq-redrives").is_empty(), "nothing recorded as redriven");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing_and_a_dead_letter_is_sent_back_once() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let payload = valid_order_payload();
    produce(&broker, "orders-dlq", &[dead_letter(&payload, 4, "processing")]).await;

    let dry = dlq(&broker, dir.path(), &["redrive", "0:0", "--dry-run"], &[]).expect_code(0);
    let size = payload.len();
    assert_eq!(
        dry.stdout,
        format!(
            "0:0  would send to orders: key order-key, {size} bytes, 13 headers\n\
             dry run: selected 1, would send 1, refused 0; nothing was sent\n"
        )
    );
    assert!(read_topic(&broker, "orders").is_empty(), "the dry run sent nothing");

    let first = dlq(&broker, dir.path(), &["redrive", "--all"], &[]).expect_code(0);
    let orders = read_topic(&broker, "orders");
    assert_eq!(orders.len(), 1, "{}", first.stdout);
    let sent = &orders[0];
    assert_eq!(
        first.stdout,
        format!(
            "0:0  sent to orders/{}:{}, key order-key\nselected 1, sent 1, acknowledged 1, refused 0\n",
            sent.position.partition, sent.position.offset
        )
    );
    assert_eq!(sent.payload.as_deref(), Some(payload.as_slice()), "payload bytes unchanged");
    assert_eq!(sent.key.as_deref(), Some(b"order-key".as_slice()));
    assert_eq!(sent.header_text("trace_id"), Some("trace-1"), "the record's own headers go back");
    assert_eq!(sent.header_text("dlq.error.kind"), Some("processing"), "dlq.* kept as history");
    assert_eq!(sent.header_text("dlq.redrive.count"), Some("1"));
    assert_eq!(sent.header_text("dlq.redriven.from"), Some("orders-dlq/0:0"));

    for args in [&["redrive", "0:0"][..], &["redrive", "--all", "--force"][..]] {
        let again = dlq(&broker, dir.path(), args, &[]).expect_code(1);
        let position = format!("orders/{}:{}", sent.position.partition, sent.position.offset);
        assert!(
            again.stdout.starts_with(&format!("0:0  refused: already redriven to {position} at ")),
            "{}",
            again.stdout
        );
        assert!(
            again.stdout.ends_with("selected 1, sent 0, acknowledged 0, refused 1\n"),
            "{}",
            again.stdout
        );
    }
    assert_eq!(read_topic(&broker, "orders").len(), 1, "sent once");
    let list = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    let entry = &json_lines(&list.stdout)[0];
    assert_eq!(entry["redriven_to"], format!("orders/{}:{}", sent.position.partition, sent.position.offset));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_choose_what_list_export_and_redrive_see() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let mut old = dead_letter(b"{not json", 1, "deserialization");
    let recent_at = models::format_timestamp(chrono::Utc::now());
    let mut recent = dead_letter(&valid_order_payload(), 2, "processing");
    for header in &mut recent.headers {
        if header.0 == b"dlq.failed.at" {
            header.1 = Some(recent_at.clone().into_bytes());
        }
        if header.0 == b"dlq.original.partition" {
            header.1 = Some(b"2".to_vec());
        }
    }
    old.key = None;
    produce(&broker, "orders-dlq", &[old, recent]).await;

    let offsets = |args: &[&str]| -> Vec<i64> {
        let finished = dlq(&broker, dir.path(), args, &[]).expect_code(0);
        json_lines(&finished.stdout).iter().map(|line| line["offset"].as_i64().unwrap()).collect()
    };
    assert_eq!(offsets(&["list", "--json"]), [0, 1]);
    assert_eq!(offsets(&["list", "--json", "--error-kind", "deserialization"]), [0]);
    assert_eq!(offsets(&["list", "--json", "--since", "10m"]), [1]);
    assert_eq!(offsets(&["list", "--json", "--since", "2026-11-27T16:59:59Z"]), [0, 1]);
    assert_eq!(offsets(&["list", "--json", "--original-partition", "2"]), [1]);
    assert_eq!(offsets(&["list", "--json", "--error-kind", "validation"]), Vec::<i64>::new());

    let export = dlq(&broker, dir.path(), &["export", "--error-kind", "processing"], &[]).expect_code(0);
    assert_eq!(json_lines(&export.stdout).len(), 1);
    let table = dlq(&broker, dir.path(), &["list", "--error-kind", "processing"], &[]).expect_code(0);
    assert!(table.stdout.ends_with("2 dead letters in orders-dlq, 1 shown\n"), "{}", table.stdout);

    let bad_since = dlq(&broker, dir.path(), &["list", "--since", "yesterday"], &[]).expect_code(2);
    assert!(bad_since.stderr.contains("\"yesterday\" is neither a duration"), "{}", bad_since.stderr);

    let redrive = dlq(&broker, dir.path(), &["redrive", "--since", "10m", "--original-partition", "0"], &[]);
    let redrive = redrive.expect_code(0);
    assert!(redrive.stdout.contains("selected 0, sent 0"), "no dead letter matches both: {}", redrive.stdout);
    // The unparsable one would fail again: refused, the other sent; exit 1 as not all was sent.
    let all = dlq(&broker, dir.path(), &["redrive", "--all"], &[]).expect_code(1);
    assert!(all.stdout.starts_with("0:0  refused: would fail again (deserialization: "), "{}", all.stdout);
    assert!(all.stdout.ends_with("selected 2, sent 1, acknowledged 1, refused 1\n"), "{}", all.stdout);
    assert_eq!(read_topic(&broker, "orders").len(), 1);
}

/// A flooded dead-letter topic must not make `list` print (or hold) everything: it shows the
/// first `--limit` (100 by default) and says how many more there are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_a_page_and_says_how_many_more() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let letters: Vec<RawRecord> =
        (0..130).map(|offset| dead_letter(b"{}", offset, "deserialization")).collect();
    produce(&broker, "orders-dlq", &letters).await;

    let page = dlq(&broker, dir.path(), &["list"], &[]).expect_code(0);
    let lines: Vec<&str> = page.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 100 + 1, "a header, 100 rows, a summary:\n{}", page.stdout);
    assert!(lines[1].starts_with("0:0 "), "{}", lines[1]);
    assert_eq!(
        lines[101],
        "130 dead letters in orders-dlq, 100 shown; 30 more after 0:99 (--limit N, --limit 0 for all)"
    );

    let small = dlq(&broker, dir.path(), &["list", "--limit", "3", "--json"], &[]).expect_code(0);
    let rows = json_lines(&small.stdout);
    assert_eq!(rows.iter().map(|r| r["offset"].as_i64().unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(
        small.stderr.contains("127 more after 0:2"),
        "the note goes to stderr with --json: {}",
        small.stderr
    );

    let all = dlq(&broker, dir.path(), &["list", "--limit", "0", "--json"], &[]).expect_code(0);
    assert_eq!(json_lines(&all.stdout).len(), 130);
    assert!(all.stderr.is_empty(), "{}", all.stderr);
}

#[test]
fn since_too_far_back_exits_2_and_says_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_dlq"));
    for command in ["list", "export", "redrive"] {
        let finished =
            run(binary, dir.path(), &[command, "--since", "100000000d"], &[("KAFKA_BROKER", "127.0.0.1:9")])
                .expect_code(2);
        assert!(
            finished
                .stderr
                .contains("\"100000000d\" reaches too far back: a duration goes back at most 36500 days"),
            "{command}: {}",
            finished.all()
        );
        assert!(!finished.stderr.contains("panicked"), "{}", finished.all());
    }
}
