//! `docker-compose.yaml` cannot run on the machines that test this project (no Docker engine),
//! so its shape is checked here against what Apache Kafka's own single-node example for the
//! 4.x image needs, and `docker compose config` validates it wherever the Compose plugin exists.

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
