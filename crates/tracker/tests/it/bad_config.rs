//! Bad configuration, through the real binaries: every case must stop before connecting, with
//! exit code 2 and one `error: ` line on stderr that names the culprit (and its value), without
//! panicking, without creating any file, and without ever printing a secret.

use std::path::Path;

use testkit::config_errors::{case, check_all, Case, Source};

const SECRET: &str = "hunter2";

fn tracker_cases() -> Vec<Case> {
    use Source::*;
    vec![
        case("malformed YAML", File(b"kafka:\n  broker: [unclosed\n  topic: x\n"), &["config.yaml"]),
        case("malformed YAML: tab indentation", File(b"kafka:\n\tbroker: x\n"), &["config.yaml"]),
        case("unknown key", File(b"kafka:\n  brokers: 127.0.0.1:9092\n"), &["brokers"]),
        case("unknown section", File(b"kafak:\n  broker: 127.0.0.1:9092\n"), &["kafak"]),
        case(
            "wrong type: text for a number",
            File(b"retry:\n  max_attempts: three\n"),
            &["max_attempts", "three"],
        ),
        case("wrong type: text for a boolean", File(b"dlq:\n  enabled: maybe\n"), &["enabled", "maybe"]),
        case("wrong type: list for a string", File(b"kafka:\n  broker: [a, b]\n"), &["broker"]),
        case("wrong type: a section that is a number", File(b"retry: 5\n"), &["retry"]),
        case("negative number", File(b"retry:\n  initial_delay_ms: -5\n"), &["initial_delay_ms", "-5"]),
        case(
            "negative delay",
            File(b"tracker:\n  processing_delay_ms: -1\n"),
            &["processing_delay_ms", "-1"],
        ),
        case("number beyond u64", File(b"tracker:\n  metrics_interval_ms: 1e30\n"), &["metrics_interval_ms"]),
        case("zero attempts", File(b"retry:\n  max_attempts: 0\n"), &["retry.max_attempts", "0"]),
        case("zero interval", File(b"producer:\n  interval_ms: 0\n"), &["producer.interval_ms", "0"]),
        case("zero multiplier", File(b"retry:\n  multiplier: 0\n"), &["retry.multiplier", "0"]),
        case("share above 1", File(b"tracker:\n  failure_rate: 1.5\n"), &["tracker.failure_rate", "1.5"]),
        case("poison rate above 1", File(b"producer:\n  poison_rate: 2\n"), &["producer.poison_rate", "2"]),
        case(
            "negative share",
            File(b"producer:\n  cancel_share: -0.1\n"),
            &["producer.cancel_share", "-0.1"],
        ),
        case(
            "first delay above the largest",
            File(b"retry:\n  initial_delay_ms: 6000\n  max_delay_ms: 5000\n"),
            &["retry.initial_delay_ms", "retry.max_delay_ms", "6000", "5000"],
        ),
        case(
            "dead letters into the orders topic",
            File(b"dlq:\n  topic: orders\n"),
            &["dlq.topic", "kafka.topic", "orders"],
        ),
        case("empty topic", File(b"kafka:\n  topic: \"\"\n"), &["kafka.topic"]),
        case(
            "a dead-letter topic Kafka refuses",
            File(b"dlq:\n  topic: bad topic/..\n"),
            &["dlq.topic", "bad topic/..", "letters, digits, '.', '_' or '-'"],
        ),
        Case {
            env: &[("DLQ_TOPIC", "bad topic/..")],
            ..case("DLQ_TOPIC='bad topic/..'", None, &["DLQ_TOPIC", "bad topic/..", "dlq.topic"])
        },
        case("a dead-letter topic named ..", File(b"dlq:\n  topic: \"..\"\n"), &["dlq.topic", ".."]),
        case(
            "retries that outlast max.poll.interval.ms",
            File(b"retry:\n  max_attempts: 100\n  initial_delay_ms: 3600000\n  max_delay_ms: 3600000\n"),
            &["retry.max_attempts", "kafka.properties.max.poll.interval.ms", "300000"],
        ),
        case(
            "retries and processing delay that outlast a given max.poll.interval.ms",
            File(b"kafka:\n  properties:\n    max.poll.interval.ms: 10000\ntracker:\n  processing_delay_ms: 2000\nretry:\n  max_attempts: 5\n"),
            &["retry.max_attempts", "tracker.processing_delay_ms", "kafka.properties.max.poll.interval.ms (10000)"],
        ),
        case(
            "max.poll.interval.ms that is not a number",
            File(b"kafka:\n  properties:\n    max.poll.interval.ms: soon\n"),
            &["max.poll.interval.ms", "soon"],
        ),
        case(
            "session timeout out of range",
            File(b"kafka:\n  session_timeout_ms: 10\n"),
            &["kafka.session_timeout_ms", "10"],
        ),
        case(
            "instance id with a slash in the file",
            File(b"tracker:\n  instance_id: a/b\n"),
            &["tracker.instance_id", "a/b"],
        ),
        case("a directory as --config", Directory, &["config", "directory"]),
        case(
            "a binary file as --config",
            File(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00binary"),
            &["config.yaml"],
        ),
        case("NUL bytes as --config", File(b"\x00\x00\x00\x00"), &["config.yaml"]),
        case("a missing --config file", Missing, &["does-not-exist.yaml"]),
        Case {
            env: &[("RETRY_MAX_ATTEMPTS", "abc")],
            ..case("RETRY_MAX_ATTEMPTS=abc", None, &["RETRY_MAX_ATTEMPTS", "abc"])
        },
        Case {
            env: &[("RETRY_MAX_ATTEMPTS", "0")],
            ..case("RETRY_MAX_ATTEMPTS=0", None, &["RETRY_MAX_ATTEMPTS", "0", "retry.max_attempts"])
        },
        Case {
            env: &[("DLQ_ENABLED", "maybe")],
            ..case("DLQ_ENABLED=maybe", None, &["DLQ_ENABLED", "maybe"])
        },
        Case {
            env: &[("KAFKA_AUTO_OFFSET_RESET", "oldest")],
            ..case("KAFKA_AUTO_OFFSET_RESET=oldest", None, &["KAFKA_AUTO_OFFSET_RESET", "oldest"])
        },
        Case {
            env: &[("TRACKER_INSTANCE_ID", "../etc")],
            ..case("TRACKER_INSTANCE_ID=../etc", None, &["TRACKER_INSTANCE_ID", "../etc"])
        },
        Case {
            env: &[("TRACKER_FAILURE_RATE", "2")],
            ..case("TRACKER_FAILURE_RATE=2", None, &["TRACKER_FAILURE_RATE", "2", "tracker.failure_rate"])
        },
        Case { env: &[("KAFKA_TOPIC", "  ")], ..case("KAFKA_TOPIC blank", None, &["KAFKA_TOPIC"]) },
        Case { args: &["--instance-id", "a/b"], ..case("--instance-id a/b", None, &["instance", "a/b"]) },
        Case {
            args: &["--instance-id", "../../etc/passwd"],
            ..case("--instance-id ../../etc/passwd", None, &["instance", "../../etc/passwd"])
        },
        Case { args: &["--failure-rate", "7"], ..case("--failure-rate 7", None, &["failure_rate", "7"]) },
        Case {
            never: &[SECRET],
            ..case(
                "a secret next to an unknown key",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\n  brokr: x\n"),
                &["brokr"],
            )
        },
        Case {
            never: &[SECRET],
            ..case(
                "a secret next to a bad value",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\nretry:\n  max_attempts: 0\n"),
                &["retry.max_attempts"],
            )
        },
        Case {
            never: &[SECRET],
            ..case(
                "a secret next to a property name with a space",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\n    \"bad name\": 1\n"),
                &["bad name"],
            )
        },
        Case {
            never: &[SECRET],
            ..case(
                "a property given twice",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\n    sasl.password: hunter3\n"),
                &["kafka.properties: sasl.password is given twice"],
            )
        },
        Case {
            never: &[SECRET],
            ..case(
                "a secret of the wrong type",
                File(b"kafka:\n  properties:\n    sasl.password: [hunter2]\n"),
                &["sasl.password"],
            )
        },
        Case {
            never: &[SECRET],
            ..case(
                "a secret in a malformed file",
                File(b"kafka:\n  properties:\n    sasl.password: \"hunter2\n"),
                &["config.yaml"],
            )
        },
    ]
}

#[test]
fn tracker_rejects_every_bad_configuration_with_one_clear_line() {
    check_all(Path::new(env!("CARGO_BIN_EXE_tracker")), &tracker_cases());
}

/// Values with a line break end up in the error message as they are, so the message takes two
/// lines (errors about a file key print the value with `Display`, not `Debug`).
#[test]
fn values_with_a_newline_still_give_one_line() {
    let cases = [
        Case {
            args: &["--instance-id", "bad\nid"],
            ..case("--instance-id with a newline", Source::None, &["instance"])
        },
        case(
            "instance id with a newline in the file",
            Source::File(b"tracker:\n  instance_id: \"bad\\nid\"\n"),
            &["instance"],
        ),
        case(
            "property name with a newline",
            Source::File(b"kafka:\n  properties:\n    \"bad\\nname\": 1\n"),
            &["kafka.properties"],
        ),
    ];
    check_all(Path::new(env!("CARGO_BIN_EXE_tracker")), &cases);
}
