//! The status line (instances, uptime, paused or catching up, read errors, the follower's
//! warnings, the folder) and the figures under it.
//!
//! The figures take the longest form that fits: full labels and exact values on one line, then
//! short labels, then two lines, then `k`/`M` suffixes; on a screen too narrow even for that,
//! whole figures are left out and "+N" says how many.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::fit::{compact_number, compact_signed, ellipsize, text_width};
use super::App;
use crate::format::age;

/// Lines the figures may take.
const MAX_FIGURE_LINES: usize = 2;

/// One header figure in all its forms.
struct Figure {
    long_label: &'static str,
    short_label: &'static str,
    exact: String,
    compact: String,
    color: Color,
}

impl Figure {
    /// A count, or `-` when it is unknown (an instance's entries did not carry it).
    fn count(
        long_label: &'static str,
        short_label: &'static str,
        value: Option<u64>,
        color: Color,
    ) -> Figure {
        let (exact, compact) = match value {
            Some(value) => (value.to_string(), compact_number(value)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        Figure { long_label, short_label, exact, compact, color }
    }

    fn text(&self, long_labels: bool, compact: bool) -> (&'static str, &str) {
        let label = if long_labels { self.long_label } else { self.short_label };
        (label, if compact { &self.compact } else { &self.exact })
    }
}

fn figures(app: &App) -> Vec<Figure> {
    let totals = &app.summary.totals;
    let success = totals.success_rate_percent.map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.2}%"));
    let success_color = match totals.success_rate_percent {
        Some(rate) if rate >= 99.0 => Color::Green,
        Some(_) => Color::Yellow,
        None => Color::Gray,
    };
    let rate = totals.messages_per_second_now;
    let mut figures = vec![
        Figure::count("received", "recv", totals.counters.received, Color::Cyan),
        Figure::count("processed", "done", totals.counters.processed, Color::Green),
        Figure::count("failed", "fail", totals.counters.failed, Color::Red),
        Figure::count("dead-lettered", "DLQ", totals.counters.dlq_sent, Color::Magenta),
        Figure::count("skipped", "skip", totals.counters.duplicates, Color::Yellow),
        Figure::count("in flight", "infl", totals.counters.in_flight, Color::Cyan),
        Figure {
            long_label: "success",
            short_label: "ok%",
            exact: success.clone(),
            compact: success,
            color: success_color,
        },
        Figure {
            long_label: "msg/s",
            short_label: "msg/s",
            exact: format!("{rate:.1}"),
            compact: if rate >= 10_000.0 { compact_number(rate as u64) } else { format!("{rate:.1}") },
            color: Color::Cyan,
        },
    ];
    let lag_age =
        totals.lag_age_seconds.map(|seconds| format!(" ({} old)", age(seconds))).unwrap_or_default();
    let (lag, lag_compact) = match totals.total_lag {
        Some(lag) => (format!("{lag}{lag_age}"), format!("{}{lag_age}", compact_signed(lag))),
        None => ("-".to_owned(), "-".to_owned()),
    };
    figures.push(Figure {
        long_label: "lag",
        short_label: "lag",
        exact: lag,
        compact: lag_compact,
        color: Color::Yellow,
    });
    let window = &app.summary.latency.window;
    for (long_label, short_label, value) in
        [("latency p50", "p50", window.p50_ms), ("p99", "p99", window.p99_ms)]
    {
        let text = value.map_or_else(|| "n/a".to_owned(), milliseconds);
        figures.push(Figure {
            long_label,
            short_label,
            exact: text.clone(),
            compact: text,
            color: Color::Magenta,
        });
    }
    figures
}

/// `850ms`, then seconds from 1 s on (rounded down): `5.69s`, `12.3s`. Milliseconds beside
/// seconds read badly (`p50 5699ms p99 10.8s`), so every figure from a second on is in seconds.
pub fn milliseconds(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..10_000 => format!("{}.{:02}s", ms / 1000, ms % 1000 / 10),
        _ => format!("{}.{}s", ms / 1000, ms % 1000 / 100),
    }
}

/// The figures laid out in lines of at most `width` characters, in the longest form that fits
/// in [`MAX_FIGURE_LINES`] lines. Every value is whole.
pub fn figure_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let figures = figures(app);
    let forms = [(1, true, false), (1, false, false), (2, true, false), (2, false, false), (2, false, true)];
    for (lines, long_labels, compact) in forms {
        let laid_out = lay_out(&figures, width, long_labels, compact);
        if laid_out.len() <= lines.min(MAX_FIGURE_LINES) && laid_out.iter().all(|(_, fits)| *fits) {
            return laid_out.into_iter().map(|(line, _)| line).collect();
        }
    }
    // Too narrow even for that: whole figures on the lines there are, "+N" for the rest.
    let laid_out = lay_out(&figures, width, false, true);
    let shown_lines: Vec<Line<'static>> =
        laid_out.into_iter().take(MAX_FIGURE_LINES).filter(|(_, fits)| *fits).map(|(line, _)| line).collect();
    let shown: usize = shown_lines.iter().map(|line| line.spans.len() / 2).sum();
    let mut shown_lines = shown_lines;
    let left = figures.len() - shown;
    if left > 0 {
        let more = format!(" +{left}");
        match shown_lines.last_mut() {
            Some(line) if line.width() + more.len() <= width => line.spans.push(Span::raw(more)),
            _ => {}
        }
    }
    shown_lines
}

/// Figures in lines of whole figures; the flag says whether the line fits `width` (a figure
/// wider than the screen gets a line of its own that does not).
fn lay_out(figures: &[Figure], width: usize, long_labels: bool, compact: bool) -> Vec<(Line<'static>, bool)> {
    let mut lines: Vec<(Line<'static>, bool)> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut current_width = 0;
    for figure in figures {
        let (label, value) = figure.text(long_labels, compact);
        let figure_width = text_width(label) + text_width(value) + 2;
        if current_width + figure_width > width && !current.is_empty() {
            lines.push((Line::from(std::mem::take(&mut current)), true));
            current_width = 0;
        }
        current.push(Span::raw(format!(" {label} ")));
        current
            .push(Span::styled(value.to_owned(), Style::new().fg(figure.color).add_modifier(Modifier::BOLD)));
        current_width += figure_width;
    }
    if !current.is_empty() {
        lines.push((Line::from(current), current_width <= width));
    }
    // A line holding one figure wider than the screen does not fit.
    for (line, fits) in &mut lines {
        *fits = *fits && line.width() <= width;
    }
    lines
}

/// Draws the figures.
pub fn render_figures(app: &App, frame: &mut Frame, area: Rect) {
    let lines = figure_lines(app, usize::from(area.width));
    frame.render_widget(Paragraph::new(lines), area);
}

/// Draws the status line: what does not fit is left out whole, the folder is shortened last.
pub fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let summary = &app.summary;
    let uptime = (app.now - app.started_at).num_seconds().max(0);
    let mut items = vec![
        Span::styled(" order-tracker monitor ", Style::new().fg(Color::Black).bg(Color::Cyan)),
        Span::raw(format!(" instances {}/{} alive ", summary.instances_alive, summary.instances_total)),
        Span::raw(format!("│ up {:02}:{:02}:{:02} ", uptime / 3600, uptime / 60 % 60, uptime % 60)),
    ];
    if app.paused {
        items.push(Span::styled(" PAUSED ", Style::new().fg(Color::Black).bg(Color::Yellow)));
    } else if app.pending_bytes > 0 {
        let text = format!(" catching up: {:.1} MB left ", app.pending_bytes as f64 / 1e6);
        items.push(Span::styled(text, Style::new().fg(Color::Black).bg(Color::Magenta)));
    }
    if !app.warnings.is_empty() {
        let count = app.warnings.len();
        let text = format!(" {count} file warning{} ", if count == 1 { "" } else { "s" });
        items.push(Span::styled(text, Style::new().fg(Color::Black).bg(Color::Yellow)));
    }
    if let Some(error) = &app.read_error {
        items.push(Span::styled(
            format!(" read error: {error} "),
            Style::new().fg(Color::White).bg(Color::Red),
        ));
    }
    let width = usize::from(area.width);
    let mut used = 0;
    let mut spans = Vec::new();
    for item in items {
        let item_width = item.width();
        if used + item_width > width {
            break;
        }
        used += item_width;
        spans.push(item);
    }
    let room = width.saturating_sub(used);
    if room > 1 {
        spans.push(Span::raw(format!(" {}", ellipsize(&app.dir, room - 1))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
