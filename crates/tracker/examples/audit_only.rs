//! A control for the benchmarks (`make bench`), not part of the tracker: the tracker's audit
//! line and nothing else. It reads a topic from the beginning like `bare_consumer` (no group,
//! no commits) and, for each record, does what the line's contract asks, with the tracker's own
//! code: checks the payload's UTF-8, parses and validates it as an order event
//! (`Inspection::of_payload`), and writes the same `.events` line (`AuditEntry::write_line`:
//! the payload escaped in `raw_message`, the parsed order in `order_full`, the headers), then
//! writes the lines out in 256 KB batches on one thread. No offsets stored, no duplicate or
//! lifecycle tables, no shared state, no writer thread.
//!
//! Next to `kcat -C -J` it shows what the line's contract costs by itself; next to the
//! tracker, what the rest of the tracker (group, offsets, bookkeeping) adds.
//!
//! `audit_only BROKER TOPIC PARTITIONS COUNT OUT` prints
//! `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C}`, timed from the first to the last
//! message.

mod control;

use std::fs::File;
use std::io::Write;

use deadletter::{Inspection, Payload};
use rdkafka::Message;

/// The tracker's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Lines are written out once this many bytes wait (the tracker's batch size).
const BATCH: usize = 256 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = control::Args::parse("audit_only")?;
    let consumer = args.consumer("audit-only")?;
    let mut file = File::create(&args.out)?;
    let mut lines: Vec<u8> = Vec::with_capacity(2 * BATCH);
    let drained = control::drain(&consumer, args.count, |message| {
        let payload = Payload::new(message.payload());
        let inspection = Inspection::of_payload(payload);
        let headers: Vec<kafka::headers::HeaderRef<'_>> = kafka::headers::borrow(message.headers()).collect();
        let timestamp = models::Timestamp::new(chrono::Utc::now());
        inspection
            .audit_entry(payload, timestamp.as_str(), "audit-only", kafka::origin(message))
            .with_headers(&headers)
            .write_line(&mut lines);
        if lines.len() >= BATCH {
            file.write_all(&lines)?;
            lines.clear();
        }
        Ok(())
    });
    file.write_all(&lines)?;
    drained
}
