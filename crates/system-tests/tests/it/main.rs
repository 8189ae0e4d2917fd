//! The system tests, one binary with a module per area: what crosses binaries and scripts, run
//! as a user would (real processes, a real local broker on a free port, fixture files with
//! known answers).
//!
//! - [`start_stop`], [`analyze_logs`]: `start.sh`, `stop.sh`, `analyze_logs.sh`;
//! - [`monitor_e2e`], [`audit_trail`]: the monitor over real tracker files; the audit trail
//!   across restarts, full disks and odd files;
//! - [`resilience`]: chaos (trackers killed with SIGKILL while the producer sends) and a broker
//!   outage; `make chaos` runs the chaos drill at full size;
//! - [`broker_loss`]: the broker-loss drills on a cluster of three Apache Kafka nodes (`make
//!   drills`);
//! - [`sasl`]: producer and tracker against a broker that requires SCRAM-SHA-512;
//! - [`schema_door`]: the broker refusing records that do not match the topic's schema (Tansu's
//!   `--schema-registry`), against the tracker's dead-letter path without it;
//! - [`kafka_tools`]: Kafka's own tools as an independent check of the monitor's figures;
//! - [`docs_links`], [`docs_drift`], [`docs_layout`], [`docker_compose`]: every link of the
//!   docs; the docs name only flags, variables, targets and files the code has, and show the
//!   binaries' real `--help`; docs/architecture.md names every target, script and crate, with
//!   each crate's dependencies as its `Cargo.toml` says; the Compose file's shape;
//! - [`client_properties`]: `-X NAME=VALUE` on producer, tracker and dlq;
//! - [`color`]: `--color` and `NO_COLOR` on every binary;
//! - [`walkthrough`]: the README's walkthrough run on Apache Kafka, each step's output compared
//!   with its README block.
//!
//! One area: `cargo test -p system-tests --test it docs_links`; one test: add its name.

mod analyze_logs;
mod audit_trail;
mod broker_loss;
mod client_properties;
mod color;
mod docker_compose;
mod docs_drift;
mod docs_layout;
mod docs_links;
mod exactly_once;
mod kafka_tools;
mod monitor_e2e;
mod resilience;
mod sasl;
mod schema_door;
mod start_stop;
mod util;
mod walkthrough;
