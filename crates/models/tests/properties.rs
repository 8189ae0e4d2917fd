//! Property tests of the models a consumer relies on: parsing hostile bytes never panics,
//! generated orders always validate and survive a JSON round trip, a changed amount is always
//! caught, and an audit line is always one line of JSON that keeps the payload exactly.

use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use models::audit::MessageOrigin;
use models::{validate, AuditEntry, OrderEvent, OrderGenerator, ValidationError};
use proptest::prelude::*;
use serde_json::Value;

/// Enough cases to find shallow bugs, few enough to keep `cargo test` quick.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

/// Parses and, when it parses, validates: the two steps a consumer applies to any payload.
fn inspect(payload: &[u8]) {
    if let Ok(event) = OrderEvent::from_slice(payload) {
        let _ = validate(&event);
    }
}

/// A time between 2000 and 2100, at millisecond precision like every time the producer writes.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800_000i64..4_102_444_800_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
}

/// Field names of the event schema, so generated objects sometimes look like real events.
const FIELD_NAMES: &[&str] = &[
    "event_id",
    "event_type",
    "version",
    "timestamp",
    "sequence",
    "order",
    "order_id",
    "status",
    "customer",
    "items",
    "currency",
    "subtotal_cents",
    "shipping_cents",
    "tax_cents",
    "total_cents",
    "payment",
    "shipping_address",
    "billing_address",
    "created_at",
    "updated_at",
    "customer_id",
    "name",
    "email",
    "product_id",
    "quantity",
    "unit_price_cents",
    "method",
    "transaction_id",
    "card_last4",
    "street",
    "postal_code",
    "city",
    "country",
];

/// Numbers as JSON text, including ones no Rust integer or float holds.
fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        "-?[1-9][0-9]{19,60}",                     // beyond 64 bits (2^70 and more)
        "-?[0-9]\\.[0-9]{1,5}[eE][+-]?[0-9]{1,4}", // e.g. 1e400, 1e-400
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
        Just("1180591620717411303424".to_owned()), // 2^70
    ]
}

/// A JSON string literal with arbitrary unicode, escapes and control characters.
fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        Just("\u{2028}\u{0000}\n\"\\".to_owned()),
        Just("order.created".to_owned()),
        Just("2026-11-23T09:15:02.125Z".to_owned()),
        Just("+262143-12-31T23:59:59.999Z".to_owned()),
    ]
    .prop_map(|text| serde_json::to_string(&text).unwrap())
}

/// Arbitrary JSON documents as text: nested objects and arrays, duplicate keys, big numbers.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        json_number(),
        json_string(),
    ];
    leaf.prop_recursive(6, 256, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((json_string(), inner), 0..8).prop_map(|fields| {
                let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// Every path (object keys and array indices) of a JSON value, the root included.
fn paths(value: &Value) -> Vec<Vec<PathStep>> {
    let mut found = vec![Vec::new()];
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                for mut path in paths(child) {
                    path.insert(0, PathStep::Key(key.clone()));
                    found.push(path);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                for mut path in paths(child) {
                    path.insert(0, PathStep::Index(index));
                    found.push(path);
                }
            }
        }
        _ => {}
    }
    found
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_path<'v>(value: &'v mut Value, path: &[PathStep]) -> &'v mut Value {
    path.iter().fold(value, |value, step| match step {
        PathStep::Key(key) => &mut value[key.as_str()],
        PathStep::Index(index) => &mut value[*index],
    })
}

/// The amounts of an order, by name, as mutable references.
fn amount_mut(event: &mut OrderEvent, which: usize) -> (&'static str, &mut i64) {
    let order = &mut event.order;
    match which % 5 {
        0 => ("subtotal_cents", &mut order.subtotal_cents),
        1 => ("shipping_cents", &mut order.shipping_cents),
        2 => ("tax_cents", &mut order.tax_cents),
        3 => ("total_cents", &mut order.total_cents),
        _ => {
            let count = order.items.len();
            ("unit_price_cents", &mut order.items[which / 5 % count].unit_price_cents)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        inspect(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_parse_or_validate(text in json_text()) {
        inspect(text.as_bytes());
    }

    /// The nastiest inputs are valid events with one part replaced: they get past the first
    /// fields and reach the deep parsing and every validation rule.
    #[test]
    fn valid_events_with_one_part_replaced_never_panic(
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        replacement in json_text(),
    ) {
        let event = OrderGenerator::seeded(seed).new_order_event();
        let mut value = serde_json::to_value(&event).unwrap();
        let all = paths(&value);
        let path = &all[pick.index(all.len())];
        *at_path(&mut value, path) = serde_json::from_str(&replacement)
            .unwrap_or_else(|_| Value::String(replacement.clone()));
        inspect(&serde_json::to_vec(&value).unwrap());
        // The same, as text: keeps numbers that serde_json::Value cannot hold (1e400, 2^70).
        let marker = "\"__REPLACED__\"";
        *at_path(&mut value, path) = Value::String("__REPLACED__".into());
        let text = serde_json::to_string(&value).unwrap().replacen(marker, &replacement, 1);
        inspect(text.as_bytes());
    }

    #[test]
    fn generated_events_validate_and_round_trip(
        seed in any::<u64>(),
        cancel_share in 0.0f64..=1.0,
        start in time(),
        steps in prop::collection::vec((-3_600_000i64..86_400_000, any::<u64>()), 1..8),
    ) {
        let mut generator = OrderGenerator::seeded(seed).with_cancel_share(cancel_share);
        let mut order = generator.new_order(start);
        let mut now = start;
        for (step_ms, sequence) in steps {
            let event = generator.event(order.clone(), sequence, now);
            prop_assert_eq!(validate(&event), Ok(()), "{:?}", event);
            let json = event.to_json();
            let back = OrderEvent::from_slice(&json).expect("a generated event parses back");
            prop_assert_eq!(&back, &event);
            prop_assert_eq!(back.to_json(), json, "serializing is stable");
            now += Duration::milliseconds(step_ms);
            match generator.advance(&order, now) {
                Some(next) => order = next,
                None => break,
            }
        }
    }

    #[test]
    fn a_changed_amount_is_always_rejected(
        seed in any::<u64>(),
        which in any::<usize>(),
        delta in any::<i64>().prop_filter("non-zero", |d| *d != 0),
    ) {
        let mut event = OrderGenerator::seeded(seed).new_order_event();
        prop_assert_eq!(validate(&event), Ok(()));
        let (field, amount) = amount_mut(&mut event, which);
        // A wrapping add of a non-zero delta always changes the value, even at the extremes.
        *amount = amount.wrapping_add(delta);
        let rejection = validate(&event);
        prop_assert!(
            matches!(
                rejection,
                Err(ValidationError::SubtotalMismatch { .. }
                    | ValidationError::TotalMismatch { .. }
                    | ValidationError::NegativeAmount { .. }
                    | ValidationError::AmountTooLarge { .. }
                    | ValidationError::AmountOverflow { .. })
            ),
            "{} changed by {}: {:?}", field, delta, rejection
        );
    }

    #[test]
    fn audit_lines_are_one_json_line_that_keeps_the_payload(
        payload in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            any::<String>().prop_map(String::into_bytes),
            Just("line one\nline two\r\n\u{2028}".as_bytes().to_vec()),
        ],
        tombstone in any::<bool>(),
        key in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        (topic, instance_id, timestamp, parse_error) in
            (any::<String>(), any::<String>(), any::<String>(), any::<String>()),
        (partition, offset) in (any::<i32>(), any::<i64>()),
        validation_error in prop::option::of(any::<String>()),
        parsed_seed in prop::option::of(any::<u64>()),
    ) {
        let event = parsed_seed.map(|seed| OrderGenerator::seeded(seed).new_order_event());
        let parsed = match &event {
            Some(event) => Ok(event),
            None => Err(parse_error.as_str()),
        };
        let origin = MessageOrigin {
            topic: &topic,
            partition,
            offset,
            key: key.as_deref(),
            payload: (!tombstone).then_some(payload.as_slice()),
        };
        let entry = AuditEntry::new(&timestamp, &instance_id, origin, parsed, validation_error.clone());
        let mut out = b"previous line\n".to_vec();
        entry.write_line(&mut out);
        let line = &out[b"previous line\n".len()..];

        prop_assert_eq!(line.last(), Some(&b'\n'));
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "exactly one line");
        let value: Value = serde_json::from_slice(line).expect("the line is JSON");
        prop_assert!(value.is_object());

        let exact: &[u8] = if tombstone { &[] } else { &payload };
        prop_assert_eq!(value["message_size"].as_u64(), Some(exact.len() as u64));
        match std::str::from_utf8(exact) {
            Ok(text) => {
                prop_assert_eq!(value["raw_message"].as_str(), Some(text));
                prop_assert!(value["raw_message_base64"].is_null());
            }
            Err(_) => {
                let encoded = value["raw_message_base64"].as_str().expect("base64 of a non-UTF-8 payload");
                let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
                prop_assert_eq!(decoded.as_slice(), exact);
                let lossy = String::from_utf8_lossy(exact);
                prop_assert_eq!(value["raw_message"].as_str(), Some(lossy.as_ref()));
            }
        }
        match &key {
            Some(key) => {
                let lossy = String::from_utf8_lossy(key);
                prop_assert_eq!(value["kafka_key"].as_str(), Some(lossy.as_ref()));
            }
            None => prop_assert!(value["kafka_key"].is_null()),
        }
        prop_assert_eq!(value["kafka_partition"].as_i64(), Some(i64::from(partition)));
        prop_assert_eq!(value["kafka_offset"].as_i64(), Some(offset));
        prop_assert_eq!(value["kafka_topic"].as_str(), Some(topic.as_str()));
        prop_assert_eq!(value["instance_id"].as_str(), Some(instance_id.as_str()));
        prop_assert_eq!(value["deserialized"].as_bool(), Some(event.is_some()));
        prop_assert_eq!(value["validation_error"].as_str(), validation_error.as_deref());

        let back: AuditEntry<'_> = serde_json::from_slice(line).expect("the line reads back as an AuditEntry");
        prop_assert_eq!(back, entry);
    }
}

/// serde's derived `Deserialize` also accepts a struct as a JSON array of its fields in
/// declaration order, so a positional array parses as a valid order event.
#[test]
fn an_event_written_as_a_json_array_is_not_an_order_event() {
    let event = OrderGenerator::seeded(1).new_order_event();
    let value = serde_json::to_value(&event).unwrap();
    let pick =
        |object: &Value, keys: &[&str]| Value::Array(keys.iter().map(|k| object[*k].clone()).collect());
    let address = ["street", "postal_code", "city", "country"];
    let order = &value["order"];
    let items: Vec<Value> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| pick(item, &["product_id", "name", "quantity", "unit_price_cents"]))
        .collect();
    let order = serde_json::json!([
        order["order_id"],
        order["status"],
        pick(&order["customer"], &["customer_id", "name", "email"]),
        items,
        order["currency"],
        order["subtotal_cents"],
        order["shipping_cents"],
        order["tax_cents"],
        order["total_cents"],
        pick(&order["payment"], &["method", "status", "transaction_id", "card_last4"]),
        pick(&order["shipping_address"], &address),
        pick(&order["billing_address"], &address),
        order["created_at"],
        order["updated_at"],
    ]);
    let positional = serde_json::json!([
        value["event_id"],
        value["event_type"],
        value["version"],
        value["timestamp"],
        value["sequence"],
        order
    ]);
    let parsed = OrderEvent::from_slice(&serde_json::to_vec(&positional).unwrap());
    assert!(parsed.is_err(), "a JSON array is not an order event: {parsed:?}");
}
