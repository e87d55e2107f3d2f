"""Case ``state_growth``: does a batch cost the same at batch 30 as at batch 1?

A keyed aggregation should merge each batch into state whose size is the number of keys (1,000 here), not the
number of rows seen, so ``q.step()`` time stays flat. Each step is timed alone; the headline is
median(last 5 steps) / median(first 5). For contrast, DuckDB re-running the query over all rows seen so far
after every batch (what a naive "recompute" notebook does) grows linearly.
"""

from __future__ import annotations

import statistics
from typing import Any

import duckdb
import pyarrow as pa

from . import workload
from .harness import Contender, Report, Stopwatch, Target, check_same, table

NAME = "state_growth"
TITLE = "batch time vs input already seen, 1,000 keys"
SIZES = {False: (30, 100_000), True: (30, 10_000)}  # quick -> (batches, rows per batch)
EDGE = 5  # batches compared at each end

STREAM_NB, RERUN = "stream_nb q.step()", "duckdb re-run over all seen"


def run(quick: bool, repeats: int) -> Report:
    count, per_batch = SIZES[quick]
    events = workload.events(count * per_batch)
    parts = workload.batches(events, per_batch)
    reference = workload.duckdb_once(duckdb.connect(), events).to_pandas()
    report = Report(NAME, f"{TITLE}: {count} batches of {per_batch:,} rows")

    def stream_nb_run(clock: Stopwatch, feed: list[pa.Table] = parts):
        src, q = workload.start_query(workload.stream_nb())
        durations = []
        try:
            for batch in feed:
                src.add_data(batch)
                with clock:
                    q.step()
                durations.append(_duration_ms(q))
            return q.result, durations, _state(q)
        finally:
            q.stop()

    connection = duckdb.connect()

    def rerun(clock: Stopwatch, feed: list[pa.Table] = parts):
        for i in range(len(feed)):
            seen = pa.concat_tables(feed[: i + 1])  # chunked, no copy: only the query is timed
            with clock:
                result = workload.duckdb_once(connection, seen)
        return result.to_pandas(), None, None

    def agrees(contender: str):
        what = f"{contender} after the last batch vs DuckDB over all rows"
        return lambda output: check_same(output[0], reference, key="device", what=what)

    measured = report.run([
        # warm up on a fresh query over three batches, so that batch 0 of the timed runs is not a cold start
        Contender(STREAM_NB, stream_nb_run, events.num_rows, agrees(STREAM_NB),
                  warmup=lambda: stream_nb_run(Stopwatch(), parts[:3])),
        Contender(RERUN, rerun, events.num_rows, agrees(RERUN), warmup=lambda: rerun(Stopwatch(), parts[:3])),
    ], repeats)

    laps = {name: [1000 * s for s in m.lap_medians()] for name, m in measured.items()}
    for name, ms in laps.items():
        first, last = statistics.median(ms[:EDGE]), statistics.median(ms[-EDGE:])
        report.row(name).update({f"first {EDGE} ms": first, f"last {EDGE} ms": last, "growth": last / first})
    engine, state = measured[STREAM_NB].output[1:] if STREAM_NB in measured else ([], None)

    growth = report.row(STREAM_NB)
    report.targets = [
        Target(f"stream_nb median(last {EDGE}) / median(first {EDGE}) step time",
               growth["growth"] if growth else None, goal=1.1, at_least=False),
    ]
    if laps:
        report.notes.append(_per_batch(laps, engine, count))
    if state:
        report.notes.append(f"Engine state after the last batch: {state}.")
    return report


def _duration_ms(q: Any) -> dict[str, float] | None:
    progress = getattr(q, "recent_progress", None) or []
    return dict(progress[-1].get("durationMs") or {}) if progress else None


def _state(q: Any) -> str | None:
    progress = getattr(q, "recent_progress", None) or []
    operators = progress[-1].get("stateOperators") if progress else None
    if not operators:
        return None
    return "; ".join(
        ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in op.items())
        for op in operators
    )


def _per_batch(laps: dict[str, list[float]], engine: list[dict[str, float] | None], count: int) -> str:
    """Step times of the first and last batches (medians over repeats) and the engine's own durationMs."""
    keys = list(dict.fromkeys(k for d in engine if d for k in d))
    columns = ["batch", *(f"{c} ms" for c in laps), *(f"durationMs.{k}" for k in keys)]
    shown = [*range(EDGE), None, *range(count - EDGE, count)]
    rows = []
    for i in shown:
        if i is None:
            rows.append({"batch": "…"})
            continue
        row: dict[str, Any] = {"batch": str(i)}
        row.update({f"{c} ms": laps[c][i] for c in laps})
        if i < len(engine) and engine[i]:
            row.update({f"durationMs.{k}": engine[i].get(k) for k in keys})
        rows.append(row)
    caption = "Per batch (wall ms, median over repeats; durationMs as the engine reported it, last repeat):"
    if not keys and STREAM_NB in laps:
        caption += " the engine reported no durationMs."
    return caption + "\n\n" + table(columns, rows)
