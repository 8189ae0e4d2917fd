//! Writes the hand-designed fixture directory `tests/fixtures/demo/` from real model types.
//!
//! Run `cargo test -p monitor --test it generate_fixtures -- --ignored` to regenerate it; the
//! files are committed so the expected answers in the other tests stay fixed. The scenario:
//!
//! - `alpha`: one run; assigned 0,1,2 then rebalanced to 0,1; two metrics entries (the last:
//!   processed 5, failed 1, DLQ 1, duplicates 1, retries 2, lag 3); a WARN and an ERROR.
//!   Its `.events`: 8 lines: created A, B, C, a re-delivery of A, an invalid D, a payload that
//!   is not JSON, A paid, created E.
//! - `beta`: two runs (stop entry with processed 3, then restart and metrics processed 1);
//!   `.events`: created F, G, G cancelled, one garbage line, created H, and a half-written
//!   last line.
//! - `gamma`: a `.log` only, last line at 09:50:30: stale at 10:01:30.
//! - `producer.log`: a rate line then a rate + acknowledged line.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use models::audit::{AuditEntry, MessageOrigin};
use models::{HealthEntry, LogKind, Order, OrderEvent, OrderGenerator, OrderStatus};
use serde_json::json;

const BASE: &str = "2026-03-01T10:00:00.000Z";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(BASE).unwrap().with_timezone(&Utc) + Duration::seconds(seconds)
}

fn log(out: &mut Vec<u8>, instance: &str, seconds: i64, kind: LogKind, metadata: serde_json::Value) {
    let time = models::format_timestamp(at(seconds));
    HealthEntry::new(&time, instance, kind, metadata).write_line(out);
}

fn log_error(out: &mut Vec<u8>, instance: &str, seconds: i64, kind: LogKind, error: &str) {
    let time = models::format_timestamp(at(seconds));
    HealthEntry::new(&time, instance, kind, json!({})).with_error(error).write_line(out);
}

fn metrics(
    processed: u64,
    failed: u64,
    dlq: u64,
    duplicates: u64,
    retries: u64,
    lag: i64,
) -> serde_json::Value {
    json!({
        "uptime_seconds": 30.0, "messages_received": processed + failed + duplicates,
        "messages_processed": processed, "messages_failed": failed,
        "success_rate_percent": models::health::success_rate_percent(processed, failed),
        "messages_per_second": 0.2, "retries": retries, "dlq_sent": dlq, "duplicates": duplicates,
        "total_lag": lag, "partitions": [{"partition": 0, "committed_offset": 3, "high_watermark": 5, "lag": lag, "last_processed_offset": 2}]
    })
}

struct Events<'a> {
    instance: &'a str,
    out: Vec<u8>,
}

impl Events<'_> {
    fn order(
        &mut self,
        seconds: i64,
        partition: i32,
        offset: i64,
        event: &OrderEvent,
        invalid: Option<&str>,
    ) {
        let time = models::format_timestamp(at(seconds));
        let payload = event.to_json();
        let key = event.order.order_id.to_string();
        let origin = MessageOrigin {
            topic: "orders",
            partition,
            offset,
            key: Some(key.as_bytes()),
            payload: Some(&payload),
        };
        AuditEntry::new(&time, self.instance, origin, Ok(event), invalid.map(str::to_owned))
            .write_line(&mut self.out);
    }

    fn unparsable(&mut self, seconds: i64, partition: i32, offset: i64, payload: &[u8]) {
        let time = models::format_timestamp(at(seconds));
        let origin = MessageOrigin { topic: "orders", partition, offset, key: None, payload: Some(payload) };
        AuditEntry::new(&time, self.instance, origin, Err("expected ident at line 1 column 2"), None)
            .write_line(&mut self.out);
    }
}

fn with_status(order: &Order, status: OrderStatus) -> Order {
    let mut next = order.clone();
    next.status = status;
    next
}

#[test]
#[ignore = "regenerates the committed fixtures"]
fn regenerate_demo_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    std::fs::create_dir_all(&dir).unwrap();
    let mut generator = OrderGenerator::seeded(7);
    let mut sequence = 0;
    let mut next_event = |generator: &mut OrderGenerator, order: Order, seconds: i64| {
        sequence += 1;
        generator.event(order, sequence, at(seconds))
    };

    let mut alpha_log = Vec::new();
    log(
        &mut alpha_log,
        "alpha",
        0,
        LogKind::Started,
        json!({"log_file": "tracker-alpha.log", "events_file": "tracker-alpha.events"}),
    );
    log(
        &mut alpha_log,
        "alpha",
        0,
        LogKind::KafkaInitialised,
        json!({"topic": "orders", "group_id": "order-tracker"}),
    );
    log(
        &mut alpha_log,
        "alpha",
        1,
        LogKind::PartitionsAssigned,
        json!({"partitions": [0, 1, 2], "topic": "orders"}),
    );
    log(
        &mut alpha_log,
        "alpha",
        20,
        LogKind::PartitionsRevoked,
        json!({"partitions": [0, 1, 2], "topic": "orders"}),
    );
    log(
        &mut alpha_log,
        "alpha",
        21,
        LogKind::PartitionsAssigned,
        json!({"partitions": [0, 1], "topic": "orders"}),
    );
    log(&mut alpha_log, "alpha", 30, LogKind::Metrics, metrics(3, 1, 1, 1, 2, 4));

    let mut alpha = Events { instance: "alpha", out: Vec::new() };
    let order_a = generator.new_order(at(2));
    let event_a = next_event(&mut generator, order_a.clone(), 2);
    alpha.order(2, 0, 0, &event_a, None);
    let order_b = generator.new_order(at(5));
    let event_b = next_event(&mut generator, order_b, 5);
    alpha.order(5, 1, 0, &event_b, None);
    let order_c = generator.new_order(at(9));
    let event_c = next_event(&mut generator, order_c, 9);
    alpha.order(9, 0, 1, &event_c, None);
    alpha.order(12, 0, 0, &event_a, None);
    let mut order_d = generator.new_order(at(14));
    order_d.total_cents += 1;
    let event_d = next_event(&mut generator, order_d, 14);
    alpha.order(14, 1, 1, &event_d, Some("total_cents does not match subtotal + shipping + tax"));
    // D's dead letter, after the 10:00:30 metrics entry.
    let dead_letter = models::health::DlqSent {
        message: models::health::MessagePosition { topic: "orders".into(), partition: 1, offset: 1 },
        dlq_topic: "orders-dlq".into(),
        dlq_partition: 0,
        dlq_offset: 0,
        error_kind: "validation".into(),
        attempts: 1,
        kafka_key: Some(event_d.order.order_id.to_string()),
        event_id: Some(event_d.event_id),
        redrive_count: 0,
        cluster_id: None,
        transaction: None,
    };
    let time = models::format_timestamp(at(31));
    HealthEntry::of(&time, Some("alpha"), &dead_letter)
        .with_error("total_cents does not match subtotal + shipping + tax")
        .write_line(&mut alpha_log);
    log_error(&mut alpha_log, "alpha", 32, LogKind::ProcessingFailed, "validation failed: total mismatch");
    log(&mut alpha_log, "alpha", 60, LogKind::Metrics, metrics(5, 1, 1, 1, 2, 3));
    alpha.unparsable(15, 0, 2, b"{not json");
    let event_a_paid = next_event(&mut generator, with_status(&order_a, OrderStatus::Paid), 40);
    alpha.order(40, 0, 3, &event_a_paid, None);
    let order_e = generator.new_order(at(85));
    let event_e = next_event(&mut generator, order_e, 85);
    alpha.order(85, 1, 2, &event_e, None);

    let mut beta_log = Vec::new();
    log(&mut beta_log, "beta", 10, LogKind::Started, json!({}));
    log(
        &mut beta_log,
        "beta",
        21,
        LogKind::PartitionsAssigned,
        json!({"partitions": [2], "topic": "orders"}),
    );
    log(&mut beta_log, "beta", 30, LogKind::Metrics, metrics(2, 0, 0, 0, 0, 1));
    log(
        &mut beta_log,
        "beta",
        40,
        LogKind::Stopped,
        json!({"signal": "SIGTERM", "uptime_seconds": 30.0,
        "total_messages_received": 3, "total_messages_processed": 3, "total_messages_failed": 0,
        "total_duplicates": 0, "total_dlq_sent": 0, "final_success_rate_percent": 100.0,
        "shutdown_time": "2026-03-01T10:00:40.000Z"}),
    );
    log(&mut beta_log, "beta", 45, LogKind::Started, json!({}));
    log(
        &mut beta_log,
        "beta",
        46,
        LogKind::PartitionsAssigned,
        json!({"partitions": [2], "topic": "orders"}),
    );
    log(&mut beta_log, "beta", 75, LogKind::Metrics, metrics(1, 0, 0, 0, 0, 0));

    let mut beta = Events { instance: "beta", out: Vec::new() };
    let order_f = generator.new_order(at(21));
    let event_f = next_event(&mut generator, order_f, 21);
    beta.order(21, 2, 0, &event_f, None);
    let order_g = generator.new_order(at(22));
    let event_g = next_event(&mut generator, order_g.clone(), 22);
    beta.order(22, 2, 1, &event_g, None);
    let event_g_cancelled = next_event(&mut generator, with_status(&order_g, OrderStatus::Cancelled), 35);
    beta.order(35, 2, 2, &event_g_cancelled, None);
    beta.out.extend_from_slice(b"this line is not JSON\n");
    let order_h = generator.new_order(at(50));
    let event_h = next_event(&mut generator, order_h, 50);
    beta.order(50, 2, 3, &event_h, None);
    beta.out.extend_from_slice(b"{\"timestamp\":\"2026-03-01T10:01:29.000Z\",\"event_type\":\"mess");

    let mut gamma_log = Vec::new();
    log(&mut gamma_log, "gamma", -600, LogKind::Started, json!({}));
    log(&mut gamma_log, "gamma", -570, LogKind::Metrics, metrics(0, 0, 0, 0, 0, 0));

    let producer = concat!(
        "{\"timestamp\":\"2026-03-01T10:00:30.000Z\",\"level\":\"INFO\",\"message\":\"Producer stats\",\"metadata\":{\"rate\":10}}\n",
        "{\"timestamp\":\"2026-03-01T10:01:20.000Z\",\"level\":\"INFO\",\"message\":\"Producer stats\",\"metadata\":{\"events_per_second\":12.5,\"acknowledged\":40}}\n",
    );

    for (name, bytes) in [
        ("tracker-alpha.log", alpha_log),
        ("tracker-alpha.events", alpha.out),
        ("tracker-beta.log", beta_log),
        ("tracker-beta.events", beta.out),
        ("tracker-gamma.log", gamma_log),
        ("producer.log", producer.as_bytes().to_vec()),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
