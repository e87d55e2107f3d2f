"""``GROUP BY ROLLUP``, ``CUBE`` and ``GROUPING SETS`` as Spark runs them: an Expand below one aggregation.

Spark turns a query with grouping sets into an ``Expand`` that copies each input row once per grouping set,
with the keys not in that set set to NULL and the set's number, ``spark_grouping_id``, beside them; one
aggregation then groups by the keys and that number. A streaming aggregation is then an ordinary one, with
state per (keys, set). This rule writes the same thing in SQL the planner already runs:

* the keys are every grouping expression in the order written, each once: ``GROUP BY a, ROLLUP(b, c)`` has
  the keys ``a, b, c`` and the sets ``(a, b, c), (a, b), (a)``;
* ``FROM ...`` gains ``CROSS JOIN VALUES (0), (1), ... AS __grouping_sets(<set>)``: a copy of each row per
  set, numbered by the set's position (so a set listed twice gives its rows twice, as in Spark); a FROM with a
  static table joined to the stream works alike;
* a key that some set leaves out reads ``CASE WHEN <set> IN (<those sets>) THEN NULL ELSE key END`` in the
  select list, HAVING and ORDER BY (an aggregate's argument still reads the row's own value, as in Spark);
  ``GROUP BY`` is those keys and ``<set>``;
* ``grouping(k)`` is 1 where the set leaves ``k`` out (Spark's tinyint); ``grouping_id()`` is Spark's number
  of the set, a bit per key, the first key's the highest, set where the key is *not* in the set (with three
  keys, ``(a)`` is ``0b011 = 3``; Spark's bigint; with arguments, they must be all the keys in order, as
  Spark requires).

Every select item keeps Spark's name (the rule names them before it rewrites them). An event-time window or
session window in every set (``GROUP BY window(ts, '1 minute'), ROLLUP(device)``) stays a window; inside
``ROLLUP``/``CUBE``/``GROUPING SETS`` (a set whose window is NULL, a row the watermark never closes: Spark
runs it) it is refused as not supported yet.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.spark_names import name_select_items
from stream_nb.sql.windows import is_window_call

SETS, GROUPING_SET = "__grouping_sets", "__spark_grouping_set"   # a row per grouping set: its position
_SETS = (exp.Rollup, exp.Cube, exp.GroupingSets)
_AGGREGATES = (exp.AggFunc, exp.Filter, exp.Any)   # agg(x) FILTER (WHERE ...) reads the row's own values too
_ANONYMOUS_AGGREGATES = frozenset({"mean", "std", "product", "every", "some"})   # sqlglot knows them by name only


def spark_grouping_sets(tree: exp.Expression, sql: str,
                        source_columns: Callable[[], set[str]] = lambda: set()) -> exp.Expression:
    """``tree`` with each grouping by ROLLUP, CUBE or GROUPING SETS written as the expansion Spark runs.
    ``source_columns``: the lower-case names the FROM clauses read, so that a key naming both a column and a
    select item's alias is the column (as Spark resolves it).

    >>> import sqlglot
    >>> sql = "SELECT device, sum(x) AS s FROM t GROUP BY ROLLUP(device)"
    >>> print(spark_grouping_sets(sqlglot.parse_one(sql, read="spark"), sql).sql("spark", pretty=True))
    SELECT
      CASE WHEN __grouping_sets.__spark_grouping_set IN (1) THEN NULL ELSE device END AS device,
      SUM(x) AS s
    FROM t
    CROSS JOIN VALUES
      (0),
      (1) AS __grouping_sets(__spark_grouping_set)
    GROUP BY
      CASE WHEN __grouping_sets.__spark_grouping_set IN (1) THEN NULL ELSE device END,
      __grouping_sets.__spark_grouping_set
    """
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is not None and _has_sets(group):
            _expand(select, group, sql, source_columns)
    return tree


def _has_sets(group: exp.Group) -> bool:
    return bool(group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")) \
        or any(isinstance(e, _SETS) for e in group.expressions)


def _expand(select: exp.Select, group: exp.Group, sql: str, source_columns: Callable[[], set[str]]) -> None:
    at = keyword_start(sql, "GROUP BY", after=start_of(select, sql) or 0) or start_of(group, sql)
    aliases = {item.alias.lower(): item.this for item in select.expressions
               if isinstance(item, exp.Alias) and not (isinstance(item.this, exp.Column)
                                                       and item.this.name.lower() == item.alias.lower())}
    if aliases:
        columns = source_columns()
        aliases = {name: e for name, e in aliases.items() if name not in columns}
    keys, sets = _keys_and_sets(group, sql, at, aliases, select)
    source = select.args.get("from_")
    if source is None:
        raise StreamSQLError("ROLLUP, CUBE and GROUPING SETS need a FROM", sql=sql, start=at)
    width = len(keys)
    numbers = [sum(1 << (width - 1 - i) for i in range(width) if i not in kept) for kept in sets]
    left_out = {i: [p for p, kept in enumerate(sets) if i not in kept] for i in range(width)}
    for i, key in enumerate(keys):
        _refuse_in_key(key, bool(left_out[i]), sql, at)

    name_select_items(select, sql)  # Spark names an item as written, before its keys are rewritten
    for item in list(select.expressions):
        if isinstance(item, exp.Column) and _key_index(item, keys) is not None and left_out[_key_index(item, keys)]:
            item.replace(exp.alias_(item.copy(), item.name))

    def nulled(i: int) -> exp.Expression:
        key = keys[i].copy()
        if not left_out[i]:
            return key
        gone = exp.In(this=_set_column(), expressions=[exp.Literal.number(p) for p in left_out[i]])
        return exp.Case(ifs=[exp.If(this=gone, true=exp.Null())], default=key)

    def grouping_bits(call: exp.Expression) -> exp.Expression:
        named = call.expressions
        if isinstance(call, exp.Grouping) and len(named) != 1:
            raise StreamSQLError("grouping() takes one grouping column", sql=sql, start=start_of(call, sql))
        indices = [_key_index(e, keys) for e in named] if named else list(range(width))
        for e, i in zip(named, indices):
            if i is None:
                raise StreamSQLError(f"{e.sql('spark')} is not a grouping column of this GROUP BY", sql=sql,
                                     start=start_of(e, sql) or start_of(call, sql))
        if isinstance(call, exp.GroupingId) and named and indices != list(range(width)):
            raise StreamSQLError(  # Spark's GROUPING_ID_COLUMN_MISMATCH
                f"the columns of grouping_id ({', '.join(e.sql('spark') for e in named)}) must be the grouping "
                f"columns, in order: ({', '.join(k.sql('spark') for k in keys)})", sql=sql,
                start=start_of(call, sql), hint="grouping_id() without arguments numbers them all")
        values = [sum(((n >> (width - 1 - i)) & 1) << (len(indices) - 1 - j) for j, i in enumerate(indices))
                  for n in numbers]
        case = exp.Case(this=_set_column(),
                        ifs=[exp.If(this=exp.Literal.number(p), true=exp.Literal.number(v))
                             for p, v in enumerate(values)])
        kind = "TINYINT" if isinstance(call, exp.Grouping) else "BIGINT"
        return exp.Cast(this=case, to=exp.DataType.build(kind))

    def rewritten(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Grouping, exp.GroupingId)):
            return grouping_bits(node)
        if _is_aggregate(node):
            return node  # an aggregate reads each row's own values
        i = _key_index(node, keys)
        if i is not None:
            return nulled(i)
        for child in list(node.iter_expressions()):
            replaced = rewritten(child)
            if replaced is not child:
                child.replace(replaced)
        return node

    for part in ("expressions", "having", "order"):
        value = select.args.get(part)
        for node in (value if isinstance(value, list) else [value]):
            if node is None:
                continue
            replaced = rewritten(node)
            if replaced is not node:
                node.replace(replaced)

    sets_table = exp.Values(expressions=[exp.Tuple(expressions=[exp.Literal.number(p)]) for p in range(len(sets))],
                            alias=exp.TableAlias(this=exp.to_identifier(SETS),
                                                 columns=[exp.to_identifier(GROUPING_SET)]))
    select.set("joins", [*(select.args.get("joins") or []), exp.Join(this=sets_table, kind="CROSS")])
    select.set("group", exp.Group(expressions=[nulled(i) for i in range(width)] + [_set_column()]))


def _set_column() -> exp.Column:
    return exp.column(GROUPING_SET, table=SETS)


def _keys_and_sets(group: exp.Group, sql: str, at: int | None, aliases: dict[str, exp.Expression],
                   select: exp.Select) -> tuple[list[exp.Expression], list[frozenset]]:
    """The distinct grouping expressions in the order written, and each grouping set as the indices of its
    keys: the cross product of the plain keys (in every set) and each ROLLUP, CUBE and GROUPING SETS; Hive's
    ``GROUP BY a, b GROUPING SETS ((a), ())`` and ``WITH ROLLUP``/``WITH CUBE`` take the plain keys as theirs.
    A key that names a select item's alias is that item's expression (``SELECT upper(c) AS u ... ROLLUP(u)``);
    an ordinal (``ROLLUP(1, 2)``) is the select item at that place."""
    keys: list[exp.Expression] = []
    items = select.expressions

    def index(e: exp.Expression) -> int:
        e = e.this if isinstance(e, exp.Paren) else e
        if isinstance(e, exp.Literal) and e.is_int:
            place = int(e.name)
            if not 1 <= place <= len(items):
                raise StreamSQLError(f"GROUP BY position {place} is not in the select list (1 to {len(items)})",
                                     sql=sql, start=start_of(e, sql) or at)
            e = items[place - 1].unalias()
        if isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
            e = aliases[e.name.lower()]
        found = _key_index(e, keys)
        if found is None:
            keys.append(e.copy())
            found = len(keys) - 1
        return found

    def element(e: exp.Expression) -> frozenset:  # (b, c) in ROLLUP(a, (b, c)) is one element of two keys
        if isinstance(e, exp.Tuple):
            return frozenset(index(x) for x in e.expressions)
        if isinstance(e, _SETS):
            raise StreamSQLError("ROLLUP, CUBE or GROUPING SETS inside another is not supported yet", sql=sql,
                                 start=start_of(e, sql) or at)
        return frozenset([index(e)])

    def rollup(parts: list[frozenset]) -> list[frozenset]:
        return [frozenset().union(*parts[:n]) for n in range(len(parts), -1, -1)]

    def cube(parts: list[frozenset]) -> list[frozenset]:
        return [frozenset().union(*chosen) for n in range(len(parts), -1, -1) for chosen in combinations(parts, n)]

    plain = [e for e in group.expressions if not isinstance(e, _SETS)]
    hive = group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")
    if hive:  # GROUP BY a, b WITH ROLLUP | WITH CUBE | GROUPING SETS ((a), ()): the plain keys are the sets'
        parts = [element(e) for e in plain]
        if group.args.get("grouping_sets"):
            factors = [[element(x) for sets in group.args["grouping_sets"] for x in sets.expressions]]
        else:
            factors = [rollup(parts) if group.args.get("rollup") else cube(parts)]
        plain = []
    else:
        factors = []
    for e in group.expressions:
        if isinstance(e, exp.Rollup):
            factors.append(rollup([element(x) for x in e.expressions]))
        elif isinstance(e, exp.Cube):
            factors.append(cube([element(x) for x in e.expressions]))
        elif isinstance(e, exp.GroupingSets):
            factors.append([element(x) for x in e.expressions])
        elif e in plain:
            factors.append([element(e)])
    sets = [frozenset()]
    for factor in factors:
        sets = [s | f for s in sets for f in factor]
    return keys, sets


def _is_aggregate(node: exp.Expression) -> bool:
    return isinstance(node, _AGGREGATES) or \
        isinstance(node, exp.Anonymous) and node.name.lower() in _ANONYMOUS_AGGREGATES


def _key_index(node: exp.Expression, keys: list[exp.Expression]) -> int | None:
    """The index of the grouping key ``node`` is (a column by its name, qualified or not), or None."""
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        for i, key in enumerate(keys):
            if isinstance(key, exp.Column) and key.name.lower() == node.name.lower() \
                    and (not key.table or not node.table or key.table.lower() == node.table.lower()):
                return i
        return None
    if isinstance(node, (exp.Literal, exp.Null, exp.Boolean)):
        return None  # a constant is no key, even where a set lists the same one
    text = node.sql("spark").lower()
    for i, key in enumerate(keys):
        if not isinstance(key, exp.Column) and key.sql("spark").lower() == text:
            return i
    return None


def _refuse_in_key(key: exp.Expression, left_out: bool, sql: str, at: int | None) -> None:
    """An aggregate is no key (Spark's GROUP_BY_AGGREGATE); a window some set leaves out is not supported yet."""
    for node in key.walk():
        if _is_aggregate(node):
            raise StreamSQLError(f"aggregate {node.sql('spark')} in GROUP BY: a grouping key cannot be an aggregate",
                                 sql=sql, start=start_of(node, sql) or at)
        if left_out and isinstance(node, exp.Anonymous) and \
                (is_window_call(node) or is_window_call(node, "session_window")):
            raise StreamSQLError(
                f"{node.name.lower()}() inside ROLLUP, CUBE or GROUPING SETS is not supported yet (a set "
                "without it holds rows no watermark closes)", sql=sql, start=start_of(node, sql) or at,
                hint="group by the window beside them: GROUP BY window(ts, '1 minute'), ROLLUP(device)")
