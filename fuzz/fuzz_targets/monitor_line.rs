//! Bytes as lines of the files the monitor tails (`tracker-*.events`, `tracker-*.log`,
//! `producer.log`), through the aggregator, then the `--once` reports and the dashboard's
//! rendering. Nothing may panic, whatever the lines say.
//!
//! Input: lines separated by `\n`; the first byte of each line picks the file it comes from
//! (events, log or producer) and the instance, the rest is the line.

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use monitor::aggregate::{parse_timestamp_ms, Aggregator, AggregatorConfig};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fuzz_target!(|data: &[u8]| {
    let now = DateTime::<Utc>::from_timestamp_millis(1_780_000_000_000).unwrap();
    let config = AggregatorConfig { latest_orders: 3, latest_problems: 3, ..AggregatorConfig::default() };
    let mut aggregator = Aggregator::new(config);
    for line in data.split(|&b| b == b'\n') {
        let Some((&selector, line)) = line.split_first() else { continue };
        let instance = ["i-1", "i-2", "\u{e9}\u{1f600}"][usize::from(selector >> 2) % 3];
        match selector % 4 {
            0 => aggregator.ingest_events_line(instance, line, now),
            1 => aggregator.ingest_log_line(instance, line, now),
            2 => aggregator.ingest_producer_line(line, now),
            _ => {
                if let Ok(text) = std::str::from_utf8(line) {
                    let _ = parse_timestamp_ms(text);
                }
            }
        }
    }
    let summary = aggregator.snapshot(now);
    let mut out = Vec::new();
    monitor::report::write_json(&summary, &mut out).expect("writing into a Vec");
    serde_json::from_slice::<serde_json::Value>(&out).expect("the JSON report is JSON");
    out.clear();
    monitor::report::write_text(&summary, std::path::Path::new("."), &mut out).expect("writing into a Vec");

    let app = monitor::ui::App::new(".".to_owned(), summary, now);
    for (width, height) in [(80, 24), (20, 6)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| monitor::ui::render(&app, frame)).unwrap();
    }
});
