//! The golden test of the audit trail: known records in, the exact `.events` bytes out.
//!
//! The `.events` line is the tracker's contract with everyone who reads its files (the
//! monitor, the report, users' `jq`). Speed work may change how a line is built, never what it
//! says: this test pins every byte, timestamps fixed, for a valid order and every kind of
//! record that is not one. After an intended change of the format, regenerate the file with
//! `GOLDEN_UPDATE=1 cargo test -p tracker golden` and review the diff like code.

use std::path::PathBuf;

use models::audit::MessageOrigin;

use deadletter::{Inspection, Payload};

/// A valid order event, compact, as the producer writes it (the example of docs/events.md).
const VALID: &str = concat!(
    r#"{"event_id":"e235395d-ea8b-46dc-ac26-a8a417b553b1","event_type":"order.created","version":1,"#,
    r#""timestamp":"2026-11-23T05:27:24.410Z","sequence":1,"order":{"order_id":"b033e7b6-4acf-4267-ab54-fbb7c3136195","#,
    r#""status":"created","customer":{"customer_id":"client30","name":"Lucas Lefèvre","email":"client30@example.com"},"#,
    r#""items":[{"product_id":"SKU-1011","name":"Cotton T-shirt","quantity":1,"unit_price_cents":1599},"#,
    r#"{"product_id":"SKU-1014","name":"French press","quantity":2,"unit_price_cents":3100}],"#,
    r#""currency":"EUR","subtotal_cents":7799,"shipping_cents":0,"tax_cents":1560,"total_cents":9359,"#,
    r#""payment":{"method":"credit_card","status":"pending","transaction_id":"txn_3f55605173df1642","card_last4":"8884"},"#,
    r#""shipping_address":{"street":"64 avenue de la Gare","postal_code":"51100","city":"Reims","country":"FR"},"#,
    r#""billing_address":{"street":"64 avenue de la Gare","postal_code":"51100","city":"Reims","country":"FR"},"#,
    r#""created_at":"2026-11-23T05:27:24.410Z","updated_at":"2026-11-23T05:27:24.410Z"}}"#
);

/// One record as the consumer hands it over.
struct Record {
    key: Option<&'static [u8]>,
    payload: Option<Vec<u8>>,
    headers: Vec<(&'static [u8], Option<&'static [u8]>)>,
}

fn records() -> Vec<Record> {
    let valid = VALID.as_bytes().to_vec();
    // Text that JSON must escape: quotes, a backslash, control characters, U+2028, an emoji.
    let escapes = VALID.replace("Lucas Lefèvre", r#"Lu\"cas\\ \t\u0001 \u2028 Lefèvre 🛒"#).into_bytes();
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(VALID).unwrap()).unwrap();
    let bad_amounts = VALID.replace(r#""total_cents":9359"#, r#""total_cents":9360"#).into_bytes();
    let cut = VALID.as_bytes()[..VALID.len() / 2].to_vec();
    vec![
        Record { key: Some(b"b033e7b6-4acf-4267-ab54-fbb7c3136195"), payload: Some(valid), headers: vec![] },
        Record {
            key: Some(b"k"),
            payload: Some(escapes),
            headers: vec![(b"trace_id", Some(b"4bf92f3577b34da6")), (b"empty", None)],
        },
        Record { key: None, payload: Some(pretty), headers: vec![] },
        Record {
            key: Some(b"bad"),
            payload: Some(bad_amounts),
            headers: vec![(b"poison_kind", Some(b"bad-amounts"))],
        },
        Record { key: Some(b"cut"), payload: Some(cut), headers: vec![] },
        Record { key: Some(b"shape"), payload: Some(br#"["a","b"]"#.to_vec()), headers: vec![] },
        Record {
            key: Some(b"\xff\xfe key"),
            payload: Some(b"\xff\xfe\x00 not utf-8 \xc3".to_vec()),
            headers: vec![(b"\xff\xfe", Some(b"\x00\x01\xff")), (b"dlq.redrive_count", Some(b"1"))],
        },
        Record { key: Some(b"empty"), payload: Some(Vec::new()), headers: vec![] },
        Record { key: Some(b"tombstone"), payload: None, headers: vec![] },
    ]
}

/// The `.events` bytes the tracker writes for [`records`], offsets 0, 1, 2… of `orders`/3.
fn audit_trail() -> Vec<u8> {
    let mut out = Vec::new();
    for (offset, record) in records().iter().enumerate() {
        let payload = Payload::new(record.payload.as_deref());
        let inspection = Inspection::of_payload(payload);
        let origin = MessageOrigin {
            topic: "orders",
            partition: 3,
            offset: offset as i64,
            key: record.key,
            payload: record.payload.as_deref(),
        };
        inspection
            .audit_entry(payload, "2026-11-27T21:00:00.000Z", "tracker-golden", origin)
            .with_cluster_id(Some("golden-cluster"))
            .with_headers(&record.headers)
            .write_line(&mut out);
    }
    out
}

fn golden_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/audit.events")
}

#[test]
fn the_audit_trail_is_byte_for_byte_the_golden_file() {
    let written = audit_trail();
    let path = golden_file();
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::write(&path, &written).unwrap();
    }
    let golden = std::fs::read(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (GOLDEN_UPDATE=1 writes it)", path.display()));
    let (written_lines, golden_lines): (Vec<_>, Vec<_>) =
        (written.split(|&b| b == b'\n').collect(), golden.split(|&b| b == b'\n').collect());
    for (number, (got, want)) in written_lines.iter().zip(&golden_lines).enumerate() {
        assert!(
            got == want,
            "line {} differs from {}:\n got: {}\nwant: {}",
            number + 1,
            path.display(),
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want)
        );
    }
    assert_eq!(written_lines.len(), golden_lines.len(), "line count differs from {}", path.display());
}

#[test]
fn every_line_is_json_that_says_what_the_docs_say() {
    let lines: Vec<serde_json::Value> = audit_trail()
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    assert_eq!(lines.len(), records().len());
    let deserialized: Vec<bool> = lines.iter().map(|line| line["deserialized"].as_bool().unwrap()).collect();
    assert_eq!(deserialized, [true, true, true, true, false, false, false, false, false]);
    assert_eq!(lines[0]["order_full"], serde_json::from_str::<serde_json::Value>(VALID).unwrap()["order"]);
    assert_eq!(lines[1]["order_full"]["customer"]["name"], "Lu\"cas\\ \t\u{1} \u{2028} Lefèvre 🛒");
    assert_eq!(lines[3]["validation_error"].as_str().map(|text| text.contains("total")), Some(true));
    assert!(lines[6]["raw_message_base64"].is_string());
    assert_eq!(lines[8]["raw_message"], "");
}
