"""df.describe() and df.summary(): PySpark's statistics table, every value a string as Spark writes it (the
expected tables are PySpark 4's)."""

import datetime

import pytest

from stream_nb.pyspark.sql import functions as F


@pytest.fixture
def people(spark):
    rows = [(1, 2.5, "b", datetime.datetime(2024, 1, 1), True), (3, None, "a", None, False),
            (2, 10.0, None, None, None), (10, 1e8, "12", None, True)]
    return spark.createDataFrame(rows, "i int, d double, s string, t timestamp, b boolean")


def table(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def test_describe_gives_count_mean_stddev_min_max_of_the_numeric_and_string_columns(people):
    described = people.describe()
    assert described.schema.simpleString() == "struct<summary:string,i:string,d:string,s:string>"
    assert table(described) == [
        ("count", "4", "3", "3"), ("mean", "4.0", "3.33333375E7", "12.0"),
        ("stddev", "4.08248290463863", "5.773502331052351E7", None), ("min", "1", "2.5", "12"),
        ("max", "10", "1.0E8", "b")]
    assert table(people.describe("i")) == [("count", "4"), ("mean", "4.0"), ("stddev", "4.08248290463863"),
                                           ("min", "1"), ("max", "10")]


def test_summary_adds_percentiles_that_are_values_of_the_column(people):
    assert table(people.summary("count", "min", "25%", "50%", "75%")) == [
        ("count", "4", "3", "3"), ("min", "1", "2.5", "12"), ("25%", "1", "2.5", "12.0"), ("50%", "2", "10.0", "12.0"),
        ("75%", "3", "1.0E8", "12.0")]
    assert [r.summary for r in people.summary().collect()] == ["count", "mean", "stddev", "min", "25%", "50%", "75%",
                                                               "max"]


def test_percentile_approx_of_a_static_dataframe_is_one_of_the_values_and_percentile_interpolates(spark):
    df = spark.createDataFrame([("NY", 1000.5, 30), ("NY", 2000.25, 40), ("NY", 3000.0, None), ("LA", 500.0, 25)],
                               "city string, salary double, age int")
    grouped = df.groupBy("city").agg(F.percentile_approx("salary", 0.5).alias("m"),
                                     F.percentile_approx("age", [0.25, 0.75]).alias("q")).orderBy("city")
    assert table(grouped) == [("LA", 500.0, [25, 25]), ("NY", 2000.25, [30, 40])]
    whole = df.agg(F.percentile_approx("age", 0.5), F.median("salary"), F.expr("percentile(age, 0.5)"))
    assert whole.columns == ["percentile_approx(age, 0.5, 10000)", "median(salary)", "percentile(age, 0.5, 1)"]
    assert table(whole) == [(30, 1500.375, 30.0)]
