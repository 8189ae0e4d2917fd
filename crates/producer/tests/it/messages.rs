//! What the producer says on stderr when the broker is not there, how it prints librdkafka's
//! warnings (once, as text unless JSON is asked for), and the second signal.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{producer, Running};
use testkit::wait_until;

/// A broker address that accepts connections (the kernel completes them) and never answers.
fn silent_broker() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let address = listener.local_addr().expect("address").to_string();
    (listener, address)
}

/// A `producer` command whose stderr goes to `dir/stderr`, so the test can watch it live.
fn producer_with_stderr_file(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = producer(dir, args);
    command.stderr(Stdio::from(File::create(dir.join("stderr")).expect("stderr file")));
    command
}

fn stderr(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
}

#[test]
fn a_broker_that_does_not_answer_is_named_within_seconds_and_the_summary_stays_honest() {
    let (_listener, broker) = silent_broker();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "kafka:\n  properties:\n    message.timeout.ms: 8000\n")
        .unwrap();
    let started = Instant::now();
    let mut running =
        Running::start(producer_with_stderr_file(dir.path(), &["--broker", &broker, "--count", "3"]));
    wait_until(Duration::from_secs(6), "the producer says the broker does not answer", || {
        stderr(dir.path()).contains("does not answer")
    });
    assert!(running.is_running(), "still waiting for the broker");
    let said = stderr(dir.path());
    let line = said.lines().find(|line| line.contains("does not answer")).unwrap();
    assert!(line.contains(&broker), "names the broker: {line}");
    assert!(line.contains("message.timeout.ms (8000 ms)"), "says how long it waits: {line}");
    eprintln!("after {:?}: {line}", started.elapsed());

    let finished = running.finish(Duration::from_secs(30));
    assert_eq!(finished.exit_code(), 1, "records lost: {finished:?}");
    assert!(
        finished.stdout.contains("sent 3 (0 poison), acknowledged 0, failed 3, lost 3"),
        "honest summary: {}",
        finished.stdout
    );
}

#[test]
fn a_client_warning_is_printed_once_as_text_by_default_and_as_json_when_asked() {
    for format in [None, Some("json")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "kafka:\n  properties:\n    message.timeout.ms: 2000\n",
        )
        .unwrap();
        // Nothing listens on port 1: the connection is refused at once.
        let mut command = producer(dir.path(), &["--broker", "127.0.0.1:1", "--count", "1"]);
        if let Some(format) = format {
            command.env("LOG_FORMAT", format);
        }
        let finished = Running::start(command).finish(Duration::from_secs(30));
        assert_eq!(finished.exit_code(), 1, "{finished:?}");
        let refused: Vec<&str> =
            finished.stderr.lines().filter(|line| line.contains("Connection refused")).collect();
        assert!(!refused.is_empty(), "{format:?}: the refusal is reported:\n{}", finished.stderr);
        // The same event printed twice (as ERROR and WARN, or WARN twice) shows as two lines
        // that differ only in their timestamp.
        let mut seen = std::collections::BTreeSet::new();
        for line in &refused {
            let without_time = match format {
                None => {
                    assert!(serde_json::from_str::<serde_json::Value>(line).is_err(), "a text line: {line}");
                    line.split_once(' ').map(|(_, rest)| rest.to_owned()).unwrap_or_default()
                }
                Some(_) => {
                    let mut parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                    parsed["timestamp"] = serde_json::Value::Null;
                    parsed.to_string()
                }
            };
            assert!(without_time.contains("WARN"), "{format:?}: one level, WARN: {line}");
            assert!(seen.insert(without_time), "{format:?}: printed twice:\n{}", finished.stderr);
        }
    }
}

#[test]
fn a_second_signal_cuts_the_flush_short_and_says_what_was_not_acknowledged() {
    let (_listener, broker) = silent_broker();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "kafka:\n  properties:\n    message.timeout.ms: 60000\nproducer:\n  flush_timeout_ms: 60000\n",
    )
    .unwrap();
    // As fast as possible: the three records are sent at once, then flushed.
    let args = ["--broker", &broker, "--count", "3", "--rate", "0"];
    let running = Running::start(producer_with_stderr_file(dir.path(), &args));
    wait_until(Duration::from_secs(10), "the producer flushes", || {
        stderr(dir.path()).contains("does not answer")
    });
    running.signal(libc::SIGINT);
    wait_until(Duration::from_secs(10), "the first signal is acknowledged", || {
        stderr(dir.path()).contains("stopping gracefully")
    });
    let second = Instant::now();
    running.signal(libc::SIGINT);
    let finished = running.finish(Duration::from_secs(10));
    let took = second.elapsed();
    let said = stderr(dir.path());
    assert_eq!(finished.exit_code(), 128 + libc::SIGINT, "{said}");
    assert!(took < Duration::from_secs(2), "at once, took {took:?}");
    assert!(
        said.contains(
            "producer: second signal (SIGINT) during the stop: exiting at once; 3 records sent and not \
             acknowledged by the broker"
        ),
        "says what was not flushed:\n{said}"
    );
}
