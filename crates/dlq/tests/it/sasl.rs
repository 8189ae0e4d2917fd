//! SASL the way the other binaries do it: `kafka.properties` in `./config.yaml`, against a
//! broker that requires SCRAM-SHA-512. Broker: Apache Kafka (`testkit::Broker::start_sasl`).

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::{Broker, Finished};

use crate::util::*;

const USER: &str = "alice";
/// Distinctive enough that finding it in an output means it leaked.
const PASSWORD: &str = "Dlq-pw-4Kd9-must-never-print";
const WRONG_PASSWORD: &str = "Dlq-wrong-pw-Qz17-must-never-print";

fn write_config(dir: &Path, broker: &Broker, password: &str) {
    let yaml = format!(
        "kafka:\n  broker: {}\n  properties:\n    security.protocol: SASL_PLAINTEXT\n    \
         sasl.mechanism: SCRAM-SHA-512\n    sasl.username: {USER}\n    sasl.password: {password}\n",
        broker.bootstrap()
    );
    std::fs::write(dir.join("config.yaml"), yaml).unwrap();
}

/// Runs `dlq` configured by `dir/config.yaml` only.
fn dlq_with_config(dir: &Path, args: &[&str]) -> Finished {
    run(Path::new(env!("CARGO_BIN_EXE_dlq")), dir, args, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_redrive_log_in_with_sasl_and_a_wrong_password_fails_fast() {
    let broker = Broker::start_sasl(USER, PASSWORD).unwrap_or_else(|error| panic!("{error:#}"));
    broker.create_topic("orders", 3).await.unwrap();
    broker.create_topic("orders-dlq", 1).await.unwrap();
    let payload = models::OrderGenerator::seeded(8).new_order_event().to_json();
    produce(&broker, "orders-dlq", &[dead_letter(&payload, 3, "processing")]).await;
    let dir = tempfile::tempdir().unwrap();

    write_config(dir.path(), &broker, PASSWORD);
    let list = dlq_with_config(dir.path(), &["list"]).expect_code(0);
    assert!(list.stdout.ends_with("1 dead letters in orders-dlq\n"), "{}", list.stdout);
    let redrive = dlq_with_config(dir.path(), &["redrive", "0:0"]).expect_code(0);
    assert!(
        redrive.stdout.ends_with("selected 1, sent 1, acknowledged 1, refused 0\n"),
        "{}",
        redrive.stdout
    );
    assert_eq!(read_topic(&broker, "orders").len(), 1);
    for output in [&list.stdout, &list.stderr, &redrive.stdout, &redrive.stderr] {
        assert!(!output.contains(PASSWORD), "the password leaked: {output}");
    }

    write_config(dir.path(), &broker, WRONG_PASSWORD);
    let started = Instant::now();
    let refused = dlq_with_config(dir.path(), &["list"]).expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(15), "a refused login ends the run fast");
    let errors: Vec<&str> = refused.stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{}", refused.stderr);
    assert!(errors[0].starts_with("error: SASL authentication failed for user \"alice\""), "{}", errors[0]);
    assert!(!refused.stderr.contains(WRONG_PASSWORD), "{}", refused.stderr);
}
