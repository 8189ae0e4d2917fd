//! What the aggregator shows at a given time: [`Aggregator::snapshot`] builds the [`Summary`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::counters::{Counters, Instance};
use super::offsets::PartitionSummary;
use super::summary::{newest_first, round2};
use super::{
    format_ms, lifecycle_rank, parse_timestamp_ms, Aggregator, BusinessSummary, CustomerSummary,
    InstanceStatus, InstanceSummary, LatencySummary, MessageCounts, NamedCount, PartitionLag,
    ProducerSummary, ProductSummary, Summary, Totals, LATENCY_WINDOW_SECS, RATE_WINDOW_SECS, TOP_CUSTOMERS,
    WINDOW_SECS,
};

/// When a snapshot is taken, for the ages and rates it shows.
struct At {
    /// Now, in milliseconds since the epoch.
    now_ms: i64,
    /// The second `now_ms` falls in (still filling).
    now_second: i64,
    /// The first second rates count.
    rate_from: i64,
}

impl At {
    /// Seconds from `time_ms` to now, to two decimals.
    fn age(&self, time_ms: i64) -> f64 {
        round2((self.now_ms - time_ms) as f64 / 1000.0)
    }
}

impl Aggregator {
    fn status_of(&self, instance: &Instance, now_ms: i64) -> InstanceStatus {
        if instance.stopped {
            return InstanceStatus::Stopped;
        }
        let stale_after_ms = match self.config.stale_after {
            Some(duration) => i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
            None => i64::try_from(instance.metrics_interval_ms.saturating_mul(2)).unwrap_or(i64::MAX),
        };
        match instance.last_seen_ms {
            Some(seen) if now_ms.saturating_sub(seen) <= stale_after_ms => InstanceStatus::Alive,
            _ => InstanceStatus::Stale,
        }
    }

    /// First second counted by rates and the chart: the later of `window_start` and a reset.
    fn window_start(&self, window_start: i64) -> i64 {
        match self.rate_reset_ms {
            Some(reset) => window_start.max(reset.div_euclid(1000)),
            None => window_start,
        }
    }

    /// Everything the screen and the reports show, as of `now`: the instances
    /// ([`Aggregator::instance_summary`]), the totals ([`Aggregator::totals`]), the message
    /// counts of the partitions, the charts and the tables.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Summary {
        let now_ms = now.timestamp_millis();
        let now_second = now_ms.div_euclid(1000);
        // The current second is still filling: rates use the complete seconds before it.
        let at = At { now_ms, now_second, rate_from: self.window_start(now_second - RATE_WINDOW_SECS) };
        let instances: Vec<InstanceSummary> = self
            .instances
            .iter()
            .map(|(instance_id, instance)| self.instance_summary(instance_id, instance, &at))
            .collect();
        let partition_lag = self.partition_lag(now_ms);
        let chart_secs = self.config.chart_secs.clamp(1, WINDOW_SECS) as i64;
        let chart_from = self.window_start(now_second - chart_secs);
        let throughput = (now_second - chart_secs..now_second)
            .map(|second| if second < chart_from { 0 } else { self.per_second.count(second) })
            .collect();
        let mut log_kinds: BTreeMap<String, u64> = BTreeMap::new();
        for instance in self.instances.values() {
            for (kind, count) in &instance.log_kinds {
                *log_kinds.entry(kind.clone()).or_default() += count;
            }
        }
        let partitions: Vec<PartitionSummary> =
            self.partitions.iter().map(|(key, offsets)| offsets.summary(key)).collect();
        Summary {
            generated_at: format_ms(now_ms),
            totals: self.totals(&at, &partition_lag),
            messages: self.message_counts(&partitions),
            instances_alive: instances.iter().filter(|i| i.status == InstanceStatus::Alive).count(),
            instances_total: instances.len(),
            instances,
            partitions,
            partition_lag,
            leader_changes: self.leader_changes.clone(),
            log_kinds,
            business: self.business_summary(),
            producer: self.producer.as_ref().map(|producer| ProducerSummary {
                events_per_second: producer.events_per_second,
                acknowledged: producer.acknowledged,
                lines: producer.lines,
                last_seen: producer.last_seen_ms.map(format_ms),
            }),
            latest_orders: newest_first(&self.latest_orders, |row| &row.timestamp),
            latest_problems: newest_first(&self.latest_problems, |row| &row.timestamp),
            last_errors: self.last_errors.clone(),
            malformed_lines: self.malformed,
            warnings: Vec::new(),
            throughput_per_second: throughput,
            latency: LatencySummary {
                window_seconds: LATENCY_WINDOW_SECS,
                window: self.latency.window(self.window_start(now_second - LATENCY_WINDOW_SECS), now_second),
                overall: self.latency.overall(),
                p99_per_second_ms: self.latency.p99_per_second(
                    now_second - chart_secs,
                    now_second,
                    chart_from,
                ),
            },
            dead_letters: self.dead_letters.summary(),
        }
    }

    /// One instance's row, as of `at`.
    fn instance_summary(&self, instance_id: &str, instance: &Instance, at: &At) -> InstanceSummary {
        let counters = instance.counters();
        InstanceSummary {
            instance_id: instance_id.to_owned(),
            status: self.status_of(instance, at.now_ms),
            partitions: instance.partitions.clone(),
            counters: counters.into(),
            processing: instance.processing.clone(),
            events_lines: instance.received,
            deserialized: instance.received - instance.undeserializable,
            undeserializable: instance.undeserializable,
            validation_errors: instance.validation_errors,
            invalid: instance.invalid,
            log_kinds: instance.log_kinds.clone(),
            runs: instance.runs,
            messages_per_second: round2(instance.per_second.rate(at.rate_from, at.now_second)),
            lag: instance.lag,
            lag_age_seconds: instance.lag.and(instance.lag_time_ms).map(|time| at.age(time)),
            brokers: instance.brokers.clone(),
            uptime_seconds: instance.uptime_seconds,
            last_seen: instance.last_seen_ms.map(format_ms),
            seconds_since_last_seen: instance.last_seen_ms.map(|time| at.age(time)),
            last_metrics: instance.last_metrics.clone(),
        }
    }

    /// The totals over all instances, as of `at`; the lag is the sum of `partition_lag`'s.
    fn totals(&self, at: &At, partition_lag: &[PartitionLag]) -> Totals {
        let counters =
            self.instances.values().fold(Counters::ZERO, |sum, instance| sum.plus(instance.counters()));
        let counters_oldest_ms =
            self.instances.values().filter_map(|instance| instance.counters_time_ms).min();
        let lags: Vec<i64> = partition_lag.iter().filter_map(|row| row.lag).collect();
        let lag_oldest_ms = partition_lag
            .iter()
            .filter(|row| row.lag.is_some())
            .filter_map(|row| parse_timestamp_ms(&row.as_of))
            .min();
        let average_rate = match (self.first_event_ms, self.last_event_ms) {
            (Some(first), Some(last)) if last > first => {
                self.received as f64 * 1000.0 / (last - first) as f64
            }
            _ => 0.0,
        };
        Totals {
            counters: counters.into(),
            success_rate_percent: match (counters.processed, counters.failed) {
                (Some(processed), Some(failed)) if processed.saturating_add(failed) > 0 => {
                    Some(round2(models::health::success_rate_percent(processed, failed)))
                }
                _ => None,
            },
            counters_as_of: counters_oldest_ms.map(format_ms),
            counters_age_seconds: counters_oldest_ms.map(|time| at.age(time)),
            messages_per_second_now: round2(self.per_second.rate(at.rate_from, at.now_second)),
            messages_per_second_average: round2(average_rate),
            total_lag: (!lags.is_empty()).then(|| super::saturating_sum(&lags)),
            lag_as_of: lag_oldest_ms.map(format_ms),
            lag_age_seconds: lag_oldest_ms.map(|time| at.age(time)),
            first_event: self.first_event_ms.map(format_ms),
            last_event: self.last_event_ms.map(format_ms),
        }
    }

    /// The messages read from the `.events` files, with the per-partition counts summed.
    fn message_counts(&self, partitions: &[PartitionSummary]) -> MessageCounts {
        MessageCounts {
            received: self.received,
            deserialized: self.deserialized,
            undeserializable: self.received - self.deserialized,
            validation_errors: self.validation_errors,
            invalid: self.invalid_messages,
            duplicate_deliveries: partitions.iter().map(|p| p.duplicates).sum(),
            records: partitions.iter().map(|p| p.distinct_offsets).sum(),
            retried_attempts: partitions.iter().map(|p| p.retried_attempts).sum(),
            missing_offsets: partitions.iter().map(|p| p.missing_offsets).sum(),
        }
    }

    /// Per partition, the figures of the newest metrics entry that lists it among the alive
    /// instances: after a rebalance or a takeover the new owner's entry is the newer one, and a
    /// stale or stopped instance's last figures are not counted.
    fn partition_lag(&self, now_ms: i64) -> Vec<PartitionLag> {
        let mut newest: BTreeMap<i32, (i64, &str, &models::health::PartitionMetrics, Option<u32>)> =
            BTreeMap::new();
        for (instance_id, instance) in &self.instances {
            if self.status_of(instance, now_ms) != InstanceStatus::Alive {
                continue;
            }
            let Some(time_ms) = instance.lag_time_ms else { continue };
            for partition in &instance.partition_metrics {
                let newer = newest.get(&partition.partition).is_none_or(|(seen, _, _, _)| time_ms > *seen);
                if newer {
                    let min_insync = instance.min_insync_replicas;
                    newest.insert(partition.partition, (time_ms, instance_id, partition, min_insync));
                }
            }
        }
        newest
            .into_iter()
            .map(|(partition, (time_ms, instance_id, metrics, min_insync_replicas))| PartitionLag {
                partition,
                instance_id: instance_id.to_owned(),
                committed_offset: metrics.committed_offset,
                last_processed_offset: metrics.last_processed_offset,
                high_watermark: metrics.high_watermark,
                lag: metrics.lag,
                as_of: format_ms(time_ms),
                age_seconds: round2((now_ms - time_ms) as f64 / 1000.0),
                leader: metrics.leader,
                replicas: metrics.replicas.clone(),
                in_sync_replicas: metrics.in_sync_replicas.clone(),
                min_insync_replicas,
                under_replicated: metrics.under_replicated(),
                below_min_insync: metrics.below_min_insync(min_insync_replicas),
            })
            .collect()
    }

    fn business_summary(&self) -> BusinessSummary {
        let business = &self.business;
        let mut customers: Vec<CustomerSummary> = business
            .customers
            .iter()
            .map(|(customer_id, totals)| CustomerSummary {
                customer_id: customer_id.clone(),
                name: totals.name.clone(),
                orders: totals.orders,
                revenue_cents: totals.revenue_cents,
            })
            .collect();
        customers.sort_by(|a, b| {
            b.revenue_cents.cmp(&a.revenue_cents).then_with(|| a.customer_id.cmp(&b.customer_id))
        });
        customers.truncate(TOP_CUSTOMERS);
        let mut products: Vec<ProductSummary> = business
            .products
            .iter()
            .map(|(product_id, totals)| ProductSummary {
                product_id: product_id.clone(),
                name: totals.name.clone(),
                quantity: totals.quantity,
                orders: totals.orders,
            })
            .collect();
        products.sort_by(|a, b| b.quantity.cmp(&a.quantity).then_with(|| a.product_id.cmp(&b.product_id)));
        products.truncate(TOP_CUSTOMERS);
        let mut by_status = vec![0u64; business.statuses.names.len()];
        let mut by_method = vec![0u64; business.methods.names.len()];
        for state in business.orders.values() {
            by_status[usize::from(state.status)] += 1;
            if let Some(method) = state.method {
                by_method[usize::from(method)] += 1;
            }
        }
        let named = |names: &[String], counts: Vec<u64>| -> Vec<NamedCount> {
            names
                .iter()
                .zip(counts)
                .filter(|(_, orders)| *orders > 0)
                .map(|(name, orders)| NamedCount { name: name.clone(), orders })
                .collect()
        };
        let mut orders_by_status = named(&business.statuses.names, by_status);
        orders_by_status.sort_by(|a, b| {
            lifecycle_rank(&a.name).cmp(&lifecycle_rank(&b.name)).then_with(|| a.name.cmp(&b.name))
        });
        let mut orders_by_payment_method = named(&business.methods.names, by_method);
        orders_by_payment_method.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.name.cmp(&b.name)));
        let average = (business.created_orders > 0).then(|| {
            // Rounded to the nearest cent, in 128 bits: a saturated revenue does not wrap here.
            let orders = i128::from(business.created_orders);
            let average = (i128::from(business.revenue_cents) * 2 + orders).div_euclid(orders * 2);
            i64::try_from(average).unwrap_or(i64::MAX)
        });
        BusinessSummary {
            currency: business.currency.clone().unwrap_or_else(|| "EUR".to_owned()),
            revenue_cents: business.revenue_cents,
            orders_created: business.created_orders,
            repeated_created_events: business.repeated_created,
            average_basket_cents: average,
            orders_by_status,
            orders_by_payment_method,
            orders_not_tracked: business.orders_not_tracked,
            top_customers: customers,
            top_products: products,
        }
    }
}
