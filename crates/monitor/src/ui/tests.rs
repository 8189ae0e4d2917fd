//! The dashboard drawn into a `TestBackend`: what a user reads on the screen, at the sizes
//! people use, with figures and ids too long for their columns, and at sizes too small.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

use super::fit::compact_number;
use super::{layout, svg, Action, App, Panel};
use crate::aggregate::{Aggregator, AggregatorConfig, DeadLetterRow, ErrorKindCount, PartitionLag};
use crate::tail::Tailer;

fn demo_app() -> App {
    let now = DateTime::parse_from_rfc3339("2026-03-01T10:01:30Z").unwrap().with_timezone(&Utc);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let mut tailer = Tailer::new(&dir);
    tailer.read_all(&mut aggregator.sink(now)).unwrap();
    let mut app = App::new("demo".to_owned(), aggregator.snapshot(now), now - chrono::Duration::seconds(75));
    app.now = now;
    app.file_count = tailer.file_count();
    app
}

/// The demo, with 12 instances named like a real fleet and 9-digit figures everywhere.
fn big_app() -> App {
    let mut app = demo_app();
    let summary = &mut app.summary;
    let template = summary.instances[0].clone();
    summary.instances = (1..=12)
        .map(|n| {
            let mut instance = template.clone();
            instance.instance_id = format!("order-tracker-eu-west-1a-{n:02}");
            instance.counters.received = Some(123_456_700 + n);
            instance.counters.processed = Some(123_456_000 + n);
            instance.counters.failed = Some(654_321);
            instance.counters.dlq_sent = Some(654_320);
            instance.lag = Some(1_234_567);
            instance.partitions = vec![0, 1, 2, 3, 4, 5];
            instance
        })
        .collect();
    summary.instances_total = 12;
    summary.instances_alive = 12;
    let totals = &mut summary.totals;
    totals.counters.received = Some(987_654_321);
    totals.counters.processed = Some(987_000_000);
    totals.counters.failed = Some(654_321);
    totals.counters.dlq_sent = Some(654_320);
    totals.counters.duplicates = Some(123_456_789);
    totals.counters.in_flight = Some(100_000_000);
    totals.total_lag = Some(1_234_567);
    summary.partition_lag = (0..12)
        .map(|partition| PartitionLag {
            partition,
            instance_id: format!("order-tracker-eu-west-1a-{:02}", partition + 1),
            committed_offset: Some(123_456_789),
            last_processed_offset: Some(123_456_788),
            high_watermark: Some(124_691_356),
            lag: Some(1_234_567),
            as_of: "2026-03-01T10:01:15.000Z".to_owned(),
            age_seconds: 15.0,
            leader: Some(partition % 3 + 1),
            replicas: Some(vec![1, 2, 3]),
            in_sync_replicas: Some(if partition == 0 { vec![1] } else { vec![1, 2] }),
            min_insync_replicas: Some(2),
            under_replicated: Some(true),
            below_min_insync: Some(partition == 0),
        })
        .collect();
    summary.dead_letters.total = 987_654_321;
    summary.dead_letters.by_error_kind = vec![
        ErrorKindCount { error_kind: "deserialization".to_owned(), count: 987_000_000 },
        ErrorKindCount { error_kind: "validation".to_owned(), count: 654_321 },
    ];
    summary.dead_letters.latest = (1..=12)
        .map(|n| DeadLetterRow {
            timestamp: "2026-03-01T10:01:20.000Z".to_owned(),
            instance_id: format!("order-tracker-eu-west-1a-{n:02}"),
            error_kind: "validation".to_owned(),
            reason: Some("total is 31945 cents but subtotal + shipping + tax is 31944 cents".to_owned()),
            original_topic: "orders".to_owned(),
            original_partition: 2,
            original_offset: 123_456_700 + i64::from(n),
            dlq_topic: "orders-dlq".to_owned(),
            dlq_partition: 0,
            dlq_offset: 987_654_300 + i64::from(n),
            attempts: 1,
            kafka_key: Some("4f0c1d2e-0000-4000-8000-000000000000".to_owned()),
            event_id: None,
            redrive_count: 2,
            cluster_id: None,
        })
        .collect();
    summary.latency.window.p50_ms = Some(12);
    summary.latency.window.p99_ms = Some(123_456);
    summary.latency.p99_per_second_ms = vec![None, Some(40), Some(123_456), None];
    for order in &mut summary.latest_orders {
        order.instance_id = "order-tracker-eu-west-1a-07".to_owned();
    }
    app
}

fn draw(app: &App, width: u16, height: u16) -> String {
    let buffer = svg::draw(app, width, height);
    let mut text = String::new();
    for y in 0..height {
        for x in 0..width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// The screen as a user sees it: each figure has spaces or borders around it.
fn words(screen: &str) -> BTreeSet<String> {
    screen
        .split(|c: char| c.is_whitespace() || "│┃()".contains(c))
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `value` is on the screen whole, or with an honest suffix (`123M`), as a word of its own.
fn shows(words: &BTreeSet<String>, value: u64) -> bool {
    words.contains(&value.to_string()) || words.contains(&compact_number(value))
}

fn assert_key_figures(screen: &str) {
    for expected in ["2/3 alive", "up 00:01:15", "11", "90.00%", "alpha", "beta", "gamma", "stale", "q quit"]
    {
        assert!(screen.contains(expected), "{expected:?} missing from:\n{screen}");
    }
}

#[test]
fn renders_at_80_by_24() {
    let screen = draw(&demo_app(), 80, 24);
    assert_key_figures(&screen);
    // Full labels on two lines.
    for expected in [
        "received 11",
        "processed 9",
        "failed 1",
        "dead-lettered 1",
        "skipped 1",
        "in flight 0",
        "lag 0 (15s old)",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing from:\n{screen}");
    }
    assert!(screen.contains("revenue 3341.10"), "{screen}");
}

#[test]
fn renders_more_at_120_by_40() {
    let screen = draw(&demo_app(), 120, 40);
    assert_key_figures(&screen);
    // Short labels keep the figures on one line.
    assert!(screen.contains("recv 11") && screen.contains("done 9") && screen.contains("infl 0"), "{screen}");
    assert!(screen.contains("ok% 90.00%") && screen.contains(" p99 "), "{screen}");
    assert!(screen.contains("client12") && screen.contains("processing_failed"), "{screen}");
    assert!(screen.contains("producer 12.5/s"), "{screen}");
}

#[test]
fn nine_digit_figures_and_long_ids_at_80_by_24() {
    let app = big_app();
    let screen = draw(&app, 80, 24);
    let words = words(&screen);
    for value in [987_654_321, 987_000_000, 654_321, 654_320, 123_456_789, 100_000_000, 1_234_567] {
        assert!(shows(&words, value), "{value} (or {}) missing from:\n{screen}", compact_number(value));
    }
    // The first instance rows, each figure whole or suffixed, ids distinct.
    let rows: Vec<&str> =
        screen.lines().filter(|line| line.starts_with("┃") && line.contains(" alive ")).collect();
    assert!(rows.len() >= 3, "{screen}");
    let ids: BTreeSet<&str> =
        rows.iter().filter_map(|row| row.trim_start_matches('┃').split_whitespace().next()).collect();
    assert!(ids.iter().all(|id| id.starts_with("ord") && id.contains("a-")), "{ids:?}");
    assert_eq!(ids.len(), rows.len(), "instance ids must read distinct: {ids:?}\n{screen}");
    for row in &rows {
        let row_words = self::words(row);
        assert!(shows(&row_words, 1_234_567), "lag in {row}");
        assert!(shows(&row_words, 654_321) && shows(&row_words, 654_320), "failed and dlq in {row}");
    }
    assert!(screen.contains("more (j/k, PgDn)"), "rows that do not fit are counted:\n{screen}");
}

#[test]
fn nine_digit_figures_and_long_ids_at_200_by_60_are_exact() {
    let app = big_app();
    let screen = draw(&app, 200, 60);
    let words = words(&screen);
    for value in [987_654_321u64, 987_000_000, 654_321, 654_320, 123_456_789, 100_000_000, 1_234_567] {
        assert!(words.contains(&value.to_string()), "{value} missing from:\n{screen}");
    }
    for n in 1..=12u64 {
        let id = format!("order-tracker-eu-west-1a-{n:02}");
        assert!(words.contains(&id), "{id} whole at 200 columns:\n{screen}");
        assert!(words.contains(&(123_456_700 + n).to_string()), "received of {id}:\n{screen}");
    }
    assert!(!screen.contains("more (j/k"), "12 rows fit at 60 rows:\n{screen}");
}

#[test]
fn partitions_tab() {
    let mut app = demo_app();
    press(&mut app, KeyCode::Char('2'));
    assert_eq!((app.table, app.focus), (Panel::Partitions, Panel::Partitions));
    let screen = draw(&app, 80, 24);
    let row = screen.lines().find(|line| line.contains("beta")).unwrap_or_default();
    assert_eq!(
        row.split(|c: char| c.is_whitespace() || c == '┃').filter(|w| !w.is_empty()).collect::<Vec<_>>(),
        ["0", "-", "-", "beta", "3", "2", "5", "0", "15s"],
        "files of older versions: leader and ISR unknown\n{screen}"
    );
    for title in ["part", "leader", "isr", "owner", "committed", "processed", "high wm", "lag", "age"] {
        assert!(screen.contains(title), "{title}: {screen}");
    }
    let big = big_app();
    let mut big = big;
    press(&mut big, KeyCode::Char('2'));
    for (width, height) in [(80, 24), (200, 60)] {
        let screen = draw(&big, width, height);
        let words = words(&screen);
        for value in [123_456_789, 123_456_788, 124_691_356, 1_234_567] {
            assert!(shows(&words, value), "{value} at {width}x{height}:\n{screen}");
        }
        // Partition 0 has 1 of 3 replicas in sync (min.insync.replicas=2), the others 2 of 3.
        let rows: Vec<Vec<&str>> = screen
            .lines()
            .filter(|line| line.contains("order-tracker") || line.contains("ord"))
            .map(|line| {
                line.split(|c: char| c.is_whitespace() || c == '┃').filter(|w| !w.is_empty()).collect()
            })
            .filter(|words: &Vec<&str>| words.len() > 3 && words[0].parse::<i32>().is_ok())
            .collect();
        assert!(rows.len() >= 3, "partition rows at {width}x{height}:\n{screen}");
        assert_eq!(rows[0][..2], ["0", "1"], "partition 0 led by node 1:\n{screen}");
        assert!(rows[0][2] == "1/3!!" || rows[0][2..4] == ["1/3", "<min"], "below min.insync:\n{screen}");
        assert_eq!(rows[1][..2], ["1", "2"], "partition 1 led by node 2:\n{screen}");
        assert!(rows[1][2] == "2/3!" || rows[1][2..4] == ["2/3", "under"], "under-replicated:\n{screen}");
    }
}

/// Tab 2 under a broker loss: the brokers as the alive instances' clients see them, on the
/// table's bottom border, in yellow when one is down for some.
#[test]
fn broker_connections_under_the_partitions() {
    use models::health::BrokerConnection;
    let connection = |node_id: i32, state: &str| BrokerConnection {
        node_id,
        address: format!("127.0.0.1:909{}", node_id + 1),
        state: state.to_owned(),
    };
    let mut app = big_app();
    press(&mut app, KeyCode::Char('2'));
    let screen = draw(&app, 100, 30);
    assert!(!screen.contains("brokers "), "no instance lists its connections:\n{screen}");

    for (index, instance) in app.summary.instances.iter_mut().enumerate() {
        let second = if index < 4 { "DOWN" } else { "UP" };
        instance.brokers = Some(vec![connection(1, "UP"), connection(2, second), connection(3, "UP")]);
    }
    let screen = draw(&app, 100, 30);
    assert!(screen.contains(" brokers 1 UP, 2 DOWN 4/12, 3 UP "), "{screen}");
    let buffer = svg::draw(&app, 100, 30);
    let row = |y: u16| (0..100).map(|x| buffer[(x, y)].symbol()).collect::<String>();
    let y = (0..30).find(|&y| row(y).contains("DOWN 4/12")).unwrap();
    let x = (0..100).find(|&x| buffer[(x, y)].symbol() == "D").unwrap();
    assert_eq!(buffer[(x, y)].fg, Color::Yellow, "a broker down stands out");

    for instance in &mut app.summary.instances {
        instance.brokers = Some(vec![connection(1, "UP"), connection(2, "UP"), connection(3, "UP")]);
    }
    let screen = draw(&app, 100, 30);
    assert!(screen.contains(" brokers 1 UP, 2 UP, 3 UP "), "{screen}");
}

/// With an exactly-once tracker, the header says what the transactions became, as `--once` does.
#[test]
fn exactly_once_figures_in_the_header() {
    let mut app = demo_app();
    let screen = draw(&app, 200, 40);
    assert!(!screen.contains("transactions"), "at-least-once trackers only:\n{screen}");
    app.summary.instances[0].processing = Some("exactly_once".to_owned());
    app.summary.log_kinds.insert("transaction_committed".to_owned(), 25);
    app.summary.log_kinds.insert("transaction_aborted".to_owned(), 3);
    app.summary.log_kinds.insert("fenced".to_owned(), 1);
    let screen = draw(&app, 200, 40);
    let header: String = screen.lines().take(4).collect::<Vec<_>>().join("\n");
    for expected in ["transactions 25", "aborted 3", "fenced 1"] {
        assert!(header.contains(expected), "{expected:?} in the header:\n{screen}");
    }
}

#[test]
fn dead_letters_tab() {
    let mut app = demo_app();
    press(&mut app, KeyCode::Char('3'));
    assert_eq!((app.table, app.focus), (Panel::DeadLetters, Panel::DeadLetters));
    let screen = draw(&app, 120, 40);
    let dead_letters = &app.summary.dead_letters;
    assert_eq!(dead_letters.latest.len(), 1, "the demo has one dead letter");
    let row = &dead_letters.latest[0];
    let from = format!("{}:{}", row.original_partition, row.original_offset);
    let line = screen.lines().find(|line| line.contains(&row.error_kind) && line.contains(&from));
    assert!(line.is_some(), "kind {} and original position {from}:\n{screen}", row.error_kind);
    let line = line.unwrap_or_default();
    assert!(line.contains(&format!("{}:{}", row.dlq_partition, row.dlq_offset)), "{line}");
    assert!(line.contains(&row.reason.clone().unwrap_or_default()[..12]), "the reason: {line}");
    assert!(screen.contains(&format!("dead letters 1:  {} 1", row.error_kind)), "{screen}");

    let mut big = big_app();
    press(&mut big, KeyCode::Char('3'));
    for (width, height) in [(80, 24), (200, 60)] {
        let screen = draw(&big, width, height);
        let words = words(&screen);
        for value in [987_654_321, 987_000_000, 654_321] {
            assert!(shows(&words, value), "{value} at {width}x{height}:\n{screen}");
        }
        assert!(screen.contains("2:123456701") || screen.contains("2:123M"), "{width}x{height}:\n{screen}");
    }
    assert!(draw(&big, 200, 60).contains("0:987654301"), "the DLQ position, for dlq show");
    let screen = draw(&big, 80, 24);
    let table: Vec<&str> = screen
        .lines()
        .skip_while(|line| !line.contains("┏"))
        .take_while(|line| !line.contains("┗"))
        .collect();
    assert!(table.iter().any(|line| line.contains("+10 more (j/k, PgDn)")), "{screen}");
}

#[test]
fn latency_in_the_header_and_the_chart() {
    let app = big_app();
    for (width, height) in [(80, 24), (200, 60)] {
        let screen = draw(&app, width, height);
        assert!(screen.contains("p50 12ms"), "{screen}");
        assert!(screen.contains("p99 123.4s"), "{screen}");
        assert!(screen.contains("p99 latency"), "{screen}");
    }
    // Files without event timestamps (written before the field existed): no samples.
    let mut app = demo_app();
    app.summary.latency.window = Default::default();
    app.summary.latency.p99_per_second_ms.iter_mut().for_each(|second| *second = None);
    let screen = draw(&app, 120, 40);
    assert!(screen.contains("p50 n/a") && screen.contains("p99 latency: n/a"), "no samples: {screen}");
    assert_eq!(super::header::milliseconds(999), "999ms");
    assert_eq!(super::header::milliseconds(1_000), "1.00s");
    assert_eq!(super::header::milliseconds(5_699), "5.69s");
    assert_eq!(super::header::milliseconds(9_999), "9.99s");
    assert_eq!(super::header::milliseconds(10_999), "10.9s");
}

#[test]
fn empty_folder_says_what_is_expected_and_how_to_start() {
    let mut app = demo_app();
    app.summary = Aggregator::new(AggregatorConfig::default()).snapshot(app.now);
    app.file_count = 0;
    let screen = draw(&app, 80, 24);
    for expected in ["tracker-<instance>.log", "tracker-<instance>.events", "producer.log", "./start.sh"] {
        assert!(screen.contains(expected), "{expected}: {screen}");
    }
    assert!(screen.contains("received 0") && screen.contains("success n/a"), "{screen}");
}

#[test]
fn follower_warnings_are_on_screen() {
    let mut app = demo_app();
    app.warnings = vec!["tracker-zz.log is a FIFO, not a regular file: skipped".to_owned()];
    let screen = draw(&app, 120, 40);
    assert!(screen.contains("1 file warning"), "{screen}");
    assert!(screen.contains("monitor tracker-zz.log is a FIFO"), "{screen}");
}

#[test]
fn no_color_keeps_the_focus_visible() {
    let mut app = demo_app();
    app.color = false;
    let buffer = svg::draw(&app, 80, 24);
    assert!(buffer.content.iter().all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    let screen = draw(&app, 80, 24);
    let marker = screen.lines().find(|line| line.contains("▶")).expect("a focus marker");
    assert!(marker.contains("1 instances"), "the focused panel is the instances tab: {marker}");
    let reversed = buffer.content.iter().filter(|cell| cell.modifier.contains(Modifier::REVERSED)).count();
    assert!(reversed > 0, "the focused title (and badges) are reversed");
    press(&mut app, KeyCode::Tab);
    let screen = draw(&app, 80, 24);
    let marker = screen.lines().find(|line| line.contains("▶")).unwrap_or_default();
    assert!(marker.contains("latest orders"), "{marker}");
}

#[test]
fn help_defines_the_counters() {
    let mut app = demo_app();
    press(&mut app, KeyCode::Char('?'));
    let screen = draw(&app, 80, 24);
    for expected in
        ["received = processed + failed + skipped + in flight", "dead-lettered", "in flight", "PgDn"]
    {
        assert!(screen.contains(expected), "{expected}: {screen}");
    }
}

#[test]
fn renders_tiny_and_empty_without_panicking() {
    let mut apps = vec![demo_app(), big_app()];
    let mut empty = demo_app();
    empty.summary = Aggregator::new(AggregatorConfig::default()).snapshot(empty.now);
    apps.push(empty);
    for mut app in apps {
        for (tab, help) in [('1', false), ('2', true)] {
            press(&mut app, KeyCode::Char(tab));
            app.show_help = help;
            app.warnings = vec!["x".repeat(300)];
            for width in [0, 1, 2, 5, 13, 20, 33, 80] {
                for height in [0, 1, 2, 3, 5, 9, 24] {
                    draw(&app, width, height);
                }
            }
        }
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
    assert_eq!(app.scrolled(Panel::Instances), 2);
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.scrolled(Panel::Instances), 2, "clamped to the last row");
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.scrolled(Panel::Instances), 1);
    press(&mut app, KeyCode::Char('p'));
    assert!(app.paused && draw(&app, 80, 24).contains("PAUSED"));
    assert_eq!(press(&mut app, KeyCode::Char('r')), Action::ResetRateWindow);
}

#[test]
fn page_and_end_keys() {
    let mut app = big_app();
    app.screen = Rect::new(0, 0, 80, 24);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.scrolled(Panel::Instances), 11, "G goes to the last row");
    assert!(draw(&app, 80, 24).contains("↑ 11 above"));
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.scrolled(Panel::Instances), 0);
    press(&mut app, KeyCode::PageDown);
    let page = app.scrolled(Panel::Instances);
    assert!(page >= 3, "a page is the rows the panel shows: {page}");
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.scrolled(Panel::Instances), 0);
}

#[test]
fn mouse_wheel_scrolls_the_panel_under_the_pointer() {
    let mut app = big_app();
    app.screen = Rect::new(0, 0, 120, 40);
    let areas = layout::layout(&app, app.screen);
    let over = |area: Rect, kind| MouseEvent {
        kind,
        column: area.x + 2,
        row: area.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(over(areas.table, MouseEventKind::ScrollDown));
    assert_eq!(app.scrolled(Panel::Instances), 3);
    app.handle_mouse(over(areas.table, MouseEventKind::ScrollUp));
    assert_eq!(app.scrolled(Panel::Instances), 0);
    app.handle_mouse(over(areas.orders, MouseEventKind::ScrollDown));
    assert_eq!(app.scrolled(Panel::Orders), 3.min(app.summary.latest_orders.len() - 1));
    assert_eq!(app.focus, Panel::Instances, "the wheel does not move the focus");
    app.handle_mouse(over(areas.problems, MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(app.focus, Panel::Problems, "a click does");
    // Over no panel (the header): the focused panel scrolls.
    app.handle_mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    });
    assert!(app.scrolled(Panel::Problems) > 0);
}

#[test]
fn screenshot_of_the_demo() {
    let mut app = demo_app();
    app.screen = Rect::new(0, 0, 120, 36);
    let picture = svg::to_svg(&svg::draw(&app, 120, 36));
    for expected in ["order-tracker monitor", "90.00%", "alpha", "3341.10"] {
        assert!(picture.contains(expected), "{expected} missing from the SVG");
    }
}
