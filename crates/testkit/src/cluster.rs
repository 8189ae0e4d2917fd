//! Apache Kafka as a test's private cluster of three KRaft nodes (each broker and controller,
//! three quorum voters), started by `scripts/kafka.sh run N` with `KAFKA_NODES=3`, the script
//! `start.sh` uses: one shared data folder in a temporary directory, three consecutive free client
//! ports and three consecutive free controller ports on loopback. The script's settings for three
//! nodes apply: default replication factor 3, `min.insync.replicas=2`.
//!
//! A test kills ([`Cluster::kill`]), restarts ([`Cluster::restart`]), freezes
//! ([`Cluster::pause`]) and thaws ([`Cluster::resume`]) single nodes, and reads what the cluster
//! says of a partition from metadata ([`Cluster::partition`]: leader, replicas, in-sync
//! replicas), as any client sees it. Every node is killed when the [`Cluster`] is dropped or the
//! test process dies.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::{die_with_test, workspace_root};

/// Nodes of a [`Cluster`].
pub const NODES: u16 = 3;

/// Longest wait for the three nodes to form a cluster: three JVMs on two busy cores.
const CLUSTER_START_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest wait for one restarted node to answer.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(90);

/// Heap of each node: three of them beside the builds and the system under test. Measured to
/// hold the drills' floods (a few hundred thousand small records at replication factor 3).
const CLUSTER_TEST_HEAP: &str = "320m";

/// What the tests' clusters add to `scripts/kafka.sh`'s settings: fewer partitions for the
/// internal topics (50 each by default, each replicated three times), so the first group join
/// is quick.
const CLUSTER_TEST_PROPERTIES: &str =
    "offsets.topic.num.partitions=3\ntransaction.state.log.num.partitions=3";

/// A partition as the cluster's metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Partition id.
    pub partition: i32,
    /// Node id of the leader; -1 while there is none.
    pub leader: i32,
    /// Node ids of the replicas, in the cluster's order.
    pub replicas: Vec<i32>,
    /// Node ids of the in-sync replicas.
    pub isr: Vec<i32>,
}

/// A running private cluster of three Apache Kafka nodes.
pub struct Cluster {
    /// The node processes, node N at index N-1; `None` while a node is killed.
    nodes: Vec<Option<Child>>,
    /// Client port of node 1; node N listens on `port + N - 1`.
    port: u16,
    /// Controller port of node 1; node N on `controller_port + N - 1`.
    controller_port: u16,
    /// The data of every node (settings, log dirs, logs); removed with the cluster.
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts three Apache Kafka nodes on free loopback ports and waits until the three
    /// brokers are in the cluster's metadata. Needs Java 17+ and the jars `scripts/kafka.sh
    /// install` fetches (`make test` installs them).
    pub fn kafka3() -> Result<Cluster> {
        let mut last_error = None;
        // Another process may take a free port between our probe and a node's bind.
        for _ in 0..3 {
            match Self::spawn() {
                Ok(cluster) => return Ok(cluster),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the Apache Kafka cluster did not start")))
    }

    fn spawn() -> Result<Cluster> {
        let dir = tempfile::tempdir().context("creating the cluster's temporary folder")?;
        let (port, controller_port) = free_port_ranges()?;
        let mut cluster = Cluster { nodes: Vec::new(), port, controller_port, dir };
        for node in 1..=NODES {
            let child = cluster.spawn_node(node)?;
            cluster.nodes.push(Some(child));
        }
        let deadline = Instant::now() + CLUSTER_START_TIMEOUT;
        for node in 1..=NODES {
            cluster.wait_until_answers(node, deadline)?;
        }
        cluster.wait_for_brokers(NODES as usize, deadline.saturating_duration_since(Instant::now()))?;
        Ok(cluster)
    }

    fn spawn_node(&self, node: u16) -> Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(node))
            .with_context(|| format!("creating the log of node {node}"))?;
        let mut command = Command::new(workspace_root().join("scripts/kafka.sh"));
        command
            .args(["run", &node.to_string()])
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_NODES", NODES.to_string())
            .env("KAFKA_DATA_DIR", self.dir.path().join("kafka"))
            .env("KAFKA_HEAP", CLUSTER_TEST_HEAP)
            .env("KAFKA_CONFIG_EXTRA", CLUSTER_TEST_PROPERTIES)
            .env_remove("KAFKA_SCRAM_USERS")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        die_with_test(&mut command);
        command.spawn().with_context(|| format!("starting scripts/kafka.sh run {node}"))
    }

    fn wait_until_answers(&mut self, node: u16, deadline: Instant) -> Result<()> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.node_port(node)));
        loop {
            let child = self.child(node)?;
            if let Some(status) = child.try_wait()? {
                bail!("node {node} exited with {status} during start-up; log:\n{}", self.log(node));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("node {node} did not answer on {address} in time; log:\n{}", self.log(node));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn child(&mut self, node: u16) -> Result<&mut Child> {
        self.nodes
            .get_mut(usize::from(node).wrapping_sub(1))
            .and_then(Option::as_mut)
            .with_context(|| format!("node {node} does not run"))
    }

    /// `127.0.0.1:<port>` of every node, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        (1..=NODES).map(|node| format!("127.0.0.1:{}", self.node_port(node))).collect::<Vec<_>>().join(",")
    }

    /// The client port of node `node` (1 to 3).
    pub fn node_port(&self, node: u16) -> u16 {
        self.port + node - 1
    }

    /// The process id of node `node`, while it runs.
    pub fn pid(&self, node: u16) -> Option<u32> {
        self.nodes.get(usize::from(node).wrapping_sub(1)).and_then(Option::as_ref).map(Child::id)
    }

    /// A client configuration pointing at the three nodes.
    pub fn client_config(&self) -> ClientConfig {
        crate::client_config_for(&self.bootstrap())
    }

    /// kcat (`scripts/kcat.sh`), an independent client, with `-b` set to the three nodes.
    pub fn kcat(&self) -> Command {
        let mut command = Command::new(workspace_root().join("scripts/kcat.sh"));
        command.arg("-b").arg(self.bootstrap()).stdin(Stdio::null());
        command
    }

    /// What node `node` printed so far.
    pub fn log(&self, node: u16) -> String {
        std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    fn log_path(&self, node: u16) -> std::path::PathBuf {
        self.dir.path().join(format!("node-{node}.log"))
    }

    /// Kills node `node` with SIGKILL (a machine that dies) and waits until it is gone.
    pub fn kill(&mut self, node: u16) -> Result<()> {
        let mut child = self
            .nodes
            .get_mut(usize::from(node).wrapping_sub(1))
            .and_then(Option::take)
            .with_context(|| format!("node {node} does not run"))?;
        child.kill().with_context(|| format!("killing node {node}"))?;
        child.wait().with_context(|| format!("waiting for node {node} to die"))?;
        Ok(())
    }

    /// Starts node `node` again on its ports and data (after [`Cluster::kill`]) and waits until
    /// it answers; it rejoins the quorum and catches up by itself.
    pub fn restart(&mut self, node: u16) -> Result<()> {
        let slot = usize::from(node).wrapping_sub(1);
        match self.nodes.get(slot) {
            Some(None) => {}
            Some(Some(_)) => bail!("node {node} still runs"),
            None => bail!("there is no node {node}"),
        }
        let child = self.spawn_node(node)?;
        self.nodes[slot] = Some(child);
        self.wait_until_answers(node, Instant::now() + NODE_START_TIMEOUT)
    }

    /// Freezes node `node` with SIGSTOP (a broker that hangs rather than dies).
    pub fn pause(&self, node: u16) -> Result<()> {
        self.signal(node, libc::SIGSTOP)
    }

    /// Thaws node `node` with SIGCONT after [`Cluster::pause`].
    pub fn resume(&self, node: u16) -> Result<()> {
        self.signal(node, libc::SIGCONT)
    }

    fn signal(&self, node: u16, signal: i32) -> Result<()> {
        let pid = self.pid(node).with_context(|| format!("node {node} does not run"))?;
        let pid = i32::try_from(pid).context("pid out of range")?;
        // SAFETY: kill(2) on our own child's pid has no memory-safety concerns.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("signal {signal} to node {node}: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Creates a topic with the cluster's default replication factor (3) and
    /// `min.insync.replicas` (2), as `producer --create-topics` does; fails if it exists.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let timeout = Some(Duration::from_secs(30));
        let options = AdminOptions::new().operation_timeout(timeout).request_timeout(timeout);
        let replication = TopicReplication::Fixed(kafka::CLUSTER_DEFAULT_REPLICATION);
        let results = admin.create_topics(&[NewTopic::new(name, partitions, replication)], &options).await?;
        for result in results {
            if let Err((topic, code)) = result {
                bail!("creating topic {topic}: {code}");
            }
        }
        Ok(())
    }

    /// The brokers in the cluster's metadata now (node ids), asked of any node that answers.
    pub fn brokers(&self) -> Result<Vec<i32>> {
        let consumer = self.metadata_client()?;
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(5)).context("fetching metadata")?;
        let mut ids: Vec<i32> = metadata.brokers().iter().map(|broker| broker.id()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Every partition of `topic` as the cluster's metadata describes it now.
    pub fn partitions(&self, topic: &str) -> Result<Vec<PartitionState>> {
        let consumer = self.metadata_client()?;
        let metadata =
            consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).context("fetching metadata")?;
        let topic_metadata = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .with_context(|| format!("no topic {topic}"))?;
        if let Some(error) = topic_metadata.error() {
            bail!("metadata of {topic}: {error:?}");
        }
        let mut partitions: Vec<PartitionState> = topic_metadata
            .partitions()
            .iter()
            .map(|p| PartitionState {
                partition: p.id(),
                leader: p.leader(),
                replicas: p.replicas().to_vec(),
                isr: p.isr().to_vec(),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        Ok(partitions)
    }

    /// Partition `partition` of `topic` as the cluster's metadata describes it now.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<PartitionState> {
        self.partitions(topic)?
            .into_iter()
            .find(|p| p.partition == partition)
            .with_context(|| format!("no partition {topic}/{partition} in the metadata"))
    }

    /// Waits until partition `partition` of `topic` has a leader other than `not` (-1 for any
    /// leader); returns the leader and how long it took. Metadata errors while nodes are down
    /// are retried until the deadline.
    pub fn wait_for_leader(
        &self,
        topic: &str,
        partition: i32,
        not: i32,
        timeout: Duration,
    ) -> Result<(i32, Duration)> {
        let start = Instant::now();
        let mut last = String::from("no metadata yet");
        while start.elapsed() < timeout {
            match self.partition(topic, partition) {
                Ok(state) if state.leader >= 0 && state.leader != not => {
                    return Ok((state.leader, start.elapsed()))
                }
                Ok(state) => last = format!("{state:?}"),
                Err(error) => last = format!("{error:#}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{topic}/{partition} had no leader other than {not} within {timeout:?}; last seen: {last}")
    }

    /// Waits until every partition of `topic` has `size` in-sync replicas; returns how long it
    /// took, or fails naming the partitions still short.
    pub fn wait_for_isr(&self, topic: &str, size: usize, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        let mut last = String::from("no metadata yet");
        while start.elapsed() < timeout {
            match self.partitions(topic) {
                Ok(partitions)
                    if !partitions.is_empty() && partitions.iter().all(|p| p.isr.len() == size) =>
                {
                    return Ok(start.elapsed())
                }
                Ok(partitions) => last = format!("{partitions:?}"),
                Err(error) => last = format!("{error:#}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!("the partitions of {topic} did not all have {size} in-sync replicas within {timeout:?}; last seen: {last}")
    }

    /// Waits until the metadata lists `count` brokers.
    pub fn wait_for_brokers(&self, count: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no metadata yet");
        while Instant::now() < deadline {
            match self.brokers() {
                Ok(ids) if ids.len() == count => return Ok(()),
                Ok(ids) => last = format!("brokers {ids:?}"),
                Err(error) => last = format!("{error:#}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!("the metadata did not list {count} brokers within {timeout:?}; last seen: {last}")
    }

    /// A fresh client per question: its metadata comes from a broker now, not from a cache.
    fn metadata_client(&self) -> Result<BaseConsumer> {
        let mut config = self.client_config();
        config.set("socket.connection.setup.timeout.ms", "2000");
        Ok(config.create()?)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            // A paused node takes SIGKILL all the same.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Two runs of three consecutive free ports (clients, controllers), below the ephemeral range
/// so that a node restarted on its ports finds them free ([`crate::stable_ports`]):
/// `scripts/kafka.sh` puts node N on the first port + N - 1. For a test that runs
/// `KAFKA_NODES=3` through the scripts (`KAFKA_PORT`/`BROKER_PORT`, `KAFKA_CONTROLLER_PORT`).
pub fn free_port_ranges() -> Result<(u16, u16)> {
    Ok((crate::stable_ports(NODES)?, crate::stable_ports(NODES)?))
}
