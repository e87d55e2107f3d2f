import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import SparkSession
from stream_nb.pyspark.sql import functions as F


def test_builder_returns_the_one_active_session_with_its_config():
    spark = SparkSession.builder.appName("x").config("spark.sql.shuffle.partitions", 2).getOrCreate()
    assert SparkSession.builder.getOrCreate() is spark is SparkSession.getActiveSession()
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_read_json_is_a_static_table(spark, tmp_path):
    (tmp_path / "a.json").write_text('{"word": "a", "n": 1}\n{"word": "b", "n": 2}\n')
    df = spark.read.schema("word string, n bigint").json(str(tmp_path))
    assert not df.isStreaming
    assert [tuple(r) for r in df.orderBy("n").collect()] == [("a", 1), ("b", 2)]


def test_create_data_frame_from_rows_and_a_ddl_schema(spark):
    df = spark.createDataFrame([("a", 1)], "word string, n int")
    assert df.dtypes == [("word", "string"), ("n", "int")]
    assert df.first().word == "a"


def test_sql_over_an_unknown_table_is_refused_with_sparks_error_class(spark):
    with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND.*`nowhere`"):
        spark.sql("SELECT * FROM nowhere")


def test_sql_over_a_static_temp_view(spark):
    spark.createDataFrame([("a", 1), ("b", 2)], "word string, n int").createOrReplaceTempView("small")
    assert spark.sql("SELECT sum(n) AS s FROM small").collect()[0].s == 3


def test_show_prints_sparks_table(spark, capsys):
    spark.createDataFrame([("a", 1.5)], "word string, x double").show()
    assert capsys.readouterr().out == "+----+---+\n|word|  x|\n+----+---+\n|   a|1.5|\n+----+---+\n\n"


def test_show_never_cuts_a_header_and_ends_as_spark_after_only_showing(spark, capsys):
    spark.range(5).select(F.col("id").alias("a_very_long_column_name")).show(2)
    assert capsys.readouterr().out == ("+-----------------------+\n|a_very_long_column_name|\n+-----------------------+\n"
                                       "|                      0|\n|                      1|\n+-----------------------+\n"
                                       "only showing top 2 rows\n")


def test_show_writes_numbers_and_binary_as_spark_does(spark, capsys):
    # the expected text is PySpark 4.3's show(truncate=False) of the same SELECT: Java's double text, a
    # decimal's scale, binary in hex
    spark.sql("SELECT 12345678.5D AS a, 1.0E7D AS b, 0.0001D AS c, 0.001D AS d, -0.0D AS e, "
              "CAST(1e20 AS FLOAT) AS f, CAST(0.1 AS FLOAT) AS g, 1.50BD AS h, CAST(0 AS DECIMAL(12,10)) AS i, "
              "X'0102FF' AS j, CAST('inf' AS DOUBLE) AS k, 123456789012.0D AS l, 1e-10D AS m, "
              "CAST(12345678 AS FLOAT) AS n, array(1.0E8D) AS o").show(truncate=False)
    row = capsys.readouterr().out.splitlines()[3]
    assert row == ("|1.23456785E7|1.0E7|1.0E-4|0.001|-0.0|1.0E20|0.1|1.50|0.0000000000|[01 02 FF]|Infinity|"
                   "1.23456789012E11|1.0E-10|1.2345678E7|[1.0E8]|")


def test_sql_over_a_memory_sink_keeps_null_doubles_null(spark):
    import stream_nb as sn
    from stream_nb.pyspark.sql import functions as F

    readings = sn.sources.memory("device string, temp double")
    q = (spark.readStream.load(readings).groupBy("device").agg(F.max("temp").alias("hi"))
         .writeStream.format("memory").queryName("null_doubles").outputMode("complete").start())
    try:
        readings.add_data([{"device": "a", "temp": 1.5}, {"device": "b", "temp": None}])
        q.processAllAvailable()
        rows = spark.sql("SELECT * FROM null_doubles ORDER BY device").collect()
        nulls = spark.sql("SELECT count(*) AS n FROM null_doubles WHERE hi IS NULL").collect()
    finally:
        q.stop()
    assert [(r.device, r.hi) for r in rows] == [("a", 1.5), ("b", None)]  # None, as Spark's Row (not nan)
    assert nulls[0].n == 1


def test_drop_view_removes_a_temp_view_and_if_exists_takes_a_missing_one(spark):
    from stream_nb.pyspark.errors import AnalysisException

    spark.createDataFrame([(1,)], "a int").createOrReplaceTempView("to_drop")
    assert spark.sql("DROP VIEW IF EXISTS to_drop").collect() == []
    assert spark.sql("DROP TABLE IF EXISTS never_there").collect() == []
    with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
        spark.sql("SELECT * FROM to_drop")
    with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
        spark.sql("DROP VIEW never_there")


def test_create_data_frame_without_a_schema_types_columns_as_spark_infers_them(spark):
    # PySpark 4.3: a None is a NULL of its column's type (pandas would make an int column double, the None NaN)
    df = spark.createDataFrame([(1, 2, "a"), (2, None, None)], ["a", "b", "c"])
    assert df.dtypes == [("a", "bigint"), ("b", "bigint"), ("c", "string")]
    assert df.where(F.col("b").isNull()).count() == 1
    assert df.agg(F.count("b"), F.sum("b"), F.avg("b")).collect()[0] == (1, 2, 2.0)
    unnamed = spark.createDataFrame([(1, "x", 2.5, True)])
    assert unnamed.dtypes == [("_1", "bigint"), ("_2", "string"), ("_3", "double"), ("_4", "boolean")]
    rows = spark.createDataFrame([{"a": 1}, {"b": 2.5}])  # every row's keys, as Spark merges their schemas
    assert rows.dtypes == [("a", "bigint"), ("b", "double")] and rows.collect()[1] == (None, 2.5)
    with pytest.raises(ValueError, match="as many values"):
        spark.createDataFrame([(1,), (2, "b")])


def test_a_sort_keeps_tied_rows_in_their_order_as_sparks_sort(spark):
    """Spark sorts a partition with a stable sort; DuckDB's is not (two equal keys may swap from ~100 rows).
    The orders below are PySpark 4's over the same rows (local[1])."""
    rows = [(i * 7 % 4, i, ("a", "b", None)[i * 5 % 3]) for i in range(400)]
    df = spark.createDataFrame(rows, "k int, i int, s string")
    df.createOrReplaceTempView("ties")

    def in_order(key, reverse=False):  # Python's sort is stable too, descending as well
        return [r[1] for r in sorted(rows, key=key, reverse=reverse)]

    assert [r.i for r in df.orderBy("k").collect()] == in_order(lambda r: r[0])
    assert [r.i for r in df.orderBy(F.col("k").desc()).collect()] == in_order(lambda r: r[0], reverse=True)
    assert [r.i for r in spark.sql("SELECT i FROM ties WHERE i % 3 = 0 ORDER BY k DESC").collect()] == \
        [i for i in in_order(lambda r: r[0], reverse=True) if i % 3 == 0]
    assert [r.i for r in df.select("i", (F.col("k") % 2).alias("m")).orderBy("m").collect()] == \
        in_order(lambda r: r[0] % 2)
