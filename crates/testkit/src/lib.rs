//! Test harness: a private broker per test, on free loopback ports: Tansu ([`Broker::start`],
//! milliseconds, memory storage: the fast tests) or Apache Kafka ([`Broker::kafka`], seconds, a
//! JVM from `scripts/kafka.sh`: the tests of the product's promises). A test says which it needs.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let broker = testkit::Broker::start()?;
//! broker.create_topic("orders", 3).await?;
//! // ... point the code under test at broker.bootstrap() ...
//! # Ok(()) }
//! ```
//!
//! The broker process is killed when the [`Broker`] is dropped, panics included, and also
//! when the test process dies (Linux parent-death signal), so no broker outlives its test.
//! Tests can run in parallel: each gets its own broker and port. The binary is found through
//! `TANSU_BIN`, else `.tools/bin/tansu` (installed by `scripts/broker.sh install`), else `PATH`.
//!
//! [`wait_until`] waits for a condition with a deadline; [`workspace_binary`] gives a test
//! another crate's binary, built up to date; [`Running`] and [`run`] run a binary with its
//! output collected and a deadline, killed with the test ([`project_command`] builds its
//! command without the project's variables from the test's environment); [`tracker`] runs the
//! real tracker and reads its files.
//! A broker started elsewhere (by `scripts/broker.sh`, in the script tests) is reached through
//! the free functions: [`client_config_for`], [`fetch_cluster_id`], [`produce_with`],
//! [`read_exactly_with`], [`read_offsets_with`].
//!
//! [`Cluster::kafka3`] starts a private cluster of three Apache Kafka nodes (replication factor
//! 3, `min.insync.replicas=2`) whose nodes a test kills, restarts, pauses and resumes.
//!
//! [`Broker::start_sasl`] starts an Apache Kafka that requires SASL/SCRAM-SHA-512 and knows one
//! user, created when its storage is formatted (Kafka's own `--add-scram`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod cluster;
pub mod config_errors;
mod kafka_broker;
mod process;
mod proxy;
mod run;
pub mod tracker;

pub use cluster::{free_port_ranges, Cluster, PartitionState, NODES as CLUSTER_NODES};
pub use process::{die_with_test, project_command, run, run_with_output_in_files, Finished, Running};
pub use proxy::Proxy;
pub use run::{wait_until, workspace_binary};

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;

/// Longest wait for a broker to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a broker to stop on SIGTERM.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// The SASL mechanism of [`Broker::start_sasl`] (the one the local Tansu also accepts).
pub const SASL_MECHANISM: &str = "SCRAM-SHA-512";

/// A user of a broker started with [`Broker::start_sasl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslUser {
    /// `sasl.username`.
    pub username: String,
    /// `sasl.password`.
    pub password: String,
}

impl SaslUser {
    /// The librdkafka properties that log in as this user (as in `kafka.properties`).
    pub fn properties(&self) -> [(&'static str, &str); 4] {
        [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", SASL_MECHANISM),
            ("sasl.username", &self.username),
            ("sasl.password", &self.password),
        ]
    }
}

/// Which broker a [`Broker`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// Tansu with memory storage: starts in milliseconds, forgets everything when it stops.
    Tansu,
    /// Apache Kafka (KRaft, one node), from `scripts/kafka.sh`: seconds to start, keeps its data.
    Kafka,
}

/// A running private broker.
pub struct Broker {
    child: Child,
    kind: BrokerKind,
    port: u16,
    /// When started behind a proxy: clients go through it, so the network can be cut.
    proxy: Option<Proxy>,
    /// Holds the broker's log file (and its sqlite database, if any); removed with the broker.
    dir: Arc<tempfile::TempDir>,
    /// The user clients log in as, when the broker requires SASL.
    sasl: Option<SaslUser>,
}

impl Broker {
    /// Starts a broker on a free port with in-memory storage and waits until it answers.
    pub fn start() -> Result<Broker> {
        Self::start_with(&[])
    }

    /// Like [`Broker::start`], with extra `tansu broker` arguments.
    pub fn start_with(extra_args: &[&str]) -> Result<Broker> {
        let binary = tansu_binary()?;
        let mut last_error = None;
        // Another process may take the free port between our probe and the broker's bind.
        for _ in 0..3 {
            let port = free_port()?;
            match Self::spawn(&binary, port, port, extra_args) {
                Ok(broker) => return Ok(broker),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
    }

    /// Like [`Broker::start`], validating produced records against the schemas in `registry`
    /// (`<topic>.json`, Tansu's layout): records that do not match are refused with
    /// INVALID_RECORD. Tansu 0.6 reads a `file://` URL relative to its working folder, even
    /// `file:///absolute/path`, so the files are copied into the broker's own folder and named
    /// from there.
    pub fn start_with_schema_registry(registry: &Path) -> Result<Broker> {
        let binary = tansu_binary()?;
        let mut last_error = None;
        for _ in 0..3 {
            let dir = Arc::new(tempfile::tempdir().context("creating the broker's temporary folder")?);
            let copy = dir.path().join("schema-registry");
            std::fs::create_dir(&copy)?;
            for entry in
                std::fs::read_dir(registry).with_context(|| format!("reading {}", registry.display()))?
            {
                let path = entry?.path();
                if let Some(name) = path.file_name().filter(|_| path.is_file()) {
                    std::fs::copy(&path, copy.join(name))?;
                }
            }
            let port = free_port()?;
            let args = ["--schema-registry", "file://./schema-registry"];
            match Self::spawn_in(dir, &binary, port, port, "memory://tansu/", &args) {
                Ok(broker) => return Ok(broker),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
    }

    /// Like [`Broker::start`], with the cluster id that Metadata responses carry (Tansu's
    /// default is `tansu_cluster` for every broker): brokers started with different ids are
    /// different broker lifetimes to a client.
    pub fn start_with_cluster_id(cluster_id: &str) -> Result<Broker> {
        Self::start_with(&["--kafka-cluster-id", cluster_id])
    }

    /// Starts a broker on a given port (e.g. to restart one on the port its clients know).
    pub fn start_on_port(port: u16, extra_args: &[&str]) -> Result<Broker> {
        Self::spawn(&tansu_binary()?, port, port, extra_args)
    }

    /// Starts the broker listening on `port` and telling clients to connect to `advertised_port`.
    fn spawn(binary: &Path, port: u16, advertised_port: u16, extra_args: &[&str]) -> Result<Broker> {
        let dir = Arc::new(tempfile::tempdir().context("creating the broker's temporary folder")?);
        Self::spawn_in(dir, binary, port, advertised_port, "memory://tansu/", extra_args)
    }

    /// Starts the broker in `dir` (its working folder, which holds its log and a relative
    /// `sqlite://` database) with `storage`.
    fn spawn_in(
        dir: Arc<tempfile::TempDir>,
        binary: &Path,
        port: u16,
        advertised_port: u16,
        storage: &str,
        extra_args: &[&str],
    ) -> Result<Broker> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("tansu.log"))
            .context("creating the broker log")?;
        let mut command = Command::new(binary);
        command
            .current_dir(dir.path())
            .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised_port}")])
            .args(["--storage-engine", storage])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        die_with_test(&mut command);
        let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let mut broker = Broker { child, kind: BrokerKind::Tansu, port, proxy: None, dir, sasl: None };
        broker.wait_until_ready(START_TIMEOUT)?;
        Ok(broker)
    }

    fn wait_until_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("broker exited with {status} during start-up; log:\n{}", self.log());
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("broker did not answer on port {} within {timeout:?}; log:\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a broker that clients reach through a [`Proxy`], so that
    /// [`Broker::cut_network`] can simulate an outage while the broker keeps its data.
    pub fn start_behind_proxy() -> Result<Broker> {
        let port = free_port()?;
        let proxy = Proxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
        let mut broker = Self::spawn(&tansu_binary()?, port, proxy.port(), &[])?;
        broker.proxy = Some(proxy);
        Ok(broker)
    }

    /// Closes every client connection and refuses new ones (started behind a proxy only).
    pub fn cut_network(&self) {
        if let Some(proxy) = &self.proxy {
            proxy.cut();
        }
    }

    /// Ends [`Broker::cut_network`].
    pub fn restore_network(&self) {
        if let Some(proxy) = &self.proxy {
            proxy.restore();
        }
    }

    /// `127.0.0.1:<port>`, for `bootstrap.servers` (the proxy's port when there is one).
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.as_ref().map_or(self.port, Proxy::port))
    }

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

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Which broker this is.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the broker printed so far.
    pub fn log(&self) -> String {
        let name = match self.kind {
            BrokerKind::Tansu => "tansu.log",
            BrokerKind::Kafka => "kafka.log",
        };
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Stops the broker now (the same happens on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the broker with SIGTERM (Kafka: a controlled shutdown), so it closes its storage;
    /// SIGKILL if it takes too long.
    pub fn stop_gracefully(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid has no memory-safety concerns.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let _ = wait_with_deadline(&mut self.child, COMMAND_TIMEOUT);
        }
        self.stop();
    }

    /// The user clients log in as, when the broker requires SASL ([`Broker::start_sasl`]).
    pub fn sasl(&self) -> Option<&SaslUser> {
        self.sasl.as_ref()
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

/// The client configuration for a broker this crate did not start (e.g. one started by
/// `scripts/broker.sh`), at `bootstrap` (`host:port`).
pub fn client_config_for(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    config
}

/// The cluster id the broker reports in its metadata (Tansu: `--kafka-cluster-id`).
pub fn fetch_cluster_id(config: ClientConfig) -> Result<String> {
    let consumer: BaseConsumer = config.create()?;
    consumer
        .client()
        .fetch_cluster_id(Duration::from_secs(10))
        .context("the broker reported no cluster id within 10 s")
}

/// [`Broker::produce`] against any broker: an idempotent producer with `acks=all` that waits
/// for every acknowledgement (up to 120 s each, so it rides out a broker restart: a JVM recovering its logs on two busy cores takes tens of seconds) and returns
/// where each record was stored, (partition, offset), in the order of `records`.
pub async fn produce_with(
    mut config: ClientConfig,
    topic: &str,
    records: &[Record],
) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "120000")
        .create()?;
    // Enqueue everything first (send_result does not wait), then collect the
    // acknowledgements: awaiting each send in turn would cost a round trip per record.
    let mut deliveries = Vec::with_capacity(records.len());
    for record in records {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &record.headers {
            headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
        }
        let mut message = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
        if let Some(key) = &record.key {
            message = message.key(key);
        }
        if let Some(payload) = &record.payload {
            message = message.payload(payload);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match producer.send_result(message) {
                Ok(delivery) => break deliveries.push(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < deadline =>
                {
                    message = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => bail!("cannot enqueue a record: {error}"),
            }
        }
    }
    let mut stored = Vec::with_capacity(records.len());
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(delivery)) => stored.push((delivery.partition, delivery.offset)),
            Ok(Err((error, _))) => bail!("delivery failed: {error}"),
            Err(_) => bail!("the producer went away before acknowledging"),
        }
    }
    Ok(stored)
}

/// [`Broker::read_exactly`] against any broker: reads a topic from the start until `count`
/// records arrived; fails after `timeout`.
pub fn read_exactly_with(
    mut config: ClientConfig,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Record>> {
    let consumer: BaseConsumer = config
        .set("group.id", "testkit-reader")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + timeout;
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        if Instant::now() > deadline {
            bail!("read {} of {count} records of {topic} within {timeout:?}", records.len());
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            records.push(Record::from_message(&message?));
        }
    }
    Ok(records)
}

/// Reads the records stored at the given (partition, offset) places of a topic, keyed by
/// place; fails after `timeout` unless every one of them was read.
pub fn read_offsets_with(
    mut config: ClientConfig,
    topic: &str,
    wanted: &[(i32, i64)],
    timeout: Duration,
) -> Result<BTreeMap<(i32, i64), Record>> {
    let consumer: BaseConsumer =
        config.set("group.id", "testkit-reader").set("enable.auto.commit", "false").create()?;
    let mut missing: BTreeSet<(i32, i64)> = wanted.iter().copied().collect();
    // Each partition from the lowest offset wanted in it.
    let mut assignment = rdkafka::TopicPartitionList::new();
    let mut previous = None;
    for &(partition, offset) in &missing {
        if previous != Some(partition) {
            assignment.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))?;
            previous = Some(partition);
        }
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + timeout;
    let mut found = BTreeMap::new();
    while let Some(&first_missing) = missing.first() {
        if Instant::now() > deadline {
            bail!(
                "{} of {} records of {topic} not read within {timeout:?}, the first at (partition, offset) \
                 {first_missing:?}",
                missing.len(),
                wanted.len()
            );
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let record = Record::from_message(&message?);
            if missing.remove(&(record.partition, record.offset)) {
                found.insert((record.partition, record.offset), record);
            }
        }
    }
    Ok(found)
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A record as produced or read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Partition it was read from (ignored when producing).
    pub partition: i32,
    /// Offset it was read at (ignored when producing).
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Payload bytes; `None` for a tombstone.
    pub payload: Option<Vec<u8>>,
    /// Headers as text (bytes that are not UTF-8 replaced by U+FFFD when read back).
    pub headers: Vec<(String, String)>,
    /// Headers read back, byte for byte (ignored when producing).
    pub raw_headers: Vec<kafka::headers::RawHeader>,
}

impl Record {
    /// A record with a key and a payload.
    pub fn new(key: impl Into<Vec<u8>>, payload: impl Into<Vec<u8>>) -> Self {
        Record { key: Some(key.into()), payload: Some(payload.into()), ..Record::default() }
    }

    /// Copies a consumed message. Headers are read as raw bytes (rdkafka's own accessor
    /// panics on a name that is not UTF-8).
    pub fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let raw_headers = kafka::headers::read(message.headers());
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers = raw_headers
            .iter()
            .map(|(name, value)| (text(name), value.as_deref().map(text).unwrap_or_default()))
            .collect();
        Record {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            raw_headers,
        }
    }

    /// The value of a header, if present.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Waits for `child` to exit; `None` if it still runs after `timeout`.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the tansu binary is; a clear error says how to install it.
pub fn tansu_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return Ok(PathBuf::from(path));
    }
    let installed = workspace_root().join(".tools/bin/tansu");
    if installed.is_file() {
        return Ok(installed);
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("tansu"))
        .find(|path| path.is_file())
    {
        return Ok(found);
    }
    bail!("no tansu binary: run `scripts/broker.sh install` (or `make test`, which does), or set TANSU_BIN")
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// User + system CPU seconds this process has used so far, all threads (from
/// `/proc/self/stat`; 0 where it cannot be read). For the benchmark controls.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks
    // are 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A free port below Linux's ephemeral range (32768 and up), for a broker a test stops and
/// starts again on the same port: the ports [`free_port`] and every client connection get
/// come from that range, so another test could take the port while the broker is down.
pub fn stable_port() -> Result<u16> {
    stable_ports(1)
}

/// The first of `count` consecutive ports, free a moment ago, below the ephemeral range (see
/// [`stable_port`]); `scripts/kafka.sh` puts node N of a cluster on the first port + N - 1.
pub fn stable_ports(count: u16) -> Result<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000;
    // Spread over 20000..32000, starting somewhere different in each test process; successive
    // calls in one process move on, so two tests never get the same port.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(count + 6, Ordering::Relaxed) % SPAN;
        let first = LOW + (start + step) % (SPAN - count);
        let all_free =
            (first..first + count).all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        if all_free {
            return Ok(first);
        }
    }
    bail!("no {count} consecutive free ports between 20000 and 32000 on 127.0.0.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_seconds_counts_what_this_process_burns() {
        let start = process_cpu_seconds();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut spin = 0u64;
        while process_cpu_seconds() < start + 0.05 {
            assert!(Instant::now() < deadline, "CPU seconds did not move from {start}");
            spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(7));
        }
    }
}
