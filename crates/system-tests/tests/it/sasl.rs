//! SASL end to end, through the real `producer` and `tracker` binaries, against a local broker
//! that requires SCRAM-SHA-512 ([`testkit::Broker::start_sasl`]: Apache Kafka, users made at format time).
//! Everything is configured the way a user would: `kafka.properties` in `./config.yaml`.
//!
//! - the producer's orders arrive over SASL and a tracker audits every one of them;
//! - a wrong password or an unknown user stops each binary within [`FAIL_WITHIN`] with exit
//!   code 1 and one `error: ` line that says what failed, never a hang;
//! - the password appears in no output, no file the binaries write, and no `--help`.
//!
//! Broker: Apache Kafka (`scripts/kafka.sh install`, which `make test` runs; without it they
//! fail, saying so).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::tracker::{lines, offsets_seen};
use testkit::wait_until;
use testkit::{Broker, Finished, Running};

const USER: &str = "alice";
/// Distinctive enough that finding it anywhere means it leaked.
const PASSWORD: &str = "Sasl-pw-7Xq2-must-never-print";
const WRONG_PASSWORD: &str = "Wrong-pw-Zr81-must-never-print";
/// A refused login must end either binary within this, exit code included.
const FAIL_WITHIN: Duration = Duration::from_secs(15);
const ORDERS: usize = 200;

/// The producer binary, built up to date.
fn producer_binary() -> PathBuf {
    testkit::workspace_binary("producer")
}

/// The tracker binary, built up to date.
fn tracker_binary() -> PathBuf {
    testkit::workspace_binary("tracker")
}

/// A broker that requires SCRAM-SHA-512 and knows `alice`, with the two topics created over SASL.
async fn sasl_broker() -> Broker {
    let broker = Broker::start_sasl(USER, PASSWORD).unwrap_or_else(|error| panic!("{error:#}"));
    broker.create_topic("orders", 3).await.expect("orders topic, created over SASL");
    broker.create_topic("orders-dlq", 1).await.expect("dlq topic, created over SASL");
    broker
}

/// Writes `dir/config.yaml`: the broker, and SASL through `kafka.properties`.
fn write_config(dir: &Path, broker: &Broker, username: &str, password: &str) {
    let yaml = format!(
        "kafka:\n  broker: {}\n  properties:\n    security.protocol: SASL_PLAINTEXT\n    \
         sasl.mechanism: SCRAM-SHA-512\n    sasl.username: {username}\n    sasl.password: {password}\n\
         producer:\n  log_dir: .\n  metrics_interval_ms: 1000\ntracker:\n  log_dir: .\n  \
         metrics_interval_ms: 1000\n",
        broker.bootstrap()
    );
    std::fs::write(dir.join("config.yaml"), yaml).expect("config.yaml written");
}

/// A binary started in `dir` (so it reads `dir/config.yaml`), with the project's environment
/// variables removed, its output collected, and killed if the test dies.
fn start(binary: &Path, dir: &Path, args: &[&str]) -> Running {
    Running::start(testkit::project_command(binary, dir, args))
}

/// Fails if `secret` is in any of `outputs` or in any file of `dir` but `config.yaml`.
fn assert_nowhere(secret: &str, dir: &Path, outputs: &[(&str, &str)]) {
    for (what, text) in outputs {
        assert!(!text.contains(secret), "the password leaked into {what}:\n{text}");
    }
    for entry in std::fs::read_dir(dir).expect("read the run folder") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|name| name == "config.yaml") || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read a file the binaries wrote");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "the password leaked into {}",
            path.display()
        );
    }
}

/// The lines of `stderr` that start with `error: `; there must be exactly one.
fn the_error_line(what: &str, finished: &Finished) -> String {
    let errors: Vec<&str> = finished.stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{what}: expected one `error: ` line, got:\n{}", finished.stderr);
    // Nothing else at error level either (a client's own reports of the same refusal).
    let others: Vec<&str> = finished
        .stderr
        .lines()
        .filter(|line| !line.starts_with("error: ") && line.contains("ERROR"))
        .collect();
    assert!(others.is_empty(), "{what}: other errors besides the one line:\n{}", finished.stderr);
    errors[0].to_owned()
}

/// Checks a run refused by the broker: exit code 1 within the bound, one clear error line.
fn assert_refused(what: &str, finished: &Finished, username: &str) {
    assert_eq!(
        finished.code,
        Some(1),
        "{what}: exit code after a refused login\nstdout:\n{}\nstderr:\n{}",
        finished.stdout,
        finished.stderr
    );
    assert!(finished.elapsed < FAIL_WITHIN, "{what} took {:?}", finished.elapsed);
    let line = the_error_line(what, finished);
    let expected = format!(
        "error: SASL authentication failed for user \"{username}\" (mechanism SCRAM-SHA-512): check \
         sasl.username and sasl.password given with -X or under kafka.properties (librdkafka: "
    );
    assert!(line.starts_with(&expected), "{what}: unclear error line:\n{line}");
    eprintln!("{what}: exit {:?} after {:.1} s: {line}", finished.code, finished.elapsed.as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_over_sasl_scram_configured_in_kafka_properties() {
    let broker = sasl_broker().await;
    let dir = tempfile::tempdir().expect("run folder");
    write_config(dir.path(), &broker, USER, PASSWORD);

    let count = ORDERS.to_string();
    let produced = start(&producer_binary(), dir.path(), &["--count", &count, "--rate", "0"])
        .finish(Duration::from_secs(60));
    assert_eq!(
        produced.code,
        Some(0),
        "producer over SASL\nstdout:\n{}\nstderr:\n{}",
        produced.stdout,
        produced.stderr
    );
    assert!(
        produced.stdout.contains(&format!("acknowledged {ORDERS}, failed 0, lost 0")),
        "summary: {}",
        produced.stdout
    );

    let tracker = start(&tracker_binary(), dir.path(), &["--instance-id", "sasl-1"]);
    wait_until(Duration::from_secs(60), &format!("the tracker audited {ORDERS} orders"), || {
        offsets_seen(dir.path()).len() >= ORDERS
    });
    tracker.signal(libc::SIGTERM);
    let tracked = tracker.finish(Duration::from_secs(20));
    assert_eq!(tracked.code, Some(0), "tracker over SASL\nstderr:\n{}", tracked.stderr);

    let events = lines(dir.path(), "events");
    assert_eq!(events.len(), ORDERS, "one .events line per order, no duplicates on a clean run");
    let event_ids: BTreeSet<&str> = events.iter().filter_map(|line| line["event_id"].as_str()).collect();
    assert_eq!(event_ids.len(), ORDERS, "every order audited once");
    assert!(
        events.iter().all(|line| line["deserialized"] == true && line["validation_error"].is_null()),
        "every order arrived intact"
    );

    // The start entries show the SASL settings, with the password masked.
    let started: Vec<serde_json::Value> =
        lines(dir.path(), "log").into_iter().filter(|e| e["kind"] == "started").collect();
    assert_eq!(started.len(), 1);
    let properties = &started[0]["metadata"]["config"]["kafka"]["properties"];
    assert_eq!(properties["sasl.username"], USER);
    assert_eq!(properties["sasl.password"], config::REDACTED);
    let producer_log = std::fs::read_to_string(dir.path().join("producer.log")).expect("producer.log");
    assert!(producer_log.contains(&format!("\"sasl.password\":\"{}\"", config::REDACTED)), "{producer_log}");

    assert_nowhere(
        PASSWORD,
        dir.path(),
        &[
            ("the producer's stdout", &produced.stdout),
            ("the producer's stderr", &produced.stderr),
            ("the tracker's stdout", &tracked.stdout),
            ("the tracker's stderr", &tracked.stderr),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_an_unknown_user_stops_each_binary_with_one_clear_line() {
    let broker = sasl_broker().await;
    for (username, password) in [(USER, WRONG_PASSWORD), ("mallory", WRONG_PASSWORD)] {
        let dir = tempfile::tempdir().expect("run folder");
        write_config(dir.path(), &broker, username, password);
        // All at once: a producer with records to send, one that only creates the topics, and
        // a tracker; each must stop by itself.
        let producer = start(&producer_binary(), dir.path(), &["--count", "10"]);
        let creator = start(&producer_binary(), dir.path(), &["--create-topics", "--count", "0"]);
        let tracker = start(&tracker_binary(), dir.path(), &["--instance-id", "refused-1"]);
        let produced = producer.finish(FAIL_WITHIN);
        let created = creator.finish(FAIL_WITHIN);
        let tracked = tracker.finish(FAIL_WITHIN);
        assert_refused(&format!("producer --count 10 as {username}"), &produced, username);
        assert_refused(&format!("producer --create-topics as {username}"), &created, username);
        assert_refused(&format!("tracker as {username}"), &tracked, username);
        assert!(produced.stdout.is_empty(), "no summary after a refused login: {}", produced.stdout);

        // The files say it too, once.
        let fatal: Vec<serde_json::Value> = lines(dir.path(), "log")
            .into_iter()
            .filter(|entry| entry["kind"] == "kafka_error" && entry["metadata"]["fatal"] == true)
            .collect();
        assert_eq!(fatal.len(), 1, "one fatal kafka_error entry in the tracker .log: {fatal:?}");
        let producer_log = std::fs::read_to_string(dir.path().join("producer.log")).expect("producer.log");
        let stopped =
            producer_log.lines().filter(|line| line.contains("\"reason\":\"authentication_failed\"")).count();
        assert!(stopped >= 1, "producer.log ends with an authentication_failed stop:\n{producer_log}");

        assert_nowhere(
            password,
            dir.path(),
            &[
                ("the producer's stdout", &produced.stdout),
                ("the producer's stderr", &produced.stderr),
                ("the topic creator's stderr", &created.stderr),
                ("the tracker's stdout", &tracked.stdout),
                ("the tracker's stderr", &tracked.stderr),
            ],
        );
    }
}

#[test]
fn help_never_shows_the_configured_password() {
    let dir = tempfile::tempdir().expect("run folder");
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("kafka:\n  properties:\n    sasl.username: {USER}\n    sasl.password: {PASSWORD}\n"),
    )
    .expect("config.yaml written");
    for binary in [producer_binary(), tracker_binary()] {
        let help = start(&binary, dir.path(), &["--help"]).finish(Duration::from_secs(10));
        assert_eq!(help.code, Some(0), "{} --help", binary.display());
        assert!(help.stdout.contains("Usage"), "{}", help.stdout);
        assert_nowhere(
            PASSWORD,
            dir.path(),
            &[("--help stdout", &help.stdout), ("--help stderr", &help.stderr)],
        );
    }
}
