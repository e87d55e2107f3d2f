"""Case ``kafka_ingest``: how fast does a query ingest from Kafka, against the files source on the same rows?

The same rows (JSON objects: ts, device, temp) twice: as JSON-lines files read by ``sn.sources.files`` one file
a batch, and as the messages of a 3-partition topic on a local Tansu broker (``sn.sources.kafka_broker()``)
read by ``sn.sources.kafka(schema=...)`` with the same number of rows a batch. Each run is a fresh query, a
windowed aggregation with trigger ``available_now``, from its start until it has read everything. The target:
Kafka at least half the files source's rows/s.

Where the Kafka contender's time goes (2026-11-30 17:45 UTC, full size, thread CPU around each phase and each
thread's CPU from /proc, on a machine kept 60-75% busy by others; per run of 1 M rows): the process 1.3-1.5 s of
CPU (files 0.72-0.77 s), Tansu 0.3 s in its own process. Of the Kafka process: librdkafka's fetch thread
(decoding fetch responses into messages) 0.22-0.29 s; taking the messages from librdkafka
(``stream_nb/sources/kafka_bulk.py``: ``rd_kafka_consume_batch_queue``, a numba loop copying values and keys
into Arrow buffers, destroying the messages) 0.16-0.21 s; the JSON values 0.17-0.2 s on the reading thread plus
Arrow's threads (the files source's reader, one call a batch, ~22 ms of CPU a 50,000-row batch: the same cost
as for files); the aggregation as for files. So the Kafka run costs ~0.6 s of CPU more than the files run (and
Tansu's 0.3 s): on a busy machine the ratio cannot go far past 0.5.

What the source does about it. A batch's values are joined one a line by one Arrow element-wise join (a list
join and a copy were 5.8 of the 15.7 ms a 50,000-value batch took; now 11.6 ms). With one planned step a batch,
the step after the one just read is read and parsed at once on a thread of its own (``kafka_ahead.py``), so
reading and parsing overlap the engine's look-ahead (which aggregates) and the batch that merges (full size,
same process, 60-70% busy: 2.64 -> 1.97 s). Taking messages from librdkafka skips a sort and the row picking
when a batch has one topic and no error (148-170 -> 115-132 ns a message). Fetch responses are ~1 MB in all (they were 16 MB a partition):
Tansu fills a response from one partition, so the first 50,000-message batch of a 3-partition backlog waited
for ~130,000 messages; now the partitions take turns (the first read 113 -> 54 ms, median of 8), for ~3% more
CPU over 1 M messages (more, smaller fetches). All of it, same process, runs interleaved (17:52 UTC, ~40%
busy): full size Kafka 1.59 -> 1.42 s (files 0.72 s: 0.45 -> 0.51 x), its CPU 1.37 -> 1.21 s, first batch
0.25 -> 0.19 s; quick 0.373 -> 0.372 s (files 0.170 s: 0.46 x both), first batch 0.22 -> 0.20 s. Then
librdkafka's prefetch was cut from 1,000,000 messages a partition to 50,000 (it fetched the whole backlog at
once: memory, cold caches, the broker's and librdkafka's CPU spent before the batches need it): full size 2.16
-> 1.73 s and 1.70 -> 1.30 s, process CPU 1.38 -> 1.24 s; quick 0.52 -> 0.40 s (same process, A/B, 17:55 UTC,
~50% busy). ``python -m benchmarks --case kafka_ingest`` then (17:58 UTC, 46-59% busy): quick 0.50 x and 0.50 x
(first batch 0.17-0.18 s against 0.11 s), full 0.62 x (Kafka 1.59 s, files 0.98 s). A fresh process pays ~1 s
once, at its first Kafka read, to import numba and load the compiled loop from its cache (the timed runs come
after the warm-up).

The first batch (2026-11-30 20:17-20:48 UTC, quick size, a timeline of perf_counter marks around each phase of
one process's runs). It ended ~0.2 s after the start against ~0.1 s for files: the start's planning and DuckDB
connection (~35 ms, as for files), then the source's attach 57 ms (median of 8), then two asks for the latest
offsets (the trigger's target and the batch's own, 3 broker requests each), then the first fetch, which waited
35-90 ms for 50,000 messages, then parsing them. The attach's 57 ms were librdkafka's: a new client picks a broker
to connect to at most once per reconnect.backoff.ms / 2 (50 ms by default), and its first request (the metadata)
waited that out in about half the starts; with reconnect.backoff.ms 10 the attach takes 4-20 ms, median 8. The
attach also asked for the offsets twice (once to resolve the starting offsets, once for the partitions): once now.
An available_now query now asks its sources once, at its start, as Spark's AvailableNow (its Kafka source keeps
the offsets fetched then): first batch 152 -> 138 ms, whole run 293 -> 283 ms (medians of 12, same process, A/B).
And the source starts fetching first thing in the query's start (``prepare``), beside the DuckDB connection and
the checkpoint's recovery, instead of after them: whole run 326 -> 307 and 511 -> 455 ms (medians of 12 and 16,
A/B). The fetch still takes 60-100 ms from the assignment to the 50,000th message on a busy machine (Tansu and
librdkafka's fetch thread fill and decode ~1 MB responses), so the first batch waits for the broker less but
still does; fetch responses of 3-6 MB were slower (first batch 153 -> 189-245 ms). The steady batches are
CPU-bound: the Kafka process takes ~290 ms of CPU a quick run against ~180 ms for files, plus Tansu's, and on a
machine kept 50-70% busy by others that sets the ratio near 0.5 whatever the order of the work.
``python -m benchmarks --case kafka_ingest`` before and after these changes, alternately (20:48-20:52 UTC): full
size 0.50, 0.35, 0.48 -> 0.56, 0.56, 0.53 x; quick on a quiet machine 0.47, 0.47, 0.48 -> 0.49, 0.50, 0.49 x
(Kafka's first batch ends 0.13-0.18 -> 0.115-0.121 s, files' 0.08-0.09 s): there the steady batches run at
~0.33 x the files source's rows/s, and that is what is left.

The steady batches (2026-11-30 20:56-21:03 UTC, quick size, perf_counter and thread CPU around the step read
ahead's phases). On the read-ahead thread, taking a step's 50,000 messages from librdkafka took 2-15 ms (its first
30-70 ms), parsing them 36-90 ms of wall (12-30 ms of that thread's CPU, the rest on Arrow's JSON threads); the
batch then waited 34-50 ms in ``take`` for it. So the read ahead is the path that sets the rate, and most of it is
the parse. Reading the step after next too (two steps ahead, two threads: its messages taken from the client while
the next one's values are parsed) could hide only the 2-15 ms, and cost CPU on two shared cores: same process,
runs alternated, one step ahead against two (21:00-21:01 UTC, load average 5-8): quick 0.609 vs 0.614 s and 0.586
vs 0.563 s (medians of 12 and 16; CPU 0.303 vs 0.352 s and 0.297 vs 0.303 s), full 1.562 vs 1.689 s (median of 6);
``python -m benchmarks --case kafka_ingest`` alternated, one step ahead against two: quick (20:58-20:59 UTC, 52-71%
busy) 0.47, 0.59, 0.54 x against 0.49, 0.55, 0.50 x, and (21:05-21:06, 50-52% busy) 0.56, 0.57, 0.54 x against
0.54, 0.54, 0.53 x; full (21:03-21:05, 52-54% busy) 0.60, 0.51, 0.54 x against 0.50, 0.54, 0.56 x. No gain: not
kept. A fresh process's first Kafka query (100 messages) took 0.75-0.83 s against 0.24-0.29 s for a files query
(then 0.04-0.09 s and 0.03-0.04 s), numba's import 0.21-0.35 s of it, paid in ``prepare`` to open the reading
client; the benchmark's timed runs come after its warm-up and do not pay it. Loading numba on a thread at ``prepare`` could only overlap the ~35 ms of the start after it (the first
fetch needs the client, which needs the compiled loop): not done; a plain read for small batches while numba
loads would be the way to spare a notebook's first query that wait.

Is the Kafka path's parse slower than the files source's? (2026-12-01 03:05-03:40 UTC.) No. The same 50,000
values, no broker, median of 15 (process CPU, so Arrow's threads count): the files source's ``read_file``
25.5-30.3 ms, the Kafka source's ``parse_values`` 26.8-31.5 ms; both call the same ``formats._parse_json``
(1 MB blocks on Arrow's threads, the explicit schema with ts as text, the same ``_conform``) on the same bytes,
24.6-26.3 ms either way, and the Kafka path adds only its line join (1.3-1.5 ms) and checks (~0.5 ms). Arrow's
threads or not, 8 MB blocks or 256 KB: 19.2-21.7 ms of CPU for the JSON reader alone, and 5.7 ms for the ts
column. Where the Kafka run's extra CPU goes instead (perf, 10 runs each at full size, ms a 1 M-row run): files
826, Kafka 1,503 = Tansu 235 (167 of it in the kernel: page faults, clearing pages, socket copies), librdkafka's
fetch thread 143 (decoding record batches, an op allocated and zeroed per message), and the reading process's
own threads +300 over files, spread thin: copies of the values +39, librdkafka's consume and message destroy on
the reading thread ~38, numpy +39 (the newline check 10), Arrow's line join ~19, malloc/free +17, page faults
+28, Python +38. Per 50,000-message batch on the read-ahead thread (thread CPU): taking the messages 7.7-9.6 ms
(librdkafka's consume 1.5, destroying the messages 2.0, the compiled loops 1.7, laying out the columns ~1.5, the
runs 0.5), then the values' preparation ~3.5 ms and the parse's own share. librdkafka settings (fetch sizes of
256 KB to 2 MB, queued.min.messages 20,000 or 100,000, fetch.queue.backoff.ms 1, fetch.wait.max.ms 100; CRC
checks are off by default) moved neither the process's CPU (1.12-1.29 s) nor Tansu's (0.18-0.23 s) out of the
noise; fetch responses of up to 3 MB in all, 1 MB a partition (so one response could hold a first batch from
every partition): steady batches 1,099 -> 1,250 k rows/s at quick size, but the first batch 0.120 -> 0.145 s and
the whole run 0.270 -> 0.277 s (12 runs each, alternated), full size 0.919 -> 0.919 s: not kept. Two cuts (an unkeyed topic's keys made nulls without the copy loop; ``isascii`` before the UTF-8 decode)
measured 1.284 -> 1.298 s, CPU 1.230 -> 1.210 s (alternated, 10 runs each): not kept; a numba join of the lines
was slower than Arrow's (1.9 against 1.4 ms). So the gap is librdkafka's and Tansu's per-message work and no
single step of the source's: what would close it is reading fetch responses' record batches into columns
without librdkafka's per-message ops (a Kafka fetch client of our own), not a faster parse. Some benchmark
processes' Kafka runs took 1.6-2.3 s of CPU instead of 1.1-1.3 s throughout (once the read-ahead thread 1.26 s
a run instead of 0.33 s, the compiled reader in use): not explained.

Under the target a second line says when each source's first batch ended and the rows/s of the batches after
it, so the first fetch's wait shows apart from the steady rate; the target stays on the whole run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import workload
from .harness import Contender, Report, Stopwatch, Target, Unavailable, check_same

NAME = "kafka_ingest"
TITLE = "Kafka source vs files source into a windowed aggregation"
SIZES = {False: (1_000_000, 50_000), True: (200_000, 50_000)}  # quick -> (rows, rows per batch)
PARTITIONS = 3
SQL = """SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, avg(temp) AS avg_temp
         FROM events GROUP BY window(ts, '10 seconds'), device"""

FILES, KAFKA = "files source (JSON lines)", "kafka source (JSON values)"


def json_lines(rows: int) -> list[bytes]:
    """The workload's events as JSON objects, one per row."""
    frame = workload.events(rows).to_pandas()
    stamps = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [json.dumps({"ts": ts, "device": device, "temp": temp}).encode()
            for ts, device, temp in zip(stamps, frame["device"], frame["temp"], strict=True)]


def keyed(result: pd.DataFrame) -> pd.DataFrame:
    """The result with one plain key column (the window's start and the device), for check_same."""
    frame = result.copy()
    frame["key"] = [f"{w['start'].isoformat()} {d}" for w, d in zip(frame.pop("w"), frame["device"], strict=True)]
    return frame


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    PHASES.clear()
    sn = workload.stream_nb()
    try:
        broker = sn.sources.kafka_broker()
    except (FileNotFoundError, AttributeError) as missing:
        raise Unavailable(f"no Kafka broker: {missing}") from None
    folder = Path(tempfile.mkdtemp(prefix="stream_nb-kafka-ingest-"))
    report = Report(NAME, f"{TITLE}: {total:,} rows, {per_batch:,} a batch, {PARTITIONS} partitions",
                    baseline=FILES)
    try:
        lines = json_lines(total)
        for k in range(0, total, per_batch):
            (folder / f"part-{k // per_batch:05d}.json").write_bytes(b"\n".join(lines[k:k + per_batch]) + b"\n")
        topic = broker.create_topic("events", PARTITIONS)
        _produce(broker.servers, topic, lines)

        def files_run(clock: Stopwatch) -> pd.DataFrame:
            source = sn.sources.files(folder, format="json", schema=workload.SCHEMA, max_files_per_trigger=1)
            return _ingest(sn, source, clock)

        def kafka_run(clock: Stopwatch) -> pd.DataFrame:
            source = sn.sources.kafka(broker.servers, topic, schema=workload.SCHEMA,
                                      max_offsets_per_trigger=per_batch)
            return _ingest(sn, source, clock)

        reference = keyed(files_run(Stopwatch()))

        def agrees(result: pd.DataFrame) -> None:
            check_same(keyed(result), reference, key="key", what=f"{KAFKA} vs {FILES}")

        measured = report.run([Contender(FILES, files_run, total), Contender(KAFKA, kafka_run, total, agrees)],
                              repeats)
        report.targets = [Target("kafka / files (rows/s)", report.speed_ratio(KAFKA, FILES), goal=0.5)]
        report.notes.append(_phases_note(measured, PHASES))
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return report


PHASES: dict[int, tuple[float, float | None]] = {}  # per timed run's Stopwatch: (first batch's end, rows/s after)


def _ingest(sn, source, clock: Stopwatch) -> pd.DataFrame:
    with clock:
        start = time.time()
        q = sn.start(SQL, sources={"events": source}, output_mode="update", trigger="available_now")
        q.await_termination()
    batches = [p for p in q.recent_progress if p["numInputRows"]]
    ends = [datetime.fromisoformat(p["timestamp"]).timestamp() + p["durationMs"]["triggerExecution"] / 1000
            for p in batches]
    later = sum(p["numInputRows"] for p in batches[1:])
    PHASES[id(clock)] = (ends[0] - start, later / (ends[-1] - ends[0]) if later and ends[-1] > ends[0] else None)
    return q.result


def _phases_note(measured: dict, phases: dict) -> str:
    """The second figure: when the first batch ended, and the rows/s of the batches after it (medians of the
    timed runs). It shows the first fetch's wait apart from the steady rate; the target stays on the whole run."""
    got = {}
    for name in (FILES, KAFKA):
        runs = [phases[id(c)] for c in measured[name].clocks if id(c) in phases] if name in measured else []
        if runs:
            rates = [r for _, r in runs if r]
            got[name] = (statistics.median(f for f, _ in runs), statistics.median(rates) if rates else None)
    if len(got) < 2 or not got[FILES][1] or not got[KAFKA][1]:
        return "First batch and steady rate: not measured."
    (files_first, files_rate), (kafka_first, kafka_rate) = got[FILES], got[KAFKA]
    return (f"First batch ends {files_first:.3f} s after the start with files, {kafka_first:.3f} s with Kafka (its "
            f"first fetch waits for the broker's first response); the batches after it: files {files_rate / 1e3:,.0f} k "
            f"rows/s, Kafka {kafka_rate / 1e3:,.0f} k rows/s (**{kafka_rate / files_rate:.2f} ×**). Medians of the "
            "timed runs; the target is on the whole run.")


def _produce(servers: str, topic: str, lines: list[bytes]) -> None:
    """Round robin over the partitions; the last message of each alone, as Tansu shows a partition's end as the
    first offset of its last batch plus one."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": servers, "linger.ms": 20, "enable.idempotence": True})
    for i, line in enumerate(lines[:-PARTITIONS]):
        while True:
            try:
                producer.produce(topic, value=line, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)
    for i in range(len(lines) - PARTITIONS, len(lines)):
        producer.produce(topic, value=lines[i], partition=i % PARTITIONS)
        producer.flush(15)
