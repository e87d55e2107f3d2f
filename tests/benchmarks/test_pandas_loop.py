"""The benchmark's hand-written pandas loop computes what stream_nb computes, late rows and eviction included.

The ``peers`` benchmark checks the loop against DuckDB over rows in event-time order, where nothing is late;
these tests give it disordered files, so its watermark (the batches before, none for the first), late-row
drops and evictions are checked against the engine's, which follows Spark's.
"""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import stream_nb as sn
from benchmarks import pandas_loop
from benchmarks.spark_throughput import SQL

BATCHES = [  # (seconds after 2024-05-01T00:00:00, device, temp): one parquet file a batch
    [(1, "a", 10.0), (5, "b", 20.0), (12, "a", 11.0)],
    [(31, "a", 12.0), (3, "b", 21.0), (14, "a", 13.0)],  # watermark 2 s: both windows still open
    [(45, "b", 22.0), (9, "a", 14.0), (25, "a", 15.0)],  # watermark 21 s: 9 s is late, 25 s is not
    [(26, "b", 16.0), (38, "a", 17.0), (12, "b", 18.0)],  # watermark 35 s: 26 s is late too
]


def _files(folder) -> list[str]:
    paths = []
    for i, rows in enumerate(BATCHES):
        path = os.path.join(folder, f"part-{i:05d}.parquet")
        pq.write_table(pa.table({
            "ts": pa.array([pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(seconds=s) for s, _, _ in rows],
                           pa.timestamp("us", tz="UTC")),
            "device": [d for _, d, _ in rows],
            "temp": [t for _, _, t in rows],
        }), path)
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
        paths.append(path)
    return paths


def _comparable(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(pd.to_datetime(frame["window_start"], utc=True), frame["device"], frame["n"],
                      frame["avg_temp"].round(9), frame["max_temp"], strict=True))


def test_loop_final_table_equals_the_engine_over_late_and_disordered_rows(tmp_path):
    paths = _files(tmp_path)
    emitted: list[pd.DataFrame] = []
    pandas_loop.run(paths, emitted.append)
    loop = pd.concat(emitted).drop_duplicates(["window_start", "device"], keep="last")

    q = sn.start(SQL, sources={"events": sn.sources.files(str(tmp_path), format="parquet",
                                                          max_files_per_trigger=1)},
                 output_mode="update", trigger="manual")
    q.process_all_available()
    engine = q.result.assign(window_start=lambda r: [w["start"] for w in r["w"]])

    assert _comparable(loop) == _comparable(engine)
    # the three late rows (9 s of batch 2, 26 s and 12 s of batch 3) changed nothing: a's first window kept
    # its one row, and 9 of the 12 rows are counted
    first = loop[(loop["device"] == "a") & (loop["window_start"] == pd.Timestamp("2024-05-01", tz="UTC"))]
    assert first["n"].tolist() == [1]
    assert loop["n"].sum() == 9


def test_loop_emits_only_the_keys_a_batch_updated(tmp_path):
    emitted: list[pd.DataFrame] = []
    pandas_loop.run(_files(tmp_path), emitted.append)
    assert [sorted(zip(b["window_start"].dt.second + 60 * b["window_start"].dt.minute, b["device"], strict=True))
            for b in emitted] == [
        [(0, "a"), (0, "b"), (10, "a")],
        [(0, "b"), (10, "a"), (30, "a")],
        [(20, "a"), (40, "b")],
        [(30, "a")],
    ]
