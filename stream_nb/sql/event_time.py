"""Event time: which column the watermark follows, and which group key carries it.

The watermark is declared in SQL (``FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS``) or with
``watermark={"events": ("ts", "10 seconds")}``. State and late rows follow it through a group key that is
the column itself or a window over it (then the window's end counts, as in Spark).

This module only declares the watermark; its rules (how it advances, what is late, what is expired, what a
checkpoint records) are ``stream_nb/engine/watermark.py``'s, which the engine applies at batch time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pyarrow as pa
from sqlglot import exp

from stream_nb.intervals import parse_interval
from stream_nb.sql.errors import StreamSQLError


@dataclass(frozen=True)
class EventTime:
    """The stream's watermark declaration: ``column``, ``delay_us`` behind its latest event time
    (``engine.watermark.advance``)."""

    column: str
    delay_us: int
    max_sql: str | None = None  # the batch's max event time over the rows Spark lets reach the watermark

    def pushed_filters(self, select: exp.Select, stream: str, to_duckdb, batch: str = "__batch") -> EventTime:
        """Spark pushes the WHERE conditions that only read the stream, and not its event time, below the
        watermark: rows they drop never move it. The max event time is taken over the rows they keep, read
        from the batch table ``batch`` (``tree.batch_table``)."""
        source = next((t for t in select.find_all(exp.Table) if t.name == stream), None)
        if source is None:
            return self
        alias = source.alias_or_name
        where = select.args.get("where")
        kept = [c for c in _conjuncts(where.this) if _stream_only(c, alias, self.column)] if where else []
        kept += _join_filters(select, alias, self.column)
        if not kept:
            return self
        query = exp.select(exp.Max(this=exp.column(self.column, table=alias))).from_(
            exp.Table(this=exp.to_identifier(batch), alias=exp.TableAlias(this=exp.to_identifier(alias))))
        query = query.where(exp.and_(*(c.copy() for c in kept)), copy=False)
        return replace(self, max_sql=to_duckdb(query))

    def describe(self) -> str:
        return f"{self.column} - {self.delay_us / 1e6:g} seconds"


@dataclass(frozen=True)
class EventTimeKey:
    """Which state key holds event time: key number ``index``; ``field`` "end" for a window struct (read at
    batch time by ``engine.aggregate_queries.event_times``)."""

    index: int
    field: str | None = None


def resolve_event_times(watermarks: list, option: Mapping[str, tuple[str, str]] | tuple[str, str] | None,
                        schemas: Mapping[str, pa.Schema], sql: str,
                        aliases: Mapping[str, str] | None = None) -> dict[str, EventTime]:
    """Each input's watermark, from its WATERMARK clause or the ``watermark=`` option, checked.

    ``schemas`` maps each stream to its schema, ``aliases`` each alias written in FROM to its stream. The
    option is ``{"clicks": ("ts", "20 seconds"), ...}`` by stream (or alias), or ``("ts", "10 seconds")`` for
    a query of one stream.
    """
    aliases = dict(aliases or {})
    if isinstance(option, tuple):
        if len(schemas) != 1:
            raise StreamSQLError(f"the query reads {len(schemas)} streams ({', '.join(schemas)}): say which "
                                 "one the watermark is on", sql=sql,
                                 hint=f"watermark={{{next(iter(schemas))!r}: {option!r}, ...}}")
        option = {next(iter(schemas)): option}
    declared = [(w.table, w.column, w.delay, w.start) for w in watermarks]
    declared += [(table, column, parse_interval(delay), None) for table, (column, delay) in (option or {}).items()]
    found: dict[str, tuple[str, int]] = {}
    for table, column, delay, start in declared:
        stream = table if table in schemas else aliases.get(table)
        if stream is None:
            on = f"the stream ({next(iter(schemas))!r})" if len(schemas) == 1 else \
                f"a stream ({', '.join(map(repr, schemas))})"
            raise StreamSQLError(f"a watermark goes on {on}, not on {table!r}", sql=sql, start=start)
        schema = schemas[stream]
        if column not in schema.names:
            raise StreamSQLError(f"watermark column {column!r} is not a column of {stream!r} "
                                 f"(columns: {', '.join(schema.names)})", sql=sql, start=start)
        if not pa.types.is_timestamp(schema.field(column).type):
            raise StreamSQLError(f"watermark column {column!r} must be a timestamp", sql=sql, start=start)
        delay_us = round(delay.total_seconds() * 1_000_000)
        if found.setdefault(stream, (column, delay_us)) != (column, delay_us):
            raise StreamSQLError(f"the stream {stream!r} has two different watermarks; declare one", sql=sql,
                                 start=start)
    return {stream: EventTime(column=column, delay_us=delay_us)
            for stream in schemas if stream in found for column, delay_us in [found[stream]]}


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _join_filters(select: exp.Select, alias: str, event_time: str) -> list[exp.Expression]:
    """What Spark's optimizer filters the stream by, below its watermark, from the inner and semi joins of
    ``select`` (a stream-static join): the ON conditions over the stream alone, and ``k IS NOT NULL`` for each
    stream column an equality compares or USING names (InferFiltersFromConstraints: such a row never joins).
    An outer join keeps the stream's rows, so it filters none."""
    filters: list[exp.Expression] = []
    for join in select.args.get("joins") or []:
        if join.kind not in ("", "INNER", "SEMI") or (join.side and join.kind != "SEMI"):
            continue
        if join.args.get("on") is not None:
            for condition in _conjuncts(join.args["on"]):
                if _stream_only(condition, alias, event_time):
                    filters.append(condition)
                elif isinstance(condition, exp.EQ):
                    filters += [exp.Not(this=exp.Is(this=side.copy(), expression=exp.Null()))
                                for side in (condition.this, condition.expression)
                                if isinstance(side, exp.Column) and _stream_only(side, alias, event_time)]
        for name in join.args.get("using") or []:
            if name.name != event_time:
                filters.append(exp.Not(this=exp.Is(this=exp.column(name.name, table=alias), expression=exp.Null())))
    return filters


def _stream_only(condition: exp.Expression, alias: str, event_time: str) -> bool:
    columns = list(condition.find_all(exp.Column))
    return bool(columns) and not condition.find(exp.Subquery, exp.AggFunc) and all(
        c.table == alias and c.name != event_time for c in columns)
