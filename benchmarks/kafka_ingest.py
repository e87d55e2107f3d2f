"""Case ``kafka_ingest``: how fast does a query ingest from Kafka, against the files source on the same rows?

The same rows (JSON objects: ts, device, temp) twice: as JSON-lines files read by ``sn.sources.files`` one file
a batch, and as the messages of a 3-partition topic on a local Tansu broker (``sn.sources.kafka_broker()``)
read by ``sn.sources.kafka(schema=...)`` with the same number of rows a batch. Each run is a fresh query, a
windowed aggregation with trigger ``available_now``, from its start until it has read everything. The target:
Kafka at least half the files source's rows/s.

Where the Kafka contender's time goes (2026-11-30 14:15 UTC, thread CPU time around each phase and py-spy,
on a machine kept 70-80% busy by others). Before: confluent-kafka's ``consume()`` made a Python Message object
per message (~1.2-1.5 us each: 1.5-1.7 s of the 3.1-3.6 s of CPU a full-size run cost), more than the files
source spends on a whole row. Now the source calls librdkafka itself (``stream_nb/sources/kafka_bulk.py``:
ctypes on the library confluent-kafka ships, ``rd_kafka_consume_batch_queue`` ~0.05 us a message, and a
numba loop copying values and keys into Arrow buffers): a full-size run costs ~1.3 s of CPU, of which reading
from librdkafka 0.16-0.2 s, the Arrow columns 0.03 s, the JSON values 0.17-0.2 s (the files source's reader,
one call a batch), the rest the aggregation as for files (whose run costs 0.8-0.9 s). Quick size: Kafka
0.31-0.47 s of CPU against files 0.18-0.21 s, and Tansu 0.05-0.08 s in its own process. What is left is mostly the
wait for the broker's first fetch response (0.15-0.27 s before the first batch can run: Tansu builds a few MB
per partition; smaller fetches, 256 KB to 2 MB a partition, did not shorten it) and librdkafka's and Tansu's
threads competing for the 2 cores (Tansu ~0.3 s of CPU a full run). Each batch's latest_offset asks the
partitions' offsets in two ListOffsets requests (0.48 ms on 3 partitions; it was two requests per partition, one
partition after the other, 0.88 ms). A fresh process pays ~1 s once, at its first Kafka read, to import numba
and load the compiled loop from its cache (the timed runs come after the warm-up).

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
