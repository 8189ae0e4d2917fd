//! Hostile dead letters: control characters in every text `list`, `show` and `redrive` print.

use models::OrderGenerator;

use crate::util::*;

/// Sets the terminal's title, turns the text red (CSI and its one-byte C1 form U+009B), rings.
const NASTY: &str = "\u{1b}]0;owned\u{7}\u{1b}[31m\u{9b}1m\u{85}\n\u{7f}";
/// What [`NASTY`] looks like escaped.
const NASTY_ESCAPED: &str = "\\u{1b}]0;owned\\u{7}\\u{1b}[31m\\u{9b}1m\\u{85}\\n\\u{7f}";

fn nasty(prefix: &str) -> String {
    format!("{prefix}{NASTY}")
}

/// The control characters of `text` other than the newlines ending its lines.
fn controls(text: &str) -> Vec<char> {
    text.chars().filter(|&c| c.is_control() && c != '\n').collect()
}

fn assert_escaped(what: &str, finished: &testkit::Finished, shown: &[&str]) {
    assert_eq!(controls(&finished.stdout), [], "{what} printed control characters:\n{}", finished.all());
    assert_eq!(controls(&finished.stderr), [], "{what} stderr:\n{}", finished.all());
    for prefix in shown {
        assert!(
            finished.stdout.contains(&format!("{prefix}{NASTY_ESCAPED}")),
            "{what} shows {prefix} escaped:\n{}",
            finished.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_and_redrive_print_control_characters_escaped() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    // A well-formed order whose product id carries the sequences (raw U+009B inside a valid JSON
    // string) and whose quantity makes validation refuse it, naming the product.
    let mut event = OrderGenerator::seeded(7).new_order_event();
    event.order.items[0].product_id = nasty("sku");
    event.order.items[0].quantity = 0;
    let mut letter = dead_letter(&event.to_json(), 4, "validation");
    letter.key = Some(nasty("key").into_bytes());
    for (name, value) in &mut letter.headers {
        let replacement = match name.as_slice() {
            b"dlq.original.topic" => nasty("topic"),
            b"dlq.error.kind" => nasty("kind"),
            b"dlq.error.message" => nasty("message"),
            b"dlq.instance.id" => nasty("instance"),
            _ => continue,
        };
        *value = Some(replacement.into_bytes());
    }
    letter.headers.push((nasty("header").into_bytes(), Some(nasty("value").into_bytes())));
    let redriven_before = letter.clone();
    let stored = produce(&broker, "orders-dlq", &[letter, redriven_before]).await;
    let (first, second) = (stored[0], stored[1]);
    // A forged redrive log entry says the second was sent already, somewhere with a crafted
    // name: it is ignored (no such record was sent), and the warning that says so is escaped.
    let record = serde_json::json!({
        "dead_letter": {"topic": "orders-dlq", "partition": second.0, "offset": second.1},
        "sent_to": {"topic": nasty("sent"), "partition": 0, "offset": 0},
        "redriven_at": nasty("at"),
        "redrive_count": 1,
    });
    produce(&broker, "orders-dlq-redrives", &[RawRecord::new(b"k", record.to_string().as_bytes(), &[])])
        .await;

    let list = dlq(&broker, dir.path(), &["list"], &[]).expect_code(0);
    assert_escaped("list", &list, &["topic", "kind", "instance"]);
    assert!(list.stderr.contains("redrive log entry ignored"), "the forged entry is named:\n{}", list.all());
    let list_json = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    let raw: Vec<char> = list_json.stdout.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(raw.is_empty(), "list --json holds raw control characters {raw:?}:\n{}", list_json.stdout);
    let entry: serde_json::Value = serde_json::from_str(list_json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(entry["error_kind"], nasty("kind"), "JSON keeps the text, JSON-escaped");

    for position in [first, second] {
        let position = format!("{}:{}", position.0, position.1);
        let show = dlq(&broker, dir.path(), &["show", &position], &[]).expect_code(0);
        assert_escaped("show", &show, &["topic", "kind", "message", "instance", "key", "header", "value"]);
    }
    let second_position = format!("{}:{}", second.0, second.1);

    let first_position = format!("{}:{}", first.0, first.1);
    let refused = dlq(&broker, dir.path(), &["redrive", &first_position, &second_position, "--dry-run"], &[]);
    assert_eq!(refused.exit_code(), 1, "{}", refused.all());
    assert_escaped("redrive --dry-run", &refused, &["sku"]);
    let forced = dlq(&broker, dir.path(), &["redrive", &first_position, "--dry-run", "--force"], &[]);
    assert_escaped("redrive --dry-run --force", &forced.expect_code(0), &["topic", "key"]);
}
