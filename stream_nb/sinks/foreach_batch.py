"""``foreach_batch(fn)``: call ``fn(df, batch_id)`` with each batch's output, as Spark's foreachBatch does.

The engine may call ``fn`` again with the same ``batch_id`` after a failure: use the id to write idempotently.
Inside ``fn``, ``q.stop()`` stops the query once this batch has committed; the calls that wait for batches
(``q.process_all_available()``, ``q.step()``, ``q.await_termination()``) raise there instead of waiting forever.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from stream_nb.types import to_pandas


class ForeachBatchSink:
    def __init__(self, fn: Callable[[pd.DataFrame, int], object]):
        if not callable(fn):
            raise TypeError(f"foreach_batch takes a function fn(df, batch_id), not {fn!r}")
        self.fn = fn
        self.description = f"ForeachBatchSink[{getattr(fn, '__name__', 'fn')}]"

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        self.fn(to_pandas(table), batch_id)


def foreach_batch(fn: Callable[[pd.DataFrame, int], object]) -> ForeachBatchSink:
    """A sink that calls ``fn(df, batch_id)`` for every batch.

    >>> seen = []
    >>> sink = foreach_batch(lambda df, batch_id: seen.append((batch_id, len(df))))
    >>> sink.add_batch(0, pa.table({"x": [1, 2]}))
    >>> seen
    [(0, 2)]
    """
    return ForeachBatchSink(fn)
