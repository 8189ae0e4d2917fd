//! Bad configuration, through the real binaries: every case must stop before connecting, with
//! exit code 2 and one `error: ` line on stderr that names the culprit (and its value), without
//! panicking, without creating any file, and without ever printing a secret.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the configuration comes from in one case.
enum Source {
    /// No `--config` flag (and no `./config.yaml`).
    None,
    /// A file with these bytes, passed as `--config`.
    File(&'static [u8]),
    /// The configuration folder itself, passed as `--config`.
    Directory,
    /// A path that does not exist, passed as `--config`.
    Missing,
}

/// One bad configuration and what its error line must say.
struct Case {
    name: &'static str,
    source: Source,
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    /// Each of these must appear in the error line (the key or variable, the value...).
    mentions: &'static [&'static str],
    /// None of these may appear anywhere in the output (secrets).
    never: &'static [&'static str],
}

const fn case(name: &'static str, source: Source, mentions: &'static [&'static str]) -> Case {
    Case { name, source, env: &[], args: &[], mentions, never: &[] }
}

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

/// Runs `binary` for one case in an empty folder; returns the failures found (none is good).
fn check(binary: &Path, case: &Case) -> Vec<String> {
    let config_dir = tempfile::tempdir().unwrap();
    let work_dir = tempfile::tempdir().unwrap();
    let config_path: Option<PathBuf> = match case.source {
        Source::None => None,
        Source::File(bytes) => {
            let path = config_dir.path().join("config.yaml");
            std::fs::write(&path, bytes).unwrap();
            Some(path)
        }
        Source::Directory => Some(config_dir.path().to_owned()),
        Source::Missing => Some(config_dir.path().join("does-not-exist.yaml")),
    };
    let mut command = Command::new(binary);
    command.current_dir(work_dir.path()).env_clear().envs(case.env.iter().copied()).args(case.args);
    if let Some(path) = &config_path {
        command.arg("--config").arg(path);
    }
    let (stderr, stdout, code) = run_bounded(&mut command, work_dir.path());
    let stderr = String::from_utf8_lossy(&stderr);
    let stdout = String::from_utf8_lossy(&stdout);

    let mut failures = Vec::new();
    eprintln!("{}: {}", case.name, stderr.trim_end());
    let shown: String = stderr.chars().take(400).collect();
    let mut fail = |what: String| failures.push(format!("{}: {what}\n    stderr: {shown:?}", case.name));
    match code {
        Ok(Some(2)) => {}
        Ok(other) => fail(format!("exit code {other:?}, expected 2")),
        Err(still_running) => fail(still_running),
    }
    if stderr.lines().count() != 1 || !stderr.ends_with('\n') {
        fail(format!("{} lines on stderr, expected exactly one", stderr.lines().count()));
    }
    if !stderr.starts_with("error: ") {
        fail("stderr does not start with `error: `".into());
    }
    for needle in case.mentions {
        if !stderr.contains(needle) {
            fail(format!("the error does not mention {needle:?}"));
        }
    }
    for secret in case.never {
        if stderr.contains(secret) || stdout.contains(secret) {
            fail(format!("the secret {secret:?} is printed"));
        }
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        fail("panic text".into());
    }
    let created: Vec<_> =
        std::fs::read_dir(work_dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    if !created.is_empty() {
        fail(format!("files created before validation: {created:?}"));
    }
    failures
}

/// Longest time a binary may take to reject its configuration.
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

/// Runs `command` with its output in files outside `work_dir`; returns stderr, stdout and the
/// exit code, or an error when it did not exit within [`EXIT_DEADLINE`] (then it is killed).
fn run_bounded(command: &mut Command, work_dir: &Path) -> (Vec<u8>, Vec<u8>, Result<Option<i32>, String>) {
    let outputs = tempfile::tempdir().unwrap();
    assert_ne!(outputs.path(), work_dir);
    let stderr_path = outputs.path().join("stderr");
    let stdout_path = outputs.path().join("stdout");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + EXIT_DEADLINE;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Ok(status.code());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break Err(format!("still running after {EXIT_DEADLINE:?}: the configuration was accepted"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (std::fs::read(&stderr_path).unwrap(), std::fs::read(&stdout_path).unwrap(), code)
}

/// Runs every case and fails once, listing every case that went wrong.
fn check_all(binary: &Path, cases: &[Case]) {
    let failures: Vec<String> = cases.iter().flat_map(|case| check(binary, case)).collect();
    eprintln!("{} bad configurations tried with {}", cases.len(), binary.display());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
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

/// The producer shares the configuration crate; a few cases through its binary too. Cargo
/// builds it next to the tracker when the workspace's tests are built (`cargo test`, CI).
#[test]
fn producer_rejects_bad_configuration_with_one_clear_line() {
    let binary = Path::new(env!("CARGO_BIN_EXE_tracker")).with_file_name("producer");
    if !binary.is_file() {
        eprintln!("SKIPPED: no producer binary at {} (run the workspace's tests)", binary.display());
        return;
    }
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
        Case {
            never: &[SECRET],
            ..case(
                "a secret next to an unknown key",
                File(b"kafka:\n  properties:\n    sasl.password: hunter2\n  brokr: x\n"),
                &["brokr"],
            )
        },
    ];
    check_all(&binary, &cases);
}
