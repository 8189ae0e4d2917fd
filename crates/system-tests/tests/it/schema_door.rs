//! Validation at the door (docs/events.md, "Refused at the door"). Broker: Tansu, started
//! with `--schema-registry` over the repository's `schemas/registry/` (the order event schema
//! for the `orders` topic), or without it for the contrast. The real `producer` sends one poison
//! pill of each kind and the real `tracker` reads what the broker stored:
//!
//! - with validation, every kind the schema refuses (`PoisonKind::passes_schema` false) is
//!   refused by the broker (INVALID_RECORD), counted as failed and named in the producer's
//!   summary, and never reaches the topic, so the tracker dead-letters only `bad-amounts`,
//!   whose fault (a total one cent off) no JSON Schema can see;
//! - without it, every kind is stored and the tracker dead-letters all of them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use models::PoisonKind;
use testkit::tracker::{lines, log_entries, Tracker};
use testkit::{Broker, Finished};

use crate::util::repo_root;

const TOPIC: &str = "orders";
const DLQ_TOPIC: &str = "orders-dlq";

async fn with_topics(broker: Broker) -> Broker {
    broker.create_topic(TOPIC, 3).await.expect("orders created");
    broker.create_topic(DLQ_TOPIC, 1).await.expect("orders-dlq created");
    broker
}

/// One run of the real producer: `--poison KIND`, `count` records, `rate` per second.
fn produce_poison(broker: &Broker, dir: &Path, kind: PoisonKind, count: u32, rate: u32) -> Finished {
    let log_dir = dir.join(format!("producer-{kind}"));
    let (count, rate) = (count.to_string(), rate.to_string());
    let args =
        ["--broker", &broker.bootstrap(), "--topic", TOPIC, "--poison", kind.name(), "--count", &count];
    let mut command: Command = testkit::project_command(&testkit::workspace_binary("producer"), dir, &args);
    command.args(["--rate", &rate, "--log-dir"]).arg(&log_dir);
    testkit::run(command, Duration::from_secs(60))
}

/// Runs a tracker until it has audited `expected` records, stops it, and returns its
/// `stopped` entry's metadata.
fn track(broker: &Broker, dir: &Path, expected: usize) -> serde_json::Value {
    let mut tracker = Tracker::start(broker, dir, "door", &[]);
    testkit::wait_until(Duration::from_secs(60), &format!("the tracker audited {expected} records"), || {
        lines(dir, "events").len() >= expected
    });
    tracker.signal(libc::SIGTERM);
    assert!(tracker.wait_for_exit(Duration::from_secs(20)).success());
    let stopped = log_entries(dir, "door", "stopped");
    assert_eq!(stopped.len(), 1, "one stop entry");
    stopped[0]["metadata"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_broker_validation_poison_pills_are_refused_and_never_reach_the_dlq() {
    let registry = repo_root().join("schemas/registry");
    let broker = with_topics(Broker::start_with_schema_registry(&registry).expect("broker starts")).await;
    let dir = tempfile::tempdir().unwrap();
    for &kind in PoisonKind::ALL.iter().filter(|kind| !kind.passes_schema()) {
        let finished = produce_poison(&broker, dir.path(), kind, 1, 0);
        assert_eq!(finished.exit_code(), 1, "{kind}: not stored, so exit 1: {finished:?}");
        assert!(
            finished
                .stdout
                .contains("sent 1 (1 poison), acknowledged 0, failed 1 (1 refused as invalid), lost 1"),
            "{kind}: {finished:?}"
        );
        assert!(
            finished.stderr.contains(
                "error: 1 records not acknowledged: 1 refused by the broker as invalid (INVALID_RECORD"
            ),
            "{kind}: {finished:?}"
        );
    }
    let finished = produce_poison(&broker, dir.path(), PoisonKind::BadAmounts, 1, 0);
    assert_eq!(finished.exit_code(), 0, "bad-amounts matches the schema and is stored: {finished:?}");
    assert_eq!(broker.topic_size(TOPIC).unwrap(), 1, "only bad-amounts reached the topic");

    let stopped = track(&broker, dir.path(), 1);
    assert_eq!(stopped["total_dlq_sent"], 1, "{stopped}");
    let events = lines(dir.path(), "events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0]["validation_error"].as_str().unwrap().starts_with("total is"), "{}", events[0]);
    let dead = broker.read_exactly(DLQ_TOPIC, 1, Duration::from_secs(20)).unwrap();
    assert_eq!(dead[0].header("poison_kind"), Some("bad-amounts"));
    assert_eq!(broker.topic_size(DLQ_TOPIC).unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_broker_validation_every_poison_pill_is_stored_and_dead_lettered() {
    let broker = with_topics(Broker::start().expect("broker starts")).await;
    let dir = tempfile::tempdir().unwrap();
    for &kind in PoisonKind::ALL {
        let finished = produce_poison(&broker, dir.path(), kind, 1, 0);
        assert_eq!(finished.exit_code(), 0, "{kind}: stored: {finished:?}");
        assert!(finished.stdout.contains("acknowledged 1, failed 0, lost 0"), "{kind}: {finished:?}");
    }
    let stopped = track(&broker, dir.path(), PoisonKind::ALL.len());
    assert_eq!(stopped["total_dlq_sent"], PoisonKind::ALL.len(), "{stopped}");
    assert_eq!(broker.topic_size(DLQ_TOPIC).unwrap(), PoisonKind::ALL.len() as i64);
}

/// Tansu 0.6 fences an idempotent producer (the project's always is) after refusing one of its
/// records: the records that follow fail with PRODUCER_FENCED, valid or not. The producer says
/// so in its summary instead of counting them as lost for an unknown reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_refusal_tansu_fences_the_producer_and_the_summary_says_so() {
    let registry = repo_root().join("schemas/registry");
    let broker = with_topics(Broker::start_with_schema_registry(&registry).expect("broker starts")).await;
    let dir = tempfile::tempdir().unwrap();
    // One record a second: the first refusal (a local round trip after the connection is up)
    // comes back long before the last record is sent, so at least that one meets the fence.
    // Records queued before the refusal came back are refused as invalid themselves.
    let finished = produce_poison(&broker, dir.path(), PoisonKind::MissingField, 3, 1);
    assert_eq!(finished.exit_code(), 1, "{finished:?}");
    let refusals = ["(1 refused as invalid, 2 as fenced)", "(2 refused as invalid, 1 as fenced)"];
    assert!(
        refusals.iter().any(|counts| finished.stdout.contains(&format!("acknowledged 0, failed 3 {counts}"))),
        "{finished:?}"
    );
    assert!(finished.stderr.contains("refused because the broker fenced this producer"), "{finished:?}");
}

/// `SCHEMA_VALIDATION=on ./start.sh` with `BROKER=tansu`: the broker it starts refuses a poison
/// pill; a value other than on/off, or `on` with a broker that cannot validate, stops the start
/// with a message naming the setting. Broker: the Tansu that start.sh starts.
#[test]
fn start_sh_offers_schema_validation_on_tansu() {
    let session = StartSession::new();
    let finished =
        crate::util::run(session.command().env("SCHEMA_VALIDATION", "maybe"), Duration::from_secs(30));
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(
        finished.stderr.contains("SCHEMA_VALIDATION=maybe is not supported: use on or off"),
        "{}",
        finished.all()
    );
    let finished = crate::util::run(
        session
            .command()
            .env("SCHEMA_VALIDATION", "on")
            .env("BROKER", "external")
            .env("KAFKA_BROKER", "127.0.0.1:1"),
        Duration::from_secs(30),
    );
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(
        finished.stderr.contains("SCHEMA_VALIDATION=on needs the local Tansu broker"),
        "{}",
        finished.all()
    );

    let started =
        crate::util::run(session.command().env("SCHEMA_VALIDATION", "on"), Duration::from_secs(120));
    assert_eq!(started.code, Some(0), "{}", started.all());
    assert!(started.stdout.contains("schema validation: records of orders"), "{}", started.stdout);
    let bootstrap = format!("127.0.0.1:{}", session.port);
    let args = ["--broker", &bootstrap, "--poison", "wrong-types", "--count", "1", "--log-dir"];
    let mut producer =
        testkit::project_command(&testkit::workspace_binary("producer"), session.dir.path(), &args);
    producer.arg(session.dir.path());
    let finished = testkit::run(producer, Duration::from_secs(60));
    assert_eq!(finished.exit_code(), 1, "{finished:?}");
    assert!(finished.stdout.contains("failed 1 (1 refused as invalid)"), "{finished:?}");
}

/// A `start.sh` run on Tansu in a temporary RUN_DIR, with the test's own binaries; stopped with
/// its broker when dropped.
struct StartSession {
    dir: tempfile::TempDir,
    port: u16,
    bin_dir: std::path::PathBuf,
}

impl StartSession {
    fn new() -> StartSession {
        let bin_dir = testkit::workspace_binary("producer").parent().unwrap().to_path_buf();
        for binary in ["tracker", "monitor"] {
            testkit::workspace_binary(binary);
        }
        StartSession { dir: tempfile::tempdir().unwrap(), port: testkit::free_port().unwrap(), bin_dir }
    }

    fn command(&self) -> Command {
        let mut command = crate::util::script("start.sh");
        command
            .env("RUN_DIR", self.dir.path())
            .env("BROKER", "tansu")
            .env("BROKER_PORT", self.port.to_string())
            .env("BIN_DIR", &self.bin_dir)
            .env("TRACKERS", "1")
            .env("PRODUCER_ARGS", "--interval-ms 200")
            .env_remove("KAFKA_BROKER")
            .env_remove("SCHEMA_VALIDATION")
            .env_remove("TANSU_ARGS")
            .env_remove("TRACKER_LOG_DIR")
            .env_remove("RUST_LOG");
        command
    }
}

impl Drop for StartSession {
    fn drop(&mut self) {
        let mut stop = crate::util::script("stop.sh");
        let _ = stop.env("RUN_DIR", self.dir.path()).env("STOP_TIMEOUT", "5").output();
        let port = self.port.to_string();
        let _ = crate::util::script("scripts/broker.sh").arg("stop").env("BROKER_PORT", &port).output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(crate::util::repo_root().join(format!(".tools/broker/{port}")));
        }
    }
}
