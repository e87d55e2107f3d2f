"""The engine: StreamingQuery, the micro-batch runner on the engine's event loop, operators and state."""

from stream_nb.engine.query import StreamingQuery, StreamingQueryException
from stream_nb.engine.registry import get, queries, stop_all

__all__ = ["StreamingQuery", "StreamingQueryException", "get", "queries", "stop_all"]
