"""Case ``join_state``: a stream-stream join keeps bounded state, and memory stays flat, over 20 M rows.

Two sensors-like streams (``joins.py``, 10,000 rows/s of event time each) joined on the device within a
1-minute range, 10-second watermarks on both, append mode: 20 M rows (quick: 3 M), half of them a side. The sources
follow a fake clock that each batch moves on by a fixed step, so every ``q.step()`` reads the same number of
rows of each side. After every batch the case records the join's state rows, the rows it emitted, the
process's RSS, the bytes Arrow's memory pool holds and the join state's own memory (``memoryUsedBytes``); the
sink only counts rows (a memory sink would grow with the run by design).

Each timed run keeps its own trace, and the targets and the table read the first timed run's: the harness times
the case more than once in quick mode, and one slope fitted over two runs' points (the second run's rows counted
from zero again, its state filling up inside the "after warm-up" window) measured the runs' overlap, not a growth.

The bound: a left row waits in state until the right side's watermark passes its time + 30 s (no right row
can match it after that), and likewise on the right; so each side keeps about
(30 s + watermark delay + a batch's event time + disorder) of its rows.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pyarrow as pa

from . import joins, workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target, table
from .state_bounded import FakeClock, _slope, rss_mb

NAME = "join_state"
TITLE = "state and memory over a long stream-stream join"
SIZES = {False: (20_000_000, 200_000), True: (3_000_000, 100_000)}  # quick -> (rows of both sides, per batch)
RATE = 10_000
SLOPE_GOAL = 1.0  # MB per million rows: "flat"

STREAM_NB = "stream_nb q.step()"


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    count = math.ceil(total / per_batch)
    step_s = per_batch / 2 / RATE
    bound = math.ceil(2 * RATE * (30 + 10 + step_s + 5))
    report = Report(NAME, f"{TITLE}: {total:,} sensor rows in {count} batches of {per_batch:,} "
                          f"({step_s:g} s of event time each)")
    runs: list[list[dict[str, Any]]] = []  # one trace per timed run

    def stream_nb_run(clock: Stopwatch, batches: int = count, record: bool = True):
        sn = workload.stream_nb()
        fake = FakeClock(datetime.fromisoformat(joins.START + "+00:00"))
        left, right = joins.sides(RATE, clock=fake)
        emitted = {"rows": 0}
        sink = sn.sinks.foreach_batch(lambda df, batch_id: emitted.__setitem__("rows", emitted["rows"] + len(df)))
        q = sn.start(joins.SQL, sources={"lefts": left, "rights": right}, trigger="manual", sink=sink)
        rows = 0
        trace: list[dict[str, Any]] = []
        if record:
            runs.append(trace)
        try:
            for _ in range(batches):
                fake.advance(step_s)
                with clock:
                    progress = q.step()
                rows += progress["numInputRows"]
                state = progress["stateOperators"][0]
                if record:
                    trace.append({"batch": progress["batchId"], "rows": rows, "state": state["numRowsTotal"],
                                  "dropped": state["numRowsDroppedByWatermark"], "emitted": emitted["rows"],
                                  "rss": rss_mb(), "arrow": pa.total_allocated_bytes() / 2**20,
                                  "state MB": state["memoryUsedBytes"] / 2**20, "ms": 1000 * clock.laps[-1]})
        finally:
            q.stop()
        return {"rows": rows, "emitted": emitted["rows"], "left": left, "right": right}

    def check(out: dict) -> None:
        if not quick:
            return  # the one-shot join of 20 M rows is not worth its memory here; the quick run checks it
        side = out["rows"] // 2
        expected = joins.one_shot(out["left"].read(0, side), out["right"].read(0, side))[0]
        # the last batch's rows may still be waiting for matches: compare with the rows the join can have emitted
        if not expected * 0.95 <= out["emitted"] <= expected:
            raise ResultMismatch(f"stream_nb emitted {out['emitted']:,} joined rows; DuckDB joins the same "
                                 f"{out['rows']:,} rows into {expected:,}")

    measured = report.run([
        Contender(STREAM_NB, stream_nb_run, total, check, warmup=lambda: stream_nb_run(Stopwatch(), 3, False)),
    ], 1)
    if STREAM_NB not in measured or not runs or not runs[0]:
        return report
    trace = runs[0]
    peak = max(t["state"] for t in trace)
    # Warm-up: until the state first holds what it keeps for good (a row waits up to 45 s of event time)
    warm_up = math.ceil((30 + 10 + 5) / step_s) + 1
    after = trace[warm_up:]
    slopes = {key: _slope([t["rows"] / 1e6 for t in after], [t[key] for t in after]) if len(after) > 2 else None
              for key in ("rss", "arrow", "state MB")}
    steady = max(t["state"] for t in after) if after else peak
    report.row(STREAM_NB).update({"ms/batch": 1000 * measured[STREAM_NB].seconds / count, "peak state": peak,
                                  "bound": bound, "peak RSS MB": max(t["rss"] for t in trace),
                                  "joined rows": trace[-1]["emitted"]})
    report.targets = [
        Target(f"peak join state rows after warm-up / bound {bound:,}", steady / bound, goal=1.0, at_least=False),
        Target("RSS slope after warm-up, MB per million rows", slopes["rss"], goal=SLOPE_GOAL, at_least=False),
        Target("Arrow pool's bytes, slope after warm-up, MB per million rows", slopes["arrow"], goal=SLOPE_GOAL,
               at_least=False),
        Target("join state's memoryUsedBytes, slope after warm-up, MB per million rows", slopes["state MB"],
               goal=SLOPE_GOAL, at_least=False),
    ]
    report.notes.append(_milestones(trace, total))
    if len(runs) > 1:  # the other timed runs' RSS slopes, each fitted over its own batches after warm-up
        others = [_slope([t["rows"] / 1e6 for t in r[warm_up:]], [t["rss"] for t in r[warm_up:]])
                  for r in runs[1:] if len(r) > warm_up + 2]
        report.notes.append(f"RSS slope after warm-up in the later timed runs (same process): "
                            f"{', '.join(f'{s:.1f}' for s in others)} MB per million rows.")
    return report


def _milestones(trace: list[dict[str, Any]], total: int) -> str:
    """State rows and RSS at the first batch and at each tenth of the rows: flat after warm-up."""
    rows = [("first batch", trace[0])]
    for tenth in range(1, 11):
        at = next((t for t in trace if t["rows"] >= tenth / 10 * total), trace[-1])
        rows.append((f"{tenth * 10}%", at))
    shown = [{"at": label, "batch": t["batch"], "rows read": t["rows"], "join state rows": t["state"],
              "joined rows": t["emitted"], "dropped (batch)": t["dropped"], "RSS MB": t["rss"],
              "Arrow pool MB": t["arrow"], "state MB": t["state MB"], "step ms": t["ms"]} for label, t in rows]
    return "State and memory over the first timed run (RSS is the whole process's):\n\n" + table(list(shown[0]), shown)
