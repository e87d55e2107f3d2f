"""Spark's generators beyond ``explode``: ``explode_outer``, ``posexplode``, and ``LATERAL VIEW [OUTER]``.

Each becomes what the rest of the planner already runs (``explode`` is DuckDB's ``UNNEST``):

* ``explode_outer(xs)`` is ``explode`` of ``xs``, or of one NULL where ``xs`` is NULL or empty (Spark keeps
  such a row, with NULL for the element);
* ``explode`` unnamed gives Spark's column ``col``, ``posexplode(xs)`` two: ``pos`` (from 0) and ``col``, or
  the names of ``AS (p, x)``;
* ``SELECT ... FROM t LATERAL VIEW [OUTER] explode(xs) v AS x`` is a SELECT over
  ``(SELECT t.*, explode(xs) AS x FROM t)``, which keeps ``t``'s name, so ``v.x`` reads as ``t.x``; several
  lateral views nest, each over the one before, as Spark applies them in order.

* ``inline(xs)`` of an array of structs, a row per struct and a column per field (``inline_outer`` keeping a
  row of NULLs, as ``explode_outer``), is DuckDB's ``UNNEST(xs, max_depth := 2)``, in a top-level select list
  (in a subquery its columns would be known only when it runs: refused, with the explode to write instead).

* several generators in one SELECT (Spark 4 takes them): every combination, left to right, as lateral views
  one over the other (DuckDB's UNNESTs side by side would zip them).

* ``explode`` / ``explode_outer`` / ``posexplode`` of a map: a row per entry, in columns ``key`` and ``value``
  (Spark's names), as two generators over its keys and its values, side by side. A map is known by its type
  (``map_paths``: a column, a struct's field, a field of ``from_json``'s schema, a subquery's alias of one), by
  the call that makes it, or by the two names of ``AS (k, v)`` (three for ``posexplode``), which only a map's
  entries take.

* ``posexplode_outer(xs)``: ``pos`` and ``col``, both NULL in the one row of a NULL or empty array, as two
  ``explode_outer`` side by side, over the positions and over the elements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.json_functions import from_json_schema
from stream_nb.sql.positions import start_of


def spark_generators(tree: exp.Expression, sql: str,
                     map_columns: Callable[[], set[str]] = frozenset) -> exp.Expression:
    """``tree`` with its lateral views as subqueries and ``explode_outer`` as ``explode``.

    >>> import sqlglot
    >>> sql = "SELECT d, v.x FROM t LATERAL VIEW OUTER explode(xs) v AS x"
    >>> spark_generators(sqlglot.parse_one(sql, read="spark"), sql).sql("spark")
    'SELECT d, t.x FROM (SELECT t.*, EXPLODE(CASE WHEN SIZE(xs) > 0 THEN xs ELSE ARRAY(NULL) END) AS x FROM t) AS t'
    """
    for select in list(tree.find_all(exp.Select)):
        _generators_as_views(select, sql)
    for select in list(tree.find_all(exp.Select)):
        if select.args.get("laterals"):
            _unview(select, sql)
    generators = list(tree.find_all(exp.Explode, exp.Posexplode))  # explode_outer's class is an Explode
    maps = map_columns() if any(isinstance(node.this, exp.Column) for node in generators) else set()
    for node in generators:
        if _is_map(node.this, maps) or _names_entries(node):
            _explode_map(node, sql)
        elif isinstance(node, exp.PosexplodeOuter):
            _side_by_side(node, sql, ["pos", "col"], "posexplode_outer",
                          [_int(exp._ExplodeOuter(this=_positions(node.this))),
                           exp._ExplodeOuter(this=node.this.copy())])
        elif isinstance(node, exp.Posexplode) and isinstance(node.parent, (exp.Select, exp.Aliases)):
            _side_by_side(node, sql, ["pos", "col"], "posexplode",  # pos an int, as Spark's
                          [_subscripts(node.this), exp.Explode(this=node.this.copy())])
    for select in list(tree.find_all(exp.Select)):
        for item in list(select.expressions):  # Spark's names for a generator's columns
            if isinstance(item, exp.Posexplode):
                item.replace(exp.Aliases(this=item.copy(), expressions=[exp.to_identifier("pos"),
                                                                        exp.to_identifier("col")]))
            elif isinstance(item, exp.Explode):
                item.replace(exp.alias_(item.copy(), "col"))
    for node in list(tree.find_all(exp.ExplodeOuter)):
        node.replace(_outer(node.this))
    for node in list(tree.find_all(exp.Inline, exp.Anonymous)):
        if isinstance(node, exp.Inline) or node.name.lower() == "inline_outer":
            _inline(node, sql)
    return tree


_MAPS = (exp.VarMap, exp.Map, exp.StrToMap, exp.MapFromEntries)


def map_paths(columns: Mapping[str, str], tree: exp.Expression) -> set[str]:
    """The lower-case dotted paths a map may be read at, before names are bound: ``columns`` (a column's name
    and its SQL type) of a map type or a struct with map fields (``s.m``), and in ``tree`` the aliases of
    ``from_json`` with such a schema (``e.readings`` of ``from_json(value, 'readings map<...>') AS e``) or of a
    path already found (a subquery's ``e.readings AS r``).

    >>> import sqlglot
    >>> sql = "SELECT r FROM (SELECT e.readings AS r FROM (SELECT from_json(v, 'readings map<string, int>') AS e))"
    >>> sorted(map_paths({"m": "MAP<STRING, INT>", "s": "STRUCT<n INT, tags MAP<STRING, STRING>>"},
    ...                  sqlglot.parse_one(sql, read="spark")))
    ['e.readings', 'm', 'r', 's.tags']
    """
    paths: set[str] = set()
    for name, kind in columns.items():
        _map_fields(name.lower(), exp.DataType.build(kind, dialect="spark"), paths)
    for alias in reversed(list(tree.find_all(exp.Alias))):  # the innermost subqueries' first
        value, name = alias.this, alias.alias.lower()
        if isinstance(value, exp.FromJson):
            try:
                _map_fields(name, from_json_schema(value.expression, ""), paths)
            except StreamSQLError:
                continue  # json_functions says what is wrong with the schema, in its place
        elif _is_map(value, paths):
            paths.add(name)
    return paths


def _map_fields(path: str, kind: exp.DataType, paths: set[str]) -> None:
    if kind.this == exp.DataType.Type.MAP:
        paths.add(path)
    elif kind.this == exp.DataType.Type.STRUCT:
        for field in kind.expressions:
            if isinstance(field, exp.ColumnDef) and field.args.get("kind") is not None:
                _map_fields(f"{path}.{field.name.lower()}", field.args["kind"], paths)


def _names_entries(node: exp.Expression) -> bool:
    """``explode(x) AS (k, v)``, ``posexplode(x) AS (p, k, v)``: names only a map's entries take."""
    return isinstance(node.parent, exp.Aliases) and \
        len(node.parent.expressions) == (3 if isinstance(node, exp.Posexplode) else 2)


def _is_map(values: exp.Expression, map_columns: set[str]) -> bool:
    """Whether a generator's argument is a map: at a path of ``map_paths`` (as written, or after a table's
    name), or a call that makes one."""
    if isinstance(values, exp.Column):
        parts = [part.name.lower() for part in values.parts]
        return ".".join(parts) in map_columns or len(parts) > 1 and ".".join(parts[1:]) in map_columns
    if isinstance(values, exp.Cast):
        return values.to.this == exp.DataType.Type.MAP
    return isinstance(values, _MAPS) or isinstance(values, exp.Anonymous) and values.name.lower() in (
        "map_concat", "map_filter", "transform_values", "transform_keys")


def _explode_map(node: exp.Expression, sql: str) -> None:
    """``explode(m)`` of a map: a row per entry, in columns ``key`` and ``value`` (``pos`` first for
    ``posexplode``), or the names of ``AS (k, v)``, as Spark. Written as two generators over
    ``map_keys(m)`` and ``map_values(m)`` in one select list, which DuckDB runs side by side (zipped: same
    length), so the outer query sees two named columns; ``explode_outer`` gives one row of NULLs for a NULL or
    empty map, as each of the two does."""
    keys, values = (exp.Anonymous(this=f, expressions=[node.this.copy()]) for f in ("map_keys", "map_values"))
    if isinstance(node, exp.PosexplodeOuter):
        _side_by_side(node, sql, ["pos", "key", "value"], "posexplode_outer of a map",
                      [_int(exp._ExplodeOuter(this=_positions(keys))), exp._ExplodeOuter(this=keys.copy()),
                       exp._ExplodeOuter(this=values)])
    elif isinstance(node, exp.Posexplode):
        _side_by_side(node, sql, ["pos", "key", "value"], "posexplode of a map",
                      [_subscripts(keys), exp.Explode(this=keys.copy()),
                       exp.Explode(this=values)])
    else:
        outer = type(node) if isinstance(node, exp.ExplodeOuter) else exp.Explode
        _side_by_side(node, sql, ["key", "value"], "explode of a map", [outer(this=keys), outer(this=values)])


def _int(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("INT"))


def _subscripts(values: exp.Expression) -> exp.Expression:
    """The positions of an array's elements as a generator, 0 to its size - 1 (an int, as Spark's ``pos``)."""
    call = exp.Anonymous(this="generate_subscripts", expressions=[values.copy(), exp.Literal.number(1)])
    return _int(exp.Sub(this=call, expression=exp.Literal.number(1)))


def _positions(values: exp.Expression) -> exp.Expression:
    """The positions of an array's elements, 0 to its size - 1; NULL for a NULL or empty array (so that
    ``explode_outer`` of it pads the row with NULL, as Spark's ``posexplode_outer`` does)."""
    size = exp.ArraySize(this=values.copy())
    last = exp.Sub(this=size.copy(), expression=exp.Literal.number(1))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=size, expression=exp.Literal.number(0)),
                                true=exp.func("sequence", exp.Literal.number(0), last, dialect="spark"))])


def _side_by_side(node: exp.Expression, sql: str, names: list[str], what: str,
                  generators: list[exp.Expression]) -> None:
    """``node``'s select item as ``generators`` side by side (DuckDB zips them: same length), named ``names``
    (Spark's) or as its ``AS (...)`` names them."""
    item = node.parent
    if isinstance(item, (exp.Alias, exp.Aliases)):
        given = [e.name for e in item.expressions] if isinstance(item, exp.Aliases) else [item.alias]
        if len(given) != len(names):
            raise StreamSQLError(f"{what} gives {len(names)} columns ({', '.join(names)}), and the AS clause "
                                 f"names {len(given)}", sql=sql, start=start_of(item, sql),
                                 hint=f"AS ({', '.join(names)}), or no AS for Spark's names")
        names = given
    else:
        item = node
    select = item.parent
    if not isinstance(select, exp.Select) or item not in select.expressions:
        raise StreamSQLError(f"{what} goes in a select list, as Spark takes it", sql=sql,
                             start=start_of(node, sql), hint="SELECT id, explode(m) FROM s")
    items = [exp.alias_(generator, name) for generator, name in zip(generators, names, strict=True)]
    at = select.expressions.index(item)
    select.set("expressions", [*select.expressions[:at], *items, *select.expressions[at + 1:]])


def _inline(node: exp.Expression, sql: str) -> None:
    """``inline(xs)``: a row per struct of ``xs``, a column per field, named as the fields (DuckDB's UNNEST of
    the array and its structs, two levels down). ``inline_outer`` keeps a row of NULLs for a NULL or empty
    array, as Spark."""
    name = "inline" if isinstance(node, exp.Inline) else "inline_outer"
    if isinstance(node.parent, (exp.Aliases, exp.Alias)):
        raise StreamSQLError(f"{name}(...) AS (...) is not supported yet: its columns are named by the structs' "
                             "fields", sql=sql, start=start_of(node, sql),
                             hint="name the fields in the structs, or rename the columns in an outer query")
    if not isinstance(node.parent, exp.Select):
        raise StreamSQLError(f"{name}() goes alone in a select list, as Spark takes it", sql=sql,
                             start=start_of(node, sql), hint="SELECT device, inline(readings) FROM s")
    if node.parent.find_ancestor(exp.Subquery) is not None:  # its columns are the fields, known when it runs
        raise StreamSQLError(f"{name}() in a subquery is not supported yet", sql=sql, start=start_of(node, sql),
                             hint="explode the array in the subquery, SELECT explode(readings) AS r, and read "
                                  "the fields outside it: r.t, r.tag")
    values = node.this if isinstance(node, exp.Inline) else node.expressions[0]
    if not isinstance(node, exp.Inline):
        values = _outer(values).this
    unnest = exp.Explode(this=values.copy(), expressions=[exp.PropertyEQ(this=exp.to_identifier("max_depth"),
                                                                         expression=exp.Literal.number(2))])
    unnest.meta["inline"] = True
    node.replace(unnest)


_GENERATORS = (exp.Explode, exp.ExplodeOuter, exp.Posexplode, exp.Inline, exp.PosexplodeOuter)


def _is_generator(node: exp.Expression) -> bool:
    return isinstance(node, _GENERATORS) or isinstance(node, exp.Anonymous) and node.name.lower() == "inline_outer"


def _generators_as_views(select: exp.Select, sql: str) -> None:
    """Several generators in one SELECT: Spark 4 runs each over the rows of the one before (every combination,
    left to right), as lateral views do; DuckDB would zip them. So each becomes a LATERAL VIEW, and its item the
    columns it makes."""
    found = [node for item in select.expressions for node in item.walk()
             if _is_generator(node) and node.find_ancestor(exp.Select) is select]
    if len(found) < 2:
        return
    aggregating = select.args.get("group") or any(n.find_ancestor(exp.Select) is select
                                                  for item in select.expressions for n in item.find_all(exp.AggFunc))
    star = any(isinstance(n, exp.Star) for item in select.expressions for n in item.walk()
               if not isinstance(n.parent, exp.Count))
    if aggregating or star or select.args.get("joins"):
        what = "an aggregation" if aggregating else "*" if star else "a join"
        raise StreamSQLError(f"several generators in one SELECT with {what} are not supported yet", sql=sql,
                             start=start_of(found[1], sql), hint="explode in a subquery, the rest above it")
    laterals, items, names = list(select.args.get("laterals") or []), [], []
    for item in select.expressions:
        call = item.this if isinstance(item, (exp.Alias, exp.Aliases)) else item
        if not any(_is_generator(n) for n in item.walk()):
            items.append(item)
            continue
        if not isinstance(call, (exp.Explode, exp.Posexplode)) or isinstance(call, exp.PosexplodeOuter):
            raise StreamSQLError("several generators in one SELECT: each must be explode, explode_outer or "
                                 "posexplode, alone in its item (not supported yet otherwise)", sql=sql,
                                 start=start_of(call, sql), hint="explode in a subquery, the rest above it")
        columns = [e.name for e in item.expressions] if isinstance(item, exp.Aliases) else \
            [item.alias] if isinstance(item, exp.Alias) else \
            ["pos", "col"] if isinstance(call, exp.Posexplode) else ["col"]
        names += columns
        inner = [f"__generated_{len(laterals)}_{i}" for i in range(len(columns))]  # no clash with t's columns
        view = exp.TableAlias(this=exp.to_identifier(f"__generated_{len(laterals)}"),
                              columns=[exp.to_identifier(c) for c in inner])
        laterals.append(exp.Lateral(this=call.copy(), view=True, alias=view))
        items += [exp.alias_(exp.column(c), name, quoted=True) for c, name in zip(inner, columns)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise StreamSQLError(f"several generators in one SELECT make columns of one name ({', '.join(twice)}): "
                             "name them apart", sql=sql, start=start_of(found[1], sql),
                             hint="explode(a) AS x, explode(b) AS y")
    select.set("expressions", items)
    select.set("laterals", laterals)


def names_itself(item: exp.Expression) -> bool:
    """A select item whose generator names its own columns (``posexplode(xs) AS (p, x)``, ``inline(xs)``)."""
    return isinstance(item, exp.Aliases) and isinstance(item.this, exp.Posexplode) or \
        isinstance(item, exp.Explode) and bool(item.meta.get("inline"))


def _outer(values: exp.Expression) -> exp.Explode:
    """``explode_outer(xs)``: explode ``xs``, or one NULL where it is NULL or empty (size -1 or 0)."""
    kept = exp.GT(this=exp.ArraySize(this=values.copy()), expression=exp.Literal.number(0))
    return exp.Explode(this=exp.Case(ifs=[exp.If(this=kept, true=values.copy())],
                                     default=exp.Array(expressions=[exp.Null()])))


def _unview(select: exp.Select, sql: str) -> None:
    """``FROM t LATERAL VIEW g(...) v AS a, b ...`` as ``FROM (SELECT t.*, g(...) AS (a, b) FROM t) AS t``."""
    source = select.args.get("from_")
    laterals = select.args["laterals"]
    if source is None or select.args.get("joins"):
        raise StreamSQLError("LATERAL VIEW over a join is not supported yet", sql=sql,
                             start=start_of(laterals[0], sql), hint="explode in a subquery of one side")
    relation = source.this
    name = relation.alias_or_name
    if not name:  # FROM (SELECT ...) LATERAL VIEW ...: the subquery named, to read its columns as name.*
        name = "__lateral_source"
        relation.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    views = {}
    for lateral in laterals:
        generator, alias = lateral.this, lateral.args.get("alias")
        if not isinstance(generator, (exp.Explode, exp.Posexplode)) or alias is None:
            raise StreamSQLError("LATERAL VIEW takes explode or posexplode, with a name and its columns", sql=sql,
                                 start=start_of(lateral, sql), hint="LATERAL VIEW explode(tags) t AS tag")
        columns = [column.copy() for column in alias.columns]
        if lateral.args.get("outer"):  # explode_outer or posexplode_outer, as written (a map's too)
            outer = exp.PosexplodeOuter if isinstance(generator, exp.Posexplode) else exp._ExplodeOuter
            generator = outer(this=generator.this.copy())
        generator = _unqualified_views(generator.copy(), views, name)
        item = exp.Aliases(this=generator, expressions=columns) if len(columns) > 1 else \
            exp.alias_(generator, columns[0]) if columns else generator  # unnamed: Spark's names, below
        inner = exp.Select(expressions=[exp.Column(this=exp.Star(), table=exp.to_identifier(name)), item])
        inner.set("from_", exp.From(this=relation))
        relation = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(name)))
        views[alias.name] = True
    select.set("laterals", None)
    select.set("from_", exp.From(this=relation))
    for part in ("expressions", "where", "group", "having", "order", "qualify"):
        value = select.args.get(part)
        for node in (value if isinstance(value, list) else [value]):
            if node is not None:
                _unqualified_views(node, views, name)


def _unqualified_views(node: exp.Expression, views: dict, name: str) -> exp.Expression:
    """Columns read through a view's name (``v.x``) read through the source's (``t.x``)."""
    for column in node.find_all(exp.Column):
        if column.table in views:
            column.set("table", exp.to_identifier(name))
    return node
