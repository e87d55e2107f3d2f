"""Case ``state_bounded``: with a watermark, a windowed aggregation keeps bounded state, and memory stays flat.

20 M rows (quick: 1 M) of ``sensors(devices=1000, disorder="5 seconds", late_fraction=0.01, seed=1)`` go
through 10-second windows per device with a 10-second watermark, in update mode. The source follows a fake
clock that each batch moves on by a fixed step, so every ``q.step()`` reads the same number of rows and event
time advances as it would at 20,000 rows/s. After every batch the case records the state rows, the rows the
watermark dropped, and the process's RSS.

The sink is ``foreach_batch`` that keeps only the rows of windows still open: the memory sink keeps the last
row of every window ever emitted (100,000 rows over the full run), which grows with the run by design and would
hide the engine's own memory behind it.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from . import workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target, check_same, table

NAME = "state_bounded"
TITLE = "state and memory over a long windowed aggregation with a watermark"
SIZES = {False: (20_000_000, 200_000), True: (1_000_000, 50_000)}  # quick -> (rows, rows per batch)
DEVICES, RATE = 1_000, 20_000     # 20,000 rows per second of event time: 20 M rows = 1,000 s = 100 windows
WINDOW_S, DELAY_S, DISORDER_S = 10, 10, 5
START = "2024-05-01 00:00:00"
WARM_UP = 0.25                    # the RSS slope is fitted over the batches after the first quarter of the rows
SLOPE_GOAL = 1.0                  # MB per million rows: "flat" (20 MB drift over the full run at most)

SQL = (f"SELECT window(ts, '{WINDOW_S} seconds') AS w, device, avg(temperature) AS t, count(*) AS n "
       f"FROM readings WATERMARK ts DELAY OF INTERVAL {DELAY_S} SECONDS "
       f"GROUP BY window(ts, '{WINDOW_S} seconds'), device")

STREAM_NB = "stream_nb q.step()"


class FakeClock:
    """The sensors source's clock: stands still until ``advance`` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class OpenWindows:
    """A foreach_batch sink holding the latest (n, t) of each (window, device) until the watermark closes the
    window; then its rows leave: summed into ``closed_rows`` and, with ``keep``, kept in ``closed``."""

    def __init__(self, keep: bool) -> None:
        self.open: dict[tuple[int, str], tuple[int, float]] = {}
        self.closed: dict[tuple[int, str], tuple[int, float]] = {}
        self.keep = keep
        self.closed_rows = 0
        self.rows_out = 0

    def __call__(self, df: pd.DataFrame, batch_id: int) -> None:
        self.rows_out += len(df)
        starts = [w["start"].value // 1000 for w in df["w"]]
        self.open.update(zip(zip(starts, df["device"]), zip(df["n"].tolist(), df["t"].tolist())))

    def close_before(self, watermark_us: int) -> None:
        """Windows that end at or before the watermark get no more rows (Spark: late rows are dropped)."""
        for key in [k for k in self.open if k[0] + WINDOW_S * 1_000_000 <= watermark_us]:
            n, t = self.open.pop(key)
            self.closed_rows += n
            if self.keep:
                self.closed[key] = (n, t)

    def final(self) -> pd.DataFrame:
        rows = {**self.closed, **self.open}
        return pd.DataFrame({"key": [f"{s}|{d}" for s, d in rows], "n": [n for n, _ in rows.values()],
                             "t": [t for _, t in rows.values()]})


def rss_mb() -> float:
    """Resident set size of this process, in MB (psutil if installed, else /proc/self/status)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return kb / 1024


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    count = math.ceil(total / per_batch)
    step_s = per_batch / RATE
    bound = DEVICES * math.ceil((step_s + DELAY_S + WINDOW_S) / WINDOW_S)
    report = Report(NAME, f"{TITLE}: {total:,} sensor rows in {count} batches of {per_batch:,} "
                          f"({step_s:g} s of event time each)")
    trace: list[dict[str, Any]] = []

    def stream_nb_run(clock: Stopwatch, batches: int = count, record: bool = True):
        sn = workload.stream_nb()
        fake = FakeClock(pd.Timestamp(START, tz="UTC").to_pydatetime())
        src = sn.sources.sensors(devices=DEVICES, rows_per_second=RATE, disorder=f"{DISORDER_S} seconds",
                                 late_fraction=0.01, seed=1, start_time=START, clock=fake)
        sink = OpenWindows(keep=quick)
        q = sn.start(SQL, sources={"readings": src}, output_mode="update", trigger="manual",
                     sink=sn.sinks.foreach_batch(sink))
        rows = dropped = 0
        offsets = []
        try:
            for _ in range(batches):
                fake.advance(step_s)
                with clock:
                    progress = q.step()
                state = progress["stateOperators"][0]
                rows += progress["numInputRows"]
                dropped += state["numRowsDroppedByWatermark"]
                source = progress["sources"][0]
                offsets.append((source["startOffset"], source["endOffset"]))
                watermark = pd.Timestamp(progress["eventTime"]["watermark"]).value // 1000
                sink.close_before(watermark)  # the watermark this batch ran with: a batch late, still safe
                if record:
                    trace.append({"batch": progress["batchId"], "rows": rows, "state": state["numRowsTotal"],
                                  "dropped": state["numRowsDroppedByWatermark"], "rss": rss_mb(),
                                  "arrow": pa.total_allocated_bytes() / 2**20, "ms": 1000 * clock.laps[-1],
                                  "watermark": progress["eventTime"]["watermark"]})
        finally:
            q.stop()
        return {"src": src, "sink": sink, "rows": rows, "dropped": dropped, "offsets": offsets}

    def check(out: dict) -> None:
        sink = out["sink"]
        sink.close_before(2**62)
        if sink.closed_rows + out["dropped"] != out["rows"]:
            raise ResultMismatch(f"counts of the final windows ({sink.closed_rows:,}) plus rows dropped as late "
                                 f"({out['dropped']:,}) are not the {out['rows']:,} rows read")
        if quick:  # every (window, device) against DuckDB over the same rows, with the watermark's drops
            expected, late = _duckdb_reference(out["src"], out["offsets"])
            if late != out["dropped"]:
                raise ResultMismatch(f"stream_nb dropped {out['dropped']:,} rows as late, the watermark rule "
                                     f"applied in DuckDB drops {late:,}")
            check_same(sink.final(), expected, key="key", what="stream_nb windows vs DuckDB over the same rows")

    measured = report.run([
        # one long run is the measurement (memory over time); a fresh 3-batch query first warms things up
        Contender(STREAM_NB, stream_nb_run, total, check,
                  warmup=lambda: stream_nb_run(Stopwatch(), 3, record=False)),
    ], 1)

    if STREAM_NB not in measured or not trace:
        return report
    report.row(STREAM_NB)["ms/batch"] = 1000 * measured[STREAM_NB].seconds / count
    peak = max(t["state"] for t in trace)
    steady = max(t["state"] for t in trace[1:]) if len(trace) > 1 else peak
    rss = [t["rss"] for t in trace]
    after = [t for t in trace if t["rows"] > WARM_UP * total]
    slope = _slope([t["rows"] / 1e6 for t in after], [t["rss"] for t in after]) if len(after) > 2 else None
    dropped = sum(t["dropped"] for t in trace)
    report.row(STREAM_NB).update({"peak state": peak, "state after batch 0": steady, "bound": bound,
                                  "peak RSS MB": max(rss), "dropped": dropped})
    report.targets = [
        Target(f"peak state rows after batch 0 / bound {bound:,}", steady / bound, goal=1.0, at_least=False),
        Target("RSS slope after warm-up, MB per million rows", slope, goal=SLOPE_GOAL, at_least=False),
    ]
    report.notes.append(_bound_note(step_s, bound, peak, steady, dropped, trace[-1]["rows"]))
    report.notes.append(_milestones(trace, total))
    return report


def _bound_note(step_s: float, bound: int, peak: int, steady: int, dropped: int, rows: int) -> str:
    span = step_s + DELAY_S + WINDOW_S
    first = (f"Batch 0 runs before there is a watermark (Spark's rule too), so its late rows (up to 75 s behind) "
             f"open older windows as well: {peak:,} rows after it, evicted by batch 1. " if peak > steady else "")
    return (
        f"**Bound.** After a batch, the state holds the windows that got a row and end after the watermark the "
        f"batch ran with, W = (max event time of the batches before) − {DELAY_S} s. The batch's rows reach "
        f"T ≈ W + {DELAY_S} s + {step_s:g} s, so those windows end in (W, T + {WINDOW_S} s]: a span of "
        f"{step_s:g} + {DELAY_S} + {WINDOW_S} = {span:g} s, which holds at most ⌈{span:g} / {WINDOW_S}⌉ = "
        f"{bound // DEVICES} window ends. Devices × open windows = {DEVICES:,} × {bound // DEVICES} = "
        f"**{bound:,}** state rows. {first}From batch 1 on, the peak is **{steady:,}**. Rows dropped by the "
        f"watermark: {dropped:,} of {rows:,} ({dropped / rows:.2%}); the source makes 1% of rows late, each "
        f"at least 30 s behind, so all are dropped but batch 0's.")


def _milestones(trace: list[dict[str, Any]], total: int) -> str:
    """State, RSS and Arrow's allocation at the first batch and at 25, 50, 75 and 100 % of the rows."""
    rows = [("first batch", trace[0])]
    for share in (0.25, 0.5, 0.75, 1.0):
        at = next((t for t in trace if t["rows"] >= share * total), trace[-1])
        rows.append((f"{share:.0%}", at))
    shown = [{"at": label, "batch": t["batch"], "rows read": t["rows"], "state rows": t["state"],
              "dropped (batch)": t["dropped"], "RSS MB": t["rss"], "Arrow pool MB": t["arrow"],
              "step ms": t["ms"]} for label, t in rows]
    step = [t["ms"] for t in trace]
    return ("RSS is the whole process's (after the cases before this one, if any); `Arrow pool` is what "
            "pyarrow has allocated. Step time: median "
            f"{statistics.median(step):.0f} ms, max {max(step):.0f} ms.\n\n"
            + table(list(shown[0]), shown))


def _slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y over x."""
    return float(np.polyfit(np.asarray(x), np.asarray(y), 1)[0])


def _duckdb_reference(src: Any, offsets: list[tuple[int, int]]) -> tuple[pd.DataFrame, int]:
    """The same windows over the same rows in DuckDB, without the rows the watermark drops: a row of batch b
    is dropped when its window ends at or before W_b = max(W_b−1, max event time of batch b−1 − delay)."""
    rows = src.read(0, offsets[-1][1])
    ts = rows.column("ts").cast(pa.int64()).to_numpy()
    watermark = np.zeros(len(ts), dtype=np.int64)
    w = 0
    for start, end in offsets:
        watermark[start:end] = w
        if end > start:
            w = max(w, int(ts[start:end].max()) - DELAY_S * 1_000_000)
    con = duckdb.connect()
    con.register("readings", rows.append_column("watermark_us", pa.array(watermark)))
    window_us = WINDOW_S * 1_000_000
    windows = f"(epoch_us(ts) // {window_us}) * {window_us}"
    late = con.execute(f"SELECT count(*) FROM readings WHERE {windows} + {window_us} <= watermark_us").fetchall()[0][0]
    expected = con.sql(
        f"SELECT {windows} AS start, device, count(*) AS n, avg(temperature) AS t FROM readings "
        f"WHERE {windows} + {window_us} > watermark_us GROUP BY ALL").to_df()
    frame = pd.DataFrame({"key": expected["start"].astype(str) + "|" + expected["device"],
                          "n": expected["n"].astype("int64"), "t": expected["t"]})
    return frame, late
