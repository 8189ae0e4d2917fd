//! `--poison KIND`: each kind arrives with the property it is named after, keyed and numbered.

use std::time::Duration;

use models::{OrderEvent, PoisonKind};
use testkit::Broker;

use crate::util::{producer, read_records, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_poison_kind_arrives_as_specified() {
    let broker = Broker::start().expect("broker starts");
    let dir = tempfile::tempdir().unwrap();
    for kind in PoisonKind::ALL {
        broker.create_topic(&format!("poison-{kind}"), 1).await.expect("topic created");
    }
    let runs: Vec<_> = PoisonKind::ALL
        .iter()
        .map(|kind| {
            let topic = format!("poison-{kind}");
            let log_dir = format!("log-{kind}");
            let args = [
                "--broker",
                &broker.bootstrap(),
                "--topic",
                &topic,
                "--poison",
                kind.name(),
                "--count",
                "3",
                "--rate",
                "0",
                "--log-dir",
                &log_dir,
            ];
            (*kind, Running::start(producer(dir.path(), &args)))
        })
        .collect();
    for (kind, running) in runs {
        let finished = running.finish(Duration::from_secs(60));
        assert_eq!(finished.exit_code(), 0, "{kind}: {finished:?}");
        assert!(
            finished.stdout.contains("sent 3 (3 poison), acknowledged 3,"),
            "{kind}: {}",
            finished.stdout
        );

        let mut records = read_records(&broker, &format!("poison-{kind}"), 3, Duration::from_secs(30));
        records.sort_by_key(|record| record.offset);
        assert_eq!(records.len(), 3, "{kind}");
        for (index, record) in records.iter().enumerate() {
            let key = std::str::from_utf8(record.key.as_deref().expect("poison pills have a key")).unwrap();
            assert!(uuid::Uuid::parse_str(key).is_ok(), "{kind}: key {key:?} is a UUID");
            assert_eq!(record.header("producer_sequence"), Some(index.to_string().as_str()), "{kind}");
            assert_eq!(record.header("poison_kind"), Some(kind.name()));
            let payload = record.payload.clone().unwrap_or_default();
            let is_json = serde_json::from_slice::<serde_json::Value>(&payload).is_ok();
            assert_eq!(record.header("content-type").is_some(), is_json, "{kind}: content-type only on JSON");
            match kind {
                PoisonKind::NotUtf8 => assert!(std::str::from_utf8(&payload).is_err(), "not UTF-8"),
                PoisonKind::Empty => assert!(payload.is_empty(), "empty"),
                PoisonKind::Oversized => {
                    assert!(payload.len() > 900 * 1024, "oversized: {} bytes", payload.len());
                    assert!(OrderEvent::from_slice(&payload).is_err());
                }
                PoisonKind::BadAmounts => {
                    let event = OrderEvent::from_slice(&payload).expect("bad-amounts parses");
                    assert!(models::validate(&event).is_err(), "bad-amounts fails validation");
                }
                _ => assert!(OrderEvent::from_slice(&payload).is_err(), "{kind} does not parse"),
            }
            match kind {
                PoisonKind::InvalidJson | PoisonKind::NotUtf8 | PoisonKind::Empty => {
                    assert!(!is_json, "{kind}")
                }
                _ => assert!(is_json, "{kind} is JSON"),
            }
        }
    }
}
