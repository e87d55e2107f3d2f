"""Case ``continuous``: arrival-to-sink latency of continuous processing and of micro-batches, same query.

The query is map-like (a filter and a projection: what continuous processing runs). A feeder adds rows to a
memory source one ``add_data`` call per row at 1,000 and 10,000 rows/s (rows due while it was late go in one
call), noting ``time.perf_counter()`` just before each call: the row's arrival. The sink notes the time at
which ``add_batch`` receives each row: continuous hands it each group of rows as it arrives, micro-batch
(``trigger=None``, the next batch as soon as data is there) each batch. Latency = sink time - arrival; the
rows of the first fifth of a run are not counted. Every row that passes the filter must reach the sink.
"""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pyarrow as pa

from .harness import Contender, Report, ResultMismatch, Stopwatch, Target

NAME = "continuous"
TITLE = "arrival-to-sink latency, continuous processing vs micro-batch, same map-like query"
DURATION_S = {False: 10.0, True: 2.0}
RATES = (1_000, 10_000)
WARMUP_SHARE = 0.2
SQL = "SELECT seq, device, temp * 9 / 5 + 32 AS fahrenheit FROM readings WHERE temp >= 0"
TARGET_P99_MS = 1.0      # continuous, at 1,000 rows/s
TARGET_RATIO = 0.1       # continuous p99 / micro-batch p99


class TimedSink:
    """A sink that notes when each row reached it (the benchmark's clock, not a result keeper)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[float, pa.Array]] = []

    def add_batch(self, batch_id: int, table: pa.Table, keys=None) -> None:
        at = time.perf_counter()
        with self._lock:
            self.seen.append((at, table.column("seq").combine_chunks()))

    def arrivals(self, rows: int) -> np.ndarray:
        """The time each row reached the sink, by its seq (NaN for a row that did not)."""
        at = np.full(rows, np.nan)
        for when, seq in self.seen:
            at[seq.to_numpy(zero_copy_only=False)] = when
        return at


def feed(source, rate: int, seconds: float) -> np.ndarray:
    """Add ``rate * seconds`` rows at ``rate`` rows/s; the arrival time of each."""
    rows = int(rate * seconds)
    arrived = np.empty(rows)
    start = time.perf_counter()
    i = 0
    while i < rows:
        due = start + i / rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)  # sleeping lets the engine's threads have the GIL
            now = time.perf_counter()
        upto = min(rows, max(i + 1, int((now - start) * rate) + 1))  # the rows due by now, at least one
        arrived[i:upto] = time.perf_counter()
        source.add_data(pa.table({"seq": list(range(i, upto)), "device": ["d"] * (upto - i),
                                  "temp": [float(k % 40) for k in range(i, upto)]}, schema=source.schema))
        i = upto
    return arrived


def run(quick: bool, repeats: int) -> Report:
    import stream_nb as sn

    seconds = DURATION_S[quick]
    report = Report(NAME, f"{TITLE}: {seconds:g} s per run, rows of the first {WARMUP_SHARE:.0%} not counted")
    latencies: dict[str, list[np.ndarray]] = {}

    def contender(mode: str, rate: int) -> Contender:
        name = f"{mode} @ {rate:,} rows/s"

        def once(clock: Stopwatch, run_s: float = seconds):
            import pandas as pd

            readings = sn.sources.memory("seq bigint, device string, temp double")
            sink = TimedSink()
            q = sn.start(SQL, sources={"readings": readings}, sink=sink,
                         trigger="continuous" if mode == "continuous" else None)
            try:
                with clock:
                    arrived = feed(readings, rate, run_s)
                q.process_all_available(timeout=60)
            finally:
                q.stop()
            reached = sink.arrivals(len(arrived))
            if np.isnan(reached).any():
                raise ResultMismatch(f"{name}: {int(np.isnan(reached).sum())} rows never reached the sink")
            counted = slice(int(len(arrived) * WARMUP_SHARE), None)
            ms = (reached[counted] - arrived[counted]) * 1000
            latencies.setdefault(name, []).append(ms)
            return pd.DataFrame({"latency_ms": ms})

        return Contender(name, once, int(rate * seconds), warmup=lambda: once(Stopwatch(), 0.5))

    contenders = [contender(mode, rate) for rate in RATES for mode in ("continuous", "micro-batch")]
    report.run(contenders, min(repeats, 1 if quick else 3))
    p99 = {}
    for name, runs in latencies.items():
        row = report.row(name)
        if row is None:
            continue
        runs = runs[1:] or runs  # the warm-up's half-second run is not counted
        p50s = [float(np.percentile(r, 50)) for r in runs]
        p99s = [float(np.percentile(r, 99)) for r in runs]
        p99[name] = statistics.median(p99s)
        row.update({"p50 ms": statistics.median(p50s), "p99 ms": p99[name],
                    "max ms": max(float(r.max()) for r in runs), "rows counted": sum(len(r) for r in runs)})
    for rate in RATES:
        cont, micro = p99.get(f"continuous @ {rate:,} rows/s"), p99.get(f"micro-batch @ {rate:,} rows/s")
        if rate == 1_000:
            report.targets.append(Target(f"continuous p99 ms at {rate:,} rows/s", cont, TARGET_P99_MS,
                                         at_least=False))
        report.targets.append(Target(f"continuous p99 / micro-batch p99 at {rate:,} rows/s",
                                     cont / micro if cont is not None and micro else None, TARGET_RATIO,
                                     at_least=False))
    report.notes.append("Arrival: just before the feeder's add_data call (so its cost counts); sink: when the "
                        "sink's add_batch is called. Micro-batch runs with trigger=None (the next batch as "
                        "soon as the last ends and data is there; an idle query looks every 10 ms).")
    return report
