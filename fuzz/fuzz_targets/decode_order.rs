//! Bytes as a message payload, through what the tracker does on reception: parse into an order
//! event, validate it, write its `.events` audit line. The line must be exactly one line of
//! JSON that reads back to the same entry, whatever the bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use models::audit::MessageOrigin;
use models::{validate, AuditEntry, OrderEvent};

fuzz_target!(|data: &[u8]| {
    let parsed = OrderEvent::from_slice(data);
    let validation_error =
        parsed.as_ref().ok().and_then(|event| validate(event).err()).map(|e| e.to_string());
    let parse_error = parsed.as_ref().err().map(ToString::to_string).unwrap_or_default();
    let outcome = match &parsed {
        Ok(event) => Ok(event),
        Err(_) => Err(parse_error.as_str()),
    };
    // The payload doubles as the key: keys are arbitrary bytes too.
    let origin =
        MessageOrigin { topic: "orders", partition: 1, offset: 42, key: Some(data), payload: Some(data) };
    let entry = AuditEntry::new("2026-01-01T00:00:00.000Z", "fuzz", origin, outcome, validation_error);
    let mut line = Vec::new();
    entry.write_line(&mut line);

    assert_eq!(line.last(), Some(&b'\n'), "the line ends with a newline");
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "exactly one line");
    let value: serde_json::Value = serde_json::from_slice(&line).expect("the audit line is JSON");
    assert_eq!(value["message_size"].as_u64(), Some(data.len() as u64));
    // Reading the line back and writing it again gives the same bytes.
    let back: AuditEntry<'_> = serde_json::from_slice(&line).expect("the line reads back as an AuditEntry");
    let mut again = Vec::new();
    back.write_line(&mut again);
    assert_eq!(again, line, "write(read(line)) == line");

    if let Ok(event) = &parsed {
        // What the tracker would forward (order_full, a dead letter) parses again, and
        // validation gives the same verdict.
        let reparsed =
            OrderEvent::from_slice(&event.to_json()).expect("a parsed event serializes to a parsable one");
        assert_eq!(validate(&reparsed).is_ok(), validate(event).is_ok(), "same verdict after a round trip");
    }
});
