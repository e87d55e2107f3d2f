"""DataFrame.limit(n) on a stream, as in PySpark: in append mode the stream's first n rows, ever (engine/limit.py);
in update mode refused with Spark's words."""

import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F
from tests.pyspark.conftest import at


def words(*pairs):
    return [{"ts": at(n), "word": w, "n": n} for w, n in pairs]


def test_limit_of_a_filtered_stream_keeps_its_first_rows(spark, events):
    q = (spark.readStream.load(events).where(F.col("n") > 0).limit(2).select("word")
         .writeStream.format("memory").queryName("first_words").start())
    events.add_data(words(("a", 1), ("skip", 0)))
    q.processAllAvailable()
    events.add_data(words(("b", 2), ("c", 3)))
    q.processAllAvailable()
    assert [r.word for r in spark.sql("SELECT word FROM first_words").collect()] == ["a", "b"]
    assert q.lastProgress["stateOperators"][0]["operatorName"] == "globalLimit"
    q.stop()


def test_limit_then_filter_filters_the_first_rows(spark, events):
    q = (spark.readStream.load(events).limit(2).where(F.col("n") > 1)
         .writeStream.format("memory").queryName("limited_then_filtered").start())
    events.add_data(words(("a", 1), ("b", 2), ("c", 3)))
    q.processAllAvailable()
    assert [r.word for r in spark.sql("SELECT word FROM limited_then_filtered").collect()] == ["b"]
    q.stop()


def test_limit_of_a_stream_static_join_keeps_the_streams_first_rows(spark, events):
    import pandas as pd

    sites = spark.createDataFrame(pd.DataFrame({"word": [f"w{i}" for i in range(500)][::-1], "site": "x"}))
    q = (spark.readStream.load(events).join(sites, "word").limit(3)
         .writeStream.format("memory").queryName("joined_first").start())
    events.add_data(words(*((f"w{i}", i) for i in range(10))))
    q.processAllAvailable()
    assert [r.n for r in spark.sql("SELECT n FROM joined_first").collect()] == [0, 1, 2]
    q.stop()


def test_limit_in_update_mode_is_refused_as_spark_refuses_it(spark, events):
    with pytest.raises(AnalysisException, match="Limits are not supported on streaming DataFrames/Datasets in "
                                                "Update output mode"):
        (spark.readStream.load(events).limit(2).writeStream.outputMode("update").format("memory")
         .queryName("nope").start())


def test_apply_in_pandas_with_state_over_a_limited_stream_is_refused_not_run_without_the_limit(spark, events):
    from stream_nb.pyspark.sql.streaming.state import GroupStateTimeout

    def count(key, frames, state):
        yield from ()

    out = spark.readStream.load(events).limit(2).groupBy("word").applyInPandasWithState(
        count, "word string, c bigint", "c bigint", "append", GroupStateTimeout.NoTimeout)
    with pytest.raises(AnalysisException, match="applyInPandasWithState over a limited stream"):
        out.writeStream.format("memory").queryName("limited_state").start()


def test_a_watermark_on_a_column_computed_after_a_limit_is_refused_not_run_per_batch(spark, events):
    # a computed column's watermark reads the query below it as a stream of its own (sources/derived.py), which
    # would cut each batch to the limit instead of the stream
    limited = spark.readStream.load(events).limit(2).withColumn("t2", F.col("ts") + F.expr("INTERVAL 1 SECOND"))
    with pytest.raises(AnalysisException, match="NOT_IMPLEMENTED"):
        limited.withWatermark("t2", "1 second")
