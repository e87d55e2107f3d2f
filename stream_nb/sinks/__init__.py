"""Sinks: where each batch's output goes. One module each; see ``_protocol.py``."""

from stream_nb.sinks._protocol import Sink
from stream_nb.sinks.foreach_batch import foreach_batch
from stream_nb.sinks.memory import memory

__all__ = ["Sink", "foreach_batch", "memory"]
