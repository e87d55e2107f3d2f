"""Spark's date and time functions, run by DuckDB: each rule rewrites the typed tree, tree in, tree out.

* ``strings_into_dates``: a string given to a date or time function is cast to a date or timestamp, NULL if
  it does not parse (DuckDB casts strictly, or finds no function for a VARCHAR);
* ``spark_date_strings``: a string becomes a date or timestamp only in Spark's forms ('2024', '2024-1',
  '2024-01-02', then a space or 'T' and a time), NULL otherwise (DuckDB reads '2024/01/02' and 'infinity', a
  date no Python or pandas value can hold, and refuses '2024-01');
* ``date_results``: ``date_add``, ``date_sub``, ``add_months`` and ``trunc`` return a DATE (DuckDB's
  date + interval is a timestamp); ``dayofweek`` counts from Sunday = 1, ``weekday`` from Monday = 0;
  ``from_utc_timestamp(ts, tz)`` reads ``ts`` as UTC (DuckDB's ``ts AT TIME ZONE tz`` reads it as ``tz``'s
  wall clock: Tokyo came out 9 hours early, not late).
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.tree import bottom_up, is_text, replace_typed


def spark_dates(tree: exp.Expression) -> exp.Expression:
    """Both rules.

    >>> import sqlglot
    >>> from sqlglot.optimizer.annotate_types import annotate_types
    >>> tree = annotate_types(sqlglot.parse_one("SELECT trunc(d, 'MM') FROM t", read="spark"),
    ...                       schema={"t": {"d": "DATE"}})
    >>> spark_dates(tree).sql("duckdb")
    "SELECT CAST(DATE_TRUNC('month', d) AS DATE) FROM t"
    """
    zone_patterns(tree)
    strings_into_dates(tree)
    spark_date_strings(tree)
    date_results(tree)
    return tree


def zone_patterns(tree: exp.Expression) -> None:
    """A pattern's zone letters as Spark reads and writes them, in the session zone (UTC): ``date_format``
    writes ``X``/``XX``/``XXX`` as ``Z``, ``Z`` as ``+0000`` and ``z`` as ``UTC``; ``to_timestamp`` and
    ``unix_timestamp`` read an offset (``+02:00``, ``+0200``) for any of them, and ``Z`` for an ``X``."""
    for node in list(tree.find_all(exp.TimeToStr, exp.StrToTime, exp.StrToUnix)):
        fmt = node.args.get("format")
        if not (isinstance(fmt, exp.Literal) and fmt.is_string and ("%:z" in fmt.name or "%z" in fmt.name
                                                                    or "%Z" in fmt.name)):
            continue
        if isinstance(node, exp.TimeToStr):
            text = fmt.name.replace("%:z", "Z").replace("%z", "+0000").replace("%Z", "UTC")
            node.set("format", exp.Literal.string(text))
        elif "%:z" in fmt.name:  # an offset, or the letter Z (read as +0000)
            node.set("format", exp.Literal.string(fmt.name.replace("%:z", "%z")))
            node.set("this", exp.Anonymous(this="regexp_replace", expressions=[
                node.this.copy(), exp.Literal.string("Z$"), exp.Literal.string("+0000")]))


_DATE_INPUT = (exp.LastDay, exp.NextDay, exp.AddMonths, exp.TsOrDsAdd, exp.DateTrunc, exp.Quarter,
               exp.UnixDate, exp.MonthsBetween)
_TRUNC_UNITS = {"year": "year", "yyyy": "year", "yy": "year", "quarter": "quarter", "month": "month",
                "mon": "month", "mm": "month", "week": "week"}
_TIMESTAMP_INPUT = (exp.Hour, exp.Minute, exp.Second, exp.TimestampTrunc)


def strings_into_dates(tree: exp.Expression) -> None:
    for node in bottom_up(tree, *_DATE_INPUT, *_TIMESTAMP_INPUT, exp.TsOrDsToDate, exp.TimeStrToTime,
                          exp.Anonymous):
        if isinstance(node, exp.Anonymous):
            if node.name.lower() == "weekday" and len(node.expressions) == 1:  # Spark: Monday 0 ... Sunday 6
                replace_typed(node, _weekday)
        elif isinstance(node, exp.TsOrDsToDate):
            node.set("safe", True)  # to_date(), and the date argument of year(), datediff(), ...
        elif isinstance(node, exp.TimeStrToTime):
            if is_text(node.this):
                replace_typed(node, lambda call: exp.TryCast(this=call.this, to=exp.DataType.build("TIMESTAMP")))
        else:
            to = "DATE" if isinstance(node, _DATE_INPUT) else "TIMESTAMP"
            for argument in (node.this, node.expression if isinstance(node, exp.MonthsBetween) else None):
                if is_text(argument):
                    argument.replace(exp.TryCast(this=argument.copy(), to=exp.DataType.build(to)))
            if isinstance(node, exp.DateTrunc):
                _spark_trunc_unit(node)
            elif isinstance(node, exp.TimestampTrunc):
                _spark_date_trunc_unit(node)


# Spark's stringToDate / stringToTimestamp prefix: year (4 digits, an optional '+'), then month and day of 1 or
# 2 digits; a date ends there or goes on with ' ' or 'T' (a timestamp's time, which DuckDB then reads).
_SPARK_DATE = r"^\+?([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:[ T](.*))?)?)?$"
_TEMPORAL_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ}


def spark_date_strings(tree: exp.Expression) -> None:
    for node in bottom_up(tree, exp.Cast, exp.TsOrDsToDate):
        if isinstance(node, exp.TsOrDsToDate):
            if is_text(node.this) and node.args.get("format") is None:
                replace_typed(node, lambda call: _spark_date_string(call.this, exp.DataType.build("DATE")))
        elif node.args["to"].this in _TEMPORAL_TYPES and is_text(node.this):
            replace_typed(node, lambda cast: _spark_date_string(cast.this, cast.args["to"]))


def _spark_date_string(text: exp.Expression, to: exp.DataType) -> exp.Expression:
    """CASE WHEN trim(s) has Spark's form THEN the date from its parts (plus the time, read by DuckDB) END."""
    trimmed = exp.Trim(this=text)
    pattern = exp.Literal.string(_SPARK_DATE)

    def part(group: int, default: int | None = None) -> exp.Expression:
        digits = exp.RegexpExtract(this=trimmed.copy(), expression=pattern.copy(), group=exp.Literal.number(group))
        number = exp.TryCast(this=exp.Nullif(this=digits, expression=exp.Literal.string("")),
                             to=exp.DataType.build("INT"))
        return number if default is None else exp.Coalesce(this=number, expressions=[exp.Literal.number(default)])

    day = exp.Anonymous(this="TRY", expressions=[
        exp.Anonymous(this="make_date", expressions=[part(1), part(2, 1), part(3, 1)])])
    if to.this == exp.DataType.Type.DATE:
        value: exp.Expression = day
    else:
        time = exp.RegexpExtract(this=trimmed.copy(), expression=pattern.copy(), group=exp.Literal.number(4))
        time = exp.RegexpReplace(this=time, expression=exp.Literal.string(r"^([0-9]{1,2})$"),
                                 replacement=exp.Literal.string(r"\1:00"))  # 'T03' is 03:00 in Spark
        # Read as an instant (a '+02:00' or 'Z' moves it) and shown in UTC, the session time zone DuckDB runs in.
        with_time = exp.Cast(this=exp.TryCast(
            this=exp.DPipe(this=exp.Cast(this=day.copy(), to=exp.DataType.build("TEXT")),
                           expression=exp.DPipe(this=exp.Literal.string(" "), expression=time)),
            to=exp.DataType.build("TIMESTAMPTZ")), to=exp.DataType.build("TIMESTAMP"))
        value = exp.Case().when(exp.EQ(this=time.copy(), expression=exp.Literal.string("")),
                                exp.Cast(this=day.copy(), to=exp.DataType.build("TIMESTAMP")),
                                copy=False).else_(with_time, copy=False)
        value = exp.Cast(this=value, to=to.copy())
    matches = exp.RegexpLike(this=trimmed.copy(), expression=pattern.copy())
    return exp.Case().when(matches, value, copy=False)


def _weekday(call: exp.Anonymous) -> exp.Expression:
    day = call.expressions[0]
    day = exp.TryCast(this=day, to=exp.DataType.build("DATE")) if is_text(day) else day
    return exp.Sub(this=exp.Anonymous(this="ISODOW", expressions=[day]), expression=exp.Literal.number(1))


def _spark_trunc_unit(node: exp.DateTrunc) -> None:
    """trunc(d, 'MM'): Spark's unit names ('yy', 'mon', 'mm', ...) in DuckDB's words; NULL for another unit
    (trunc takes no 'Q', nor a day or finer), as Spark."""
    unit = node.args.get("unit")
    if isinstance(unit, exp.Literal) and unit.is_string:
        word = _TRUNC_UNITS.get(unit.name.lower())
        if word is not None:
            node.set("unit", exp.Literal.string(word))
        else:
            replace_typed(node, lambda call: exp.Cast(this=exp.Null(), to=exp.DataType.build("DATE")))


_DATE_TRUNC_UNITS = {**_TRUNC_UNITS, "day": "day", "dd": "day", "hour": "hour", "minute": "minute",
                     "second": "second", "millisecond": "millisecond", "microsecond": "microsecond"}


def _spark_date_trunc_unit(node: exp.TimestampTrunc) -> None:
    """date_trunc('MM', ts): Spark's unit names ('YY', 'MM', 'DD', ...) in DuckDB's words; NULL for another
    unit, as Spark."""
    unit = node.args.get("unit")
    name = unit.name if isinstance(unit, (exp.Var, exp.Literal)) else None
    if name is None:
        return
    word = _DATE_TRUNC_UNITS.get(name.lower())
    if word is not None:
        node.set("unit", exp.var(word.upper()))
    else:
        replace_typed(node, lambda call: exp.Cast(this=exp.Null(), to=exp.DataType.build("TIMESTAMP")))



def date_results(tree: exp.Expression) -> None:
    for node in bottom_up(tree, exp.TsOrDsAdd, exp.AddMonths, exp.DateTrunc, exp.DayOfWeek, exp.AtTimeZone,
                          exp.FromTimeZone):
        if isinstance(node, (exp.AtTimeZone, exp.FromTimeZone)):
            # from_utc_timestamp / to_utc_timestamp shift a wall clock: DuckDB's AT TIME ZONE reads a naive
            # timestamp as a wall clock but a zoned one as an instant, so the operand is made naive (the
            # session's zone is UTC); a computed one may come zoned (a Spark TIMESTAMP cast)
            naive = node.this.copy()
            if not (isinstance(naive, exp.Cast) and naive.to.this == exp.DataType.Type.TIMESTAMP):
                naive = exp.Cast(this=naive, to=exp.DataType.build("TIMESTAMP"))
            if isinstance(node, exp.AtTimeZone):  # from_utc_timestamp(ts, tz): ts read as UTC, shown in tz
                node.set("this", exp.AtTimeZone(this=naive, zone=exp.Literal.string("UTC")))
            else:
                node.set("this", naive)
        elif isinstance(node, exp.DayOfWeek):  # Spark: Sunday 1 ... Saturday 7; DuckDB counts from 0
            replace_typed(node, lambda call: exp.Add(this=call, expression=exp.Literal.number(1)))
            node.parent.type = None  # 1 to 7: nothing for the integer-overflow rule to wrap
        elif isinstance(node, exp.DateTrunc) or (node.type is not None
                                                 and node.type.this == exp.DataType.Type.DATE):
            replace_typed(node, lambda call: exp.Cast(this=call, to=exp.DataType.build("DATE")))
