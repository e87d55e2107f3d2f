"""Spark's non-ANSI mode, run by DuckDB: where Spark gives NULL or wraps around, DuckDB raises (and the query
dies).

Each rule rewrites the typed tree (after ``annotate_types``), tree in, tree out (dates: ``spark_dates.py``):

* ``null_not_error``: a zero divisor of ``%``, ``mod`` or ``DIV`` gives NULL; a string that does not parse as
  the cast's type (as Spark parses it), or as a timestamp (``to_timestamp``, ``unix_timestamp``), gives NULL;
  a number cast to a narrower integer wraps or saturates as on the JVM;
* ``wrap_integer_overflow``: ``+``, ``-``, ``*``, negation and ``abs`` on integers wrap around at the result type's
  width (Java's arithmetic), computed in a wider type and cut back.
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.tree import bottom_up, is_text, replace_typed

_WIDTH = {exp.DataType.Type.TINYINT: 8, exp.DataType.Type.SMALLINT: 16, exp.DataType.Type.INT: 32,
          exp.DataType.Type.BIGINT: 64}
_TYPE_OF_WIDTH = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}
_TEMPORAL = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DATE}
_SPARK_DEFAULT_FORMAT = "%Y-%m-%d %H:%M:%S"  # unix_timestamp's 'yyyy-MM-dd HH:mm:ss'


def non_ansi(tree: exp.Expression) -> exp.Expression:
    """Both rules, in order.

    >>> import sqlglot
    >>> from sqlglot.optimizer.annotate_types import annotate_types
    >>> tree = annotate_types(sqlglot.parse_one("SELECT n % 0, int(s) FROM t", read="spark"),
    ...                       schema={"t": {"n": "INT", "s": "STRING"}})
    >>> non_ansi(tree).sql("duckdb")
    'SELECT n % NULLIF(0, 0), TRY_CAST(s AS INT) FROM t'
    """
    null_not_error(tree)
    wrap_integer_overflow(tree)
    return tree


def null_not_error(tree: exp.Expression) -> None:
    for node in bottom_up(tree, exp.StrToTime, exp.StrToUnix, exp.TsOrDsToDate):
        if is_text(node.this):  # DuckDB's strptime reads 'infinity' (a time no pandas value holds) and 'epoch'
            text = node.this
            text.replace(exp.Case().when(exp.RegexpLike(this=text.copy(), expression=exp.Literal.string("[0-9]")),
                                         text.copy(), copy=False))
    for node in bottom_up(tree, exp.Mod, exp.IntDiv, exp.Cast, exp.StrToTime, exp.StrToUnix, exp.Anonymous):
        if isinstance(node, exp.Anonymous):
            if node.name.lower() == "pmod" and len(node.expressions) == 2:
                replace_typed(node, _positive_modulus)
            elif node.name.lower() == "make_date":  # 2024-02-30 is NULL in Spark
                replace_typed(node, lambda call: exp.Anonymous(this="TRY", expressions=[call]))
        elif isinstance(node, (exp.Mod, exp.IntDiv)):
            divisor = node.expression
            divisor.replace(exp.Nullif(this=divisor.copy(), expression=exp.Literal.number(0)))
        elif isinstance(node, exp.StrToTime):
            node.set("safe", True)
        elif isinstance(node, exp.StrToUnix):
            replace_typed(node, _unix_seconds)
        elif type(node) is exp.Cast:  # TryCast is a Cast too: it is already safe
            replace_typed(node, lambda cast: exp.TryCast(this=cast.this, to=cast.args["to"]))
    _spark_integer_strings(tree)
    _java_narrowing(tree)


def _spark_integer_strings(tree: exp.Expression) -> None:
    """A string cast to a number as Spark reads it. An integer: sign and digits, a fraction cut off ('1.5' is
    1, '.5' is 0), nothing else ('1e3', '0x10', '1_000' are NULL), where DuckDB would round, read exponents, hex
    and underscores. A fraction may end in Java's d or f ('1d' is 1.0). A boolean is trimmed (' true ')."""
    for cast in bottom_up(tree, exp.TryCast):
        target = cast.args["to"].this
        if not is_text(cast.this):
            continue
        text = exp.Trim(this=cast.this.copy())
        if target in _WIDTH:
            digits = exp.RegexpExtract(this=text, expression=exp.Literal.string(r"^([+-]?[0-9]+)(\.[0-9]*)?$"),
                                       group=exp.Literal.number(1))
            fraction_only = exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(r"^[+-]?\.[0-9]*$"))
            cast.this.replace(exp.Case().when(fraction_only, exp.Literal.string("0"), copy=False)
                              .else_(digits, copy=False))
        elif target in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL):
            java = text if target == exp.DataType.Type.DECIMAL else exp.RegexpReplace(
                this=text, expression=exp.Literal.string(r"([0-9.])[dDfF]$"), replacement=exp.Literal.string(r"\1"))
            underscore = exp.Anonymous(this="contains", expressions=[text.copy(), exp.Literal.string("_")])
            cast.this.replace(exp.Case().when(underscore, exp.Null(), copy=False).else_(java, copy=False))
        elif target == exp.DataType.Type.BOOLEAN:
            cast.this.replace(text)


def _java_narrowing(tree: exp.Expression) -> None:
    """A number cast to a narrower integer as Spark (the JVM) does it: an integer wraps around; a fraction
    saturates at the bounds of a long or an int (NaN is 0), and a smallint or tinyint is then that int's low
    bits (Scala's ``d.toInt.toShort``), where DuckDB's TRY_CAST gives NULL."""
    for cast in bottom_up(tree, exp.TryCast):
        width = _WIDTH.get(cast.args["to"].this)
        operand = cast.this
        if width is None or operand.type is None:
            truncated = _truncated(operand)
            if width is not None and truncated is not None:
                saturated = _saturated(operand.copy(), truncated, max(width, 32))
                operand.replace(saturated if width >= 32 else _wrap(saturated, width))
            continue
        if _WIDTH.get(operand.type.this, 0) > width:
            widened = exp.Cast(this=operand.copy(), to=exp.DataType.build("INT128"))
            operand.replace(_wrap(widened, width))


def _truncated(node: exp.Expression) -> exp.Expression | None:
    """The fractional number inside ``trunc(x)`` (how ``spark_casts`` writes a fraction cast to an integer)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "trunc" and len(node.expressions) == 1:
        inner = node.expressions[0]
        if inner.type is not None and inner.type.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return inner
    return None


def _saturated(truncated: exp.Expression, value: exp.Expression, width: int) -> exp.Expression:
    """An integer (BIGINT: a DOUBLE would round a long's bound up past it); ``truncated`` is in range where cast."""
    low, high = exp.Literal.number(-(2 ** (width - 1))), exp.Literal.number(2 ** (width - 1) - 1)
    whole = exp.TryCast(this=truncated, to=exp.DataType.build("BIGINT"))
    return exp.Cast(this=exp.Case()
                    .when(exp.Anonymous(this="isnan", expressions=[value.copy()]), exp.Literal.number(0), copy=False)
                    .when(exp.GTE(this=value.copy(), expression=high), high.copy(), copy=False)
                    .when(exp.LTE(this=value.copy(), expression=low), low.copy(), copy=False)
                    .else_(whole, copy=False), to=exp.DataType.build("BIGINT"))


def _positive_modulus(call: exp.Anonymous) -> exp.Expression:
    """Spark's pmod(a, n): r = a % n, then (r + n) % n if r is negative; NULL when n is 0."""
    a, n = call.expressions
    divisor = exp.Nullif(this=n, expression=exp.Literal.number(0))
    remainder = exp.paren(exp.Mod(this=a, expression=divisor), copy=False)
    shifted = exp.Mod(this=exp.paren(exp.Add(this=remainder.copy(), expression=divisor.copy()), copy=False),
                      expression=divisor.copy())
    return exp.Case().when(exp.LT(this=remainder.copy(), expression=exp.Literal.number(0)), shifted,
                           copy=False).else_(remainder, copy=False)


def _unix_seconds(node: exp.StrToUnix) -> exp.Expression:
    """Seconds since the epoch, floored as Spark does, NULL for a string that does not match the format."""
    value = node.this
    if value.type is not None and value.type.this in _TEMPORAL:
        instant = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
    else:
        fmt = node.args.get("format") or exp.Literal.string(_SPARK_DEFAULT_FORMAT)
        instant = exp.StrToTime(this=value, format=fmt, safe=True)
    return exp.Cast(this=exp.Floor(this=exp.TimeToUnix(this=instant)), to=exp.DataType.build("BIGINT"))


def wrap_integer_overflow(tree: exp.Expression) -> None:
    for call in bottom_up(tree, exp.Negative, exp.Anonymous):  # Spark's negative(x), positive(x): not DuckDB's
        if isinstance(call, exp.Negative):
            sign = exp.Neg(this=exp.paren(call.this, copy=False))
        elif call.name.lower() == "positive" and len(call.expressions) == 1:
            sign = call.expressions[0]
        else:
            continue
        if isinstance(sign, exp.Neg):
            sign.type = sign.this.unnest().type  # an integer: wrapped below, as -x is
        call.replace(sign)
    for node in bottom_up(tree, exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Abs):
        if isinstance(node, exp.Abs):  # abs(-2147483648) is -2147483648 on the JVM; sqlglot leaves it untyped
            operand = node.this.unnest()
            if operand.type is not None and operand.type.this in _WIDTH:
                node.type = operand.type.copy()
        if _literal_width(node) != 0:
            continue  # a negative literal: -2147483648 is a number, not an overflow
        width = _result_width(node)
        if width is None:
            continue
        node.type = exp.DataType.build(_TYPE_OF_WIDTH[width])
        replace_typed(node, lambda op, width=width: _wrapped(op, width))


def _result_width(op: exp.Expression) -> int | None:
    """The width of the integer type Spark gives ``op``, None if it is not an integer; an integer literal
    beyond int's range is a bigint in Spark (sqlglot calls every integer literal an int)."""
    width = _WIDTH.get(op.type.this) if op.type is not None else None
    if width is None:
        return None
    for operand in (op.this, op.args.get("expression")):
        if operand is None:
            continue
        literal = _literal_width(operand)
        if literal is None:
            return None  # beyond bigint: a decimal in Spark
        inner = operand.unnest()  # an operand rewritten already carries its corrected type
        width = max(width, literal, _WIDTH.get(inner.type.this, 0) if inner.type is not None else 0)
    return width


def _literal_width(node: exp.Expression) -> int | None:
    """32 or 64 for an integer literal (or its negation) that fits an int or a bigint, None for a larger one,
    0 for anything else."""
    sign, literal = (-1, node.this) if isinstance(node, exp.Neg) else (1, node)
    if not isinstance(literal, exp.Literal) or literal.is_string or not literal.is_int:
        return 0
    value = sign * int(literal.name)
    if -(2**31) <= value < 2**31:
        return 32
    return 64 if -(2**63) <= value < 2**63 else None


def _wrapped(op: exp.Expression, width: int) -> exp.Expression:
    wide = "BIGINT" if width <= 32 else "INT128"  # wide enough for any sum or product of two operands
    operands = {k: exp.Cast(this=v, to=exp.DataType.build(wide))
                for k, v in op.args.items() if k in ("this", "expression")}
    return exp.Cast(this=_wrap(type(op)(**operands), width), to=op.type.copy())


def _wrap(value: exp.Expression, width: int) -> exp.Expression:
    """Two's complement at ``width`` bits: ((v + 2^(w-1)) & (2^w - 1)) - 2^(w-1)."""
    half = exp.Literal.number(2 ** (width - 1))
    low_bits = exp.BitwiseAnd(this=exp.paren(exp.Add(this=value, expression=half), copy=False),
                              expression=exp.Literal.number(2 ** width - 1))
    return exp.Sub(this=exp.paren(low_bits, copy=False), expression=half.copy())
