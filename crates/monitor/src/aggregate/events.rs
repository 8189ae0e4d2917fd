//! Reading `.events` lines: deliveries, offsets, latency, redriven records and orders.

use chrono::{DateTime, Utc};

use super::lines::{cut_raw_message, parse_line, redrive_headers, text, text_of, EventsLine};
use super::offsets::PartitionKey;
use super::{
    kept, parse_timestamp_ms, push_ring, set_text, Aggregator, OrderRow, RedriveOutcome, RedrivenRow,
    SCRATCH_KEPT_BYTES,
};

impl Aggregator {
    /// One line of `tracker-<instance_id>.events`.
    pub fn ingest_events_line(&mut self, instance_id: &str, line: &[u8], now: DateTime<Utc>) {
        self.ingest_events(instance_id, line, now.timestamp_millis());
    }

    pub(super) fn ingest_events(&mut self, instance_id: &str, line: &[u8], now_ms: i64) {
        // The scratch buffer is taken out so that the parsed line can borrow it while `self`
        // is updated, then put back to keep its allocation.
        let mut scratch = std::mem::take(&mut self.scratch);
        let event = cut_raw_message(line, &mut scratch)
            .and_then(parse_line::<EventsLine<'_>>)
            .or_else(|| parse_line::<EventsLine<'_>>(line));
        match event {
            Some(event) => self.record_events_line(instance_id, &event, now_ms),
            None => self.malformed.events += 1,
        }
        // A huge line leaves a huge buffer: kept only up to a bound.
        if scratch.capacity() > SCRATCH_KEPT_BYTES {
            scratch = Vec::new();
        }
        self.scratch = scratch;
    }

    fn record_events_line(&mut self, instance_id: &str, event: &EventsLine<'_>, now_ms: i64) {
        self.received += 1;
        let written_ms = parse_timestamp_ms(text_of(&event.timestamp));
        let emitted_ms = text(&event.event_timestamp).and_then(parse_timestamp_ms);
        let redriven = redrive_headers(event.headers);
        // A redriven record keeps its first emission time: its figure would be the dead-letter
        // round trip, not the pipeline's latency.
        if let (Some(emitted_ms), Some(written_ms), None) = (emitted_ms, written_ms, &redriven) {
            self.latency.record(emitted_ms, written_ms);
        }
        let time_ms = written_ms.unwrap_or(now_ms);
        self.first_event_ms = Some(self.first_event_ms.map_or(time_ms, |first| first.min(time_ms)));
        self.last_event_ms = Some(self.last_event_ms.map_or(time_ms, |last| last.max(time_ms)));
        let second = time_ms.div_euclid(1000);
        self.per_second.add(second);
        let valid = event.deserialized && event.validation_error.is_none();
        if !valid {
            self.invalid_messages += 1;
        }
        let validation_error = event.deserialized && event.validation_error.is_some();
        self.deserialized += u64::from(event.deserialized);
        self.validation_errors += u64::from(validation_error);
        self.record_offset(instance_id, event);
        if let Some((redrive_count, redriven_from)) = redriven {
            let row = RedrivenRow {
                timestamp: kept(text_of(&event.timestamp)).into_owned(),
                instance_id: instance_id.to_owned(),
                topic: kept(text_of(&event.kafka_topic)).into_owned(),
                partition: i32::try_from(event.kafka_partition).unwrap_or(-1),
                offset: event.kafka_offset,
                cluster_id: text(&event.cluster_id).map(|id| kept(id).into_owned()),
                kafka_key: text(&event.kafka_key).map(|key| kept(key).into_owned()),
                event_id: text(&event.event_id).map(|id| kept(id).into_owned()),
                redrive_count,
                redriven_from: redriven_from.map(|from| kept(&from).into_owned()),
                outcome: if valid { RedriveOutcome::Valid } else { RedriveOutcome::Invalid },
            };
            self.dead_letters.redriven(row, valid, self.config.latest_dead_letters);
        }
        if let Some(instance) = self.instance(instance_id) {
            instance.received += 1;
            instance.invalid += u64::from(!valid);
            instance.undeserializable += u64::from(!event.deserialized);
            instance.validation_errors += u64::from(validation_error);
            instance.seen(Some(time_ms));
            instance.per_second.add(second);
        }
        if event.deserialized {
            self.record_order(instance_id, event, valid);
        }
    }

    fn record_offset(&mut self, instance_id: &str, event: &EventsLine<'_>) {
        let cluster_id = text(&event.cluster_id);
        let topic = text_of(&event.kafka_topic);
        let partition = event.kafka_partition;
        // Looked up before inserting so that the common case allocates no key.
        let found = self.partitions.iter_mut().find(|(key, _)| {
            key.partition == partition && key.topic == topic && key.cluster_id.as_deref() == cluster_id
        });
        let offsets = match found {
            Some((_, offsets)) => offsets,
            None => {
                let key = PartitionKey {
                    cluster_id: cluster_id.map(|id| kept(id).into_owned()),
                    topic: kept(topic).into_owned(),
                    partition,
                };
                self.partitions.entry(key).or_default()
            }
        };
        offsets.record(event.kafka_offset, instance_id, event.transaction.is_some());
    }

    fn record_order(&mut self, instance_id: &str, event: &EventsLine<'_>, valid: bool) {
        let order = event.order_full.as_ref();
        let customer = order.and_then(|order| order.customer.as_ref());
        let customer_id = customer.and_then(|c| text(&c.customer_id)).unwrap_or("?");
        let total_cents = order.map_or(0, |order| order.total_cents);
        let status = text(&event.status).unwrap_or("?");
        let order_id = text(&event.order_id).unwrap_or("?");
        push_ring(&mut self.latest_orders, self.config.latest_orders, |row: &mut OrderRow| {
            set_text(&mut row.timestamp, text_of(&event.timestamp));
            set_text(&mut row.instance_id, instance_id);
            row.partition = event.kafka_partition;
            row.offset = event.kafka_offset;
            set_text(&mut row.order_id, order_id);
            set_text(&mut row.customer_id, customer_id);
            set_text(&mut row.status, status);
            row.total_cents = total_cents;
            row.valid = valid;
        });
        if !valid {
            return;
        }
        let method = order.and_then(|order| order.payment.as_ref()).and_then(|payment| text(&payment.method));
        self.business.count_status(order_id, status, method);
        if status == "created" {
            let currency = order.and_then(|order| text(&order.currency));
            let customer_name = customer.and_then(|c| text(&c.name));
            if self.business.count_created(order_id, (customer_id, customer_name), total_cents, currency) {
                for item in order.map_or(&[][..], |order| &order.items[..]) {
                    let product_id = text(&item.product_id).unwrap_or("?");
                    self.business.count_item(product_id, text(&item.name), item.quantity);
                }
            }
        }
    }
}
