//! Bad configuration through the producer binary (the tracker's tests try many more cases of
//! the configuration crate both binaries share): exit code 2, one `error: ` line naming the
//! culprit, no file created, no secret printed.

use std::path::Path;

use testkit::config_errors::{case, check_all, Case, Source};

use crate::util::PRODUCER;

const SECRET: &str = "hunter2";

#[test]
fn producer_rejects_bad_configuration_with_one_clear_line() {
    use Source::*;
    let cases = [
        case("malformed YAML", File(b"producer: [\n"), &["config.yaml"]),
        case("zero interval", File(b"producer:\n  interval_ms: 0\n"), &["producer.interval_ms", "0"]),
        case(
            "poison rate above 1",
            File(b"producer:\n  poison_rate: 1.5\n"),
            &["producer.poison_rate", "1.5"],
        ),
        Case {
            env: &[("PRODUCER_INTERVAL_MS", "soon")],
            ..case("PRODUCER_INTERVAL_MS=soon", None, &["PRODUCER_INTERVAL_MS", "soon"])
        },
        case("a missing --config file", Missing, &["does-not-exist.yaml"]),
        case(
            "a dead-letter topic Kafka refuses",
            File(b"dlq:\n  topic: bad topic/..\n"),
            &["dlq.topic", "bad topic/.."],
        ),
        Case {
            never: &[SECRET],
            ..case(
                "a secret next to an unknown key",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\n  brokr: x\n"),
                &["brokr"],
            )
        },
    ];
    check_all(Path::new(PRODUCER), &cases);
}
