"""The SparkSession a query runs on: one given, or one built for a master URL with the settings stream_nb's
semantics need (session time zone UTC, non-ANSI, the kernel's Python on the executors)."""

from __future__ import annotations

import os
import sys
from typing import Any

from stream_nb.spark.cluster import pyspark_home

CONF = {
    "spark.sql.session.timeZone": "UTC",       # stream_nb's semantics: timestamps in UTC
    "spark.sql.ansi.enabled": "false",         # and non-ANSI, as stream_nb runs Spark SQL
    "spark.sql.shuffle.partitions": "4",       # 200 tasks per stateful batch is slow on a small cluster
    "spark.ui.showConsoleProgress": "false",   # the progress bar would print into the notebook
    "spark.executor.memory": "512m",           # fits a 1g worker of local_cluster()
    "spark.pyspark.python": sys.executable,    # the Python data source's workers run this interpreter
    "spark.pyspark.driver.python": sys.executable,
}
# what a session may set for itself (over Spark Connect, the rest is the server's)
_RUNTIME = ("spark.sql.session.timeZone", "spark.sql.ansi.enabled", "spark.sql.shuffle.partitions")


def session(spark: Any = None):
    """``spark``: a SparkSession (used as it is), a master URL (``local[2]``, ``spark://host:7077``), a Spark
    Connect URL (``sc://host:15002``: a Connect session, beside any classic one), or None (the active session,
    else ``local[*]``)."""
    pyspark_home()  # a clear message when pyspark is not installed
    from pyspark.sql import SparkSession

    if spark is not None and not isinstance(spark, str):
        if not hasattr(spark, "readStream"):
            raise TypeError(f"spark= takes a SparkSession or a master URL, not {type(spark).__name__}")
        return spark
    if isinstance(spark, str) and spark.startswith("sc://"):
        from stream_nb.spark.connect import connect_session

        remote = connect_session(spark)
        for key in _RUNTIME:  # the server's static settings (its Python, executors) are the server's own
            remote.conf.set(key, CONF[key])
        return remote
    active = SparkSession.getActiveSession()
    if active is not None:
        master = active.sparkContext.master
        if spark is None or master == spark:
            return active
        raise RuntimeError(f"this kernel already runs a SparkSession on {master!r}, and one process holds "
                           f"one: stop it (spark.stop()) to run on {spark!r}, or pass spark=<that session>")
    # Spark's own Python processes (the driver's data source runner among them) read PYSPARK_PYTHON, not the conf
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(spark or "local[*]").appName("stream_nb")
    for key, value in CONF.items():
        builder = builder.config(key, value)
    created = builder.getOrCreate()
    created.sparkContext.setLogLevel("WARN")
    return created
