"""``format_string`` / ``printf`` as Java's Formatter writes them, run by DuckDB's printf: each specifier of a
literal format gets its argument already written as Java writes it, through ``%s`` (a NULL is ``null``, NaN is
``NaN``, a double given to ``%s`` is ``1.0E-10``, ``%x`` of an int is its 32 bits), vectorised.

>>> import sqlglot
>>> call = sqlglot.parse_one("SELECT format_string('%s=%d', k, i) FROM t", read="spark").expressions[0]
>>> java_format(call).sql("duckdb")
"PRINTF('%s=%s', PRINTF('%s', COALESCE(CAST(k AS TEXT), 'null')), CASE WHEN i IS NULL THEN PRINTF('%s', 'null') ELSE PRINTF('%d', i) END)"
"""

from __future__ import annotations

import re

from sqlglot import exp

_SPEC = re.compile(r"%(\d+\$)?([-#+ 0,(<]*)(\d+)?(\.\d+)?([a-zA-Z%])")
_INT_BITS = {exp.DataType.Type.TINYINT: 8, exp.DataType.Type.SMALLINT: 16, exp.DataType.Type.INT: 32}
_NUMBERS = "dxXofeE"


def java_format(node: exp.Format) -> exp.Expression:
    """The printf call for ``format_string(fmt, args...)``; a format that is not a literal, or that uses what
    this does not write as Java does (argument indexes, ``%g``, ``%b``, ``%c``, ``,``), goes to printf as it is."""
    fmt, args = node.this, list(node.expressions)
    plain = exp.Anonymous(this="printf", expressions=[fmt.copy(), *(a.copy() for a in args)])
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return plain
    out, written, at, n = [], [], 0, 0
    for spec in _SPEC.finditer(fmt.this):
        index, flags, width, precision, conversion = spec.groups()
        out.append(fmt.this[at:spec.start()])
        at = spec.end()
        if conversion == "%":
            out.append("%%")
            continue
        if conversion == "n":
            out.append("\n")
            continue
        if index or "<" in flags or "," in flags or conversion.lower() not in "sdxofe" or n >= len(args):
            return plain
        out.append("%s")
        written.append(_argument(args[n], spec.group(0), flags, width or "", precision or "", conversion))
        n += 1
    out.append(fmt.this[at:])
    return exp.Anonymous(this="printf", expressions=[exp.Literal.string("".join(out)), *written])


def _printf(spec: str, value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="printf", expressions=[exp.Literal.string(spec), value])


def _argument(arg: exp.Expression, spec: str, flags: str, width: str, precision: str,
              conversion: str) -> exp.Expression:
    """One argument written as Java's specifier writes it (then read by ``%s``)."""
    left = "-" if "-" in flags else ""
    as_text = f"%{left}{width}{precision}s"  # 'null' takes the width, and the precision cuts it ('nu' for %.2f)
    if conversion in "sS":
        text = exp.Cast(this=arg.copy(), to=exp.DataType.build("TEXT"))  # a double as Java writes it (rewrites)
        value = _printf(as_text, exp.Coalesce(this=text, expressions=[exp.Literal.string("null")]))
        return exp.Upper(this=value) if conversion == "S" else value
    null = _printf(as_text, exp.Literal.string("null"))
    kind = arg.type.this if arg.type is not None else None
    value = arg.copy()
    if conversion in "xXo" and kind in _INT_BITS:  # the two's complement of the int's own width
        value = exp.BitwiseAnd(this=exp.Cast(this=value, to=exp.DataType.build("BIGINT")),
                               expression=exp.Literal.number((1 << _INT_BITS[kind]) - 1))
    case = exp.Case().when(exp.Is(this=arg.copy(), expression=exp.Null()), null, copy=False)
    if conversion in "feE":
        special = f"%{left}{width}s"
        for test, text in ((exp.Anonymous(this="isnan", expressions=[arg.copy()]), "NaN"),
                           (exp.GT(this=arg.copy(), expression=exp.Literal.number("1.7976931348623157e308")),
                            "Infinity"),
                           (exp.LT(this=arg.copy(), expression=exp.Literal.number("-1.7976931348623157e308")),
                            "-Infinity")):
            case = case.when(test, _printf(special, exp.Literal.string(text)), copy=False)
    return case.else_(_printf(spec, value), copy=False)
