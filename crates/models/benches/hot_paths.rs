//! Micro-benchmarks of what the producer and the tracker do for every message, without Kafka:
//! generate and serialise an order event (producer), parse and validate it, and write its
//! audit line (tracker). `make bench` measures the whole programs against kcat; these show
//! which step moved when a figure there changes. Run with `cargo bench -p models`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use models::audit::MessageOrigin;
use models::{validate, AuditEntry, OrderEvent, OrderEventRef, OrderGenerator};

fn producer(c: &mut Criterion) {
    let mut group = c.benchmark_group("producer");
    group.throughput(Throughput::Elements(1));
    let mut generator = OrderGenerator::seeded(7);
    group.bench_function("generate order event", |b| b.iter(|| black_box(generator.new_order_event())));
    let event = generator.new_order_event();
    group.bench_function("serialise order event", |b| b.iter(|| black_box(event.to_json())));
    // What the producer does instead: the event borrows its order and is written into one
    // buffer reused from record to record.
    let mut buffer = Vec::with_capacity(4096);
    group.bench_function("serialise order event, borrowed into a reused buffer", |b| {
        b.iter(|| {
            buffer.clear();
            OrderEventRef::from(black_box(&event)).write_json(&mut buffer);
            black_box(buffer.len())
        })
    });
    // A lifecycle step: a new order value (the copy the producer made before), or the order
    // itself moved where it is kept (the producer's way now).
    let now = chrono::Utc::now();
    group.bench_function("lifecycle step, copied", |b| {
        b.iter(|| black_box(generator.advance(black_box(&event.order), now)))
    });
    group.bench_function("lifecycle step, in place", |b| {
        b.iter_batched_ref(
            || event.order.clone(),
            |order| black_box(generator.advance_in_place(order, now)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn tracker(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracker");
    group.throughput(Throughput::Elements(1));
    let payload = OrderGenerator::seeded(7).new_order_event().to_json();
    group.bench_function("parse order event", |b| {
        b.iter(|| black_box(OrderEvent::from_slice(black_box(&payload)).ok()))
    });
    let event = OrderEvent::from_slice(&payload).expect("a generated event parses");
    group.bench_function("validate order event", |b| {
        b.iter(|| black_box(validate(black_box(&event)).is_ok()))
    });
    let text = std::str::from_utf8(&payload).expect("a generated payload is UTF-8");
    group.bench_function("escape payload, serde_json", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(4096),
            |out| serde_json::to_writer(out, black_box(text)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("escape payload, models::json", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(4096),
            |out| models::json::write_str(out, black_box(text)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("escape payload, models::json eight bytes at a time", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(4096),
            |out| models::json::write_str_words(out, black_box(text)),
            BatchSize::SmallInput,
        )
    });
    // The producer's four headers, as the tracker writes them into every audit line.
    let record_headers: [(&[u8], Option<&[u8]>); 4] = [
        (b"event_type", Some(b"order.created")),
        (b"content-type", Some(b"application/json")),
        (b"producer_sequence", Some(b"12345")),
        (b"trace_id", Some(b"6f1c2a0e-4f0b-4d7e-9a51-3c2d8e7f9b10")),
    ];
    group.bench_function("headers as JSON, through a map", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(256),
            |out| {
                let map = models::HeaderMap::from_raw(black_box(record_headers));
                serde_json::to_writer(out, &map)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("headers as JSON, written directly", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(256),
            |out| models::headers::write_json(out, black_box(&record_headers)),
            BatchSize::SmallInput,
        )
    });
    let origin = MessageOrigin {
        topic: "orders",
        partition: 0,
        offset: 42,
        key: Some(b"key"),
        payload: Some(&payload),
    };
    let headers: [(&[u8], Option<&[u8]>); 2] =
        [(b"trace_id", Some(b"4bf92f3577b34da6")), (b"source", Some(b"bench"))];
    group.bench_function("write audit line", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(4096),
            |out| {
                AuditEntry::new("2026-11-27T21:00:00.000Z", "tracker-1", origin, Ok(&event), None)
                    .with_cluster_id(Some("cluster"))
                    .with_headers(&headers)
                    .write_line(out)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, producer, tracker);
criterion_main!(benches);
