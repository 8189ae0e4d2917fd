//! The schema's evolution, checked as a registry in BACKWARD mode would: the current
//! `schemas/order-event.json` must read every record that a released version of the same major
//! accepted (`schemas/released/`), released versions never change, and a change gets a new
//! version in `$id`. docs/events.md ("Changing the schema") shows the safe way with the example
//! tested here: `gift_message`, an optional field, passes; removing a field fails.

use models::OrderGenerator;
use schema::compat::backward_breaks;
use schema::{released, Schema, Version};
use serde_json::{json, Value};

fn current() -> Schema {
    Schema::current().expect("schemas/order-event.json parses")
}

#[test]
fn the_current_schema_reads_everything_each_release_of_its_major_accepted() {
    let current = current();
    let releases = released().expect("schemas/released/ is readable");
    assert!(!releases.is_empty(), "schemas/released/ holds no order-event-*.json");
    for release in releases.iter().filter(|release| release.version.major == current.version.major) {
        let breaks = backward_breaks(&release.document, &current.document);
        assert!(
            breaks.is_empty(),
            "schemas/order-event.json ({}) would refuse records that {} ({}) accepts, so consumers and \
             stored records break:\n  {}\nAdd fields as optional and relax rules only (docs/events.md, \
             \"Changing the schema\"); a breaking change needs a new major version (a new envelope \
             `version`) and a plan for the consumers.",
            current.version,
            release.file,
            release.version,
            breaks.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
        );
    }
}

#[test]
fn a_released_version_never_changes_and_a_change_gets_a_new_version() {
    let current = current();
    let releases = released().unwrap();
    for release in &releases {
        assert_eq!(
            release.file,
            format!("schemas/released/order-event-{}.json", release.version),
            "a released file is named after the version in its $id"
        );
    }
    let latest = releases.last().expect("a released version");
    assert!(
        current.version >= latest.version,
        "current {} is older than released {}",
        current.version,
        latest.version
    );
    if current.version == latest.version {
        assert_eq!(
            current.document, latest.document,
            "schemas/order-event.json differs from the released {} but keeps its version: bump the \
             minor version in $id (an optional field) or the patch version (descriptions only)",
            latest.file
        );
    }
}

#[test]
fn the_major_version_is_the_envelope_version() {
    let current = current();
    assert_eq!(current.document["properties"]["version"]["const"], json!(current.version.major));
    assert_eq!(current.version.major, u64::from(models::SCHEMA_VERSION));
}

/// The example of docs/events.md: version 1.1.0 adds an optional `gift_message` to the order.
fn with_gift_message(schema: &Value) -> Value {
    let mut next = schema.clone();
    next["$id"] = json!(format!("{}1.1.0", schema::ID_PREFIX));
    next["$defs"]["order"]["properties"]["gift_message"] = json!({
        "description": "A message for the recipient, printed on the packing slip.",
        "type": ["string", "null"],
        "maxLength": 500
    });
    next
}

#[test]
fn adding_an_optional_field_is_compatible_and_old_records_still_validate() {
    let current = current().document;
    let next = with_gift_message(&current);
    assert_eq!(backward_breaks(&current, &next), vec![]);
    let validator = jsonschema::draft202012::new(&next).unwrap();
    let mut generator = OrderGenerator::seeded(1);
    for _ in 0..50 {
        let old_record = serde_json::to_value(generator.new_order_event()).unwrap();
        assert!(validator.is_valid(&old_record), "{old_record}");
    }
    let mut new_record = serde_json::to_value(generator.new_order_event()).unwrap();
    new_record["order"]["gift_message"] = json!("Joyeux anniversaire !");
    assert!(validator.is_valid(&new_record));
    assert_eq!(
        Schema::parse("next", &next.to_string()).unwrap().version,
        Version { major: 1, minor: 1, patch: 0 }
    );
}

/// A change to a schema, for the table below.
type Change = Box<dyn Fn(&mut Value)>;

#[test]
fn removing_renaming_requiring_or_narrowing_fails_the_check() {
    let current = current().document;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "remove customer.email",
            Box::new(|s| {
                s["$defs"]["customer"]["properties"].as_object_mut().unwrap().remove("email");
            }),
            "/order/customer/email: field removed",
        ),
        (
            "rename total_cents to total",
            Box::new(|s| {
                let order = &mut s["$defs"]["order"];
                let total = order["properties"].as_object_mut().unwrap().remove("total_cents").unwrap();
                order["properties"]["total"] = total;
                let required = order["required"].as_array_mut().unwrap();
                required.retain(|name| name != "total_cents");
                required.push(json!("total"));
            }),
            "/order/total: new required field",
        ),
        (
            "require the new gift_message",
            Box::new(|s| {
                *s = with_gift_message(s);
                s["$defs"]["order"]["required"].as_array_mut().unwrap().push(json!("gift_message"));
            }),
            "/order/gift_message: new required field",
        ),
        (
            "sequence as a string",
            Box::new(|s| s["properties"]["sequence"] = json!({ "type": "string" })),
            "/sequence: type narrowed",
        ),
        (
            "drop apple_pay",
            Box::new(|s| {
                s["$defs"]["payment"]["properties"]["method"]["enum"] =
                    json!(["credit_card", "debit_card", "paypal", "bank_transfer"])
            }),
            r#"/order/payment/method: value(s) no longer allowed: ["apple_pay"]"#,
        ),
        (
            "at most 10 of an item",
            Box::new(|s| s["$defs"]["line_item"]["properties"]["quantity"]["maximum"] = json!(10)),
            "/order/items/[]/quantity: maximum tightened",
        ),
    ];
    for (name, change, expected) in cases {
        let mut next = current.clone();
        change(&mut next);
        let breaks: Vec<String> = backward_breaks(&current, &next).iter().map(ToString::to_string).collect();
        assert!(
            breaks.iter().any(|found| found.starts_with(expected)),
            "{name}: expected {expected:?} in {breaks:?}"
        );
    }
}
