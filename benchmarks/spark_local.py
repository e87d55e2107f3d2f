"""PySpark Structured Streaming as a contender: one ``local[2]`` session per process, started on first use.

Starting the JVM takes seconds (half a minute on a busy 2-core machine) and is never timed, and it happens once:
the Spark cases run one after the other and share the session; the last of them (``latency``) stops it, so the
JVM does not sit on memory through the cases after it (and it is stopped at exit in any case). A missing pyspark
or Java makes every Spark contender ``Unavailable`` (shown as skipped), so the cases run without them.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
import warnings
from datetime import datetime

from .harness import Unavailable

# As the differential suite's runner (tests/differential/spark_runner.py), tuned the way anyone would tune Spark
# for 2 cores: 2 shuffle partitions (Spark's default of 200 would make each micro-batch run 200 tiny tasks).
CONF = {
    "spark.master": "local[2]",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
    # Spark stopped in the middle of a batch reports the interruption with a message so long that its own
    # regular expression check overflows the stream thread's default stack: give threads room.
    "spark.driver.extraJavaOptions": "-Xss16m",
    # Timestamps written as microseconds (not INT96), so pyarrow reads Spark's results back as UTC times.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Keep every batch's progress, so a run can be read back from query.recentProgress (default: 100).
    "spark.sql.streaming.numRecentProgressUpdates": "100000",
}

_session = None
_scratch: str | None = None


def session():
    """The shared SparkSession; ``Unavailable`` if pyspark or Java is missing or the JVM does not start."""
    global _session, _scratch
    if _session is not None:
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise Unavailable(f"pyspark is not installed ({err}); `pip install -e '.[spark]'` adds it") from None
    _scratch = tempfile.mkdtemp(prefix="stream_nb-bench-spark-")
    builder = SparkSession.builder.appName("stream_nb-benchmarks").config("spark.local.dir", _scratch)
    for key, value in CONF.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():
            # pyspark warns that it does not support pandas 3; no pandas ever goes through Spark here.
            warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
            _session = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - typically Java missing: "Java gateway process exited"
        raise Unavailable(f"Spark did not start ({type(err).__name__}: {str(err).splitlines()[0]}); "
                          "it needs Java 17+") from None
    _session.sparkContext.setLogLevel("ERROR")
    atexit.register(stop)
    return _session


def stop() -> None:
    """Stop the session (the JVM's memory and threads go with it); the next ``session()`` starts a new one."""
    global _session, _scratch
    if _session is not None:
        _session.stop()
        _session = None
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
        _scratch = None


def scratch() -> str:
    """A directory for checkpoints and results, removed with the session."""
    session()
    return tempfile.mkdtemp(dir=_scratch)


def drain(query, clock) -> list[dict]:
    """Run a started query until its input is used up, stop it, and add the run to ``clock``: timed from its
    first batch's trigger (Spark's own timestamp, so that the JVM's and the query's start-up are not counted)
    until ``processAllAvailable`` returned after the last batch's commit. Returns the query's progress."""
    try:
        query.processAllAvailable()
        done = time.time()
    finally:
        query.stop()
    progress = query.recentProgress
    clock.laps.append(done - epoch(progress[0]["timestamp"]))
    return progress


def read_view(spark, name: str, read):
    """``read(spark, name)`` over a memory sink's table, then drop the table so that runs do not pile up."""
    try:
        return read(spark, name)
    finally:
        spark.catalog.dropTempView(name)


def epoch(timestamp: str) -> float:
    """Seconds since the epoch of a progress timestamp like ``2026-11-24T01:22:42.652Z``."""
    return datetime.fromisoformat(timestamp).timestamp()
