"""The IoT events workload both cases share: deterministic rows, the grouped query, and its three runners.

Rows are ``ts timestamp, device string, temp double`` with 1,000 devices ``d0000``..``d0999``, built once with
numpy from a fixed seed as one Arrow table; batches are zero-copy slices of it.
"""

from __future__ import annotations

from types import ModuleType

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .harness import Unavailable

SCHEMA = "ts timestamp, device string, temp double"
SQL = (
    "SELECT device, count(*) AS n, avg(temp) AS avg_temp, max(temp) AS max_temp "
    "FROM events GROUP BY device"
)
DEVICES = 1_000
SEED = 20240501
START = np.datetime64("2024-05-01T00:00:00", "us")


def events(rows: int, *, seed: int = SEED) -> pa.Table:
    """``rows`` events, one a millisecond, devices uniform at random, mean temperature set by the device.

    >>> events(3).to_pydict()["device"]
    ['d0971', 'd0269', 'd0398']
    """
    rng = np.random.default_rng(seed)
    device = rng.integers(0, DEVICES, rows, dtype=np.int32)
    temp = 15.0 + device % 20 + rng.normal(0.0, 2.0, rows)
    ts = START + np.arange(rows, dtype=np.int64) * np.timedelta64(1, "ms")
    names = pa.array([f"d{i:04d}" for i in range(DEVICES)])
    return pa.table({
        "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "device": pa.DictionaryArray.from_arrays(pa.array(device), names).cast(pa.string()),
        "temp": pa.array(temp, pa.float64()),
    })


def batches(table: pa.Table, size: int) -> list[pa.Table]:
    """Consecutive zero-copy slices of ``size`` rows (the last may be shorter)."""
    return [table.slice(offset, size) for offset in range(0, table.num_rows, size)]


def duckdb_once(connection: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """The query over ``table`` in one go; registering an Arrow table is zero-copy."""
    connection.register("events", table)
    try:
        return connection.sql(SQL).to_arrow_table()
    finally:
        connection.unregister("events")


def pandas_once(frame: pd.DataFrame) -> pd.DataFrame:
    """The query as a pandas groupby; ``size`` is count(*): it counts rows, nulls included."""
    return (
        frame.groupby("device", sort=False)
        .agg(n=("temp", "size"), avg_temp=("temp", "mean"), max_temp=("temp", "max"))
        .reset_index()
    )


def stream_nb() -> ModuleType:
    """stream_nb, imported only when its contender runs, so the harness works before the engine does."""
    try:
        import stream_nb as sn

        sn.start, sn.sources.memory  # noqa: B018 - the API the contenders call
    except (ImportError, AttributeError) as err:
        raise Unavailable(f"stream_nb API not ready ({type(err).__name__}: {err})") from None
    return sn


def start_query(sn: ModuleType):
    """A fresh memory source and the query on it, batches run only by ``q.step()``."""
    src = sn.sources.memory(SCHEMA)
    q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual")
    return src, q
