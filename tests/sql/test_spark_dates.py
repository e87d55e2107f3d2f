"""Spark's date functions: dates where Spark returns dates (issue 12 case 10), NULL for a string that is not a
date (case 8), Spark's numbering of weekdays."""

from datetime import date

import pandas as pd
import pytest

from tests.sql.test_non_ansi import value_of


@pytest.mark.parametrize(("expression", "expected"), [
    ("date_add(to_date(day), 1)", date(2024, 2, 1)),
    ("date_sub(to_date(day), 1)", date(2024, 1, 30)),
    ("date_add(ts, 1)", date(2024, 1, 3)),
    ("add_months(to_date(day), 1)", date(2024, 2, 29)),
    ("add_months(ts, 1)", date(2024, 2, 2)),
    ("next_day(to_date(day), 'Mon')", date(2024, 2, 5)),
    ("last_day(to_date('2024-02-10'))", date(2024, 2, 29)),
])
def test_case_10_date_functions_return_dates(expression, expected):
    value, dtype = value_of(expression)
    assert value == expected and not isinstance(value, pd.Timestamp), f"{expression} gave {value!r} ({dtype})"


@pytest.mark.parametrize("expression", [
    "date_add(s, 1)", "datediff(s, day)", "date_format(s, 'yyyy')", "dayofweek(s)", "year(s)", "hour(s)",
    "date_trunc('month', s)", "trunc(s, 'MM')", "last_day(s)", "next_day(s, 'Mon')", "add_months(s, 1)",
    "weekofyear(s)", "months_between(s, day)", "make_date(2024, 2, 30)",
])
def test_case_8_a_string_that_is_not_a_date_gives_null_in_date_functions(expression):
    value, _ = value_of(expression)
    assert pd.isna(value), f"{expression} gave {value!r}, Spark gives NULL"


@pytest.mark.parametrize(("expression", "expected"), [
    ("date_add(day, 1)", date(2024, 2, 1)),
    ("trunc(day, 'MM')", date(2024, 1, 1)),
    ("trunc(ts, 'year')", date(2024, 1, 1)),
    ("year(day)", 2024),
    ("hour('2024-01-02 07:30:00')", 7),
    ("dayofweek('2024-01-07')", 1),      # a Sunday: Spark counts from Sunday = 1
    ("weekday('2024-01-07')", 6),        # and weekday() from Monday = 0
])
def test_a_string_that_is_a_date_is_read_as_one(expression, expected):
    value, _ = value_of(expression)
    assert value == expected and not isinstance(value, pd.Timestamp), f"{expression} gave {value!r}"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024", date(2024, 1, 1)), ("2024-02", date(2024, 2, 1)), ("2024-1-2", date(2024, 1, 2)),
    (" 2024-01-02 ", date(2024, 1, 2)), ("+2024-01-02", date(2024, 1, 2)), ("2024-01-02T03", date(2024, 1, 2)),
    ("2024-01-02 anything", date(2024, 1, 2)), ("2024/01/02", None), ("20240102", None), ("Infinity", None),
    ("-infinity", None), ("epoch", None), ("2024-02-30", None),
])
def test_a_string_becomes_a_date_only_in_sparks_forms(text, expected):
    # DuckDB reads 'infinity' as a date no pandas value holds: q.result then raised instead of showing NULL
    for expression in ("cast(s AS date)", "to_date(s)", "date(s)"):
        value, _ = value_of(expression, s=text)
        assert (pd.isna(value) if expected is None else value == expected), f"{expression} of {text!r}: {value!r}"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024", "2024-01-01 00:00:00"), ("2024-02", "2024-02-01 00:00:00"),
    ("2024-01-02T03:04:05.5", "2024-01-02 03:04:05.5"), ("Infinity", None), ("2024/01/02 03:04", None),
    ("2024-01-02 03:04:05+02:00", "2024-01-02 01:04:05"), ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05"),
    ("2024-01-02T03", "2024-01-02 03:00:00"),
])
def test_a_string_becomes_a_timestamp_only_in_sparks_forms(text, expected):
    for expression in ("cast(s AS timestamp)", "timestamp(s)", "to_timestamp(s)"):
        value, _ = value_of(expression, s=text)
        wanted = None if expected is None else pd.Timestamp(expected, tz="UTC")
        assert (pd.isna(value) if wanted is None else value == wanted), f"{expression} of {text!r}: {value!r}"


def test_date_format_shows_milliseconds_for_sss():
    value, _ = value_of("date_format(ts, 'HH:mm:ss.SSS')")
    assert value == "00:00:10.750"


@pytest.mark.parametrize(("expression", "expected"), [
    ("""to_timestamp('2024-01-02T03:04:05', "yyyy-MM-dd'T'HH:mm:ss")""", pd.Timestamp("2024-01-02 03:04:05", tz="UTC")),
    ("""unix_timestamp('2024-01-02T03:04:05', "yyyy-MM-dd'T'HH:mm:ss")""", 1704164645),
    ("""date_format(ts, "yyyy-MM-dd'T'HH 'at' h a")""", "2024-01-02T00 at 12 AM"),
    ("""date_format(ts, "'100%' DDD ''")""", "100% 002 '"),   # quoted text as text, '' a quote
])
def test_quoted_text_in_a_date_pattern_is_text(expression, expected):
    value, _ = value_of(expression)
    assert value == expected, f"{expression} gave {value!r}"
