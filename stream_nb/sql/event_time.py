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
from stream_nb.sql.tree import aggregates_in


@dataclass(frozen=True)
class EventTime:
    """The stream's watermark declaration: ``column``, ``delay_us`` behind its latest event time
    (``engine.watermark.advance``)."""

    column: str
    delay_us: int
    max_sql: str | None = None  # the batch's max event time over the rows Spark lets reach the watermark

    def pushed_filters(self, select: exp.Select, stream: str, to_duckdb, batch: str = "__batch") -> EventTime:
        """Spark pushes the WHERE conditions that only read the stream, and not its event time, below the
        watermark: rows they drop never move it (and those of its inner joins, with ``k IS NOT NULL`` for each
        key they join on). The max event time is taken over the rows they keep, read from the batch table
        ``batch`` (``tree.batch_table``)."""
        return self.pushed_through([select], stream, None, to_duckdb, batch)

    def pushed_through(self, chain: list[exp.Select], stream: str, columns: list[str] | None, to_duckdb,
                       batch: str = "__batch") -> EventTime:
        """``pushed_filters`` over a chain of SELECTs (the outermost first, ``tree.select_chain``): Spark pushes
        filters down through projections too, so the WHERE and inner join conditions of the SELECTs above the
        one that reads the stream count when they read columns passed up unchanged, up to the first SELECT
        that aggregates, deduplicates or limits (a filter above it is not one on the stream's rows). ``columns``: the stream's (None:
        the SELECT that reads it is the only one, and any column it reads is the stream's)."""
        source = next((t for t in chain[-1].find_all(exp.Table) if t.name == stream), None)
        if source is None:
            return self
        alias = source.alias_or_name
        names = _Same() if columns is None else {c: exp.column(c, table=alias) for c in columns}
        at, below, kept = alias, None, []
        for select in reversed(chain):
            if below is not None:
                at = _subquery_alias(select, below)
                if at is None:
                    break
            alone = not select.args.get("joins")
            where = select.args.get("where")
            for condition in [*(_conjuncts(where.this) if where else []), *_inner_join_conditions(select)]:
                moved = _onto(condition, at, names, alias, alone)
                if moved is not None and _stream_only(moved, alias, self.column):
                    kept.append(moved)
            for key in _joined_keys(select, at):
                moved = _onto(key, at, names, alias, alone)
                if moved is not None and _stream_only(moved, alias, self.column):
                    kept.append(exp.Not(this=exp.Is(this=moved, expression=exp.Null())))
            if aggregates_in(select) or any(select.args.get(k) for k in ("group", "distinct", "limit")):
                break
            names = _passed_up(select, at, names, alias, alone)
            below = select
        if not kept:
            return self
        query = exp.select(exp.Max(this=exp.column(self.column, table=alias))).from_(
            exp.Table(this=exp.to_identifier(batch), alias=exp.TableAlias(this=exp.to_identifier(alias))))
        query = query.where(exp.and_(*kept), copy=False)
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


class _Same(dict):
    """Every name, unchanged."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> str:
        return name  # read by _over as the stream's column


def _inner_join_conditions(select: exp.Select) -> list[exp.Expression]:
    """The ON conjuncts of the inner and semi joins of ``select`` (an outer join keeps its side's rows)."""
    return [c for join in select.args.get("joins") or [] if _filters(join) and join.args.get("on") is not None
            for c in _conjuncts(join.args["on"])]


def _joined_keys(select: exp.Select, at: str) -> list[exp.Column]:
    """The columns an inner or semi join of ``select`` compares for equality, or names in USING (of ``at``):
    Spark infers ``c IS NOT NULL`` for each (InferFiltersFromConstraints), as such a row never joins."""
    keys = []
    for join in select.args.get("joins") or []:
        if not _filters(join):
            continue
        if join.args.get("on") is not None:
            keys += [side for c in _conjuncts(join.args["on"]) if isinstance(c, exp.EQ)
                     for side in (c.this, c.expression) if isinstance(side, exp.Column)]
        keys += [exp.column(name.name, table=at) for name in join.args.get("using") or []]
    return keys


def _filters(join: exp.Join) -> bool:
    return join.kind in ("", "INNER", "SEMI") and (not join.side or join.kind == "SEMI")


def _subquery_alias(select: exp.Select, below: exp.Select) -> str | None:
    """The alias under which ``select`` reads ``below`` (a subquery in its FROM or a JOIN)."""
    sources = [select.args["from_"].this] if select.args.get("from_") else []
    sources += [join.this for join in select.args.get("joins") or []]
    return next((s.alias_or_name for s in sources if isinstance(s, exp.Subquery) and s.this is below), None)


def _onto(condition: exp.Expression, at: str, names: Mapping[str, exp.Expression], alias: str,
          alone: bool) -> exp.Expression | None:
    """``condition`` over the stream's own columns (``alias``.name), or None if it reads another column."""
    columns = list(condition.find_all(exp.Column))
    if any(not (c.table == at or (alone and not c.table)) or c.name not in names for c in columns):
        return None
    return condition.transform(lambda node: _over(names[node.name], alias) if isinstance(node, exp.Column) else node)


def _over(value: exp.Expression | str, alias: str) -> exp.Expression:
    """A column's value as the stream's columns compute it (a name: that stream column)."""
    if isinstance(value, str):
        return exp.column(value, table=alias)
    return exp.Paren(this=value.copy()) if not isinstance(value, exp.Column) else value.copy()


def _passed_up(select: exp.Select, at: str, names: Mapping[str, exp.Expression], alias: str,
               alone: bool) -> dict[str, exp.Expression]:
    """The output columns of ``select`` computed from its input's (``at``) alone, deterministically -> that
    value over the stream's columns (Spark pushes a filter through a projection by substituting it)."""
    passed: dict[str, exp.Expression] = {}
    for item in select.selects:
        value = item.unalias()
        if isinstance(value, exp.Star) or (isinstance(value, exp.Column) and isinstance(value.this, exp.Star)
                                           and value.table in (at, "")):
            passed.update(names)
        elif not value.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Rand, exp.Randn):
            moved = _onto(value, at, names, alias, alone) if value.find(exp.Column) else None
            if moved is not None:
                passed[item.alias_or_name] = moved
    return passed


def _stream_only(condition: exp.Expression, alias: str, event_time: str) -> bool:
    """Whether ``condition`` filters the stream's rows below the watermark: it reads the stream's columns (not
    its event time) and no more, and calls nothing whose second call would differ or be seen, as the max is
    taken in a query of its own: not rand() or uuid() (Spark pushes no nondeterministic filter) nor a Python
    function (it would run twice a row: an alert sent twice)."""
    columns = list(condition.find_all(exp.Column))
    return bool(columns) and not condition.find(exp.Subquery, exp.AggFunc, *_NONDETERMINISTIC) and \
        not _calls_python(condition) and all(c.table == alias and c.name != event_time for c in columns)


_NONDETERMINISTIC = (exp.Rand, exp.Randn, exp.Uuid, exp.Shuffle)


def _calls_python(condition: exp.Expression) -> bool:
    from stream_nb.udfs import registered

    python = registered()
    return any(call.name.lower() in python for call in condition.find_all(exp.Anonymous))
