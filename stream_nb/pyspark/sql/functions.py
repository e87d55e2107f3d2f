"""``pyspark.sql.functions`` as Spark SQL expressions: each function builds the call the engine runs and
names its column as Spark does (``avg(temp)``, ``count``, ``window``).

>>> window("ts", "10 seconds")._sql()
"WINDOW(`ts`, '10 seconds')"
>>> sum("n")._name
'sum(n)'
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from sqlglot import exp as _exp  # not `exp`: that name is Spark's exponential below
from sqlglot import parse_one
from sqlglot.errors import ParseError

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql.column import Column, _as_col, _call, _column_ref, _literal, _to_col
from stream_nb.pyspark.sql.higher_order import (  # noqa: F401 (pyspark.sql.functions has them)
    aggregate,
    array_distinct,
    array_except,
    array_intersect,
    array_position,
    array_remove,
    array_sort,
    arrays_zip,
    exists,
    filter,
    flatten,
    forall,
    get,
    map_filter,
    reduce,
    sequence,
    slice,
    transform,
    transform_keys,
    transform_values,
    zip_with,
)
from stream_nb.pyspark.sql.types import (
    ArrayType,
    DataType,
    StructType,
    _parse_datatype_string,
    ddl_type,
    to_ddl,
)
from stream_nb.pyspark.sql.udf import pandas_udf, udf  # noqa: F401 (pyspark.sql.functions has them)
from stream_nb.sql.dialect import StreamSpark
from stream_nb.sql.spark_names import spark_name


def col(col: str) -> Column:
    return _column_ref(col)


column = col


def lit(col: Any) -> Column:
    return col if isinstance(col, Column) else _literal(col)


def expr(str: str) -> Column:
    try:
        node = parse_one(str, read=StreamSpark)  # the engine's Spark: window(...) is a call
    except ParseError as err:
        raise AnalysisException(f"Syntax error in expr({str!r}): {err.errors[0]['description']}",
                                "PARSE_SYNTAX_ERROR") from None
    return Column(node, spark_name(node, str))


def when(condition: Column, value: Any) -> Column:
    v = _to_col(value)
    return Column(_exp.Case(ifs=[_exp.If(this=condition._unaliased(), true=v._unaliased())]),
                  f"CASE WHEN {condition._name} THEN {v._name} END")


def _f(name: str, *args: Any, spark: str | None = None) -> Column:
    """The SQL function ``name`` (``spark``: the name Spark shows) of columns, column names or literals."""
    return _call(name, spark or name, *[_v(a) for a in args])


def _v(value: Any) -> Column:
    """A function's argument: a Column as is, a str names a column, anything else is a literal."""
    return value if isinstance(value, Column) else _column_ref(value) if isinstance(value, builtins.str) \
        else _literal(value, double=False)


def _int(c: Column) -> Column:
    """Spark types these functions int; DuckDB's give bigint."""
    return Column(_exp.Cast(this=c._expr, to=_exp.DataType.build("int")), c._name)


# aggregates
def count(col: Column | str) -> Column:
    if isinstance(col, str) and col == "*":
        return Column(_exp.Count(this=_exp.Star()), "count(1)")
    c = _as_col(col)
    return Column(_exp.Count(this=c._unaliased()), f"count({c._name})")


def countDistinct(col: Column | str, *cols: Column | str) -> Column:
    cs = [_as_col(c) for c in (col, *cols)]
    return Column(_exp.Count(this=_exp.Distinct(expressions=[c._unaliased() for c in cs])),
                  f"count(DISTINCT {', '.join(c._name for c in cs)})")


count_distinct = countDistinct


def sum(col: Column | str) -> Column: return _f("sum", col)
def avg(col: Column | str) -> Column: return _f("avg", col)
def mean(col: Column | str) -> Column: return _f("avg", col, spark="avg")
def min(col: Column | str) -> Column: return _f("min", col)
def max(col: Column | str) -> Column: return _f("max", col)
def first(col: Column | str, ignorenulls: bool = False) -> Column: return _nulls("first", col, ignorenulls)
def last(col: Column | str, ignorenulls: bool = False) -> Column: return _nulls("last", col, ignorenulls)


def _nulls(fn: str, col: Column | str, ignorenulls: bool) -> Column:
    """first / last: Spark's two-argument form skips NULLs; named as Spark names it either way."""
    c = _as_col(col)
    return _call(fn, fn, c, *([lit(True)] if ignorenulls else []), name=f"{fn}({c._name})")


def collect_list(col: Column | str) -> Column: return _f("collect_list", col)
def collect_set(col: Column | str) -> Column: return _f("collect_set", col)
def stddev(col: Column | str) -> Column: return _f("stddev", col)
def stddev_samp(col: Column | str) -> Column: return _f("stddev_samp", col)
def stddev_pop(col: Column | str) -> Column: return _f("stddev_pop", col)
def variance(col: Column | str) -> Column: return _f("variance", col)
def var_samp(col: Column | str) -> Column: return _f("var_samp", col)
def var_pop(col: Column | str) -> Column: return _f("var_pop", col)
def skewness(col: Column | str) -> Column: return _f("skewness", col)
def kurtosis(col: Column | str) -> Column: return _f("kurtosis", col)
def sum_distinct(col: Column | str) -> Column:
    c = _as_col(col)
    return Column(_exp.Sum(this=_exp.Distinct(expressions=[c._unaliased()])), f"sum(DISTINCT {c._name})")


def approx_count_distinct(col: Column | str, rsd: float | None = None) -> Column:
    return _f("approx_count_distinct", col)


def max_by(col: Column | str, ord: Column | str) -> Column: return _f("max_by", col, ord)
def min_by(col: Column | str, ord: Column | str) -> Column: return _f("min_by", col, ord)
def median(col: Column | str) -> Column: return _f("median", col)
def corr(col1: Column | str, col2: Column | str) -> Column: return _f("corr", col1, col2)
def bit_and(col: Column | str) -> Column: return _f("bit_and", col)
def mode(col: Column | str) -> Column: return _f("mode", col)
def grouping(col: Column | str) -> Column: return _f("grouping", col)
def grouping_id(*cols: Column | str) -> Column: return _f("grouping_id", *cols)
def product(col: Column | str) -> Column: return _f("product", col)
def bit_or(col: Column | str) -> Column: return _f("bit_or", col)
def bit_xor(col: Column | str) -> Column: return _f("bit_xor", col)
def covar_pop(col1: Column | str, col2: Column | str) -> Column: return _f("covar_pop", col1, col2)
def covar_samp(col1: Column | str, col2: Column | str) -> Column: return _f("covar_samp", col1, col2)
def regr_count(y: Column | str, x: Column | str) -> Column: return _f("regr_count", y, x)
def regr_avgx(y: Column | str, x: Column | str) -> Column: return _f("regr_avgx", y, x)
def regr_avgy(y: Column | str, x: Column | str) -> Column: return _f("regr_avgy", y, x)
def regr_sxx(y: Column | str, x: Column | str) -> Column: return _f("regr_sxx", y, x)
def regr_syy(y: Column | str, x: Column | str) -> Column: return _f("regr_syy", y, x)
def regr_sxy(y: Column | str, x: Column | str) -> Column: return _f("regr_sxy", y, x)
def regr_slope(y: Column | str, x: Column | str) -> Column: return _f("regr_slope", y, x)
def regr_intercept(y: Column | str, x: Column | str) -> Column: return _f("regr_intercept", y, x)
def regr_r2(y: Column | str, x: Column | str) -> Column: return _f("regr_r2", y, x)


def percentile_approx(col: Column | str, percentage: Any, accuracy: Any = 10000) -> Column:
    """Named as Spark names it, the accuracy shown (``percentile_approx(temp, 0.5, 10000)``); a list of
    percentages is an array of them (and gives an array)."""
    return _f("percentile_approx", col, _percentages(percentage), lit(accuracy))


approx_percentile = percentile_approx


def percentile(col: Column | str, percentage: Any, frequency: Any = 1) -> Column:
    """Exact, interpolated; Spark's frequency column (each row counted that many times) is not supported."""
    if not (isinstance(frequency, int) and frequency == 1):
        raise AnalysisException("percentile() with a frequency other than 1 is not supported by stream_nb",
                                "UNSUPPORTED_FEATURE")
    return _f("percentile", col, _percentages(percentage), lit(frequency))


def _percentages(percentage: Any) -> Column:
    if isinstance(percentage, (list, tuple)):
        return array(*[lit(p) for p in percentage])
    return lit(percentage)


def broadcast(df: Any) -> Any:
    """A join hint (ship the small side to every executor); DuckDB plans its joins itself: the DataFrame."""
    return df


# event-time windows
def window(timeColumn: Column | str, windowDuration: str, slideDuration: str | None = None,
           startTime: str | None = None) -> Column:
    args = [_as_col(timeColumn), lit(windowDuration)] + ([lit(slideDuration)] if slideDuration else [])
    if startTime is not None:  # Spark's offset of the windows from the epoch; tumbling: the slide is the size
        args += ([] if slideDuration else [lit(windowDuration)]) + [lit(startTime)]
    return Column(_exp.Anonymous(this="window", expressions=[a._unaliased() for a in args]), "window")


def session_window(timeColumn: Column | str, gapDuration: Column | str) -> Column:
    gap = gapDuration if isinstance(gapDuration, Column) else lit(gapDuration)
    return Column(_exp.Anonymous(this="session_window", expressions=[_as_col(timeColumn)._unaliased(),
                                                                      gap._unaliased()]), "session_window")


def window_time(windowColumn: Column | str) -> Column:
    return _f("window_time", windowColumn)


# collections and JSON
def explode(col: Column | str) -> Column:
    return _call("explode", "explode", _as_col(col), name="col")


def explode_outer(col: Column | str) -> Column:
    return _call("explode_outer", "explode_outer", _as_col(col), name="col")


def json_tuple(col: Column | str, *fields: str) -> Column:
    """A column per field (``c0``, ``c1``, ...), its value in the JSON object as a string (NULL where absent)."""
    if not fields:
        raise AnalysisException("json_tuple requires at least one field name", "WRONG_NUM_ARGS")
    return Column(_exp.Anonymous(this="json_tuple", expressions=[_as_col(col)._unaliased(),
                                                                *(_exp.Literal.string(f) for f in fields)]), "c0")


def posexplode(col: Column | str) -> Column:
    """Two columns, ``pos`` and ``col`` (``.alias("p", "x")`` names them)."""
    return Column(_exp.Posexplode(this=_as_col(col)._unaliased()), "col")


def split(str: Column | str, pattern: str, limit: int = -1) -> Column:
    c = _as_col(str)
    limits = [lit(limit)] if limit != -1 else []  # -1 (no limit) is split's default; the engine takes two args
    return _call("split", "split", c, lit(pattern), *limits, name=f"split({c._name}, {pattern}, {limit})")


def size(col: Column | str) -> Column: return _int(_f("size", col))
def array_contains(col: Column | str, value: Any) -> Column:
    return _call("array_contains", "array_contains", _as_col(col), _to_col(value))


def element_at(col: Column | str, extraction: Any) -> Column:
    return _call("element_at", "element_at", _as_col(col), _to_col(extraction))


def array(*cols: Column | str) -> Column: return _f("array", *cols)
def struct(*cols: Column | str) -> Column:
    cs = [_as_col(c) for c in cols]
    return Column(_exp.Struct(expressions=[c._named() for c in cs]), f"struct({', '.join(c._name for c in cs)})")


def from_json(col: Column | str, schema: StructType | DataType | str, options: dict | None = None) -> Column:
    """A struct or array schema goes as DDL to the engine's from_json (``sql/json_functions.py``), which answers
    as Spark's PERMISSIVE mode (NULL fields for a malformed document); one with a MAP field, which that does not
    read yet, to DuckDB's ``from_json`` as JSON of DuckDB type names."""
    dtype = _parse_datatype_string(schema) if isinstance(schema, str) else schema
    c = _as_col(col)
    if isinstance(dtype, StructType) and "map<" not in dtype.simpleString():
        return _call("from_json", "from_json", c, lit(to_ddl(dtype)), name=f"from_json({c._name})")
    if isinstance(dtype, ArrayType) and "map<" not in dtype.simpleString():
        return _call("from_json", "from_json", c, lit(ddl_type(dtype)), name=f"from_json({c._name})")
    structure = json.dumps(_duckdb_structure(dtype), separators=(",", ":"))
    return _call("from_json", "from_json", c, lit(structure), name=f"from_json({c._name})")


def _duckdb_structure(dtype: DataType) -> Any:
    from stream_nb.pyspark.sql import types as T

    if isinstance(dtype, StructType):
        return {f.name: _duckdb_structure(f.dataType) for f in dtype.fields}
    if isinstance(dtype, T.ArrayType):
        return [_duckdb_structure(dtype.elementType)]
    if isinstance(dtype, T.MapType):
        return f"MAP(VARCHAR, {_duckdb_structure(dtype.valueType)})"
    if isinstance(dtype, T.DecimalType):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    names = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
             "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN",
             "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP", "date": "DATE", "binary": "BLOB"}
    return names.get(dtype.simpleString(), "VARCHAR")


def to_json(col: Column | str, options: dict | None = None) -> Column: return _f("to_json", col)


def get_json_object(col: Column | str, path: str) -> Column:
    c = _as_col(col)
    return _call("get_json_object", "get_json_object", c, lit(path))


# strings
def upper(col: Column | str) -> Column: return _f("upper", col)
def lower(col: Column | str) -> Column: return _f("lower", col)
def length(col: Column | str) -> Column: return _int(_f("length", col))
def trim(col: Column | str) -> Column: return _f("trim", col)
def ltrim(col: Column | str) -> Column: return _f("ltrim", col)
def rtrim(col: Column | str) -> Column: return _f("rtrim", col)
def reverse(col: Column | str) -> Column: return _f("reverse", col)
def initcap(col: Column | str) -> Column: return _f("initcap", col)
def concat(*cols: Column | str) -> Column: return _f("concat", *cols)


def concat_ws(sep: str, *cols: Column | str) -> Column:
    cs = [_as_col(c) for c in cols]
    return _call("concat_ws", "concat_ws", lit(sep), *cs)


def substring(str: Column | str, pos: int, len: int) -> Column:
    return _call("substring", "substring", _as_col(str), lit(pos), lit(len))


def regexp_replace(string: Column | str, pattern: str, replacement: str) -> Column:
    string, pattern, replacement = _as_col(string), lit(pattern), lit(replacement)  # a str: its text
    return _call("regexp_replace", "regexp_replace", string, pattern, replacement,  # Spark shows position 1
                 name=f"regexp_replace({string._name}, {pattern._name}, {replacement._name}, 1)")


def regexp_extract(str: Column | str, pattern: str, idx: int) -> Column:
    return _call("regexp_extract", "regexp_extract", _as_col(str), lit(pattern), lit(idx))


def format_string(format: str, *cols: Column | str) -> Column:
    return _call("format_string", "format_string", lit(format), *[_as_col(c) for c in cols])


def instr(str: Column | str, substr: str) -> Column:
    return _int(_call("instr", "instr", _as_col(str), lit(substr)))


def lpad(col: Column | str, len: int, pad: str) -> Column:
    return _call("lpad", "lpad", _as_col(col), lit(len), lit(pad))


def rpad(col: Column | str, len: int, pad: str) -> Column:
    return _call("rpad", "rpad", _as_col(col), lit(len), lit(pad))


def translate(srcCol: Column | str, matching: str, replace: str) -> Column:
    return _call("translate", "translate", _as_col(srcCol), lit(matching), lit(replace))


def md5(col: Column | str) -> Column: return _f("md5", col)
def sha1(col: Column | str) -> Column: return _f("sha1", col)
def sha2(col: Column | str, numBits: int) -> Column: return _call("sha2", "sha2", _as_col(col), lit(numBits))
def ascii(col: Column | str) -> Column: return _f("ascii", col)
def repeat(col: Column | str, n: int) -> Column: return _call("repeat", "repeat", _as_col(col), lit(n))
def levenshtein(left: Column | str, right: Column | str) -> Column: return _f("levenshtein", left, right)


def substring_index(str: Column | str, delim: str, count: int) -> Column:
    return _call("substring_index", "substring_index", _as_col(str), lit(delim), lit(count))


def locate(substr: str, str: Column | str, pos: int = 1) -> Column:
    return _call("locate", "locate", lit(substr), _as_col(str), lit(pos))


def array_join(col: Column | str, delimiter: str, null_replacement: str | None = None) -> Column:
    extra = [lit(null_replacement)] if null_replacement is not None else []
    return _call("array_join", "array_join", _as_col(col), lit(delimiter), *extra)


def sort_array(col: Column | str, asc: bool = True) -> Column:
    return _call("sort_array", "sort_array", _as_col(col), lit(asc))


def map_keys(col: Column | str) -> Column: return _f("map_keys", col)
def map_values(col: Column | str) -> Column: return _f("map_values", col)
def map_entries(col: Column | str) -> Column: return _f("map_entries", col)
def map_from_arrays(col1: Column | str, col2: Column | str) -> Column: return _f("map_from_arrays", col1, col2)
def create_map(*cols: Column | str) -> Column: return _f("map", *cols)


def map_contains_key(col: Column | str, value: Any) -> Column:
    return _call("map_contains_key", "map_contains_key", _as_col(col), _to_col(value))


def array_max(col: Column | str) -> Column: return _f("array_max", col)
def array_min(col: Column | str) -> Column: return _f("array_min", col)


# null handling and math
def coalesce(*cols: Column | str) -> Column: return _f("coalesce", *cols)
def isnull(col: Column | str) -> Column: return _as_col(col).isNull()
def abs(col: Column | str) -> Column: return _f("abs", col)
def sqrt(col: Column | str) -> Column: return _f("sqrt", col, spark="SQRT")
def floor(col: Column | str) -> Column: return _f("floor", col, spark="FLOOR")
def ceil(col: Column | str) -> Column: return _f("ceil", col, spark="CEIL")
def exp(col: Column | str) -> Column: return _f("exp", col, spark="EXP")


exp_ = exp  # the name this module gave it before it could be exp


def signum(col: Column | str) -> Column:
    c = _f("signum", col, spark="SIGNUM")
    return Column(_exp.Cast(this=c._expr, to=_exp.DataType.build("double")), c._name)  # Spark's is a double


def isnan(col: Column | str) -> Column:
    c = _f("isnan", col)  # Spark: false for NULL
    return Column(_exp.Coalesce(this=c._expr, expressions=[_exp.false()]), c._name)


def log(arg1: Column | str | float, arg2: Column | str | None = None) -> Column:
    """``log(col)``: the natural logarithm; ``log(base, col)``: in that base (Spark's argument order)."""
    if arg2 is None:
        return _f("ln", arg1, spark="ln")
    return _call("log", "LOG", lit(arg1), _as_col(arg2))


def pow(col1: Column | str | float, col2: Column | str | float) -> Column:
    return _call("power", "POWER", _to_col(col1) if not isinstance(col1, str) else _as_col(col1),
                 _to_col(col2) if not isinstance(col2, str) else _as_col(col2))


def round(col: Column | str, scale: int = 0) -> Column:
    return _call("round", "round", _as_col(col), lit(scale))


def bround(col: Column | str, scale: int = 0) -> Column:
    return _call("bround", "bround", _as_col(col), lit(scale))


def rand(seed: int | None = None) -> Column:
    """Uniform in [0, 1), as Spark's; the numbers are not Spark's for the same seed (another generator)."""
    return _call("rand", "rand", *([lit(seed)] if seed is not None else []))


def monotonically_increasing_id() -> Column:  # refused on a stream when the query starts, as Spark refuses it
    return _call("monotonically_increasing_id", "monotonically_increasing_id")


def greatest(*cols: Column | str) -> Column: return _f("greatest", *cols)
def ifnull(col1: Column | str, col2: Column | str) -> Column: return _f("ifnull", col1, col2)
def nvl(col1: Column | str, col2: Column | str) -> Column: return _f("nvl", col1, col2)
def nullif(col1: Column | str, col2: Column | str) -> Column: return _f("nullif", col1, col2)
def log10(col: Column | str) -> Column: return _f("log10", col, spark="LOG10")
def log2(col: Column | str) -> Column: return _f("log2", col, spark="LOG2")
def least(*cols: Column | str) -> Column: return _f("least", *cols)


# dates and times (session time zone UTC)
def current_timestamp() -> Column:
    return Column(_exp.CurrentTimestamp(), "current_timestamp()")


def current_date() -> Column:
    return Column(_exp.CurrentDate(), "current_date()")


def to_timestamp(col: Column | str, format: str | None = None) -> Column:
    c = _as_col(col)
    return _call("to_timestamp", "to_timestamp", c, *([lit(format)] if format else []))


def to_date(col: Column | str, format: str | None = None) -> Column:
    c = _as_col(col)
    return _call("to_date", "to_date", c, *([lit(format)] if format else []))


def date_format(date: Column | str, format: str) -> Column:
    return _call("date_format", "date_format", _as_col(date), lit(format))


def unix_timestamp(timestamp: Column | str | None = None, format: str = "yyyy-MM-dd HH:mm:ss") -> Column:
    if timestamp is None:
        return Column(_exp.Anonymous(this="unix_timestamp", expressions=[]), "unix_timestamp()")
    return _call("unix_timestamp", "unix_timestamp", _as_col(timestamp), lit(format))


def from_unixtime(timestamp: Column | str, format: str = "yyyy-MM-dd HH:mm:ss") -> Column:
    return _call("from_unixtime", "from_unixtime", _as_col(timestamp), lit(format))


def timestamp_seconds(col: Column | str) -> Column: return _f("timestamp_seconds", col)
def unix_seconds(col: Column | str) -> Column: return _f("unix_seconds", col)
def unix_millis(col: Column | str) -> Column: return _f("unix_millis", col)
def unix_micros(col: Column | str) -> Column: return _f("unix_micros", col)
def year(col: Column | str) -> Column: return _int(_f("year", col))
def month(col: Column | str) -> Column: return _int(_f("month", col))
def dayofmonth(col: Column | str) -> Column: return _int(_f("dayofmonth", col))
def dayofweek(col: Column | str) -> Column: return _int(_f("dayofweek", col))
def hour(col: Column | str) -> Column: return _int(_f("hour", col))
def minute(col: Column | str) -> Column: return _int(_f("minute", col))
def second(col: Column | str) -> Column: return _int(_f("second", col))


def date_add(start: Column | str, days: int) -> Column:
    return _call("date_add", "date_add", _as_col(start), lit(days))


def date_sub(start: Column | str, days: int) -> Column:
    return _date(_call("date_sub", "date_sub", _as_col(start), lit(days)))


def add_months(start: Column | str, months: int) -> Column:
    return _date(_call("add_months", "add_months", _as_col(start), lit(months)))


def _date(c: Column) -> Column:
    """Spark types these functions date; DuckDB's keep a timestamp's type."""
    return Column(_exp.Cast(this=c._expr, to=_exp.DataType.build("date")), c._name)


def last_day(date: Column | str) -> Column: return _f("last_day", date)
def weekofyear(col: Column | str) -> Column: return _int(_f("weekofyear", col))
def quarter(col: Column | str) -> Column: return _int(_f("quarter", col))
def dayofyear(col: Column | str) -> Column: return _int(_f("dayofyear", col))


def months_between(date1: Column | str, date2: Column | str, roundOff: bool = True) -> Column:
    return _call("months_between", "months_between", _as_col(date1), _as_col(date2), lit(roundOff))


def trunc(date: Column | str, format: str) -> Column:
    return _call("trunc", "trunc", _as_col(date), lit(format))


def to_utc_timestamp(timestamp: Column | str, tz: str) -> Column:
    return _call("to_utc_timestamp", "to_utc_timestamp", _as_col(timestamp), _to_col(tz))


def from_utc_timestamp(timestamp: Column | str, tz: str) -> Column:
    return _call("from_utc_timestamp", "from_utc_timestamp", _as_col(timestamp), _to_col(tz))


def datediff(end: Column | str, start: Column | str) -> Column:
    return _call("datediff", "datediff", _as_col(end), _as_col(start))


def date_trunc(format: str, timestamp: Column | str) -> Column:
    return _call("date_trunc", "date_trunc", lit(format), _as_col(timestamp))


def asc(col: str) -> Column: return _as_col(col).asc()
def desc(col: str) -> Column: return _as_col(col).desc()


_ = builtins  # the names above shadow builtins, as in pyspark.sql.functions


# what `from pyspark.sql.functions import *` brings in: the functions, not this module's imports
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_") and callable(value)
           and getattr(value, "__module__", "").startswith("stream_nb.pyspark.sql")
           and not isinstance(value, type)]


def __getattr__(name: builtins.str) -> Any:
    """A PySpark function not written here yet: say so, and how to call it as Spark SQL."""
    if name.startswith("_"):
        raise AttributeError(name)
    raise AttributeError(f"pyspark.sql.functions.{name} is not in stream_nb.pyspark yet: call it as Spark SQL, "
                         f"F.expr(\"{name}(...)\") or selectExpr (the engine runs the Spark SQL functions it knows)")


# Spark's scalar functions the SQL engine computes as Spark does (sql/spark_functions.py)
def nanvl(col1: Column | str, col2: Column | str) -> Column: return _f("nanvl", col1, col2)
def try_add(left: Column | str, right: Column | str) -> Column: return _f("try_add", left, right)
def try_subtract(left: Column | str, right: Column | str) -> Column: return _f("try_subtract", left, right)
def try_multiply(left: Column | str, right: Column | str) -> Column: return _f("try_multiply", left, right)
def octet_length(col: Column | str) -> Column: return _f("octet_length", col)
def regexp_substr(str: Column | str, regexp: Column | str) -> Column: return _f("regexp_substr", str, regexp)
def e() -> Column: return _call("e", "E")
def hypot(col1: Column | str, col2: Column | str) -> Column: return _f("hypot", col1, col2, spark="HYPOT")
def bitwise_not(col: Column | str) -> Column: return Column(_exp.BitwiseNot(this=_as_col(col)._unaliased()),
                                                            f"~{_as_col(col)._name}")
def zeroifnull(col: Column | str) -> Column: return _f("zeroifnull", col)
def array_union(col1: Column | str, col2: Column | str) -> Column: return _f("array_union", col1, col2)
def arrays_overlap(a1: Column | str, a2: Column | str) -> Column: return _f("arrays_overlap", a1, a2)
def crc32(col: Column | str) -> Column: return _f("crc32", col)
def hash(*cols: Column | str) -> Column: return _f("hash", *cols)
def xxhash64(*cols: Column | str) -> Column: return _f("xxhash64", *cols)
def current_timezone() -> Column: return _call("current_timezone", "current_timezone")


def btrim(str: Column | str, trim: Column | str | None = None) -> Column:
    return _f("btrim", str) if trim is None else _f("btrim", str, trim)


def width_bucket(v: Column | str, min: Column | str, max: Column | str, numBucket: Column | str | int) -> Column:
    return _call("width_bucket", "width_bucket", *(_as_col(c) for c in (v, min, max)), _to_col(numBucket))


def array_repeat(col: Column | str, count: Column | str | int) -> Column:
    return _call("array_repeat", "array_repeat", _as_col(col), _to_col(count))


def format_number(col: Column | str, d: int) -> Column:
    return _call("format_number", "format_number", _as_col(col), lit(d))


def conv(col: Column | str, fromBase: int, toBase: int) -> Column:
    return _call("conv", "conv", _as_col(col), lit(fromBase), lit(toBase))


def str_to_map(text: Column | str, pairDelim: Column | str | None = None,
               keyValueDelim: Column | str | None = None) -> Column:
    pairs, kv = (lit(d) if d is None or isinstance(d, builtins.str) else d
                 for d in (pairDelim if pairDelim is not None else ",", keyValueDelim if keyValueDelim is not None else ":"))
    return _call("str_to_map", "str_to_map", _as_col(text), pairs, kv)


__all__ += [
    "array_repeat",
    "array_union",
    "arrays_overlap",
    "bitwise_not",
    "btrim",
    "conv",
    "crc32",
    "current_timezone",
    "e",
    "format_number",
    "hash",
    "hypot",
    "nanvl",
    "octet_length",
    "regexp_substr",
    "str_to_map",
    "try_add",
    "try_multiply",
    "try_subtract",
    "width_bucket",
    "xxhash64",
    "zeroifnull",
]


def _ignoring_nulls(fn: str, col: Column | str, ignoreNulls: bool | Column | None) -> Column:
    """first_value / last_value / any_value: Spark's name leaves the flag out (``first_value(v)`` either way)."""
    c = _as_col(col)
    flag = [] if ignoreNulls is None or ignoreNulls is False else [_as_col(ignoreNulls) if isinstance(
        ignoreNulls, Column) else lit(True)]
    return _call(fn, fn, c, *flag, name=f"{fn}({c._name})")


def first_value(col: Column | str, ignoreNulls: bool | Column | None = None) -> Column:
    return _ignoring_nulls("first_value", col, ignoreNulls)


def last_value(col: Column | str, ignoreNulls: bool | Column | None = None) -> Column:
    return _ignoring_nulls("last_value", col, ignoreNulls)


def any_value(col: Column | str, ignoreNulls: bool | Column | None = None) -> Column:
    return _ignoring_nulls("any_value", col, ignoreNulls)


def count_if(col: Column | str) -> Column: return _f("count_if", col)
def bool_and(col: Column | str) -> Column: return _f("bool_and", col)
def bool_or(col: Column | str) -> Column: return _f("bool_or", col)
def every(col: Column | str) -> Column: return _f("every", col)
def some(col: Column | str) -> Column: return _f("some", col)


def array_agg(col: Column | str) -> Column:
    """An alias of collect_list, named as Spark names it: ``collect_list(v)``."""
    c = _as_col(col)
    return _call("collect_list", "collect_list", c)


__all__ += ["any_value", "array_agg", "bool_and", "bool_or", "count_if", "every", "first_value", "last_value",
            "some"]


# More of PySpark's functions, each Spark SQL's of that name
def pmod(dividend: Column | str | float, divisor: Column | str | float) -> Column:
    return _f("pmod", dividend, divisor)


def power(col1: Column | str | float, col2: Column | str | float) -> Column:
    return _f("power", col1, col2, spark="POWER")


def sign(col: Column | str) -> Column: return _f("signum", col, spark="SIGNUM")
def ln(col: Column | str) -> Column: return _f("ln", col)
def log1p(col: Column | str) -> Column: return _f("log1p", col, spark="LOG1P")
def cbrt(col: Column | str) -> Column: return _f("cbrt", col, spark="CBRT")
def degrees(col: Column | str) -> Column: return _f("degrees", col, spark="DEGREES")
def radians(col: Column | str) -> Column: return _f("radians", col, spark="RADIANS")
def factorial(col: Column | str) -> Column: return _f("factorial", col)
def sin(col: Column | str) -> Column: return _f("sin", col, spark="SIN")
def cos(col: Column | str) -> Column: return _f("cos", col, spark="COS")
def tan(col: Column | str) -> Column: return _f("tan", col, spark="TAN")
def asin(col: Column | str) -> Column: return _f("asin", col, spark="ASIN")
def acos(col: Column | str) -> Column: return _f("acos", col, spark="ACOS")
def atan(col: Column | str) -> Column: return _f("atan", col, spark="ATAN")
def sinh(col: Column | str) -> Column: return _f("sinh", col, spark="SINH")
def cosh(col: Column | str) -> Column: return _f("cosh", col, spark="COSH")
def tanh(col: Column | str) -> Column: return _f("tanh", col, spark="TANH")
def atan2(col1: Column | str | float, col2: Column | str | float) -> Column: return _f("atan2", col1, col2, spark="ATAN2")
def nvl2(col1: Column | str, col2: Column | str, col3: Column | str) -> Column: return _f("nvl2", col1, col2, col3)
def try_divide(left: Column | str, right: Column | str) -> Column: return _f("try_divide", left, right)
def make_date(year: Column | str, month: Column | str, day: Column | str) -> Column:
    return _f("make_date", year, month, day)


def next_day(date: Column | str, dayOfWeek: str) -> Column:
    return _call("next_day", "next_day", _as_col(date), lit(dayOfWeek))


def base64(col: Column | str) -> Column: return _f("base64", col)
def unbase64(col: Column | str) -> Column: return _f("unbase64", col)
def hex(col: Column | str) -> Column: return _f("hex", col)
def unhex(col: Column | str) -> Column: return _f("unhex", col)
def left(str: Column | str, len: Column | str) -> Column: return _f("left", str, len)
def right(str: Column | str, len: Column | str) -> Column: return _f("right", str, len)
def char_length(str: Column | str) -> Column: return _f("char_length", str)
def character_length(str: Column | str) -> Column: return _f("character_length", str)
def array_size(col: Column | str) -> Column: return _f("array_size", col)
def cardinality(col: Column | str) -> Column: return _f("cardinality", col)
def bit_length(col: Column | str) -> Column: return _f("bit_length", col)
def expm1(col: Column | str) -> Column: return _f("expm1", col, spark="EXPM1")
def rint(col: Column | str) -> Column: return _f("rint", col)
def weekday(col: Column | str) -> Column: return _f("weekday", col)
def find_in_set(str: Column | str, str_array: Column | str) -> Column: return _f("find_in_set", str, str_array)
def split_part(src: Column | str, delimiter: Column | str, partNum: Column | str) -> Column:
    return _f("split_part", src, delimiter, partNum)
def timestamp_millis(col: Column | str) -> Column: return _f("timestamp_millis", col)
def timestamp_micros(col: Column | str) -> Column: return _f("timestamp_micros", col)
def typeof(col: Column | str) -> Column: return _f("typeof", col)
def bin(col: Column | str) -> Column: return _f("bin", col)
def soundex(col: Column | str) -> Column: return _f("soundex", col)
def shiftleft(col: Column | str, numBits: int) -> Column: return _call("shiftleft", "shiftleft", _as_col(col), lit(numBits))
def shiftright(col: Column | str, numBits: int) -> Column:
    return _call("shiftright", "shiftright", _as_col(col), lit(numBits))


def rlike(str: Column | str, regexp: Column | str) -> Column: return _f("rlike", str, regexp, spark="RLIKE")
def map_from_entries(col: Column | str) -> Column: return _f("map_from_entries", col)


def named_struct(*cols: Column | str) -> Column:
    """``named_struct(lit("a"), col, ...)``: names and values in turn, as Spark's."""
    return _call("named_struct", "named_struct", *[_v(c) for c in cols])


sumDistinct = sum_distinct


def asc_nulls_first(col: Column | str) -> Column: return _as_col(col).asc_nulls_first()
def asc_nulls_last(col: Column | str) -> Column: return _as_col(col).asc_nulls_last()
def desc_nulls_first(col: Column | str) -> Column: return _as_col(col).desc_nulls_first()
def desc_nulls_last(col: Column | str) -> Column: return _as_col(col).desc_nulls_last()


def date_part(field: Column | str, source: Column | str) -> Column:
    return _call("date_part", "date_part", _to_col(field), _as_col(source))


# window functions (``.over(Window...)``), for static DataFrames as in Spark
def row_number() -> Column: return _int(_call("row_number", "row_number"))
def rank() -> Column: return _int(_call("rank", "RANK"))
def dense_rank() -> Column: return _int(_call("dense_rank", "DENSE_RANK"))
def percent_rank() -> Column: return _call("percent_rank", "PERCENT_RANK")
def cume_dist() -> Column: return _call("cume_dist", "CUME_DIST")
def ntile(n: int) -> Column: return _int(_call("ntile", "ntile", lit(n)))


def lag(col: Column | str, offset: int = 1, default: Any = None) -> Column:
    return _offset_call("lag", col, offset, default)


def lead(col: Column | str, offset: int = 1, default: Any = None) -> Column:
    return _offset_call("lead", col, offset, default)


def nth_value(col: Column | str, offset: int, ignoreNulls: bool | None = False) -> Column:
    """The ``offset``-th value of the window's frame (from 1); ``ignoreNulls``: of its non-NULL values."""
    column = _as_col(col)
    call = _call("nth_value", "nth_value", column, lit(offset), name=f"nth_value({column._name}, {offset})")
    if not ignoreNulls:
        return call
    return Column(_exp.IgnoreNulls(this=call._expr), f"{call._name} ignore nulls")


def _offset_call(name: str, col: Column | str, offset: int, default: Any) -> Column:
    """lag / lead, named as Spark names them: ``lag(x, 1, NULL)``."""
    extra = [lit(default)] if default is not None else []
    column = _as_col(col)
    return _call(name, name, column, lit(offset), *extra,
                 name=f"{name}({column._name}, {offset}, {extra[0]._name if extra else 'NULL'})")


# (again, now that the module is whole)
__all__ = [name for name, value in list(globals().items()) if not name.startswith("_") and callable(value)
           and getattr(value, "__module__", "").startswith("stream_nb.pyspark.sql")
           and not isinstance(value, type)]
