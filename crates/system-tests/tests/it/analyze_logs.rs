//! `analyze_logs.sh` over hand-made tracker files whose answers are known.
//!
//! `fixtures/two-instances/` holds two instances' `.events` and `.log` files:
//! - alpha reads partitions 0 and 1, beta (after a rebalance) 0, 1 and 2;
//! - partition 1 offset 1 (an order whose total does not add up) is received by both:
//!   one duplicate delivery, two validation errors;
//! - partition 0 offset 3 is never seen: one missing offset; offset 4 is a poison pill;
//! - valid `created` orders: A 100.00 (client01; also redelivered once, counted once),
//!   B 25.50 (client02), C 50.00 (client01), E 70.00 (client03): revenue 245.50, 4 orders;
//! - A is then paid, E cancelled; payments: A, C credit_card, B paypal, E bank_transfer;
//! - logs: 3 dlq_sent, 1 retry_scheduled, two metrics entries for alpha, one for beta, six
//!   ERROR entries of which the oldest (FIRST-ERROR-NOT-SHOWN) is not among the last five.
//!
//! The script prints what `monitor --report` computes; the debug monitor built by this test
//! is passed through `BIN_DIR`.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::util::{run, script, Finished};

const TIMEOUT: Duration = Duration::from_secs(60);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/two-instances")
}

/// Builds the monitor debug binary once into the target folder this test runs from, and
/// returns the folder that holds it.
fn monitor_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // <target>/<profile>/deps/<this test>
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf();
        let target_dir = profile_dir.parent().expect("target folder").to_path_buf();
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
        build.args(["build", "-p", "monitor"]);
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        build.env("CARGO_TARGET_DIR", &target_dir).current_dir(crate::util::repo_root());
        let finished = run(&mut build, Duration::from_secs(600));
        assert_eq!(finished.code, Some(0), "cargo build failed:\n{}", finished.all());
        profile_dir
    })
}

fn analyze(dir: &Path) -> Finished {
    run(script("analyze_logs.sh").arg(dir).env("BIN_DIR", monitor_bin_dir()), TIMEOUT)
}

/// The lines of the section titled `title` (after its `== title` line, up to the next one).
fn section<'a>(output: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = output.lines().skip_while(|line| *line != format!("== {title}"));
    assert!(lines.next().is_some(), "no section {title:?} in:\n{output}");
    lines.take_while(|line| !line.starts_with("== ")).filter(|line| !line.trim().is_empty()).collect()
}

/// The value printed after `label` in a `label   value   [note]` line of `section`.
fn value(output: &str, title: &str, label: &str) -> String {
    let line = section(output, title)
        .into_iter()
        .find(|line| line.trim_start().strip_prefix(label).is_some_and(|rest| rest.starts_with("  ")))
        .unwrap_or_else(|| panic!("no {label:?} line in section {title:?} of:\n{output}"));
    line.trim_start()[label.len()..].split_whitespace().next().unwrap_or_default().to_owned()
}

/// The whitespace-separated words of the row of `section` whose first word is `key`.
fn row(output: &str, title: &str, key: &str) -> Vec<String> {
    section(output, title)
        .into_iter()
        .map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|words| words.first().is_some_and(|word| word == key))
        .unwrap_or_else(|| panic!("no row {key:?} in section {title:?} of:\n{output}"))
}

fn assert_fixture_answers(output: &str) {
    let messages = "Messages (.events)";
    assert_eq!(value(output, messages, "received"), "10");
    assert_eq!(value(output, messages, "deserialized"), "9");
    assert_eq!(value(output, messages, "failed to deserialize"), "1");
    assert_eq!(value(output, messages, "validation errors"), "2");
    assert_eq!(value(output, messages, "duplicate deliveries"), "1");
    assert_eq!(value(output, messages, "missing offsets"), "1");

    let failures = "Failures and recovery (.log)";
    assert_eq!(value(output, failures, "sent to the DLQ"), "3");
    assert_eq!(value(output, failures, "retries"), "1");
    assert_eq!(value(output, failures, "processing failures"), "1");
    assert_eq!(value(output, failures, "Kafka errors"), "2");

    // instance received deserialized undeserializable invalid dlq retries proc.fail stopped
    assert_eq!(row(output, "Per instance", "alpha"), ["alpha", "6", "5", "1", "1", "2", "1", "1", "no"]);
    assert_eq!(row(output, "Per instance", "beta"), ["beta", "4", "4", "0", "1", "1", "0", "0", "yes"]);

    // topic part received distinct first last dups missing gaps read-by cluster (none in these
    // files: one unknown broker lifetime)
    let partitions: Vec<Vec<String>> = section(output, "Per partition")
        .into_iter()
        .skip(1)
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        partitions,
        [
            ["orders", "0", "5", "5", "0", "5", "0", "1", "3", "alpha,beta", "-"],
            ["orders", "1", "3", "2", "0", "1", "1", "0", "-", "alpha,beta", "-"],
            ["orders", "2", "2", "2", "0", "1", "0", "0", "-", "beta", "-"],
        ]
    );

    let revenue = "Revenue (valid order.created events, each order once)";
    assert_eq!(value(output, revenue, "orders"), "4");
    assert_eq!(value(output, revenue, "revenue"), "245.50");
    assert_eq!(value(output, revenue, "average basket"), "61.38");

    let customers = section(output, "Top 5 customers by revenue");
    assert_eq!(customers.len(), 3, "{customers:?}");
    assert_eq!(row(output, "Top 5 customers by revenue", "client01")[1..4], ["150.00", "EUR", "2"]);
    assert!(customers[0].contains("client01") && customers[0].contains("Léa Thomas"), "{customers:?}");
    assert!(customers[1].contains("client03") && customers[1].contains("70.00"), "{customers:?}");
    assert!(customers[2].contains("client02") && customers[2].contains("25.50"), "{customers:?}");

    let products: Vec<String> = section(output, "Top 5 products by quantity")
        .into_iter()
        .map(|line| line.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(products, ["SKU-3 5", "SKU-2 3", "SKU-1 2"]);

    let status = "Orders by status (furthest status seen per order)";
    assert_eq!(value(output, status, "created"), "2");
    assert_eq!(value(output, status, "paid"), "1");
    assert_eq!(value(output, status, "cancelled"), "1");
    let methods = "Orders by payment method";
    assert_eq!(value(output, methods, "credit_card"), "2");
    assert_eq!(value(output, methods, "paypal"), "1");
    assert_eq!(value(output, methods, "bank_transfer"), "1");

    // instance time uptime received processed failed success% msg/s lag retries dlq p50_ms p99_ms
    // partitions (no latency in entries written before it existed)
    let alpha = row(output, "Last metrics per instance", "alpha");
    assert_eq!(alpha[1], "2026-03-01T10:00:10.000Z", "the last metrics entry, not the first");
    assert_eq!(alpha[3..], ["6", "4", "2", "66.67", "0.5", "0", "1", "2", "-", "-", "0,1"]);
    let beta = row(output, "Last metrics per instance", "beta");
    assert_eq!(beta[3..6], ["4", "3", "1"]);

    let errors = section(output, "Last 5 errors");
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(!output.contains("FIRST-ERROR-NOT-SHOWN"), "the oldest of six errors is left out");
    assert!(errors[4].contains("LAST-ERROR") && errors[4].contains("beta"), "newest last: {errors:?}");
    assert!(errors[0].contains("deserialization_error"), "{errors:?}");
}

#[test]
fn fixture_numbers() {
    let finished = analyze(&fixtures());
    assert_eq!(finished.code, Some(0), "{}", finished.all());
    assert_fixture_answers(&finished.stdout);
    assert!(finished.stdout.contains("instances: alpha beta"), "{}", finished.stdout);
    assert!(!finished.stdout.contains("unreadable"), "{}", finished.stdout);
}

#[test]
fn half_written_last_line_is_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let events = dir.path().join("tracker-beta.events");
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str(r#"{"timestamp":"2026-03-01T10:00:30.000Z","event_type":"message.rec"#);
    std::fs::write(&events, text).unwrap();

    let finished = analyze(dir.path());
    assert_eq!(finished.code, Some(0), "{}", finished.all());
    assert_fixture_answers(&finished.stdout);
    assert_eq!(value(&finished.stdout, "Messages (.events)", "unreadable lines"), "1");
}

#[test]
fn folder_without_tracker_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let finished = analyze(dir.path());
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(finished.stderr.contains("no tracker files"), "{}", finished.all());
    assert!(finished.stdout.is_empty(), "{}", finished.all());
}

#[test]
fn without_monitor_or_cargo_says_how_to_get_one() {
    // A PATH with the usual tools but neither cargo nor a monitor.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["bash", "env", "dirname"] {
        let found = ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("{tool} is needed by this test"));
        symlink(found, bin.path().join(tool)).unwrap();
    }
    let finished = run(
        Command::new(crate::util::repo_root().join("analyze_logs.sh"))
            .arg(fixtures())
            .env("PATH", bin.path())
            .env_remove("BIN_DIR")
            .current_dir(crate::util::repo_root()),
        TIMEOUT,
    );
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(finished.stderr.contains("cargo was not found"), "{}", finished.all());
    assert!(finished.stderr.contains("BIN_DIR"), "{}", finished.all());
}

#[test]
fn directory_defaults_to_tracker_log_dir() {
    let finished = run(
        script("analyze_logs.sh").env("BIN_DIR", monitor_bin_dir()).env("TRACKER_LOG_DIR", fixtures()),
        TIMEOUT,
    );
    assert_eq!(finished.code, Some(0), "{}", finished.all());
    assert_fixture_answers(&finished.stdout);
}

#[test]
fn help_describes_the_usage() {
    let finished = run(script("analyze_logs.sh").arg("--help"), TIMEOUT);
    assert_eq!(finished.code, Some(0), "{}", finished.all());
    assert!(finished.stdout.starts_with("Usage: ./analyze_logs.sh [DIR]"), "{}", finished.stdout);
}
