"""Case ``throughput``: how close does incremental execution come to running the query once over all rows?

The same grouped aggregation over the same rows three ways: stream_nb fed batch by batch (update mode, manual
trigger, one ``q.step()`` per batch), DuckDB once over everything, pandas groupby once over everything. The
one-shot runs are the floor the engine's per-batch overhead is measured against.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from . import workload
from .harness import Contender, Report, Stopwatch, Target, check_same

NAME = "throughput"
TITLE = "grouped aggregation over 1,000 devices"
SIZES = {False: (4_000_000, 200_000), True: (400_000, 40_000)}  # quick -> (rows, rows per batch)

STREAM_NB, DUCKDB, PANDAS = "stream_nb (micro-batches)", "duckdb one-shot", "pandas one-shot"


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    table = workload.events(total)
    frame = table.to_pandas()
    parts = workload.batches(table, per_batch)
    reference = workload.duckdb_once(duckdb.connect(), table).to_pandas()
    report = Report(
        NAME,
        f"{TITLE}: {total:,} rows, in {len(parts)} batches of {per_batch:,} for stream_nb",
        baseline=DUCKDB,
    )
    connection = duckdb.connect()

    def duckdb_run(clock: Stopwatch):
        with clock:
            result = workload.duckdb_once(connection, table)
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

    def agrees(contender: str):
        what = f"{contender} vs DuckDB over all rows"
        return lambda result: check_same(result, reference, key="device", what=what)

    measured = report.run([
        Contender(DUCKDB, duckdb_run, total, agrees(DUCKDB)),
        Contender(PANDAS, pandas_run, total, agrees(PANDAS)),
        # a fresh query over two batches warms imports, DuckDB and the planner without a whole run
        Contender(STREAM_NB, stream_nb_run, total, agrees(STREAM_NB),
                  warmup=lambda: stream_nb_run(Stopwatch(), parts[:2])),
    ], repeats)

    if STREAM_NB in measured:
        report.row(STREAM_NB)["ms/batch"] = 1000 * measured[STREAM_NB].seconds / len(parts)
    report.targets = [
        Target("stream_nb / DuckDB (rows/s)", report.speed_ratio(STREAM_NB, DUCKDB), goal=0.8),
        Target("stream_nb / pandas (rows/s)", report.speed_ratio(STREAM_NB, PANDAS)),
        Target("pandas / DuckDB (rows/s)", report.speed_ratio(PANDAS, DUCKDB)),
    ]
    return report
