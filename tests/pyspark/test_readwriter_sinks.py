"""``writeStream.partitionBy(...)`` into the files sinks and ``writeStream.toTable(name)`` (a DuckDB table in
the session's warehouse that ``spark.table`` and ``spark.sql`` read)."""

import pytest

import stream_nb as sn
from stream_nb.pyspark.errors import AnalysisException
from tests.pyspark.conftest import at


def test_partition_by_writes_sparks_col_equals_value_folders(spark, events, tmp_path):
    q = (spark.readStream.load(events).writeStream.format("json").partitionBy("word")
         .option("checkpointLocation", str(tmp_path / "ck")).start(str(tmp_path / "out")))
    events.add_data([{"ts": at(1), "word": "a", "n": 1}, {"ts": at(2), "word": "b", "n": 2}])
    q.processAllAvailable()
    q.stop()
    assert sorted(p.parent.name for p in (tmp_path / "out").rglob("part-*.json")) == ["word=a", "word=b"]
    back = sn.read_files_sink(tmp_path / "out")
    assert list(back.columns) == ["ts", "n", "word"] and sorted(back["word"]) == ["a", "b"]


def test_to_table_writes_a_table_that_spark_table_and_spark_sql_read_after_the_query_stops(spark, events,
                                                                                            tmp_path):
    spark.conf.set("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
    try:
        q = (spark.readStream.load(events).groupBy("word").count().writeStream.outputMode("complete")
             .option("checkpointLocation", str(tmp_path / "ck")).toTable("word_counts"))
        events.add_data([{"ts": at(1), "word": "a", "n": 1}, {"ts": at(2), "word": "a", "n": 1}])
        q.processAllAvailable()
        assert [tuple(r) for r in spark.table("word_counts").collect()] == [("a", 2)]
        events.add_data([{"ts": at(3), "word": "b", "n": 1}])
        q.processAllAvailable()
        q.stop()
        assert sorted(tuple(r) for r in spark.sql("SELECT word, count FROM word_counts").collect()) == [
            ("a", 2), ("b", 1)]
        assert (tmp_path / "warehouse" / "stream_nb.duckdb").exists()
    finally:
        spark.conf.unset("spark.sql.warehouse.dir")


def test_to_table_without_a_checkpoint_location_is_refused_as_spark_refuses_it(spark, events):
    with pytest.raises(AnalysisException, match="checkpointLocation must be specified"):
        spark.readStream.load(events).writeStream.toTable("no_checkpoint")


def test_a_memory_sink_of_a_tables_name_is_what_spark_sql_reads_then(spark, events, tmp_path):
    # Spark's memory sink registers its result with createOrReplaceTempView: it shadows a table of that name
    spark.conf.set("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
    try:
        stored = (spark.readStream.load(events).select("word").writeStream
                  .option("checkpointLocation", str(tmp_path / "ck")).toTable("shadowed"))
        events.add_data([{"ts": at(1), "word": "stored", "n": 1}])
        stored.processAllAvailable()
        stored.stop()
        live = spark.readStream.load(events).select("n").writeStream.format("memory").queryName("shadowed").start()
        live.processAllAvailable()
        assert spark.sql("SELECT * FROM shadowed").columns == ["n"]
        live.stop()
    finally:
        spark.conf.unset("spark.sql.warehouse.dir")
