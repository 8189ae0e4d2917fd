//! The analysis report: what `monitor --report` prints and `analyze_logs.sh` shows.
//!
//! It prints the figures of the same [`Summary`] as the dashboard and `monitor --once`, in the
//! sections `analyze_logs.sh` has always had, so the report and the monitor cannot disagree.

use std::io::{self, Write};
use std::path::Path;

use models::escape_controls;

use crate::aggregate::{RedriveOutcome, Summary};
use crate::format::{money, optional, partitions};

/// How many tracker files the report was made from.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileCounts {
    /// `tracker-*.events` files.
    pub events: usize,
    /// `tracker-*.log` files.
    pub log: usize,
}

/// Counts the tracker files of `dir`.
pub fn count_files(dir: &Path) -> io::Result<FileCounts> {
    let mut counts = FileCounts::default();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("tracker-") && name.ends_with(".events") {
            counts.events += 1;
        } else if name.starts_with("tracker-") && name.ends_with(".log") {
            counts.log += 1;
        }
    }
    Ok(counts)
}

fn section(out: &mut impl Write, title: &str) -> io::Result<()> {
    writeln!(out, "\n== {title}")
}

/// One `label value note` line; the label may come from the files (a status, an error kind).
fn row(out: &mut impl Write, label: &str, value: impl ToString, note: &str) -> io::Result<()> {
    let label = escape_controls(label);
    let value = escape_controls(&value.to_string()).into_owned();
    if note.is_empty() {
        writeln!(out, "  {label:<34} {value:>12}")
    } else {
        writeln!(out, "  {label:<34} {value:>12}  {note}")
    }
}

/// Writes the analysis report of `summary`, made from the files of `dir`.
pub fn write_analysis(
    summary: &Summary,
    dir: &Path,
    files: FileCounts,
    out: &mut impl Write,
) -> io::Result<()> {
    let ids: Vec<_> = summary.instances.iter().map(|i| escape_controls(&i.instance_id)).collect();
    writeln!(
        out,
        "Tracker files in {}: {} .events, {} .log; instances: {}",
        escape_controls(&dir.display().to_string()),
        files.events,
        files.log,
        if ids.is_empty() { "none".to_owned() } else { ids.join(" ") }
    )?;

    let width = instance_column_width(summary);
    write_messages(summary, out)?;
    write_failures(summary, out)?;
    write_totals(summary, out)?;
    write_instances(summary, width, out)?;
    write_partitions(summary, out)?;
    write_partition_lag(summary, width, out)?;
    write_replication(summary, out)?;
    write_latency(summary, out)?;
    write_dead_letters(summary, width, out)?;
    write_business(summary, out)?;
    write_last_metrics(summary, width, out)?;
    write_last_errors(summary, out)
}

/// The width of the instance column: the longest id shown, at least 20.
fn instance_column_width(summary: &Summary) -> usize {
    summary
        .instances
        .iter()
        .map(|i| escape_controls(&i.instance_id).chars().count())
        .max()
        .unwrap_or(8)
        .max(20)
}

/// "Messages (.events)": what the audit lines say.
fn write_messages(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let messages = &summary.messages;
    let malformed = &summary.malformed_lines;
    section(out, "Messages (.events)")?;
    row(out, "received", messages.received, "")?;
    row(out, "deserialized", messages.deserialized, "")?;
    row(out, "failed to deserialize", messages.undeserializable, "")?;
    row(out, "validation errors", messages.validation_errors, "parsed, but break a business rule")?;
    row(
        out,
        "duplicate deliveries",
        messages.duplicate_deliveries,
        "same cluster, topic, partition and offset seen again",
    )?;
    row(out, "missing offsets", messages.missing_offsets, "gaps between the first and last offset seen")?;
    let exactly_once = summary.instances.iter().any(|i| i.processing.as_deref() == Some("exactly_once"));
    if exactly_once || messages.retried_attempts > 0 {
        let kind = |name: &str| summary.log_kinds.get(name).copied().unwrap_or(0);
        row(out, "records", messages.records, "each (cluster, topic, partition, offset) once")?;
        row(
            out,
            "retried attempts",
            messages.retried_attempts,
            "exactly_once: read again after an aborted or unfinished transaction",
        )?;
        row(out, "transactions committed", kind("transaction_committed"), "transaction_committed")?;
        row(out, "transactions aborted", kind("transaction_aborted"), "transaction_aborted")?;
        row(out, "instances fenced", kind("fenced"), "fenced")?;
    }
    if malformed.events > 0 {
        row(out, "unreadable lines", malformed.events, "not an audit line (half-written?)")?;
    }
    if malformed.too_long > 0 {
        row(out, "lines too long", malformed.too_long, "skipped")?;
    }
    Ok(())
}

/// "Failures and recovery (.log)": entries per kind.
fn write_failures(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let malformed = &summary.malformed_lines;
    let kind = |name: &str| summary.log_kinds.get(name).copied().unwrap_or(0);
    section(out, "Failures and recovery (.log)")?;
    row(out, "sent to the DLQ", kind("dlq_sent"), "dlq_sent")?;
    row(out, "DLQ sends that failed", kind("dlq_failed"), "dlq_failed")?;
    row(out, "retries", kind("retry_scheduled"), "retry_scheduled")?;
    row(out, "processing failures", kind("processing_failed"), "processing_failed")?;
    row(out, "duplicate events skipped", kind("duplicate_skipped"), "duplicate_skipped (same event id)")?;
    row(out, "events out of lifecycle order", kind("out_of_order"), "out_of_order")?;
    row(out, "Kafka errors", kind("kafka_error"), "kafka_error")?;
    row(out, "failed commits", kind("commit_failed"), "commit_failed")?;
    row(out, "partition assignments", kind("partitions_assigned"), "partitions_assigned (rebalances)")?;
    if malformed.log > 0 {
        row(
            out,
            "unreadable log lines",
            malformed.log,
            "not JSON, or a metrics/stop entry that does not parse",
        )?;
    }
    Ok(())
}

/// "Totals (tracker counters)".
fn write_totals(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    section(out, "Totals (tracker counters)")?;
    let totals = &summary.totals;
    row(out, "received", optional(totals.counters.received), "= processed + failed + skipped + in flight")?;
    row(out, "processed", optional(totals.counters.processed), "")?;
    row(out, "failed", optional(totals.counters.failed), "for good")?;
    row(out, "dead-lettered", optional(totals.counters.dlq_sent), "part of failed")?;
    row(out, "skipped", optional(totals.counters.duplicates), "duplicates (same event id)")?;
    row(
        out,
        "in flight",
        optional(totals.counters.in_flight),
        "received, not finished when the counters were written",
    )?;
    row(
        out,
        "success rate",
        totals.success_rate_percent.map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.2}%")),
        "processed / (processed + failed)",
    )?;
    row(
        out,
        "counters as of",
        optional(totals.counters_as_of.clone()),
        "oldest latest entry of an instance",
    )?;
    row(out, "lag", optional(totals.total_lag), "sum over partitions, newest alive owner each")?;
    Ok(())
}

/// "Per instance": its audit lines and log entries.
fn write_instances(summary: &Summary, width: usize, out: &mut impl Write) -> io::Result<()> {
    section(out, "Per instance")?;
    writeln!(
        out,
        "  {:<width$} {:>10} {:>10} {:>9} {:>8} {:>6} {:>8} {:>9} {:>8}",
        "instance", "received", "deserial.", "undeser.", "invalid", "dlq", "retries", "proc.fail", "stopped"
    )?;
    for instance in &summary.instances {
        let kind = |name: &str| instance.log_kinds.get(name).copied().unwrap_or(0);
        writeln!(
            out,
            "  {:<width$} {:>10} {:>10} {:>9} {:>8} {:>6} {:>8} {:>9} {:>8}",
            escape_controls(&instance.instance_id),
            instance.events_lines,
            instance.deserialized,
            instance.undeserializable,
            instance.validation_errors,
            kind("dlq_sent"),
            kind("retry_scheduled"),
            kind("processing_failed"),
            if kind("stopped") > 0 { "yes" } else { "no" },
        )?;
    }
    Ok(())
}

/// "Per partition": offsets seen, duplicates and gaps.
fn write_partitions(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    section(out, "Per partition")?;
    writeln!(
        out,
        "  {:<12} {:>5} {:>10} {:>10} {:>10} {:>10} {:>6} {:>8}  {:<20} {:<20} cluster",
        "topic", "part", "received", "distinct", "first", "last", "dups", "missing", "gaps", "read by"
    )?;
    for partition in &summary.partitions {
        let mut gaps: Vec<String> = partition
            .gaps_shown
            .iter()
            .map(|&(from, to)| if from == to { from.to_string() } else { format!("{from}-{to}") })
            .collect();
        if partition.more_gaps > 0 {
            gaps.push("...".to_owned());
        }
        writeln!(
            out,
            "  {:<12} {:>5} {:>10} {:>10} {:>10} {:>10} {:>6} {:>8}  {:<20} {:<20} {}",
            escape_controls(&partition.topic),
            partition.partition,
            partition.received,
            partition.distinct_offsets,
            optional(partition.first_offset),
            optional(partition.last_offset),
            partition.duplicates,
            partition.missing_offsets,
            if gaps.is_empty() { "-".to_owned() } else { gaps.join(" ") },
            escape_controls(&partition.read_by.join(",")),
            escape_controls(partition.cluster_id.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

/// "Lag per partition".
fn write_partition_lag(summary: &Summary, width: usize, out: &mut impl Write) -> io::Result<()> {
    section(out, "Lag per partition (newest metrics entry of an alive instance)")?;
    if summary.partition_lag.is_empty() {
        writeln!(out, "  (none: no alive instance has written a metrics entry)")?;
    } else {
        writeln!(
            out,
            "  {:>5} {:<width$} {:>12} {:>14} {:>10} {:>9}",
            "part", "instance", "committed", "high watermark", "lag", "age (s)"
        )?;
        for lag in &summary.partition_lag {
            writeln!(
                out,
                "  {:>5} {:<width$} {:>12} {:>14} {:>10} {:>9.1}",
                lag.partition,
                escape_controls(&lag.instance_id),
                optional(lag.committed_offset),
                optional(lag.high_watermark),
                optional(lag.lag),
                lag.age_seconds,
            )?;
        }
    }
    Ok(())
}

/// Revenue, top customers and products, orders by status and payment method.
fn write_business(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let business = &summary.business;
    section(out, "Revenue (valid order.created events, each order once)")?;
    row(out, "orders", business.orders_created, "")?;
    row(out, "revenue", format!("{} {}", money(business.revenue_cents), business.currency), "")?;
    row(
        out,
        "average basket",
        business
            .average_basket_cents
            .map_or_else(|| "-".to_owned(), |cents| format!("{} {}", money(cents), business.currency)),
        "",
    )?;

    section(out, "Top 5 customers by revenue")?;
    for customer in &business.top_customers {
        writeln!(
            out,
            "  {:<12} {:>12} {} {:>6} orders  {}",
            escape_controls(&customer.customer_id),
            money(customer.revenue_cents),
            escape_controls(&business.currency),
            customer.orders,
            escape_controls(customer.name.as_deref().unwrap_or("")),
        )?;
    }

    section(out, "Top 5 products by quantity")?;
    for product in &business.top_products {
        writeln!(
            out,
            "  {:<12} {:>8} units {:>6} orders  {}",
            escape_controls(&product.product_id),
            product.quantity,
            product.orders,
            escape_controls(&product.name)
        )?;
    }

    section(out, "Orders by status (furthest status seen per order)")?;
    for status in &business.orders_by_status {
        row(out, &status.name, status.orders, "")?;
    }

    section(out, "Orders by payment method")?;
    for method in &business.orders_by_payment_method {
        row(out, &method.name, method.orders, "")?;
    }
    Ok(())
}

/// "Last metrics per instance".
fn write_last_metrics(summary: &Summary, width: usize, out: &mut impl Write) -> io::Result<()> {
    section(out, "Last metrics per instance")?;
    let with_metrics: Vec<_> = summary.instances.iter().filter(|i| i.last_metrics.is_some()).collect();
    if with_metrics.is_empty() {
        writeln!(out, "  (no metrics entry yet: one is written every metrics interval, 30 s by default)")?;
    } else {
        writeln!(
            out,
            "  {:<width$} {:<24} {:>8} {:>9} {:>9} {:>7} {:>8} {:>7} {:>6} {:>7} {:>5} {:>7} {:>7} partitions",
            "instance",
            "time",
            "uptime_s",
            "received",
            "processed",
            "failed",
            "success%",
            "msg/s",
            "lag",
            "retries",
            "dlq",
            "p50_ms",
            "p99_ms"
        )?;
        for instance in with_metrics {
            let Some(metrics) = &instance.last_metrics else { continue };
            writeln!(
                out,
                "  {:<width$} {:<24} {:>8} {:>9} {:>9} {:>7} {:>8} {:>7} {:>6} {:>7} {:>5} {:>7} {:>7} {}",
                escape_controls(&instance.instance_id),
                escape_controls(&metrics.timestamp),
                metrics.uptime_seconds.map_or_else(|| "-".to_owned(), |seconds| format!("{seconds:.0}")),
                optional(metrics.messages_received),
                optional(metrics.messages_processed),
                optional(metrics.messages_failed),
                metrics.success_rate_percent.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.2}")),
                metrics.messages_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}")),
                optional(metrics.total_lag),
                optional(metrics.retries),
                optional(metrics.dlq_sent),
                optional(metrics.latency_p50_ms),
                optional(metrics.latency_p99_ms),
                partitions(&metrics.partitions),
            )?;
        }
    }
    Ok(())
}

/// "Last 5 errors".
fn write_last_errors(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    section(out, "Last 5 errors")?;
    if summary.last_errors.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for error in &summary.last_errors {
        let text = error.error.as_deref().unwrap_or(&error.message);
        writeln!(
            out,
            "  {:<24} {:<16} {:<22} {}",
            escape_controls(&error.timestamp),
            escape_controls(&error.instance_id),
            escape_controls(&error.kind),
            escape_controls(text)
        )?;
    }
    Ok(())
}

/// Dead letters and redriven records listed by the report, newest first.
pub const REPORT_LATEST_DEAD_LETTERS: usize = 20;

fn write_latency(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let latency = &summary.latency;
    section(out, "End-to-end latency (event timestamp -> audit line written, ms)")?;
    writeln!(
        out,
        "  {:<12} {:>10} {:>8} {:>8} {:>8} {:>10}",
        "lines", "samples", "p50", "p99", "max", "negative"
    )?;
    let window = format!("last-{}-s", latency.window_seconds);
    for (label, figures) in [("all", &latency.overall), (window.as_str(), &latency.window)] {
        writeln!(
            out,
            "  {:<12} {:>10} {:>8} {:>8} {:>8} {:>10}",
            label,
            figures.samples,
            optional(figures.p50_ms),
            optional(figures.p99_ms),
            optional(figures.max_ms),
            figures.negative_samples,
        )?;
    }
    if latency.overall.negative_samples > 0 {
        writeln!(out, "  negative: events dated after their audit line (the producer's clock is ahead)")?;
    }
    Ok(())
}

fn write_dead_letters(summary: &Summary, width: usize, out: &mut impl Write) -> io::Result<()> {
    let dead_letters = &summary.dead_letters;
    section(out, "Dead letters by error kind (dlq_sent)")?;
    for kind in &dead_letters.by_error_kind {
        row(out, &kind.error_kind, kind.count, "")?;
    }
    row(out, "total", dead_letters.total, "acknowledged by the dead-letter topic")?;

    section(out, "Latest dead letters")?;
    if dead_letters.latest.is_empty() {
        writeln!(out, "  (none)")?;
    } else {
        writeln!(
            out,
            "  {:<24} {:<width$} {:<16} {:<16} {:<12} {:>8} {:>8}  reason",
            "time", "instance", "error kind", "origin", "dlq", "attempts", "redrives"
        )?;
    }
    for letter in dead_letters.latest.iter().take(REPORT_LATEST_DEAD_LETTERS) {
        writeln!(
            out,
            "  {:<24} {:<width$} {:<16} {:<16} {:<12} {:>8} {:>8}  {}",
            escape_controls(&letter.timestamp),
            escape_controls(&letter.instance_id),
            escape_controls(&letter.error_kind),
            format!(
                "{}/{}:{}",
                escape_controls(&letter.original_topic),
                letter.original_partition,
                letter.original_offset
            ),
            format!("{}:{}", letter.dlq_partition, letter.dlq_offset),
            letter.attempts,
            letter.redrive_count,
            escape_controls(letter.reason.as_deref().unwrap_or("-")),
        )?;
    }

    let redriven = &dead_letters.redriven;
    section(out, "Redriven records (dlq redrive)")?;
    row(out, "received", redriven.received, "audit lines with dlq.redrive.count >= 1")?;
    row(out, "valid", redriven.valid, "parsed and passed validation")?;
    row(out, "invalid", redriven.invalid, "fail again")?;
    row(out, "dead-lettered again", redriven.dead_lettered_again, "dlq_sent with redrive_count >= 1")?;
    if !redriven.latest.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  {:<24} {:<width$} {:<16} {:>8} {:<20} outcome",
            "time", "instance", "position", "redrives", "from"
        )?;
    }
    for record in redriven.latest.iter().take(REPORT_LATEST_DEAD_LETTERS) {
        let outcome = match record.outcome {
            RedriveOutcome::Valid => "valid",
            RedriveOutcome::Invalid => "invalid",
            RedriveOutcome::DeadLetteredAgain => "dead-lettered-again",
        };
        writeln!(
            out,
            "  {:<24} {:<width$} {:<16} {:>8} {:<20} {}",
            escape_controls(&record.timestamp),
            escape_controls(&record.instance_id),
            format!("{}/{}:{}", escape_controls(&record.topic), record.partition, record.offset),
            record.redrive_count,
            escape_controls(record.redriven_from.as_deref().unwrap_or("-")),
            outcome,
        )?;
    }
    Ok(())
}

/// Leader and in-sync replicas per partition (same entries as the lag), and the leader
/// changes the metrics entries showed over the run.
fn write_replication(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    section(out, "Replication (leader and in-sync replicas, from the trackers' metrics entries)")?;
    let known: Vec<_> = summary.partition_lag.iter().filter(|lag| lag.replicas.is_some()).collect();
    if known.is_empty() {
        writeln!(out, "  (none: no alive instance's metrics entry carries the cluster metadata)")?;
    } else {
        writeln!(out, "  {:>5} {:>7} {:>9} {:>10}  state", "part", "leader", "replicas", "in sync")?;
        for lag in known {
            let nodes = |ids: &Option<Vec<i32>>| ids.as_deref().map_or_else(|| "-".to_owned(), partitions);
            let state = match (lag.below_min_insync, lag.under_replicated) {
                (Some(true), _) => format!(
                    "below min.insync.replicas={}: acks=all producers are refused",
                    optional(lag.min_insync_replicas)
                ),
                (_, Some(true)) => "under-replicated".to_owned(),
                (_, Some(false)) => "in sync".to_owned(),
                _ => "-".to_owned(),
            };
            let leader = match lag.leader {
                Some(leader) if leader >= 0 => leader.to_string(),
                Some(_) => "none".to_owned(),
                None => "-".to_owned(),
            };
            writeln!(
                out,
                "  {:>5} {:>7} {:>9} {:>10}  {state}",
                lag.partition,
                leader,
                nodes(&lag.replicas),
                nodes(&lag.in_sync_replicas)
            )?;
        }
    }
    let changes = &summary.leader_changes;
    writeln!(out, "  leader changes over the run: {}", changes.len())?;
    for change in changes {
        let node = |id: i32| if id >= 0 { format!("node {id}") } else { "none".to_owned() };
        writeln!(
            out,
            "    {}  partition {}: {} -> {}  (seen by {})",
            change.time,
            change.partition,
            node(change.from),
            node(change.to),
            change.instance_id
        )?;
    }
    Ok(())
}
