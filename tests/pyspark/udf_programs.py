"""UDF programs (``F.udf``, ``F.pandas_udf``, ``spark.udf.register``), written once in plain PySpark, run on real
PySpark and on stream_nb.pyspark (``test_udf_programs.py`` compares their memory-sink tables after every input
batch, as ``test_programs.py`` does for ``programs.py``).

The functions are module-level so that PySpark's workers get them by value (``cloudpickle``). Each returns
values of its declared type: PySpark's row-at-a-time UDFs turn a value of another type into NULL (an int for
``double``), where stream_nb says which value does not fit (README, UDFs).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pandas as pd

from tests.pyspark.programs import EVENT_BATCHES, Program, events, memory

PROGRAMS: list[Program] = []


def program(batches):
    def register(fn):
        PROGRAMS.append(Program(fn.__name__, fn, batches))
        return fn
    return register


# -- the functions ------------------------------------------------------------------------------------------

def none_for_b(device, n):
    return None if device == "b" else n * 2


def time_as_text(ts):
    return None if ts is None else f"{ts}|{ts.tzinfo}|{ts.hour}"


def hour_later(ts):
    return None if ts is None else ts + datetime.timedelta(hours=1)


def made_time(n):
    return datetime.datetime(2024, 1, 1, 5, 0, n)  # naive: the session time zone's (UTC)


def length_or_none(text):
    return None if text is None else len(text)


def series_as_text(s: pd.Series) -> pd.Series:
    return s.astype(str) + ":" + str(s.dtype)


def series_plus_one(s: pd.Series) -> pd.Series:
    return s + 1


def parity(n):
    return "odd" if n % 2 else "even"


def words(text):
    return None if text is None else text.split()


def pair(n):
    return {"a": n, "b": str(n)}


def day_of(ts):
    return ts.date()


def decimal_and_date(d, day):
    return f"{type(d).__name__}:{d}|{type(day).__name__}:{day}"


def code_of(device):
    return device.upper()


def twice(x):
    return None if x is None else x * 2.0


def constant():
    return "made"


def scaled(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
    factor = 9 / 5  # set up once, as an iterator UDF's state is meant for
    for s in batches:
        yield s * factor + 32


def labelled(batches: Iterator[tuple[pd.Series, pd.Series]]) -> Iterator[pd.Series]:
    for devices, ns in batches:
        yield devices + "#" + ns.astype(str)


def from_row(r):
    return f"{r.device}:{r['n']}:{r[0]}"


def window_start(w):
    return w.start


# -- the programs -------------------------------------------------------------------------------------------

@program(EVENT_BATCHES)
def udf_nulls_and_return_types(spark, F, T, indir):
    df = events(spark, indir).select(
        "device", F.udf(none_for_b, "int")("device", "n").alias("x"), F.udf(time_as_text)("ts").alias("t"),
        F.udf(hour_later, T.TimestampType())("ts").alias("later"), F.udf(made_time, "timestamp")("n").alias("made"),
        F.udf(length_or_none, T.LongType())("text").alias("len"))
    return memory(df, "udf_nulls_and_return_types")


@program(EVENT_BATCHES)
def pandas_udf_series_as_pyspark_hands_them(spark, F, T, indir):
    as_text, plus_one = F.pandas_udf(series_as_text, "string"), F.pandas_udf(series_plus_one, "long")
    df = events(spark, indir).select("device", as_text("ts").alias("t"), plus_one("n").alias("m"),
                                     as_text(F.to_date("ts")).alias("day"),
                                     as_text(F.when(F.col("n") > 3, F.col("n"))).alias("big"))
    return memory(df, "pandas_udf_series_as_pyspark_hands_them")


@program(EVENT_BATCHES)
def udf_in_a_windowed_group_by(spark, F, T, indir):
    df = (events(spark, indir).withWatermark("ts", "5 seconds")
          .groupBy(F.window("ts", "10 seconds"), F.udf(parity, "string")("n").alias("parity"))
          .agg(F.count("*").alias("c"), F.sum("n").alias("s")))
    return memory(df.select(F.col("window.start").alias("start"), "parity", "c", "s"), "udf_in_a_windowed_group_by",
                  "update")


@program(EVENT_BATCHES)
def udf_array_struct_date_decimal(spark, F, T, indir):
    df = events(spark, indir).select(
        "device", F.udf(words, "array<string>")("text").alias("words"),
        F.udf(pair, "struct<a:bigint,b:string>")("n").alias("pair"), F.udf(day_of, T.DateType())("ts").alias("day"),
        F.udf(decimal_and_date, "string")(F.col("temp").cast("decimal(10,2)"), F.to_date("ts")).alias("args"))
    return memory(df, "udf_array_struct_date_decimal")


@program(EVENT_BATCHES)
def udf_in_a_stream_static_join_condition(spark, F, T, indir):
    stream = events(spark, indir)
    codes = spark.createDataFrame([("A", "alpha"), ("B", "beta")], "code string, name string")
    df = stream.join(codes, F.udf(code_of, "string")(stream["device"]) == codes["code"]).select("device", "name", "n")
    return memory(df, "udf_in_a_stream_static_join_condition")


@program(EVENT_BATCHES)
def udf_registered_for_spark_sql_any_case(spark, F, T, indir):
    spark.udf.register("Twice_It", twice, "double")
    events(spark, indir).createOrReplaceTempView("udf_registered_events")
    df = spark.sql("SELECT device, twice_it(temp) AS t2, TWICE_IT(temp) > 40 AS hot FROM udf_registered_events "
                   "WHERE twice_it(temp) IS NOT NULL")
    return memory(df, "udf_registered_for_spark_sql_any_case")


@program(EVENT_BATCHES)
def udf_without_arguments(spark, F, T, indir):
    df = events(spark, indir).select("device", "n", F.udf(constant, "string")())
    return memory(df, "udf_without_arguments")


@program(EVENT_BATCHES)
def udf_gets_a_struct_as_a_row(spark, F, T, indir):
    df = events(spark, indir).select(
        F.udf(from_row, "string")(F.struct("device", "n")).alias("row"),
        F.udf(window_start, "timestamp")(F.window("ts", "10 seconds")).alias("start"))
    return memory(df, "udf_gets_a_struct_as_a_row")


@program(EVENT_BATCHES)
def pandas_udf_iterator_forms(spark, F, T, indir):
    df = events(spark, indir).select("device", F.pandas_udf(scaled, "double")("temp").alias("f"),
                                     F.pandas_udf(labelled, "string")("device", "n").alias("label"))
    return memory(df, "pandas_udf_iterator_forms")
