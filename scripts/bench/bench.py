#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  bench.py record FILE key=value...          write one JSON object of measurements
  bench.py span FILE... [--expect N]         first/last `.events` timestamp, count, rate
  bench.py latency FILE...                   producer timestamp -> .events timestamp, ms
  bench.py repeat SRC OUT N                  OUT = the lines of SRC repeated up to N lines
  bench.py append --src F --dir D --rate R --seconds S [--files K]
                                             append real lines to K files at R lines/s in all
  bench.py sample PID OUT [--interval 1]     CPU % and RSS of PID every interval until it exits
  bench.py maxrss TIME_V_OUTPUT              Maximum resident set size (KB) from /usr/bin/time -v
  bench.py threads PID                       CPU seconds of each thread of PID, by name
  bench.py topic BROKER NAME PARTITIONS      create a topic (needs confluent-kafka: the bench venv)
  bench.py perfconsumer OUTPUT N             count, seconds, rate of a kafka-consumer-perf-test run
  bench.py assigned DIR PARTITIONS           exit 0 when the trackers' .log files in DIR hold every
                                             partition, each tracker at least one
  bench.py round ROUND_DIR                   one line per program of a round (progress)
  bench.py report PARTS_DIR OUT_JSON         merge the rounds, print medians and ranges, write OUT_JSON
"""

import glob
import json
import os
import re
import sys
import time
from datetime import datetime, timezone

TS_RE = re.compile(rb'^\{"timestamp":"([^"]+)"')


def parse_ts(text):
    """RFC 3339 (with Z) -> Unix seconds as float."""
    if isinstance(text, bytes):
        text = text.decode()
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cmd_record(args):
    out, pairs = args[0], args[1:]
    data = {}
    if os.path.exists(out):
        with open(out) as f:
            data = json.load(f)
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            data[key] = json.loads(value)
        except ValueError:
            data[key] = value
    with open(out, "w") as f:
        json.dump(data, f, indent=1)


def cmd_span(args):
    expect = None
    if "--expect" in args:
        i = args.index("--expect")
        expect = int(args[i + 1])
        args = args[:i] + args[i + 2:]
    first = last = None
    count = 0
    for path in args:
        with open(path, "rb") as f:
            for line in f:
                m = TS_RE.match(line)
                if not m:
                    continue
                count += 1
                t = m.group(1)
                # Same format everywhere (RFC 3339, ms, Z): strings compare like times.
                if first is None or t < first:
                    first = t
                if last is None or t > last:
                    last = t
    seconds = parse_ts(last) - parse_ts(first) if first else 0.0
    result = {"count": count, "first": first.decode() if first else None,
              "last": last.decode() if last else None, "seconds": seconds,
              "rate": count / seconds if seconds > 0 else None}
    print(json.dumps(result))
    if expect is not None and count < expect:
        sys.exit(1)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


STEADY_AFTER_S = 1.0


def cmd_latency(args):
    """Latency of each line: its timestamp minus the payload's. With --createtime FILE (kcat -J
    of the same topic), also split at the record's CreateTime: the producer's share (payload
    timestamp -> CreateTime) and the broker's and consumer's (CreateTime -> line)."""
    created = {}
    if "--createtime" in args:
        i = args.index("--createtime")
        with open(args[i + 1], encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    created[(record["partition"], record["offset"])] = record["ts"]
                except (ValueError, KeyError, TypeError):
                    continue
        args = args[:i] + args[i + 2:]
    values, to_kafka, from_kafka, produced_at = [], [], [], []
    for path in args:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    produced = parse_ts(json.loads(entry["raw_message"])["timestamp"])
                    received = parse_ts(entry["timestamp"])
                    values.append((received - produced) * 1000.0)
                    produced_at.append(produced)
                    kafka_ms = entry.get("kafka_timestamp_ms") or created.get(
                        (entry.get("kafka_partition"), entry.get("kafka_offset")))
                    if kafka_ms:
                        to_kafka.append(kafka_ms - produced * 1000.0)
                        from_kafka.append(received * 1000.0 - kafka_ms)
                except (ValueError, KeyError, TypeError):
                    continue

    def stats(xs):
        xs.sort()
        return {"count": len(xs), "p50_ms": percentile(xs, 50), "p99_ms": percentile(xs, 99),
                "max_ms": xs[-1] if xs else None, "mean_ms": sum(xs) / len(xs) if xs else None}

    # Steady state: events generated at least STEADY_AFTER_S after the first one. librdkafka's
    # idempotent producer asks for its producer id only when a timer fires, 500 ms after start
    # (debug=eos: "Starting PID FSM timer: Coordinator not up"), so the first half second of
    # events waits in the producer's queue whatever the broker or the consumer do.
    start = min(produced_at, default=0.0)
    steady = [v for v, t in zip(values, produced_at) if t - start >= STEADY_AFTER_S]
    result = stats(values)
    result["steady"] = stats(steady)
    result["steady_after_s"] = STEADY_AFTER_S
    if to_kafka:
        # Payload timestamp -> record CreateTime (inside the producer), and CreateTime -> line.
        result["payload_to_createtime"] = stats(to_kafka)
        result["createtime_to_line"] = stats(from_kafka)
    print(json.dumps(result))


def cmd_repeat(args):
    src, out, n = args[0], args[1], int(args[2])
    with open(src, "rb") as f:
        lines = [line if line.endswith(b"\n") else line + b"\n" for line in f if line.strip()]
    if not lines:
        sys.exit("repeat: no lines in " + src)
    written = 0
    with open(out, "wb", buffering=1 << 22) as f:
        while written < n:
            chunk = lines[: n - written]
            f.writelines(chunk)
            written += len(chunk)
    print(json.dumps({"lines": written, "bytes": os.path.getsize(out)}))


def now_ms():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()


def cmd_append(args):
    import argparse
    p = argparse.ArgumentParser(prog="bench.py append")
    p.add_argument("--src", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--rate", type=float, required=True, help="lines per second, all files together")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--files", type=int, default=3)
    p.add_argument("--period", type=float, default=0.1)
    p.add_argument("--max-src-lines", type=int, default=20000)
    p.add_argument("--pid", type=int, help="sample this process's CPU and RSS every second")
    p.add_argument("--samples", help="where to write the samples (JSON list)")
    a = p.parse_args(args)
    # Real tracker lines, with their timestamp and instance id replaced by fresh ones.
    rests, ids = [], set()
    with open(a.src, "rb") as f:
        for line in f:
            m = TS_RE.match(line)
            if not m:
                continue
            rests.append(line[m.end():].rstrip(b"\n") + b"\n")
            im = re.search(rb'"instance_id":"([^"]*)"', line)
            if im:
                ids.add(im.group(1))
            if len(rests) >= a.max_src_lines:
                break
    if not rests:
        sys.exit("append: no .events lines in " + a.src)
    per_file = []
    for k in range(a.files):
        name = f"bench-{k + 1}".encode()
        lines = rests
        for old in ids:
            lines = [r.replace(b'"instance_id":"' + old + b'"', b'"instance_id":"' + name + b'"', 1)
                     for r in lines]
        per_file.append(lines)
    handles = [open(os.path.join(a.dir, f"tracker-bench-{k + 1}.events"), "ab", buffering=0)
               for k in range(a.files)]
    hz = os.sysconf("SC_CLK_TCK")
    samples = []
    start = time.monotonic()
    if a.pid:
        prev_ticks, _, _ = read_proc(a.pid)
        prev_t = start
    written = 0
    cursor = [0] * a.files
    tick = 0
    late = 0
    ticks_per_sample = max(1, int(round(1.0 / a.period)))
    while True:
        tick += 1
        due_at = start + tick * a.period
        elapsed = min(tick * a.period, a.seconds)
        target = int(a.rate * elapsed)
        todo = target - written
        if todo > 0:
            ts = now_ms()
            for k, handle in enumerate(handles):
                share = todo // a.files + (1 if k < todo % a.files else 0)
                lines = per_file[k]
                buf = []
                c = cursor[k]
                for _ in range(share):
                    buf.append(b'{"timestamp":"' + ts + b'"' + lines[c])
                    c = (c + 1) % len(lines)
                cursor[k] = c
                handle.write(b"".join(buf))
            written = target
        if a.pid and tick % ticks_per_sample == 0:
            # Sampled from inside the loop, so the samples cover exactly the appending.
            try:
                cpu_ticks, rss, rchar = read_proc(a.pid)
            except (OSError, ValueError):
                sys.exit(f"append: process {a.pid} is gone")
            t = time.monotonic()
            samples.append({"t": round(t - start, 2),
                            "cpu_pct": round(100.0 * (cpu_ticks - prev_ticks) / hz / (t - prev_t), 1),
                            "rss_kb": rss, "rchar": rchar})
            prev_ticks, prev_t = cpu_ticks, t
        if tick * a.period >= a.seconds:
            break
        pause = due_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            late += 1
    for handle in handles:
        handle.close()
    elapsed = time.monotonic() - start
    if a.samples:
        with open(a.samples, "w") as f:
            json.dump(samples, f)
    total_bytes = sum(os.path.getsize(os.path.join(a.dir, f"tracker-bench-{k + 1}.events"))
                      for k in range(a.files))
    print(json.dumps({"lines": written, "seconds": elapsed, "rate": written / elapsed,
                      "bytes": total_bytes, "late_ticks": late}))


def read_proc(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    rss_kb = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    rchar = None
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    rchar = int(line.split()[1])
    except OSError:
        pass
    return ticks, rss_kb, rchar


def cmd_sample(args):
    pid, out = int(args[0]), args[1]
    interval = float(args[3]) if len(args) > 3 and args[2] == "--interval" else 1.0
    hz = os.sysconf("SC_CLK_TCK")
    samples = []
    try:
        prev_ticks, _, _ = read_proc(pid)
    except OSError:
        sys.exit(f"sample: no process {pid}")
    prev_t = time.monotonic()
    t0 = prev_t
    while True:
        time.sleep(interval)
        try:
            ticks, rss, rchar = read_proc(pid)
        except (OSError, ValueError):
            break
        now = time.monotonic()
        cpu = 100.0 * (ticks - prev_ticks) / hz / (now - prev_t)
        samples.append({"t": round(now - t0, 2), "cpu_pct": round(cpu, 1), "rss_kb": rss, "rchar": rchar})
        prev_ticks, prev_t = ticks, now
        with open(out, "w") as f:
            json.dump(samples, f)


def cmd_maxrss(args):
    with open(args[0]) as f:
        for line in f:
            if "Maximum resident set size" in line:
                print(int(line.rsplit(":", 1)[1]))
                return
    print("null")


# ---------------------------------------------------------------------------------------------
# Report

def load(parts, name):
    path = os.path.join(parts, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, digits=0, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,.0f}{unit}"


def aim_tag(text, met):
    return text + ("" if met is None else (" (met)" if met else " (missed)"))


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}x"


def follow_summary(samples, appended_bytes, window=5):
    if not samples:
        return None
    head = samples[:window]
    tail = samples[-window:]
    avg = lambda xs, k: sum(x[k] for x in xs) / len(xs)
    rss = [s["rss_kb"] for s in samples if s["rss_kb"] is not None]
    last_rchar = samples[-1].get("rchar")
    mid = samples[len(samples) // 2]
    return {
        "rss_kb_mid": mid["rss_kb"],
"cpu_pct_start": avg(head, "cpu_pct"), "cpu_pct_end": avg(tail, "cpu_pct"),
        "cpu_pct_mean": avg(samples, "cpu_pct"),
        "rss_kb_start": head[0]["rss_kb"], "rss_kb_end": tail[-1]["rss_kb"],
        "rss_kb_max": max(rss) if rss else None,
        "read_bytes": last_rchar, "appended_bytes": appended_bytes,
        "read_share": ratio(last_rchar, appended_bytes),
    }


def cmd_threads(args):
    """CPU seconds of each thread of a process, by name (librdkafka's `rdk:*` threads summed as
    `librdkafka`), as JSON on stdout."""
    pid, hz = args[0], os.sysconf("SC_CLK_TCK")
    seconds = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        name = "librdkafka" if name.startswith("rdk:") else name
        fields = stat[stat.rindex(")") + 2:].split()
        seconds[name] = seconds.get(name, 0) + (int(fields[11]) + int(fields[12])) / hz
    print(json.dumps({name: round(value, 2) for name, value in seconds.items()}))


def cpu_per_message(d):
    """Microseconds of CPU (user + system, all threads) per message, or None."""
    if not d or d.get("cpu_seconds") in (None, "null") or not d.get("count"):
        return None
    return 1e6 * float(d["cpu_seconds"]) / d["count"]


def cmd_topic(args):
    """Creates a topic; an existing one is fine. Run with the bench venv's Python."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from confluent_kafka import KafkaError as Err
    broker, name, partitions = args[0], args[1], int(args[2])
    admin = AdminClient({"bootstrap.servers": broker})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=30, request_timeout=30)
    try:
        futures[name].result(60)
    except Exception as error:  # the admin client raises KafkaException
        code = error.args[0].code() if error.args and hasattr(error.args[0], "code") else None
        if code != Err.TOPIC_ALREADY_EXISTS:
            sys.exit(f"topic {name}: {error}")


def cmd_perfconsumer(args):
    """kafka-consumer-perf-test prints a CSV header and one line of figures; its own window
    (fetch.time.ms) leaves out the JVM start and the group join, like the tracker's."""
    path, expect = args[0], int(args[1])
    header = values = None
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.split(",")]
            if "fetch.time.ms" in cells:
                header = cells
            elif header and len(cells) == len(header):
                values = dict(zip(header, cells))
    if not values:
        sys.exit("perfconsumer: no figures in " + path)
    count = int(float(values["data.consumed.in.nMsg"]))
    seconds = float(values["fetch.time.ms"]) / 1000.0
    print(json.dumps({"count": count, "seconds": seconds,
                      "rate": count / seconds if seconds > 0 else None,
                      "rebalance_ms": float(values.get("rebalance.time.ms", "nan"))}))
    if count < expect:
        sys.exit(f"perfconsumer: {count} of {expect} records")


def cmd_assigned(args):
    """Exit 0 when the trackers whose .log files are in DIR hold PARTITIONS partitions in all,
    none twice, each tracker at least one (or all of them, with one tracker)."""
    folder, want = args[0], int(args[1])
    held = {}
    for path in glob.glob(os.path.join(folder, "*.log")):
        current = set()
        with open(path) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                partitions = set((entry.get("metadata") or {}).get("partitions") or [])
                if entry.get("kind") == "partitions_assigned":
                    current = partitions
                elif entry.get("kind") == "partitions_revoked":
                    current -= partitions
        held[path] = current
    every = [p for parts in held.values() for p in parts]
    ok = len(every) == want and len(set(every)) == want
    if len(held) <= want:
        ok = ok and all(held.values())
    print(json.dumps({os.path.basename(k): sorted(v) for k, v in held.items()}))
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------------------------
# Rounds and report

PROGRAMS = {
    # name: (label, how its rate is read)
    "producer": "producer (wall clock of the command)",
    "kcat_p": "kcat -P, the producer's settings",
    "bare_producer": "bare_producer (control)",
    "perf_producer": "kafka-producer-perf-test",
    "tracker": "tracker",
    "tracker_before": "tracker before (BENCH_TRACKER_BEFORE)",
    "tracker_fsync": "tracker, fsync: batch",
    "kcat_json": "kcat -C -J",
    "kcat_copy": "kcat -C -f '%k\\t%s\\n'",
    "bare_consumer": "bare_consumer (control)",
    "audit_only": "audit_only: the audit line alone (control)",
    "perf_consumer": "kafka-consumer-perf-test",
}


def rate_of(name, d):
    """Messages per second over the program's window: the tracker's first to last audit line,
    the controls' and kafka-consumer-perf-test's own first to last record, the whole command
    for the others (kcat, the producer, kafka-producer-perf-test)."""
    if not d:
        return None
    if d.get("rate") is not None:
        return d["rate"]
    if d.get("count") and d.get("seconds"):
        return d["count"] / d["seconds"]
    return None


def cpu_us(d):
    """Microseconds of CPU (user + system, all threads) per message, or None."""
    if not d or d.get("cpu_seconds") in (None, "null") or not d.get("count"):
        return None
    return 1e6 * float(d["cpu_seconds"]) / d["count"]


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs), "values": xs}


def rounds_of(parts, broker):
    folder = os.path.join(parts, broker)
    names = sorted((d for d in os.listdir(folder) if d.isdigit()), key=int) if os.path.isdir(folder) else []
    return [{name: load(os.path.join(folder, r), name) for name in list(PROGRAMS) + ["meta"]} for r in names]


def cmd_round(args):
    folder = args[0]
    bits = []
    for name in PROGRAMS:
        d = load(folder, name)
        if d:
            bits.append(f"{name} {fmt(rate_of(name, d))}/s {fmt(cpu_us(d), 1)} us")
    print("round: " + "; ".join(bits))


# (ours, baseline, kind, aim): kind "cpu" is ours/baseline of CPU per message (below 1: ours is
# cheaper), "rate" ours/baseline of messages per second (above 1: ours is faster).
COMPARISONS = [
    ("tracker", "kcat_json", "cpu", ("<=", 1.0)),
    ("tracker", "kcat_json", "rate", (">=", 1.0)),
    ("tracker", "kcat_copy", "cpu", None),
    ("tracker", "kcat_copy", "rate", None),
    ("tracker", "perf_consumer", "cpu", None),
    ("tracker", "perf_consumer", "rate", None),
    ("tracker", "bare_consumer", "cpu", None),
    ("audit_only", "kcat_json", "cpu", None),
    ("tracker", "audit_only", "cpu", None),
    ("tracker", "tracker_before", "cpu", None),
    ("tracker", "tracker_before", "rate", None),
    ("tracker_fsync", "tracker", "cpu", None),
    ("tracker_fsync", "tracker", "rate", None),
    ("bare_consumer", "kcat_copy", "rate", None),
    ("producer", "kcat_p", "rate", (">=", 1.0)),
    ("producer", "kcat_p", "cpu", None),
    ("producer_own", "kcat_p", "rate", None),
    ("producer", "perf_producer", "rate", None),
    ("producer_own", "perf_producer_own", "rate", None),
    ("producer", "perf_producer", "cpu", None),
    ("bare_producer", "kcat_p", "rate", None),
    ("producer", "bare_producer", "cpu", None),
]


OWN_LABELS = {
    "producer_own": "producer (its own first send..last ack)",
    "perf_producer_own": "kafka-producer-perf-test (its own rate)",
}


def value(name, kind, rnd):
    if name == "perf_producer_own":
        d = rnd.get("perf_producer")
        return d and d.get("own_rate") if kind == "rate" else None
    if name == "producer_own":
        d = rnd.get("producer")
        own = d and d.get("own_seconds")
        return d["count"] / own if kind == "rate" and own else None
    d = rnd.get(name)
    return rate_of(name, d) if kind == "rate" else cpu_us(d)


def fmt_spread(s, digits=0, unit=""):
    if not s:
        return "n/a"
    return f"{fmt(s['median'], digits)}{unit} ({fmt(s['min'], digits)}–{fmt(s['max'], digits)})"


def fmt_ratio_spread(s):
    if not s:
        return "n/a"
    return f"{s['median']:.2f}x ({s['min']:.2f}–{s['max']:.2f})"


def cmd_report(args):
    parts, out = args[0], args[1]
    meta = load(parts, "meta") or {}
    res = {"meta": meta, "brokers": {}}
    rows = []  # (broker, comparison, ours, baseline, ratio, aim)
    for broker in ("tansu", "kafka"):
        rounds = rounds_of(parts, broker)
        lat = load(os.path.join(parts, broker), "latency")
        if not rounds and not lat:
            continue
        b = {"rounds": rounds, "programs": {}, "comparisons": []}
        res["brokers"][broker] = b
        for name in PROGRAMS:
            if any(r.get(name) for r in rounds):
                b["programs"][name] = {"rate": spread([rate_of(name, r.get(name)) for r in rounds]),
                                       "cpu_us": spread([cpu_us(r.get(name)) for r in rounds])}
        for ours, base, kind, aim in COMPARISONS:
            pairs = [(value(ours, kind, r), value(base, kind, r)) for r in rounds]
            pairs = [(x, y) for x, y in pairs if x is not None and y]
            if not pairs:
                continue
            ratios = spread([x / y for x, y in pairs])
            met = None
            if aim:
                met = ratios["median"] <= aim[1] if aim[0] == "<=" else ratios["median"] >= aim[1]
            b["comparisons"].append({"ours": ours, "baseline": base, "kind": kind, "ratio": ratios,
                                     "ours_value": spread([x for x, _ in pairs]),
                                     "baseline_value": spread([y for _, y in pairs]),
                                     "aim": aim and f"{aim[0]} {aim[1]:.1f}x", "aim_met": met})
            digits, unit = (1, " us") if kind == "cpu" else (0, "/s")
            label = OWN_LABELS.get(ours) or PROGRAMS[ours]
            base_label = OWN_LABELS.get(base) or PROGRAMS[base]
            what = "CPU per msg, ours/baseline" if kind == "cpu" else "msg/s, ours/baseline"
            rows.append((broker, f"{what}: {label} vs {base_label}",
                         fmt_spread(spread([x for x, _ in pairs]), digits, unit),
                         fmt_spread(spread([y for _, y in pairs]), digits, unit),
                         fmt_ratio_spread(ratios),
                         "-" if not aim else f"{aim[0]} {aim[1]:.1f}x" + (" (met)" if met else " (missed)")))
        threads = {}
        for r in rounds:
            t = r.get("tracker") or {}
            if isinstance(t.get("threads"), dict) and t.get("count"):
                for name, seconds in t["threads"].items():
                    threads.setdefault(name, []).append(1e6 * seconds / t["count"])
        if threads:
            per_thread = {name: spread(xs) for name, xs in threads.items()}
            b["tracker_cpu_us_by_thread"] = per_thread
            shown = sorted(per_thread.items(), key=lambda item: -item[1]["median"])[:4]
            rows.append((broker, "tracker CPU us/msg by thread (median)",
                         ", ".join(f"{n} {v['median']:.1f}" for n, v in shown), "-", "-", "-"))
        if lat:
            b["latency"] = lat
            trio = lambda d: f"{fmt(d.get('p50_ms'))} / {fmt(d.get('p99_ms'))} / {fmt(d.get('max_ms'))}"
            st = lat.get("steady") or {}
            aim = broker == "kafka"
            met = st.get("p99_ms") is not None and st["p99_ms"] <= 20
            rows.append((broker, f"latency p50/p99/max ms, {lat.get('trackers')} trackers @{lat.get('rate')}/s, all events",
                         trio(lat), "-", "-", "-"))
            rows.append((broker, f"latency p50/p99/max ms, after the first {lat.get('steady_after_s', 1):g} s",
                         trio(st), "-", "-", ("p99 <= 20" + (" (met)" if met else " (missed)")) if aim else "-"))
            if lat.get("payload_to_createtime"):
                rows.append((broker, "latency split, all events: payload ts -> CreateTime (producer)",
                             trio(lat["payload_to_createtime"]), "-", "-", "-"))
                rows.append((broker, "latency split, all events: CreateTime -> audit line (broker, tracker)",
                             trio(lat["createtime_to_line"]), "-", "-", "-"))
            if aim:
                b["latency_aim"] = {"aim": "steady p99 <= 20 ms", "met": met}

    m, wc, jq = load(parts, "monitor_once"), load(parts, "monitor_wc"), load(parts, "monitor_jq")
    if m or wc or jq:
        lines = (m or wc or {}).get("lines")
        mr = m and lines / m["seconds"]
        wr = wc and lines / wc["seconds"]
        jr = jq and lines / jq["seconds"]
        res["monitor_once"] = {"lines": lines, "monitor": m, "wc": wc, "jq": jq}
        rows.append(("-", "monitor --once lines/s vs wc -l", fmt(mr), fmt(wr), fmt_ratio(ratio(mr, wr)), "-"))
        rows.append(("-", "monitor --once lines/s vs jq -c .", fmt(mr), fmt(jr), fmt_ratio(ratio(mr, jr)), "-"))
        rss, jrss = m and m.get("max_rss_kb"), jq and jq.get("max_rss_kb")
        rows.append(("-", "monitor --once peak RSS vs jq", fmt(rss and rss / 1024, 1, " MB"),
                     fmt(jrss and jrss / 1024, 1, " MB"), fmt_ratio(ratio(rss, jrss)), "-"))
    f, samples = load(parts, "follow"), load(parts, "follow_samples")
    if f or samples:
        s = follow_summary(samples or [], (f or {}).get("bytes"))
        res["monitor_follow"] = {"appender": f, "summary": s, "samples": samples}
        if s:
            flat = s["rss_kb_end"] <= max(s["rss_kb_mid"] * 1.1, s["rss_kb_mid"] + 2048)
            rows.append(("-", "monitor follow: CPU % start -> end", f"{s['cpu_pct_start']:.0f}% -> {s['cpu_pct_end']:.0f}%",
                         f"appender {fmt(f and f.get('rate'))} lines/s", "-", "-"))
            rows.append(("-", "monitor follow: RSS start -> mid -> end",
                         f"{s['rss_kb_start'] / 1024:.1f} -> {s['rss_kb_mid'] / 1024:.1f} -> {s['rss_kb_end'] / 1024:.1f} MB",
                         "-", "-", "flat" + (" (met)" if flat else " (missed)")))

    res["table"] = [dict(zip(("broker", "comparison", "ours", "baseline", "ratio", "aim"), r)) for r in rows]
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"{meta.get('date', '?')}, {meta.get('command', '?')}, {meta.get('nproc', '?')} cores, "
          f"{meta.get('ram_gb', '?')} GB, load {meta.get('loadavg_start', '?')} -> {meta.get('loadavg_end', '?')}, "
          f"commit {meta.get('git_commit', '?')}; medians of {meta.get('runs', '?')} rounds (min–max)")
    header = ("broker", "comparison", "ours", "baseline (same rounds)", "ratio", "aim")
    widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    commands = {"record": cmd_record, "span": cmd_span, "latency": cmd_latency,
                "repeat": cmd_repeat, "append": cmd_append, "sample": cmd_sample,
                "maxrss": cmd_maxrss, "threads": cmd_threads, "report": cmd_report,
                "topic": cmd_topic, "perfconsumer": cmd_perfconsumer, "assigned": cmd_assigned,
                "round": cmd_round}
    name = sys.argv[1]
    if name not in commands:
        sys.exit(__doc__)
    commands[name](sys.argv[2:])


if __name__ == "__main__":
    main()
