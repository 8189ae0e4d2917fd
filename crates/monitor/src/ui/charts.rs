//! The two charts side by side: `.events` lines per second, and the end-to-end latency p99 of
//! each second (event timestamp to audit line), over the same minutes, from the lines' own
//! timestamps.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};
use ratatui::Frame;

use super::fit::compact_number;
use super::header::milliseconds;
use super::App;

/// One series over the chart window (oldest first, ending now) as a line chart titled `title`.
fn draw_series(
    frame: &mut Frame,
    area: Rect,
    title: String,
    points: &[(f64, f64)],
    window_seconds: usize,
    (peak, peak_label): (u64, String),
    color: Color,
) {
    let count = window_seconds as f64;
    let minutes = window_seconds / 60;
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(color))
        .data(points);
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
                .bounds([0.0, peak.max(1) as f64 * 1.1])
                .labels([Line::from("0"), Line::from(peak_label)])
                .style(Style::new().fg(Color::DarkGray)),
        );
    frame.render_widget(chart, area);
}

/// `.events` lines per second over the last minutes.
pub fn render_chart(app: &App, frame: &mut Frame, area: Rect) {
    let series = &app.summary.throughput_per_second;
    let count = series.len() as f64;
    let points: Vec<(f64, f64)> =
        series.iter().enumerate().map(|(index, &value)| (index as f64 - count, value as f64)).collect();
    let peak = series.iter().copied().max().unwrap_or(0);
    // Titles stay short so that a narrow chart never cuts them; the peak is on the axis.
    let title = " msg/s ".to_owned();
    draw_series(frame, area, title, &points, series.len(), (peak, compact_number(peak)), Color::Cyan);
}

/// The latency p99 of each second over the same minutes; seconds without an audit line have
/// no point.
pub fn render_latency_chart(app: &App, frame: &mut Frame, area: Rect) {
    let series = &app.summary.latency.p99_per_second_ms;
    let count = series.len() as f64;
    let points: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .filter_map(|(index, value)| value.map(|ms| (index as f64 - count, ms as f64)))
        .collect();
    let peak = series.iter().flatten().copied().max();
    let title = if peak.is_some() { " p99 latency " } else { " p99 latency: n/a " }.to_owned();
    let peak = peak.unwrap_or(0);
    draw_series(frame, area, title, &points, series.len(), (peak, milliseconds(peak)), Color::Magenta);
}
