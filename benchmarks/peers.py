"""Case ``peers``: the windowed aggregation against the tools a user would pick instead of stream_nb.

The query, rows and parquet files of ``spark_throughput`` (10 s windows × 1,000 devices, 10 s watermark, update
mode, one file a micro-batch), run in the same round-robin by: stream_nb into its memory sink and through
``foreach_batch`` (each batch handed to a pandas function), a hand-written incremental pandas loop
(``pandas_loop.py``), Pathway and Bytewax (each in its own virtual environment, ``peers_env.py``, run as a
subprocess: ``peer_pathway.py``, ``peer_bytewax.py``), and DuckDB once over all the files (the baseline).
Every final table must equal DuckDB's. Issue #20's targets: stream_nb ≥ 1.2 × the pandas loop, both ways, and
≥ 20 × Pathway and Bytewax.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from . import pandas_loop, peers_env, workload
from .harness import Contender, Report, Stopwatch, Target, check_same
from .spark_throughput import SIZES, SQL, WARMUP_FILES, _duckdb, _final, _write_files

NAME = "peers"
TITLE = "windowed aggregation against the peers (pandas loop, Pathway, Bytewax)"
QUICK_REPEATS = 3
PEER_REPEATS = 1
HERE = os.path.dirname(os.path.abspath(__file__))

DUCKDB = "duckdb one-shot"
MEMORY, FOREACH = "stream_nb → memory sink", "stream_nb → foreach_batch (pandas)"
LOOP = "pandas loop (hand-written)"
PEERS = {"pathway": "Pathway (own venv)", "bytewax": "Bytewax (own venv)"}


def run(quick: bool, repeats: int) -> Report:
    total, per_file = SIZES[quick]
    parts = workload.batches(workload.events(total), per_file)
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-peers-")
    inbox = _write_files(parts, os.path.join(folder, "all"))
    warmup = _write_files(parts[:WARMUP_FILES], os.path.join(folder, "warmup"))
    files = sorted(os.path.join(inbox, name) for name in os.listdir(inbox))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    reference = _final(_duckdb(connection, files).to_pandas())
    versions: dict[str, str] = {}  # peer -> the version its subprocess ran
    report = Report(NAME, f"{TITLE}: {total:,} rows in {len(parts)} parquet files of {per_file:,} rows",
                    baseline=DUCKDB)

    def duckdb_run(clock: Stopwatch):
        with clock:
            result = _duckdb(connection, files)
        return _final(result.to_pandas())

    def memory_run(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual")
        try:
            with clock:  # from the first batch's start to the last one's commit
                q.process_all_available()
            result = q.result
        finally:
            q.stop()
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def foreach_run(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        emitted: list[pd.DataFrame] = []
        q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual",
                     sink=sn.sinks.foreach_batch(lambda df, batch_id: emitted.append(df)))
        try:
            with clock:
                q.process_all_available()
        finally:
            q.stop()
        rows = pd.concat(emitted, ignore_index=True)
        return _latest(rows.assign(window_start=[w["start"] for w in rows["w"]]))

    def loop_run(clock: Stopwatch, paths: list[str] = files):
        emitted: list[pd.DataFrame] = []
        with clock:  # the same work as foreach_batch: each batch's update-mode rows handed over as pandas
            pandas_loop.run(paths, emitted.append)
        return _latest(pd.concat(emitted, ignore_index=True))

    def peer_run(peer: str, path: str, clock: Stopwatch | None, make: bool):
        python = peers_env.ensure(peer) if make else peers_env.python(peer)
        out = os.path.join(folder, f"{peer}.parquet")
        done = subprocess.run([python, os.path.join(HERE, f"peer_{peer}.py"), path, out],
                              check=False, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{peer} exited {done.returncode}:\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        versions[peer] = measured.get("version", "?")
        if clock is not None:  # timed inside the subprocess: from its first record to its last output
            clock.laps.append(measured["seconds"])
        return _final(pq.read_table(out).to_pandas())

    def agrees(contender: str):
        what = f"{contender}'s final table vs DuckDB over all rows"
        return lambda result: check_same(result, reference, key="key", what=what)

    contenders = [
        Contender(DUCKDB, duckdb_run, total, agrees(DUCKDB)),
        Contender(MEMORY, memory_run, total, agrees(MEMORY), warmup=lambda: memory_run(Stopwatch(), warmup)),
        Contender(FOREACH, foreach_run, total, agrees(FOREACH), warmup=lambda: foreach_run(Stopwatch(), warmup)),
        Contender(LOOP, loop_run, total, agrees(LOOP), warmup=lambda: loop_run(Stopwatch(), files[:WARMUP_FILES])),
    ]
    # The warm-up makes a peer's environment if it is missing (full size only: CI's quick run never does), and
    # fills the page cache with the peer's libraries.
    peers = [Contender(name, lambda clock, peer=peer: peer_run(peer, inbox, clock, not quick), total, agrees(name),
                       warmup=lambda peer=peer: peer_run(peer, warmup, None, not quick))
             for peer, name in PEERS.items()]
    if quick:
        repeats = min(repeats, QUICK_REPEATS)
    try:
        # The in-process contenders take a second or two a run and go round-robin for `repeats` rounds (or more:
        # harness.STEADY_SECONDS); a peer's run takes minutes (Pathway's 10 at full size on a busy machine), so
        # the peers go round-robin after them for at most PEER_REPEATS rounds: their target (20 x) is far
        # outside the noise, the loop's (1.2 x) is not.
        measured = report.run(contenders, repeats)
        measured |= report.run(peers, min(repeats, PEER_REPEATS))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for name in measured:
        if name != DUCKDB:
            report.row(name)["ms/batch"] = 1000 * measured[name].seconds / len(parts)
    report.targets = [
        Target(f"{MEMORY} / pandas loop (rows/s)", report.speed_ratio(MEMORY, LOOP), goal=1.2),
        Target(f"{FOREACH} / pandas loop (rows/s)", report.speed_ratio(FOREACH, LOOP), goal=1.2),
        *(Target(f"{MEMORY} / {name} (rows/s)", report.speed_ratio(MEMORY, name), goal=20)
          for name in PEERS.values()),
        Target(f"{MEMORY} / DuckDB one-shot (rows/s)", report.speed_ratio(MEMORY, DUCKDB), goal=0.8),
    ]
    report.notes.append(
        "Every contender reads the same parquet files, one a batch (DuckDB all at once) and stops at its "
        "result: stream_nb's memory sink, or each batch's update-mode rows handed over as a pandas DataFrame "
        "(stream_nb's `foreach_batch` function, the loop's `emit`), or, for the peers, their own sink. Combining "
        "emitted rows into the final table compared with DuckDB's is not timed. Pathway and Bytewax run in "
        "their own virtual environments (`.venv-peers/`, `make peers`), one subprocess a run, each timed by "
        "itself from reading its first file to its last output, so neither the interpreter's start nor the "
        "imports count (as the JVM's start does not for Spark); Bytewax emits a window when it closes (it has "
        "no update mode), Pathway updates it as rows arrive.")
    if versions:
        report.notes.append("Peers' versions: " + ", ".join(f"{p} {v}" for p, v in sorted(versions.items())) + ".")
    return report


def _latest(rows: pd.DataFrame) -> pd.DataFrame:
    """Update-mode output upserted: each (window, device)'s last row."""
    return _final(rows.drop_duplicates(["window_start", "device"], keep="last"))
