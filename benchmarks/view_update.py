"""Case ``view_update``: does a live view's update cost what a batch changed, or the size of the result?

``SELECT k, count(*) AS n, sum(v) AS total FROM events GROUP BY k`` in update mode, its result grown (untimed)
to 2,000 and to 200,000 keys; then each timed batch changes the same number of keys, 1,000 drawn at random
from the result, and what is timed is one update of the query's live view (``LiveView.refresh``, as its task
on the engine's loop runs it): read the batch's change from the memory sink, turn it into a delta, patch the
bokeh chart (a scatter of every key) and re-render the table. The batch itself (``q.step()``) is not timed.

The view is built in this process, not displayed: the chart's document events are made (what jupyter_bokeh
would send) but no browser draws them. Same 1,000 keys per batch at both sizes: the update should cost about
the same, the 200,000-key one at most 3 times the 2,000-key one and under 50 ms.
"""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd

from .harness import Contender, Report, ResultMismatch, Stopwatch, Target

NAME = "view_update"
TITLE = "a live view's update, same 1,000 keys changed per batch, over a small and a large result"
SIZES = {False: (2_000, 200_000), True: (2_000, 200_000)}  # result keys (the sizes are the point: both runs)
CHANGED = 1_000          # keys each timed batch changes
STEPS = {False: 20, True: 8}  # timed view updates per run
TARGET_RATIO, TARGET_MS = 3.0, 50.0

SQL = "SELECT k, count(*) AS n, sum(v) AS total FROM events GROUP BY k"


class _LiveQuery:
    """A query whose result holds ``keys`` keys, with a live view of it (chart and table), built once."""

    def __init__(self, keys: int, seed: int) -> None:
        import stream_nb as sn
        from stream_nb.notebook.live import open_view

        self.keys = keys
        self.rng = np.random.default_rng(seed)
        self.events = sn.sources.memory("k bigint, v double")
        self.query = sn.start(SQL, sources={"events": self.events}, trigger="manual")
        self.events.add_data(pd.DataFrame({"k": np.arange(keys, dtype=np.int64), "v": np.ones(keys)}))
        self.query.step()
        self.view = open_view(self.query, "scatter", x="k", y="total", table=True, rollover=keys)
        self.view.refresh()  # the first update builds the chart and draws every key: not timed

    def batch(self) -> None:
        """One batch that changes ``CHANGED`` keys of the result (not timed)."""
        keys = self.rng.choice(self.keys, CHANGED, replace=False).astype(np.int64)
        self.events.add_data(pd.DataFrame({"k": keys, "v": self.rng.random(CHANGED)}))
        self.query.step()

    def close(self) -> None:
        self.query.stop()  # (the view's widgets go with the process: closing a bokeh widget twice, as its
                           # __del__ does after close(), makes jupyter_bokeh raise at exit)


def run(quick: bool, repeats: int) -> Report:
    sizes, steps = SIZES[quick], STEPS[quick]
    report = Report(NAME, f"{TITLE}: {steps} updates per run, each after a batch of {CHANGED:,} changed keys")
    live: dict[int, _LiveQuery] = {}

    def contender(keys: int) -> Contender:
        def once(clock: Stopwatch) -> int:
            if keys not in live:
                live[keys] = _LiveQuery(keys, seed=keys)
            q = live[keys]
            for _ in range(steps):
                q.batch()
                with clock:
                    q.view.refresh()
            return q.view.updates[-1][2]

        def check(points: int) -> None:
            if points != keys:
                raise ResultMismatch(f"the chart holds {points:,} points; the result has {keys:,} keys")
            shown = live[keys].view.table.widget.value
            if f"of {keys:,} rows" not in shown:
                raise ResultMismatch(f"the table does not say the result has {keys:,} rows")

        return Contender(_name(keys), once, steps, check=check)

    try:
        measured = report.run([contender(keys) for keys in sizes], repeats)
    finally:
        for q in live.values():
            q.close()

    per_update = {}
    for keys in sizes:
        measurement = measured.get(_name(keys))
        if measurement is None:
            continue
        laps = sorted(lap for clock in measurement.clocks for lap in clock.laps)
        row = report.row(_name(keys))
        row["result rows"] = keys
        row["p50 ms"] = per_update[keys] = 1000 * statistics.median(laps)
        row["p95 ms"] = 1000 * laps[int(0.95 * (len(laps) - 1))]
    small, large = sizes
    ratio = per_update[large] / per_update[small] if small in per_update and large in per_update else None
    report.targets = [
        Target(f"update over {large:,} rows ÷ over {small:,} rows (p50)", ratio, goal=TARGET_RATIO,
               at_least=False),
        Target(f"update over {large:,} rows, p50 ms", per_update.get(large), goal=TARGET_MS, at_least=False),
    ]
    report.notes = [
        ("`rows` and `rows/s` count view updates. An update reads the memory sink's change since the batch "
         "the view showed last (`changes_since`), makes it a delta (`ResultTracker`), patches the chart and "
         "re-renders the table's few rows; the sink is not compacted to do it."),
    ]
    return report


def _name(keys: int) -> str:
    return f"view over {keys:,} rows"
