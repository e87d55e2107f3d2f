import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine.triggers import Trigger
from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F


def _at(seconds):
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


def test_console_sink_prints_sparks_batch_header_and_table(spark, events, capsys):
    q = spark.readStream.load(events).select("word", "n").writeStream.format("console").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    q.processAllAvailable()
    q.stop()
    assert capsys.readouterr().out.startswith(
        "-------------------------------------------\nBatch: 0\n-------------------------------------------\n"
        "+----+---+\n|word|  n|\n+----+---+\n|   a|  1|\n+----+---+\n")


def test_foreach_batch_gets_a_dataframe_and_the_batch_id(spark, events):
    seen = []
    q = (spark.readStream.load(events).writeStream
         .foreachBatch(lambda df, batch_id: seen.append((batch_id, [r.word for r in df.collect()]))).start())
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    q.processAllAvailable()
    q.stop()
    assert seen == [(0, ["a"])]


def test_query_has_sparks_python_names(spark, events):
    spark.streams.resetTerminated()  # a query an earlier test saw fail would make awaitAnyTermination raise
    q = spark.readStream.load(events).writeStream.format("memory").queryName("named").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    q.processAllAvailable()
    assert q.name == "named" and q.isActive and q.exception() is None
    assert q.lastProgress["numInputRows"] == 1 and len(q.recentProgress) >= 1
    assert set(q.status) == {"message", "isDataAvailable", "isTriggerActive"}
    assert spark.streams.get(q.id) is q and q in spark.streams.active
    q.stop()
    assert not q.isActive
    assert spark.streams.awaitAnyTermination(timeout=5)


def test_available_now_trigger_runs_what_is_there_then_stops(spark, events):
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    q = (spark.readStream.load(events).writeStream.format("memory").queryName("once")
         .trigger(availableNow=True).start())
    q.awaitTermination()
    assert spark.sql("SELECT count(*) AS c FROM once").collect()[0].c == 1


def test_memory_sink_without_query_name_is_refused(spark, events):
    with pytest.raises(AnalysisException, match="queryName must be specified for memory sink"):
        spark.readStream.load(events).writeStream.format("memory").start()


def test_file_sink_without_checkpoint_is_refused(spark, events, tmp_path):
    with pytest.raises(AnalysisException, match="checkpointLocation must be specified"):
        spark.readStream.load(events).writeStream.format("parquet").start(str(tmp_path))


def test_a_file_stream_without_schema_is_refused(spark, tmp_path):
    with pytest.raises(Exception, match="Schema must be specified"):
        spark.readStream.json(str(tmp_path))


def test_continuous_trigger_runs_continuous_processing_with_its_checkpoint_interval(spark):
    rate = spark.readStream.format("rate").option("rowsPerSecond", 200).load()
    q = (rate.selectExpr("value", "value * 2 AS doubled").writeStream.format("memory").queryName("doubled")
         .trigger(continuous="100 milliseconds").start())
    try:
        engine = q._q
        assert engine.trigger == Trigger("continuous", 0.1)
        with engine._changed:  # the engine notifies each epoch it commits
            engine._changed.wait_for(lambda: len(engine.recent_progress) >= 2 or not engine.is_active, 30)
        rows = spark.sql("SELECT * FROM doubled").toPandas()
        assert len(rows) and (rows["doubled"] == rows["value"] * 2).all()
        assert q.lastProgress["batchId"] >= 1 and "latencyMs" in q.lastProgress
    finally:
        q.stop()


def test_continuous_trigger_refuses_an_aggregation_with_sparks_reason(spark):
    rate = spark.readStream.format("rate").load()
    with pytest.raises(AnalysisException, match=r"Continuous processing does not support Aggregate operations"):
        (rate.groupBy("value").count().writeStream.format("memory").queryName("counts").outputMode("update")
         .trigger(continuous="1 second").start())


def test_files_in_files_out_with_a_checkpoint(spark, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.json").write_text('{"word": "a", "n": 1}\n{"word": "b", "n": 2}\n')
    df = spark.readStream.schema("word string, n bigint").json(str(src)).where(F.col("n") > 1)
    q = (df.writeStream.format("parquet").option("checkpointLocation", str(tmp_path / "ck"))
         .trigger(availableNow=True).start(str(out)))
    q.awaitTermination()
    import stream_nb as sn

    assert sn.read_files_sink(str(out))["word"].tolist() == ["b"]


def test_rate_source_has_timestamp_and_value(spark):
    assert spark.readStream.format("rate").option("rowsPerSecond", 10).load().columns == ["timestamp", "value"]


def test_memory_sink_in_update_mode_appends_each_batchs_updated_rows_as_spark(spark, events):
    q = (spark.readStream.load(events).groupBy("word").count().writeStream.format("memory")
         .queryName("updates").outputMode("update").start())
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(2), "word": "a", "n": 1}])
    q.processAllAvailable()
    assert [tuple(r) for r in spark.sql("SELECT * FROM updates").collect()] == [("a", 1), ("a", 2)]
    q.stop()


def test_spark_sql_over_a_watermarked_view_with_a_window(spark, events):
    spark.readStream.load(events).withWatermark("ts", "5 seconds").createOrReplaceTempView("watermarked")
    df = spark.sql("SELECT window(ts, '10 seconds') AS w, sum(n) AS total FROM watermarked "
                   "GROUP BY window(ts, '10 seconds')")
    q = df.writeStream.format("memory").queryName("sql_windows").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 2}, {"ts": _at(30), "word": "a", "n": 1}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(40), "word": "a", "n": 1}])
    q.processAllAvailable()
    assert [r.total for r in spark.sql("SELECT * FROM sql_windows").collect()] == [2]
    q.stop()


def _rows_of(spark, q, table):
    """Batches until the rate source has given the query rows (a rate source makes them as time passes)."""
    while not spark.sql(f"SELECT * FROM {table}").collect():
        q.processAllAvailable()
    return spark.sql(f"SELECT * FROM {table}").collect()


def test_a_dataframe_started_twice_gives_each_query_a_reader_of_its_own(spark):
    # Spark: each query reads its source independently; a rate source starts at value 0 when its query
    # starts, so the second query's rows come after every row the first one read before it stopped
    df = spark.readStream.format("rate").option("rowsPerSecond", 1000).load()
    first = df.writeStream.format("memory").queryName("rate_first").start()
    read_first = _rows_of(spark, first, "rate_first")
    first.stop()
    second = df.writeStream.format("memory").queryName("rate_second").start()
    read_second = _rows_of(spark, second, "rate_second")
    second.stop()
    assert min(r.value for r in read_second) == 0
    assert min(r.timestamp for r in read_second) > max(r.timestamp for r in read_first)


def test_a_self_join_through_two_aliases_reads_the_stream_as_two_inputs(spark, events):
    df = spark.readStream.load(events).withWatermark("ts", "5 seconds")
    a, b = df.where("word = 'a'").alias("a"), df.where("word = 'b'").alias("b")
    pairs = a.join(b, F.expr("a.n = b.n AND b.ts BETWEEN a.ts AND a.ts + interval 10 seconds"))
    q = (pairs.select(F.col("a.n").alias("n"), F.col("a.ts").alias("shown"), F.col("b.ts").alias("seen"))
         .writeStream.format("memory").queryName("self_join").start())
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "a", "n": 2},
                     {"ts": _at(4), "word": "b", "n": 1}, {"ts": _at(30), "word": "b", "n": 2}])
    q.processAllAvailable()
    q.stop()
    assert [(r.n, r.shown, r.seen) for r in spark.sql("SELECT * FROM self_join").collect()] == [
        (1, _at(1).to_pydatetime().replace(tzinfo=None), _at(4).to_pydatetime().replace(tzinfo=None))]


def test_with_watermark_follows_a_renamed_column_to_the_stream(spark, events):
    df = spark.readStream.load(events).withColumnRenamed("ts", "event_time").select("event_time", "n")
    counts = df.withWatermark("event_time", "5 seconds").groupBy(F.window("event_time", "10 seconds")).count()
    q = counts.writeStream.format("memory").queryName("renamed_watermark").outputMode("append").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(30), "word": "a", "n": 1}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(2), "word": "late", "n": 1}])
    q.processAllAvailable()
    q.stop()
    assert [r["count"] for r in spark.sql("SELECT * FROM renamed_watermark").collect()] == [1]


def test_with_watermark_on_a_computed_column_follows_that_column(spark, events):
    df = spark.readStream.load(events).select((F.col("ts") + F.expr("interval 1 second")).alias("later"), "word")
    counts = df.withWatermark("later", "5 seconds").groupBy(F.window("later", "10 seconds"), "word").count()
    q = counts.writeStream.format("memory").queryName("computed_watermark").outputMode("append").start()
    events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(30), "word": "a", "n": 1}])
    q.processAllAvailable()
    assert q.lastProgress["eventTime"]["watermark"] == "2024-01-01T00:00:26.000Z"  # 00:31 - 5 s: the computed times
    events.add_data([{"ts": _at(2), "word": "late", "n": 1}, {"ts": _at(45), "word": "b", "n": 1}])
    q.processAllAvailable()
    q.stop()
    rows = spark.sql("SELECT * FROM computed_watermark").collect()
    assert [(r["word"], r["count"]) for r in rows] == [("a", 1), ("a", 1)]  # "late" dropped, 00:30's window final


def test_with_watermark_on_a_column_replaced_under_its_own_name_follows_the_new_column(spark):
    # the usual JSON program: ts read as a string, replaced by its timestamp under the same name
    texts = sn.sources.memory("ts string, word string")
    df = spark.readStream.load(texts).withColumn("ts", F.to_timestamp("ts"))
    counts = df.withWatermark("ts", "5 seconds").groupBy(F.window("ts", "10 seconds")).count()
    q = counts.writeStream.format("memory").queryName("replaced_watermark").outputMode("append").start()
    try:
        texts.add_data([{"ts": "2024-01-01 00:00:01", "word": "a"}, {"ts": "2024-01-01 00:00:30", "word": "b"}])
        q.processAllAvailable()
        assert q.lastProgress["eventTime"]["watermark"] == "2024-01-01T00:00:25.000Z"
        assert [r["count"] for r in spark.sql("SELECT * FROM replaced_watermark").collect()] == [1]
    finally:
        q.stop()


def test_a_window_over_a_string_column_of_a_stream_says_how_to_convert_it(spark):
    texts = sn.sources.memory("ts string, word string")
    counts = spark.readStream.load(texts).groupBy(F.window("ts", "10 seconds")).count()
    with pytest.raises(AnalysisException, match="window\\(\\) over 'ts', a string column") as err:
        counts.writeStream.format("memory").queryName("string_window").outputMode("complete").start()
    assert "F.to_timestamp('ts')" in str(err.value)


def test_with_watermark_on_a_column_computed_after_another_watermark_says_it_is_not_supported_yet(spark, events):
    df = spark.readStream.load(events).withWatermark("ts", "5 seconds")
    later = df.select((F.col("ts") + F.expr("interval 1 second")).alias("later"))
    with pytest.raises(AnalysisException, match=r"withWatermark\('later', \.\.\.\).*not on a computed one"):
        later.withWatermark("later", "5 seconds")


def test_read_stream_text_gives_a_row_per_line_in_value_as_spark(spark, tmp_path):
    (tmp_path / "a.txt").write_text("apache spark\nspark streams\n")
    lines = spark.readStream.text(str(tmp_path))
    assert lines.columns == ["value"]
    words = lines.select(F.explode(F.split(lines.value, " ")).alias("word")).groupBy("word").count()
    q = words.writeStream.outputMode("complete").format("memory").queryName("text_words").start()
    q.processAllAvailable()
    q.stop()
    assert sorted(tuple(r) for r in spark.sql("SELECT * FROM text_words").collect()) == [
        ("apache", 1), ("spark", 2), ("streams", 1)]
    assert [r.value for r in spark.read.text(str(tmp_path)).collect()] == ["apache spark", "spark streams"]


def test_a_query_rebuilt_from_a_new_read_stream_resumes_from_its_checkpoint(spark, tmp_path):
    # a notebook cell run again after a restart builds its DataFrame afresh: the input's internal name changes,
    # the source does not, and the checkpoint (which knows inputs by position, as Spark's) carries on
    inbox, checkpoint = tmp_path / "in", tmp_path / "ck"
    inbox.mkdir()

    def run():
        words = spark.readStream.schema("word string").json(str(inbox))
        q = (words.groupBy("word").count().writeStream.outputMode("complete").format("memory")
             .queryName("rebuilt_counts").option("checkpointLocation", str(checkpoint)).start())
        q.processAllAvailable()
        q.stop()
        return {r.word: r["count"] for r in spark.sql("SELECT * FROM rebuilt_counts").collect()}

    (inbox / "a.json").write_text('{"word": "a"}\n{"word": "b"}\n')
    assert run() == {"a": 1, "b": 1}
    (inbox / "b.json").write_text('{"word": "a"}\n')
    assert run() == {"a": 2, "b": 1}   # the first file is not read again, the counts carry on from the state


def test_a_row_an_inner_stream_static_join_drops_for_its_null_key_never_moves_the_watermark(spark):
    # PySpark 4: Spark infers `word IS NOT NULL` from the inner join's equality and pushes it below the
    # watermark, so the NULL word at 00:12 is not seen: the watermark is 00:02 - 10 s, not 00:12 - 10 s.
    # A left outer join keeps the stream's rows: there the NULL word moves it.
    words = spark.createDataFrame([("a", 1), ("b", 2)], "word STRING, z INT")
    marks = {}
    for how in ("inner", "left"):
        events = sn.sources.memory("ts timestamp, word string, n bigint")
        stream = spark.readStream.load(events).withWatermark("ts", "10 seconds")
        q = stream.join(words, "word", how).writeStream.format("memory").queryName(f"static_{how}").start()
        events.add_data([{"ts": _at(12), "word": None, "n": 1}, {"ts": _at(2), "word": "b", "n": 2}])
        q.processAllAvailable()
        events.add_data([{"ts": _at(3), "word": "a", "n": 3}])
        q.processAllAvailable()
        marks[how] = q.recentProgress[-1]["eventTime"]["watermark"]
        q.stop()
    assert marks == {"inner": "2023-12-31T23:59:52.000Z", "left": "2024-01-01T00:00:02.000Z"}


def test_a_filter_after_the_watermark_and_a_projection_is_below_the_watermark_as_spark_pushes_it(spark):
    # PySpark 4: withColumn("v", n * 10 + 1), withWatermark, withColumn("w", v + 1).filter("w > 0"), then an
    # inner join with a static table: Spark pushes the filter (as n * 10 + 1 + 1 > 0) and the join's
    # `word IS NOT NULL` down through both projections below the watermark, so neither the row at 00:19 the
    # filter drops nor the NULL word at 00:30 moves it: the watermark is still 1970 after the first batch
    events = sn.sources.memory("ts timestamp, word string, n bigint")
    words = spark.createDataFrame([("a", 1), ("b", 2)], "word STRING, z INT")
    stream = spark.readStream.load(events).withColumn("v", F.col("n") * 10 + 1).withWatermark("ts", "5 seconds")
    joined = stream.withColumn("w", F.col("v") + 1).filter("w > 0").join(words, "word")
    q = joined.writeStream.format("memory").queryName("pushed_through").start()
    events.add_data([{"ts": _at(19), "word": "a", "n": -3}, {"ts": _at(30), "word": None, "n": 1},
                     {"ts": _at(2), "word": "b", "n": 1}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(3), "word": "a", "n": 1}])
    q.processAllAvailable()
    assert q.recentProgress[-1]["eventTime"]["watermark"] == "2023-12-31T23:59:57.000Z"  # 00:02 - 5 s
    q.stop()


def test_a_filter_over_a_function_of_a_column_is_pushed_below_the_watermark_too(spark):
    # PySpark 4: select(ts, upper(word) AS word), withWatermark 5 s, filter(word != 'c'): the NULL word at 00:02
    # is filtered below the watermark (Spark pushes NOT (upper(word) = 'c') down), so after rows at 00:00
    # ('c') and 00:02 (NULL) the watermark is 00:00 - 5 s
    events = sn.sources.memory("ts timestamp, word string, n bigint")
    stream = spark.readStream.load(events).select("ts", F.upper("word").alias("word"), "n")
    counts = stream.withWatermark("ts", "5 seconds").filter(F.col("word") != "c") \
        .groupBy(F.window("ts", "20 seconds"), "word").count()
    q = counts.writeStream.format("memory").queryName("pushed_upper").outputMode("update").start()
    events.add_data([{"ts": _at(0), "word": "c", "n": 1}, {"ts": _at(2), "word": None, "n": 1}])
    q.processAllAvailable()
    events.add_data([{"ts": _at(1), "word": "c", "n": 1}])
    q.processAllAvailable()
    assert q.recentProgress[-1]["eventTime"]["watermark"] == "2023-12-31T23:59:55.000Z"
    q.stop()
