//! Bad flags and bad configuration values exit 2 with one clear message, before connecting.

use std::time::Duration;

use crate::util::{producer, run};

fn assert_usage_error(args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = producer(dir.path(), args);
    // Nothing listens there: a connection attempt would hang, not exit 2.
    command.env("KAFKA_BROKER", "127.0.0.1:1");
    for (key, value) in env {
        command.env(key, value);
    }
    let finished = run(command, Duration::from_secs(20));
    assert_eq!(finished.exit_code(), 2, "{args:?} {env:?}: {finished:?}");
    assert!(finished.stderr.starts_with("error: "), "{args:?}: {}", finished.stderr);
    for text in expected {
        assert!(finished.stderr.contains(text), "{args:?} {env:?}: {text:?} not in {}", finished.stderr);
    }
    assert!(finished.stdout.is_empty(), "nothing on stdout: {}", finished.stdout);
    assert!(!dir.path().join("producer.log").exists(), "stopped before starting");
}

#[test]
fn an_unknown_poison_kind_lists_the_allowed_ones() {
    assert_usage_error(&["--poison", "nope"], &[], &["nope", "invalid-json", "oversized", "not-utf8"]);
}

#[test]
fn poison_pills_only_come_with_a_count() {
    // Without --count, `--poison KIND` would fill the topic with poison until stopped.
    assert_usage_error(&["--poison", "invalid-json"], &[], &["--poison", "--count"]);
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    assert_usage_error(&[], &[("PRODUCER_INTERVAL_MS", "abc")], &["PRODUCER_INTERVAL_MS", "abc"]);
    assert_usage_error(&[], &[("PRODUCER_POISON_RATE", "2")], &["producer.poison_rate"]);
}

#[test]
fn bad_flag_values_and_files_are_rejected() {
    assert_usage_error(&["--poison-rate", "1.5"], &[], &["--poison-rate", "0 to 1"]);
    assert_usage_error(&["--rate", "fast"], &[], &["--rate"]);
    assert_usage_error(&["--interval-ms", "0"], &[], &["producer.interval_ms"]);
    assert_usage_error(&["--config", "/nonexistent/config.yaml"], &[], &["/nonexistent/config.yaml"]);
    assert_usage_error(&["--count=-3"], &[], &["--count"]);
}

#[test]
fn help_names_each_flag_with_its_variable_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let finished = run(producer(dir.path(), &["--help"]), Duration::from_secs(20));
    assert_eq!(finished.exit_code(), 0);
    for text in [
        "--config",
        "--broker",
        "KAFKA_BROKER",
        "--topic",
        "KAFKA_TOPIC",
        "--interval-ms",
        "PRODUCER_INTERVAL_MS",
        "--count",
        "--rate",
        "--poison-rate",
        "PRODUCER_POISON_RATE",
        "--poison",
        "--seed",
        "producer.seed",
        "--log-dir",
        "PRODUCER_LOG_DIR",
        "--create-topics",
        "--log-format",
        "LOG_FORMAT",
    ] {
        assert!(finished.stdout.contains(text), "--help lacks {text}:\n{}", finished.stdout);
    }
}
