"""The query's Python functions (``sn.udf``) on Spark: registered on the SparkSession under the same names, so
the same SQL calls them there (Spark's ``spark.udf.register``; vectorised ones as Series-to-Series
``pandas_udf``). Spark hands a scalar function timestamps as naive datetimes in the session time zone (UTC
here), where stream_nb hands them tagged UTC."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stream_nb.udfs import Udf


def register_on_spark(spark: Any, udfs: Iterable[Udf]) -> None:
    from pyspark.sql.functions import pandas_udf

    for f in udfs:
        function = pandas_udf(f.fn, f.return_type) if f.vectorized else f.fn
        registered = spark.udf.register(f.name, function, None if f.vectorized else f.return_type)
        if not f.deterministic:
            spark.udf.register(f.name, registered.asNondeterministic())
