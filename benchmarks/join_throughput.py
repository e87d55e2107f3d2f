"""Case ``join_throughput``: a stream-stream inner join, stream_nb against Spark Structured Streaming ``local[2]``.

Two sensors-like streams (``joins.py``) joined on the device within a 1-minute range, 10-second watermarks on
both, append mode. Each side's rows are written once as parquet files, one file per micro-batch; stream_nb and
Spark each read the two folders through their own files sources (one file of each a trigger; every file is
there before the query starts, so each trigger takes one of each). DuckDB joins all rows at once. Every
contender's answer (rows, and the sum of a column over them) must equal DuckDB's.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from . import joins, spark_local, workload
from .harness import Contender, Report, ResultMismatch, Stopwatch, Target
from .spark_throughput import _write_files

NAME = "join_throughput"
TITLE = "stream-stream inner join (1-minute range, 10 s watermarks, append mode)"
SIZES = {False: (2_000_000, 100_000), True: (100_000, 20_000)}  # quick -> (rows of both sides, rows per batch)
RATE = 2_000       # rows per second of event time, each side
WARMUP_FILES = 3
QUICK_REPEATS = 2  # a Spark run of a join takes seconds a batch: keep the CI run short

STREAM_NB, SPARK = "stream_nb (files, 1 file a side a batch)", "spark local[2] (files, 1 file a side a batch)"
DUCKDB = "duckdb one-shot"


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    left_src, right_src = joins.sides(RATE)
    left, right = left_src.read(0, total // 2), right_src.read(0, total // 2)
    half = per_batch // 2
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-join-")
    paths = {}
    for name, table in (("lefts", left), ("rights", right)):
        parts = [table.slice(i, half) for i in range(0, table.num_rows, half)]
        paths[name] = _write_files(parts, os.path.join(folder, name))
        paths[f"warmup-{name}"] = _write_files(parts[:WARMUP_FILES], os.path.join(folder, f"warmup-{name}"))
    batches = -(-left.num_rows // half)
    expected = joins.one_shot(left, right)
    report = Report(NAME, f"{TITLE}: {total:,} rows ({total // 2:,} a side) in {batches} batches of {per_batch:,}",
                    baseline=DUCKDB)

    def duckdb_run(clock: Stopwatch):
        with clock:
            return joins.one_shot(left, right)

    def stream_nb_run(clock: Stopwatch, prefix: str = ""):
        sn = workload.stream_nb()
        out = {"rows": 0, "sum": 0.0}

        def count(df, batch_id):
            out["rows"] += len(df)
            out["sum"] += float(df["diff"].sum())

        sources = {name: sn.sources.files(paths[prefix + name], format="parquet", max_files_per_trigger=1)
                   for name in ("lefts", "rights")}
        q = sn.start(joins.SQL, sources=sources, trigger="manual", sink=sn.sinks.foreach_batch(count))
        try:
            with clock:
                q.process_all_available()
        finally:
            q.stop()
        return out["rows"], out["sum"]

    def spark_run(clock: Stopwatch, prefix: str = ""):
        spark = spark_local.session()
        for name in ("lefts", "rights"):
            (spark.readStream.schema(joins.SCHEMA).option("maxFilesPerTrigger", 1).parquet(paths[prefix + name])
             .withWatermark("ts", "10 seconds").createOrReplaceTempView(name))
        out = {"rows": 0, "sum": 0.0}

        def count(df, batch_id):  # one row back per batch, not the joined rows
            rows, total_diff = df.selectExpr("count(*)", "sum(diff)").collect()[0]
            out["rows"] += rows
            out["sum"] += total_diff or 0.0

        query = (spark.sql(joins.SPARK_SQL).writeStream.outputMode("append").foreachBatch(count)
                 .option("checkpointLocation", spark_local.scratch()).trigger(processingTime="0 seconds").start())
        spark_local.drain(query, clock)
        return out["rows"], out["sum"]

    def agrees(contender: str):
        def check(result):
            rows, total_diff = result
            if rows != expected[0] or abs(total_diff - expected[1]) > 1e-6 * max(1.0, abs(expected[1])):
                raise ResultMismatch(f"{contender}: {rows:,} joined rows (sum of diff {total_diff:.6f}); DuckDB "
                                     f"over all rows: {expected[0]:,} ({expected[1]:.6f})")
        return check

    if quick:
        repeats = min(repeats, QUICK_REPEATS)
    try:
        measured = report.run([
            Contender(DUCKDB, duckdb_run, total, agrees(DUCKDB)),
            Contender(STREAM_NB, stream_nb_run, total, agrees(STREAM_NB),
                      warmup=lambda: stream_nb_run(Stopwatch(), "warmup-")),
            Contender(SPARK, spark_run, total, agrees(SPARK), warmup=lambda: spark_run(Stopwatch(), "warmup-")),
        ], repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for name in (STREAM_NB, SPARK):
        if name in measured:
            report.row(name)["ms/batch"] = 1000 * measured[name].seconds / batches
    report.targets = [
        Target("stream_nb / Spark local[2] (rows/s)", report.speed_ratio(STREAM_NB, SPARK), goal=10),
        Target("stream_nb / DuckDB one-shot (rows/s)", report.speed_ratio(STREAM_NB, DUCKDB)),
    ]
    report.notes.append(
        f"{expected[0]:,} joined rows. A device's rows are {joins.PERIOD_S} s apart on each side, so a row matches "
        "about one of the other side within ± 30 s. Both engines are timed from their first micro-batch to the "
        "return of process_all_available after the last commit; each counts the joined rows (and sums `diff`) "
        "per batch in its foreachBatch function, Spark inside the JVM. "
        f"Spark: `{spark_local.CONF['spark.master']}`, "
        f"`spark.sql.shuffle.partitions={spark_local.CONF['spark.sql.shuffle.partitions']}`, default state store.")
    return report

