"""``format_string`` / ``printf`` as Java's Formatter writes them, run by DuckDB's printf: each specifier of a
literal format gets its argument already written as Java writes it, through ``%s`` (a NULL is ``null``, NaN is
``NaN``, a double given to ``%s`` is ``1.0E-10``, ``%x`` of an int is its 32 bits, ``%.2f`` of 2.675 is 2.68:
half up on the shortest digits), vectorised.

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
_DOUBLES = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


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


def _half_up(value: exp.Expression, digits: int, kind) -> exp.Expression:
    """A double rounded as Java's ``%.nf`` rounds it: half up (away from zero) on its shortest decimal digits, so
    2.675 is 2.68 and 0.125 is 0.13 (printf rounds the binary value, half to even: 2.67, 0.12). A float is
    widened to a double first, as Java's Formatter does. Beyond 15 digits before the point (or 17 after it) the
    value goes to printf as it is; a negative one that rounds to zero keeps its sign (-0.00)."""
    if digits > 17:
        return value
    double = value if kind == exp.DataType.Type.DOUBLE else exp.Cast(this=value, to=exp.DataType.build("DOUBLE"))
    text = exp.Anonymous(this="spark_shortest_text", expressions=[double.copy()])
    rounded = exp.Cast(this=exp.Cast(this=text, to=exp.DataType.build(f"DECIMAL(38, {digits})")),
                       to=exp.DataType.build("DOUBLE"))
    signed = exp.If(this=exp.Anonymous(this="signbit", expressions=[double.copy()]),
                    true=exp.Neg(this=exp.Anonymous(this="abs", expressions=[rounded])), false=rounded.copy())
    finite = exp.LT(this=exp.Anonymous(this="abs", expressions=[double.copy()]), expression=exp.Literal.number("1e15"))
    return exp.Case().when(finite, signed, copy=False).else_(double, copy=False)


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
    if conversion == "f" and kind in _DOUBLES:
        value = _half_up(value, int(precision[1:]) if precision else 6, kind)
    case = exp.Case().when(exp.Is(this=arg.copy(), expression=exp.Null()), null, copy=False)
    if conversion in "feE":
        special = f"%{left}{width}s"
        for test, text in ((exp.Anonymous(this="isnan", expressions=[arg.copy()]), "NaN"),
                           (exp.GT(this=arg.copy(), expression=exp.Literal.number("1.7976931348623157e308")),
                            ("+" if "+" in flags else " " if " " in flags else "") + "Infinity"),
                           (exp.LT(this=arg.copy(), expression=exp.Literal.number("-1.7976931348623157e308")),
                            "-Infinity")):
            case = case.when(test, _printf(special, exp.Literal.string(text)), copy=False)
    return case.else_(_printf(spec, value), copy=False)


def number_format(fmt: str) -> tuple[str, int, int]:
    """Spark's ``to_number`` format (``'$99,999.99'``, ``'S999'``, ``'99.9PR'``) as a regex that the input's text
    (trimmed) must match, with the (precision, scale) of the decimal it gives: its digits, those after the
    point. A format Spark refuses raises ValueError with Spark's reason.

    >>> number_format("99,999.9")
    ('(?:[0-9]{0,2},[0-9]{3}|[0-9]{0,3})(?:\\\\.[0-9]{0,1})?', 6, 1)
    """
    text = fmt.upper()
    lead = trail = ""
    if text.startswith("$"):
        lead, text = "\\$", text[1:]
    if text.startswith("S"):
        lead, text = lead + "[+-]?", text[1:]
    for sign in ("MI", "S", "PR"):
        if text.endswith(sign) and not trail:
            trail, text = sign, text[:-len(sign)]
    whole, point, fraction = text.replace("D", ".").replace("G", ",").partition(".")
    if "." in fraction:
        raise ValueError("at most one . or D is allowed in the number format")
    if set(whole + fraction) - set("09,") or "," in fraction:
        raise ValueError("found an unexpected character in the format string")
    groups = whole.split(",")
    if any(not g for g in groups) and whole:
        raise ValueError("thousands separators (, or G) must have digits in between them")
    before, after = len(whole.replace(",", "")), len(fraction)
    if before + after == 0:
        raise ValueError("the format has no digits")
    sizes = [len(g) for g in groups]
    if len(sizes) == 1:  # a leading 0 makes the digits from it on required
        required = before - whole.find("0") if "0" in whole else 0
        digits = f"[0-9]{{{required},{before}}}"
    else:  # the input's groups are the format's last ones, all but its first of the same size
        digits = "(?:" + "|".join(f"[0-9]{{0,{sizes[k]}}}" + "".join(f",[0-9]{{{n}}}" for n in sizes[k + 1:])
                                  for k in range(len(sizes))) + ")"
    number = digits + (f"(?:\\.[0-9]{{0,{after}}})?" if point else "")
    pattern = f"{lead}{number}" + {"": "", "MI": "-?", "S": "[+-]?"}.get(trail, "")
    if trail == "PR":
        pattern = f"(?:{lead}{number}|<{lead}{number}>)"
    return pattern, before + after, after
