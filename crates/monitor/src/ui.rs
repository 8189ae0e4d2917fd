//! The dashboard: [`App`] state, key handling, the pure [`render`] and the terminal loop.
//!
//! `render(&App, &mut Frame)` only reads the state, so tests draw into a `TestBackend`. The
//! loop in [`run_dashboard`] reads files in bounded chunks per tick (the header shows how much
//! is left while catching up), so big files never freeze the screen. The terminal is set up
//! with `ratatui::init()`, whose panic hook restores it, and restored on every exit path.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};

use crate::aggregate::{Aggregator, InstanceStatus, Summary};
use crate::cli::Options;
use crate::report::{age, clock_time, money, optional, partitions, short_id};
use crate::tail::Tailer;
use crate::MonitorError;

/// Bytes read per tick: enough to catch up quickly, small enough to keep drawing.
pub const READ_BUDGET_BYTES_PER_TICK: u64 = 8 << 20;

/// The panels that can take the focus, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The instance table.
    Instances,
    /// The latest orders.
    Orders,
    /// Warnings and errors.
    Problems,
    /// Business figures.
    Business,
}

impl Panel {
    const ALL: [Panel; 4] = [Panel::Instances, Panel::Orders, Panel::Problems, Panel::Business];

    fn index(self) -> usize {
        Panel::ALL.iter().position(|panel| *panel == self).unwrap_or(0)
    }

    fn step(self, forward: bool) -> Panel {
        let count = Panel::ALL.len();
        let next = if forward { self.index() + 1 } else { self.index() + count - 1 };
        Panel::ALL[next % count]
    }
}

/// What a key asks the loop to do beyond changing the [`App`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more.
    None,
    /// Leave the dashboard.
    Quit,
    /// Start the rate window again now.
    ResetRateWindow,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    /// The directory followed, as shown in the header.
    pub dir: String,
    /// The latest summary.
    pub summary: Summary,
    /// When the monitor started, for its uptime.
    pub started_at: DateTime<Utc>,
    /// The time of the latest summary.
    pub now: DateTime<Utc>,
    /// The panel `j`/`k` scroll.
    pub focus: Panel,
    /// Rows scrolled per panel, indexed like [`Panel::ALL`].
    pub scroll: [usize; 4],
    /// Reading is paused (`p`).
    pub paused: bool,
    /// The help overlay is shown (`?`).
    pub show_help: bool,
    /// Bytes not read yet (catching up when above 0).
    pub pending_bytes: u64,
    /// Files followed.
    pub file_count: usize,
    /// The last read error, shown in the header until reading works again.
    pub read_error: Option<String>,
}

impl App {
    /// A fresh dashboard state.
    pub fn new(dir: String, summary: Summary, started_at: DateTime<Utc>) -> App {
        App {
            dir,
            summary,
            started_at,
            now: started_at,
            focus: Panel::Instances,
            scroll: [0; 4],
            paused: false,
            show_help: false,
            pending_bytes: 0,
            file_count: 0,
            read_error: None,
        }
    }

    /// Applies one key press.
    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if control => return Action::Quit,
            KeyCode::Char('q') | KeyCode::Esc if !self.show_help || key.code == KeyCode::Char('q') => {
                return Action::Quit
            }
            KeyCode::Esc => self.show_help = false,
            KeyCode::Char('?') => self.show_help = !self.show_help,
            KeyCode::Tab | KeyCode::Char('l') | KeyCode::Right => self.focus = self.focus.step(true),
            KeyCode::BackTab | KeyCode::Char('h') | KeyCode::Left => self.focus = self.focus.step(false),
            KeyCode::Char('j') | KeyCode::Down => self.scroll_focused(1),
            KeyCode::Char('k') | KeyCode::Up => self.scroll_focused(-1),
            KeyCode::Char('p') => self.paused = !self.paused,
            KeyCode::Char('r') => return Action::ResetRateWindow,
            _ => {}
        }
        Action::None
    }

    fn scroll_focused(&mut self, delta: isize) {
        let rows = match self.focus {
            Panel::Instances => self.summary.instances.len(),
            Panel::Orders => self.summary.latest_orders.len(),
            Panel::Problems => self.summary.latest_problems.len(),
            Panel::Business => self.summary.business.top_customers.len() + 8,
        };
        let slot = &mut self.scroll[self.focus.index()];
        *slot = slot.saturating_add_signed(delta).min(rows.saturating_sub(1));
    }

    fn scrolled(&self, panel: Panel) -> usize {
        self.scroll[panel.index()]
    }
}

/// Runs the dashboard until a quit key. Restores the terminal on every exit path.
pub fn run_dashboard(options: &Options) -> Result<(), MonitorError> {
    let mut terminal = ratatui::init();
    let result = dashboard_loop(&mut terminal, options);
    ratatui::restore();
    result
}

fn dashboard_loop(terminal: &mut DefaultTerminal, options: &Options) -> Result<(), MonitorError> {
    let started_at = Utc::now();
    let mut aggregator = Aggregator::new(crate::aggregator_config(options));
    let mut tailer = Tailer::new(&options.dir);
    let mut app = App::new(options.dir.display().to_string(), aggregator.snapshot(started_at), started_at);
    loop {
        let now = Utc::now();
        if !app.paused {
            match tailer.poll(READ_BUDGET_BYTES_PER_TICK, &mut aggregator.sink(now)) {
                Ok(outcome) => {
                    app.pending_bytes = outcome.bytes_pending;
                    app.read_error = None;
                }
                Err(error) => app.read_error = Some(error.to_string()),
            }
            app.file_count = tailer.file_count();
        }
        app.summary = aggregator.snapshot(now);
        app.now = now;
        terminal.draw(|frame| render(&app, frame)).map_err(MonitorError::Terminal)?;
        let catching_up = !app.paused && app.pending_bytes > 0;
        let mut wait = if catching_up { Duration::ZERO } else { options.interval };
        while event::poll(wait).map_err(MonitorError::Terminal)? {
            if let Event::Key(key) = event::read().map_err(MonitorError::Terminal)? {
                match app.handle_key(key) {
                    Action::Quit => return Ok(()),
                    Action::ResetRateWindow => aggregator.reset_rate_window(Utc::now()),
                    Action::None => {}
                }
            }
            // Redraw right after a key rather than waiting out the interval.
            wait = Duration::ZERO;
        }
    }
}

/// Draws the whole screen from the state.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let large = area.height >= 34;
    let [header, figures, top, instances, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(if large { 12 } else { 7 }),
        Constraint::Length(instance_table_height(app, large)),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    render_figures(app, frame, figures);
    let [chart, business] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(top);
    render_chart(app, frame, chart);
    render_business(app, frame, business);
    render_instances(app, frame, instances);
    let [orders, problems] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    render_orders(app, frame, orders);
    render_problems(app, frame, problems);
    render_footer(frame, footer);
    if app.show_help {
        render_help(frame, area);
    }
}

fn instance_table_height(app: &App, large: bool) -> u16 {
    let wanted = app.summary.instances.len().max(1) + 3;
    let limit = if large { 12 } else { 6 };
    u16::try_from(wanted.min(limit)).unwrap_or(6)
}

fn panel_block(app: &App, panel: Panel, title: String) -> Block<'static> {
    let style =
        if app.focus == panel { Style::new().fg(Color::Yellow) } else { Style::new().fg(Color::DarkGray) };
    Block::bordered()
        .border_style(style)
        .title(Span::styled(title, Style::new().add_modifier(Modifier::BOLD)))
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let summary = &app.summary;
    let uptime = (app.now - app.started_at).num_seconds().max(0);
    let mut spans = vec![
        Span::styled(" order-tracker monitor ", Style::new().fg(Color::Black).bg(Color::Cyan)),
        Span::raw(format!(" instances {}/{} alive ", summary.instances_alive, summary.instances_total)),
        Span::raw(format!("│ up {:02}:{:02}:{:02} ", uptime / 3600, uptime / 60 % 60, uptime % 60)),
    ];
    if app.paused {
        spans.push(Span::styled(" PAUSED ", Style::new().fg(Color::Black).bg(Color::Yellow)));
    } else if app.pending_bytes > 0 {
        let text = format!(" catching up: {:.1} MB left ", app.pending_bytes as f64 / 1e6);
        spans.push(Span::styled(text, Style::new().fg(Color::Black).bg(Color::Magenta)));
    }
    if let Some(error) = &app.read_error {
        spans.push(Span::styled(
            format!(" read error: {error} "),
            Style::new().fg(Color::White).bg(Color::Red),
        ));
    }
    // Last, so that a long path is what gets cut on a narrow screen.
    spans.push(Span::raw(format!(" {}", app.dir)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_figures(app: &App, frame: &mut Frame, area: Rect) {
    let spans = header_spans(&app.summary, usize::from(area.width));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The header figures, in the longest form that fits `width`: full labels and exact values,
/// then short labels, then `k`/`M` suffixes. A figure is never cut.
fn header_spans(summary: &crate::aggregate::Summary, width: usize) -> Vec<Span<'static>> {
    let totals = &summary.totals;
    let success = totals.success_rate_percent.map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.2}%"));
    let success_color = match totals.success_rate_percent {
        Some(rate) if rate >= 99.0 => Color::Green,
        Some(_) => Color::Yellow,
        None => Color::Gray,
    };
    let lag = match (totals.total_lag, totals.lag_age_seconds) {
        (Some(lag), Some(age_seconds)) => Some((lag, format!(" ({} old)", age(age_seconds)))),
        (Some(lag), None) => Some((lag, String::new())),
        _ => None,
    };
    for (long_labels, compact) in [(true, false), (false, false), (false, true)] {
        let number = |value: u64| if compact { compact_number(value) } else { value.to_string() };
        let label = |long: &'static str, short: &'static str| if long_labels { long } else { short };
        let mut figures: Vec<(&'static str, String, Color)> = vec![
            (label("received", "recv"), number(totals.received), Color::Cyan),
            (label("processed", "done"), number(totals.processed), Color::Green),
            (label("failed", "fail"), number(totals.failed), Color::Red),
            ("DLQ", number(totals.dlq_sent), Color::Magenta),
            (label("skipped", "skip"), number(totals.duplicates), Color::Yellow),
            (label("in flight", "infl"), number(totals.in_flight), Color::Cyan),
            (label("success", "ok%"), success.clone(), success_color),
            ("msg/s", format!("{:.1}", totals.messages_per_second_now), Color::Cyan),
        ];
        if let Some((lag, age_text)) = &lag {
            let value =
                if compact { compact_number(u64::try_from(*lag).unwrap_or(0)) } else { lag.to_string() };
            figures.push(("lag", format!("{value}{age_text}"), Color::Yellow));
        }
        let length: usize =
            figures.iter().map(|(name, value, _)| name.chars().count() + value.chars().count() + 2).sum();
        if length <= width || compact {
            return figures
                .into_iter()
                .flat_map(|(name, value, color)| {
                    [
                        Span::raw(format!(" {name} ")),
                        Span::styled(value, Style::new().fg(color).add_modifier(Modifier::BOLD)),
                    ]
                })
                .collect();
        }
    }
    Vec::new()
}

/// `999`, `1.2k`, `12k`, `1.2M`, `123M`, `1.2G`: for when space is short.
pub fn compact_number(value: u64) -> String {
    let scaled = |unit: f64, suffix: &str| {
        let amount = value as f64 / unit;
        if amount < 9.95 {
            format!("{amount:.1}{suffix}")
        } else {
            format!("{amount:.0}{suffix}")
        }
    };
    match value {
        0..=9_999 => value.to_string(),
        10_000..=999_999 => scaled(1e3, "k"),
        1_000_000..=999_999_999 => scaled(1e6, "M"),
        _ => scaled(1e9, "G"),
    }
}

fn render_chart(app: &App, frame: &mut Frame, area: Rect) {
    let series = &app.summary.throughput_per_second;
    let count = series.len() as f64;
    let points: Vec<(f64, f64)> =
        series.iter().enumerate().map(|(index, &value)| (index as f64 - count, value as f64)).collect();
    let peak = series.iter().copied().max().unwrap_or(0).max(1) as f64;
    let minutes = series.len() / 60;
    let title = format!("msg/s, last {minutes} min (peak {peak:.0})");
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Cyan))
        .data(&points);
    let chart = Chart::new(vec![dataset])
        .block(Block::bordered().border_style(Style::new().fg(Color::DarkGray)).title(title))
        .x_axis(
            Axis::default()
                .bounds([-count, 0.0])
                .labels([Line::from(format!("-{minutes}m")), Line::from("now")])
                .style(Style::new().fg(Color::DarkGray)),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, peak * 1.1])
                .labels([Line::from("0"), Line::from(format!("{peak:.0}"))])
                .style(Style::new().fg(Color::DarkGray)),
        );
    frame.render_widget(chart, area);
}

fn render_business(app: &App, frame: &mut Frame, area: Rect) {
    let business = &app.summary.business;
    let mut lines = vec![
        Line::from(format!("revenue {} {}", money(business.revenue_cents), business.currency)),
        Line::from(format!(
            "orders {}  avg {}",
            business.orders_created,
            business.average_basket_cents.map_or_else(|| "-".to_owned(), money)
        )),
    ];
    if let Some(producer) = &app.summary.producer {
        let rate = producer.events_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}"));
        lines.push(Line::from(format!("producer {rate}/s ack {}", optional(producer.acknowledged))));
    }
    let statuses: Vec<String> =
        business.orders_by_status.iter().map(|status| format!("{} {}", status.name, status.orders)).collect();
    if !statuses.is_empty() {
        lines.push(Line::from(statuses.join(" ")));
    }
    lines.push(Line::styled("top customers", Style::new().add_modifier(Modifier::UNDERLINED)));
    for customer in &business.top_customers {
        lines.push(Line::from(format!(
            "{} {} ({})",
            customer.customer_id,
            money(customer.revenue_cents),
            customer.orders
        )));
    }
    let visible: Vec<Line> = lines.into_iter().skip(app.scrolled(Panel::Business)).collect();
    frame.render_widget(
        Paragraph::new(visible).block(panel_block(app, Panel::Business, "business".to_owned())),
        area,
    );
}

fn status_style(status: InstanceStatus) -> Style {
    match status {
        InstanceStatus::Alive => Style::new().fg(Color::Green),
        InstanceStatus::Stale => Style::new().fg(Color::Yellow),
        InstanceStatus::Stopped => Style::new().fg(Color::DarkGray),
    }
}

fn render_instances(app: &App, frame: &mut Frame, area: Rect) {
    let header =
        Row::new(["instance", "status", "parts", "recv", "proc", "fail", "dlq", "lag", "msg/s", "seen"])
            .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = app.summary.instances.iter().skip(app.scrolled(Panel::Instances)).map(|instance| {
        Row::new([
            Cell::from(instance.instance_id.clone()),
            Cell::from(instance.status.to_string()).style(status_style(instance.status)),
            Cell::from(partitions(&instance.partitions)),
            Cell::from(instance.received.to_string()),
            Cell::from(instance.processed.to_string()),
            Cell::from(instance.failed.to_string()),
            Cell::from(instance.dlq_sent.to_string()),
            Cell::from(optional(instance.lag)),
            Cell::from(format!("{:.1}", instance.messages_per_second)),
            Cell::from(instance.seconds_since_last_seen.map_or_else(|| "never".to_owned(), age)),
        ])
    });
    let longest_id = app.summary.instances.iter().map(|i| i.instance_id.chars().count()).max().unwrap_or(8);
    let widths = [
        Constraint::Length(u16::try_from(longest_id.clamp(8, 28)).unwrap_or(28)),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    let title = format!("instances ({})", app.summary.instances_total);
    let table = Table::new(rows, widths).header(header).block(panel_block(app, Panel::Instances, title));
    frame.render_widget(table, area);
}

fn render_orders(app: &App, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = app
        .summary
        .latest_orders
        .iter()
        .skip(app.scrolled(Panel::Orders))
        .map(|order| {
            let style = if order.valid { Style::new() } else { Style::new().fg(Color::Red) };
            Line::styled(
                format!(
                    "{} {:>8} {} {} {} {}{}",
                    clock_time(&order.timestamp),
                    money(order.total_cents),
                    order.status,
                    order.customer_id,
                    short_id(&order.order_id),
                    order.instance_id,
                    if order.valid { "" } else { " INVALID" },
                ),
                style,
            )
        })
        .collect();
    let block = panel_block(app, Panel::Orders, "latest orders".to_owned());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_problems(app: &App, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = app
        .summary
        .latest_problems
        .iter()
        .skip(app.scrolled(Panel::Problems))
        .map(|problem| {
            let color = if problem.level == "ERROR" { Color::Red } else { Color::Yellow };
            let detail = problem.error.as_deref().unwrap_or(&problem.message);
            Line::from(vec![
                Span::raw(format!("{} ", clock_time(&problem.timestamp))),
                Span::styled(
                    format!("{} ", problem.level.chars().next().unwrap_or('?')),
                    Style::new().fg(color),
                ),
                Span::raw(format!("{} {}: {}", problem.instance_id, problem.kind, detail)),
            ])
        })
        .collect();
    let block = panel_block(app, Panel::Problems, "warnings & errors".to_owned());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

const KEYS: &[(&str, &str)] = &[
    ("q Esc Ctrl+C", "quit"),
    ("?", "show / hide this help"),
    ("Tab h l", "move the focus between panels"),
    ("j k", "scroll the focused panel"),
    ("p", "pause / resume reading"),
    ("r", "reset the rate window"),
];

fn render_footer(frame: &mut Frame, area: Rect) {
    let text = " q quit  ? help  Tab/h/l focus  j/k scroll  p pause  r reset rate";
    frame.render_widget(Paragraph::new(text).style(Style::new().fg(Color::Black).bg(Color::Gray)), area);
}

fn render_help(frame: &mut Frame, area: Rect) {
    let width = 50.min(area.width);
    let height = (KEYS.len() as u16 + 4).min(area.height);
    let popup =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    let mut lines: Vec<Line> =
        KEYS.iter().map(|(keys, what)| Line::from(format!(" {keys:<14} {what}"))).collect();
    lines.push(Line::from(""));
    lines.push(Line::styled(" read-only: never writes to the directory", Style::new().fg(Color::DarkGray)));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title("keys")), popup);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::AggregatorConfig;
    use crate::tail::Tailer;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::path::Path;

    fn demo_app() -> App {
        let now = DateTime::parse_from_rfc3339("2026-03-01T10:01:30Z").unwrap().with_timezone(&Utc);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
        let mut aggregator = Aggregator::new(AggregatorConfig::default());
        Tailer::new(&dir).read_all(&mut aggregator.sink(now)).unwrap();
        let mut app =
            App::new("demo".to_owned(), aggregator.snapshot(now), now - chrono::Duration::seconds(75));
        app.now = now;
        app
    }

    fn draw(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| render(app, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..height {
            for x in 0..width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    fn assert_key_figures(screen: &str) {
        for expected in
            ["2/3 alive", "up 00:01:15", "11", "90.00%", "alpha", "beta", "gamma", "stale", "q quit"]
        {
            assert!(screen.contains(expected), "{expected:?} missing from:\n{screen}");
        }
    }

    #[test]
    fn renders_at_80_by_24() {
        let screen = draw(&demo_app(), 80, 24);
        assert_key_figures(&screen);
        assert!(
            screen.contains("recv 11")
                && screen.contains("done 9")
                && screen.contains("DLQ 1")
                && screen.contains("skip 1")
                && screen.contains("infl 0")
                && screen.contains("lag 0 (15s old)"),
            "{screen}"
        );
        assert!(screen.contains("revenue 3341.10"), "{screen}");
    }

    #[test]
    fn renders_more_at_120_by_40() {
        let screen = draw(&demo_app(), 120, 40);
        assert_key_figures(&screen);
        assert!(screen.contains("received 11") && screen.contains("processed 9"), "{screen}");
        assert!(screen.contains("skipped 1") && screen.contains("in flight 0"), "{screen}");
        assert!(screen.contains("client12") && screen.contains("processing_failed"), "{screen}");
        assert!(screen.contains("producer 12.5/s"), "{screen}");
    }

    #[test]
    fn renders_tiny_and_empty_without_panicking() {
        let mut app = demo_app();
        app.summary = Aggregator::new(AggregatorConfig::default()).snapshot(app.now);
        app.show_help = true;
        for (width, height) in [(80, 24), (20, 5), (1, 1)] {
            draw(&app, width, height);
        }
    }

    fn press(app: &mut App, code: KeyCode) -> Action {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn keys() {
        let mut app = demo_app();
        assert_eq!(press(&mut app, KeyCode::Char('q')), Action::Quit);
        assert_eq!(press(&mut app, KeyCode::Esc), Action::Quit);
        assert_eq!(app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Quit);
        press(&mut app, KeyCode::Char('?'));
        assert!(app.show_help);
        assert!(draw(&app, 80, 24).contains("reset the rate window"));
        assert_eq!(press(&mut app, KeyCode::Esc), Action::None, "Esc first closes the help");
        assert!(!app.show_help);
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Panel::Orders);
        press(&mut app, KeyCode::Char('h'));
        press(&mut app, KeyCode::Char('h'));
        assert_eq!(app.focus, Panel::Business);
        press(&mut app, KeyCode::Char('l'));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.scroll[0], 2);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.scroll[0], 2, "clamped to the last row");
        press(&mut app, KeyCode::Char('k'));
        assert_eq!(app.scroll[0], 1);
        press(&mut app, KeyCode::Char('p'));
        assert!(app.paused && draw(&app, 80, 24).contains("PAUSED"));
        assert_eq!(press(&mut app, KeyCode::Char('r')), Action::ResetRateWindow);
    }
}
