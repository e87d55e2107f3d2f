"""Spark functions whose DuckDB namesakes read their arguments otherwise (rewrites.spark_functions)."""

import pytest

from tests.sql.test_non_ansi import value_of


@pytest.mark.parametrize(("expression", "expected"), [
    ("substring(s, 0, 2)", "ab"),     # Spark's position 0 is the first character, like 1; DuckDB gave 'a'
    ("substring(s, 1, 2)", "ab"),
    ("substr(s, n - 5, 2)", "ab"),    # a computed 0 too
    ("substring(s, -2)", "bc"),
    ("bround(2.5)", 2),               # half to even; DuckDB has no bround
    ("bround(d, 0)", 2.0),
    ("bround(-3.5)", -4),
])
def test_spark_functions_read_their_arguments_as_spark_does(expression, expected):
    value, _ = value_of(expression)
    assert value == expected, f"{expression} gave {value!r}"
