//! What a test does with a running [`Broker`]: client configurations, topics, records produced
//! and read back (through rdkafka, or kcat as an independent client).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

use crate::binaries::workspace_root;
use crate::external::{produce_with, read_exactly_with};
use crate::{Broker, Record};

impl Broker {
    /// kcat, an external client (`scripts/kcat.sh`: Debian's kcat run with a librdkafka recent
    /// enough for Tansu; it installs what is missing), with `-b` set to this broker. For records
    /// our own code could not produce, or that must come from another client than rdkafka.
    pub fn kcat(&self) -> Command {
        let mut command = Command::new(workspace_root().join("scripts/kcat.sh"));
        command.arg("-b").arg(self.bootstrap()).stdin(Stdio::null());
        command
    }

    /// Every record of `topic` as kcat (an independent client: not this project's code, not
    /// rust-rdkafka) reads it with `isolation.level` (`read_committed` or `read_uncommitted`),
    /// from the start to the end of each partition (`-e`; with `read_committed` the end is
    /// the last stable offset). One JSON object per record (kcat's `-J`: `partition`,
    /// `offset`, `key`, `payload`, `headers`).
    pub fn kcat_read(&self, topic: &str, isolation_level: &str) -> Result<Vec<serde_json::Value>> {
        let output = self
            .kcat()
            .args(["-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"])
            .arg("-X")
            .arg(format!("isolation.level={isolation_level}"))
            .output()
            .context("running scripts/kcat.sh")?;
        if !output.status.success() {
            bail!("kcat failed reading {topic}: {}", String::from_utf8_lossy(&output.stderr));
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).with_context(|| format!("kcat printed {line:?}")))
            .collect()
    }

    /// A client configuration pointing at this broker (and logging in, if it requires SASL).
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.bootstrap());
        if let Some(user) = &self.sasl {
            for (key, value) in user.properties() {
                config.set(key, value);
            }
        }
        config
    }

    /// Creates a topic (fails if it exists).
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let timeout = Some(Duration::from_secs(10));
        let options = AdminOptions::new().operation_timeout(timeout).request_timeout(timeout);
        let results = admin
            .create_topics(&[NewTopic::new(name, partitions, TopicReplication::Fixed(1))], &options)
            .await?;
        for result in results {
            if let Err((topic, code)) = result {
                bail!("creating topic {topic}: {code}");
            }
        }
        Ok(())
    }

    /// Produces records (key, payload, headers), waits for every acknowledgement, and returns
    /// where the broker stored each one: (partition, offset), in the order of `records`.
    pub async fn produce(&self, topic: &str, records: &[Record]) -> Result<Vec<(i32, i64)>> {
        produce_with(self.client_config(), topic, records).await
    }

    /// Reads a topic from the start until `count` records arrived; fails after `timeout`.
    ///
    /// Prefer it to [`Broker::read_all`] when the count is known: Tansu 0.6 reports the high
    /// watermark as the last batch's base offset + 1, so watermarks can be short of the truth.
    pub fn read_exactly(&self, topic: &str, count: usize, timeout: Duration) -> Result<Vec<Record>> {
        read_exactly_with(self.client_config(), topic, count, timeout)
    }

    /// Reads every record of a topic, from the start up to the high watermarks at call time
    /// (see [`Broker::read_exactly`] for the watermark caveat on Tansu).
    pub fn read_all(&self, topic: &str) -> Result<Vec<Record>> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", "testkit-reader")
            .set("enable.auto.commit", "false")
            .create()?;
        let timeout = Duration::from_secs(10);
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        let partitions: Vec<i32> =
            metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
        let mut records = Vec::new();
        for partition in partitions {
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            if high <= low {
                continue;
            }
            let mut assignment = rdkafka::TopicPartitionList::new();
            assignment.add_partition_offset(topic, partition, rdkafka::Offset::Offset(low))?;
            consumer.assign(&assignment)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut next = low;
            while next < high {
                if Instant::now() > deadline {
                    bail!("reading {topic}/{partition}: stuck at offset {next} of {high}");
                }
                if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                    let message = message?;
                    next = message.offset() + 1;
                    records.push(Record::from_message(&message));
                }
            }
        }
        Ok(records)
    }

    /// Sum of the high watermarks of a topic's partitions. On Tansu 0.6 this is exact only when
    /// every batch held one record (see [`Broker::read_exactly`]).
    pub fn topic_size(&self, topic: &str) -> Result<i64> {
        let consumer: BaseConsumer = self.client_config().create()?;
        let timeout = Duration::from_secs(10);
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        let mut total = 0;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
            total += high - low;
        }
        Ok(total)
    }
}
