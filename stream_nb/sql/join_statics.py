"""A stream joined with static tables, then with the other stream, in one FROM (``FROM i JOIN s ON ... LEFT
JOIN c ON ...``): planned as the subquery form Spark's plan amounts to, the stream and the static tables joined
to it becoming that side's pre-join SQL (``(SELECT i.ts, ..., s.owner FROM i JOIN s ON ...) i``). The outer
query's references keep resolving as written: ``i.y`` stays, ``s.x`` reads the side's column carrying it
(renamed when the stream has a column of that name)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlglot import exp

_KEPT = {("", ""), ("", "INNER"), ("LEFT", ""), ("LEFT", "OUTER")}  # joins that keep the stream's rows streaming


def fold_statics_into_side(tree: exp.Expression, streams: Collection[str],
                           schema: Mapping[str, Mapping[str, str]]) -> None:
    """Rewrite, in place, each SELECT whose FROM is a stream, then static tables, then the other stream."""
    for select in list(tree.find_all(exp.Select)):
        joins = select.args.get("joins") or []
        source = select.args.get("from_") or select.args.get("from")
        if len(joins) < 2 or source is None or not isinstance(source.this, exp.Table) or \
                source.this.name not in streams:
            continue
        reading = [any(t.name in streams for t in j.this.find_all(exp.Table)) for j in joins]
        if reading.count(True) != 1 or reading.index(True) == 0 or any(reading[reading.index(True) + 1:]):
            continue  # only statics right after the FROM's stream, then the other stream last
        statics = joins[:reading.index(True)]
        if not all(isinstance(j.this, (exp.Table, exp.Subquery)) and j.args.get("on") is not None and
                   not j.args.get("using") and ((j.side or "").upper(), (j.kind or "").upper()) in _KEPT
                   for j in statics):
            continue
        _fold(select, source.this, statics, schema)


def _fold(select: exp.Select, stream: exp.Table, statics: list[exp.Join],
          schema: Mapping[str, Mapping[str, str]]) -> None:
    alias = stream.alias_or_name
    own = list(schema.get(stream.name, {}))
    taken = {c.lower() for c in own}
    folded = {j.this.alias_or_name for j in statics}
    items = [exp.column(c, table=alias).as_(c) for c in own]
    renamed: dict[tuple[str, str], str] = {}
    outer = [c for c in select.find_all(exp.Column) if c.table in folded and not any(
        c.find_ancestor(exp.Join) is j for j in statics)]
    for column in outer:
        key = (column.table, column.name)
        if key not in renamed:
            name = column.name if column.name.lower() not in taken else f"__{column.table}_{column.name}"
            taken.add(name.lower())
            renamed[key] = name
            items.append(exp.column(column.name, table=column.table).as_(name))
    inner = exp.select(*items).from_(stream.copy())
    for join in statics:
        inner.append("joins", join.copy())
    for column in outer:
        column.replace(exp.column(renamed[(column.table, column.name)], table=alias))
    for join in statics:
        join.pop()
    stream.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
