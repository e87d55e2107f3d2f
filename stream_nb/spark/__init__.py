"""The same query on Spark Structured Streaming: ``sn.start(sql, ..., engine="spark", spark=...)``.

``local_cluster()`` starts a standalone master and workers from the installed pyspark (the ``spark`` extra),
``local_connect_server()`` a Spark Connect server (``spark="sc://..."``);
``SparkQuery`` is the handle of a query running on Spark. Nothing here imports pyspark until it is used.
"""

from stream_nb.spark.cluster import local_cluster
from stream_nb.spark.connect import local_connect_server

__all__ = ["SparkQuery", "local_cluster", "local_connect_server"]


def __getattr__(name: str):
    if name == "SparkQuery":  # imports pyspark
        from stream_nb.spark.engine import SparkQuery

        return SparkQuery
    raise AttributeError(f"module 'stream_nb.spark' has no attribute {name!r}")
