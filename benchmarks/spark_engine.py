"""Case ``spark_engine``: the windowed aggregation of ``spark_throughput`` through stream_nb's front end on Spark
(``sn.start(..., engine="spark")``) against the same query written in plain PySpark, and the in-kernel engine
against both.

The same parquet files, one per micro-batch, read by Spark's file source in both Spark contenders; the only
difference is what stream_nb adds: planning the SQL, the temp views, and each batch's output handed through
``foreachBatch`` (``toArrow``) to stream_nb's memory sink instead of Spark's memory sink. Both Spark contenders
share the ``local[2]`` session of the other Spark cases and are timed alike: from their first batch's trigger
timestamp (Spark's progress) until ``process_all_available`` returns after the last batch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import duckdb

from . import spark_local, workload
from .harness import Contender, Report, Stopwatch, Target, check_same
from .spark_throughput import (
    SPARK_SQL,
    SQL,
    WARMUP_FILES,
    _duckdb,
    _final,
    _spark_final,
    _write_files,
)

NAME = "spark_engine"
TITLE = "windowed aggregation (10 s windows × 1,000 devices, 10 s watermark, update mode)"
SIZES = {False: (2_000_000, 200_000), True: (100_000, 20_000)}  # quick -> (rows, rows per file = per batch)
QUICK_REPEATS = 3

ON_SPARK = "stream_nb front end on Spark local[2]"
PLAIN = "plain PySpark local[2]"
IN_KERNEL = "stream_nb in the kernel"


def run(quick: bool, repeats: int) -> Report:
    total, per_file = SIZES[quick]
    parts = workload.batches(workload.events(total), per_file)
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-spark-engine-")
    inbox = _write_files(parts, os.path.join(folder, "all"))
    warmup = _write_files(parts[:WARMUP_FILES], os.path.join(folder, "warmup"))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    reference = _final(_duckdb(connection, sorted(os.path.join(inbox, n) for n in os.listdir(inbox))).to_pandas())
    report = Report(NAME, f"{TITLE}: {total:,} rows in {len(parts)} parquet files of {per_file:,} rows",
                    baseline=PLAIN)

    def on_spark(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        spark = spark_local.session()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        q = sn.start(SQL, sources={"events": src}, output_mode="update", engine="spark", spark=spark,
                     checkpoint=spark_local.scratch(), name=f"bench_sn_{time.time_ns()}")
        try:
            q.process_all_available()
            done = time.time()
            first = q.recent_progress[0]["timestamp"]
            result = q.result
        finally:
            q.stop()
        clock.laps.append(done - spark_local.epoch(first))
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def plain(clock: Stopwatch, path: str = inbox):
        spark = spark_local.session()
        name = f"bench_plain_{time.time_ns()}"
        stream = (spark.readStream.schema(workload.SCHEMA).option("maxFilesPerTrigger", 1).parquet(path)
                  .withWatermark("ts", "10 seconds"))
        stream.createOrReplaceTempView("events")
        query = (spark.sql(SPARK_SQL).writeStream.outputMode("update").format("memory").queryName(name)
                 .option("checkpointLocation", spark_local.scratch()).start())
        spark_local.drain(query, clock)
        return spark_local.read_view(spark, name, _spark_final)

    def in_kernel(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual")
        try:
            with clock:
                q.process_all_available()
            result = q.result
        finally:
            q.stop()
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def agrees(contender: str):
        return lambda result: check_same(result, reference, key="key",
                                         what=f"{contender}'s final table vs DuckDB over all rows")

    if quick:
        repeats = min(repeats, QUICK_REPEATS)
    try:
        report.run([
            Contender(PLAIN, plain, total, agrees(PLAIN), warmup=lambda: plain(Stopwatch(), warmup)),
            Contender(ON_SPARK, on_spark, total, agrees(ON_SPARK), warmup=lambda: on_spark(Stopwatch(), warmup)),
            Contender(IN_KERNEL, in_kernel, total, agrees(IN_KERNEL), warmup=lambda: in_kernel(Stopwatch(), warmup)),
        ], repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratio = report.speed_ratio(PLAIN, ON_SPARK)  # time on stream_nb's front end / time in plain PySpark
    report.targets = [
        Target("stream_nb on Spark / plain PySpark (time: 1 + overhead)", ratio, goal=1.10, at_least=False),
        Target("in-kernel / plain PySpark (rows/s)", report.speed_ratio(IN_KERNEL, PLAIN)),
        Target("in-kernel / stream_nb on Spark (rows/s)", report.speed_ratio(IN_KERNEL, ON_SPARK)),
    ]
    report.notes.append(
        "The Spark contenders differ only in stream_nb's front end: the planner's checks, the temp views, and "
        "each batch handed through foreachBatch (toArrow) to stream_nb's memory sink, which upserts by key as "
        "q.result shows it; plain PySpark writes to Spark's memory sink, and its final table is read back after "
        "the timing. The overhead target is ≤ 10%.")
    return report
