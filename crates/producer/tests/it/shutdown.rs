//! Stopping: SIGTERM in the middle of a flood flushes and accounts for every record; `run`
//! takes its shutdown trigger as a parameter.

use std::time::Duration;

use producer::pace::Pace;
use producer::{RunOptions, StopReason};
use service::Shutdown;
use testkit::Broker;
use tokio_util::sync::CancellationToken;

use testkit::wait_until;

use crate::util::{entry, producer, read_records, Running};

/// Broker: Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_flood_flushes_and_every_acknowledged_record_is_in_the_topic() {
    let broker = Broker::kafka().unwrap_or_else(|error| panic!("Apache Kafka starts: {error:#}"));
    broker.create_topic("orders", 3).await.expect("topic created");
    let dir = tempfile::tempdir().unwrap();
    let args = ["--broker", &broker.bootstrap(), "--rate", "0", "--log-dir", "."];
    let running = Running::start(producer(dir.path(), &args));
    // The high watermark undercounts (see util::read_records) but it does grow with the flood.
    wait_until(Duration::from_secs(30), "the flood is under way", || {
        broker.topic_size("orders").unwrap_or(0) >= 5_000
    });
    running.signal(libc::SIGTERM);
    let finished =
        tokio::task::spawn_blocking(move || running.finish(Duration::from_secs(30))).await.unwrap();
    assert_eq!(finished.exit_code(), 0, "{finished:?}");

    let stopped = entry(dir.path(), "stopped");
    let acknowledged = stopped["metadata"]["acknowledged"].as_i64().expect("acknowledged");
    assert_eq!(stopped["metadata"]["reason"], "shutdown_signal");
    assert_eq!(stopped["metadata"]["lost"], 0);
    assert!(acknowledged >= 5_000, "{stopped}");
    let records = read_records(&broker, "orders", acknowledged as usize, Duration::from_secs(60));
    assert_eq!(records.len() as i64, acknowledged, "acknowledged == records in the topic");
    assert!(finished.stdout.contains(&format!("acknowledged {acknowledged},")), "{}", finished.stdout);
    assert!(finished.stderr.contains("SIGTERM"), "the signal is logged: {}", finished.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_its_own_trigger() {
    let broker = Broker::start().expect("broker starts");
    broker.create_topic("orders", 3).await.expect("topic created");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = config::Settings::default();
    settings.kafka.broker = broker.bootstrap();
    settings.producer.log_dir = dir.path().to_owned();
    settings.producer.metrics_interval_ms = 100;
    let config = settings.validate().expect("valid settings");
    let options = RunOptions {
        pace: Pace::Rate(500.0),
        count: None,
        poison: None,
        create_topics: false,
        show_progress: false,
    };
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    let log_dir = dir.path().to_owned();
    tokio::spawn(async move {
        // Stop once a metrics line shows acknowledged records.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let acknowledged = std::fs::read_to_string(log_dir.join("producer.log"))
                .unwrap_or_default()
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|line| line["kind"] == "metrics")
                .filter_map(|line| line["metadata"]["acknowledged"].as_u64())
                .max()
                .unwrap_or(0);
            if acknowledged > 0 || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        trigger.cancel();
    });
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        producer::run(
            config,
            options,
            Shutdown::when(async move {
                stop.cancelled().await;
                "test".into()
            }),
        ),
    )
    .await
    .expect("run ends after the trigger")
    .expect("run succeeds");
    assert_eq!(summary.reason, StopReason::Shutdown);
    assert!(summary.acknowledged > 0, "{summary}");
    assert_eq!(summary.lost, 0, "{summary}");
    let records = read_records(&broker, "orders", summary.acknowledged as usize, Duration::from_secs(30));
    assert_eq!(records.len() as u64, summary.acknowledged);
    let metrics = crate::util::health_lines(dir.path()).into_iter().find(|l| l["kind"] == "metrics").unwrap();
    for field in ["sent", "acknowledged", "failed", "in_flight", "events_per_second", "poison_sent"] {
        assert!(metrics["metadata"].get(field).is_some(), "metrics has {field}: {metrics}");
    }
}
