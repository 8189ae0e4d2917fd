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
//! `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C,"bytes":B}`, timed from the first to the
//! last message.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use deadletter::{Inspection, Payload};
use models::audit::MessageOrigin;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

/// The tracker's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Lines are written out once this many bytes wait (the tracker's batch size).
const BATCH: usize = 256 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, topic, partitions, count, out] = &args[..] else {
        return Err("usage: audit_only BROKER TOPIC PARTITIONS COUNT OUT".into());
    };
    let count: usize = count.parse()?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "audit-only")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions.parse::<i32>()? {
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;

    let mut file = File::create(out)?;
    let mut lines: Vec<u8> = Vec::with_capacity(2 * BATCH);
    let (mut received, mut written, mut first, mut last) = (0, 0, None, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(300);
    while received < count && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message?;
        first.get_or_insert_with(Instant::now);
        let payload = Payload::new(message.payload());
        let inspection = Inspection::of_payload(payload);
        let headers: Vec<kafka::headers::HeaderRef<'_>> = kafka::headers::borrow(message.headers()).collect();
        let timestamp = models::Timestamp::new(chrono::Utc::now());
        let origin = MessageOrigin {
            topic: message.topic(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key(),
            payload: message.payload(),
        };
        inspection
            .audit_entry(payload, timestamp.as_str(), "audit-only", origin)
            .with_headers(&headers)
            .write_line(&mut lines);
        if lines.len() >= BATCH {
            file.write_all(&lines)?;
            written += lines.len();
            lines.clear();
        }
        received += 1;
        last = Instant::now();
    }
    file.write_all(&lines)?;
    written += lines.len();
    let seconds = first.map_or(0.0, |first| last.duration_since(first).as_secs_f64());
    println!(
        "{{\"count\":{received},\"seconds\":{seconds},\"rate\":{},\"cpu_seconds\":{},\"bytes\":{written}}}",
        if seconds > 0.0 { received as f64 / seconds } else { 0.0 },
        testkit::process_cpu_seconds()
    );
    if received < count {
        return Err(format!("received {received} of {count} messages within 300 s").into());
    }
    Ok(())
}
