//! What the benchmark's consumer controls (`bare_consumer`, `audit_only`) share: their command
//! line, a consumer assigned to every partition from the beginning (no group, no commits), and
//! the JSON figures they print.

use std::error::Error;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

/// The longest a control waits for its messages.
const DEADLINE: Duration = Duration::from_secs(300);

/// `NAME BROKER TOPIC PARTITIONS COUNT OUT`.
pub struct Args {
    pub broker: String,
    pub topic: String,
    pub partitions: i32,
    pub count: usize,
    pub out: String,
}

impl Args {
    /// The command line of the control called `name`.
    pub fn parse(name: &str) -> Result<Args, Box<dyn Error>> {
        let args: Vec<String> = std::env::args().collect();
        let [_, broker, topic, partitions, count, out] = &args[..] else {
            return Err(format!("usage: {name} BROKER TOPIC PARTITIONS COUNT OUT").into());
        };
        Ok(Args {
            broker: broker.clone(),
            topic: topic.clone(),
            partitions: partitions.parse()?,
            count: count.parse()?,
            out: out.clone(),
        })
    }

    /// A consumer of every partition of the topic from its beginning, in group `group` (only
    /// named: nothing is committed).
    pub fn consumer(&self, group: &str) -> Result<BaseConsumer, Box<dyn Error>> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.broker)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..self.partitions {
            assignment.add_partition_offset(&self.topic, partition, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;
        Ok(consumer)
    }
}

/// Hands each message to `visit` until `count` came or [`DEADLINE`] passed, then prints the
/// figures ([`report`]).
pub fn drain(
    consumer: &BaseConsumer,
    count: usize,
    mut visit: impl FnMut(&BorrowedMessage<'_>) -> Result<(), Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    let (mut received, mut first, mut last) = (0, None, Instant::now());
    let deadline = Instant::now() + DEADLINE;
    while received < count && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message?;
        first.get_or_insert_with(Instant::now);
        visit(&message)?;
        received += 1;
        last = Instant::now();
    }
    report(received, count, first, last)
}

/// Prints `{"count":N,"seconds":S,"rate":R,"cpu_seconds":C}` (timed from the first to the last
/// message), then fails if fewer than `count` messages came.
fn report(
    received: usize,
    count: usize,
    first: Option<Instant>,
    last: Instant,
) -> Result<(), Box<dyn Error>> {
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
