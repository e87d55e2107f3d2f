"""Which of a DataFrame's columns Spark's analyzer knows are never NULL, for ``printSchema()`` and ``df.schema``
(``nullable = false``): a count, a literal, a tumbling or session window, a ranking window function, the current
time; a column read through a subquery or a cast of one keeps what it was. Every other column is nullable, as
a source's columns are (the engine's Arrow columns all are). A streaming aggregation's columns are all nullable,
as Spark's streaming plans make them (its state store's rows may be absent)."""

from __future__ import annotations

from sqlglot import exp

_RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.PercentRank, exp.CumeDist)
RANKING_NAMES = (  # also window.py's: their default frame in a column's name
    "row_number", "rank", "dense_rank", "ntile", "percent_rank", "cume_dist")


def never_null(query: exp.Expression, streaming: bool = False, tables: dict[str, list[str]] | None = None) \
        -> set[str]:
    """The names of ``query``'s output columns that are never NULL (of a streaming query's, ``streaming``);
    ``tables``: the columns of each table it reads, in order (a union's columns are matched by position).

    >>> import sqlglot
    >>> sorted(never_null(sqlglot.parse_one("SELECT * FROM (SELECT k, count(*) AS n, 1 AS one FROM t GROUP BY k)")))
    ['n', 'one']
    >>> sorted(never_null(sqlglot.parse_one("SELECT 1 AS a, 2 AS b UNION ALL SELECT k, 3 FROM t")))
    ['b']
    """
    tables = tables or {}
    if isinstance(query, exp.Subquery):
        return never_null(query.this, streaming, tables)
    if isinstance(query, exp.Union):  # a column of every branch's rows never NULL, by position
        left, right = (_names(q, tables) for q in (query.left, query.right))
        if left is None or right is None or len(left) != len(right):
            return set()
        sure = never_null(query.left, streaming, tables), never_null(query.right, streaming, tables)
        return {a + part for a, b in zip(left, right, strict=True) for part in ("", "[]")
                if a + part in sure[0] and b + part in sure[1]}
    if not isinstance(query, exp.Select) or streaming and _aggregates(query):
        return set()
    source = query.args.get("from_") or query.args.get("from")
    if query.args.get("joins"):
        inner = _joined(query, streaming, tables)
    else:
        inner = never_null(source.this, streaming, tables) if source is not None else set()
        inner |= {f"{source.this.alias_or_name}.{n}" for n in inner}  # as a qualified column reads it
    found = set()
    for item in query.expressions:
        if isinstance(item, exp.Star):
            found |= {n for n in inner if "." not in n}
        elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):  # a side's columns: a.*
            found |= {n.split(".", 1)[1] for n in inner if n.startswith(f"{item.table}.")}
        else:
            found |= {item.alias_or_name} if _not_null(item.unalias(), inner) else set()
            found |= {f"{item.alias_or_name}[]"} if _elements_not_null(item.unalias(), inner) else set()
    return found


def _elements_not_null(node: exp.Expression, inner: set[str]) -> bool:
    """Whether an array column never holds a NULL (``name[]`` among ``never_null``'s names): a collected list
    or set (Spark's collect_list / collect_set leave NULLs out), as a window's too, and a column read of one."""
    if isinstance(node, exp.Column):
        return f"{node.table}.{node.name}[]" in inner if node.table else f"{node.name}[]" in inner
    if isinstance(node, exp.Window):
        return _elements_not_null(node.this, inner)
    return isinstance(node, (exp.ArrayAgg, exp.ArrayUniqueAgg)) or \
        isinstance(node, exp.Anonymous) and node.name.lower() in ("collect_list", "collect_set")


def _joined(query: exp.Select, streaming: bool, tables: dict[str, list[str]]) -> set[str]:
    """The columns of a join's sides that are never NULL, as ``side.name`` (and as ``name`` where one side
    alone has it): a side's own, where the join keeps each of its rows matched or not (an inner join both
    sides, a left join its left side: the right side's columns are NULL where a left row has no match)."""
    joins = query.args["joins"]
    sides = [query.args["from_"].this, *(j.this for j in joins)]
    kept = [not any(j.side in ("RIGHT", "FULL") for j in joins)]
    kept += [j.side not in ("LEFT", "FULL") for j in joins]
    names: dict[str, int] = {}
    for side in sides:
        for name in _names(side, tables) or []:
            names[name] = names.get(name, 0) + 1
    found = set()
    for side, whole in zip(sides, kept, strict=True):
        alias = side.alias_or_name
        known = _names(side, tables) is not None
        for name in never_null(side, streaming, tables) if whole else set():
            found.add(f"{alias}.{name}")
            if known and names.get(name.removesuffix("[]")) == 1:
                found.add(name)
    return found


def _names(query: exp.Expression, tables: dict[str, list[str]]) -> list[str] | None:
    """``query``'s output names in order, where the tree (and ``tables``) tell them."""
    if isinstance(query, exp.Subquery):
        return _names(query.this, tables)
    if isinstance(query, exp.Union):
        return _names(query.left, tables)
    if isinstance(query, exp.Table):
        return tables.get(query.name)
    if not isinstance(query, exp.Select):
        return None
    names: list[str] = []
    for item in query.expressions:
        side_star = isinstance(item, exp.Column) and isinstance(item.this, exp.Star)  # a.*: that side's
        if not isinstance(item, exp.Star) and not side_star:
            names.append(item.alias_or_name)
            continue
        sources = [s for s in [query.args.get("from_"), *(query.args.get("joins") or [])]
                   if s is not None and (not side_star or s.this.alias_or_name == item.table)]
        for side in (_names(s.this, tables) for s in sources):
            if side is None:
                return None
            names += side
    return names


def _aggregates(select: exp.Select) -> bool:
    return select.args.get("group") is not None or any(
        isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Select) is select and n.find_ancestor(exp.Window) is None
        for item in select.expressions for n in item.walk())


def _not_null(node: exp.Expression, inner: set[str]) -> bool:
    if isinstance(node, exp.Column):
        return isinstance(node.this, exp.Identifier) and (f"{node.table}.{node.name}" if node.table else node.name) \
            in inner
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Column) and not node.this.table:
        return f"{node.this.name}.{node.name}" in inner  # col("a.x") of a DataFrame aliased a
    if isinstance(node, (exp.Count, exp.ApproxDistinct, exp.CountIf, exp.CurrentDate, exp.CurrentTimestamp,
                         exp.Boolean, exp.Literal, exp.Is, exp.NullSafeEQ, exp.ArrayAgg, exp.ArrayUniqueAgg,
                         *_RANKING)):
        return True
    if isinstance(node, exp.Window):  # a ranking, a count, a collected list: over any frame, of any rows
        return _not_null(node.this, set())
    if isinstance(node, exp.Anonymous):
        return _call_not_null(node.name.lower(), node.expressions, inner)
    if isinstance(node, exp.Cast):
        return _typed_literal(node) or \
            _not_null(node.this, inner) and not _cast_may_null(_known_type(node.this), node.to)
    if isinstance(node, exp.Coalesce):
        return any(_not_null(e, inner) for e in [node.this, *node.expressions])
    if isinstance(node, exp.Case):  # every branch, ELSE too, never NULL
        default = node.args.get("default")
        return default is not None and _not_null(default, inner) and \
            all(_not_null(branch.args["true"], inner) for branch in node.args["ifs"])
    if isinstance(node, exp.If):
        default = node.args.get("false")
        return default is not None and _not_null(default, inner) and _not_null(node.args["true"], inner)
    if isinstance(node, _INTOLERANT):  # NULL only of a NULL
        return all(_not_null(child, inner) for child in node.iter_expressions())
    return False


# Spark's expressions that are NULL only where an operand is (a division or a modulo may be NULL of 0, a cast of
# some types: not here)
_INTOLERANT = (exp.Paren, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Not, exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT,
               exp.GTE, exp.LT, exp.LTE, exp.Like, exp.In, exp.Between, exp.Tuple, exp.Upper, exp.Lower,
               exp.Length, exp.Abs)
_INTOLERANT_CALLS = frozenset((
    "abs", "add_months", "ceil", "ceiling", "concat", "date_add", "date_sub", "datediff", "day", "dayofmonth",
    "dayofweek", "dayofyear", "floor", "hour", "initcap", "last_day", "length", "lower", "lpad", "ltrim", "minute",
    "month", "negative", "positive", "quarter", "repeat", "reverse", "round", "bround", "rpad", "rtrim", "second",
    "sign", "signum", "trim", "upper", "weekofyear", "year"))


def _call_not_null(name: str, args: list[exp.Expression], inner: set[str]) -> bool:
    """A call written by its name (sqlglot's Anonymous), as Spark's expression of that name is nullable."""
    if name in RANKING_NAMES or name in ("collect_list", "collect_set", "hash", "xxhash64", "isnull", "isnotnull",
                                         "grouping", "grouping_id",
                                         "size", "cardinality"):  # size(NULL) is -1 with ANSI off
        return True
    if name in ("coalesce", "nvl", "ifnull", "greatest", "least"):  # greatest/least skip NULLs
        return any(_not_null(e, inner) for e in args)
    if name in _INTOLERANT_CALLS or name == "nanvl":
        return all(_not_null(e, inner) for e in args)
    # a tumbling window (Spark makes a sliding one nullable: its rows are expanded, then filtered)
    return name == "session_window" or name == "window" and (len(args) == 2 or len(args) >= 3 and
                                                               args[1].sql() == args[2].sql())


_T = exp.DataType.Type
_INTEGRAL_DIGITS = {_T.TINYINT: 3, _T.SMALLINT: 5, _T.INT: 10, _T.BIGINT: 20}  # DecimalType.forType's precision


def _typed_literal(cast: exp.Cast) -> bool:
    """A literal of a type written as text, never NULL: PySpark's ``lit(datetime)``, ``lit(float("nan"))``
    (``column._typed`` marks them), and ``DATE '2024-01-01'`` read from SQL (sqlglot's Cast, not the TryCast that
    stream_nb's dialect reads ``CAST(... AS DATE)`` as)."""
    if cast.meta.get("literal"):
        return True
    return type(cast) is exp.Cast and isinstance(cast.this, exp.Literal) and cast.this.is_string and \
        "start" in cast.this.meta


def _known_type(node: exp.Expression) -> exp.DataType | None:
    """The type of a literal or a cast as Spark types it (1 an int, 1.5 a decimal, 'a' a string); None for other
    nodes (a column's type is not known here)."""
    if isinstance(node, exp.Cast):
        return node.to
    if isinstance(node, (exp.Neg, exp.Paren)):
        return _known_type(node.this)
    if isinstance(node, exp.Boolean):
        return exp.DataType.build("boolean")
    if isinstance(node, exp.Literal) and node.is_string:
        return exp.DataType.build("string")
    if isinstance(node, exp.Literal):
        text = node.this.lstrip("-")
        if "e" in text.lower():
            return exp.DataType.build("double")
        if "." in text:
            whole, _, fraction = text.partition(".")
            digits = len((whole + fraction).lstrip("0")) or 1
            return exp.DataType.build(f"decimal({max(digits, len(fraction))}, {len(fraction)})")
        return exp.DataType.build("int" if -2**31 <= int(node.this) < 2**31 else "bigint")
    return None


def _cast_may_null(source: exp.DataType | None, target: exp.DataType) -> bool:
    """Spark's ``Cast.forceNullable(from, to)`` (non-ANSI): whether a cast of a non-NULL value may give NULL (a
    string that is no number, a double too large for the decimal, a NaN to an int). A cast from a type not
    known here is taken as one that does not."""
    if source is None:
        return False
    src, to = source.this, target.this
    if source == target or src == _T.NULL:
        return False
    if src in exp.DataType.TEXT_TYPES:
        return to not in exp.DataType.TEXT_TYPES and to not in (_T.BINARY, _T.VARBINARY)
    if to in exp.DataType.TEXT_TYPES:
        return False
    times = (_T.TIMESTAMP, _T.TIMESTAMPTZ, _T.TIMESTAMPLTZ, _T.TIMESTAMPNTZ)
    if src in times and to in (_T.TINYINT, _T.SMALLINT, _T.INT) or src in (_T.FLOAT, _T.DOUBLE) and to in times:
        return True
    if to == _T.DATE:
        return src not in times
    if src == _T.DATE:
        return to not in times
    if to == _T.DECIMAL:
        return not _fits_decimal(source, target)
    return src in (_T.FLOAT, _T.DOUBLE, _T.DECIMAL) and to in _INTEGRAL_DIGITS


def _fits_decimal(source: exp.DataType, target: exp.DataType) -> bool:
    """Spark's ``Cast.canNullSafeCastToDecimal``: every value of ``source`` has a place in the decimal."""
    precision, scale = _precision(target)
    if source.this == _T.BOOLEAN:
        return precision - scale >= 1
    if source.this in _INTEGRAL_DIGITS:
        return precision - scale >= _INTEGRAL_DIGITS[source.this]
    if source.this == _T.DECIMAL:
        p, s = _precision(source)
        return precision - scale >= p - s  # (PySpark 4: 1.5 as decimal(3,2) is never NULL)
    return False


def _precision(decimal: exp.DataType) -> tuple[int, int]:
    sizes = [int(e.this.name) for e in decimal.expressions]
    precision, scale = (sizes + [0])[:2] if sizes else (10, 0)
    return precision, scale
