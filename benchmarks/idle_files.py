"""Case ``idle_files``: what an idle files-source query costs once it has processed many files.

20,000 small CSV files (quick: 2,000) are processed by ``SELECT device, count(*) FROM src GROUP BY device``
with the default trigger (a batch as soon as data is there; the engine polls the source every 10 ms). Then
no file arrives, and the process's CPU time (all its threads: the engine's loop, its polls) is measured over
an idle window: CPU seconds per wall second, as a share of one core. Beside it, the same idle query over a memory
source (the engine's own polling, the floor), and the cost of the method used before (list the directory and
stat every file at each poll), timed here over the same files and multiplied by 100 polls a second.

Issue 12 case 13 measured the old method at 93% of a core with 20,000 files; the target is under 5%.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from typing import Any

from . import workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target

NAME = "idle_files"
TITLE = "CPU use of an idle files-source query over many processed files"
SIZES = {False: (20_000, 5.0), True: (2_000, 1.0)}  # quick -> (files, idle seconds per run)
POLLS_PER_SECOND = 100  # the engine's idle poll: query._POLL_SECONDS = 0.01
TARGET = 0.05
SQL = "SELECT device, count(*) AS n FROM src GROUP BY device"

FILES, MEMORY = "files query, idle", "memory query, idle (engine floor)"


def run(quick: bool, repeats: int) -> Report:
    count, idle_s = SIZES[quick]
    report = Report(NAME, f"{TITLE}: {count:,} CSV files processed, then {idle_s:g} s idle per run")
    folder = tempfile.mkdtemp(prefix="stream_nb-idle-")
    queries: dict[str, Any] = {}
    shares: dict[str, list[float]] = {FILES: [], MEMORY: []}  # CPU share of a core, one per idle run
    relist = None
    try:
        for i in range(count):
            with open(os.path.join(folder, f"{i:06d}.csv"), "w") as out:
                out.write(f"device,temp\nd{i % 10},{i}.5\n")

        def start_files() -> None:
            sn = workload.stream_nb()
            src = sn.sources.files(folder, schema="device string, temp double")
            q = sn.start(SQL, sources={"src": src}, name="idle_files")
            started = time.perf_counter()
            q.process_all_available()
            queries[FILES] = q
            report.notes.append(f"Processing the {count:,} files took {time.perf_counter() - started:.1f} s "
                                f"in {q.last_progress['batchId'] + 1} batch(es) (not timed below).")

        def start_memory() -> None:
            sn = workload.stream_nb()
            src = sn.sources.memory("device string, temp double")
            src.add_data([{"device": "d0", "temp": 0.5}])
            q = sn.start(SQL, sources={"src": src}, name="idle_memory")
            q.process_all_available()
            queries[MEMORY] = q

        def idle(name: str):
            def once(clock: Stopwatch) -> dict:
                q = queries[name]
                batches = q.last_progress["batchId"]
                cpu = time.process_time()
                with clock:
                    time.sleep(idle_s)  # the measurement: the engine polls on its own thread meanwhile
                shares[name].append((time.process_time() - cpu) / clock.laps[-1])
                return {"batches": q.last_progress["batchId"] - batches, "query": q}
            return once

        def check_files(out: dict) -> None:
            if out["batches"]:
                raise ResultMismatch(f"{out['batches']} batch(es) ran while no file arrived")
            total = int(out["query"].result["n"].sum())
            if total != count:
                raise ResultMismatch(f"the query counted {total:,} rows, the {count:,} files hold {count:,}")

        # one query at a time, so that each window holds one query's polling only
        files_query = Contender(FILES, idle(FILES), count, check_files, warmup=start_files)
        measured = report.run([files_query], repeats)
        if FILES in queries:
            queries.pop(FILES).stop()
        measured |= report.run([Contender(MEMORY, idle(MEMORY), 1, warmup=start_memory)], repeats)
        relist = _relist_share(folder)
    finally:
        for q in queries.values():
            q.stop()
        shutil.rmtree(folder, ignore_errors=True)

    share = {name: statistics.median(shares[name]) for name in measured}
    for name in measured:
        row = report.row(name)
        del row["rows_per_s"]  # rows here are the files processed before the idle window: no rate
        row["CPU % of a core"] = 100 * share[name]
        row["max CPU %"] = 100 * max(shares[name])
    if relist is not None:
        report.rows.append({"contender": f"re-list + stat {count:,} files x {POLLS_PER_SECOND}/s (before, "
                                         "estimate)", "CPU % of a core": 100 * relist, "check": "computed"})
    files_share = share.get(FILES)
    report.targets = [Target("idle files query, share of a core", files_share, goal=TARGET, at_least=False)]
    if files_share is not None and share.get(MEMORY):
        ratio = files_share / share[MEMORY]
        report.targets.append(Target("idle files query / idle memory query (CPU)", ratio))
    if files_share and relist is not None:
        report.targets.append(Target("before (estimate) / idle files query (CPU)", relist / files_share))
    report.notes.append(
        "CPU % is the process's CPU time (every thread) over the idle window's wall time: the median of the "
        "runs, and the highest. The "
        "'before' row times one listing with a stat of every file (what each poll did) and multiplies it by "
        f"{POLLS_PER_SECOND} polls a second: a share above 100% means polls would queue back to back.")
    return report


def _relist_share(folder: str, rounds: int = 5) -> float:
    """CPU share of the old poll: list the directory and stat each file, 100 times a second."""
    started = time.process_time()
    for _ in range(rounds):
        for name in os.listdir(folder):
            os.stat(os.path.join(folder, name))
    return (time.process_time() - started) / rounds * POLLS_PER_SECOND
