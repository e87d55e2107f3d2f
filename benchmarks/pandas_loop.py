"""The windowed aggregation as a hand-written incremental pandas loop: what a user writes instead of an engine.

``SELECT window(ts, '10 seconds'), device, count(*), avg(temp), max(temp) ... WATERMARK ts DELAY OF INTERVAL
10 SECONDS`` in update mode, one parquet file a micro-batch, the way streamz + pandas would run it: read a file,
drop rows of windows the watermark has closed, a partial ``groupby`` of the file, merged into keyed state
(count, sum, max by (window, device)), the batch's updated rows out (update mode), closed windows evicted, the
watermark moved on. No checkpoint and no general SQL: only what this query needs, written for speed as a
competent engineer would (it is the bar issue #20 sets: stream_nb >= 1.2 x this loop):

* ``device`` is read as the parquet file's dictionary and each file's few distinct names are mapped to ids
  that stay fixed for the run, so (window, device) is one int64 and every groupby, lookup and merge works on
  int64s (grouping on the strings was about 10 x slower: 90 vs 9 ms for 200 k rows);
* the state is a DataFrame indexed by that int64, merged with a batch's partials by a concat and a second,
  small groupby (the state holds only the open windows: about 3,000 keys).

Spark's semantics: a batch uses the watermark of the batches before it (none for the first), rows in a window
that ends at or before it are late and dropped, windows that end at or before it leave the state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

WINDOW_US = 10_000_000
DELAY_US = 10_000_000
DEVICE_BITS = 20  # key = window index << 20 | device id: room for a million devices


def run(files: Iterable[str], emit: Callable[[pd.DataFrame], None]) -> None:
    """Run the query over ``files`` in order, one a batch; ``emit(rows)`` gets each batch's update-mode output:
    window_start, window_end (UTC timestamps), device, n, avg_temp, max_temp."""
    ids: dict[str, int] = {}          # device name -> id, for the whole run
    names: list[str] = []             # id -> device name
    state = pd.DataFrame({"n": np.empty(0, np.int64), "total": np.empty(0), "max_temp": np.empty(0)},
                         index=pd.Index(np.empty(0, np.int64)))
    watermark: int | None = None      # µs since the epoch
    for path in files:
        table = pq.read_table(path, columns=["ts", "device", "temp"], read_dictionary=["device"])
        ts = table.column("ts").to_numpy().view(np.int64)  # µs, UTC
        device = table.column("device").combine_chunks()
        lookup = np.array([ids.get(name) if name in ids else _new(ids, names, name)
                           for name in device.dictionary.to_pylist()], dtype=np.int64)
        window = ts // WINDOW_US
        key = (window << DEVICE_BITS) | lookup[device.indices.to_numpy(zero_copy_only=False)]
        temp = table.column("temp").to_numpy()
        if watermark is not None:  # late rows: their window has closed
            open_ = (window + 1) * WINDOW_US > watermark
            key, temp = key[open_], temp[open_]
        # count(*) is the group's size; the workload's temp has no NULLs, so avg = sum / count(*) here
        partial = pd.Series(temp).groupby(key, sort=False).agg(["size", "sum", "max"])
        partial.columns = ["n", "total", "max_temp"]
        state = pd.concat([state, partial]).groupby(level=0, sort=False).agg(
            {"n": "sum", "total": "sum", "max_temp": "max"})
        updated = state.loc[partial.index]
        emit(_rows(updated, names))
        if len(ts):
            latest = int(ts.max()) - DELAY_US
            if watermark is None or latest > watermark:
                watermark = latest
                ends = ((state.index.to_numpy() >> DEVICE_BITS) + 1) * WINDOW_US
                state = state[ends > watermark]


def _new(ids: dict[str, int], names: list[str], name: str) -> int:
    ids[name] = len(names)
    names.append(name)
    return ids[name]


def _rows(updated: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    key = updated.index.to_numpy()
    start = pd.to_datetime((key >> DEVICE_BITS) * WINDOW_US, unit="us", utc=True)
    return pd.DataFrame({
        "window_start": start,
        "window_end": start + pd.Timedelta(microseconds=WINDOW_US),
        "device": np.asarray(names, dtype=object)[key & ((1 << DEVICE_BITS) - 1)],
        "n": updated["n"].to_numpy(),
        "avg_temp": updated["total"].to_numpy() / updated["n"].to_numpy(),
        "max_temp": updated["max_temp"].to_numpy(),
    })
