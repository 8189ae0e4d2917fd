//! The two consumer group protocols on Apache Kafka 4, through the real tracker: the classic
//! one (every member gives up every partition at each rebalance) and KIP-848's `consumer` (the
//! broker moves only the partitions that change hands; the others keep flowing). Both audit
//! every offset once the group is stable. Broker: Apache Kafka (Tansu has no KIP-848).

use std::collections::BTreeSet;

use serde_json::Value;
use testkit::tracker::*;
use testkit::wait_until;

use crate::end_to_end::GENEROUS;

/// The partitions of each `kind` entry (`partitions_assigned`, `partitions_revoked`) of one
/// instance, in order.
fn changes(dir: &std::path::Path, id: &str, kind: &str, field: &str) -> Vec<BTreeSet<i64>> {
    log_entries(dir, id, kind)
        .iter()
        .map(|entry| {
            entry["metadata"][field].as_array().map(|list| list.iter().filter_map(Value::as_i64).collect())
        })
        .map(Option::unwrap_or_default)
        .collect()
}

/// Starts `first`, waits until it owns the three partitions, starts `second`, and waits until
/// the two share them; checks that the stable group audits every record once; returns what
/// `first` gave up (each `partitions_revoked` entry) and what it kept.
async fn first_gives_way(protocol: &str) -> (Vec<BTreeSet<i64>>, BTreeSet<i64>) {
    let broker = kafka_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("KAFKA_GROUP_PROTOCOL", protocol)];
    let first = Tracker::start(&broker, dir.path(), "first", &env);
    let whole =
        |id: &str| changes(dir.path(), id, "partitions_assigned", "partitions").pop().unwrap_or_default();
    wait_until(GENEROUS, "the first tracker owns the three partitions", || whole("first").len() == 3);
    let second = Tracker::start(&broker, dir.path(), "second", &env);
    wait_until(GENEROUS, "the two trackers share the three partitions", || {
        let (a, b) = (whole("first"), whole("second"));
        !a.is_empty() && !b.is_empty() && a.len() + b.len() == 3 && a.is_disjoint(&b)
    });

    // Stable: every record is audited, once, by the owner of its partition.
    let expected = produce_orders(&broker, &valid_orders(31, 120)).await;
    wait_for_offsets(dir.path(), &expected, GENEROUS);
    assert_eq!(offsets_seen(dir.path()), expected);
    assert_eq!(lines(dir.path(), "events").len(), expected.len(), "no duplicates in a stable group");
    let initialised = log_entries(dir.path(), "second", "kafka_initialised");
    assert_eq!(
        initialised[0]["metadata"]["group_protocol"], protocol,
        "the tracker says which protocol it runs"
    );
    let revoked = changes(dir.path(), "first", "partitions_revoked", "partitions");
    let kept = whole("first");
    drop((first, second));
    (revoked, kept)
}

/// Classic: when a second member joins, the first gives up all three partitions, then gets
/// some back: everything pauses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_classic_protocol_a_join_revokes_every_partition() {
    let (revoked, kept) = first_gives_way("classic").await;
    assert!(!kept.is_empty());
    assert_eq!(revoked.len(), 1, "one rebalance: {revoked:?}");
    assert_eq!(revoked[0], BTreeSet::from([0, 1, 2]), "the eager protocol revokes everything first");
}

/// KIP-848: when a second member joins, the first gives up only the partitions that move; the
/// ones it keeps never stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_consumer_protocol_a_join_revokes_only_what_moves() {
    let (revoked, kept) = first_gives_way("consumer").await;
    assert!(!kept.is_empty(), "the first tracker keeps some partitions");
    let given_up: BTreeSet<i64> = revoked.iter().flatten().copied().collect();
    assert!(!given_up.is_empty(), "some partitions moved to the second tracker");
    assert!(
        given_up.is_disjoint(&kept),
        "a partition it keeps was never revoked: revoked {revoked:?}, kept {kept:?}"
    );
}
