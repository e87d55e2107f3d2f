"""Event-time windows: ``window(ts, size[, slide[, start]])`` as DuckDB SQL, with Spark's alignment.

A window is a struct ``{start, end}``. Windows are aligned to the epoch (plus ``start``), as in Spark:
``start = ts - ((ts - offset) mod slide)``, computed on microseconds. A tumbling window gives each row one
window; a sliding one gives it ``ceil(size / slide)`` candidate windows (the row is repeated, one per window,
by ``unnest(range(n))`` over the stream), of which those that contain ``ts`` are kept.

``session_window(ts, gap)`` is not a per-row rewrite: sessions merge across rows and batches, so the planner
hands it to the session operator (``engine/sessions.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from stream_nb.intervals import parse_interval
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of

SLIDE_INDEX = "__wk"  # the column that numbers a row's candidate sliding windows


@dataclass(frozen=True)
class WindowSpec:
    """One window() of the query."""

    column: exp.Expression   # the event-time column, qualified (for a static query, any expression)
    size_us: int
    slide_us: int
    offset_us: int

    @property
    def sliding(self) -> bool:
        return self.slide_us != self.size_us

    @property
    def copies(self) -> int:
        """How many windows a row may fall in."""
        return math.ceil(self.size_us / self.slide_us)


def is_window_call(node: exp.Expression, name: str = "window") -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == name


def window_spec(call: exp.Anonymous, sql: str, any_time: bool = False) -> WindowSpec:
    """Read and check ``window(ts, size[, slide[, start]])``; its time is a column, or with ``any_time`` (a
    static query, computed where it is) any expression."""
    args = call.expressions
    if 2 <= len(args) <= 4 and not any_time:
        _refuse_time_expression(call, sql)
    if not 2 <= len(args) <= 4 or not (any_time or isinstance(args[0], exp.Column)):
        raise StreamSQLError("window() takes an event-time column and a size, e.g. window(ts, '10 seconds') "
                             "or window(ts, '10 seconds', '5 seconds')", sql=sql, start=start_of(call, sql))
    size, slide, offset = (interval_us(arg, call, sql) for arg in (*args[1:], None, None)[:3])
    slide = slide or size
    if size <= 0 or slide <= 0:
        raise StreamSQLError("a window's size and slide must be positive", sql=sql, start=start_of(call, sql))
    if slide > size:
        raise StreamSQLError("a window's slide must not be longer than its size (as in Spark)",
                             sql=sql, start=start_of(call, sql))
    return WindowSpec(column=args[0], size_us=size, slide_us=slide, offset_us=offset or 0)


def time_table(spec: WindowSpec) -> str:
    """The table (or subquery) the window's time is read from."""
    column = spec.column if isinstance(spec.column, exp.Column) else spec.column.find(exp.Column)
    return column.table if column is not None else ""


def window_struct(spec: WindowSpec, kind: str = "TIMESTAMP") -> exp.Expression:
    """The DuckDB expression of the window ``{start, end}`` a row falls in (one of them, when sliding), of
    timestamps of type ``kind`` (the engine's are naive UTC; a static query's as its time column's)."""
    ts = f"epoch_us({spec.column.sql(dialect='duckdb')})"
    last_start = f"({ts} - ((({ts} - {spec.offset_us}) % {spec.slide_us}) + {spec.slide_us}) % {spec.slide_us})"
    start = last_start
    if spec.sliding:
        index = exp.column(SLIDE_INDEX, table=time_table(spec)).sql(dialect="duckdb")
        start = f"({last_start} - {index} * {spec.slide_us})"
    # naive timestamps: the engine hands DuckDB UTC values without the tag (engine/duck.py)
    def stamp(us: str) -> str:
        return f"make_timestamp({us})" if kind == "TIMESTAMP" else f"CAST(make_timestamp({us}) AS {kind})"

    text = f"{{'start': {stamp(start)}, 'end': {stamp(f'{start} + {spec.size_us}')}}}"
    return sqlglot.parse_one(text, read="duckdb")


def has_event_time(spec: WindowSpec) -> exp.Expression:
    """Spark's window() keeps only rows with an event time."""
    return exp.Not(this=exp.Is(this=spec.column.copy(), expression=exp.Null()))


def contains_row(spec: WindowSpec, struct: exp.Expression) -> exp.Expression:
    """For sliding windows: keep only the candidate windows that contain the row's time."""
    return sqlglot.parse_one(
        f"({struct.sql(dialect='duckdb')}).\"end\" > {spec.column.sql(dialect='duckdb')}", read="duckdb")


def explode_for_sliding(source: exp.Expression, spec: WindowSpec) -> exp.Expression:
    """``__batch AS t`` (or a subquery ``(...) AS t``) becomes
    ``(SELECT *, unnest(range(n)) AS __wk FROM __batch AS t) AS t``."""
    inner = exp.select("*", f"unnest(range({spec.copies})) AS {SLIDE_INDEX}", dialect="duckdb").from_(
        source.copy())
    return inner.subquery(source.alias_or_name)


def interval_us(arg: exp.Expression | None, call: exp.Anonymous, sql: str) -> int | None:
    if arg is None:
        return None
    if isinstance(arg, exp.Literal) and arg.is_string:
        text = arg.this
    elif isinstance(arg, exp.Interval):
        text = f"{arg.this.name} {arg.unit.name if arg.unit else ''}"
    else:
        raise StreamSQLError("window sizes are interval strings such as '10 seconds'",
                             sql=sql, start=start_of(arg, sql) or start_of(call, sql))
    try:
        delta = parse_interval(text)
    except ValueError as err:
        raise StreamSQLError(f"window(): {err}", sql=sql, start=start_of(arg, sql)) from None
    return round(delta.total_seconds() * 1_000_000)


GAP = "__gap"  # with a dynamic gap, the pre table's column of each row's gap in µs


@dataclass(frozen=True)
class SessionSpec:
    """``session_window(ts, gap)`` as the group key number ``index``: ``gap_us`` when the gap is a constant
    interval; with a gap computed per row (Spark's dynamic gap, e.g. ``CASE WHEN k = 'a' THEN '5 seconds'
    ELSE '10 seconds' END``) ``gap_us`` is None, and ``gap`` (the expression) computes the pre table's column
    ``GAP``: each row's gap in µs."""

    index: int
    gap_us: int | None
    gap: exp.Expression | None = None

    @property
    def dynamic(self) -> bool:
        return self.gap_us is None

    def gap_column(self) -> exp.Expression:
        """The pre table's column ``GAP``: the row's gap in µs, NULL where the gap is not an interval (Spark's
        session_window is then NULL, and the row in no session, as where the gap is not positive)."""
        as_interval = exp.TryCast(this=self.gap.copy(), to=exp.DataType.build("INTERVAL"))
        return exp.Anonymous(this="epoch_us", expressions=[as_interval]).as_(GAP)


def session_spec(call: exp.Anonymous, index: int, sql: str) -> SessionSpec:
    args = call.expressions
    if len(args) == 2:
        _refuse_time_expression(call, sql)
    if len(args) != 2 or not isinstance(args[0], exp.Column):
        raise StreamSQLError("session_window() takes an event-time column and a gap, e.g. "
                             "session_window(ts, '30 seconds')", sql=sql, start=start_of(call, sql))
    gap = args[1]
    if not (isinstance(gap, exp.Literal) and gap.is_string) and not isinstance(gap, exp.Interval):
        return SessionSpec(index=index, gap_us=None, gap=gap.copy())  # a gap per row
    gap = interval_us(gap, call, sql)
    if gap <= 0:
        raise StreamSQLError("a session gap must be positive", sql=sql, start=start_of(call, sql))
    return SessionSpec(index=index, gap_us=gap)


def _refuse_time_expression(call: exp.Anonymous, sql: str) -> None:
    """Spark windows any timestamp expression; here the time is a column: say how to name it."""
    time = call.expressions[0]
    if isinstance(time, exp.Column):
        return
    name = call.name.lower()
    start, after = start_of(time, sql), start_of(call.expressions[1], sql)
    text = sql[start:after].strip().rstrip(",").strip() if start is not None and after is not None else "..."
    raise StreamSQLError(f"{name}() over an expression ({text}) is not supported yet: its time must be a column",
                         sql=sql, start=start if start is not None else start_of(call, sql),
                         hint=f"name it in a subquery: SELECT {name}(t, ...) ... FROM (SELECT {text} AS t, ... "
                              "FROM <stream>) GROUP BY ...")


def sessions_sql(source: str, time: str, gap_us: int | str, others: list[str], alias: str = "__rows",
                 tiebreak: str = "", end_kind: str = "TIMESTAMP") -> str:
    """DuckDB SQL of each row of ``source`` (a table or ``(SELECT ...)``) with its session, ``__session``
    ``{start, end}``: within each group of ``others``, rows in ``time`` order start a new session where their
    time is past the end (``max(time + gap)``) of the rows before them (sessions that touch merge, as in Spark);
    a session spans from its first time to the latest ``time + gap`` of its rows. ``gap_us``: µs, or the name
    of a column of them (a gap per row); ``tiebreak`` orders rows of one time (else the one that starts a
    session comes first); every layer is called ``alias``, so ``time`` and ``others`` may be qualified by it;
    ``end_kind`` is the type of the end (the start keeps the time's)."""
    us = f"epoch_us({time})"
    by = f"PARTITION BY {', '.join(others)} " if others else ""
    first = f"ORDER BY {time}{', ' + tiebreak if tiebreak else ''}"
    again = f"ORDER BY {time}, {tiebreak or '__new DESC'}"
    end = f"make_timestamp(max({us} + {gap_us}) OVER w)"
    end = end if end_kind == "TIMESTAMP" else f"CAST({end} AS {end_kind})"
    marked = (f"SELECT *, CASE WHEN {us} <= max({us} + {gap_us}) OVER ({by}{first} ROWS BETWEEN UNBOUNDED "
              f"PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS __new FROM {source} AS {alias}")
    numbered = f"SELECT *, sum(__new) OVER ({by}{again} ROWS UNBOUNDED PRECEDING) AS __sid FROM ({marked}) AS {alias}"
    return (f"SELECT * EXCLUDE (__new, __sid), {{'start': min({time}) OVER w, 'end': {end}}} AS __session "
            f"FROM ({numbered}) AS {alias} WINDOW w AS (PARTITION BY {', '.join([*others, '__sid'])})")
