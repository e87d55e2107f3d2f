"""``pyspark.sql`` on stream_nb: ``SparkSession``, ``DataFrame``, ``Column``, ``functions``, ``types``."""

from stream_nb.pyspark.sql.column import Column
from stream_nb.pyspark.sql.dataframe import DataFrame
from stream_nb.pyspark.sql.group import GroupedData
from stream_nb.pyspark.sql.session import SparkSession
from stream_nb.pyspark.sql.types import Row
from stream_nb.pyspark.sql.window import Window, WindowSpec

__all__ = ["Column", "DataFrame", "GroupedData", "Row", "SparkSession", "Window", "WindowSpec"]
