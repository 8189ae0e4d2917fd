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

mod binaries;
mod broker;
mod clients;
mod cluster;
pub mod config_errors;
mod cpu;
mod external;
mod kafka_broker;
mod ports;
mod process;
mod proxy;
mod record;
pub mod tracker;
mod wait;

pub use binaries::{tansu_binary, workspace_binary, workspace_root};
pub use broker::{Broker, BrokerKind, SaslUser, SASL_MECHANISM};
pub use cluster::{free_port_ranges, Cluster, PartitionState, NODES as CLUSTER_NODES};
pub use cpu::process_cpu_seconds;
pub use external::{client_config_for, fetch_cluster_id, produce_with, read_exactly_with, read_offsets_with};
pub use ports::{free_port, stable_port, stable_ports};
pub use process::{die_with_test, project_command, run, run_with_output_in_files, Finished, Running};
pub use proxy::Proxy;
pub use record::Record;
pub use wait::wait_until;
