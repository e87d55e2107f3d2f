"""Case ``checkpoint``: what checkpointing costs, and how long a restart takes.

1. The windowed aggregation of DESIGN §4 (10-second windows x 1,000 devices, 10-second watermark, update mode)
   fed batch by batch, without and with ``checkpoint=DIR``: offsets, commits and state deltas written and
   fsynced every batch. Target (issue #20): with a checkpoint ≥ 0.85x the speed without.
2. A restart over 5 M keys of state (quick: 500 k): the time ``sn.start(..., checkpoint=DIR)`` takes to read the
   checkpoint, rebuild the state (its deltas) and the result table behind ``q.result``. Target: < 3 s.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import numpy as np
import pyarrow as pa

from . import workload
from .harness import Contender, Report, Stopwatch, Target

NAME = "checkpoint"
TITLE = "windowed aggregation with and without a checkpoint; restart over 5 M keys"
SIZES = {False: (4_000_000, 200_000, 5_000_000), True: (400_000, 40_000, 500_000)}  # rows, batch, restart keys
WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, avg(temp) AS avg_temp, count(*) AS n FROM events "
            "WATERMARK ts DELAY OF INTERVAL 10 SECONDS GROUP BY window(ts, '10 seconds'), device")
KEYED = "SELECT k, count(*) AS n, sum(v) AS total FROM keyed GROUP BY k"
OFF, ON = "stream_nb, no checkpoint", "stream_nb, checkpoint"


def run(quick: bool, repeats: int) -> Report:
    total, per_batch, keys = SIZES[quick]
    sn = workload.stream_nb()
    parts = workload.batches(workload.events(total), per_batch)
    report = Report(NAME, f"{TITLE}: {total:,} rows in batches of {per_batch:,}", baseline=OFF)

    def windowed(clock: Stopwatch, checkpoint: bool):
        directory = tempfile.mkdtemp(prefix="bench-checkpoint-") if checkpoint else None
        src = sn.sources.memory("ts timestamp, device string, temp double")
        q = sn.start(WINDOWED, sources={"events": src}, trigger="manual", checkpoint=directory,
                     sink=sn.sinks.foreach_batch(lambda df, batch_id: None))
        try:
            with clock:
                for batch in parts:
                    src.add_data(batch)
                    q.step()
            return q.last_progress["stateOperators"][0]["numRowsTotal"]
        finally:
            q.stop()
            if directory:
                shutil.rmtree(directory, ignore_errors=True)

    report.run([Contender(OFF, lambda clock: windowed(clock, False), total),
                Contender(ON, lambda clock: windowed(clock, True), total)], repeats)
    seconds, restored = restart(sn, keys)
    report.notes.append(f"restart over {restored:,} keys of state: **{seconds:.2f} s** "
                        f"(read the checkpoint, rebuild the state and q.result; target < 3 s)")
    report.targets = [
        Target("with checkpoint / without (rows/s)", report.speed_ratio(ON, OFF), goal=0.85),
        Target(f"restart over {restored:,} keys (s)", seconds, goal=3.0, at_least=False),
    ]
    return report


def restart(sn, keys: int) -> tuple[float, int]:
    """Build ``keys`` keys of checkpointed state, stop, and time starting the query again on it, as a notebook
    user would: with the memory sink, whose result table is rebuilt from the state."""
    rng = np.random.default_rng(1)
    rows = pa.table({"k": pa.array([f"key{i:08d}" for i in range(keys)]), "v": rng.normal(size=keys)})
    directory = tempfile.mkdtemp(prefix="bench-restart-")
    try:
        src = sn.sources.memory("k string, v double")
        q = sn.start(KEYED, sources={"keyed": src}, trigger="manual", checkpoint=directory,
                     sink=sn.sinks.foreach_batch(lambda df, batch_id: None))
        for start in range(0, keys, max(1, keys // 4)):
            src.add_data(rows.slice(start, keys // 4))
            q.step()
        q.stop()
        began = time.perf_counter()
        again = sn.start(KEYED, sources={"keyed": src}, trigger="manual", checkpoint=directory)
        seconds = time.perf_counter() - began
        restored = len(again.result)
        again.stop()
        return seconds, restored
    finally:
        shutil.rmtree(directory, ignore_errors=True)
