import datetime

import pandas as pd
import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import Row
from stream_nb.pyspark.sql import functions as F


def _at(seconds):
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


def _run(df, mode="append", name="out"):
    q = df.writeStream.format("memory").queryName(name).outputMode(mode).start()
    q.processAllAvailable()
    return q


def test_a_stream_read_through_the_reader_has_its_schema_and_is_streaming(spark, events):
    df = spark.readStream.load(events)
    assert df.isStreaming
    assert df.columns == ["ts", "word", "n"]
    assert [(f.name, f.dataType.simpleString()) for f in df.schema] == [("ts", "timestamp"), ("word", "string"),
                                                                         ("n", "bigint")]


def test_select_where_withcolumn_run_as_one_query(spark, events):
    df = (spark.readStream.load(events).where(F.col("n") > 1).withColumn("twice", F.col("n") * 2)
          .withColumnRenamed("word", "w").drop("ts"))
    assert df.columns == ["w", "n", "twice"]
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "b", "n": 3}])
    q = _run(df)
    assert spark.sql("SELECT * FROM out").toPandas().to_dict("records") == [{"w": "b", "n": 3, "twice": 6}]
    q.stop()


def test_word_count_in_complete_mode_names_the_count_column_count(spark, events):
    lines = spark.readStream.load(events)
    words = lines.select(F.explode(F.split(lines.word, " ")).alias("word"))
    counts = words.groupBy("word").count()
    assert "COUNT(*) AS `count`" in counts._sql()
    events.add_data([{"ts": _at(1), "word": "a b a", "n": 1}])
    q = _run(counts, "complete", "wc")
    rows = spark.sql("SELECT * FROM wc ORDER BY word").collect()
    assert [(r.word, r["count"]) for r in rows] == [("a", 2), ("b", 1)]
    q.stop()


def test_windowed_count_with_watermark_in_append_emits_a_window_once_the_watermark_passes_it(spark, events):
    df = (spark.readStream.load(events).withWatermark("ts", "5 seconds")
          .groupBy(F.window("ts", "10 seconds")).agg(F.sum("n").alias("total")))
    q = df.writeStream.format("memory").queryName("win").outputMode("append").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(3), "word": "a", "n": 2}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(30), "word": "b", "n": 5}])
    q.processAllAvailable()
    rows = spark.sql("SELECT * FROM win").collect()
    # as PySpark's collect(): the window a Row, its times naive in the session time zone (UTC)
    assert [(r.window.start, r.window["end"], r.total) for r in rows] == [
        (datetime.datetime(2024, 1, 1, 0, 0, 0), datetime.datetime(2024, 1, 1, 0, 0, 10), 3)]
    q.stop()


def test_aggregate_names_follow_spark(spark, events):
    df = spark.readStream.load(events).groupBy("word").agg(F.avg("n"), F.max("n"), F.count("*"))
    assert df.columns == ["word", "avg(n)", "max(n)", "count(1)"]


def test_agg_of_a_dict_orders_its_columns_as_spark_does(spark):
    """PySpark hands the dict to the JVM as a java.util.HashMap: its columns come in that map's order (PySpark
    4's answers), not the dict's."""
    df = spark.createDataFrame([("a", 1.0, 2, 3, "x")], "device string, temp double, humidity int, pressure int, "
                                                         "zone string")
    assert df.groupBy("device").agg({"temp": "avg", "device": "count", "humidity": "max"}).columns == \
        ["device", "avg(temp)", "max(humidity)", "count(device)"]
    assert df.agg({"pressure": "sum", "zone": "max", "temp": "min", "humidity": "avg"}).columns == \
        ["min(temp)", "max(zone)", "avg(humidity)", "sum(pressure)"]


def test_drop_duplicates_keeps_the_first_row_of_each_key(spark, events):
    df = spark.readStream.load(events).dropDuplicates(["word"]).select("word")
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "a", "n": 2},
                     {"ts": _at(3), "word": "b", "n": 3}])
    q = _run(df, name="dedup")
    assert sorted(spark.sql("SELECT word FROM dedup").toPandas()["word"]) == ["a", "b"]
    q.stop()


def test_a_stream_joined_with_a_static_dataframe(spark, events):
    names = spark.createDataFrame([("a", "alpha"), ("b", "beta")], "word string, name string")
    df = spark.readStream.load(events).join(names, "word").select("word", "name", "n")
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "c", "n": 2}])
    q = _run(df, name="joined")
    assert spark.sql("SELECT * FROM joined").toPandas().to_dict("records") == [
        {"word": "a", "name": "alpha", "n": 1}]
    q.stop()


def test_union_of_two_streams(spark, events):
    import stream_nb as sn

    other = sn.sources.memory("ts timestamp, word string, n bigint")
    df = spark.readStream.load(events).select("word").union(spark.readStream.load(other).select("word"))
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    other.add_data([{"ts": _at(1), "word": "b", "n": 1}])
    q = _run(df, name="both")
    assert sorted(spark.sql("SELECT * FROM both").toPandas()["word"]) == ["a", "b"]
    q.stop()


def test_collect_on_a_stream_is_refused_as_spark_refuses_it(spark, events):
    with pytest.raises(AnalysisException, match="must be executed with writeStream.start"):
        spark.readStream.load(events).collect()


def test_a_watermark_on_a_string_column_is_refused(spark, events):
    with pytest.raises(AnalysisException, match="EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE"):
        spark.readStream.load(events).withWatermark("word", "10 seconds")


def test_an_aggregation_in_append_mode_without_watermark_is_refused_at_start(spark, events):
    df = spark.readStream.load(events).groupBy("word").count()
    with pytest.raises(AnalysisException, match="append"):
        df.writeStream.format("memory").queryName("x").start()


def test_write_stream_on_a_static_dataframe_is_refused(spark):
    with pytest.raises(AnalysisException, match="WRITE_STREAM_NOT_ALLOWED"):
        _ = spark.createDataFrame([(1,)], "a int").writeStream


def test_static_dataframes_run_on_duckdb(spark):
    df = spark.createDataFrame([("a", 1), ("b", 2), ("a", 3)], ["k", "v"])
    out = df.groupBy("k").agg(F.sum("v").alias("s")).orderBy("k").collect()
    assert [(r.k, r.s) for r in out] == [("a", 4), ("b", 2)]
    assert df.filter("v > 1").count() == 2


def test_stream_stream_left_outer_join_of_the_guide_with_differently_named_time_columns(spark):
    import stream_nb as sn
    from stream_nb.pyspark.sql.functions import expr

    imps = sn.sources.memory("impressionAdId bigint, impressionTime timestamp")
    clicks = sn.sources.memory("clickAdId bigint, clickTime timestamp")
    i = spark.readStream.load(imps).withWatermark("impressionTime", "10 seconds")
    c = spark.readStream.load(clicks).withWatermark("clickTime", "20 seconds")
    joined = i.join(c, expr("clickAdId = impressionAdId AND clickTime >= impressionTime AND "
                            "clickTime <= impressionTime + interval 1 minute"), "leftOuter")
    q = _run(joined, name="guide_join")
    imps.add_data([{"impressionAdId": 1, "impressionTime": _at(1)}, {"impressionAdId": 2, "impressionTime": _at(2)}])
    clicks.add_data([{"clickAdId": 1, "clickTime": _at(5)}])
    q.processAllAvailable()
    rows = spark.sql("SELECT impressionAdId, clickAdId FROM guide_join").collect()
    assert [(r.impressionAdId, r.clickAdId) for r in rows] == [(1, 1)]
    q.stop()


def test_from_json_then_select_star_gives_the_schemas_columns(spark):
    import stream_nb as sn
    from stream_nb.pyspark.sql.types import IntegerType, StringType, StructField, StructType

    raw = sn.sources.memory("value string")
    schema = StructType([StructField("a", IntegerType()), StructField("b", StringType())])
    df = spark.readStream.load(raw).select(F.from_json(F.col("value"), schema).alias("data")).select("data.*")
    assert df.schema == schema
    raw.add_data([{"value": '{"a": 1, "b": "x"}'}])
    q = _run(df, name="parsed")
    assert spark.sql("SELECT * FROM parsed").collect() == [(1, "x")]
    q.stop()


def test_select_star_of_a_column_that_is_not_a_struct_is_refused(spark, events):
    with pytest.raises(AnalysisException, match="CANNOT_RESOLVE_STAR_EXPAND"):
        spark.readStream.load(events).select("word.*")


def test_where_on_a_column_the_select_dropped_filters_the_selects_input_as_spark(spark, events):
    df = spark.readStream.load(events).select("word").where("n > 1")
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "b", "n": 2}])
    q = _run(df, name="dropped_where")
    assert spark.sql("SELECT * FROM dropped_where").collect() == [("b",)]
    q.stop()


def test_window_time_selected_between_two_aggregations_chains_them(spark, events):
    per_word = (spark.readStream.load(events).withWatermark("ts", "5 seconds")
                .groupBy(F.window("ts", "10 seconds"), "word").agg(F.sum("n").alias("total")))
    df = (per_word.select(F.window_time("window").alias("t"), "word", "total")
          .groupBy(F.window("t", "20 seconds")).agg(F.max("total").alias("best")))
    q = _run(df, name="chained")
    events.add_data([{"ts": _at(1), "word": "a", "n": 2}, {"ts": _at(12), "word": "b", "n": 5}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(60), "word": "a", "n": 1}])
    q.processAllAvailable()
    rows = spark.sql("SELECT * FROM chained").collect()
    assert [(r.window.start, r.best) for r in rows] == [(datetime.datetime(2024, 1, 1), 5)]
    q.stop()


def test_to_df_renames_every_column_and_refuses_another_count(spark):
    df = spark.createDataFrame([(1, "a")], "n bigint, s string")
    assert df.toDF("x", "y").columns == ["x", "y"]
    with pytest.raises(AnalysisException, match="the number of columns doesn't match"):
        df.toDF("x")


def test_repartition_coalesce_hint_and_transform_keep_the_rows(spark):
    df = spark.createDataFrame([(1, "a"), (2, "b")], "n bigint, s string")
    same = df.repartition(4, "s").coalesce(1).hint("broadcast").transform(lambda d, k: d.where(d.n > k), 1)
    assert [tuple(r) for r in same.collect()] == [(2, "b")]


def test_a_static_dataframe_answers_as_spark_not_as_duckdb(spark):
    """A foreachBatch batch, or spark.sql over a memory table, gets the rewrites a stream's expressions get
    (each value as PySpark 4.3 gives it, non-ANSI)."""
    df = spark.createDataFrame([(2.7, "3.9", 0.0, 1)], "x double, s string, z double, v int")
    row = df.select(F.col("x").cast("int").alias("a"), F.col("s").cast("int").alias("b"), F.log("z").alias("c"),
                    F.substring("s", 0, 2).alias("d"), (F.col("x") * 1e10).cast("string").alias("e"),
                    F.round(F.lit(1.005), 2).alias("f")).collect()[0]
    assert row.asDict() == {"a": 2, "b": 3, "c": None, "d": "3.", "e": "2.7E10", "f": 1.01}
    total = df.agg(F.sum("v"))
    assert total.collect()[0][0] == 1 and total.schema.fields[0].dataType.simpleString() == "bigint"
    df.createOrReplaceTempView("static_answers")
    assert spark.sql("SELECT sum(v) AS Total, max(x) FROM static_answers").collect()[0].asDict() == {
        "Total": 1, "max(x)": 2.7}


def test_a_join_on_a_column_both_sides_have_reads_each_sides_own_as_spark_does(spark):
    import stream_nb as sn

    payments = sn.sources.memory("uid int, amt int")
    users = spark.createDataFrame([(1, "ann")], "uid INT, name STRING")
    df = spark.readStream.load(payments)
    joined = df.join(users, df.uid == users.uid, "left_outer").select(df.uid, users.name, "amt", users["uid"].alias("u"))
    q = _run(joined, name="both_sides_uid")
    payments.add_data([{"uid": 1, "amt": 5}, {"uid": 2, "amt": 7}])
    q.processAllAvailable()
    rows = sorted(tuple(r) for r in spark.sql("SELECT * FROM both_sides_uid").collect())
    q.stop()
    assert rows == [(1, "ann", 5, 1), (2, None, 7, None)]


def test_window_functions_run_on_a_batch_as_in_spark_and_are_refused_on_a_stream(spark):
    import stream_nb as sn
    from stream_nb.pyspark.sql import Window

    df = spark.createDataFrame([("a", 1, 10.0), ("a", 2, 20.0), ("b", 1, 5.0), ("a", 3, 30.0)], "k string, t int, v double")
    latest = Window.partitionBy("k").orderBy(F.desc("t"))
    newest = df.withColumn("rn", F.row_number().over(latest)).filter("rn = 1").drop("rn").orderBy("k")
    assert [tuple(r) for r in newest.collect()] == [("a", 3, 30.0), ("b", 1, 5.0)]
    by_time = Window.partitionBy("k").orderBy("t")
    rows = df.select("k", "t", F.rank().over(latest).alias("r"), F.lag("v").over(by_time).alias("prev"),
                     F.sum("v").over(by_time.rowsBetween(Window.unboundedPreceding, Window.currentRow)).alias("run")
                     ).orderBy("k", "t").collect()
    assert [tuple(r) for r in rows] == [("a", 1, 3, None, 10.0), ("a", 2, 2, 10.0, 30.0), ("a", 3, 1, 20.0, 60.0),
                                        ("b", 1, 1, None, 5.0)]
    src = sn.sources.memory("k string, t int")
    with pytest.raises(AnalysisException, match="OVER"):
        spark.readStream.load(src).withColumn("rn", F.row_number().over(latest)).writeStream.format(
            "memory").queryName("window_on_stream").start()


def test_static_sums_over_a_window_or_a_filter_run_and_names_keep_their_case(spark):
    from stream_nb.pyspark.sql import Window

    df = spark.createDataFrame([(1, 5), (1, 7), (2, 9)], "k int, v int")
    df.createOrReplaceTempView("sums")
    assert [tuple(r) for r in spark.sql("SELECT k, sum(v) OVER (PARTITION BY k) AS s FROM sums ORDER BY k").collect()] \
        == [(1, 12), (1, 12), (2, 9)]
    assert [tuple(r) for r in spark.sql("SELECT k, sum(v) FILTER (WHERE v > 5) AS s FROM sums GROUP BY k "
                                        "ORDER BY k").collect()] == [(1, 7), (2, 9)]
    assert sorted(r.s for r in df.select(F.sum("v").over(Window.partitionBy("k")).alias("s")).collect()) == [9, 12, 12]
    assert spark.sql("SELECT upper('AbC'), max(V) FROM sums").columns == ["upper(AbC)", "max(V)"]


def test_a_column_of_a_join_side_stays_the_users_and_a_filter_of_the_join_reads_that_side(spark):
    a = spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string")
    b = spark.createDataFrame([(1, "x"), (3, "y")], "k int, w string")
    ak = a.k
    assert [tuple(r) for r in a.join(b, a.k == b.k).select(ak, b.w).collect()] == [(1, "x")]
    assert [r.k for r in a.select(ak).collect()] == [1, 2]  # the Column was not changed by the join
    joined = a.join(b, a.k == b.k, "left")
    assert [r.k for r in joined.filter(b.k.isNull()).select(a.k).collect()] == [2]


def test_a_joins_columns_of_one_name_are_both_kept_and_dropped_renamed_or_replaced_as_in_spark(spark):
    a = spark.createDataFrame([(1, "x", 10.0), (2, "y", 20.0)], "k int, name string, v double")
    b = spark.createDataFrame([(1, "X"), (3, "Z")], "k int, label string")
    joined = a.join(b, a.k == b.k)
    assert joined.columns == ["k", "name", "v", "k", "label"]  # (PySpark 4.3's answers, each of them)
    (row,) = joined.collect()
    assert tuple(row) == (1, "x", 10.0, 1, "X") and row.__fields__ == joined.columns
    assert [tuple(r) for r in joined.drop(b.k).collect()] == [(1, "x", 10.0, "X")]  # that side's k alone
    assert joined.drop("k").columns == ["name", "v", "label"]  # by name: every k
    assert [tuple(r) for r in a.join(b, a.k == b.k, "left").drop(b.k).orderBy("k").collect()] == [
        (1, "x", 10.0, "X"), (2, "y", 20.0, None)]
    wider = joined.withColumn("w", a.v + 1).withColumnRenamed("label", "Label")
    assert wider.columns == ["k", "name", "v", "k", "Label", "w"]
    assert [tuple(r) for r in wider.collect()] == [(1, "x", 10.0, 1, "X", 11.0)]
    assert joined.orderBy(a.v.desc()).columns == ["k", "name", "v", "k", "label"]
    with pytest.raises(AnalysisException, match="AMBIGUOUS_REFERENCE"):  # which k, only the join's SELECT * knows
        joined.orderBy("v").drop(b.k)
    assert Row("name", "age")("Alice", 11) == ("Alice", 11) and Row("name", "age")("Alice", 11).age == 11


def test_maps_in_static_dataframes_stay_maps(spark, tmp_path):
    rows = spark.createDataFrame([(1, {"a": 1}), (2, [("b", 2)]), (3, None)], "k int, m map<string,int>")
    assert [r.m for r in rows.collect()] == [{"a": 1}, {"b": 2}, None]
    assert [tuple(r) for r in rows.select("k", F.explode("m")).collect()] == [(1, "a", 1), (2, "b", 2)]
    (tmp_path / "a.json").write_text('{"k": 1, "m": {"a": 1}}\n{"k": 2, "m": {"b": 2}}\n')
    read = spark.read.schema("k int, m map<string,int>").json(str(tmp_path))
    assert read.dtypes == [("k", "int"), ("m", "map<string,int>")]
    assert [r.m for r in read.collect()] == [{"a": 1}, {"b": 2}]


def test_to_json_of_struct_star_over_a_static_dataframe_as_a_kafka_value(spark):
    df = spark.createDataFrame([(datetime.datetime(2024, 1, 1, 1, 2, 3, 450000), "x")], "ts timestamp, s string")
    assert df.select(F.to_json(F.struct("*")).alias("value")).collect()[0].value == \
        '{"ts":"2024-01-01T01:02:03.450Z","s":"x"}'
    df.createOrReplaceTempView("readings")
    assert spark.sql("SELECT to_json(struct(r.*)) AS v FROM readings AS r").collect()[0].v == \
        '{"ts":"2024-01-01T01:02:03.450Z","s":"x"}'
    parsed = df.select(F.to_json(F.struct(F.to_timestamp(F.lit("2024-01-01 01:02:03")).alias("t"))).alias("v"))
    assert parsed.collect()[0].v == '{"t":"2024-01-01T01:02:03.000Z"}'  # to_timestamp gives Spark's timestamp


def test_with_column_renamed_and_drop_find_a_column_whatever_its_case_as_spark(spark):
    df = spark.createDataFrame([(1, "a")], "id int, name string")
    assert df.withColumnRenamed("NAME", "n").columns == ["id", "n"]
    assert df.drop("ID").columns == ["name"]


def test_to_pandas_gives_numpy_integers_and_float_where_one_is_null_as_pyspark(spark):
    df = spark.createDataFrame([(1, 2, 3), (2, None, 4)], "i int, j int, l bigint")
    frame = df.toPandas()
    assert [str(t) for t in frame.dtypes] == ["int32", "float64", "int64"]
    assert frame["j"].isna().tolist() == [False, True]


def test_a_name_both_sides_of_a_join_have_is_ambiguous_unless_a_side_says_which(spark):
    people = spark.createDataFrame([(1, "ann", 10)], "id int, name string, dept_id int")
    depts = spark.createDataFrame([(10, "eng")], "dept_id int, dname string").withColumnRenamed("dname", "name")
    joined = people.join(depts, "dept_id")
    for select in (lambda: joined.select("name"), lambda: joined.select(joined.name),
                   lambda: joined.selectExpr("upper(name)")):
        with pytest.raises(AnalysisException, match=r"Reference `name` is ambiguous, could be: \[`name`, `name`\]"):
            select()
    assert [tuple(r) for r in joined.select(people.name, "id").collect()] == [("ann", 1)]


def test_columns_over_a_join_on_names_keep_each_sides_column_of_a_shared_name(spark):
    people = spark.createDataFrame([(1, "ann", 10), (2, "bob", 20)], "id int, name string, dept_id int")
    depts = spark.createDataFrame([(10, "eng")], "dept_id int, dname string")
    joined = people.join(depts.withColumnRenamed("dname", "name"), "dept_id")
    assert [tuple(r) for r in joined.withColumn("x", joined.id + 1).collect()] == [(10, 1, "ann", "eng", 2)]
    assert [tuple(r) for r in joined.drop("id").collect()] == [(10, "ann", "eng")]
    assert joined.withColumnRenamed("id", "ID").columns == ["dept_id", "ID", "name", "name"]
    full = people.join(depts, "dept_id", "full").withColumn("y", F.lit(1))
    assert sorted(tuple(r) for r in full.collect()) == [(10, 1, "ann", "eng", 1), (20, 2, "bob", None, 1)]
