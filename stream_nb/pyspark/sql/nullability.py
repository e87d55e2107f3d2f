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


def never_null(query: exp.Expression, streaming: bool = False) -> set[str]:
    """The names of ``query``'s output columns that are never NULL (of a streaming query's, ``streaming``).

    >>> import sqlglot
    >>> sorted(never_null(sqlglot.parse_one("SELECT * FROM (SELECT k, count(*) AS n, 1 AS one FROM t GROUP BY k)")))
    ['n', 'one']
    """
    if isinstance(query, exp.Subquery):
        return never_null(query.this, streaming)
    if not isinstance(query, exp.Select) or streaming and _aggregates(query):
        return set()
    source = query.args.get("from_") or query.args.get("from")
    inner = never_null(source.this, streaming) if source is not None and not query.args.get("joins") else set()
    found = set()
    for item in query.expressions:
        if isinstance(item, exp.Star):
            found |= inner
        elif _not_null(item.unalias(), inner):
            found.add(item.alias_or_name)
    return found


def _aggregates(select: exp.Select) -> bool:
    return select.args.get("group") is not None or any(
        isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Select) is select and n.find_ancestor(exp.Window) is None
        for item in select.expressions for n in item.walk())


def _not_null(node: exp.Expression, inner: set[str]) -> bool:
    if isinstance(node, exp.Column):
        return isinstance(node.this, exp.Identifier) and node.name in inner
    if isinstance(node, (exp.Count, exp.ApproxDistinct, exp.CountIf, exp.CurrentDate, exp.CurrentTimestamp,
                         exp.Boolean, *_RANKING)):
        return True
    if isinstance(node, exp.Literal):
        return True
    if isinstance(node, exp.Window):
        return isinstance(node.this, _RANKING) or \
            isinstance(node.this, exp.Anonymous) and node.this.name.lower() in RANKING_NAMES
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), node.expressions
        if name in RANKING_NAMES:
            return True
        if name in ("coalesce", "nvl", "ifnull"):
            return any(_not_null(e, inner) for e in args)
        # a tumbling window (Spark makes a sliding one nullable: its rows are expanded, then filtered)
        return name == "session_window" or name == "window" and (len(args) == 2 or len(args) >= 3 and
                                                                   args[1].sql() == args[2].sql())
    if isinstance(node, exp.Cast):
        return _typed_literal(node) or \
            _not_null(node.this, inner) and not _cast_may_null(_known_type(node.this), node.to)
    if isinstance(node, (exp.Paren, exp.Neg)):
        return _not_null(node.this, inner)
    if isinstance(node, exp.Coalesce):
        return any(_not_null(e, inner) for e in [node.this, *node.expressions])
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        return _not_null(node.this, inner) and _not_null(node.expression, inner)
    return False


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
