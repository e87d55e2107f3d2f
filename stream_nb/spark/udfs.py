"""The query's Python functions (``sn.udf``) on Spark: registered on the SparkSession under the same names, so
the same SQL calls them there (Spark's ``spark.udf.register``; vectorised ones as Series-to-Series
``pandas_udf``). Spark hands a scalar function timestamps as naive datetimes in the session time zone (UTC
here), where stream_nb hands them tagged UTC."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from stream_nb.udfs import Udf


def register_on_spark(spark: Any, udfs: Iterable[Udf]) -> None:
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.pandas.types import from_arrow_type

    from stream_nb.spark.connect import is_connect

    for f in udfs:
        # a Spark Connect client has no JVM to parse a DDL string with: the type as a DataType, from Arrow's
        return_type = from_arrow_type(f.arrow_type) if is_connect(spark) else f.return_type
        function = pandas_udf(f.fn, return_type) if f.vectorized else f.fn
        registered = spark.udf.register(f.name, function, None if f.vectorized else return_type)
        if not f.deterministic:
            spark.udf.register(f.name, registered.asNondeterministic())


def program_lines(udfs: Iterable[Udf], sql: str) -> list[str]:
    """What ``q.to_pyspark()`` writes for the functions the SQL calls: their registration, under the names the
    SQL uses (their code stays in the notebook: the program names where it goes).

    >>> from stream_nb.udfs import udf
    >>> print("\\n".join(program_lines([udf("to_f_doc", abs, "double")], "SELECT to_f_doc(t) FROM s")))
    # the Python functions the SQL calls (sn.udf): copy their code here, under these names
    spark.udf.register('to_f_doc', to_f_doc, 'DOUBLE')
    <BLANKLINE>
    """
    called = [f for f in udfs if re.search(rf"\b{re.escape(f.name)}\s*\(", sql, re.IGNORECASE)]
    if not called:
        return []
    lines = ["# the Python functions the SQL calls (sn.udf): copy their code here, under these names"]
    if any(f.vectorized for f in called):
        lines.append("from pyspark.sql.functions import pandas_udf")
    for f in called:
        function = f"pandas_udf({f.name}, {f.return_type!r})" if f.vectorized else f"{f.name}, {f.return_type!r}"
        lines.append(f"spark.udf.register({f.name!r}, {function})")
    return [*lines, ""]
