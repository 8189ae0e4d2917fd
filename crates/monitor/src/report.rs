//! The non-interactive renderings of a [`Summary`]: plain text and one JSON object, for
//! `monitor --once` (scripts, pipes, terminals that are not a TTY).
//! The formatters it shares with the dashboard and `--report` are in [`crate::format`].

use std::io::{self, Write};
use std::path::Path;

use models::escape_controls;

use crate::aggregate::Summary;
use crate::format::{age, clock_time, money, optional, partitions, short_id};

/// Latest orders and problems listed by `--once` (text and JSON).
pub const ONCE_LATEST_ROWS: usize = 5;

/// Writes the summary as one JSON object followed by a newline. The latest orders and
/// problems are cut to [`ONCE_LATEST_ROWS`].
pub fn write_json(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let mut trimmed = summary.clone();
    trimmed.latest_orders.truncate(ONCE_LATEST_ROWS);
    trimmed.latest_problems.truncate(ONCE_LATEST_ROWS);
    // Serialized first, so that a closed pipe shows as the plain `BrokenPipe` it is.
    let json = serde_json::to_string_pretty(&trimmed).map_err(io::Error::other)?;
    out.write_all(models::escape_json_controls(json).as_bytes())?;
    writeln!(out)
}

/// Writes the summary as text for humans. Every text that came from the files (ids, names,
/// statuses, error texts, file names) is shown with its control characters escaped
/// ([`models::escape_controls`]).
pub fn write_text(summary: &Summary, dir: &Path, out: &mut impl Write) -> io::Result<()> {
    write_totals(summary, dir, out)?;
    write_exactly_once(summary, out)?;
    write_latency_and_dead_letters(summary, out)?;
    writeln!(out)?;
    write_instances(summary, out)?;
    write_partitions(summary, out)?;
    writeln!(out)?;
    write_business(summary, out)?;
    if let Some(producer) = &summary.producer {
        writeln!(
            out,
            "producer: {} events/s, {} acknowledged ({} lines)",
            producer.events_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.2}")),
            optional(producer.acknowledged),
            producer.lines,
        )?;
    }
    writeln!(out)?;
    write_latest(summary, out)?;
    let malformed = &summary.malformed_lines;
    writeln!(
        out,
        "malformed lines skipped: events {}, log {}, producer {}, too long {}",
        malformed.events, malformed.log, malformed.producer, malformed.too_long
    )?;
    for warning in &summary.warnings {
        writeln!(out, "warning: {}", escape_controls(warning))?;
    }
    Ok(())
}

/// The heading, the trackers' counters, the rates and lag, and what the `.events` lines say.
fn write_totals(summary: &Summary, dir: &Path, out: &mut impl Write) -> io::Result<()> {
    let totals = &summary.totals;
    writeln!(
        out,
        "order-tracker monitor: {} at {}",
        escape_controls(&dir.display().to_string()),
        summary.generated_at
    )?;
    writeln!(out, "instances: {} alive / {} total", summary.instances_alive, summary.instances_total)?;
    writeln!(out)?;
    writeln!(
        out,
        "received {}  processed {}  failed {} (DLQ {})  skipped {}  in flight {}  retries {}",
        optional(totals.counters.received),
        optional(totals.counters.processed),
        optional(totals.counters.failed),
        optional(totals.counters.dlq_sent),
        optional(totals.counters.duplicates),
        optional(totals.counters.in_flight),
        optional(totals.counters.retries)
    )?;
    writeln!(
        out,
        "  (tracker counters as of {}; received = processed + failed + skipped + in flight)",
        match (&totals.counters_as_of, totals.counters_age_seconds) {
            (Some(time), Some(ago)) => format!("{time}, {} ago", age(ago)),
            _ => "- (no metrics entry yet)".to_owned(),
        }
    )?;
    writeln!(
        out,
        "success {}  msg/s now {:.2}  msg/s average {:.2}  lag {}",
        totals.success_rate_percent.map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.2}%")),
        totals.messages_per_second_now,
        totals.messages_per_second_average,
        match (totals.total_lag, totals.lag_age_seconds) {
            (Some(lag), Some(ago)) => format!("{lag} ({} old)", age(ago)),
            _ => "-".to_owned(),
        },
    )?;
    let messages = &summary.messages;
    writeln!(
        out,
        ".events: {} lines, {} deserialized, {} not deserialized, {} validation errors, \
         {} duplicate deliveries, {} missing offsets",
        messages.received,
        messages.deserialized,
        messages.undeserializable,
        messages.validation_errors,
        messages.duplicate_deliveries,
        messages.missing_offsets
    )?;
    Ok(())
}

/// The latest orders and the latest warnings and errors, [`ONCE_LATEST_ROWS`] of each.
fn write_latest(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "latest orders:")?;
    for order in summary.latest_orders.iter().take(ONCE_LATEST_ROWS) {
        writeln!(
            out,
            "  {} {} p{}@{} {} {} {} {}{}",
            escape_controls(clock_time(&order.timestamp)),
            escape_controls(&order.instance_id),
            order.partition,
            order.offset,
            escape_controls(short_id(&order.order_id)),
            escape_controls(&order.customer_id),
            escape_controls(&order.status),
            money(order.total_cents),
            if order.valid { "" } else { " INVALID" },
        )?;
    }
    writeln!(out, "latest warnings and errors:")?;
    for problem in summary.latest_problems.iter().take(ONCE_LATEST_ROWS) {
        writeln!(
            out,
            "  {} {:<5} {} {}: {}{}",
            escape_controls(clock_time(&problem.timestamp)),
            escape_controls(&problem.level),
            escape_controls(&problem.instance_id),
            escape_controls(&problem.kind),
            escape_controls(&problem.message),
            problem
                .error
                .as_deref()
                .map(|error| format!(" ({})", escape_controls(error)))
                .unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// With an `exactly_once` tracker among the files: records counted once, the attempts apart,
/// the transactions and fenced instances (from the `.log` entries), each instance's mode.
fn write_exactly_once(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let exactly_once = |mode: &Option<String>| mode.as_deref() == Some("exactly_once");
    if summary.messages.retried_attempts == 0
        && !summary.instances.iter().any(|i| exactly_once(&i.processing))
    {
        return Ok(());
    }
    let kind = |name: &str| summary.log_kinds.get(name).copied().unwrap_or(0);
    let modes: Vec<String> = summary
        .instances
        .iter()
        .map(|instance| {
            let mode = instance.processing.as_deref().unwrap_or("at_least_once");
            format!("{} {}", escape_controls(&instance.instance_id), escape_controls(mode))
        })
        .collect();
    writeln!(
        out,
        "exactly once: {} records (each counted once), {} retried attempts (read again after an \
         aborted or unfinished transaction); transactions {} committed, {} aborted; {} fenced; \
         modes: {}",
        summary.messages.records,
        summary.messages.retried_attempts,
        kind("transaction_committed"),
        kind("transaction_aborted"),
        kind("fenced"),
        modes.join(", ")
    )
}

fn write_latency_and_dead_letters(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let latency = &summary.latency;
    writeln!(
        out,
        "latency (event emitted -> audit line): last {} s {}; all lines {}",
        latency.window_seconds,
        latency_text(&latency.window),
        latency_text(&latency.overall),
    )?;
    let dead_letters = &summary.dead_letters;
    let kinds: Vec<String> = dead_letters
        .by_error_kind
        .iter()
        .map(|kind| format!("{} {}", escape_controls(&kind.error_kind), kind.count))
        .collect();
    let redriven = &dead_letters.redriven;
    writeln!(
        out,
        "dead letters {}{}  redriven {} received ({} valid, {} invalid), {} dead-lettered again",
        dead_letters.total,
        if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
        redriven.received,
        redriven.valid,
        redriven.invalid,
        redriven.dead_lettered_again,
    )
}

/// `p50 12 ms  p99 80 ms  max 95 ms (1234 samples)`, `n/a (0 samples)` without samples, and
/// the samples left out for clock skew when there are some.
pub fn latency_text(figures: &models::latency::LatencyFigures) -> String {
    let skew = if figures.negative_samples > 0 {
        format!(", {} dated after their audit line (clock skew)", figures.negative_samples)
    } else {
        String::new()
    };
    match (figures.p50_ms, figures.p99_ms, figures.max_ms) {
        (Some(p50), Some(p99), Some(max)) => {
            format!("p50 {p50} ms  p99 {p99} ms  max {max} ms ({} samples{skew})", figures.samples)
        }
        _ => format!("n/a (0 samples{skew})"),
    }
}

/// Per partition, when a metrics entry carried the cluster's metadata: leader, in-sync
/// replicas and their verdict, lag and owner (the partitions tab, as text).
fn write_partitions(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    for lag in summary.partition_lag.iter().filter(|lag| lag.replicas.is_some()) {
        let leader = match lag.leader {
            Some(leader) if leader >= 0 => format!("leader {leader}"),
            _ => "no leader".to_owned(),
        };
        let isr = match (&lag.in_sync_replicas, &lag.replicas) {
            (Some(isr), Some(replicas)) => format!("isr {}/{}", isr.len(), replicas.len()),
            _ => "isr -".to_owned(),
        };
        let verdict = match (lag.below_min_insync, lag.under_replicated) {
            (Some(true), _) => " below min.insync.replicas",
            (_, Some(true)) => " under-replicated",
            _ => "",
        };
        writeln!(
            out,
            "partition {}: {leader}, {isr}{verdict}, lag {} ({}, {})",
            lag.partition,
            optional(lag.lag),
            lag.instance_id,
            age(lag.age_seconds)
        )?;
    }
    for instance in &summary.instances {
        if instance.status != crate::aggregate::InstanceStatus::Alive {
            continue;
        }
        let Some(brokers) = instance.brokers.as_deref().filter(|brokers| !brokers.is_empty()) else {
            continue;
        };
        let states: Vec<String> = brokers.iter().map(|b| format!("{} {}", b.node_id, b.state)).collect();
        writeln!(out, "connections of {}: {}", instance.instance_id, states.join(", "))?;
    }
    Ok(())
}

fn write_instances(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<7} {:<10} {:>8} {:>9} {:>6} {:>5} {:>6} {:>7}  LAST SEEN",
        "INSTANCE", "STATUS", "PARTITIONS", "RECEIVED", "PROCESSED", "FAILED", "DLQ", "LAG", "MSG/S"
    )?;
    for instance in &summary.instances {
        writeln!(
            out,
            "{:<16} {:<7} {:<10} {:>8} {:>9} {:>6} {:>5} {:>6} {:>7.2}  {}",
            escape_controls(&instance.instance_id),
            instance.status.to_string(),
            partitions(&instance.partitions),
            optional(instance.counters.received),
            optional(instance.counters.processed),
            optional(instance.counters.failed),
            optional(instance.counters.dlq_sent),
            optional(instance.lag),
            instance.messages_per_second,
            match (&instance.last_seen, instance.seconds_since_last_seen) {
                (Some(time), Some(ago)) => format!("{} ({} ago)", escape_controls(time), age(ago)),
                _ => "never".to_owned(),
            },
        )?;
    }
    Ok(())
}

fn write_business(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let business = &summary.business;
    writeln!(
        out,
        "revenue {} {}  orders created {}  average basket {}",
        money(business.revenue_cents),
        escape_controls(&business.currency),
        business.orders_created,
        business.average_basket_cents.map_or_else(|| "-".to_owned(), money),
    )?;
    let statuses: Vec<String> = business
        .orders_by_status
        .iter()
        .map(|status| format!("{} {}", escape_controls(&status.name), status.orders))
        .collect();
    writeln!(
        out,
        "orders by status: {}",
        if statuses.is_empty() { "-".to_owned() } else { statuses.join(", ") }
    )?;
    let customers: Vec<String> = business
        .top_customers
        .iter()
        .map(|customer| {
            format!(
                "{} {} ({} order{})",
                escape_controls(&customer.customer_id),
                money(customer.revenue_cents),
                customer.orders,
                if customer.orders == 1 { "" } else { "s" }
            )
        })
        .collect();
    writeln!(
        out,
        "top customers: {}",
        if customers.is_empty() { "-".to_owned() } else { customers.join(", ") }
    )
}
