//! A test's private broker, its life: started on free loopback ports (Tansu here, Apache Kafka
//! in `kafka_broker.rs`), optionally behind a [`Proxy`] for outages, stopped when dropped.
//! What a test does with a running broker (clients, topics, records) is in `clients.rs`.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::binaries::tansu_binary;
use crate::ports::free_port;
use crate::process::{die_with_test, wait_with_deadline};
use crate::proxy::Proxy;

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
    /// The broker process (Tansu, or the JVM `scripts/kafka.sh` replaced itself with).
    pub(crate) child: Child,
    /// Which broker it is.
    pub(crate) kind: BrokerKind,
    /// The port it listens on.
    pub(crate) port: u16,
    /// When started behind a proxy: clients go through it, so the network can be cut.
    pub(crate) proxy: Option<Proxy>,
    /// Holds the broker's log file (and its sqlite database, if any); removed with the broker.
    pub(crate) dir: Arc<tempfile::TempDir>,
    /// The user clients log in as, when the broker requires SASL.
    pub(crate) sasl: Option<SaslUser>,
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

    /// Waits until the broker accepts connections; fails when it exits or `timeout` passes.
    pub(crate) fn wait_until_ready(&mut self, timeout: Duration) -> Result<()> {
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
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
