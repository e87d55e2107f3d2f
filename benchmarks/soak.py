"""Case ``soak``: queries that run for a long time hold steady memory (issue 12, cases 12 and 14).

Three queries run side by side for 10 minutes (quick: 30 s), each source at 100,000 rows/s:

* a chained pair: ``up`` projects a rate source (append mode, memory sink), and ``down`` counts ``up``'s
  result by a key (``FROM up``, update mode): ``up`` feeds a buffer that ``down`` reads and trims;
* an append query over a second rate source into the memory sink (which keeps its newest rows, bounded).

Every second the case samples the process's RSS and the rows ``down``'s buffer holds. It prints RSS at the
start, after a warm-up (the memory sinks fill to their bound in the first seconds) and at the end, and the
slope after the warm-up: flat means no leak. It checks that every query kept up with its source, that ``down``
counted exactly the rows ``up`` emitted to it, and that stopping ``down`` unhooks its buffer from ``up``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from . import workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target, table
from .state_bounded import rss_mb

NAME = "soak"
TITLE = "memory over a long run: a chained query pair and an append query"
SECONDS = {False: 600, True: 30}
WARM_UP = {False: 60, True: 15}  # seconds before the memory sinks hold their bound (1 M rows at 100k/s: 10 s)
RATE = 100_000
TRIGGER = "1 second"
SLOPE_GOAL = 1.0  # MB per minute after the warm-up: "flat"

UP = "SELECT timestamp, value, value % 1000 AS k FROM ticks"
DOWN = "SELECT k, count(*) AS n FROM up GROUP BY k"
APPEND = "SELECT timestamp, value, value * 2 AS doubled FROM other_ticks WHERE value % 10 <> 3"

STREAM_NB = "stream_nb, 3 queries"


def run(quick: bool, repeats: int) -> Report:
    seconds, warm_up = SECONDS[quick], WARM_UP[quick]
    report = Report(NAME, f"{TITLE}: {seconds} s at {RATE:,} rows/s a source, trigger {TRIGGER!r}")
    samples: list[dict[str, Any]] = []

    def soak(clock: Stopwatch) -> dict[str, Any]:
        sn = workload.stream_nb()
        ticks, other_ticks = sn.sources.rate(RATE), sn.sources.rate(RATE)
        before = rss_mb()
        up = sn.start(UP, name="soak_up", sources={"ticks": ticks}, trigger=TRIGGER)
        down = sn.start(DOWN, name="soak_down", trigger=TRIGGER)
        append = sn.start(APPEND, name="soak_append", sources={"other_ticks": other_ticks}, trigger=TRIGGER)
        queries = (up, down, append)
        try:
            started = time.monotonic()
            with clock:
                while (elapsed := time.monotonic() - started) < seconds:
                    time.sleep(1.0)
                    failed = [q for q in queries if q.exception is not None]
                    if failed:
                        raise failed[0].exception
                    samples.append({"s": round(elapsed), "rss": rss_mb(), "buffered": _buffered(down),
                                    "up": up.last_progress and up.last_progress["batchId"]})
            up.pause()  # up stops emitting; down then reads the rest and both counts can be compared
            down.process_all_available(timeout=60)
            out = {"before": before, "rows": {q.name: _end(q) for q in queries},
                   "lag": {q.name: q.source.latest_offset() - _end(q) for q in (up, append)},
                   "down_total": int(down.result["n"].sum()), "fed": down.source.latest_offset(),
                   "buffered_at_end": _buffered(down)}
            down.stop()
            out["hooked_after_stop"] = len(up._downstream)
            return out
        finally:
            for q in queries:
                q.stop()

    def check(out: dict[str, Any]) -> None:
        if out["down_total"] != out["fed"] or out["buffered_at_end"]:
            raise ResultMismatch(f"down counted {out['down_total']:,} rows, up fed it {out['fed']:,}; "
                                 f"{out['buffered_at_end']:,} rows left in its buffer after it caught up")
        if out["hooked_after_stop"]:
            raise ResultMismatch("a stopped downstream query's buffer is still hooked onto up")
        behind = {name: lag for name, lag in out["lag"].items() if lag > 3 * RATE}
        if behind:
            raise ResultMismatch(f"queries fell behind their source by more than 3 s of rows: {behind}")

    measured = report.run([Contender(STREAM_NB, soak, RATE * 2 * seconds, check, warmup=False)], 1)
    if STREAM_NB not in measured or not samples:
        return report
    out = measured[STREAM_NB].output
    steady = [s for s in samples if s["s"] >= warm_up]
    slope = _slope([s["s"] / 60 for s in steady], [s["rss"] for s in steady]) if len(steady) > 2 else None
    report.row(STREAM_NB).update({
        "RSS before MB": out["before"], f"RSS at {warm_up} s MB": steady[0]["rss"] if steady else None,
        "RSS at end MB": samples[-1]["rss"], "peak RSS MB": max(s["rss"] for s in samples),
        "down buffer max rows": max(s["buffered"] for s in samples)})
    report.targets = [Target("RSS slope after warm-up, MB per minute", slope, goal=SLOPE_GOAL, at_least=False)]
    report.notes.append(
        f"Rows processed: {', '.join(f'{name} {rows:,}' for name, rows in out['rows'].items())}; behind their "
        f"source at the end: {', '.join(f'{name} {lag:,}' for name, lag in out['lag'].items())} rows. "
        f"`down` counted {out['down_total']:,} rows, all that `up` emitted since `down` started; its buffer "
        f"held at most {max(s['buffered'] for s in samples):,} rows (one trigger's worth: it is trimmed as `down` commits), "
        f"and nothing is hooked onto `up` once `down` has stopped.")
    report.notes.append(_milestones(samples, seconds))
    return report


def _end(q) -> int:
    progress = q.last_progress
    return progress["sources"][0]["endOffset"] if progress else 0


def _buffered(down) -> int:
    """Rows the downstream query's buffer on ``up`` holds (read and committed rows are let go)."""
    return sum(chunk.num_rows for chunk in down.source._chunks)


def _slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def _milestones(samples: list[dict[str, Any]], seconds: int) -> str:
    shown = []
    for share in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
        at = next((s for s in samples if s["s"] >= share * seconds), samples[-1])
        shown.append({"at s": at["s"], "RSS MB": at["rss"], "down buffer rows": at["buffered"]})
    return table(["at s", "RSS MB", "down buffer rows"], shown)
