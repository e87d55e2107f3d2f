"""Rewrites that keep Spark's meaning when the tree is run by DuckDB. Each is one rule: tree in, tree out."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.spark_functions import at_least_zero, spark_scalar_functions
from stream_nb.sql.tree import bottom_up

_INTEGRAL = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
             exp.DataType.Type.BIGINT}
_FRACTIONAL = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL}
_BINARY = {exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY}
_TIMESTAMPS = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ,
               exp.DataType.Type.TIMESTAMPNTZ}


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


def group_by_all(tree: exp.Expression) -> exp.Expression:
    """``GROUP BY ALL`` (Spark 3.4+): by every select item without an aggregate in it, as written (none: one
    group, a global aggregation)."""
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not group.args.get("all"):
            continue
        keys = [(item.this if isinstance(item, exp.Alias) else item).copy() for item in select.expressions
                if not any(n.find_ancestor(exp.Select) is select for n in item.find_all(exp.AggFunc))
                and not isinstance(item, exp.Star)]
        select.set("group", exp.Group(expressions=keys) if keys else None)
    return tree


def mark_written_names(tree: exp.Expression) -> exp.Expression:
    """Each output name as written, noted before the optimizer lowercases it, for ``keep_alias_case``: an
    alias (``AS Key``), and a select item that is a column as it is written (``SELECT dev``: Spark names it
    ``dev`` whatever the table's spelling)."""
    for alias in tree.find_all(exp.Alias):
        alias.meta["written"] = alias.alias
    for select in tree.find_all(exp.Select):
        for item in select.expressions:
            if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
                item.meta["written"] = item.name
    return tree


def keep_alias_case(tree: exp.Expression, columns: list[str] = ()) -> None:
    """``SELECT k AS Key`` gives a column ``Key``, and ``SELECT dev`` of a column ``Dev`` gives ``dev``, as in
    Spark, which resolves names case-insensitively but keeps them as written (an alias, a column named in the
    select list) or, for what ``*`` expands to, as their source has them: a table's column (``columns``: the
    tables' names) or a subquery's item (``SELECT * FROM (SELECT v AS V ...)`` gives ``V``). In every SELECT,
    the innermost first; DuckDB, too, matches a quoted "Key" to ``key``. The names as written are
    ``mark_written_names``'s."""
    spelled: dict[str, set[str]] = {}
    for name in columns:
        spelled.setdefault(name.lower(), set()).add(name)
    for select in reversed(list(tree.find_all(exp.Select))):  # a subquery's names before the query's over it
        sources = {source.alias_or_name: source for source in _sources(select)}
        renamed = {}
        for item in select.selects:
            if not isinstance(item, exp.Alias):
                continue
            alias = item.meta.get("written") or item.this.meta.get("written")  # as written: an alias, a column
            if alias is None and isinstance(item.this, exp.Column) and item.alias == item.this.name:
                source = sources.get(item.this.table)
                inner = source.this if isinstance(source, exp.Subquery) else None
                while isinstance(inner, exp.SetOperation):  # a union's names are its first SELECT's
                    inner = inner.this
                names = {i.alias_or_name for i in inner.selects if i.alias_or_name.lower() == item.alias.lower()} \
                    if isinstance(inner, exp.Select) else spelled.get(item.alias.lower(), set())
                alias = next(iter(names)) if len(names) == 1 else None
            if alias is not None and item.alias.lower() == alias.lower() and item.alias != alias:
                renamed.setdefault(item.alias, alias)
                item.set("alias", exp.to_identifier(alias, quoted=True))
        order = select.args.get("order")
        for column in list(order.find_all(exp.Column)) if order is not None and renamed else []:
            if not column.table and column.name in renamed:  # ORDER BY names an output column
                column.set("this", exp.to_identifier(renamed[column.name], quoted=True))


def _sources(select: exp.Select) -> list[exp.Expression]:
    """The tables and subqueries a SELECT reads (FROM and JOINs)."""
    found = [select.args["from_"].this] if select.args.get("from_") is not None else []
    return found + [join.this for join in select.args.get("joins") or []]


def spark_casts(tree: exp.Expression) -> None:
    """``CAST(2.7 AS INT)`` is 2 in Spark (truncation) but 3 in DuckDB (rounding): truncate first. A timestamp
    cast to a number is its seconds since the epoch (whole seconds, rounded down, for an integer), a number
    cast to a timestamp reads seconds since the epoch, as in Spark (DuckDB has no such casts: NULL)."""
    for cast in bottom_up(tree, exp.Cast):  # inner casts first: an outer one copies its operand
        target = cast.args.get("to")
        operand = cast.this
        if target is None or operand.type is None:
            continue
        if operand.type.this in _TIMESTAMPS and target.this in _INTEGRAL | _FRACTIONAL - {exp.DataType.Type.DECIMAL}:
            seconds = exp.Div(this=exp.Anonymous(this="epoch_us", expressions=[operand.copy()]),
                              expression=exp.Literal.number("1000000.0"))
            if target.this in _INTEGRAL:
                seconds = exp.Floor(this=seconds)
            seconds.type = exp.DataType.build("DOUBLE")
            operand.replace(seconds)
        elif target.this in _TIMESTAMPS and operand.type.this in _INTEGRAL | _FRACTIONAL:
            instant = exp.Anonymous(this="timestamp_seconds", expressions=[operand.copy()])
            instant.type = exp.DataType.build("TIMESTAMP")
            cast.replace(instant)
        elif target.this in _INTEGRAL and operand.type.this in _FRACTIONAL:
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
    writes it (``1.5E10``); ``round(x, d)`` of a double rounds half up its decimal text (``spark_round``); a
    string cast to binary is its UTF-8 bytes (DuckDB reads escapes, and NULL for non-ASCII text). The scalar
    functions whose values differ otherwise are in ``spark_functions.py``."""
    for node in list(tree.find_all(exp.Sub, exp.Neg)):  # ts - INTERVAL 1 HOUR 30 MINUTES: the parser's sum of
        operand = node.expression if isinstance(node, exp.Sub) else node.this  # the units is written without
        if isinstance(operand, (exp.Add, exp.Sub)):  # parentheses (ts - 1h + 30m); so is -INTERVAL's
            operand.replace(exp.Paren(this=operand.copy()))
    for node in list(tree.find_all(exp.Like, exp.ILike)):  # Spark's LIKE escapes with a backslash by default
        if not isinstance(node.parent, exp.Escape):
            node.replace(exp.Escape(this=node.copy(), expression=exp.Literal.string("\\")))
    spark_scalar_functions(tree)
    for node in list(tree.find_all(exp.Substring, exp.Anonymous, exp.Cast, exp.Round, exp.ArraySize,
                                   exp.RegexpSplit)):
        if isinstance(node, exp.RegexpSplit):
            _split_limit(node)
        elif isinstance(node, exp.Round):
            spark_round(node)
        elif isinstance(node, exp.ArraySize):
            _size_of_null(node)
        elif isinstance(node, exp.Cast):
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
            elif node.to.this in _BINARY and node.this.type is not None and \
                    node.this.type.this in exp.DataType.TEXT_TYPES:  # UTF-8 bytes, as Spark's
                data = exp.Anonymous(this="encode", expressions=[node.this.copy()])
                data.type = node.to.copy()
                node.replace(data)
        elif isinstance(node, exp.Substring):
            start = node.args.get("start")
            if isinstance(start, exp.Literal) and not start.is_string and start.name == "0":
                start.replace(exp.Literal.number(1))
            elif start is not None and not isinstance(start, exp.Literal):
                start.replace(exp.If(this=exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
                                     true=exp.Literal.number(1), false=start.copy()))
            length = node.args.get("length")  # a length below 0 is '' (DuckDB's counts back from the start)
            if length is not None and not (isinstance(length, exp.Literal) and not length.is_string):
                length.replace(at_least_zero(length))
        elif node.name.lower() == "bround" and 1 <= len(node.expressions) <= 2:
            digits = node.expressions[1] if len(node.expressions) == 2 else exp.Literal.number(0)
            value = node.expressions[0]  # a double: half even on its decimal text (1.015 -> 1.02), as round
            double = value.type is not None and value.type.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
            node.replace(exp.Anonymous(this="spark_bround" if double else "round_even", expressions=[value, digits]))


def _split_limit(node: exp.RegexpSplit) -> None:
    """Spark's ``split(s, regex, limit)``: a limit of 0 or less splits as two arguments do; above 0, at most
    ``limit`` parts, the last holding the rest (``spark_split``, engine/duck.py: DuckDB's split takes no limit).
    An empty text split by an empty pattern is one empty part, as Spark's (DuckDB's has none)."""
    limit = node.args.get("limit")
    value = limit.this if isinstance(limit, exp.Neg) else limit
    if limit is None or isinstance(value, exp.Literal) and not value.is_string and (
            isinstance(limit, exp.Neg) or value.name == "0"):
        node.set("limit", None)
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this):  # '' split by '' is
            empty = exp.EQ(this=node.this.copy(), expression=exp.Literal.string(""))  # [''] in Spark, [] in DuckDB
            absent = exp.Is(this=pattern.copy(), expression=exp.Null())  # NULL by NULL (DuckDB's: [s])
            split = exp.Case(ifs=[exp.If(this=absent, true=exp.Null()),
                                  exp.If(this=empty, true=exp.Array(expressions=[exp.Literal.string("")]))],
                             default=node.copy())
            split.type = exp.DataType.build("ARRAY<STRING>")
            node.replace(split)
        return
    split = exp.Anonymous(this="spark_split", expressions=[node.this.copy(), node.expression.copy(), limit.copy()])
    split.type = exp.DataType.build("ARRAY<STRING>")
    node.replace(split)


def _size_of_null(node: exp.ArraySize) -> None:
    """``size(NULL)`` is -1 in Spark's non-ANSI mode (``spark.sql.legacy.sizeOfNull``); ``array_size(NULL)``,
    read as the same node, stays NULL: told apart by the name's length as written."""
    meta = node.meta or {}
    if "start" in meta and "end" in meta and meta["end"] - meta["start"] + 1 != len("size"):
        return
    sized = exp.Coalesce(this=node.copy(), expressions=[exp.Literal.number(-1)])
    sized.type = exp.DataType.build("INT")
    node.replace(sized)


_DOUBLES = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def spark_round(node: exp.Round) -> None:
    """``round(x, d)`` of a double as Spark computes it, half up on the number as Java writes it
    (``BigDecimal(x).setScale(d, HALF_UP)``): ``spark_round``, a macro of ``engine/duck.py``. ``round(1.005, 2)``
    is 1.01 in Spark, where DuckDB, rounding the binary value 1.00499999..., gives 1.0. Only for a constant
    ``d`` (DuckDB rounds a decimal to a constant scale).

    >>> import sqlglot
    >>> from sqlglot.optimizer.annotate_types import annotate_types
    >>> tree = annotate_types(sqlglot.parse_one("SELECT round(t.x, 2) FROM t", read="spark"),
    ...                       schema={"t": {"x": "DOUBLE"}})
    >>> spark_round(tree.expressions[0]); tree.sql("duckdb")
    'SELECT SPARK_ROUND(t.x, 2) FROM t'
    """
    value, digits = node.this, node.args.get("decimals")
    if value.type is None or value.type.this not in _DOUBLES:
        return
    if any(n.type is not None and n.type.this == exp.DataType.Type.DECIMAL and not isinstance(n, exp.Literal)
           for n in value.walk()):  # (a decimal literal in a double, as CAST(1.005 AS DOUBLE), is a double)
        return  # sqlglot types avg(decimal) a double; the engine keeps it the exact decimal Spark has
    constant = digits is None or (isinstance(digits, exp.Literal) and not digits.is_string) or (
        isinstance(digits, exp.Neg) and isinstance(digits.this, exp.Literal) and not digits.this.is_string)
    if not constant:
        return
    rounded = exp.Anonymous(this="spark_round", expressions=[
        value.copy(), digits.copy() if digits is not None else exp.Literal.number(0)])
    rounded.type = exp.DataType.build("DOUBLE")
    node.replace(rounded)


def struct_stars(tree: exp.Expression, schema: dict) -> None:
    """``struct(*)`` (``to_json(struct(*))``, the usual way to write a row to Kafka) is a struct of every column
    the SELECT reads, named as they are, as in Spark; ``struct(t.*)`` of one source's. ``schema``: the tables'
    columns, as the optimizer's qualify takes them."""
    for struct in [s for s in tree.find_all(exp.Struct)
                   if any(isinstance(e, exp.Star) or isinstance(e, exp.Column) and isinstance(e.this, exp.Star)
                          for e in s.expressions)]:
        select = struct.find_ancestor(exp.Select)
        if select is None:
            continue
        probe = select.copy()
        for part in ("where", "group", "having", "order", "limit", "qualify", "distinct"):
            probe.set(part, None)
        probe.set("expressions", [exp.Star()])
        columns = [c.unalias() for c in qualify(probe, schema=schema, dialect=DIALECT, quote_identifiers=False,
                                                identify=False).expressions]
        fields = []
        for item in struct.expressions:
            star_of = item.table if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) else None
            if not isinstance(item, exp.Star) and star_of is None:
                fields.append(item)
                continue
            for column in columns:
                if isinstance(column, exp.Column) and (star_of is None or column.table == star_of):
                    fields.append(exp.column(column.name, table=column.table))
        struct.set("expressions", fields)
