//! Files written from hostile records: control characters in every text the reports print,
//! and amounts that add up past `i64::MAX`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// Sets the terminal's title, turns the text red (CSI and its one-byte C1 form U+009B), rings.
const NASTY: &str = "\u{1b}]0;owned\u{7}\u{1b}[31m\u{9b}1m\u{85}\n\r\u{7f}";
/// What [`NASTY`] looks like escaped.
const NASTY_ESCAPED: &str = "\\u{1b}]0;owned\\u{7}\\u{1b}[31m\\u{9b}1m\\u{85}\\n\\r\\u{7f}";
pub const NOW: &str = "2026-03-01T10:01:30Z";

pub fn monitor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_monitor"))
}

fn nasty(prefix: &str) -> String {
    format!("{prefix}{NASTY}")
}

/// An audit line of a valid created order, with `total_cents` and every text chosen.
fn audit_line(offset: i64, order_id: &str, customer: &str, total_cents: i64) -> String {
    audit_line_with_status(offset, order_id, customer, total_cents, "created")
}

fn audit_line_with_status(
    offset: i64,
    order_id: &str,
    customer: &str,
    total_cents: i64,
    status: &str,
) -> String {
    let order = json!({
        "order_id": order_id,
        "status": nasty("created"),
        "customer": {"customer_id": customer, "name": nasty("name"), "email": "a@example.com"},
        "items": [{"product_id": nasty("SKU"), "name": nasty("product"), "quantity": 1, "unit_price_cents": total_cents}],
        "currency": nasty("EUR"),
        "subtotal_cents": total_cents, "shipping_cents": 0, "tax_cents": 0, "total_cents": total_cents,
        "payment": {"method": nasty("card"), "status": "pending", "transaction_id": "t"},
    });
    json!({
        "timestamp": "2026-03-01T10:00:02.000Z",
        "event_type": "message.received",
        "kafka_topic": nasty("orders"),
        "kafka_partition": 0,
        "kafka_offset": offset,
        "kafka_key": nasty("key"),
        "raw_message": "{}",
        "message_size": 2,
        "deserialized": true,
        "order_id": order_id,
        "sequence": offset,
        "status": status,
        "order_full": order,
    })
    .to_string()
}

fn log_line(level: &str, kind: &str, metadata: Value, error: Option<&str>) -> String {
    json!({
        "timestamp": "2026-03-01T10:00:30.000Z",
        "level": level,
        "message": nasty("message"),
        "kind": kind,
        "service": "order-tracker",
        "metadata": metadata,
        "error": error,
    })
    .to_string()
}

/// A folder whose every printed text carries [`NASTY`], the instance id (a file name) included.
pub fn nasty_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let instance = format!("i{NASTY}");
    let mut events: Vec<String> = (0..3)
        .map(|n| audit_line(n, &format!("{n}0000000-0000-4000-8000-000000000000"), &nasty("client"), 1234))
        .collect();
    let shipped = nasty("shipped");
    events.push(audit_line_with_status(3, "00000000-0000-4000-8000-000000000000", "c", 1, &shipped));
    std::fs::write(dir.path().join(format!("tracker-{instance}.events")), events.join("\n") + "\n").unwrap();
    let log = [
        log_line("INFO", "started", json!({}), None),
        log_line(
            "INFO",
            "metrics",
            json!({"messages_received": 3, "messages_processed": 3, "messages_failed": 0, "dlq_sent": 0,
                   "duplicates": 0, "retries": 0, "partitions": [{"partition": 0, "lag": 0}]}),
            None,
        ),
        log_line(
            "WARN",
            "dlq_sent",
            json!({"error_kind": nasty("validation"), "topic": nasty("orders"), "partition": 0, "offset": 9,
                   "dlq_topic": nasty("orders-dlq"), "dlq_partition": 0, "dlq_offset": 1, "attempts": 1,
                   "kafka_key": nasty("key")}),
            Some(&nasty("reason")),
        ),
        log_line("ERROR", &nasty("kind"), json!({}), Some(&nasty("error"))),
        // A time that does not parse is shown as written.
        log_line("ERROR", "kafka_error", json!({}), Some("e"))
            .replace("\"2026-03-01T10:00:30.000Z\"", &json!(nasty("time")).to_string()),
    ];
    std::fs::write(dir.path().join(format!("tracker-{instance}.log")), log.join("\n") + "\n").unwrap();
    dir
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{:?}: {}", command, String::from_utf8_lossy(&output.stderr));
    output
}

/// The control characters of `bytes` other than the newlines ending its lines.
fn controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes).chars().filter(|&c| c.is_control() && c != '\n').collect()
}

#[test]
fn once_report_and_analyze_logs_print_control_characters_escaped() {
    let dir = nasty_dir();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_monitor")).parent().unwrap().to_owned();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../analyze_logs.sh");
    let outputs = [
        ("monitor --once", run(monitor().args(["--once", "--now", NOW, "--dir"]).arg(dir.path()))),
        ("monitor --report", run(monitor().args(["--report", "--now", NOW, "--dir"]).arg(dir.path()))),
        ("analyze_logs.sh", run(Command::new(&script).arg(dir.path()).env("BIN_DIR", &bin_dir))),
    ];
    for (what, output) in &outputs {
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(controls(&output.stdout), [], "{what} printed control characters:\n{text}");
        assert!(text.contains(&format!("i{NASTY_ESCAPED}")), "{what}: the instance id, escaped:\n{text}");
        assert!(
            text.contains(&format!("client{NASTY_ESCAPED}")),
            "{what}: the customer id, escaped:\n{text}"
        );
        assert_eq!(controls(&output.stderr), [], "{what} stderr");
    }
    let report = String::from_utf8_lossy(&outputs[1].1.stdout);
    for shown in
        ["name", "product", "SKU", "shipped", "card", "EUR", "kind", "error", "validation", "time", "reason"]
    {
        assert!(
            report.contains(&format!("{shown}{NASTY_ESCAPED}")),
            "--report shows {shown} escaped:\n{report}"
        );
    }
}

#[test]
fn once_json_stays_json_and_keeps_the_texts() {
    let dir = nasty_dir();
    let output = run(monitor().args(["--once", "--json", "--now", NOW, "--dir"]).arg(dir.path()));
    // Read on a terminal, it cannot drive it: no raw control character (C1 and DEL included,
    // which JSON allows raw); the texts come back whole once decoded.
    assert_eq!(controls(&output.stdout), Vec::<char>::new(), "raw control characters in the JSON");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(summary["business"]["top_customers"][0]["customer_id"], nasty("client"));
    assert_eq!(summary["instances"][0]["instance_id"], format!("i{NASTY}"));
}
#[test]
fn revenue_never_wraps() {
    let dir = tempfile::tempdir().unwrap();
    // Two orders of i64::MAX / 2 + 1 cents each: their sum is one past i64::MAX.
    let big = i64::MAX / 2 + 1;
    let events = [
        audit_line(0, "00000000-0000-4000-8000-000000000001", "client01", big),
        audit_line(1, "00000000-0000-4000-8000-000000000002", "client01", big),
    ];
    std::fs::write(dir.path().join("tracker-a.events"), events.join("\n") + "\n").unwrap();
    let json = run(monitor().args(["--once", "--json", "--now", NOW, "--dir"]).arg(dir.path()));
    let summary: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(summary["business"]["revenue_cents"], i64::MAX, "saturated, not wrapped");
    assert_eq!(summary["business"]["top_customers"][0]["revenue_cents"], i64::MAX);
    let text = run(monitor().args(["--once", "--now", NOW, "--dir"]).arg(dir.path()));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("revenue 92233720368547758.07 "), "{text}");
}
