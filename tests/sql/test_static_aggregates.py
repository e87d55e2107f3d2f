"""A static query's aggregates (``spark.sql`` over a table, a static DataFrame, a foreachBatch batch) answer as
Spark's where DuckDB's would not (sql/static.py ``spark_aggregate_answers``); the values are PySpark 4's."""

import decimal
import math

import pyarrow as pa
import pytest

from stream_nb.pyspark.sql import SparkSession


@pytest.fixture
def spark():
    session = SparkSession.builder.getOrCreate()
    rows = [(1, "a", 1, decimal.Decimal("1.10")), (2, None, 1, None), (10, "b", 2, decimal.Decimal("3.00")),
            (None, None, 2, decimal.Decimal("0.01")), (4, "a", 3, decimal.Decimal("9.99")), (7, "c", 1, None)]
    session.createDataFrame(rows, "i int, s string, g int, m decimal(6,2)").createOrReplaceTempView("t")
    return session


def answer(spark, sql: str) -> tuple[str, list[tuple]]:
    df = spark.sql(sql)
    return df.schema.simpleString(), [tuple(r) for r in df.collect()]


def test_a_sum_of_decimals_widens_by_ten_digits_and_an_average_by_four_more_places(spark):
    schema, rows = answer(spark, "SELECT sum(m) AS s, avg(m) AS a, try_avg(m) AS t, mean(m) AS e FROM t")
    assert schema == "struct<s:decimal(16,2),a:decimal(10,6),t:decimal(10,6),e:decimal(10,6)>"
    assert rows == [(decimal.Decimal("14.10"), decimal.Decimal("3.525000"), decimal.Decimal("3.525000"),
                     decimal.Decimal("3.525000"))]


def test_count_if_and_try_sum_are_bigints(spark):
    assert answer(spark, "SELECT count_if(s = 'a') AS c, try_sum(i) AS s FROM t") == \
        ("struct<c:bigint,s:bigint>", [(2, 24)])


def test_skewness_and_kurtosis_are_the_populations_and_null_where_the_values_do_not_vary(spark):
    _, rows = answer(spark, "SELECT g, skewness(i), kurtosis(i) FROM t GROUP BY g ORDER BY g")
    assert rows == [(1, pytest.approx(0.6309038567106235), pytest.approx(-1.5)), (2, None, None), (3, None, None)]
    _, [(two,)] = answer(spark, "SELECT skewness(i) FILTER (WHERE i < 3) FROM t")
    assert two == 0.0  # two values: symmetric (DuckDB's sample skewness is NULL under three)
    _, over = answer(spark, "SELECT skewness(i) OVER (PARTITION BY g) AS x FROM t WHERE g = 1")
    assert [x for (x,) in over] == [pytest.approx(0.6309038567106235)] * 3


def test_a_list_collected_from_no_values_is_empty_not_null(spark):
    assert answer(spark, "SELECT collect_list(s) AS l, collect_set(s) AS c, array_agg(i) AS a FROM t WHERE i > 99") \
        == ("struct<l:array<string>,c:array<string>,a:array<int>>", [([], [], [])])
    _, rows = answer(spark, "SELECT g, collect_list(s) AS l FROM t WHERE g = 2 AND s IS NULL GROUP BY g")
    assert rows == [(2, [])]


def test_the_sql_of_a_static_sum_says_the_types(spark):
    from stream_nb.sql.static import spark_static_sql

    text, _ = spark_static_sql("SELECT sum(m), sum(i) FROM t", {"t": pa.schema([("m", pa.decimal128(6, 2)),
                                                                                 ("i", pa.int32())])})
    assert "AS DECIMAL(16, 2)" in text and "AS BIGINT" in text


def test_corr_of_one_pair_or_a_side_that_does_not_vary_is_null_as_sparks_division_by_zero(spark):
    rows = [(1.0, 2.0, 1), (1.0, 3.0, 2), (2.0, 5.0, 2), (float("nan"), 1.0, 3), (1.0, 1.0, 3)]
    spark.createDataFrame(rows, "x double, y double, g int").createOrReplaceTempView("pairs")
    _, grouped = answer(spark, "SELECT g, corr(x, y) FROM pairs GROUP BY g ORDER BY g")
    assert grouped == [(1, None), (2, 1.0), (3, None)]
    _, [(whole, filtered)] = answer(spark, "SELECT corr(x, y), corr(x, y) FILTER (WHERE g = 2) FROM pairs")
    assert math.isnan(whole) and filtered == 1.0  # a NaN value makes it NaN
