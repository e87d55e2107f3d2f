"""The ``peers`` case's windowed aggregation in Bytewax, run in Bytewax's own environment (``.venv-peers``).

``python peer_bytewax.py FOLDER OUT.parquet``: reads FOLDER's parquet files in name order, one a batch, and
runs 10 s tumbling event-time windows per device (count, avg, max of temp) with Bytewax's ``fold_window`` and
an ``EventClock`` that waits 10 s of event time (the query's watermark delay), one worker. Bytewax emits a
window once it closes (its windowing has no update mode), so its final table is what it emitted. Prints one
JSON line: ``seconds`` from reading the first file to the last output written (the interpreter's and the
imports' start-up are not counted, as the JVM's start is not for Spark), ``rows`` read. Needs only bytewax and
pyarrow: it imports nothing from the project.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata

import bytewax.operators as op
import pyarrow as pa
import pyarrow.parquet as pq
from bytewax.dataflow import Dataflow
from bytewax.inputs import DynamicSource, StatelessSourcePartition
from bytewax.operators.windowing import EventClock, TumblingWindower, fold_window
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import run_main

WINDOW = timedelta(seconds=10)
DELAY = timedelta(seconds=10)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ALIGN = EPOCH  # window starts at multiples of 10 s since the epoch, as Spark's
FIXED_NOW = EPOCH
clock = {"first": None, "last": None, "rows": 0}


class Files(DynamicSource):
    """One parquet file a ``next_batch``: its rows as (device, ts, temp) tuples, ts an aware UTC datetime."""

    def __init__(self, paths: list[str]):
        self.paths = paths

    def build(self, step_id, worker_index, worker_count):
        return _FilesPartition(self.paths if worker_index == 0 else [])


class _FilesPartition(StatelessSourcePartition):
    def __init__(self, paths: list[str]):
        self.paths = list(paths)

    def next_batch(self):
        if not self.paths:
            raise StopIteration
        if clock["first"] is None:
            clock["first"] = time.perf_counter()
        table = pq.read_table(self.paths.pop(0), columns=["ts", "device", "temp"])
        clock["rows"] += table.num_rows
        # Arrow makes a zone-aware datetime 10 x slower than this (it looks the zone up for every value)
        ts = [EPOCH + timedelta(microseconds=us) for us in table.column("ts").cast(pa.int64()).to_pylist()]
        return list(zip(table.column("device").to_pylist(), ts, table.column("temp").to_pylist(), strict=True))


class Rows(DynamicSink):
    """Keeps every emitted (device, (window id, (n, sum, max))), noting when the last one came."""

    def __init__(self, out: list):
        self.out = out

    def build(self, step_id, worker_index, worker_count):
        return _RowsPartition(self.out)


class _RowsPartition(StatelessSinkPartition):
    def __init__(self, out: list):
        self.out = out

    def write_batch(self, items):
        self.out.extend(items)
        clock["last"] = time.perf_counter()


def _fold(acc: tuple[int, float, float], row: tuple) -> tuple[int, float, float]:
    n, total, highest = acc
    temp = row[2]
    return n + 1, total + temp, max(highest, temp)


def _merge(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    return a[0] + b[0], a[1] + b[1], max(a[2], b[2])


def flow(paths: list[str], out: list) -> Dataflow:
    dataflow = Dataflow("windowed_aggregation")
    rows = op.input("files", dataflow, Files(paths))
    keyed = op.key_on("by_device", rows, lambda row: row[0])
    # The watermark is the latest event time minus the delay; a constant "now" keeps the wall clock out of
    # it (by default Bytewax adds the system time passed since an item was seen).
    event_time = EventClock(lambda row: row[1], wait_for_system_duration=DELAY, now_getter=lambda: FIXED_NOW,
                            to_system_utc=lambda _: None)
    windows = fold_window("windows", keyed, event_time, TumblingWindower(length=WINDOW, align_to=ALIGN),
                          builder=lambda: (0, 0.0, float("-inf")), folder=_fold, merger=_merge, ordered=False)
    op.output("rows", windows.down, Rows(out))
    return dataflow


def main(folder: str, target: str) -> None:
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".parquet"))
    out: list = []
    run_main(flow(paths, out))
    seconds = clock["last"] - clock["first"]
    window_us = WINDOW // timedelta(microseconds=1)
    pq.write_table(pa.table({
        "window_start": pa.array([wid * window_us for _, (wid, _) in out], pa.int64()).cast(
            pa.timestamp("us", tz="UTC")),
        "device": [device for device, _ in out],
        "n": pa.array([acc[0] for _, (_, acc) in out], pa.int64()),
        "avg_temp": [acc[1] / acc[0] for _, (_, acc) in out],
        "max_temp": [acc[2] for _, (_, acc) in out],
    }), target)
    print(json.dumps({"seconds": seconds, "rows": clock["rows"], "emitted": len(out),
                      "version": metadata.version("bytewax")}))


if __name__ == "__main__":
    main(*sys.argv[1:])
