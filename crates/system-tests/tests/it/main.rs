//! The system tests, one binary with a module per area: what crosses binaries and scripts, run
//! as a user would (real processes, a real local broker on a free port, fixture files with
//! known answers).
//!
//! - [`start_stop`], [`analyze_logs`]: `start.sh`, `stop.sh`, `analyze_logs.sh`;
//! - [`monitor_e2e`], [`audit_trail`]: the monitor over real tracker files; the audit trail
//!   across restarts, full disks and odd files;
//! - [`resilience`]: chaos (trackers killed with SIGKILL while the producer sends) and a broker
//!   outage; `make chaos` runs the chaos drill at full size;
//! - [`sasl`]: producer and tracker against a broker that requires SCRAM-SHA-512;
//! - [`kafka_tools`]: Kafka's own tools as an independent check of the monitor's figures;
//! - [`docs_links`], [`docker_compose`]: every link of the docs; the Compose file's shape.
//!
//! One area: `cargo test -p system-tests --test it docs_links`; one test: add its name.

mod analyze_logs;
mod audit_trail;
mod docker_compose;
mod docs_links;
mod exactly_once;
mod kafka_tools;
mod monitor_e2e;
mod resilience;
mod sasl;
mod start_stop;
mod util;
