"""Spark's names for unaliased select items: ``SELECT avg(temp * 2)`` gives a column ``avg((temp * 2))``.

Spark names such an item by the expression's text as its ``toPrettySQL`` prints it: every operator in
parentheses, string literals bare, a function by the name it is written with, a cast of a column by the column.
The planner names each item so before the optimizer would invent ``_col_1``.
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.generators import names_itself


def spark_name(node: exp.Expression, sql: str | None = None) -> str:
    """The column name Spark gives an unaliased select item: the expression's text as Spark prints it
    (``toPrettySQL``), every operator in parentheses, string literals bare; a cast of a column keeps the
    column's name. With the query's ``sql``, a function keeps the name it is written with (``nvl``, ``substr``).

    >>> import sqlglot
    >>> [spark_name(sqlglot.parse_one(s, read="spark")) for s in ("count(*)", "x * 2", "sum(x * 2 + 1)",
    ...  "d = 'a' AND NOT x > 1", "-x", "CAST(x AS INT)", "CASE WHEN x > 2 THEN 'hot' END", "x IS NOT NULL")]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['count(1)', '(x * 2)', 'sum(((x * 2) + 1))', '((d = a) AND (NOT (x > 1)))', '(- x)', 'x',
     'CASE WHEN (x > 2) THEN hot END', '(x IS NOT NULL)']
    >>> sql = "SELECT nvl(x, 0), pow(x, 2), to_timestamp(s)"
    >>> [spark_name(item, sql) for item in sqlglot.parse_one(sql, read="spark").expressions]
    ['nvl(x, 0)', 'pow(x, 2)', 'to_timestamp(s)']
    """
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Alias):  # F.expr("x + 1 AS y")
        return node.alias
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("window", "session_window"):
        return node.name.lower()  # Spark names the struct column after the function
    if isinstance(node, (exp.Cast, exp.TryCast)) and isinstance(node.this, exp.Column) and not _written(node, sql):
        return node.this.name  # Spark's ResolveAliases: a cast of a column is named after the column
    return _pretty(node, sql)


def name_select_items(tree: exp.Expression, sql: str | None = None) -> None:
    """Give every unaliased select item Spark's name for it, before the optimizer invents ``_col_1``."""
    for select in tree.find_all(exp.Select):
        sources = _source_names(select)
        for item in list(select.expressions):
            if not isinstance(item, (exp.Alias, exp.Column, exp.Star)) and not names_itself(item):
                for column in item.find_all(exp.Column):  # e.readings of a struct column e: Spark says e.readings
                    parts = [p.name for p in column.parts]  # (t.x and db.t.x: x, a table's column)
                    table = max((i for i, p in enumerate(parts[:-1]) if p.lower() in sources), default=-1)
                    column.meta["spark_path"] = ".".join(parts[table + 1:])
                named = exp.alias_(item.copy(), spark_name(item, sql), quoted=True)
                named.meta["spark_name"] = True  # not the user's alias (json_functions tells them apart)
                item.replace(named)


def _source_names(select: exp.Select) -> set[str]:
    """The names a SELECT's columns may be qualified by: its FROM's, its joins' and its lateral views'."""
    sources = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or []),
               *(select.args.get("laterals") or [])]
    return {s.this.alias_or_name.lower() if isinstance(s, (exp.From, exp.Join)) else s.alias.lower()
            for s in sources if s is not None}


_BARE_BINARY = (exp.Like,)  # Spark prints other operators as (left op right), LIKE bare
_UPPER_NAMES = (exp.Floor, exp.Ceil, exp.Sqrt, exp.Exp)  # Spark's prettyName of these is upper case
_IMPLIED = (exp.TimeStrToTime, exp.TsOrDsToDate)  # conversions sqlglot puts around a function's argument


def _written(node: exp.Expression, sql: str | None) -> str | None:
    """The name a function call is written with in ``sql`` (sqlglot keeps its span in ``meta``), or None."""
    meta = node.meta or {}
    if sql is None or not isinstance(node, exp.Func) or "start" not in meta or "end" not in meta:
        return None
    name = sql[meta["start"]:meta["end"] + 1]
    return name.lower() if name.replace("_", "").isalnum() else None


def _pretty(node: exp.Expression, sql: str | None = None) -> str:
    """``node`` as Spark's ``Expression.sql`` prints it, for the kinds of node whose text Spark and sqlglot
    agree on apart from parentheses, quotes and names; any other node as sqlglot prints it."""
    if isinstance(node, exp.Column):
        return node.meta.get("spark_path") or node.name
    if isinstance(node, exp.Literal):
        return node.this
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Paren):
        return _pretty(node.this, sql)
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        return "count(1)"
    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp)) and not node.args:
        return "current_date()" if isinstance(node, exp.CurrentDate) else "current_timestamp()"
    written = _written(node, sql)
    if isinstance(node, _IMPLIED) and not written:
        return _pretty(node.this, sql)
    if isinstance(node, exp.Cast) and written:  # to_timestamp(s), to_date(s): calls sqlglot reads as casts
        return f"{written}({_pretty(node.this, sql)})"
    if isinstance(node, exp.Neg):
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            return f"-{node.this.this}"
        return f"(- {_pretty(node.this, sql)})"
    if isinstance(node, exp.Not):
        if isinstance(node.this, exp.Is):
            return f"({_pretty(node.this.this, sql)} IS NOT {_pretty(node.this.expression, sql)})"
        return f"(NOT {_pretty(node.this, sql)})"
    if isinstance(node, exp.Case) and node.this is None:
        whens = "".join(f" WHEN {_pretty(i.this, sql)} THEN {_pretty(i.args['true'], sql)}"
                        for i in node.args["ifs"])
        default = node.args.get("default")
        return f"CASE{whens}{f' ELSE {_pretty(default, sql)}' if default is not None else ''} END"
    if isinstance(node, exp.IgnoreNulls):  # first(x, true): Spark's name leaves the flag out
        return _pretty(node.this, sql)
    if isinstance(node, exp.Filter):
        condition = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
        return f"{_pretty(node.this, sql)} FILTER (WHERE {_pretty(condition, sql)})"
    if isinstance(node, exp.If):
        false = node.args.get("false")
        return f"(IF({_pretty(node.this, sql)}, {_pretty(node.args['true'], sql)}, " \
               f"{_pretty(false, sql) if false is not None else 'NULL'}))"
    if isinstance(node, exp.Between):
        return f"between({_pretty(node.this, sql)}, {_pretty(node.args['low'], sql)}, " \
               f"{_pretty(node.args['high'], sql)})"
    if isinstance(node, exp.ILike):
        return f"ilike({_pretty(node.this, sql)}, {_pretty(node.expression, sql)})"
    if isinstance(node, exp.RegexpLike):
        return f"RLIKE({_pretty(node.this, sql)}, {_pretty(node.expression, sql)})"
    if isinstance(node, exp.Like) and node.args.get("negate"):  # s NOT LIKE p
        return f"(NOT {_pretty(node.this, sql)} LIKE {_pretty(node.expression, sql)})"
    if isinstance(node, exp.NullSafeEQ):
        return f"({_pretty(node.this, sql)} <=> {_pretty(node.expression, sql)})"
    if isinstance(node, exp.IntDiv):
        return f"({_pretty(node.this, sql)} div {_pretty(node.expression, sql)})"
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("isnull", "isnotnull") and len(node.expressions) == 1:
        return f"({_pretty(node.expressions[0], sql)} IS {'NOT ' if node.name.lower() == 'isnotnull' else ''}NULL)"
    if isinstance(node, exp.StrPosition) and node.args.get("substr") is not None:
        text, part = _pretty(node.this, sql), _pretty(node.args["substr"], sql)
        if written == "instr":
            return f"instr({text}, {part})"
        start = node.args.get("position")
        return f"{written or 'locate'}({part}, {text}, {_pretty(start, sql) if start is not None else 1})"
    if isinstance(node, exp.ApproxQuantile):  # its default accuracy shown
        accuracy = node.args.get("accuracy")
        return f"{written or 'percentile_approx'}({_pretty(node.this, sql)}, {_pretty(node.args['quantile'], sql)}, " \
               f"{_pretty(accuracy, sql) if accuracy is not None else 10000})"
    if isinstance(node, exp.Quantile) and written in (None, "percentile"):  # its default frequency shown
        return f"percentile({_pretty(node.this, sql)}, {_pretty(node.args['quantile'], sql)}, 1)"
    if isinstance(node, exp.DPipe):
        return f"concat({_pretty(node.this, sql)}, {_pretty(node.expression, sql)})"
    if isinstance(node, exp.Any) and not isinstance(node.this, (exp.Subquery, exp.Query)):
        return f"any({_pretty(node.this, sql)})"
    if isinstance(node, exp.Bracket) and not node.args.get("offset"):  # m['k'], a[0] (not element_at)
        return f"{_pretty(node.this, sql)}[{', '.join(_pretty(e, sql) for e in node.expressions)}]"
    if isinstance(node, exp.FromJson):  # Spark's name leaves the schema and options out
        return f"from_json({_pretty(node.this, sql)})"
    if isinstance(node, exp.Struct):
        return _struct(node, written, sql)
    if isinstance(node, exp.RegexpReplace) and node.args.get("position") is None:  # its default position shown
        return f"regexp_replace({_pretty(node.this, sql)}, {_pretty(node.expression, sql)}, " \
               f"{_pretty(node.args['replacement'], sql)}, 1)"
    if isinstance(node, exp.JSONExtractScalar) and written == "get_json_object":
        path = node.expression.sql(dialect="spark")  # its path bare, as a string literal is
        return f"get_json_object({_pretty(node.this, sql)}, {path[1:-1] if path.startswith(chr(39)) else path})"
    if isinstance(node, exp.VarMap) and isinstance(node.args.get("keys"), exp.Array):
        pairs = zip(node.args["keys"].expressions, node.args["values"].expressions, strict=True)
        return f"map({', '.join(f'{_pretty(k, sql)}, {_pretty(v, sql)}' for k, v in pairs)})"
    if isinstance(node, exp.Dot):  # a struct's field
        return f"{_pretty(node.this, sql)}.{node.name}"
    if isinstance(node, exp.Connector) or (isinstance(node, exp.Binary) and not isinstance(node, exp.Func)
                                           and not isinstance(node, _BARE_BINARY)):
        return f"({_with_children_named(node, sql)})"  # AND and OR are functions too in sqlglot
    if isinstance(node, exp.Func) and not (
            isinstance(node, exp.Anonymous) and node.name.lower() in ("window", "session_window")):
        text = _with_children_named(node, sql)
        if written and "(" in text:
            text = written + text[text.index("("):]
        if isinstance(node, _UPPER_NAMES) and "(" in text:
            text = text[:text.index("(")].upper() + text[text.index("("):]
        return text
    if isinstance(node, (exp.Is, exp.In, *_BARE_BINARY)):
        text = _with_children_named(node, sql)
        return text if isinstance(node, _BARE_BINARY) else f"({text})"
    return node.sql(dialect="spark", normalize_functions="lower")


def _struct(node: exp.Struct, written: str | None, sql: str | None) -> str:
    """``struct(x, 1 AS b)`` (a field named after its column is the column alone), ``named_struct(a, 1)``."""
    fields = [(f.this.name, f.expression) if isinstance(f, exp.PropertyEQ) else (None, f) for f in node.expressions]
    if written == "named_struct":
        return f"named_struct({', '.join(f'{name}, {_pretty(value, sql)}' for name, value in fields)})"
    return "struct(" + ", ".join(
        _pretty(value, sql) if name is None or (isinstance(value, exp.Column) and value.name == name)
        else f"{_pretty(value, sql)} AS {name}" for name, value in fields) + ")"


def _with_children_named(node: exp.Expression, sql: str | None) -> str:
    """sqlglot's text of ``node`` with each child expression printed by ``_pretty`` (one level at a time)."""
    copy = node.copy()
    for child, original in zip(list(copy.iter_expressions()), list(node.iter_expressions()), strict=True):
        if isinstance(child, (exp.DataType, exp.Identifier, exp.Var, exp.Star)):
            continue
        text = _pretty(original, sql)  # ('' is an empty string's name: replace(s, , x), as Spark's)
        child.replace(exp.var(text) if text else exp.Var(this=""))  # (the original keeps its place: meta)
    return copy.sql(dialect="spark", normalize_functions="lower")
