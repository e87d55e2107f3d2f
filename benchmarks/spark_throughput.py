"""Case ``spark_throughput``: a windowed aggregation, stream_nb against Spark Structured Streaming ``local[2]``.

10-second tumbling windows × 1,000 devices with a 10-second watermark, update mode. The rows are written once
as parquet files, one file per micro-batch; stream_nb and Spark each read them through their own files source
(one file a trigger), DuckDB and pandas read all the files and aggregate all rows at once. Every contender is
timed from its input files to its result table; every final table (update mode: the last row emitted for each
window and device) must equal DuckDB's, compared outside the timing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import spark_local, workload
from .harness import Contender, Report, Stopwatch, Target, check_same

NAME = "spark_throughput"
TITLE = "windowed aggregation (10 s windows × 1,000 devices, 10 s watermark, update mode)"
SIZES = {False: (4_000_000, 200_000), True: (400_000, 40_000)}  # quick -> (rows, rows per file = per batch)
WARMUP_FILES = 3
QUICK_REPEATS = 3

SELECT = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, avg(temp) AS avg_temp, "
          "max(temp) AS max_temp FROM events{watermark} GROUP BY window(ts, '10 seconds'), device")
SQL = SELECT.format(watermark=" WATERMARK ts DELAY OF INTERVAL 10 SECONDS")
SPARK_SQL = SELECT.format(watermark="")  # the watermark goes on with withWatermark, as in the differential suite
DUCKDB_SQL = ("SELECT time_bucket(INTERVAL 10 SECONDS, ts) AS window_start, device, count(*) AS n, "
              "avg(temp) AS avg_temp, max(temp) AS max_temp FROM read_parquet($files) GROUP BY ALL")

STREAM_NB, SPARK = "stream_nb (files, 1 file a batch)", "spark local[2] (files, 1 file a batch)"
DUCKDB, PANDAS = "duckdb one-shot", "pandas one-shot"


def run(quick: bool, repeats: int) -> Report:
    total, per_file = SIZES[quick]
    table = workload.events(total)
    parts = workload.batches(table, per_file)
    folder = tempfile.mkdtemp(prefix="stream_nb-bench-files-")
    inbox, warmup = _write_files(parts, os.path.join(folder, "all")), _write_files(parts[:WARMUP_FILES],
                                                                                      os.path.join(folder, "warmup"))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    files = sorted(os.path.join(inbox, name) for name in os.listdir(inbox))
    reference = _final(_duckdb(connection, files).to_pandas())
    report = Report(NAME, f"{TITLE}: {total:,} rows in {len(parts)} parquet files of {per_file:,} rows",
                    baseline=DUCKDB)
    spark_batches: list[dict] = []

    def duckdb_run(clock: Stopwatch):
        with clock:
            result = _duckdb(connection, files)
        return _final(result.to_pandas())

    def pandas_run(clock: Stopwatch):
        with clock:
            frame = pd.read_parquet(inbox)
            grouped = frame.groupby([frame["ts"].dt.floor("10s"), "device"], sort=False).agg(
                n=("temp", "size"), avg_temp=("temp", "mean"), max_temp=("temp", "max"))
        return _final(grouped.reset_index().rename(columns={"ts": "window_start"}))

    def stream_nb_run(clock: Stopwatch, path: str = inbox):
        sn = workload.stream_nb()
        src = sn.sources.files(path, format="parquet", max_files_per_trigger=1)
        q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual")
        try:
            with clock:  # the first batch starts at once, the call returns after the last one has committed
                q.process_all_available()
            result = q.result
        finally:
            q.stop()
        return _final(result.assign(window_start=[w["start"] for w in result["w"]]))

    def spark_run(clock: Stopwatch, path: str = inbox):
        spark = spark_local.session()
        name = f"bench_{time.time_ns()}"
        stream = (spark.readStream.schema(workload.SCHEMA).option("maxFilesPerTrigger", 1).parquet(path)
                  .withWatermark("ts", "10 seconds"))
        stream.createOrReplaceTempView("events")
        query = (spark.sql(SPARK_SQL).writeStream.outputMode("update").format("memory").queryName(name)
                 .option("checkpointLocation", spark_local.scratch()).trigger(processingTime="0 seconds")
                 .start())
        spark_batches[:] = [p for p in spark_local.drain(query, clock) if p["numInputRows"]]
        return spark_local.read_view(spark, name, _spark_final)

    def agrees(contender: str):
        what = f"{contender}'s final table vs DuckDB over all rows"
        return lambda result: check_same(result, reference, key="key", what=what)

    if quick:
        repeats = min(repeats, QUICK_REPEATS)  # a Spark run takes seconds: keep the CI run short
    try:
        measured = report.run([
            Contender(DUCKDB, duckdb_run, total, agrees(DUCKDB)),
            Contender(PANDAS, pandas_run, total, agrees(PANDAS)),
            # warm-ups over the first files only: imports, DuckDB, the JVM's JIT, without a whole run
            Contender(STREAM_NB, stream_nb_run, total, agrees(STREAM_NB),
                      warmup=lambda: stream_nb_run(Stopwatch(), warmup)),
            Contender(SPARK, spark_run, total, agrees(SPARK), warmup=lambda: spark_run(Stopwatch(), warmup)),
        ], repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the Spark session stays up for the next Spark case

    for name in (STREAM_NB, SPARK):
        if name in measured:
            report.row(name)["ms/batch"] = 1000 * measured[name].seconds / len(parts)
    report.targets = [
        Target("stream_nb / Spark local[2] (rows/s)", report.speed_ratio(STREAM_NB, SPARK), goal=10),
        Target("stream_nb / DuckDB one-shot (rows/s)", report.speed_ratio(STREAM_NB, DUCKDB), goal=0.8),
        Target("stream_nb / pandas one-shot (rows/s)", report.speed_ratio(STREAM_NB, PANDAS)),
        Target("Spark / DuckDB one-shot (rows/s)", report.speed_ratio(SPARK, DUCKDB)),
    ]
    report.notes.append(
        "DuckDB (`read_parquet` of all the files, its default threads) and pandas (`read_parquet` of the folder, "
        "then `groupby`) are timed from the files to their result table, like the streaming engines; turning "
        "each result into the comparable form checked against DuckDB's is not timed.")
    report.notes.append(
        "Both engines are timed from the start of their first micro-batch to the moment the caller learns the "
        "last one has committed: stream_nb with `trigger=\"manual\"` and `q.process_all_available()`, Spark from "
        "the first batch's trigger timestamp in its progress to the return of `query.processAllAvailable()` "
        "(so the JVM's start and `writeStream.start()` are not counted). Each writes to its memory sink. "
        f"Spark runs `{spark_local.CONF['spark.master']}` with "
        f"`spark.sql.shuffle.partitions={spark_local.CONF['spark.sql.shuffle.partitions']}` and its default "
        "state store.")
    if spark_batches:
        report.notes.append(_spark_breakdown(spark_batches))
    return report


def _write_files(parts: list[pa.Table], path: str) -> str:
    """One parquet file per batch; modification times a second apart, so both files sources order them alike."""
    os.makedirs(path)
    start = time.time() - len(parts) - 10
    for i, part in enumerate(parts):
        name = os.path.join(path, f"part-{i:05d}.parquet")
        pq.write_table(part, name)
        os.utime(name, (start + i, start + i))
    return path


def _duckdb(connection: duckdb.DuckDBPyConnection, files: list[str]) -> pa.Table:
    """The query over all the files at once, as an Arrow table (what stream_nb's memory sink holds)."""
    return connection.sql(DUCKDB_SQL, params={"files": files}).to_arrow_table()


def _spark_final(spark, view: str) -> pd.DataFrame:
    """The memory sink's rows upserted by (window, device): in update mode a key's count only grows from one
    emission to the next, so its last row is the one with the largest ``n``. Read back through parquet, which
    is far quicker than collecting rows through py4j."""
    out = os.path.join(spark_local.scratch(), "final")
    spark.sql(f"SELECT w.start AS window_start, device, max(n) AS n, max_by(avg_temp, n) AS avg_temp, "
              f"max_by(max_temp, n) AS max_temp FROM {view} GROUP BY w.start, device").write.parquet(out)
    return _final(pq.read_table(out).to_pandas())


def _final(frame: pd.DataFrame) -> pd.DataFrame:
    """key (window start in µs since the epoch | device), n, avg_temp, max_temp: comparable across engines."""
    start = pd.to_datetime(frame["window_start"], utc=True).dt.as_unit("us").astype("int64")
    return pd.DataFrame({
        "key": start.astype(str).str.cat(frame["device"].astype(str), sep="|").to_numpy(),
        "n": frame["n"].astype("int64").to_numpy(),
        "avg_temp": frame["avg_temp"].astype("float64").to_numpy(),
        "max_temp": frame["max_temp"].astype("float64").to_numpy(),
    })


def _spark_breakdown(batches: list[dict]) -> str:
    """Where Spark's time goes, from its own progress (last timed run), as the mean over data batches."""
    keys = list(dict.fromkeys(k for p in batches for k in p["durationMs"]))
    mean = {k: sum(p["durationMs"].get(k, 0) for p in batches) / len(batches) for k in keys}
    shown = ", ".join(f"{k} {v:.0f}" for k, v in sorted(mean.items(), key=lambda kv: -kv[1]) if v >= 1)
    return f"Spark's own `durationMs` per data batch (mean of {len(batches)}, last run, ms): {shown}."

