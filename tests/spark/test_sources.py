"""The stream_nb Python data source reads, for the same offsets, exactly the rows the stream_nb source reads:
its reader (the methods Spark calls on the driver and on the executors) against the kernel's feed, without a
JVM. And the WATERMARK clause is taken out of the SQL Spark gets."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import stream_nb as sn

pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra")

from pyspark.sql.types import StructType

from stream_nb.spark import datasource
from stream_nb.spark.sources import feed, spark_schema, without_watermark_clauses


def reader_of(source, cap=None):
    token = feed().add(source)
    options = {"feed": feed().url, "source": token, "schema": spark_schema(source.schema).json()}
    if cap:
        options["maxRowsPerTrigger"] = str(cap)
    data_source = datasource.StreamNbDataSource(options)
    return data_source, data_source.streamReader(data_source.schema()), token


def rows_read(reader, start, end) -> pa.Table:
    tables = [pa.Table.from_batches(list(reader.read(p))) for p in reader.partitions(start, end)]
    return pa.concat_tables(tables) if tables else None


def test_the_reader_reads_a_memory_sources_rows_for_the_same_offsets():
    source = sn.sources.memory("ts timestamp, device string, temp double")
    source.add_data([{"ts": "2024-01-01 00:00:01", "device": "a", "temp": 20.5},
                     {"ts": "2024-01-01 00:00:02", "device": "b", "temp": None},
                     {"ts": "2024-01-01 00:00:03", "device": "a", "temp": 22.0}])
    _, reader, token = reader_of(source)
    start = reader.initialOffset()
    end = reader.latestOffset(start, None)
    assert (start, end) == ({"offset": 0}, {"offset": 3})
    assert rows_read(reader, {"offset": 1}, end).equals(source.read(1, 3))
    assert reader.partitions(end, end) == []  # Spark's no-data batch reads nothing
    assert feed().planned(token) == 3
    feed().remove(token)


def test_the_reader_reads_the_sensors_simulation_as_stream_nb_does():
    source = sn.sources.sensors(devices=3, rows_per_second=50, seed=7, disorder="2 seconds")
    _, reader, token = reader_of(source)
    end = reader.latestOffset({"offset": 0}, None)["offset"]
    assert end > 0
    assert rows_read(reader, {"offset": 0}, {"offset": end}).equals(source.read(0, end))
    feed().remove(token)


def test_the_schema_spark_gets_is_the_sources_schema():
    source = sn.sources.memory("ts timestamp, device string, amount decimal(10,2), n bigint")
    data_source, _, token = reader_of(source)
    assert data_source.schema() == StructType.fromJson(json.loads(spark_schema(source.schema).json()))
    assert [f.dataType.simpleString() for f in data_source.schema().fields] == [
        "timestamp", "string", "decimal(10,2)", "bigint"]
    feed().remove(token)


def test_max_rows_per_trigger_caps_a_batch_unless_spark_asks_for_everything():
    from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadMaxRows

    source = sn.sources.memory("n bigint")
    source.add_data([{"n": i} for i in range(10)])
    _, reader, token = reader_of(source, cap=4)
    assert reader.latestOffset({"offset": 0}, ReadMaxRows(4)) == {"offset": 4}
    assert reader.latestOffset({"offset": 8}, ReadMaxRows(4)) == {"offset": 10}
    assert reader.latestOffset({"offset": 0}, ReadAllAvailable()) == {"offset": 10}
    feed().remove(token)


def test_a_reader_whose_query_stopped_says_so():
    source = sn.sources.memory("n bigint")
    _, reader, token = reader_of(source)
    feed().remove(token)
    with pytest.raises(RuntimeError, match="no source .* in this kernel.s feed .its query has stopped"):
        reader.latestOffset({"offset": 0}, None)


def test_the_watermark_clauses_are_taken_out_of_the_sql_spark_runs():
    sql = ("SELECT i.ad_id FROM impressions i WATERMARK ts DELAY OF INTERVAL 10 SECONDS "
           "JOIN clicks c WATERMARK ts DELAY OF INTERVAL 20 SECONDS ON i.ad_id = c.ad_id")
    assert without_watermark_clauses(sql) == "SELECT i.ad_id FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id"
