"""Case ``latency``: from a row's arrival to the sink holding its result, at 1,000 rows/s, triggers back to back.

The query is a dashboard's: per 10-second window and device, the mean temperature, the count, and the latest
reading's time, with a 10-second watermark, in update mode. stream_nb reads ``sensors(devices=1000,
rows_per_second=1000)`` with ``trigger=None``; Spark reads its rate source at 1,000 rows/s (device = value mod
1,000) with a 0-second processing-time trigger. Both write to a foreachBatch function that notes the wall time
at which it holds the batch's rows: for stream_nb when it is called (the engine hands it the rows), for Spark
once ``df.collect()`` returns (a foreachBatch DataFrame is lazy: the batch runs when it is collected).

A row's arrival is when its source made it available: for sensors, row i at ``start_time + i /
rows_per_second``; for Spark's rate source, its ``timestamp`` column. Both sources give device d every 1,000th
row, one second apart, and event time = arrival (no disorder), so each emitted row tells which input rows it
absorbed: its count went up by k, and they are the device's last k readings up to ``latest``, a second
apart. A row's latency is the commit time of the batch that absorbed it minus its arrival.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from . import spark_local, workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target

NAME = "latency"
TITLE = "arrival to sink commit at 1,000 rows/s, trigger as fast as possible"
DURATION_S = {False: 20.0, True: 5.0}
RUNS = {False: 3, True: 1}    # each run is thousands of samples already
WARMUP_SHARE = 0.2            # rows arriving in the first fifth of a run are not counted (the first batches)
RATE, DEVICES = 1_000, 1_000
PERIOD_US = 1_000_000 * DEVICES // RATE  # a device's readings are this far apart
TARGET_P99_MS = 50.0

SELECT = ("SELECT window(ts, '10 seconds') AS w, device, avg(temperature) AS t, count(*) AS n, "
          "max(ts) AS latest FROM readings{watermark} GROUP BY window(ts, '10 seconds'), device")
SQL = SELECT.format(watermark=" WATERMARK ts DELAY OF INTERVAL 10 SECONDS")
SPARK_READINGS = ("SELECT timestamp AS ts, format_string('sensor-%04d', value % 1000 + 1) AS device, "
                  "20 + (value % 97) / 10.0 AS temperature FROM rate")

STREAM_NB, SPARK = "stream_nb sensors, trigger=None", "spark local[2] rate, processingTime 0"


class Batches:
    """What a foreachBatch sink saw, and the latency of every input row it reveals.

    The sink only notes each batch's commit time and (window start, device, n, latest); the arithmetic runs
    later in the caller's thread, so it does not slow the engine down.
    """

    def __init__(self) -> None:
        self.calls = 0
        self._first_at = self._last_at = 0.0
        self._raw: list[tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._done = 0
        self._seen: dict[tuple[int, Any], int] = {}
        self._rows: list[tuple[float, np.ndarray]] = []  # per batch: commit time (s), arrivals (µs)
        self.absorbed = 0
        self.first_us: int | None = None  # arrival of the first row: the run's origin
        self.newest_us = 0

    def add(self, at: float, window_us, device, n, latest_us) -> None:
        """Called by the sink: the wall time at which it holds the batch's rows, and the rows."""
        self.calls += 1
        self._first_at = self._first_at or at
        self._last_at = at
        if len(n):
            self._raw.append((at, np.asarray(window_us, np.int64), np.asarray(device, object),
                              np.asarray(n, np.int64), np.asarray(latest_us, np.int64)))

    def _absorb(self) -> None:
        """Turn the batches noted so far into the arrival times of the input rows they absorbed."""
        raw, self._done = self._raw[self._done:], len(self._raw)
        for at, window, device, n, latest in raw:
            keys = list(zip(window.tolist(), device.tolist()))
            new = n - np.array([self._seen.get(k, 0) for k in keys], np.int64)
            self._seen.update(zip(keys, n.tolist()))
            # the k rows a key absorbed: latest, latest − period, ..., latest − (k−1)·period
            arrival = np.repeat(latest, new) - PERIOD_US * _countdown(new)
            self._rows.append((at, arrival))
            self.absorbed += int(new.sum())
            if len(arrival):
                low, high = int(arrival.min()), int(arrival.max())
                self.first_us = low if self.first_us is None else min(self.first_us, low)
                self.newest_us = max(self.newest_us, high)

    def wait_for(self, seconds: float, is_active, timeout: float = 120.0) -> None:
        """Until a row that arrived ``seconds`` after the first one or later has been committed: a batch
        reads a contiguous range of offsets, in order, so every row before it has been committed too."""
        deadline = time.monotonic() + timeout
        while True:
            self._absorb()
            if self.first_us is not None and self.newest_us >= self.first_us + seconds * 1e6:
                return
            if not is_active() or time.monotonic() > deadline:
                raise ResultMismatch(f"the rows due in the first {seconds:g} s were not all committed within "
                                     f"{timeout:g} s of the run's end")
            time.sleep(0.05)

    def rate(self) -> float:
        """Batches the sink received per second."""
        return (self.calls - 1) / (self._last_at - self._first_at) if self._last_at > self._first_at else 0.0

    def latencies(self, seconds: float) -> np.ndarray:
        """Commit time − arrival, in ms, of each row that arrived in [origin + warm-up, origin + seconds)."""
        self._absorb()
        low = self.first_us + WARMUP_SHARE * seconds * 1e6
        high = self.first_us + seconds * 1e6
        out = [(at * 1e6 - arrival[(arrival >= low) & (arrival < high)]) / 1e3 for at, arrival in self._rows]
        return np.concatenate(out) if out else np.empty(0)


def _countdown(k: np.ndarray) -> np.ndarray:
    """For k = [2, 1, 3]: [1, 0, 0, 2, 1, 0]."""
    ends = np.cumsum(k)
    index = np.arange(ends[-1] if len(ends) else 0)
    return np.repeat(ends, k) - 1 - index


def run(quick: bool, repeats: int) -> Report:
    duration = DURATION_S[quick]
    runs = min(RUNS[quick], repeats)
    report = Report(NAME, f"{TITLE}: {duration:g} s runs, rows of the first {WARMUP_SHARE:.0%} not counted")
    stats: dict[str, list[dict]] = {STREAM_NB: [], SPARK: []}
    rows = int(duration * RATE)  # what the source makes available while a run is timed

    def stream_nb_run(clock: Stopwatch, seconds: float = duration):
        sn = workload.stream_nb()
        batches = Batches()

        def received(df: pd.DataFrame, batch_id: int) -> None:
            at = time.time()
            batches.add(at, [w["start"].value // 1000 for w in df["w"]], df["device"].to_numpy(),
                        df["n"].to_numpy(), df["latest"].dt.as_unit("us").astype("int64").to_numpy())

        src = sn.sources.sensors(devices=DEVICES, rows_per_second=RATE, seed=1)
        q = sn.start(SQL, sources={"readings": src}, output_mode="update", trigger=None,
                     sink=sn.sinks.foreach_batch(received))
        try:
            with clock:
                time.sleep(seconds)
            batches.wait_for(seconds, lambda: q.is_active)
        finally:
            q.stop()
        if q.exception is not None:
            raise q.exception
        progress = q.recent_progress  # the last 100 batches
        return _summary(batches, seconds, [p["durationMs"]["triggerExecution"] for p in progress
                                           if p["numInputRows"]])

    def spark_run(clock: Stopwatch, seconds: float = duration):
        spark = spark_local.session()
        batches = Batches()

        def received(df, batch_id: int) -> None:
            collected = df.selectExpr("unix_micros(w.start)", "device", "n", "unix_micros(latest)").collect()
            at = time.time()
            window, device, n, latest = zip(*collected) if collected else ((), (), (), ())
            batches.add(at, window, device, n, latest)

        rate = spark.readStream.format("rate").option("rowsPerSecond", RATE).load()
        rate.createOrReplaceTempView("rate")
        spark.sql(SPARK_READINGS).withWatermark("ts", "10 seconds").createOrReplaceTempView("readings")
        query = (spark.sql(SELECT.format(watermark="")).writeStream.outputMode("update").foreachBatch(received)
                 .option("checkpointLocation", spark_local.scratch()).trigger(processingTime="0 seconds").start())
        try:
            with clock:
                time.sleep(seconds)
            batches.wait_for(seconds, lambda: query.isActive)
        finally:
            query.stop()
        return _summary(batches, seconds, [p["durationMs"]["triggerExecution"] for p in query.recentProgress
                                           if p["numInputRows"]])

    def _summary(batches: Batches, seconds: float, trigger_ms: list[int]) -> dict:
        return {"latencies": batches.latencies(seconds), "batches/s": batches.rate(),
                "trigger_ms": statistics.median(trigger_ms) if trigger_ms else None,
                "expected": round(seconds * (1 - WARMUP_SHARE) * RATE)}

    def collect(name: str, run_once):
        def once(clock: Stopwatch):
            out = run_once(clock)
            stats[name].append(out)
            return out
        return once

    def complete(name: str):
        def check(out: dict) -> None:
            # one latency per row due in the measured window: none missed, none counted twice
            if abs(len(out["latencies"]) - out["expected"]) > 2:
                raise ResultMismatch(f"{name}: {len(out['latencies']):,} rows of the measured window reached "
                                     f"the sink, {out['expected']:,} were due")
        return check

    try:
        measured = report.run([
            Contender(STREAM_NB, collect(STREAM_NB, stream_nb_run), rows, complete(STREAM_NB),
                      warmup=lambda: stream_nb_run(Stopwatch(), 1.0)),
            Contender(SPARK, collect(SPARK, spark_run), rows, complete(SPARK),
                      warmup=lambda: spark_run(Stopwatch(), 3.0)),
        ], runs)
    finally:
        spark_local.stop()  # the last case that uses Spark

    for name, outs in stats.items():
        if name not in measured:
            continue
        p50s = [float(np.percentile(o["latencies"], 50)) for o in outs]
        p99s = [float(np.percentile(o["latencies"], 99)) for o in outs]
        report.row(name).update({
            "p50 ms": statistics.median(p50s), "p99 ms": statistics.median(p99s),
            "max ms": max(float(o["latencies"].max()) for o in outs),
            "rows counted": sum(len(o["latencies"]) for o in outs),
            "batches/s": statistics.median(o["batches/s"] for o in outs),
            "batch ms": statistics.median(o["trigger_ms"] for o in outs if o["trigger_ms"] is not None),
        })
        if len(outs) > 1:
            report.row(name)["p99 range ms"] = f"{min(p99s):.0f}–{max(p99s):.0f}"
    row = report.row(STREAM_NB)
    report.targets = [Target("stream_nb p99 arrival → sink, ms", row["p99 ms"] if row else None,
                             goal=TARGET_P99_MS, at_least=False)]
    spark = report.row(SPARK)
    if row and spark:
        report.targets.append(Target("Spark p50 / stream_nb p50", spark["p50 ms"] / row["p50 ms"]))
    report.notes.append(
        f"`p50 ms` / `p99 ms`: percentiles of every input row's latency in a run (median over {runs} run(s)); "
        "`batch ms` is the engine's own `durationMs.triggerExecution` (median over data batches), `batches/s` "
        "how many batches the sink received a second, `rows/s` the input rate the engine kept up with. "
        "Spark's rate source makes rows available a whole second at a time (its offsets are seconds), so a "
        "row waits up to a second in the source before any batch can read it: that is part of what a Spark "
        "user sees, and most of Spark's p50.")
    return report
