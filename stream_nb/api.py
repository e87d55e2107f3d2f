"""``sn.start(...)``: plan a query and start it on the engine's loop."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from stream_nb.engine import registry
from stream_nb.engine.query import StreamingQuery
from stream_nb.engine.triggers import Trigger
from stream_nb.sinks.memory import memory
from stream_nb.sql.group_state import attach
from stream_nb.sql.plan import plan_query


def start(sql: str, *, name: str | None = None, sources: Mapping[str, Any] | None = None,
          output_mode: str | None = None, trigger: str | None = None,
          watermark: Mapping[str, tuple[str, str]] | tuple[str, str] | None = None,
          watermark_policy: str = "min", checkpoint: str | None = None, sink: Any = None,
          checkpoint_retention: int = 100, engine: str = "stream_nb", spark: Any = None,
          group_state: Any = None, clock: Any = None) -> StreamingQuery:
    """Start a streaming query: SQL (Spark dialect) over a stream, run incrementally in micro-batches.

    ``FROM x`` resolves ``x`` in ``sources`` first, then in the notebook's namespace (the caller's
    globals outside IPython). A query over several streams (a UNION ALL) has a watermark per stream
    (``watermark={name: (column, delay)}``); ``watermark_policy`` combines them as Spark's
    ``spark.sql.streaming.multipleWatermarkPolicy``: "min" (the slowest input holds it back) or "max". With
    ``checkpoint=DIR`` the query's offsets and state are kept there, and a
    query started again on it goes on exactly where it stopped; ``checkpoint_retention`` batches of logs
    are kept. ``engine="spark"`` runs the same query on Spark Structured Streaming (``spark``: a SparkSession or
    a master URL such as ``local[2]`` or ``spark://host:7077``; see ``stream_nb.spark``). ``group_state`` puts
    a Python function with state per group on top of the SQL (``applyInPandasWithState``: the PySpark API
    passes it; ``sql/group_state.py``); ``clock`` is what its processing time is read from (``sn.ManualClock``
    moves only when told; default: wall time).

    >>> import stream_nb as sn
    >>> events = sn.sources.memory("device string, temp double")
    >>> q = sn.start("SELECT device, max(temp) AS hottest FROM events GROUP BY device", trigger="manual")
    >>> events.add_data([{"device": "a", "temp": 20.5}, {"device": "a", "temp": 22.0}])
    2
    >>> q.step()["numInputRows"]
    2
    >>> q.result
      device  hottest
    0      a     22.0
    >>> q.stop()
    """
    if engine not in ("stream_nb", "spark"):
        raise ValueError(f"engine must be 'stream_nb' (in the kernel) or 'spark', not {engine!r}")
    namespaces = [dict(sources or {}), *_caller_namespaces(), registry.namespace()]
    plan = plan_query(sql, namespaces=namespaces, output_mode=None if group_state else output_mode,
                      watermark=watermark, watermark_policy=watermark_policy)
    if group_state is not None:
        if engine == "spark":
            raise ValueError("applyInPandasWithState runs on the stream_nb engine only (its function lives in "
                             "this kernel); start it without engine='spark'")
        plan = attach(plan, group_state, output_mode, clock)
    if engine == "spark" and Trigger.parse(trigger).kind == "continuous":
        raise ValueError("trigger='continuous' runs on the stream_nb engine only: the Spark engine hands each "
                         "batch to the kernel with foreachBatch, which Spark's continuous mode does not support; "
                         "start it without engine='spark'")
    if engine == "spark":
        from stream_nb.spark.engine import SparkQuery

        return SparkQuery(plan, spark=spark, sink=sink if sink is not None else memory(),
                          trigger=Trigger.parse(trigger), name=name, checkpoint=checkpoint)
    parsed = Trigger.parse(trigger)
    if parsed.kind == "continuous":  # each row as it arrives (map-like queries only)
        from stream_nb.engine.continuous import ContinuousQuery

        return ContinuousQuery(plan, sink=sink if sink is not None else memory(), trigger=parsed, name=name,
                               checkpoint=checkpoint, checkpoint_retention=checkpoint_retention)
    return StreamingQuery(plan, sink=sink if sink is not None else memory(),
                          trigger=parsed, name=name, checkpoint=checkpoint,
                          checkpoint_retention=checkpoint_retention)


def _caller_namespaces() -> list[Mapping[str, Any]]:
    """The notebook's namespace in IPython; the caller's locals and globals otherwise."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return [shell.user_ns]
    frame = sys._getframe(2)
    return [frame.f_locals, frame.f_globals]
