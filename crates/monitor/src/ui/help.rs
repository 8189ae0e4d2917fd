//! The `?` overlay (keys, and what each counter means and how they add up), the footer, and
//! what an empty folder shows (which files are expected and how to start the system).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::fit::{ellipsize, text_width, visible_rows};
use super::App;

/// The keys, as the help lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("q Esc Ctrl+C", "quit (Esc first closes this help)"),
    ("?", "show / hide this help"),
    ("Tab h l", "move the focus between panels (marked ▶)"),
    ("1 2 3", "tabs: instances, partitions, dead letters"),
    ("j k ↓ ↑", "scroll the focused panel"),
    ("PgDn PgUp", "scroll a page"),
    ("g G", "first / last row"),
    ("mouse wheel", "scroll the panel under the pointer"),
    ("p", "pause / resume reading"),
    ("r", "reset the rate window"),
];

/// What each counter means (the trackers' own counters; docs/monitor.md says more).
pub const COUNTERS: &[(&str, &str)] = &[
    ("received", "deliveries the trackers read from Kafka"),
    ("processed", "handled successfully"),
    ("failed", "failed for good, after retries"),
    ("dead-lettered", "part of failed: acknowledged by the DLQ topic"),
    ("skipped", "duplicates of an event id already processed"),
    ("in flight", "received, not finished when the counters were written"),
    ("", "received = processed + failed + skipped + in flight"),
    ("success", "processed / (processed + failed); n/a before any"),
    ("msg/s", ".events lines per second, last seconds"),
    ("lag", "high watermark - (last processed + 1), summed over partitions (age)"),
    ("p50 p99", "latency, event timestamp to audit line written, last 60 s"),
];

/// Draws the key reminder, keeping only whole items.
pub fn render_footer(frame: &mut Frame, area: Rect) {
    let items = [
        "q quit",
        "? help",
        "Tab focus",
        "1 2 3 tabs",
        "j/k PgUp/PgDn g/G scroll",
        "p pause",
        "r reset rate",
    ];
    let mut text = String::new();
    for item in items {
        if text_width(&text) + 2 + text_width(item) > usize::from(area.width) {
            break;
        }
        text.push(' ');
        text.push(' ');
        text.push_str(item);
    }
    frame.render_widget(Paragraph::new(text).style(Style::new().fg(Color::Black).bg(Color::Gray)), area);
}

/// The help's lines.
fn help_lines() -> Vec<Line<'static>> {
    let mut lines: Vec<Line> =
        KEYS.iter().map(|(keys, what)| Line::from(format!(" {keys:<13} {what}"))).collect();
    lines.push(Line::from(""));
    lines.push(Line::styled(" the counters", Style::new().add_modifier(Modifier::BOLD)));
    lines.extend(COUNTERS.iter().map(|(name, what)| Line::from(format!(" {name:<13} {what}"))));
    lines.push(Line::styled(" read-only: never writes to the folder", Style::new().fg(Color::DarkGray)));
    lines
}

/// Lines of the help, for scrolling it.
pub fn help_line_count() -> usize {
    help_lines().len()
}

/// Draws the help over the middle of the screen, scrolled by `scroll` when it does not fit.
pub fn render_help(frame: &mut Frame, area: Rect, scroll: usize) {
    let lines = help_lines();
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) + 3;
    let width = u16::try_from(widest).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX).min(area.height);
    let popup =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    let slots = usize::from(height.saturating_sub(2));
    let (range, more) = visible_rows(lines.len(), scroll, slots);
    let inner_width = usize::from(width.saturating_sub(2));
    let mut shown: Vec<Line> = lines
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .map(|line| {
            let text: String = line.spans.iter().map(|span| span.content.as_ref()).collect();
            Line::styled(ellipsize(&text, inner_width), line.style)
        })
        .collect();
    if more > 0 && slots > 0 {
        shown.push(Line::styled(format!(" +{more} more (j/k)"), Style::new().fg(Color::DarkGray)));
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(shown).block(Block::bordered().title(" help (Esc closes) ")), popup);
}

/// What a folder without any file shows: what is expected there and how to get it.
pub fn render_empty_folder(app: &App, frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled(
            format!("No tracker files in {} yet.", app.dir),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Line::from(""),
        Line::from("Expected here, one pair per tracker instance:"),
        Line::from("  tracker-<instance>.log     lifecycle, metrics, warnings, errors"),
        Line::from("  tracker-<instance>.events  one audit line per message received"),
        Line::from("  producer.log               the producer's rate (optional)"),
        Line::from(""),
        Line::from("Start the system:  ./start.sh         (files land in run/logs)"),
        Line::from("Or follow another folder:  monitor --dir DIR   (or TRACKER_LOG_DIR=DIR)"),
        Line::from(""),
        Line::styled("Files are picked up as they appear.", Style::new().fg(Color::DarkGray)),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" waiting for files ")),
        area,
    );
}
