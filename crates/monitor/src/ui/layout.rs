//! Where each panel goes, computed from the state and the screen size alone, and [`render`],
//! which draws every panel in its place.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::Frame;

use super::{charts, dead_letters, header, help, panels, App, Panel};

/// The place of every part of the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// The status line.
    pub header: Rect,
    /// The figures (one or two lines).
    pub figures: Rect,
    /// The msg/s chart.
    pub chart: Rect,
    /// The latency chart, beside it.
    pub latency_chart: Rect,
    /// Business figures.
    pub business: Rect,
    /// The tabs: instances, partitions, dead letters.
    pub table: Rect,
    /// The latest orders.
    pub orders: Rect,
    /// Warnings and errors.
    pub problems: Rect,
    /// The key reminder.
    pub footer: Rect,
    /// Everything between the figures and the footer (the screen of an empty folder).
    pub body: Rect,
}

/// Screens at least this tall get taller panels.
const LARGE_HEIGHT: u16 = 34;

/// Where everything goes on a screen of `area`.
pub fn layout(app: &App, area: Rect) -> Areas {
    let large = area.height >= LARGE_HEIGHT;
    let figure_lines = header::figure_lines(app, usize::from(area.width)).len().clamp(1, 2);
    let [header, figures, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::try_from(figure_lines).unwrap_or(1)),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let [top, table, bottom] = Layout::vertical([
        Constraint::Length(if large { 12 } else { 7 }),
        Constraint::Length(table_height(app, large)),
        Constraint::Min(4),
    ])
    .areas(body);
    let [chart, latency_chart, business] = Layout::horizontal([
        Constraint::Percentage(30),
        Constraint::Percentage(30),
        Constraint::Percentage(40),
    ])
    .areas(top);
    let [orders, problems] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    Areas { header, figures, chart, latency_chart, business, table, orders, problems, footer, body }
}

fn table_height(app: &App, large: bool) -> u16 {
    let rows = match app.table {
        Panel::Partitions => app.summary.partition_lag.len(),
        // The counts by error kind take a line above the table.
        Panel::DeadLetters => app.summary.dead_letters.latest.len() + 1,
        _ => app.summary.instances.len(),
    };
    // Borders and the column titles, plus the rows.
    let wanted = rows.max(1) + 3;
    let limit = if large { 16 } else { 8 };
    u16::try_from(wanted.min(limit)).unwrap_or(limit as u16)
}

/// The place of `panel` (the table place for every tab).
pub fn panel_area(areas: &Areas, panel: Panel) -> Rect {
    match panel {
        Panel::Instances | Panel::Partitions | Panel::DeadLetters => areas.table,
        Panel::Orders => areas.orders,
        Panel::Problems => areas.problems,
        Panel::Business => areas.business,
    }
}

/// The panel under `position` on the last screen drawn, if any.
pub fn panel_at(app: &App, position: Position) -> Option<Panel> {
    let areas = layout(app, app.screen);
    [app.table, Panel::Orders, Panel::Problems, Panel::Business]
        .into_iter()
        .find(|panel| panel_area(&areas, *panel).contains(position))
}

/// Draws the whole screen from the state.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let areas = layout(app, area);
    header::render_header(app, frame, areas.header);
    header::render_figures(app, frame, areas.figures);
    if app.is_empty_folder() {
        help::render_empty_folder(app, frame, areas.body);
    } else {
        charts::render_chart(app, frame, areas.chart);
        charts::render_latency_chart(app, frame, areas.latency_chart);
        panels::render_business(app, frame, areas.business);
        match app.table {
            Panel::Partitions => panels::render_partitions(app, frame, areas.table),
            Panel::DeadLetters => dead_letters::render_dead_letters(app, frame, areas.table),
            _ => panels::render_instances(app, frame, areas.table),
        }
        panels::render_orders(app, frame, areas.orders);
        panels::render_problems(app, frame, areas.problems);
    }
    help::render_footer(frame, areas.footer);
    if app.show_help {
        help::render_help(frame, area, app.help_scroll);
    }
    if !app.color {
        strip_colors(frame.buffer_mut());
    }
}

/// `NO_COLOR`: every colour goes; what stood out by its background (badges, the footer) is
/// drawn reversed instead, so it still stands out.
fn strip_colors(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        if cell.bg != Color::Reset {
            cell.modifier.insert(Modifier::REVERSED);
        }
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}
