//! The real tracker binary with no broker to reach: it keeps trying, and its stderr says so at a
//! bounded rate instead of a warning per librdkafka retry.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::tracker::Tracker;
use testkit::wait_until;

const INSTANCE: &str = "no-broker";

/// The period of the client errors' throttle (`models::health::ErrorThrottle::PERIOD`).
const PERIOD: Duration = Duration::from_secs(10);

/// The clients of a tracker that may report the same text: the consumer and the dead-letter
/// producer.
const CLIENTS: usize = 2;

/// The `librdkafka` warnings on stderr, each as its text without the timestamp and the count of
/// repeats held back (so a text and its later repeat are the same key).
fn warnings(dir: &Path) -> Vec<String> {
    let stderr = std::fs::read_to_string(dir.join(format!("{INSTANCE}.stderr"))).unwrap_or_default();
    stderr
        .lines()
        .filter(|line| line.contains(" WARN librdkafka: "))
        .map(|line| {
            let text = line.split_once(" WARN librdkafka: ").map_or(line, |(_, text)| text);
            text.split(" repeats_not_logged=").next().unwrap_or(text).to_owned()
        })
        .collect()
}

/// librdkafka reports "1/1 brokers are down" about 20 times a second while no broker answers.
/// Over a measured interval, each warning text reaches stderr at most once per 10 s per client,
/// and the whole stderr stays under three lines a second (about 40 before the throttle).
#[test]
fn an_unreachable_broker_is_reported_at_a_bounded_rate() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: the port was free a moment ago and nobody is given it.
    let port = testkit::free_port().expect("a free port");
    let mut tracker = Tracker::start_on(&format!("127.0.0.1:{port}"), dir.path(), INSTANCE, &[]);

    // The interval starts once the client has said the brokers are down, so the flood (if any)
    // is under way.
    wait_until(Duration::from_secs(30), "the first \"brokers are down\" warning", || {
        warnings(dir.path()).iter().any(|text| text.contains("brokers are down"))
    });
    let before = warnings(dir.path()).len();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let after = warnings(dir.path());
    let elapsed = start.elapsed();
    assert!(tracker.child.try_wait().unwrap().is_none(), "the tracker keeps trying");

    let mut per_text: BTreeMap<&str, usize> = BTreeMap::new();
    for text in &after[before..] {
        *per_text.entry(text).or_default() += 1;
    }
    let periods = (elapsed.as_secs_f64() / PERIOD.as_secs_f64()).ceil() as usize + 1;
    for (text, count) in &per_text {
        assert!(
            *count <= CLIENTS * periods,
            "{count} warnings {text:?} in {elapsed:?}: more than once per {PERIOD:?} per client"
        );
    }
    let lines = after.len() - before;
    let rate = lines as f64 / elapsed.as_secs_f64();
    eprintln!("{lines} warnings in {elapsed:?} ({rate:.2} a second): {per_text:#?}");
    assert!(rate < 3.0, "{lines} warnings in {elapsed:?} ({rate:.2} a second)");

    tracker.signal(libc::SIGTERM);
    let status = tracker.wait_for_exit(Duration::from_secs(30));
    assert!(status.success(), "the tracker stops on SIGTERM: {status}");
}
