//! `docker-compose.yaml` cannot run on the machines that test this project (no Docker engine),
//! so its shape is checked here against what Apache Kafka's own single-node and multi-node
//! (the "cluster" profile) examples for the 4.x image need, and `docker compose config` validates it wherever the Compose plugin exists.

use std::process::Command;

use base64::Engine as _;
use serde_yaml_ng::Value;

fn compose() -> Value {
    let path = crate::util::repo_root().join("docker-compose.yaml");
    let text = std::fs::read_to_string(&path).expect("docker-compose.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("docker-compose.yaml is valid YAML")
}

fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{what} should be a string, found {value:?}"))
}

#[test]
fn kafka_is_apache_kafka_4_in_kraft_mode_with_a_valid_cluster_id() {
    let compose = compose();
    let kafka = &compose["services"]["kafka"];
    let image = text(&kafka["image"], "services.kafka.image");
    assert!(image.starts_with("apache/kafka:4."), "expected an Apache Kafka 4.x image, found {image}");
    let env = &kafka["environment"];
    assert_eq!(text(&env["KAFKA_PROCESS_ROLES"], "KAFKA_PROCESS_ROLES"), "broker,controller");
    // KRaft formats its log dirs with this id: a base64url UUID, 16 bytes.
    let cluster_id = text(&env["CLUSTER_ID"], "CLUSTER_ID");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cluster_id)
        .unwrap_or_else(|e| panic!("CLUSTER_ID {cluster_id} is not base64url: {e}"));
    assert_eq!(bytes.len(), 16, "CLUSTER_ID {cluster_id} must encode a 16-byte UUID");
    // The controller listener named in the quorum voters exists.
    let voters = text(&env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "KAFKA_CONTROLLER_QUORUM_VOTERS");
    let port = voters.rsplit(':').next().expect("host:port");
    let listeners = text(&env["KAFKA_LISTENERS"], "KAFKA_LISTENERS");
    assert!(
        listeners.contains(&format!("CONTROLLER://:{port}")),
        "{listeners} lacks the controller port {port}"
    );
    // Every image of the file is pinned to the same Kafka release.
    let init = text(&compose["services"]["kafka-init"]["image"], "services.kafka-init.image");
    assert_eq!(init, image, "kafka-init should run the broker's own image");
    compose_config_accepts_the_file();
}

/// Compose's own validation, where the Compose plugin is installed (it is not on the machines
/// that run the tests today; docs/operations.md says what was and was not run).
fn compose_config_accepts_the_file() {
    let plugin = Command::new("docker").args(["compose", "version"]).output();
    if !plugin.is_ok_and(|o| o.status.success()) {
        eprintln!("docker compose is not installed: the structural checks ran, not Compose's own");
        return;
    }
    let out = Command::new("docker")
        .args(["compose", "-f"])
        .arg(crate::util::repo_root().join("docker-compose.yaml"))
        .args(["config", "--quiet"])
        .output()
        .expect("docker compose runs");
    assert!(out.status.success(), "docker compose config: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_kafka_data_lives_in_a_named_volume_so_it_survives_down_and_up() {
    let compose = compose();
    let kafka = &compose["services"]["kafka"];
    let log_dirs = text(&kafka["environment"]["KAFKA_LOG_DIRS"], "KAFKA_LOG_DIRS");
    let volumes = kafka["volumes"].as_sequence().expect("services.kafka.volumes is a list");
    let mount = volumes
        .iter()
        .map(|v| text(v, "a volume"))
        .find(|v| v.ends_with(&format!(":{log_dirs}")))
        .unwrap_or_else(|| panic!("no volume is mounted at KAFKA_LOG_DIRS ({log_dirs}): {volumes:?}"));
    let name = mount.split(':').next().expect("name:path");
    assert!(!name.starts_with('/') && !name.starts_with('.'), "{mount} is a bind mount, not a named volume");
    assert!(
        compose["volumes"].get(name).is_some(),
        "the volume {name} is not declared under the top-level volumes"
    );
}

#[test]
fn every_published_port_is_bound_to_loopback() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services is a map");
    let mut checked = 0;
    for (name, service) in services {
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let port = text(port, "a port");
            assert!(port.starts_with("127.0.0.1:"), "service {name:?} publishes {port} on every interface");
            checked += 1;
        }
    }
    assert!(checked >= 2, "expected the broker's and Kafka UI's ports, found {checked}");
}

/// The "cluster" profile: Apache Kafka's multi-node shape (three broker+controller nodes, three
/// quorum voters), replication factor 3 and min.insync.replicas=2, like `KAFKA_NODES=3` of
/// `scripts/kafka.sh`.
#[test]
fn the_cluster_profile_runs_three_voters_with_replication_factor_3_and_two_in_sync() {
    let compose = compose();
    let services = &compose["services"];
    let single = text(&services["kafka"]["image"], "services.kafka.image");
    let nodes = ["kafka-1", "kafka-2", "kafka-3"];
    let env = |node: &str, key: &str| -> String {
        let value = &services[node]["environment"][key];
        value
            .as_str()
            .map(str::to_owned)
            .or_else(|| value.as_u64().map(|n| n.to_string()))
            .unwrap_or_else(|| panic!("services.{node}.environment.{key} is missing: {value:?}"))
    };
    let voters = env("kafka-1", "KAFKA_CONTROLLER_QUORUM_VOTERS");
    let cluster_id = env("kafka-1", "CLUSTER_ID");
    assert_ne!(
        cluster_id,
        text(&services["kafka"]["environment"]["CLUSTER_ID"], "CLUSTER_ID"),
        "another cluster"
    );
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&cluster_id).expect("base64url");
    assert_eq!(bytes.len(), 16, "CLUSTER_ID {cluster_id} must encode a 16-byte UUID");
    let mut host_ports = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let service = &services[*node];
        assert_eq!(text(&service["image"], "image"), single, "{node} runs the single node's image");
        let profiles: Vec<&str> =
            service["profiles"].as_sequence().expect("profiles").iter().map(|p| text(p, "p")).collect();
        assert_eq!(profiles, ["cluster"], "{node} only starts with --profile cluster");
        assert_eq!(env(node, "KAFKA_NODE_ID"), (index + 1).to_string());
        assert_eq!(env(node, "KAFKA_PROCESS_ROLES"), "broker,controller");
        assert_eq!(env(node, "KAFKA_CONTROLLER_QUORUM_VOTERS"), voters, "{node}: one quorum");
        assert_eq!(env(node, "CLUSTER_ID"), cluster_id, "{node}: one cluster id");
        assert_eq!(env(node, "KAFKA_DEFAULT_REPLICATION_FACTOR"), "3");
        assert_eq!(env(node, "KAFKA_MIN_INSYNC_REPLICAS"), "2");
        assert_eq!(env(node, "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"), "3");
        assert_eq!(env(node, "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"), "2");
        // Each voter is a node of the profile, at a controller listener it has.
        let voter = voters.split(',').nth(index).expect("three voters");
        let (id_host, port) = voter.rsplit_once(':').expect("id@host:port");
        assert_eq!(id_host, format!("{}@{}", index + 1, text(&service["hostname"], "hostname")));
        assert!(
            env(node, "KAFKA_LISTENERS").contains(&format!("CONTROLLER://:{port}")),
            "{node} listens on {port}"
        );
        // What clients on the host are told is what is published on loopback.
        let published = text(&service["ports"][0], "a port");
        let (host_port, container_port) = published
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.split_once(':'))
            .expect("127.0.0.1:HOST:CONTAINER");
        let advertised = env(node, "KAFKA_ADVERTISED_LISTENERS");
        assert!(
            advertised.contains(&format!("PLAINTEXT_HOST://localhost:{host_port}")),
            "{node}: {advertised}"
        );
        assert!(env(node, "KAFKA_LISTENERS").contains(&format!("PLAINTEXT_HOST://:{container_port}")));
        let volume = text(&service["volumes"][0], "a volume").split(':').next().expect("name").to_owned();
        assert!(compose["volumes"].get(volume.as_str()).is_some(), "{node}'s own named volume {volume}");
        host_ports.push(host_port.to_owned());
    }
    host_ports.dedup();
    assert_eq!(host_ports.len(), 3, "three host ports");
    assert_eq!(voters.split(',').count(), 3, "three voters: {voters}");
    let init = &services["kafka-cluster-init"];
    let script = text(&init["command"][0], "kafka-cluster-init.command");
    for topic in ["orders", "orders-dlq"] {
        let line = script.lines().find(|l| l.contains(&format!("--topic {topic} "))).expect("a create line");
        assert!(line.contains("--replication-factor 3") && line.contains("min.insync.replicas=2"), "{line}");
    }
}
