//! Apache Kafka as a test's private broker: one KRaft node (broker and controller) started by
//! `scripts/kafka.sh run`, the same script `start.sh` uses, in a temporary folder on two free
//! loopback ports. Its storage is formatted at start, with a SCRAM-SHA-512 user when the test
//! asks for SASL. The script replaces itself with the JVM, so the child the test holds is the
//! broker, and the kernel kills it when the test dies.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::{die_with_test, stable_port, workspace_root, Broker, BrokerKind, SaslUser};

/// Longest wait for a Kafka node to format its storage and answer: a JVM on two busy cores.
const KAFKA_START_TIMEOUT: Duration = Duration::from_secs(90);

/// Heap of a test's broker: measured to hold the tests' loads (a few hundred thousand small
/// records) with room to spare, and small enough for two brokers beside the builds.
const KAFKA_TEST_HEAP: &str = "384m";

/// Settings the tests' brokers add to `scripts/kafka.sh`'s: fewer partitions for the internal
/// topics (created at the first group join and transaction, 50 each by default) so a test's
/// first join takes less than a second.
const KAFKA_TEST_PROPERTIES: &str = "offsets.topic.num.partitions=3\ntransaction.state.log.num.partitions=3";

impl Broker {
    /// Starts a private Apache Kafka (one KRaft node) on free loopback ports and waits until it
    /// answers. Needs Java 17+ and the jars `scripts/kafka.sh install` fetches (`make test`
    /// installs them).
    pub fn kafka() -> Result<Broker> {
        Self::kafka_with(None)
    }

    /// Starts a private Apache Kafka whose client listener requires SASL_PLAINTEXT with
    /// SCRAM-SHA-512, knowing one user (created when its storage is formatted).
    /// [`Broker::client_config`] logs in as that user.
    pub fn start_sasl(username: &str, password: &str) -> Result<Broker> {
        let user = SaslUser { username: username.to_owned(), password: password.to_owned() };
        Self::kafka_with(Some(user))
    }

    fn kafka_with(sasl: Option<SaslUser>) -> Result<Broker> {
        let mut last_error = None;
        // Another process may take a free port between our probe and the broker's bind.
        for _ in 0..3 {
            match Self::spawn_kafka(sasl.clone()) {
                Ok(broker) => return Ok(broker),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Apache Kafka did not start")))
    }

    fn spawn_kafka(sasl: Option<SaslUser>) -> Result<Broker> {
        let dir = Arc::new(tempfile::tempdir().context("creating the broker's temporary folder")?);
        // A JVM takes seconds to bind: ports outside the ephemeral range, which every client
        // connection of the other tests draws from meanwhile.
        let (port, controller_port) = (stable_port()?, stable_port()?);
        let log = std::fs::File::create(dir.path().join("kafka.log")).context("creating the broker log")?;
        let mut command = Command::new(workspace_root().join("scripts/kafka.sh"));
        command
            .args(["run", "1"])
            .env("KAFKA_PORT", port.to_string())
            .env("KAFKA_CONTROLLER_PORT", controller_port.to_string())
            .env("KAFKA_DATA_DIR", dir.path().join("kafka"))
            .env("KAFKA_HEAP", KAFKA_TEST_HEAP)
            .env("KAFKA_CONFIG_EXTRA", KAFKA_TEST_PROPERTIES)
            .env_remove("KAFKA_NODES")
            .env_remove("KAFKA_SCRAM_USERS")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(user) = &sasl {
            command.env("KAFKA_SCRAM_USERS", format!("{}={}", user.username, user.password));
        }
        die_with_test(&mut command);
        let child = command.spawn().context("starting scripts/kafka.sh run")?;
        let mut broker = Broker { child, kind: BrokerKind::Kafka, port, proxy: None, dir, sasl };
        broker.wait_until_ready(KAFKA_START_TIMEOUT)?;
        Ok(broker)
    }
}
