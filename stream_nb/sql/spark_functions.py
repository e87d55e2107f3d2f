"""Spark's scalar functions with Spark's values, where DuckDB's function of the same name gives others or there
is none: each Spark call becomes DuckDB expressions or a macro of ``engine/spark_macros.py`` (vectorised; only
``crc32`` and ``conv`` run per row in Python). Found by running ~300 expressions over awkward inputs (NULL, '',
NaN, negative numbers, non-ASCII text, timestamps around midnight) on PySpark and here
(``tests/differential/cases_functions.py``)."""

from __future__ import annotations

import math

import sqlglot
from sqlglot import exp

from stream_nb.sql import spark_arrays
from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.errors import StreamSQLError, UnsupportedValueError
from stream_nb.sql.spark_decimals import decimal_multiplication
from stream_nb.sql.spark_format import java_format, number_format
from stream_nb.sql.tree import bottom_up, decimal_of, is_text

T = exp.DataType.Type
_INTEGRAL = [T.TINYINT, T.SMALLINT, T.INT, T.BIGINT]
_DOUBLES = {T.DOUBLE, T.FLOAT}
_BINARY = {T.BINARY, T.VARBINARY}
_TIMESTAMPS = {T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMPNTZ}

# Spark functions that cannot be given Spark's exact values here and that DuckDB has under the same name (or
# would run otherwise): refused by name, not run with other values. Those DuckDB lacks are refused as unknown.
_REFUSED = {
    "monotonically_increasing_id": "Spark refuses it on a stream too (its ids are per partition and batch)",
}


def _call(name: str, *args: exp.Expression, type_: str | exp.DataType | None = None) -> exp.Expression:
    node = exp.Anonymous(this=name, expressions=[a.copy() for a in args])
    if type_ is not None:
        node.type = exp.DataType.build(type_) if isinstance(type_, str) else type_.copy()
    return node


def _kind(node: exp.Expression | None) -> T | None:
    return None if node is None or node.type is None else node.type.this


def _double(node: exp.Expression) -> exp.Expression:
    return node.copy() if _kind(node) in _DOUBLES else exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))


def _typed(new: exp.Expression, old: exp.Expression, type_: str | None = None) -> None:
    if new.type is None or type_ is not None:
        new.type = exp.DataType.build(type_) if type_ else (old.type.copy() if old.type is not None else None)
    old.replace(new)


def spark_scalar_functions(tree: exp.Expression) -> None:
    """Every rewrite below, innermost calls first; then a function whose Spark type is narrower than DuckDB's
    answer (``_RESULT_TYPES``) cast to it."""
    for node in bottom_up(tree, *_BY_CLASS, *_RESULT_TYPES, exp.Anonymous):
        if isinstance(node, exp.Anonymous):
            handler = _BY_NAME.get(node.name.lower())
            result = _RESULT_TYPES_BY_NAME.get(node.name.lower())
        else:
            handler = next((h for kind, h in _BY_CLASS.items() if isinstance(node, kind)), None)
            result = next((t for kind, t in _RESULT_TYPES.items() if isinstance(node, kind)), None)
            result = None if isinstance(node, exp.DateDiff) and node.args.get("unit") is not None else result
        parent, key, index = node.parent, node.arg_key, node.index
        if handler is not None:
            handler(node)
        if result is not None and parent is not None:
            current = parent.args[key] if index is None else parent.args[key][index]
            _typed(exp.Cast(this=current.copy(), to=exp.DataType.build(result)), current, result)


# Spark's types where DuckDB's answer is a wider integer (the values are the same)
_RESULT_TYPES = {exp.DateDiff: "INT", exp.Levenshtein: "INT", exp.Length: "INT", exp.BitLength: "INT",
                 exp.RegexpInstr: "INT", **dict.fromkeys(
                     (exp.Year, exp.Quarter, exp.Month, exp.Day, exp.DayOfMonth, exp.DayOfYear, exp.DayOfWeek,
                      exp.WeekOfYear, exp.Hour, exp.Minute, exp.Second), "INT"),
                 exp.StrPosition: "INT", exp.Factorial: "BIGINT", exp.Getbit: "TINYINT", exp.BitwiseCount: "INT", exp.ArrayPosition: "BIGINT", exp.ArraySize: "INT"}
_RESULT_TYPES_BY_NAME = {"weekday": "INT", "octet_length": "INT", "char_length": "INT", "character_length": "INT",
                         "find_in_set": "INT"}


# -- numbers ------------------------------------------------------------------------------------------------


def _isnan(node: exp.IsNan) -> None:  # isnan(NULL) is false in Spark
    _typed(exp.Coalesce(this=node.copy(), expressions=[exp.false()]), node, "BOOLEAN")


def _rint(node: exp.Rint) -> None:  # the nearest whole double, a half to the even one (Java's Math.rint)
    _typed(_call("round_even", _double(node.this), exp.Literal.number(0)), node, "DOUBLE")


def _sign(node: exp.Sign) -> None:  # a double, NaN for NaN
    _typed(_call("spark_sign", _double(node.this)), node, "DOUBLE")


def _ceil_floor(node: exp.Ceil | exp.Floor) -> None:
    """Of a double, a bigint (NaN 0, as Java's (long) cast); of a decimal(p, s), a decimal(p - s + 1, 0) (DuckDB
    keeps p digits; ceil(1.25) is decimal(2,0))."""
    if node.args.get("decimals"):
        return
    if _kind(node.this) in _DOUBLES:
        _typed(_call("spark_long", node.copy()), node, "BIGINT")
    elif _kind(node.this) in _RANK:  # itself, a bigint (DuckDB's went through a double: 2^63 - 1 off by one)
        _typed(exp.Cast(this=node.this.copy(), to=exp.DataType.build("BIGINT")), node, "BIGINT")
    elif decimal_of(node.this) is not None and decimal_of(node.this)[1] > 0:
        precision, scale = decimal_of(node.this)
        kind = f"DECIMAL({min(precision - scale + 1, 38)}, 0)"
        _typed(exp.Cast(this=node.copy(), to=exp.DataType.build(kind)), node, kind)


def _ln(node: exp.Ln) -> None:
    _typed(_call("spark_ln", _double(node.this)), node, "DOUBLE")


def _log(node: exp.Log) -> None:  # log(x) is ln(x); log(b, x); log10 and log2 come as Log(10 or 2, x)
    base, value = node.this, node.args.get("expression")
    if value is None:
        _typed(_call("spark_ln", _double(base)), node, "DOUBLE")
    elif isinstance(base, exp.Literal) and base.name in ("10", "2"):
        _typed(_call(f"spark_log{base.name}", _double(value)), node, "DOUBLE")
    else:
        _typed(_call("spark_log", _double(base), _double(value)), node, "DOUBLE")


def _log1p_expm1(node: exp.Anonymous) -> None:
    if len(node.expressions) == 1:
        _typed(_call(f"spark_{node.name.lower()}", _double(node.expressions[0])), node, "DOUBLE")


def _parse_url(node: exp.Expression) -> None:
    args = node.expressions if isinstance(node, exp.Anonymous) else \
        [a for a in (node.this, node.args.get("part_to_extract"), node.args.get("key")) if a is not None]
    if len(args) in (2, 3):
        _typed(_call("spark_parse_url" if len(args) == 2 else "spark_parse_url_key", *args), node, "TEXT")


def _nanvl(node: exp.Nanvl) -> None:
    _typed(_call("spark_nanvl", _double(node.this), _double(node.expression)), node, "DOUBLE")


_RANK = {kind: i for i, kind in enumerate(_INTEGRAL)}


def _try_arithmetic(node: exp.Expression) -> None:
    """try_add / try_subtract / try_multiply: NULL where the integer result overflows its type (DuckDB raises)."""
    op = {exp.SafeAdd: exp.Add, exp.SafeSubtract: exp.Sub, exp.SafeMultiply: exp.Mul}[type(node)]
    a, b = node.this, node.expression
    if _kind(a) in _RANK and _kind(b) in _RANK:
        wide = max(_kind(a), _kind(b), key=_RANK.get)
        huge = exp.DataType.build("HUGEINT")
        result = op(this=exp.Cast(this=a.copy(), to=huge), expression=exp.Cast(this=b.copy(), to=huge.copy()))
        _typed(exp.TryCast(this=result, to=exp.DataType.build(wide)), node, wide.value)
    else:
        new = op(this=a.copy(), expression=b.copy())
        new.type = a.type.copy() if _kind(a) in _DOUBLES | {T.DECIMAL} else None
        holder = exp.Paren(this=new)  # a product of decimals at Spark's wider type (DuckDB's overflowed)
        decimal_multiplication(holder)
        node.replace(holder.this)


def _factorial(node: exp.Factorial) -> None:  # NULL outside 0..20 (DuckDB raises below 0, and above 20)
    value = node.this
    inside = exp.Between(this=value.copy(), low=exp.Literal.number(0), high=exp.Literal.number(20))
    _typed(exp.Case(ifs=[exp.If(this=inside, true=node.copy())]), node, "BIGINT")


def _width_bucket(node: exp.WidthBucket) -> None:
    args = [_double(node.this), _double(node.args["min_value"]), _double(node.args["max_value"]),
            exp.Cast(this=node.args["num_buckets"].copy(), to=exp.DataType.build("BIGINT"))]
    _typed(_call("spark_width_bucket", *args), node, "BIGINT")


def _e(node: exp.Anonymous) -> None:
    if not node.expressions:
        value = exp.Cast(this=exp.Literal.number(repr(math.e)), to=exp.DataType.build("DOUBLE"))  # not a DECIMAL
        _typed(value, node, "DOUBLE")


def _hypot(node: exp.Anonymous) -> None:
    a, b = (_double(x) for x in node.expressions)
    square = exp.Add(this=exp.Mul(this=a, expression=a.copy()), expression=exp.Mul(this=b, expression=b.copy()))
    _typed(_call("sqrt", square), node, "DOUBLE")


def _array_size(node: exp.Anonymous) -> None:  # an int, NULL for NULL (not size()'s -1)
    if len(node.expressions) == 1:
        _typed(exp.Cast(this=_call("len", node.expressions[0]), to=exp.DataType.build("INT")), node, "INT")


def _atan2(node: exp.Atan2) -> None:  # of y + 0.0 and x + 0.0, as Spark's: -0.0 is 0.0 (atan2(-0.0, -0.0) is 0.0)
    y, x = node.this, node.expression
    if x is not None:
        _typed(exp.Atan2(this=exp.Add(this=_double(y), expression=exp.Literal.number("0.0")),
                         expression=exp.Add(this=_double(x), expression=exp.Literal.number("0.0"))), node, "DOUBLE")


def _negative_literal(node: exp.Neg) -> None:  # -2147483648 is an int in Spark (DuckDB: -(2147483648), a bigint)
    if isinstance(node.this, exp.Literal) and not node.this.is_string and node.this.name == str(2**31):
        _typed(exp.Cast(this=node.copy(), to=exp.DataType.build("INT")), node, "INT")


def _zeroifnull(node: exp.Anonymous) -> None:
    value = node.expressions[0]
    _typed(exp.Coalesce(this=value.copy(), expressions=[exp.Literal.number(0)]), node,
           value.type.sql("duckdb") if value.type is not None and value.type.this != T.UNKNOWN else None)


def _format_number(node: exp.Anonymous) -> None:
    value, digits = node.expressions
    if is_text(digits):
        raise StreamSQLError("format_number(x, 'pattern') is not supported yet: give the number of decimals",
                             hint="format_number(x, 2) writes 1,234.57")
    literal = isinstance(value, exp.Literal) and not value.is_string and "e" not in value.name.lower()
    if _kind(value) == T.DECIMAL or (literal and "." in value.name):  # Spark's 2.675 is a decimal: rounded
        value = exp.Cast(this=value.copy(), to=exp.DataType.build("DECIMAL(38, 18)")) if literal else value
        _typed(_call("spark_format_decimal", value, digits), node, "TEXT")  # half even on the decimal
    else:
        _typed(_call("spark_format_number", _double(value), digits), node, "TEXT")


def _conv(node: exp.Anonymous) -> None:
    number, source, target = node.expressions
    text = number if is_text(number) else exp.Cast(this=number.copy(), to=exp.DataType.build("TEXT"))
    _typed(_call("spark_conv", text, source, target), node, "TEXT")


def _to_number(node: exp.ToNumber | exp.Anonymous) -> None:
    """to_number(s, fmt) / try_to_number(s, fmt): the decimal of fmt's digits (DuckDB's reading was a double),
    for a text that matches fmt (spark_format.number_format); else NULL for try_to_number, and an error for
    to_number, as Spark's."""
    value, fmt = (node.this, node.args.get("format")) if isinstance(node, exp.ToNumber) else node.expressions[:2]
    name = "to_number" if isinstance(node, exp.ToNumber) else "try_to_number"
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise StreamSQLError(f"{name} with a format that is not a literal is not supported yet",
                             hint=f"{name}(s, '999.99')")
    try:
        pattern, precision, scale = number_format(fmt.this)
    except ValueError as err:
        raise StreamSQLError(f"the format of {name} is invalid: '{fmt.this}': {err}") from None
    text = _call("trim", value)
    matches = exp.And(this=_call("regexp_full_match", text, exp.Literal.string(pattern)),
                      expression=_call("regexp_matches", text, exp.Literal.string("[0-9]")))
    kind = f"DECIMAL({precision}, {scale})"
    number = exp.Cast(this=_call("regexp_replace", text, exp.Literal.string("[^0-9.]"), exp.Literal.string(""),
                                 exp.Literal.string("g")), to=exp.DataType.build(kind))
    negative = _call("regexp_matches", text, exp.Literal.string("[-<]"))
    signed = exp.Case(ifs=[exp.If(this=negative, true=exp.Neg(this=number.copy()))], default=number)
    mismatch = exp.Null() if name == "try_to_number" else exp.Cast(this=_call("error", exp.Literal.string(
        f"[INVALID_FORMAT.MISMATCH_INPUT] The input does not match the format {fmt.this}")), to=exp.DataType.build(kind))
    new = exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null()),
                        exp.If(this=matches, true=signed)], default=mismatch)
    _typed(new, node, kind)


def _to_char(node: exp.Anonymous) -> None:
    """to_char / to_varchar(x, fmt): of a date or timestamp, date_format(x, fmt), as Spark's (sqlglot wrote a
    cast to text, the format dropped); Spark's number formats ('999.99' writes 0.995 as '###.##') are refused."""
    if len(node.expressions) != 2:
        return
    value, fmt = node.expressions
    if _kind(value) in _TIMESTAMPS | {T.DATE} and isinstance(fmt, exp.Literal) and fmt.is_string:
        call = sqlglot.parse_one(f"date_format(__value, {fmt.sql('spark')})", read=DIALECT)
        call.find(exp.Column).replace(value.copy())
        _typed(call, node, "TEXT")
    elif _kind(value) in (*_RANK, *_DOUBLES, T.DECIMAL):
        raise UnsupportedValueError(f"{node.sql('spark')}: a number's format in to_char is not supported yet",
                                    hint="format_number(x, 2) writes 1,234.57; format_string('%.2f', x) 1234.57")


def _try_to_number(node: exp.Anonymous) -> None:
    if len(node.expressions) == 2:
        _to_number(node)


# -- text ---------------------------------------------------------------------------------------------------


def _upper_lower(node: exp.Upper | exp.Lower) -> None:
    """Java's toUpperCase / toLowerCase; lower(upper(s)) is lower(s), as Spark's optimizer simplifies it
    (SimplifyCaseConversionExpressions: so lower(upper('straße')) is 'straße')."""
    inner = node.this
    if isinstance(inner, exp.Anonymous) and inner.name in ("spark_upper", "spark_lower"):
        node.set("this", inner.expressions[0])
    text = node.this if is_text(node.this) else exp.Cast(this=node.this.copy(), to=exp.DataType.build("TEXT")) \
        if _lambda_parameter(node.this) else None  # (a lambda's parameter has no type here: its text)
    if text is not None:
        _typed(_call("spark_upper" if isinstance(node, exp.Upper) else "spark_lower", text), node, "TEXT")


def _lambda_parameter(node: exp.Expression) -> bool:
    """A bare name that is a parameter of a lambda around it (``x`` in ``transform(xs, x -> upper(x))``)."""
    name = node.name if isinstance(node, (exp.Column, exp.Identifier)) and not (
        isinstance(node, exp.Column) and node.table) else None
    lambda_ = node.find_ancestor(exp.Lambda)
    while name and lambda_ is not None:
        if name in {p.name for p in lambda_.expressions}:
            return True
        lambda_ = lambda_.find_ancestor(exp.Lambda)
    return False


def _initcap(node: exp.Initcap) -> None:  # words split at ' ' only, title-cased as Spark's ICU (spark_macros)
    delimiter = node.args.get("expression")  # (sqlglot's default: ' ')
    if delimiter is None or isinstance(delimiter, exp.Literal) and delimiter.is_string and delimiter.this == " ":
        _typed(_call("spark_initcap", node.this), node, "TEXT")


def _octet_length(node: exp.Anonymous) -> None:
    value = node.expressions[0]
    call = _call("octet_length", value) if _kind(value) in _BINARY else _call("strlen", value)
    _typed(call, node, "INT")


def _btrim(node: exp.Anonymous) -> None:
    _typed(_call("trim", *node.expressions), node, "TEXT")


def _regexp_substr(node: exp.RegexpSubstr) -> None:
    if set(node.args) - {"this", "expression"} and any(node.args.get(k) for k in set(node.args) - {"this",
                                                                                                  "expression"}):
        return
    _typed(_call("spark_regexp_substr", node.this, node.expression), node, "TEXT")


def _regexp_replace(node: exp.RegexpReplace) -> None:
    """The replacement as Java writes it, in RE2's words: ``$1`` is group 1 (RE2's ``\\1``), a backslash
    quotes the next character (``\\$`` a dollar; RE2 gives a backslash meaning only before a digit)."""
    replacement = node.args.get("replacement")
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        return
    text, out, i = replacement.this, [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("\\\\" if text[i + 1] == "\\" else text[i + 1])
            i += 2
        elif c == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("\\" + text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    node.set("replacement", exp.Literal.string("".join(out)))


def _pad(node: exp.Pad) -> None:  # lpad/rpad with '' to pad with: the text cut to the length (DuckDB raises)
    fill = node.args.get("fill_pattern")
    if fill is None or (isinstance(fill, exp.Literal) and fill.this != ""):
        return
    length = node.expression
    cut = _call("substr", node.this, exp.Literal.number(1), _call("greatest", length, exp.Literal.number(0)))
    empty = exp.EQ(this=fill.copy(), expression=exp.Literal.string(""))
    _typed(exp.Case().when(empty, cut, copy=False).else_(node.copy(), copy=False), node, "TEXT")


def _soundex(node: exp.Soundex) -> None:  # Spark's (P236 for Pfister), per row in Python: DuckDB has none
    _typed(_call("spark_soundex", node.this), node, "TEXT")


def _mask(node: exp.Anonymous) -> None:  # only with Spark's default replacements
    if len(node.expressions) == 1:
        _typed(_call("spark_mask", node.expressions[0]), node, "TEXT")


def _crc32(node: exp.Anonymous) -> None:
    value = node.expressions[0]
    data = value if _kind(value) in _BINARY else _call("encode", value)
    _typed(_call("spark_crc32", data), node, "BIGINT")


# hash(...)'s and xxhash64(...)'s arguments by type: the hash function of that type (engine/spark_hash.py)
_HASHES = {**dict.fromkeys((T.TINYINT, T.SMALLINT, T.INT, T.BOOLEAN, T.DATE), "int"),
           **dict.fromkeys((T.BIGINT, *_TIMESTAMPS, T.DECIMAL), "long"), T.DOUBLE: "double", T.FLOAT: "float",
           **dict.fromkeys(exp.DataType.TEXT_TYPES, "text"), **dict.fromkeys(_BINARY, "bytes")}


def _hash(node: exp.Anonymous) -> None:
    """Spark's hash(a, b, ...) (an int) and xxhash64(a, b, ...) (a bigint): each argument hashed with the hash
    of those before as its seed (42 first); a NULL leaves the seed as it is."""
    name = node.name.lower()
    result = "INT" if name == "hash" else "BIGINT"
    hashed: exp.Expression = exp.Literal.number(42)
    for arg in node.expressions:
        kind = _kind(arg)
        if kind == T.NULL or isinstance(arg, exp.Null):
            continue
        if kind == T.DECIMAL and decimal_of(arg) is None:  # its digits, which Spark hashes by, are not known here
            raise UnsupportedValueError(f"{name}() of {arg.sql('spark')}, a computed decimal, is not supported yet: "
                                        "Spark hashes a decimal by its precision and scale",
                                        hint=f"{name} a cast of it, e.g. to decimal(12, 2)")
        if kind not in _HASHES:
            kind_text = arg.type.sql("spark").lower() if arg.type is not None else "unknown"
            raise UnsupportedValueError(f"{name}() of {arg.sql('spark')}, of type {kind_text}, is not supported yet: "
                                        f"Spark's {name} is computed here for numbers, dates, timestamps, strings "
                                        "and binary values", hint=f"{name} a cast of it, e.g. to string")
        value = arg.copy()
        if kind == T.DATE:  # its days since the epoch
            value = _call("date_diff", exp.Literal.string("day"), exp.cast(exp.Literal.string("1970-01-01"), "DATE"),
                          value)
        elif kind in _TIMESTAMPS:  # its microseconds since the epoch
            value = _call("epoch_us", value)
        elif kind == T.DECIMAL and decimal_of(arg)[0] > 18:  # its text and scale (a BigInteger's bytes)
            hashed = _call(f"spark_{name}_decimal", exp.Cast(this=value, to=exp.DataType.build("TEXT")),
                           exp.Literal.number(decimal_of(arg)[1]), hashed)
            continue
        elif kind == T.DECIMAL:  # its unscaled value, exactly (a decimal times an integer stays a decimal)
            value = exp.Cast(this=exp.Mul(this=exp.Paren(this=value),
                                          expression=exp.Literal.number(10 ** decimal_of(arg)[1])),
                             to=exp.DataType.build("BIGINT"))
        if _HASHES[kind] == "int":  # a boolean is 1 or 0
            value = exp.Cast(this=value, to=exp.DataType.build("INT"))
        hashed = _call(f"spark_{name}_{_HASHES[kind]}", value, hashed)
    _typed(exp.Cast(this=hashed, to=exp.DataType.build(result)), node, result)


def _format(node: exp.Format) -> None:  # format_string / printf as Java's Formatter writes them (spark_format.py)
    _typed(java_format(node), node, "TEXT")


def _printf(node: exp.Anonymous) -> None:  # printf(fmt, ...) is format_string
    if node.expressions:
        _format_call = exp.Format(this=node.expressions[0].copy(), expressions=[a.copy() for a in node.expressions[1:]])
        _typed(java_format(_format_call), node, "TEXT")


def _to_base64(node: exp.ToBase64) -> None:  # base64 of a string: of its UTF-8 bytes
    if is_text(node.this):
        node.set("this", _call("encode", node.this, type_="BINARY"))


def _chr(node: exp.Chr) -> None:
    if len(node.expressions) == 1 and _kind(node.expressions[0]) in _RANK:
        _typed(_call("spark_chr", node.expressions[0]), node, "TEXT")


def _sha2(node: exp.SHA2) -> None:  # SHA-224, -384 and -512 too (DuckDB has SHA-256 only); NULL for another length
    length = node.args.get("length")
    if length is None or (isinstance(length, exp.Literal) and length.name in ("0", "256")):
        return
    name = "spark_sha2_binary" if _kind(node.this) in (T.BINARY, T.VARBINARY) else "spark_sha2"
    _typed(_call(name, node.this, exp.Cast(this=length.copy(), to=exp.DataType.build("INT"))), node, "TEXT")


def _no_error(node: exp.Expression) -> None:  # Spark (ANSI off) gives NULL where DuckDB raises: a 13th month,
    _typed(exp.Anonymous(this="try", expressions=[node.copy()]), node)  # a negative number shifted left, ...


def _reduce(node: exp.Reduce) -> None:  # aggregate(xs, zero, merge, finish): finish applied to the result
    finish = node.args.get("finish")
    if finish is None:
        return
    reduced = node.copy()
    reduced.set("finish", None)
    variable = finish.expressions[0]
    body = finish.this.copy()
    for column in list(body.find_all(exp.Column, exp.Identifier)):  # the variable (an identifier in a lambda)
        if column.name == variable.name and not (isinstance(column, exp.Column) and column.table) and \
                not isinstance(column.parent, exp.Column):
            column.replace(exp.paren(reduced.copy()))
    if isinstance(body, (exp.Column, exp.Identifier)) and body.name == variable.name:
        body = exp.paren(reduced.copy())  # acc -> acc
    _typed(body, node)


def _array_sort(node: exp.ArraySort) -> None:
    if node.args.get("expression") is not None:  # a comparator DuckDB's list_sort cannot take
        raise StreamSQLError("array_sort with a comparator function is not supported yet (it would sort "
                             "ascending, ignoring it)", hint="sort_array(xs, false) sorts descending; "
                             "array_sort(xs) ascending, NULLs last")


def _array_element(node: exp.Bracket) -> None:  # xs[i]: NULL for an index below 0, as Spark (DuckDB counts
    if _kind(node.this) != T.ARRAY or len(node.expressions) != 1 or node.args.get("offset"):  # from the end;
        return  # element_at, 1-based, counts from the end below 0, as DuckDB)
    index = node.expressions[0]
    if isinstance(index, exp.Literal) or (isinstance(index, exp.Neg) and isinstance(index.this, exp.Literal)):
        return
    kept = exp.GTE(this=exp.paren(index.copy()), expression=exp.Literal.number(0))
    _typed(exp.Case(ifs=[exp.If(this=kept, true=node.copy())]), node)


def _hex(node: exp.Hex) -> None:  # hex of a double or a decimal: of the long it truncates to
    if _kind(node.this) in _DOUBLES:
        node.set("this", _call("spark_long", node.this, type_="BIGINT"))
    elif _kind(node.this) == T.DECIMAL:
        node.set("this", exp.TryCast(this=_call("trunc", node.this), to=exp.DataType.build("BIGINT")))


def _str_to_map(node: exp.StrToMap) -> None:
    pairs = node.args.get("pair_delim") or exp.Literal.string(",")
    kv = node.args.get("key_value_delim") or exp.Literal.string(":")
    _typed(_call("spark_str_to_map", node.this, pairs, kv), node, "MAP<TEXT, TEXT>")


def _bit_count(node: exp.BitwiseCount) -> None:  # of the 64-bit long, as Spark's (bit_count(-3) is 63)
    if _kind(node.this) in _RANK:
        node.set("this", exp.Cast(this=node.this.copy(), to=exp.DataType.build("BIGINT")))


def _elt(node: exp.Elt) -> None:  # elt(n, a, b, ...): the n-th, NULL out of range
    case = exp.Case(this=node.this.copy())
    for i, value in enumerate(node.expressions, start=1):
        case = case.when(exp.Literal.number(i), value.copy(), copy=False)
    _typed(case, node, "TEXT")


def _find_in_set(node: exp.Anonymous) -> None:
    _typed(_call("spark_find_in_set", *node.expressions), node, "INT")


def _quote(node: exp.Anonymous) -> None:
    _typed(_call("spark_quote", *node.expressions), node, "TEXT")


def _division(node: exp.Div) -> None:  # Spark's / of a float is a double's (DuckDB divides floats as floats)
    for side in ("this", "expression"):
        operand = node.args.get(side)
        if _kind(operand) == T.FLOAT:
            node.set(side, exp.Cast(this=operand.copy(), to=exp.DataType.build("DOUBLE")))


def _typeof(node: exp.Typeof) -> None:  # Spark's names: 'double', 'int', 'array<int>'
    kind = node.this.type
    if kind is not None and kind.this == T.DECIMAL:
        digits = decimal_of(node.this)
        if digits is not None:
            _typed(exp.Literal.string(f"decimal({digits[0]},{digits[1]})"), node, "TEXT")
    elif kind is not None and kind.this != T.UNKNOWN:
        _typed(exp.Literal.string(kind.sql("spark").lower().replace(" ", "")), node, "TEXT")


# -- arrays -------------------------------------------------------------------------------------------------


def _array_macro(name: str, arity: int):
    def rewrite(node: exp.Expression) -> None:
        args = node.expressions if isinstance(node, exp.Anonymous) or not node.this else \
            [a for a in (node.this, node.args.get("expression")) if a is not None]
        if len(args) == arity and all(a is not None for a in args):
            _typed(_call(name, *args), node)
    return rewrite


def _size(node: exp.ArraySize) -> None:  # size of a map: its entries (-1 for NULL, as size of an array)
    if _kind(node.this) == T.MAP:
        entries = exp.Cast(this=_call("cardinality", node.this), to=exp.DataType.build("INT"))
        _typed(exp.Coalesce(this=entries, expressions=[exp.Literal.number(-1)]), node, "INT")


def _map_contains_key(node: exp.MapContainsKey) -> None:  # (sqlglot writes its arguments the other way round)
    _typed(_call("map_contains", node.this, node.args["key"]), node, "BOOLEAN")


def _array_position(node: exp.ArrayPosition) -> None:  # 0 when absent (DuckDB: NULL)
    array, element = node.this, node.expression
    found = exp.Coalesce(this=node.copy(), expressions=[exp.Literal.number(0)])
    absent = exp.Or(this=exp.Is(this=array.copy(), expression=exp.Null()),
                    expression=exp.Is(this=element.copy(), expression=exp.Null()))
    _typed(exp.Case().when(absent, exp.Null(), copy=False).else_(found, copy=False), node, "BIGINT")


def _array_contains(node: exp.ArrayContains) -> None:
    _typed(_call("spark_array_contains", node.this, node.expression), node, "BOOLEAN")


def _arrays_overlap(node: exp.Anonymous) -> None:
    _typed(_call("spark_arrays_overlap", *node.expressions), node, "BOOLEAN")


def _exists(node: exp.Exists) -> None:  # exists(a, x -> p): three-valued, as Spark's
    predicate = node.args.get("expression")
    if isinstance(predicate, exp.Lambda):
        truths = _call("list_transform", node.this, predicate)
        _typed(_call("spark_exists", truths), node, "BOOLEAN")


def _sequence(node: exp.GenerateSeries) -> None:  # sequence(5, 1) counts down, as Spark's
    start, end = node.args.get("start"), node.args.get("end")
    if node.args.get("step") is None and _kind(start) in _RANK and _kind(end) in _RANK:
        _typed(_call("spark_sequence", start, end), node)
    elif _kind(start) == T.DATE and _kind(end) == T.DATE:  # of dates, dates (DuckDB's steps are timestamps),
        series = node.copy()                                # a day apart by default, down too
        if series.args.get("step") is None:
            day = sqlglot.parse_one(f"CASE WHEN {start.sql('duckdb')} <= {end.sql('duckdb')} THEN INTERVAL 1 DAY "
                                    "ELSE INTERVAL (-1) DAY END", read="duckdb")
            series.set("step", day)
        for side in ("start", "end"):
            series.set(side, exp.Cast(this=series.args[side], to=exp.DataType.build("TIMESTAMP")))
        _typed(exp.Cast(this=series, to=exp.DataType.build("ARRAY<DATE>")), node, "ARRAY<DATE>")


# -- dates --------------------------------------------------------------------------------------------------


def _timestamp(node: exp.Expression) -> exp.Expression:
    if _kind(node) == T.TIMESTAMP:
        return node.copy()
    return exp.Cast(this=node.copy(), to=exp.DataType.build("TIMESTAMP"))  # a string: Spark's forms (spark_dates)


def _months_between(node: exp.MonthsBetween) -> None:
    """Spark's months_between counts the time of day too, rounded to 8 digits unless the third argument is
    false (DuckDB's, as sqlglot writes it, only days)."""
    roundoff = node.args.get("roundoff") or exp.true()
    _typed(_call("spark_months_between", _timestamp(node.this), _timestamp(node.expression), roundoff), node,
           "DOUBLE")


def _timestampdiff(node: exp.TimestampDiff) -> None:  # whole units elapsed (date_diff counts boundaries)
    unit = node.args.get("unit")
    months = {"month": 1, "quarter": 3, "year": 12}.get(unit.name.lower() if unit is not None else "")
    if months is not None:
        diff = _call("spark_months_diff", _timestamp(node.expression), _timestamp(node.this))
        _typed(exp.Anonymous(this="trunc", expressions=[exp.Div(this=diff, expression=exp.Literal.number(
            months))]) if months > 1 else diff, node, "BIGINT")
    elif unit is not None:
        _typed(_call("date_sub", exp.Literal.string(unit.name.lower()), node.expression, node.this), node, "BIGINT")


_DOW = {"dow": "spark_dow", "dayofweek": "spark_dow", "dow_iso": "isodow", "dayofweek_iso": "isodow"}


def _extract(node: exp.Extract) -> None:
    """extract(dayofweek FROM ts) counts from Sunday = 1; extract(second FROM ts) keeps the fraction, a
    DECIMAL(8, 6)."""
    unit = node.this.name.lower()
    _part(node, unit, node.expression)


def _date_part(node: exp.Anonymous) -> None:
    if len(node.expressions) == 2 and isinstance(node.expressions[0], exp.Literal):
        _part(node, node.expressions[0].name.lower(), node.expressions[1])


def _part(node: exp.Expression, unit: str, value: exp.Expression) -> None:
    if unit in _DOW:
        day = _call("isodow" if _DOW[unit] == "isodow" else "dayofweek", value)
        _typed(day if _DOW[unit] == "isodow" else exp.Add(this=day, expression=exp.Literal.number(1)), node, "INT")
    elif unit in ("second", "seconds", "sec", "secs", "s") and _kind(value) in _TIMESTAMPS:
        micros = exp.Div(this=_call("date_part", exp.Literal.string("microseconds"), value),
                         expression=exp.Literal.number("1000000.0"))
        _typed(exp.Cast(this=micros, to=exp.DataType.build("DECIMAL(8, 6)")), node, "DECIMAL(8, 6)")


def _date_from_unix_date(node: exp.DateFromUnixDate) -> None:
    new = exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))
    _typed(new, node, "DATE")


def _current_timezone(node: exp.CurrentTimezone) -> None:  # the session time zone: UTC
    _typed(exp.Literal.string("UTC"), node, "TEXT")


def _shift(node: exp.BitwiseLeftShift | exp.BitwiseRightShift | exp.Anonymous) -> None:
    """shiftleft / shiftright / shiftrightunsigned (and << >>) as Java shifts an int or a long: the count
    masked, the bits shifted out dropped (DuckDB raises on an overflow). A byte or short shifts as an int."""
    value, count = (node.this, node.expression) if not isinstance(node, exp.Anonymous) else node.expressions[:2]
    width = 64 if _kind(value) == T.BIGINT else 32 if _kind(value) in _INTEGRAL else None
    if width is None or isinstance(node, exp.Anonymous) and len(node.expressions) != 2:
        return
    kind = "shl" if isinstance(node, exp.BitwiseLeftShift) else "shr" if isinstance(node, exp.BitwiseRightShift) \
        else "ushr"
    if _kind(count) in (*_DOUBLES, T.DECIMAL):  # a fractional count is cast to an int, as Spark's implicit cast
        count = exp.TryCast(this=_call("trunc", count), to=exp.DataType.build("INT"))
    _typed(_call(f"spark_{kind}{width}", value, count), node, "BIGINT" if width == 64 else "INT")


def _unix_seconds(node: exp.UnixSeconds) -> None:
    _typed(_call("spark_unix_seconds", node.this), node, "BIGINT")


def _unix_date(node: exp.Anonymous) -> None:  # days since 1970-01-01, an int
    if len(node.expressions) == 1:
        days = _call("date_diff", exp.Literal.string("day"), exp.cast(exp.Literal.string("1970-01-01"), "DATE"),
                     exp.cast(node.expressions[0].copy(), "DATE"))
        _typed(exp.Cast(this=days, to=exp.DataType.build("INT")), node, "INT")


def _substring_index(node: exp.SubstringIndex) -> None:
    args = [node.this, node.args.get("delimiter"), node.args.get("count")]
    if all(a is not None for a in args):
        _typed(_call("spark_substring_index", *args), node, "TEXT")


def _make_date(node: exp.Anonymous) -> None:  # a fractional year, month or day is cast to an int, as Spark's
    for arg in node.expressions:                 # implicit cast (DuckDB's make_date takes integers only)
        if _kind(arg) in (*_DOUBLES, T.DECIMAL):
            arg.replace(exp.TryCast(this=_call("trunc", arg), to=exp.DataType.build("INT")))


def _left_right(node: exp.Left | exp.Right) -> None:  # '' for a length below 1 (DuckDB's counts from the end)
    length = node.expression
    if not (isinstance(length, exp.Literal) and not length.is_string):
        node.set("expression", at_least_zero(length))


def at_least_zero(length: exp.Expression) -> exp.Expression:
    """``length``, 0 where it is below 0, NULL where NULL (DuckDB's greatest() passes a NULL by)."""
    below = exp.LT(this=length.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=below, true=exp.Literal.number(0))], default=length.copy())


def _short_name(node: exp.Dayname | exp.Monthname) -> None:  # Spark 4's dayname/monthname: 'Mon', 'Sep'
    _typed(exp.Left(this=node.copy(), expression=exp.Literal.number(3)), node, "TEXT")


def _url_encode(node: exp.Anonymous) -> None:
    """java.net.URLEncoder's form: a space is '+', '*' stays, '~' is %7E (DuckDB's url_encode is RFC 3986's)."""
    encoded = _call("url_encode", node.expressions[0])
    for old, new in (("%20", "+"), ("~", "%7E"), ("%2A", "*")):
        encoded = _call("replace", encoded, exp.Literal.string(old), exp.Literal.string(new))
    _typed(encoded, node, "TEXT")


def _url_decode(node: exp.Anonymous) -> None:  # java.net.URLDecoder: a '+' is a space
    plus = _call("replace", node.expressions[0], exp.Literal.string("+"), exp.Literal.string("%20"))
    _typed(_call("url_decode", plus), node, "TEXT")


def _regexp(node: exp.Anonymous) -> None:  # regexp(s, p) is rlike
    if len(node.expressions) == 2:
        _typed(exp.RegexpLike(this=node.expressions[0].copy(), expression=node.expressions[1].copy()), node,
               "BOOLEAN")


def _refuse(node: exp.Anonymous) -> None:
    name = node.name.lower()
    if name == "monotonically_increasing_id":
        raise StreamSQLError("monotonically_increasing_id() is not supported with streaming queries, as in Spark: "
                             f"{_REFUSED[name]}", hint="a key of the rows' own columns (or uuid()) identifies a row")
    raise StreamSQLError(f"function {name} is not supported yet: {_REFUSED[name]}",
                         hint="a Python function registered with sn.udf(...) can compute it")


def _isnull(node: exp.Anonymous) -> None:
    _typed(exp.Is(this=node.expressions[0].copy(), expression=exp.Null()), node, "BOOLEAN")


def _isnotnull(node: exp.Anonymous) -> None:
    _typed(exp.Not(this=exp.Is(this=node.expressions[0].copy(), expression=exp.Null())), node, "BOOLEAN")


_BY_CLASS = {
    exp.IsNan: _isnan, exp.Rint: _rint, exp.Sign: _sign, exp.Ceil: _ceil_floor, exp.Floor: _ceil_floor, exp.Ln: _ln,
    exp.Log: _log, exp.Nanvl: _nanvl, exp.SafeAdd: _try_arithmetic, exp.SafeSubtract: _try_arithmetic,
    exp.SafeMultiply: _try_arithmetic, exp.WidthBucket: _width_bucket, exp.Factorial: _factorial, exp.Div: _division,
    exp.BitwiseCount: _bit_count, exp.Hex: _hex, exp.SHA2: _sha2,
    exp.TimestampFromParts: _no_error, exp.Reduce: _reduce, exp.ArraySort: _array_sort, exp.Bracket: _array_element, exp.Typeof: _typeof,
    # text
    exp.Upper: _upper_lower, exp.Lower: _upper_lower, exp.Initcap: _initcap, exp.RegexpSubstr: _regexp_substr,
    exp.RegexpReplace: _regexp_replace, exp.Format: _format, exp.ToBase64: _to_base64, exp.Chr: _chr,
    exp.StrToMap: _str_to_map, exp.Elt: _elt, exp.ParseUrl: _parse_url, exp.Soundex: _soundex,
    exp.Pad: _pad,
    # arrays
    exp.ArrayDistinct: _array_macro("spark_array_distinct", 1),
    exp.ArrayExcept: _array_macro("spark_array_except", 2), exp.ArrayRemove: _array_macro("spark_array_remove", 2),
    exp.ArrayContains: _array_contains, exp.ArrayPosition: _array_position, exp.ArraySize: _size,
    exp.MapContainsKey: _map_contains_key,
    exp.Exists: _exists, exp.GenerateSeries: _sequence, **spark_arrays.BY_CLASS,
    # dates
    exp.MonthsBetween: _months_between, exp.TimestampDiff: _timestampdiff, exp.Extract: _extract,
    exp.DateFromUnixDate: _date_from_unix_date, exp.CurrentTimezone: _current_timezone,
    exp.Dayname: _short_name, exp.Monthname: _short_name, exp.UnixSeconds: _unix_seconds,
    exp.Left: _left_right, exp.Right: _left_right, exp.ToNumber: _to_number, exp.SubstringIndex: _substring_index,
    exp.Atan2: _atan2, exp.Neg: _negative_literal,
    exp.ArrayIntersect: _array_macro("spark_array_intersect", 2), exp.Flatten: _array_macro("spark_flatten", 1),
    exp.BitwiseLeftShift: _shift, exp.BitwiseRightShift: _shift,
}

def _cardinality(node: exp.Anonymous) -> None:  # size(): -1 for NULL
    if len(node.expressions) == 1:
        _typed(exp.Coalesce(this=exp.Cast(this=_call("cardinality", node.expressions[0]), to=exp.DataType.build("INT")),
                            expressions=[exp.Literal.number(-1)]), node, "INT")


_BY_NAME = {
    "cardinality": _cardinality, "array_size": _array_size, "try_to_number": _try_to_number, "to_varchar": _to_char, "to_char": _to_char,
    "unix_date": _unix_date, "make_date": _make_date,
    "e": _e, "hypot": _hypot, "zeroifnull": _zeroifnull, "log1p": _log1p_expm1, "expm1": _log1p_expm1,
    "format_number": _format_number, "conv": _conv, "octet_length": _octet_length, "btrim": _btrim,
    "shiftrightunsigned": _shift, "url_encode": _url_encode, "url_decode": _url_decode, "regexp": _regexp,
    "crc32": _crc32, "hash": _hash, "xxhash64": _hash, "find_in_set": _find_in_set, "quote": _quote, "isnull": _isnull, "isnotnull": _isnotnull,
    "array_union": _array_macro("spark_array_union", 2), "array_repeat": _array_macro("spark_array_repeat", 2),
    "arrays_overlap": _arrays_overlap, "date_part": _date_part, "printf": _printf, "mask": _mask,
    **spark_arrays.BY_NAME,
    **dict.fromkeys(_REFUSED, _refuse),
}
