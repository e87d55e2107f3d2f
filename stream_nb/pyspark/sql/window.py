"""``pyspark.sql.window``: ``Window.partitionBy(...).orderBy(...)`` for window functions (``row_number()``,
``rank()``, ``lag(...)``, ``sum(...)``) ``.over(spec)``. As in Spark they run on static DataFrames (a
``foreachBatch`` batch, ``spark.sql`` over a memory table); over a stream they are refused, as Spark refuses
them (NON_TIME_WINDOW_NOT_SUPPORTED_IN_STREAMING)."""

from __future__ import annotations

import sys
from typing import Any

from sqlglot import exp

from stream_nb.pyspark.sql.column import Column, _as_col, _literal
from stream_nb.pyspark.sql.nullability import RANKING_NAMES


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
        return Column(window, f"{function._name} OVER ({self._describe(function)})")

    def _describe(self, function: Column) -> str:
        """The window as Spark's name of the column writes it: its partitioning, its ordering with each
        direction and NULLs' place, and its frame, the one it has by default included."""
        parts = []
        if self._partition:
            parts.append("PARTITION BY " + ", ".join(c._name for c in self._partition))
        if self._order:
            parts.append("ORDER BY " + ", ".join(_ordered_name(c) for c in self._order))
        return " ".join([*parts, self._frame_text(function)])

    def _frame_text(self, function: Column) -> str:
        if self._frame is not None:
            kind, start, end = self._frame
            return f"{kind} BETWEEN {_bound_text(start)} AND {_bound_text(end)}"
        name = function._name.split("(")[0].lower()
        if name in RANKING_NAMES:
            return "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        call = function._unaliased()
        if name in ("lag", "lead") and isinstance(call, exp.Anonymous) and len(call.expressions) > 1 \
                and isinstance(call.expressions[1], exp.Literal):
            offset = int(call.expressions[1].this) * (-1 if name == "lag" else 1)
            return f"ROWS BETWEEN {offset} FOLLOWING AND {offset} FOLLOWING"
        if self._order:
            return "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        return "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"



def _ordered_name(column: Column) -> str:
    """``x ASC NULLS FIRST``, as Spark writes an ordering."""
    return column._name if isinstance(column._unaliased(), exp.Ordered) else column.asc()._name


def _bound_text(value: int) -> str:
    """A frame's bound as Spark writes it: an offset n is ``n FOLLOWING``, negative or not."""
    if value <= Window.unboundedPreceding:
        return "UNBOUNDED PRECEDING"
    if value >= Window.unboundedFollowing:
        return "UNBOUNDED FOLLOWING"
    return "CURRENT ROW" if value == 0 else f"{value} FOLLOWING"


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
