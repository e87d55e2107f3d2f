"""``pyspark.sql.window``: ``Window.partitionBy(...).orderBy(...)`` for window functions (``row_number()``,
``rank()``, ``lag(...)``, ``sum(...)``) ``.over(spec)``. As in Spark they run on static DataFrames (a
``foreachBatch`` batch, ``spark.sql`` over a memory table); over a stream they are refused, as Spark refuses
them (NON_TIME_WINDOW_NOT_SUPPORTED_IN_STREAMING)."""

from __future__ import annotations

import sys
from typing import Any

from sqlglot import exp

from stream_nb.pyspark.sql.column import Column, _as_col, _literal


class WindowSpec:
    """A window's partitioning, ordering and frame (immutable: each method gives a new spec)."""

    def __init__(self, partition: tuple[Column, ...] = (), order: tuple[Column, ...] = (),
                 frame: tuple[str, int, int] | None = None):
        self._partition, self._order, self._frame = partition, order, frame

    def partitionBy(self, *cols: Any) -> WindowSpec:
        return WindowSpec(tuple(_as_col(c) for c in _flat(cols)), self._order, self._frame)

    def orderBy(self, *cols: Any) -> WindowSpec:
        return WindowSpec(self._partition, tuple(_as_col(c) for c in _flat(cols)), self._frame)

    def rowsBetween(self, start: int, end: int) -> WindowSpec:
        return WindowSpec(self._partition, self._order, ("ROWS", start, end))

    def rangeBetween(self, start: int, end: int) -> WindowSpec:
        return WindowSpec(self._partition, self._order, ("RANGE", start, end))

    def _over(self, function: Column) -> Column:
        order = [c._unaliased() if isinstance(c._unaliased(), exp.Ordered) else
                 exp.Ordered(this=c._unaliased(), desc=False, nulls_first=True) for c in self._order]
        spec = None
        if self._frame is not None:
            kind, start, end = self._frame
            spec = exp.WindowSpec(kind=kind, **_bound("start", start), **_bound("end", end))
        call = function._unaliased()
        cast = call if isinstance(call, exp.Cast) else None  # row_number() is an int, as Spark's: the cast
        window = exp.Window(this=(cast.this if cast else call).copy(),  # goes around the window
                            partition_by=[c._unaliased() for c in self._partition] or None,
                            order=exp.Order(expressions=order) if order else None, spec=spec)
        if cast is not None:
            window = exp.Cast(this=window, to=cast.to.copy())
        return Column(window, f"{function._name} OVER ({self._describe()})")

    def _describe(self) -> str:
        parts = []
        if self._partition:
            parts.append("PARTITION BY " + ", ".join(c._name for c in self._partition))
        if self._order:
            parts.append("ORDER BY " + ", ".join(c._name for c in self._order))
        return " ".join(parts)


def _bound(side: str, value: int) -> dict[str, Any]:
    if value <= Window.unboundedPreceding:
        return {side: "UNBOUNDED", f"{side}_side": "PRECEDING"}
    if value >= Window.unboundedFollowing:
        return {side: "UNBOUNDED", f"{side}_side": "FOLLOWING"}
    if value == 0:
        return {side: "CURRENT ROW"}
    return {side: _literal(abs(value))._unaliased(), f"{side}_side": "PRECEDING" if value < 0 else "FOLLOWING"}


def _flat(cols: tuple) -> list:
    return list(cols[0]) if len(cols) == 1 and isinstance(cols[0], (list, tuple)) else list(cols)


class Window:
    """``Window.partitionBy("k").orderBy(F.desc("ts"))``, as PySpark's."""

    unboundedPreceding: int = -sys.maxsize - 1
    unboundedFollowing: int = sys.maxsize
    currentRow: int = 0

    @staticmethod
    def partitionBy(*cols: Any) -> WindowSpec:
        return WindowSpec().partitionBy(*cols)

    @staticmethod
    def orderBy(*cols: Any) -> WindowSpec:
        return WindowSpec().orderBy(*cols)

    @staticmethod
    def rowsBetween(start: int, end: int) -> WindowSpec:
        return WindowSpec().rowsBetween(start, end)

    @staticmethod
    def rangeBetween(start: int, end: int) -> WindowSpec:
        return WindowSpec().rangeBetween(start, end)
