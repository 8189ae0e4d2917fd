//! A poison pill of each kind goes through the real tracker to the dead-letter topic; `list`,
//! `show` and `export` show each one exactly.

use std::collections::BTreeMap;

use dlq::export::ExportedLetter;
use models::{OrderGenerator, PoisonKind, Rejection};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_poison_kind_reaches_the_dlq_and_list_show_export_show_it_exactly() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let _tracker = Tracker::start(&broker, dir.path(), "instance-1", &[]);
    let mut generator = OrderGenerator::seeded(3);
    let records: Vec<RawRecord> = PoisonKind::ALL
        .iter()
        .enumerate()
        .map(|(n, kind)| {
            let mut record = RawRecord::new(
                format!("poison-{kind}").as_bytes(),
                &kind.payload(&mut generator, n as u64, chrono::Utc::now()),
                &[("poison_kind", kind.name()), ("trace_id", &format!("trace-{n}"))],
            );
            // A header value that is not UTF-8 travels as it is.
            record.headers.push((b"raw".to_vec(), Some(vec![0xc3, 0x28])));
            record
        })
        .collect();
    let stored = produce(&broker, "orders", &records).await;
    let letters = wait_for_records(&broker, "orders-dlq", PoisonKind::ALL.len());
    assert_eq!(letters.len(), PoisonKind::ALL.len(), "one dead letter per poison pill");

    let list = dlq(&broker, dir.path(), &["list", "--json"], &[]).expect_code(0);
    let entries: BTreeMap<String, serde_json::Value> = json_lines(&list.stdout)
        .into_iter()
        .map(|entry| (entry["key"].as_str().unwrap().to_owned(), entry))
        .collect();
    let export = dlq(&broker, dir.path(), &["export"], &[]).expect_code(0);
    let exported: BTreeMap<Vec<u8>, dlq::export::DecodedLetter> = export
        .stdout
        .lines()
        .map(|line| ExportedLetter::decode_line(line).unwrap())
        .map(|letter| (letter.key.clone().unwrap(), letter))
        .collect();
    assert_eq!((entries.len(), exported.len()), (8, 8));

    for ((kind, record), (partition, offset)) in PoisonKind::ALL.iter().zip(&records).zip(&stored) {
        let key = format!("poison-{kind}");
        let entry = &entries[&key];
        let expected_kind = match kind.rejection() {
            Rejection::Deserialization => "deserialization",
            Rejection::Validation => "validation",
        };
        assert_eq!(entry["error_kind"], expected_kind, "{kind}");
        assert_eq!(entry["original_topic"], "orders", "{kind}");
        assert_eq!(
            (entry["original_partition"].as_i64(), entry["original_offset"].as_i64()),
            (Some(i64::from(*partition)), Some(*offset))
        );
        assert_eq!(entry["attempts"], 1, "permanent failures are not retried");
        assert_eq!(entry["instance_id"], "instance-1");
        assert_eq!(entry["payload_bytes"], record.payload.as_ref().unwrap().len(), "{kind}");

        // The export holds every byte: key, payload, the original headers first, then dlq.*.
        let letter = &exported[key.as_bytes()];
        assert_eq!(letter.payload, record.payload, "{kind}: payload bytes");
        assert_eq!(letter.headers[..3], record.headers[..], "{kind}: original headers");
        let names: Vec<&[u8]> = letter.headers[3..].iter().map(|(name, _)| name.as_slice()).collect();
        assert!(names.iter().all(|name| name.starts_with(b"dlq.")), "{kind}: {names:?}");

        let position = format!("{}:{}", entry["partition"], entry["offset"]);
        let show = dlq(&broker, dir.path(), &["show", &position], &[]).expect_code(0).stdout;
        let header_line = |name: &str, value: &str| {
            show.lines().any(|line| line.trim_start().starts_with(name) && line.trim_end().ends_with(value))
        };
        assert!(show.starts_with(&format!("dead letter orders-dlq/{position}\n")), "{show}");
        assert!(show.contains(&format!("  key         {key}\n")), "{show}");
        assert!(header_line("poison_kind", kind.name()), "{show}");
        assert!(header_line("raw", "0xc328 (2 bytes, not UTF-8)"), "{show}");
        assert!(header_line("dlq.original.offset", &offset.to_string()), "{show}");
        assert!(header_line("dlq.error.kind", expected_kind), "{show}");
        let payload = record.payload.as_deref().unwrap();
        match kind {
            PoisonKind::NotUtf8 => {
                assert!(
                    show.contains(&format!("payload ({} bytes, not UTF-8, hex dump)\n", payload.len())),
                    "{show}"
                );
                assert!(
                    show.contains(
                        "00000000  7b 22 6f 72 64 65 72 22 3a 20 22 c3 28 ff fe 22  |{\"order\": \".(..\"|"
                    ),
                    "{show}"
                );
            }
            PoisonKind::Empty => assert!(show.ends_with("payload: empty (0 bytes)\n"), "{show}"),
            PoisonKind::InvalidJson => {
                assert!(
                    show.contains(&format!("payload ({} bytes, text, not JSON)\n", payload.len())),
                    "{show}"
                );
                assert!(show.ends_with(&format!("{}\n", String::from_utf8_lossy(payload))), "{show}");
            }
            _ => {
                assert!(show.contains(&format!("payload ({} bytes, JSON)\n", payload.len())), "{show}");
                let pretty = &show[show.find("bytes, JSON)\n").unwrap() + 13..];
                let reparsed: serde_json::Value = serde_json::from_str(pretty).unwrap();
                assert_eq!(reparsed, serde_json::from_slice::<serde_json::Value>(payload).unwrap(), "{kind}");
            }
        }
    }

    let table = dlq(&broker, dir.path(), &["list"], &[]).expect_code(0).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("DLQ  AGE  ORIGIN"), "{table}");
    assert_eq!(lines.len(), 1 + 8 + 1, "{table}");
    assert_eq!(lines[9], "8 dead letters in orders-dlq");
    assert!(lines.iter().any(|line| line.contains("(not UTF-8) 7b226f726465")), "{table}");

    // The tracker's audit lines carry each record's headers.
    for ((kind, (partition, offset)), n) in PoisonKind::ALL.iter().zip(&stored).zip(0..) {
        let line = wait_for_audit(dir.path(), *partition, *offset);
        assert_eq!(
            line["headers"],
            serde_json::json!({"poison_kind": kind.name(), "trace_id": format!("trace-{n}"), "raw": {"base64": "wyg="}}),
            "{kind}"
        );
    }
}
