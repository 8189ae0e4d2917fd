//! The aggregator over the demo fixture and hand-made lines.

use super::lines::cut_raw_message;
use super::*;
use crate::tail::Tailer;
use std::path::Path;

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

const DEMO_NOW: &str = "2026-03-01T10:01:30Z";

fn demo_summary(config: AggregatorConfig) -> Summary {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    let mut aggregator = Aggregator::new(config);
    Tailer::new(dir).read_all(&mut aggregator.sink(time(DEMO_NOW))).unwrap();
    aggregator.snapshot(time(DEMO_NOW))
}

#[test]
fn demo_fixture_totals() {
    let summary = demo_summary(AggregatorConfig::default());
    let totals = &summary.totals;
    assert_eq!(summary.messages.received, 12, "8 alpha + 4 beta audit lines");
    assert_eq!(totals.counters.received, Some(11), "the trackers' own counters: alpha 7 + beta 3 + 1");
    assert_eq!(totals.counters.in_flight, Some(0), "11 = 9 processed + 1 failed + 1 skipped");
    assert_eq!(totals.counters.processed, Some(9), "alpha 5 + beta 3 (first run) + 1 (second run)");
    assert_eq!(
        (
            totals.counters.failed,
            totals.counters.dlq_sent,
            totals.counters.duplicates,
            totals.counters.retries
        ),
        (Some(1), Some(1), Some(1), Some(2))
    );
    assert_eq!(summary.messages.invalid, 2);
    assert_eq!(totals.success_rate_percent, Some(90.0));
    assert_eq!(totals.messages_per_second_now, 0.1, "one line at 10:01:25 in the last 10 s");
    assert_eq!(totals.messages_per_second_average, 0.14, "12 lines over 83 s");
    assert_eq!(
        totals.total_lag,
        Some(0),
        "partition 0: the newest entry (beta 10:01:15, lag 0) wins over alpha 10:01:00 (lag 3)"
    );
}

#[test]
fn demo_fixture_instances() {
    let summary = demo_summary(AggregatorConfig::default());
    assert_eq!((summary.instances_alive, summary.instances_total), (2, 3));
    let [alpha, beta, gamma] = &summary.instances[..] else { panic!("three instances") };
    assert_eq!((alpha.instance_id.as_str(), alpha.status), ("alpha", InstanceStatus::Alive));
    assert_eq!(alpha.partitions, [0, 1], "the assignment after the rebalance");
    assert_eq!(
        (alpha.events_lines, alpha.invalid, alpha.counters.processed, alpha.lag),
        (8, 2, Some(5), Some(3))
    );
    assert_eq!(alpha.last_seen.as_deref(), Some("2026-03-01T10:01:25.000Z"));
    assert_eq!(
        (beta.status, beta.runs, beta.counters.processed, beta.events_lines),
        (InstanceStatus::Alive, 2, Some(4), 4)
    );
    assert_eq!(beta.partitions, [2]);
    assert_eq!((gamma.status, gamma.events_lines), (InstanceStatus::Stale, 0));
}

#[test]
fn demo_fixture_business_and_lists() {
    let summary = demo_summary(AggregatorConfig::default());
    let business = &summary.business;
    assert_eq!(business.revenue_cents, 334_110);
    assert_eq!(business.orders_created, 7, "A B C E F G H; the re-delivered A counts once");
    assert_eq!(business.repeated_created_events, 1);
    assert_eq!(business.average_basket_cents, Some(47_730));
    let statuses: Vec<_> = business.orders_by_status.iter().map(|s| (s.name.as_str(), s.orders)).collect();
    assert_eq!(
        statuses,
        [("created", 5), ("paid", 1), ("cancelled", 1)],
        "furthest status per order, lifecycle order"
    );
    assert_eq!(business.top_customers[0].customer_id, "client12");
    assert_eq!(business.top_customers[0].revenue_cents, 189_497);
    let producer = summary.producer.as_ref().unwrap();
    assert_eq!(
        (producer.events_per_second, producer.acknowledged, producer.lines),
        (Some(12.5), Some(40), 2)
    );
    assert_eq!(
        summary.latest_orders.len(),
        11,
        "deserialized lines (7 alpha, 4 beta), the invalid one included"
    );
    assert_eq!(summary.latest_orders[0].timestamp, "2026-03-01T10:01:25.000Z", "newest first");
    assert_eq!(summary.latest_problems.len(), 2);
    assert_eq!(summary.latest_problems[0].kind, "processing_failed");
    assert_eq!(summary.malformed_lines, MalformedCounts { events: 1, ..MalformedCounts::default() });
    let dead_letters = &summary.dead_letters;
    assert_eq!(dead_letters.total, 1);
    let letter = &dead_letters.latest[0];
    assert_eq!(
        (letter.error_kind.as_str(), letter.original_partition, letter.original_offset, letter.attempts),
        ("validation", 1, 1, 1),
        "invalid D at partition 1 offset 1"
    );
    assert_eq!(letter.reason.as_deref(), Some("total_cents does not match subtotal + shipping + tax"));
    assert_eq!(summary.latency.overall.samples, 11, "every deserialized line carries event_timestamp");
}

#[test]
fn fixed_stale_threshold() {
    let config =
        AggregatorConfig { stale_after: Some(Duration::from_secs(10)), ..AggregatorConfig::default() };
    let summary = demo_summary(config);
    let statuses: Vec<_> = summary.instances.iter().map(|i| i.status).collect();
    assert_eq!(statuses, [InstanceStatus::Alive, InstanceStatus::Stale, InstanceStatus::Stale]);
}

fn log_line(time: &str, kind: LogKind, metadata: serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    models::HealthEntry::new(time, "i", kind, metadata).write_line(&mut out);
    out.pop();
    out
}

use models::LogKind;

/// A minimal audit line at `timestamp`, deserialized, with `extra` fields (`"k":v,...`).
fn audit_line(timestamp: &str, extra: &str) -> String {
    let extra = if extra == "{}" || extra.is_empty() { String::new() } else { format!(",{extra}") };
    format!(
        "{{\"timestamp\":\"{timestamp}\",\"kafka_topic\":\"orders\",\"kafka_partition\":0,\
         \"kafka_offset\":0,\"deserialized\":true{extra}}}"
    )
}

#[test]
fn restarts_keep_earlier_runs_and_stop_marks_stopped() {
    let now = time("2026-01-01T00:10:00Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let metrics = |processed: u64| {
        serde_json::json!({"messages_received": processed + 1, "messages_processed": processed, "messages_failed": 1,
            "dlq_sent": 1, "duplicates": 0, "retries": 0, "interval_ms": 1000})
    };
    for line in [
        log_line("2026-01-01T00:00:00.000Z", LogKind::Started, serde_json::json!({})),
        log_line("2026-01-01T00:00:30.000Z", LogKind::Metrics, metrics(10)),
        // Killed without a stop entry, then restarted: 10 and 1 are kept.
        log_line("2026-01-01T00:01:00.000Z", LogKind::Started, serde_json::json!({})),
        log_line("2026-01-01T00:01:30.000Z", LogKind::Metrics, metrics(4)),
    ] {
        aggregator.ingest_log_line("i", &line, now);
    }
    let summary = aggregator.snapshot(time("2026-01-01T00:01:31Z"));
    assert_eq!((summary.totals.counters.processed, summary.totals.counters.failed), (Some(14), Some(2)));
    assert_eq!(summary.instances[0].status, InstanceStatus::Alive);
    let stale = aggregator.snapshot(time("2026-01-01T00:01:33Z"));
    assert_eq!(stale.instances[0].status, InstanceStatus::Stale, "two 1 s intervals without a line");
    let stop = serde_json::json!({"total_messages_processed": 6, "total_messages_failed": 1});
    aggregator.ingest_log_line("i", &log_line("2026-01-01T00:01:40.000Z", LogKind::Stopped, stop), now);
    let stopped = aggregator.snapshot(time("2026-01-01T00:01:41Z"));
    assert_eq!(stopped.instances[0].status, InstanceStatus::Stopped);
    assert_eq!(stopped.totals.counters.processed, Some(16));
    assert_eq!(stopped.totals.counters.received, None, "the stop entry did not say: unknown, not 0");
}

#[test]
fn malformed_lines_are_counted_not_fatal() {
    let now = time("2026-01-01T00:00:00Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    aggregator.ingest_events_line("i", b"\xff\xfe not json", now);
    aggregator.ingest_events_line("i", b"[1, 2]", now);
    aggregator.ingest_log_line("i", b"{\"level\": 3}", now);
    aggregator.ingest_producer_line(b"nope", now);
    aggregator.ingest_events_line("i", b"{\"timestamp\": \"2026-01-01T00:00:00.000Z\"}", now);
    aggregator.ingest_events_line("i", b"{\"bad utf8\": \"\xff\xfe\"}", now);
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.messages.received, 0, "a JSON object without the audit fields is no message");
    assert_eq!(summary.malformed_lines, MalformedCounts { events: 4, log: 1, producer: 1, too_long: 0 });
}

#[test]
fn a_metrics_entry_outside_the_contract_is_malformed_and_one_missing_counters_is_read() {
    let now = time("2026-01-01T00:00:10Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let whole = serde_json::json!({"messages_received": 5, "messages_processed": 4, "messages_failed": 1,
        "dlq_sent": 1, "duplicates": 0, "retries": 2, "interval_ms": 1000});
    aggregator.ingest_log_line("i", &log_line("2026-01-01T00:00:01.000Z", LogKind::Metrics, whole), now);
    // Not of the contract: no counter at all, a counter that is not a count.
    for metadata in [
        serde_json::json!({}),
        serde_json::json!({"messages_received": "9", "messages_processed": 9, "messages_failed": 0,
            "dlq_sent": 0, "duplicates": 0, "retries": 0}),
    ] {
        aggregator.ingest_log_line(
            "i",
            &log_line("2026-01-01T00:00:02.000Z", LogKind::Metrics, metadata),
            now,
        );
    }
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.malformed_lines.log, 2);
    let totals = &summary.totals;
    assert_eq!(
        (
            totals.counters.received,
            totals.counters.processed,
            totals.counters.failed,
            totals.counters.retries
        ),
        (Some(5), Some(4), Some(1), Some(2))
    );
    let last = summary.instances[0].last_metrics.as_ref().unwrap();
    assert_eq!(last.success_rate_percent, None, "not written, not shown as 0");

    // Of the contract, with counters missing: what it says is read, the rest is unknown.
    let partial = serde_json::json!({"messages_processed": 6, "messages_failed": 1});
    aggregator.ingest_log_line("i", &log_line("2026-01-01T00:00:03.000Z", LogKind::Metrics, partial), now);
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.malformed_lines.log, 2);
    let totals = &summary.totals;
    assert_eq!((totals.counters.processed, totals.counters.failed), (Some(6), Some(1)));
    assert_eq!(
        (totals.counters.received, totals.counters.retries, totals.counters.in_flight),
        (None, None, None)
    );
    assert_eq!(totals.success_rate_percent, Some(85.71));
}

#[test]
fn rate_window_uses_line_times_and_can_be_reset() {
    let mut aggregator = Aggregator::new(AggregatorConfig { chart_secs: 60, ..AggregatorConfig::default() });
    let now = time("2026-01-01T00:01:00Z");
    for second in 40..60 {
        for _ in 0..3 {
            let line = audit_line(&format!("2026-01-01T00:00:{second:02}.500Z"), "{}");
            aggregator.ingest_events_line("i", line.as_bytes(), now);
        }
    }
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.totals.messages_per_second_now, 3.0);
    assert_eq!(summary.throughput_per_second.len(), 60);
    assert_eq!(summary.throughput_per_second[59], 3);
    assert_eq!(summary.throughput_per_second[0], 0);
    aggregator.reset_rate_window(time("2026-01-01T00:00:55Z"));
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.totals.messages_per_second_now, 3.0, "5 s of 3 lines since the reset");
    assert_eq!(summary.throughput_per_second[54], 0, "the chart starts at the reset");
    aggregator.reset_rate_window(now);
    assert_eq!(aggregator.snapshot(now).totals.messages_per_second_now, 0.0);
}

#[test]
fn memory_stays_bounded() {
    let config = AggregatorConfig { latest_orders: 3, latest_problems: 2, ..AggregatorConfig::default() };
    let mut aggregator = Aggregator::new(config);
    let now = time("2026-01-01T00:00:00Z");
    for index in 0..100 {
        let line = audit_line(
            "2026-01-01T00:00:00.000Z",
            &format!(
                "\"status\":\"s{index}\",\"order_id\":\"o{index}\",\
                 \"order_full\":{{\"total_cents\":1,\"customer\":{{\"customer_id\":\"c{index}\"}}}}"
            ),
        );
        aggregator.ingest_events_line(&format!("instance-{index}"), line.as_bytes(), now);
        let problem = format!("{{\"level\":\"WARN\",\"kind\":\"k{index}\",\"message\":\"m\"}}");
        aggregator.ingest_log_line("i", problem.as_bytes(), now);
    }
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.latest_orders.len(), 3);
    assert_eq!(summary.latest_problems.len(), 2);
    assert_eq!(summary.business.orders_by_status.len(), MAX_STATUSES + 1, "the rest as (other)");
    let other = summary.business.orders_by_status.iter().find(|s| s.name == "(other)").unwrap();
    assert_eq!(other.orders, 100 - MAX_STATUSES as u64);
}

#[test]
fn cutting_raw_message_keeps_the_needed_fields() {
    let line = br#"{"timestamp":"t","raw_message":"{\"deserialized\":false,\"message_size\":1}","raw_message_base64":null,"message_size":5,"deserialized":true,"order_full":null}"#;
    let mut scratch = Vec::new();
    let cut = cut_raw_message(line, &mut scratch).unwrap();
    assert_eq!(cut, br#"{"timestamp":"t","message_size":5,"deserialized":true,"order_full":null}"#);
    let other_order = br#"{"deserialized":true,"raw_message":"x","message_size":1}"#;
    assert!(cut_raw_message(other_order, &mut scratch).is_none(), "parsed whole instead");
    let now = time("2026-01-01T00:00:00Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    aggregator.ingest_events_line("i", other_order, now);
    aggregator.ingest_events_line("i", line, now);
    assert_eq!(aggregator.snapshot(now).messages.invalid, 0);
}

/// Counts the allocations of the current thread, so that a test can measure what one line
/// costs while other tests run on other threads.
mod allocations {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    struct Counting;

    // SAFETY: every call is passed to the system allocator unchanged; the counter is a
    // thread-local Cell without destructor, so counting never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = COUNT.try_with(|count| count.set(count.get() + 1));
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    /// Allocations made by this thread so far.
    pub(super) fn so_far() -> u64 {
        COUNT.with(Cell::get)
    }
}

#[test]
fn a_created_order_of_known_customer_and_products_costs_one_allocation() {
    let now = time("2026-01-01T00:00:00Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let line = |index: u64| {
        audit_line(
            "2026-01-01T00:00:00.000Z",
            &format!(
                "\"status\":\"created\",\"order_id\":\"{index:08x}-0000-4000-8000-000000000000\",\
                 \"order_full\":{{\"total_cents\":100,\"currency\":\"EUR\",\
                 \"customer\":{{\"customer_id\":\"client7\",\"name\":\"Ann\"}},\
                 \"items\":[{{\"product_id\":\"SKU-1\",\"name\":\"Lamp\",\"quantity\":1}},\
                 {{\"product_id\":\"SKU-2\",\"name\":\"Desk\",\"quantity\":2}}],\
                 \"payment\":{{\"method\":\"card\"}}}}"
            ),
        )
    };
    let lines: Vec<String> = (0..1200).map(line).collect();
    for line in &lines[..200] {
        aggregator.ingest_events_line("i", line.as_bytes(), now);
    }
    let before = allocations::so_far();
    for line in &lines[200..] {
        aggregator.ingest_events_line("i", line.as_bytes(), now);
    }
    let per_line = (allocations::so_far() - before) as f64 / 1000.0;
    // The parsed items' Vec, and now and then an order table growing: no key copied for a
    // customer or a product already known, no name copied again.
    assert!(per_line < 1.1, "{per_line} allocations per line");
    assert_eq!(aggregator.snapshot(now).business.orders_created, 1200);
}

/// A broker killed: partition 0's leader moves from node 2 to node 3 and its ISR shrinks; two
/// instances that both reported partition 0 (it moved between them) count one change.
#[test]
fn leader_changes_and_under_replication_come_from_the_metrics_entries() {
    let now = time("2026-01-01T00:10:00Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let metrics = |leader: i32, isr: &[i32]| {
        serde_json::json!({"messages_received": 1, "messages_processed": 1, "messages_failed": 0,
            "dlq_sent": 0, "duplicates": 0, "retries": 0, "interval_ms": 1000, "min_insync_replicas": 2,
            "brokers": [{"node_id": 2, "address": "127.0.0.1:9093", "state": "TRY_CONNECT"}],
            "partitions": [{"partition": 0, "leader": leader, "replicas": [2, 3, 1], "in_sync_replicas": isr}]})
    };
    for (instance, time, leader, isr) in [
        ("a", "2026-01-01T00:00:01.000Z", 2, &[2, 3, 1][..]),
        ("a", "2026-01-01T00:00:02.000Z", 3, &[3, 1][..]),
        ("b", "2026-01-01T00:00:01.500Z", 2, &[2, 3, 1][..]),
        ("b", "2026-01-01T00:00:02.500Z", 3, &[3][..]),
    ] {
        aggregator.ingest_log_line(instance, &log_line(time, LogKind::Metrics, metrics(leader, isr)), now);
    }
    let summary = aggregator.snapshot(time("2026-01-01T00:00:03Z"));
    let changes: Vec<_> = summary.leader_changes.iter().map(|c| (c.partition, c.from, c.to)).collect();
    assert_eq!(changes, [(0, 2, 3)], "one change, seen twice");
    assert_eq!(summary.leader_changes[0].time, "2026-01-01T00:00:02.000Z", "the first sighting");
    let lag = &summary.partition_lag[0];
    assert_eq!(
        (lag.instance_id.as_str(), lag.leader, lag.in_sync_replicas.as_deref()),
        ("b", Some(3), Some(&[3][..]))
    );
    assert_eq!(
        (lag.under_replicated, lag.below_min_insync, lag.min_insync_replicas),
        (Some(true), Some(true), Some(2))
    );
}

#[test]
fn exactly_once_lines_count_each_record_once_and_show_the_attempts() {
    let now = time("2026-03-01T10:00:10Z");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let initialised = r#"{"timestamp":"2026-03-01T10:00:00.000Z","level":"INFO","message":"Kafka consumer initialised","kind":"kafka_initialised","service":"order-tracker","instance_id":"eos","metadata":{"topic":"orders","processing":"exactly_once"},"error":null}"#;
    aggregator.ingest_log_line("eos", initialised.as_bytes(), now);
    let audit = |offset: i64, transaction: &str| {
        format!(
            r#"{{"timestamp":"2026-03-01T10:00:01.000Z","event_type":"message.received.deserialization_error","instance_id":"eos","cluster_id":"c","kafka_topic":"orders","kafka_partition":0,"kafka_offset":{offset},"kafka_key":null,"raw_message":"x","raw_message_base64":null,"message_size":1,"deserialized":false,"event_id":null,"order_id":null,"sequence":null,"event_timestamp":null,"status":null,"order_full":null,"error":"e","validation_error":null,"headers":{{}},"transaction":"{transaction}"}}"#
        )
    };
    // Transaction 7-1 (offsets 0 and 1) was aborted: both are read again in 7-2.
    for (offset, transaction) in [(0, "7-1"), (1, "7-1"), (0, "7-2"), (1, "7-2"), (2, "7-2")] {
        aggregator.ingest_events_line("eos", audit(offset, transaction).as_bytes(), now);
    }
    for kind in ["transaction_aborted", "transaction_committed"] {
        let entry = format!(
            r#"{{"timestamp":"2026-03-01T10:00:02.000Z","level":"INFO","message":"m","kind":"{kind}","service":"order-tracker","instance_id":"eos","metadata":{{}},"error":null}}"#
        );
        aggregator.ingest_log_line("eos", entry.as_bytes(), now);
    }
    let summary = aggregator.snapshot(now);
    assert_eq!(summary.messages.received, 5, "every audit line");
    assert_eq!((summary.messages.records, summary.messages.retried_attempts), (3, 2));
    assert_eq!(summary.messages.duplicate_deliveries, 0, "a re-read in a transaction is no duplicate");
    assert_eq!(summary.instances[0].processing.as_deref(), Some("exactly_once"));

    let mut text = Vec::new();
    crate::report::write_text(&summary, Path::new("."), &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains(
            "exactly once: 3 records (each counted once), 2 retried attempts (read again after an aborted or \
             unfinished transaction); transactions 1 committed, 1 aborted; 0 fenced; modes: eos exactly_once"
        ),
        "{text}"
    );
    let mut report = Vec::new();
    let files = crate::analysis::FileCounts { events: 1, log: 1 };
    crate::analysis::write_analysis(&summary, Path::new("."), files, &mut report).unwrap();
    let report = String::from_utf8(report).unwrap();
    for row in ["records", "retried attempts", "transactions committed", "transactions aborted"] {
        assert!(report.lines().any(|line| line.trim_start().starts_with(row)), "no {row} row:\n{report}");
    }
}
