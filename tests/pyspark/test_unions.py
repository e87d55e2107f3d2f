"""PySpark's union of streams as the input of a stateful operator: ``a.union(b).groupBy(...)``,
``unionByName``, ``dropDuplicates`` and windows over streams each with its own watermark (sql/unions.py)."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F


def _at(seconds):
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


@pytest.fixture
def a():
    return sn.sources.memory("ts timestamp, k string, v double")


@pytest.fixture
def b():
    return sn.sources.memory("ts timestamp, k string, v double")


def run(spark, df, name, mode, feed):
    q = df.writeStream.format("memory").queryName(name).outputMode(mode).start()
    try:
        for source, readings in feed:
            source.add_data([{"ts": _at(s), "k": k, "v": v} for s, k, v in readings])
            q.processAllAvailable()
        return spark.sql(f"SELECT * FROM {name}").toPandas()
    finally:
        q.stop()


def test_union_then_group_by_count(spark, a, b):
    df = spark.readStream.load(a).union(spark.readStream.load(b)).groupBy("k").count()
    got = run(spark, df, "union_counts", "complete", [(a, [(1, "x", 1.0), (2, "y", 1.0)]), (b, [(3, "x", 2.0)])])
    assert sorted(got.itertuples(index=False, name=None)) == [("x", 2), ("y", 1)]


def test_union_by_name_matches_columns_by_name(spark, a, b):
    right = spark.readStream.load(b).select("v", "k", "ts")
    df = spark.readStream.load(a).unionByName(right).groupBy("k").agg(F.sum("v").alias("total"))
    got = run(spark, df, "union_by_name", "update", [(a, [(1, "x", 1.0)]), (b, [(2, "x", 2.0), (3, "y", 4.0)])])
    assert sorted(got.itertuples(index=False, name=None)) == [("x", 1.0), ("x", 3.0), ("y", 4.0)]


def test_union_by_name_fills_missing_columns_with_nulls_when_allowed(spark, a, b):
    left = spark.readStream.load(a).select("k", "v")
    right = spark.readStream.load(b).select("k", "ts")
    with pytest.raises(AnalysisException, match="UNRESOLVED_COLUMN"):
        left.unionByName(right)
    df = left.unionByName(right, allowMissingColumns=True)
    assert df.columns == ["k", "v", "ts"]
    got = run(spark, df, "union_missing", "append", [(a, [(1, "x", 1.0)]), (b, [(2, "y", 2.0)])])
    assert got["v"].isna().tolist() == [False, True] and got["ts"].isna().tolist() == [True, False]


def test_union_then_drop_duplicates(spark, a, b):
    df = spark.readStream.load(a).union(spark.readStream.load(b)).dropDuplicates(["k"])
    got = run(spark, df, "union_dedup", "append", [(a, [(1, "x", 1.0)]), (b, [(2, "x", 2.0), (3, "y", 3.0)])])
    assert sorted(got["k"]) == ["x", "y"]


def test_union_of_watermarked_streams_then_window_in_append_mode(spark, a, b):
    left = spark.readStream.load(a).withWatermark("ts", "5 seconds")
    right = spark.readStream.load(b).withWatermark("ts", "5 seconds")
    df = left.union(right).groupBy(F.window("ts", "10 seconds")).count()
    got = run(spark, df, "union_windows", "append",
              [(a, [(1, "x", 1.0), (31, "x", 1.0)]), (b, [(2, "y", 1.0), (33, "y", 1.0)]),
               (a, [(4, "x", 1.0)])])  # late by then: the watermark is 26
    assert [(w["start"].second, n) for w, n in got.itertuples(index=False, name=None)] == [(0, 2)]


def test_with_watermark_after_the_union_is_one_watermark_over_every_row_as_in_spark(spark, a, b):
    # Spark (checked on PySpark, both streams' rows in one batch): one withWatermark node above the union, whose
    # watermark is the latest event time of all its rows minus the delay; a's 31 s makes it 26 s though b has
    # seen only 2 s
    df = spark.readStream.load(a).union(spark.readStream.load(b)).withWatermark("ts", "5 seconds") \
        .groupBy(F.window("ts", "10 seconds")).count()
    q = df.writeStream.format("memory").queryName("union_one_watermark").outputMode("append") \
        .trigger(processingTime="0 seconds").start()
    q._q.pause()  # both streams' rows in one batch, as in the run on PySpark
    a.add_data([{"ts": _at(1), "k": "x", "v": 1.0}, {"ts": _at(31), "k": "x", "v": 1.0}])
    b.add_data([{"ts": _at(2), "k": "y", "v": 1.0}])
    q._q.resume()
    q.processAllAvailable()
    got = spark.sql("SELECT * FROM union_one_watermark").toPandas()
    q.stop()
    assert q.lastProgress["eventTime"]["watermark"] == "2024-01-01T00:00:26.000Z"
    assert [(w["start"].second, n) for w, n in got.itertuples(index=False, name=None)] == [(0, 2)]


def test_with_watermark_on_each_stream_waits_for_the_slowest(spark, a, b):
    left = spark.readStream.load(a).withWatermark("ts", "5 seconds")
    right = spark.readStream.load(b).withWatermark("ts", "5 seconds")
    df = left.union(right).groupBy(F.window("ts", "10 seconds")).count()
    got = run(spark, df, "union_two_watermarks", "append", [(a, [(1, "x", 1.0), (31, "x", 1.0)]), (b, [(2, "y", 1.0)])])
    assert got.empty  # b's watermark (-3 s) holds the query's back: [0, 10) is not final yet


def test_a_union_of_a_files_stream_with_itself_reads_one_reader_as_spark_reads_one_source(spark, tmp_path):
    # Spark plans df.where(...).union(df.where(...)) over one FileStreamSource (its progress lists one source):
    # each batch both branches see the same files. Two readers listing the folder one after the other could
    # give a file to one branch a batch before the other, whose rows the first's watermark then drops as late
    both = spark.readStream.schema("kind STRING, at TIMESTAMP").json(str(tmp_path))
    imps, clicks = both.where("kind = 'imp'").select("at"), both.where("kind = 'click'").select("at")
    counts = imps.union(clicks).withWatermark("at", "5 seconds").groupBy(F.window("at", "10 seconds")).count()
    q = counts.writeStream.format("memory").queryName("self_union_files").outputMode("append").start()
    try:
        (tmp_path / "0.json").write_text('{"kind": "imp", "at": "2024-01-01T00:00:08"}\n'
                                         '{"kind": "click", "at": "2024-01-01T00:00:20"}\n')
        q.processAllAvailable()
        assert len({id(i.source) for i in q._q._inputs.items}) == 1  # the two branches' inputs: one reader
        assert [s["endOffset"] for s in q.lastProgress["sources"]] == [1, 1]
        assert [r["count"] for r in spark.sql("SELECT * FROM self_union_files").collect()] == [1]
    finally:
        q.stop()


def test_a_stream_and_its_view_with_a_computed_watermark_read_one_reader(spark, tmp_path):
    # withWatermark on a computed column reads the stream through a view of it (sources/derived.py); in a
    # union with the stream as it is, both read the one reader: each batch, the same files
    from stream_nb.sources.derived import underlying_source

    raw = spark.readStream.schema("kind STRING, t STRING").json(str(tmp_path))
    timed = raw.select(F.to_timestamp("t").alias("at"), "kind")
    watched = timed.where("kind = 'imp'").withWatermark("at", "5 seconds")
    both = watched.union(raw.where("kind = 'click'").select(F.to_timestamp("t").alias("at"), "kind"))
    q = both.writeStream.format("memory").queryName("view_and_stream").start()
    try:
        (tmp_path / "0.json").write_text('{"kind": "imp", "t": "2024-01-01 00:00:08"}\n'
                                         '{"kind": "click", "t": "2024-01-01 00:00:20"}\n')
        q.processAllAvailable()
        sources = [i.source for i in q._q._inputs.items]
        assert len(sources) == 2 and len({id(underlying_source(s)) for s in sources}) == 1
        assert [s["endOffset"] for s in q.lastProgress["sources"]] == [1, 1]
        assert sorted(r.kind for r in spark.sql("SELECT * FROM view_and_stream").collect()) == ["click", "imp"]
    finally:
        q.stop()
