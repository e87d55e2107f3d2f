"""Rewrites that keep Spark's meaning when the tree is run by DuckDB. Each is one rule: tree in, tree out."""

from __future__ import annotations

from sqlglot import exp

_INTEGRAL = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
             exp.DataType.Type.BIGINT}
_FRACTIONAL = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL}
_BINARY = {exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY}


def inline_ctes(tree: exp.Expression) -> exp.Expression:
    """``WITH e AS (q) SELECT ... FROM e``: each reference to ``e`` becomes the subquery ``(q) AS e``, so the
    planner sees one query over the stream (a CTE read twice reads the stream twice: refused as a self-join).
    A recursive CTE is left as it is, for validate.py to refuse."""
    with_ = tree.args.get("with_") or tree.args.get("with")
    if with_ is None or with_.args.get("recursive"):
        return tree
    for cte in list(with_.expressions):
        name = cte.alias_or_name.lower()
        for table in list(tree.find_all(exp.Table)):
            if table.name.lower() == name and not table.db and not table.find_ancestor(exp.CTE) is cte:
                alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(cte.alias_or_name))
                table.replace(exp.Subquery(this=cte.this.copy(), alias=alias.copy()))
    with_.pop()
    return tree


def spark_name(node: exp.Expression) -> str:
    """The column name Spark gives an unaliased select item.

    >>> import sqlglot
    >>> spark_name(sqlglot.parse_one("count(*)")), spark_name(sqlglot.parse_one("x * 2"))
    ('count(1)', '(x * 2)')
    """
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("window", "session_window"):
        return node.name.lower()  # Spark names the struct column after the function
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        return "count(1)"
    text = node.sql(dialect="spark", normalize_functions="lower")
    return f"({text})" if isinstance(node, exp.Binary) else text


def name_select_items(tree: exp.Expression) -> None:
    """Give every unaliased select item Spark's name for it, before the optimizer invents ``_col_1``."""
    for select in tree.find_all(exp.Select):
        for item in list(select.expressions):
            if not isinstance(item, (exp.Alias, exp.Column, exp.Star)):
                item.replace(exp.alias_(item.copy(), spark_name(item), quoted=True))


def written_aliases(tree: exp.Expression) -> list[str | None]:
    """The output aliases of the outermost SELECT as written (None for an item without one), read before the
    optimizer lowercases them; empty when ``*`` makes the positions unknown."""
    if not isinstance(tree, exp.Select) or any(isinstance(item, exp.Star) for item in tree.expressions):
        return []
    return [item.alias if isinstance(item, exp.Alias) else None for item in tree.expressions]


def inner_aliases(tree: exp.Expression) -> list[str]:
    """The aliases of the subqueries' select items as written: ``SELECT * FROM (SELECT d AS Dev ...)`` and
    ``SELECT w.start, N FROM (SELECT ... count(*) AS N ...)`` give ``Dev`` and ``N``, as in Spark."""
    return [item.alias for select in tree.find_all(exp.Select) if select is not tree
            for item in select.expressions if isinstance(item, exp.Alias)]


def keep_alias_case(tree: exp.Expression, written: list[str | None], columns: list[str] = ()) -> None:
    """``SELECT k AS Key`` gives a column ``Key``, and ``SELECT Dev`` of a column ``Dev`` gives ``Dev``, as in
    Spark, which resolves names case-insensitively but keeps them as written (an alias) or as the table has
    them (a column). DuckDB, too, matches a quoted "Key" to ``key``."""
    if not isinstance(tree, exp.Select):
        return
    written = written if len(written) == len(tree.selects) else [None] * len(tree.selects)
    spelled: dict[str, set[str]] = {}
    for name in columns:
        spelled.setdefault(name.lower(), set()).add(name)
    renamed = {}
    for item, alias in zip(tree.selects, written):
        if not isinstance(item, exp.Alias):
            continue
        if alias is None and isinstance(item.this, exp.Column) and item.alias == item.this.name:
            names = spelled.get(item.alias, set())
            alias = next(iter(names)) if len(names) == 1 else None
        if alias is not None and item.alias.lower() == alias.lower() and item.alias != alias:
            renamed.setdefault(item.alias, alias)
            item.set("alias", exp.to_identifier(alias, quoted=True))
    order = tree.args.get("order")
    for column in list(order.find_all(exp.Column)) if order is not None and renamed else []:
        if not column.table and column.name in renamed:  # ORDER BY names an output column
            column.set("this", exp.to_identifier(renamed[column.name], quoted=True))


def spark_casts(tree: exp.Expression) -> None:
    """``CAST(2.7 AS INT)`` is 2 in Spark (truncation) but 3 in DuckDB (rounding): truncate first."""
    for cast in list(tree.find_all(exp.Cast)):
        target = cast.args.get("to")
        operand = cast.this
        if target is None or target.this not in _INTEGRAL or operand.type is None:
            continue
        if operand.type.this in _FRACTIONAL:
            operand.replace(exp.Anonymous(this="trunc", expressions=[operand.copy()]))


def window_fields(tree: exp.Expression) -> None:
    """``window.start`` and ``window.end`` name the fields of the SELECT's window(...), as in Spark (where the
    struct column of an unaliased window() is called ``window``; likewise ``session_window``)."""
    for select in tree.find_all(exp.Select):
        calls = {n.name.lower(): n for n in select.find_all(exp.Anonymous)
                 if n.name.lower() in ("window", "session_window") and n.find_ancestor(exp.Select) is select}
        for column in list(select.find_all(exp.Column)):
            call = calls.get(column.table.lower()) if column.table else None
            if call is not None and column.name.lower() in ("start", "end") and \
                    column.find_ancestor(exp.Select) is select:
                column.replace(exp.Dot(this=call.copy(), expression=exp.to_identifier(column.name.lower())))


def spark_functions(tree: exp.Expression) -> None:
    """Spark functions DuckDB reads otherwise: ``substring(s, 0, n)`` starts at the first character as
    ``substring(s, 1, n)`` does (DuckDB's position 0 is before it, one character short); ``bround(x, d)`` rounds
    half to even (DuckDB's ``round_even``; it has no ``bround``); a double cast to a string is written as Java
    writes it (``1.5E10``)."""
    for node in list(tree.find_all(exp.Substring, exp.Anonymous, exp.Cast)):
        if isinstance(node, exp.Cast):
            if node.to.this in exp.DataType.TEXT_TYPES and node.this.type is not None and \
                    node.this.type.this == exp.DataType.Type.DOUBLE:  # 1.5E10 as Java writes it (engine/duck.py)
                text = exp.Anonymous(this="spark_double_text", expressions=[node.this.copy()])
                text.type = node.to.copy()
                node.replace(text)
            elif node.to.this in exp.DataType.TEXT_TYPES and node.this.type is not None and \
                    node.this.type.this in _BINARY:  # UTF-8 text as Spark reads it (engine/duck.py)
                text = exp.Anonymous(this="spark_binary_text", expressions=[node.this.copy()])
                text.type = node.to.copy()
                node.replace(text)
        elif isinstance(node, exp.Substring):
            start = node.args.get("start")
            if isinstance(start, exp.Literal) and not start.is_string and start.name == "0":
                start.replace(exp.Literal.number(1))
            elif start is not None and not isinstance(start, exp.Literal):
                start.replace(exp.If(this=exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
                                     true=exp.Literal.number(1), false=start.copy()))
        elif node.name.lower() == "bround" and 1 <= len(node.expressions) <= 2:
            digits = node.expressions[1] if len(node.expressions) == 2 else exp.Literal.number(0)
            node.replace(exp.Anonymous(this="round_even", expressions=[node.expressions[0], digits]))
