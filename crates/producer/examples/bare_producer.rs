//! A control for the benchmarks (`make bench`), not part of the producer: the thinnest Rust
//! producer over the same librdkafka, replaying `key<TAB>payload` lines from a file with the
//! settings `make bench` gives kcat (idempotent, acks=all, linger.ms=5, lz4). Next to
//! `kcat -P` it shows what the Rust binding itself costs; next to the producer, what
//! generating the orders costs.
//!
//! `bare_producer BROKER TOPIC FILE [--headers]` prints
//! `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C}`, timed from the first send to the last
//! acknowledgement. `--headers` adds four headers of the producer's size to every record
//! (`event_type`, `content-type`, `producer_sequence`, `trace_id`), to measure what they cost.

use std::io::BufRead;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (broker, topic, file, headers) = match &args[..] {
        [_, broker, topic, file] => (broker, topic, file, false),
        [_, broker, topic, file, flag] if flag == "--headers" => (broker, topic, file, true),
        _ => return Err("usage: bare_producer BROKER TOPIC FILE [--headers]".into()),
    };
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("message.timeout.ms", "30000")
        .create()?;
    let lines = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    let started = Instant::now();
    let mut count = 0u64;
    for line in lines.split(b'\n') {
        let line = line?;
        let Some(tab) = line.iter().position(|&b| b == b'\t') else { continue };
        let (key, payload) = (&line[..tab], &line[tab + 1..]);
        let mut record = BaseRecord::to(topic.as_str()).key(key).payload(payload);
        if headers {
            let sequence = count.to_string();
            record = record.headers(
                OwnedHeaders::new_with_capacity(4)
                    .insert(Header { key: "event_type", value: Some("order.created") })
                    .insert(Header { key: "content-type", value: Some("application/json") })
                    .insert(Header { key: "producer_sequence", value: Some(sequence.as_str()) })
                    .insert(Header { key: "trace_id", value: Some("6f1c1e52-8d0e-4f43-9a55-0f5d4b8e2c11") }),
            );
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
        count += 1;
    }
    producer.flush(Duration::from_secs(60))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"count\":{count},\"seconds\":{seconds},\"rate\":{},\"cpu_seconds\":{}}}",
        count as f64 / seconds,
        testkit::process_cpu_seconds()
    );
    Ok(())
}
