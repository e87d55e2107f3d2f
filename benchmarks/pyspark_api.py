"""Case ``pyspark_api``: one PySpark Structured Streaming program, on stream_nb.pyspark and on PySpark local[2].

The program is written once (``program``): the windowed aggregation of ``spark_throughput`` (10-second tumbling
windows × 1,000 devices, a 10-second watermark, update mode) in PySpark's DataFrame API, reading parquet files
one a trigger into a memory sink. Only the session and the ``functions`` module handed to it differ. Both are
timed from the start of their first micro-batch to the return of ``processAllAvailable()`` after the last;
each final table (the last row emitted for each window and device) must equal DuckDB's over all the rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import duckdb

from . import spark_local, workload
from .harness import Contender, Report, Stopwatch, Target, Unavailable, check_same
from .spark_throughput import SQL, _duckdb, _final, _spark_final, _write_files

NAME = "pyspark_api"
TITLE = "a PySpark-API windowed aggregation (10 s windows × 1,000 devices, 10 s watermark, update mode)"
SIZES = {False: (2_000_000, 200_000), True: (400_000, 40_000)}  # quick -> (rows, rows per file = per batch)
WARMUP_FILES = 3
QUICK_REPEATS = 3

STREAM_NB, SPARK = "stream_nb.pyspark (files, 1 file a batch)", "pyspark local[2] (files, 1 file a batch)"
SN_START = "sn.start, the same query in SQL (files, 1 file a batch)"


def program(spark, F, path: str, name: str):
    """The PySpark program both run, unchanged."""
    events = (spark.readStream.schema(workload.SCHEMA).option("maxFilesPerTrigger", 1).parquet(path)
              .withWatermark("ts", "10 seconds"))
    counts = events.groupBy(F.window("ts", "10 seconds").alias("w"), "device").agg(
        F.count("*").alias("n"), F.avg("temp").alias("avg_temp"), F.max("temp").alias("max_temp"))
    return (counts.writeStream.outputMode("update").format("memory").queryName(name)
            .trigger(processingTime="0 seconds").start())


def run(quick: bool, repeats: int) -> Report:
    total, per_file = SIZES[quick]
    parts = workload.batches(workload.events(total), per_file)
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-pyspark-")
    inbox, warmup = _write_files(parts, os.path.join(folder, "all")), _write_files(parts[:WARMUP_FILES],
                                                                                      os.path.join(folder, "warmup"))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    files = sorted(os.path.join(inbox, name) for name in os.listdir(inbox))
    reference = _final(_duckdb(connection, files).to_pandas())
    report = Report(NAME, f"{TITLE}: {total:,} rows in {len(parts)} parquet files of {per_file:,} rows",
                    baseline=SPARK)

    def stream_nb_run(clock: Stopwatch, path: str = inbox):
        from stream_nb.pyspark.sql import SparkSession, functions

        spark = SparkSession.builder.getOrCreate()
        name = f"bench_{time.time_ns()}"
        with clock:  # start-up included: planning the query is part of what stream_nb does per run
            query = program(spark, functions, path, name)
            query.processAllAvailable()
        try:
            result = spark.sql(f"SELECT * FROM {name}").toPandas()
        finally:
            query.stop()
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def sn_start_run(clock: Stopwatch, path: str = inbox):
        import stream_nb as sn
        from stream_nb.pyspark.sql.streaming.sinks import SparkMemorySink

        with clock:  # as the PySpark program: planning included, the same sink (Spark's memory sink)
            src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
            query = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="0 seconds",
                             sink=SparkMemorySink())
            query.process_all_available()
        try:
            result = query.result
        finally:
            query.stop()
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def spark_run(clock: Stopwatch, path: str = inbox):
        try:
            from pyspark.sql import functions
        except ImportError as err:
            raise Unavailable(f"pyspark is not installed ({err})") from None
        spark = spark_local.session()
        name = f"bench_{time.time_ns()}"
        spark_local.drain(program(spark, functions, path, name), clock)
        return spark_local.read_view(spark, name, _spark_final)

    def agrees(contender: str):
        what = f"{contender}'s final table vs DuckDB over all rows"
        return lambda result: check_same(result, reference, key="key", what=what)

    if quick:
        repeats = min(repeats, QUICK_REPEATS)
    try:
        measured = report.run([
            Contender(STREAM_NB, stream_nb_run, total, agrees(STREAM_NB),
                      warmup=lambda: stream_nb_run(Stopwatch(), warmup)),
            Contender(SN_START, sn_start_run, total, agrees(SN_START), warmup=lambda: sn_start_run(Stopwatch(), warmup)),
            Contender(SPARK, spark_run, total, agrees(SPARK), warmup=lambda: spark_run(Stopwatch(), warmup)),
        ], repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.targets = [Target("stream_nb.pyspark / PySpark local[2] (rows/s)", report.speed_ratio(STREAM_NB, SPARK),
                             goal=10),
                      Target("stream_nb.pyspark / sn.start (rows/s; 1: planned once, nothing added per batch)",
                             report.speed_ratio(STREAM_NB, SN_START))]
    for name in (STREAM_NB, SN_START):
        if name in measured:
            report.row(name)["ms/batch"] = 1000 * measured[name].seconds / len(parts)
    report.notes.append(
        "The same PySpark program (`benchmarks/pyspark_api.py: program`) on both, only the import differs. "
        "stream_nb is timed from `writeStream.start()` (planning included) to `processAllAvailable()`; Spark "
        "from its first batch's trigger timestamp to `processAllAvailable()` (JVM and query start-up not counted).")
    return report
