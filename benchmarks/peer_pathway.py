"""The ``peers`` case's windowed aggregation in Pathway, run in Pathway's own environment (``.venv-peers``).

``python peer_pathway.py FOLDER OUT.parquet``: reads FOLDER's parquet files in name order through a Python
connector, one commit (a batch) a file, and runs ``windowby`` with 10 s tumbling windows per device (count,
avg, max of temp) and a 10 s cutoff (the query's watermark delay: windows that end earlier than the latest
event time minus 10 s stop updating). Pathway updates a window's row as its rows arrive (update mode); the
subscriber keeps each key's latest row, which is the final table. Prints one JSON line: ``seconds`` from
reading the first file to the last output (the end of the stream), not counting the interpreter's and the
imports' start-up (as the JVM's start is not counted for Spark), and ``rows`` read. Needs only pathway and
pyarrow: it imports nothing from the project.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata

import pathway as pw
import pyarrow as pa
import pyarrow.parquet as pq

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
clock = {"first": None, "last": None, "rows": 0}


class Events(pw.Schema):
    ts: pw.DateTimeUtc
    device: str
    temp: float


class Files(pw.io.python.ConnectorSubject):
    """Each file's rows, then a commit: the file is one batch for Pathway's engine."""

    def __init__(self, paths: list[str]):
        super().__init__()
        self.paths = paths

    def run(self) -> None:
        clock["first"] = time.perf_counter()
        for path in self.paths:
            table = pq.read_table(path, columns=["ts", "device", "temp"])
            clock["rows"] += table.num_rows
            # Arrow makes a zone-aware datetime 10 x slower than this (it looks the zone up for every value)
            stamps = [EPOCH + timedelta(microseconds=us) for us in table.column("ts").cast(pa.int64()).to_pylist()]
            for ts, device, temp in zip(stamps, table.column("device").to_pylist(), table.column("temp").to_pylist(),
                                        strict=True):
                self.next(ts=ts, device=device, temp=temp)
            self.commit()


def main(folder: str, target: str) -> None:
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".parquet"))
    events = pw.io.python.read(Files(paths), schema=Events, autocommit_duration_ms=None)
    windows = events.windowby(
        events.ts,
        window=pw.temporal.tumbling(duration=timedelta(seconds=10), origin=EPOCH),
        instance=events.device,
        behavior=pw.temporal.common_behavior(cutoff=timedelta(seconds=10)),
    ).reduce(
        window_start=pw.this._pw_window_start,
        device=pw.this._pw_instance,
        n=pw.reducers.count(),
        avg_temp=pw.reducers.avg(pw.this.temp),
        max_temp=pw.reducers.max(pw.this.temp),
    )
    latest: dict = {}

    def on_change(key, row: dict, time: int, is_addition: bool) -> None:  # Pathway passes these by name
        # an update is a retraction of the old row and an insertion of the new one, in either order
        if is_addition:
            latest[key] = row
        elif latest.get(key) == row:
            del latest[key]

    def on_end() -> None:
        clock["last"] = time.perf_counter()

    pw.io.subscribe(windows, on_change=on_change, on_end=on_end)
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    rows = list(latest.values())
    pq.write_table(pa.table({
        "window_start": pa.array([r["window_start"] for r in rows], pa.timestamp("us", tz="UTC")),
        "device": [r["device"] for r in rows],
        "n": pa.array([r["n"] for r in rows], pa.int64()),
        "avg_temp": pa.array([r["avg_temp"] for r in rows], pa.float64()),
        "max_temp": pa.array([r["max_temp"] for r in rows], pa.float64()),
    }), target)
    print(json.dumps({"seconds": clock["last"] - clock["first"], "rows": clock["rows"], "emitted": len(rows),
                      "version": metadata.version("pathway")}))


if __name__ == "__main__":
    main(*sys.argv[1:])
