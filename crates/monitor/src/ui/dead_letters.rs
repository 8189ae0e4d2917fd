//! Tab 3: the dead letters the trackers wrote in their logs (`dlq_sent` entries): counts by
//! error kind and what became of redriven records on a line, then the latest dead letters with
//! their reason, their original position, and their position in the DLQ (what `dlq show
//! PARTITION:OFFSET` takes).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::fit::{compact_signed, wrap_items, ColumnKind, FitCell, FitColumn};
use super::panels::{draw_table, id_column, number_column, panel_block, tabs_title, text_column};
use super::{App, Panel};
use crate::format::{clock_time, short_id};

/// Lines the counts may take above the table.
const MAX_COUNT_LINES: usize = 2;

/// The counts line(s): dead letters by error kind, and the redriven records by outcome.
pub fn count_items(app: &App) -> Vec<String> {
    let dead_letters = &app.summary.dead_letters;
    let mut items = vec![format!("dead letters {}:", dead_letters.total)];
    items.extend(dead_letters.by_error_kind.iter().map(|kind| format!("{} {}", kind.error_kind, kind.count)));
    let redriven = &dead_letters.redriven;
    if redriven.received > 0 {
        items.push(format!(
            "· redriven {}: valid {}, invalid {}, dead-lettered again {}",
            redriven.received, redriven.valid, redriven.invalid, redriven.dead_lettered_again
        ));
    }
    items
}

/// Draws the tab.
pub fn render_dead_letters(app: &App, frame: &mut Frame, area: Rect) {
    let block = panel_block(app, Panel::DeadLetters, tabs_title(app));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let counts = wrap_items(&count_items(app), usize::from(inner.width));
    let count_lines = counts.len().min(MAX_COUNT_LINES);
    let [top, table] =
        Layout::vertical([Constraint::Length(u16::try_from(count_lines).unwrap_or(1)), Constraint::Min(0)])
            .areas(inner);
    let lines: Vec<Line> = counts.into_iter().take(count_lines).map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines).style(Style::new().fg(Color::Magenta)), top);

    let latest = &app.summary.dead_letters.latest;
    let position = |partition: i32, offset: i64| FitCell {
        exact: format!("{partition}:{offset}"),
        compact: format!("{partition}:{}", compact_signed(offset)),
    };
    let columns = [
        text_column("time", latest.iter().map(|row| clock_time(&row.timestamp).to_owned())),
        text_column("kind", latest.iter().map(|row| row.error_kind.clone())),
        number_column("from", latest.iter().map(|row| position(row.original_partition, row.original_offset))),
        FitColumn {
            header: "reason",
            kind: ColumnKind::Sentence,
            cells: latest
                .iter()
                .map(|row| FitCell::text(row.reason.clone().unwrap_or_else(|| "-".to_owned())))
                .collect(),
        },
        id_column("instance", latest.iter().map(|row| row.instance_id.clone())),
        number_column("dlq", latest.iter().map(|row| position(row.dlq_partition, row.dlq_offset))),
        number_column("tries", latest.iter().map(|row| FitCell::count(u64::from(row.attempts)))),
        number_column("redr", latest.iter().map(|row| FitCell::count(u64::from(row.redrive_count)))),
        text_column(
            "key",
            latest.iter().map(|row| {
                row.kafka_key.as_deref().or(row.event_id.as_deref()).map_or("-", short_id).to_owned()
            }),
        ),
        text_column("topic", latest.iter().map(|row| row.original_topic.clone())),
    ];
    draw_table(
        frame,
        table,
        Block::new(),
        &columns,
        app.scrolled(Panel::DeadLetters),
        |_, _| Style::new(),
        "no dead letter (each one is a dlq_sent entry in a tracker-*.log)",
    );
}
