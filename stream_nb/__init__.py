"""stream_nb: Spark Structured Streaming's model, live in a Jupyter notebook.

A stream is an unbounded table; a query over it runs incrementally in micro-batches::

    import stream_nb as sn
    readings = sn.sources.sensors(devices=3)
    q = sn.start("SELECT device, avg(temperature) AS t FROM readings GROUP BY device")
    q.result            # the result table as of the last committed batch

The whole public API is on this page; everything else can move.
"""

from stream_nb import sinks, sources, spark
from stream_nb.api import start
from stream_nb.checkpoint import CheckpointError
from stream_nb.engine import StreamingQuery, StreamingQueryException, get, queries, stop_all
from stream_nb.engine.clock import ManualClock
from stream_nb.engine.lifecycle import QueryState
from stream_nb.notebook import load_ipython_extension
from stream_nb.notebook import panel as _panel
from stream_nb.sinks.files import read_files_sink
from stream_nb.sql import OutputModeError, StreamSQLError
from stream_nb.types import SchemaError
from stream_nb.udfs import UdfError, udf

__all__ = [
    "CheckpointError",
    "ManualClock",
    "OutputModeError",
    "QueryState",
    "SchemaError",
    "StreamSQLError",
    "StreamingQuery",
    "StreamingQueryException",
    "UdfError",
    "get",
    "load_ipython_extension",
    "queries",
    "read_files_sink",
    "sinks",
    "sources",
    "spark",
    "start",
    "stop_all",
    "udf",
]
__version__ = "0.1.0"

_panel.register()  # in an IPython kernel: the comm of JupyterLab's Streams panel; elsewhere nothing
