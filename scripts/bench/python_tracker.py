#!/usr/bin/env python3
"""Baseline for the tracker benchmark: a plain confluent-kafka consumer loop in Python.

It joins a fresh consumer group, reads COUNT messages from the beginning of TOPIC, parses each
JSON payload and writes one audit line per message with the same fields as the tracker's
`.events` lines (via json.dumps), then prints one JSON object:

    {"count": N, "first": t0, "last": t1, "seconds": t1 - t0, "rate": N / (t1 - t0)}

where t0 and t1 are the times (Unix seconds) at which the first and the last message were
received, so the group join is excluded, as it is for the tracker.

Usage: python_tracker.py --broker HOST:PORT --topic T --group G --count N --out FILE
                         [--idle-timeout S] [--ready FILE]

--ready FILE is created once the consumer has been assigned partitions (used by the latency
step, which starts producing only when its consumers have joined).
"""

import argparse
import base64
import json
import os
import sys
import time
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaError


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_line(message, instance_id: str) -> str:
    payload = message.value() or b""
    try:
        raw = payload.decode("utf-8")
        raw_b64 = None
    except UnicodeDecodeError:
        raw = payload.decode("utf-8", errors="replace")
        raw_b64 = base64.b64encode(payload).decode("ascii")
    key = message.key()
    entry = {
        "timestamp": now_rfc3339(),
        "event_type": "message.received",
        "instance_id": instance_id,
        "kafka_topic": message.topic(),
        "kafka_partition": message.partition(),
        "kafka_offset": message.offset(),
        "kafka_key": key.decode("utf-8", errors="replace") if key is not None else None,
        "raw_message": raw,
        "raw_message_base64": raw_b64,
        "message_size": len(payload),
        "deserialized": False,
        "event_id": None,
        "order_id": None,
        "sequence": None,
        "status": None,
        "order_full": None,
        "error": None,
        "validation_error": None,
        # Extra: the record's Kafka timestamp (CreateTime, ms), to split latency in two.
        "kafka_timestamp_ms": message.timestamp()[1],
    }
    try:
        event = json.loads(raw)
        order = event["order"]
        entry.update(
            deserialized=True,
            event_id=event["event_id"],
            order_id=order["order_id"],
            sequence=event["sequence"],
            status=order["status"],
            order_full=order,
        )
    except (ValueError, KeyError, TypeError) as error:
        entry["event_type"] = "message.received.deserialization_error"
        entry["error"] = str(error)
    return json.dumps(entry, separators=(",", ":"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--idle-timeout", type=float, default=30.0,
                        help="give up after this many seconds without a message")
    parser.add_argument("--ready", help="file to create once partitions are assigned")
    parser.add_argument("--batch", type=int, default=1000,
                        help="messages per consume() call; 1 = poll() one at a time (for latency)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra librdkafka property")
    args = parser.parse_args()

    instance_id = f"python-{os.getpid()}"
    consumer = Consumer({
        "bootstrap.servers": args.broker,
        "group.id": args.group,
        "client.id": instance_id,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        **dict(item.split("=", 1) for item in args.set),
    })
    def on_assign(consumer, partitions):
        if args.ready and partitions:
            with open(args.ready, "w") as ready:
                ready.write(",".join(str(p.partition) for p in partitions) + "\n")

    consumer.subscribe([args.topic], on_assign=on_assign)
    received = 0
    first = last = None
    idle_since = time.monotonic()
    with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as out:
        while received < args.count:
            if args.batch > 1:
                batch = consumer.consume(num_messages=args.batch, timeout=0.5)
            else:
                message = consumer.poll(0.5)
                batch = [message] if message is not None else []
            if not batch:
                # The join is not counted: the idle clock starts over until the first message.
                if time.monotonic() - idle_since > args.idle_timeout and first is not None:
                    break
                if first is None and time.monotonic() - idle_since > 120:
                    break
                continue
            for message in batch:
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        print(f"python_tracker: {error}", file=sys.stderr)
                    continue
                if first is None:
                    first = time.time()
                out.write(audit_line(message, instance_id))
                out.write("\n")
                received += 1
            last = time.time()
            idle_since = time.monotonic()
    consumer.close()
    seconds = (last - first) if first is not None else 0.0
    print(json.dumps({
        "count": received,
        "first": first,
        "last": last,
        "seconds": seconds,
        "rate": received / seconds if seconds > 0 else None,
        # User + system CPU of the whole process, librdkafka's threads included.
        "cpu_seconds": time.process_time(),
    }))
    return 0 if received >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
