//! A control for the benchmarks (`make bench`), not part of the tracker: the thinnest Rust
//! consumer over the same librdkafka, reading a topic from the beginning and writing what
//! `kcat -C -f '%p\t%o\t%k\t%s\n'` writes. Next to kcat it shows what the Rust binding itself
//! costs; next to the tracker, what the tracker's own work costs.
//!
//! `bare_consumer BROKER TOPIC PARTITIONS COUNT OUT` prints
//! `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C}`, timed from the first to the last message.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, topic, partitions, count, out] = &args[..] else {
        return Err("usage: bare_consumer BROKER TOPIC PARTITIONS COUNT OUT".into());
    };
    let count: usize = count.parse()?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "bare-consumer")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions.parse::<i32>()? {
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;

    let mut file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let (mut received, mut first, mut last) = (0, None, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(300);
    while received < count && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message?;
        first.get_or_insert_with(Instant::now);
        write!(file, "{}\t{}\t", message.partition(), message.offset())?;
        file.write_all(message.key().unwrap_or_default())?;
        file.write_all(b"\t")?;
        file.write_all(message.payload().unwrap_or_default())?;
        file.write_all(b"\n")?;
        received += 1;
        last = Instant::now();
    }
    file.flush()?;
    let seconds = first.map_or(0.0, |first| last.duration_since(first).as_secs_f64());
    println!(
        "{{\"count\":{received},\"seconds\":{seconds},\"rate\":{},\"cpu_seconds\":{}}}",
        if seconds > 0.0 { received as f64 / seconds } else { 0.0 },
        testkit::process_cpu_seconds()
    );
    if received < count {
        return Err(format!("received {received} of {count} messages within 300 s").into());
    }
    Ok(())
}
