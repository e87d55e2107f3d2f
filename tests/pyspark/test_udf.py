"""PySpark's UDF forms on stream_nb: ``F.udf`` and ``F.pandas_udf`` (decorator and call forms),
``spark.udf.register`` for SQL, on streams and static DataFrames, giving what the same built-in gives."""

from __future__ import annotations

import pandas as pd
import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F
from stream_nb.pyspark.sql.types import DoubleType, LongType, StringType
from stream_nb.pyspark.sql.udf import UserDefinedFunction
from stream_nb.udfs import unregister

from .conftest import at

ROWS = [{"ts": at(1), "word": "ab", "n": 2}, {"ts": at(2), "word": None, "n": None}, {"ts": at(3), "word": "c", "n": 5}]


@pytest.fixture(autouse=True)
def _forget():
    yield
    for name in ("twice_sql", "tag_sql"):
        unregister(name)


def collect_stream(spark, frame, events) -> pd.DataFrame:
    q = frame.writeStream.format("memory").queryName("udf_out").start()
    events.add_data(ROWS)
    q.processAllAvailable()
    result = spark.sql("SELECT * FROM udf_out").toPandas()
    q.stop()
    return result


def test_udf_decorator_forms_and_default_string_type():
    @F.udf
    def tag(s):
        return f"<{s}>"

    @F.udf("double")
    def half(n):
        return n / 2

    @F.udf(returnType=LongType())
    def plus(n):
        return n + 1

    assert isinstance(tag, UserDefinedFunction) and tag.returnType == StringType()
    assert half.returnType == DoubleType() and plus.returnType == LongType()
    assert F.udf(lambda n: n, DoubleType()).returnType == DoubleType()
    assert tag("word")._name == "tag(word)" and half.asNondeterministic() is half


def test_scalar_and_pandas_udfs_on_a_stream_equal_the_builtin_expression(spark, events):
    twice = F.udf(lambda n: None if n is None else n * 2, "bigint")

    @F.pandas_udf("string")
    def shout(s: pd.Series) -> pd.Series:
        return s.str.upper()

    df = spark.readStream.load(events)
    got = collect_stream(spark, df.select(twice("n").alias("t"), shout(F.col("word")).alias("u")), events)
    builtin = collect_stream(spark, df.select((F.col("n") * 2).alias("t"), F.upper("word").alias("u")), events)
    pd.testing.assert_frame_equal(got, builtin.iloc[: len(got)], check_dtype=False)
    assert got["u"].tolist()[0] == "AB"


def test_a_udf_filters_and_groups_a_stream(spark, events):
    long_word = F.udf(lambda w: w is not None and len(w) > 1, "boolean")
    first = F.udf(lambda w: None if w is None else w[0], "string")
    df = spark.readStream.load(events)
    counts = df.where(~long_word("word")).groupBy(first("word").alias("f")).count()
    q = counts.writeStream.format("memory").outputMode("complete").queryName("udf_counts").start()
    events.add_data(ROWS)
    q.processAllAvailable()
    got = spark.sql("SELECT * FROM udf_counts").toPandas()
    q.stop()
    assert dict(zip(got["f"].fillna("NULL"), got["count"])) == {"NULL": 1, "c": 1}


def test_spark_udf_register_makes_a_function_sql_can_call(spark, events):
    twice = spark.udf.register("twice_sql", lambda n: None if n is None else n * 2.0, "double")
    tag = spark.udf.register("tag_sql", F.pandas_udf(lambda s: "#" + s, "string"))
    events_df = spark.readStream.load(events)
    events_df.createOrReplaceTempView("udf_events")
    got = collect_stream(spark, spark.sql("SELECT twice_sql(n) AS t, tag_sql(word) AS g FROM udf_events"), events)
    assert got["t"].tolist()[0] == 4.0 and got["g"].tolist()[0] == "#ab" and tag("word")._name == "tag_sql(word)"
    static = spark.createDataFrame([(3,)], "n bigint")
    assert static.selectExpr("twice_sql(n) AS t").collect()[0].t == 6.0
    assert static.select(twice("n").alias("t")).collect()[0].t == 6.0


def test_register_refuses_a_return_type_for_a_udf_object(spark):
    with pytest.raises(TypeError, match="data type can not be specified"):
        spark.udf.register("twice_sql", F.udf(lambda n: n, "double"), "double")


def test_pandas_udf_needs_a_return_type_and_the_series_form():
    with pytest.raises(ValueError, match="returnType can not be None"):
        F.pandas_udf(lambda s: s)
    with pytest.raises(NotImplementedError, match="Series-to-Series form only"):
        F.pandas_udf(lambda df: df, "double", functionType=201)


def test_a_failing_udf_stops_the_stream_with_its_name_and_row(spark, events):
    def boom(n):
        raise ZeroDivisionError("no")

    q = spark.readStream.load(events).select(F.udf(boom, "double")("n")).writeStream.format("memory") \
        .queryName("udf_fail").start()
    events.add_data(ROWS[:1])
    with pytest.raises(Exception, match=r"the Python function udf_boom_\d+ raised ZeroDivisionError: no; arguments: \(2\)"):
        q.processAllAvailable()
    assert q.exception() is not None


def test_an_unknown_function_in_spark_sql_says_how_to_register_one(spark, events):
    spark.readStream.load(events).createOrReplaceTempView("udf_events2")
    with pytest.raises(AnalysisException, match=r"no function nosuch: register it with sn.udf"):
        spark.sql("SELECT nosuch(n) FROM udf_events2").schema  # noqa: B018


def test_udfs_get_timestamps_naive_in_the_session_time_zone_as_pyspark_gives_them(spark, events):
    # PySpark's workers hand a Python UDF naive datetimes (pandas_udf: naive datetime64) in the session time zone
    seen = F.udf(lambda t: f"{t}|{t.tzinfo}", "string")
    hour_on = F.udf(lambda t: t + pd.Timedelta(hours=1), "timestamp")  # naive back: read in UTC

    @F.pandas_udf("string")
    def seen_v(s: pd.Series) -> pd.Series:
        return s.astype(str) + "|" + str(s.dt.tz)

    result = collect_stream(spark, spark.readStream.load(events).select("ts", seen("ts").alias("row"), seen_v("ts").alias("batch"),
                                                        hour_on("ts").alias("later")), events)
    first = result.sort_values("ts").iloc[0]
    assert first["row"] == f"{first['ts'].tz_localize(None)}|None"
    assert first["batch"] == f"{first['ts'].tz_localize(None)}|None"
    assert first["later"] == first["ts"] + pd.Timedelta(hours=1)


def test_a_udf_without_arguments_gives_a_value_a_row(spark, events):
    made = F.udf(lambda: "made", "string")
    result = collect_stream(spark, spark.readStream.load(events).select("word", made()), events)
    assert list(result.columns) == ["word", "<lambda>()"] and result["<lambda>()"].tolist() == ["made"] * len(ROWS)


def test_pandas_udf_iterator_forms_give_what_the_series_form_gives(spark, events):
    from collections.abc import Iterator

    @F.pandas_udf("bigint")
    def plus_one(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        for s in batches:
            yield s + 1

    @F.pandas_udf("string")
    def joined(batches: Iterator[tuple[pd.Series, pd.Series]]) -> Iterator[pd.Series]:
        for words, ns in batches:
            yield words.fillna("-") + ":" + ns.fillna(-1).astype("int64").astype(str)  # NULL: NaN, as PySpark

    got = collect_stream(spark, spark.readStream.load(events).select(plus_one("n").alias("p"),
                                                                      joined("word", "n").alias("j")), events)
    assert got["p"].tolist()[::2] == [3, 6] and got["p"].isna().tolist() == [False, True, False]
    assert got["j"].tolist() == ["ab:2", "-:-1", "c:5"] and plus_one("n")._name == "plus_one(n)"


def test_a_udfs_results_are_converted_to_its_return_type_as_pyspark_converts_them(spark):
    df = spark.createDataFrame([(1,)], "i int")

    def const(value):
        return lambda i: value

    as_text = [F.udf(const(v)) for v in (5, True, [1, "a", None], 1.5, None)]  # string by default
    row = df.select(*[f("i").alias(f"t{n}") for n, f in enumerate(as_text)],
                    F.udf(lambda i: 67.5, "int")("i").alias("truncated"), F.udf(lambda i: "12", "int")("i").alias("read"),
                    F.udf(lambda i: 2, "double")("i").alias("widened")).collect()[0]
    assert tuple(row) == ("5", "true", "[1, 'a', None]", "1.5", None, 67, 12, 2.0)
