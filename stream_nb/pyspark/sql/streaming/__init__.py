"""``pyspark.sql.streaming``: the stream reader and writer, the query handle and its manager."""

from stream_nb.pyspark.sql.streaming.query import StreamingQuery, StreamingQueryManager
from stream_nb.pyspark.sql.streaming.readwriter import DataStreamReader, DataStreamWriter

__all__ = ["DataStreamReader", "DataStreamWriter", "StreamingQuery", "StreamingQueryManager"]
