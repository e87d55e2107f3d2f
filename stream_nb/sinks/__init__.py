"""Sinks: where each batch's output goes. One module each; see ``_protocol.py``."""

from stream_nb.sinks._protocol import Sink
from stream_nb.sinks.duckdb import duckdb_sink as duckdb
from stream_nb.sinks.files import files, read_files_sink
from stream_nb.sinks.foreach_batch import foreach_batch
from stream_nb.sinks.kafka import kafka
from stream_nb.sinks.memory import memory
from stream_nb.sinks.notify import notify

__all__ = ["Sink", "duckdb", "files", "foreach_batch", "kafka", "memory", "notify", "read_files_sink"]
