"""Case ``throughput``: how close does incremental execution come to running the query once over all rows?

The same grouped aggregation over the same rows, read two ways. Over the same parquet files (issue #20's
measure): stream_nb's files source one file a batch (update mode, manual trigger, ``q.process_all_available()``)
against DuckDB's ``read_parquet`` of all the files at once. Over rows already in memory: stream_nb fed batch by
batch (one ``q.step()`` per batch) against DuckDB and pandas once over one Arrow table: nothing but the
engine's per-batch work between the two. The one-shot runs are the floor the engine's per-batch overhead is
measured against. Over files DuckDB reads only the two columns the query names (``device``, ``temp``) where
stream_nb's files source reads every column of the schema (its teaching trace draws each batch's rows by
their ``ts``), so there the reading weighs on stream_nb alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import duckdb
import pyarrow as pa

from . import workload
from .harness import Contender, Report, Stopwatch, Target, check_same
from .spark_throughput import WARMUP_FILES, _write_files

NAME = "throughput"
TITLE = "grouped aggregation over 1,000 devices"
SIZES = {False: (4_000_000, 200_000), True: (400_000, 40_000)}  # quick -> (rows, rows per batch)

STREAM_NB, DUCKDB, PANDAS = "stream_nb (micro-batches)", "duckdb one-shot", "pandas one-shot"
STREAM_NB_FILES, DUCKDB_FILES = "stream_nb (parquet, 1 file a batch)", "duckdb one-shot (parquet)"
DUCKDB_FILES_SQL = workload.SQL.replace("FROM events", "FROM read_parquet($files)")


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    table = workload.events(total)
    frame = table.to_pandas()
    parts = workload.batches(table, per_batch)
    reference = workload.duckdb_once(duckdb.connect(), table).to_pandas()
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-grouped-")
    inbox = _write_files(parts, os.path.join(folder, "all"))
    warmup = _write_files(parts[:WARMUP_FILES], os.path.join(folder, "warmup"))
    files = sorted(os.path.join(inbox, name) for name in os.listdir(inbox))
    report = Report(
        NAME,
        f"{TITLE}: {total:,} rows, in {len(parts)} batches of {per_batch:,} for stream_nb "
        f"(as many parquet files, or Arrow tables in memory)",
        baseline=DUCKDB,
    )
    connection = duckdb.connect()

    def duckdb_run(clock: Stopwatch):
        with clock:
            result = workload.duckdb_once(connection, table)
        return result.to_pandas()

    def duckdb_files_run(clock: Stopwatch):
        with clock:
            result = connection.sql(DUCKDB_FILES_SQL, params={"files": files}).to_arrow_table()
        return result.to_pandas()

    def pandas_run(clock: Stopwatch):
        with clock:
            return workload.pandas_once(frame)

    def stream_nb_run(clock: Stopwatch, feed: list[pa.Table] = parts):
        src, q = workload.start_query(workload.stream_nb())
        try:
            with clock:
                for batch in feed:
                    src.add_data(batch)
                    q.step()
            return q.result
        finally:
            q.stop()

    def stream_nb_files_run(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        q = sn.start(workload.SQL, sources={"events": src}, output_mode="update", trigger="manual")
        try:
            with clock:  # the first batch starts at once, the call returns after the last one has committed
                q.process_all_available()
            return q.result
        finally:
            q.stop()

    def agrees(contender: str):
        what = f"{contender} vs DuckDB over all rows"
        return lambda result: check_same(result, reference, key="device", what=what)

    try:
        measured = report.run([
            Contender(DUCKDB_FILES, duckdb_files_run, total, agrees(DUCKDB_FILES)),
            # warm-ups over the first files or batches: imports, DuckDB and the planner without a whole run
            Contender(STREAM_NB_FILES, stream_nb_files_run, total, agrees(STREAM_NB_FILES),
                      warmup=lambda: stream_nb_files_run(Stopwatch(), warmup)),
            Contender(DUCKDB, duckdb_run, total, agrees(DUCKDB)),
            Contender(PANDAS, pandas_run, total, agrees(PANDAS)),
            Contender(STREAM_NB, stream_nb_run, total, agrees(STREAM_NB),
                      warmup=lambda: stream_nb_run(Stopwatch(), parts[:2])),
        ], repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for name in (STREAM_NB, STREAM_NB_FILES):
        if name in measured:
            report.row(name)["ms/batch"] = 1000 * measured[name].seconds / len(parts)
    report.targets = [
        Target("stream_nb / DuckDB, both over the same parquet files (rows/s)",
               report.speed_ratio(STREAM_NB_FILES, DUCKDB_FILES), goal=0.8),
        Target("stream_nb / DuckDB, rows in memory (rows/s)",
               report.speed_ratio(STREAM_NB, DUCKDB), goal=0.8),
        Target("stream_nb / pandas, rows in memory (rows/s)", report.speed_ratio(STREAM_NB, PANDAS)),
        Target("pandas / DuckDB, rows in memory (rows/s)", report.speed_ratio(PANDAS, DUCKDB)),
    ]
    report.notes.append(
        "Over files, each side is timed from its files to its result table: DuckDB's `read_parquet` of all the "
        "files with its default threads, stream_nb from its first batch to the return of "
        "`q.process_all_available()` (DuckDB reads the query's two columns, stream_nb's files source all three). "
        "In memory, DuckDB and pandas are timed over one Arrow table (registered, no copy) and stream_nb from its "
        "first `add_data` to its last `q.step()`.")
    return report
