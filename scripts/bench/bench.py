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
  bench.py report PARTS_DIR OUT_JSON         merge the parts, print the table, write OUT_JSON
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
                    kafka_ms = entry.get("kafka_timestamp_ms")
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


def cpu_row(step, ours, baselines, rows, res):
    """Rows comparing CPU per message: a measure the machine's load barely moves. The ratio is
    baseline / ours, so above 1 means ours is cheaper, like the throughput ratios."""
    mine = cpu_per_message(ours)
    res["cpu_us_per_message"] = mine
    for name, base in baselines:
        theirs = cpu_per_message(base)
        res["cpu_us_per_message_" + name.split()[0]] = theirs
        rows.append((step, "CPU us/message (all threads)", fmt(mine, 1), f"{name} {fmt(theirs, 1)}",
                     fmt_ratio(ratio(theirs, mine)), "-"))
    threads = (ours or {}).get("threads")
    if isinstance(threads, dict) and ours.get("count"):
        per_thread = {name: 1e6 * value / ours["count"] for name, value in threads.items()}
        res["cpu_us_per_message_by_thread"] = per_thread
        shown = sorted(per_thread.items(), key=lambda item: -item[1])[:4]
        rows.append((step, "CPU us/message by thread", ", ".join(f"{n} {fmt(v, 1)}" for n, v in shown),
                     "-", "-", "-"))


def cmd_report(args):
    parts, out = args[0], args[1]
    meta = load(parts, "meta") or {}
    res = {"meta": meta}
    rows = []  # (step, what, value, baseline, ratio, aim)

    p, k = load(parts, "producer"), load(parts, "producer_kcat")
    if p or k:
        pr = p and p.get("count", 0) / p["seconds"]
        kr = k and k.get("count", 0) / k["seconds"]
        r = ratio(pr, kr)
        res["producer"] = {"producer": p and {**p, "rate": pr}, "kcat": k and {**k, "rate": kr},
                           "ratio_producer_kcat": r, "aim": ">= 1.0x kcat",
                           "aim_met": None if r is None else r >= 1.0}
        rows.append(("producer", "events/s (wall clock)", fmt(pr), "kcat -P " + fmt(kr),
                     fmt_ratio(r), aim_tag(">= 1.0x", None if r is None else r >= 1.0)))
        own = p and p.get("own_seconds")
        if own:
            res["producer"]["producer"]["own_rate"] = p["count"] / own
            rows.append(("producer", "events/s (own summary)", fmt(p["count"] / own),
                         "kcat -P " + fmt(kr), fmt_ratio(ratio(p["count"] / own, kr)), "-"))

        b = load(parts, "producer_bare")
        if b:
            res["producer"]["bare_producer"] = b
            rows.append(("producer", "control: bare_producer", fmt(b.get("rate")), "kcat -P " + fmt(kr),
                         fmt_ratio(ratio(b.get("rate"), kr)), "-"))
        cpu_row("producer", p, [("kcat -P", k), ("bare_producer", b)], rows, res["producer"])

    t, kc, py = load(parts, "tracker"), load(parts, "tracker_kcat"), load(parts, "tracker_python")
    if t or kc or py:
        tr = t and t.get("rate")
        kr = kc and kc.get("count", 0) / kc["seconds"]
        pyr = py and py.get("rate")
        r1, r2 = ratio(tr, kr), ratio(tr, pyr)
        res["tracker"] = {"tracker": t, "kcat": kc and {**kc, "rate": kr}, "python": py,
                          "ratio_tracker_kcat": r1, "ratio_tracker_python": r2,
                          "aim": ">= 1.0x kcat and >= 2.0x python",
                          "aim_met": None if r1 is None or r2 is None else (r1 >= 1.0 and r2 >= 2.0)}
        rows.append(("tracker", "msg/s (first..last line)", fmt(tr), "kcat -C " + fmt(kr),
                     fmt_ratio(r1), aim_tag(">= 1.0x", None if r1 is None else r1 >= 1.0)))
        rows.append(("tracker", "msg/s (first..last line)", fmt(tr), "python " + fmt(pyr),
                     fmt_ratio(r2), aim_tag(">= 2.0x", None if r2 is None else r2 >= 2.0)))

        bc = load(parts, "tracker_bare")
        if bc:
            res["tracker"]["bare_consumer"] = bc
            rows.append(("tracker", "control: bare_consumer", fmt(bc.get("rate")), "kcat -C " + fmt(kr),
                         fmt_ratio(ratio(bc.get("rate"), kr)), "-"))
        cpu_row("tracker", t, [("kcat -C", kc), ("bare_consumer", bc), ("python", py)], rows, res["tracker"])

        tf = load(parts, "tracker_fsync")
        if tf:
            rf = ratio(tf.get("rate"), tr)
            res["tracker"]["fsync_batch"] = {**tf, "ratio_fsync_batch_never": rf}
            rows.append(("tracker", "msg/s with fsync: batch", fmt(tf.get("rate")), "fsync: never " + fmt(tr),
                         fmt_ratio(rf), "-"))
            rows.append(("tracker", "CPU us/message, fsync: batch", fmt(cpu_per_message(tf), 1),
                         "fsync: never " + fmt(cpu_per_message(t), 1),
                         fmt_ratio(ratio(cpu_per_message(t), cpu_per_message(tf))), "-"))

    m, wc, jq = load(parts, "monitor_once"), load(parts, "monitor_wc"), load(parts, "monitor_jq")
    if m or wc or jq:
        lines = (m or wc or {}).get("lines")
        mr = m and lines / m["seconds"]
        wr = wc and lines / wc["seconds"]
        jr = jq and lines / jq["seconds"]
        res["monitor_once"] = {"lines": lines, "bytes": (m or {}).get("bytes"),
                               "monitor": m and {**m, "rate": mr}, "wc": wc and {**wc, "rate": wr},
                               "jq": jq and {**jq, "rate": jr},
                               "ratio_monitor_wc": ratio(mr, wr), "ratio_monitor_jq": ratio(mr, jr)}
        rows.append(("monitor --once", "lines/s", fmt(mr), "wc -l " + fmt(wr),
                     fmt_ratio(ratio(mr, wr)), "-"))
        rows.append(("monitor --once", "lines/s", fmt(mr), "jq -c . " + fmt(jr),
                     fmt_ratio(ratio(mr, jr)), "-"))
        rss = m and m.get("max_rss_kb")
        jrss = jq and jq.get("max_rss_kb")
        rows.append(("monitor --once", "peak RSS", fmt(rss and rss / 1024, 1, " MB"),
                     "jq " + fmt(jrss and jrss / 1024, 1, " MB"), fmt_ratio(ratio(rss, jrss)), "-"))

    f = load(parts, "follow")
    samples = load(parts, "follow_samples")
    if f or samples:
        s = follow_summary(samples or [], (f or {}).get("bytes"))
        flat = None
        if s and s["rss_kb_mid"] and s["rss_kb_end"]:
            # Flat: over the second half of the run, RSS grows by at most 10% or 2 MB.
            flat = s["rss_kb_end"] <= max(s["rss_kb_mid"] * 1.1, s["rss_kb_mid"] + 2048)
        res["monitor_follow"] = {"appender": f, "summary": s, "samples": samples,
                                 "aim": "memory flat", "aim_met": flat}
        if s:
            rows.append(("monitor follow", "CPU % start -> end", f"{s['cpu_pct_start']:.0f}% -> {s['cpu_pct_end']:.0f}%",
                         f"appender {fmt(f and f.get('rate'))} lines/s", "-", "-"))
            rows.append(("monitor follow", "RSS start -> mid -> end",
                         f"{s['rss_kb_start'] / 1024:.1f} -> {s['rss_kb_mid'] / 1024:.1f} -> {s['rss_kb_end'] / 1024:.1f} MB",
                         f"max {s['rss_kb_max'] / 1024:.1f} MB", "-",
                         "flat" + ("" if flat is None else (" (met)" if flat else " (missed)"))))
            if s.get("read_share") is not None:
                rows.append(("monitor follow", "bytes read / appended", f"{100 * s['read_share']:.0f}%",
                             f"{fmt(s['appended_bytes'] / 1e6, 1, ' MB')} appended", "-", "-"))

    lat, lpy = load(parts, "latency"), load(parts, "latency_python")
    if lat:
        met = None if lat.get("p99_ms") is None else lat["p99_ms"] < 50
        res["latency"] = {**lat, "python": lpy, "aim": "p99 < 50 ms", "aim_met": met,
                          "ratio_p99_tracker_python": ratio(lat.get("p99_ms"), (lpy or {}).get("p99_ms"))}
        trio = lambda d: f"{fmt(d.get('p50_ms'))} / {fmt(d.get('p99_ms'))} / {fmt(d.get('max_ms'))}"
        rows.append(("latency", f"p50/p99/max ms @{meta.get('latency_rate', '?')}/s", trio(lat),
                     "python " + (trio(lpy) if lpy else "n/a"),
                     fmt_ratio(ratio(lat.get("p99_ms"), (lpy or {}).get("p99_ms"))) + " (p99)",
                     "p99 < 50" + ("" if met is None else (" (met)" if met else " (missed)"))))
        st, pst = lat.get("steady"), (lpy or {}).get("steady")
        if st:
            smet = None if st.get("p99_ms") is None else st["p99_ms"] < 50
            res["latency"]["steady_aim_met"] = smet
            rows.append(("latency", f"same, after the first {lat.get('steady_after_s', 1):g} s", trio(st),
                         "python " + (trio(pst) if pst else "n/a"),
                         fmt_ratio(ratio(st.get("p99_ms"), (pst or {}).get("p99_ms"))) + " (p99)",
                         "p99 < 50" + ("" if smet is None else (" (met)" if smet else " (missed)"))))
        lfw = load(parts, "latency_python_fw10")
        if lfw:
            res["latency"]["python_fetch_wait_10ms"] = lfw
            rows.append(("latency", "", "", "python fetch.wait.max.ms=10 " + trio(lfw),
                         fmt_ratio(ratio(lat.get("p99_ms"), lfw.get("p99_ms"))) + " (p99)", "-"))
        split = lpy and lpy.get("payload_to_createtime")
        if split:
            # Time spent inside the producer before librdkafka stamps the record.
            rows.append(("latency", "payload ts -> CreateTime", trio(split), "(producer side)", "-", "-"))

    res["table"] = [dict(zip(("step", "measure", "value", "baseline", "ratio", "aim"), r)) for r in rows]
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)

    header = ("step", "measure", "value", "baseline (same run)", "ratio", "aim")
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
                "maxrss": cmd_maxrss, "threads": cmd_threads, "report": cmd_report}
    name = sys.argv[1]
    if name not in commands:
        sys.exit(__doc__)
    commands[name](sys.argv[2:])


if __name__ == "__main__":
    main()
