//! A control for the benchmarks (`make bench`), not part of the tracker: the thinnest Rust
//! consumer over the same librdkafka, reading a topic from the beginning and writing what
//! `kcat -C -f '%p\t%o\t%k\t%s\n'` writes. Next to kcat it shows what the Rust binding itself
//! costs; next to the tracker, what the tracker's own work costs.
//!
//! `bare_consumer BROKER TOPIC PARTITIONS COUNT OUT` prints
//! `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C}`, timed from the first to the last message.

mod control;

use std::fs::File;
use std::io::{BufWriter, Write};

use rdkafka::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = control::Args::parse("bare_consumer")?;
    let consumer = args.consumer("bare-consumer")?;
    let mut file = BufWriter::with_capacity(1 << 20, File::create(&args.out)?);
    let drained = control::drain(&consumer, args.count, |message| {
        write!(file, "{}\t{}\t", message.partition(), message.offset())?;
        file.write_all(message.key().unwrap_or_default())?;
        file.write_all(b"\t")?;
        file.write_all(message.payload().unwrap_or_default())?;
        file.write_all(b"\n")?;
        Ok(())
    });
    file.flush()?;
    drained
}
