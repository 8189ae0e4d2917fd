//! `-X NAME=VALUE`, as in kcat, on the three binaries that talk to Kafka (producer, tracker,
//! dlq): any librdkafka property, over `kafka.properties`, with secrets kept secret.
//!
//! - SASL given with `-X` alone (no configuration file) logs every binary in, `-X client.id`
//!   names the tracker's member of the group as the broker sees it, and the password appears in
//!   no output and no file;
//! - a malformed `-X`, a property the programs own, and a property librdkafka does not know are
//!   each one clear error with exit code 2, before anything connects or any file is made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use testkit::config_errors::{case, check_all, Case, Source};
use testkit::tracker::{lines, offsets_seen};
use testkit::{wait_until, Broker, Running};

const USER: &str = "alice";
/// Distinctive enough that finding it anywhere means it leaked.
const PASSWORD: &str = "Xflag-pw-9Tb4-must-never-print";
const ORDERS: usize = 50;

/// The binaries that take `-X`.
const BINARIES: [&str; 3] = ["producer", "tracker", "dlq"];

fn binary(name: &str) -> PathBuf {
    testkit::workspace_binary(name)
}

/// `args`, then the broker and SASL through `-X` only.
fn with_sasl(broker: &Broker, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    all.extend(["-b".to_owned(), broker.bootstrap()]);
    for property in [
        "security.protocol=SASL_PLAINTEXT".to_owned(),
        "sasl.mechanism=SCRAM-SHA-512".to_owned(),
        format!("sasl.username={USER}"),
        format!("sasl.password={PASSWORD}"),
    ] {
        all.extend(["-X".to_owned(), property]);
    }
    all
}

fn start(name: &str, dir: &Path, args: &[String]) -> Running {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(testkit::project_command(&binary(name), dir, &args))
}

/// The client ids of the members of consumer group `group`, as the broker reports them.
fn member_client_ids(broker: &Broker, group: &str) -> Vec<String> {
    let admin: BaseConsumer = broker.client_config().create().expect("a client for the group list");
    match admin.fetch_group_list(Some(group), Duration::from_secs(5)) {
        Ok(list) => list
            .groups()
            .iter()
            .flat_map(|group| group.members().iter().map(|member| member.client_id().to_owned()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Broker: Apache Kafka with SASL/SCRAM ([`Broker::start_sasl`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_and_the_client_id_given_with_x_reach_the_broker_and_the_password_never_shows() {
    let broker = Broker::start_sasl(USER, PASSWORD).unwrap_or_else(|error| panic!("{error:#}"));
    let dir = tempfile::tempdir().expect("run folder");
    let count = ORDERS.to_string();

    let produced = start(
        "producer",
        dir.path(),
        &with_sasl(&broker, &["--count", &count, "--rate", "0", "--create-topics", "--log-dir", "."]),
    )
    .finish(Duration::from_secs(60));
    assert_eq!(produced.code, Some(0), "producer with -X:\n{}", produced.all());
    assert!(produced.stdout.contains(&format!("acknowledged {ORDERS}, failed 0")), "{}", produced.stdout);

    let tracker_args = with_sasl(
        &broker,
        &["--instance-id", "xflag-1", "--log-dir", ".", "-X", "client.id=chosen-with-x", "--no-dlq"],
    );
    let tracker = start("tracker", dir.path(), &tracker_args);
    wait_until(Duration::from_secs(60), &format!("the tracker audited {ORDERS} orders"), || {
        offsets_seen(dir.path()).len() >= ORDERS
    });
    wait_until(Duration::from_secs(30), "the broker lists the tracker under the -X client.id", || {
        member_client_ids(&broker, "order-tracker").iter().any(|id| id == "chosen-with-x")
    });
    tracker.signal(libc::SIGTERM);
    let tracked = tracker.finish(Duration::from_secs(20));
    assert_eq!(tracked.code, Some(0), "tracker with -X:\n{}", tracked.all());

    let listed = start("dlq", dir.path(), &with_sasl(&broker, &["list"])).finish(Duration::from_secs(30));
    assert_eq!(listed.code, Some(0), "dlq list with -X:\n{}", listed.all());
    assert!(listed.stdout.ends_with("0 dead letters in orders-dlq\n"), "{}", listed.stdout);

    // The start entry shows the properties given with -X, the password masked.
    let started: Vec<serde_json::Value> =
        lines(dir.path(), "log").into_iter().filter(|entry| entry["kind"] == "started").collect();
    let properties = &started[0]["metadata"]["config"]["kafka"]["properties"];
    assert_eq!(properties["client.id"], "chosen-with-x");
    assert_eq!(properties["sasl.username"], USER);
    assert_eq!(properties["sasl.password"], config::REDACTED);
    for (what, text) in [
        ("the producer's output", produced.all()),
        ("the tracker's output", tracked.all()),
        ("dlq's output", listed.all()),
    ] {
        assert!(!text.contains(PASSWORD), "the password leaked into {what}:\n{text}");
    }
    for entry in std::fs::read_dir(dir.path()).expect("the run folder") {
        let path = entry.expect("an entry").path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("a file")).into_owned();
        assert!(!text.contains(PASSWORD), "the password leaked into {}", path.display());
    }
}

/// No broker: every case stops before connecting.
#[test]
fn owned_and_unknown_properties_are_one_clear_error_in_every_binary() {
    const NO_BROKER: &[&str] = &["-b", "127.0.0.1:1"];
    let cases = |extra: &'static [&'static str]| -> Vec<Case> {
        let args = |x: &'static [&'static str]| -> &'static [&'static str] {
            Box::leak([NO_BROKER, x, extra].concat().into_boxed_slice())
        };
        vec![
            Case {
                args: args(&["-X", "enable.auto.offset.store=true"]),
                ..case(
                    "an offset store the tracker owns",
                    Source::None,
                    &["enable.auto.offset.store", "set it themselves", "at-least-once"],
                )
            },
            Case {
                args: args(&["-X", "request.required.acks=0"]),
                ..case("acks under its other name", Source::None, &["acks", "all in-sync replicas"])
            },
            Case {
                args: args(&["-X", "bootstrap.servers=elsewhere:9092"]),
                ..case("the brokers, which are -b", Source::None, &["bootstrap.servers", "-b/--broker"])
            },
            Case {
                args: args(&[]),
                ..case(
                    "an owned property in the file",
                    Source::File(b"kafka:\n  properties:\n    enable.auto.commit: false\n"),
                    &["enable.auto.commit", "(-X or kafka.properties)"],
                )
            },
            Case {
                args: args(&["-X", "no.such.property=1"]),
                ..case(
                    "a name librdkafka does not know",
                    Source::None,
                    &["no.such.property", "No such configuration property"],
                )
            },
            Case {
                args: args(&["-X", "linger.ms=soon"]),
                ..case("a value librdkafka refuses", Source::None, &["linger.ms", "Invalid value"])
            },
            Case {
                args: args(&["-X", "sasl.pasword=Typo-pw-2Wd8-never-shown"]),
                never: &["Typo-pw-2Wd8-never-shown"],
                ..case("a misspelt secret property", Source::None, &["sasl.pasword"])
            },
        ]
    };
    for name in BINARIES {
        // dlq needs a command; the others need nothing more.
        let extra: &'static [&'static str] = if name == "dlq" { &["list"] } else { &[] };
        check_all(&binary(name), &cases(extra));
    }
}

#[test]
fn a_malformed_x_says_what_is_allowed_and_never_repeats_the_value() {
    for name in BINARIES {
        for (bad, why) in
            [("client.id", "no '='"), ("sasl.password:Sep-pw-5Lc1", "no '='"), ("=x", "no name")]
        {
            let dir = tempfile::tempdir().expect("a folder");
            let finished = testkit::run(
                testkit::project_command(&binary(name), dir.path(), &["-X", bad]),
                Duration::from_secs(20),
            );
            assert_eq!(finished.code, Some(2), "{name} -X {bad}: {}", finished.all());
            let first = finished.stderr.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("error: -X takes NAME=VALUE, a librdkafka property") && first.contains(why),
                "{name} -X {bad}: {first}"
            );
            assert!(!finished.all().contains("Sep-pw-5Lc1"), "{name}: {}", finished.all());
        }
    }
}
