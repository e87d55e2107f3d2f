"""The PySpark API's scalar functions on a stream reach the engine's Spark values (sql/spark_functions.py)."""

import math

import stream_nb as sn
from stream_nb.pyspark.sql import functions as F


def test_scalar_functions_on_a_stream_give_sparks_values(spark):
    source = sn.sources.memory("s string, v double, i int, m string")
    df = spark.readStream.load(source).select(
        F.upper("s").alias("u"), F.nanvl("v", F.lit(0.0)).alias("n"), F.try_add("i", F.lit(1)).alias("t"),
        F.octet_length("s").alias("o"), F.btrim(F.lit("  x ")).alias("b"), F.regexp_substr("s", F.lit("z")).alias("r"),
        F.e().alias("e"), F.hypot(F.lit(3), F.lit(4)).alias("h"), F.zeroifnull("i").alias("z"),
        F.width_bucket(F.lit(5.3), F.lit(0.2), F.lit(10.6), 5).alias("w"),
        F.array_union(F.array(F.lit(1), F.lit(2)), F.array(F.lit(2), F.lit(3))).alias("au"),
        F.array_repeat("s", 2).alias("ar"), F.crc32("s").alias("c"), F.format_number(F.lit(1234.5678), 2).alias("f"),
        F.conv(F.lit("ff"), 16, 10).alias("cv"), F.current_timezone().alias("tz"),
        F.element_at(F.str_to_map("m"), F.lit("b")).alias("sm"), F.bitwise_not("i").alias("bn"),
    )
    rows = []
    q = df.writeStream.foreachBatch(lambda batch, _: rows.extend(batch.collect())).start()
    try:
        source.add_data([{"s": "straße", "v": float("nan"), "i": 2147483647, "m": "a:1,b:2"}])
        q.processAllAvailable()
    finally:
        q.stop()
    row = rows[0]
    assert (row.u, row.n, row.t, row.o, row.b, row.r) == ("STRASSE", 0.0, None, 7, "x", None)
    assert (row.e, row.h, row.z, row.w) == (math.e, 5.0, 2147483647, 3)
    assert (list(row.au), list(row.ar), row.c) == ([1, 2, 3], ["straße", "straße"], 2285851341)
    assert (row.f, row.cv, row.tz, row.sm, row.bn) == ("1,234.57", "255", "UTC", "2", -2147483648)


def test_utc_shifts_of_a_computed_timestamp_are_sparks(spark):
    """from_utc_timestamp / to_utc_timestamp of to_timestamp(s) (PySpark 4's answers): the computed timestamp came
    zoned into DuckDB's AT TIME ZONE, which read it as an instant and shifted the other way (19:34, not 05:34)."""
    import datetime

    df = spark.createDataFrame([("2024-03-10 12:34:56",)], "t string")
    row = df.select(F.from_utc_timestamp(F.to_timestamp("t"), "America/Los_Angeles").alias("la"),
                    F.to_utc_timestamp(F.to_timestamp("t"), "Asia/Tokyo").alias("tokyo")).collect()[0]
    assert (row.la, row.tokyo) == (datetime.datetime(2024, 3, 10, 5, 34, 56), datetime.datetime(2024, 3, 10, 3, 34, 56))
    df.createOrReplaceTempView("shift_times")
    assert spark.sql("SELECT from_utc_timestamp(to_timestamp(t), 'America/Los_Angeles') AS la FROM shift_times") \
        .collect()[0].la == datetime.datetime(2024, 3, 10, 5, 34, 56)
