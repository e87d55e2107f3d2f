"""``window()`` and ``session_window()`` in a static query (``spark.sql`` over a table, a static DataFrame's
``groupBy(F.window(...))``, a foreachBatch batch), as Spark answers them over a bounded table.

A window is computed where it is written, as a streaming query's (``tree.apply_windows``), its timestamps of
its time's type; a static query may window any time expression, not only a column. A session window has no
per-row formula: over a bounded table Spark sorts each group's rows by time and starts a new session where a
row's time is past the end (``max(time + gap)``) of the rows before it (sessions that touch merge). Here that is three window-function
layers under the SELECT that groups by it: a row's start-of-session flag, the running count of flags (the
session's number within its group) and the session's ``{start, end}``.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of
from stream_nb.sql.tree import apply_windows, sources_of
from stream_nb.sql.windows import interval_us, is_window_call, sessions_sql, window_spec, window_struct

SESSION = "__session"  # the column a session window is read from (sessions_sql's), in the SELECT that groups by it


def static_windows(tree: exp.Expression, sql: str) -> exp.Expression:
    """Rewrite the window() and session_window() calls of a qualified, typed static query into DuckDB SQL."""
    for call in tree.find_all(exp.Anonymous):  # a string time is cast, as Spark casts it (NULL if it is none)
        time = call.expressions[0] if call.expressions else None
        if (is_window_call(call) or is_window_call(call, "session_window")) and time is not None and \
                time.type is not None and time.type.this in exp.DataType.TEXT_TYPES:
            cast = exp.TryCast(this=time.copy(), to=exp.DataType.build("TIMESTAMPTZ"))
            cast.type = exp.DataType.build("TIMESTAMPTZ")
            time.replace(cast)
    apply_windows(tree, lambda call: window_spec(call, sql, any_time=True),
                  lambda spec: window_struct(spec, _timestamp_kind(spec.column)))
    for select in reversed(list(tree.find_all(exp.Select))):  # inner SELECTs first
        calls = [c for c in select.find_all(exp.Anonymous)
                 if is_window_call(c, "session_window") and c.find_ancestor(exp.Select) is select]
        if calls:
            _sessions(select, calls, sql)
    return tree


def _timestamp_kind(time: exp.Expression) -> str:
    """A window of a timestamp_ntz is of timestamp_ntz, as in Spark; of anything else (a timestamp column, what
    to_timestamp gives) of Spark's timestamp."""
    return "TIMESTAMP" if time.type is not None and time.type.this == exp.DataType.Type.TIMESTAMPNTZ else "TIMESTAMPTZ"


def _sessions(select: exp.Select, calls: list[exp.Anonymous], sql: str) -> None:
    first = calls[0]
    if any(call.sql() != first.sql() for call in calls[1:]):
        raise StreamSQLError("a query groups by one session_window()", sql=sql, start=start_of(calls[1], sql))
    if len(first.expressions) != 2:
        raise StreamSQLError("session_window() takes a time and a gap, e.g. session_window(ts, '30 seconds')",
                             sql=sql, start=start_of(first, sql))
    group = select.args.get("group")
    keys = list(group.expressions) if group is not None else []
    if not any(key.sql() == first.sql() for key in keys):
        raise StreamSQLError("session_window() is a grouping key: it belongs in the GROUP BY of an aggregation",
                             sql=sql, start=start_of(first, sql))
    sources = sources_of(select)
    if len(sources) != 1:
        raise StreamSQLError("session_window() over a join is not supported yet in a static query: join in a "
                             "subquery, then group its rows", sql=sql, start=start_of(first, sql))
    source = sources[0]
    time, gap = first.expressions[0], interval_us(first.expressions[1], first, sql)
    if gap <= 0:
        raise StreamSQLError("a session gap must be positive", sql=sql, start=start_of(first, sql))
    others = [k.sql("duckdb") for k in keys if k.sql() != first.sql()]
    where = select.args.get("where")
    kept = exp.and_(exp.Not(this=exp.Is(this=time.copy(), expression=exp.Null())),
                    *([where.this.copy()] if where is not None else []))
    rows = exp.select("*").from_(source.copy()).where(kept).subquery().sql("duckdb")
    sessions = sessions_sql(rows, time.sql("duckdb"), gap, others, alias=exp.to_identifier(
        source.alias_or_name, quoted=True).sql("duckdb"), end_kind=_timestamp_kind(time))
    source.replace(sqlglot.parse_one(sessions, read="duckdb").subquery(source.alias_or_name))
    select.set("where", None)
    for call in calls:
        call.replace(exp.column(SESSION, table=source.alias_or_name))
