//! The panels: the msg/s chart, business figures, the tabs of the table place (instances,
//! partitions), the latest orders, and warnings & errors. Tables go through
//! [`fit::fit_columns`], lists through [`fit::visible_rows`]: nothing is cut without a sign.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::fit::{self, ellipsize, shorten_middle, wrap_items, ColumnKind, FitCell, FitColumn};
use super::{App, Panel};
use crate::aggregate::{InstanceStatus, PartitionLag};
use crate::format::{age, clock_time, money, optional, partitions, short_id};

/// The frame of a panel. The focused one has a thick border and a `▶` before a reversed
/// title, so the focus shows without colour too.
pub fn panel_block(app: &App, panel: Panel, title: Line<'static>) -> Block<'static> {
    let focused = app.focus == panel;
    let block = Block::bordered();
    if focused {
        let mut spans = vec![Span::styled("▶ ", Style::new().add_modifier(Modifier::BOLD))];
        spans.extend(title.spans.into_iter().map(|span| {
            let style = span.style.add_modifier(Modifier::BOLD | Modifier::REVERSED);
            Span::styled(span.content, style)
        }));
        block.border_set(border::THICK).border_style(Style::new().fg(Color::Yellow)).title(Line::from(spans))
    } else {
        block
            .border_style(Style::new().fg(Color::DarkGray))
            .title(title.style(Style::new().add_modifier(Modifier::BOLD)))
    }
}

/// Draws a table of fitted columns in `block`: column titles, the rows scrolled by `scroll`,
/// "+N more" when rows are left below, and a note when columns had to be left out.
pub(super) fn draw_table(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    columns: &[FitColumn],
    scroll: usize,
    row_style: impl Fn(usize, usize) -> Style,
    empty_text: &str,
) {
    let inner = block.inner(area);
    let fitted = fit::fit_columns(columns, usize::from(inner.width));
    let mut block = block;
    if fitted.hidden_columns > 0 {
        let note =
            format!(" {} column{} hidden: widen ", fitted.hidden_columns, plural(fitted.hidden_columns));
        block = block.title_bottom(note);
    }
    if scroll > 0 {
        block = block.title_bottom(format!(" ↑ {scroll} above "));
    }
    // Again: without borders, a title takes a line of its own.
    let inner = block.inner(area);
    let total = columns.first().map_or(0, |column| column.cells.len());
    let mut lines = Vec::new();
    let header: Vec<Span> = fitted
        .widths
        .iter()
        .enumerate()
        .map(|(index, _)| Span::raw(format!("{} ", fitted.header_text(&columns[index], index))))
        .collect();
    lines.push(Line::from(header).style(Style::new().add_modifier(Modifier::BOLD)));
    if total == 0 {
        lines.push(
            Line::from(ellipsize(empty_text, usize::from(inner.width)))
                .style(Style::new().fg(Color::DarkGray)),
        );
    }
    let slots = usize::from(inner.height.saturating_sub(1));
    let (range, more) = fit::visible_rows(total, scroll, slots);
    for row in range {
        let spans: Vec<Span> = fitted
            .widths
            .iter()
            .enumerate()
            .map(|(index, _)| {
                Span::styled(
                    format!("{} ", fitted.cell_text(&columns[index], index, row)),
                    row_style(index, row),
                )
            })
            .collect();
        lines.push(Line::from(spans));
    }
    if more > 0 && slots > 0 {
        lines.push(more_line(more));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub(super) fn more_line(more: usize) -> Line<'static> {
    Line::styled(
        format!("+{more} more (j/k, PgDn)"),
        Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
    )
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The title of the table place: every tab, the drawn one marked.
pub(super) fn tabs_title(app: &App) -> Line<'static> {
    let mut spans = Vec::new();
    for (index, tab) in Panel::TABS.iter().enumerate() {
        let count = match tab {
            Panel::Partitions => app.summary.partition_lag.len(),
            Panel::DeadLetters => usize::try_from(app.summary.dead_letters.total).unwrap_or(usize::MAX),
            _ => app.summary.instances_total,
        };
        let text = format!(" {} {} ({count}) ", index + 1, tab.title());
        if *tab == app.table {
            spans.push(Span::styled(text, Style::new().add_modifier(Modifier::UNDERLINED)));
        } else {
            spans.push(Span::styled(text, Style::new().fg(Color::DarkGray)));
        }
    }
    Line::from(spans)
}

pub(super) fn id_column(header: &'static str, ids: impl Iterator<Item = String>) -> FitColumn {
    FitColumn { header, kind: ColumnKind::Id, cells: ids.map(FitCell::text).collect() }
}

pub(super) fn text_column(header: &'static str, texts: impl Iterator<Item = String>) -> FitColumn {
    FitColumn { header, kind: ColumnKind::Text, cells: texts.map(FitCell::text).collect() }
}

pub(super) fn number_column(header: &'static str, cells: impl Iterator<Item = FitCell>) -> FitColumn {
    FitColumn { header, kind: ColumnKind::Number, cells: cells.collect() }
}

/// Partitions as written (`0,1,2,3`), compact as ranges (`0-3`) or a count.
fn partitions_cell(list: &[i32]) -> FitCell {
    let exact = partitions(list);
    let mut ranges: Vec<String> = Vec::new();
    let mut index = 0;
    while index < list.len() {
        let start = list[index];
        let mut end = start;
        while index + 1 < list.len() && list[index + 1] == end.saturating_add(1) {
            index += 1;
            end = list[index];
        }
        ranges.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        index += 1;
    }
    let ranges = if ranges.is_empty() { "-".to_owned() } else { ranges.join(",") };
    let compact = if ranges.len() <= 7 { ranges } else { format!("{}×", list.len()) };
    FitCell { exact, compact }
}

fn status_style(status: InstanceStatus) -> Style {
    match status {
        InstanceStatus::Alive => Style::new().fg(Color::Green),
        InstanceStatus::Stale => Style::new().fg(Color::Yellow),
        InstanceStatus::Stopped => Style::new().fg(Color::DarkGray),
    }
}

/// Tab 1: one row per instance.
pub fn render_instances(app: &App, frame: &mut Frame, area: Rect) {
    let instances = &app.summary.instances;
    let columns = [
        id_column("instance", instances.iter().map(|i| i.instance_id.clone())),
        text_column("status", instances.iter().map(|i| i.status.to_string())),
        number_column("parts", instances.iter().map(|i| partitions_cell(&i.partitions))),
        number_column("recv", instances.iter().map(|i| FitCell::optional_count(i.counters.received))),
        number_column("proc", instances.iter().map(|i| FitCell::optional_count(i.counters.processed))),
        number_column("fail", instances.iter().map(|i| FitCell::optional_count(i.counters.failed))),
        number_column("dlq", instances.iter().map(|i| FitCell::optional_count(i.counters.dlq_sent))),
        number_column("lag", instances.iter().map(|i| FitCell::optional(i.lag))),
        number_column("msg/s", instances.iter().map(|i| FitCell::rate(i.messages_per_second))),
        // The tracker's own figure over its last metrics interval.
        number_column(
            "p99",
            instances.iter().map(|i| {
                let p99 = i.last_metrics.as_ref().and_then(|metrics| metrics.latency_p99_ms);
                FitCell::text(p99.map_or_else(|| "-".to_owned(), super::header::milliseconds))
            }),
        ),
        number_column(
            "seen",
            instances
                .iter()
                .map(|i| FitCell::text(i.seconds_since_last_seen.map_or_else(|| "never".to_owned(), age))),
        ),
    ];
    let block = panel_block(app, Panel::Instances, tabs_title(app));
    let style = |column: usize, row: usize| match (column, instances.get(row)) {
        (1, Some(instance)) => status_style(instance.status),
        _ => Style::new(),
    };
    draw_table(frame, area, block, &columns, app.scrolled(Panel::Instances), style, "no instance yet");
}

/// Tab 2: per partition, its leader and in-sync replicas and its lag, all from the newest
/// metrics entry of an alive owner (one source, one moment).
pub fn render_partitions(app: &App, frame: &mut Frame, area: Rect) {
    let lags = &app.summary.partition_lag;
    let columns = [
        number_column("part", lags.iter().map(|lag| FitCell::text(lag.partition.to_string()))),
        number_column("leader", lags.iter().map(leader_cell)),
        number_column("isr", lags.iter().map(isr_cell)),
        id_column("owner", lags.iter().map(|lag| lag.instance_id.clone())),
        number_column("committed", lags.iter().map(|lag| FitCell::optional(lag.committed_offset))),
        number_column("processed", lags.iter().map(|lag| FitCell::optional(lag.last_processed_offset))),
        number_column("high wm", lags.iter().map(|lag| FitCell::optional(lag.high_watermark))),
        number_column("lag", lags.iter().map(|lag| FitCell::optional(lag.lag))),
        number_column("age", lags.iter().map(|lag| FitCell::text(age(lag.age_seconds)))),
    ];
    let block = panel_block(app, Panel::Partitions, tabs_title(app));
    let style = |column: usize, row: usize| {
        let Some(lag) = lags.get(row) else { return Style::new() };
        match column {
            1 if lag.leader.is_some_and(|leader| leader < 0) => Style::new().fg(Color::Red),
            2 if lag.below_min_insync == Some(true) => Style::new().fg(Color::Red),
            2 if lag.under_replicated == Some(true) => Style::new().fg(Color::Yellow),
            7 if lag.lag.is_some_and(|lag| lag > 0) => Style::new().fg(Color::Yellow),
            _ => Style::new(),
        }
    };
    draw_table(
        frame,
        area,
        block,
        &columns,
        app.scrolled(Panel::Partitions),
        style,
        "no metrics entry from an alive tracker yet (one every metrics interval, 30 s by default)",
    );
}

/// The leader's node id, `none` while the partition has none, `-` when unknown.
fn leader_cell(lag: &PartitionLag) -> FitCell {
    match lag.leader {
        Some(leader) if leader >= 0 => FitCell::text(leader.to_string()),
        Some(_) => FitCell::text("none"),
        None => FitCell::text("-"),
    }
}

/// In-sync replicas over replicas (`2/3`), marked `under` when fewer are in sync than there are
/// replicas and `<min` when fewer than `min.insync.replicas` (compact: `!` and `!!`).
fn isr_cell(lag: &PartitionLag) -> FitCell {
    let (Some(isr), Some(replicas)) = (&lag.in_sync_replicas, &lag.replicas) else {
        return FitCell::text("-");
    };
    let ratio = format!("{}/{}", isr.len(), replicas.len());
    if lag.below_min_insync == Some(true) {
        FitCell { exact: format!("{ratio} <min"), compact: format!("{ratio}!!") }
    } else if lag.under_replicated == Some(true) {
        FitCell { exact: format!("{ratio} under"), compact: format!("{ratio}!") }
    } else {
        FitCell::text(ratio)
    }
}

/// The latest orders.
pub fn render_orders(app: &App, frame: &mut Frame, area: Rect) {
    let orders = &app.summary.latest_orders;
    let euros = |cents: i64| {
        let exact = money(cents);
        let compact = if cents.unsigned_abs() >= 100_000_000 {
            fit::compact_signed(cents / 100)
        } else {
            exact.clone()
        };
        FitCell { exact, compact }
    };
    // `!` marks an order that broke a business rule (red too, but not only red: NO_COLOR).
    let columns = [
        text_column("!", orders.iter().map(|order| if order.valid { " " } else { "!" }.to_owned())),
        text_column("time", orders.iter().map(|order| clock_time(&order.timestamp).to_owned())),
        number_column("total", orders.iter().map(|order| euros(order.total_cents))),
        text_column("status", orders.iter().map(|order| order.status.clone())),
        text_column("customer", orders.iter().map(|order| order.customer_id.clone())),
        id_column("instance", orders.iter().map(|order| order.instance_id.clone())),
        text_column("order", orders.iter().map(|order| short_id(&order.order_id).to_owned())),
    ];
    let style = |_: usize, row: usize| match orders.get(row) {
        Some(order) if !order.valid => Style::new().fg(Color::Red),
        _ => Style::new(),
    };
    let block = panel_block(app, Panel::Orders, Line::from(format!(" {} ", Panel::Orders.title())));
    draw_table(frame, area, block, &columns, app.scrolled(Panel::Orders), style, "no order yet");
}

/// The follower's warnings first (the figures leave those files out), then the trackers'
/// latest warnings and errors.
pub fn render_problems(app: &App, frame: &mut Frame, area: Rect) {
    let block = panel_block(app, Panel::Problems, Line::from(format!(" {} ", Panel::Problems.title())));
    let inner = block.inner(area);
    let width = usize::from(inner.width);
    let id_width = app.id_width();
    let mut rows: Vec<Line> = app
        .warnings
        .iter()
        .map(|warning| {
            Line::from(vec![
                Span::styled("monitor ", Style::new().fg(Color::Black).bg(Color::Yellow)),
                Span::raw(ellipsize(warning, width.saturating_sub(8))),
            ])
        })
        .collect();
    rows.extend(app.summary.latest_problems.iter().map(|problem| {
        let color = if problem.level == "ERROR" { Color::Red } else { Color::Yellow };
        let detail = problem.error.as_deref().unwrap_or(&problem.message);
        let start = format!("{} ", clock_time(&problem.timestamp));
        let level = format!("{} ", problem.level.chars().next().unwrap_or('?'));
        let rest = format!("{} {}: {}", shorten_middle(&problem.instance_id, id_width), problem.kind, detail);
        let room = width.saturating_sub(start.len() + level.len());
        Line::from(vec![
            Span::raw(start),
            Span::styled(level, Style::new().fg(color)),
            Span::raw(ellipsize(&rest, room)),
        ])
    }));
    let lines = scrolled_lines(rows, app.scrolled(Panel::Problems), usize::from(inner.height));
    let lines =
        if lines.is_empty() { vec![Line::styled("none", Style::new().fg(Color::DarkGray))] } else { lines };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `rows` scrolled by `scroll` in `slots` lines, the last one saying "+N more" when needed.
pub(super) fn scrolled_lines(rows: Vec<Line<'static>>, scroll: usize, slots: usize) -> Vec<Line<'static>> {
    let (range, more) = fit::visible_rows(rows.len(), scroll, slots);
    let mut lines: Vec<Line> = rows.into_iter().skip(range.start).take(range.len()).collect();
    if more > 0 && slots > 0 {
        lines.push(more_line(more));
    }
    lines
}

/// The business panel's lines in `width` characters (items never cut in the middle).
pub fn business_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let business = &app.summary.business;
    let mut items = vec![format!("revenue {} {}", money(business.revenue_cents), business.currency)];
    let mut lines: Vec<Line> = Vec::new();
    items.push(format!("orders {}", business.orders_created));
    items.push(format!("avg {}", business.average_basket_cents.map_or_else(|| "-".to_owned(), money)));
    lines.extend(wrap_items(&items, width).into_iter().map(Line::from));
    if let Some(producer) = &app.summary.producer {
        let rate = producer.events_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}/s"));
        let items = [format!("producer {rate}"), format!("ack {}", optional(producer.acknowledged))];
        lines.extend(wrap_items(&items, width).into_iter().map(Line::from));
    }
    let statuses: Vec<String> =
        business.orders_by_status.iter().map(|status| format!("{} {}", status.name, status.orders)).collect();
    lines.extend(wrap_items(&statuses, width).into_iter().map(Line::from));
    if !business.top_customers.is_empty() {
        lines.push(Line::styled("top customers", Style::new().add_modifier(Modifier::UNDERLINED)));
    }
    for customer in &business.top_customers {
        let item =
            format!("{} {} ({})", customer.customer_id, money(customer.revenue_cents), customer.orders);
        lines.extend(wrap_items(&[item], width).into_iter().map(Line::from));
    }
    lines
}

/// Business figures.
pub fn render_business(app: &App, frame: &mut Frame, area: Rect) {
    let block = panel_block(app, Panel::Business, Line::from(format!(" {} ", Panel::Business.title())));
    let inner = block.inner(area);
    let lines = business_lines(app, usize::from(inner.width));
    let lines = scrolled_lines(lines, app.scrolled(Panel::Business), usize::from(inner.height));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
