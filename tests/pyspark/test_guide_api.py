"""PySpark API that guide-style programs use, on stream_nb with Spark's behaviour (no JVM: the memory source).

The same programs are compared with real PySpark in programs_guide.py; these pin the pieces one at a time.
"""

from __future__ import annotations

import os

import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F
from tests.pyspark.conftest import at


def _run(spark, df, name, rows, source, mode="append"):
    q = df.writeStream.format("memory").queryName(name).outputMode(mode).start()
    source.add_data(rows)
    q.processAllAvailable()
    q.stop()
    return spark.sql(f"SELECT * FROM {name}").collect()


def test_distinct_of_a_stream_is_a_deduplication_in_append_mode(spark, events):
    # Spark's Dataset.distinct() is dropDuplicates(): no aggregation, so append mode runs
    df = spark.readStream.load(events).select("word").distinct()
    rows = _run(spark, df, "distinct_words", [{"ts": at(1), "word": "a", "n": 1}, {"ts": at(2), "word": "a", "n": 2},
                                              {"ts": at(3), "word": "b", "n": 3}], events)
    assert sorted(r.word for r in rows) == ["a", "b"]


def test_foreach_batch_dataframe_keeps_a_null_double_null(spark):
    import stream_nb as sn

    source = sn.sources.memory("ts timestamp, temp double")
    seen = []

    def each(batch, batch_id):
        seen.append((batch.filter(F.col("temp") > 20).count(), batch.filter(F.col("temp").isNull()).count(),
                     [r.temp for r in batch.collect()]))

    q = spark.readStream.load(source).writeStream.foreachBatch(each).start()
    source.add_data([{"ts": at(1), "temp": None}, {"ts": at(2), "temp": 21.0}])
    q.processAllAvailable()
    q.stop()
    assert seen == [(1, 1, [None, 21.0])]


def test_foreach_batch_writes_with_batch_dataframe_methods_in_sparks_layout(spark, events, tmp_path):
    out = str(tmp_path / "out")
    seen = []

    def each(batch, batch_id):
        if batch.isEmpty():
            return
        batch.persist()
        batch.select("word", "n").write.mode("append").parquet(out)
        seen.append((batch_id, batch.count()))
        batch.unpersist()

    q = spark.readStream.load(events).writeStream.foreachBatch(each).start()
    events.add_data([{"ts": at(1), "word": "a", "n": 1}, {"ts": at(2), "word": "b", "n": 2}])
    q.processAllAvailable()
    events.add_data([{"ts": at(3), "word": "c", "n": 3}])
    q.processAllAvailable()
    q.stop()
    assert seen == [(0, 2), (1, 1)]
    files = sorted(os.listdir(out))
    assert "_SUCCESS" in files and all(f.startswith("part-") and f.endswith(".parquet") for f in files if f[0] != "_")
    assert sorted(r.n for r in spark.read.parquet(out).collect()) == [1, 2, 3]


def test_dataframe_write_modes_are_sparks(spark, tmp_path):
    df = spark.createDataFrame([("a", 1)], "word STRING, n BIGINT")
    path = str(tmp_path / "t")
    df.write.json(path)
    with pytest.raises(AnalysisException, match="PATH_ALREADY_EXISTS"):
        df.write.json(path)
    df.write.mode("ignore").json(path)
    df.write.mode("append").format("json").save(path)
    assert spark.read.schema("word STRING, n BIGINT").json(path).count() == 2
    df.write.mode("overwrite").json(path)
    assert spark.read.schema("word STRING, n BIGINT").json(path).collect() == [("a", 1)]


def test_write_of_a_stream_is_refused_as_spark_refuses_it(spark, events):
    with pytest.raises(AnalysisException, match="'write' can not be called on streaming Dataset/DataFrame"):
        _ = spark.readStream.load(events).write


def test_fillna_fills_the_columns_of_its_kind_and_nan(spark):
    df = spark.createDataFrame([("x", float("nan"), None), (None, 1.5, 2)], "s STRING, d DOUBLE, n BIGINT")
    assert df.fillna(0).collect() == [("x", 0.0, 0), (None, 1.5, 2)]
    assert df.fillna("?").collect()[1].s == "?"
    assert df.na.fill({"s": "-", "n": 9}).select("s", "n").collect() == [("x", 9), ("-", 2)]
    assert df.fillna(7, subset=["n", "s"]).select("s", "n").collect()[0] == ("x", 7)


def test_dropna_counts_null_and_nan_as_missing(spark):
    df = spark.createDataFrame([("x", float("nan")), (None, 1.5), ("z", 2.5)], "s STRING, d DOUBLE")
    assert df.dropna().collect() == [("z", 2.5)]
    assert len(df.dropna(how="all").collect()) == 3
    assert df.na.drop(subset=["d"]).count() == 2
    assert df.dropna(thresh=1, subset=["s", "d"]).count() == 3


def test_window_start_time_offsets_tumbling_and_sliding_windows(spark, events):
    df = spark.readStream.load(events).groupBy(F.window("ts", "10 seconds", startTime="3 seconds")).count()
    rows = _run(spark, df, "offset_windows", [{"ts": at(s), "word": "a", "n": 1} for s in (4, 12, 14)], events,
                "complete")
    assert sorted((r.window.start.second, r.window.end.second, r["count"]) for r in rows) == [(3, 13, 2), (13, 23, 1)]


def test_a_column_condition_of_a_stream_stream_join_reads_as_a_key_and_a_time_range(spark):
    cond = (F.col("i.ad") == F.col("c.ad")) & (F.col("c.ts") >= F.col("i.ts")) & (
        F.col("c.ts") <= F.col("i.ts") + F.expr("INTERVAL 10 SECONDS"))
    assert cond._sql() == "`i`.`ad` = `c`.`ad` AND `c`.`ts` >= `i`.`ts` AND `c`.`ts` <= (`i`.`ts` + INTERVAL '10' SECONDS)"
    assert ((F.col("a") | F.col("b")) & F.col("c"))._sql() == "(`a` OR `b`) AND `c`"


def test_a_query_started_without_query_name_has_no_name(spark, events):
    q = spark.readStream.load(events).writeStream.format("noop").start()
    try:
        assert q.name is None
    finally:
        q.stop()


@pytest.mark.parametrize(("sql", "name"), [
    ("CASE WHEN n > 1 THEN 'a' ELSE 'b' END", "CASE WHEN (n > 1) THEN a ELSE b END"),
    ("n IN (1, 2)", "(n IN (1, 2))"),
    ("n IS NOT NULL", "(n IS NOT NULL)"),
    ("date_format(ts, 'HH')", "date_format(ts, HH)"),
    ("year(ts)", "year(ts)"),
    ("instr(s, 'a')", "instr(s, a)"),
    ("CAST(value AS STRING)", "value"),
    ("CAST(n + 1 AS INT)", "CAST((n + 1) AS INT)"),
    ("window(ts, '10 seconds')", "window"),
    ("round(avg(x) * 2, 1)", "round((avg(x) * 2), 1)"),
])
def test_sql_expressions_are_named_as_spark_names_them(sql, name):
    assert F.expr(sql)._name == name


def test_a_missing_function_or_method_says_what_it_is(spark, events):
    with pytest.raises(AttributeError, match=r"functions.bitmap_count is not in stream_nb.pyspark yet.*F.expr"):
        _ = F.bitmap_count
    with pytest.raises(AttributeError, match="DataFrame.rdd is not supported by stream_nb.pyspark yet"):
        _ = spark.readStream.load(events).rdd
    assert F.broadcast(spark.createDataFrame([(1,)], "x INT")).columns == ["x"]


def test_progress_reads_as_a_dict_and_as_pyspark_4s_attributes(spark, events):
    q = spark.readStream.load(events).writeStream.format("memory").queryName("progress_fields").start()
    try:
        assert q.awaitTermination(0.1) is False  # still running after the timeout
        events.add_data([{"ts": at(1), "word": "a", "n": 1}])
        q.processAllAvailable()
        progress = q.lastProgress
        assert progress["numInputRows"] == progress.numInputRows == 1
        assert progress.batchId == progress["batchId"] and progress.sources[0].numInputRows == 1
        assert '"numInputRows": 1' in progress.json and q.recentProgress[-1].batchId == progress.batchId
        with pytest.raises(AttributeError, match="no field 'nope'"):
            _ = progress.nope
    finally:
        q.stop()


def test_scripts_first_lines_run(spark):
    spark.sparkContext.setLogLevel("WARN")  # the first line of most streaming scripts
    with pytest.raises(AttributeError, match="SparkContext.parallelize is not supported"):
        spark.sparkContext.parallelize([1])
    names: dict = {}
    exec("from stream_nb.pyspark.sql.functions import *", names)  # noqa: S102 (as tutorials import it)
    assert {"col", "window", "exp", "udf", "sum"} <= set(names) and "json" not in names
    assert F.exp("n")._name == "EXP(n)"


def test_foreach_batch_reads_its_batch_as_a_temp_view_with_spark_sql(spark, events):
    seen = []

    def each(batch, batch_id):
        batch.createOrReplaceTempView("updates")
        rows = batch.sparkSession.sql("SELECT word, count(*) AS c FROM updates GROUP BY word ORDER BY word")
        seen.append([tuple(r) for r in rows.collect()])

    q = spark.readStream.load(events).writeStream.foreachBatch(each).start()
    events.add_data([{"ts": at(1), "word": "a", "n": 1}, {"ts": at(2), "word": "a", "n": 2},
                     {"ts": at(3), "word": "b", "n": 3}])
    q.processAllAvailable()
    q.stop()
    assert seen == [[("a", 2), ("b", 1)]]


def test_a_null_double_is_none_and_a_nan_is_nan_as_in_pyspark(spark):
    df = spark.createDataFrame([("a", None), ("b", float("nan")), ("c", 1.0)], "s STRING, d DOUBLE")
    rows = df.collect()
    assert rows[0].d is None and rows[1].d != rows[1].d and rows[2].d == 1.0  # NaN is not equal to itself
    assert df.filter(F.col("d").isNull()).count() == 1 and df.filter(F.isnan("d")).count() == 1


def test_set_operations_of_static_dataframes_and_ordering_of_nulls(spark, events):
    a = spark.createDataFrame([(1,), (1,), (2,), (3,)], "x INT")
    b = spark.createDataFrame([(1,), (3,)], "x INT")
    assert sorted(r.x for r in a.subtract(b).collect()) == [2]
    assert sorted(r.x for r in a.exceptAll(b).collect()) == [1, 2]
    assert sorted(r.x for r in a.intersect(b).collect()) == [1, 3]
    assert sorted(r.x for r in a.union(a).intersectAll(a).collect()) == [1, 1, 2, 3]
    with pytest.raises(Exception, match="DataFrame.subtract of a streaming DataFrame is not supported"):
        spark.readStream.load(events).subtract(spark.readStream.load(events))
    c = spark.createDataFrame([(None,), ("b",), ("a",)], "s STRING")
    assert [r.s for r in c.orderBy(F.col("s").asc_nulls_last()).collect()] == ["a", "b", None]
    assert [r.s for r in c.orderBy(F.col("s").desc_nulls_first()).collect()] == [None, "b", "a"]
    assert [r.i for r in c.select(F.col("s").ilike("A").alias("i")).collect()] == [None, False, True]
