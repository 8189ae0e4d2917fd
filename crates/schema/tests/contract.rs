//! The schema and the Rust code hold each other both ways: every event the generator makes (as
//! the producer writes it) validates; the schema names exactly the fields the Rust types write;
//! each poison kind is refused or let through as `PoisonKind::passes_schema` says; and on a
//! corpus of altered events the schema and the tracker's own checks (parse, then
//! `models::validate`) agree, except for the documented differences of [`Difference`].
//!
//! Validation uses `jsonschema` 0.41 with its defaults, as Tansu 0.6's broker does, so `format`
//! is an annotation (draft 2020-12) and only `pattern`s are checked.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use models::{OrderEvent, OrderGenerator, PoisonKind};
use proptest::prelude::*;
use schema::Schema;
use serde_json::{json, Value};

fn validator() -> jsonschema::Validator {
    let schema = Schema::current().expect("schemas/order-event.json parses");
    jsonschema::draft202012::new(&schema.document).expect("the schema compiles")
}

/// What the broker does with a payload: parse it as JSON, validate the value.
fn schema_accepts(validator: &jsonschema::Validator, payload: &[u8]) -> bool {
    serde_json::from_slice::<Value>(payload).is_ok_and(|value| validator.is_valid(&value))
}

/// Why the schema's errors for a payload, for failure messages.
fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator.iter_errors(value).map(|error| format!("{} at {}", error, error.instance_path())).collect()
}

/// What the tracker does with a payload: parse it, then check the business rules.
fn tracker_verdict(payload: &[u8]) -> Result<(), String> {
    let event = OrderEvent::from_slice(payload).map_err(|error| format!("deserialization: {error}"))?;
    models::validate(&event).map_err(|error| format!("validation: {error:?}"))
}

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + seconds, 0).single().expect("a valid time")
        + Duration::milliseconds(seconds.rem_euclid(1000))
}

/// Every event of one order's lifecycle, written as the producer writes it
/// (`OrderGenerator::event_ref(..).write_json`).
fn lifecycle(seed: u64, cancel_share: f64) -> Vec<Vec<u8>> {
    let mut generator = OrderGenerator::seeded(seed).with_cancel_share(cancel_share);
    let mut order = generator.new_order(time(0));
    let mut payloads = Vec::new();
    for step in 0u64.. {
        let mut payload = Vec::new();
        generator.event_ref(&order, step + 1, time(step as i64 * 61)).write_json(&mut payload);
        payloads.push(payload);
        if !generator.advance_in_place(&mut order, time((step as i64 + 1) * 61)) {
            break;
        }
    }
    payloads
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Orders of any seed, through every lifecycle (cancelled early, late or never).
    #[test]
    fn every_generated_event_validates(seed in any::<u64>(), cancel_share in 0.0f64..=1.0) {
        let validator = validator();
        for payload in lifecycle(seed, cancel_share) {
            let value: Value = serde_json::from_slice(&payload).unwrap();
            prop_assert!(validator.is_valid(&value), "{:?}\n{value}", schema_errors(&validator, &value));
            prop_assert_eq!(tracker_verdict(&payload), Ok(()));
        }
    }
}

/// Each status and payment method appears in the lifecycles above, so the conditional parts of
/// the schema (event type per status, card digits per method) are exercised both ways.
#[test]
fn the_lifecycles_cover_every_status_and_payment_method() {
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        for payload in lifecycle(seed, 0.3) {
            let value: Value = serde_json::from_slice(&payload).unwrap();
            seen.insert(value["order"]["status"].as_str().unwrap().to_owned());
            seen.insert(value["order"]["payment"]["method"].as_str().unwrap().to_owned());
        }
    }
    let expected = ["created", "paid", "shipped", "delivered", "cancelled"].into_iter().chain([
        "credit_card",
        "debit_card",
        "paypal",
        "bank_transfer",
        "apple_pay",
    ]);
    for name in expected {
        assert!(seen.contains(name), "{name} never generated: {seen:?}");
    }
}

#[test]
fn each_poison_kind_meets_the_schema_as_documented() {
    let validator = validator();
    let mut generator = OrderGenerator::seeded(28);
    for &kind in PoisonKind::ALL {
        let payload = kind.payload(&mut generator, 1, time(0));
        assert_eq!(
            schema_accepts(&validator, &payload),
            kind.passes_schema(),
            "{kind}: PoisonKind::passes_schema says {}",
            kind.passes_schema()
        );
    }
}

/// The fields, at every level, that the Rust types write and the schema names: the same sets,
/// so a field added to one and not the other fails here. Every one is required, except
/// `card_last4`, which serde reads as `None` when absent (required by the schema on card
/// payments only, where the tracker needs its digits).
#[test]
fn the_schema_names_exactly_the_fields_the_rust_types_write() {
    let schema = Schema::current().unwrap().document;
    let event = serde_json::to_value(OrderGenerator::seeded(3).new_order_event()).unwrap();
    let mut written = BTreeSet::new();
    object_fields(&event, "", &mut written);
    let (mut named, mut optional) = (BTreeSet::new(), BTreeSet::new());
    schema_fields(&schema, &schema, "", &mut named, &mut optional);
    assert_eq!(written, named, "fields written by the Rust types vs named by the schema");
    assert_eq!(
        optional,
        BTreeSet::from(["/order/payment/card_last4".to_owned()]),
        "fields the schema does not require"
    );
}

fn object_fields(value: &Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            for (name, field) in object {
                out.insert(format!("{at}/{name}"));
                object_fields(field, &format!("{at}/{name}"), out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| object_fields(item, &format!("{at}/[]"), out)),
        _ => {}
    }
}

/// The schema's properties (`out`), and those it does not require (`optional`).
fn schema_fields(
    root: &Value,
    schema: &Value,
    at: &str,
    out: &mut BTreeSet<String>,
    optional: &mut BTreeSet<String>,
) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => &root["$defs"][reference.trim_start_matches("#/$defs/")],
        None => schema,
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            out.insert(format!("{at}/{name}"));
            if !required.contains(&name.as_str()) {
                optional.insert(format!("{at}/{name}"));
            }
            schema_fields(root, property, &format!("{at}/{name}"), out, optional);
        }
    }
    if let Some(items) = schema.get("items") {
        schema_fields(root, items, &format!("{at}/[]"), out, optional);
    }
}

/// A documented case where the schema and the tracker disagree (docs/events.md, "What the
/// schema does not say").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Difference {
    /// subtotal = Σ quantity × unit price, total = subtotal + shipping + tax, and no overflow
    /// while adding them: rules between fields, which JSON Schema cannot express.
    AmountsAddUp,
    /// updated_at not before created_at: a comparison between two fields.
    UpdatedAfterCreated,
    /// A time of the right form that is no real time (month 13): the schema checks the form
    /// only (`format: date-time` is an annotation in draft 2020-12).
    CalendarTime,
    /// A number with a zero fraction (`1.0`) is an integer to JSON Schema; serde refuses it
    /// where Rust holds an integer.
    IntegralFloat,
    /// A UUID in another spelling than 8-4-4-4-12 (`{...}`, `urn:uuid:`, 32 digits): the
    /// `uuid` crate parses it, the schema's pattern refuses it.
    UuidSpelling,
}

/// Classifies a disagreement, or `None` when it is not a documented one (a bug in the schema
/// or in the tracker).
fn difference(replacement: &Value, schema_ok: bool, tracker: &Result<(), String>) -> Option<Difference> {
    match (schema_ok, tracker) {
        (true, Err(error)) => {
            if ["SubtotalMismatch", "TotalMismatch", "AmountOverflow"].iter().any(|kind| error.contains(kind))
            {
                Some(Difference::AmountsAddUp)
            } else if error.contains("UpdatedBeforeCreated") {
                Some(Difference::UpdatedAfterCreated)
            } else if error.contains("invalid RFC 3339 time") {
                Some(Difference::CalendarTime)
            } else if replacement.as_f64().is_some_and(|n| n.fract() == 0.0)
                && error.contains("floating point")
            {
                Some(Difference::IntegralFloat)
            } else {
                None
            }
        }
        (false, Ok(())) => {
            let uuid_like = replacement
                .as_str()
                .is_some_and(|text| text.len() != 36 && uuid::Uuid::parse_str(text).is_ok());
            uuid_like.then_some(Difference::UuidSpelling)
        }
        _ => None,
    }
}

/// Values to put in place of each field: other types, bounds, blanks, look-alikes.
fn replacements() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1),
        json!(2),
        json!(1.0),
        json!(1.5),
        json!(9223372036854775807u64),
        json!(9223372036854775808u64),
        json!(18446744073709551615u64),
        json!(""),
        json!(" "),
        json!("\u{a0}"),
        json!("x"),
        json!("EUR"),
        json!("USD"),
        json!("created"),
        json!("paid"),
        json!("cancelled"),
        json!("lost"),
        json!("order.created"),
        json!("order.updated"),
        json!("order.teleported"),
        json!("credit_card"),
        json!("paypal"),
        json!("voided"),
        json!("1234"),
        json!("12345"),
        json!("a@b.c"),
        json!("a b@c.d"),
        json!("a@localhost"),
        json!("6f0b7c1e-2a4d-4b8e-9c3f-5d6e7f8a9b0c"),
        json!("6f0b7c1e2a4d4b8e9c3f5d6e7f8a9b0c"),
        json!("{6f0b7c1e-2a4d-4b8e-9c3f-5d6e7f8a9b0c}"),
        json!("not-a-uuid-at-all-not-a-uuid-at-all!"),
        json!("2099-01-01T00:00:00.000Z"),
        json!("2000-01-01T00:00:00Z"),
        json!("2026-13-01T00:00:00.000Z"),
        json!("2026-11-23T05:27:24.410+02:00"),
        json!("2026-11-23 05:27:24.410Z"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({ "a": 1 }),
    ]
}

/// Every path to a value in `value`, objects and arrays included.
fn paths(value: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match value {
        Value::Object(object) => {
            for (name, field) in object {
                let mut next = at.clone();
                next.push(name.clone());
                paths(field, next, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let mut next = at.clone();
                next.push(index.to_string());
                paths(item, next, out);
            }
        }
        _ => {}
    }
}

fn slot<'v>(value: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(value, |value, step| match value {
        Value::Array(items) => &mut items[step.parse::<usize>().unwrap()],
        other => &mut other[step.as_str()],
    })
}

/// Events of every status and payment method, each field replaced by each value of
/// [`replacements`], removed, or joined by an unknown field: the schema and the tracker agree,
/// or disagree in a documented way; and each documented difference does happen.
#[test]
fn schema_and_tracker_agree_on_a_corpus_except_where_documented() {
    let validator = validator();
    let mut bases = Vec::new();
    for seed in 0..40 {
        bases.extend(
            lifecycle(seed, 0.3)
                .into_iter()
                .map(|payload| serde_json::from_slice::<Value>(&payload).unwrap()),
        );
    }
    let mut undocumented = Vec::new();
    let mut seen = BTreeSet::new();
    let mut cases = 0;
    let mut check = |label: String, replacement: &Value, candidate: &Value| {
        cases += 1;
        let payload = serde_json::to_vec(candidate).unwrap();
        let schema_ok = validator.is_valid(candidate);
        let tracker = tracker_verdict(&payload);
        if schema_ok != tracker.is_ok() {
            match difference(replacement, schema_ok, &tracker) {
                Some(kind) => {
                    seen.insert(kind);
                }
                None => undocumented.push(format!(
                    "{label}: schema {} ({:?}), tracker {tracker:?}",
                    if schema_ok { "accepts" } else { "refuses" },
                    schema_errors(&validator, candidate)
                )),
            }
        }
    };
    // Three bases of different shapes are enough for every value at every path; the rest only
    // vary the statuses and methods the conditional rules depend on.
    for (index, base) in bases.iter().enumerate().filter(|(index, _)| index % 13 == 0) {
        let mut all = Vec::new();
        paths(base, Vec::new(), &mut all);
        for path in &all {
            let label = format!("event {index} /{}", path.join("/"));
            let mut extra = base.clone();
            let is_object = match slot(&mut extra, path) {
                Value::Object(target) => target.insert("unknown_field".into(), json!(1)).is_none(),
                _ => false,
            };
            if is_object {
                check(format!("{label} + unknown_field"), &Value::Null, &extra);
            }
            let Some((last, parent)) = path.split_last() else { continue };
            for replacement in replacements() {
                let mut candidate = base.clone();
                *slot(&mut candidate, path) = replacement.clone();
                check(format!("{label} = {replacement}"), &replacement, &candidate);
            }
            let mut without = base.clone();
            match slot(&mut without, parent) {
                Value::Object(object) => {
                    object.remove(last);
                }
                Value::Array(items) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                _ => unreachable!("a path's parent is an object or an array"),
            }
            check(format!("{label} removed"), &Value::Null, &without);
        }
    }
    assert!(
        undocumented.is_empty(),
        "{} undocumented disagreements of {cases}:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
    let all = [
        Difference::AmountsAddUp,
        Difference::UpdatedAfterCreated,
        Difference::CalendarTime,
        Difference::IntegralFloat,
        Difference::UuidSpelling,
    ];
    assert_eq!(
        seen,
        all.into_iter().collect(),
        "each documented difference is real (else drop it from the docs)"
    );
}

/// JSON with a field twice: the tracker refuses it (serde: duplicate field), the schema sees the
/// last value only (a parsed JSON value keeps one) and accepts it. Documented too.
#[test]
fn a_duplicate_field_passes_the_schema_and_not_the_tracker() {
    let validator = validator();
    let payload = OrderGenerator::seeded(9).new_order_event().to_json();
    let text = String::from_utf8(payload).unwrap();
    let doubled = text.replacen("\"sequence\":", "\"sequence\":7,\"sequence\":", 1);
    assert!(schema_accepts(&validator, doubled.as_bytes()));
    let error = tracker_verdict(doubled.as_bytes()).unwrap_err();
    assert!(error.contains("duplicate field"), "{error}");
}

/// A validation error the tracker gives and the schema can express is refused by both: the
/// schema is not only a shape, it carries the rules a field can check alone.
#[test]
fn single_field_rules_are_in_the_schema_too() {
    let validator = validator();
    let base = serde_json::to_value(OrderGenerator::seeded(5).new_order_event()).unwrap();
    let cases: [(&str, Value, &str); 4] = [
        ("/order/currency", json!("USD"), "UnsupportedCurrency"),
        ("/order/customer/email", json!("a@localhost"), "BadEmail"),
        ("/order/customer/name", json!("  "), "EmptyField"),
        ("/version", json!(2), "UnsupportedVersion"),
    ];
    for (pointer, value, expected) in cases {
        let mut candidate = base.clone();
        *candidate.pointer_mut(pointer).unwrap() = value.clone();
        assert!(!validator.is_valid(&candidate), "{pointer} = {value} passes the schema");
        let error = tracker_verdict(&serde_json::to_vec(&candidate).unwrap()).unwrap_err();
        assert!(error.contains(expected), "{pointer} = {value}: {error}");
    }
}
