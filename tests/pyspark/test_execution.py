"""Where a DataFrame meets the engine (``stream_nb/pyspark/sql/execution.py``): a stream as read takes its
schema from its source without planning, and that schema is the one planning gives."""

from __future__ import annotations

import pytest

import stream_nb as sn
from stream_nb.pyspark.sql import functions as F
from stream_nb.pyspark.sql.execution import _scanned_source, planned_schema

READS = {  # how a program reads a stream: each a source whose rows the engine passes on unchanged
    "parquet": lambda s, d: s.readStream.schema("ts timestamp, device string, temp double, day date, "
                                                "tags array<int>, at struct<x:int,t:timestamp>, "
                                                "price decimal(10,2)").parquet(d),
    "csv": lambda s, d: s.readStream.schema("a int, b string").csv(d),
    "json": lambda s, d: s.readStream.schema("a int, t timestamp").json(d),
    "text": lambda s, d: s.readStream.text(d),
    "rate": lambda s, d: s.readStream.format("rate").load(),
    "memory": lambda s, d: s.readStream.load(sn.sources.memory("ts timestamp, word string, n bigint")),
}


@pytest.mark.parametrize("kind", list(READS))
def test_a_stream_as_read_has_the_schema_planning_gives_without_a_plan(spark, tmp_path, kind):
    df = READS[kind](spark, str(tmp_path))
    assert _scanned_source(df) is not None  # withWatermark's column check plans nothing
    assert df.schema.fieldNames() == planned_schema(df).names
    assert _scanned_source(df).schema.equals(planned_schema(df))


def test_a_dataframe_over_a_stream_is_planned_for_its_schema(spark, events):
    df = spark.readStream.load(events).withColumn("twice", F.col("n") * 2)
    assert _scanned_source(df) is None
    assert df.columns == ["ts", "word", "n", "twice"] == planned_schema(df).names
